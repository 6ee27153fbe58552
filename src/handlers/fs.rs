//! Path family: every call that names a file is answered in the guest's
//! view. The path is read from guest memory once, resolved by
//! [`crate::vfs::Host`], and the supervisor either opens the result and
//! injects the fd, or performs the operation itself on an fd it opened
//! beneath the mount's root. The guest's memory is never consulted again,
//! so a second guest thread rewriting the path changes nothing.
//!
//! Writes under a read-only mount fail with `EROFS` before the host is
//! touched (devices, fifos and sockets excepted, as on a read-only
//! filesystem).

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use condo_syscalls::Sysno;
use nix::errno::Errno;

use super::{Call, Ctx, Reply};
use crate::memory::GuestAddr;
use crate::procfs::fd_path;
use crate::sys;
use crate::vfs::host::O_PATH_NOFOLLOW;
use crate::vfs::{Change, GuestCtx, GuestPath, Host, Mount, MountKind, NodeKind, PATH_MAX};

const AT_FDCWD: i32 = libc::AT_FDCWD;

pub(super) fn host<'a>(ctx: &Ctx<'a>) -> Result<&'a Host, Errno> {
    ctx.vfs.ok_or(Errno::ENOSYS)
}

/// Reads a path argument: `EFAULT` for a bad pointer, `ENAMETOOLONG` when
/// no NUL comes within `PATH_MAX` bytes.
pub(super) fn read_path(ctx: &Ctx<'_>, addr: u64) -> Result<Vec<u8>, Errno> {
    let a = GuestAddr::new(addr).ok_or(Errno::EFAULT)?;
    let p = ctx.mem.read_cstr(a, PATH_MAX)?;
    if p.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok(p)
}

pub(super) fn arg_i32(v: u64) -> i32 {
    v as u32 as i32
}

/// Where a path argument starts: the directory it is relative to (the
/// thread's cwd or the directory fd), in the view and on the host.
struct Base {
    guest: GuestPath,
    /// The host directory the kernel would start from; `None` for an
    /// absolute path.
    host: Option<Vec<u8>>,
    /// The directory itself and the guest path it had, when it was
    /// removed (the cwd or directory fd of a removed directory) and the
    /// path names it: no path names it any more, but `.` does.
    removed: Option<(OwnedFd, GuestPath)>,
}

fn base(ctx: &Ctx<'_>, tid: libc::pid_t, dirfd: i32, path: &[u8]) -> Result<Base, Errno> {
    if path.first() == Some(&b'/') {
        return Ok(Base { guest: GuestPath::root(), host: None, removed: None });
    }
    let h = host(ctx)?;
    let (guest, host) = h.guest_dir_at(tid, dirfd)?;
    // The kernel marks the link of a removed directory so (a directory
    // may also be named so: a removed one has no links).
    if host.ends_with(b" (deleted)") {
        if let Some(dir) = removed_dir(h, tid, dirfd) {
            if names_itself(path) {
                return Ok(Base { guest, host: Some(host), removed: Some(dir) });
            }
            // Nothing is in it or can be made in it; `..` is its parent.
            let first = path.split(|&c| c == b'/').find(|c| !c.is_empty() && *c != b".");
            if first != Some(b"..") {
                return Err(Errno::ENOENT);
            }
        }
    }
    Ok(Base { guest, host: Some(host), removed: None })
}

/// Thread `tid`'s cwd (`AT_FDCWD`) or directory fd `dirfd`, when it is a
/// removed directory: the node, and the guest path its own link names
/// (read from this node, not the thread's link again, which another
/// thread may point at another directory meanwhile). `None` when it is
/// not removed, or the view does not show where it was.
fn removed_dir(h: &Host, tid: libc::pid_t, dirfd: i32) -> Option<(OwnedFd, GuestPath)> {
    let link = if dirfd == AT_FDCWD { "cwd".to_string() } else { format!("fd/{dirfd}") };
    let node = crate::procfs::task_node(tid, &link).ok()?;
    let shown = h.removed_shown(node.as_fd(), libc::S_IFDIR)?;
    Some((node, shown))
}

/// Whether relative `path` names the directory it starts at (`.`, `./`,
/// `./.`).
fn names_itself(path: &[u8]) -> bool {
    !path.is_empty() && path.split(|&c| c == b'/').all(|c| c.is_empty() || c == b".")
}

/// `dir` joined with `path` when that needs no resolution (no `..`, no
/// trailing slash, not ending in `.`, not empty). (A final `.` would
/// vanish in the join, and with it the check that what comes before it
/// is a directory.)
fn joined(dir: &[u8], path: &[u8]) -> Option<GuestPath> {
    if path.is_empty()
        || path.ends_with(b"/")
        || path.ends_with(b"/.")
        || path == b"."
        || path.split(|&b| b == b'/').any(|c| c == b"..")
    {
        return None;
    }
    if path.first() == Some(&b'/') {
        GuestPath::new(path).ok()
    } else {
        let mut full = Vec::with_capacity(dir.len() + 1 + path.len());
        full.extend_from_slice(dir);
        full.push(b'/');
        full.extend_from_slice(path);
        GuestPath::new(&full).ok()
    }
}

/// The guest path `path` names when that needs no resolution: the
/// candidate for the fast path.
fn lexical(base: &Base, path: &[u8]) -> Option<GuestPath> {
    joined(base.guest.as_bytes(), path)
}

/// The mode a node the supervisor makes for the guest gets: `mode` less
/// the guest thread's umask, as the kernel would apply it (the notify
/// worker's own umask is 0: [`sys::own_zero_umask`]).
fn new_mode(call: &Call, mode: u32) -> u32 {
    mode & !crate::procfs::umask(call.tid).unwrap_or(0o022)
}

/// Whether the kernel, given the guest's own `path` from `base`, walks
/// to the very host name the view shows for it at `at` (guest path
/// `abs`): [`Host::kernel_resolves_alike`] with the host path the kernel
/// would walk.
fn kernel_alike(h: &Host, base: &Base, path: &[u8], at: &crate::vfs::Lookup<'_>, abs: &GuestPath) -> bool {
    kernel_path(h, base, path, at, abs).is_some()
}

/// [`kernel_alike`]'s host path, when the kernel would walk to the name
/// the view shows.
fn kernel_path(h: &Host, base: &Base, path: &[u8], at: &crate::vfs::Lookup<'_>, abs: &GuestPath) -> Option<GuestPath> {
    joined(base.host.as_deref().unwrap_or(b"/"), path).filter(|k| h.kernel_resolves_alike(at, abs, k))
}

/// A host directory a probe found to be a directory all the way from its
/// mount's root, with no symlink on the way.
struct PlainDir {
    /// The count of [`crate::procfs::dirs_moved`] it was probed at: it is
    /// known plain while that has not changed since.
    moves: u64,
    /// The directory, opened once a name in it was looked up: the next
    /// names are looked up from it, not walked to from the mount's root
    /// again (an open in a deep directory: 0.5-1 µs less).
    fd: Option<OwnedFd>,
}

thread_local! {
    /// Host directories known plain, keyed by host path.
    static PLAIN_DIRS: std::cell::RefCell<crate::procfs::Recent<Vec<u8>, PlainDir, 16>> =
        const { std::cell::RefCell::new(crate::procfs::Recent::new()) };
}

fn plain_dir_known(dir: &GuestPath) -> bool {
    let moves = crate::procfs::dir_moves();
    PLAIN_DIRS.with(|c| c.borrow().get(dir.as_bytes()).is_some_and(|p| p.moves == moves))
}

fn plain_dir_seen(dir: &GuestPath, moves: u64) {
    PLAIN_DIRS.with(|c| {
        let mut c = c.borrow_mut();
        if c.get(dir.as_bytes()).is_none_or(|p| p.moves != moves) {
            c.keep(dir.as_bytes().to_vec(), PlainDir { moves, fd: None });
        }
    });
}

/// The name at `at` as `lstat` shows it, when `dir`, the host directory
/// it is in, is known plain: looked up from the directory's fd. `None`
/// when `dir` is not known plain or its mount is not a plain tree.
///
/// The fd may be of a directory removed (natively, beneath a writable
/// directory's fd) and made again since, which has no names: a name it
/// lacks is looked up from the mount's root. Any other way a directory
/// moves is notified and bumps the count the entry is kept with.
fn lstat_in_plain_dir(h: &Host, dir: &GuestPath, at: &crate::vfs::Lookup<'_>) -> Option<Result<libc::stat, Errno>> {
    let moves = crate::procfs::dir_moves();
    let from_fd = PLAIN_DIRS.with(|c| {
        let mut c = c.borrow_mut();
        let p = c.get_mut(dir.as_bytes()).filter(|p| p.moves == moves)?;
        if p.fd.is_none() {
            p.fd = h.plain_parent(at);
        }
        Some(p.fd.as_ref().map(|fd| sys::lstat_at(fd.as_fd(), last_name(at.rest))))
    })?;
    match from_fd {
        Some(Ok(st)) => Some(Ok(st)),
        _ => h.lstat_plain(at),
    }
}

/// Whether a call that only looks at a name, without following it if it
/// is a symlink (`lstat`, git's index refresh), may go on natively with
/// no probe: the kernel resolves it alike ([`kernel_alike`]) and the
/// directory it is in was probed plain since the view last saw a
/// directory renamed or removed. Only the last name is then unchecked,
/// and it is not followed. A directory a *host* process swaps for a
/// symlink meanwhile would be followed: the metadata of a host path,
/// which `..` beneath a directory fd shows natively anyway (see
/// docs/ARCHITECTURE.md, the fast path).
fn looks_natively(h: &Host, b: &Base, path: &[u8]) -> bool {
    let Some(abs) = lexical(b, path) else { return false };
    let Some(at) = h.fast_lookup(&abs) else { return false };
    kernel_path(h, b, path, &at, &abs).and_then(|k| k.parent()).is_some_and(|d| plain_dir_known(&d))
}

/// What a path names, opened `O_PATH` on the host (never a symlink a
/// call would follow).
pub(super) struct Found<'h> {
    pub(super) fd: OwnedFd,
    mount: &'h Mount,
    rest: Vec<u8>,
    /// Its guest path.
    path: GuestPath,
    /// Whether the kernel, given the guest's own arguments, would reach
    /// this very host node without a symlink on the way
    /// ([`Host::kernel_resolves_alike`]): a call that only looks at it
    /// (stat, access) may then be continued natively. Landlock has no
    /// right for looking, but a thread rewriting the path meanwhile
    /// learns no more than a stat beneath a directory fd, which runs
    /// natively anyway (see docs/ARCHITECTURE.md, the fast path).
    native: bool,
    /// A file no path names any more, found through its fd's link:
    /// changed as it is, never copied up.
    removed: bool,
}

fn guest_ctx<'a>(ctx: &'a Ctx<'_>, call: &Call) -> GuestCtx<'a> {
    GuestCtx { tid: call.tid, in_sandbox: ctx.in_sandbox }
}

/// Finds an existing node: the fast path first (one `openat2`), the full
/// resolution when it meets a symlink.
pub(super) fn locate<'h>(
    ctx: &Ctx<'h>,
    call: &Call,
    dirfd: i32,
    path: &[u8],
    follow: bool,
) -> Result<Found<'h>, Errno> {
    let h = host(ctx)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if follow {
        if let Some(shown) = h.proc_fd_target(&guest_ctx(ctx, call), path) {
            return locate(ctx, call, AT_FDCWD, shown.as_bytes(), true);
        }
    }
    let b = base(ctx, call.tid, dirfd, path)?;
    locate_from(ctx, call, &b, path, follow)
}

/// [`locate`] for a call that looks at a name without following a last
/// symlink: `None` when it may go on natively unprobed
/// ([`looks_natively`]).
fn look<'h>(ctx: &Ctx<'h>, call: &Call, dirfd: i32, path: &[u8]) -> Result<Option<Found<'h>>, Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let b = base(ctx, call.tid, dirfd, path)?;
    if looks_natively(host(ctx)?, &b, path) {
        return Ok(None);
    }
    locate_from(ctx, call, &b, path, false).map(Some)
}

/// [`locate`] from `b`, the directory a relative `path` starts at.
fn locate_from<'h>(ctx: &Ctx<'h>, call: &Call, b: &Base, path: &[u8], follow: bool) -> Result<Found<'h>, Errno> {
    let h = host(ctx)?;
    if let Some((dir, shown)) = &b.removed {
        // Found through the thread's own link: the view knows the
        // directory only by the path it had.
        let (mount, start) = h.view().find(shown).ok_or(Errno::ENOENT)?;
        let rest = shown.as_bytes().get(start..).unwrap_or_default().to_vec();
        let fd = dir.try_clone().map_err(|_| Errno::EMFILE)?;
        return Ok(Found { fd, mount, rest, path: shown.clone(), native: false, removed: true });
    }
    if let Some(abs) = lexical(b, path) {
        if let Some(at) = h.fast_lookup(&abs) {
            let kernel = kernel_path(h, b, path, &at, &abs);
            let native = kernel.is_some();
            // Where the kernel would resolve alike the mount is a plain
            // tree: one openat2 that follows no symlink, not even a last
            // one (ELOOP), says all.
            let flags = if native && follow { libc::O_PATH } else { O_PATH_NOFOLLOW };
            let moves = crate::procfs::dir_moves();
            match h.open_at(&at, flags, 0) {
                Err(Errno::ELOOP) => {}
                Err(e) => return Err(e),
                Ok(fd) => {
                    if let Some(dir) = kernel.and_then(|k| k.parent()) {
                        plain_dir_seen(&dir, moves);
                    }
                    if native || !(follow && is_symlink(fd.as_fd())) {
                        let mount = h.view().find(&abs).ok_or(Errno::ENOENT)?.0;
                        let rest = at.rest.to_vec();
                        return Ok(Found { fd, mount, rest, path: abs.clone(), native, removed: false });
                    }
                }
            }
        }
    }
    let g = guest_ctx(ctx, call);
    let r = h.resolve(&g, &b.guest, path, follow, false)?;
    let fd = match h.stand_in(r.path()).filter(|_| r.is_skeleton()) {
        Some(dir) => nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )?,
        // A pipe's or socket's /proc/PID/fd/N followed: the pipe itself.
        None if follow && h.is_proc_fd_entry(&r.lookup()) => {
            let fd = h.open_at(&r.lookup(), libc::O_PATH, 0)?;
            // A removed file's: changed where it was, when the view shows
            // that place writable (Host::removed_file_mount), the node
            // itself (never an overlay's copy-up by a path it lost).
            if let Some(mount) = h.removed_file_mount(fd.as_fd()) {
                return Ok(Found { fd, mount, rest: Vec::new(), path: r.path().clone(), native: false, removed: true });
            }
            fd
        }
        None => h.open_at(&r.lookup(), O_PATH_NOFOLLOW, 0)?,
    };
    Ok(Found { fd, mount: r.mount(), rest: r.rest().to_vec(), path: r.path().clone(), native: false, removed: false })
}

/// Where a name is to be made or removed: its mount and path there.
/// Nothing is opened yet: in an overlay, the directory to change is the
/// upper layer's, made only once the change is known to be allowed.
pub(super) struct Place<'h> {
    mount: &'h Mount,
    rest: Vec<u8>,
    exists: bool,
    root: bool,
    /// Its guest path.
    pub(super) path: GuestPath,
    /// Whether the kernel, given the guest's own arguments, would reach
    /// this very host name ([`Host::kernel_resolves_alike`]), with no
    /// symlink on the way: the change may then be continued natively.
    native: bool,
    /// The file type of what is there (`S_IFREG` for any file that is
    /// neither a directory nor a symlink, when the full resolution looked).
    kind: Option<libc::mode_t>,
    /// Whether the path argument had a slash after its last name, which
    /// names a directory: the name itself is looked at (a last symlink
    /// is not followed, as the kernel does for a change).
    slash: bool,
}

/// `making`: the call would make the name (a missing name in a directory
/// the mount table makes is then `EACCES`; for a removal it is `ENOENT`).
fn place<'h>(ctx: &Ctx<'h>, call: &Call, dirfd: i32, path: &[u8], making: bool) -> Result<Place<'h>, Errno> {
    let h = host(ctx)?;
    let (path, slash) = without_trailing_slash(path);
    let b = base(ctx, call.tid, dirfd, path)?;
    if let Some(p) = fast_place(h, &b, path) {
        return Ok(Place { slash, ..p });
    }
    let g = guest_ctx(ctx, call);
    let r = h.resolve(&g, &b.guest, path, false, making)?;
    let mount = r.mount();
    if matches!(mount.kind(), MountKind::Hidden) || r.is_skeleton() {
        // A directory the mount table makes: nothing may be made in it
        // on the host below.
        return Err(match (r.exists(), making) {
            (true, _) => Errno::EBUSY,
            (false, true) => Errno::EACCES,
            (false, false) => Errno::ENOENT,
        });
    }
    let rest = r.rest().to_vec();
    let root = rest.is_empty();
    let kind = r.kind().map(|k| match k {
        NodeKind::Dir => libc::S_IFDIR,
        NodeKind::Symlink(_) => libc::S_IFLNK,
        NodeKind::File => libc::S_IFREG,
    });
    Ok(Place { mount, exists: r.exists(), rest, root, path: r.path().clone(), native: false, kind, slash })
}

/// `path` without the slashes after its last name, and whether it had
/// any (`/` stays `/`).
fn without_trailing_slash(path: &[u8]) -> (&[u8], bool) {
    let end = path.iter().rposition(|&b| b != b'/').map_or(path.len().min(1), |i| i + 1);
    (&path[..end], end < path.len())
}

/// The fast path of [`place`], as [`locate`] has one: a path with no `..`
/// in a mount whose host side is a plain directory tree, whose parent
/// opens beneath the mount's root without meeting a symlink (one
/// `openat2`) and whose last name is looked at without following it.
/// `None` whenever the full resolution is needed (a symlink on the way, a
/// mount's root, a missing parent, a name the mount table makes).
fn fast_place<'h>(h: &'h Host, base: &Base, path: &[u8]) -> Option<Place<'h>> {
    let abs = lexical(base, path)?;
    let at = h.fast_lookup(&abs)?;
    if at.rest.is_empty() {
        return None;
    }
    let parent = h.open_parent(&at);
    let name = CString::new(crate::vfs::mount::split_rest(at.rest).1).ok()?;
    let kind = match nix::sys::stat::fstatat(
        parent.ok()?.as_fd(),
        name.as_c_str(),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(st) => Some(st.st_mode & libc::S_IFMT),
        Err(Errno::ENOENT) => None,
        Err(_) => return None,
    };
    // The parent opened without meeting a symlink: the kernel walks the
    // same names, if it starts from the same host directory.
    let native = kernel_alike(h, base, path, &at, &abs);
    let mount = h.view().find(&abs)?.0;
    let rest = at.rest.to_vec();
    Some(Place { mount, exists: kind.is_some(), rest, root: false, path: abs, native, kind, slash: false })
}

impl Place<'_> {
    fn lookup(&self) -> crate::vfs::Lookup<'_> {
        crate::vfs::Lookup { mount: self.mount, rest: &self.rest }
    }

    fn is_dir(&self) -> bool {
        self.kind == Some(libc::S_IFDIR)
    }
}

/// A name about to be made: the directory to make it in (`O_PATH`), the
/// name, and where it is.
pub(super) struct NewPlace<'h> {
    pub(super) parent: OwnedFd,
    pub(super) name: CString,
    place: Place<'h>,
}

/// [`place`] for a name to be made (a directory when `dir`): it must not
/// exist (nor be a mount's root), and its mount must be writable.
fn new_place<'h>(ctx: &Ctx<'h>, call: &Call, dirfd: i32, path: &[u8], dir: bool) -> Result<Place<'h>, Errno> {
    let p = place(ctx, call, dirfd, path, true)?;
    if p.exists || p.root {
        return Err(Errno::EEXIST);
    }
    // A slash after a missing name asks for a directory: nothing else is
    // made there.
    if p.slash && !dir {
        return Err(Errno::ENOENT);
    }
    check_writable(host(ctx)?, p.mount, &p.rest)?;
    Ok(p)
}

/// [`new_place`], with the directory to make the name in opened.
pub(super) fn place_new<'h>(ctx: &Ctx<'h>, call: &Call, dirfd: i32, path: &[u8]) -> Result<NewPlace<'h>, Errno> {
    making(host(ctx)?, new_place(ctx, call, dirfd, path, false)?)
}

impl NewPlace<'_> {
    /// Its guest path.
    pub(super) fn path(&self) -> &GuestPath {
        &self.place.path
    }

    /// The result of making the name, passed through; a failure puts back
    /// what [`Host::parent_for_new`] removed (an overlay's whiteout).
    pub(super) fn made<T>(&self, h: &Host, r: Result<T, Errno>) -> Result<T, Errno> {
        if r.is_err() {
            h.making_failed(&self.place.lookup());
        }
        r
    }
}

/// Opens the directory a checked [`Place`] is to be made in.
fn making<'h>(h: &Host, p: Place<'h>) -> Result<NewPlace<'h>, Errno> {
    let parent = h.parent_for_new(&p.lookup())?;
    let last = crate::vfs::mount::split_rest(&p.rest).1;
    let name = CString::new(last).map_err(|_| Errno::EINVAL)?;
    Ok(NewPlace { parent, name, place: p })
}

/// Records for the report that the guest changed `path`. `None`: a file
/// the view shows nowhere (a pipe, a device), or one the guest holds open
/// for writing, which its open recorded already.
pub(super) fn note(ctx: &Ctx<'_>, path: Option<&GuestPath>, what: Change) {
    if let (Some(h), Some(p)) = (ctx.vfs, path) {
        h.record(p, what);
    }
}

fn check_writable(h: &Host, mount: &Mount, rest: &[u8]) -> Result<(), Errno> {
    if h.writable(mount, rest) {
        Ok(())
    } else {
        Err(Errno::EROFS)
    }
}

fn is_special(fd: BorrowedFd<'_>) -> bool {
    sys::fstat(fd).is_ok_and(|st| {
        matches!(st.st_mode & libc::S_IFMT, libc::S_IFCHR | libc::S_IFBLK | libc::S_IFIFO | libc::S_IFSOCK)
    })
}

// ---- open -------------------------------------------------------------

fn open_common(ctx: &mut Ctx<'_>, call: &Call, dirfd: i32, path: u64, flags: i32, mode: u32) -> Result<Reply, Errno> {
    let path = read_path(ctx, path)?;
    open_path(ctx, call, dirfd, path, flags, mode, true)
}

/// [`open_common`] of a path already read. `native_ok`: the call may go
/// on natively when the kernel, given the guest's own arguments, would
/// open what the view shows (not when those are not `path`).
fn open_path(
    ctx: &mut Ctx<'_>,
    call: &Call,
    dirfd: i32,
    path: Vec<u8>,
    flags: i32,
    mode: u32,
    native_ok: bool,
) -> Result<Reply, Errno> {
    let h = host(ctx)?;
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let creates = flags & libc::O_CREAT != 0;
    if creates && without_trailing_slash(&path).1 {
        // Made only as a file: the directories above are looked up, then
        // the kernel says what it says of any name with a slash after it.
        place(ctx, call, dirfd, &path, true)?;
        return Err(Errno::EISDIR);
    }
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let acc = flags & libc::O_ACCMODE;
    let writes = acc != libc::O_RDONLY || flags & (libc::O_TRUNC | libc::O_TMPFILE & !libc::O_DIRECTORY) != 0;
    let b = base(ctx, call.tid, dirfd, &path)?;
    // `probe`: the name opened `O_PATH_NOFOLLOW`, when the caller did.
    let open_fd = |at: &crate::vfs::Lookup<'_>, probe: Option<Result<OwnedFd, Errno>>| -> Result<OwnedFd, Errno> {
        // /dev/stdout and the like on a pipe or socket: reopened as the
        // kernel would, whatever the flags (see Host::open_at).
        if h.writable(at.mount, at.rest) || flags & libc::O_PATH != 0 || h.is_proc_fd_entry(at) {
            let makes = creates || flags & libc::O_TMPFILE == libc::O_TMPFILE;
            return h.open_at(at, flags, if makes { new_mode(call, mode) } else { mode });
        }
        // Read-only: what exists may be opened for reading (and devices,
        // fifos and sockets for writing); nothing may be made or changed.
        match probe.unwrap_or_else(|| h.open_at(at, O_PATH_NOFOLLOW, 0)) {
            Ok(probe) => {
                if writes && !is_special(probe.as_fd()) {
                    return Err(Errno::EROFS);
                }
                if creates && flags & libc::O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                h.open_at(at, flags & !(libc::O_CREAT | libc::O_EXCL), mode)
            }
            // /proc makes no names: the kernel's ENOENT there.
            Err(Errno::ENOENT)
                if creates && !matches!(at.mount.kind(), MountKind::Synthetic(crate::vfs::Synthetic::Proc)) =>
            {
                Err(Errno::EROFS)
            }
            Err(e) => Err(e),
        }
    };
    let open = |at: &crate::vfs::Lookup<'_>| -> Result<Reply, Errno> {
        // A fifo opened blocks until its other end is: found first. Not
        // with O_DIRECTORY, which fails on one before opening it.
        let mut probe = None;
        if flags & (libc::O_NONBLOCK | libc::O_PATH | libc::O_DIRECTORY) == 0 {
            let found = h.open_at(at, O_PATH_NOFOLLOW, 0);
            if matches!(found, Err(Errno::ENOENT)) && !creates {
                return Err(Errno::ENOENT);
            }
            match found {
                Ok(found) if sys::fstat(found.as_fd()).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFIFO) => {
                    if creates && flags & libc::O_EXCL != 0 {
                        return Err(Errno::EEXIST);
                    }
                    // An overlay's source fifo: its upper copy (see
                    // Layers::open).
                    let node = match h.layers_of(at.mount) {
                        Some(_) => h.node_for_change(at)?,
                        None => found,
                    };
                    return Ok(open_fifo(node, flags, cloexec));
                }
                found => probe = Some(found),
            }
        }
        open_fd(at, probe).map(|fd| Reply::Fd { fd, cloexec, at: None, hold: !h.shows_cpu_mask(at) })
    };
    let placed = |path: &GuestPath, reply: Reply| -> Reply {
        match reply {
            Reply::Fd { fd, cloexec, at: None, hold } => {
                let at = high_slot(h, call.tid, path, fd.as_fd(), flags);
                Reply::Fd { fd, cloexec, at, hold }
            }
            other => other,
        }
    };
    // For the report and the disk budget: an open that may change a
    // writable mount's file.
    let opened = |path: &GuestPath, at: &crate::vfs::Lookup<'_>, before, reply: &Reply| {
        if (writes || creates) && h.writable(at.mount, at.rest) {
            h.record(path, if writes { Change::Written } else { Change::Created });
            disk_after(h, at, before, reply);
        }
    };
    if let Some((dir, _)) = &b.removed {
        // `.` of a removed directory: reopened from the node the thread's
        // own link gave. A directory is opened for reading only.
        if acc != libc::O_RDONLY || creates {
            return Err(Errno::EISDIR);
        }
        let keep = flags & !(libc::O_TRUNC | libc::O_NOFOLLOW) | libc::O_CLOEXEC;
        let fd = crate::procfs::reopen(dir.as_fd(), nix::fcntl::OFlag::from_bits_truncate(keep))?;
        return Ok(Reply::Fd { fd, cloexec, at: None, hold: true });
    }
    if let Some(abs) = lexical(&b, &path) {
        if let Some(at) = h.fast_lookup(&abs) {
            let before = disk_before(h, &at, writes || creates);
            // A writable directory's fd goes where changes beneath it run
            // natively: the kernel would pick a low number.
            let placing = opens_directory(flags) && h.changes_beneath(&at);
            let native = if placing || !native_ok {
                Native::Answer
            } else {
                continues_natively(h, &b, &path, &at, &abs, flags)?
            };
            if native == Native::Continue {
                opened(&abs, &at, before, &Reply::Continue);
                return Ok(Reply::Continue);
            }
            match if native == Native::Walk { Err(Errno::ELOOP) } else { open(&at) } {
                Err(Errno::ELOOP) => {}
                other => {
                    if let Ok(reply) = &other {
                        opened(&abs, &at, before, reply);
                    }
                    return other.map(|r| placed(&abs, r));
                }
            }
        }
    }
    let g = guest_ctx(ctx, call);
    let follow = flags & libc::O_NOFOLLOW == 0;
    let r = h.resolve(&g, &b.guest, &path, follow, creates)?;
    if r.is_skeleton() {
        if let Some(dir) = h.stand_in(r.path()) {
            // A directory the mount table makes and the host does not
            // have: an empty private directory stands in (its listing is
            // made, see list_dir), opened as any directory is.
            if acc != libc::O_RDONLY || creates && flags & libc::O_DIRECTORY == 0 {
                return Err(Errno::EISDIR);
            }
            let keep = !(libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC | libc::O_NOFOLLOW);
            let oflags = nix::fcntl::OFlag::from_bits_truncate((flags & keep) | libc::O_DIRECTORY | libc::O_CLOEXEC);
            let fd = nix::fcntl::open(dir, oflags, nix::sys::stat::Mode::empty())?;
            return Ok(placed(r.path(), Reply::Fd { fd, cloexec, at: None, hold: true }));
        }
        if !r.exists() {
            return Err(Errno::ENOENT);
        }
    }
    if native_ok && continues_after_walk(h, &b, &path, &r, flags) {
        return Ok(Reply::Continue);
    }
    let before = disk_before(h, &r.lookup(), writes || creates);
    let reply = open(&r.lookup())?;
    opened(r.path(), &r.lookup(), before, &reply);
    Ok(placed(r.path(), reply))
}

/// Whether an open with `flags` opens a directory (`O_DIRECTORY`), not
/// a new file in one (`O_TMPFILE`, which has the `O_DIRECTORY` bit).
fn opens_directory(flags: i32) -> bool {
    flags & libc::O_DIRECTORY != 0 && flags & libc::O_TMPFILE != libc::O_TMPFILE
}

/// The guest's fd number for `file` at guest path `dir`, opened with
/// `flags`, when it is a directory whose fd has a floor
/// ([`Host::dirfd_floor`]): the lowest free one from
/// [`crate::filter::NATIVE_DIRFDS`] up when the kernel would not resolve
/// names beneath it as the view does (the filter notifies there), from
/// [`crate::filter::CHANGE_DIRFDS`] up for a writable one beneath which
/// changes run natively. `None`: the lowest free one, as the kernel picks.
fn high_slot(h: &Host, tid: libc::pid_t, dir: &GuestPath, file: BorrowedFd<'_>, flags: i32) -> Option<i32> {
    let floor = h.dirfd_floor(dir)?;
    // What an O_DIRECTORY open opened is one.
    if !opens_directory(flags) && !sys::fstat(file).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR) {
        return None;
    }
    crate::procfs::free_fd_from(tid, floor as i32)
}

type DiskKey = (u64, u64);

/// With a disk budget, the regular file at `at` in a writable place, as
/// the budget sees it (in an overlay only one the upper layer holds: a
/// source file is copied up when written, and all of the copy is added;
/// removing one frees nothing).
fn disk_node(h: &Host, at: &crate::vfs::Lookup<'_>) -> Option<libc::stat> {
    h.disk()?;
    if !h.writable(at.mount, at.rest) {
        return None;
    }
    let node = match h.layers_of(at.mount) {
        Some(l) => match l.find(at.rest) {
            Ok((crate::vfs::overlay::Layer::Upper, fd)) => fd,
            _ => return None,
        },
        None => h.open_at(at, O_PATH_NOFOLLOW, 0).ok()?,
    };
    let st = sys::fstat(node.as_fd()).ok()?;
    (st.st_mode & libc::S_IFMT == libc::S_IFREG).then_some(st)
}

/// Before an open that may write (`writes`): the file already there and
/// its size ([`disk_node`]).
fn disk_before(h: &Host, at: &crate::vfs::Lookup<'_>, writes: bool) -> Option<(DiskKey, u64)> {
    if !writes {
        return None;
    }
    let st = disk_node(h, at)?;
    Some(((st.st_dev, st.st_ino), st.st_size as u64))
}

/// After it: the file opened counts from its size before the open, or
/// from nothing when the open made it (or copied it up). A file the
/// kernel makes itself (the open continued) is tracked at its first write.
fn disk_after(h: &Host, at: &crate::vfs::Lookup<'_>, before: Option<(DiskKey, u64)>, reply: &Reply) {
    let Some(disk) = h.disk() else { return };
    let mount = h.mount_index(at.mount);
    match reply {
        Reply::Fd { fd, .. } => {
            if let Ok(st) = sys::fstat(fd.as_fd()) {
                if st.st_mode & libc::S_IFMT == libc::S_IFREG {
                    let key = (st.st_dev, st.st_ino);
                    disk.track(key, before.filter(|(k, _)| *k == key).map_or(0, |(_, size)| size), mount);
                }
            }
        }
        Reply::Continue => {
            if let Some((key, size)) = before {
                disk.track(key, size, mount);
            }
        }
        _ => {}
    }
}

/// With a disk budget, before a name is removed or replaced: the regular
/// file whose space that frees (its last link, in the mount's own storage:
/// not an overlay's source).
fn disk_freed(h: &Host, at: &crate::vfs::Lookup<'_>) -> Option<(DiskKey, u64)> {
    let st = disk_node(h, at).filter(|st| st.st_nlink == 1)?;
    Some(((st.st_dev, st.st_ino), st.st_size as u64))
}

/// Books what [`disk_freed`] found in `at`'s mount, once the removal
/// happened.
fn disk_gone(h: &Host, at: &crate::vfs::Lookup<'_>, freed: Option<(DiskKey, u64)>) {
    if let (Some(disk), Some((key, size))) = (h.disk(), freed) {
        disk.removed(key, size, h.mount_index(at.mount));
    }
}

/// A blocking open of a fifo waits for the other end, which another
/// guest call may be about to open: it runs on a thread of its own, so
/// the notify worker can answer that call meanwhile. It opens the very
/// node resolved, through the supervisor's `O_PATH` fd of it.
fn open_fifo(node: OwnedFd, flags: i32, cloexec: bool) -> Reply {
    Reply::Deferred(Box::new(move || {
        let keep = !(libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_TRUNC);
        let oflags = nix::fcntl::OFlag::from_bits_truncate(flags & keep) | nix::fcntl::OFlag::O_CLOEXEC;
        let fd = crate::procfs::reopen(node.as_fd(), oflags)?;
        Ok(Reply::Fd { fd, cloexec, at: None, hold: true })
    }))
}

/// After a full resolution (the path met a symlink or `..`): whether the
/// kernel, walking the guest's own string, reaches the very file the view
/// found, so that the open may go on natively as [`continues_natively`]
/// lets it: every program's libraries are opened through `/lib`, a
/// symlink on a merged-`/usr` system (an injected fd costs the guest two
/// more wake-ups). Only a regular file opened for reading, shown where
/// the host has it, in a plain tree Landlock covers: nothing is made,
/// changed or placed. The kernel's walk is done here, from the host
/// directory the guest's starts at, following symlinks as the kernel
/// would (magic links refused), and the two files compared. A second
/// guest thread changing the string or a symlink meanwhile gets what
/// Landlock lets it read, as on the fast path.
fn continues_after_walk(h: &Host, base: &Base, path: &[u8], r: &crate::vfs::Resolved<'_>, flags: i32) -> bool {
    let plain_read = flags & libc::O_ACCMODE == libc::O_RDONLY
        && flags & (libc::O_CREAT | libc::O_TRUNC | libc::O_PATH | libc::O_TMPFILE | libc::O_DIRECTORY) == 0;
    if !plain_read || base.removed.is_some() || !r.exists() {
        return false;
    }
    let at = r.lookup();
    if !h.kernel_resolves_alike(&at, r.path(), r.path()) {
        return false;
    }
    let Some(Ok(st)) = h.lstat_plain(&at) else { return false };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return false;
    }
    let mut kernel = Vec::with_capacity(path.len() + 64);
    if path.first() != Some(&b'/') {
        let Some(dir) = &base.host else { return false };
        kernel.extend_from_slice(dir);
        kernel.push(b'/');
    }
    kernel.extend_from_slice(path);
    let how = (libc::O_PATH | libc::O_CLOEXEC | flags & libc::O_NOFOLLOW) as u64;
    sys::openat2_cwd(&kernel, how, libc::RESOLVE_NO_MAGICLINKS)
        .and_then(|k| sys::fstat(k.as_fd()))
        .is_ok_and(|k| (k.st_dev, k.st_ino) == (st.st_dev, st.st_ino))
}

/// What [`continues_natively`] found an open to need.
#[derive(PartialEq, Eq)]
enum Native {
    /// The kernel may run it as the guest made it.
    Continue,
    /// Answered in the view, from the name the fast path looked up.
    Answer,
    /// A symlink lies on the way: answered in the view after a full
    /// resolution.
    Walk,
}

/// Whether an open found on the fast path may run as the guest made it:
/// the kernel resolves it alike ([`Host::kernel_resolves_alike`]: the
/// host path it walks from the guest's directory or `/` is the one the
/// view shows there, under Landlock), it changes nothing or its mount is
/// writable, and the path names an existing non-symlink, reached without
/// one (a symlink would be followed by the kernel out of the view's
/// meaning of it), or a name to create.
fn continues_natively(
    h: &Host,
    base: &Base,
    path: &[u8],
    at: &crate::vfs::Lookup<'_>,
    abs: &GuestPath,
    flags: i32,
) -> Result<Native, Errno> {
    let writes = flags as u32 & crate::filter::OPEN_WRITE_FLAGS != 0;
    let native = |yes: bool| if yes { Native::Continue } else { Native::Answer };
    // An unnamed file is made in the view's way, as beneath a directory
    // fd (crate::filter::O_TMPFILE_BIT): with the view's mode and report.
    if flags & libc::O_TMPFILE == libc::O_TMPFILE {
        return Ok(Native::Answer);
    }
    let Some(kernel) = kernel_path(h, base, path, at, abs) else { return Ok(Native::Answer) };
    if writes && !h.writable(at.mount, at.rest) {
        return Ok(Native::Answer);
    }
    // An exclusive create follows nothing at the last name and makes it
    // only where nothing is: whatever is there, the kernel's EEXIST is the
    // view's. Only the directory matters, as for any create below.
    // Whether the directory a name is made in is reached with no symlink.
    let parent_plain = || match h.open_parent(at) {
        Ok(_) => Ok(Native::Continue),
        Err(Errno::ELOOP) => Ok(Native::Walk),
        Err(e) => Err(e),
    };
    if flags & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL && !at.rest.is_empty() {
        return parent_plain();
    }
    let dir = kernel.parent();
    let moves = crate::procfs::dir_moves();
    // Its directory probed plain since the view last saw one move (a build
    // opens file after file of one directory): the last name alone
    // decides, and one lstat says what it is.
    if let Some(last) = dir.as_ref().and_then(|d| lstat_in_plain_dir(h, d, at)) {
        return match last {
            // A symlink last: followed in the view.
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                Ok(if flags & libc::O_NOFOLLOW == 0 { Native::Walk } else { Native::Answer })
            }
            Ok(_) => Ok(Native::Continue),
            Err(Errno::ENOENT) if flags & libc::O_CREAT != 0 => Ok(Native::Continue),
            Err(e @ (Errno::ENOENT | Errno::ENOTDIR)) => Err(e),
            Err(_) => Ok(Native::Answer),
        };
    }
    // Following: a last symlink is ELOOP too, and the view resolves it.
    let follow = flags & libc::O_NOFOLLOW == 0;
    match h.open_at(at, if follow { libc::O_PATH } else { O_PATH_NOFOLLOW }, 0) {
        Ok(probe) => {
            // Found with no symlink on the way.
            if let Some(d) = &dir {
                plain_dir_seen(d, moves);
            }
            Ok(native(follow || !is_symlink(probe.as_fd())))
        }
        // Only a missing last name is made; a missing directory above it
        // is the view's ENOENT (not a create the report would list).
        Err(Errno::ENOENT) if flags & libc::O_CREAT != 0 => parent_plain(),
        // Nothing there, in the view as on the host.
        Err(e @ (Errno::ENOENT | Errno::ENOTDIR)) => Err(e),
        Err(Errno::ELOOP) => Ok(Native::Walk),
        Err(_) => Ok(Native::Answer),
    }
}

/// `open(path, flags, mode)`.
pub fn open(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    open_common(ctx, call, AT_FDCWD, call.args[0], arg_i32(call.args[1]), call.args[2] as u32)
}

/// `creat(path, mode)`.
pub fn creat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let flags = libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC;
    open_common(ctx, call, AT_FDCWD, call.args[0], flags, call.args[1] as u32)
}

/// `openat(dirfd, path, flags, mode)`.
pub fn openat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    open_common(ctx, call, arg_i32(call.args[0]), call.args[1], arg_i32(call.args[2]), call.args[3] as u32)
}

/// `openat2(dirfd, path, how, size)`: flags and mode from `how`; the
/// `RESOLVE_*` flags are the guest's own restrictions on itself and are
/// checked in the view only for `RESOLVE_NO_SYMLINKS`-free paths (see
/// docs/ARCHITECTURE.md).
pub fn openat2(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let size = call.args[3] as usize;
    if size < 24 {
        return Err(Errno::EINVAL);
    }
    if size > 4096 {
        return Err(Errno::E2BIG);
    }
    let mut how = vec![0u8; size];
    ctx.mem.read(GuestAddr::new(call.args[2]).ok_or(Errno::EFAULT)?, &mut how)?;
    // A larger struct from a newer caller: its fields beyond ours unset.
    if how[24..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    let word = |i: usize| u64::from_ne_bytes(how[i..i + 8].try_into().unwrap_or_default());
    let (flags, mode, resolve) = (word(0), word(8), word(16));
    let makes = flags & (libc::O_CREAT | libc::O_TMPFILE) as u64 != 0;
    if flags & !VALID_OPEN_FLAGS != 0 || mode & !0o7777 != 0 || mode != 0 && !makes || resolve & !RESOLVE_ALL != 0 {
        return Err(Errno::EINVAL);
    }
    let (dirfd, flags, mode) = (arg_i32(call.args[0]), flags as i32, mode as u32);
    if resolve == 0 {
        return open_common(ctx, call, dirfd, call.args[1], flags, mode);
    }
    if resolve & libc::RESOLVE_BENEATH != 0 && resolve & libc::RESOLVE_IN_ROOT != 0 {
        return Err(Errno::EINVAL);
    }
    // Only what the dentry cache holds may be looked up, and nothing made:
    // the view's lookups are not the kernel's cache, and `EAGAIN` is what
    // the caller retries without the flag.
    if resolve & libc::RESOLVE_CACHED != 0 {
        return Err(Errno::EAGAIN);
    }
    let scoped = resolve & (libc::RESOLVE_BENEATH | libc::RESOLVE_IN_ROOT) != 0;
    let bounds = crate::vfs::Bounds {
        beneath: resolve & libc::RESOLVE_BENEATH != 0,
        in_root: resolve & libc::RESOLVE_IN_ROOT != 0,
        no_symlinks: resolve & libc::RESOLVE_NO_SYMLINKS != 0,
        no_magiclinks: scoped || resolve & libc::RESOLVE_NO_MAGICLINKS != 0,
        no_xdev: resolve & libc::RESOLVE_NO_XDEV != 0,
    };
    // Walked within the bounds from the directory fd (their errors are the
    // kernel's), then opened by the guest path found, as any open.
    let path = read_path(ctx, call.args[1])?;
    let h = host(ctx)?;
    let start = h.guest_dir(call.tid, dirfd)?;
    let follow = flags & libc::O_NOFOLLOW == 0;
    let r = h.resolve_bounded(&guest_ctx(ctx, call), &start, &path, follow, flags & libc::O_CREAT != 0, bounds)?;
    if flags & libc::O_CREAT != 0 && without_trailing_slash(&path).1 {
        return Err(Errno::EISDIR);
    }
    // Never continued: the kernel would read the guest's `how` again,
    // which another thread may have changed since (a read made a write
    // that truncates, with no bounds).
    open_path(ctx, call, AT_FDCWD, r.path().as_bytes().to_vec(), flags, mode, false)
}

/// The open flags Linux knows (`openat2` refuses any other).
const VALID_OPEN_FLAGS: u64 = (libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | libc::O_LARGEFILE
    // (glibc's O_LARGEFILE is 0 on 64-bit targets; the kernel's bit is
    // this, and musl passes it.)
    | 0o100000
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_SYNC
    | libc::O_TMPFILE) as u64;

/// Every `RESOLVE_*` flag.
const RESOLVE_ALL: u64 = libc::RESOLVE_NO_XDEV
    | libc::RESOLVE_NO_MAGICLINKS
    | libc::RESOLVE_NO_SYMLINKS
    | libc::RESOLVE_BENEATH
    | libc::RESOLVE_IN_ROOT
    | libc::RESOLVE_CACHED;

// ---- stat family ------------------------------------------------------

fn at_path<'h>(ctx: &Ctx<'h>, call: &Call, dirfd: i32, path: u64, at_flags: i32) -> Result<Option<Found<'h>>, Errno> {
    at_path_read(ctx, call, dirfd, &read_path(ctx, path)?, at_flags)
}

/// [`at_path`] for the stat calls: `None` also when the name may be
/// looked at natively without a probe ([`look`]).
fn stat_path<'h>(ctx: &Ctx<'h>, call: &Call, dirfd: i32, path: u64, at_flags: i32) -> Result<Option<Found<'h>>, Errno> {
    let p = read_path(ctx, path)?;
    if at_flags & libc::AT_SYMLINK_NOFOLLOW != 0 && !p.is_empty() {
        return look(ctx, call, dirfd, &p);
    }
    at_path_read(ctx, call, dirfd, &p, at_flags)
}

fn at_path_read<'h>(
    ctx: &Ctx<'h>,
    call: &Call,
    dirfd: i32,
    p: &[u8],
    at_flags: i32,
) -> Result<Option<Found<'h>>, Errno> {
    if p.is_empty() && at_flags & libc::AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return locate(ctx, call, AT_FDCWD, b".", true).map(Some);
        }
        // The fd itself; notified only without Landlock (see the table),
        // or for `W_OK`.
        return Ok(None);
    }
    locate(ctx, call, dirfd, p, at_flags & libc::AT_SYMLINK_NOFOLLOW == 0).map(Some)
}

fn write_stat(ctx: &Ctx<'_>, fd: BorrowedFd<'_>, buf: u64) -> Result<Reply, Errno> {
    let st = sys::fstat(fd)?;
    ctx.mem.write(GuestAddr::new(buf).ok_or(Errno::EFAULT)?, sys::struct_bytes(&st))?;
    Ok(Reply::Value(0))
}

/// The stat of what `f` names, written to the guest's `buf`, or the call
/// continued when the kernel would find the same node.
fn answer_stat(ctx: &Ctx<'_>, f: Found<'_>, buf: u64) -> Result<Reply, Errno> {
    if f.native {
        return Ok(Reply::Continue);
    }
    write_stat(ctx, f.fd.as_fd(), buf)
}

/// `stat(path, buf)`.
pub fn stat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let f = locate(ctx, call, AT_FDCWD, &read_path(ctx, call.args[0])?, true)?;
    answer_stat(ctx, f, call.args[1])
}

/// `lstat(path, buf)`.
pub fn lstat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    match look(ctx, call, AT_FDCWD, &read_path(ctx, call.args[0])?)? {
        Some(f) => answer_stat(ctx, f, call.args[1]),
        None => Ok(Reply::Continue),
    }
}

/// `newfstatat(dirfd, path, buf, flags)`.
pub fn newfstatat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    match stat_path(ctx, call, arg_i32(call.args[0]), call.args[1], arg_i32(call.args[3]))? {
        Some(f) => answer_stat(ctx, f, call.args[2]),
        None => Ok(Reply::Continue),
    }
}

/// `statx(dirfd, path, flags, mask, buf)`.
pub fn statx(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let flags = arg_i32(call.args[2]);
    match stat_path(ctx, call, arg_i32(call.args[0]), call.args[1], flags)? {
        Some(f) if f.native => Ok(Reply::Continue),
        Some(f) => {
            let sync = flags & (libc::AT_STATX_FORCE_SYNC | libc::AT_STATX_DONT_SYNC);
            let st = sys::statx_fd(f.fd.as_fd(), sync, call.args[3] as u32)?;
            ctx.mem.write(GuestAddr::new(call.args[4]).ok_or(Errno::EFAULT)?, sys::struct_bytes(&st))?;
            Ok(Reply::Value(0))
        }
        None => Ok(Reply::Continue),
    }
}

/// `statfs(path, buf)`.
pub fn statfs(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let f = locate(ctx, call, AT_FDCWD, &read_path(ctx, call.args[0])?, true)?;
    statfs_of(ctx, f.mount, &f.rest, f.fd.as_fd(), call.args[1])
}

/// `fstatfs(fd, buf)`: the kernel's answer where the view shows the fd's
/// file writable (or nowhere: a pipe, a socket), else that of `statfs` of
/// its path ([`statfs_of`]), so a read-only file says so through its fd too.
pub fn fstatfs(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let h = host(ctx)?;
    let file = guest_fd(call.tid, arg_i32(call.args[0]))?;
    let Some(at) = crate::procfs::fd_link(file.as_fd())
        .ok()
        .and_then(|l| h.guest_path_of(l.strip_suffix(b" (deleted)").unwrap_or(&l)))
    else {
        return Ok(Reply::Continue);
    };
    let Ok(at) = h.view().lookup(&at) else { return Ok(Reply::Continue) };
    let sized = matches!(at.mount.kind(), MountKind::Tmpfs { size: Some(_) }) && h.disk().is_some();
    if h.writable(at.mount, at.rest) && !sized {
        return Ok(Reply::Continue);
    }
    statfs_of(ctx, at.mount, at.rest, file.as_fd(), call.args[1])
}

/// Writes to `buf` what `statfs` says of `file`, at `rest` in `mount`,
/// in the view.
fn statfs_of(ctx: &Ctx<'_>, mount: &Mount, rest: &[u8], file: BorrowedFd<'_>, buf: u64) -> Result<Reply, Errno> {
    let mut st = sys::fstatfs(file)?;
    let h = host(ctx)?;
    // A sized --tmpfs shows its own size and what the guest added to it,
    // not the host tmpfs its files live on.
    if let (MountKind::Tmpfs { size: Some(size) }, Some(disk)) = (mount.kind(), h.disk()) {
        let used = disk.added(crate::vfs::disk::Scope::Mount(h.mount_index(mount))).unwrap_or(0).max(0) as u64;
        let bsize = u64::try_from(st.f_bsize).unwrap_or(4096).max(1);
        st.f_blocks = size / bsize;
        st.f_bfree = size.saturating_sub(used) / bsize;
        st.f_bavail = st.f_bfree;
    }
    let mut bytes = sys::struct_bytes(&st).to_vec();
    // A read-only mount says so, as its mountinfo line does. (`f_flags`
    // follows `f_frsize` in the kernel's struct; libc hides it.)
    if !h.writable(mount, rest) {
        let at = std::mem::offset_of!(libc::statfs, f_frsize) + std::mem::size_of::<libc::__fsword_t>();
        if let Some(flags) = bytes.get_mut(at..at + std::mem::size_of::<libc::__fsword_t>()) {
            let v = libc::__fsword_t::from_ne_bytes(flags.try_into().unwrap_or_default())
                | libc::ST_RDONLY as libc::__fsword_t;
            flags.copy_from_slice(&v.to_ne_bytes());
        }
    }
    ctx.mem.write(GuestAddr::new(buf).ok_or(Errno::EFAULT)?, &bytes)?;
    Ok(Reply::Value(0))
}

// ---- access, readlink, getcwd -----------------------------------------

fn access_common(ctx: &Ctx<'_>, call: &Call, dirfd: i32, path: u64, mode: i32, flags: i32) -> Result<Reply, Errno> {
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        return Err(Errno::EINVAL);
    }
    let h = host(ctx)?;
    let f = match at_path(ctx, call, dirfd, path, flags)? {
        Some(f) => f,
        // The fd itself (`AT_EMPTY_PATH`): writable only where the view
        // shows it so, as for a change through it.
        None if mode & libc::W_OK != 0 => {
            let file = fd_file(call, dirfd)?;
            if !is_special(file.as_fd()) {
                h.check_changeable_fd(file.as_fd())?;
            }
            return Ok(Reply::Continue);
        }
        None => return Ok(Reply::Continue),
    };
    if mode & libc::W_OK != 0 && !h.writable(f.mount, &f.rest) && !is_special(f.fd.as_fd()) {
        return Err(Errno::EROFS);
    }
    if f.native {
        return Ok(Reply::Continue);
    }
    let eff = if flags & libc::AT_EACCESS != 0 { libc::AT_EACCESS } else { 0 };
    nix::unistd::faccessat(
        nix::fcntl::AT_FDCWD,
        fd_path(f.fd.as_fd()).as_c_str(),
        nix::unistd::AccessFlags::from_bits_truncate(mode),
        nix::fcntl::AtFlags::from_bits_truncate(eff),
    )?;
    Ok(Reply::Value(0))
}

/// `access(path, mode)`.
pub fn access(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    access_common(ctx, call, AT_FDCWD, call.args[0], arg_i32(call.args[1]), 0)
}

/// `faccessat(dirfd, path, mode)`.
pub fn faccessat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    access_common(ctx, call, arg_i32(call.args[0]), call.args[1], arg_i32(call.args[2]), 0)
}

/// `faccessat2(dirfd, path, mode, flags)`.
pub fn faccessat2(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    access_common(ctx, call, arg_i32(call.args[0]), call.args[1], arg_i32(call.args[2]), arg_i32(call.args[3]))
}

fn readlink_common(ctx: &Ctx<'_>, call: &Call, dirfd: i32, path: u64, buf: u64, size: u64) -> Result<Reply, Errno> {
    let size = i32::try_from(size).ok().filter(|&s| s > 0).ok_or(Errno::EINVAL)? as usize;
    let p = read_path(ctx, path)?;
    let h = host(ctx)?;
    let owned;
    let target: &[u8] = if p.is_empty() {
        if dirfd == AT_FDCWD {
            return Err(Errno::ENOENT);
        }
        // The symlink an `O_PATH|O_NOFOLLOW` fd holds; stored bytes, as the
        // resolver reads them.
        let link = fd_file(call, dirfd)?;
        shown(h, link.as_fd())?;
        owned = std::os::unix::ffi::OsStringExt::into_vec(nix::fcntl::readlinkat(link.as_fd(), c"")?);
        &owned
    } else {
        let b = base(ctx, call.tid, dirfd, &p)?;
        let g = guest_ctx(ctx, call);
        let r = h.resolve(&g, &b.guest, &p, false, false)?;
        owned = match r.kind() {
            Some(NodeKind::Symlink(t)) => t.clone(),
            _ => h.proc_fd_link(&r.lookup()).ok_or(Errno::EINVAL)?,
        };
        &owned
    };
    let n = target.len().min(size);
    ctx.mem.write(GuestAddr::new(buf).ok_or(Errno::EFAULT)?, &target[..n])?;
    Ok(Reply::Value(n as i64))
}

/// `readlink(path, buf, size)`.
pub fn readlink(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    readlink_common(ctx, call, AT_FDCWD, call.args[0], call.args[1], call.args[2])
}

/// `readlinkat(dirfd, path, buf, size)`.
pub fn readlinkat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    readlink_common(ctx, call, arg_i32(call.args[0]), call.args[1], call.args[2], call.args[3])
}

/// `getcwd(buf, size)`: the cwd's path in the view.
pub fn getcwd(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    // A removed directory has no path: ENOENT, as natively (its link
    // would read "PATH (deleted)").
    if crate::procfs::task_stat(call.tid, "cwd")?.st_nlink == 0 {
        return Err(Errno::ENOENT);
    }
    let cwd = base(ctx, call.tid, AT_FDCWD, b".")?.guest;
    let mut bytes = cwd.as_bytes().to_vec();
    bytes.push(0);
    if (call.args[1] as usize) < bytes.len() {
        return Err(Errno::ERANGE);
    }
    ctx.mem.write(GuestAddr::new(call.args[0]).ok_or(Errno::EFAULT)?, &bytes)?;
    Ok(Reply::Value(bytes.len() as i64))
}

// ---- making and removing names ----------------------------------------

fn mkdir_common(ctx: &Ctx<'_>, call: &Call, dirfd: i32, path: u64, mode: u32) -> Result<Reply, Errno> {
    let p = new_place(ctx, call, dirfd, &read_path(ctx, path)?, true)?;
    let h = host(ctx)?;
    if p.native {
        // Checked in the view; the kernel makes it where the view would
        // (Landlock keeps a rewritten path to the view's writable parts),
        // with the guest's own umask.
        h.record(&p.path, Change::Created);
        return Ok(Reply::Continue);
    }
    let p = making(h, p)?;
    let mode = nix::sys::stat::Mode::from_bits_truncate(new_mode(call, mode));
    p.made(h, nix::sys::stat::mkdirat(p.parent.as_fd(), p.name.as_c_str(), mode))?;
    h.made_dir(&p.place.lookup())?;
    h.record(p.path(), Change::Created);
    Ok(Reply::Value(0))
}

/// `mkdir(path, mode)`.
pub fn mkdir(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    mkdir_common(ctx, call, AT_FDCWD, call.args[0], call.args[1] as u32)
}

/// `mkdirat(dirfd, path, mode)`.
pub fn mkdirat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    mkdir_common(ctx, call, arg_i32(call.args[0]), call.args[1], call.args[2] as u32)
}

fn mknod_common(ctx: &Ctx<'_>, call: &Call, dirfd: i32, path: u64, mode: u32) -> Result<Reply, Errno> {
    let kind = mode & libc::S_IFMT;
    match kind {
        0 | libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK => {}
        // Devices need CAP_MKNOD (a whiteout too: a guest must not forge
        // one in an overlay's upper).
        libc::S_IFCHR | libc::S_IFBLK => return Err(Errno::EPERM),
        _ => return Err(Errno::EINVAL),
    }
    let p = place_new(ctx, call, dirfd, &read_path(ctx, path)?)?;
    let kind = if kind == 0 { libc::S_IFREG } else { kind };
    p.made(
        host(ctx)?,
        nix::sys::stat::mknodat(
            p.parent.as_fd(),
            p.name.as_c_str(),
            nix::sys::stat::SFlag::from_bits_truncate(kind),
            nix::sys::stat::Mode::from_bits_truncate(new_mode(call, mode & 0o7777)),
            0,
        ),
    )?;
    host(ctx)?.record(p.path(), Change::Created);
    Ok(Reply::Value(0))
}

/// `mknod(path, mode, dev)`: regular files, fifos and sockets only.
pub fn mknod(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    mknod_common(ctx, call, AT_FDCWD, call.args[0], call.args[1] as u32)
}

/// `mknodat(dirfd, path, mode, dev)`.
pub fn mknodat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    mknod_common(ctx, call, arg_i32(call.args[0]), call.args[1], call.args[2] as u32)
}

/// The last component of a path argument, trailing slashes aside: what
/// Linux refuses to remove or rename when it is `.` or `..`.
fn last_name(path: &[u8]) -> &[u8] {
    let trimmed = match path.iter().rposition(|&b| b != b'/') {
        Some(end) => &path[..=end],
        None => return path,
    };
    trimmed.rsplit(|&b| b == b'/').next().unwrap_or(trimmed)
}

fn unlink_common(ctx: &Ctx<'_>, call: &Call, dirfd: i32, path: u64, dir: bool) -> Result<Reply, Errno> {
    let h = host(ctx)?;
    let path = read_path(ctx, path)?;
    // Resolution would make `d/.` the directory d itself; Linux refuses.
    match (last_name(&path), dir) {
        (b".", true) => return Err(Errno::EINVAL),
        (b"..", true) => return Err(Errno::ENOTEMPTY),
        // A file before the dot is ENOTDIR, as resolving it says.
        (b"." | b"..", false) => return locate(ctx, call, dirfd, &path, true).and(Err(Errno::EISDIR)),
        _ => {}
    }
    let p = place(ctx, call, dirfd, &path, false)?;
    if p.root {
        return Err(Errno::EBUSY);
    }
    if !p.exists {
        return Err(Errno::ENOENT);
    }
    // `unlink("x/")`: x is looked at itself, a symlink too.
    if p.slash && !dir {
        return Err(if p.is_dir() { Errno::EISDIR } else { Errno::ENOTDIR });
    }
    check_writable(h, p.mount, &p.rest)?;
    // A file the kernel would remove itself, when no budget needs to know
    // what the removal frees. (Directories are removed here: one that is
    // not empty would stay, and the report would have it gone.)
    if p.native && !dir && h.disk().is_none() && p.kind.is_some_and(|k| k != libc::S_IFDIR) {
        h.record(&p.path, Change::Removed);
        return Ok(Reply::Continue);
    }
    let freed = if dir { None } else { disk_freed(h, &p.lookup()) };
    h.remove(&p.lookup(), dir)?;
    disk_gone(h, &p.lookup(), freed);
    h.record(&p.path, Change::Removed);
    Ok(Reply::Value(0))
}

/// `unlink(path)`.
pub fn unlink(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    unlink_common(ctx, call, AT_FDCWD, call.args[0], false)
}

/// `rmdir(path)`.
pub fn rmdir(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    unlink_common(ctx, call, AT_FDCWD, call.args[0], true)
}

/// `unlinkat(dirfd, path, flags)`.
pub fn unlinkat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let flags = arg_i32(call.args[2]);
    if flags & !libc::AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    unlink_common(ctx, call, arg_i32(call.args[0]), call.args[1], flags & libc::AT_REMOVEDIR != 0)
}

#[allow(clippy::too_many_arguments)]
fn rename_common(ctx: &Ctx<'_>, call: &Call, od: i32, old: u64, nd: i32, new: u64, flags: u32) -> Result<Reply, Errno> {
    let h = host(ctx)?;
    let (old, new) = (read_path(ctx, old)?, read_path(ctx, new)?);
    if [&old, &new].iter().any(|p| matches!(last_name(p), b"." | b"..")) {
        return Err(Errno::EBUSY);
    }
    let a = place(ctx, call, od, &old, false)?;
    let b = place(ctx, call, nd, &new, true)?;
    if a.root || b.root {
        return Err(Errno::EBUSY);
    }
    if !a.exists {
        return Err(Errno::ENOENT);
    }
    // A slash after either name is for directories only (after the
    // target's, unless exchanging: then it is for the target's own type).
    let exchange = flags & libc::RENAME_EXCHANGE != 0;
    if !a.is_dir() && (a.slash || b.slash && !exchange) || exchange && b.exists && !b.is_dir() && b.slash {
        return Err(Errno::ENOTDIR);
    }
    if a.mount.id() != b.mount.id() {
        return Err(Errno::EXDEV);
    }
    check_writable(h, a.mount, &a.rest)?;
    check_writable(h, b.mount, &b.rest)?;
    // A directory with a mount below it (a `--hide` too) stays where the
    // mount table puts it, as a mount point does: moved on the host, it
    // would take along the names its mounts cover, uncovered.
    if [&a, &b].iter().any(|p| p.exists && h.view().changes_listing(&p.path)) {
        return Err(Errno::EBUSY);
    }
    let replaced = if flags & libc::RENAME_EXCHANGE == 0 && b.exists { disk_freed(h, &b.lookup()) } else { None };
    h.rename(&a.lookup(), &b.lookup(), flags)?;
    disk_gone(h, &b.lookup(), replaced);
    if flags & libc::RENAME_EXCHANGE != 0 {
        h.record(&a.path, Change::Written);
        h.record(&b.path, Change::Written);
    } else {
        h.record(&a.path, Change::Removed);
        h.record(&b.path, Change::Created);
    }
    Ok(Reply::Value(0))
}

/// `rename(old, new)`.
pub fn rename(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    rename_common(ctx, call, AT_FDCWD, call.args[0], AT_FDCWD, call.args[1], 0)
}

/// `renameat(od, old, nd, new)`.
pub fn renameat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    rename_common(ctx, call, arg_i32(call.args[0]), call.args[1], arg_i32(call.args[2]), call.args[3], 0)
}

/// `renameat2(od, old, nd, new, flags)`, `RENAME_EXCHANGE`/`NOREPLACE`
/// included.
pub fn renameat2(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let flags = call.args[4] as u32;
    if flags & !(libc::RENAME_EXCHANGE | libc::RENAME_NOREPLACE) != 0 {
        return Err(Errno::EINVAL);
    }
    rename_common(ctx, call, arg_i32(call.args[0]), call.args[1], arg_i32(call.args[2]), call.args[3], flags)
}

fn link_common(
    ctx: &Ctx<'_>,
    call: &Call,
    od: i32,
    old: &[u8],
    nd: i32,
    new: u64,
    follow: bool,
) -> Result<Reply, Errno> {
    let h = host(ctx)?;
    let src = locate(ctx, call, od, old, follow)?;
    let b = place(ctx, call, nd, &read_path(ctx, new)?, true)?;
    if b.exists || b.root {
        return Err(Errno::EEXIST);
    }
    if b.slash {
        return Err(Errno::ENOENT);
    }
    // A file no path names, through its /proc/self/fd link (O_TMPFILE's
    // way to give one a name): linked where it was, if it may be
    // written there; the kernel refuses any but an O_TMPFILE one.
    let removed = matches!(src.mount.kind(), MountKind::Synthetic(crate::vfs::Synthetic::Proc))
        .then(|| h.removed_file_mount(src.fd.as_fd()).map(Mount::id))
        .flatten();
    // A read-only target says so before a link across mounts does, as the
    // kernel makes the new name's place first.
    check_writable(h, b.mount, &b.rest)?;
    if removed.unwrap_or(src.mount.id()) != b.mount.id() {
        return Err(Errno::EXDEV);
    }
    // In an overlay, the new name links the upper layer's copy: a lower
    // file linked into the upper layer could then be written.
    let src = if removed.is_some() { src.fd } else { for_change(h, src)? };
    let b = making(h, b)?;
    // Link the very inode resolved, through its O_PATH fd.
    let linked =
        nix::unistd::linkat(src.as_fd(), c"", b.parent.as_fd(), b.name.as_c_str(), nix::fcntl::AtFlags::AT_EMPTY_PATH)
            .or_else(|e| {
                if e == Errno::ENOENT || e == Errno::EPERM {
                    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH before Linux 6.10:
                    // link through the magic link instead, which names the same
                    // inode.
                    nix::unistd::linkat(
                        nix::fcntl::AT_FDCWD,
                        fd_path(src.as_fd()).as_c_str(),
                        b.parent.as_fd(),
                        b.name.as_c_str(),
                        nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
                    )
                } else {
                    Err(e)
                }
            });
    b.made(h, linked)?;
    put_maybe_symlink();
    h.record(b.path(), Change::Created);
    Ok(Reply::Value(0))
}

/// `link(old, new)`.
pub fn link(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    link_common(ctx, call, AT_FDCWD, &read_path(ctx, call.args[0])?, AT_FDCWD, call.args[1], false)
}

/// `linkat(od, old, nd, new, flags)`.
pub fn linkat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let flags = arg_i32(call.args[4]);
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
    let (od, old) = (arg_i32(call.args[0]), read_path(ctx, call.args[1])?);
    if old.is_empty() && flags & libc::AT_EMPTY_PATH != 0 && od != AT_FDCWD {
        // The file fd `od` holds (an O_TMPFILE one given a name): the
        // node its /proc/self/fd link names, which the view answers.
        let link = format!("/proc/self/fd/{od}");
        return link_common(ctx, call, AT_FDCWD, link.as_bytes(), arg_i32(call.args[2]), call.args[3], true);
    }
    link_common(ctx, call, od, &old, arg_i32(call.args[2]), call.args[3], follow)
}

/// After a symlink was made, or a hard link (of a symlink, maybe): it may
/// have taken the name of a directory removed natively beneath a directory
/// fd ([`crate::filter::Beneath::ReadsAndChanges`]), which the supervisor
/// did not see go, so the directories known to hold no symlink are stale.
fn put_maybe_symlink() {
    crate::procfs::dirs_moved();
}

fn symlink_common(ctx: &Ctx<'_>, call: &Call, target: u64, nd: i32, path: u64) -> Result<Reply, Errno> {
    let target = read_path(ctx, target)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let p = place_new(ctx, call, nd, &read_path(ctx, path)?)?;
    let t = CString::new(target).map_err(|_| Errno::EINVAL)?;
    p.made(host(ctx)?, nix::unistd::symlinkat(t.as_c_str(), p.parent.as_fd(), p.name.as_c_str()))?;
    put_maybe_symlink();
    host(ctx)?.record(p.path(), Change::Created);
    Ok(Reply::Value(0))
}

/// `symlink(target, path)`: the target is stored as given; it is
/// resolved in the view whenever it is followed.
pub fn symlink(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    symlink_common(ctx, call, call.args[0], AT_FDCWD, call.args[1])
}

/// `symlinkat(target, dirfd, path)`.
pub fn symlinkat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    symlink_common(ctx, call, call.args[0], arg_i32(call.args[1]), call.args[2])
}

// ---- changing what exists ---------------------------------------------

/// Locates a node to change and checks that its mount allows it.
/// The node a metadata change (mode, owner, times) applies to, opened
/// `O_PATH`: a path in the view on a writable mount, or with
/// `AT_EMPTY_PATH` and an empty path, the file behind `dirfd` itself.
fn changeable(
    ctx: &Ctx<'_>,
    call: &Call,
    dirfd: i32,
    path: u64,
    at_flags: i32,
) -> Result<(OwnedFd, Option<GuestPath>), Errno> {
    let h = host(ctx)?;
    let p = read_path(ctx, path)?;
    if p.is_empty() && at_flags & libc::AT_EMPTY_PATH != 0 && dirfd != AT_FDCWD {
        return fd_target(ctx, call, dirfd, true);
    }
    let p = if p.is_empty() && at_flags & libc::AT_EMPTY_PATH != 0 { b".".to_vec() } else { p };
    // The caller's own `/proc/self/fd/N` (glibc's fchmodat with
    // AT_SYMLINK_NOFOLLOW names an O_PATH fd so; tar as root does it for
    // every directory): the file the fd holds, judged as through the fd.
    if at_flags & libc::AT_SYMLINK_NOFOLLOW == 0 {
        if let Some(fd) = h.own_fd_entry(&guest_ctx(ctx, call), &p) {
            return fd_target(ctx, call, fd, true).map_err(|e| if e == Errno::EBADF { Errno::ENOENT } else { e });
        }
    }
    let f = locate(ctx, call, dirfd, &p, at_flags & libc::AT_SYMLINK_NOFOLLOW == 0)?;
    check_writable(h, f.mount, &f.rest)?;
    let path = f.path.clone();
    Ok((for_change(h, f)?, Some(path)))
}

/// The node a change applies to, once allowed: the one found, or in an
/// overlay the upper layer's copy of it ([`Host::node_for_change`]).
fn for_change(h: &Host, f: Found<'_>) -> Result<OwnedFd, Errno> {
    if matches!(f.mount.kind(), MountKind::Overlay { .. }) && !f.removed {
        h.node_for_change(&crate::vfs::Lookup { mount: f.mount, rest: &f.rest })
    } else {
        Ok(f.fd)
    }
}

/// The node behind the guest's fd `fd`, opened `O_PATH` through the
/// host's `/proc` (a symlink held by an `O_PATH|O_NOFOLLOW` fd stays the
/// symlink).
fn fd_file(call: &Call, fd: i32) -> Result<OwnedFd, Errno> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    let link = format!("/proc/{}/fd/{fd}", call.tid);
    let flags = nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC;
    nix::fcntl::open(link.as_str(), flags, nix::sys::stat::Mode::empty()).map_err(|e| {
        if e == Errno::ENOENT {
            Errno::EBADF
        } else {
            e
        }
    })
}

/// Fd `fd` of thread `tid`'s process, duplicated into the supervisor: the
/// same open file (a socket, an inotify instance), not just its node.
pub(super) fn guest_fd(tid: libc::pid_t, fd: i32) -> Result<OwnedFd, Errno> {
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    if let Some(got) = PIDFDS.with(|c| c.borrow().get(&tid).map(|p| sys::pidfd_getfd(p.as_fd(), fd))) {
        match got {
            // A cached pidfd whose thread is gone fails (it never names a
            // newer thread given the same number): open a new one.
            Err(Errno::ESRCH | Errno::EBADF) => PIDFDS.with(|c| c.borrow_mut().forget(&tid)),
            other => return other,
        }
    }
    // A pidfd of the thread itself (Linux 6.9) saves finding its process
    // through /proc/TID/status, which is slow to read.
    let pidfd = match sys::pidfd_open_thread(tid) {
        Ok(p) => p,
        // Before Linux 6.9: the process's, not kept (it would outlive
        // the thread, and a later thread given its number would take fds
        // from this process).
        Err(_) => {
            let p = sys::pidfd_open(crate::procfs::tgid(tid).ok_or(Errno::ESRCH)?)?;
            return sys::pidfd_getfd(p.as_fd(), fd);
        }
    };
    let got = sys::pidfd_getfd(pidfd.as_fd(), fd);
    PIDFDS.with(|c| c.borrow_mut().keep(tid, pidfd));
    got
}

thread_local! {
    /// The pidfds of the threads whose fds were taken last: a guest that
    /// changes files through fds (`futimens` after each create, in tar)
    /// calls from the same thread again and again, and a `pidfd_open`
    /// costs as much as the `pidfd_getfd` itself.
    static PIDFDS: std::cell::RefCell<crate::procfs::PerThread> =
        const { std::cell::RefCell::new(crate::procfs::PerThread::new()) };
}

/// The file behind the guest's fd `fd`, for a call that changes it, and
/// its guest path: the guest's open file itself, taken with
/// `pidfd_getfd` (so a second thread swapping the fd number afterwards
/// changes nothing, and its flags need no trip through `/proc`), refused
/// with `EROFS` when the view shows that file only read-only. The native
/// calls fail on `O_PATH` fds with `EBADF`; the `*at(fd, "",
/// AT_EMPTY_PATH)` forms (`opath_ok`) accept them.
///
/// A regular file open for writing may be changed without asking where
/// the view shows it: every open for writing the guest makes is checked
/// in the view (and in an overlay made on the upper copy), so such an fd
/// is either one of those or one its caller handed it, whose contents it
/// may change already. (tar changes the times of every file it writes
/// this way; the check reads the file's path from `/proc`, which costs
/// more than the change.)
fn fd_target(ctx: &Ctx<'_>, call: &Call, fd: i32, opath_ok: bool) -> Result<(OwnedFd, Option<GuestPath>), Errno> {
    let h = host(ctx)?;
    let file = guest_fd(call.tid, fd)?;
    let flags = nix::fcntl::fcntl(file.as_fd(), nix::fcntl::FcntlArg::F_GETFL)?;
    if flags & libc::O_PATH != 0 {
        if !opath_ok {
            return Err(Errno::EBADF);
        }
    } else if flags & libc::O_ACCMODE != libc::O_RDONLY
        && sys::fstat(file.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFREG
    {
        return Ok((file, None));
    }
    h.changeable_fd(file)
}

/// [`fd_target`] for a change the kernel may as well make itself: `None`
/// when the fd needs no look at where the view shows the file (a regular
/// file open for writing) and no fd table is shared ([`Ctx::fds_private`]),
/// so the fd still names that file when the call goes on natively (tar's
/// `futimens` after each file: the supervisor then neither reads the
/// times nor sets them).
fn fd_change(ctx: &Ctx<'_>, call: &Call, fd: i32) -> Result<Option<(OwnedFd, Option<GuestPath>)>, Errno> {
    let (file, path) = fd_target(ctx, call, fd, false)?;
    Ok((path.is_some() || !ctx.fds_private).then_some((file, path)))
}

/// `ENOENT` unless the view shows the node `fd` holds somewhere (or it is
/// no file of a mount: a pipe, a socket): what is read through an fd
/// with no path is only what a path could read. An `O_PATH` fd may hold
/// a node outside the view (see docs/ARCHITECTURE.md, the fast path), and
/// an `O_PATH` fd reads nothing natively.
fn shown(h: &Host, fd: BorrowedFd<'_>) -> Result<(), Errno> {
    let link = crate::procfs::fd_link(fd)?;
    if link.first() == Some(&b'/') && h.guest_path_of(&link).is_none() {
        return Err(Errno::ENOENT);
    }
    Ok(())
}

fn is_symlink(fd: BorrowedFd<'_>) -> bool {
    sys::fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

fn chmod_common(ctx: &Ctx<'_>, call: &Call, dirfd: i32, path: u64, mode: u32, flags: i32) -> Result<Reply, Errno> {
    let (f, p) = changeable(ctx, call, dirfd, path, flags)?;
    let r = set_mode(f.as_fd(), mode)?;
    note(ctx, p.as_ref(), Change::Metadata);
    Ok(r)
}

fn set_mode(f: BorrowedFd<'_>, mode: u32) -> Result<Reply, Errno> {
    if is_symlink(f) {
        // Linux has no symlink modes.
        return Err(Errno::EOPNOTSUPP);
    }
    let mode_bits = nix::sys::stat::Mode::from_bits_truncate(mode & 0o7777);
    // Through the fd itself, walking no path (an O_PATH one too, with
    // fchmodat2); before Linux 6.6, through /proc/self/fd.
    match sys::fchmod_empty_path(f, mode_bits.bits()) {
        Err(Errno::ENOSYS | Errno::EINVAL) => {}
        other => return other.map(|()| Reply::Value(0)),
    }
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        fd_path(f).as_c_str(),
        nix::sys::stat::Mode::from_bits_truncate(mode & 0o7777),
        nix::sys::stat::FchmodatFlags::FollowSymlink,
    )?;
    Ok(Reply::Value(0))
}

/// `chmod(path, mode)`.
pub fn chmod(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    chmod_common(ctx, call, AT_FDCWD, call.args[0], call.args[1] as u32, 0)
}

/// `fchmodat(dirfd, path, mode)` (its flags argument is glibc's).
pub fn fchmodat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    chmod_common(ctx, call, arg_i32(call.args[0]), call.args[1], call.args[2] as u32, 0)
}

/// `fchmodat2(dirfd, path, mode, flags)`.
pub fn fchmodat2(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    chmod_common(ctx, call, arg_i32(call.args[0]), call.args[1], call.args[2] as u32, arg_i32(call.args[3]))
}

fn chown_common(
    ctx: &Ctx<'_>,
    call: &Call,
    dirfd: i32,
    path: u64,
    ids: (u64, u64),
    flags: i32,
) -> Result<Reply, Errno> {
    let (f, p) = changeable(ctx, call, dirfd, path, flags)?;
    let r = set_owner(f.as_fd(), ids)?;
    note(ctx, p.as_ref(), Change::Metadata);
    Ok(r)
}

fn set_owner(f: BorrowedFd<'_>, ids: (u64, u64)) -> Result<Reply, Errno> {
    let id = |v: u64| {
        let v = v as u32;
        (v != u32::MAX).then_some(v)
    };
    nix::unistd::fchownat(
        f,
        c"",
        id(ids.0).map(nix::unistd::Uid::from_raw),
        id(ids.1).map(nix::unistd::Gid::from_raw),
        nix::fcntl::AtFlags::AT_EMPTY_PATH,
    )?;
    Ok(Reply::Value(0))
}

/// `chown(path, uid, gid)`.
pub fn chown(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    chown_common(ctx, call, AT_FDCWD, call.args[0], (call.args[1], call.args[2]), 0)
}

/// `lchown(path, uid, gid)`.
pub fn lchown(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    chown_common(ctx, call, AT_FDCWD, call.args[0], (call.args[1], call.args[2]), libc::AT_SYMLINK_NOFOLLOW)
}

/// `fchownat(dirfd, path, uid, gid, flags)`.
pub fn fchownat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let flags = arg_i32(call.args[4]);
    chown_common(ctx, call, arg_i32(call.args[0]), call.args[1], (call.args[2], call.args[3]), flags)
}

/// Sets the times (read from `times` when the change is made here) of
/// what `dirfd` and `path` name.
fn set_times(
    ctx: &Ctx<'_>,
    call: &Call,
    dirfd: i32,
    path: u64,
    times: impl FnOnce() -> Result<Option<[libc::timespec; 2]>, Errno>,
    flags: i32,
) -> Result<Reply, Errno> {
    let (f, p) = if path == 0 && dirfd == AT_FDCWD {
        return Err(Errno::EFAULT);
    } else if path == 0 {
        // `futimens(fd)`: utimensat with no path changes the fd's file.
        match fd_change(ctx, call, dirfd)? {
            Some(target) => target,
            None => return Ok(Reply::Continue),
        }
    } else {
        changeable(ctx, call, dirfd, path, flags)?
    };
    let times = times()?;
    // The node itself (a symlink stays the symlink: AT_SYMLINK_NOFOLLOW
    // was decided when it was found), through its fd.
    sys::utimensat(Some(f.as_fd()), c"", times.as_ref(), libc::AT_EMPTY_PATH)?;
    note(ctx, p.as_ref(), Change::Metadata);
    Ok(Reply::Value(0))
}

fn read_timespecs(ctx: &Ctx<'_>, addr: u64) -> Result<Option<[libc::timespec; 2]>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let mut b = [0u8; 32];
    ctx.mem.read(GuestAddr::new(addr).ok_or(Errno::EFAULT)?, &mut b)?;
    let w = |i: usize| i64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
    Ok(Some([libc::timespec { tv_sec: w(0), tv_nsec: w(1) }, libc::timespec { tv_sec: w(2), tv_nsec: w(3) }]))
}

fn read_timevals(ctx: &Ctx<'_>, addr: u64) -> Result<Option<[libc::timespec; 2]>, Errno> {
    Ok(read_timespecs(ctx, addr)?
        .map(|t| t.map(|tv| libc::timespec { tv_sec: tv.tv_sec, tv_nsec: tv.tv_nsec.saturating_mul(1000) })))
}

/// `utimensat(dirfd, path, times, flags)`; a NULL path is `futimens` on
/// the fd, which names no path and runs as the guest made it.
pub fn utimensat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let (dirfd, path) = (arg_i32(call.args[0]), call.args[1]);
    let flags = arg_i32(call.args[3]);
    let known = if path == 0 && dirfd != AT_FDCWD { 0 } else { libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH };
    if flags & !known != 0 {
        return Err(Errno::EINVAL);
    }
    if path == 0 {
        // Read only when the change is made here (an fd the guest changes
        // natively needs no look at them).
        let t = || read_timespecs(ctx, call.args[2]);
        return set_times(ctx, call, dirfd, path, t, arg_i32(call.args[3]));
    }
    // As the kernel: a bad times pointer fails before the path is looked
    // up, and with nothing to change the path is not looked up at all.
    let t = read_timespecs(ctx, call.args[2])?;
    if t.is_some_and(|t| t.iter().all(|ts| ts.tv_nsec == libc::UTIME_OMIT)) {
        return Ok(Reply::Value(0));
    }
    set_times(ctx, call, dirfd, path, || Ok(t), flags)
}

/// `utimes(path, times)`.
pub fn utimes(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let t = read_timevals(ctx, call.args[1])?;
    set_times(ctx, call, AT_FDCWD, call.args[0], || Ok(t), 0)
}

/// `futimesat(dirfd, path, times)`.
pub fn futimesat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let t = read_timevals(ctx, call.args[2])?;
    set_times(ctx, call, arg_i32(call.args[0]), call.args[1], || Ok(t), 0)
}

/// `utime(path, times)`: seconds only.
pub fn utime(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let t = if call.args[1] == 0 {
        None
    } else {
        let mut b = [0u8; 16];
        ctx.mem.read(GuestAddr::new(call.args[1]).ok_or(Errno::EFAULT)?, &mut b)?;
        let w = |i: usize| i64::from_ne_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or_default());
        Some([libc::timespec { tv_sec: w(0), tv_nsec: 0 }, libc::timespec { tv_sec: w(1), tv_nsec: 0 }])
    };
    set_times(ctx, call, AT_FDCWD, call.args[0], || Ok(t), 0)
}

/// `truncate(path, length)`.
pub fn truncate(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let len = i64::try_from(call.args[1]).map_err(|_| Errno::EINVAL)?;
    let h = host(ctx)?;
    let f = locate(ctx, call, AT_FDCWD, &read_path(ctx, call.args[0])?, true)?;
    // As the kernel answers, before anything is opened: a fifo opened to
    // write would wait for a reader.
    match sys::fstat(f.fd.as_fd())?.st_mode & libc::S_IFMT {
        libc::S_IFREG => {}
        libc::S_IFDIR => return Err(Errno::EISDIR),
        _ => return Err(Errno::EINVAL),
    }
    check_writable(h, f.mount, &f.rest)?;
    let fd = if f.removed {
        // No path names it: reopened from the node found.
        crate::procfs::reopen(f.fd.as_fd(), nix::fcntl::OFlag::O_WRONLY | nix::fcntl::OFlag::O_CLOEXEC)?
    } else {
        h.open_at(&crate::vfs::Lookup { mount: f.mount, rest: &f.rest }, libc::O_WRONLY | libc::O_NOFOLLOW, 0)?
    };
    if let Some(disk) = h.disk() {
        let st = sys::fstat(fd.as_fd())?;
        if h.counts_for_disk(fd.as_fd(), &st) {
            disk.grow((st.st_dev, st.st_ino), st.st_size as u64, len as u64)?;
        }
    }
    nix::unistd::ftruncate(fd, len)?;
    h.record(&f.path, Change::Written);
    Ok(Reply::Value(0))
}

// ---- extended attributes ------------------------------------------------

/// One extended-attribute operation, with the guest's arguments (the
/// path calls, the `f*` ones and the `*xattrat` ones name them
/// differently).
enum XattrOp {
    Get {
        name: u64,
        buf: u64,
        size: u64,
    },
    List {
        buf: u64,
        size: u64,
    },
    /// `nofollow`: the call names a symlink itself (`lsetxattr`,
    /// `AT_SYMLINK_NOFOLLOW`) rather than an fd.
    Set {
        name: u64,
        value: u64,
        size: u64,
        flags: u32,
        nofollow: bool,
    },
    Remove {
        name: u64,
        nofollow: bool,
    },
}

impl XattrOp {
    /// The operation of the classic calls (`getxattr(path, name, buf,
    /// size)` and so on; the `f*` forms take an fd where the path is).
    fn of(call: &Call) -> Result<XattrOp, Errno> {
        let a = &call.args;
        Ok(match call.sysno {
            Sysno::getxattr | Sysno::lgetxattr | Sysno::fgetxattr => XattrOp::Get { name: a[1], buf: a[2], size: a[3] },
            Sysno::listxattr | Sysno::llistxattr | Sysno::flistxattr => XattrOp::List { buf: a[1], size: a[2] },
            Sysno::setxattr | Sysno::lsetxattr | Sysno::fsetxattr => XattrOp::Set {
                name: a[1],
                value: a[2],
                size: a[3],
                flags: a[4] as u32,
                nofollow: call.sysno == Sysno::lsetxattr,
            },
            Sysno::removexattr | Sysno::lremovexattr | Sysno::fremovexattr => {
                XattrOp::Remove { name: a[1], nofollow: call.sysno == Sysno::lremovexattr }
            }
            _ => return Err(Errno::ENOSYS),
        })
    }

    fn changes(&self) -> bool {
        matches!(self, XattrOp::Set { .. } | XattrOp::Remove { .. })
    }
}

fn xattr_common(ctx: &Ctx<'_>, call: &Call, follow: bool) -> Result<Reply, Errno> {
    let f = locate(ctx, call, AT_FDCWD, &read_path(ctx, call.args[0])?, follow)?;
    xattr_found(ctx, f, XattrOp::of(call)?)
}

/// An xattr operation on what a path found: set and remove only where the
/// view is writable (in an overlay, on the upper copy).
fn xattr_found(ctx: &Ctx<'_>, f: Found<'_>, op: XattrOp) -> Result<Reply, Errno> {
    let h = host(ctx)?;
    let may_write = check_writable(h, f.mount, &f.rest);
    if !op.changes() || may_write.is_err() {
        return xattr_on(ctx, &op, f.fd.as_fd(), may_write);
    }
    let path = f.path.clone();
    let node = for_change(h, f)?;
    let r = xattr_on(ctx, &op, node.as_fd(), Ok(()))?;
    h.record(&path, Change::Metadata);
    Ok(r)
}

/// An xattr operation on `file` (`O_PATH`); `may_write` says whether set
/// and remove may change it.
fn xattr_on(ctx: &Ctx<'_>, op: &XattrOp, file: BorrowedFd<'_>, may_write: Result<(), Errno>) -> Result<Reply, Errno> {
    if is_symlink(file) {
        // User attributes do not exist on symlinks (setting one is EPERM
        // for the calls that name the symlink itself); the others are not
        // the guest's. An fd call gets here for an fd whose node an
        // overlay now shows as a symlink: nothing to find.
        return match op {
            XattrOp::List { .. } => Ok(Reply::Value(0)),
            // (A read-only mount says so first, as the kernel checks it
            // before the attribute.)
            XattrOp::Set { nofollow: true, .. } | XattrOp::Remove { nofollow: true, .. } => {
                Err(may_write.err().unwrap_or(Errno::EPERM))
            }
            _ => Err(Errno::ENODATA),
        };
    }
    let path = fd_path(file);
    let name = |addr: u64| -> Result<CString, Errno> {
        let n = ctx.mem.read_cstr(GuestAddr::new(addr).ok_or(Errno::EFAULT)?, 256)?;
        if n.len() > 255 {
            return Err(Errno::ERANGE);
        }
        CString::new(n).map_err(|_| Errno::EINVAL)
    };
    const MAX: usize = 65536;
    match *op {
        XattrOp::Get { name: n, buf, size } => {
            let size = (size as usize).min(MAX);
            let mut out = vec![0u8; size];
            let got = sys::getxattr(&path, &name(n)?, &mut out)?;
            if size > 0 {
                ctx.mem.write(GuestAddr::new(buf).ok_or(Errno::EFAULT)?, &out[..got])?;
            }
            Ok(Reply::Value(got as i64))
        }
        XattrOp::List { buf, size } => {
            let size = (size as usize).min(MAX);
            let mut out = vec![0u8; size];
            let got = sys::listxattr(&path, &mut out)?;
            if size > 0 {
                ctx.mem.write(GuestAddr::new(buf).ok_or(Errno::EFAULT)?, &out[..got])?;
            }
            Ok(Reply::Value(got as i64))
        }
        XattrOp::Set { name: n, value, size, flags, .. } => {
            may_write?;
            let size = size as usize;
            if size > MAX {
                return Err(Errno::E2BIG);
            }
            let mut v = vec![0u8; size];
            if size > 0 {
                ctx.mem.read(GuestAddr::new(value).ok_or(Errno::EFAULT)?, &mut v)?;
            }
            sys::setxattr(&path, &name(n)?, &v, flags as i32)?;
            Ok(Reply::Value(0))
        }
        XattrOp::Remove { name: n, .. } => {
            may_write?;
            sys::removexattr(&path, &name(n)?)?;
            Ok(Reply::Value(0))
        }
    }
}

/// `getxattrat`, `setxattrat`, `listxattrat`, `removexattrat` (Linux
/// 6.13): `(dirfd, path, at_flags, ...)`, the value and its size in a
/// `struct xattr_args` for get and set. With `AT_EMPTY_PATH` and an empty
/// (or NULL) path they act on the fd itself, as the `f*` calls do.
pub fn xattrat(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let a = &call.args;
    let (dirfd, at_flags) = (arg_i32(a[0]), a[2] as u32);
    if at_flags & !((libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) as u32) != 0 {
        return Err(Errno::EINVAL);
    }
    // struct xattr_args { u64 value; u32 size; u32 flags; }, read as the
    // kernel's copy_struct_from_user does: a larger struct from a newer
    // libc is fine when what this kernel does not know is all zero.
    let args = |addr: u64, size: u64| -> Result<(u64, u64, u32), Errno> {
        if size < 16 {
            return Err(Errno::EINVAL);
        }
        if size > 4096 {
            return Err(Errno::E2BIG);
        }
        let at = GuestAddr::new(addr).ok_or(Errno::EFAULT)?;
        let mut all = vec![0u8; size as usize];
        ctx.mem.read(at, &mut all)?;
        if all[16..].iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        let b = &all[..16];
        let value = u64::from_ne_bytes(b[0..8].try_into().unwrap_or_default());
        let len = u32::from_ne_bytes(b[8..12].try_into().unwrap_or_default());
        let flags = u32::from_ne_bytes(b[12..16].try_into().unwrap_or_default());
        Ok((value, u64::from(len), flags))
    };
    let nofollow = at_flags & libc::AT_SYMLINK_NOFOLLOW as u32 != 0;
    let op = match call.sysno {
        Sysno::getxattrat => {
            let (value, size, flags) = args(a[4], a[5])?;
            if flags != 0 {
                return Err(Errno::EINVAL);
            }
            XattrOp::Get { name: a[3], buf: value, size }
        }
        Sysno::setxattrat => {
            let (value, size, flags) = args(a[4], a[5])?;
            XattrOp::Set { name: a[3], value, size, flags, nofollow }
        }
        Sysno::listxattrat => XattrOp::List { buf: a[3], size: a[4] },
        Sysno::removexattrat => XattrOp::Remove { name: a[3], nofollow },
        _ => return Err(Errno::ENOSYS),
    };
    let follow = !nofollow;
    let empty_path = at_flags & libc::AT_EMPTY_PATH as u32 != 0;
    // With AT_EMPTY_PATH the path may be NULL (Linux 6.14).
    let path = if a[1] == 0 && empty_path { Vec::new() } else { read_path(ctx, a[1])? };
    if path.is_empty() && empty_path && dirfd != AT_FDCWD {
        // The fd itself, as the f* calls take it: an O_PATH fd is EBADF.
        if !op.changes() {
            let file = guest_fd(call.tid, dirfd)?;
            if nix::fcntl::fcntl(file.as_fd(), nix::fcntl::FcntlArg::F_GETFL)? & libc::O_PATH != 0 {
                return Err(Errno::EBADF);
            }
            return xattr_on(ctx, &op, file.as_fd(), Ok(()));
        }
        return xattr_change_fd(ctx, call, dirfd, &op);
    }
    let path = if path.is_empty() && empty_path { b".".to_vec() } else { path };
    let f = locate(ctx, call, dirfd, &path, follow)?;
    xattr_found(ctx, f, op)
}

/// `getxattr`, `setxattr`, `listxattr`, `removexattr` (following).
pub fn xattr(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    xattr_common(ctx, call, true)
}

/// The `l*xattr` calls (not following a final symlink).
pub fn lxattr(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    xattr_common(ctx, call, false)
}

// ---- changes through an fd the guest holds -------------------------------
// Landlock does not cover modes, owners, times or attributes, and a file
// the view shows read-only may be open for reading: these are answered
// here so such a file cannot be changed through its fd.

/// `dup(fd)` of an fd from [`crate::filter::NATIVE_DIRFDS`] up (from
/// [`crate::filter::CHANGE_DIRFDS`] up with changes beneath directory fds;
/// only those are notified): see [`dup_high`].
pub fn dup(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    dup_high(ctx, call, arg_i32(call.args[0]), 0, false)
}

/// `fcntl(fd, F_DUPFD or F_DUPFD_CLOEXEC, min)` of such an fd.
pub fn fcntl(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let cmd = arg_i32(call.args[1]);
    if !matches!(cmd, libc::F_DUPFD | libc::F_DUPFD_CLOEXEC) {
        return Ok(Reply::Continue);
    }
    dup_high(ctx, call, arg_i32(call.args[0]), arg_i32(call.args[2]), cmd == libc::F_DUPFD_CLOEXEC)
}

/// A copy of an fd from NATIVE_DIRFDS up (where the supervisor puts the
/// directories beneath which calls are notified) goes there too, or
/// `find /` (whose fts copies its directory fds) would walk beneath the
/// copy natively. A copy of one from CHANGE_DIRFDS up (writable
/// directories beneath which changes run natively) goes from there up:
/// `rm -r`'s fts removes beneath the copy it makes of each directory it
/// opens. What the fd holds is not looked at: the copy is the same, and
/// a guest that put some other fd up there itself only gets Landlock's
/// `EACCES` rather than `EROFS` beneath it (docs/ARCHITECTURE.md).
fn dup_high(ctx: &Ctx<'_>, call: &Call, fd: i32, min: i32, cloexec: bool) -> Result<Reply, Errno> {
    host(ctx)?;
    if min < 0 {
        return Ok(Reply::Continue);
    }
    let floor = if fd >= crate::filter::NATIVE_DIRFDS as i32 {
        crate::filter::NATIVE_DIRFDS
    } else {
        crate::filter::CHANGE_DIRFDS
    };
    let Ok(file) = guest_fd(call.tid, fd) else { return Ok(Reply::Continue) };
    match crate::procfs::free_fd_from(call.tid, min.max(floor as i32)) {
        Some(at) => Ok(Reply::Fd { fd: file, cloexec, at: Some(at), hold: true }),
        None => Ok(Reply::Continue),
    }
}

/// `fchmod(fd, mode)`.
pub fn fchmod(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let Some((f, path)) = fd_change(ctx, call, arg_i32(call.args[0]))? else { return Ok(Reply::Continue) };
    let r = set_mode(f.as_fd(), call.args[1] as u32)?;
    note(ctx, path.as_ref(), Change::Metadata);
    Ok(r)
}

/// `fchown(fd, uid, gid)`.
pub fn fchown(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    let Some((f, path)) = fd_change(ctx, call, arg_i32(call.args[0]))? else { return Ok(Reply::Continue) };
    let r = set_owner(f.as_fd(), (call.args[1], call.args[2]))?;
    note(ctx, path.as_ref(), Change::Metadata);
    Ok(r)
}

/// `fsetxattr` and `fremovexattr`.
pub fn fxattr(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    xattr_change_fd(ctx, call, arg_i32(call.args[0]), &XattrOp::of(call)?)
}

/// A set or remove through the guest's fd `fd` ([`fd_target`]).
fn xattr_change_fd(ctx: &Ctx<'_>, call: &Call, fd: i32, op: &XattrOp) -> Result<Reply, Errno> {
    let (f, path) = fd_target(ctx, call, fd, false)?;
    let r = xattr_on(ctx, op, f.as_fd(), Ok(()))?;
    note(ctx, path.as_ref(), Change::Metadata);
    Ok(r)
}

/// `inotify_add_watch(fd, path, mask)`: the watch goes on the node the
/// path names in the view, added to the guest's own inotify instance (so
/// the watch descriptor is the one the kernel would have returned).
pub fn inotify_add_watch(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    const IN_DONT_FOLLOW: u32 = 0x0200_0000;
    let mask = call.args[2] as u32;
    let instance = guest_fd(call.tid, arg_i32(call.args[0]))?;
    let f = locate(ctx, call, AT_FDCWD, &read_path(ctx, call.args[1])?, mask & IN_DONT_FOLLOW == 0)?;
    // The node is resolved: the magic link names it exactly (IN_DONT_FOLLOW
    // would watch the link in /proc instead).
    let wd = sys::inotify_add_watch(instance.as_fd(), &fd_path(f.fd.as_fd()), mask & !IN_DONT_FOLLOW)?;
    Ok(Reply::Value(i64::from(wd)))
}

// ---- directory listings ------------------------------------------------------

/// `getdents64(fd, buf, count)`.
pub fn getdents64(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    list_dir(ctx, call, crate::vfs::dirent::Layout::Dirent64)
}

/// The old `getdents(fd, buf, count)`.
pub fn getdents(ctx: &mut Ctx<'_>, call: &Call) -> Result<Reply, Errno> {
    list_dir(ctx, call, crate::vfs::dirent::Layout::Dirent)
}

/// An open directory (its process, fd number and node) whose listing the
/// view makes.
type ListingKey = (libc::pid_t, i32, u64, u64);

thread_local! {
    /// The listings made for the last directories read, as their first
    /// read made them ([`list_dir`]).
    static LISTINGS: std::cell::RefCell<crate::procfs::Recent<ListingKey, std::rc::Rc<Vec<crate::vfs::dirent::DirEntry>>, 8>> =
        const { std::cell::RefCell::new(crate::procfs::Recent::new()) };
}

/// A listing in the view: where the mount table changes a directory's
/// names (mount points, hidden names, skeleton directories, `/proc`), the
/// supervisor makes the listing; elsewhere it lists the host directory.
/// Either way it reads through its duplicate of the guest's open
/// directory, whose position it shares (for a made listing the position
/// is an index into it), and never lets the kernel rerun the call on a
/// fd number the guest could swap meanwhile.
fn list_dir(ctx: &Ctx<'_>, call: &Call, layout: crate::vfs::dirent::Layout) -> Result<Reply, Errno> {
    use crate::vfs::dirent::{encode, Layout};
    let h = host(ctx)?;
    let fd = arg_i32(call.args[0]);
    if fd < 0 {
        return Err(Errno::EBADF);
    }
    // Most directories list as the host has them: those the kernel lists
    // itself. (A second thread swapping the fd for one whose listing the
    // view changes, between this look and the kernel's, would see host
    // names the view hides, not files: the same as a stat beneath a
    // directory fd, see docs/ARCHITECTURE.md.)
    let link = crate::procfs::read_link(&format!("/proc/{}/fd/{fd}", call.tid)).map_err(|_| Errno::EBADF)?;
    if !h.guest_path_of(&link).is_some_and(|g| h.listing_differs(&g)) {
        return Ok(Reply::Continue);
    }
    let dir = guest_fd(call.tid, fd)?;
    let buf = GuestAddr::new(call.args[1]).ok_or(Errno::EFAULT)?;
    let count = (call.args[2] as u32 as usize).min(1 << 20);
    let target = crate::procfs::fd_link(dir.as_fd())?;
    let pos = nix::unistd::lseek(dir.as_fd(), 0, nix::unistd::Whence::SeekCur)?;
    let start = usize::try_from(pos).map_err(|_| Errno::EINVAL)?;
    // Read on from the listing the directory's first read made: names made
    // or removed meanwhile must not shift those not read yet (each name
    // left unchanged comes once, as POSIX wants of readdir; a loop that
    // makes files as it lists them saw some twice). A read from the start
    // (a new open, `rewinddir`) lists anew.
    let st = sys::fstat(dir.as_fd())?;
    let key = (crate::procfs::tgid(call.tid).unwrap_or(call.tid), fd, st.st_dev, st.st_ino);
    let kept = (start > 0).then(|| LISTINGS.with(|c| c.borrow().get(&key).cloned())).flatten();
    let made = kept.or_else(|| {
        let made = std::rc::Rc::new(h.guest_path_of(&target).and_then(|g| h.listing(&guest_ctx(ctx, call), &g))?);
        LISTINGS.with(|c| c.borrow_mut().keep(key, std::rc::Rc::clone(&made)));
        Some(made)
    });
    let Some(entries) = made else {
        let mut out = vec![0u8; count];
        let n = match layout {
            Layout::Dirent64 => sys::getdents64(dir.as_fd(), &mut out)?,
            #[cfg(target_arch = "x86_64")]
            Layout::Dirent => sys::getdents_old(dir.as_fd(), &mut out)?,
            #[cfg(not(target_arch = "x86_64"))]
            Layout::Dirent => return Err(Errno::ENOSYS),
        };
        ctx.mem.write(buf, &out[..n])?;
        return Ok(Reply::Value(n as i64));
    };
    let (bytes, n) = encode(&entries, start, count, layout);
    if n == 0 && start < entries.len() {
        // Not even one record fits.
        return Err(Errno::EINVAL);
    }
    ctx.mem.write(buf, &bytes)?;
    nix::unistd::lseek(dir.as_fd(), (start + n) as i64, nix::unistd::Whence::SeekSet)?;
    Ok(Reply::Value(bytes.len() as i64))
}
