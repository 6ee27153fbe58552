//! What the host's `/proc` says about a guest process: its thread group,
//! its magic links, the flags of its fds. Read by the supervisor only;
//! every answer may be stale by the time it is used (the guest keeps
//! running), so callers use these to decide, never to authorize an action
//! on a name the guest can still change.

use nix::errno::Errno;
use std::os::unix::ffi::OsStringExt;

/// The thread group (process) of thread `tid`.
pub(crate) fn tgid(tid: libc::pid_t) -> Option<libc::pid_t> {
    let s = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    s.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// Reads a magic link of the host's `/proc` (`/proc/N/cwd`, `fd/N`, ...).
pub(crate) fn read_link(path: &str) -> Result<Vec<u8>, Errno> {
    std::fs::read_link(path)
        .map(|p| p.into_os_string().into_vec())
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::ENOENT)))
}

fn self_fd(fd: std::os::fd::BorrowedFd<'_>) -> String {
    format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd))
}

/// `/proc/self/fd/N`: the node one of the supervisor's fds holds (an
/// `O_PATH` fd too), named for calls that only take paths.
pub(crate) fn fd_path(fd: std::os::fd::BorrowedFd<'_>) -> std::ffi::CString {
    std::ffi::CString::new(self_fd(fd)).expect("no NUL")
}

/// What one of the supervisor's own fds names (a host path, or
/// `pipe:[N]`, `socket:[N]`, ...).
pub(crate) fn fd_link(fd: std::os::fd::BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    read_link(&self_fd(fd))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn reads_our_own_process() {
        let me = nix::unistd::gettid().as_raw();
        assert_eq!(tgid(me), Some(std::process::id() as i32));
        let f = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(read_link(&format!("/proc/self/fd/{}", f.as_raw_fd())).unwrap(), b"/dev/null");
        assert_eq!(fd_link(std::os::fd::AsFd::as_fd(&f)).unwrap(), b"/dev/null");
    }
}
