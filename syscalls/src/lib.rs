//! The facts of the Linux syscall ABI on x86_64 and aarch64, as data.
//!
//! - [`Sysno`]: every syscall name of either arch (the union), as an
//!   exhaustive enum, with its number per [`Arch`] and its argument list
//!   ([`Arg`]: a name and an [`ArgKind`] saying how to show it).
//! - [`decode`]: turns the six raw argument registers of a stopped call into
//!   strace-like text and JSON, reading strings and arrays through a
//!   caller-supplied [`decode::Memory`].
//!
//! Nothing here does I/O or holds an opinion about sandbox policy.
//!
//! The tables are generated: `gen/generate.py` derives `data/*.tsv` from the
//! kernel's own syscall tables and `include/linux/syscalls.h` (Linux 6.18),
//! and `build.rs` turns those files into the code included below. See the
//! headers of the data files for exactly which sources were used.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("condo-syscalls knows the syscall ABI of x86_64 and aarch64 only");

use std::fmt;
use std::str::FromStr;

pub mod decode;

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

/// A syscall ABI this crate knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// x86_64, 64-bit ABI (not x32, not i386).
    X86_64,
    /// aarch64 (arm64), 64-bit ABI.
    Aarch64,
}

impl Arch {
    /// Every arch, in a fixed order.
    pub const ALL: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];

    /// The arch this crate was compiled for.
    pub const fn native() -> Arch {
        #[cfg(target_arch = "x86_64")]
        {
            Arch::X86_64
        }
        #[cfg(target_arch = "aarch64")]
        {
            Arch::Aarch64
        }
    }

    /// The `AUDIT_ARCH_*` value seccomp reports in `seccomp_data.arch`.
    pub const fn audit_arch(self) -> u32 {
        // EM_X86_64 (62) and EM_AARCH64 (183), | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
        match self {
            Arch::X86_64 => 0xC000_003E,
            Arch::Aarch64 => 0xC000_00B7,
        }
    }

    /// The arch whose `AUDIT_ARCH_*` value is `audit_arch`, if it is one of ours.
    pub const fn from_audit_arch(audit_arch: u32) -> Option<Arch> {
        match audit_arch {
            0xC000_003E => Some(Arch::X86_64),
            0xC000_00B7 => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// `"x86_64"` or `"aarch64"`.
    pub const fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// Every syscall of this arch as `(number, syscall)`, sorted by number.
    pub fn syscalls(self) -> &'static [(u32, Sysno)] {
        match self {
            Arch::X86_64 => &X86_64_TABLE,
            Arch::Aarch64 => &AARCH64_TABLE,
        }
    }

    /// The syscall with number `nr` on this arch, in O(1).
    ///
    /// Takes `u64` because that is what the register holds; numbers beyond
    /// the table (including the x32 bit and `-1`) are simply `None`.
    pub fn sysno(self, nr: u64) -> Option<Sysno> {
        let table: &[Option<Sysno>] = match self {
            Arch::X86_64 => &X86_64_BY_NR,
            Arch::Aarch64 => &AARCH64_BY_NR,
        };
        let i = usize::try_from(nr).ok()?;
        table.get(i).copied().flatten()
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Sysno {
    /// Every syscall of either arch, sorted (by name, which is also `Ord`).
    pub const ALL: &'static [Sysno] = &ALL_SYSNOS;

    /// The kernel's name, e.g. `"newfstatat"`.
    pub const fn name(self) -> &'static str {
        SYSNO_NAMES[self as usize]
    }

    /// The syscall called exactly `name` (kernel spelling, lowercase).
    pub fn from_name(name: &str) -> Option<Sysno> {
        const NAMES: &[&str] = &SYSNO_NAMES; // promoted to one static copy
        NAMES.binary_search(&name).ok().map(|i| Sysno::ALL[i])
    }

    /// Its number on `arch`, or `None` if `arch` does not have it
    /// (e.g. `open` on aarch64).
    pub fn nr(self, arch: Arch) -> Option<u32> {
        let nr = match arch {
            Arch::X86_64 => X86_64_NR_OF[self as usize],
            Arch::Aarch64 => AARCH64_NR_OF[self as usize],
        };
        (nr != u16::MAX).then_some(u32::from(nr))
    }

    /// Its declared arguments on the native arch (see [`Sysno::args_on`]).
    pub fn args(self) -> &'static [Arg] {
        self.args_on(Arch::native())
    }

    /// Its declared arguments on `arch`, in register order.
    ///
    /// Almost always the same on both arches; the exceptions are real ABI
    /// differences, e.g. `clone` takes `tls` before `child_tidptr` on aarch64.
    /// Reserved numbers without an implementation (`tuxcall`, ...) have none.
    pub fn args_on(self, arch: Arch) -> &'static [Arg] {
        arch_args(arch, self).unwrap_or(ARGS[self as usize])
    }
}

impl fmt::Display for Sysno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`Sysno`] from a name no arch has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownSyscall {
    /// The name that was given.
    pub name: String,
    /// The closest real name by edit distance, if one is close enough to be
    /// a plausible typo.
    pub suggestion: Option<&'static str>,
}

impl fmt::Display for UnknownSyscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown syscall `{}`", self.name)?;
        if let Some(s) = self.suggestion {
            write!(f, "; did you mean `{s}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownSyscall {}

impl FromStr for Sysno {
    type Err = UnknownSyscall;

    fn from_str(s: &str) -> Result<Sysno, UnknownSyscall> {
        Sysno::from_name(s).ok_or_else(|| UnknownSyscall { name: s.to_string(), suggestion: suggest(s) })
    }
}

/// The nearest syscall name to `s`, if within a typo's reach.
fn suggest(s: &str) -> Option<&'static str> {
    // Policy files are written by people: compare case-insensitively and
    // accept roughly one edit per three characters, at least two.
    let lower = s.to_ascii_lowercase();
    let budget = (lower.chars().count() / 3).max(2);
    Sysno::ALL
        .iter()
        .map(|s| s.name())
        .map(|n| (edit_distance(&lower, n), n))
        .filter(|(d, _)| *d <= budget)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// One declared argument of a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arg {
    /// The kernel's parameter name (`filename`, `flags`, ...).
    pub name: &'static str,
    /// How the value is to be understood and shown.
    pub kind: ArgKind,
}

/// What an argument register holds, as far as showing it is concerned.
///
/// Buffer kinds carry `len`: the index (0..6) of the argument that holds the
/// buffer's length. Integer kinds that the C prototype declares as `int` use
/// only the low 32 bits of the register, as the kernel does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgKind {
    /// `int`.
    Int,
    /// `unsigned int`.
    UInt,
    /// `long`.
    Long,
    /// `unsigned long`.
    ULong,
    /// `size_t` or another length/count.
    Size,
    /// A number best shown in hex (magic values, cookies).
    Hex,
    /// A file descriptor.
    Fd,
    /// A directory file descriptor for `*at()` calls; shows `AT_FDCWD`.
    DirFd,
    /// `const char *` holding a NUL-terminated path.
    Path,
    /// Another NUL-terminated string (xattr name, key type, ...).
    Str,
    /// A buffer the kernel reads; `len` is the index of its length argument.
    InBuf {
        /// Index of the length argument.
        len: u8,
    },
    /// A buffer the kernel writes; at syscall entry it holds nothing yet.
    OutBuf {
        /// Index of the length argument.
        len: u8,
    },
    /// Any other pointer (a struct, an int out-parameter, ...).
    Ptr,
    /// `char *const argv[]`: NULL-terminated array of strings.
    StrArray,
    /// `O_*` open flags, access mode included.
    OpenFlags,
    /// Flags made only of `O_CLOEXEC`/`O_NONBLOCK`-valued bits (`pipe2`,
    /// `dup3`, `eventfd2`, ...): `O_*` names without an access mode.
    FdFlags,
    /// `AT_*` flags.
    AtFlags,
    /// `access()` mode: `F_OK` or `R_OK|W_OK|X_OK`.
    AccessMode,
    /// `mode_t` permission bits, shown in octal.
    Mode,
    /// `clone()` flags; the low byte is the exit signal.
    CloneFlags,
    /// `CLONE_NEW*` namespace flags of `unshare()`/`setns()`.
    NamespaceFlags,
    /// `PROT_*`.
    MmapProt,
    /// `MAP_*`.
    MmapFlags,
    /// A signal number.
    Signal,
    /// An `fcntl()` command.
    FcntlCmd,
    /// `lseek()` whence.
    Whence,
    /// A socket address; `len` is the index of its length argument.
    SockAddr {
        /// Index of the length argument.
        len: u8,
    },
    /// `AF_*` address family.
    SocketFamily,
    /// `SOCK_*` socket type and its flags.
    SocketType,
    /// A process or thread id.
    Pid,
    /// A user id.
    Uid,
    /// A group id.
    Gid,
    /// A file offset (`loff_t`/`off_t`).
    Offset,
    /// An address in the guest that is not dereferenced (`mmap` hint, `brk`).
    Addr,
    /// An `ioctl()` request.
    Ioctl,
    /// Any other flag word, shown in hex.
    Flags,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &s in Sysno::ALL {
            assert_eq!(Sysno::from_name(s.name()), Some(s));
            assert_eq!(s.name().parse::<Sysno>(), Ok(s));
            assert_eq!(s.to_string(), s.name());
        }
        assert_eq!(Sysno::from_name("nope"), None);
    }

    #[test]
    fn all_is_sorted_by_name_and_ord() {
        for w in Sysno::ALL.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].name() < w[1].name());
        }
    }

    #[test]
    fn suggestions() {
        let e = "opn".parse::<Sysno>().unwrap_err();
        assert_eq!(e.name, "opn");
        assert_eq!(e.suggestion, Some("open"));
        assert_eq!(e.to_string(), "unknown syscall `opn`; did you mean `open`?");
        assert_eq!("OPENAT".parse::<Sysno>().unwrap_err().suggestion, Some("openat"));
        assert_eq!("newfstatatt".parse::<Sysno>().unwrap_err().suggestion, Some("newfstatat"));
        assert_eq!("xyzzy_frobnicate".parse::<Sysno>().unwrap_err().suggestion, None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn audit_arch_round_trips() {
        for a in Arch::ALL {
            assert_eq!(Arch::from_audit_arch(a.audit_arch()), Some(a));
        }
        assert_eq!(Arch::from_audit_arch(0x4000_0003), None); // i386
    }

    #[test]
    fn sysno_lookup_out_of_range() {
        for a in Arch::ALL {
            assert_eq!(a.sysno(u64::MAX), None);
            assert_eq!(a.sysno(100_000), None);
            assert_eq!(a.sysno(0x4000_0000), None); // __X32_SYSCALL_BIT
        }
        assert_eq!(Arch::X86_64.sysno(400), None); // gap 335..424
    }

    #[test]
    fn signatures_are_consistent() {
        for a in Arch::ALL {
            for &s in Sysno::ALL {
                let args = s.args_on(a);
                assert!(args.len() <= 6, "{s}");
                for (i, arg) in args.iter().enumerate() {
                    if let ArgKind::InBuf { len } | ArgKind::OutBuf { len } | ArgKind::SockAddr { len } = arg.kind {
                        let len = usize::from(len);
                        assert!(len < args.len() && len != i, "{s}: {arg:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn known_signatures() {
        use ArgKind::*;
        let kinds = |s: Sysno, a: Arch| s.args_on(a).iter().map(|a| a.kind).collect::<Vec<_>>();
        for a in Arch::ALL {
            assert_eq!(kinds(Sysno::openat, a), [DirFd, Path, OpenFlags, Mode]);
            assert_eq!(kinds(Sysno::read, a), [Fd, OutBuf { len: 2 }, Size]);
            assert_eq!(kinds(Sysno::write, a), [Fd, InBuf { len: 2 }, Size]);
            assert_eq!(kinds(Sysno::execve, a), [Path, StrArray, StrArray]);
            assert_eq!(kinds(Sysno::mmap, a), [Addr, Size, MmapProt, MmapFlags, Fd, Offset]);
            assert_eq!(kinds(Sysno::connect, a), [Fd, SockAddr { len: 2 }, Int]);
            assert_eq!(kinds(Sysno::kill, a), [Pid, Signal]);
        }
        let names = |a: Arch| Sysno::clone.args_on(a).iter().map(|a| a.name).collect::<Vec<_>>();
        assert_eq!(names(Arch::X86_64), ["clone_flags", "newsp", "parent_tidptr", "child_tidptr", "tls"]);
        assert_eq!(names(Arch::Aarch64), ["clone_flags", "newsp", "parent_tidptr", "tls", "child_tidptr"]);
        assert!(Sysno::tuxcall.args().is_empty());
        assert!(Sysno::getpid.args().is_empty());
    }
}
