//! The supervisor: starts the guest and runs the two kinds of thread that
//! watch it. No syscall semantics live here; handlers decide, the
//! supervisor acts.
//!
//! Threads per sandbox:
//! - the **tracer** ([`tracer`]): forks the guest (PDEATHSIG and ptrace are
//!   per thread), attaches, and owns every ptrace call until the tree is
//!   gone;
//! - the **notify worker** ([`notify`]): answers seccomp notifications.
//!
//! Lock order: there are no locks shared between the two threads except the
//! trace sink's, which is taken last and never held across a syscall on the
//! guest's behalf.

pub(crate) mod monitor;
pub(crate) mod notify;
pub(crate) mod tracer;
pub(crate) mod tree;
mod view;

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::thread::JoinHandleExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::unistd::Pid;

use crate::error::Error;
use crate::identity::Identity;
use crate::launch::{self, LaunchError, Prepared, Spec};
use crate::policy::Policy;
use crate::sys;
use crate::table;
use crate::trace::TraceSink;

/// What the kernel let us enforce, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Enforcement {
    /// The notify listener wakes on the current CPU
    /// (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, Linux 6.6). Without it every
    /// notified call may pay a cross-CPU wake-up.
    pub sync_wake_up: bool,
    /// Whether any syscall is routed to the notify worker in this sandbox.
    pub notify_routes: bool,
    /// The Landlock ABI of the guest's domain (`None`: no Landlock, so the
    /// guest is not kept from same-user processes by the kernel; ABI 6+ also
    /// confines its signals and abstract unix sockets).
    pub landlock_abi: Option<u32>,
}

/// A running guest and the threads watching it.
pub(crate) struct Started {
    pub pid: Pid,
    pub pidfd: Option<OwnedFd>,
    pub tracer: JoinHandle<i32>,
    pub worker: Option<WorkerHandle>,
    pub monitor: Option<MonitorHandle>,
    pub tree: Arc<tree::Tree>,
    pub enforcement: Enforcement,
    /// What the guest changed on the view's writable mounts.
    pub changes: Option<Arc<crate::vfs::Changes>>,
    /// The disk account, when `--disk` set a budget.
    pub disk: Option<Arc<crate::vfs::disk::DiskUsage>>,
}

/// The notify worker thread, and how to stop it once the tracer is done.
#[derive(Debug)]
pub(crate) struct WorkerHandle {
    join: JoinHandle<Vec<u64>>,
    stopping: Arc<AtomicBool>,
    signal: Option<i32>,
}

impl WorkerHandle {
    /// Stops the worker. Call after the tracer finished: no guest is left,
    /// so no notification can still arrive.
    pub(crate) fn stop(self) -> Vec<u64> {
        self.stopping.store(true, Ordering::Release);
        if let Some(sig) = self.signal {
            // Since Linux 6.6 the worker has usually left on its own (RECV
            // fails once the filter is orphaned). Before, RECV blocks
            // forever: interrupt it. The signal may land just before the
            // worker re-enters NOTIF_RECV; repeat until it has noticed.
            let thread = self.join.as_pthread_t();
            for round in 0u32.. {
                if self.join.is_finished() {
                    break;
                }
                if round > 0 {
                    sys::kick_thread(thread, sig);
                }
                std::thread::sleep(Duration::from_micros(20 << round.min(6)));
            }
        }
        self.join.join().unwrap_or_default()
    }
}

/// The monitor thread, stopped once the tracer is done.
#[derive(Debug)]
pub(crate) struct MonitorHandle {
    join: JoinHandle<tree::Sample>,
    done: Arc<AtomicBool>,
}

impl MonitorHandle {
    pub(crate) fn stop(self) -> tree::Sample {
        self.done.store(true, Ordering::Release);
        self.join.thread().unpark();
        self.join.join().unwrap_or_default()
    }
}

fn eventfd() -> Result<OwnedFd, Errno> {
    let fd = nix::sys::eventfd::EventFd::from_value_and_flags(0, nix::sys::eventfd::EfdFlags::EFD_CLOEXEC)?;
    Ok(OwnedFd::from(fd))
}

fn signal_done(done: &OwnedFd) {
    let one = 1u64.to_ne_bytes();
    let _ = nix::unistd::write(done.as_fd(), &one);
}

/// Starts `spec` under `policy`. Returns once the guest program runs (its
/// `execve` succeeded) or with the reason it could not.
pub(crate) fn start(policy: &Policy, mut spec: Spec) -> Result<Started, Error> {
    policy.validate()?;
    // The guest runs as our user. A dumpable supervisor could have its
    // memory written through /proc/<pid>/mem by its own guest wherever
    // Landlock does not scope ptrace: make this process non-dumpable (the
    // launcher then makes each child dumpable until exec, which does so
    // anyway for readable binaries).
    let _ = sys::set_dumpable(false);
    let landlock_abi = sys::landlock_abi();
    let arch = condo_syscalls::Arch::native();
    let mut vfs = match &policy.view {
        Some(v) => Some(crate::vfs::Host::new(v.clone())?),
        None => None,
    };
    if let Some(h) = &mut vfs {
        h.set_disk_budget(policy.limits.disk);
    }
    let mut landlock_fs = false;
    if let Some(host) = &mut vfs {
        view::translate(host, &mut spec)?;
        if let Some(abi) = landlock_abi {
            let (ruleset, places) = view::ruleset(host, abi)?;
            spec.landlock_ruleset = Some(ruleset);
            host.set_landlock_places(places);
            landlock_fs = true;
            // A traced call shows its result, which a call continued
            // natively does not give the supervisor.
            if !policy.trace_enabled() {
                host.allow_native_resolution();
            }
        }
    }
    // In an overlay the kernel would resolve a path beneath a directory
    // fd against one layer only: every path call is answered in the view.
    // Changes beneath a writable directory's fd may run natively too,
    // unless the supervisor must see each one: to report it, or to book
    // what it adds or frees against a disk budget. Landlock before ABI 3
    // does not govern truncation, which a create-or-open may do.
    let beneath = match vfs.as_ref() {
        Some(h) if landlock_fs && !h.has_overlay() => {
            if policy.account || h.disk_account().is_some() || landlock_abi.unwrap_or(0) < 3 {
                crate::filter::Beneath::Reads
            } else {
                crate::filter::Beneath::ReadsAndChanges
            }
        }
        _ => crate::filter::Beneath::Nothing,
    };
    if let Some(host) = &mut vfs {
        host.set_native_beneath(beneath);
    }
    let vfs = vfs.map(Arc::new);
    let changes = vfs.as_ref().map(|h| h.changes());
    let disk = vfs.as_ref().and_then(|h| h.disk_account());
    let made_listings = vfs.as_ref().is_some_and(|h| h.makes_listings());
    let resolved = Arc::new(table::resolve_with(arch, policy, beneath, made_listings));
    spec.filter = crate::filter::emit(&resolved);
    spec.landlock_abi = landlock_abi.unwrap_or(0);
    let handlers = table::notify_handlers(policy, made_listings);
    let denials = table::supervisor_denials(policy);
    let notify_routes = handlers.iter().any(Option::is_some) || denials.iter().any(Option::is_some);
    let identity = Identity::new(policy.hostname.as_deref()).map_err(|errno| Error::Host { what: "uname", errno })?;
    let trace = match &policy.trace {
        Some(cfg) => Some(Arc::new(TraceSink::open(cfg).map_err(Error::TraceOutput)?)),
        None => None,
    };
    let done = Arc::new(eventfd().map_err(|errno| Error::Host { what: "eventfd", errno })?);
    let program = spec.program.clone();

    type Launched = (Pid, Option<OwnedFd>, Arc<OwnedFd>);
    let (tx, rx) = mpsc::channel::<Result<Launched, LaunchError>>();
    let tracing = trace.is_some();
    let accounting = policy.account || policy.limits.needs_monitor();
    let tree = Arc::new(tree::Tree::default());
    let tracer_cfg = tracer::Config {
        resolved,
        trace: trace.clone(),
        tree: Arc::clone(&tree),
        max_procs: policy.limits.max_procs,
        accounting,
        vfs: vfs.clone(),
    };
    let tracer_done = Arc::clone(&done);
    let tracer = std::thread::Builder::new()
        .name("condo-tracer".into())
        .spawn(move || {
            let prepared = Prepared::new(spec);
            let (pid, sock) = match launch::fork(&prepared) {
                Ok(x) => x,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    signal_done(&tracer_done);
                    return libc::SIGKILL;
                }
            };
            drop(prepared);
            // Before anything can reap the child, so the pidfd names it.
            let pidfd = sys::pidfd_open(pid.as_raw()).ok();
            if let Err(errno) = ptrace::seize(pid, tracer::options(tracing, accounting)) {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = nix::sys::wait::waitpid(pid, None);
                let _ = tx.send(Err(LaunchError::Attach { errno }));
                signal_done(&tracer_done);
                return libc::SIGKILL;
            }
            let sock = Arc::new(sock);
            // The child waits for this byte before it installs the filter.
            let _ = nix::unistd::write(sock.as_fd(), b"g");
            let _ = tx.send(Ok((pid, pidfd, Arc::clone(&sock))));
            drop(sock);
            let status = tracer::Tracer::new(pid, tracer_cfg).run();
            signal_done(&tracer_done);
            status
        })
        .map_err(Error::Thread)?;

    let (pid, pidfd, sock) = match rx.recv() {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            let _ = tracer.join();
            return Err(e.into());
        }
        Err(_) => {
            let _ = tracer.join();
            return Err(Error::SupervisorDied);
        }
    };
    let fail = |e: LaunchError, tracer: JoinHandle<i32>| -> Error {
        let _ = tracer.join();
        e.into()
    };
    let listener = match launch::recv_listener(sock.as_fd(), pidfd.as_ref().map(|p| p.as_fd())) {
        Ok(l) => l,
        Err(e) => return Err(fail(e, tracer)),
    };
    let sync_wake_up = sys::notif_set_flags(listener.as_fd(), sys::USER_NOTIF_FD_SYNC_WAKE_UP).is_ok();
    if let Err(e) = launch::wait_exec(sock.as_fd(), &program) {
        return Err(fail(e, tracer));
    }
    drop(sock);
    let worker = if notify_routes {
        let signal = sys::worker_wakeup_signal();
        let stopping = Arc::new(AtomicBool::new(false));
        let w = notify::Worker {
            listener,
            done,
            stopping: Arc::clone(&stopping),
            direct_recv: signal.is_some(),
            handlers,
            denials,
            tree: Arc::clone(&tree),
            identity,
            trace,
            vfs: vfs.clone(),
            deferred: Arc::default(),
        };
        let join = match std::thread::Builder::new().name("condo-notify".into()).spawn(move || w.run()) {
            Ok(j) => j,
            Err(e) => return Err(abandon(pid, pidfd.as_ref(), tracer, Error::Thread(e))),
        };
        Some(WorkerHandle { join, stopping, signal })
    } else {
        // Nothing is ever notified; the listener only has to exist.
        drop(listener);
        None
    };
    // A disk budget needs the monitor too (removed files held open).
    let disk_view = vfs.as_ref().filter(|h| h.disk().is_some()).map(Arc::clone);
    let monitor = if accounting || disk_view.is_some() {
        let done = Arc::new(AtomicBool::new(false));
        let m = monitor::Monitor {
            tree: Arc::clone(&tree),
            limits: policy.limits.clone(),
            start: std::time::Instant::now(),
            done: Arc::clone(&done),
            account: policy.account,
            main: pidfd.as_ref().and_then(|fd| fd.try_clone().ok()),
            disk: disk_view,
        };
        let join = match std::thread::Builder::new().name("condo-monitor".into()).spawn(move || m.run()) {
            Ok(j) => j,
            Err(e) => {
                // The guest runs: it must not run on unsupervised.
                let err = abandon(pid, pidfd.as_ref(), tracer, Error::Thread(e));
                if let Some(w) = worker {
                    w.stop();
                }
                return Err(err);
            }
        };
        Some(MonitorHandle { join, done })
    } else {
        None
    };
    Ok(Started {
        pid,
        pidfd,
        tracer,
        worker,
        monitor,
        tree,
        enforcement: Enforcement { sync_wake_up, notify_routes, landlock_abi },
        changes,
        disk,
    })
}

/// Kills a guest that runs but cannot be fully supervised, and waits for
/// its tree to be gone, then returns `err`.
fn abandon(pid: Pid, pidfd: Option<&OwnedFd>, tracer: JoinHandle<i32>, err: Error) -> Error {
    let _ = signal(pid, pidfd, libc::SIGKILL);
    let _ = tracer.join();
    err
}

/// While it lives, guest thread `tid` may run only on the CPU the calling
/// supervisor thread runs on. `NOTIF_ADDFD` and `PTRACE_CONT` wake the
/// guest with a plain wake-up, which puts it on another, idle CPU (the
/// supervisor keeps this one busy), and the guest's next stop or call
/// then wakes the supervisor across CPUs again; on a VM each of those
/// wake-ups of an idle CPU costs tens of microseconds (a traced `O_PATH`
/// open: ~75 µs, ~22 µs on one CPU). Kept on this CPU, the guest runs when
/// the supervisor thread blocks, as after an ordinary notify answer
/// (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`). The guest's own mask is put
/// back when it is dropped; nothing changes when it cannot be read.
/// A child the guest forks meanwhile inherits the single CPU: the tracer
/// gives it the parent's own mask ([`WakeHere::mask_of`],
/// [`WakeHere::set_own_mask`], which takes effect when a `WakeHere` the
/// worker holds on the child meanwhile lets go).
///
/// The two `sched_setaffinity` calls cost ~3.7 µs, as much as the `ADDFD`
/// itself, and `rm -r` asks for three injections per directory and little
/// else: the notify worker leaves the thread held after it places an fd
/// ([`WakeHere::linger`]) and lets go when a call of another thread comes,
/// or one of the same thread that it answers otherwise
/// ([`WakeHere::let_go_unless`]), or the thread is gone
/// ([`WakeHere::forget`]). Meanwhile the thread runs natively on that one
/// CPU, which the supervisor thread it alternates with shares anyway; it
/// cannot see its mask without a call the worker answers.
pub(crate) struct WakeHere {
    tid: libc::pid_t,
    /// The CPU it holds the thread on.
    cpu: usize,
    /// Whether it pinned the thread (its own mask is in [`pinned`]).
    held: bool,
}

thread_local! {
    /// The guest thread this supervisor thread left held after its last
    /// answer ([`WakeHere::linger`]), and the CPU it holds it on.
    static LINGERING: std::cell::Cell<Option<(libc::pid_t, usize)>> = const { std::cell::Cell::new(None) };
}

impl WakeHere {
    pub(crate) fn new(tid: libc::pid_t) -> WakeHere {
        let pid = nix::unistd::Pid::from_raw(tid);
        let Ok(mine) = nix::sched::sched_getcpu() else { return WakeHere { tid, cpu: 0, held: false } };
        if let Some((t, cpu)) = LINGERING.take() {
            if t == tid && cpu == mine && pinned().contains_key(&tid) {
                return WakeHere { tid, cpu, held: true };
            }
            let_go(t);
        }
        // Under the lock, so that set_own_mask never falls between the
        // read of the mask and the pinning.
        let mut held = pinned();
        if held.contains_key(&tid) {
            // Another supervisor thread holds it (its own mask is saved).
            return WakeHere { tid, cpu: mine, held: false };
        }
        let mask = (|| {
            let old = nix::sched::sched_getaffinity(pid).ok()?;
            if !old.is_set(mine).ok()? {
                return None;
            }
            let mut here = nix::sched::CpuSet::new();
            here.set(mine).ok()?;
            nix::sched::sched_setaffinity(pid, &here).ok()?;
            held.insert(tid, old);
            Some(())
        })();
        WakeHere { tid, cpu: mine, held: mask.is_some() }
    }

    /// Keeps the thread held after this is dropped, until the calling
    /// supervisor thread holds another or [`WakeHere::let_go_unless`]
    /// another thread.
    pub(crate) fn linger(mut self) {
        if self.held {
            LINGERING.set(Some((self.tid, self.cpu)));
            self.held = false;
        }
    }

    /// Lets go of the thread the calling supervisor thread left held,
    /// unless it is `tid` (whose call comes next).
    pub(crate) fn let_go_unless(tid: libc::pid_t) {
        if LINGERING.get().is_some_and(|(t, _)| t != tid) {
            WakeHere::let_go_lingering();
        }
    }

    /// Lets go of the thread the calling supervisor thread left held.
    pub(crate) fn let_go_lingering() {
        if let Some((t, _)) = LINGERING.take() {
            let_go(t);
        }
    }

    /// Thread `tid` is exiting: no mask to put back, and its number may
    /// soon be another's.
    pub(crate) fn forget(tid: libc::pid_t) {
        pinned().remove(&tid);
    }

    /// The CPU mask of guest thread `tid` as the guest set it: the one
    /// saved while a `WakeHere` holds it, else its current one.
    pub(crate) fn mask_of(tid: Pid) -> Option<nix::sched::CpuSet> {
        let held = pinned();
        match held.get(&tid.as_raw()) {
            Some(saved) => Some(*saved),
            None => nix::sched::sched_getaffinity(tid).ok(),
        }
    }

    /// The mask a `WakeHere` saved for guest thread `tid`, while it holds
    /// the thread.
    pub(crate) fn own_mask(tid: Pid) -> Option<nix::sched::CpuSet> {
        pinned().get(&tid.as_raw()).copied()
    }

    /// Makes `mask` guest thread `tid`'s own: at once, or, while a
    /// `WakeHere` holds the thread, when it lets go.
    pub(crate) fn set_own_mask(tid: Pid, mask: nix::sched::CpuSet) {
        let mut held = pinned();
        match held.get_mut(&tid.as_raw()) {
            Some(saved) => *saved = mask,
            None => {
                let _ = nix::sched::sched_setaffinity(tid, &mask);
            }
        }
    }
}

impl Drop for WakeHere {
    fn drop(&mut self) {
        if self.held {
            let_go(self.tid);
        }
    }
}

/// Puts guest thread `tid`'s own mask back, when a [`WakeHere`] holds it.
fn let_go(tid: libc::pid_t) {
    let mut held = pinned();
    if let Some(own) = held.remove(&tid) {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(tid), &own);
    }
}

/// The guest threads a [`WakeHere`] holds now, with their own masks.
fn pinned() -> std::sync::MutexGuard<'static, std::collections::HashMap<libc::pid_t, nix::sched::CpuSet>> {
    static PINNED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<libc::pid_t, nix::sched::CpuSet>>> =
        std::sync::LazyLock::new(Default::default);
    PINNED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends `sig` to the guest's main process, by pidfd when we have one (it
/// cannot hit a recycled pid).
pub(crate) fn signal(pid: Pid, pidfd: Option<&OwnedFd>, sig: i32) -> Result<(), Errno> {
    match pidfd {
        Some(fd) => sys::pidfd_send_signal(fd.as_fd(), sig),
        None => sys::kill(pid.as_raw(), sig),
    }
}
