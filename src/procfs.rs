//! What the host's `/proc` says about a guest process: its thread group,
//! its magic links, the flags of its fds. Read by the supervisor only;
//! every answer may be stale by the time it is used (the guest keeps
//! running), so callers use these to decide, never to authorize an action
//! on a name the guest can still change.

use nix::errno::Errno;
use std::os::unix::ffi::OsStringExt;

/// The thread group (process) of thread `tid`.
///
/// Learned once per thread (reading `status` costs ~10 µs: the kernel
/// formats some fifty fields) and kept until the tracer, which reaps every
/// guest task, reports the thread gone ([`forget`]): a thread's group
/// never changes, and its number is not reused before it is reaped.
pub(crate) fn tgid(tid: libc::pid_t) -> Option<libc::pid_t> {
    if let Some(&g) = tgids().get(&tid) {
        return Some(g);
    }
    let forgotten = FORGETS.load(std::sync::atomic::Ordering::Acquire);
    let g = status_field(tid, "Tgid:").and_then(|v| v.parse().ok())?;
    let mut known = tgids();
    // A thread reaped while its status was read (and its number perhaps
    // given to another since) must not be remembered.
    if FORGETS.load(std::sync::atomic::Ordering::Acquire) != forgotten {
        return Some(g);
    }
    if known.len() >= 1 << 16 {
        known.clear();
    }
    known.insert(tid, g);
    Some(g)
}

/// Forgets what [`tgid`] learned of thread `tid`, which is gone.
pub(crate) fn forget(tid: libc::pid_t) {
    let mut known = tgids();
    FORGETS.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    known.remove(&tid);
}

/// How many threads [`forget`] has been told of.
static FORGETS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn tgids() -> std::sync::MutexGuard<'static, std::collections::HashMap<libc::pid_t, libc::pid_t>> {
    static TGIDS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<libc::pid_t, libc::pid_t>>> =
        std::sync::LazyLock::new(Default::default);
    TGIDS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The parent process of process `pid`, when `pid` is a process (its
/// thread group's leader) rather than a thread.
pub(crate) fn parent_of_process(pid: libc::pid_t) -> Option<libc::pid_t> {
    let s = status(pid)?;
    if field(&s, "Tgid:")?.parse::<libc::pid_t>().ok()? != pid {
        return None;
    }
    field(&s, "PPid:")?.parse().ok()
}

/// A signal waiting for thread `tid` that would interrupt a blocking call
/// natively: pending, not blocked, not ignored, and caught or fatal by
/// default (a signal whose default is to be ignored, or to stop the
/// process, does not end the call), and the call is the signal's to end:
/// one pending for the thread itself, or for its process when it is the
/// only thread or the signal kills the process.
pub(crate) fn interrupting_signal(tid: libc::pid_t) -> bool {
    signal_ends_call(tid).unwrap_or(false)
}

fn signal_ends_call(tid: libc::pid_t) -> Option<bool> {
    let s = status(tid)?;
    let mask = |name: &str| u64::from_str_radix(field(&s, name)?, 16).ok();
    let harmless: u64 = [libc::SIGCHLD, libc::SIGCONT, libc::SIGURG, libc::SIGWINCH]
        .into_iter()
        .chain([libc::SIGSTOP, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU])
        .map(|sig| 1u64 << (sig - 1))
        .sum();
    let caught = mask("SigCgt:")?;
    let live = !mask("SigBlk:")? & !mask("SigIgn:")? & (caught | !harmless);
    let shared = mask("ShdPnd:")? & live;
    if mask("SigPnd:")? & live != 0 {
        Some(true)
    } else if shared != 0 && field(&s, "Threads:") == Some("1") {
        // The only thread gets it (none can start while it waits).
        Some(true)
    } else if shared & !caught != 0 {
        // Fatal to the whole process, whichever thread takes it.
        Some(true)
    } else {
        // Caught, and another thread may take it: interrupting this call
        // could only give EINTR, where an SA_RESTART handler restarts it
        // natively. It waits, as the thread taking it does not.
        Some(false)
    }
}

/// The lowest fd number from `min` up that thread `tid`'s process does
/// not use and may have (below its `RLIMIT_NOFILE`). `kcmp` tells whether
/// the thread (alive, waiting for an answer) has a number: a syscall per
/// number tried, with no fd made and closed (`rm -r` places a directory
/// or a copy of one per directory it walks, and fts keeps the fds of the
/// directories above open), where listing `/proc/TID/fd` and reading its
/// limits costs eight and a parse. That is the way back, without `kcmp`
/// (a kernel without `CONFIG_KCMP`) or past a few numbers in use.
pub(crate) fn free_fd_from(tid: libc::pid_t, min: i32) -> Option<i32> {
    const TRIES: i32 = 32;
    if let Ok(limit) = crate::sys::nofile_limit(tid) {
        let end = i32::try_from(limit).unwrap_or(i32::MAX).min(min.saturating_add(TRIES));
        for n in min..end {
            match crate::sys::has_fd(tid, n) {
                Ok(false) => return Some(n),
                Ok(true) => {}
                Err(_) => break,
            }
        }
        if end < min.saturating_add(TRIES) {
            return None;
        }
    }
    let limits = std::fs::read_to_string(format!("/proc/{tid}/limits")).ok()?;
    let soft = limits.lines().find(|l| l.starts_with("Max open files"))?.split_whitespace().nth(3)?;
    let limit: i32 = if soft == "unlimited" { i32::MAX } else { soft.parse().ok()? };
    let used: std::collections::HashSet<i32> = std::fs::read_dir(format!("/proc/{tid}/fd"))
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&n| n >= min)
        .collect();
    (min..limit).find(|n| !used.contains(n))
}

/// A field of thread `tid`'s `/proc/TID/status`, trimmed.
fn status_field(tid: libc::pid_t, name: &str) -> Option<String> {
    field(&status(tid)?, name).map(str::to_string)
}

/// Whether fd `fd` of thread `tid`'s process is close-on-exec
/// (`/proc/TID/fdinfo/FD`'s `flags:`, octal); `None` when it cannot be
/// read (no such fd).
pub(crate) fn fd_close_on_exec(tid: libc::pid_t, fd: i32) -> Option<bool> {
    let info = task_text(tid, &format!("fdinfo/{fd}"))?;
    let flags = field(&info, "flags:")?;
    Some(u32::from_str_radix(flags, 8).ok()? & libc::O_CLOEXEC as u32 != 0)
}

/// A field of a `status` text, trimmed.
fn field<'s>(status: &'s str, name: &str) -> Option<&'s str> {
    status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim)
}

/// Thread `tid`'s `/proc/TID/status`.
fn status(tid: libc::pid_t) -> Option<String> {
    task_text(tid, "status")
}

/// A small text file of thread `tid`'s `/proc/TID` (`status`,
/// `fdinfo/N`), from its first read: the kernel makes the whole file then
/// (`status`, ~1.5 KiB, in one page), and the fields asked for here come
/// first.
fn task_text(tid: libc::pid_t, name: &str) -> Option<String> {
    let name = std::ffi::CString::new(name).ok()?;
    let s = in_task_dir(tid, |dir| {
        let flags = nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC;
        let f = nix::fcntl::openat(dir, name.as_c_str(), flags, nix::sys::stat::Mode::empty())?;
        let mut buf = vec![0u8; 4096];
        let n = nix::unistd::read(&f, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    })
    .ok()?;
    Some(String::from_utf8_lossy(&s).into_owned())
}

/// The file mode creation mask of thread `tid` (`Umask:`, Linux 4.7);
/// `None` when it cannot be read.
pub(crate) fn umask(tid: libc::pid_t) -> Option<u32> {
    status_field(tid, "Umask:").and_then(|v| u32::from_str_radix(&v, 8).ok())
}

/// The host path of thread `tid`'s working directory, as
/// `readlink /proc/TID/cwd` says, remembered per supervisor thread until
/// [`dirs_moved`] or [`forget`] is called: relative paths are most of the
/// calls a build or `git status` makes, and the readlink is 2 µs of the
/// 12 µs such a call costs.
///
/// Every change that can make a remembered path wrong reaches one of the
/// two: a thread's `chdir`/`fchdir` (the tracer calls [`dirs_moved`] at
/// its syscall-exit stop, before the thread runs on), a rename or removal
/// of a directory in the view that the supervisor makes, a thread gone
/// (its number can then be another's). The counts are read before the
/// path, so a change racing with the read leaves a stale entry unused. A
/// directory renamed by a host process, or removed natively beneath a
/// writable directory's fd (`rm -r`), is not seen: calls then resolve
/// from the path it had, as PRoot's do (ARCHITECTURE): `ENOENT` as the
/// kernel's, unless a directory was made at that path again.
pub(crate) fn cwd_link(tid: libc::pid_t) -> Result<Vec<u8>, Errno> {
    use std::sync::atomic::Ordering::Acquire;
    let epoch = FORGETS.load(Acquire).wrapping_add(dir_moves());
    let known = CWDS.with(|c| c.borrow().get(&tid).filter(|(e, _)| *e == epoch).map(|(_, p)| p.clone()));
    if let Some(p) = known {
        return Ok(p);
    }
    let p = task_link(tid, "cwd")?;
    CWDS.with(|c| c.borrow_mut().keep(tid, (epoch, p.clone())));
    Ok(p)
}

/// Says that a guest thread's working directory, or the host path of a
/// directory, may have changed: what [`cwd_link`] remembers, and the
/// directories the path handlers know to hold no symlink, are stale.
pub(crate) fn dirs_moved() {
    DIR_MOVES.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
}

/// How many times [`dirs_moved`] was called.
pub(crate) fn dir_moves() -> u64 {
    DIR_MOVES.load(std::sync::atomic::Ordering::Acquire)
}

static DIR_MOVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// Thread -> (the counts it was read at, its cwd's host path).
    static CWDS: std::cell::RefCell<Recent<libc::pid_t, (u64, Vec<u8>), 8>> = const { std::cell::RefCell::new(Recent::new()) };
}

/// A magic link of thread `tid` (`cwd`, `fd/N`), as [`read_link`] of
/// `/proc/TID/NAME` would read it.
pub(crate) fn task_link(tid: libc::pid_t, name: &str) -> Result<Vec<u8>, Errno> {
    let name = std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)?;
    in_task_dir(tid, |dir| Ok(nix::fcntl::readlinkat(dir, name.as_c_str())?.into_vec()))
}

/// The stat of what link `name` of thread `tid`'s `/proc/TID` names
/// (`cwd`: its working directory), through the directory kept open.
pub(crate) fn task_stat(tid: libc::pid_t, name: &str) -> Result<nix::sys::stat::FileStat, Errno> {
    let name = std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)?;
    in_task_dir(tid, |dir| nix::sys::stat::fstatat(dir, name.as_c_str(), nix::fcntl::AtFlags::empty()))
}

/// What link `name` of thread `tid`'s `/proc/TID` names (`cwd`, `fd/N`),
/// opened `O_PATH` through the link: the node itself, even one removed
/// since (which no path names any more).
pub(crate) fn task_node(tid: libc::pid_t, name: &str) -> Result<std::os::fd::OwnedFd, Errno> {
    let name = std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)?;
    let flags = nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC;
    in_task_dir(tid, |dir| nix::fcntl::openat(dir, name.as_c_str(), flags, nix::sys::stat::Mode::empty()))
}

/// Runs `f` on thread `tid`'s `/proc/TID` directory, kept open for the
/// next call: a guest thread's calls come one after another, and looking
/// the thread up in `/proc` again costs as much as what is read there
/// (`readlink /proc/TID/cwd`: 3.6 µs; `readlinkat` from its directory:
/// 1.9 µs). The directory stays the thread's for good: once the thread
/// is gone every lookup in it fails, and a thread given the same number
/// later gets a directory of its own. On a failure the directory is
/// opened again and `f` retried once.
fn in_task_dir<T>(tid: libc::pid_t, f: impl Fn(std::os::fd::BorrowedFd<'_>) -> Result<T, Errno>) -> Result<T, Errno> {
    use std::os::fd::AsFd;
    if let Some(Ok(v)) = TASK_DIRS.with(|c| c.borrow().get(&tid).map(|d| f(d.as_fd()))) {
        return Ok(v);
    }
    let flags = nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
    let dir = nix::fcntl::open(format!("/proc/{tid}").as_str(), flags, nix::sys::stat::Mode::empty())?;
    let v = f(dir.as_fd());
    TASK_DIRS.with(|c| c.borrow_mut().keep(tid, dir));
    v
}

thread_local! {
    static TASK_DIRS: std::cell::RefCell<PerThread> = const { std::cell::RefCell::new(PerThread::new()) };
}

/// Fds a supervisor thread keeps for the guest threads it served last (a
/// thread's `/proc/TID` directory, its pidfd): a guest thread's calls come
/// one after another. Each names its thread for good: once the thread is
/// gone it fails, and a new one is opened.
pub(crate) type PerThread = Recent<libc::pid_t, std::os::fd::OwnedFd, 8>;

/// What a supervisor thread remembers of the last `N` things it looked
/// up (newest last; the oldest goes first): small, so a scan is cheaper
/// than hashing.
pub(crate) struct Recent<K, V, const N: usize>(Vec<(K, V)>);

impl<K, V, const N: usize> Recent<K, V, N> {
    pub(crate) const fn new() -> Self {
        Recent(Vec::new())
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.0.iter().find(|(k, _)| k.borrow() == key).map(|(_, v)| v)
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.0.iter_mut().find(|(k, _)| k.borrow() == key).map(|(_, v)| v)
    }

    pub(crate) fn forget<Q>(&mut self, key: &Q)
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.0.retain(|(k, _)| k.borrow() != key);
    }

    pub(crate) fn keep(&mut self, key: K, value: V)
    where
        K: PartialEq,
    {
        self.forget(&key);
        if self.0.len() >= N {
            self.0.remove(0);
        }
        self.0.push((key, value));
    }
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

/// The node one of the supervisor's fds holds (an `O_PATH` one too),
/// opened anew with `flags` through its `/proc/self/fd` link: the very
/// node, even one no path names any more.
pub(crate) fn reopen(fd: std::os::fd::BorrowedFd<'_>, flags: nix::fcntl::OFlag) -> Result<std::os::fd::OwnedFd, Errno> {
    nix::fcntl::open(fd_path(fd).as_c_str(), flags, nix::sys::stat::Mode::empty())
}

/// What one of the supervisor's own fds names (a host path, or
/// `pipe:[N]`, `socket:[N]`, ...).
pub(crate) fn fd_link(fd: std::os::fd::BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    read_link(&self_fd(fd))
}

/// The processes the host's `/proc` lists (thread group ids).
pub(crate) fn pids() -> Vec<libc::pid_t> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok())).collect()
}

/// The fds of process `pid`: each one's magic link (a `stat` through it
/// reaches the open file) and what it names (a host path, perhaps with
/// ` (deleted)`, or `pipe:[N]`, `/memfd:NAME`, ...).
pub(crate) fn fd_links(pid: libc::pid_t) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?.into_os_string().into_vec();
            Some((e.path(), target))
        })
        .collect()
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
