//! Decoding raw argument registers into strace-like values.
//!
//! The decoder is meant to run on hostile input: the registers and the guest
//! memory are whatever the traced process made them. It never panics, never
//! reads more guest memory than the options allow (plus one byte to tell
//! whether a string goes on), and never allocates more than that.
//!
//! Values are decoded as they are at syscall *entry*: buffers the kernel is
//! about to fill ([`ArgKind::OutBuf`], out-pointers) are shown as addresses.

use crate::{Arch, ArgKind, Sysno};

mod tables;
mod value;

pub use tables::{errno_description, errno_name, signal_name};
pub use value::Value;

/// Read access to the traced process's memory, supplied by the caller.
pub trait Memory {
    /// Copy up to buf.len() bytes from guest address `addr`; Ok(n) with n < buf.len() on a partial read
    /// that hit an unmapped page; Err(()) when nothing at all is readable.
    #[allow(clippy::result_unit_err)] // the contract other crates implement
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ()>;
}

/// How much guest data to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Bytes of a string or buffer to show before `...` (strace's `-s`).
    pub max_str: usize,
    /// Elements of an array (argv, envp) to show before `...`.
    pub max_array: usize,
}

impl Default for DecodeOptions {
    /// strace's defaults: 32 bytes of strings.
    fn default() -> DecodeOptions {
        DecodeOptions { max_str: 32, max_array: 16 }
    }
}

/// Decodes the arguments of `sysno` as the native arch passes them:
/// one [`Value`] per declared argument (see [`Sysno::args`]).
///
/// With `mem` of `None`, pointers are shown as addresses.
pub fn decode_args(sysno: Sysno, raw: &[u64; 6], mem: Option<&dyn Memory>, opts: &DecodeOptions) -> Vec<Value> {
    decode_args_on(Arch::native(), sysno, raw, mem, opts)
}

/// Like [`decode_args`], for a call made under `arch`'s ABI (argument order
/// and flag values can differ per arch).
pub fn decode_args_on(
    arch: Arch,
    sysno: Sysno,
    raw: &[u64; 6],
    mem: Option<&dyn Memory>,
    opts: &DecodeOptions,
) -> Vec<Value> {
    let cx = Cx { arch, sysno, raw, mem, opts };
    sysno.args_on(arch).iter().enumerate().map(|(i, a)| cx.decode(a.kind, raw[i])).collect()
}

/// `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)`.
///
/// Like strace, the `mode` of `open`/`openat` is left out unless the flags
/// contain `O_CREAT` or `O_TMPFILE` (otherwise the kernel ignores it and the
/// register holds junk).
pub fn format_call(sysno: Sysno, args: &[Value]) -> String {
    let shown = match (sysno, args.get(if sysno == Sysno::open { 1 } else { 2 })) {
        (Sysno::open | Sysno::openat, Some(Value::Flags { names, .. }))
            if !names.iter().any(|n| *n == "O_CREAT" || *n == "O_TMPFILE") =>
        {
            if sysno == Sysno::open {
                2
            } else {
                3
            }
        }
        _ => args.len(),
    };
    let mut s = String::with_capacity(64);
    s.push_str(sysno.name());
    s.push('(');
    for (i, a) in args.iter().take(shown).enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&a.to_string());
    }
    s.push(')');
    s
}

/// `= 3`, or `= -1 ENOENT (No such file or directory)` for the kernel's
/// error range (-4095..=-1), or `= ? ERESTARTSYS (...)` for the restart
/// codes the guest never sees.
pub fn format_return(ret: i64) -> String {
    if (-4095..=-1).contains(&ret) {
        // in range, so the negation fits an i32
        let errno = i32::try_from(-ret).unwrap_or(i32::MAX);
        match (errno_name(errno), errno_description(errno)) {
            (Some(n), Some(d)) if tables::is_restart(errno) => format!("= ? {n} ({d})"),
            (Some(n), Some(d)) => format!("= -1 {n} ({d})"),
            _ => format!("= -1 errno {errno}"),
        }
    } else {
        format!("= {ret}")
    }
}

/// Everything one argument's decoding may look at.
struct Cx<'a> {
    arch: Arch,
    sysno: Sysno,
    raw: &'a [u64; 6],
    mem: Option<&'a dyn Memory>,
    opts: &'a DecodeOptions,
}

/// The low 32 bits, as the kernel sees an `int` argument (the upper half of
/// the register is undefined in both ABIs).
fn int(v: u64) -> i32 {
    v as u32 as i32
}

fn uint(v: u64) -> u64 {
    u64::from(v as u32)
}

fn flags(names: Vec<&'static str>, rest: u64) -> Value {
    Value::Flags { names, rest }
}

fn named_or(name: Option<&'static str>, v: u64, f: impl FnOnce(u64) -> Value) -> Value {
    name.map_or_else(|| f(v), Value::Named)
}

fn ptr(v: u64) -> Value {
    if v == 0 {
        Value::Null
    } else {
        Value::Omitted(v)
    }
}

impl Cx<'_> {
    fn decode(&self, kind: ArgKind, v: u64) -> Value {
        use tables as t;
        match kind {
            ArgKind::Int => Value::Int(i64::from(int(v))),
            ArgKind::UInt => Value::UInt(uint(v)),
            ArgKind::Long | ArgKind::Offset => Value::Int(v as i64),
            ArgKind::ULong | ArgKind::Size => Value::UInt(v),
            ArgKind::Hex => Value::Hex(v),
            ArgKind::Fd => Value::Fd(int(v)),
            ArgKind::DirFd if int(v) == t::AT_FDCWD => Value::AtFdcwd,
            ArgKind::DirFd => Value::Fd(int(v)),
            ArgKind::Pid => Value::Int(i64::from(int(v))),
            ArgKind::Uid | ArgKind::Gid if int(v) == -1 => Value::Int(-1),
            ArgKind::Uid | ArgKind::Gid => Value::UInt(uint(v)),
            ArgKind::Addr => {
                if v == 0 {
                    Value::Null
                } else {
                    Value::Hex(v)
                }
            }
            ArgKind::Ptr | ArgKind::OutBuf { .. } => ptr(v),
            ArgKind::Path | ArgKind::Str => self.string(v),
            ArgKind::InBuf { len } => match self.raw.get(usize::from(len)) {
                Some(&n) => self.buffer(v, n),
                None => ptr(v),
            },
            ArgKind::StrArray => self.str_array(v),
            ArgKind::SockAddr { len } => match self.raw.get(usize::from(len)) {
                Some(&n) => self.sockaddr(v, uint(n)),
                None => ptr(v),
            },
            ArgKind::OpenFlags => {
                let (names, rest) = t::open_flags(self.arch, uint(v));
                flags(names, rest)
            }
            ArgKind::FdFlags => {
                let mut names = Vec::new();
                let rest = t::split_flags(t::open_flag_table(self.arch), uint(v), &mut names);
                flags(names, rest)
            }
            ArgKind::AtFlags => {
                let table = if self.sysno == Sysno::faccessat2 { t::AT_FLAGS_ACCESS } else { t::AT_FLAGS };
                let mut names = Vec::new();
                let rest = t::split_flags(table, uint(v), &mut names);
                flags(names, rest)
            }
            ArgKind::AccessMode => {
                let v = uint(v);
                if v == 0 {
                    return Value::Named("F_OK");
                }
                let mut names = Vec::new();
                let rest = t::split_flags(t::ACCESS_MODE, v, &mut names);
                flags(names, rest)
            }
            ArgKind::Mode => Value::Octal(uint(v)),
            ArgKind::CloneFlags => {
                // clone() uses the low 32 bits; the low byte is the signal
                // sent to the parent when the child exits.
                let v = uint(v);
                let mut names = Vec::new();
                let mut rest = t::split_flags(t::CLONE_FLAGS, v & !t::CSIGNAL, &mut names);
                let sig = v & t::CSIGNAL;
                match signal_name(sig as i32) {
                    Some(s) => names.push(s),
                    None => rest |= sig,
                }
                flags(names, rest)
            }
            ArgKind::NamespaceFlags => {
                let mut names = Vec::new();
                let rest = t::split_flags(t::NAMESPACE_FLAGS, uint(v), &mut names);
                flags(names, rest)
            }
            ArgKind::MmapProt => {
                if v == 0 {
                    return flags(vec!["PROT_NONE"], 0);
                }
                let mut names = Vec::new();
                let rest = t::split_flags(t::prot_table(self.arch), v, &mut names);
                flags(names, rest)
            }
            ArgKind::MmapFlags => {
                let mut names = Vec::new();
                let mut rest = v;
                if let Some(ty) = t::map_type(v) {
                    names.push(ty);
                    rest &= !t::MAP_TYPE;
                }
                let rest = t::split_flags(t::map_flag_table(self.arch), rest, &mut names);
                flags(names, rest)
            }
            ArgKind::Signal => named_or(signal_name(int(v)), v, |v| Value::Int(i64::from(int(v)))),
            ArgKind::FcntlCmd => named_or(t::fcntl_cmd(uint(v)), v, |v| Value::Int(i64::from(int(v)))),
            ArgKind::Whence => named_or(t::whence(uint(v)), v, |v| Value::UInt(uint(v))),
            ArgKind::SocketFamily => named_or(t::family_name(uint(v)), v, |v| Value::Int(i64::from(int(v)))),
            ArgKind::SocketType => {
                let v = uint(v);
                let mut names = Vec::new();
                let mut rest = v;
                if let Some(ty) = t::sock_type(v & t::SOCK_TYPE_MASK) {
                    names.push(ty);
                    rest &= !t::SOCK_TYPE_MASK;
                }
                let rest = t::split_flags(t::SOCK_FLAGS, rest, &mut names);
                flags(names, rest)
            }
            ArgKind::Ioctl => named_or(t::ioctl_name(uint(v)), v, |v| Value::Hex(uint(v))),
            ArgKind::Flags => flags(Vec::new(), v),
        }
    }

    /// A NUL-terminated string at `addr`.
    fn string(&self, addr: u64) -> Value {
        if addr == 0 {
            return Value::Null;
        }
        let Some(mem) = self.mem else {
            return Value::Omitted(addr);
        };
        read_cstr(mem, addr, self.opts.max_str)
    }

    /// `len` bytes at `addr` that the kernel will read.
    fn buffer(&self, addr: u64, len: u64) -> Value {
        if addr == 0 {
            return Value::Null;
        }
        let Some(mem) = self.mem else {
            return Value::Omitted(addr);
        };
        let want = usize::try_from(len).unwrap_or(usize::MAX).min(self.opts.max_str);
        match read_exact(mem, addr, want) {
            Some(bytes) => Value::Str { bytes, truncated: len > want as u64 },
            None => Value::BadAddr(addr),
        }
    }

    /// `char *const argv[]`: pointers up to the terminating NULL.
    fn str_array(&self, addr: u64) -> Value {
        if addr == 0 {
            return Value::Null;
        }
        let Some(mem) = self.mem else {
            return Value::Omitted(addr);
        };
        let mut items = Vec::new();
        for i in 0..=self.opts.max_array {
            let slot = (i as u64).checked_mul(8).and_then(|off| addr.checked_add(off));
            let Some(p) = slot.and_then(|a| read_exact(mem, a, 8)) else {
                // the kernel would fail the whole call with EFAULT
                return Value::BadAddr(addr);
            };
            let p = u64::from_le_bytes(p.try_into().unwrap_or([0; 8]));
            if p == 0 {
                return Value::Array(items, false);
            }
            if i == self.opts.max_array {
                break;
            }
            items.push(read_cstr(mem, p, self.opts.max_str));
        }
        Value::Array(items, true)
    }

    /// A `struct sockaddr` of `len` bytes.
    fn sockaddr(&self, addr: u64, len: u64) -> Value {
        if addr == 0 {
            return Value::Null;
        }
        let Some(mem) = self.mem else {
            return Value::Omitted(addr);
        };
        // sizeof(struct sockaddr_storage): the kernel rejects anything longer
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(128);
        if len < 2 {
            return Value::Omitted(addr);
        }
        let Some(b) = read_exact(mem, addr, len) else {
            return Value::BadAddr(addr);
        };
        decode_sockaddr(&b)
    }
}

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
    Some(if big_endian { u16::from_be_bytes(s) } else { u16::from_le_bytes(s) })
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn text(s: String) -> Value {
    Value::Str { bytes: s.into_bytes(), truncated: false }
}

fn decode_sockaddr(b: &[u8]) -> Value {
    use tables as t;
    let Some(family) = u16_at(b, 0, false) else {
        return Value::Struct(Vec::new());
    };
    let fam = named_or(t::family_name(u64::from(family)), u64::from(family), Value::UInt);
    let mut fields = vec![("sa_family", fam)];
    match family {
        t::AF_UNIX => {
            let path = b.get(2..).unwrap_or_default();
            // abstract socket: leading NUL, name is all remaining bytes
            let shown = if path.first() == Some(&0) {
                let mut v = vec![b'@'];
                v.extend_from_slice(path.get(1..).unwrap_or_default());
                v
            } else {
                path.iter().take_while(|&&c| c != 0).copied().collect()
            };
            fields.push(("sun_path", Value::Str { bytes: shown, truncated: false }));
        }
        t::AF_INET => {
            if let (Some(port), Some(a)) = (u16_at(b, 2, true), b.get(4..8)) {
                fields.push(("sin_port", Value::UInt(u64::from(port))));
                fields.push(("sin_addr", text(format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]))));
            }
        }
        t::AF_INET6 => {
            let addr: Option<[u8; 16]> = b.get(8..24).and_then(|s| s.try_into().ok());
            if let (Some(port), Some(flow), Some(a)) = (u16_at(b, 2, true), u32_at(b, 4), addr) {
                fields.push(("sin6_port", Value::UInt(u64::from(port))));
                fields.push(("sin6_flowinfo", Value::UInt(u64::from(u32::from_be(flow)))));
                fields.push(("sin6_addr", text(std::net::Ipv6Addr::from(a).to_string())));
                if let Some(scope) = u32_at(b, 24) {
                    fields.push(("sin6_scope_id", Value::UInt(u64::from(scope))));
                }
            }
        }
        t::AF_NETLINK => {
            if let (Some(pid), Some(groups)) = (u32_at(b, 4), u32_at(b, 8)) {
                fields.push(("nl_pid", Value::UInt(u64::from(pid))));
                fields.push(("nl_groups", Value::Hex(u64::from(groups))));
            }
        }
        _ => {}
    }
    Value::Struct(fields)
}

/// Reads exactly `len` bytes (in bounded chunks), or `None` if any of them
/// is unreadable.
fn read_exact(mem: &dyn Memory, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while out.len() < len {
        let want = (len - out.len()).min(chunk.len());
        let at = addr.checked_add(out.len() as u64)?;
        let n = match mem.read(at, &mut chunk[..want]) {
            Ok(n) => n.min(want), // never trust the callee's count beyond the slice
            Err(()) => return None,
        };
        out.extend_from_slice(&chunk[..n]);
        if n < want {
            return None;
        }
    }
    Some(out)
}

/// A NUL-terminated string: at most `max` bytes shown, one more read to know
/// whether it is longer. An unterminated string that runs into unreadable
/// memory is a bad address, as the kernel would find.
fn read_cstr(mem: &dyn Memory, addr: u64, max: usize) -> Value {
    let limit = max.saturating_add(1);
    let mut out: Vec<u8> = Vec::new();
    // small first read: most strings are short
    let mut chunk = [0u8; 256];
    loop {
        let want = (limit - out.len()).min(chunk.len());
        let Some(at) = addr.checked_add(out.len() as u64) else {
            return Value::BadAddr(addr);
        };
        let n = match mem.read(at, &mut chunk[..want]) {
            Ok(n) => n.min(want),
            Err(()) => 0,
        };
        let got = &chunk[..n];
        if let Some(nul) = got.iter().position(|&c| c == 0) {
            out.extend_from_slice(&got[..nul]);
            let truncated = out.len() > max;
            out.truncate(max);
            return Value::Str { bytes: out, truncated };
        }
        out.extend_from_slice(got);
        if out.len() >= limit {
            out.truncate(max);
            return Value::Str { bytes: out, truncated: true };
        }
        if n < want {
            return Value::BadAddr(addr);
        }
    }
}
