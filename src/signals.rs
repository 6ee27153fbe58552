//! Forwarding the supervisor's signals to the guest, as `sandbox-run` does
//! for SIGINT, SIGTERM, SIGHUP and SIGQUIT.
//!
//! The signals are blocked in every thread (before the supervisor threads
//! start, so they inherit the mask) and a forwarding thread takes them with
//! `sigwaitinfo`. A signal a terminal sends to its foreground process group
//! (`si_code == SI_KERNEL`) already reached a guest in that group, so it is
//! not sent twice.

use std::os::fd::{AsFd, OwnedFd};

use nix::unistd::Pid;

use crate::error::Error;
use crate::sys;

/// The signals `sandbox-run` forwards.
pub const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

const SI_KERNEL: i32 = 0x80;

/// A set of signals blocked in the calling thread (and the threads it
/// starts afterwards).
#[derive(Clone, Copy)]
pub struct Blocked {
    set: libc::sigset_t,
}

impl std::fmt::Debug for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blocked(..)")
    }
}

/// Blocks `signals` in the calling thread. Call before starting a sandbox.
pub fn block(signals: &[i32]) -> Result<Blocked, Error> {
    let set = sys::block_signals(signals).map_err(|errno| Error::Host { what: "blocking signals", errno })?;
    Ok(Blocked { set })
}

impl Blocked {
    /// Forwards each arriving signal to the guest until it is gone.
    pub(crate) fn forward(self, pid: Pid, pidfd: Option<OwnedFd>) {
        loop {
            let Ok((sig, code)) = sys::wait_signal(&self.set) else { return };
            if code == SI_KERNEL && same_process_group(pid) {
                continue;
            }
            let r = match &pidfd {
                Some(fd) => sys::pidfd_send_signal(fd.as_fd(), sig),
                None => sys::kill(pid.as_raw(), sig),
            };
            if r == Err(nix::errno::Errno::ESRCH) {
                return;
            }
        }
    }
}

fn same_process_group(pid: Pid) -> bool {
    match (nix::unistd::getpgid(Some(pid)), nix::unistd::getpgid(None)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
