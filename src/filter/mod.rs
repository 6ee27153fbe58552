//! The seccomp-BPF program: one verdict per syscall number, computed from the
//! routing table ([`crate::table`]) and the policy, then emitted as classic
//! BPF.
//!
//! The program, in pseudo-code:
//!
//! ```text
//! if data.arch != AUDIT_ARCH_<native>      -> KILL_PROCESS   (i386 int 0x80, foreign ABIs)
//! if x86_64 && nr in [X32_BIT, 2^31)      -> KILL_PROCESS   (x32 ABI)
//! binary search of data.nr over ranges of equal action:
//!     ALLOW | USER_NOTIF | TRACE | ERRNO(e) | KILL_PROCESS
//!     or a short argument check (clone flags, personality, ioctl request)
//! unknown numbers                          -> ERRNO(ENOSYS)
//! ```
//!
//! Argument-independent ALLOW leaves never load an argument, so the kernel's
//! per-syscall action cache (Linux 5.11) skips the filter for them entirely.
//!
//! [`emit`] is pure and [`interp`] is a small seccomp-BPF interpreter; the
//! tests check the emitted program against [`Resolved::expected`] for random
//! `seccomp_data` (proptest), so an emitter bug cannot hide.

pub mod emit;
pub mod interp;

use std::collections::BTreeMap;

use condo_syscalls::Arch;

pub use emit::emit;

/// What the kernel does with one syscall: the return value of the filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Run natively (the fast path).
    Allow,
    /// Ask the supervisor through the user-notification listener.
    Notify,
    /// Stop the thread for the tracer (`PTRACE_EVENT_SECCOMP`); the 16-bit
    /// data tells the tracer what to do (see [`TraceData`]).
    Trace(u16),
    /// Fail with this errno without running the call.
    Errno(u16),
    /// Kill the whole process.
    Kill,
}

/// The meaning of the 16 data bits of a [`Verdict::Trace`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceData {
    /// Log the call and its result, let it run.
    Log,
    /// Log the call and fail it with this errno (a denied call, traced).
    Deny(u16),
    /// A call that creates a task (fork, vfork, clone): the tracer counts
    /// it against the process limit, failing it with EAGAIN past the limit
    /// (and logs it when tracing).
    Spawn,
    /// A call whose path the kernel itself resolves (chdir, execve): the
    /// tracer resolves it in the view and points the call at the host path.
    Path,
}

const TRACE_SPAWN: u16 = 0x1000;
const TRACE_PATH: u16 = 0x2000;

impl TraceData {
    /// Encodes into the 16 bits carried by `SECCOMP_RET_TRACE`.
    pub const fn encode(self) -> u16 {
        match self {
            TraceData::Log => 0,
            TraceData::Deny(e) => e & 0x0fff,
            TraceData::Spawn => TRACE_SPAWN,
            TraceData::Path => TRACE_PATH,
        }
    }

    /// Decodes what [`TraceData::encode`] produced.
    pub const fn decode(data: u16) -> TraceData {
        match data {
            0 => TraceData::Log,
            TRACE_SPAWN => TraceData::Spawn,
            TRACE_PATH => TraceData::Path,
            d => TraceData::Deny(d & 0x0fff),
        }
    }
}

impl Verdict {
    /// The `SECCOMP_RET_*` value.
    pub const fn ret(self) -> u32 {
        match self {
            Verdict::Allow => libc::SECCOMP_RET_ALLOW,
            Verdict::Notify => libc::SECCOMP_RET_USER_NOTIF,
            Verdict::Trace(d) => libc::SECCOMP_RET_TRACE | d as u32,
            Verdict::Errno(e) => libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA),
            Verdict::Kill => libc::SECCOMP_RET_KILL_PROCESS,
        }
    }
}

/// A check on argument values that BPF can do (it sees registers, never
/// memory). `pass` when the arguments are acceptable, `fail` otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgRule {
    /// `clone(flags, ...)`: fail if `flags` asks for a new namespace or for
    /// `CLONE_UNTRACED` (which would let the child escape the tracer).
    CloneFlags,
    /// `personality(persona)`: pass only `PER_LINUX` (0) and the query
    /// `0xffffffff`.
    Personality,
    /// `ioctl(fd, request, ...)`: fail `TIOCSTI` and `TIOCLINUX`, which push
    /// input into a terminal the guest shares with its caller.
    IoctlRequest,
    /// [`ArgRule::IoctlRequest`], and, in a sandbox with a filesystem view,
    /// the ioctls that change a file's inode flags through any fd its owner
    /// holds ([`VIEW_DENIED_IOCTLS`]): a file the view shows read-only may
    /// be open for reading, and Landlock does not cover these.
    IoctlRequestInView,
    /// `prctl(PR_SET_DUMPABLE, 0)`: answered 0 without running it. A
    /// non-dumpable guest would lock the supervisor out of its memory (and
    /// every notified call with it); the guest's protection from the host
    /// user's other processes is not the sandbox's to give.
    PrctlDumpable,
    /// `*at(dirfd, ...)`: `dirfd` (this argument, as an int) is a real fd
    /// below [`NATIVE_DIRFDS`], not `AT_FDCWD`.
    DirFd(u8),
    /// Both directory fd arguments are real fds (`renameat`, `linkat`).
    DirFds(u8, u8),
    /// `faccessat(dirfd, path, mode, ...)`: [`ArgRule::DirFd`] of the
    /// first argument, and the mode (the second) does not ask `W_OK`.
    /// Landlock does not answer access checks, and the host would call a
    /// file writable that the view shows read-only.
    ReadAccessAt(u8, u8),
    /// A change beneath a writable directory's fd (`mkdirat`,
    /// `unlinkat`): this argument (as an int) is from [`CHANGE_DIRFDS`] up
    /// to [`NATIVE_DIRFDS`].
    ChangeAt(u8),
    /// This fd argument (as an int) is not one from the second number
    /// ([`NATIVE_DIRFDS`], or [`CHANGE_DIRFDS`] with changes beneath) up
    /// (`dup`): a copy of such a directory fd must stay up there.
    LowFd(u8, u32),
    /// `fcntl`: not `F_DUPFD`/`F_DUPFD_CLOEXEC` of an fd from this number
    /// up (as [`ArgRule::LowFd`]).
    FcntlDup(u32),
    /// This pointer argument is NULL (all 64 bits): `sendto` without an
    /// address. A register cannot be changed by another thread, so unlike
    /// what it points to, this is safe to decide on.
    NullArg(u8),
}

/// Directory fds from this number up are never resolved beneath by the
/// kernel: the supervisor puts there the fds of directories whose names
/// the kernel cannot resolve as the view does (a directory with a mount
/// point below it, `/dev`, `/proc`), so calls beneath them are notified.
/// A power of two: one mask test in BPF.
pub const NATIVE_DIRFDS: u32 = 512;

/// The bits of a 32-bit fd argument that make it not a native directory
/// fd: negative (`AT_FDCWD`) or at least [`NATIVE_DIRFDS`].
pub const NOT_NATIVE_DIRFD: u32 = !(NATIVE_DIRFDS - 1);

/// A 32-bit directory fd argument the kernel may resolve beneath: not
/// negative, below [`NATIVE_DIRFDS`].
fn native_dirfd(v: u64) -> bool {
    v & u64::from(NOT_NATIVE_DIRFD) == 0
}

/// Directory fds from this number up to [`NATIVE_DIRFDS`] are writable
/// directories of the view the supervisor put there
/// ([`Beneath::ReadsAndChanges`]): beneath them the common changes run
/// natively, and Landlock, which grants writes exactly where the view is
/// writable, has nothing to refuse but a way out (`..`, a symlink), with
/// `EACCES`. Beneath lower ones a change is answered in the view, which
/// says `EROFS` under a read-only mount as the kernel would. Above bash's
/// 255 (its script fd); a power of two.
pub const CHANGE_DIRFDS: u32 = 256;

/// A 32-bit directory fd argument from [`CHANGE_DIRFDS`] up to
/// [`NATIVE_DIRFDS`].
fn change_dirfd(v: u64) -> bool {
    native_dirfd(v) && v >= u64::from(CHANGE_DIRFDS)
}

/// A 32-bit fd argument from `floor` up (not negative).
fn high_fd(v: u64, floor: u32) -> bool {
    v & 0x8000_0000 == 0 && v >= u64::from(floor)
}

/// Namespace flags of clone(2) (CLONE_NEWTIME is omitted: on clone(2) its
/// bit is part of the exit signal byte; it only exists for clone3).
pub const CLONE_NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

/// Flags that make clone(2) fail inside the sandbox.
pub const CLONE_DENIED_FLAGS: u64 = CLONE_NAMESPACE_FLAGS | libc::CLONE_UNTRACED as u64;

/// Terminal ioctls that inject input.
pub const DENIED_IOCTLS: [u32; 2] = [libc::TIOCSTI as u32, 0x541C /* TIOCLINUX */];

/// [`DENIED_IOCTLS`] plus the inode-flag setters: `FS_IOC_SETFLAGS` (and its
/// 32-bit spelling), `FS_IOC_FSSETXATTR`, `FS_IOC_SETVERSION`.
pub const VIEW_DENIED_IOCTLS: [u32; 6] =
    [libc::TIOCSTI as u32, 0x541C, 0x4008_6602, 0x4004_6602, 0x401c_5820, 0x4008_7602];

impl ArgRule {
    /// Whether letting the call run natively when the rule passes is only
    /// safe under the view's Landlock domain (a path resolved beneath a
    /// directory fd), rather than safe by itself.
    pub fn needs_landlock(self) -> bool {
        matches!(self, ArgRule::DirFd(_) | ArgRule::DirFds(..) | ArgRule::ReadAccessAt(..) | ArgRule::ChangeAt(_))
    }

    /// The rule where changes run natively beneath the directory fds from
    /// [`CHANGE_DIRFDS`] up: a copy of one of those must stay up there too
    /// (`rm -r`'s fts works beneath an `F_DUPFD_CLOEXEC` copy of each
    /// directory it opens). Only those: notifying every `F_DUPFD` made
    /// `find /usr` 2.8x slower.
    pub fn with_changes(self) -> Self {
        match self {
            ArgRule::LowFd(a, _) => ArgRule::LowFd(a, CHANGE_DIRFDS),
            ArgRule::FcntlDup(_) => ArgRule::FcntlDup(CHANGE_DIRFDS),
            other => other,
        }
    }

    /// Whether the call the rule lets run natively changes the tree, which
    /// only [`Beneath::ReadsAndChanges`] allows.
    pub fn changes_tree(self) -> bool {
        matches!(self, ArgRule::ChangeAt(_))
    }

    /// Reference semantics, used by the tests as the model for the emitted
    /// BPF. `args` are the raw registers.
    pub fn passes(self, args: &[u64; 6]) -> bool {
        // The kernel treats these arguments as 32-bit ints; the upper half of
        // the register may hold garbage (musl passes ioctl requests that way).
        let lo = |i: usize| args[i] & 0xffff_ffff;
        match self {
            ArgRule::CloneFlags => lo(0) & CLONE_DENIED_FLAGS == 0,
            ArgRule::Personality => lo(0) == 0 || lo(0) == 0xffff_ffff,
            ArgRule::IoctlRequest => !DENIED_IOCTLS.iter().any(|&r| lo(1) == u64::from(r)),
            ArgRule::IoctlRequestInView => !VIEW_DENIED_IOCTLS.iter().any(|&r| lo(1) == u64::from(r)),
            ArgRule::PrctlDumpable => !(lo(0) == libc::PR_SET_DUMPABLE as u64 && lo(1) == 0),
            ArgRule::DirFd(a) => native_dirfd(lo(a as usize)),
            ArgRule::DirFds(a, b) => native_dirfd(lo(a as usize)) && native_dirfd(lo(b as usize)),
            ArgRule::ReadAccessAt(a, m) => native_dirfd(lo(a as usize)) && lo(m as usize) & libc::W_OK as u64 == 0,
            ArgRule::ChangeAt(a) => change_dirfd(lo(a as usize)),
            ArgRule::NullArg(a) => args[a as usize] == 0,
            ArgRule::LowFd(a, floor) => !high_fd(lo(a as usize), floor),
            ArgRule::FcntlDup(floor) => {
                !(matches!(lo(1) as i32, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) && high_fd(lo(0), floor))
            }
        }
    }

    /// Whether failing the rule is answered with success (0) rather than
    /// refused.
    pub const fn pretends(self) -> bool {
        matches!(self, ArgRule::PrctlDumpable)
    }
}

/// Open flags that may change the filesystem (an access mode other than
/// read-only, creating, truncating, `O_TMPFILE`'s own bit).
pub const OPEN_WRITE_FLAGS: u32 =
    (libc::O_ACCMODE | libc::O_CREAT | libc::O_TRUNC | (libc::O_TMPFILE & !libc::O_DIRECTORY)) as u32;

/// `O_TMPFILE`'s own bit (`O_TMPFILE` includes `O_DIRECTORY`): an unnamed
/// file is made in the view's way (see `handlers/fs.rs`), never natively.
pub const O_TMPFILE_BIT: u32 = (libc::O_TMPFILE & !libc::O_DIRECTORY) as u32;

/// What may run natively beneath a directory fd the guest holds (from 0 up
/// to [`NATIVE_DIRFDS`]), where the guest's Landlock domain confines the
/// kernel's walk to the view's host directories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Beneath {
    /// Nothing: every path call is answered in the view (no Landlock, or an
    /// overlay, where the kernel would see one layer).
    Nothing,
    /// Calls that read: opens for reading, the stat family, access checks.
    Reads,
    /// Those, and beneath the fds of writable directories (which the
    /// supervisor puts from [`CHANGE_DIRFDS`] up) the common changes: opens
    /// that write or create a file, `mkdirat`, and `unlinkat` of a name
    /// that is not a directory (tar's and `rm -r`'s calls).
    ReadsAndChanges,
}

/// What the filter does for one syscall number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// One verdict, whatever the arguments (cacheable by the kernel when it
    /// is `Allow`).
    Plain(Verdict),
    /// `pass` if `rule` accepts the arguments, `fail` otherwise.
    Check {
        /// The argument rule.
        rule: ArgRule,
        /// Verdict when the rule accepts.
        pass: Verdict,
        /// Verdict when it does not.
        fail: Verdict,
    },
    /// An open: `beneath` when `dirfd` (an argument) is a real directory fd
    /// and the flags only read or ask for `O_PATH`, or, with `changes`,
    /// when it is from [`CHANGE_DIRFDS`] up (then the flags may write or
    /// create, but not `O_TMPFILE`, and a directory opened to read is
    /// `other`, for the supervisor to put a writable one up there too);
    /// else `opath` for `O_PATH`, `other` for the rest.
    Open {
        /// The directory fd argument (`None`: never `beneath`).
        dirfd: Option<u8>,
        /// The flags argument.
        flags: u8,
        /// Writes may run beneath a writable directory's fd.
        changes: bool,
        /// A native open beneath a real directory fd.
        beneath: Verdict,
        /// An `O_PATH` open.
        opath: Verdict,
        /// Any other open.
        other: Verdict,
    },
}

impl Action {
    /// The verdict for these argument registers: the reference semantics
    /// the emitted BPF must agree with.
    pub fn verdict(&self, args: &[u64; 6]) -> Verdict {
        let lo = |i: u8| (args[usize::from(i)] & 0xffff_ffff) as u32;
        match *self {
            Action::Plain(v) => v,
            Action::Check { rule, pass, fail } => {
                if rule.passes(args) {
                    pass
                } else {
                    fail
                }
            }
            Action::Open { dirfd, flags, changes, beneath, opath, other } => {
                let f = lo(flags);
                let d = dirfd.map(|d| u64::from(lo(d)));
                let writes = f & OPEN_WRITE_FLAGS != 0;
                if f & libc::O_PATH as u32 != 0 {
                    if d.is_some_and(native_dirfd) {
                        beneath
                    } else {
                        opath
                    }
                } else if !d.is_some_and(native_dirfd) {
                    other
                } else if changes && d.is_some_and(change_dirfd) {
                    let dir = f & libc::O_DIRECTORY as u32 != 0;
                    if f & O_TMPFILE_BIT != 0 || !writes && dir {
                        other
                    } else {
                        beneath
                    }
                } else if writes {
                    other
                } else {
                    beneath
                }
            }
        }
    }
}

/// The routing table resolved for one arch and one policy: what the filter
/// does for every syscall number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The architecture the program is for.
    pub arch: Arch,
    /// Action per syscall number.
    pub actions: BTreeMap<u32, Action>,
    /// Verdict for numbers the table does not know (ENOSYS, as an old
    /// kernel would answer).
    pub unknown: Verdict,
}

/// `__X32_SYSCALL_BIT`.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The fields of `struct seccomp_data`, as the kernel hands them to BPF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeccompData {
    /// Syscall number.
    pub nr: u32,
    /// AUDIT_ARCH_* of the calling ABI.
    pub arch: u32,
    /// Instruction pointer.
    pub ip: u64,
    /// Raw argument registers.
    pub args: [u64; 6],
}

impl SeccompData {
    /// The 64-byte little-endian layout BPF loads from.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_le_bytes());
        b[4..8].copy_from_slice(&self.arch.to_le_bytes());
        b[8..16].copy_from_slice(&self.ip.to_le_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        b
    }
}

impl Resolved {
    /// The verdict the policy intends for `data`: the model the emitted
    /// program must agree with.
    pub fn expected(&self, data: &SeccompData) -> Verdict {
        if data.arch != self.arch.audit_arch() {
            return Verdict::Kill;
        }
        if self.arch == Arch::X86_64 && (X32_SYSCALL_BIT..0x8000_0000).contains(&data.nr) {
            // The x32 ABI: numbers with __X32_SYSCALL_BIT, as the kernel's
            // entry code decodes them. Numbers above are negative ints, which
            // the kernel answers with ENOSYS.
            return Verdict::Kill;
        }
        match self.actions.get(&data.nr) {
            None => self.unknown,
            Some(a) => a.verdict(&data.args),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Policy, TraceConfig};
    use crate::table::resolve;
    use proptest::prelude::*;

    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    fn policies() -> Vec<Policy> {
        let mut v = Vec::new();
        for host in [None, Some("box".to_string())] {
            for trace in [None, Some(TraceConfig::default())] {
                for procs in [None, Some(8)] {
                    let mut p = Policy { hostname: host.clone(), trace: trace.clone(), ..Policy::default() };
                    p.limits.max_procs = procs;
                    v.push(p.clone());
                    // With a view: opens, path calls and fd changes.
                    p.view = Some(crate::vfs::build_view(&[]).expect("the default view"));
                    v.push(p);
                }
            }
        }
        v
    }

    fn verdict(prog: &[libc::sock_filter], d: &SeccompData) -> u32 {
        interp::run(prog, &d.to_bytes()).expect("the emitted program runs to a verdict")
    }

    fn data(arch: u32, nr: u32, args: [u64; 6]) -> SeccompData {
        SeccompData { nr, arch, ip: 0, args }
    }

    #[test]
    fn trace_data_round_trips() {
        for d in [TraceData::Log, TraceData::Spawn, TraceData::Deny(1), TraceData::Deny(4095)] {
            assert_eq!(TraceData::decode(d.encode()), d);
        }
    }

    #[test]
    fn fixed_cases() {
        let arch = Arch::native();
        let r = resolve(arch, &Policy::default());
        let prog = emit(&r);
        let nr = |s: condo_syscalls::Sysno| s.nr(arch).expect("exists");
        let a = arch.audit_arch();
        use condo_syscalls::Sysno as S;
        assert_eq!(verdict(&prog, &data(a, nr(S::read), [0; 6])), libc::SECCOMP_RET_ALLOW);
        assert_eq!(verdict(&prog, &data(a, nr(S::mount), [0; 6])), Verdict::Errno(libc::EPERM as u16).ret());
        assert_eq!(verdict(&prog, &data(a, nr(S::clone3), [0; 6])), Verdict::Errno(libc::ENOSYS as u16).ret());
        assert_eq!(verdict(&prog, &data(AUDIT_ARCH_I386, 20, [0; 6])), libc::SECCOMP_RET_KILL_PROCESS);
        let clone_user = libc::CLONE_NEWUSER as u64;
        assert_eq!(verdict(&prog, &data(a, nr(S::clone), [clone_user, 0, 0, 0, 0, 0])), Verdict::Errno(1).ret());
        assert_eq!(
            verdict(&prog, &data(a, nr(S::clone), [0x11 | 0x0100_0000, 0, 0, 0, 0, 0])),
            libc::SECCOMP_RET_ALLOW
        );
        let tiocsti = 0xdead_0000_0000_0000 | libc::TIOCSTI;
        assert_eq!(verdict(&prog, &data(a, nr(S::ioctl), [0, tiocsti, 0, 0, 0, 0])), Verdict::Errno(1).ret());
        assert_eq!(verdict(&prog, &data(a, nr(S::personality), [0xffff_ffff, 0, 0, 0, 0, 0])), libc::SECCOMP_RET_ALLOW);
        assert_eq!(verdict(&prog, &data(a, nr(S::personality), [0x0040000, 0, 0, 0, 0, 0])), Verdict::Errno(1).ret());
        assert_eq!(verdict(&prog, &data(a, 100_000, [0; 6])), Verdict::Errno(libc::ENOSYS as u16).ret());
        assert_eq!(verdict(&prog, &data(a, u32::MAX, [0; 6])), Verdict::Errno(libc::ENOSYS as u16).ret());
        if arch == Arch::X86_64 {
            assert_eq!(verdict(&prog, &data(a, X32_SYSCALL_BIT | 39, [0; 6])), libc::SECCOMP_RET_KILL_PROCESS);
        }
    }

    #[test]
    fn programs_fit_the_kernel_limit() {
        for arch in Arch::ALL {
            for p in policies() {
                let prog = emit(&resolve(arch, &p));
                assert!(prog.len() < 4096, "{} instructions", prog.len());
            }
        }
    }

    /// Exhaustive over every known number of every arch, with argument
    /// values that hit each argument rule both ways.
    #[test]
    fn every_number_of_every_arch_agrees_with_the_policy() {
        let arg_sets: [[u64; 6]; 17] = [
            [libc::AT_FDCWD as u32 as u64, 0, libc::O_PATH as u64, 0, 0, 0],
            [3, 0, libc::O_RDONLY as u64, 0, 0, 0],
            [3, 0, (libc::O_WRONLY | libc::O_CREAT) as u64, 0, 0, 0],
            [3, libc::O_PATH as u64, libc::O_TRUNC as u64, 0, 0, 0],
            [300, 0, libc::AT_REMOVEDIR as u64, 0, 0, 0],
            [300, 0, (libc::O_TMPFILE | libc::O_RDWR) as u64, 0, 0, 0],
            [300, 0, (libc::O_WRONLY | libc::O_CREAT) as u64, 0, 0, 0],
            [256, 0, libc::O_DIRECTORY as u64, 0, 0, 0],
            [511, 0, 0, 0, 0, 0],
            [255, 0, libc::O_RDWR as u64, 0, 0, 0],
            [libc::PR_SET_DUMPABLE as u64, 0, 0, 0, 0, 0],
            [0; 6],
            [libc::CLONE_NEWNET as u64, libc::TIOCSTI, 0, 0, 0, 0],
            [3, 0x4008_6602, 0, 0, 0, 0],
            [0xffff_ffff, 0x541C, 0, 0, 0, 0],
            [libc::CLONE_UNTRACED as u64 | 0xffff_0000_0000_0000, 0, 1, 2, 3, 4],
            [0x0040_0000, 7, 7, 7, 7, 7],
        ];
        for arch in Arch::ALL {
            let levels = [Beneath::Nothing, Beneath::Reads, Beneath::ReadsAndChanges];
            for (p, beneath) in policies().into_iter().flat_map(|p| levels.map(|b| (p.clone(), b))) {
                let r = crate::table::resolve_with(arch, &p, beneath, beneath != Beneath::Nothing);
                let prog = emit(&r);
                for nr in 0..1024u32 {
                    for args in arg_sets {
                        let d = data(arch.audit_arch(), nr, args);
                        assert_eq!(verdict(&prog, &d), r.expected(&d).ret(), "{arch:?} nr {nr} args {args:x?}");
                    }
                }
            }
        }
    }

    fn arb_arch() -> impl Strategy<Value = u32> {
        prop_oneof![
            Just(Arch::X86_64.audit_arch()),
            Just(Arch::Aarch64.audit_arch()),
            Just(AUDIT_ARCH_I386),
            any::<u32>(),
        ]
    }

    fn arb_nr() -> impl Strategy<Value = u32> {
        prop_oneof![0u32..600, any::<u32>(), (0u32..600).prop_map(|n| n | X32_SYSCALL_BIT), Just(u32::MAX)]
    }

    fn arb_arg() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            Just(0),
            Just(0xffff_ffff),
            (
                any::<u32>(),
                prop::sample::select(vec![
                    libc::PR_SET_DUMPABLE as u64,
                    libc::CLONE_NEWUSER as u64,
                    libc::CLONE_NEWNS as u64,
                    libc::CLONE_UNTRACED as u64,
                    libc::TIOCSTI,
                    0x541C,
                    0x4008_6602,
                    0x401c_5820,
                    0x11,
                    libc::O_PATH as u64,
                    (libc::O_PATH | libc::O_WRONLY) as u64,
                    libc::O_CREAT as u64,
                    libc::O_TRUNC as u64,
                    libc::O_RDWR as u64,
                    (libc::O_TMPFILE | libc::O_WRONLY) as u64,
                    libc::AT_REMOVEDIR as u64,
                    libc::W_OK as u64,
                    (libc::R_OK | libc::X_OK) as u64,
                    libc::O_DIRECTORY as u64,
                    255,
                    256,
                    300,
                    511,
                    512,
                    libc::AT_FDCWD as u32 as u64,
                ])
            )
                .prop_map(|(hi, lo)| (u64::from(hi) << 32) | lo),
        ]
    }

    fn arb_verdict() -> impl Strategy<Value = Verdict> {
        prop_oneof![
            Just(Verdict::Allow),
            Just(Verdict::Notify),
            Just(Verdict::Kill),
            any::<u8>().prop_map(|d| Verdict::Trace(u16::from(d))),
            (1u16..4096).prop_map(Verdict::Errno),
        ]
    }

    fn arb_action() -> impl Strategy<Value = Action> {
        prop_oneof![
            3 => arb_verdict().prop_map(Action::Plain),
            1 => (
                prop::sample::select(vec![
                    ArgRule::CloneFlags,
                    ArgRule::Personality,
                    ArgRule::IoctlRequest,
                    ArgRule::IoctlRequestInView,
                    ArgRule::PrctlDumpable,
                    ArgRule::DirFd(2),
                    ArgRule::DirFds(0, 2),
                    ArgRule::ReadAccessAt(0, 2),
                    ArgRule::ChangeAt(0),
                    ArgRule::ChangeAt(1),
                    ArgRule::NullArg(4),
                    ArgRule::LowFd(0, NATIVE_DIRFDS),
                    ArgRule::LowFd(0, CHANGE_DIRFDS),
                    ArgRule::FcntlDup(NATIVE_DIRFDS),
                    ArgRule::FcntlDup(CHANGE_DIRFDS),
                ]),
                arb_verdict(),
                arb_verdict()
            )
                .prop_map(|(rule, pass, fail)| Action::Check { rule, pass, fail }),
            1 => (prop::option::of(0u8..6), 0u8..6, any::<bool>(), arb_verdict(), arb_verdict(), arb_verdict())
                .prop_map(|(dirfd, flags, changes, beneath, opath, other)| {
                    Action::Open { dirfd, flags, changes, beneath, opath, other }
                }),
        ]
    }

    /// Arbitrary tables, far more fragmented than the real one (long
    /// jumps, many leaves): the emitter, not just our policy, is checked.
    fn arb_table() -> impl Strategy<Value = Resolved> {
        (0usize..2, prop::collection::btree_map(0u32..1500, arb_action(), 0..900), arb_verdict())
            .prop_map(|(a, actions, unknown)| Resolved { arch: Arch::ALL[a], actions, unknown })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn arbitrary_tables_emit_programs_that_agree_with_them(
            table in arb_table(),
            probes in prop::collection::vec((0u32..1600, any::<bool>(), prop::array::uniform6(arb_arg())), 32),
        ) {
            let prog = emit(&table);
            for (nr, native_arch, args) in probes {
                let arch = if native_arch { table.arch.audit_arch() } else { AUDIT_ARCH_I386 };
                let d = SeccompData { nr, arch, ip: 0, args };
                prop_assert_eq!(verdict(&prog, &d), table.expected(&d).ret());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn random_seccomp_data_gets_the_policy_verdict(
            arch_i in 0usize..2,
            pol_i in 0usize..16,
            arch in arb_arch(),
            nr in arb_nr(),
            args in prop::array::uniform6(arb_arg()),
            ip in any::<u64>(),
        ) {
            let target = Arch::ALL[arch_i];
            let r = resolve(target, &policies()[pol_i]);
            let prog = emit(&r);
            let d = SeccompData { nr, arch, ip, args };
            prop_assert_eq!(verdict(&prog, &d), r.expected(&d).ret());
        }
    }
}
