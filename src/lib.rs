//! # condo: an unprivileged sandbox for Linux
//!
//! condo runs an unmodified Linux program (the *guest*) under a userspace
//! supervisor. It needs no root, no user namespaces and no hypervisor: the
//! guest's system calls are filtered with seccomp-BPF, the few that need a
//! different answer are sent to the supervisor through seccomp user
//! notification, and ptrace follows the process tree.
//!
//! ```no_run
//! let out = condo::Sandbox::new().hostname("box").command("uname").arg("-n").output()?;
//! assert_eq!(out.stdout, b"box\n");
//! # Ok::<(), condo::Error>(())
//! ```
//!
//! Every syscall takes one of three paths, decided once by the routing
//! table ([`table`]): the **fast** path (BPF allows it in the kernel), the
//! **notify** path (the supervisor answers), or **deny** (an errno without
//! reaching the kernel). See `docs/ARCHITECTURE.md`.
//!
//! ## Test strategy
//! The filter is checked by a BPF interpreter against the policy's intended
//! verdicts (proptest); handlers are unit-tested against fake guest memory;
//! everything else is tested with real guest processes run as an
//! unprivileged user (`tests/`).
//!
//! ## Compatibility
//! Linux 5.9+ (seccomp user notification with `CONTINUE`); 6.6+ for
//! `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (reported in [`Enforcement`]).
//! x86_64; aarch64 builds, without `--trace`.
#![deny(unsafe_code)]
#![deny(missing_docs)]

mod command;
mod error;
pub mod filter;
pub mod handlers;
pub mod identity;
pub mod launch;
pub mod limits;
pub mod memory;
pub mod policy;
mod procfs;
pub mod report;
pub mod signals;
pub mod sockmsg;
mod supervisor;
pub mod sys;
pub mod table;
pub mod trace;
pub mod vfs;

pub use command::{Child, Command, Output, Sandbox};
pub use error::Error;
pub use launch::{LaunchError, Stdio};
pub use limits::{LimitKind, Limits};
pub use policy::{Policy, PolicyError, TraceConfig, TraceFormat, TraceTarget};
pub use report::Report;
pub use supervisor::Enforcement;
