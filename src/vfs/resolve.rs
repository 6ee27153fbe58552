//! Path resolution in the guest's view, the way Linux walks a path, but
//! against the [`View`]'s mount table instead of the host's.
//!
//! # Why in userspace, and why this way
//!
//! The guest's path argument lives in its memory, which a second guest
//! thread can rewrite at any moment. So the supervisor reads it once, and
//! everything after that happens on the copy: this module decides, from the
//! copy alone, which guest path it names and which mount holds it; the
//! caller then opens `rest` beneath the mount's root on the host (with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
//! RESOLVE_NO_XDEV)`) and hands the guest the resulting fd. Nothing the
//! guest does later can change what was resolved.
//!
//! The walk keeps the guest inside its view, like `RESOLVE_IN_ROOT` with
//! the view as the root:
//! - an absolute symlink restarts from the view's `/`, never the host's;
//! - `..` never goes above the view's `/` (`/..` is `/`), and `..` from a
//!   mount's root goes to the parent *in the guest's view* (not to the host
//!   directory above the bound one), because the walk works on guest
//!   paths, never on host paths;
//! - every symlink is read by the [`Fs`] and followed here, so a symlink on
//!   the host is never followed by the host kernel on the guest's behalf;
//! - the result's [`Resolved::rest`] is normalised (no `.`, `..` or empty
//!   component), so [`Resolved::host_path`] is always under the mount's host
//!   root.
//!
//! Everything else is Linux's: a trailing slash requires a directory (and
//! follows a final symlink, even with `O_NOFOLLOW`), an empty path is
//! `ENOENT`, a path argument of [`PATH_MAX`] bytes or more and a name longer
//! than [`NAME_MAX`] are `ENAMETOOLONG`, more than [`MAX_SYMLINKS`] symlinks
//! is `ELOOP`, and a non-directory in the middle is `ENOTDIR`.
//!
//! Paths relative to a directory fd resolve the same way, with that
//! directory's guest path as `cwd`.

use std::borrow::Cow;
use std::path::PathBuf;

use nix::errno::Errno;

use super::mount::{host_join, Lookup, Mount, MountKind, Synthetic, View};
use super::path::{GuestPath, NAME_MAX, PATH_MAX};

/// The most symlinks one resolution follows (Linux's `MAXSYMLINKS`); the
/// next one is `ELOOP`.
pub const MAX_SYMLINKS: u32 = 40;

/// What is at a path, as far as resolution cares.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A directory.
    Dir,
    /// Anything that is neither a directory nor a symlink (regular file,
    /// fifo, socket, device).
    File,
    /// A symlink, with its target as stored (not resolved).
    Symlink(Vec<u8>),
}

/// What the resolver needs to know about the contents of the view's
/// mounts. The real implementation looks at the host (`fstatat`/
/// `readlinkat` beneath the mount's root); tests use an in-memory tree.
///
/// The resolver answers for what the mount table itself decides (hidden
/// paths, skeleton directories, the empty root); `kind` is asked only about
/// a path inside a host, tmpfs, overlay, `/dev` or `/proc` mount.
pub trait Fs {
    /// What is at `path`, which `at` places in its mount (`at.rest` under
    /// the mount's root). Must not follow symlinks in any component of
    /// `at.rest`: a symlink is reported as [`NodeKind::Symlink`] when it is
    /// the last component; when a component before the last is not a
    /// directory, the answer is `ENOENT` (this happens under skeleton
    /// directories; `ENOTDIR` and `ELOOP`, as `openat2` with
    /// `RESOLVE_NO_SYMLINKS` gives, are read as `ENOENT` too). Other errors
    /// (`EACCES`, `EIO`) end the resolution with that errno.
    fn kind(&self, path: &GuestPath, at: &Lookup<'_>) -> Result<NodeKind, Errno>;
}

/// Where a guest path leads: the guest path of what it names, its mount,
/// and the path under that mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved<'v> {
    path: GuestPath,
    mount: &'v Mount,
    rest_start: usize,
    kind: Option<NodeKind>,
    trailing_slash: bool,
    skeleton: bool,
}

impl<'v> Resolved<'v> {
    /// The guest path of what was found (absolute, normalised, with every
    /// symlink but a final unfollowed one resolved).
    pub fn path(&self) -> &GuestPath {
        &self.path
    }

    /// [`Resolved::path`], by value.
    pub fn into_path(self) -> GuestPath {
        self.path
    }

    /// The mount that holds the path. It is a hidden mount
    /// ([`MountKind::Hidden`]) only for a skeleton directory laid over a
    /// hidden path ([`Resolved::is_skeleton`]).
    pub fn mount(&self) -> &'v Mount {
        self.mount
    }

    /// The path under the mount's root: relative, normalised, empty for the
    /// mount's root itself.
    pub fn rest(&self) -> &[u8] {
        self.path.as_bytes().get(self.rest_start..).unwrap_or_default()
    }

    /// The mount and rest together.
    pub fn lookup(&self) -> Lookup<'_> {
        Lookup { mount: self.mount, rest: self.rest() }
    }

    /// What is there; `None` when the last name does not exist (only from
    /// [`resolve_or_missing`]).
    pub fn kind(&self) -> Option<&NodeKind> {
        self.kind.as_ref()
    }

    /// Whether something is there.
    pub fn exists(&self) -> bool {
        self.kind.is_some()
    }

    /// Whether the path argument ended with a slash (after the last name,
    /// or after the last name of a final symlink's target): what was found
    /// is then a directory; a missing name with a trailing slash may be
    /// created as a directory only.
    pub fn trailing_slash(&self) -> bool {
        self.trailing_slash
    }

    /// Whether this is a directory the mount table makes
    /// ([`View::is_skeleton`]): it may have no counterpart in its mount,
    /// and its listing must include the names the mount table adds.
    pub fn is_skeleton(&self) -> bool {
        self.skeleton
    }

    /// The host path, for host-backed mounts ([`Mount::host_root`] joined
    /// with [`Resolved::rest`]); always under the mount's host root.
    pub fn host_path(&self) -> Option<PathBuf> {
        host_join(self.mount, self.rest())
    }
}

/// Resolves `path` in `view`: from the view's `/` when it is absolute,
/// from `cwd` otherwise, following symlinks (the last one only when
/// `follow_last`, or when a slash follows it). The last name must exist.
///
/// `follow_last = false` is `O_NOFOLLOW`, `lstat`, `AT_SYMLINK_NOFOLLOW`:
/// a final symlink is returned as itself.
pub fn resolve<'v>(
    view: &'v View,
    fs: &dyn Fs,
    cwd: &GuestPath,
    path: &[u8],
    follow_last: bool,
) -> Result<Resolved<'v>, Errno> {
    resolve_bounded(view, fs, cwd, path, follow_last, false, Bounds::default())
}

/// What `openat2`'s `RESOLVE_*` flags forbid a walk, which starts at the
/// directory fd (`cwd`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// `RESOLVE_BENEATH`: an absolute path or symlink, or a `..` out of
    /// the start, is `EXDEV`.
    pub beneath: bool,
    /// `RESOLVE_IN_ROOT`: the start is `/` for absolute paths and
    /// symlinks, and `..` stops there.
    pub in_root: bool,
    /// `RESOLVE_NO_SYMLINKS`: any symlink followed is `ELOOP`.
    pub no_symlinks: bool,
    /// `RESOLVE_NO_MAGICLINKS` (implied by the first two): a `/proc` magic
    /// link followed (a process's `fd/N`, `exe`, `cwd`, `root`, ...; not
    /// `/proc/self` itself) is `ELOOP`.
    pub no_magiclinks: bool,
    /// `RESOLVE_NO_XDEV`: leaving the start's mount (of the view) is
    /// `EXDEV`.
    pub no_xdev: bool,
}

impl Bounds {
    fn any(self) -> bool {
        self != Bounds::default()
    }
}

/// [`resolve`] for calls that may create the last name (`O_CREAT`, `mkdir`,
/// `mknod`, `symlink`, `link` and `rename` targets): when everything but
/// the last name resolves to a directory and the last name does not exist,
/// the result has no [`Resolved::kind`] and names where it would be. A
/// final dangling symlink that is followed leads to its target's place, as
/// `open(O_CREAT)` does. A missing name in a hidden part of the view is
/// `EACCES`: creating it must not reach the hidden host path.
pub fn resolve_or_missing<'v>(
    view: &'v View,
    fs: &dyn Fs,
    cwd: &GuestPath,
    path: &[u8],
    follow_last: bool,
) -> Result<Resolved<'v>, Errno> {
    resolve_bounded(view, fs, cwd, path, follow_last, true, Bounds::default())
}

/// A path argument as Linux checks it before walking it.
fn check_arg(path: &[u8]) -> Result<(), Errno> {
    if path.len() >= PATH_MAX {
        Err(Errno::ENAMETOOLONG)
    } else if path.is_empty() {
        Err(Errno::ENOENT)
    } else if path.contains(&0) {
        // A path read from the guest ends at its first NUL; one inside is
        // the caller's bug, and a NUL must never reach a GuestPath.
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

/// One string still to walk: the path argument, or a symlink's target.
struct Frame<'p> {
    bytes: Cow<'p, [u8]>,
    pos: usize,
}

/// The names still to walk: a stack of strings, the innermost symlink
/// target on top, the path argument at the bottom.
struct Pending<'p> {
    frames: Vec<Frame<'p>>,
}

impl<'p> Pending<'p> {
    fn new(path: &'p [u8]) -> Pending<'p> {
        Pending { frames: vec![Frame { bytes: Cow::Borrowed(path), pos: 0 }] }
    }

    /// Moves the next name into `name`; false when none is left.
    fn next(&mut self, name: &mut Vec<u8>) -> bool {
        while let Some(top) = self.frames.last_mut() {
            let rest = top.bytes.get(top.pos..).unwrap_or_default();
            let Some(start) = rest.iter().position(|&b| b != b'/') else {
                self.frames.pop();
                continue;
            };
            let tail = rest.get(start..).unwrap_or_default();
            let len = tail.iter().position(|&b| b == b'/').unwrap_or(tail.len());
            name.clear();
            name.extend_from_slice(tail.get(..len).unwrap_or_default());
            top.pos += start + len;
            return true;
        }
        false
    }

    /// After [`Pending::next`]: (whether that name was the last one,
    /// whether a slash follows it).
    fn after(&self) -> (bool, bool) {
        let mut slash = false;
        for frame in self.frames.iter().rev() {
            for &b in frame.bytes.get(frame.pos..).unwrap_or_default() {
                if b != b'/' {
                    return (false, slash);
                }
                slash = true;
            }
        }
        (true, slash)
    }

    fn push(&mut self, target: Vec<u8>) {
        self.frames.push(Frame { bytes: Cow::Owned(target), pos: 0 });
    }
}

/// What is at `path` in the view: the mount table decides skeleton
/// directories, hidden paths and the empty root; the [`Fs`] the rest.
fn node_kind(view: &View, fs: &dyn Fs, path: &GuestPath) -> Result<NodeKind, Errno> {
    if view.is_skeleton(path) {
        return Ok(NodeKind::Dir);
    }
    let at = view.lookup(path)?;
    match at.mount.kind() {
        MountKind::Hidden => Err(Errno::ENOENT),
        MountKind::Synthetic(Synthetic::Empty) if at.rest.is_empty() => Ok(NodeKind::Dir),
        MountKind::Synthetic(Synthetic::Empty) => Err(Errno::ENOENT),
        _ => match fs.kind(path, &at) {
            // Only reachable under a skeleton directory whose mount has a
            // non-directory there: the name does not exist in the view.
            Err(Errno::ENOTDIR | Errno::ELOOP) => Err(Errno::ENOENT),
            other => other,
        },
    }
}

/// [`resolve`] (or [`resolve_or_missing`], when `missing_ok`) within
/// `bounds`: the walk they all are.
pub fn resolve_bounded<'v>(
    view: &'v View,
    fs: &dyn Fs,
    cwd: &GuestPath,
    path: &[u8],
    follow_last: bool,
    missing_ok: bool,
    bounds: Bounds,
) -> Result<Resolved<'v>, Errno> {
    check_arg(path)?;
    // Where absolute names start: the start itself when it is a root.
    let root = if bounds.in_root { cwd.clone() } else { GuestPath::root() };
    let absolute = path.first() == Some(&b'/');
    if absolute && bounds.beneath {
        return Err(Errno::EXDEV);
    }
    let cur_start = if absolute { root.clone() } else { cwd.clone() };
    let mut cur = cur_start.clone();
    // `RESOLVE_NO_XDEV`: a visible place of another mount than the walk's
    // start is out of bounds (an absolute path starts at the root, as the
    // kernel allows; an absolute symlink met on the way does not).
    let start_mount = if bounds.no_xdev { view.find(&cur_start).map(|(m, _)| m.id()) } else { None };
    let left_mount =
        |at: &GuestPath| bounds.no_xdev && view.lookup(at).is_ok() && view.find(at).map(|(m, _)| m.id()) != start_mount;
    let mut pending = Pending::new(path);
    let mut name = Vec::new();
    let mut links = 0;
    // The kind of `cur` when the last step looked it up; `None` after `.`,
    // `..` or a symlink jump, which land on a directory not yet looked at.
    let mut found = None;
    let mut trailing = false;
    // Just followed a symlink: the rest may be taken in one step.
    let mut jumped = false;
    loop {
        // (A bounded walk checks every name on its way.)
        let (kind, last, slash) = match (jumped && !bounds.any()).then(|| leap(view, fs, &cur, &pending)).flatten() {
            Some((to, kind)) => {
                cur = to;
                pending.frames.clear();
                (trailing, found, jumped) = (false, None, false);
                (kind, true, false)
            }
            None => {
                if !pending.next(&mut name) {
                    break;
                }
                let (last, slash) = pending.after();
                (trailing, found, jumped) = (last && slash, None, false);
                match name.as_slice() {
                    b"." => continue,
                    b".." => {
                        if (bounds.beneath || bounds.in_root) && cur == *cwd {
                            if bounds.beneath {
                                return Err(Errno::EXDEV);
                            }
                            // The root's `..` is the root.
                            continue;
                        }
                        cur.pop();
                        if left_mount(&cur) {
                            return Err(Errno::EXDEV);
                        }
                        continue;
                    }
                    _ => {}
                }
                if name.len() > NAME_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                cur.push(&name);
                match node_kind(view, fs, &cur) {
                    Err(Errno::ENOENT) if last && missing_ok => return missing(view, cur, trailing),
                    other => (other?, last, slash),
                }
            }
        };
        if left_mount(&cur) {
            return Err(Errno::EXDEV);
        }
        match kind {
            NodeKind::Symlink(target) if !last || follow_last || slash => {
                if bounds.no_symlinks || bounds.no_magiclinks && is_magic_link(view, &cur) {
                    return Err(Errno::ELOOP);
                }
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                check_arg(&target)?;
                cur.pop();
                if target.first() == Some(&b'/') {
                    if bounds.beneath {
                        return Err(Errno::EXDEV);
                    }
                    cur = root.clone();
                    if left_mount(&cur) {
                        return Err(Errno::EXDEV);
                    }
                }
                pending.push(target);
                jumped = true;
            }
            NodeKind::Dir => found = Some(NodeKind::Dir),
            other if last && !slash => found = Some(other),
            _ => return Err(Errno::ENOTDIR),
        }
    }
    let kind = match found {
        Some(kind) => kind,
        // `.`, `..`, `/` or a symlink to one of them: a directory.
        None => match node_kind(view, fs, &cur)? {
            NodeKind::Dir => NodeKind::Dir,
            _ => return Err(Errno::ENOTDIR),
        },
    };
    finish(view, cur, Some(kind), trailing)
}

/// After a symlink, the rest of the path in one look instead of one per
/// name (a merged-/usr host makes `/lib/x86_64-linux-gnu/libc.so.6` and
/// `/bin/sh` such paths): when what is left is two or more plain names
/// (no `.`, `..` or trailing slash) within the mount that holds `cur`, a
/// host or tmpfs one, [`Fs::kind`] of the whole path answers for every
/// name on the way, since it follows no symlink. Only a found node is
/// taken; anything else (a symlink or a missing name on the way) is left
/// to the walk, name by name, which gives the exact errno.
fn leap(view: &View, fs: &dyn Fs, cur: &GuestPath, pending: &Pending<'_>) -> Option<(GuestPath, NodeKind)> {
    let mut rest =
        Pending { frames: pending.frames.iter().map(|f| Frame { bytes: f.bytes.clone(), pos: f.pos }).collect() };
    let mut to = cur.clone();
    let mut name = Vec::new();
    let mut names = 0;
    while rest.next(&mut name) {
        if matches!(name.as_slice(), b"." | b"..") || name.len() > NAME_MAX || rest.after() == (true, true) {
            return None;
        }
        to.push(&name);
        names += 1;
    }
    if names < 2 || to.len() >= PATH_MAX || view.is_skeleton(&to) {
        return None;
    }
    let (from, _) = view.find(cur)?;
    let at = view.lookup(&to).ok()?;
    if !std::ptr::eq(from, at.mount) || !matches!(at.mount.kind(), MountKind::Host { .. } | MountKind::Tmpfs { .. }) {
        return None;
    }
    fs.kind(&to, &at).ok().map(|kind| (to, kind))
}

/// Whether the symlink at `at` is one of `/proc`'s magic links (a
/// process's or thread's `exe`, `cwd`, `root`, `fd/N`, `map_files/R`,
/// `ns/NAME`), which `RESOLVE_NO_MAGICLINKS` refuses; `/proc/self`,
/// `/proc/mounts` and the like are plain symlinks.
fn is_magic_link(view: &View, at: &GuestPath) -> bool {
    let Ok(l) = view.lookup(at) else { return false };
    if !matches!(l.mount.kind(), MountKind::Synthetic(crate::vfs::Synthetic::Proc)) {
        return false;
    }
    let parts: Vec<&[u8]> = l.rest.split(|&b| b == b'/').collect();
    let task = match parts.as_slice() {
        [_, b"task", _, rest @ ..] => rest,
        [_, rest @ ..] => rest,
        [] => return false,
    };
    matches!(task, [b"exe" | b"cwd" | b"root"] | [b"fd" | b"map_files" | b"ns", _])
}

/// The result for a last name that does not exist.
fn missing(view: &View, path: GuestPath, trailing: bool) -> Result<Resolved<'_>, Errno> {
    match view.find(&path) {
        Some((mount, _)) if *mount.kind() == MountKind::Hidden => Err(Errno::EACCES),
        _ => finish(view, path, None, trailing),
    }
}

fn finish(view: &View, path: GuestPath, kind: Option<NodeKind>, trailing: bool) -> Result<Resolved<'_>, Errno> {
    let (mount, rest_start) = view.find(&path).ok_or(Errno::ENOENT)?;
    let skeleton = view.is_skeleton(&path);
    Ok(Resolved { path, mount, rest_start, kind, trailing_slash: trailing, skeleton })
}
