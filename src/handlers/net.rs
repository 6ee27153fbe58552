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
//!
//! A datagram may carry its own address: `sendto` with one, and every
//! `sendmsg`/`sendmmsg` (whose address is in memory the filter cannot
//! read) are sent by the supervisor, from its copy of the message: the
//! data, the address resolved as `connect` resolves it, and the control
//! messages with the guest's fds (`SCM_RIGHTS`) taken into the supervisor.
//! A send that would block runs on its own thread, as a blocking connect
//! does. What the peer sees of the sender (`SCM_CREDENTIALS`,
//! `SO_PASSCRED`) is the supervisor's pid, as for connected sockets.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::errno::Errno;

use super::fs::{arg_i32, guest_fd, host, locate, place_new};
use super::{Call, Ctx, Reply};
use crate::memory::{GuestAddr, GuestMemory};
use crate::sys;

const SUN_PATH_MAX: usize = 108;

/// `connect(fd, addr, len)`.
pub fn connect(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let (sock, addr) = socket_and_address(ctx, call)?;
    let (target, keep) = peer_address(ctx, call, &sock, addr)?;
    if let Some(node) = &keep {
        // Its peer, if a guest bound it, is named as that guest spelt it
        // (getpeername).
        let file = sys::fstat(node.as_fd())?;
        host(ctx)?.remember_peer(sys::fstat(sock.as_fd())?.st_ino, (file.st_dev, file.st_ino));
    }
    connect_other(sock, target, keep)
}

/// The address to reach the peer `addr` names, as the supervisor must
/// give it to the kernel: a unix path resolved in the view (then named
/// through the supervisor's fd of the socket node, returned to be kept as
/// long as the name is used), an abstract name a sandbox process holds,
/// or any other address as it is.
fn peer_address(
    ctx: &Ctx<'_>,
    call: &Call,
    sock: &OwnedFd,
    addr: Vec<u8>,
) -> Result<(Vec<u8>, Option<OwnedFd>), Errno> {
    if sys::socket_int_option(sock.as_fd(), libc::SO_DOMAIN)? != libc::AF_UNIX {
        return Ok((addr, None));
    }
    match unix_name(&addr) {
        UnixName::Path(p) => {
            let f = locate(ctx, call, libc::AT_FDCWD, p, true)?;
            if sys::fstat(f.fd.as_fd())?.st_mode & libc::S_IFMT != libc::S_IFSOCK {
                return Err(Errno::ECONNREFUSED);
            }
            let t = sockaddr_un(format!("/proc/self/fd/{}", f.fd.as_raw_fd()).as_bytes())?;
            Ok((t, Some(f.fd)))
        }
        UnixName::Abstract(name) if !abstract_in_sandbox(name, ctx.in_sandbox) => Err(Errno::EPERM),
        UnixName::Abstract(_) | UnixName::Other => Ok((addr, None)),
    }
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
            let h = host(ctx)?;
            let guest_umask = crate::procfs::umask(call.tid).unwrap_or(0o022);
            let bound = sys::with_umask(guest_umask, || match sockaddr_un(&path) {
                Ok(addr) => sys::bind_raw(sock.as_fd(), &addr),
                // A name too long to be bound through the directory's fd:
                // by itself, from the directory.
                Err(Errno::ENAMETOOLONG) => {
                    path = place.name.as_bytes().to_vec();
                    sys::bind_in_dir(sock.as_fd(), place.parent.as_fd(), &sockaddr_un(&path)?)
                }
                Err(e) => Err(e),
            });
            place.made(h, bound)?;
            h.record(place.path(), crate::vfs::Change::Created);
            let file = nix::sys::stat::fstatat(
                place.parent.as_fd(),
                place.name.as_c_str(),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )?;
            h.remember_bound(sys::fstat(sock.as_fd())?.st_ino, (file.st_dev, file.st_ino), &path, p);
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
    let addr = read_address(ctx, call.args[1], call.args[2])?;
    let sock = guest_fd(call.tid, arg_i32(call.args[0]))?;
    Ok((sock, addr))
}

/// A socket address of `len` bytes at guest address `at`.
fn read_address(ctx: &Ctx<'_>, at: u64, len: u64) -> Result<Vec<u8>, Errno> {
    let len = len as u32 as usize;
    if len > std::mem::size_of::<libc::sockaddr_storage>() {
        return Err(Errno::EINVAL);
    }
    let mut addr = vec![0u8; len];
    if len > 0 {
        ctx.mem.read(GuestAddr::new(at).ok_or(Errno::EFAULT)?, &mut addr)?;
    }
    Ok(addr)
}

/// `getsockname(fd, addr, addrlen)`: a unix socket the supervisor bound
/// shows the path the guest gave, not the `/proc/self/fd/N/NAME` the
/// supervisor bound it through. Everything else as the kernel says.
pub fn getsockname(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    socket_name(ctx, call, false)
}

/// `getpeername(fd, addr, addrlen)`: a peer a guest bound in the view is
/// named as that guest spelt it, not with the supervisor's
/// `/proc/self/fd/N/NAME` (it connected through the socket file).
pub fn getpeername(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    socket_name(ctx, call, true)
}

/// The socket's own name (`peer`: its peer's), with the guest's spelling
/// for a name the supervisor bound for a guest.
fn socket_name(ctx: &Ctx<'_>, call: &Call, peer: bool) -> Result<Reply, Errno> {
    let h = host(ctx)?;
    let sock = guest_fd(call.tid, arg_i32(call.args[0]))?;
    let mut name = if peer { sys::getpeername_raw(sock.as_fd())? } else { sys::getsockname_raw(sock.as_fd())? };
    if let UnixName::Path(p) = unix_name(&name) {
        // (A relative name is one the supervisor bound from its directory:
        // the guest's own are resolved and bound by the supervisor.)
        if p.starts_with(b"/proc/self/fd/") || p.first() != Some(&b'/') {
            let ino = sys::fstat(sock.as_fd())?.st_ino;
            if let Some(guest) = if peer { h.peer_name(ino) } else { h.bound_name(ino, p) } {
                name = sockaddr_un(&guest)?;
            }
        }
    }
    let len_at = GuestAddr::new(call.args[2]).ok_or(Errno::EFAULT)?;
    let mut room = [0u8; 4];
    ctx.mem.read(len_at, &mut room)?;
    let room = u32::from_ne_bytes(room) as usize;
    if room > i32::MAX as usize {
        return Err(Errno::EINVAL);
    }
    // As the kernel does: as much of the name as fits, and its whole
    // length, so the caller can tell it was cut.
    let n = room.min(name.len());
    if n > 0 {
        ctx.mem.write(GuestAddr::new(call.args[1]).ok_or(Errno::EFAULT)?, &name[..n])?;
    }
    ctx.mem.write(len_at, &(name.len() as u32).to_ne_bytes())?;
    Ok(Reply::Value(0))
}

// ---- sending ------------------------------------------------------------

/// The most bytes one send carries: a stream send of more returns the
/// bytes sent, as a send interrupted by a signal does; a datagram this
/// large is refused by the kernel anyway.
const MAX_SEND: usize = 4 << 20;
/// The most control bytes (the kernel's own limit, `optmem_max`, is
/// 20-128 KiB).
const MAX_CONTROL: usize = 1 << 17;

/// One message read from the guest, everything resolved: ready to send.
struct Outgoing {
    data: Vec<u8>,
    name: Option<Vec<u8>>,
    control: Vec<u8>,
    /// The fds `name` and `control` refer to.
    keep: Vec<OwnedFd>,
}

/// `sendto(fd, buf, len, flags, addr, addrlen)` with an address (the
/// filter lets it run natively without one).
pub fn sendto(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    host(ctx)?;
    let sock = guest_fd(call.tid, arg_i32(call.args[0]))?;
    let data = read_bytes(ctx, call.args[1], (call.args[2] as usize).min(MAX_SEND))?;
    let mut msg = Outgoing { data, name: None, control: Vec::new(), keep: Vec::new() };
    if call.args[4] != 0 {
        let addr = read_address(ctx, call.args[4], call.args[5])?;
        let (name, keep) = peer_address(ctx, call, &sock, addr)?;
        msg.name = Some(name);
        msg.keep.extend(keep);
    }
    send(sock, msg, arg_i32(call.args[3]))
}

/// `sendmsg(fd, msg, flags)`.
pub fn sendmsg(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    host(ctx)?;
    let sock = guest_fd(call.tid, arg_i32(call.args[0]))?;
    let msg = outgoing(ctx, call, &sock, call.args[1])?;
    send(sock, msg, arg_i32(call.args[2]))
}

/// `sendmmsg(fd, msgvec, vlen, flags)`: each message in turn, each one's
/// `msg_len` filled in; the number sent, or the first message's error.
/// When the first would block on a blocking socket, that one is sent on a
/// thread of its own and the call returns 1.
pub fn sendmmsg(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    use crate::sockmsg::{MMSGHDR_LEN, MMSG_LEN_OFFSET, UIO_MAXIOV};
    host(ctx)?;
    let sock = guest_fd(call.tid, arg_i32(call.args[0]))?;
    let flags = arg_i32(call.args[3]);
    let vlen = (call.args[2] as u32 as usize).min(UIO_MAXIOV);
    let mut sent = 0;
    for i in 0..vlen {
        let at = call.args[1].wrapping_add((i * MMSGHDR_LEN) as u64);
        let len_at = GuestAddr::new(at.wrapping_add(MMSG_LEN_OFFSET as u64)).ok_or(Errno::EFAULT);
        let msg = match outgoing(ctx, call, &sock, at) {
            Ok(m) => m,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        };
        let n = match try_send(&sock, &msg, flags) {
            Ok(n) => n,
            Err(Errno::EAGAIN) if sent == 0 && blocks(&sock, flags) => {
                let (tid, len_at) = (call.tid, len_at?);
                return Ok(Reply::Deferred(Box::new(move || {
                    let n = match send_blocking(&sock, &msg, flags) {
                        Ok(n) => n,
                        Err(e) => return failed(e, flags),
                    };
                    crate::memory::ProcessMemory::new(tid).write(len_at, &(n as u32).to_ne_bytes())?;
                    Ok(Reply::Value(1))
                })));
            }
            Err(e) if sent == 0 => return failed(e, flags),
            // What was sent is the answer; the next call meets the error.
            Err(_) => break,
        };
        ctx.mem.write(len_at?, &(n as u32).to_ne_bytes())?;
        sent += 1;
    }
    Ok(Reply::Value(sent))
}

fn read_bytes(ctx: &Ctx<'_>, at: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; len];
    if len > 0 {
        ctx.mem.read(GuestAddr::new(at).ok_or(Errno::EFAULT)?, &mut buf)?;
    }
    Ok(buf)
}

/// The `msghdr` at guest address `at`, read once: its data gathered from
/// the `iovec`s, its address resolved, its fds taken.
fn outgoing(ctx: &Ctx<'_>, call: &Call, sock: &OwnedFd, at: u64) -> Result<Outgoing, Errno> {
    use crate::sockmsg::{decode_control, decode_iovecs, encode_control, fds_of, rights, MsgHdr};
    use crate::sockmsg::{IOVEC_LEN, MSGHDR_LEN, UIO_MAXIOV};
    let hdr = MsgHdr::decode(&read_bytes(ctx, at, MSGHDR_LEN)?);
    let iovlen = usize::try_from(hdr.iovlen).map_err(|_| Errno::EMSGSIZE)?;
    if iovlen > UIO_MAXIOV {
        return Err(Errno::EMSGSIZE);
    }
    let mut data = Vec::new();
    for (base, len) in decode_iovecs(&read_bytes(ctx, hdr.iov, iovlen * IOVEC_LEN)?) {
        let room = MAX_SEND - data.len();
        let len = usize::try_from(len).map_err(|_| Errno::EINVAL)?.min(room);
        data.extend(read_bytes(ctx, base, len)?);
        if data.len() == MAX_SEND {
            break;
        }
    }
    let mut msg = Outgoing { data, name: None, control: Vec::new(), keep: Vec::new() };
    if hdr.name != 0 && hdr.namelen > 0 {
        let addr = read_address(ctx, hdr.name, u64::from(hdr.namelen))?;
        let (name, keep) = peer_address(ctx, call, sock, addr)?;
        msg.name = Some(name);
        msg.keep.extend(keep);
    }
    if hdr.control != 0 && hdr.controllen > 0 {
        let len = usize::try_from(hdr.controllen).ok().filter(|&l| l <= MAX_CONTROL).ok_or(Errno::ENOBUFS)?;
        let mut cmsgs = decode_control(&read_bytes(ctx, hdr.control, len)?)?;
        // The kernel's bound on one message's fds, checked before any is
        // taken into the supervisor.
        let passed = cmsgs.iter().filter(|c| (c.level, c.kind) == (libc::SOL_SOCKET, libc::SCM_RIGHTS));
        if passed.map(|c| fds_of(c).len()).sum::<usize>() > crate::sockmsg::SCM_MAX_FD {
            return Err(Errno::EINVAL);
        }
        for c in &mut cmsgs {
            match (c.level, c.kind) {
                (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                    let mut ours = Vec::new();
                    for fd in fds_of(c) {
                        let f = guest_fd(call.tid, fd)?;
                        ours.push(f.as_raw_fd());
                        msg.keep.push(f);
                    }
                    *c = rights(&ours);
                }
                (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) => {
                    // The guest may only claim itself; the kernel checks the
                    // pid against the sender, which is now the supervisor.
                    let pid = i32::from_ne_bytes([c.data[0], c.data[1], c.data[2], c.data[3]]);
                    if crate::procfs::tgid(call.tid) == Some(pid) {
                        c.data[..4].copy_from_slice(&(std::process::id() as i32).to_ne_bytes());
                    }
                }
                _ => {}
            }
        }
        msg.control = encode_control(&cmsgs);
    }
    Ok(msg)
}

/// Whether a send on `sock` with `flags` waits for room.
fn blocks(sock: &OwnedFd, flags: i32) -> bool {
    flags & libc::MSG_DONTWAIT == 0
        && nix::fcntl::fcntl(sock.as_fd(), nix::fcntl::FcntlArg::F_GETFL).is_ok_and(|f| f & libc::O_NONBLOCK == 0)
}

/// One attempt that never waits (and never raises SIGPIPE in the
/// supervisor).
fn try_send(sock: &OwnedFd, m: &Outgoing, flags: i32) -> Result<usize, Errno> {
    let f = flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    sys::sendmsg_raw(sock.as_fd(), &m.data, m.name.as_deref(), &m.control, f)
}

/// A send that waits as the guest's would: all of a stream's bytes (the
/// control messages go with the first), or the one datagram.
fn send_blocking(sock: &OwnedFd, m: &Outgoing, flags: i32) -> Result<usize, Errno> {
    let f = (flags | libc::MSG_NOSIGNAL) & !libc::MSG_DONTWAIT;
    let mut done = sys::sendmsg_raw(sock.as_fd(), &m.data, m.name.as_deref(), &m.control, f)?;
    let stream = sys::socket_int_option(sock.as_fd(), libc::SO_TYPE) == Ok(libc::SOCK_STREAM);
    while stream && done < m.data.len() {
        match sys::sendmsg_raw(sock.as_fd(), &m.data[done..], None, &[], f) {
            Ok(n) => done += n,
            // Some bytes went: the guest is told how many, and meets the
            // error on its next send; a signal for it (the supervisor's
            // watch interrupts the send) ends it with what went, as
            // natively.
            Err(_) => break,
        }
    }
    Ok(done)
}

/// The answer to a send that failed: `EPIPE` raises `SIGPIPE` in the
/// sending thread (the guest's, not the supervisor's, which always sends
/// with `MSG_NOSIGNAL`) unless it asked not to.
fn failed(e: Errno, flags: i32) -> Result<Reply, Errno> {
    if e == Errno::EPIPE && flags & libc::MSG_NOSIGNAL == 0 {
        Ok(Reply::Raise(e, libc::SIGPIPE))
    } else {
        Err(e)
    }
}

/// Sends `m` now, or, when the socket would block and the guest's send
/// waits, on a thread of its own.
fn send(sock: OwnedFd, m: Outgoing, flags: i32) -> Result<Reply, Errno> {
    let stream = || sys::socket_int_option(sock.as_fd(), libc::SO_TYPE) == Ok(libc::SOCK_STREAM);
    match try_send(&sock, &m, flags) {
        Ok(n) if n < m.data.len() && stream() && blocks(&sock, flags) => {
            // The rest as a blocking send would send it.
            let total = m.data.len();
            let rest = Outgoing { data: m.data[n..].to_vec(), name: None, control: Vec::new(), keep: Vec::new() };
            Ok(Reply::Deferred(Box::new(move || {
                let more = send_blocking(&sock, &rest, flags).unwrap_or(0);
                drop(m);
                Ok(Reply::Value((n + more).min(total) as i64))
            })))
        }
        Ok(n) => Ok(Reply::Value(n as i64)),
        Err(Errno::EAGAIN) if blocks(&sock, flags) => {
            Ok(Reply::Deferred(Box::new(move || match send_blocking(&sock, &m, flags) {
                Ok(n) => Ok(Reply::Value(n as i64)),
                Err(e) => failed(e, flags),
            })))
        }
        Err(e) => failed(e, flags),
    }
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

/// A `sockaddr_un` for a pathname: NUL-terminated, or, a name of all 108
/// bytes, not (Linux takes such an address, and gives one back so).
fn sockaddr_un(path: &[u8]) -> Result<Vec<u8>, Errno> {
    if path.len() > SUN_PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let mut a = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    a.extend_from_slice(path);
    if path.len() < SUN_PATH_MAX {
        a.push(0);
    }
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
    crate::procfs::pids()
        .into_iter()
        .filter(|&pid| in_sandbox(pid))
        .any(|pid| crate::procfs::fd_links(pid).iter().any(|(_, t)| wanted.contains(t)))
}
