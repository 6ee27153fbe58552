//! The notify worker: receives seccomp notifications, dispatches them to the
//! handler the routing table names, and answers each exactly once.
//!
//! Lifecycle: `NOTIF_RECV` blocks until a notification arrives, and neither
//! the guest's death nor closing the listener wakes it. So the worker either
//! blocks in `NOTIF_RECV` and is woken at shutdown by a signal
//! ([`crate::sys::worker_wakeup_signal`]), or, when that signal cannot be
//! claimed, polls the listener together with a "done" eventfd the tracer
//! signals (one syscall and ~0.7 µs more per notification).

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use condo_syscalls::decode::{decode_args, DecodeOptions};
use condo_syscalls::Arch;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::handlers::{Call, Ctx, Handler, Reply};
use crate::identity::Identity;
use crate::memory::{GuestAddr, GuestMemory, ProcessMemory};
use crate::sys;
use crate::trace::{Event, Path, TraceSink};

/// What the worker needs; moved into its thread.
pub(crate) struct Worker {
    pub listener: OwnedFd,
    pub done: Arc<OwnedFd>,
    /// Set before the shutdown signal is sent.
    pub stopping: Arc<AtomicBool>,
    /// Block in `NOTIF_RECV` (woken by a signal at shutdown) rather than
    /// poll first.
    pub direct_recv: bool,
    pub handlers: Vec<Option<Handler>>,
    /// Calls the policy denies that the supervisor answers (to report them).
    pub denials: Vec<Option<(i32, &'static str)>>,
    pub tree: Arc<super::tree::Tree>,
    pub identity: Identity,
    pub trace: Option<Arc<TraceSink>>,
    /// The filesystem view, when the sandbox has one.
    pub vfs: Option<Arc<crate::vfs::Host>>,
    /// Deferred answers being computed on their own threads.
    pub deferred: Arc<std::sync::atomic::AtomicUsize>,
}

/// A notification that has been received and not yet answered. Answering
/// consumes it, so it is answered at most once.
struct Pending {
    id: u64,
    /// The calling thread.
    tid: libc::pid_t,
}

/// Installs `fd` in the guest with ADDFD and SEND, which answers the call
/// itself: `Ok` with what the call returns (None: the guest is gone), or
/// the error to answer with when it could not (the guest is out of fds).
/// `linger`: a thread given an fd at a number of the supervisor's choice
/// (`rm -r`'s directories, placed from 256 up) stays held on this CPU
/// afterwards ([`super::WakeHere::linger`]); one given any other fd (a
/// `/proc` file, a pipe's end) is let go at once. `hold`: whether to hold
/// it at all; a thread given a file that shows its own CPU mask (its
/// `/proc/self/status`) may read it before this worker runs again to let
/// go, so it is woken where the scheduler puts it.
#[allow(clippy::too_many_arguments)]
fn inject(
    listener: BorrowedFd<'_>,
    p: &Pending,
    fd: &OwnedFd,
    cloexec: bool,
    at: Option<i32>,
    hold: bool,
    linger: bool,
) -> Result<Option<i64>, i32> {
    let here = hold.then(|| super::WakeHere::new(p.tid));
    let r = match sys::notif_addfd_send(listener, p.id, fd.as_fd(), cloexec, at) {
        Ok(n) => Ok(Some(i64::from(n))),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(-(e as i32)),
    };
    if let Some(here) = here.filter(|_| linger && at.is_some()) {
        here.linger();
    }
    r
}

impl Pending {
    /// Answers; returns what the guest's call returns (None: nobody to
    /// answer).
    fn answer(self, listener: BorrowedFd<'_>, reply: Result<Reply, Errno>) -> Option<i64> {
        self.answer_then(listener, reply, false)
    }

    /// [`Pending::answer`]; `linger`: a thread given a placed fd stays held
    /// on this CPU afterwards ([`inject`]; the notify worker's own answers:
    /// it lets go when another thread's call comes).
    fn answer_then(self, listener: BorrowedFd<'_>, reply: Result<Reply, Errno>, linger: bool) -> Option<i64> {
        let mut resp = libc::seccomp_notif_resp { id: self.id, val: 0, error: 0, flags: 0 };
        let mut raise = None;
        match reply {
            Ok(Reply::Fd { fd, cloexec, at, hold }) => match inject(listener, &self, &fd, cloexec, at, hold, linger) {
                Ok(n) => return n,
                Err(e) => resp.error = e,
            },
            Ok(Reply::Value(v)) => resp.val = v,
            Ok(Reply::Continue) => resp.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
            // Deferred work answers with a value; deferring again is a bug.
            Ok(Reply::Deferred(_)) => resp.error = -libc::ENOSYS,
            Ok(Reply::Raise(e, sig)) => {
                resp.error = -(e as i32);
                raise = Some(sig);
            }
            Err(e) => resp.error = -(e as i32),
        }
        // The thread's process, while the notification pins the thread
        // (after the answer the tid could name another process).
        let tgid = raise.and_then(|_| crate::procfs::tgid(self.tid));
        // ENOENT: the guest thread died or was interrupted meanwhile; there
        // is nobody to answer.
        let answered = sys::notif_send(listener, &resp).is_ok();
        if let (true, Some(sig), Some(tgid)) = (answered, raise, tgid) {
            let _ = sys::tgkill(tgid, self.tid, sig);
        }
        if resp.flags != 0 {
            None
        } else if resp.error != 0 {
            Some(i64::from(resp.error))
        } else {
            Some(resp.val)
        }
    }
}

/// Guest memory that re-checks `NOTIF_ID_VALID` after every read: once the
/// thread is gone its tid may name an unrelated process, and what we read
/// would be that process's memory.
struct CheckedMemory<'a> {
    inner: ProcessMemory,
    listener: BorrowedFd<'a>,
    id: u64,
}

impl CheckedMemory<'_> {
    fn valid(&self) -> Result<(), Errno> {
        if sys::notif_id_valid(self.listener, self.id) {
            Ok(())
        } else {
            Err(Errno::ESRCH)
        }
    }
}

impl GuestMemory for CheckedMemory<'_> {
    fn read(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<(), Errno> {
        let r = self.inner.read(addr, buf);
        self.valid()?;
        r
    }
    fn read_partial(&self, addr: GuestAddr, buf: &mut [u8]) -> Result<usize, Errno> {
        let r = self.inner.read_partial(addr, buf);
        self.valid()?;
        r
    }
    fn write(&self, addr: GuestAddr, data: &[u8]) -> Result<(), Errno> {
        self.valid()?;
        self.inner.write(addr, data)
    }
}

impl Worker {
    /// Serves notifications until the guest tree is gone; returns how many
    /// calls of each number it answered.
    pub(crate) fn run(self) -> Vec<u64> {
        // What the handlers make for the guest gets the guest's umask,
        // not the supervisor process's.
        sys::own_zero_umask();
        let counts = self.serve();
        super::WakeHere::let_go_lingering();
        counts
    }

    fn serve(&self) -> Vec<u64> {
        let arch = Arch::native();
        let listener = self.listener.as_fd();
        let mut notif = empty_notif();
        let mut counts = vec![0u64; self.handlers.len().max(self.denials.len())];
        loop {
            if self.direct_recv {
                if self.stopping.load(Ordering::Acquire) {
                    return counts;
                }
            } else if !self.wait_readable(listener) {
                return counts;
            }
            match sys::notif_recv(listener, &mut notif) {
                Ok(()) => {}
                // Since Linux 6.6 RECV fails at once with ENOENT when no
                // task uses the filter any more: the guest tree is gone.
                // Otherwise ENOENT means the caller died before we got its
                // notification. Telling the two apart costs a syscall, but
                // only on this rare path; without it the worker would spin.
                Err(Errno::ENOENT) if orphaned(listener) => return counts,
                Err(Errno::ENOENT | Errno::EINTR) => continue,
                Err(_) => return counts,
            }
            if let Some(c) = counts.get_mut(notif.data.nr as usize) {
                *c += 1;
            }
            super::WakeHere::let_go_unless(notif.pid as libc::pid_t);
            if let Some(&Some((errno, why))) = self.denials.get(notif.data.nr as usize) {
                self.deny(listener, &notif, arch, errno, why);
                continue;
            }
            self.dispatch(listener, &notif, arch);
        }
    }

    /// Poll mode: waits until a notification is pending; `false` when the
    /// guest tree is gone.
    fn wait_readable(&self, listener: BorrowedFd<'_>) -> bool {
        loop {
            let mut fds = [PollFd::new(listener, PollFlags::POLLIN), PollFd::new(self.done.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(_) => return false,
            }
            let ready = fds[0].revents().unwrap_or(PollFlags::empty());
            let done = fds[1].revents().unwrap_or(PollFlags::empty());
            if ready.contains(PollFlags::POLLIN) {
                return true;
            }
            if ready.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) || !done.is_empty() {
                return false;
            }
        }
    }

    /// Answers a call the policy denies, and records it for the report.
    fn deny(&self, listener: BorrowedFd<'_>, notif: &libc::seccomp_notif, arch: Arch, errno: i32, why: &'static str) {
        Pending { id: notif.id, tid: notif.pid as libc::pid_t }.answer(listener, Err(Errno::from_raw(errno)));
        if let Some(sysno) = arch.sysno(u64::from(notif.data.nr as u32)) {
            self.tree.record_denied(crate::report::Denied { syscall: sysno.name(), tid: notif.pid as i32, errno, why });
        }
    }

    /// Answers one notification.
    fn dispatch(&self, listener: BorrowedFd<'_>, notif: &libc::seccomp_notif, arch: Arch) {
        {
            let pending = Pending { id: notif.id, tid: notif.pid as libc::pid_t };
            let nr = u64::from(notif.data.nr as u32);
            let call = arch.sysno(nr).map(|sysno| Call { sysno, args: notif.data.args, tid: notif.pid as libc::pid_t });
            let handler = self.handlers.get(nr as usize).copied().flatten();
            let (call, handler) = match (call, handler) {
                (Some(c), Some(h)) => (c, h),
                // The filter only notifies routed calls; anything else is a
                // table/filter mismatch, answered like an unknown syscall.
                _ => {
                    pending.answer(listener, Err(Errno::ENOSYS));
                    return;
                }
            };
            let mem = CheckedMemory { inner: ProcessMemory::new(call.tid), listener, id: notif.id };
            let tree = &self.tree;
            let in_sandbox = |pid: libc::pid_t| tree.contains(pid);
            let mut ctx = Ctx {
                mem: &mem,
                identity: &self.identity,
                vfs: self.vfs.as_deref(),
                in_sandbox: &in_sandbox,
                fds_private: self.tree.fd_tables_private(),
            };
            // A handler bug must not take the supervisor (and with it every
            // guest) down: the guest gets an error for this call instead.
            let reply = catch_unwind(AssertUnwindSafe(|| handler(&mut ctx, &call))).unwrap_or(Err(Errno::ENOSYS));
            if !matches!(reply, Ok(Reply::Fd { at: Some(_), .. })) {
                // Held only from one placed fd to the next: whatever the
                // thread sees of its mask after this answer is its own.
                super::WakeHere::let_go_lingering();
            }
            let reply = match reply {
                Ok(Reply::Deferred(work)) => return self.defer(listener, pending, work),
                other => other,
            };
            if reply == Err(Errno::ESRCH) && !sys::notif_id_valid(listener, pending.id) {
                // The thread is gone; nothing to answer.
                return;
            }
            // Decoded before answering: the guest may reuse its memory once
            // it runs again.
            let args = self
                .trace
                .as_ref()
                .map(|_| decode_args(call.sysno, &call.args, Some(&mem.inner), &DecodeOptions::default()));
            let ret = pending.answer_then(listener, reply, true);
            if let (Some(t), Some(args)) = (&self.trace, args) {
                t.record(&Event { tid: call.tid, sysno: call.sysno, args: &args, ret, path: Path::Notify });
            }
        }
    }
}

/// Deferred calls running at once, at most; past it they fail with
/// `EAGAIN` rather than growing threads without bound. (Running one on the
/// worker instead would stop every other answer until it is done, and the
/// call it waits for may be one of them.)
const MAX_DEFERRED: usize = 512;

/// Stack of a deferred call's thread: it only waits in one syscall.
const DEFERRED_STACK: usize = 256 << 10;

impl Worker {
    /// Answers `pending` from a thread of its own once `work` is done.
    fn defer(&self, listener: BorrowedFd<'_>, pending: Pending, work: crate::handlers::Deferred) {
        let own = if self.deferred.fetch_add(1, Ordering::AcqRel) < MAX_DEFERRED {
            listener.try_clone_to_owned().ok()
        } else {
            None
        };
        let Some(own) = own else {
            // Past the bound (or out of fds): a call that would wait fails
            // as when the kernel is short of resources.
            self.deferred.fetch_sub(1, Ordering::AcqRel);
            drop(work);
            pending.answer(listener, Err(Errno::EAGAIN));
            return;
        };
        let (id, tid) = (pending.id, pending.tid);
        let running = Arc::clone(&self.deferred);
        let spawned =
            std::thread::Builder::new().name("condo-deferred".into()).stack_size(DEFERRED_STACK).spawn(move || {
                let reply = interruptible(own.as_fd(), id, tid, work);
                Pending { id, tid }.answer(own.as_fd(), reply);
                running.fetch_sub(1, Ordering::AcqRel);
            });
        if spawned.is_err() {
            self.deferred.fetch_sub(1, Ordering::AcqRel);
            Pending { id, tid }.answer(listener, Err(Errno::EAGAIN));
        }
    }
}

/// How often a deferred call looks for a signal to its guest thread.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// The kernel's "restart the call, unless the signal's handler says
/// otherwise" (`-ERESTARTSYS`): as the return value of a notification it
/// reaches the guest's signal handling, which restarts the call after an
/// `SA_RESTART` handler (or none) and makes it `EINTR` otherwise.
const RESTART_SYSCALL: i64 = -512;

/// Runs deferred `work` (a call that may wait: a fifo open, a blocking
/// send or connect) on this thread while a second one watches the guest
/// thread. The guest waits in the notification, where (with
/// `WAIT_KILLABLE_RECV`) only SIGKILL reaches it, and being traced it
/// never has a fatal signal turned into SIGKILL either: without the watch
/// `timeout` could not end a writer blocked on a fifo. When a signal
/// arrives that is the call's to end ([`crate::procfs::interrupting_signal`]),
/// or the guest is gone, the work is interrupted (its syscall fails with
/// `EINTR`) and the guest told to restart the call: its own signal handling
/// then restarts it or makes it `EINTR`. (A signal caught by a process with
/// other threads is left to them: a restart answer with no signal left for
/// this thread would reach the program as errno 512.)
fn interruptible(
    listener: BorrowedFd<'_>,
    id: u64,
    tid: libc::pid_t,
    work: crate::handlers::Deferred,
) -> Result<Reply, Errno> {
    let Some(sig) = sys::worker_wakeup_signal() else {
        return catch_unwind(AssertUnwindSafe(work)).unwrap_or(Err(Errno::ENOSYS));
    };
    let me = sys::current_thread();
    let done = AtomicBool::new(false);
    // Some(true): interrupted for a signal; Some(false): the guest is gone.
    let why = std::sync::Mutex::new(None);
    std::thread::scope(|s| {
        let watch = std::thread::Builder::new().name("condo-watch".into()).stack_size(64 << 10).spawn_scoped(s, || {
            while !done.load(Ordering::Acquire) {
                std::thread::park_timeout(WATCH_EVERY);
                if done.load(Ordering::Acquire) {
                    break;
                }
                let cause = if crate::procfs::interrupting_signal(tid) {
                    Some(true)
                } else if !sys::notif_id_valid(listener, id) {
                    Some(false)
                } else {
                    None
                };
                if let Some(own) = cause {
                    why.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(own);
                    // Again every round: a kick that lands before the work
                    // enters its syscall is lost. `me` is alive: this scope
                    // ends before its thread does.
                    sys::kick_thread(me, sig);
                }
            }
        });
        let reply = catch_unwind(AssertUnwindSafe(work)).unwrap_or(Err(Errno::ENOSYS));
        done.store(true, Ordering::Release);
        if let Ok(w) = &watch {
            w.thread().unpark();
        }
        let why = *why.lock().unwrap_or_else(|e| e.into_inner());
        match (reply, why) {
            (Err(Errno::EINTR), Some(true)) => Ok(Reply::Value(RESTART_SYSCALL)),
            (reply, _) => reply,
        }
    })
}

/// Whether no task uses the filter any more (the listener reports POLLHUP).
fn orphaned(listener: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(listener, PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(_) => fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLHUP)),
        Err(_) => false,
    }
}

fn empty_notif() -> libc::seccomp_notif {
    libc::seccomp_notif {
        id: 0,
        pid: 0,
        flags: 0,
        data: libc::seccomp_data { nr: 0, arch: 0, instruction_pointer: 0, args: [0; 6] },
    }
}
