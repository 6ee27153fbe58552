//! THE routing table: for every syscall the kernel knows (on any supported
//! arch), the path it takes through condo and why.
//!
//! One row per [`Sysno`]: [`entry`] is an exhaustive `match` with no
//! wildcard, so a syscall added to the `condo-syscalls` data does not compile
//! until somebody decides its route. The same rows build the BPF filter
//! ([`resolve`] → [`crate::filter`]) and the notify dispatch
//! ([`notify_handlers`]), so a syscall cannot be routed to notify without a
//! handler, and a handler cannot exist for a syscall the filter allows.
//!
//! Routes:
//! - **allow**: runs natively; the kernel's action cache skips the filter.
//! - **notify**: answered by the supervisor through the seccomp listener.
//!   A [`Facet`] says whether the policy turns it on (e.g. `uname` is only
//!   notified when the sandbox has its own hostname).
//! - **check**: allowed unless BPF sees a forbidden argument value.
//! - **deny**: fails with an errno (or kills) without reaching the kernel.

use condo_syscalls::{Arch, Sysno};

use crate::filter::{Action, ArgRule, Beneath, Resolved, TraceData, Verdict, NATIVE_DIRFDS};
use crate::handlers::{self, fs, Handler};
use crate::policy::Policy;

/// When a notify route is active.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Facet {
    /// The sandbox has its own hostname (`Policy::hostname`).
    Hostname,
    /// The sandbox has a filesystem view (`Policy::view`).
    Vfs,
    /// The view changes some directory's listing (a hidden name the host
    /// has, a mount point or skeleton directory the host lacks): only then
    /// is every listing asked of the supervisor.
    Listings,
    /// The view has a disk budget (`Limits::disk`): every call that can
    /// make a file larger is checked.
    Disk,
}

/// How the filter treats a denied call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deny {
    /// Fail with this errno.
    Errno(i32),
}

/// The route of one syscall.
#[derive(Clone, Copy, Debug)]
pub enum Route {
    /// Run natively.
    Allow,
    /// Answered by the supervisor when `when` is active, native otherwise.
    Notify {
        /// The handler; the filter cannot route here without one.
        handler: Handler,
        /// The policy facet that turns this route on.
        when: Facet,
        /// Arguments for which the call stays native because the kernel
        /// enforces the same rule (Landlock, for `*at` calls relative to a
        /// directory fd the guest holds); `None`: always notified.
        native_if: Option<ArgRule>,
    },
    /// Native unless the arguments fail `rule`, then `EPERM`.
    Check(ArgRule),
    /// Never reaches the kernel.
    Deny(Deny),
    /// An open: with a view, native beneath a directory fd for reading
    /// (when Landlock enforces the view), [`Route::TracePath`] for
    /// `O_PATH`, notified otherwise; native without a view.
    Open {
        /// The handler for the notified opens.
        handler: Handler,
        /// The directory fd argument, if the call has one.
        dirfd: Option<u8>,
        /// The flags argument.
        flags: u8,
    },
    /// With a view: the tracer resolves the path argument in the view and
    /// rewrites it to the host path (the kernel resolves these paths
    /// itself, so the supervisor cannot answer them); native otherwise.
    TracePath,
}

/// One row: the route and the reason for it.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// The route.
    pub route: Route,
    /// Why, in a few words (shown by `sandbox-run --list-syscalls`).
    pub why: &'static str,
}

const fn allow(why: &'static str) -> Entry {
    Entry { route: Route::Allow, why }
}

const fn deny(errno: i32, why: &'static str) -> Entry {
    Entry { route: Route::Deny(Deny::Errno(errno)), why }
}

const fn check(rule: ArgRule, why: &'static str) -> Entry {
    Entry { route: Route::Check(rule), why }
}

const fn notify(handler: Handler, when: Facet, why: &'static str) -> Entry {
    Entry { route: Route::Notify { handler, when, native_if: None }, why }
}

/// A path call answered in the view.
const fn path(handler: Handler) -> Entry {
    Entry { route: Route::Notify { handler, when: Facet::Vfs, native_if: None }, why: "a path: the guest's view" }
}

/// A path call relative to a directory fd: native when every directory fd
/// argument is a real fd (Landlock confines what it reaches), answered in
/// the view for `AT_FDCWD`.
const fn path_at(handler: Handler, rule: ArgRule) -> Entry {
    Entry {
        route: Route::Notify { handler, when: Facet::Vfs, native_if: Some(rule) },
        why: "a path: the view (native beneath a directory fd, under Landlock)",
    }
}

/// An access check relative to a directory fd: as [`path_at`], but never
/// native for `W_OK`.
const fn access_at(handler: Handler) -> Entry {
    Entry {
        route: Route::Notify { handler, when: Facet::Vfs, native_if: Some(ArgRule::ReadAccessAt(0, 2)) },
        why: "a path: the view (native beneath a directory fd, under Landlock, unless W_OK)",
    }
}

/// A change relative to a directory fd: native beneath a real directory
/// fd when the sandbox lets changes run there ([`Beneath::ReadsAndChanges`]).
const fn change_at(handler: Handler, rule: ArgRule) -> Entry {
    Entry {
        route: Route::Notify { handler, when: Facet::Vfs, native_if: Some(rule) },
        why: "changes the tree: the view (native beneath a directory fd, under Landlock, unless reported)",
    }
}

/// A copy of an fd: native unless it copies one from
/// [`crate::filter::NATIVE_DIRFDS`] up.
const fn high_fd(handler: Handler, rule: ArgRule) -> Entry {
    Entry {
        route: Route::Notify { handler, when: Facet::Vfs, native_if: Some(rule) },
        why: "file descriptors (a copy of a directory fd beneath which calls are notified stays one)",
    }
}

/// A call that changes the file behind an fd: answered in the view.
const fn fd_change(handler: Handler) -> Entry {
    Entry {
        route: Route::Notify { handler, when: Facet::Vfs, native_if: None },
        why: "changes an open file: only where the view is writable",
    }
}

/// `open`/`openat`: native beneath a directory fd when the flags only
/// read (under Landlock), traced for `O_PATH` (an `O_PATH` fd cannot be
/// injected), answered in the view otherwise.
const fn open_route(handler: Handler, dirfd: Option<u8>, flags: u8) -> Entry {
    Entry {
        route: Route::Open { handler, dirfd, flags },
        why: "a path: the view (native to read beneath a directory fd; O_PATH traced)",
    }
}

const EPERM: i32 = libc::EPERM;
const ENOSYS: i32 = libc::ENOSYS;

/// The route of `s`, with the reason.
pub fn entry(s: Sysno) -> Entry {
    use Sysno::*;
    match s {
        // ---- identity -------------------------------------------------
        uname => notify(handlers::identity::uname, Facet::Hostname, "the sandbox's hostname"),
        sched_getaffinity => notify(handlers::sched::sched_getaffinity, Facet::Vfs, "the guest's own CPU mask"),
        sched_setaffinity => notify(handlers::sched::sched_setaffinity, Facet::Vfs, "the guest's own CPU mask"),
        sethostname | setdomainname => deny(EPERM, "host-wide setting"),

        // ---- process tree: namespaces and tracing are the sandbox's ----
        clone => check(ArgRule::CloneFlags, "fork/threads; namespace flags and CLONE_UNTRACED are refused"),
        clone3 => deny(ENOSYS, "flags live in memory BPF cannot read; libc falls back to clone"),
        unshare | setns => deny(EPERM, "no new namespaces"),
        ptrace => deny(EPERM, "guests may not trace"),
        process_vm_readv | process_vm_writev | pidfd_getfd | kcmp | process_madvise | process_mrelease | move_pages
        | migrate_pages => deny(EPERM, "acts on another process's memory or files"),
        personality => check(ArgRule::Personality, "only the default persona"),
        prctl => check(ArgRule::PrctlDumpable, "PR_SET_DUMPABLE 0 is answered 0: the supervisor must keep access"),
        ioctl => check(ArgRule::IoctlRequest, "TIOCSTI/TIOCLINUX would type into the caller's terminal"),

        // ---- kernel attack surface -----------------------------------
        io_uring_setup | io_uring_enter | io_uring_register => {
            deny(ENOSYS, "io_uring bypasses seccomp; callers fall back on ENOSYS")
        }
        bpf => deny(EPERM, "eBPF programs"),
        userfaultfd => deny(EPERM, "stalls the supervisor's memory reads"),
        perf_event_open => deny(EPERM, "kernel profiling interface"),
        kexec_load | kexec_file_load | reboot => deny(EPERM, "host power state"),
        init_module | finit_module | delete_module => deny(EPERM, "kernel modules"),
        mount | umount2 | pivot_root | chroot | fsopen | fsconfig | fsmount | fspick | move_mount | open_tree
        | open_tree_attr | mount_setattr => deny(EPERM, "mounts are the sandbox's"),
        swapon | swapoff => deny(EPERM, "host swap"),
        open_by_handle_at => deny(EPERM, "opens by inode, bypassing paths"),
        keyctl | add_key | request_key => deny(EPERM, "kernel keyrings are shared with the host user"),
        acct | quotactl | quotactl_fd => deny(EPERM, "host accounting and quotas"),
        settimeofday | clock_settime | clock_adjtime | adjtimex => deny(EPERM, "host clock"),
        iopl | ioperm | modify_ldt => deny(EPERM, "I/O ports and LDT"),
        vhangup => deny(EPERM, "hangs up the caller's terminal"),
        syslog => deny(EPERM, "host kernel log"),
        fanotify_init | fanotify_mark => deny(EPERM, "filesystem-wide monitoring"),
        nfsservctl | uselib | _sysctl | create_module | get_kernel_syms | query_module | afs_syscall | tuxcall
        | security | vserver | putpmsg | getpmsg | lookup_dcookie | epoll_ctl_old | epoll_wait_old => {
            deny(ENOSYS, "obsolete")
        }

        // ---- everything else runs natively ---------------------------
        // Calls that can make a file larger: checked against a disk budget.
        write => notify(handlers::disk::write, Facet::Disk, "may grow a file: the disk budget"),
        pwrite64 => notify(handlers::disk::pwrite64, Facet::Disk, "may grow a file: the disk budget"),
        writev => notify(handlers::disk::writev, Facet::Disk, "may grow a file: the disk budget"),
        pwritev | pwritev2 => notify(handlers::disk::pwritev, Facet::Disk, "may grow a file: the disk budget"),
        ftruncate => notify(handlers::disk::ftruncate, Facet::Disk, "may grow a file: the disk budget"),
        fallocate => notify(handlers::disk::fallocate, Facet::Disk, "may grow a file: the disk budget"),
        copy_file_range => notify(handlers::disk::copy_file_range, Facet::Disk, "may grow a file: the disk budget"),
        sendfile => notify(handlers::disk::sendfile, Facet::Disk, "may grow a file: the disk budget"),
        splice => notify(handlers::disk::splice, Facet::Disk, "may grow a file: the disk budget"),
        // A copy of a directory fd kept from NATIVE_DIRFDS up stays there.
        dup => high_fd(handlers::fs::dup, ArgRule::LowFd(0, NATIVE_DIRFDS)),
        fcntl => high_fd(handlers::fs::fcntl, ArgRule::FcntlDup(NATIVE_DIRFDS)),
        read | readv | pread64 | preadv | preadv2 | lseek | tee | vmsplice | close | close_range | dup2 | dup3
        | flock | fsync | fdatasync | sync | syncfs | sync_file_range | fadvise64 | readahead | pipe | pipe2
        | fstat | fgetxattr | flistxattr | memfd_create | memfd_secret | eventfd | eventfd2 | signalfd | signalfd4
        | timerfd_create | timerfd_settime | timerfd_gettime | inotify_init | inotify_init1 | inotify_rm_watch
        | cachestat | file_getattr => allow("file descriptors"),
        // A handle identifies an inode by number, paths aside; it can never
        // be opened here (open_by_handle_at is refused), so say what a
        // filesystem without handles says.
        name_to_handle_at => deny(libc::EOPNOTSUPP, "file handles identify files outside the view"),
        // Landlock does not cover metadata, and a read-only file may be open
        // for reading: the view decides whether its file may change.
        fchmod => fd_change(fs::fchmod),
        fchown => fd_change(fs::fchown),
        fsetxattr | fremovexattr => fd_change(fs::fxattr),
        file_setattr => deny(ENOSYS, "changes inode flags by path; not answered in the view yet"),

        open => open_route(fs::open, None, 1),
        creat => path(fs::creat),
        openat => open_route(fs::openat, Some(0), 2),
        openat2 => path_at(fs::openat2, ArgRule::DirFd(0)),
        stat => path(fs::stat),
        lstat => path(fs::lstat),
        newfstatat => path_at(fs::newfstatat, ArgRule::DirFd(0)),
        statx => path_at(fs::statx, ArgRule::DirFd(0)),
        access => path(fs::access),
        // W_OK is answered in the view: the host would call writable what
        // the view shows read-only, and Landlock does not answer access().
        faccessat => access_at(fs::faccessat),
        faccessat2 => access_at(fs::faccessat2),
        readlink => path(fs::readlink),
        // Landlock does not cover reading links, modes, owners or times:
        // these are always answered in the view. Of the calls that change
        // the tree, the common ones beneath a directory fd (tar's creates
        // and directories, rm -r's removals, directories too) may run
        // natively where Landlock grants writes
        // ([`Beneath::ReadsAndChanges`]); it answers EACCES where the view
        // says EROFS. Renaming and linking are always answered in the view:
        // they may move a directory some thread works in, or put a symlink
        // where the supervisor knows a plain directory.
        readlinkat => path(fs::readlinkat),
        mkdir => path(fs::mkdir),
        mkdirat => change_at(fs::mkdirat, ArgRule::ChangeAt(0)),
        mknod => path(fs::mknod),
        mknodat => path(fs::mknodat),
        rmdir => path(fs::rmdir),
        unlink => path(fs::unlink),
        unlinkat => change_at(fs::unlinkat, ArgRule::ChangeAt(0)),
        rename => path(fs::rename),
        renameat => path(fs::renameat),
        renameat2 => path(fs::renameat2),
        link => path(fs::link),
        linkat => path(fs::linkat),
        symlink => path(fs::symlink),
        symlinkat => path(fs::symlinkat),
        chmod => path(fs::chmod),
        fchmodat => path(fs::fchmodat),
        fchmodat2 => path(fs::fchmodat2),
        chown => path(fs::chown),
        lchown => path(fs::lchown),
        fchownat => path(fs::fchownat),
        utime => path(fs::utime),
        utimes => path(fs::utimes),
        utimensat => path(fs::utimensat),
        futimesat => path(fs::futimesat),
        truncate => path(fs::truncate),
        getxattr | setxattr | listxattr | removexattr => path(fs::xattr),
        lgetxattr | lsetxattr | llistxattr | lremovexattr => path(fs::lxattr),
        statfs => path(fs::statfs),
        // A read-only file says so through its fd as through its path.
        fstatfs => notify(fs::fstatfs, Facet::Vfs, "a file's filesystem: read-only where the view is"),
        getcwd => path(fs::getcwd),
        getxattrat | setxattrat | listxattrat | removexattrat => path(fs::xattrat),
        chdir => Entry { route: Route::TracePath, why: "the tracer points it at the view's directory" },
        // Relative paths start from the cwd, whose host path the supervisor
        // remembers: the tracer sees the call end, so it can say so.
        fchdir => Entry { route: Route::TracePath, why: "the cwd moves: the tracer sees the call end" },
        inotify_add_watch => path(fs::inotify_add_watch),
        // A listing shows the view's names: mount points, not hidden ones.
        getdents64 => notify(fs::getdents64, Facet::Listings, "a listing: the view's names"),
        getdents => notify(fs::getdents, Facet::Listings, "a listing: the view's names"),
        umask | ustat | sysfs => allow("no file contents"),
        // The host's mount table, hidden mounts included; without them
        // tools read /proc/self/mountinfo, which shows the view's.
        statmount | listmount => deny(ENOSYS, "the mount table is the view's: /proc/self/mountinfo"),

        execve | execveat => Entry { route: Route::TracePath, why: "the tracer points it at the view's file" },
        exit
        | exit_group
        | fork
        | vfork
        | wait4
        | waitid
        | getpid
        | getppid
        | gettid
        | getpgid
        | getpgrp
        | setpgid
        | getsid
        | setsid
        | set_tid_address
        | kill
        | tkill
        | tgkill
        | pidfd_open
        | pidfd_send_signal
        | rt_sigqueueinfo
        | rt_tgsigqueueinfo
        | arch_prctl
        | seccomp
        | getrlimit
        | setrlimit
        | prlimit64
        | getrusage
        | times
        | getpriority
        | setpriority
        | sched_yield
        | sched_setscheduler
        | sched_getscheduler
        | sched_setparam
        | sched_getparam
        | sched_setattr
        | sched_getattr
        | sched_get_priority_max
        | sched_get_priority_min
        | sched_rr_get_interval
        | ioprio_get
        | ioprio_set
        | getcpu
        | set_robust_list
        | get_robust_list
        | rseq
        | restart_syscall
        | set_thread_area
        | get_thread_area
        | capget
        | capset
        | landlock_create_ruleset
        | landlock_add_rule
        | landlock_restrict_self
        | lsm_get_self_attr
        | lsm_set_self_attr
        | lsm_list_modules
        | uretprobe
        | uprobe => allow("processes (pid virtualization comes with the pids issue)"),

        rt_sigaction | rt_sigprocmask | rt_sigreturn | rt_sigpending | rt_sigtimedwait | rt_sigsuspend
        | sigaltstack | pause | alarm | getitimer | setitimer | timer_create | timer_settime | timer_gettime
        | timer_getoverrun | timer_delete => allow("signals and timers"),

        getuid | geteuid | getgid | getegid | getresuid | getresgid | getgroups | setuid | setgid | setreuid
        | setregid | setresuid | setresgid | setfsuid | setfsgid | setgroups => {
            allow("credentials: the kernel refuses what the host user may not do")
        }

        brk
        | mmap
        | munmap
        | mremap
        | mprotect
        | madvise
        | msync
        | mincore
        | mlock
        | mlock2
        | munlock
        | mlockall
        | munlockall
        | remap_file_pages
        | mbind
        | get_mempolicy
        | set_mempolicy
        | set_mempolicy_home_node
        | membarrier
        | pkey_alloc
        | pkey_free
        | pkey_mprotect
        | map_shadow_stack
        | mseal => allow("memory"),

        futex | futex_waitv | futex_wake | futex_wait | futex_requeue | nanosleep | clock_nanosleep | clock_gettime
        | clock_getres | gettimeofday | time | sysinfo | getrandom => allow("time, futexes, entropy"),

        poll | ppoll | select | pselect6 | epoll_create | epoll_create1 | epoll_ctl | epoll_wait | epoll_pwait
        | epoll_pwait2 | io_setup | io_destroy | io_cancel | io_getevents | io_pgetevents => allow("polling and AIO"),
        io_submit => {
            notify(handlers::disk::no_aio, Facet::Disk, "kernel AIO writes files unseen: ENOSYS with a disk budget")
        }

        // An AF_UNIX address may name a file.
        connect => notify(handlers::net::connect, Facet::Vfs, "a unix socket path: the view"),
        bind => notify(handlers::net::bind, Facet::Vfs, "a unix socket path: the view"),
        // A datagram's own address may name a file too: sendto with one
        // (the filter reads whether there is one), and every sendmsg, whose
        // address is in memory.
        sendto => Entry {
            route: Route::Notify {
                handler: handlers::net::sendto,
                when: Facet::Vfs,
                native_if: Some(ArgRule::NullArg(4)),
            },
            why: "a datagram address may be a unix socket path: the view (native without one)",
        },
        sendmsg => notify(handlers::net::sendmsg, Facet::Vfs, "a datagram address may be a unix socket path: the view"),
        sendmmsg => {
            notify(handlers::net::sendmmsg, Facet::Vfs, "a datagram address may be a unix socket path: the view")
        }
        getsockname => notify(handlers::net::getsockname, Facet::Vfs, "a unix socket's name as the guest bound it"),
        getpeername => notify(handlers::net::getpeername, Facet::Vfs, "a unix peer's name as the guest bound it"),
        socket | socketpair | listen | accept | accept4 | recvfrom | recvmsg | recvmmsg | shutdown | setsockopt
        | getsockopt => allow("sockets (network policy comes with the net issue)"),

        mq_open | mq_unlink | mq_timedsend | mq_timedreceive | mq_notify | mq_getsetattr | msgget | msgsnd | msgrcv
        | msgctl | semget | semop | semctl | semtimedop | shmget | shmat | shmctl | shmdt => {
            allow("System V and POSIX IPC")
        }
    }
}

/// Registers a guest thread may use between installing the filter and
/// `execve` in [`crate::launch`]: these must never be routed to notify,
/// because the supervisor only starts answering after that point.
/// `sendto` is used without an address, which its filter rule lets run
/// natively under every policy (`write` is checked with a disk budget).
pub const LAUNCH_SYSCALLS: &[Sysno] = &[Sysno::sendto, Sysno::read, Sysno::close, Sysno::execve, Sysno::exit_group];

/// Whether `s` creates a task when it succeeds: counted against the
/// process limit by the tracer when one is set.
pub fn creates_task(s: Sysno) -> bool {
    matches!(s, Sysno::fork | Sysno::vfork | Sysno::clone | Sysno::clone3)
}

/// Resolves the table for `arch` under `policy`: the action of every
/// syscall number, ready for [`crate::filter::emit`].
pub fn resolve(arch: Arch, policy: &Policy) -> Resolved {
    resolve_with(arch, policy, Beneath::ReadsAndChanges, true)
}

/// [`resolve`], saying what may run natively beneath a directory fd (which
/// the guest's Landlock domain must confine to the view's host
/// directories); with [`Beneath::Nothing`] every path call is answered by
/// the supervisor.
/// `made_listings`: whether the view changes some listing
/// ([`Facet::Listings`]).
pub fn resolve_with(arch: Arch, policy: &Policy, beneath: Beneath, made_listings: bool) -> Resolved {
    let landlock_fs = beneath != Beneath::Nothing;
    let changes = beneath == Beneath::ReadsAndChanges;
    let active = |f: Facet| policy.facet_active(f) && (f != Facet::Listings || made_listings);
    let tracing = policy.trace_enabled();
    let native = |v: Verdict| -> Verdict {
        match v {
            Verdict::Allow if tracing => Verdict::Trace(TraceData::Log.encode()),
            Verdict::Errno(e) if tracing => Verdict::Trace(TraceData::Deny(e).encode()),
            v => v,
        }
    };
    // With accounting on, the supervisor answers refused calls so the
    // report can say what was refused, to whom, and why.
    let refuse = |errno: i32| -> Verdict {
        if policy.account && !tracing {
            Verdict::Notify
        } else {
            native(Verdict::Errno(errno as u16))
        }
    };
    let counting = policy.limits.max_procs.is_some();
    let actions = arch
        .syscalls()
        .iter()
        .map(|&(nr, s)| {
            // What an allowed call does: run natively, or stop for the
            // tracer when it creates a task that must be counted.
            let pass = if counting && creates_task(s) {
                Verdict::Trace(TraceData::Spawn.encode())
            } else {
                native(Verdict::Allow)
            };
            let action = match entry(s).route {
                Route::Allow => Action::Plain(pass),
                // No listing differs from the host's but beneath a
                // directory fd kept from NATIVE_DIRFDS up (/proc's lists
                // only the sandbox's pids).
                Route::Notify { when: Facet::Listings, .. }
                    if !made_listings && landlock_fs && policy.facet_active(Facet::Listings) =>
                {
                    Action::Check { rule: ArgRule::LowFd(0, NATIVE_DIRFDS), pass, fail: Verdict::Notify }
                }
                Route::Notify { when, native_if, .. } => {
                    if active(when) {
                        match native_if {
                            Some(rule)
                                if (landlock_fs || !rule.needs_landlock()) && (changes || !rule.changes_tree()) =>
                            {
                                let rule = if changes { rule.with_changes() } else { rule };
                                Action::Check { rule, pass, fail: Verdict::Notify }
                            }
                            _ => Action::Plain(Verdict::Notify),
                        }
                    } else {
                        Action::Plain(native(Verdict::Allow))
                    }
                }
                // Only the failing branch goes to the supervisor (to be
                // reported); the passing one stays on its fast path.
                Route::Check(rule) if rule.pretends() => Action::Check { rule, pass, fail: Verdict::Errno(0) },
                Route::Check(ArgRule::IoctlRequest) if policy.view.is_some() => {
                    Action::Check { rule: ArgRule::IoctlRequestInView, pass, fail: refuse(EPERM) }
                }
                Route::Check(rule) => Action::Check { rule, pass, fail: refuse(EPERM) },
                // With accounting on, the supervisor answers denied calls so
                // the report can say what was refused, to whom, and why.
                Route::Deny(Deny::Errno(e)) => Action::Plain(refuse(e)),
                Route::TracePath if policy.view.is_some() => Action::Plain(Verdict::Trace(TraceData::Path.encode())),
                Route::Open { dirfd, flags, .. } if policy.facet_active(Facet::Vfs) => Action::Open {
                    dirfd: if landlock_fs { dirfd } else { None },
                    flags,
                    changes: changes && dirfd.is_some(),
                    beneath: pass,
                    opath: Verdict::Trace(TraceData::Path.encode()),
                    other: Verdict::Notify,
                },
                Route::Open { .. } => Action::Plain(pass),
                Route::TracePath => Action::Plain(pass),
            };
            (nr, action)
        })
        .collect();
    Resolved { arch, actions, unknown: Verdict::Errno(ENOSYS as u16) }
}

/// The handler of every syscall number the filter routes to notify on the
/// native arch under `policy`, indexed by number.
pub fn notify_handlers(policy: &Policy, made_listings: bool) -> Vec<Option<Handler>> {
    let active = |f: Facet| policy.facet_active(f) && (f != Facet::Listings || made_listings);
    by_number(|e| match e.route {
        Route::Notify { handler, when, .. } if active(when) => Some(handler),
        Route::Notify { handler, when: Facet::Listings, .. } if policy.facet_active(Facet::Listings) => Some(handler),
        Route::Open { handler, .. } if policy.facet_active(Facet::Vfs) => Some(handler),
        _ => None,
    })
}

/// A value per syscall number of the native arch (indexed by number), from
/// each row of the table.
fn by_number<T: Clone>(f: impl Fn(Entry) -> Option<T>) -> Vec<Option<T>> {
    let arch = Arch::native();
    let max = arch.syscalls().iter().map(|&(nr, _)| nr as usize).max().unwrap_or(0);
    let mut out = vec![None; max + 1];
    for &(nr, s) in arch.syscalls() {
        out[nr as usize] = f(entry(s));
    }
    out
}

/// A human-readable listing of the table for `arch`: number, name, route,
/// reason (`sandbox-run --list-syscalls`).
pub fn listing(arch: Arch) -> String {
    let mut out = String::new();
    for &(nr, s) in arch.syscalls() {
        let e = entry(s);
        let route = match e.route {
            Route::Allow => "allow".to_string(),
            Route::Notify { when: Facet::Hostname, .. } => "notify (with --hostname)".to_string(),
            Route::Notify { when: Facet::Vfs, native_if: None, .. } => "notify (the view)".to_string(),
            Route::Notify { when: Facet::Listings, .. } => "notify (made listings)".to_string(),
            Route::Notify { when: Facet::Disk, .. } => "notify (with --disk)".to_string(),
            Route::Notify { when: Facet::Vfs, native_if: Some(ArgRule::NullArg(_)), .. } => {
                "notify unless no address".to_string()
            }
            Route::Notify { when: Facet::Vfs, native_if: Some(ArgRule::LowFd(..) | ArgRule::FcntlDup(_)), .. } => {
                "notify for a high fd".to_string()
            }
            Route::Notify { when: Facet::Vfs, native_if: Some(ArgRule::ChangeAt(_)), .. } => {
                "notify; change beneath dirfd".to_string()
            }
            Route::Notify { when: Facet::Vfs, native_if: Some(_), .. } => "notify unless dirfd".to_string(),
            Route::Check(_) => "check args".to_string(),
            Route::TracePath => "trace (the view)".to_string(),
            Route::Open { .. } => "notify; native beneath dirfd".to_string(),
            Route::Deny(Deny::Errno(errno)) => {
                format!("deny {}", condo_syscalls::decode::errno_name(errno).unwrap_or("E?"))
            }
        };
        out.push_str(&format!("{nr:>4}  {:<24} {:<26} {}\n", s.name(), route, e.why));
    }
    out
}

/// For each syscall number of the native arch: the errno and reason of a
/// denial the supervisor answers (and reports) under `policy`.
pub fn supervisor_denials(policy: &Policy) -> Vec<Option<(i32, &'static str)>> {
    let answered = policy.account && !policy.trace_enabled();
    by_number(|e| match e.route {
        _ if !answered => None,
        Route::Deny(Deny::Errno(errno)) => Some((errno, e.why)),
        // Only calls that failed the check reach the supervisor.
        Route::Check(rule) if !rule.pretends() => Some((EPERM, e.why)),
        Route::Check(_) | Route::Allow | Route::Notify { .. } | Route::Open { .. } | Route::TracePath => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_of_every_arch_has_a_route() {
        for arch in Arch::ALL {
            for &(_, s) in arch.syscalls() {
                let e = entry(s);
                assert!(!e.why.is_empty(), "{s} has no reason");
            }
        }
    }

    #[test]
    fn launch_syscalls_are_never_notified() {
        for &s in LAUNCH_SYSCALLS {
            let native_as_launched = match entry(s).route {
                Route::Notify { native_if: Some(rule @ ArgRule::NullArg(_)), .. } => {
                    !rule.needs_landlock() && rule.passes(&[3, 0x1000, 8, 0, 0, 0])
                }
                Route::Notify { .. } | Route::Open { .. } => false,
                _ => true,
            };
            assert!(native_as_launched, "{s} is used before the supervisor answers");
        }
    }

    #[test]
    fn uname_is_notified_only_with_a_hostname() {
        let plain = Policy::default();
        let named = Policy { hostname: Some("box".into()), ..Policy::default() };
        let nr = Sysno::uname.nr(Arch::native()).expect("uname exists");
        assert_eq!(resolve(Arch::native(), &plain).actions[&nr], Action::Plain(Verdict::Allow));
        assert_eq!(resolve(Arch::native(), &named).actions[&nr], Action::Plain(Verdict::Notify));
        assert!(notify_handlers(&named, false)[nr as usize].is_some());
        assert!(notify_handlers(&plain, false)[nr as usize].is_none());
    }

    #[test]
    fn path_calls_in_a_view_go_native_only_beneath_a_directory_fd() {
        let p = Policy { view: Some(crate::vfs::build_view(&[]).expect("default view")), ..Policy::default() };
        let nr = Sysno::openat.nr(Arch::native()).expect("exists");
        let open = |dirfd: i32, flags: i32, beneath: Beneath| {
            resolve_with(Arch::native(), &p, beneath, false).actions[&nr].verdict(&[
                dirfd as u32 as u64,
                0,
                flags as u64,
                0,
                0,
                0,
            ])
        };
        let path = Verdict::Trace(TraceData::Path.encode());
        let (reads, changes) = (Beneath::Reads, Beneath::ReadsAndChanges);
        for b in [reads, changes] {
            assert_eq!(open(3, libc::O_RDONLY | libc::O_DIRECTORY, b), Verdict::Allow);
            assert_eq!(open(300, libc::O_RDONLY, b), Verdict::Allow);
            assert_eq!(open(libc::AT_FDCWD, libc::O_RDONLY, b), Verdict::Notify);
            assert_eq!(open(512, libc::O_RDONLY, b), Verdict::Notify);
            assert_eq!(open(512, libc::O_WRONLY | libc::O_CREAT, b), Verdict::Notify);
            assert_eq!(open(300, libc::O_TMPFILE | libc::O_RDWR, b), Verdict::Notify);
            // Landlock does not check an O_PATH open: the fd reads and
            // runs nothing the view does not show (docs/ARCHITECTURE.md).
            assert_eq!(open(3, libc::O_PATH | libc::O_NOFOLLOW, b), Verdict::Allow);
            assert_eq!(open(512, libc::O_PATH, b), path);
            assert_eq!(open(libc::AT_FDCWD, libc::O_PATH, b), path);
        }
        assert_eq!(open(3, libc::O_RDONLY, Beneath::Nothing), Verdict::Notify);
        // A directory opened to read beneath a writable one's fd goes to
        // the supervisor, which puts a writable one from 256 up too, and
        // so does a copy of one from 256 up.
        assert_eq!(open(300, libc::O_RDONLY | libc::O_DIRECTORY, reads), Verdict::Allow);
        assert_eq!(open(300, libc::O_RDONLY | libc::O_DIRECTORY, changes), Verdict::Notify);
        assert_eq!(open(3, libc::O_RDONLY | libc::O_DIRECTORY, changes), Verdict::Allow);
        let fcntl = |args: [u64; 6], beneath: Beneath| {
            let n = Sysno::fcntl.nr(Arch::native()).expect("exists");
            resolve_with(Arch::native(), &p, beneath, false).actions[&n].verdict(&args)
        };
        let dupfd = libc::F_DUPFD_CLOEXEC as u64;
        assert_eq!(fcntl([3, dupfd, 3, 0, 0, 0], changes), Verdict::Allow);
        assert_eq!(fcntl([300, dupfd, 3, 0, 0, 0], changes), Verdict::Notify);
        assert_eq!(fcntl([3, dupfd, 3, 0, 0, 0], reads), Verdict::Allow);
        assert_eq!(fcntl([600, dupfd, 3, 0, 0, 0], reads), Verdict::Notify);
        assert_eq!(fcntl([3, libc::F_SETFD as u64, 1, 0, 0, 0], changes), Verdict::Allow);
        let dup = |fd: u64, beneath: Beneath| {
            let n = Sysno::dup.nr(Arch::native()).expect("exists");
            resolve_with(Arch::native(), &p, beneath, false).actions[&n].verdict(&[fd, 0, 0, 0, 0, 0])
        };
        assert_eq!(
            (dup(3, changes), dup(300, changes), dup(300, reads)),
            (Verdict::Allow, Verdict::Notify, Verdict::Allow)
        );
        for w in
            [libc::O_WRONLY, libc::O_RDWR, libc::O_CREAT, libc::O_TRUNC, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL]
        {
            // Beneath a low fd (a read-only directory's, say) the view
            // answers: EROFS, not Landlock's EACCES.
            assert_eq!(open(3, w, changes), Verdict::Notify, "flags {w:o}");
            assert_eq!(open(255, w, changes), Verdict::Notify, "flags {w:o}");
            assert_eq!(open(300, w, reads), Verdict::Notify, "flags {w:o}");
            assert_eq!(open(256, w, changes), Verdict::Allow, "flags {w:o}");
            assert_eq!(open(511, w, changes), Verdict::Allow, "flags {w:o}");
            assert_eq!(open(libc::AT_FDCWD, w, changes), Verdict::Notify, "flags {w:o}");
        }
        assert_eq!(open(libc::AT_FDCWD, libc::O_PATH, Beneath::Nothing), path);
        // Of the changes, only making and removing names may run beneath a
        // directory fd.
        let call = |s: Sysno, args: [u64; 6], beneath: Beneath| {
            let n = s.nr(Arch::native()).expect("exists");
            resolve_with(Arch::native(), &p, beneath, false).actions[&n].verdict(&args)
        };
        let removedir = libc::AT_REMOVEDIR as u64;
        let cwd = libc::AT_FDCWD as u32 as u64;
        assert_eq!(call(Sysno::unlinkat, [300, 0, 0, 0, 0, 0], changes), Verdict::Allow);
        assert_eq!(call(Sysno::unlinkat, [300, 0, removedir, 0, 0, 0], changes), Verdict::Allow);
        assert_eq!(call(Sysno::unlinkat, [3, 0, removedir, 0, 0, 0], changes), Verdict::Notify);
        assert_eq!(call(Sysno::unlinkat, [3, 0, 0, 0, 0, 0], changes), Verdict::Notify);
        assert_eq!(call(Sysno::unlinkat, [cwd, 0, 0, 0, 0, 0], changes), Verdict::Notify);
        assert_eq!(call(Sysno::unlinkat, [300, 0, 0, 0, 0, 0], reads), Verdict::Notify);
        assert_eq!(call(Sysno::mkdirat, [300, 0, 0o755, 0, 0, 0], changes), Verdict::Allow);
        assert_eq!(call(Sysno::mkdirat, [3, 0, 0o755, 0, 0, 0], changes), Verdict::Notify);
        assert_eq!(call(Sysno::mkdirat, [600, 0, 0o755, 0, 0, 0], changes), Verdict::Notify);
        assert_eq!(call(Sysno::mkdirat, [300, 0, 0o755, 0, 0, 0], reads), Verdict::Notify);
        assert_eq!(call(Sysno::renameat2, [300, 0, 300, 0, 0, 0], changes), Verdict::Notify);
        // Inode flags of a file the view may show read-only cannot be set
        // through an fd; the terminal ioctls stay refused.
        let ioctl = Sysno::ioctl.nr(Arch::native()).expect("exists");
        let r = resolve(Arch::native(), &p);
        let set_flags = [3, 0x4008_6602, 0, 0, 0, 0];
        assert_eq!(r.actions[&ioctl].verdict(&set_flags), Verdict::Errno(EPERM as u16));
        assert_eq!(r.actions[&ioctl].verdict(&[3, libc::TIOCSTI, 0, 0, 0, 0]), Verdict::Errno(EPERM as u16));
        assert_eq!(r.actions[&ioctl].verdict(&[3, 0x5401, 0, 0, 0, 0]), Verdict::Allow);
        let plain = resolve(Arch::native(), &Policy::default());
        assert_eq!(plain.actions[&ioctl].verdict(&set_flags), Verdict::Allow);
        for s in [Sysno::fchmod, Sysno::fchown, Sysno::fsetxattr, Sysno::mknodat, Sysno::symlinkat, Sysno::renameat2] {
            let n = s.nr(Arch::native()).expect("exists");
            assert_eq!(resolve(Arch::native(), &p).actions[&n], Action::Plain(Verdict::Notify), "{s}");
        }
    }

    #[test]
    fn tracing_routes_native_and_denied_calls_to_the_tracer() {
        let p = Policy { trace: Some(crate::policy::TraceConfig::default()), ..Policy::default() };
        let r = resolve(Arch::native(), &p);
        let nr = |s: Sysno| s.nr(Arch::native()).expect("exists");
        assert_eq!(r.actions[&nr(Sysno::read)], Action::Plain(Verdict::Trace(0)));
        assert_eq!(r.actions[&nr(Sysno::mount)], Action::Plain(Verdict::Trace(EPERM as u16)));
    }

    #[test]
    fn accounting_routes_denials_to_the_supervisor() {
        let p = Policy { account: true, ..Policy::default() };
        let nr = Sysno::mount.nr(Arch::native()).expect("exists");
        assert_eq!(resolve(Arch::native(), &p).actions[&nr], Action::Plain(Verdict::Notify));
        assert_eq!(supervisor_denials(&p)[nr as usize].map(|d| d.0), Some(EPERM));
        assert!(supervisor_denials(&Policy::default()).iter().all(Option::is_none));
    }

    #[test]
    fn a_process_limit_sends_task_creation_to_the_tracer() {
        let mut p = Policy::default();
        p.limits.max_procs = Some(10);
        let r = resolve(Arch::native(), &p);
        let nr = |s: Sysno| s.nr(Arch::native()).expect("exists");
        let spawn = Verdict::Trace(TraceData::Spawn.encode());
        assert_eq!(r.actions[&nr(Sysno::vfork)], Action::Plain(spawn));
        assert!(matches!(r.actions[&nr(Sysno::clone)], Action::Check { pass, .. } if pass == spawn));
        // clone3 stays ENOSYS: libc falls back to clone, which is counted.
        assert_eq!(r.actions[&nr(Sysno::clone3)], Action::Plain(Verdict::Errno(ENOSYS as u16)));
        assert_eq!(r.actions[&nr(Sysno::read)], Action::Plain(Verdict::Allow));
    }
}
