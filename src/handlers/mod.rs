//! The meaning of each notified syscall, one file per family. Every handler
//! has the same shape, [`Handler`]: it decides and returns a [`Reply`]; the
//! supervisor performs the reply. Handlers never call the kernel directly:
//! they reach the guest only through [`GuestMemory`], so they are shared by
//! every backend and unit-tested against an in-memory fake.

pub mod identity;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Return this value (the call was emulated).
    Value(i64),
    /// Let the kernel run the call as the guest made it. Only where the
    /// kernel itself enforces the same rule: another guest thread may change
    /// pointed-to memory after the handler looked at it.
    Continue,
}

/// The state a handler may consult.
pub struct Ctx<'a> {
    /// The calling thread's memory.
    pub mem: &'a dyn GuestMemory,
    /// The sandbox's identity (hostname, ...).
    pub identity: &'a Identity,
}

/// Every handler: decide, don't act.
pub type Handler = fn(&mut Ctx<'_>, &Call) -> Result<Reply, Errno>;
