//! Starting the guest: fork, then in the child (see [`child`]) only
//! async-signal-safe steps: PDEATHSIG, standard fds, every other fd marked
//! close-on-exec, NO_NEW_PRIVS, wait for the tracer to attach, the seccomp
//! filter with a new listener, whose fd number goes to the parent over a
//! unix socket (the parent, the child's tracer, takes the fd itself with
//! `pidfd_getfd` and says so), exec.
//!
//! The control socket tells the parent how the launch went: first the
//! listener's number (or the stage that failed and its errno), then EOF
//! when `execve` succeeded (the child's end is close-on-exec) or the exec
//! errno.

mod child;

use std::ffi::{CString, OsStr, OsString};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use nix::errno::Errno;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;

/// The step of the launch that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `PR_SET_PDEATHSIG`, or the supervisor was already gone.
    Pdeathsig,
    /// Setting up fds 0-2.
    Stdio,
    /// Changing to the working directory.
    Chdir,
    /// `PR_SET_NO_NEW_PRIVS`.
    NoNewPrivs,
    /// Setting resource limits.
    Rlimit,
    /// Entering the Landlock domain.
    Landlock,
    /// Installing the seccomp filter.
    Seccomp,
    /// Handing the listener to the supervisor.
    SendListener,
    /// `execve`.
    Exec,
}

impl Stage {
    const ALL: [Stage; 9] = [
        Stage::Landlock,
        Stage::Pdeathsig,
        Stage::Stdio,
        Stage::Chdir,
        Stage::NoNewPrivs,
        Stage::Rlimit,
        Stage::Seccomp,
        Stage::SendListener,
        Stage::Exec,
    ];

    /// What the stage does, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Pdeathsig => "arming the parent-death signal",
            Stage::Stdio => "setting up standard input/output",
            Stage::Chdir => "changing to the working directory",
            Stage::NoNewPrivs => "setting no_new_privs",
            Stage::Rlimit => "setting resource limits",
            Stage::Landlock => "entering the Landlock domain",
            Stage::Seccomp => "installing the seccomp filter",
            Stage::SendListener => "passing the seccomp listener to the supervisor",
            Stage::Exec => "executing the program",
        }
    }
}

fn encode_failure(stage: Stage, errno: i32) -> [u8; 8] {
    let idx = Stage::ALL.iter().position(|&s| s == stage).unwrap_or(0) as u32;
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&idx.to_le_bytes());
    b[4..].copy_from_slice(&errno.to_le_bytes());
    b
}

/// The first word of the message naming the listener: no stage has it.
const LISTENER_TAG: u32 = u32::MAX;

fn encode_listener(fd: RawFd) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&LISTENER_TAG.to_le_bytes());
    b[4..].copy_from_slice(&fd.to_le_bytes());
    b
}

fn decode_listener(b: &[u8]) -> Option<RawFd> {
    if u32::from_le_bytes(b.get(..4)?.try_into().ok()?) != LISTENER_TAG {
        return None;
    }
    Some(RawFd::from_le_bytes(b.get(4..8)?.try_into().ok()?))
}

fn decode_failure(b: &[u8]) -> Option<(Stage, i32)> {
    let idx = u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as usize;
    let errno = i32::from_le_bytes(b.get(4..8)?.try_into().ok()?);
    Some((*Stage::ALL.get(idx)?, errno))
}

/// Where a standard stream of the guest comes from or goes to.
#[derive(Debug, Default)]
pub enum Stdio {
    /// The caller's own fd.
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
    /// A pipe to the caller (see [`crate::Child`]'s `stdin`/`stdout`/`stderr`).
    Piped,
    /// This fd (the guest gets a duplicate).
    Fd(OwnedFd),
}

/// Everything the child needs, prepared before `fork` (the child may not
/// allocate). Built on the caller's thread; `Send`.
pub struct Spec {
    /// The program as the caller named it (for messages).
    pub program: OsString,
    /// Paths to try in order (the PATH search, done before fork).
    pub candidates: Vec<CString>,
    /// argv.
    pub argv: Vec<CString>,
    /// envp.
    pub envp: Vec<CString>,
    /// Working directory (None: the caller's).
    pub cwd: Option<CString>,
    /// The child's end of fds 0, 1, 2 (None: inherit).
    pub stdio: [Option<OwnedFd>; 3],
    /// The BPF program.
    pub filter: Vec<libc::sock_filter>,
    /// rlimits to set: (resource, soft, hard).
    pub rlimits: Vec<(crate::limits::RlimitResource, u64, u64)>,
    /// Landlock ABI for the guest's domain (0: none); the supervisor sets
    /// it from the probe it reports.
    pub landlock_abi: u32,
    /// A ready Landlock ruleset (the view's filesystem rules) the child
    /// enters instead of the scope-only domain.
    pub landlock_ruleset: Option<OwnedFd>,
}

/// [`Spec`] with the pointer arrays execve wants. Lives on the forking
/// thread only.
pub(crate) struct Prepared {
    parent_pid: libc::pid_t,
    stdio: [Option<RawFd>; 3],
    cwd: Option<CString>,
    max_fd: RawFd,
    filter: Vec<libc::sock_filter>,
    candidates: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    rlimits: Vec<(crate::limits::RlimitResource, libc::rlimit)>,
    /// The caller is not dumpable (e.g. it dropped privileges), so neither
    /// is the child, and ptrace would refuse to attach: the child makes
    /// itself dumpable and says so before the tracer attaches.
    pub(crate) handshake_dumpable: bool,
    /// Landlock ABI to use for the guest's domain (0: none).
    pub(crate) landlock_abi: u32,
    /// The view's ruleset fd, or -1.
    pub(crate) landlock_ruleset: RawFd,
    // Own the strings the pointers point into.
    _spec: Spec,
}

impl Prepared {
    pub(crate) fn new(mut spec: Spec) -> Prepared {
        let ptrs =
            |v: &[CString]| v.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect::<Vec<_>>();
        let argv_ptrs = ptrs(&spec.argv);
        let envp_ptrs = ptrs(&spec.envp);
        let stdio = [0, 1, 2].map(|i| spec.stdio[i].as_ref().map(|f| f.as_raw_fd()));
        let max_fd = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map(|(soft, _)| soft.min(65536) as RawFd)
            .unwrap_or(1024);
        Prepared {
            parent_pid: std::process::id() as libc::pid_t,
            stdio,
            cwd: spec.cwd.take(),
            max_fd,
            filter: std::mem::take(&mut spec.filter),
            candidates: std::mem::take(&mut spec.candidates),
            argv_ptrs,
            envp_ptrs,
            handshake_dumpable: nix::sys::prctl::get_dumpable().map(|d| !d).unwrap_or(false),
            landlock_abi: spec.landlock_abi,
            landlock_ruleset: spec.landlock_ruleset.as_ref().map_or(-1, |f| f.as_raw_fd()),
            rlimits: spec
                .rlimits
                .iter()
                .map(|&(r, soft, hard)| (r, libc::rlimit { rlim_cur: soft, rlim_max: hard }))
                .collect(),
            _spec: spec,
        }
    }
}

/// A launch that did not reach the guest program.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    /// The program could not be executed (`ENOENT`, `EACCES`, ...).
    #[error("cannot run {program:?}: {errno}")]
    Exec {
        /// The program as given.
        program: OsString,
        /// Why.
        errno: Errno,
    },
    /// A setup step in the child failed.
    #[error("{}: {errno}", stage.describe())]
    Setup {
        /// Which step.
        stage: Stage,
        /// Why.
        errno: Errno,
    },
    /// The tracer could not attach (`PTRACE_SEIZE`): the supervisor is
    /// itself traced, or ptrace is forbidden here.
    #[error("attaching the tracer: {errno}")]
    Attach {
        /// Why.
        errno: Errno,
    },
    /// The child died before it reported how the launch went (killed from
    /// outside, or out of memory).
    #[error("the sandboxed process died during setup")]
    ChildDied,
    /// fork or socketpair failed in the parent.
    #[error("{what}: {errno}")]
    Parent {
        /// What we were doing.
        what: &'static str,
        /// Why.
        errno: Errno,
    },
    /// An argument, environment entry or path contains a NUL byte.
    #[error("{what} contains a NUL byte: {value:?}")]
    Nul {
        /// Which input.
        what: &'static str,
        /// The offending value.
        value: OsString,
    },
}

/// Forks the child. Returns its pid and the parent's end of the control
/// socket. Must run on the thread that will trace the child (PDEATHSIG and
/// ptrace both belong to a thread, not a process).
pub(crate) fn fork(p: &Prepared) -> Result<(Pid, OwnedFd), LaunchError> {
    let (parent, childs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(|errno| LaunchError::Parent { what: "socketpair", errno })?;
    let pid = child::fork(p, childs.as_raw_fd()).map_err(|errno| LaunchError::Parent { what: "fork", errno })?;
    drop(childs);
    if p.handshake_dumpable {
        let mut b = [0u8; 8];
        loop {
            match nix::unistd::read(&parent, &mut b) {
                Ok(1) => break,
                Err(Errno::EINTR) => continue,
                Ok(n) => return Err(failure(&b[..n])),
                Err(errno) => return Err(LaunchError::Parent { what: "waiting for the child", errno }),
            }
        }
    }
    Ok((pid, parent))
}

/// The first message from the child: the listener's fd number, or why
/// there is none. The listener is taken from the child (`child`, a pidfd
/// of it) with `pidfd_getfd`, and the child told it may go on.
pub(crate) fn recv_listener(sock: BorrowedFd<'_>, child: Option<BorrowedFd<'_>>) -> Result<OwnedFd, LaunchError> {
    let mut buf = [0u8; 8];
    let n = loop {
        match nix::unistd::read(sock, &mut buf) {
            Ok(n) => break n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(LaunchError::Parent { what: "receiving the listener", errno }),
        }
    };
    let Some(fd) = decode_listener(&buf[..n]) else { return Err(failure(&buf[..n])) };
    // pidfd_open (5.3) and pidfd_getfd (5.6) are older than the fd
    // injection the supervisor needs anyway (5.9).
    let child = child.ok_or(LaunchError::Parent { what: "opening a pidfd of the child", errno: Errno::ENOSYS })?;
    let listener = crate::sys::pidfd_getfd(child, fd)
        .map_err(|errno| LaunchError::Parent { what: "taking the listener from the child", errno })?;
    nix::unistd::write(sock, b"k").map_err(|errno| LaunchError::Parent { what: "answering the child", errno })?;
    Ok(listener)
}

/// What a failure message from the child (or its absence: EOF or a short
/// read, the child died) means.
fn failure(msg: &[u8]) -> LaunchError {
    match decode_failure(msg) {
        Some((stage, errno)) => LaunchError::Setup { stage, errno: Errno::from_raw(errno) },
        None => LaunchError::ChildDied,
    }
}

/// The second message: `Ok` once `execve` succeeded (EOF), or the failure.
pub(crate) fn wait_exec(sock: BorrowedFd<'_>, program: &OsStr) -> Result<(), LaunchError> {
    let mut buf = [0u8; 8];
    let n = loop {
        match nix::unistd::read(sock, &mut buf) {
            Ok(n) => break n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(LaunchError::Parent { what: "waiting for exec", errno }),
        }
    };
    if n == 0 {
        return Ok(());
    }
    match decode_failure(&buf[..n]) {
        Some((Stage::Exec, errno)) => {
            Err(LaunchError::Exec { program: program.to_owned(), errno: Errno::from_raw(errno) })
        }
        _ => Err(failure(&buf[..n])),
    }
}

/// The paths to try for `program`, like execvp: as given when it contains a
/// slash, else each directory of `path`.
pub fn search_path(program: &OsStr, path: Option<&OsStr>) -> Vec<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return vec![PathBuf::from(program)];
    }
    let path = path.map(|p| p.as_bytes()).unwrap_or(b"/usr/local/bin:/usr/bin:/bin");
    path.split(|&b| b == b':')
        .map(|dir| {
            let dir = if dir.is_empty() { b".".as_slice() } else { dir };
            PathBuf::from(OsStr::from_bytes(dir)).join(program)
        })
        .collect()
}

/// `CString` from an OS string, or a typed error naming the input.
pub fn cstring(what: &'static str, s: &OsStr) -> Result<CString, LaunchError> {
    CString::new(s.as_bytes()).map_err(|_| LaunchError::Nul { what, value: s.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_round_trip() {
        for s in Stage::ALL {
            assert_eq!(decode_failure(&encode_failure(s, 13)), Some((s, 13)));
        }
        assert_eq!(decode_failure(&[1, 2]), None);
        assert_eq!(decode_failure(&encode_failure(Stage::Exec, 2)[..7]), None);
    }

    #[test]
    fn path_search_is_like_execvp() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(search_path(OsStr::new("./x"), None), vec![p("./x")]);
        assert_eq!(search_path(OsStr::new("ls"), Some(OsStr::new("/a::/b"))), vec![p("/a/ls"), p("./ls"), p("/b/ls")]);
    }
}
