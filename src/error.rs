//! `condo::Error`: everything that can stop a sandbox from running. What a
//! handler returns to the guest is an errno, never one of these.

use nix::errno::Errno;

use crate::launch::LaunchError;
use crate::policy::PolicyError;

/// Why a sandbox could not run (or stopped being supervised).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy is invalid; nothing was started.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The guest could not be started.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A host facility the supervisor needs failed.
    #[error("{what}: {errno}")]
    Host {
        /// What we were doing.
        what: &'static str,
        /// Why.
        errno: Errno,
    },
    /// The trace output could not be opened.
    #[error("cannot open the trace output: {0}")]
    TraceOutput(#[source] std::io::Error),
    /// A supervisor thread could not be started.
    #[error("cannot start a supervisor thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A supervisor thread ended before the guest did.
    #[error("the supervisor thread died")]
    SupervisorDied,
    /// Setting up pipes for the guest's standard streams failed.
    #[error("setting up {what}: {source}")]
    Stdio {
        /// Which stream.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
