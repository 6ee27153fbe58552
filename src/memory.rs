//! Reading and writing guest memory.
//!
//! Guest addresses are [`GuestAddr`], never host pointers. Reads are bounded;
//! a bad pointer is the guest's problem (`EFAULT`), never a supervisor error.
//! The primary mechanism is `process_vm_readv`/`process_vm_writev`; where the
//! kernel or a seccomp profile around us lacks them, `/proc/<pid>/mem` is the
//! fallback.

use std::fs::OpenOptions;
use std::io::IoSlice;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;
use nix::sys::uio::{process_vm_readv, process_vm_writev, RemoteIoVec};
use nix::unistd::Pid;

/// An address in the guest's address space. Cannot be dereferenced; null
/// is not representable (see [`GuestAddr::new`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuestAddr(u64);

impl GuestAddr {
    /// `None` for the null pointer.
    pub const fn new(raw: u64) -> Option<GuestAddr> {
        if raw == 0 {
            None
        } else {
            Some(GuestAddr(raw))
        }
    }

    /// The raw value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// `self + off`, or `EFAULT` on overflow.
    pub fn offset(self, off: usize) -> Result<GuestAddr, Errno> {
        self.0.checked_add(off as u64).map(GuestAddr).ok_or(Errno::EFAULT)
    }
}

/// Page size used to split reads so a string that ends just before an
/// unmapped page is still read (4 KiB is the smallest Linux page size).
const PAGE: u64 = 4096;

/// How much a string read takes first (see [`GuestMemory::read_cstr`]).
const FIRST_READ: usize = 256;

/// Access to one guest thread's memory, as handlers see it. Implemented by
/// [`ProcessMemory`] and by in-memory fakes in tests.
pub trait GuestMemory {
    /// Fills `buf` from `addr`; `EFAULT` unless every byte was readable.
    fn read(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<(), Errno>;

    /// Reads up to `buf.len()` bytes; returns how many were readable from
    /// `addr` on (0 is `EFAULT`).
    fn read_partial(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<usize, Errno>;

    /// Writes all of `data` at `addr`; `EFAULT` if any byte is not writable.
    fn write(&self, addr: GuestAddr, data: &[u8]) -> Result<(), Errno>;

    /// Reads a NUL-terminated string of at most `max` bytes including the
    /// NUL: `EFAULT` if it runs into unmapped memory, `ENAMETOOLONG` if no
    /// NUL comes within `max` bytes. The result excludes the NUL.
    fn read_cstr(&self, addr: GuestAddr, max: usize) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            // Never cross a page boundary in one read: the next page may be
            // unmapped even though the string ends on this one. Most paths
            // are short: the first read takes FIRST_READ bytes, not the
            // rest of the page (a 4 KiB copy costs 0.35 µs a call more).
            let to_page_end = (PAGE - at.get() % PAGE) as usize;
            let first = if out.is_empty() { FIRST_READ } else { usize::MAX };
            let want = to_page_end.min(max - out.len()).min(first);
            let start = out.len();
            out.resize(start + want, 0);
            let got = self.read_partial(at, &mut out[start..])?;
            out.truncate(start + got);
            if let Some(nul) = out[start..].iter().position(|&b| b == 0) {
                out.truncate(start + nul);
                return Ok(out);
            }
            if got < want {
                return Err(Errno::EFAULT);
            }
            at = at.offset(got)?;
        }
        Err(Errno::ENAMETOOLONG)
    }
}

/// The memory of a live guest thread.
#[derive(Clone, Copy, Debug)]
pub struct ProcessMemory {
    tid: libc::pid_t,
}

impl ProcessMemory {
    /// Memory of thread `tid` (any thread of the process will do).
    pub const fn new(tid: libc::pid_t) -> ProcessMemory {
        ProcessMemory { tid }
    }

    fn proc_mem(&self, write: bool) -> Result<std::fs::File, Errno> {
        OpenOptions::new()
            .read(true)
            .write(write)
            .open(format!("/proc/{}/mem", self.tid))
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    }
}

/// Whether a process_vm_* failure means "use /proc/pid/mem instead" rather
/// than "bad address".
fn needs_fallback(e: Errno) -> bool {
    matches!(e, Errno::ENOSYS | Errno::EPERM)
}

impl GuestMemory for ProcessMemory {
    fn read(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<(), Errno> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_partial(addr.offset(done)?, &mut buf[done..])?;
            if n == 0 {
                return Err(Errno::EFAULT);
            }
            done += n;
        }
        Ok(())
    }

    fn read_partial(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        let remote = [RemoteIoVec { base: addr.get() as usize, len: buf.len() }];
        let len = buf.len();
        match process_vm_readv(Pid::from_raw(self.tid), &mut [IoSliceMut::new(buf)], &remote) {
            Ok(0) => Err(Errno::EFAULT),
            Ok(n) => Ok(n.min(len)),
            Err(e) if needs_fallback(e) => {
                let f = self.proc_mem(false)?;
                match f.read_at(buf, addr.get()) {
                    Ok(0) | Err(_) => Err(Errno::EFAULT),
                    Ok(n) => Ok(n),
                }
            }
            Err(Errno::ESRCH) => Err(Errno::ESRCH),
            Err(_) => Err(Errno::EFAULT),
        }
    }

    fn write(&self, addr: GuestAddr, data: &[u8]) -> Result<(), Errno> {
        if data.is_empty() {
            return Ok(());
        }
        addr.offset(data.len())?;
        let remote = [RemoteIoVec { base: addr.get() as usize, len: data.len() }];
        match process_vm_writev(Pid::from_raw(self.tid), &[IoSlice::new(data)], &remote) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(_) => Err(Errno::EFAULT),
            Err(e) if needs_fallback(e) => {
                let f = self.proc_mem(true)?;
                f.write_all_at(data, addr.get()).map_err(|_| Errno::EFAULT)
            }
            Err(Errno::ESRCH) => Err(Errno::ESRCH),
            Err(_) => Err(Errno::EFAULT),
        }
    }
}

/// Lets the trace decoder of `condo-syscalls` read guest memory.
impl condo_syscalls::decode::Memory for ProcessMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ()> {
        match GuestAddr::new(addr) {
            None => Err(()),
            Some(a) => match self.read_partial(a, buf) {
                Ok(0) | Err(_) => Err(()),
                Ok(n) => Ok(n),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! An in-memory guest for handler unit tests.
    use super::*;
    use std::cell::RefCell;

    /// One mapped region `[base, base + bytes.len())`.
    pub struct FakeMemory {
        pub base: u64,
        pub bytes: RefCell<Vec<u8>>,
    }

    impl FakeMemory {
        fn range(&self, addr: GuestAddr, len: usize) -> Option<std::ops::Range<usize>> {
            let start = addr.get().checked_sub(self.base)? as usize;
            let have = self.bytes.borrow().len();
            if start >= have {
                return None;
            }
            Some(start..have.min(start + len))
        }
    }

    impl GuestMemory for FakeMemory {
        fn read(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<(), Errno> {
            match self.read_partial(addr, buf)? {
                n if n == buf.len() => Ok(()),
                _ => Err(Errno::EFAULT),
            }
        }
        fn read_partial(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<usize, Errno> {
            let r = self.range(addr, buf.len()).ok_or(Errno::EFAULT)?;
            let n = r.len();
            buf[..n].copy_from_slice(&self.bytes.borrow()[r]);
            Ok(n)
        }
        fn write(&self, addr: GuestAddr, data: &[u8]) -> Result<(), Errno> {
            let r = self.range(addr, data.len()).ok_or(Errno::EFAULT)?;
            if r.len() != data.len() {
                return Err(Errno::EFAULT);
            }
            self.bytes.borrow_mut()[r].copy_from_slice(data);
            Ok(())
        }
    }

    #[test]
    fn cstr_reads_stop_at_nul_fault_and_limit() {
        let mut bytes = vec![b'a'; 8192];
        bytes[5000] = 0;
        let m = FakeMemory { base: 0x10000, bytes: RefCell::new(bytes) };
        let a = |x| GuestAddr::new(x).unwrap();
        assert_eq!(m.read_cstr(a(0x10000 + 4990), 4096).unwrap(), vec![b'a'; 10]);
        // Runs off the end of the mapping without a NUL.
        assert_eq!(m.read_cstr(a(0x10000 + 8000), 4096), Err(Errno::EFAULT));
        // No NUL within the limit.
        assert_eq!(m.read_cstr(a(0x10000), 4096), Err(Errno::ENAMETOOLONG));
        // Longer than the first read, and across a page boundary.
        assert_eq!(m.read_cstr(a(0x10000 + 4000), 4096).unwrap(), vec![b'a'; 1000]);
        assert_eq!(m.read_cstr(a(0x10000 + 4700), 4096).unwrap(), vec![b'a'; 300]);
        // Unmapped.
        assert_eq!(m.read_cstr(a(0x1), 4096), Err(Errno::EFAULT));
        assert!(GuestAddr::new(0).is_none());
        assert_eq!(a(u64::MAX).offset(1), Err(Errno::EFAULT));
    }
}
