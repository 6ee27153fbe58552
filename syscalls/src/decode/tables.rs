//! Names of constants: flags, commands, signals, errnos.
//!
//! Values are the Linux UAPI ones for x86_64 and aarch64 (identical except
//! where an `Arch` parameter says otherwise: a few `O_*` bits differ on arm64,
//! which uses asm-generic's fcntl.h while x86 keeps its own, and `MAP_32BIT`
//! exists on x86 only).

use crate::Arch;

/// A flag table entry: `(name, mask)`. Entries are tried in order and a
/// matched mask is removed from the value, so multi-bit names (`O_SYNC`,
/// `O_TMPFILE`) must come before the single bits they contain.
pub(crate) type FlagTable = &'static [(&'static str, u64)];

/// Splits `value` into the names of `table` and the bits left over.
pub(crate) fn split_flags(table: FlagTable, value: u64, names: &mut Vec<&'static str>) -> u64 {
    let mut rest = value;
    for &(name, mask) in table {
        if mask != 0 && rest & mask == mask {
            names.push(name);
            rest &= !mask;
        }
    }
    rest
}

// ---- open(2) ----------------------------------------------------------------

const O_ACCMODE: u64 = 0o3;

/// `O_*` bits above the access mode. x86_64 uses the generic values.
pub(crate) fn open_flag_table(arch: Arch) -> FlagTable {
    match arch {
        Arch::X86_64 => &[
            ("O_CREAT", 0o100),
            ("O_EXCL", 0o200),
            ("O_NOCTTY", 0o400),
            ("O_TRUNC", 0o1000),
            ("O_APPEND", 0o2000),
            ("O_NONBLOCK", 0o4000),
            ("O_SYNC", 0o4010000), // __O_SYNC | O_DSYNC
            ("O_DSYNC", 0o10000),
            ("O_ASYNC", 0o20000),
            ("O_DIRECT", 0o40000),
            ("O_LARGEFILE", 0o100000),
            ("O_TMPFILE", 0o20200000), // __O_TMPFILE | O_DIRECTORY
            ("O_DIRECTORY", 0o200000),
            ("O_NOFOLLOW", 0o400000),
            ("O_NOATIME", 0o1000000),
            ("O_CLOEXEC", 0o2000000),
            ("O_PATH", 0o10000000),
        ],
        // arch/arm64/include/uapi/asm/fcntl.h swaps these four
        Arch::Aarch64 => &[
            ("O_CREAT", 0o100),
            ("O_EXCL", 0o200),
            ("O_NOCTTY", 0o400),
            ("O_TRUNC", 0o1000),
            ("O_APPEND", 0o2000),
            ("O_NONBLOCK", 0o4000),
            ("O_SYNC", 0o4010000),
            ("O_DSYNC", 0o10000),
            ("O_ASYNC", 0o20000),
            ("O_TMPFILE", 0o20040000), // __O_TMPFILE | O_DIRECTORY(arm64)
            ("O_DIRECTORY", 0o40000),
            ("O_NOFOLLOW", 0o100000),
            ("O_DIRECT", 0o200000),
            ("O_LARGEFILE", 0o400000),
            ("O_NOATIME", 0o1000000),
            ("O_CLOEXEC", 0o2000000),
            ("O_PATH", 0o10000000),
        ],
    }
}

/// Open flags: the access mode first (it is a 2-bit field, not flags).
pub(crate) fn open_flags(arch: Arch, value: u64) -> (Vec<&'static str>, u64) {
    let mut names = Vec::new();
    let acc = match value & O_ACCMODE {
        0 => Some("O_RDONLY"),
        1 => Some("O_WRONLY"),
        2 => Some("O_RDWR"),
        _ => None, // 3 is not an access mode: leave the bits in `rest`
    };
    let mut rest = value;
    if let Some(a) = acc {
        names.push(a);
        rest &= !O_ACCMODE;
    }
    let rest = split_flags(open_flag_table(arch), rest, &mut names);
    (names, rest)
}

// ---- *at(2) -----------------------------------------------------------------

pub(crate) const AT_FDCWD: i32 = -100;

pub(crate) const AT_FLAGS: FlagTable = &[
    ("AT_SYMLINK_NOFOLLOW", 0x100),
    ("AT_REMOVEDIR", 0x200), // == AT_EACCESS (faccessat2) and AT_HANDLE_FID
    ("AT_SYMLINK_FOLLOW", 0x400),
    ("AT_NO_AUTOMOUNT", 0x800),
    ("AT_EMPTY_PATH", 0x1000),
    ("AT_STATX_FORCE_SYNC", 0x2000),
    ("AT_STATX_DONT_SYNC", 0x4000),
    ("AT_RECURSIVE", 0x8000),
];

/// `AT_*` flags as `faccessat2` means them (0x200 is `AT_EACCESS` there).
pub(crate) const AT_FLAGS_ACCESS: FlagTable =
    &[("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_EACCESS", 0x200), ("AT_EMPTY_PATH", 0x1000)];

pub(crate) const ACCESS_MODE: FlagTable = &[("R_OK", 4), ("W_OK", 2), ("X_OK", 1)];

// ---- clone(2), unshare(2) ----------------------------------------------------

pub(crate) const CSIGNAL: u64 = 0xff;

pub(crate) const CLONE_FLAGS: FlagTable = &[
    ("CLONE_VM", 0x100),
    ("CLONE_FS", 0x200),
    ("CLONE_FILES", 0x400),
    ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000),
    ("CLONE_PTRACE", 0x2000),
    ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000),
    ("CLONE_THREAD", 0x10000),
    ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000),
    ("CLONE_SETTLS", 0x80000),
    ("CLONE_PARENT_SETTID", 0x100000),
    ("CLONE_CHILD_CLEARTID", 0x200000),
    ("CLONE_DETACHED", 0x400000),
    ("CLONE_UNTRACED", 0x800000),
    ("CLONE_CHILD_SETTID", 0x1000000),
    ("CLONE_NEWCGROUP", 0x2000000),
    ("CLONE_NEWUTS", 0x4000000),
    ("CLONE_NEWIPC", 0x8000000),
    ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_NEWPID", 0x20000000),
    ("CLONE_NEWNET", 0x40000000),
    ("CLONE_IO", 0x80000000),
];

/// What `unshare()`/`setns()` accept; 0x80 is `CLONE_NEWTIME` here, while in
/// `clone()` the whole low byte is the exit signal.
pub(crate) const NAMESPACE_FLAGS: FlagTable = &[
    ("CLONE_NEWTIME", 0x80),
    ("CLONE_FS", 0x200),
    ("CLONE_FILES", 0x400),
    ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000),
    ("CLONE_NEWCGROUP", 0x2000000),
    ("CLONE_NEWUTS", 0x4000000),
    ("CLONE_NEWIPC", 0x8000000),
    ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_NEWPID", 0x20000000),
    ("CLONE_NEWNET", 0x40000000),
];

// ---- mmap(2) ------------------------------------------------------------------

pub(crate) fn prot_table(arch: Arch) -> FlagTable {
    match arch {
        Arch::X86_64 => &[
            ("PROT_READ", 0x1),
            ("PROT_WRITE", 0x2),
            ("PROT_EXEC", 0x4),
            ("PROT_SEM", 0x8),
            ("PROT_GROWSDOWN", 0x0100_0000),
            ("PROT_GROWSUP", 0x0200_0000),
        ],
        Arch::Aarch64 => &[
            ("PROT_READ", 0x1),
            ("PROT_WRITE", 0x2),
            ("PROT_EXEC", 0x4),
            ("PROT_SEM", 0x8),
            ("PROT_BTI", 0x10),
            ("PROT_MTE", 0x20),
            ("PROT_GROWSDOWN", 0x0100_0000),
            ("PROT_GROWSUP", 0x0200_0000),
        ],
    }
}

/// `MAP_TYPE` is a 4-bit field: shared, private or shared-validate.
pub(crate) const MAP_TYPE: u64 = 0xf;

pub(crate) fn map_type(value: u64) -> Option<&'static str> {
    match value & MAP_TYPE {
        1 => Some("MAP_SHARED"),
        2 => Some("MAP_PRIVATE"),
        3 => Some("MAP_SHARED_VALIDATE"),
        _ => None,
    }
}

pub(crate) fn map_flag_table(arch: Arch) -> FlagTable {
    match arch {
        Arch::X86_64 => &[
            ("MAP_FIXED", 0x10),
            ("MAP_ANONYMOUS", 0x20),
            ("MAP_32BIT", 0x40),
            ("MAP_GROWSDOWN", 0x100),
            ("MAP_DENYWRITE", 0x800),
            ("MAP_EXECUTABLE", 0x1000),
            ("MAP_LOCKED", 0x2000),
            ("MAP_NORESERVE", 0x4000),
            ("MAP_POPULATE", 0x8000),
            ("MAP_NONBLOCK", 0x10000),
            ("MAP_STACK", 0x20000),
            ("MAP_HUGETLB", 0x40000),
            ("MAP_SYNC", 0x80000),
            ("MAP_FIXED_NOREPLACE", 0x100000),
        ],
        Arch::Aarch64 => &[
            ("MAP_FIXED", 0x10),
            ("MAP_ANONYMOUS", 0x20),
            ("MAP_GROWSDOWN", 0x100),
            ("MAP_DENYWRITE", 0x800),
            ("MAP_EXECUTABLE", 0x1000),
            ("MAP_LOCKED", 0x2000),
            ("MAP_NORESERVE", 0x4000),
            ("MAP_POPULATE", 0x8000),
            ("MAP_NONBLOCK", 0x10000),
            ("MAP_STACK", 0x20000),
            ("MAP_HUGETLB", 0x40000),
            ("MAP_SYNC", 0x80000),
            ("MAP_FIXED_NOREPLACE", 0x100000),
        ],
    }
}

// ---- sockets ------------------------------------------------------------------

pub(crate) const SOCK_TYPE_MASK: u64 = 0xf;
pub(crate) const SOCK_FLAGS: FlagTable = &[("SOCK_NONBLOCK", 0o4000), ("SOCK_CLOEXEC", 0o2000000)];

pub(crate) fn sock_type(t: u64) -> Option<&'static str> {
    Some(match t {
        1 => "SOCK_STREAM",
        2 => "SOCK_DGRAM",
        3 => "SOCK_RAW",
        4 => "SOCK_RDM",
        5 => "SOCK_SEQPACKET",
        6 => "SOCK_DCCP",
        10 => "SOCK_PACKET",
        _ => return None,
    })
}

pub(crate) const AF_UNIX: u16 = 1;
pub(crate) const AF_INET: u16 = 2;
pub(crate) const AF_INET6: u16 = 10;
pub(crate) const AF_NETLINK: u16 = 16;

pub(crate) fn family_name(af: u64) -> Option<&'static str> {
    const NAMES: [&str; 46] = [
        "AF_UNSPEC",
        "AF_UNIX",
        "AF_INET",
        "AF_AX25",
        "AF_IPX",
        "AF_APPLETALK",
        "AF_NETROM",
        "AF_BRIDGE",
        "AF_ATMPVC",
        "AF_X25",
        "AF_INET6",
        "AF_ROSE",
        "AF_DECnet",
        "AF_NETBEUI",
        "AF_SECURITY",
        "AF_KEY",
        "AF_NETLINK",
        "AF_PACKET",
        "AF_ASH",
        "AF_ECONET",
        "AF_ATMSVC",
        "AF_RDS",
        "AF_SNA",
        "AF_IRDA",
        "AF_PPPOX",
        "AF_WANPIPE",
        "AF_LLC",
        "AF_IB",
        "AF_MPLS",
        "AF_CAN",
        "AF_TIPC",
        "AF_BLUETOOTH",
        "AF_IUCV",
        "AF_RXRPC",
        "AF_ISDN",
        "AF_PHONET",
        "AF_IEEE802154",
        "AF_CAIF",
        "AF_ALG",
        "AF_NFC",
        "AF_VSOCK",
        "AF_KCM",
        "AF_QIPCRTR",
        "AF_SMC",
        "AF_XDP",
        "AF_MCTP",
    ];
    usize::try_from(af).ok().and_then(|i| NAMES.get(i)).copied()
}

// ---- fcntl(2), lseek(2), ioctl(2) -----------------------------------------------

pub(crate) fn fcntl_cmd(cmd: u64) -> Option<&'static str> {
    Some(match cmd {
        0 => "F_DUPFD",
        1 => "F_GETFD",
        2 => "F_SETFD",
        3 => "F_GETFL",
        4 => "F_SETFL",
        5 => "F_GETLK",
        6 => "F_SETLK",
        7 => "F_SETLKW",
        8 => "F_SETOWN",
        9 => "F_GETOWN",
        10 => "F_SETSIG",
        11 => "F_GETSIG",
        15 => "F_SETOWN_EX",
        16 => "F_GETOWN_EX",
        17 => "F_GETOWNER_UIDS",
        36 => "F_OFD_GETLK",
        37 => "F_OFD_SETLK",
        38 => "F_OFD_SETLKW",
        1024 => "F_SETLEASE",
        1025 => "F_GETLEASE",
        1026 => "F_NOTIFY",
        1027 => "F_DUPFD_QUERY",
        1028 => "F_CREATED_QUERY",
        1029 => "F_CANCELLK",
        1030 => "F_DUPFD_CLOEXEC",
        1031 => "F_SETPIPE_SZ",
        1032 => "F_GETPIPE_SZ",
        1033 => "F_ADD_SEALS",
        1034 => "F_GET_SEALS",
        1035 => "F_GET_RW_HINT",
        1036 => "F_SET_RW_HINT",
        1037 => "F_GET_FILE_RW_HINT",
        1038 => "F_SET_FILE_RW_HINT",
        _ => return None,
    })
}

pub(crate) fn whence(w: u64) -> Option<&'static str> {
    Some(match w {
        0 => "SEEK_SET",
        1 => "SEEK_CUR",
        2 => "SEEK_END",
        3 => "SEEK_DATA",
        4 => "SEEK_HOLE",
        _ => return None,
    })
}

/// A few common terminal/file ioctls (asm-generic/ioctls.h, same on both arches).
pub(crate) fn ioctl_name(req: u64) -> Option<&'static str> {
    Some(match req {
        0x5401 => "TCGETS",
        0x5402 => "TCSETS",
        0x5403 => "TCSETSW",
        0x5404 => "TCSETSF",
        0x540B => "TCFLSH",
        0x540E => "TIOCSCTTY",
        0x540F => "TIOCGPGRP",
        0x5410 => "TIOCSPGRP",
        0x5412 => "TIOCSTI",
        0x5413 => "TIOCGWINSZ",
        0x5414 => "TIOCSWINSZ",
        0x541B => "FIONREAD",
        0x541C => "TIOCLINUX",
        0x5421 => "FIONBIO",
        0x5422 => "TIOCNOTTY",
        0x5429 => "TIOCGSID",
        0x5450 => "FIONCLEX",
        0x5451 => "FIOCLEX",
        0x5452 => "FIOASYNC",
        _ => return None,
    })
}

// ---- signals ------------------------------------------------------------------

/// Signal names; real-time signals as `SIGRTMIN+n` counted from the kernel's
/// SIGRTMIN (32), not glibc's (which reserves two).
pub fn signal_name(sig: i32) -> Option<&'static str> {
    const NAMES: [&str; 65] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
        "SIGRTMIN",
        "SIGRTMIN+1",
        "SIGRTMIN+2",
        "SIGRTMIN+3",
        "SIGRTMIN+4",
        "SIGRTMIN+5",
        "SIGRTMIN+6",
        "SIGRTMIN+7",
        "SIGRTMIN+8",
        "SIGRTMIN+9",
        "SIGRTMIN+10",
        "SIGRTMIN+11",
        "SIGRTMIN+12",
        "SIGRTMIN+13",
        "SIGRTMIN+14",
        "SIGRTMIN+15",
        "SIGRTMIN+16",
        "SIGRTMIN+17",
        "SIGRTMIN+18",
        "SIGRTMIN+19",
        "SIGRTMIN+20",
        "SIGRTMIN+21",
        "SIGRTMIN+22",
        "SIGRTMIN+23",
        "SIGRTMIN+24",
        "SIGRTMIN+25",
        "SIGRTMIN+26",
        "SIGRTMIN+27",
        "SIGRTMIN+28",
        "SIGRTMIN+29",
        "SIGRTMIN+30",
        "SIGRTMIN+31",
        "SIGRTMAX",
    ];
    usize::try_from(sig).ok().filter(|&i| i > 0).and_then(|i| NAMES.get(i)).copied()
}

// ---- errno ----------------------------------------------------------------------

/// `(name, description)`: descriptions are glibc's `strerror()` texts, which
/// is what people know; the 512+ codes are kernel-internal (a tracer sees
/// `ERESTARTSYS` and friends at syscall exit) with strace's descriptions.
fn errno_entry(errno: i32) -> Option<(&'static str, &'static str)> {
    Some(match errno {
        1 => ("EPERM", "Operation not permitted"),
        2 => ("ENOENT", "No such file or directory"),
        3 => ("ESRCH", "No such process"),
        4 => ("EINTR", "Interrupted system call"),
        5 => ("EIO", "Input/output error"),
        6 => ("ENXIO", "No such device or address"),
        7 => ("E2BIG", "Argument list too long"),
        8 => ("ENOEXEC", "Exec format error"),
        9 => ("EBADF", "Bad file descriptor"),
        10 => ("ECHILD", "No child processes"),
        11 => ("EAGAIN", "Resource temporarily unavailable"),
        12 => ("ENOMEM", "Cannot allocate memory"),
        13 => ("EACCES", "Permission denied"),
        14 => ("EFAULT", "Bad address"),
        15 => ("ENOTBLK", "Block device required"),
        16 => ("EBUSY", "Device or resource busy"),
        17 => ("EEXIST", "File exists"),
        18 => ("EXDEV", "Invalid cross-device link"),
        19 => ("ENODEV", "No such device"),
        20 => ("ENOTDIR", "Not a directory"),
        21 => ("EISDIR", "Is a directory"),
        22 => ("EINVAL", "Invalid argument"),
        23 => ("ENFILE", "Too many open files in system"),
        24 => ("EMFILE", "Too many open files"),
        25 => ("ENOTTY", "Inappropriate ioctl for device"),
        26 => ("ETXTBSY", "Text file busy"),
        27 => ("EFBIG", "File too large"),
        28 => ("ENOSPC", "No space left on device"),
        29 => ("ESPIPE", "Illegal seek"),
        30 => ("EROFS", "Read-only file system"),
        31 => ("EMLINK", "Too many links"),
        32 => ("EPIPE", "Broken pipe"),
        33 => ("EDOM", "Numerical argument out of domain"),
        34 => ("ERANGE", "Numerical result out of range"),
        35 => ("EDEADLK", "Resource deadlock avoided"),
        36 => ("ENAMETOOLONG", "File name too long"),
        37 => ("ENOLCK", "No locks available"),
        38 => ("ENOSYS", "Function not implemented"),
        39 => ("ENOTEMPTY", "Directory not empty"),
        40 => ("ELOOP", "Too many levels of symbolic links"),
        42 => ("ENOMSG", "No message of desired type"),
        43 => ("EIDRM", "Identifier removed"),
        44 => ("ECHRNG", "Channel number out of range"),
        45 => ("EL2NSYNC", "Level 2 not synchronized"),
        46 => ("EL3HLT", "Level 3 halted"),
        47 => ("EL3RST", "Level 3 reset"),
        48 => ("ELNRNG", "Link number out of range"),
        49 => ("EUNATCH", "Protocol driver not attached"),
        50 => ("ENOCSI", "No CSI structure available"),
        51 => ("EL2HLT", "Level 2 halted"),
        52 => ("EBADE", "Invalid exchange"),
        53 => ("EBADR", "Invalid request descriptor"),
        54 => ("EXFULL", "Exchange full"),
        55 => ("ENOANO", "No anode"),
        56 => ("EBADRQC", "Invalid request code"),
        57 => ("EBADSLT", "Invalid slot"),
        59 => ("EBFONT", "Bad font file format"),
        60 => ("ENOSTR", "Device not a stream"),
        61 => ("ENODATA", "No data available"),
        62 => ("ETIME", "Timer expired"),
        63 => ("ENOSR", "Out of streams resources"),
        64 => ("ENONET", "Machine is not on the network"),
        65 => ("ENOPKG", "Package not installed"),
        66 => ("EREMOTE", "Object is remote"),
        67 => ("ENOLINK", "Link has been severed"),
        68 => ("EADV", "Advertise error"),
        69 => ("ESRMNT", "Srmount error"),
        70 => ("ECOMM", "Communication error on send"),
        71 => ("EPROTO", "Protocol error"),
        72 => ("EMULTIHOP", "Multihop attempted"),
        73 => ("EDOTDOT", "RFS specific error"),
        74 => ("EBADMSG", "Bad message"),
        75 => ("EOVERFLOW", "Value too large for defined data type"),
        76 => ("ENOTUNIQ", "Name not unique on network"),
        77 => ("EBADFD", "File descriptor in bad state"),
        78 => ("EREMCHG", "Remote address changed"),
        79 => ("ELIBACC", "Can not access a needed shared library"),
        80 => ("ELIBBAD", "Accessing a corrupted shared library"),
        81 => ("ELIBSCN", ".lib section in a.out corrupted"),
        82 => ("ELIBMAX", "Attempting to link in too many shared libraries"),
        83 => ("ELIBEXEC", "Cannot exec a shared library directly"),
        84 => ("EILSEQ", "Invalid or incomplete multibyte or wide character"),
        85 => ("ERESTART", "Interrupted system call should be restarted"),
        86 => ("ESTRPIPE", "Streams pipe error"),
        87 => ("EUSERS", "Too many users"),
        88 => ("ENOTSOCK", "Socket operation on non-socket"),
        89 => ("EDESTADDRREQ", "Destination address required"),
        90 => ("EMSGSIZE", "Message too long"),
        91 => ("EPROTOTYPE", "Protocol wrong type for socket"),
        92 => ("ENOPROTOOPT", "Protocol not available"),
        93 => ("EPROTONOSUPPORT", "Protocol not supported"),
        94 => ("ESOCKTNOSUPPORT", "Socket type not supported"),
        95 => ("EOPNOTSUPP", "Operation not supported"),
        96 => ("EPFNOSUPPORT", "Protocol family not supported"),
        97 => ("EAFNOSUPPORT", "Address family not supported by protocol"),
        98 => ("EADDRINUSE", "Address already in use"),
        99 => ("EADDRNOTAVAIL", "Cannot assign requested address"),
        100 => ("ENETDOWN", "Network is down"),
        101 => ("ENETUNREACH", "Network is unreachable"),
        102 => ("ENETRESET", "Network dropped connection on reset"),
        103 => ("ECONNABORTED", "Software caused connection abort"),
        104 => ("ECONNRESET", "Connection reset by peer"),
        105 => ("ENOBUFS", "No buffer space available"),
        106 => ("EISCONN", "Transport endpoint is already connected"),
        107 => ("ENOTCONN", "Transport endpoint is not connected"),
        108 => ("ESHUTDOWN", "Cannot send after transport endpoint shutdown"),
        109 => ("ETOOMANYREFS", "Too many references: cannot splice"),
        110 => ("ETIMEDOUT", "Connection timed out"),
        111 => ("ECONNREFUSED", "Connection refused"),
        112 => ("EHOSTDOWN", "Host is down"),
        113 => ("EHOSTUNREACH", "No route to host"),
        114 => ("EALREADY", "Operation already in progress"),
        115 => ("EINPROGRESS", "Operation now in progress"),
        116 => ("ESTALE", "Stale file handle"),
        117 => ("EUCLEAN", "Structure needs cleaning"),
        118 => ("ENOTNAM", "Not a XENIX named type file"),
        119 => ("ENAVAIL", "No XENIX semaphores available"),
        120 => ("EISNAM", "Is a named type file"),
        121 => ("EREMOTEIO", "Remote I/O error"),
        122 => ("EDQUOT", "Disk quota exceeded"),
        123 => ("ENOMEDIUM", "No medium found"),
        124 => ("EMEDIUMTYPE", "Wrong medium type"),
        125 => ("ECANCELED", "Operation canceled"),
        126 => ("ENOKEY", "Required key not available"),
        127 => ("EKEYEXPIRED", "Key has expired"),
        128 => ("EKEYREVOKED", "Key has been revoked"),
        129 => ("EKEYREJECTED", "Key was rejected by service"),
        130 => ("EOWNERDEAD", "Owner died"),
        131 => ("ENOTRECOVERABLE", "State not recoverable"),
        132 => ("ERFKILL", "Operation not possible due to RF-kill"),
        133 => ("EHWPOISON", "Memory page has hardware error"),
        512 => ("ERESTARTSYS", "To be restarted if SA_RESTART is set"),
        513 => ("ERESTARTNOINTR", "To be restarted"),
        514 => ("ERESTARTNOHAND", "To be restarted if no handler"),
        515 => ("ENOIOCTLCMD", "No ioctl command"),
        516 => ("ERESTART_RESTARTBLOCK", "Interrupted by signal"),
        517 => ("EPROBE_DEFER", "Driver requests probe retry"),
        518 => ("EOPENSTALE", "Open found a stale dentry"),
        519 => ("ENOPARAM", "Parameter not supported"),
        521 => ("EBADHANDLE", "Illegal NFS file handle"),
        522 => ("ENOTSYNC", "Update synchronization mismatch"),
        523 => ("EBADCOOKIE", "Cookie is stale"),
        524 => ("ENOTSUPP", "Operation is not supported"),
        525 => ("ETOOSMALL", "Buffer or request is too small"),
        526 => ("ESERVERFAULT", "An untranslatable error occurred"),
        527 => ("EBADTYPE", "Type not supported by server"),
        528 => ("EJUKEBOX", "Request initiated, but will not complete before timeout"),
        529 => ("EIOCBQUEUED", "iocb queued, will get completion event"),
        530 => ("ERECALLCONFLICT", "Conflict with recalled state"),
        531 => ("ENOGRACE", "NFS file lock reclaim refused"),
        _ => return None,
    })
}

/// The symbolic name of `errno`, e.g. `"ENOENT"` for 2.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    errno_entry(errno).map(|e| e.0)
}

/// The human description of `errno`, e.g. `"No such file or directory"`.
pub fn errno_description(errno: i32) -> Option<&'static str> {
    errno_entry(errno).map(|e| e.1)
}

/// Kernel-internal "restart" codes: the guest never sees them, the syscall
/// is restarted or turned into `EINTR`; strace shows the result as `?`.
pub(crate) fn is_restart(errno: i32) -> bool {
    matches!(errno, 512..=514 | 516)
}
