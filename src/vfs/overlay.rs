//! Copy-on-write over a host directory (`--overlay SRC DEST [--upper DIR]`).
//!
//! The upper directory is kept in the format of the kernel's overlayfs, so
//! it can be read with ordinary tools, kept as a snapshot, and even mounted
//! by overlayfs later:
//! - a changed or new node lives in the upper directory at its own path;
//!   the directories on the way there are copied up first (mode and times);
//! - a removed name that the lower directory has becomes a *whiteout*, a
//!   character device 0/0. Linux lets any user make one since 5.8
//!   ([`Layers::new`] checks); a guest cannot, since the view refuses
//!   device nodes;
//! - a directory made where the lower one had a directory that was removed
//!   gets a whiteout for each of the lower directory's names, where
//!   overlayfs would set its "opaque" attribute (a privileged `trusted.*`
//!   xattr).
//!
//! The lower directory is only ever opened for reading. Everything that
//! changes a node goes through [`Layers::upper_node`] or
//! [`Layers::upper_parent`], which copy up first and hand out only upper
//! fds. Renaming a directory that the lower layer has is `EXDEV`, as on
//! overlayfs without `redirect_dir`; `mv` then copies. Copying up does not
//! keep the owner (an unprivileged supervisor cannot give a file away),
//! extended attributes, or hard links between lower files.

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};

use super::dirent::{decode64, DirEntry};
use super::host::{BENEATH, O_PATH_NOFOLLOW};
use super::mount::{rest_or_dot, split_rest};
use crate::procfs::fd_path;
use crate::sys;

/// Which layer shows a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// The upper directory: the guest's changes.
    Upper,
    /// The lower directory: the source, never changed.
    Lower,
}

/// The two directories of one overlay mount, opened.
#[derive(Debug)]
pub struct Layers {
    upper: OwnedFd,
    lower: OwnedFd,
    upper_dir: PathBuf,
    lower_dir: PathBuf,
    /// The copies this run made: upper node -> the lower node it was
    /// copied from (device, inode). What an fd of a lower node names is
    /// its copy, not whatever is at its path since (a rename, a new file).
    copies: std::sync::Mutex<std::collections::HashMap<(u64, u64), (u64, u64)>>,
    /// The upper directories this run made where a removed source
    /// directory was ([`Layers::made_dir`]): they merge none of it.
    made: std::sync::Mutex<std::collections::HashSet<(u64, u64)>>,
}

/// Whether `st` is a whiteout (a character device 0/0).
pub fn is_whiteout(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == 0
}

/// Whether `name` in directory `dir` is a whiteout (never following it).
fn whiteout_at(dir: BorrowedFd<'_>, name: &CStr) -> Result<bool, Errno> {
    nix::sys::stat::fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map(|st| is_whiteout(&st))
}

fn is_fifo(fd: BorrowedFd<'_>) -> bool {
    sys::fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFIFO)
}

fn cname(name: &[u8]) -> Result<CString, Errno> {
    CString::new(name).map_err(|_| Errno::EINVAL)
}

fn open_dir_path(path: &Path) -> std::io::Result<OwnedFd> {
    let fd = nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?;
    Ok(fd)
}

fn times_of(st: &libc::stat) -> [libc::timespec; 2] {
    [
        libc::timespec { tv_sec: st.st_atime, tv_nsec: st.st_atime_nsec },
        libc::timespec { tv_sec: st.st_mtime, tv_nsec: st.st_mtime_nsec },
    ]
}

/// A name for a node that exists only for a moment (a whiteout on its way
/// to replacing a name); whiteouts are never listed, so the guest never
/// sees it. Unpredictable (a guest could otherwise make the names first),
/// and callers still retry on `EEXIST`.
fn temp_name() -> CString {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(N.fetch_add(1, Ordering::Relaxed));
    CString::new(format!(".condo-wh-{:016x}", h.finish())).expect("no NUL")
}

impl Layers {
    /// Opens `lower` and `upper` (made when missing), and checks that
    /// whiteouts can be made in `upper`.
    pub fn new(lower: &Path, upper: &Path) -> Result<Layers, (Layer, PathBuf, std::io::Error)> {
        let lower_err = |e| (Layer::Lower, lower.to_path_buf(), e);
        let upper_err = |e| (Layer::Upper, upper.to_path_buf(), e);
        let lower_fd = open_dir_path(lower).map_err(lower_err)?;
        // A source the supervisor cannot list would show as empty.
        nix::unistd::access(lower, nix::unistd::AccessFlags::R_OK | nix::unistd::AccessFlags::X_OK)
            .map_err(|e| lower_err(std::io::Error::other(format!("{e} (the source must be readable)"))))?;
        if upper.metadata().is_ok_and(|m| !m.is_dir()) {
            return Err(upper_err(std::io::Error::other("not a directory")));
        }
        std::fs::create_dir_all(upper).map_err(upper_err)?;
        let upper_fd = open_dir_path(upper).map_err(upper_err)?;
        let layers = Layers {
            upper: upper_fd,
            lower: lower_fd,
            upper_dir: upper.into(),
            lower_dir: lower.into(),
            copies: Default::default(),
            made: Default::default(),
        };
        layers.check_whiteouts().map_err(|e| {
            let why = format!(
                "cannot make whiteouts (character devices 0/0) here, which removing a source file needs: {e} \
                 (Linux 5.8 or later allows them, on a filesystem that is not itself an overlay)"
            );
            upper_err(std::io::Error::other(why))
        })?;
        layers.take_opaque_dirs(b"").map_err(|e| upper_err(std::io::Error::from(e)))?;
        Ok(layers)
    }

    /// An upper directory that overlayfs (mounted with `userxattr`) marked
    /// opaque (`user.overlay.opaque` = `y`: made where a removed source
    /// directory was) gets condo's own marks as well, a whiteout for each
    /// name the source directory has ([`Layers::made_dir`]), so that none
    /// of them shows through. An upper overlayfs mounts as root marks with
    /// a `trusted.` attribute, which an unprivileged supervisor cannot
    /// read. Once, when the upper is opened: condo makes no opaque marks.
    fn take_opaque_dirs(&self, rest: &[u8]) -> Result<(), Errno> {
        let dir = self.open_in(Layer::Upper, rest, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)?;
        if !rest.is_empty() {
            let mut v = [0u8; 1];
            let opaque = sys::getxattr(&fd_path(dir.as_fd()), c"user.overlay.opaque", &mut v);
            if opaque == Ok(1) && v[0] == b'y' {
                self.made_dir(rest)?;
            }
        }
        for e in read_dir(dir.as_fd())?.into_iter().filter(|e| e.kind == libc::DT_DIR) {
            let mut child = rest.to_vec();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(&e.name);
            self.take_opaque_dirs(&child)?;
        }
        Ok(())
    }

    fn check_whiteouts(&self) -> Result<(), Errno> {
        let name = temp_name();
        self.make_whiteout(self.upper.as_fd(), &name)?;
        let made = whiteout_at(self.upper.as_fd(), &name);
        let _ = nix::unistd::unlinkat(self.upper.as_fd(), name.as_c_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        match made {
            Ok(true) => Ok(()),
            Ok(false) => Err(Errno::EOPNOTSUPP),
            Err(e) => Err(e),
        }
    }

    /// The upper directory's host path.
    pub fn upper_dir(&self) -> &Path {
        &self.upper_dir
    }

    /// The lower directory's host path.
    pub fn lower_dir(&self) -> &Path {
        &self.lower_dir
    }

    fn root(&self, layer: Layer) -> BorrowedFd<'_> {
        match layer {
            Layer::Upper => self.upper.as_fd(),
            Layer::Lower => self.lower.as_fd(),
        }
    }

    /// Opens `rest` in one layer, never following a symlink.
    pub fn open_in(&self, layer: Layer, rest: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
        let flags = (flags | libc::O_CLOEXEC) as u64;
        sys::openat2(self.root(layer), rest_or_dot(rest), flags, u64::from(mode), BENEATH)
    }

    /// The layer that shows `rest` and an `O_PATH|O_NOFOLLOW` fd of the
    /// node there; `ENOENT` when neither does (a whiteout at `rest` or
    /// above it, or a non-directory above it in the upper layer, hides the
    /// lower one).
    pub fn find(&self, rest: &[u8]) -> Result<(Layer, OwnedFd), Errno> {
        match self.open_in(Layer::Upper, rest, O_PATH_NOFOLLOW, 0) {
            Ok(fd) => {
                if is_whiteout(&sys::fstat(fd.as_fd())?) {
                    Err(Errno::ENOENT)
                } else {
                    Ok((Layer::Upper, fd))
                }
            }
            // Everything above exists in the upper layer as directories up
            // to a missing name: the lower layer shows through there,
            // unless it has a non-directory above (a file the upper layer
            // replaced by a directory, or one the view shows as such:
            // either way nothing is there).
            Err(Errno::ENOENT) => match self.open_in(Layer::Lower, rest, O_PATH_NOFOLLOW, 0) {
                Ok(fd) => Ok((Layer::Lower, fd)),
                Err(Errno::ENOTDIR | Errno::ELOOP) => Err(Errno::ENOENT),
                Err(e) => Err(e),
            },
            // A whiteout, file or symlink above `rest` in the upper layer.
            Err(Errno::ENOTDIR | Errno::ELOOP) => Err(Errno::ENOENT),
            Err(e) => Err(e),
        }
    }

    /// Opens `rest` in an overlay: what only reads opens in the layer that
    /// shows it; what may write opens the upper layer's copy, made first; a
    /// new name is made in the upper layer.
    pub fn open(&self, rest: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
        if flags & libc::O_PATH != 0 {
            return self.open_shown(rest, flags, 0);
        }
        let writes = flags & libc::O_ACCMODE != libc::O_RDONLY
            || flags & libc::O_TRUNC != 0
            || flags & libc::O_TMPFILE == libc::O_TMPFILE;
        let existing = flags & !(libc::O_CREAT | libc::O_EXCL);
        match self.find(rest) {
            Ok(_) if flags & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL => Err(Errno::EEXIST),
            // A source fifo is copied up before any open that moves data,
            // so its readers and writers meet at one fifo, and the
            // source's times never change.
            Ok((layer, found)) if writes || layer == Layer::Lower && is_fifo(found.as_fd()) => {
                self.upper_node(rest)?;
                // O_TMPFILE makes a file in the directory: with its mode.
                let mode = if flags & libc::O_TMPFILE == libc::O_TMPFILE { mode } else { 0 };
                self.open_in(Layer::Upper, rest, existing, mode)
            }
            Ok((layer, _)) => self.open_in(layer, rest, existing, 0),
            Err(Errno::ENOENT) if flags & libc::O_CREAT != 0 => {
                self.upper_parent(rest)?;
                self.open_in(Layer::Upper, rest, flags, mode).inspect_err(|_| self.restore_whiteout(rest))
            }
            Err(e) => Err(e),
        }
    }

    /// Opens `rest` for reading (or `O_PATH`) in the layer that shows it.
    pub fn open_shown(&self, rest: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
        let (layer, _) = self.find(rest)?;
        self.open_in(layer, rest, flags, mode)
    }

    /// The host path of what `rest` shows: in the upper layer when it has
    /// it, otherwise in the lower one.
    pub fn host_path(&self, rest: &[u8]) -> PathBuf {
        let dir = match self.find(rest) {
            Ok((Layer::Upper, _)) => &self.upper_dir,
            _ => &self.lower_dir,
        };
        if rest.is_empty() {
            dir.clone()
        } else {
            dir.join(std::ffi::OsStr::from_bytes(rest))
        }
    }

    /// Whether the lower layer has something at `rest` (a name that,
    /// removed, needs a whiteout).
    fn lower_has(&self, rest: &[u8]) -> bool {
        !rest.is_empty() && self.open_in(Layer::Lower, rest, O_PATH_NOFOLLOW, 0).is_ok()
    }

    fn make_whiteout(&self, parent: BorrowedFd<'_>, name: &CStr) -> Result<(), Errno> {
        nix::sys::stat::mknodat(parent, name, SFlag::S_IFCHR, Mode::empty(), 0)
    }

    /// The directory `rest` in the upper layer (`O_PATH`), copied up from
    /// the lower one with every directory above it when the upper layer
    /// does not have it yet.
    pub fn upper_dir_of(&self, rest: &[u8]) -> Result<OwnedFd, Errno> {
        let dir = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        match self.open_in(Layer::Upper, rest, dir, 0) {
            Err(Errno::ENOENT) => {}
            Err(Errno::ENOTDIR | Errno::ELOOP) => return Err(Errno::ENOENT),
            other => return other,
        }
        let mut cur = self.open_in(Layer::Upper, b"", dir, 0)?;
        let mut done: Vec<u8> = Vec::new();
        for comp in rest.split(|&c| c == b'/') {
            if !done.is_empty() {
                done.push(b'/');
            }
            done.extend_from_slice(comp);
            let next = match sys::openat2(cur.as_fd(), comp, (dir | libc::O_CLOEXEC) as u64, 0, BENEATH) {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    let lower = self.open_in(Layer::Lower, &done, dir, 0)?;
                    let st = sys::fstat(lower.as_fd())?;
                    let name = cname(comp)?;
                    let made = keeping_times(cur.as_fd(), || {
                        nix::sys::stat::mkdirat(cur.as_fd(), name.as_c_str(), Mode::from_bits_truncate(0o700))
                    });
                    match made {
                        Ok(()) => {
                            let fd = sys::openat2(cur.as_fd(), comp, (dir | libc::O_CLOEXEC) as u64, 0, BENEATH)?;
                            self.copy_attrs(fd.as_fd(), &st)?;
                            self.copied(fd.as_fd(), &st);
                            fd
                        }
                        // Copied up meanwhile by another guest call.
                        Err(Errno::EEXIST) => {
                            sys::openat2(cur.as_fd(), comp, (dir | libc::O_CLOEXEC) as u64, 0, BENEATH)?
                        }
                        Err(e) => return Err(e),
                    }
                }
                Err(Errno::ENOTDIR | Errno::ELOOP) => return Err(Errno::ENOENT),
                Err(e) => return Err(e),
            };
            cur = next;
        }
        Ok(cur)
    }

    /// Mode and times of `lower` onto the copied-up node `fd` (`O_PATH`).
    fn copy_attrs(&self, fd: BorrowedFd<'_>, lower: &libc::stat) -> Result<(), Errno> {
        let path = fd_path(fd);
        nix::sys::stat::fchmodat(
            nix::fcntl::AT_FDCWD,
            path.as_c_str(),
            Mode::from_bits_truncate(lower.st_mode & 0o7777),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )?;
        sys::utimensat(None, &path, Some(&times_of(lower)), 0)
    }

    /// The node `rest` in the upper layer (`O_PATH|O_NOFOLLOW`), copied up
    /// when only the lower layer has it, contents and all (even for an
    /// `O_TRUNC` open, which may yet fail). Everything that changes an
    /// existing node changes this one.
    pub fn upper_node(&self, rest: &[u8]) -> Result<OwnedFd, Errno> {
        let lower = match self.find(rest)? {
            (Layer::Upper, fd) => return Ok(fd),
            (Layer::Lower, fd) => fd,
        };
        let (parent_rest, name) = split_rest(rest);
        if name.is_empty() {
            // The mount's root.
            return self.upper_dir_of(b"");
        }
        let parent = self.upper_dir_of(parent_rest)?;
        let name = cname(name)?;
        let st = sys::fstat(lower.as_fd())?;
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            return self.upper_dir_of(rest);
        }
        // A copy is no change of its directory: its times stay.
        let made = keeping_times(parent.as_fd(), || match st.st_mode & libc::S_IFMT {
            libc::S_IFREG => self.copy_file(lower.as_fd(), &st, parent.as_fd(), &name),
            libc::S_IFLNK => {
                let target = nix::fcntl::readlinkat(lower.as_fd(), c"")?;
                nix::unistd::symlinkat(target.as_os_str(), parent.as_fd(), name.as_c_str()).and_then(|()| {
                    sys::utimensat(Some(parent.as_fd()), &name, Some(&times_of(&st)), libc::AT_SYMLINK_NOFOLLOW)
                })
            }
            libc::S_IFIFO => nix::sys::stat::mknodat(
                parent.as_fd(),
                name.as_c_str(),
                SFlag::S_IFIFO,
                Mode::from_bits_truncate(0o600),
                0,
            )
            .and_then(|()| {
                let fd = sys::openat2(
                    parent.as_fd(),
                    name.as_bytes(),
                    (O_PATH_NOFOLLOW | libc::O_CLOEXEC) as u64,
                    0,
                    BENEATH,
                )?;
                self.copy_attrs(fd.as_fd(), &st)
            }),
            // Devices and sockets cannot be made again by an unprivileged
            // supervisor.
            _ => Err(Errno::EROFS),
        });
        match made {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(e),
        }
        let copy =
            sys::openat2(parent.as_fd(), name.as_bytes(), (O_PATH_NOFOLLOW | libc::O_CLOEXEC) as u64, 0, BENEATH)?;
        if made.is_ok() {
            self.copied(copy.as_fd(), &st);
        }
        Ok(copy)
    }

    /// Remembers that upper node `copy` was copied from the lower node
    /// `lower` describes.
    fn copied(&self, copy: BorrowedFd<'_>, lower: &libc::stat) {
        if let Ok(c) = sys::fstat(copy) {
            let mut copies = self.copies.lock().unwrap_or_else(|e| e.into_inner());
            copies.insert((c.st_dev, c.st_ino), (lower.st_dev, lower.st_ino));
        }
    }

    /// Whether the view shows the lower node `lower` (device, inode) at
    /// `rest`: there in the lower layer still, as the copy this run made
    /// of it, or (a directory) merged into the upper one there. Not after
    /// a rename, a removal, or a new node made there.
    pub fn shows(&self, rest: &[u8], lower: (u64, u64)) -> bool {
        let Ok((layer, fd)) = self.find(rest) else { return false };
        let Ok(st) = sys::fstat(fd.as_fd()) else { return false };
        let node = (st.st_dev, st.st_ino);
        match layer {
            Layer::Lower => node == lower,
            Layer::Upper if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
                !self.made.lock().unwrap_or_else(|e| e.into_inner()).contains(&node)
                    && self
                        .open_in(Layer::Lower, rest, O_PATH_NOFOLLOW, 0)
                        .is_ok_and(|l| sys::fstat(l.as_fd()).is_ok_and(|l| (l.st_dev, l.st_ino) == lower))
            }
            Layer::Upper => self.copies.lock().unwrap_or_else(|e| e.into_inner()).get(&node) == Some(&lower),
        }
    }

    /// Copies regular file `lower` into `parent` as `name`, whole or not
    /// at all: written to an unnamed file first, then linked in (or, where
    /// `O_TMPFILE` is missing, to a hidden name renamed into place).
    fn copy_file(
        &self,
        lower: BorrowedFd<'_>,
        st: &libc::stat,
        parent: BorrowedFd<'_>,
        name: &CStr,
    ) -> Result<(), Errno> {
        let tmp_flags = (libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC) as u64;
        let (file, temp) = match sys::openat2(parent, b".", tmp_flags, 0o600, BENEATH) {
            Ok(f) => (f, None),
            Err(Errno::EOPNOTSUPP | Errno::EISDIR | Errno::EINVAL) => {
                let t = temp_name();
                let f = sys::openat2(
                    parent,
                    t.as_bytes(),
                    (libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC) as u64,
                    0o600,
                    BENEATH,
                )?;
                (f, Some(t))
            }
            Err(e) => return Err(e),
        };
        let copied = (|| -> Result<(), Errno> {
            let src = crate::procfs::reopen(lower, OFlag::O_RDONLY | OFlag::O_CLOEXEC)?;
            copy_contents(src.as_fd(), file.as_fd(), st.st_size)?;
            nix::sys::stat::fchmod(file.as_fd(), Mode::from_bits_truncate(st.st_mode & 0o7777))?;
            nix::sys::stat::futimens(
                file.as_fd(),
                &nix::sys::time::TimeSpec::from(times_of(st)[0]),
                &nix::sys::time::TimeSpec::from(times_of(st)[1]),
            )
        })();
        match temp {
            None => {
                copied?;
                nix::unistd::linkat(
                    nix::fcntl::AT_FDCWD,
                    fd_path(file.as_fd()).as_c_str(),
                    parent,
                    name,
                    AtFlags::AT_SYMLINK_FOLLOW,
                )
            }
            Some(t) => {
                let done = copied.and_then(|()| {
                    nix::fcntl::renameat2(parent, t.as_c_str(), parent, name, nix::fcntl::RenameFlags::RENAME_NOREPLACE)
                });
                if done.is_err() {
                    let _ = nix::unistd::unlinkat(parent, t.as_c_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
                }
                done
            }
        }
    }

    /// The parent directory of a name about to be made at `rest`, in the
    /// upper layer (copied up when needed), with any whiteout at `rest`
    /// removed so the name can be made there.
    pub fn upper_parent(&self, rest: &[u8]) -> Result<OwnedFd, Errno> {
        let (parent_rest, name) = split_rest(rest);
        let parent = self.upper_dir_of(parent_rest)?;
        let name = cname(name)?;
        if whiteout_at(parent.as_fd(), &name).unwrap_or(false) {
            match nix::unistd::unlinkat(parent.as_fd(), name.as_c_str(), nix::unistd::UnlinkatFlags::NoRemoveDir) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(parent)
    }

    /// After a make at `rest` failed (the whiteout there was removed for
    /// it by [`Layers::upper_parent`]): the removed source name stays
    /// removed. Nothing is done when something is at `rest` or the lower
    /// layer has nothing there.
    pub fn restore_whiteout(&self, rest: &[u8]) {
        let (parent_rest, name) = split_rest(rest);
        if !self.lower_has(rest) || self.open_in(Layer::Upper, rest, O_PATH_NOFOLLOW, 0).is_ok() {
            return;
        }
        if let (Ok(parent), Ok(name)) =
            (self.open_in(Layer::Upper, parent_rest, libc::O_PATH | libc::O_DIRECTORY, 0), cname(name))
        {
            let _ = self.make_whiteout(parent.as_fd(), &name);
        }
    }

    /// After a directory was made (or moved) at `rest`: the lower
    /// directory there, which had been removed, must not show through it.
    pub fn made_dir(&self, rest: &[u8]) -> Result<(), Errno> {
        let Ok(lower) = self.open_in(Layer::Lower, rest, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)
        else {
            return Ok(());
        };
        let upper = self.open_in(Layer::Upper, rest, libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)?;
        if let Ok(st) = sys::fstat(upper.as_fd()) {
            self.made.lock().unwrap_or_else(|e| e.into_inner()).insert((st.st_dev, st.st_ino));
        }
        for e in read_dir(lower.as_fd())? {
            let name = cname(&e.name)?;
            if nix::sys::stat::fstatat(upper.as_fd(), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW).is_err() {
                match self.make_whiteout(upper.as_fd(), &name) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// [`Layers::made_dir`] for directory `rest` of the upper layer and
    /// every directory below it: a tree moved where a removed source
    /// directory was must hide the source's names at every depth.
    fn made_tree(&self, rest: &[u8]) -> Result<(), Errno> {
        self.made_dir(rest)?;
        let dir = self.open_in(Layer::Upper, rest, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0)?;
        for e in read_dir(dir.as_fd())?.into_iter().filter(|e| e.kind == libc::DT_DIR) {
            let mut child = rest.to_vec();
            child.push(b'/');
            child.extend_from_slice(&e.name);
            self.made_tree(&child)?;
        }
        Ok(())
    }

    /// The merged listing of directory `rest` (without `.` and `..`): the
    /// upper layer's names but whiteouts, then the lower layer's names the
    /// upper one has neither made nor removed.
    pub fn list(&self, rest: &[u8]) -> Result<Vec<DirEntry>, Errno> {
        let rd = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        let mut out = Vec::new();
        let mut taken: HashSet<Vec<u8>> = HashSet::new();
        let lower_shows = match self.open_in(Layer::Upper, rest, rd, 0) {
            Ok(dir) => {
                for e in read_dir(dir.as_fd())? {
                    taken.insert(e.name.clone());
                    let whiteout = e.kind == libc::DT_CHR
                        && cname(&e.name).is_ok_and(|n| whiteout_at(dir.as_fd(), &n).unwrap_or(false));
                    if !whiteout {
                        out.push(e);
                    }
                }
                true
            }
            Err(Errno::ENOENT) => true,
            Err(Errno::ENOTDIR | Errno::ELOOP) => false,
            Err(e) => return Err(e),
        };
        if lower_shows {
            if let Ok(dir) = self.open_in(Layer::Lower, rest, rd, 0) {
                out.extend(read_dir(dir.as_fd())?.into_iter().filter(|e| !taken.contains(&e.name)));
            }
        }
        Ok(out)
    }

    /// Removes `rest` from the view: from the upper layer if it is there,
    /// and behind a whiteout if the lower layer has it. A directory must
    /// be empty in the view (`ENOTEMPTY`).
    pub fn remove(&self, rest: &[u8], dir: bool) -> Result<(), Errno> {
        let (layer, fd) = self.find(rest)?;
        let is_dir = sys::fstat(fd.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
        match (dir, is_dir) {
            (true, false) => return Err(Errno::ENOTDIR),
            (false, true) => return Err(Errno::EISDIR),
            _ => {}
        }
        if dir && !self.list(rest)?.is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
        let (parent_rest, name) = split_rest(rest);
        let parent = self.upper_dir_of(parent_rest)?;
        let name = cname(name)?;
        let lower_has = self.lower_has(rest);
        match (layer, is_dir) {
            (Layer::Upper, true) => {
                self.clear_whiteouts(rest)?;
                nix::unistd::unlinkat(parent.as_fd(), name.as_c_str(), nix::unistd::UnlinkatFlags::RemoveDir)?;
                if lower_has {
                    self.make_whiteout(parent.as_fd(), &name)?;
                }
            }
            (Layer::Upper, false) if lower_has => {
                // Replaced in one step, so the lower file never shows.
                let mut tries = 0;
                let t = loop {
                    let t = temp_name();
                    match self.make_whiteout(parent.as_fd(), &t) {
                        Err(Errno::EEXIST) if tries < 8 => tries += 1,
                        Err(e) => return Err(e),
                        Ok(()) => break t,
                    }
                };
                nix::fcntl::renameat(parent.as_fd(), t.as_c_str(), parent.as_fd(), name.as_c_str())?;
            }
            (Layer::Upper, false) => {
                nix::unistd::unlinkat(parent.as_fd(), name.as_c_str(), nix::unistd::UnlinkatFlags::NoRemoveDir)?
            }
            (Layer::Lower, _) => self.make_whiteout(parent.as_fd(), &name)?,
        }
        if layer == Layer::Upper {
            self.gone(fd.as_fd());
        }
        Ok(())
    }

    /// Forgets upper node `node` (held open) once its last name is gone:
    /// its inode number may then be a new file's, which is no copy.
    fn gone(&self, node: BorrowedFd<'_>) {
        if let Some(st) = sys::fstat(node).ok().filter(|st| st.st_nlink == 0) {
            let key = (st.st_dev, st.st_ino);
            self.copies.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
            self.made.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        }
    }

    /// Removes the whiteouts of upper directory `rest` (whose listing in
    /// the view is empty), so it can be removed or replaced.
    fn clear_whiteouts(&self, rest: &[u8]) -> Result<(), Errno> {
        let Ok(dir) = self.open_in(Layer::Upper, rest, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0) else {
            return Ok(());
        };
        for e in read_dir(dir.as_fd())? {
            let name = cname(&e.name)?;
            if !whiteout_at(dir.as_fd(), &name)? {
                return Err(Errno::ENOTEMPTY);
            }
            nix::unistd::unlinkat(dir.as_fd(), name.as_c_str(), nix::unistd::UnlinkatFlags::NoRemoveDir)?;
        }
        Ok(())
    }

    /// Renames `from` to `to` (both in this overlay), with
    /// `RENAME_NOREPLACE` or `RENAME_EXCHANGE` as `renameat2` takes them.
    pub fn rename(&self, from: &[u8], to: &[u8], flags: u32) -> Result<(), Errno> {
        let (_, src) = self.find(from)?;
        let src_dir = sys::fstat(src.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
        let mut replaced = None;
        let target = match self.find(to) {
            Ok((layer, fd)) => {
                let dir = sys::fstat(fd.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR;
                if layer == Layer::Upper {
                    replaced = Some(fd);
                }
                Some(dir)
            }
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(e),
        };
        if from == to {
            return if target.is_some() && flags & libc::RENAME_NOREPLACE != 0 { Err(Errno::EEXIST) } else { Ok(()) };
        }
        if to.starts_with(from) && to.get(from.len()) == Some(&b'/') {
            return Err(Errno::EINVAL);
        }
        let exchange = flags & libc::RENAME_EXCHANGE != 0;
        match target {
            Some(_) if flags & libc::RENAME_NOREPLACE != 0 => return Err(Errno::EEXIST),
            None if exchange => return Err(Errno::ENOENT),
            Some(true) if !src_dir && !exchange => return Err(Errno::EISDIR),
            Some(false) if src_dir && !exchange => return Err(Errno::ENOTDIR),
            Some(true) if !exchange && !self.list(to)?.is_empty() => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        // A directory the lower layer has would have to move with all its
        // lower names: overlayfs refuses that too, and callers copy.
        let lower_dir = |rest: &[u8]| {
            self.open_in(Layer::Lower, rest, libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW, 0).is_ok()
        };
        if src_dir && lower_dir(from) || exchange && target == Some(true) && lower_dir(to) {
            return Err(Errno::EXDEV);
        }
        self.upper_node(from)?;
        if exchange {
            self.upper_node(to)?;
        }
        let (fp, fname) = split_rest(from);
        let (_, tname) = split_rest(to);
        let from_parent = self.upper_dir_of(fp)?;
        let to_parent = self.upper_parent(to)?;
        let (fname, tname) = (cname(fname)?, cname(tname)?);
        if target == Some(true) && !exchange {
            self.clear_whiteouts(to)?;
        }
        let mut rflags = nix::fcntl::RenameFlags::empty();
        if exchange {
            rflags |= nix::fcntl::RenameFlags::RENAME_EXCHANGE;
        }
        nix::fcntl::renameat2(from_parent.as_fd(), fname.as_c_str(), to_parent.as_fd(), tname.as_c_str(), rflags)?;
        if let (Some(node), false) = (&replaced, exchange) {
            self.gone(node.as_fd());
        }
        if !exchange {
            if self.lower_has(from) {
                self.make_whiteout(from_parent.as_fd(), &fname)?;
            }
            if src_dir {
                self.made_tree(to)?;
            }
        }
        Ok(())
    }
}

/// Runs `f`, which copies something up into upper directory `dir`, and
/// puts back the directory's times, as overlayfs does: a copy-up changes
/// nothing the guest sees in the directory.
fn keeping_times<T>(dir: BorrowedFd<'_>, f: impl FnOnce() -> Result<T, Errno>) -> Result<T, Errno> {
    let before = sys::fstat(dir);
    let r = f();
    if let (Ok(_), Ok(st)) = (&r, before) {
        let _ = sys::utimensat(None, &fd_path(dir), Some(&times_of(&st)), 0);
    }
    r
}

/// Every entry of directory `dir` but `.` and `..`.
fn read_dir(dir: BorrowedFd<'_>) -> Result<Vec<DirEntry>, Errno> {
    let mut buf = vec![0u8; 65536];
    let mut out = Vec::new();
    loop {
        let n = sys::getdents64(dir, &mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend(decode64(&buf[..n]).into_iter().filter(|e| e.name != b"." && e.name != b".."));
    }
}

/// Copies `len` bytes (or to the end) from `src` to `dst`, in the kernel
/// where it can.
fn copy_contents(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, len: i64) -> Result<(), Errno> {
    let mut left = usize::try_from(len).unwrap_or(0);
    while left > 0 {
        match nix::fcntl::copy_file_range(src, None, dst, None, left) {
            Ok(0) => return Ok(()),
            Ok(n) => left = left.saturating_sub(n),
            Err(Errno::EXDEV | Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => break,
            Err(e) => return Err(e),
        }
    }
    // Whatever is left (or a file that grew), the plain way.
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = nix::unistd::read(src, &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut off = 0;
        while off < n {
            off += nix::unistd::write(dst, &buf[off..n])?;
        }
    }
}

/// The layers against a model: a map from path to node, changed by the
/// same operations as POSIX describes them. After every operation the
/// merged view must equal the model and the lower directory must be
/// exactly as it was.
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Node {
        Dir,
        File(String, u32),
    }

    type Model = BTreeMap<String, Node>;

    #[derive(Clone, Debug)]
    enum Op {
        Write(String, String),
        Append(String),
        Remove(String),
        Rmdir(String),
        Mkdir(String),
        Rename(String, String),
        Chmod(String, u32),
    }

    fn path() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..=3).prop_map(|v| v.join("/"))
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (path(), "[xyz]{1,3}").prop_map(|(p, c)| Op::Write(p, c)),
            path().prop_map(Op::Append),
            path().prop_map(Op::Remove),
            path().prop_map(Op::Rmdir),
            path().prop_map(Op::Mkdir),
            (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
            (path(), prop::sample::select(vec![0o600u32, 0o640, 0o755])).prop_map(|(p, m)| Op::Chmod(p, m)),
        ]
    }

    fn parent(p: &str) -> Option<&str> {
        p.rsplit_once('/').map(|(a, _)| a)
    }

    fn parent_is_dir(m: &Model, p: &str) -> bool {
        parent(p).is_none_or(|d| m.get(d) == Some(&Node::Dir))
    }

    fn children<'m>(m: &'m Model, p: &str) -> impl Iterator<Item = &'m String> + 'm {
        let prefix = format!("{p}/");
        m.keys().filter(move |k| k.starts_with(&prefix))
    }

    /// What the operation does to the model; `false` when it fails.
    /// `lower_dirs`: the directories of the original tree (renaming one
    /// is EXDEV).
    fn apply(m: &mut Model, lower_dirs: &[String], op: &Op) -> bool {
        match op {
            Op::Write(p, c) => {
                if !parent_is_dir(m, p) || m.get(p) == Some(&Node::Dir) {
                    return false;
                }
                let mode = match m.get(p) {
                    Some(Node::File(_, mode)) => *mode,
                    _ => 0o644,
                };
                m.insert(p.clone(), Node::File(c.clone(), mode));
                true
            }
            Op::Append(p) => match m.get_mut(p) {
                Some(Node::File(c, _)) => {
                    c.push('+');
                    true
                }
                _ => false,
            },
            Op::Remove(p) => match m.get(p) {
                Some(Node::File(..)) => m.remove(p).is_some(),
                _ => false,
            },
            Op::Rmdir(p) => {
                if m.get(p) != Some(&Node::Dir) || children(m, p).next().is_some() {
                    return false;
                }
                m.remove(p).is_some()
            }
            Op::Mkdir(p) => {
                if !parent_is_dir(m, p) || m.contains_key(p) {
                    return false;
                }
                m.insert(p.clone(), Node::Dir);
                true
            }
            Op::Chmod(p, mode) => match m.get_mut(p) {
                Some(Node::File(_, old)) => {
                    *old = *mode;
                    true
                }
                _ => false,
            },
            Op::Rename(a, b) => {
                let Some(src) = m.get(a).cloned() else { return false };
                if !parent_is_dir(m, b) {
                    return false;
                }
                if a == b {
                    return true;
                }
                if b.starts_with(&format!("{a}/")) {
                    return false;
                }
                if src == Node::Dir && lower_dirs.contains(a) {
                    return false;
                }
                match (m.get(b), &src) {
                    (Some(Node::Dir), Node::File(..)) | (Some(Node::File(..)), Node::Dir) => return false,
                    (Some(Node::Dir), Node::Dir) if children(m, b).next().is_some() => return false,
                    _ => {}
                }
                let moved: Vec<(String, Node)> =
                    children(m, a).map(|k| (format!("{b}{}", &k[a.len()..]), m[k].clone())).collect();
                m.retain(|k, _| k != a && !k.starts_with(&format!("{a}/")));
                m.insert(b.clone(), src);
                m.extend(moved);
                true
            }
        }
    }

    /// The operation on the layers, as the handlers call them.
    fn run(l: &Layers, op: &Op) -> Result<(), Errno> {
        let b = |p: &String| p.as_bytes().to_vec();
        match op {
            Op::Write(p, c) => {
                let fd = l.open(&b(p), libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, 0o644)?;
                std::fs::File::from(fd).write_all(c.as_bytes()).map_err(|_| Errno::EIO)
            }
            Op::Append(p) => {
                let fd = l.open(&b(p), libc::O_WRONLY | libc::O_APPEND, 0)?;
                std::fs::File::from(fd).write_all(b"+").map_err(|_| Errno::EIO)
            }
            Op::Remove(p) => l.remove(&b(p), false),
            Op::Rmdir(p) => l.remove(&b(p), true),
            Op::Mkdir(p) => {
                if l.find(&b(p)).is_ok() {
                    return Err(Errno::EEXIST);
                }
                let parent = l.upper_parent(&b(p))?;
                let name = p.rsplit('/').next().unwrap_or(p);
                nix::sys::stat::mkdirat(parent.as_fd(), name, Mode::from_bits_truncate(0o755))?;
                l.made_dir(&b(p))
            }
            Op::Chmod(p, mode) => {
                let (_, found) = l.find(&b(p))?;
                if sys::fstat(found.as_fd())?.st_mode & libc::S_IFMT == libc::S_IFDIR {
                    return Err(Errno::EISDIR);
                }
                let node = l.upper_node(&b(p))?;
                nix::sys::stat::fchmodat(
                    nix::fcntl::AT_FDCWD,
                    fd_path(node.as_fd()).as_c_str(),
                    Mode::from_bits_truncate(*mode),
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                )
            }
            Op::Rename(a, c) => l.rename(&b(a), &b(c), 0),
        }
    }

    /// The merged view, walked through the layers.
    fn view(l: &Layers, dir: &str, out: &mut Model) {
        for e in l.list(dir.as_bytes()).expect("list") {
            let name = String::from_utf8(e.name).unwrap();
            let p = if dir.is_empty() { name } else { format!("{dir}/{name}") };
            let fd = l.open_shown(p.as_bytes(), libc::O_RDONLY | libc::O_NOFOLLOW, 0).expect("open a listed name");
            let st = sys::fstat(fd.as_fd()).unwrap();
            if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
                out.insert(p.clone(), Node::Dir);
                view(l, &p, out);
            } else {
                let c = std::fs::read_to_string(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
                out.insert(p, Node::File(c, st.st_mode & 0o777));
            }
        }
    }

    fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let m = std::fs::symlink_metadata(e.path()).unwrap();
                let body = if m.is_file() { std::fs::read_to_string(e.path()).unwrap() } else { String::new() };
                out.insert(e.path(), format!("{:o} {} {} {} {body}", m.mode(), m.ino(), m.mtime_nsec(), m.nlink()));
                if m.is_dir() {
                    stack.push(e.path());
                }
            }
        }
        out
    }

    /// A tree moved where a removed source directory was hides the
    /// source's names at every depth (a review found `sub/f` showing
    /// through again).
    #[test]
    fn a_tree_moved_over_a_removed_directory_hides_the_source_below() {
        let tmp = tempfile::tempdir().unwrap();
        let (lower, upper) = (tmp.path().join("lower"), tmp.path().join("upper"));
        std::fs::create_dir_all(lower.join("y/sub")).unwrap();
        std::fs::write(lower.join("y/sub/f"), "f").unwrap();
        let l = Layers::new(&lower, &upper).unwrap();
        let mut m = Model::new();
        for op in [
            Op::Remove("y/sub/f".into()),
            Op::Rmdir("y/sub".into()),
            Op::Rmdir("y".into()),
            Op::Mkdir("x".into()),
            Op::Mkdir("x/sub".into()),
            Op::Rename("x".into(), "y".into()),
        ] {
            run(&l, &op).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        }
        view(&l, "", &mut m);
        let want: Model = [("y".to_string(), Node::Dir), ("y/sub".to_string(), Node::Dir)].into_iter().collect();
        assert_eq!(m, want);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn layers_behave_like_one_directory_and_never_change_the_lower(
            tree in prop::collection::vec((path(), any::<bool>(), "[pq]{1,2}"), 0..8),
            ops in prop::collection::vec(op(), 1..25),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let lower = tmp.path().join("lower");
            let upper = tmp.path().join("upper");
            std::fs::create_dir(&lower).unwrap();
            let mut model = Model::new();
            for (p, dir, body) in &tree {
                let exists_parent = parent(p).is_none_or(|d| model.get(d) == Some(&Node::Dir));
                if !exists_parent || model.contains_key(p) {
                    continue;
                }
                let host = lower.join(p);
                if *dir {
                    std::fs::create_dir(&host).unwrap();
                    model.insert(p.clone(), Node::Dir);
                } else {
                    std::fs::write(&host, body).unwrap();
                    std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o644)).unwrap();
                    model.insert(p.clone(), Node::File(body.clone(), 0o644));
                }
            }
            let lower_dirs: Vec<String> =
                model.iter().filter(|(_, n)| **n == Node::Dir).map(|(k, _)| k.clone()).collect();
            let before = snapshot(&lower);
            let l = Layers::new(&lower, &upper).unwrap();
            for (i, op) in ops.iter().enumerate() {
                let want = apply(&mut model, &lower_dirs, op);
                let got = run(&l, op);
                prop_assert_eq!(got.is_ok(), want, "step {} {:?}: {:?}", i, op, got);
                let mut seen = Model::new();
                view(&l, "", &mut seen);
                prop_assert_eq!(&seen, &model, "after step {} {:?}", i, op);
                prop_assert_eq!(&snapshot(&lower), &before, "the lower directory changed at step {} {:?}", i, op);
            }
        }
    }
}
