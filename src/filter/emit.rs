//! Pure emission of the classic-BPF program from a [`Resolved`] table.

use super::{Action, ArgRule, Resolved, Verdict, DENIED_IOCTLS, VIEW_DENIED_IOCTLS, X32_SYSCALL_BIT};
use condo_syscalls::Arch;

/// `BPF_LD | BPF_W | BPF_ABS`
pub const LD_W_ABS: u16 = 0x20;
/// `BPF_JMP | BPF_JA`
pub const JA: u16 = 0x05;
/// `BPF_JMP | BPF_JEQ | BPF_K`
pub const JEQ_K: u16 = 0x15;
/// `BPF_JMP | BPF_JGE | BPF_K`
pub const JGE_K: u16 = 0x35;
/// `BPF_JMP | BPF_JSET | BPF_K`
pub const JSET_K: u16 = 0x45;
/// `BPF_RET | BPF_K`
pub const RET_K: u16 = 0x06;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
/// Offset of the low 32 bits of argument `i` (little-endian hosts).
const fn off_arg_lo(i: u32) -> u32 {
    16 + 8 * i
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// A run of syscall numbers from `start` up to the next segment's start,
/// sharing one action.
#[derive(Clone, Copy, Debug)]
struct Segment {
    start: u32,
    action: Action,
}

/// Emits the program. The result is at most a few hundred instructions;
/// every jump target is inside the program and every path ends in `RET`.
pub fn emit(table: &Resolved) -> Vec<libc::sock_filter> {
    let mut prog = vec![
        stmt(LD_W_ABS, OFF_ARCH),
        jump(JEQ_K, table.arch.audit_arch(), 1, 0),
        stmt(RET_K, Verdict::Kill.ret()),
        stmt(LD_W_ABS, OFF_NR),
    ];
    let segments = segments(table);
    prog.extend(tree(&segments));
    prog
}

/// Splits the whole u32 number space into runs of equal action, so the
/// search tree has one leaf per run rather than per syscall.
fn segments(table: &Resolved) -> Vec<Segment> {
    let unknown = Action::Plain(table.unknown);
    let mut out: Vec<Segment> = Vec::new();
    let mut add = |start: u32, action: Action| {
        if out.last().map(|s| s.action) != Some(action) {
            out.push(Segment { start, action });
        }
    };
    let mut cursor: u64 = 0; // first number not yet covered
    for (&nr, &action) in &table.actions {
        if u64::from(nr) > cursor {
            add(cursor as u32, unknown);
        }
        add(nr, action);
        cursor = u64::from(nr) + 1;
    }
    if table.arch == Arch::X86_64 {
        if cursor < u64::from(X32_SYSCALL_BIT) {
            add(cursor as u32, unknown);
        }
        add(X32_SYSCALL_BIT, Action::Plain(Verdict::Kill));
        add(0x8000_0000, unknown);
    } else if cursor <= u64::from(u32::MAX) {
        add(cursor as u32, unknown);
    }
    out
}

/// A binary search over the segments; leaves return the action. The
/// accumulator holds the syscall number on entry to every node.
fn tree(segs: &[Segment]) -> Vec<libc::sock_filter> {
    match segs {
        [] => vec![stmt(RET_K, Verdict::Errno(libc::ENOSYS as u16).ret())],
        [one] => leaf(one.action),
        _ => {
            let mid = segs.len() / 2;
            let left = tree(&segs[..mid]);
            let right = tree(&segs[mid..]);
            let k = segs[mid].start;
            let mut out = Vec::with_capacity(left.len() + right.len() + 2);
            match u8::try_from(left.len()) {
                Ok(skip) => out.push(jump(JGE_K, k, skip, 0)),
                Err(_) => {
                    // Too far for the 8-bit jt: hop over a 32-bit `ja`.
                    out.push(jump(JGE_K, k, 0, 1));
                    out.push(stmt(JA, u32::try_from(left.len()).unwrap_or(u32::MAX)));
                }
            }
            out.extend(left);
            out.extend(right);
            out
        }
    }
}

/// Returns `f` when fd argument `a` is from `floor` up, `p` otherwise
/// (negative included).
fn fails_if_high_fd(a: u8, floor: u32, f: u32, p: u32) -> Vec<libc::sock_filter> {
    vec![
        stmt(LD_W_ABS, off_arg_lo(u32::from(a))),
        jump(JSET_K, 0x8000_0000, 2, 0),
        jump(JGE_K, floor, 0, 1),
        stmt(RET_K, f),
        stmt(RET_K, p),
    ]
}

fn leaf(action: Action) -> Vec<libc::sock_filter> {
    match action {
        Action::Plain(v) => vec![stmt(RET_K, v.ret())],
        Action::Open { dirfd, flags, changes, beneath, opath, other } => {
            let (b, o) = (beneath.ret(), other.ret());
            let mut v = vec![
                stmt(LD_W_ABS, off_arg_lo(u32::from(flags))),
                // O_PATH: to the `opath` return at the end.
                jump(JSET_K, libc::O_PATH as u32, 0, 1),
                stmt(JA, 0), // patched below
            ];
            match dirfd {
                Some(d) if changes => v.extend([
                    stmt(LD_W_ABS, off_arg_lo(u32::from(d))),
                    jump(JSET_K, super::NOT_NATIVE_DIRFD, 8, 0),
                    jump(JGE_K, super::CHANGE_DIRFDS, 3, 0),
                    // Below the change range: only reads.
                    stmt(LD_W_ABS, off_arg_lo(u32::from(flags))),
                    jump(JSET_K, super::OPEN_WRITE_FLAGS, 5, 0),
                    stmt(RET_K, b),
                    // In it: anything but O_TMPFILE and a directory to read
                    // (the supervisor puts a writable one in the range too).
                    stmt(LD_W_ABS, off_arg_lo(u32::from(flags))),
                    jump(JSET_K, super::O_TMPFILE_BIT, 2, 0),
                    jump(JSET_K, super::OPEN_WRITE_FLAGS, 2, 0),
                    jump(JSET_K, libc::O_DIRECTORY as u32, 0, 1),
                    stmt(RET_K, o),
                    stmt(RET_K, b),
                ]),
                Some(d) => v.extend([
                    jump(JSET_K, super::OPEN_WRITE_FLAGS, 3, 0),
                    stmt(LD_W_ABS, off_arg_lo(u32::from(d))),
                    jump(JSET_K, super::NOT_NATIVE_DIRFD, 1, 0),
                    stmt(RET_K, b),
                ]),
                None => {}
            }
            v.push(stmt(RET_K, o));
            // The `ja` jumps here, past everything after it.
            v[2].k = (v.len() - 3) as u32;
            if let Some(d) = dirfd {
                // O_PATH beneath a real directory fd: native.
                v.extend([
                    stmt(LD_W_ABS, off_arg_lo(u32::from(d))),
                    jump(JSET_K, super::NOT_NATIVE_DIRFD, 1, 0),
                    stmt(RET_K, b),
                ]);
            }
            v.push(stmt(RET_K, opath.ret()));
            v
        }
        Action::Check { rule, pass, fail } => {
            let (p, f) = (pass.ret(), fail.ret());
            match rule {
                ArgRule::CloneFlags => vec![
                    stmt(LD_W_ABS, off_arg_lo(0)),
                    // The denied flags all live in the low 32 bits.
                    jump(JSET_K, (super::CLONE_DENIED_FLAGS & 0xffff_ffff) as u32, 0, 1),
                    stmt(RET_K, f),
                    stmt(RET_K, p),
                ],
                ArgRule::Personality => vec![
                    stmt(LD_W_ABS, off_arg_lo(0)),
                    jump(JEQ_K, 0, 2, 0),
                    jump(JEQ_K, 0xffff_ffff, 1, 0),
                    stmt(RET_K, f),
                    stmt(RET_K, p),
                ],
                ArgRule::PrctlDumpable => vec![
                    stmt(LD_W_ABS, off_arg_lo(0)),
                    jump(JEQ_K, libc::PR_SET_DUMPABLE as u32, 0, 3),
                    stmt(LD_W_ABS, off_arg_lo(1)),
                    jump(JEQ_K, 0, 0, 1),
                    stmt(RET_K, f),
                    stmt(RET_K, p),
                ],
                ArgRule::DirFd(a) => vec![
                    stmt(LD_W_ABS, off_arg_lo(u32::from(a))),
                    jump(JSET_K, super::NOT_NATIVE_DIRFD, 0, 1),
                    stmt(RET_K, f),
                    stmt(RET_K, p),
                ],
                ArgRule::DirFds(a, b) => vec![
                    stmt(LD_W_ABS, off_arg_lo(u32::from(a))),
                    jump(JSET_K, super::NOT_NATIVE_DIRFD, 2, 0),
                    stmt(LD_W_ABS, off_arg_lo(u32::from(b))),
                    jump(JSET_K, super::NOT_NATIVE_DIRFD, 0, 1),
                    stmt(RET_K, f),
                    stmt(RET_K, p),
                ],
                ArgRule::ReadAccessAt(a, m) => vec![
                    stmt(LD_W_ABS, off_arg_lo(u32::from(a))),
                    jump(JSET_K, super::NOT_NATIVE_DIRFD, 2, 0),
                    stmt(LD_W_ABS, off_arg_lo(u32::from(m))),
                    jump(JSET_K, libc::W_OK as u32, 0, 1),
                    stmt(RET_K, f),
                    stmt(RET_K, p),
                ],
                ArgRule::ChangeAt(a) => vec![
                    stmt(LD_W_ABS, off_arg_lo(u32::from(a))),
                    jump(JSET_K, super::NOT_NATIVE_DIRFD, 1, 0),
                    jump(JGE_K, super::CHANGE_DIRFDS, 1, 0),
                    stmt(RET_K, f),
                    stmt(RET_K, p),
                ],
                ArgRule::LowFd(a, floor) => fails_if_high_fd(a, floor, f, p),
                ArgRule::FcntlDup(floor) => {
                    let mut v = vec![
                        stmt(LD_W_ABS, off_arg_lo(1)),
                        jump(JEQ_K, libc::F_DUPFD as u32, 2, 0),
                        jump(JEQ_K, libc::F_DUPFD_CLOEXEC as u32, 1, 0),
                        stmt(RET_K, p),
                    ];
                    v.extend(fails_if_high_fd(0, floor, f, p));
                    v
                }
                ArgRule::NullArg(a) => vec![
                    stmt(LD_W_ABS, off_arg_lo(u32::from(a))),
                    jump(JEQ_K, 0, 0, 2),
                    stmt(LD_W_ABS, off_arg_lo(u32::from(a)) + 4),
                    jump(JEQ_K, 0, 1, 0),
                    stmt(RET_K, f),
                    stmt(RET_K, p),
                ],
                ArgRule::IoctlRequest | ArgRule::IoctlRequestInView => {
                    let denied: &[u32] =
                        if rule == ArgRule::IoctlRequest { &DENIED_IOCTLS } else { &VIEW_DENIED_IOCTLS };
                    let n = denied.len();
                    let mut v = vec![stmt(LD_W_ABS, off_arg_lo(1))];
                    for (i, &req) in denied.iter().enumerate() {
                        // Jump to the `fail` return right after the checks.
                        let to_fail = u8::try_from(n - i).unwrap_or(0);
                        v.push(jump(JEQ_K, req, to_fail, 0));
                    }
                    // Fell through every check: skip the fail return.
                    v.push(stmt(JA, 1));
                    v.push(stmt(RET_K, f));
                    v.push(stmt(RET_K, p));
                    v
                }
            }
        }
    }
}
