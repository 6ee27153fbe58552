//! Calls that can make a file larger, notified only with `--disk`
//! ([`crate::vfs::disk`]): each is checked against the budget and then
//! continues as the guest made it, or fails with `EDQUOT` when the growth
//! it asks for does not fit. Only a regular file the view handed out for
//! writing counts; anything else (a pipe, the caller's own redirection to
//! a file outside the view) continues untouched.
//!
//! Continuing is safe here: the registers (fd, count, offset) cannot
//! change, and a second thread swapping the fd number for another file
//! only moves bytes past the budget, never out of the view (the file was
//! opened in it).

use std::os::fd::AsFd;

use nix::errno::Errno;

use super::fs::{arg_i32, guest_fd, host};
use super::{Call, Ctx, Reply};
use crate::memory::GuestAddr;
use crate::sys;

/// Where a call would write: at this offset, or (`None`) at the file's
/// position (its end with `O_APPEND`); [`INSERT`]: the bytes are inserted
/// (the file grows by all of them wherever they go).
type Start = Option<u64>;

/// The [`Start`] of bytes inserted into a file.
const INSERT: u64 = u64::MAX;

/// Checks that `count` bytes written on guest fd `fd` from `start` fit the
/// budget.
fn check(ctx: &Ctx<'_>, call: &Call, fd: i32, start: Start, count: u64) -> Result<Reply, Errno> {
    let h = host(ctx)?;
    let Some(disk) = h.disk() else { return Ok(Reply::Continue) };
    // A bad fd: the kernel gives its own answer.
    let Ok(file) = guest_fd(call.tid, fd) else { return Ok(Reply::Continue) };
    let Ok(st) = sys::fstat(file.as_fd()) else { return Ok(Reply::Continue) };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || !h.counts_for_disk(file.as_fd(), &st) {
        return Ok(Reply::Continue);
    }
    let size = st.st_size as u64;
    let pos = match start {
        Some(INSERT) => size,
        Some(o) => o,
        None => {
            let append =
                nix::fcntl::fcntl(file.as_fd(), nix::fcntl::FcntlArg::F_GETFL).is_ok_and(|f| f & libc::O_APPEND != 0);
            if append {
                size
            } else {
                // The duplicate shares the guest's open file: its position.
                nix::unistd::lseek(file.as_fd(), 0, nix::unistd::Whence::SeekCur).map_or(size, |p| p as u64)
            }
        }
    };
    let key = (st.st_dev, st.st_ino);
    let end = pos.saturating_add(count);
    match disk.grow(key, size, end) {
        // Files removed since the monitor last looked count as held until a
        // scan finds them closed: look now, before refusing.
        Err(_) if disk.has_held() => {
            h.scan_held(&sandbox_processes(ctx));
            disk.grow(key, size, end).map(|()| Reply::Continue)
        }
        r => r.map(|()| Reply::Continue),
    }
}

/// The sandbox's processes, from `/proc`.
fn sandbox_processes(ctx: &Ctx<'_>) -> std::collections::HashSet<i32> {
    crate::procfs::pids().into_iter().filter(|&pid| (ctx.in_sandbox)(pid)).collect()
}

/// The total length of the `iovec`s at guest address `iov`.
fn iov_total(ctx: &Ctx<'_>, iov: u64, n: u64) -> Result<u64, Errno> {
    let n = usize::try_from(n).ok().filter(|&n| n <= crate::sockmsg::UIO_MAXIOV).ok_or(Errno::EINVAL)?;
    let mut buf = vec![0u8; n * crate::sockmsg::IOVEC_LEN];
    if n > 0 {
        ctx.mem.read(GuestAddr::new(iov).ok_or(Errno::EFAULT)?, &mut buf)?;
    }
    Ok(crate::sockmsg::decode_iovecs(&buf).iter().fold(0u64, |t, &(_, len)| t.saturating_add(len)))
}

/// An offset argument passed by pointer (`NULL`: the file's position).
fn offset_at(ctx: &Ctx<'_>, ptr: u64) -> Result<Start, Errno> {
    if ptr == 0 {
        return Ok(None);
    }
    let mut b = [0u8; 8];
    ctx.mem.read(GuestAddr::new(ptr).ok_or(Errno::EFAULT)?, &mut b)?;
    Ok(Some(u64::from_ne_bytes(b)))
}

/// `write(fd, buf, count)`.
pub fn write(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    check(ctx, call, arg_i32(call.args[0]), None, call.args[2])
}

/// `pwrite64(fd, buf, count, offset)`.
pub fn pwrite64(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    check(ctx, call, arg_i32(call.args[0]), Some(call.args[3]), call.args[2])
}

/// `writev(fd, iov, iovcnt)`.
pub fn writev(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let n = iov_total(ctx, call.args[1], call.args[2])?;
    check(ctx, call, arg_i32(call.args[0]), None, n)
}

/// `pwritev(fd, iov, iovcnt, pos)` and `pwritev2(..., flags)`: an offset
/// of -1 (pwritev2) or `RWF_APPEND` writes where `writev` would.
pub fn pwritev(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    const RWF_APPEND: u64 = 0x10;
    let n = iov_total(ctx, call.args[1], call.args[2])?;
    let pos = call.args[3];
    let append = call.sysno == condo_syscalls::Sysno::pwritev2 && call.args[5] & RWF_APPEND != 0;
    let start = if pos as i64 == -1 || append { None } else { Some(pos) };
    check(ctx, call, arg_i32(call.args[0]), start, n)
}

/// `ftruncate(fd, length)`.
pub fn ftruncate(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    check(ctx, call, arg_i32(call.args[0]), Some(call.args[1]), 0)
}

/// `fallocate(fd, mode, offset, len)`: only what changes the size counts;
/// `FALLOC_FL_INSERT_RANGE` grows the file by `len` wherever it inserts.
pub fn fallocate(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    if call.args[1] & libc::FALLOC_FL_KEEP_SIZE as u64 != 0 {
        return Ok(Reply::Continue);
    }
    if call.args[1] & libc::FALLOC_FL_INSERT_RANGE as u64 != 0 {
        return check(ctx, call, arg_i32(call.args[0]), Some(INSERT), call.args[3]);
    }
    check(ctx, call, arg_i32(call.args[0]), Some(call.args[2]), call.args[3])
}

/// The most a copy from guest fd `fd` (reading at `*off` when `off` is
/// not NULL) can move: what a regular file has left, at most a pipe's
/// largest buffer otherwise. Callers ask for far more than that (`cp`
/// passes 2^63 to `copy_file_range`), and only what moves can grow the
/// file written.
fn readable(ctx: &Ctx<'_>, call: &Call, fd: i32, off: u64) -> Result<u64, Errno> {
    const PIPE_MAX: u64 = 1 << 20;
    let Ok(file) = guest_fd(call.tid, fd) else { return Ok(0) };
    let Ok(st) = sys::fstat(file.as_fd()) else { return Ok(0) };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Ok(PIPE_MAX);
    }
    let pos = match offset_at(ctx, off)? {
        Some(o) => o,
        None => nix::unistd::lseek(file.as_fd(), 0, nix::unistd::Whence::SeekCur).map_or(0, |p| p as u64),
    };
    Ok((st.st_size as u64).saturating_sub(pos))
}

/// `copy_file_range(fd_in, off_in, fd_out, off_out, len, flags)`.
pub fn copy_file_range(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let start = offset_at(ctx, call.args[3])?;
    let n = call.args[4].min(readable(ctx, call, arg_i32(call.args[0]), call.args[1])?);
    check(ctx, call, arg_i32(call.args[2]), start, n)
}

/// `sendfile(out_fd, in_fd, offset, count)`: writes at `out_fd`'s position.
pub fn sendfile(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let n = call.args[3].min(readable(ctx, call, arg_i32(call.args[1]), call.args[2])?);
    check(ctx, call, arg_i32(call.args[0]), None, n)
}

/// `splice(fd_in, off_in, fd_out, off_out, len, flags)`.
pub fn splice(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let start = offset_at(ctx, call.args[3])?;
    let n = call.args[4].min(readable(ctx, call, arg_i32(call.args[0]), call.args[1])?);
    check(ctx, call, arg_i32(call.args[2]), start, n)
}

/// Kernel AIO (`io_submit`) writes files without a call the filter sees:
/// with a disk budget it is not offered (`ENOSYS`; POSIX AIO in libc uses
/// threads and plain calls instead).
pub fn no_aio(_ctx: &mut Ctx<'_>, _call: &Call) -> Result<Reply, Errno> {
    Err(Errno::ENOSYS)
}
