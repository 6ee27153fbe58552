//! What the tracer and the monitor share about the guest tree: the live
//! processes, what they spent, and requests from the monitor to the tracer.
//!
//! Lock order: `Tree::state` is a leaf lock. It is never held across a
//! ptrace call, a wait, or a signal; the tracer takes it for a few map
//! operations per task creation or exit, the monitor once per sample.
//!
//! Only the tracer signals guest tasks by tid: it alone reaps them, so a tid
//! in its table cannot have been recycled. The monitor asks the tracer to
//! act ([`Request`]) and interrupts its `waitpid`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::limits::LimitKind;

/// What the monitor asks the tracer to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Request {
    None = 0,
    /// SIGTERM every process of the tree (timeout, first step).
    TermAll = 1,
    /// SIGKILL every process of the tree.
    KillAll = 2,
}

#[derive(Default)]
struct State {
    /// Every traced task (threads included).
    tasks: HashSet<i32>,
    /// Thread-group id of each task, learned when the monitor first sees it.
    tgid: HashMap<i32, i32>,
    /// Latest CPU time seen per process (never decreases), in clock ticks,
    /// keyed by (pid, start time) so a recycled pid is a new process.
    cpu_ticks: HashMap<(i32, u64), u64>,
    peak_tasks: usize,
    created: u64,
    peak_memory: u64,
    ended_by: Option<LimitKind>,
    denied: Vec<crate::report::Denied>,
    denied_total: u64,
}

/// Denials kept in detail; beyond, only counted.
const DENIED_KEPT: usize = 64;

/// Shared state of one guest tree.
#[derive(Default)]
pub(crate) struct Tree {
    state: Mutex<State>,
    request: AtomicU8,
    /// Live tasks made by a `clone` with `CLONE_FILES` (or one whose flags
    /// could not be read): while there are none, every guest task's fd
    /// table is its own ([`Tree::fd_tables_private`]).
    fd_sharers: std::sync::atomic::AtomicUsize,
    /// `pthread_t` of the tracer while it runs, for interrupting its
    /// `waitpid`. Kicks happen under this lock and the tracer clears it
    /// before it returns, so a kick never targets a finished thread.
    tracer_thread: Mutex<Option<libc::pthread_t>>,
}

fn ticks_per_sec() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().map_or(100, |t| t.max(1) as u64)
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |p| p.max(1) as u64)
}

/// Memory of the memfds thread group `g` holds open without mapping them
/// (written with `write(2)`, say): in no RSS, yet the tree's for as long
/// as it holds the fd, so it counts against `--memory` (where a cgroup v2
/// memory limit would count it by itself). `seen` keeps an inode held by
/// several processes from counting twice; of one the holder also maps,
/// what its mappings have resident is in its RSS already, and only the
/// rest counts here (a single mapped page must not hide a memfd filled
/// with `write(2)`). (One mapped only by another process counts twice: an
/// overestimate, never a way around the limit.)
fn unmapped_memfd_bytes(g: i32, seen: &mut HashSet<(u64, u64)>) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut mapped: Option<HashMap<u64, u64>> = None;
    let mut total = 0;
    for (link, target) in crate::procfs::fd_links(g) {
        if !target.starts_with(b"/memfd:") {
            continue;
        }
        // Through the magic link: the memfd's own inode.
        let Ok(md) = std::fs::metadata(&link) else { continue };
        if !seen.insert((md.dev(), md.ino())) {
            continue;
        }
        let resident = mapped.get_or_insert_with(|| mapped_memfds(g)).get(&md.ino()).copied().unwrap_or(0);
        total += (md.blocks() * 512).saturating_sub(resident);
    }
    total
}

/// The memfds thread group `g` maps, by inode, with the bytes their
/// mappings have resident (from `/proc/G/smaps`: a header line of
/// address, perms, offset, device, inode and path, then `Rss:` in kB).
fn mapped_memfds(g: i32) -> HashMap<u64, u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{g}/smaps")).unwrap_or_default();
    let mut out: HashMap<u64, u64> = HashMap::new();
    let mut current: Option<u64> = None;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first().is_some_and(|f| f.contains('-') && !f.ends_with(':')) {
            current = line.contains("/memfd:").then(|| fields.get(4)?.parse().ok()).flatten();
        } else if let (Some(ino), ["Rss:", kb, ..]) = (current, fields.as_slice()) {
            *out.entry(ino).or_insert(0) += kb.parse::<u64>().unwrap_or(0) * 1024;
        }
    }
    out
}

/// `(utime + stime in ticks, rss in pages, start time)` of a process from
/// `/proc/<pid>/stat`; the thread group's own time, children excluded.
fn read_stat(pid: i32) -> Option<(u64, u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start
    // after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // Field 3 is state (index 0 here); utime/stime are fields 14/15, rss 24.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let start: u64 = f.get(19)?.parse().ok()?;
    let rss: u64 = f.get(21)?.parse().ok()?;
    Some((utime + stime, rss, start))
}

use crate::procfs::tgid as read_tgid;

/// One sample of the tree.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sample {
    pub cpu: Duration,
    /// Resident memory plus [`Sample::held`].
    pub memory: u64,
    /// Memfds held open and not mapped (see `unmapped_memfd_bytes`).
    pub held: u64,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").field("live_tasks", &self.live_tasks()).finish_non_exhaustive()
    }
}

impl Tree {
    pub(crate) fn add(&self, tid: i32) {
        let mut s = self.lock();
        if s.tasks.insert(tid) {
            s.created += 1;
            s.peak_tasks = s.peak_tasks.max(s.tasks.len());
        }
    }

    /// Whether no guest task shares its fd table with another. Then the fd
    /// numbers of a thread waiting for an answer cannot change until it
    /// runs again: no other task has its table (the tracer counts each
    /// new sharer before it first runs, see [`Tree::fd_sharer_born`]), and
    /// the guest may neither trace, nor take fds from another process, nor
    /// use io_uring. A check of what an fd holds then stays true when the
    /// call goes on natively.
    pub(crate) fn fd_tables_private(&self) -> bool {
        self.fd_sharers.load(std::sync::atomic::Ordering::Acquire) == 0
    }

    /// A task that may share its fd table exists (before it first runs).
    pub(crate) fn fd_sharer_born(&self) {
        self.fd_sharers.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// One such task is gone.
    pub(crate) fn fd_sharer_gone(&self) {
        self.fd_sharers.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Whether `tid` is one of the sandbox's tasks.
    pub(crate) fn contains(&self, tid: i32) -> bool {
        self.lock().tasks.contains(&tid)
    }

    pub(crate) fn remove(&self, tid: i32) {
        self.lock().tasks.remove(&tid);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere must not stop accounting; the data stays usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the final CPU time of thread-group leader `tid` while it is
    /// still there (at its `PTRACE_EVENT_EXIT` stop), so processes too short
    /// for any sample are still counted.
    pub(crate) fn final_sample(&self, tid: i32) {
        if read_tgid(tid) != Some(tid) {
            return;
        }
        if let Some((ticks, _, start)) = read_stat(tid) {
            let mut s = self.lock();
            let e = s.cpu_ticks.entry((tid, start)).or_insert(0);
            *e = (*e).max(ticks);
        }
    }

    /// Samples CPU time (everything the tree ever spent) and resident
    /// memory (what is alive now) by reading `/proc`.
    pub(crate) fn sample(&self) -> Sample {
        let groups = self.groups();
        // Held memfds before RSS: a process that exits meanwhile unmaps
        // (and leaves RSS) before it closes its fds, so the other order
        // would count its pages twice.
        let mut held = HashSet::new();
        let unmapped: u64 = groups.iter().map(|&g| unmapped_memfd_bytes(g, &mut held)).sum();
        let stats: Vec<(i32, u64, u64, u64)> =
            groups.iter().filter_map(|&g| read_stat(g).map(|(ticks, rss, start)| (g, ticks, rss, start))).collect();
        let mut s = self.lock();
        let mut memory = unmapped;
        for &(g, ticks, rss, start) in &stats {
            let e = s.cpu_ticks.entry((g, start)).or_insert(0);
            *e = (*e).max(ticks);
            memory += rss * page_size();
        }
        s.peak_memory = s.peak_memory.max(memory);
        let total: u64 = s.cpu_ticks.values().sum();
        Sample { cpu: Duration::from_secs_f64(total as f64 / ticks_per_sec() as f64), memory, held: unmapped }
    }

    /// The thread groups (processes) of the tree now.
    pub(crate) fn groups(&self) -> HashSet<i32> {
        let tasks: Vec<i32> = self.lock().tasks.iter().copied().collect();
        // Learn thread-group ids outside the lock (one read per new task).
        let unknown: Vec<i32> = {
            let s = self.lock();
            tasks.iter().copied().filter(|t| !s.tgid.contains_key(t)).collect()
        };
        let learned: Vec<(i32, i32)> = unknown.iter().filter_map(|&t| read_tgid(t).map(|g| (t, g))).collect();
        let mut groups: HashSet<i32> = HashSet::new();
        {
            let mut s = self.lock();
            s.tgid.extend(learned);
            // Forget tasks that are gone, so the map stays bounded.
            let live: HashSet<i32> = s.tasks.clone();
            s.tgid.retain(|t, _| live.contains(t));
            groups.extend(tasks.iter().filter_map(|t| s.tgid.get(t).copied()));
        }
        groups
    }

    /// Records which limit ended the run (the first one wins).
    pub(crate) fn end(&self, kind: LimitKind) {
        let mut s = self.lock();
        if s.ended_by.is_none() {
            s.ended_by = Some(kind);
        }
    }

    /// Records a denied call for the report.
    pub(crate) fn record_denied(&self, d: crate::report::Denied) {
        let mut s = self.lock();
        s.denied_total += 1;
        if s.denied.len() < DENIED_KEPT {
            s.denied.push(d);
        }
    }

    /// The recorded denials and their total count.
    pub(crate) fn denied(&self) -> (Vec<crate::report::Denied>, u64) {
        let s = self.lock();
        (s.denied.clone(), s.denied_total)
    }

    pub(crate) fn ended_by(&self) -> Option<LimitKind> {
        self.lock().ended_by
    }

    pub(crate) fn live_tasks(&self) -> usize {
        self.lock().tasks.len()
    }

    /// (peak live tasks, tasks created, peak memory).
    pub(crate) fn peaks(&self) -> (usize, u64, u64) {
        let s = self.lock();
        (s.peak_tasks, s.created, s.peak_memory)
    }

    /// Called by the tracer thread when it starts (`Some`) and right before
    /// it returns (`None`).
    pub(crate) fn set_tracer_thread(&self, t: Option<libc::pthread_t>) {
        *self.tracer_thread.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    pub(crate) fn request(&self, r: Request) {
        // KillAll supersedes TermAll.
        self.request.fetch_max(r as u8, Ordering::AcqRel);
    }

    /// Hands `r` to the tracer and interrupts its `waitpid`. Without the
    /// wake-up signal the tracer would only act on its next event, which a
    /// busy guest may never produce: then the first process is signalled
    /// directly through its pidfd (the tracer kills the rest when it exits).
    pub(crate) fn ask(&self, r: Request, main: Option<&std::os::fd::OwnedFd>) {
        use std::os::fd::AsFd;
        self.request(r);
        let thread = self.tracer_thread.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(sig), Some(t)) = (crate::sys::worker_wakeup_signal(), *thread) {
            crate::sys::kick_thread(t, sig);
        } else if let Some(fd) = main {
            let sig = if r == Request::TermAll { libc::SIGTERM } else { libc::SIGKILL };
            let _ = crate::sys::pidfd_send_signal(fd.as_fd(), sig);
        }
    }

    /// Takes the pending request.
    pub(crate) fn take_request(&self) -> Request {
        match self.request.swap(Request::None as u8, Ordering::AcqRel) {
            1 => Request::TermAll,
            2 => Request::KillAll,
            _ => Request::None,
        }
    }
}
