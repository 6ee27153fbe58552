//! The meaning of each notified syscall, one file per family. Every handler
//! has the same shape, [`Handler`]: it decides and returns a [`Reply`]; the
//! supervisor performs the reply. Handlers never call the kernel directly:
//! they reach the guest only through [`GuestMemory`], so they are shared by
//! every backend and unit-tested against an in-memory fake.

pub mod disk;
pub mod fs;
pub mod identity;
pub mod net;
pub mod sched;

use condo_syscalls::Sysno;
use nix::errno::Errno;

use crate::identity::Identity;
use crate::memory::GuestMemory;

/// A notified system call, decoded from the notification.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// Which call.
    pub sysno: Sysno,
    /// Raw argument registers.
    pub args: [u64; 6],
    /// Host thread id of the caller.
    pub tid: libc::pid_t,
}

/// What the supervisor should answer.
pub enum Reply {
    /// Return this value (the call was emulated).
    Value(i64),
    /// Install a duplicate of this fd in the guest and return its number
    /// (`SECCOMP_ADDFD_FLAG_SEND`).
    Fd {
        /// The supervisor's fd.
        fd: std::os::fd::OwnedFd,
        /// `O_CLOEXEC` on the guest's copy.
        cloexec: bool,
        /// The guest's fd number for it (`SECCOMP_ADDFD_FLAG_SETFD`);
        /// `None`: the lowest free one.
        at: Option<i32>,
        /// Whether the thread is held on the supervisor's CPU for the
        /// wake-up ([`crate::supervisor`]'s `WakeHere`). Not for a file
        /// that shows the thread's CPU mask (`/proc/PID/status`): it may
        /// be read before the worker runs again to put the mask back.
        hold: bool,
    },
    /// Let the kernel run the call as the guest made it. Only where the
    /// kernel itself enforces the same rule: another guest thread may change
    /// pointed-to memory after the handler looked at it.
    Continue,
    /// The answer takes long (a blocking connect): compute it on a thread
    /// of its own, so the other calls of the sandbox are not held up.
    Deferred(Deferred),
    /// Fail with this errno, then send this signal to the calling thread,
    /// as the kernel raises `SIGPIPE` on the way out of a send that gets
    /// `EPIPE`. Sent before the answer, the signal would interrupt the
    /// guest's wait for it instead.
    Raise(Errno, i32),
}

/// Work whose result answers a call later ([`Reply::Deferred`]).
pub type Deferred = Box<dyn FnOnce() -> Result<Reply, Errno> + Send>;

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Value(v) => write!(f, "Value({v})"),
            Reply::Fd { fd, cloexec, at, hold } => {
                write!(f, "Fd({fd:?}, cloexec: {cloexec}, at: {at:?}, hold: {hold})")
            }
            Reply::Continue => write!(f, "Continue"),
            Reply::Deferred(_) => write!(f, "Deferred"),
            Reply::Raise(e, sig) => write!(f, "Raise({e}, {sig})"),
        }
    }
}

impl PartialEq for Reply {
    fn eq(&self, other: &Reply) -> bool {
        use std::os::fd::AsRawFd;
        match (self, other) {
            (Reply::Value(a), Reply::Value(b)) => a == b,
            (Reply::Continue, Reply::Continue) => true,
            (Reply::Raise(a, x), Reply::Raise(b, y)) => a == b && x == y,
            (Reply::Fd { fd: a, cloexec: x, at: i, hold: h }, Reply::Fd { fd: b, cloexec: y, at: j, hold: k }) => {
                a.as_raw_fd() == b.as_raw_fd() && x == y && i == j && h == k
            }
            _ => false,
        }
    }
}

/// The state a handler may consult.
pub struct Ctx<'a> {
    /// The calling thread's memory.
    pub mem: &'a dyn GuestMemory,
    /// The sandbox's identity (hostname, ...).
    pub identity: &'a Identity,
    /// The filesystem view, when the sandbox has one.
    pub vfs: Option<&'a crate::vfs::Host>,
    /// Whether a host pid is one of the sandbox's processes.
    pub in_sandbox: &'a dyn Fn(libc::pid_t) -> bool,
    /// No guest task shares its fd table with another: the caller's fd
    /// numbers name the same files until its call goes on
    /// ([`crate::supervisor`]'s tree, `fd_tables_private`).
    pub fds_private: bool,
}

/// Every handler: decide, don't act.
pub type Handler = fn(&mut Ctx<'_>, &Call) -> Result<Reply, Errno>;
