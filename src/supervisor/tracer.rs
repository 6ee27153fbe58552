//! The tracer: the one thread that owns every ptrace call for the guest
//! tree (ptrace belongs to a thread, not a process).
//!
//! It follows the whole tree through `PTRACE_EVENT_{FORK,VFORK,CLONE,EXEC}`
//! (new tasks are attached by the kernel before they run), keeps signals
//! flowing (signal-delivery stops re-inject the signal; group stops are
//! parked with `PTRACE_LISTEN` so SIGSTOP/SIGCONT and job control behave),
//! and with `--trace` handles `PTRACE_EVENT_SECCOMP` to log calls. When the
//! guest's first process exits, whatever is left of the tree is killed, as a
//! PID namespace would do when its init dies. `PTRACE_O_EXITKILL` kills the
//! tree if this thread (the supervisor) dies.

use std::collections::HashMap;
use std::sync::Arc;

use condo_syscalls::decode::{decode_args, DecodeOptions, Value};
use condo_syscalls::{Arch, Sysno};
use nix::errno::Errno;
use nix::sys::ptrace::{self, Event as PtraceEvent, Options};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::tree::{Request, Tree};
use crate::filter::{Resolved, SeccompData, TraceData, Verdict};
use crate::memory::ProcessMemory;
use crate::sys;
use crate::trace::{Event, Path, TraceSink};

/// The ptrace options every guest task carries.
pub(crate) fn options(tracing: bool, accounting: bool) -> Options {
    let mut o = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_TRACESECCOMP
        | Options::PTRACE_O_EXITKILL;
    if tracing || accounting {
        // An extra stop per exiting thread; only worth it to log calls that
        // never return (exit_group, a thread killed mid-call) and to read a
        // process's final CPU time while it still exists.
        o |= Options::PTRACE_O_TRACEEXIT;
    }
    o
}

/// A call seen at its seccomp stop, waiting for its syscall-exit stop.
struct InFlight {
    sysno: Sysno,
    args: Vec<Value>,
}

#[derive(Default)]
struct Task {
    in_flight: Option<InFlight>,
    /// Inside a fork/vfork/clone that was counted as pending.
    spawning: bool,
    /// Inside a `chdir`/`fchdir`: once it is done, remembered working
    /// directories are stale ([`crate::procfs::dirs_moved`]).
    moving_cwd: bool,
    /// Its `clone` was looked at (at its parent's fork event or its own
    /// first stop, whichever came first).
    clone_seen: bool,
    /// Counted in [`Tree::fd_sharer_born`].
    shares_files: bool,
}

/// The state of one traced tree.
pub(crate) struct Tracer {
    main: Pid,
    tasks: HashMap<Pid, Task>,
    trace: Option<Arc<TraceSink>>,
    /// Logging starts at the guest's first execve: what the launcher does
    /// before is not the guest's.
    logging: bool,
    /// The main process is gone: kill everything that is left.
    draining: bool,
    /// A timeout's SIGTERM went out: the rest of the tree keeps its grace
    /// period even when the first process dies at once.
    terminating: bool,
    main_status: Option<i32>,
    tree: Arc<Tree>,
    /// Tasks (threads included) allowed alive at once.
    max_procs: Option<u32>,
    /// Task-creating calls allowed but not finished: counted so that
    /// concurrent forks cannot overshoot the limit.
    pending_spawns: u32,
    /// Exited processes their parent has not reaped yet: a zombie still
    /// holds a pid, so it counts against the process limit.
    zombies: std::collections::HashSet<Pid>,
    /// Read final CPU times at exit stops.
    accounting: bool,
    /// What our filter decides, to re-derive verdicts at seccomp stops.
    resolved: Arc<Resolved>,
    /// The filesystem view, for the paths the kernel resolves itself.
    vfs: Option<Arc<crate::vfs::Host>>,
    /// The guest program runs: execs before it are the launcher's, whose
    /// paths are host paths already.
    launched: bool,
}

/// How the tracer is configured.
pub(crate) struct Config {
    pub resolved: Arc<Resolved>,
    pub trace: Option<Arc<TraceSink>>,
    pub tree: Arc<Tree>,
    pub max_procs: Option<u32>,
    pub accounting: bool,
    pub vfs: Option<Arc<crate::vfs::Host>>,
}

impl Tracer {
    pub(crate) fn new(main: Pid, cfg: Config) -> Tracer {
        let mut tasks = HashMap::new();
        tasks.insert(main, Task::default());
        cfg.tree.add(main.as_raw());
        Tracer {
            main,
            tasks,
            trace: cfg.trace,
            logging: false,
            draining: false,
            terminating: false,
            main_status: None,
            tree: cfg.tree,
            max_procs: cfg.max_procs,
            pending_spawns: 0,
            zombies: std::collections::HashSet::new(),
            accounting: cfg.accounting,
            resolved: cfg.resolved,
            vfs: cfg.vfs,
            launched: false,
        }
    }

    /// Carries out what the monitor asked for. Only the tracer signals
    /// tasks by tid: it reaps them, so no tid in its table is recycled.
    fn serve_request(&mut self) {
        let sig = match self.tree.take_request() {
            Request::None => return,
            Request::TermAll => {
                self.terminating = true;
                Signal::SIGTERM
            }
            Request::KillAll => {
                self.draining = true;
                Signal::SIGKILL
            }
        };
        self.signal_all(sig);
    }

    fn signal_all(&self, sig: Signal) {
        for &p in self.tasks.keys() {
            let _ = nix::sys::signal::kill(p, sig);
        }
    }

    /// Runs until no traced task is left; returns the main process's wait
    /// status (as in `waitpid`).
    pub(crate) fn run(mut self) -> i32 {
        self.tree.set_tracer_thread(Some(sys::current_thread()));
        loop {
            self.serve_request();
            let (pid, status) = match sys::wait_any_tracee() {
                Ok(s) => s,
                // The monitor interrupts us to hand over a request.
                Err(Errno::EINTR) => continue,
                // ECHILD: nothing left to wait for.
                Err(_) => break,
            };
            self.handle(Pid::from_raw(pid), status);
            if self.main_status.is_some() && self.tasks.is_empty() {
                break;
            }
        }
        self.tree.set_tracer_thread(None);
        if let Some(t) = &self.trace {
            t.flush();
        }
        // Exit status 0 is impossible to reach without the main process
        // being seen, so this only guards a kernel surprise.
        self.main_status.unwrap_or(libc::SIGKILL)
    }

    /// One wait status, raw (see [`sys::wait_any_tracee`]).
    fn handle(&mut self, pid: Pid, status: i32) {
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            return self.gone(pid, status);
        }
        if !libc::WIFSTOPPED(status) {
            return;
        }
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if event != 0 {
            self.event(pid, sig, event);
        } else if sig == libc::SIGTRAP | 0x80 {
            self.syscall_exit(pid);
        } else {
            // Signal-delivery stop: pass the signal on.
            if !self.tasks.contains_key(&pid) {
                self.known(pid);
                self.cloned(pid, pid);
            }
            self.resume(pid, sig);
        }
    }

    /// Records a task we had not seen (a new child's first stop can arrive
    /// before its parent's fork event).
    fn known(&mut self, pid: Pid) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.tasks.entry(pid) {
            e.insert(Task::default());
            self.tree.add(pid.as_raw());
            if self.draining {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            }
        }
    }

    /// New task `child` (stopped, not yet run): whether the `clone` that
    /// made it shares the fd table, read from the registers of `at`, the
    /// parent at its fork event or the child at its first stop (which holds
    /// a copy of its parent's). Counted before either runs on, so that a
    /// guest's fd table never has a second user the count does not show.
    fn cloned(&mut self, child: Pid, at: Pid) {
        let Some(task) = self.tasks.get_mut(&child) else { return };
        if task.clone_seen {
            return;
        }
        task.clone_seen = true;
        if clone_flags(at).is_none_or(|f| f & libc::CLONE_FILES as u64 != 0) {
            task.shares_files = true;
            self.tree.fd_sharer_born();
        }
    }

    /// Task `pid` is gone (its number may soon be another's): out of every
    /// table that knows it.
    fn forget_task(&mut self, pid: Pid) -> Option<Task> {
        let task = self.tasks.remove(&pid)?;
        self.tree.remove(pid.as_raw());
        crate::procfs::forget(pid.as_raw());
        super::WakeHere::forget(pid.as_raw());
        if task.shares_files {
            self.tree.fd_sharer_gone();
        }
        Some(task)
    }

    fn gone(&mut self, pid: Pid, raw_status: i32) {
        if let Some(task) = self.forget_task(pid) {
            if self.max_procs.is_some() && pid != self.main && is_zombie(pid) {
                self.zombies.insert(pid);
            }
            if task.spawning {
                self.pending_spawns = self.pending_spawns.saturating_sub(1);
            }
            if let (Some(f), Some(t)) = (task.in_flight, &self.trace) {
                t.record(&Event { tid: pid.as_raw(), sysno: f.sysno, args: &f.args, ret: None, path: Path::Native });
            }
        }
        if pid == self.main {
            self.main_status = Some(raw_status);
            if !self.terminating {
                self.draining = true;
                self.signal_all(Signal::SIGKILL);
            }
        }
    }

    fn event(&mut self, pid: Pid, sig: i32, event: i32) {
        let first_seen = !self.tasks.contains_key(&pid);
        self.known(pid);
        if first_seen {
            self.cloned(pid, pid);
        }
        match event {
            e if e == PtraceEvent::PTRACE_EVENT_FORK as i32
                || e == PtraceEvent::PTRACE_EVENT_VFORK as i32
                || e == PtraceEvent::PTRACE_EVENT_CLONE as i32 =>
            {
                if let Ok(child) = ptrace::getevent(pid) {
                    let child = Pid::from_raw(child as libc::pid_t);
                    self.known(child);
                    self.cloned(child, pid);
                    // The child inherits the CPU mask its parent had at the
                    // fork, which may have been WakeHere's single CPU (the
                    // parent ran, and forked, before its mask was put
                    // back): give it the parent's own, as natively.
                    if let Some(mask) = super::WakeHere::mask_of(pid) {
                        super::WakeHere::set_own_mask(child, mask);
                    }
                }
                self.resume(pid, 0);
            }
            e if e == PtraceEvent::PTRACE_EVENT_EXEC as i32 => {
                self.launched = true;
                // A non-leader thread that execs takes over the leader's tid;
                // its old tid vanishes without an exit notification.
                if let Ok(former) = ptrace::getevent(pid) {
                    let former = Pid::from_raw(former as libc::pid_t);
                    if former != pid {
                        self.forget_task(former);
                    }
                }
                self.resume(pid, 0);
            }
            e if e == PtraceEvent::PTRACE_EVENT_SECCOMP as i32 => self.seccomp_stop(pid),
            e if e == PtraceEvent::PTRACE_EVENT_EXIT as i32 => {
                super::WakeHere::forget(pid.as_raw());
                if self.accounting {
                    self.tree.final_sample(pid.as_raw());
                }
                self.resume(pid, 0)
            }
            e if e == libc::PTRACE_EVENT_STOP => {
                if matches!(sig, libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) {
                    // Group stop: stay stopped, but let SIGCONT wake us.
                    if sys::ptrace_listen(pid.as_raw()).is_err() {
                        self.resume(pid, 0);
                    }
                } else {
                    // The stop a new task starts with, or an interrupt.
                    if first_seen {
                        inherited_mask(pid);
                    }
                    self.resume(pid, 0);
                }
            }
            _ => self.resume(pid, 0),
        }
    }

    /// Resumes `pid`, through its syscall-exit stop if a call is in flight.
    fn resume(&mut self, pid: Pid, sig: i32) {
        let in_flight = self.tasks.get(&pid).is_some_and(|t| t.in_flight.is_some() || t.spawning || t.moving_cwd);
        // ESRCH: killed meanwhile; its exit notification follows.
        let _ = sys::ptrace_resume(pid.as_raw(), in_flight, sig);
    }

    #[cfg(target_arch = "x86_64")]
    fn seccomp_stop(&mut self, pid: Pid) {
        // The 16 data bits of the stop are not trusted: among equal actions
        // the kernel keeps the value of the guest's newest filter, so a
        // guest filter returning TRACE|0 would turn our Deny into Log. The
        // verdict is re-derived from the registers with the very table the
        // filter was emitted from.
        let Ok(regs) = sys::ptrace_getregs(pid.as_raw()) else { return self.resume(pid, 0) };
        // The kernel runs (int)orig_rax and BPF saw those same 32 bits;
        // garbage in the upper half must not change the lookup.
        let nr = regs.orig_rax as u32;
        let raw = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
        let data = SeccompData { nr, arch: Arch::native().audit_arch(), ip: regs.rip, args: raw };
        let ours = match self.resolved.expected(&data) {
            Verdict::Trace(d) => TraceData::decode(d),
            // Our filter allows it: the TRACE came from a filter the guest
            // installed itself. Natively nobody would trace it and the
            // kernel would fail the call with ENOSYS.
            Verdict::Allow => {
                fail_call(pid, regs, libc::ENOSYS);
                return self.resume(pid, 0);
            }
            // Anything stronger in our filter wins over TRACE in the kernel,
            // so these cannot happen; refuse rather than run the call.
            Verdict::Errno(e) => TraceData::Deny(e),
            Verdict::Notify | Verdict::Kill => TraceData::Deny(libc::ENOSYS as u16),
        };
        let sysno = Arch::native().sysno(u64::from(nr));
        if ours == TraceData::Spawn && !self.admit_spawn(pid) {
            fail_call(pid, regs, libc::EAGAIN);
            self.log_refusal(pid, sysno, &raw, libc::EAGAIN);
            return self.resume(pid, 0);
        }
        if !self.logging && pid == self.main && sysno == Some(Sysno::execve) {
            self.logging = true;
        }
        if ours == TraceData::Path && self.launched {
            if let (Some(host), Some(sysno)) = (&self.vfs, sysno) {
                let tree = Arc::clone(&self.tree);
                let in_sandbox = move |p: libc::pid_t| tree.contains(p);
                let mut new = regs;
                match super::view::translate_call(host, &in_sandbox, pid.as_raw(), sysno, &mut new) {
                    Ok(()) if new.rdi != regs.rdi || new.rsi != regs.rsi => {
                        let _ = sys::ptrace_setregs(pid.as_raw(), new);
                    }
                    Ok(()) => {}
                    Err(e) => {
                        fail_call(pid, regs, e as i32);
                        self.log_refusal(pid, Some(sysno), &raw, e as i32);
                        return self.resume(pid, 0);
                    }
                }
            }
        }
        if ours == TraceData::Path && matches!(sysno, Some(Sysno::chdir | Sysno::fchdir)) {
            if let Some(t) = self.tasks.get_mut(&pid) {
                t.moving_cwd = true;
            }
        }
        match ours {
            TraceData::Deny(errno) => {
                // Always refused, even if the number does not decode.
                let errno = i32::from(errno);
                fail_call(pid, regs, errno);
                if let Some(sysno) = sysno {
                    self.tree.record_denied(crate::report::Denied {
                        syscall: sysno.name(),
                        tid: pid.as_raw(),
                        errno,
                        why: crate::table::entry(sysno).why,
                    });
                }
                self.log_refusal(pid, sysno, &raw, errno);
            }
            TraceData::Log | TraceData::Spawn | TraceData::Path => {
                if let (Some(sysno), true, true) = (sysno, self.logging, self.trace.is_some()) {
                    let args = decode(pid, sysno, &raw);
                    if let Some(t) = self.tasks.get_mut(&pid) {
                        t.in_flight = Some(InFlight { sysno, args });
                    }
                }
            }
        }
        // A path call's next stop is soon (the O_PATH open is followed by
        // its use): resume it here rather than on an idle CPU.
        let _here = (ours == TraceData::Path).then(|| super::WakeHere::new(pid.as_raw()));
        self.resume(pid, 0);
    }

    /// A fork/vfork/clone at its seccomp stop: whether the process limit
    /// admits it. An admitted call counts as pending until its syscall-exit
    /// stop, so concurrent forks cannot overshoot; the caller fails a
    /// refused one with EAGAIN, as RLIMIT_NPROC would. Threads count.
    #[cfg(target_arch = "x86_64")]
    fn admit_spawn(&mut self, pid: Pid) -> bool {
        let Some(max) = self.max_procs else { return true };
        // Zombies reaped since (or whose pid a live task now holds) no
        // longer count.
        let tasks = &self.tasks;
        self.zombies.retain(|z| !tasks.contains_key(z) && is_zombie(*z));
        let live = self.tasks.len() as u64 + u64::from(self.pending_spawns) + self.zombies.len() as u64;
        if live >= u64::from(max) {
            return false;
        }
        self.pending_spawns += 1;
        if let Some(t) = self.tasks.get_mut(&pid) {
            t.spawning = true;
        }
        true
    }

    /// Logs a call the tracer refused (when tracing and logging).
    fn log_refusal(&self, pid: Pid, sysno: Option<Sysno>, raw: &[u64; 6], errno: i32) {
        if let (Some(t), Some(sysno), true) = (&self.trace, sysno, self.logging) {
            let args = decode(pid, sysno, raw);
            t.record(&Event {
                tid: pid.as_raw(),
                sysno,
                args: &args,
                ret: Some(-i64::from(errno)),
                path: Path::Denied,
            });
        }
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn seccomp_stop(&mut self, pid: Pid) {
        // Policy::validate refuses --trace here; a guest's own TRACE filter
        // gets the kernel's no-tracer answer.
        self.resume(pid, 0);
    }

    fn syscall_exit(&mut self, pid: Pid) {
        self.known(pid);
        if let Some(t) = self.tasks.get_mut(&pid) {
            if std::mem::take(&mut t.spawning) {
                self.pending_spawns = self.pending_spawns.saturating_sub(1);
            }
            if std::mem::take(&mut t.moving_cwd) {
                crate::procfs::dirs_moved();
            }
        }
        let in_flight = self.tasks.get_mut(&pid).and_then(|t| t.in_flight.take());
        if let (Some(f), Some(t)) = (in_flight, &self.trace) {
            #[cfg(target_arch = "x86_64")]
            let ret = sys::ptrace_getregs(pid.as_raw()).ok().map(|r| r.rax as i64);
            #[cfg(not(target_arch = "x86_64"))]
            let ret = None;
            t.record(&Event { tid: pid.as_raw(), sysno: f.sysno, args: &f.args, ret, path: Path::Native });
        }
        self.resume(pid, 0);
    }
}

/// Whether `pid` is a zombie (exited, not yet reaped by its parent).
/// A new process whose first stop came before its parent's fork event
/// (which would give it its parent's own CPU mask): if it has a single
/// CPU, as a parent held by a `WakeHere` at the fork would have passed on,
/// it gets its parent's own mask now, before it runs.
fn inherited_mask(child: Pid) {
    let Ok(mask) = nix::sched::sched_getaffinity(child) else { return };
    if (0..nix::sched::CpuSet::count()).filter(|&c| mask.is_set(c).unwrap_or(false)).count() != 1 {
        return;
    }
    let Some(parent) = crate::procfs::parent_of_process(child.as_raw()) else { return };
    if let Some(own) = super::WakeHere::mask_of(Pid::from_raw(parent)) {
        super::WakeHere::set_own_mask(child, own);
    }
}

/// The flags of the `clone`/`fork`/`vfork` that task `pid` (stopped at
/// its fork event, or a new child at its first stop) is in; `None` when
/// they cannot be read.
#[cfg(target_arch = "x86_64")]
fn clone_flags(pid: Pid) -> Option<u64> {
    let regs = sys::ptrace_getregs(pid.as_raw()).ok()?;
    match regs.orig_rax as i64 {
        libc::SYS_clone => Some(regs.rdi),
        libc::SYS_fork => Some(0),
        libc::SYS_vfork => Some((libc::CLONE_VM | libc::CLONE_VFORK) as u64),
        _ => None,
    }
}

/// Elsewhere not read: every new task counts as sharing its fd table.
#[cfg(not(target_arch = "x86_64"))]
fn clone_flags(_pid: Pid) -> Option<u64> {
    None
}

fn is_zombie(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').and_then(|i| s.get(i + 2..i + 3)).map(|st| st == "Z"))
        .unwrap_or(false)
}

/// Skips the call `pid` is stopped in and makes it return `-errno`; `regs`
/// are its registers as read at this stop.
#[cfg(target_arch = "x86_64")]
fn fail_call(pid: Pid, mut regs: libc::user_regs_struct, errno: i32) {
    regs.orig_rax = u64::MAX; // -1: no syscall
    regs.rax = (-i64::from(errno)) as u64;
    let _ = sys::ptrace_setregs(pid.as_raw(), regs);
}

/// The arguments of a call, decoded from the stopped task's registers and
/// memory for the trace.
fn decode(pid: Pid, sysno: Sysno, raw: &[u64; 6]) -> Vec<Value> {
    decode_args(sysno, raw, Some(&ProcessMemory::new(pid.as_raw())), &DecodeOptions::default())
}
