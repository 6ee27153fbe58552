//! Socket addresses. An `AF_UNIX` pathname address names a file, so
//! `bind` and `connect` are answered in the guest's view: the supervisor
//! takes the guest's socket (`pidfd_getfd`: the same open socket), resolves
//! the path in the view, and binds or connects it itself, naming the
//! resolved node through its own fd (`/proc/self/fd/N`), so the kernel
//! resolves nothing the guest could still change.
//!
//! Every other address is bound or connected by the supervisor too, with
//! the bytes it read: letting the kernel run the call would let a second
//! guest thread swap the fd for a unix socket and the address for a host
//! path after the check. A blocking connect on a socket that is not
//! `AF_UNIX` may wait minutes for a peer, so it runs on a thread of its own
//! ([`Reply::Deferred`]).
//!
//! Abstract unix names are not files; Landlock scopes them for the guest
//! (ABI 6), but not for the supervisor connecting on its behalf, so a
//! connect to an abstract name is refused (`EPERM`, as the scope would)
//! unless a sandbox process holds a socket bound to it.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::fs::{arg_i32, guest_fd, host, locate, place_new};
use super::{Call, Ctx, Reply};
use crate::memory::GuestAddr;
use crate::sys;

const SUN_PATH_MAX: usize = 108;

/// `connect(fd, addr, len)`.
pub fn connect(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let (sock, addr) = socket_and_address(ctx, call)?;
    if sys::socket_int_option(sock.as_fd(), libc::SO_DOMAIN)? != libc::AF_UNIX {
        return connect_other(sock, addr, None);
    }
    let target = match unix_name(&addr) {
        UnixName::Path(p) => {
            let f = locate(ctx, call, libc::AT_FDCWD, p, true)?;
            if sys::fstat(f.fd.as_fd())?.st_mode & libc::S_IFMT != libc::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            let t = sockaddr_un(format!("/proc/self/fd/{}", f.fd.as_raw_fd()).as_bytes())?;
            // The node's fd lives as long as the connect may need its name.
            return connect_other(sock, t, Some(f.fd));
        }
        UnixName::Abstract(name) => {
            if !abstract_in_sandbox(name, ctx.in_sandbox) {
                return Err(Errno::EPERM);
            }
            addr
        }
        UnixName::Other => addr,
    };
    connect_other(sock, target, None)
}

/// `bind(fd, addr, len)`.
pub fn bind(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let (sock, addr) = socket_and_address(ctx, call)?;
    if sys::socket_int_option(sock.as_fd(), libc::SO_DOMAIN)? == libc::AF_UNIX {
        if let UnixName::Path(p) = unix_name(&addr) {
            let place = place_new(ctx, call, libc::AT_FDCWD, p).map_err(|e| match e {
                Errno::EEXIST => Errno::EADDRINUSE,
                e => e,
            })?;
            let mut path = format!("/proc/self/fd/{}/", place.parent.as_raw_fd()).into_bytes();
            path.extend_from_slice(place.name.as_bytes());
            sys::bind_raw(sock.as_fd(), &sockaddr_un(&path)?)?;
            host(ctx)?.record(&place.path, crate::vfs::Change::Created);
            return Ok(Reply::Value(0));
        }
    }
    sys::bind_raw(sock.as_fd(), &addr)?;
    Ok(Reply::Value(0))
}

/// The guest's socket (its fd duplicated into the supervisor) and the
/// address it passed.
fn socket_and_address(ctx: &Ctx<'_>, call: &Call) -> Result<(OwnedFd, Vec<u8>), Errno> {
    host(ctx)?;
    let len = call.args[2] as u32 as usize;
    if len > std::mem::size_of::<libc::sockaddr_storage>() {
        return Err(Errno::EINVAL);
    }
    let mut addr = vec![0u8; len];
    if len > 0 {
        ctx.mem.read(GuestAddr::new(call.args[1]).ok_or(Errno::EFAULT)?, &mut addr)?;
    }
    let sock = guest_fd(call.tid, arg_i32(call.args[0]))?;
    Ok((sock, addr))
}

/// The connect itself: now when it cannot block, on a thread of its own
/// when it may wait for a peer (a TCP handshake, a unix listener with a
/// full backlog), so the sandbox's other calls are answered meanwhile.
fn connect_other(sock: OwnedFd, addr: Vec<u8>, keep: Option<OwnedFd>) -> Result<Reply, Errno> {
    // A datagram connect only sets the peer: it never waits (a resolver
    // connects a UDP socket for every query).
    let nonblocking = nix::fcntl::fcntl(sock.as_fd(), nix::fcntl::FcntlArg::F_GETFL)
        .is_ok_and(|f| f & libc::O_NONBLOCK != 0)
        || sys::socket_int_option(sock.as_fd(), libc::SO_TYPE) == Ok(libc::SOCK_DGRAM);
    let work = move || {
        let r = sys::connect_raw(sock.as_fd(), &addr).map(|()| Reply::Value(0));
        drop(keep);
        r
    };
    if nonblocking {
        work()
    } else {
        Ok(Reply::Deferred(Box::new(work)))
    }
}

enum UnixName<'a> {
    /// A pathname address (up to its first NUL).
    Path(&'a [u8]),
    /// An abstract name (after its leading NUL).
    Abstract(&'a [u8]),
    /// Unnamed (autobind), or not an `AF_UNIX` address at all: the kernel
    /// answers it as it is.
    Other,
}

fn unix_name(addr: &[u8]) -> UnixName<'_> {
    let family = addr.get(..2).map(|f| u16::from_ne_bytes([f[0], f[1]]));
    if family != Some(libc::AF_UNIX as u16) || addr.len() <= 2 {
        return UnixName::Other;
    }
    let path = &addr[2..];
    if path[0] == 0 {
        return UnixName::Abstract(&path[1..]);
    }
    UnixName::Path(path.split(|&b| b == 0).next().unwrap_or(path))
}

/// A `sockaddr_un` for a pathname.
fn sockaddr_un(path: &[u8]) -> Result<Vec<u8>, Errno> {
    if path.len() >= SUN_PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut a = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(path);
    a.push(0);
    Ok(a)
}

/// Whether a socket bound to abstract name `name` is held by a sandbox
/// process: the socket's inode from `/proc/net/unix`, found among the fds
/// of the sandbox's processes.
fn abstract_in_sandbox(name: &[u8], in_sandbox: &dyn Fn(libc::pid_t) -> bool) -> bool {
    let Ok(table) = std::fs::read("/proc/net/unix") else { return false };
    // The kernel prints the name after '@', its NULs as '@'.
    let mut shown = vec![b'@'];
    shown.extend(name.iter().map(|&b| if b == 0 { b'@' } else { b }));
    let inodes: Vec<String> = table
        .split(|&b| b == b'\n')
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&[u8]> = line.split(|&b| b == b' ').filter(|c| !c.is_empty()).collect();
            (cols.len() >= 8 && cols[7] == shown.as_slice()).then(|| String::from_utf8_lossy(cols[6]).into_owned())
        })
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let wanted: Vec<Vec<u8>> = inodes.iter().map(|i| format!("socket:[{i}]").into_bytes()).collect();
    let Ok(procs) = std::fs::read_dir("/proc") else { return false };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<libc::pid_t>().ok()))
        .filter(|&pid| in_sandbox(pid))
        .any(|pid| holds_any(pid, &wanted))
}

fn holds_any(pid: libc::pid_t, wanted: &[Vec<u8>]) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return false };
    fds.flatten().any(|e| crate::procfs::read_link(&e.path().to_string_lossy()).is_ok_and(|t| wanted.contains(&t)))
}
