//! Budgets a guest tree may spend, and what it spent.
//!
//! Per-process limits are kernel rlimits set in the child before exec
//! (`RLIMIT_NOFILE`, `RLIMIT_FSIZE`, `RLIMIT_CPU`, `RLIMIT_DATA`). Limits on
//! the whole tree are enforced by the supervisor: the tracer counts
//! processes and threads exactly (a fork past the budget fails with
//! `EAGAIN`), and the monitor thread samples the tree's CPU time and
//! resident memory and ends the run when either is exceeded, or when the
//! wall-clock timeout expires.

use std::time::Duration;

/// What a sandbox may spend. Every limit is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Wall clock for the whole tree: SIGTERM on expiry, SIGKILL after
    /// [`Limits::kill_grace`].
    pub timeout: Option<Duration>,
    /// Time between the SIGTERM and the SIGKILL of a timeout (default 2 s).
    pub kill_grace: Option<Duration>,
    /// CPU time (user + system) summed over the tree.
    pub cpu_time: Option<Duration>,
    /// Resident memory of the tree, in bytes (also each process's
    /// `RLIMIT_DATA`).
    pub memory: Option<u64>,
    /// Processes and threads alive at once in the tree.
    pub max_procs: Option<u32>,
    /// Open files per process (`RLIMIT_NOFILE`).
    pub max_files: Option<u64>,
    /// Largest file a process may write (`RLIMIT_FSIZE`).
    pub max_file_size: Option<u64>,
    /// Bytes the guest may add across its writable mounts (file sizes);
    /// past it, writes fail with `EDQUOT`. Needs a filesystem view.
    pub disk: Option<u64>,
}

/// The default time between SIGTERM and SIGKILL when a timeout expires.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// How often the monitor samples CPU time and memory.
pub const SAMPLE_INTERVAL: Duration = Duration::from_millis(20);

/// The limit that ended a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// `timeout`.
    Timeout,
    /// `cpu_time`.
    CpuTime,
    /// `memory`.
    Memory,
    /// The library's cap on captured output ([`crate::Command::output_limit`]).
    Output,
    /// `disk`: a write was refused (the run goes on; the guest sees
    /// `EDQUOT`).
    Disk,
}

impl LimitKind {
    /// The name used in reports (`"timeout"`, `"cpu-time"`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            LimitKind::Timeout => "timeout",
            LimitKind::CpuTime => "cpu-time",
            LimitKind::Memory => "memory",
            LimitKind::Output => "output",
            LimitKind::Disk => "disk",
        }
    }
}

impl Limits {
    /// Whether the supervisor must watch the tree over time.
    pub fn needs_monitor(&self) -> bool {
        self.timeout.is_some() || self.cpu_time.is_some() || self.memory.is_some()
    }

    /// The rlimits the child sets before exec: `(resource, soft, hard)`.
    pub fn rlimits(&self) -> Vec<(RlimitResource, u64, u64)> {
        let mut v = Vec::new();
        if let Some(n) = self.max_files {
            v.push((libc::RLIMIT_NOFILE, n, n));
        }
        if let Some(n) = self.max_file_size {
            v.push((libc::RLIMIT_FSIZE, n, n));
        }
        if let Some(t) = self.cpu_time {
            // A single process that alone spends the tree's budget gets the
            // kernel's SIGXCPU; the hard limit (SIGKILL) one second later.
            let s = t.as_secs() + u64::from(t.subsec_nanos() > 0);
            v.push((libc::RLIMIT_CPU, s.max(1), s.max(1) + 1));
        }
        if let Some(m) = self.memory {
            // Heap and private mappings; unlike RLIMIT_AS it leaves room
            // for runtimes that reserve large address ranges up front.
            v.push((libc::RLIMIT_DATA, m, m));
        }
        v
    }
}

/// The resource argument type of `setrlimit(2)`.
pub type RlimitResource = libc::__rlimit_resource_t;

/// A size or duration that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct UnitError {
    /// "duration" or "size".
    pub what: &'static str,
    /// The text given.
    pub value: String,
    /// What is wrong.
    pub reason: &'static str,
}

fn split_number(s: &str) -> Option<(f64, &str)> {
    let end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') || num.matches('.').count() > 1 {
        return None;
    }
    Some((num.parse().ok()?, unit))
}

/// Parses `500ms`, `10s`, `1.5s`, `2m`, `1h`, `1d`; a bare number is
/// seconds (as in timeout(1)).
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let err = |reason| UnitError { what: "duration", value: s.to_string(), reason };
    let (n, unit) = split_number(s.trim()).ok_or_else(|| err("expected a number followed by ms, s, m, h or d"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(err("unknown unit (use ms, s, m, h or d)")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs < 1e10) {
        return Err(err("must be more than zero and less than 300 years"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `4096`, `64K`, `512M`, `1G`, `1.5G`, `2T` (binary multiples;
/// `KiB`/`KB`/`k` are accepted as the same).
pub fn parse_bytes(s: &str) -> Result<u64, UnitError> {
    let err = |reason| UnitError { what: "size", value: s.to_string(), reason };
    let (n, unit) = split_number(s.trim()).ok_or_else(|| err("expected a number followed by K, M, G or T"))?;
    let shift = match unit.to_ascii_lowercase().trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(err("unknown unit (use K, M, G or T)")),
    };
    let bytes = n * (1u64 << shift) as f64;
    if !(bytes.is_finite() && (1.0..1.8e19).contains(&bytes)) {
        return Err(err("must be at least one byte and fit in 64 bits"));
    }
    Ok(bytes as u64)
}

/// Formats a byte count for people: `512 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 || v.fract() == 0.0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["", "s", "-1s", "0", "0s", "1x", "1.s", ".5s", "1..2s", "1e3s", "NaN", "inf"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("1G"), Ok(1 << 30));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("64k"), Ok(64 << 10));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("1.5K"), Ok(1536));
        for bad in ["", "M", "-1M", "0", "1Q", "99999999999T", "1.2.3M"] {
            assert!(parse_bytes(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(human_bytes(512 << 20), "512 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(7), "7 B");
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in ".{0,24}") {
            let _ = parse_duration(&s);
            let _ = parse_bytes(&s);
        }

        #[test]
        fn whole_units_round_trip(n in 1u64..100_000, unit in 0usize..4) {
            let (suffix, shift) = [("", 0), ("K", 10), ("M", 20), ("G", 30)][unit];
            prop_assert_eq!(parse_bytes(&format!("{n}{suffix}")), Ok(n << shift));
            prop_assert_eq!(parse_duration(&format!("{n}s")), Ok(Duration::from_secs(n)));
        }
    }
}
