//! The monitor: watches the guest tree over time. It samples CPU time and
//! resident memory (every [`SAMPLE_INTERVAL`]) and enforces the wall-clock
//! timeout. It never signals guest tasks itself: it records the limit and
//! asks the tracer (see [`super::tree`]), which alone can name a tid safely.

use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::tree::{Request, Sample, Tree};
use crate::limits::{LimitKind, Limits, DEFAULT_KILL_GRACE, SAMPLE_INTERVAL};

pub(crate) struct Monitor {
    pub tree: Arc<Tree>,
    pub limits: Limits,
    pub start: Instant,
    pub done: Arc<AtomicBool>,
    /// Sample even without CPU or memory limits (for the report).
    pub account: bool,
    /// The guest's first process, for when the tracer cannot be
    /// interrupted (see [`Monitor::ask`]).
    pub main: Option<OwnedFd>,
    /// The view, when it has a disk budget: removed files still held open
    /// are looked for on every tick ([`crate::vfs::Host::scan_held`]).
    pub disk: Option<Arc<crate::vfs::Host>>,
}

impl Monitor {
    /// Runs until `done`; returns the last sample.
    pub(crate) fn run(self) -> Sample {
        let sampling = self.account || self.limits.cpu_time.is_some() || self.limits.memory.is_some();
        let ticking = sampling || self.disk.is_some();
        let deadline = self.limits.timeout.map(|t| self.start + t);
        let grace = self.limits.kill_grace.unwrap_or(DEFAULT_KILL_GRACE);
        let mut kill_at: Option<Instant> = None;
        let mut last = Sample::default();
        let mut over_before = false;
        loop {
            if self.done.load(Ordering::Acquire) {
                break;
            }
            let now = Instant::now();
            let mut wake = now + if ticking { SAMPLE_INTERVAL } else { Duration::from_secs(3600) };
            if let Some(h) = &self.disk {
                h.scan_held(&self.tree.groups());
            }
            if let Some(d) = deadline {
                if now >= d && kill_at.is_none() {
                    self.tree.end(LimitKind::Timeout);
                    self.ask(Request::TermAll);
                    kill_at = Some(now + grace);
                }
                if kill_at.is_none() {
                    wake = wake.min(d);
                }
            }
            if let Some(k) = kill_at {
                if now >= k {
                    self.ask(Request::KillAll);
                    // Keep asking: the tracer may be between events.
                    kill_at = Some(now + Duration::from_millis(100));
                }
                wake = wake.min(kill_at.unwrap_or(wake));
            }
            if sampling {
                last = self.tree.sample();
                if self.limits.cpu_time.is_some_and(|c| last.cpu > c) {
                    self.exceeded(LimitKind::CpuTime);
                }
                if let Some(m) = self.limits.memory {
                    // Resident memory alone over the limit ends the run at
                    // once. Held memfds count once two samples agree: a
                    // process unmapping one (or exiting) is briefly seen
                    // both in its RSS and as held.
                    let over = last.memory > m;
                    if over && (last.memory - last.held > m || over_before) {
                        self.exceeded(LimitKind::Memory);
                    }
                    over_before = over;
                }
            }
            let now = Instant::now();
            if wake > now {
                std::thread::park_timeout(wake - now);
            }
        }
        if sampling {
            // The tree is gone: CPU time is final, memory is zero.
            last.cpu = last.cpu.max(self.tree.sample().cpu);
        }
        last
    }

    fn exceeded(&self, kind: LimitKind) {
        self.tree.end(kind);
        self.ask(Request::KillAll);
    }

    fn ask(&self, r: Request) {
        self.tree.ask(r, self.main.as_ref());
    }
}
