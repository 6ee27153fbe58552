//! Bounded string reads from guest memory (the path-argument parser every
//! notified path call will use): arbitrary memory layouts, addresses and
//! limits must give the string, EFAULT or ENAMETOOLONG, never a panic or a
//! read past the limit.
#![no_main]

use condo::memory::{GuestAddr, GuestMemory};
use libfuzzer_sys::fuzz_target;
use nix::errno::Errno;

struct Region {
    base: u64,
    bytes: Vec<u8>,
}

impl GuestMemory for Region {
    fn read(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<(), Errno> {
        if self.read_partial(addr, buf)? == buf.len() {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }
    fn read_partial(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<usize, Errno> {
        let start = addr.get().checked_sub(self.base).ok_or(Errno::EFAULT)? as usize;
        let avail = self.bytes.get(start..).ok_or(Errno::EFAULT)?;
        if avail.is_empty() {
            return Err(Errno::EFAULT);
        }
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        Ok(n)
    }
    fn write(&self, _: GuestAddr, _: &[u8]) -> Result<(), Errno> {
        Err(Errno::EFAULT)
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let base = 0x1000 * u64::from(u16::from_le_bytes([data[0], data[1]]));
    let off = u64::from(u32::from_le_bytes([data[2], data[3], data[4], data[5]]) % 20000);
    let max = usize::from(u16::from_le_bytes([data[6], data[7]]));
    let region = Region { base, bytes: data[8..].to_vec() };
    let Some(addr) = GuestAddr::new(base + off) else { return };
    match region.read_cstr(addr, max) {
        Ok(s) => assert!(s.len() < max && !s.contains(&0)),
        Err(e) => assert!(matches!(e, Errno::EFAULT | Errno::ENAMETOOLONG), "{e}"),
    }
});
