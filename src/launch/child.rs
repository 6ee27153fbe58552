//! The forked child, between `fork` and `execve`.
//!
//! # Safety
//!
//! The parent may be multi-threaded, so after `fork` only async-signal-safe
//! work is allowed: no allocation, no locks, no panics. Everything the child
//! needs (argv, envp, candidate paths, the BPF program, fds) was prepared by
//! the parent in [`Prepared`]; this module only reads it and makes raw
//! syscalls. Each `unsafe` block names the memory it touches, all of which
//! the parent keeps alive across the fork (the child has its own copy).
#![allow(unsafe_code)]

use std::os::fd::RawFd;

use super::{Prepared, Stage};

/// Reports `stage` and `errno` to the parent, then exits. Never returns.
fn fail(sock: RawFd, stage: Stage, errno: i32, code: i32) -> ! {
    let msg = super::encode_failure(stage, errno);
    // SAFETY: `msg` is a stack buffer valid for its length; a failed write
    // is ignored because the parent sees EOF and the exit status anyway.
    unsafe {
        // send, not write: with a disk budget write is notified, and
        // nobody answers yet (see table::LAUNCH_SYSCALLS).
        libc::send(sock, msg.as_ptr().cast(), msg.len(), 0);
        libc::_exit(code)
    }
}

fn errno() -> i32 {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Runs in the child. Never returns: either `execve` succeeds or the child
/// reports why and exits.
pub(super) fn run(p: &Prepared, sock: RawFd) -> ! {
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) } != 0 {
        fail(sock, Stage::Pdeathsig, errno(), 125);
    }
    if p.handshake_dumpable {
        // exec makes a process dumpable again anyway (for a readable
        // binary); until then ptrace needs it to attach.
        // SAFETY: prctl with integer arguments; write of one byte from a
        // static buffer.
        unsafe {
            if libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 {
                fail(sock, Stage::Pdeathsig, errno(), 125);
            }
            libc::write(sock, b"r".as_ptr().cast(), 1);
        }
    }
    // The supervisor may have died before PDEATHSIG was armed.
    // SAFETY: getppid has no arguments.
    if unsafe { libc::getppid() } != p.parent_pid {
        fail(sock, Stage::Pdeathsig, libc::ESRCH, 125);
    }

    // The caller may block signals (sandbox-run blocks the ones it forwards)
    // and Rust ignores SIGPIPE; the guest starts as a fresh process would.
    // SAFETY: `empty` is a valid sigset on our stack; signal() with SIG_DFL
    // installs no handler.
    unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }

    // Standard fds: first move every source out of the way (a source may
    // itself be 0, 1 or 2), then put each in place without CLOEXEC.
    let mut moved: [RawFd; 3] = [-1; 3];
    for (i, src) in p.stdio.iter().enumerate() {
        if let Some(fd) = *src {
            // SAFETY: fcntl on an fd the parent opened for us.
            let m = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
            if m < 0 {
                fail(sock, Stage::Stdio, errno(), 125);
            }
            moved[i] = m;
        }
    }
    for (target, &m) in moved.iter().enumerate() {
        // dup2 clears CLOEXEC on the new descriptor.
        // SAFETY: dup2 on fds we hold.
        if m >= 0 && unsafe { libc::dup2(m, target as RawFd) } < 0 {
            fail(sock, Stage::Stdio, errno(), 125);
        }
    }

    if let Some(dir) = &p.cwd {
        // SAFETY: `dir` is a NUL-terminated CString prepared by the parent.
        if unsafe { libc::chdir(dir.as_ptr()) } != 0 {
            fail(sock, Stage::Chdir, errno(), 125);
        }
    }

    // No supervisor fd may reach the guest: everything from 3 up is closed
    // on exec (the control socket included, which is how the parent learns
    // that exec succeeded).
    // SAFETY: close_range with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if r != 0 {
        // Before Linux 5.11: walk the fd table by hand.
        for fd in 3..p.max_fd {
            // SAFETY: fcntl on any number is harmless (EBADF if not open).
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }

    for (resource, lim) in &p.rlimits {
        // SAFETY: `lim` is a valid rlimit prepared by the parent.
        if unsafe { libc::setrlimit(*resource, lim) } != 0 {
            fail(sock, Stage::Rlimit, errno(), 125);
        }
    }

    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        fail(sock, Stage::NoNewPrivs, errno(), 125);
    }

    if p.landlock_ruleset >= 0 {
        // SAFETY: the ruleset fd is the parent's, open across fork; no_new_privs is set.
        let r = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, p.landlock_ruleset, 0u32) };
        if r != 0 {
            fail(sock, Stage::Landlock, errno(), 125);
        }
    } else if p.landlock_abi > 0 {
        enter_landlock_domain(sock, p.landlock_abi);
    }

    // Wait until the tracer has attached: a TRACE verdict without a tracer
    // would fail calls with ENOSYS, and fork events must not be missed.
    let mut go = 0u8;
    loop {
        // SAFETY: reads one byte into `go`.
        let n = unsafe { libc::read(sock, (&mut go as *mut u8).cast(), 1) };
        if n == 1 {
            break;
        }
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        // The supervisor went away.
        // SAFETY: _exit never returns.
        unsafe { libc::_exit(125) };
    }

    // From here on every syscall passes through the filter; none of them may
    // be routed to notify (see table::LAUNCH_SYSCALLS): nobody answers yet.
    let listener = match crate::sys::seccomp_install_with_listener(&p.filter) {
        Ok(fd) => fd,
        Err(e) => fail(sock, Stage::Seccomp, e as i32, 125),
    };
    // The supervisor takes the listener itself (pidfd_getfd: it traces
    // us) once it knows the number. sendmsg could not carry it: in a
    // sandbox with a view the supervisor answers sendmsg, and it answers
    // nothing before it has the listener.
    if let Err(e) = tell_listener(sock, listener) {
        fail(sock, Stage::SendListener, e, 125);
    }
    // SAFETY: closing our copy of the listener; the parent has its own.
    unsafe { libc::close(listener) };

    let mut best = libc::ENOENT;
    for path in &p.candidates {
        // SAFETY: `path`, `argv_ptrs` and `envp_ptrs` are NUL-terminated
        // strings and NULL-terminated pointer arrays prepared by the parent.
        unsafe { libc::execve(path.as_ptr(), p.argv_ptrs.as_ptr(), p.envp_ptrs.as_ptr()) };
        let e = errno();
        // Like execvp: keep looking after ENOENT/ENOTDIR, but a file that
        // exists and cannot be run is the better error to report.
        if e != libc::ENOENT && e != libc::ENOTDIR {
            best = e;
        }
    }
    let code = if best == libc::ENOENT { 127 } else { 126 };
    fail(sock, Stage::Exec, best, code)
}

/// Tells the parent which fd is the listener, and waits until it has
/// taken it (one byte back); the errno when either fails.
fn tell_listener(sock: RawFd, fd: RawFd) -> Result<(), i32> {
    let msg = super::encode_listener(fd);
    let mut ack = [0u8; 1];
    // SAFETY: `msg` and `ack` are stack buffers valid for their lengths.
    unsafe {
        if libc::send(sock, msg.as_ptr().cast(), msg.len(), 0) != msg.len() as isize {
            return Err(errno());
        }
        loop {
            match libc::read(sock, ack.as_mut_ptr().cast(), 1) {
                1 => return Ok(()),
                n if n < 0 && errno() == libc::EINTR => continue,
                n if n < 0 => return Err(errno()),
                // The supervisor went away.
                _ => return Err(libc::EPIPE),
            }
        }
    }
}

/// Forks; the child runs [`run`] and never returns.
pub(super) fn fork(p: &Prepared, sock: RawFd) -> Result<nix::unistd::Pid, nix::errno::Errno> {
    // SAFETY: the child only runs `run`, which is async-signal-safe (see the
    // module contract) and ends in execve or _exit.
    match unsafe { nix::unistd::fork() }? {
        nix::unistd::ForkResult::Child => run(p, sock),
        nix::unistd::ForkResult::Parent { child } => Ok(child),
    }
}

/// `struct landlock_ruleset_attr` (Linux 6.12 layout; older kernels accept
/// it as long as the fields they do not know are zero).
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

const LANDLOCK_ACCESS_FS_MAKE_BLOCK: u64 = 1 << 11;
const LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
const LANDLOCK_SCOPE_SIGNAL: u64 = 1 << 1;

/// Puts the guest in a Landlock domain of its own. Landlock forbids a
/// process in a domain to ptrace, or open the memory of, any process outside
/// it (ABI 1+): the guest cannot reach its supervisor, which runs as the same
/// user. ABI 6+ also confines signals and abstract unix sockets to the
/// domain. The filesystem rules of the view come with the vfs; until then
/// the ruleset handles only `MAKE_BLOCK` (which needs CAP_MKNOD anyway) so a
/// domain exists on kernels without scoping.
fn enter_landlock_domain(sock: RawFd, abi: u32) {
    // With scopes (ABI 6+) the domain needs no filesystem right at all,
    // which keeps Landlock's file hooks out of every open.
    let attr = if abi >= 6 {
        RulesetAttr {
            handled_access_fs: 0,
            handled_access_net: 0,
            scoped: LANDLOCK_SCOPE_SIGNAL | LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET,
        }
    } else {
        RulesetAttr { handled_access_fs: LANDLOCK_ACCESS_FS_MAKE_BLOCK, handled_access_net: 0, scoped: 0 }
    };
    // SAFETY: `attr` is a valid ruleset_attr on our stack, its size given.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        )
    };
    if fd < 0 {
        fail(sock, Stage::Landlock, errno(), 125);
    }
    // SAFETY: `fd` is the ruleset we just created; no_new_privs is set.
    let r = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, fd as libc::c_int, 0u32) };
    if r != 0 {
        fail(sock, Stage::Landlock, errno(), 125);
    }
    // SAFETY: closing our own ruleset fd.
    unsafe { libc::close(fd as libc::c_int) };
}
