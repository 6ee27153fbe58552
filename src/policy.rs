//! The declarative description of a sandbox, validated before anything
//! starts. Plain data: no syscalls happen here.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::table::Facet;

/// Where and how `--trace` writes.
#[derive(Clone, Default)]
pub struct TraceConfig {
    /// Text (strace-like) or JSON lines.
    pub format: TraceFormat,
    /// Destination.
    pub target: TraceTarget,
}

impl std::fmt::Debug for TraceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceConfig").field("format", &self.format).field("target", &self.target).finish()
    }
}

/// Trace line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TraceFormat {
    /// `[pid 12] openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3`
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Trace destination.
#[derive(Clone, Default)]
pub enum TraceTarget {
    /// The supervisor's standard error.
    #[default]
    Stderr,
    /// A file, created or truncated when the sandbox starts.
    File(PathBuf),
    /// Any writer (for library users and tests).
    Writer(Arc<Mutex<dyn Write + Send>>),
}

impl std::fmt::Debug for TraceTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceTarget::Stderr => f.write_str("Stderr"),
            TraceTarget::File(p) => f.debug_tuple("File").field(p).finish(),
            TraceTarget::Writer(_) => f.write_str("Writer(..)"),
        }
    }
}

/// What a sandbox provides and forbids. Build it with [`crate::Sandbox`].
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// The hostname the guest sees in `uname(2)`; the host's when `None`.
    pub hostname: Option<String>,
    /// Log the guest's system calls.
    pub trace: Option<TraceConfig>,
    /// What the guest tree may spend.
    pub limits: crate::limits::Limits,
    /// Measure what the tree spends (CPU time, peak memory) even without
    /// limits that need it, for the [`crate::Report`].
    pub account: bool,
    /// The filesystem the guest sees; the host's own, unconfined, when
    /// `None` (only by explicit choice: [`crate::Sandbox`] starts from the
    /// default view).
    pub view: Option<crate::vfs::View>,
}

/// A policy that cannot be run, found before anything starts.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The hostname does not fit `struct utsname` or is not a hostname.
    #[error("invalid hostname {name:?}: {reason}")]
    Hostname {
        /// What was given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Tracing needs register access this build does not have.
    #[error("{what} is not supported on {arch}")]
    TraceUnsupported {
        /// The feature.
        what: &'static str,
        /// The architecture.
        arch: &'static str,
    },
    /// A limit is out of range.
    #[error("{what} must be {range}")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// The accepted range.
        range: &'static str,
    },
}

/// `struct utsname` fields are 65 bytes including the terminating NUL.
pub const HOST_NAME_MAX: usize = 64;

impl Policy {
    /// Checks everything that can be checked without running anything.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some(name) = &self.hostname {
            let bad = |reason| Err(PolicyError::Hostname { name: name.clone(), reason });
            if name.is_empty() {
                return bad("it is empty");
            }
            if name.len() > HOST_NAME_MAX {
                return bad("longer than 64 bytes");
            }
            if name.bytes().any(|b| b == 0 || b == b'/' || b.is_ascii_whitespace() || b.is_ascii_control()) {
                return bad("contains NUL, '/', whitespace or control characters");
            }
        }
        let arch = condo_syscalls::Arch::native().name();
        if !cfg!(target_arch = "x86_64") {
            if self.trace.is_some() {
                return Err(PolicyError::TraceUnsupported { what: "system call tracing", arch });
            }
            if self.limits.max_procs.is_some() {
                return Err(PolicyError::TraceUnsupported { what: "a process limit", arch });
            }
        }
        let l = &self.limits;
        if l.max_procs == Some(0) {
            return Err(PolicyError::Limit { what: "the process limit", range: "at least 1" });
        }
        if l.max_files.is_some_and(|n| !(3..=1 << 30).contains(&n)) {
            return Err(PolicyError::Limit { what: "the open-file limit", range: "between 3 and 2^30" });
        }
        if l.memory.is_some_and(|m| m < 1 << 20) {
            return Err(PolicyError::Limit { what: "the memory limit", range: "at least 1 MiB" });
        }
        if l.disk.is_some() && self.view.is_none() {
            // Writable mounts are the view's; without one there is nothing
            // to count against.
            return Err(PolicyError::Limit { what: "the disk limit", range: "used with a filesystem view" });
        }
        Ok(())
    }

    /// Whether the syscall trace is on.
    pub fn trace_enabled(&self) -> bool {
        self.trace.is_some()
    }

    /// Whether a notify route guarded by `facet` is active.
    pub fn facet_active(&self, facet: Facet) -> bool {
        match facet {
            Facet::Hostname => self.hostname.is_some(),
            Facet::Vfs | Facet::Listings => self.view.is_some(),
            Facet::Disk => self.view.as_ref().is_some_and(|v| self.limits.disk.is_some() || v.has_sized_tmpfs()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_host(h: &str) -> Policy {
        Policy { hostname: Some(h.into()), ..Policy::default() }
    }

    #[test]
    fn hostnames_are_checked() {
        assert!(with_host("box-1.example").validate().is_ok());
        assert!(with_host(&"a".repeat(64)).validate().is_ok());
        assert!(matches!(with_host(&"a".repeat(65)).validate(), Err(PolicyError::Hostname { .. })));
        assert!(matches!(with_host("").validate(), Err(PolicyError::Hostname { .. })));
        assert!(matches!(with_host("a b").validate(), Err(PolicyError::Hostname { .. })));
        assert!(matches!(with_host("a\0b").validate(), Err(PolicyError::Hostname { .. })));
    }
}
