//! Golden tests of the decoder (exact strace-like text and JSON) and
//! properties: no input makes it panic, and its JSON always parses.

use std::cell::Cell;

use condo_syscalls::decode::{
    decode_args, decode_args_on, errno_description, errno_name, format_call, format_return, signal_name, DecodeOptions,
    Memory, Value,
};
use condo_syscalls::{Arch, Sysno};
use proptest::prelude::*;

/// A guest address space of a few mapped regions; everything else faults.
/// Counts the bytes it hands out, to prove the decoder reads little.
#[derive(Default)]
struct FakeMem {
    regions: Vec<(u64, Vec<u8>)>,
    bytes_read: Cell<usize>,
}

impl FakeMem {
    fn new() -> FakeMem {
        FakeMem::default()
    }

    fn map(mut self, base: u64, bytes: &[u8]) -> FakeMem {
        self.regions.push((base, bytes.to_vec()));
        self
    }

    /// A NUL-terminated string at `base`.
    fn cstr(self, base: u64, s: &str) -> FakeMem {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.map(base, &b)
    }

    /// An array of little-endian pointers at `base`.
    fn ptrs(self, base: u64, ptrs: &[u64]) -> FakeMem {
        let b: Vec<u8> = ptrs.iter().flat_map(|p| p.to_le_bytes()).collect();
        self.map(base, &b)
    }
}

impl Memory for FakeMem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ()> {
        for (base, bytes) in &self.regions {
            let Some(off) = addr.checked_sub(*base) else {
                continue;
            };
            let Ok(off) = usize::try_from(off) else {
                continue;
            };
            if off < bytes.len() {
                let n = buf.len().min(bytes.len() - off);
                buf[..n].copy_from_slice(&bytes[off..off + n]);
                self.bytes_read.set(self.bytes_read.get() + n);
                return if n == 0 { Err(()) } else { Ok(n) };
            }
        }
        Err(())
    }
}

const X86: Arch = Arch::X86_64;
const ARM: Arch = Arch::Aarch64;

fn call_on(arch: Arch, s: Sysno, raw: [u64; 6], mem: &FakeMem) -> String {
    call_opts(arch, s, raw, mem, &DecodeOptions::default())
}

fn call_opts(arch: Arch, s: Sysno, raw: [u64; 6], mem: &FakeMem, opts: &DecodeOptions) -> String {
    let args = decode_args_on(arch, s, &raw, Some(mem), opts);
    assert_eq!(args.len(), s.args_on(arch).len());
    format_call(s, &args)
}

fn json(values: &[Value]) -> String {
    let mut out = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        v.write_json(&mut out);
    }
    out.push(']');
    out
}

const AT_FDCWD: u64 = -100i64 as u64;
const P: u64 = 0x7ffd_1000; // where test strings live

#[test]
fn openat() {
    let mem = FakeMem::new().cstr(P, "/etc/passwd");
    let raw = [AT_FDCWD, P, 0o2000000, 0xdead, 0, 0];
    assert_eq!(call_on(X86, Sysno::openat, raw, &mem), r#"openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)"#);
    // mode shown only with O_CREAT
    let raw = [5, P, 0o1101, 0o644, 0, 0];
    assert_eq!(call_on(X86, Sysno::openat, raw, &mem), r#"openat(5, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0644)"#);
    // JSON keeps every declared argument
    let args =
        decode_args_on(X86, Sysno::openat, &[AT_FDCWD, P, 0o2000000, 0, 0, 0], Some(&mem), &DecodeOptions::default());
    assert_eq!(json(&args), r#"["AT_FDCWD","/etc/passwd","O_RDONLY|O_CLOEXEC","000"]"#);
}

#[test]
fn open_flags_differ_per_arch() {
    let mem = FakeMem::new().cstr(P, "d");
    let raw = [AT_FDCWD, P, 0o40000 | 0o2000000, 0, 0, 0];
    assert_eq!(call_on(X86, Sysno::openat, raw, &mem), r#"openat(AT_FDCWD, "d", O_RDONLY|O_DIRECT|O_CLOEXEC)"#);
    assert_eq!(call_on(ARM, Sysno::openat, raw, &mem), r#"openat(AT_FDCWD, "d", O_RDONLY|O_DIRECTORY|O_CLOEXEC)"#);
    // unknown bits and the invalid access mode 3 go to the hex rest
    let raw = [AT_FDCWD, P, 0x8000_0003, 0, 0, 0];
    assert_eq!(call_on(X86, Sysno::openat, raw, &mem), r#"openat(AT_FDCWD, "d", 0x80000003)"#);
    let raw = [AT_FDCWD, P, 0o20200000 | 2, 0o600, 0, 0];
    assert_eq!(call_on(X86, Sysno::openat, raw, &mem), r#"openat(AT_FDCWD, "d", O_RDWR|O_TMPFILE, 0600)"#);
}

#[test]
fn execve_argv_array() {
    let (argv, envp) = (0x5000, 0x6000);
    let mem = FakeMem::new()
        .cstr(P, "/bin/ls")
        .cstr(P + 0x100, "ls")
        .cstr(P + 0x200, "-l")
        .cstr(P + 0x300, "PATH=/bin")
        .ptrs(argv, &[P + 0x100, P + 0x200, 0])
        .ptrs(envp, &[P + 0x300, 0]);
    let raw = [P, argv, envp, 0, 0, 0];
    assert_eq!(call_on(X86, Sysno::execve, raw, &mem), r#"execve("/bin/ls", ["ls", "-l"], ["PATH=/bin"])"#);
    let args = decode_args_on(X86, Sysno::execve, &raw, Some(&mem), &DecodeOptions::default());
    assert_eq!(json(&args), r#"["/bin/ls",["ls","-l"],["PATH=/bin"]]"#);

    // cut at max_array
    let opts = DecodeOptions { max_array: 1, ..DecodeOptions::default() };
    assert_eq!(call_opts(X86, Sysno::execve, raw, &mem, &opts), r#"execve("/bin/ls", ["ls", ...], ["PATH=/bin"])"#);
    let args = decode_args_on(X86, Sysno::execve, &raw, Some(&mem), &opts);
    assert_eq!(json(&args), r#"["/bin/ls",["ls","..."],["PATH=/bin"]]"#);

    // empty argv, NULL envp, and an argv element pointing nowhere
    let mem = mem.ptrs(0x7000, &[0]).ptrs(0x8000, &[P + 0x100, 0xbad0_0000, 0]);
    assert_eq!(call_on(X86, Sysno::execve, [P, 0x7000, 0, 0, 0, 0], &mem), r#"execve("/bin/ls", [], NULL)"#);
    assert_eq!(
        call_on(X86, Sysno::execve, [P, 0x8000, 0, 0, 0, 0], &mem),
        r#"execve("/bin/ls", ["ls", 0xbad00000], NULL)"#
    );
    // the pointer array itself unreadable, or running off the mapping
    assert_eq!(call_on(X86, Sysno::execve, [P, 0x9000, 0, 0, 0, 0], &mem), r#"execve("/bin/ls", 0x9000, NULL)"#);
    let mem = mem.ptrs(0xa000, &[P + 0x100]);
    assert_eq!(
        call_on(X86, Sysno::execve, [P, argv + 8, 0xa000, 0, 0, 0], &mem),
        r#"execve("/bin/ls", ["-l"], 0xa000)"#
    );
}

#[test]
fn mmap() {
    let mem = FakeMem::new();
    let raw = [0, 4096, 3, 0x22, u64::MAX, 0];
    assert_eq!(
        call_on(X86, Sysno::mmap, raw, &mem),
        "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)"
    );
    let raw = [0x7f00_0000_0000, 8192, 0, 0x100012, 3, 4096];
    assert_eq!(
        call_on(X86, Sysno::mmap, raw, &mem),
        "mmap(0x7f0000000000, 8192, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_FIXED_NOREPLACE, 3, 4096)"
    );
    // MAP_32BIT is x86-only; on arm64 the bit is unknown
    let raw = [0, 4096, 5, 0x62, u64::MAX, 0];
    assert_eq!(
        call_on(X86, Sysno::mmap, raw, &mem),
        "mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT, -1, 0)"
    );
    assert_eq!(
        call_on(ARM, Sysno::mmap, raw, &mem),
        "mmap(NULL, 4096, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS|0x40, -1, 0)"
    );
}

#[test]
fn clone_flags() {
    let mem = FakeMem::new();
    // glibc pthread_create
    let flags = 0x3d0f00;
    let raw = [flags, 0x7f00_0000_1000, 0x7f00_0000_2000, 0x7f00_0000_2000, 0x7f00_0000_3000, 0];
    assert_eq!(
        call_on(X86, Sysno::clone, raw, &mem),
        "clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|\
         CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, 0x7f0000001000, 0x7f0000002000, 0x7f0000002000, 0x7f0000003000)"
    );
    // glibc fork(): exit signal in the low byte
    let raw = [0x1200011, 0, 0, 0x7f00_0000_2000, 0, 0];
    assert_eq!(
        call_on(X86, Sysno::clone, raw, &mem),
        "clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, NULL, NULL, 0x7f0000002000, NULL)"
    );
    // arm64 passes tls before child_tidptr
    let raw = [0x1200011, 0, 0, 0, 0x7f00_0000_2000, 0];
    assert_eq!(
        call_on(ARM, Sysno::clone, raw, &mem),
        "clone(CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, NULL, NULL, NULL, 0x7f0000002000)"
    );
    // upper register half is not part of clone's flags; unknown signal byte stays numeric
    assert_eq!(
        call_on(X86, Sysno::clone, [0xffff_0000_0000_00ff, 0, 0, 0, 0, 0], &mem),
        "clone(0xff, NULL, NULL, NULL, NULL)"
    );
    assert_eq!(
        call_on(X86, Sysno::unshare, [0x1002_0080, 0, 0, 0, 0, 0], &mem),
        "unshare(CLONE_NEWTIME|CLONE_NEWNS|CLONE_NEWUSER)"
    );
}

#[test]
fn bad_address() {
    let mem = FakeMem::new();
    let raw = [AT_FDCWD, 0xdead_0000, 0, 0, 0, 0];
    assert_eq!(call_on(X86, Sysno::openat, raw, &mem), "openat(AT_FDCWD, 0xdead0000, O_RDONLY)");
    let args = decode_args_on(X86, Sysno::openat, &raw, Some(&mem), &DecodeOptions::default());
    assert_eq!(args[1], Value::BadAddr(0xdead_0000));
    assert_eq!(json(&args), r#"["AT_FDCWD","0xdead0000","O_RDONLY","000"]"#);
    // NULL is not a bad address, it is NULL
    assert_eq!(call_on(X86, Sysno::chdir, [0; 6], &mem), "chdir(NULL)");
    // a buffer the kernel would read, not mapped
    assert_eq!(call_on(X86, Sysno::write, [1, 0x1234, 5, 0, 0, 0], &mem), "write(1, 0x1234, 5)");
    // addresses at the very top do not overflow
    assert_eq!(call_on(X86, Sysno::chdir, [u64::MAX, 0, 0, 0, 0, 0], &mem), "chdir(0xffffffffffffffff)");
}

#[test]
fn unterminated_string_hitting_a_fault() {
    // "/tmp/abc" runs into the end of the mapping with no NUL: the kernel
    // would return EFAULT, so it is shown as a bad address...
    let mem = FakeMem::new().map(P, b"/tmp/abc");
    assert_eq!(call_on(X86, Sysno::unlink, [P, 0, 0, 0, 0, 0], &mem), "unlink(0x7ffd1000)");
    assert_eq!(
        decode_args_on(X86, Sysno::unlink, &[P + 3, 0, 0, 0, 0, 0], Some(&mem), &DecodeOptions::default()),
        [Value::BadAddr(P + 3)]
    );
    // ...unless what was readable already exceeds max_str
    let opts = DecodeOptions { max_str: 4, ..DecodeOptions::default() };
    assert_eq!(call_opts(X86, Sysno::unlink, [P, 0, 0, 0, 0, 0], &mem, &opts), r#"unlink("/tmp"...)"#);
    // a string ending exactly at max_str is not truncated
    let mem = FakeMem::new().cstr(P, "abcd");
    assert_eq!(call_opts(X86, Sysno::unlink, [P, 0, 0, 0, 0, 0], &mem, &opts), r#"unlink("abcd")"#);
    let opts = DecodeOptions { max_str: 0, ..DecodeOptions::default() };
    assert_eq!(call_opts(X86, Sysno::unlink, [P, 0, 0, 0, 0, 0], &mem, &opts), r#"unlink(""...)"#);
}

#[test]
fn huge_string_is_truncated_without_reading_it() {
    let mut big = vec![b'A'; 1 << 20];
    big.push(0);
    let mem = FakeMem::new().map(P, &big);
    assert_eq!(call_on(X86, Sysno::chdir, [P, 0, 0, 0, 0, 0], &mem), format!("chdir(\"{}\"...)", "A".repeat(32)));
    assert!(mem.bytes_read.get() <= 4096, "read {} bytes", mem.bytes_read.get());
    // the same through a buffer argument with a 1 MiB length
    mem.bytes_read.set(0);
    let args = decode_args_on(X86, Sysno::write, &[1, P, 1 << 20, 0, 0, 0], Some(&mem), &DecodeOptions::default());
    assert_eq!(args[1], Value::Str { bytes: vec![b'A'; 32], truncated: true });
    assert_eq!(mem.bytes_read.get(), 32);
    assert_eq!(json(&args), format!("[1,\"{}...\",1048576]", "A".repeat(32)));
}

#[test]
fn buffers_in_and_out() {
    let mem = FakeMem::new().map(P, b"hello\n\x00\xff");
    assert_eq!(call_on(X86, Sysno::write, [1, P, 6, 0, 0, 0], &mem), r#"write(1, "hello\n", 6)"#);
    assert_eq!(call_on(X86, Sysno::write, [1, P, 8, 0, 0, 0], &mem), r#"write(1, "hello\n\x00\xff", 8)"#);
    let args = decode_args_on(X86, Sysno::write, &[1, P, 8, 0, 0, 0], Some(&mem), &DecodeOptions::default());
    assert_eq!(json(&args), r#"[1,"hello\n\u0000\u00ff",8]"#);
    // the kernel has not written the read buffer yet at entry
    assert_eq!(call_on(X86, Sysno::read, [3, P, 4096, 0, 0, 0], &mem), "read(3, 0x7ffd1000, 4096)");
    // partially mapped input buffer: the kernel would fault
    assert_eq!(call_on(X86, Sysno::write, [1, P, 9, 0, 0, 0], &mem), "write(1, 0x7ffd1000, 9)");
}

#[test]
fn sockets() {
    let mut inet = vec![2, 0, 0, 80, 127, 0, 0, 1];
    inet.extend([0; 8]);
    let mut unix = vec![1, 0];
    unix.extend(b"/run/x.sock\0");
    let mut abs = vec![1, 0, 0];
    abs.extend(b"abs");
    let mut inet6 = vec![10, 0, 0x01, 0xbb, 0, 0, 0, 0];
    inet6.extend(std::net::Ipv6Addr::LOCALHOST.octets());
    inet6.extend([0; 4]);
    let mem = FakeMem::new().map(0x1000, &inet).map(0x2000, &unix).map(0x3000, &abs).map(0x4000, &inet6);
    assert_eq!(
        call_on(X86, Sysno::connect, [3, 0x1000, 16, 0, 0, 0], &mem),
        r#"connect(3, {sa_family=AF_INET, sin_port=80, sin_addr="127.0.0.1"}, 16)"#
    );
    assert_eq!(
        call_on(X86, Sysno::bind, [3, 0x2000, unix.len() as u64, 0, 0, 0], &mem),
        r#"bind(3, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 14)"#
    );
    assert_eq!(
        call_on(X86, Sysno::bind, [3, 0x3000, 6, 0, 0, 0], &mem),
        r#"bind(3, {sa_family=AF_UNIX, sun_path="@abs"}, 6)"#
    );
    assert_eq!(
        call_on(X86, Sysno::connect, [3, 0x4000, 28, 0, 0, 0], &mem),
        r#"connect(3, {sa_family=AF_INET6, sin6_port=443, sin6_flowinfo=0, sin6_addr="::1", sin6_scope_id=0}, 28)"#
    );
    let args = decode_args_on(X86, Sysno::connect, &[3, 0x1000, 16, 0, 0, 0], Some(&mem), &DecodeOptions::default());
    assert_eq!(json(&args), r#"[3,{"sa_family":"AF_INET","sin_port":80,"sin_addr":"127.0.0.1"},16]"#);
    // a length longer than the mapping
    assert_eq!(call_on(X86, Sysno::connect, [3, 0x1000, 110, 0, 0, 0], &mem), "connect(3, 0x1000, 110)");
    assert_eq!(
        call_on(X86, Sysno::socket, [2, 1 | 0o2000000, 0, 0, 0, 0], &mem),
        "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0)"
    );
    assert_eq!(call_on(X86, Sysno::socket, [99, 99, 0, 0, 0, 0], &mem), "socket(99, SOCK_RAW|0x60, 0)");
    assert_eq!(
        call_on(X86, Sysno::sendto, [3, 0x2000, 4, 0, 0x1000, 16], &mem),
        r#"sendto(3, "\x01\x00/r", 4, 0, {sa_family=AF_INET, sin_port=80, sin_addr="127.0.0.1"}, 16)"#
    );
}

#[test]
fn named_constants() {
    let mem = FakeMem::new().cstr(P, "/x");
    assert_eq!(call_on(X86, Sysno::kill, [123, 15, 0, 0, 0, 0], &mem), "kill(123, SIGTERM)");
    assert_eq!(call_on(X86, Sysno::kill, [u64::MAX, 0, 0, 0, 0, 0], &mem), "kill(-1, 0)");
    assert_eq!(call_on(X86, Sysno::tgkill, [1, 2, 34, 0, 0, 0], &mem), "tgkill(1, 2, SIGRTMIN+2)");
    assert_eq!(call_on(X86, Sysno::lseek, [3, 0, 2, 0, 0, 0], &mem), "lseek(3, 0, SEEK_END)");
    assert_eq!(call_on(X86, Sysno::lseek, [3, -5i64 as u64, 9, 0, 0, 0], &mem), "lseek(3, -5, 9)");
    assert_eq!(call_on(X86, Sysno::fcntl, [3, 2, 1, 0, 0, 0], &mem), "fcntl(3, F_SETFD, 1)");
    assert_eq!(call_on(X86, Sysno::fcntl, [3, 1030, 3, 0, 0, 0], &mem), "fcntl(3, F_DUPFD_CLOEXEC, 3)");
    assert_eq!(call_on(X86, Sysno::ioctl, [1, 0x5413, P, 0, 0, 0], &mem), "ioctl(1, TIOCGWINSZ, 2147291136)");
    assert_eq!(call_on(X86, Sysno::mkdir, [P, 0o755, 0, 0, 0, 0], &mem), r#"mkdir("/x", 0755)"#);
    assert_eq!(
        call_on(X86, Sysno::unlinkat, [AT_FDCWD, P, 0x200, 0, 0, 0], &mem),
        r#"unlinkat(AT_FDCWD, "/x", AT_REMOVEDIR)"#
    );
    assert_eq!(
        call_on(X86, Sysno::faccessat2, [AT_FDCWD, P, 4 | 2, 0x200, 0, 0], &mem),
        r#"faccessat2(AT_FDCWD, "/x", R_OK|W_OK, AT_EACCESS)"#
    );
    assert_eq!(call_on(X86, Sysno::access, [P, 0, 0, 0, 0, 0], &mem), r#"access("/x", F_OK)"#);
    assert_eq!(
        call_on(X86, Sysno::newfstatat, [AT_FDCWD, P, 0x7000, 0x1100, 0, 0], &mem),
        r#"newfstatat(AT_FDCWD, "/x", 0x7000, AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH)"#
    );
    assert_eq!(
        call_on(X86, Sysno::pipe2, [0x7000, 0o2004000, 0, 0, 0, 0], &mem),
        "pipe2(0x7000, O_NONBLOCK|O_CLOEXEC)"
    );
    assert_eq!(call_on(X86, Sysno::setuid, [u64::from(u32::MAX), 0, 0, 0, 0, 0], &mem), "setuid(-1)");
    assert_eq!(
        call_on(X86, Sysno::rt_sigaction, [2, 0x7000, 0, 8, 0, 0], &mem),
        "rt_sigaction(SIGINT, 0x7000, NULL, 8)"
    );
    assert_eq!(call_on(X86, Sysno::getpid, [1, 2, 3, 4, 5, 6], &mem), "getpid()");
    assert_eq!(call_on(X86, Sysno::exit_group, [0xffff_ffff_0000_0001, 0, 0, 0, 0, 0], &mem), "exit_group(1)");
}

#[test]
fn without_memory_pointers_are_addresses() {
    let args = decode_args(Sysno::openat, &[AT_FDCWD, P, 0, 0, 0, 0], None, &DecodeOptions::default());
    assert_eq!(format_call(Sysno::openat, &args), "openat(AT_FDCWD, 0x7ffd1000, O_RDONLY)");
    let args = decode_args(Sysno::execve, &[P, P, 0, 0, 0, 0], None, &DecodeOptions::default());
    assert_eq!(format_call(Sysno::execve, &args), "execve(0x7ffd1000, 0x7ffd1000, NULL)");
}

#[test]
fn returns_and_names() {
    assert_eq!(format_return(3), "= 3");
    assert_eq!(format_return(0), "= 0");
    assert_eq!(format_return(-2), "= -1 ENOENT (No such file or directory)");
    assert_eq!(format_return(-4095), "= -1 errno 4095");
    assert_eq!(format_return(-4096), "= -4096");
    assert_eq!(format_return(-512), "= ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
    assert_eq!(format_return(i64::MIN), format!("= {}", i64::MIN));
    assert_eq!(errno_name(2), Some("ENOENT"));
    assert_eq!(errno_description(13), Some("Permission denied"));
    assert_eq!(errno_name(0), None);
    assert_eq!(errno_name(-1), None);
    assert_eq!(signal_name(2), Some("SIGINT"));
    assert_eq!(signal_name(0), None);
    assert_eq!(signal_name(64), Some("SIGRTMAX"));
    assert_eq!(signal_name(65), None);
    assert_eq!(signal_name(i32::MIN), None);
}

#[test]
fn errno_and_signal_values_match_libc() {
    let errnos = [
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::EINTR, "EINTR"),
        (libc::EBADF, "EBADF"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EACCES, "EACCES"),
        (libc::EFAULT, "EFAULT"),
        (libc::EEXIST, "EEXIST"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::EINVAL, "EINVAL"),
        (libc::EMFILE, "EMFILE"),
        (libc::ENOTTY, "ENOTTY"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EPIPE, "EPIPE"),
        (libc::ERANGE, "ERANGE"),
        (libc::ENAMETOOLONG, "ENAMETOOLONG"),
        (libc::ENOSYS, "ENOSYS"),
        (libc::ENOTEMPTY, "ENOTEMPTY"),
        (libc::ELOOP, "ELOOP"),
        (libc::ENODATA, "ENODATA"),
        (libc::EOVERFLOW, "EOVERFLOW"),
        (libc::EILSEQ, "EILSEQ"),
        (libc::ENOTSOCK, "ENOTSOCK"),
        (libc::EOPNOTSUPP, "EOPNOTSUPP"),
        (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
        (libc::EADDRINUSE, "EADDRINUSE"),
        (libc::ECONNREFUSED, "ECONNREFUSED"),
        (libc::ETIMEDOUT, "ETIMEDOUT"),
        (libc::EINPROGRESS, "EINPROGRESS"),
        (libc::ESTALE, "ESTALE"),
        (libc::EDQUOT, "EDQUOT"),
        (libc::ECANCELED, "ECANCELED"),
        (libc::EOWNERDEAD, "EOWNERDEAD"),
        (libc::ENOTRECOVERABLE, "ENOTRECOVERABLE"),
        (libc::EHWPOISON, "EHWPOISON"),
    ];
    for (v, n) in errnos {
        assert_eq!(errno_name(v), Some(n));
        assert!(errno_description(v).is_some());
    }
    let signals = [
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGKILL, "SIGKILL"),
        (libc::SIGSEGV, "SIGSEGV"),
        (libc::SIGCHLD, "SIGCHLD"),
        (libc::SIGSTKFLT, "SIGSTKFLT"),
        (libc::SIGCONT, "SIGCONT"),
        (libc::SIGSTOP, "SIGSTOP"),
        (libc::SIGPWR, "SIGPWR"),
        (libc::SIGSYS, "SIGSYS"),
        (libc::SIGWINCH, "SIGWINCH"),
        (libc::SIGIO, "SIGIO"),
        (libc::SIGURG, "SIGURG"),
    ];
    for (v, n) in signals {
        assert_eq!(signal_name(v), Some(n));
    }
    // the flag values the decoder hard-codes, against the native libc
    let mem = FakeMem::new();
    let show = |s: Sysno, raw: [u64; 6]| call_on(Arch::native(), s, raw, &mem);
    let o = |f: i32| f as u32 as u64;
    for (flag, name) in [
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_DIRECT, "O_DIRECT"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_PATH, "O_PATH"),
        (libc::O_NOATIME, "O_NOATIME"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_DSYNC, "O_DSYNC"),
        (libc::O_SYNC, "O_SYNC"),
        (libc::O_TMPFILE, "O_TMPFILE"),
    ] {
        assert!(show(Sysno::openat, [AT_FDCWD, 0, o(flag), 0, 0, 0]).contains(&format!("O_RDONLY|{name}")), "{name}");
    }
    for (flag, name) in [
        (libc::CLONE_NEWUSER, "CLONE_NEWUSER"),
        (libc::CLONE_NEWPID, "CLONE_NEWPID"),
        (libc::CLONE_NEWNET, "CLONE_NEWNET"),
        (libc::CLONE_NEWCGROUP, "CLONE_NEWCGROUP"),
        (libc::CLONE_NEWTIME, "CLONE_NEWTIME"),
    ] {
        assert_eq!(show(Sysno::unshare, [o(flag), 0, 0, 0, 0, 0]), format!("unshare({name})"));
    }
    for (flag, name) in [
        (libc::MAP_STACK, "MAP_STACK"),
        (libc::MAP_NORESERVE, "MAP_NORESERVE"),
        (libc::MAP_HUGETLB, "MAP_HUGETLB"),
        (libc::MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"),
        (libc::MAP_POPULATE, "MAP_POPULATE"),
    ] {
        assert!(
            show(Sysno::mmap, [0, 1, 0, o(flag | libc::MAP_PRIVATE), 0, 0]).contains(&format!("MAP_PRIVATE|{name}")),
            "{name}"
        );
    }
    for (v, name) in
        [(libc::F_GETPIPE_SZ, "F_GETPIPE_SZ"), (libc::F_OFD_SETLKW, "F_OFD_SETLKW"), (libc::F_ADD_SEALS, "F_ADD_SEALS")]
    {
        assert_eq!(show(Sysno::fcntl, [0, o(v), 0, 0, 0, 0]), format!("fcntl(0, {name}, 0)"));
    }
    for (v, name) in [
        (libc::AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"),
        (libc::AT_EMPTY_PATH, "AT_EMPTY_PATH"),
        (libc::AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"),
        (libc::AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"),
    ] {
        assert!(show(Sysno::newfstatat, [0, 0, 0, o(v), 0, 0]).ends_with(&format!("{name})")), "{name}");
    }
    assert_eq!(
        show(Sysno::socket, [o(libc::AF_NETLINK), o(libc::SOCK_RAW | libc::SOCK_NONBLOCK), 0, 0, 0, 0]),
        "socket(AF_NETLINK, SOCK_RAW|SOCK_NONBLOCK, 0)"
    );
    assert_eq!(
        show(Sysno::socket, [o(libc::AF_VSOCK), o(libc::SOCK_SEQPACKET), 0, 0, 0, 0]),
        "socket(AF_VSOCK, SOCK_SEQPACKET, 0)"
    );
}

#[test]
fn every_syscall_decodes_on_every_arch() {
    let mem = FakeMem::new().cstr(P, "x");
    for arch in Arch::ALL {
        for &s in Sysno::ALL {
            for raw in [[0; 6], [P; 6], [u64::MAX; 6]] {
                let args = decode_args_on(arch, s, &raw, Some(&mem), &DecodeOptions::default());
                let text = format_call(s, &args);
                assert!(text.starts_with(s.name()));
                serde_json::from_str::<serde_json::Value>(&json(&args)).unwrap();
            }
        }
    }
}

// ---- properties -------------------------------------------------------------

/// Memory whose answers are arbitrary: partial reads, faults, and even
/// counts larger than the buffer (a buggy caller must not make us panic).
struct ChaosMem {
    base: u64,
    bytes: Vec<u8>,
    seed: u64,
}

impl Memory for ChaosMem {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ()> {
        let h = (addr ^ self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58;
        match h {
            0 => return Err(()),
            1 => return Ok(buf.len() + 7),
            2 => return Ok(0),
            _ => {}
        }
        let off = addr.checked_sub(self.base).and_then(|o| usize::try_from(o).ok()).ok_or(())?;
        let avail = self.bytes.get(off..).ok_or(())?;
        if avail.is_empty() {
            return Err(());
        }
        let n = buf.len().min(avail.len());
        let n = if h == 3 { n / 2 } else { n };
        buf[..n].copy_from_slice(&avail[..n]);
        Ok(n)
    }
}

const BASE: u64 = 0x10_0000;

fn register() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..4096,
        (0u64..2048).prop_map(|o| BASE + o),
        Just(0u64),
        Just(u64::MAX),
        Just(AT_FDCWD),
    ]
}

fn memory_bytes() -> impl Strategy<Value = Vec<u8>> {
    // biased towards pointers back into the region, to reach arrays
    prop::collection::vec(prop_oneof![any::<u8>(), Just(0u8), Just(0x10u8), Just(b'/')], 0..2048)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn decode_never_panics_and_json_parses(
        idx in 0..Sysno::ALL.len(),
        raw in prop::array::uniform6(register()),
        bytes in memory_bytes(),
        seed in any::<u64>(),
        on_arm in any::<bool>(),
        max_str in 0usize..80,
        max_array in 0usize..20,
        with_mem in any::<bool>(),
    ) {
        let sysno = Sysno::ALL[idx];
        let arch = if on_arm { Arch::Aarch64 } else { Arch::X86_64 };
        let mem = ChaosMem { base: BASE, bytes, seed };
        let opts = DecodeOptions { max_str, max_array };
        let args = decode_args_on(arch, sysno, &raw, if with_mem { Some(&mem) } else { None }, &opts);
        prop_assert_eq!(args.len(), sysno.args_on(arch).len());
        let text = format_call(sysno, &args);
        prop_assert!(text.starts_with(sysno.name()));
        let j = json(&args);
        let parsed: serde_json::Value = serde_json::from_str(&j).map_err(|e| TestCaseError::fail(format!("{e}: {j}")))?;
        prop_assert_eq!(parsed.as_array().map(|a| a.len()), Some(args.len()));
        for v in &args {
            if let Value::Str { bytes, .. } = v {
                prop_assert!(bytes.len() <= max_str);
            }
            if let Value::Array(items, _) = v {
                prop_assert!(items.len() <= max_array);
            }
        }
    }

    #[test]
    fn format_return_never_panics(ret in any::<i64>()) {
        let s = format_return(ret);
        prop_assert!(s.starts_with("= "));
    }

    #[test]
    fn names_never_panic(name in ".{0,40}", errno in any::<i32>(), sig in any::<i32>()) {
        let _ = name.parse::<Sysno>();
        let _ = errno_name(errno);
        let _ = errno_description(errno);
        let _ = signal_name(sig);
        prop_assert!(Arch::ALL.iter().all(|a| a.sysno(u64::from(errno as u32)).is_none_or(|s| s.nr(*a) == Some(errno as u32))));
    }
}
