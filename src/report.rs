//! What a run spent and how it ended: returned by
//! [`crate::Child::wait_report`], written by `sandbox-run --report`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use crate::limits::{human_bytes, LimitKind};
use crate::Enforcement;

/// A call the sandbox refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denied {
    /// The syscall.
    pub syscall: &'static str,
    /// Host thread id of the caller.
    pub tid: i32,
    /// The errno it got.
    pub errno: i32,
    /// Why the table denies it.
    pub why: &'static str,
}

/// The account of one finished run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// How the guest's first process ended.
    pub status: ExitStatus,
    /// The limit that ended the run, if one did; [`LimitKind::Disk`] when
    /// none did but the disk budget refused a write.
    pub limit: Option<LimitKind>,
    /// Wall-clock time from start to the end of the tree.
    pub wall: Duration,
    /// CPU time (user + system) of the whole tree, when measured.
    pub cpu: Option<Duration>,
    /// Peak resident memory of the tree (sampled), when measured.
    pub peak_memory: Option<u64>,
    /// Most tasks (processes and threads) alive at once.
    pub peak_tasks: u64,
    /// Tasks created, the first process included.
    pub tasks: u64,
    /// Calls answered by the supervisor, by name.
    pub syscalls: BTreeMap<&'static str, u64>,
    /// Denied calls (the first 64 in detail), when accounting was on.
    pub denied: Vec<Denied>,
    /// How many calls were denied in all, when accounting was on.
    pub denied_total: u64,
    /// Paths the guest changed on the view's writable mounts (guest paths,
    /// sorted; the first 4096), with what happened last: `created`,
    /// `written`, `metadata` or `removed`. Empty without a view.
    pub changed: Vec<(String, &'static str)>,
    /// How many distinct paths changed in all.
    pub changed_total: u64,
    /// What the kernel let the sandbox enforce.
    pub enforcement: Enforcement,
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Report {
    /// The exit status as a shell reports it: the code, or 128 + signal.
    pub fn shell_code(&self) -> i32 {
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s,
            _ => 125,
        }
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        let mut o = String::from("{");
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => {
                let _ = write!(o, "\"exit_code\":{c},\"signal\":null");
            }
            (None, Some(s)) => {
                o.push_str("\"exit_code\":null,\"signal\":");
                json_str(&mut o, condo_syscalls::decode::signal_name(s).unwrap_or("?"));
            }
            _ => o.push_str("\"exit_code\":null,\"signal\":null"),
        }
        o.push_str(",\"limit\":");
        match self.limit {
            Some(l) => json_str(&mut o, l.name()),
            None => o.push_str("null"),
        }
        let _ = write!(o, ",\"wall_seconds\":{:.6}", self.wall.as_secs_f64());
        match self.cpu {
            Some(c) => {
                let _ = write!(o, ",\"cpu_seconds\":{:.3}", c.as_secs_f64());
            }
            None => o.push_str(",\"cpu_seconds\":null"),
        }
        match self.peak_memory {
            Some(m) => {
                let _ = write!(o, ",\"peak_memory_bytes\":{m}");
            }
            None => o.push_str(",\"peak_memory_bytes\":null"),
        }
        let _ = write!(o, ",\"peak_tasks\":{},\"tasks\":{}", self.peak_tasks, self.tasks);
        o.push_str(",\"syscalls\":{");
        for (i, (name, n)) in self.syscalls.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            json_str(&mut o, name);
            let _ = write!(o, ":{n}");
        }
        o.push_str("},\"denied\":[");
        for (i, d) in self.denied.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str("{\"syscall\":");
            json_str(&mut o, d.syscall);
            let _ = write!(o, ",\"pid\":{},\"errno\":", d.tid);
            json_str(&mut o, condo_syscalls::decode::errno_name(d.errno).unwrap_or("E?"));
            o.push_str(",\"why\":");
            json_str(&mut o, d.why);
            o.push('}');
        }
        let _ = write!(o, "],\"denied_total\":{}", self.denied_total);
        o.push_str(",\"changed\":[");
        for (i, (path, what)) in self.changed.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str("{\"path\":");
            json_str(&mut o, path);
            o.push_str(",\"change\":");
            json_str(&mut o, what);
            o.push('}');
        }
        let _ = write!(o, "],\"changed_total\":{}", self.changed_total);
        let _ = write!(o, ",\"sync_wake_up\":{}", self.enforcement.sync_wake_up);
        match self.enforcement.landlock_abi {
            Some(v) => {
                let _ = write!(o, ",\"landlock_abi\":{v}}}");
            }
            None => o.push_str(",\"landlock_abi\":null}"),
        }
        o
    }

    /// A short human summary (a few lines).
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let how = match (self.status.code(), self.status.signal()) {
            (Some(c), _) => format!("exited with {c}"),
            (None, Some(sig)) => {
                format!("killed by {}", condo_syscalls::decode::signal_name(sig).unwrap_or("a signal"))
            }
            _ => "ended".to_string(),
        };
        let _ = write!(s, "sandbox: {how}");
        if let Some(l) = self.limit {
            if l == LimitKind::Disk {
                let _ = write!(s, " (writes past the disk limit failed)");
            } else {
                let _ = write!(s, " (the {} limit ended the run)", l.name());
            }
        }
        let _ = write!(s, "\nsandbox: wall {:.3} s", self.wall.as_secs_f64());
        if let Some(c) = self.cpu {
            let _ = write!(s, ", cpu {:.3} s", c.as_secs_f64());
        }
        if let Some(m) = self.peak_memory {
            let _ = write!(s, ", peak memory {}", human_bytes(m));
        }
        let _ = write!(s, ", {} tasks (at most {} at once)", self.tasks, self.peak_tasks);
        if self.denied_total > 0 {
            let mut seen: BTreeMap<(&str, i32), u64> = BTreeMap::new();
            for d in &self.denied {
                *seen.entry((d.syscall, d.errno)).or_default() += 1;
            }
            let list: Vec<String> = seen
                .iter()
                .map(|((name, e), n)| {
                    format!("{name} ({}) x{n}", condo_syscalls::decode::errno_name(*e).unwrap_or("E?"))
                })
                .collect();
            let _ = write!(s, "\nsandbox: denied {} call(s): {}", self.denied_total, list.join(", "));
        }
        if self.changed_total > 0 {
            const SHOWN: usize = 10;
            let list: Vec<String> = self.changed.iter().take(SHOWN).map(|(p, w)| format!("{p} ({w})")).collect();
            let more = if self.changed_total as usize > SHOWN {
                format!(", and {} more", self.changed_total as usize - SHOWN)
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "\nsandbox: changed {} path(s) on writable mounts: {}{more}",
                self.changed_total,
                list.join(", ")
            );
        }
        if !self.syscalls.is_empty() {
            let calls: Vec<String> = self.syscalls.iter().map(|(n, c)| format!("{n} {c}")).collect();
            let _ = write!(s, "\nsandbox: answered by the supervisor: {}", calls.join(", "));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_well_formed() {
        let mut syscalls = BTreeMap::new();
        syscalls.insert("uname", 3);
        let r = Report {
            status: ExitStatus::from_raw(libc::SIGKILL),
            limit: Some(LimitKind::Memory),
            wall: Duration::from_millis(1500),
            cpu: Some(Duration::from_millis(250)),
            peak_memory: Some(1 << 20),
            peak_tasks: 2,
            tasks: 5,
            syscalls,
            denied: vec![Denied { syscall: "mount", tid: 7, errno: 1, why: "say \"why\"" }],
            denied_total: 3,
            changed: vec![("/tmp/a \"b\"".into(), "created")],
            changed_total: 1,
            enforcement: Enforcement { sync_wake_up: true, notify_routes: true, landlock_abi: Some(7) },
        };
        assert_eq!(
            r.to_json(),
            "{\"exit_code\":null,\"signal\":\"SIGKILL\",\"limit\":\"memory\",\"wall_seconds\":1.500000,\
             \"cpu_seconds\":0.250,\"peak_memory_bytes\":1048576,\"peak_tasks\":2,\"tasks\":5,\
             \"syscalls\":{\"uname\":3},\"denied\":[{\"syscall\":\"mount\",\"pid\":7,\"errno\":\"EPERM\",\
             \"why\":\"say \\\"why\\\"\"}],\"denied_total\":3,\"changed\":[{\"path\":\"/tmp/a \\\"b\\\"\",\
             \"change\":\"created\"}],\"changed_total\":1,\"sync_wake_up\":true,\"landlock_abi\":7}"
        );
        assert!(r.summary().contains("denied 3 call(s): mount (EPERM) x1"), "{}", r.summary());
        assert!(
            r.summary().contains("changed 1 path(s) on writable mounts: /tmp/a \"b\" (created)"),
            "{}",
            r.summary()
        );
        assert_eq!(r.shell_code(), 137);
        assert!(r.summary().contains("memory limit"));
    }
}
