//! Thin, safe wrappers over the raw kernel calls that `nix` does not cover:
//! `seccomp(2)` with a listener, the `SECCOMP_IOCTL_NOTIF_*` ioctls, pidfds
//! and `PTRACE_LISTEN`.
//!
//! # Safety
//!
//! Every function here is safe to call: each `unsafe` block passes the kernel
//! pointers to memory owned by the caller for the duration of the call, and
//! fds that the caller owns (or that the kernel validates). Functions used
//! between `fork` and `exec` (see `launch::child`) are marked as such and do
//! not allocate.
//!
//! # References
//! - seccomp_unotify(2): <https://man7.org/linux/man-pages/man2/seccomp_unotify.2.html>
//! - seccomp(2): <https://man7.org/linux/man-pages/man2/seccomp.2.html>
//! - pidfd_open(2), pidfd_send_signal(2), ptrace(2)
#![allow(unsafe_code)]

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6): the kernel wakes the
/// supervisor and, on reply, the guest on the current CPU, which avoids a
/// cross-CPU wake-up (~35 µs on VMs, see shared/peers/RESULTS.md).
pub const USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

/// Installs `prog` as a seccomp filter on the calling thread and returns the
/// new user-notification listener.
///
/// Async-signal-safe: used in the forked child; does not allocate.
/// Preconditions: `PR_SET_NO_NEW_PRIVS` is set (or the caller has
/// CAP_SYS_ADMIN).
pub fn seccomp_install_with_listener(prog: &[libc::sock_filter]) -> Result<RawFd, Errno> {
    let len = u16::try_from(prog.len()).map_err(|_| Errno::E2BIG)?;
    let fprog = libc::sock_fprog { len, filter: prog.as_ptr().cast_mut() };
    // WAIT_KILLABLE_RECV (Linux 5.19): once the supervisor has taken a
    // notification, only a fatal signal interrupts the guest's wait, so a
    // signal handler cannot make a notified call fail with EINTR (which it
    // never does natively) or run a handler twice.
    let install = |flags: libc::c_ulong| {
        // SAFETY: `fprog` points at `prog`, which outlives the call; the
        // kernel copies the program before returning.
        unsafe {
            libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, flags, &fprog as *const libc::sock_fprog)
        }
    };
    let mut ret = install(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    if ret < 0 && Errno::last() == Errno::EINVAL {
        ret = install(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER);
    }
    let fd = Errno::result(ret)?;
    RawFd::try_from(fd).map_err(|_| Errno::EBADF)
}

/// Receives one notification. Blocks until one is pending.
pub fn notif_recv(listener: BorrowedFd<'_>, out: &mut libc::seccomp_notif) -> Result<(), Errno> {
    // The kernel insists on a zeroed buffer (it is extensible).
    // SAFETY: seccomp_notif is plain old data; all-zero is a valid value.
    *out = unsafe { std::mem::zeroed() };
    // SAFETY: `out` is a valid, exclusively borrowed seccomp_notif for the
    // duration of the ioctl, which writes at most sizeof(seccomp_notif).
    let ret =
        unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_RECV, out as *mut libc::seccomp_notif) };
    Errno::result(ret).map(drop)
}

/// Sends the answer to a notification.
pub fn notif_send(listener: BorrowedFd<'_>, resp: &libc::seccomp_notif_resp) -> Result<(), Errno> {
    // SAFETY: `resp` is a valid seccomp_notif_resp; SEND is declared _IOWR
    // but the kernel only reads it.
    let ret = unsafe {
        libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, resp as *const libc::seccomp_notif_resp)
    };
    Errno::result(ret).map(drop)
}

/// Whether the notification `id` is still pending, i.e. the guest thread
/// still waits in that syscall. Used after every guest-memory read: if the
/// thread died, its pid may already name another process.
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> bool {
    // SAFETY: `id` lives on our stack for the duration of the call; the
    // kernel reads 8 bytes.
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &id as *const u64) };
    ret == 0
}

/// Sets listener flags (`SECCOMP_IOCTL_NOTIF_SET_FLAGS`, Linux 6.6).
pub fn notif_set_flags(listener: BorrowedFd<'_>, flags: u64) -> Result<(), Errno> {
    // SAFETY: NOTIF_SET_FLAGS takes the flags by value in the argument.
    let ret = unsafe { libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) };
    Errno::result(ret).map(drop)
}

/// `pidfd_open(2)`: a handle on `pid` that cannot be confused with a later
/// process reusing the number.
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, Errno> {
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = RawFd::try_from(Errno::result(ret)?).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this fd to us; we are its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `pidfd_open(tid, PIDFD_THREAD)`: a pidfd of one thread (Linux 6.9);
/// `EINVAL` on older kernels for threads that are not a process's leader.
pub fn pidfd_open_thread(tid: libc::pid_t) -> Result<OwnedFd, Errno> {
    const PIDFD_THREAD: libc::c_int = libc::O_EXCL;
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, tid, PIDFD_THREAD) };
    let fd = RawFd::try_from(Errno::result(ret)?).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this fd to us; we are its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Gives the calling thread its own umask, 0, so that what it creates on
/// a guest's behalf gets exactly the mode it asks for (the guest's mode
/// less the guest's umask): `unshare(CLONE_FS)` first, which leaves the
/// rest of the process (a library user's threads) alone. `false` when the
/// thread could not get its own, and the process's umask still applies.
pub fn own_zero_umask() -> bool {
    if nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS).is_err() {
        return false;
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    OWN_UMASK.with(|o| o.set(true));
    true
}

thread_local! {
    static OWN_UMASK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with the calling thread's umask set to `mask`, for calls
/// that take no mode (a unix socket's file gets `0777 & !umask`); only in
/// a thread with a umask of its own ([`own_zero_umask`]), and plainly
/// elsewhere.
pub fn with_umask<T>(mask: u32, f: impl FnOnce() -> T) -> T {
    if !OWN_UMASK.with(|o| o.get()) {
        return f();
    }
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    let r = f();
    nix::sys::stat::umask(old);
    r
}

/// `fchmodat2(fd, "", mode, AT_EMPTY_PATH)` (Linux 6.6): the mode of the
/// node an fd holds, an `O_PATH` fd's too, with no path walked.
pub fn fchmod_empty_path(fd: BorrowedFd<'_>, mode: u32) -> Result<(), Errno> {
    // SAFETY: integer arguments and a NUL-terminated empty string.
    let ret = unsafe { libc::syscall(libc::SYS_fchmodat2, fd.as_raw_fd(), c"".as_ptr(), mode, libc::AT_EMPTY_PATH) };
    Errno::result(ret).map(drop)
}

/// The raw `sched_getaffinity(2)` of thread `tid` into `buf`: the number
/// of bytes the kernel filled (its checks of the length included).
pub fn sched_getaffinity_raw(tid: libc::pid_t, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for writes of its length.
    let ret = unsafe { libc::syscall(libc::SYS_sched_getaffinity, tid, buf.len(), buf.as_mut_ptr()) };
    Errno::result(ret).map(|n| n as usize)
}

/// `pidfd_send_signal(2)`.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> Result<(), Errno> {
    // SAFETY: integer arguments; a null siginfo means "as kill(2) would".
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, std::ptr::null::<u8>(), 0) };
    Errno::result(ret).map(drop)
}

/// `PTRACE_LISTEN`: leave a tracee in group-stop but let it be woken by
/// SIGCONT (and report the wake-up). nix has no wrapper for it.
pub fn ptrace_listen(tid: libc::pid_t) -> Result<(), Errno> {
    // SAFETY: integer arguments; addr and data must be zero.
    let ret = unsafe { libc::ptrace(libc::PTRACE_LISTEN, tid, 0usize, 0usize) };
    Errno::result(ret).map(drop)
}

/// Reads the x86_64 general registers of a stopped tracee.
#[cfg(target_arch = "x86_64")]
pub fn ptrace_getregs(tid: libc::pid_t) -> Result<libc::user_regs_struct, Errno> {
    nix::sys::ptrace::getregs(nix::unistd::Pid::from_raw(tid))
}

/// Writes the x86_64 general registers of a stopped tracee.
#[cfg(target_arch = "x86_64")]
pub fn ptrace_setregs(tid: libc::pid_t, regs: libc::user_regs_struct) -> Result<(), Errno> {
    nix::sys::ptrace::setregs(nix::unistd::Pid::from_raw(tid), regs)
}

/// Blocks `signals` in the calling thread and returns the previous mask;
/// threads started afterwards inherit the blocked set.
pub fn block_signals(signals: &[i32]) -> Result<libc::sigset_t, Errno> {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid sigset_t we own.
    unsafe { libc::sigemptyset(&mut set) };
    for &s in signals {
        // SAFETY: as above; an invalid signal number only makes this fail.
        Errno::result(unsafe { libc::sigaddset(&mut set, s) })?;
    }
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid sigset_t values on our stack.
    let ret = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) };
    if ret != 0 {
        return Err(Errno::from_raw(ret));
    }
    Ok(set)
}

/// Waits for one of the (blocked) `signals` and returns its number and
/// `si_code` (so the caller can tell a `kill(2)` from a terminal's signal).
pub fn wait_signal(set: &libc::sigset_t) -> Result<(i32, i32), Errno> {
    loop {
        // SAFETY: siginfo_t is plain data.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` and `info` are valid for the call.
        let ret = unsafe { libc::sigwaitinfo(set, &mut info) };
        match Errno::result(ret) {
            Ok(sig) => return Ok((sig, info.si_code)),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

extern "C" fn wake_noop(_: libc::c_int) {}

/// The signal used to interrupt a notify worker blocked in `NOTIF_RECV`
/// (which neither the guest's death nor closing the listener wakes), if it
/// could be claimed: a no-op handler installed without `SA_RESTART`. `None`
/// when another part of the process already handles that signal; callers
/// then fall back to `poll`, which costs ~0.7 µs per notification.
pub fn worker_wakeup_signal() -> Option<i32> {
    static SIG: std::sync::OnceLock<Option<i32>> = std::sync::OnceLock::new();
    *SIG.get_or_init(|| {
        // A real-time signal glibc does not reserve, counted from the top
        // so the low ones applications tend to pick stay free.
        let sig = libc::SIGRTMAX() - 2;
        // SAFETY: sigaction is plain data; all-zero is a valid value.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: querying the current disposition into `old`.
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 || old.sa_sigaction != libc::SIG_DFL {
            return None;
        }
        // SAFETY: as above.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = wake_noop as extern "C" fn(libc::c_int) as usize;
        act.sa_flags = 0; // no SA_RESTART: the ioctl must fail with EINTR
                          // SAFETY: `act` is fully initialised; the handler is async-signal-safe
                          // (it does nothing).
        if unsafe { libc::sigaction(sig, &act, std::ptr::null_mut()) } != 0 {
            return None;
        }
        Some(sig)
    })
}

/// Sends `sig` to one thread of this process.
pub fn kick_thread(thread: libc::pthread_t, sig: i32) {
    // SAFETY: `thread` is a joinable thread the caller has not joined yet,
    // so the id is valid.
    unsafe { libc::pthread_kill(thread, sig) };
}

/// The calling thread's `pthread_t`.
pub fn current_thread() -> libc::pthread_t {
    // SAFETY: pthread_self has no preconditions and cannot fail.
    unsafe { libc::pthread_self() }
}

/// `waitpid(-1, __WALL | __WNOTHREAD)`: any tracee or child of the calling
/// thread. Returns the pid and the raw wait status (nix's `WaitStatus`
/// cannot represent real-time signals, which guests do use: glibc's
/// SIGCANCEL and SIGSETXID, POSIX timers).
pub fn wait_any_tracee() -> Result<(libc::pid_t, i32), Errno> {
    let mut status = 0;
    // SAFETY: `status` is a valid int on our stack for the call.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::__WNOTHREAD) };
    Errno::result(pid).map(|p| (p, status))
}

/// Resumes a stopped tracee, delivering `sig` (0 for none; any signal
/// number, real-time ones included), through its next syscall-exit stop
/// when `to_syscall_exit`.
pub fn ptrace_resume(tid: libc::pid_t, to_syscall_exit: bool, sig: i32) -> Result<(), Errno> {
    let req = if to_syscall_exit { libc::PTRACE_SYSCALL } else { libc::PTRACE_CONT };
    // SAFETY: integer arguments; `data` carries the signal number.
    let ret = unsafe { libc::ptrace(req, tid, 0usize, sig as usize) };
    Errno::result(ret).map(drop)
}

/// `kill(2)` with any signal number (real-time ones included).
pub fn kill(pid: libc::pid_t, sig: i32) -> Result<(), Errno> {
    // SAFETY: integer arguments.
    Errno::result(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`: the
/// Landlock ABI version the kernel offers, or `None` without Landlock.
pub fn landlock_abi() -> Option<u32> {
    // SAFETY: a NULL attribute with size 0 and the VERSION flag is the
    // documented probe; it reads no memory.
    let r = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, 1u32) };
    u32::try_from(r).ok().filter(|&v| v > 0)
}

/// Whether the calling process may be ptrace-attached / have its memory
/// opened by processes of the same user (`PR_SET_DUMPABLE`).
pub fn set_dumpable(on: bool) -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments.
    Errno::result(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(on), 0, 0, 0) }).map(drop)
}

/// `SECCOMP_IOCTL_NOTIF_ADDFD` with `SECCOMP_ADDFD_FLAG_SEND` (Linux 5.14):
/// installs a duplicate of `fd` in the guest and answers notification `id`
/// with its number, atomically, so the guest never holds an fd it was not
/// told about. Returns the guest's fd number.
pub fn notif_addfd_send(
    listener: BorrowedFd<'_>,
    id: u64,
    fd: BorrowedFd<'_>,
    cloexec: bool,
    at: Option<i32>,
) -> Result<i32, Errno> {
    let setfd = if at.is_some() { libc::SECCOMP_ADDFD_FLAG_SETFD as u32 } else { 0 };
    let addfd = libc::seccomp_notif_addfd {
        id,
        flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32 | setfd,
        srcfd: fd.as_raw_fd() as u32,
        newfd: at.unwrap_or(0) as u32,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: `addfd` is a valid seccomp_notif_addfd on our stack for the
    // duration of the ioctl; the kernel only reads it.
    let ret = unsafe {
        libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_ADDFD, &addfd as *const libc::seccomp_notif_addfd)
    };
    Errno::result(ret)
}

/// `openat2(2)` with a byte path, returning an owned fd.
pub fn openat2(dir: BorrowedFd<'_>, path: &[u8], flags: u64, mode: u64, resolve: u64) -> Result<OwnedFd, Errno> {
    openat2_raw(dir.as_raw_fd(), path, flags, mode, resolve)
}

/// [`openat2`] from this process's working directory (an absolute path
/// from its root).
pub fn openat2_cwd(path: &[u8], flags: u64, resolve: u64) -> Result<OwnedFd, Errno> {
    openat2_raw(libc::AT_FDCWD, path, flags, 0, resolve)
}

fn openat2_raw(dir: RawFd, path: &[u8], flags: u64, mode: u64, resolve: u64) -> Result<OwnedFd, Errno> {
    let c = std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: open_how is plain data; all-zero is valid.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    // SAFETY: `c` is NUL-terminated and `how` is a valid open_how; both live
    // across the call, which only reads them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            c.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    let fd = RawFd::try_from(Errno::result(ret)?).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this fd to us; we are its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `statx(2)` on an fd (`AT_EMPTY_PATH`), the guest's mask and sync flags.
pub fn statx_fd(fd: BorrowedFd<'_>, flags: i32, mask: u32) -> Result<libc::statx, Errno> {
    // SAFETY: statx is plain data; all-zero is valid.
    let mut out: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: the empty path is a static NUL-terminated string and `out` is
    // exclusively borrowed for the call.
    let ret = unsafe { libc::statx(fd.as_raw_fd(), c"".as_ptr(), flags | libc::AT_EMPTY_PATH, mask, &mut out) };
    Errno::result(ret).map(|_| out)
}

/// `fstatat(dir, path, AT_SYMLINK_NOFOLLOW)`: symlinks above the last
/// name are followed, so only for a path known to have none.
pub fn lstat_at(dir: BorrowedFd<'_>, path: &[u8]) -> Result<libc::stat, Errno> {
    let c = std::ffi::CString::new(path).map_err(|_| Errno::EINVAL)?;
    // SAFETY: stat is plain data; all-zero is valid.
    let mut out: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string; `out` is exclusively borrowed for the call.
    let ret = unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), &mut out, libc::AT_SYMLINK_NOFOLLOW) };
    Errno::result(ret).map(|_| out)
}

/// `fstat(2)` as the kernel's `struct stat` bytes.
pub fn fstat(fd: BorrowedFd<'_>) -> Result<libc::stat, Errno> {
    // SAFETY: stat is plain data; all-zero is valid.
    let mut out: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `out` is exclusively borrowed for the call.
    let ret = unsafe { libc::fstat(fd.as_raw_fd(), &mut out) };
    Errno::result(ret).map(|_| out)
}

/// The bytes of a plain-data kernel struct, to copy into guest memory.
pub fn struct_bytes<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: `T: Copy` kernel structs (stat, statx, statfs) are plain data
    // without padding the kernel would not also copy out; the slice borrows
    // `v` for its lifetime.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// A file the supervisor makes up for the guest: a memfd holding `data`,
/// mode 0444, sealed, reopened read-only (so a write is `EBADF`, as for
/// the `/proc` file it stands for).
pub fn read_only_memfd(name: &[u8], data: &[u8]) -> Result<OwnedFd, Errno> {
    use nix::fcntl::{fcntl, FcntlArg, SealFlag};
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)?;
    let mut done = 0;
    while done < data.len() {
        done += nix::unistd::write(&fd, &data[done..])?;
    }
    nix::sys::stat::fchmod(&fd, nix::sys::stat::Mode::from_bits_truncate(0o444))?;
    fcntl(&fd, FcntlArg::F_ADD_SEALS(SealFlag::all()))?;
    crate::procfs::reopen(std::os::fd::AsFd::as_fd(&fd), nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC)
}

/// `fstatfs(2)`.
pub fn fstatfs(fd: BorrowedFd<'_>) -> Result<libc::statfs, Errno> {
    // SAFETY: statfs is plain data; all-zero is valid.
    let mut out: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `out` is exclusively borrowed for the call.
    let ret = unsafe { libc::fstatfs(fd.as_raw_fd(), &mut out) };
    Errno::result(ret).map(|_| out)
}

/// Landlock access rights for files (`LANDLOCK_ACCESS_FS_*`).
pub mod landlock {
    /// Execute a file.
    pub const EXECUTE: u64 = 1 << 0;
    /// Open a file for writing.
    pub const WRITE_FILE: u64 = 1 << 1;
    /// Open a file for reading.
    pub const READ_FILE: u64 = 1 << 2;
    /// List a directory.
    pub const READ_DIR: u64 = 1 << 3;
    /// Every right that changes the tree (remove, make), for ABI 1.
    pub const CHANGE_V1: u64 =
        (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
    /// Link or rename across directories (ABI 2).
    pub const REFER: u64 = 1 << 13;
    /// Truncate (ABI 3).
    pub const TRUNCATE: u64 = 1 << 14;
    /// ioctl on device files (ABI 5).
    pub const IOCTL_DEV: u64 = 1 << 15;
    /// Rights that make sense on a file (not a directory) rule.
    pub const FILE_RIGHTS: u64 = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV;
}

/// Creates a Landlock ruleset handling `fs` rights and `scoped` scopes.
pub fn landlock_create_ruleset(fs: u64, scoped: u64) -> Result<OwnedFd, Errno> {
    #[repr(C)]
    struct Attr {
        fs: u64,
        net: u64,
        scoped: u64,
    }
    let attr = Attr { fs, net: 0, scoped };
    // Older ABIs reject a struct larger than they know unless the tail is 0;
    // pass the short size when nothing is scoped.
    let size = if scoped == 0 { 8 } else { std::mem::size_of::<Attr>() };
    // SAFETY: `attr` lives across the call and `size` does not exceed it.
    let ret = unsafe { libc::syscall(libc::SYS_landlock_create_ruleset, &attr as *const Attr, size, 0u32) };
    let fd = RawFd::try_from(Errno::result(ret)?).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this fd to us; we are its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adds a path-beneath rule: `allowed` rights beneath the file or directory
/// `parent` (an `O_PATH` fd).
pub fn landlock_add_path_rule(ruleset: BorrowedFd<'_>, parent: BorrowedFd<'_>, allowed: u64) -> Result<(), Errno> {
    #[repr(C, packed)]
    struct PathBeneath {
        allowed: u64,
        parent: i32,
    }
    let attr = PathBeneath { allowed, parent: parent.as_raw_fd() };
    // SAFETY: `attr` is the packed landlock_path_beneath_attr layout and
    // lives across the call; 1 is LANDLOCK_RULE_PATH_BENEATH.
    let ret = unsafe {
        libc::syscall(libc::SYS_landlock_add_rule, ruleset.as_raw_fd(), 1u32, &attr as *const PathBeneath, 0u32)
    };
    Errno::result(ret).map(drop)
}

/// `utimensat(dir, path, times, flags)` (`dir` `None`: `AT_FDCWD`);
/// `times` `None` sets both to now.
pub fn utimensat(
    dir: Option<BorrowedFd<'_>>,
    path: &std::ffi::CStr,
    times: Option<&[libc::timespec; 2]>,
    flags: i32,
) -> Result<(), Errno> {
    let ptr = times.map_or(std::ptr::null(), |t| t.as_ptr());
    let dir = dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: `path` is NUL-terminated; `ptr` is null or points at the two
    // timespecs borrowed for the call.
    Errno::result(unsafe { libc::utimensat(dir, path.as_ptr(), ptr, flags) }).map(drop)
}

/// `getxattr(2)` into `buf` (size 0: the size needed).
pub fn getxattr(path: &std::ffi::CStr, name: &std::ffi::CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: NUL-terminated strings and a buffer of the given length.
    let r = unsafe { libc::getxattr(path.as_ptr(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(r).map(|n| n as usize)
}

/// `listxattr(2)` into `buf` (size 0: the size needed).
pub fn listxattr(path: &std::ffi::CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: a NUL-terminated string and a buffer of the given length.
    let r = unsafe { libc::listxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    Errno::result(r).map(|n| n as usize)
}

/// `setxattr(2)`.
pub fn setxattr(path: &std::ffi::CStr, name: &std::ffi::CStr, value: &[u8], flags: i32) -> Result<(), Errno> {
    // SAFETY: NUL-terminated strings and a value of the given length.
    let r = unsafe { libc::setxattr(path.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), flags) };
    Errno::result(r).map(drop)
}

/// `removexattr(2)`.
pub fn removexattr(path: &std::ffi::CStr, name: &std::ffi::CStr) -> Result<(), Errno> {
    // SAFETY: NUL-terminated strings.
    let r = unsafe { libc::removexattr(path.as_ptr(), name.as_ptr()) };
    Errno::result(r).map(drop)
}

/// `pidfd_getfd(2)`: a duplicate of fd `fd` of the process behind `pidfd`
/// (the same open file description). Linux 5.6.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, fd: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    let fd = RawFd::try_from(Errno::result(ret)?).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this fd to us; we are its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Whether thread `tid` (of a process running as the caller's user) has
/// fd `fd` open: `kcmp(KCMP_FILE)` of the fd with itself, which answers
/// `EBADF` for a number not in use and makes no fd in the caller.
pub fn has_fd(tid: libc::pid_t, fd: i32) -> Result<bool, Errno> {
    const KCMP_FILE: libc::c_long = 0;
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_kcmp, tid, tid, KCMP_FILE, fd, fd) };
    match Errno::result(ret) {
        Ok(_) => Ok(true),
        Err(Errno::EBADF) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The soft limit on open files (`RLIMIT_NOFILE`) of process `pid`, which
/// runs as the caller's user: one fd number past its highest.
pub fn nofile_limit(pid: libc::pid_t) -> Result<u64, Errno> {
    let mut old = libc::rlimit64 { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: no new limit is passed; `old` is valid for the kernel to write.
    let r = unsafe { libc::prlimit64(pid, libc::RLIMIT_NOFILE, std::ptr::null(), &mut old) };
    Errno::result(r).map(|_| old.rlim_cur)
}

/// `getsockopt(SOL_SOCKET, opt)` of an int option (`SO_DOMAIN`, `SO_TYPE`).
pub fn socket_int_option(sock: BorrowedFd<'_>, opt: i32) -> Result<i32, Errno> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes of the sizes given.
    let r = unsafe { libc::getsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, opt, (&raw mut v).cast(), &mut len) };
    Errno::result(r).map(|_| v)
}

/// `connect(2)` with a socket address as raw bytes (as the guest gave it).
pub fn connect_raw(sock: BorrowedFd<'_>, addr: &[u8]) -> Result<(), Errno> {
    let len = libc::socklen_t::try_from(addr.len()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: the kernel reads `len` bytes from `addr`, which we borrow.
    let r = unsafe { libc::connect(sock.as_raw_fd(), addr.as_ptr().cast(), len) };
    Errno::result(r).map(drop)
}

/// `sendmsg(2)` of one buffer, with an optional socket address and
/// control messages as raw bytes; the bytes sent.
pub fn sendmsg_raw(
    sock: BorrowedFd<'_>,
    data: &[u8],
    name: Option<&[u8]>,
    control: &[u8],
    flags: i32,
) -> Result<usize, Errno> {
    let mut iov = libc::iovec { iov_base: data.as_ptr().cast_mut().cast(), iov_len: data.len() };
    // SAFETY: msghdr is plain data; zero is a valid starting point.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    if let Some(n) = name {
        msg.msg_name = n.as_ptr().cast_mut().cast();
        msg.msg_namelen = libc::socklen_t::try_from(n.len()).map_err(|_| Errno::EINVAL)?;
    }
    if !control.is_empty() {
        msg.msg_control = control.as_ptr().cast_mut().cast();
        msg.msg_controllen = control.len();
    }
    // SAFETY: every pointer in `msg` refers to a buffer we borrow for the
    // call, with its length; the kernel only reads them.
    let r = unsafe { libc::sendmsg(sock.as_raw_fd(), &raw const msg, flags) };
    Errno::result(r).map(|n| n as usize)
}

/// `getsockname(2)`: the socket's own address as raw bytes.
pub fn getsockname_raw(sock: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    sockname_raw(sock, false)
}

/// `getpeername(2)`: the address of the socket's peer, as the kernel
/// keeps it.
pub fn getpeername_raw(sock: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    sockname_raw(sock, true)
}

fn sockname_raw(sock: BorrowedFd<'_>, peer: bool) -> Result<Vec<u8>, Errno> {
    // SAFETY: sockaddr_storage is plain data; zero is a valid value.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let call = if peer { libc::getpeername } else { libc::getsockname };
    // SAFETY: the kernel writes at most `len` bytes into `addr`, which we own.
    let r = unsafe { call(sock.as_raw_fd(), (&raw mut addr).cast(), &mut len) };
    Errno::result(r)?;
    let len = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    Ok(struct_bytes(&addr)[..len].to_vec())
}

/// `tgkill(2)`: signal `sig` to thread `tid` of process `tgid`.
pub fn tgkill(tgid: libc::pid_t, tid: libc::pid_t, sig: i32) -> Result<(), Errno> {
    // SAFETY: integer arguments.
    Errno::result(unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, sig) }).map(drop)
}

/// `bind(2)` with a socket address as raw bytes.
pub fn bind_raw(sock: BorrowedFd<'_>, addr: &[u8]) -> Result<(), Errno> {
    let len = libc::socklen_t::try_from(addr.len()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: the kernel reads `len` bytes from `addr`, which we borrow.
    let r = unsafe { libc::bind(sock.as_raw_fd(), addr.as_ptr().cast(), len) };
    Errno::result(r).map(drop)
}

/// `bind(2)` of a unix socket to `name` in directory `dir`, by the name
/// itself: the calling thread's working directory is `dir` meanwhile, and
/// then what it was. Only in a thread with a working directory of its own
/// ([`own_zero_umask`]), where no other thread sees it move; `ENAMETOOLONG`
/// elsewhere (a name bound through `/proc/self/fd/N/NAME` is 17 bytes
/// longer, past the 108 a socket address holds).
pub fn bind_in_dir(sock: BorrowedFd<'_>, dir: BorrowedFd<'_>, addr: &[u8]) -> Result<(), Errno> {
    if !OWN_UMASK.with(|o| o.get()) {
        return Err(Errno::ENAMETOOLONG);
    }
    let here =
        nix::fcntl::open(".", nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())?;
    nix::unistd::fchdir(dir)?;
    let r = bind_raw(sock, addr);
    // Back where it was; failing that, somewhere no relative name means
    // anything the supervisor uses.
    if nix::unistd::fchdir(&here).is_err() {
        let _ = nix::unistd::chdir("/");
    }
    r
}

/// `inotify_add_watch(2)` on an inotify instance (any fd: the kernel
/// checks it is one).
pub fn inotify_add_watch(instance: BorrowedFd<'_>, path: &std::ffi::CStr, mask: u32) -> Result<i32, Errno> {
    // SAFETY: a NUL-terminated path; integer arguments.
    let r = unsafe { libc::inotify_add_watch(instance.as_raw_fd(), path.as_ptr(), mask) };
    Errno::result(r)
}

/// `getdents64(2)` into `buf`; 0 at the end of the directory.
pub fn getdents64(dir: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let r = unsafe { libc::syscall(libc::SYS_getdents64, dir.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    Errno::result(r).map(|n| n as usize)
}

/// The old `getdents(2)` (`struct linux_dirent`, `d_type` in the last
/// byte), for programs that still use it.
#[cfg(target_arch = "x86_64")]
pub fn getdents_old(dir: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let r = unsafe { libc::syscall(libc::SYS_getdents, dir.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    Errno::result(r).map(|n| n as usize)
}
