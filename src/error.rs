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
    /// A mount flag is invalid; nothing was started.
    #[error(transparent)]
    Mount(#[from] crate::vfs::MountError),
    /// The filesystem view could not be made real on the host.
    #[error(transparent)]
    View(#[from] crate::vfs::HostError),
    /// The working directory or the program is not in the guest's view.
    #[error("{what} {path:?} is not in the sandbox's filesystem view ({hint})")]
    NotInView {
        /// What it is.
        what: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// What to do about it.
        hint: &'static str,
    },
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
