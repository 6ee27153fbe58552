//! The mount table: which host directory, private scratch space or
//! synthetic tree the guest sees at each of its paths.
//!
//! A view is built like bubblewrap's: a [`Base`], then every [`MountSpec`]
//! in command-line order. A later mount covers whatever an earlier one put
//! at or under its destination; mounts nest, so `--tmpfs /tmp --ro-bind
//! /tmp/x /tmp/x` shows the host's `/tmp/x` inside the private `/tmp`.
//!
//! Building is syntactic and pure: destinations must be absolute and
//! normalised, sources absolute (the caller has already resolved them and
//! checked that they exist on the host), and contradictions such as two
//! roots are refused with a [`MountError`] naming the flag, before anything
//! runs.
//!
//! # Directories the mount table makes
//!
//! A mount at `/a/b/c` needs `/a` and `/a/b` to be directories in the
//! guest's view, whatever lies there underneath: nothing at all (over an
//! empty root, or under a `--hide`), a file, or a symlink. Those ancestors
//! are *skeleton* directories ([`View::is_skeleton`]): they always exist and
//! are never symlinks, so a symlink underneath cannot redirect the path to
//! a mount. Their other names come from the mount below them (when it has
//! a directory there), so `--bind ws /home/me/ws` keeps the rest of
//! `/home/me` visible. A skeleton directory survives when the mount that
//! made it is later covered by a mount deeper down (as the mount point's
//! directory would in bubblewrap), and goes away when a later mount covers
//! the skeleton directory itself.
//!
//! A destination is taken literally in the guest's view: a symlink on the
//! way to it (say `/lib -> usr/lib` underneath) does not move the mount, it
//! is covered by a skeleton directory. Callers that want Linux's behaviour
//! (mount(2) follows symlinks in its target) resolve the destination with
//! [`crate::vfs::resolve()`] in the view built so far first.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::path::{GuestPath, PathError, NAME_MAX, PATH_MAX};

/// One mount flag, as given on the command line or built by the policy.
/// Host paths (`host`, `src`, `upper`) must be absolute: the caller
/// resolves relative ones against its own working directory and checks
/// they exist before building the view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountSpec {
    /// `--root DIR`: the host directory `DIR` (read-only) is the guest's
    /// `/`, and nothing else is there until added. Must come before every
    /// mount flag.
    Root {
        /// The host directory.
        host: PathBuf,
    },
    /// `--bind SRC DEST` (writable) or `--ro-bind SRC DEST`.
    Bind {
        /// The host file or directory.
        src: PathBuf,
        /// Where the guest sees it.
        dest: PathBuf,
        /// `--bind` (true) or `--ro-bind` (false).
        writable: bool,
    },
    /// `--tmpfs DEST [--size BYTES]`: private scratch space, emptied when
    /// the sandbox ends.
    Tmpfs {
        /// Where the guest sees it.
        dest: PathBuf,
        /// The most bytes it may hold; unlimited when `None`.
        size: Option<u64>,
    },
    /// `--overlay SRC DEST [--upper DIR]`: copy-on-write over `SRC`; the
    /// host `SRC` never changes.
    Overlay {
        /// The host directory shown underneath (the lower layer).
        src: PathBuf,
        /// Where the guest sees it.
        dest: PathBuf,
        /// The host directory that keeps the changes across runs; a private
        /// one that goes away with the sandbox when `None`.
        upper: Option<PathBuf>,
    },
    /// `--hide PATH`: the path and everything under it do not exist
    /// (`ENOENT`), unless a later mount puts something there.
    Hide {
        /// The guest path to hide.
        path: PathBuf,
    },
    /// `--dev`: a synthetic minimal `/dev`.
    Dev,
    /// `--proc`: a synthetic `/proc`.
    Proc,
    /// `--empty`: start from an empty read-only `/` instead of the default
    /// view. Must come before every mount flag.
    Empty,
    /// `--chdir DIR`: the guest's initial working directory (a guest path).
    Chdir(PathBuf),
}

impl MountSpec {
    /// The command-line flag this spec comes from, for messages.
    pub fn flag(&self) -> &'static str {
        match self {
            MountSpec::Root { .. } => "--root",
            MountSpec::Bind { writable: true, .. } => "--bind",
            MountSpec::Bind { writable: false, .. } => "--ro-bind",
            MountSpec::Tmpfs { .. } => "--tmpfs",
            MountSpec::Overlay { .. } => "--overlay",
            MountSpec::Hide { .. } => "--hide",
            MountSpec::Dev => "--dev",
            MountSpec::Proc => "--proc",
            MountSpec::Empty => "--empty",
            MountSpec::Chdir(_) => "--chdir",
        }
    }

    /// Whether this spec replaces the base view (`--root`, `--empty`).
    fn is_base(&self) -> bool {
        matches!(self, MountSpec::Root { .. } | MountSpec::Empty)
    }
}

/// What the view starts from, before the mount specs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Base {
    /// The default view: the host's `/` read-only, a private `/tmp`
    /// (tmpfs), synthetic `/dev` and `/proc`.
    #[default]
    HostReadOnly,
    /// The host directory (read-only) is `/`, nothing else (`--root`).
    Root(PathBuf),
    /// An empty read-only `/` (`--empty`).
    Empty,
}

/// Where a mount (or an error) comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// The [`Base`] given to [`View::build`].
    Base,
    /// The mount spec at this index of the slice given to [`View::build`].
    Spec(usize),
}

/// A mount's identity within one [`View`]; a tmpfs or a private overlay
/// upper layer keys its backing storage by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MountId(usize);

impl MountId {
    /// The number, unique within the view (the order mounts were added in).
    pub fn index(self) -> usize {
        self.0
    }
}

/// A tree the supervisor makes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Synthetic {
    /// The minimal `/dev`.
    Dev,
    /// The `/proc` view.
    Proc,
    /// An empty read-only directory (the root of an `--empty` view).
    Empty,
}

/// What a mount shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// A host file or directory: the default view's `/`, `--root`,
    /// `--bind`, `--ro-bind`.
    Host {
        /// The host path shown at the mount's destination.
        root: PathBuf,
        /// Whether the guest may change it (otherwise writes are `EROFS`).
        writable: bool,
    },
    /// Private scratch space, keyed by the mount's [`MountId`].
    Tmpfs {
        /// The most bytes it may hold; unlimited when `None`.
        size: Option<u64>,
    },
    /// Copy-on-write over a host directory.
    Overlay {
        /// The host directory underneath, never changed.
        lower: PathBuf,
        /// The host directory for changes; a private one, keyed by the
        /// mount's [`MountId`], when `None`.
        upper: Option<PathBuf>,
    },
    /// A tree the supervisor makes up.
    Synthetic(Synthetic),
    /// Nothing: `--hide`.
    Hidden,
}

/// One entry of a [`View`]'s mount table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    id: MountId,
    dest: GuestPath,
    kind: MountKind,
    origin: Origin,
    flag: &'static str,
}

impl Mount {
    /// Its identity within the view.
    pub fn id(&self) -> MountId {
        self.id
    }

    /// Where the guest sees it.
    pub fn dest(&self) -> &GuestPath {
        &self.dest
    }

    /// What it shows.
    pub fn kind(&self) -> &MountKind {
        &self.kind
    }

    /// Which spec made it.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The flag that made it (`--bind`, `--tmpfs`, ...; `--root` or
    /// `--empty` for a base given as such; `default view` for the default
    /// view's mounts), for messages.
    pub fn flag(&self) -> &'static str {
        self.flag
    }

    /// The host path that holds its contents: the bound path, or an
    /// overlay's lower directory. `None` for tmpfs, synthetic and hidden
    /// mounts.
    pub fn host_root(&self) -> Option<&Path> {
        match &self.kind {
            MountKind::Host { root, .. } => Some(root),
            MountKind::Overlay { lower, .. } => Some(lower),
            _ => None,
        }
    }

    /// Whether the guest may create, change and remove files here. Always
    /// false for synthetic trees, whose few writable nodes (`/dev/null`,
    /// `/dev/shm`) are decided node by node.
    pub fn writable(&self) -> bool {
        match &self.kind {
            MountKind::Host { writable, .. } => *writable,
            MountKind::Tmpfs { .. } | MountKind::Overlay { .. } => true,
            MountKind::Synthetic(_) | MountKind::Hidden => false,
        }
    }
}

/// What the mount table does to one directory's listing
/// ([`View::listing_changes`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListingChanges {
    /// Names the view has there whatever the host has: mount points and
    /// the directories above deeper ones.
    pub shown: Vec<Vec<u8>>,
    /// Names the host has there that the view hides.
    pub hidden: Vec<Vec<u8>>,
}

/// Where a guest path lands: its mount, and the path under the mount's
/// root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lookup<'a> {
    /// The mount that holds the path.
    pub mount: &'a Mount,
    /// The path under the mount's root: relative, normalised (no empty,
    /// `.` or `..` component), empty for the mount's root itself.
    pub rest: &'a [u8],
}

/// `rest` (a path under a mount's root), or `.` for the root itself:
/// what to pass to `openat2(root_fd, ...)`.
pub(crate) fn rest_or_dot(rest: &[u8]) -> &[u8] {
    if rest.is_empty() {
        b"."
    } else {
        rest
    }
}

/// `rest` (a path under a mount's root) split into its parent's rest and
/// its last name.
pub(crate) fn split_rest(rest: &[u8]) -> (&[u8], &[u8]) {
    match rest.iter().rposition(|&c| c == b'/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&[][..], rest),
    }
}

impl<'a> Lookup<'a> {
    /// [`Lookup::rest`], or `.` for the mount's root: what to pass to
    /// `openat2(mount_root_fd, ...)`.
    pub fn rest_or_dot(&self) -> &'a [u8] {
        rest_or_dot(self.rest)
    }

    /// The host path: [`Mount::host_root`] joined with [`Lookup::rest`].
    /// Lexically always under the host root, since `rest` has no `..`.
    pub fn host_path(&self) -> Option<PathBuf> {
        host_join(self.mount, self.rest)
    }
}

pub(crate) fn host_join(mount: &Mount, rest: &[u8]) -> Option<PathBuf> {
    let root = mount.host_root()?;
    if rest.is_empty() {
        Some(root.to_path_buf())
    } else {
        Some(root.join(OsStr::from_bytes(rest)))
    }
}

/// A mount table that cannot be built, found before anything runs. Each
/// error names the flag and says where it came from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// A guest path (destination, `--hide`, `--chdir`) is relative.
    #[error("{flag} {dest:?}: the path in the sandbox must be absolute")]
    DestNotAbsolute {
        /// The flag.
        flag: &'static str,
        /// Which spec.
        at: Origin,
        /// The path as given.
        dest: PathBuf,
    },
    /// A guest path has a `..` component.
    #[error("{flag} {dest:?}: the path in the sandbox must not contain `..`")]
    DestNotNormal {
        /// The flag.
        flag: &'static str,
        /// Which spec.
        at: Origin,
        /// The path as given.
        dest: PathBuf,
    },
    /// A host path (source, `--root`, `--upper`) is relative.
    #[error("{flag} {src:?}: the host path must be absolute")]
    SourceNotAbsolute {
        /// The flag.
        flag: &'static str,
        /// Which spec.
        at: Origin,
        /// The path as given.
        src: PathBuf,
    },
    /// A host path has a `..` component.
    #[error("{flag} {src:?}: the host path must not contain `..`")]
    SourceNotNormal {
        /// The flag.
        flag: &'static str,
        /// Which spec.
        at: Origin,
        /// The path as given.
        src: PathBuf,
    },
    /// A path contains a NUL byte.
    #[error("{flag} {path:?}: the path contains a NUL byte")]
    NulByte {
        /// The flag.
        flag: &'static str,
        /// Which spec.
        at: Origin,
        /// The path as given.
        path: PathBuf,
    },
    /// A path is `PATH_MAX` bytes or longer, or has a name longer than
    /// `NAME_MAX`.
    #[error("{flag} {path:?}: the path is too long")]
    NameTooLong {
        /// The flag.
        flag: &'static str,
        /// Which spec.
        at: Origin,
        /// The path as given.
        path: PathBuf,
    },
    /// A host path given to a mount flag does not exist or cannot be
    /// reached.
    #[error("{flag} {path:?}: {reason}")]
    SourceMissing {
        /// The flag.
        flag: &'static str,
        /// The host path.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// `--hide /`: a view needs a root.
    #[error("--hide /: the root cannot be hidden")]
    HideRoot {
        /// Which spec.
        at: Origin,
    },
    /// `--root` or `--empty` after a mount flag, which it would wipe out.
    #[error("{flag} must come before {earlier}: it replaces the whole view")]
    BaseAfterMount {
        /// `--root` or `--empty`.
        flag: &'static str,
        /// Which spec.
        at: Origin,
        /// The first mount flag.
        earlier: &'static str,
    },
    /// A second base: two `--root`, two `--empty`, or one of each.
    #[error("{flag} conflicts with {earlier}: a view has one root")]
    ConflictingBase {
        /// `--root` or `--empty`.
        flag: &'static str,
        /// Which spec.
        at: Origin,
        /// The earlier base flag.
        earlier: &'static str,
    },
    /// An overlay's upper directory is the source or inside it (or the
    /// other way round), so writing the upper would change the source.
    #[error("--overlay {src:?} --upper {upper:?}: the upper directory overlaps the source, which must never change")]
    UpperOverlapsSource {
        /// Which spec.
        at: Origin,
        /// The source.
        src: PathBuf,
        /// The upper directory.
        upper: PathBuf,
    },
}

impl MountError {
    /// The flag the error is about.
    pub fn flag(&self) -> &'static str {
        match self {
            MountError::DestNotAbsolute { flag, .. }
            | MountError::DestNotNormal { flag, .. }
            | MountError::SourceNotAbsolute { flag, .. }
            | MountError::SourceNotNormal { flag, .. }
            | MountError::NulByte { flag, .. }
            | MountError::NameTooLong { flag, .. }
            | MountError::BaseAfterMount { flag, .. }
            | MountError::ConflictingBase { flag, .. }
            | MountError::SourceMissing { flag, .. } => flag,
            MountError::HideRoot { .. } => "--hide",
            MountError::UpperOverlapsSource { .. } => "--overlay",
        }
    }

    /// Which spec the error is about.
    pub fn at(&self) -> Origin {
        match self {
            MountError::DestNotAbsolute { at, .. }
            | MountError::DestNotNormal { at, .. }
            | MountError::SourceNotAbsolute { at, .. }
            | MountError::SourceNotNormal { at, .. }
            | MountError::NulByte { at, .. }
            | MountError::NameTooLong { at, .. }
            | MountError::HideRoot { at }
            | MountError::BaseAfterMount { at, .. }
            | MountError::ConflictingBase { at, .. }
            | MountError::UpperOverlapsSource { at, .. } => *at,
            MountError::SourceMissing { .. } => Origin::Base,
        }
    }
}

/// The guest's filesystem view: the mounts that are visible (each covered
/// mount has been dropped), in the order they were given, and the initial
/// working directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// Visible mounts; no two share a destination, and `/` always has one.
    mounts: Vec<Mount>,
    /// Directories the mount table makes (see the module docs).
    skeleton: BTreeSet<GuestPath>,
    cwd: Option<GuestPath>,
}

/// Which side of a mount a path is on, for error messages.
#[derive(Clone, Copy)]
enum Side {
    Guest,
    Host,
}

fn check_path(flag: &'static str, at: Origin, given: &Path, side: Side) -> Result<GuestPath, MountError> {
    let bytes = given.as_os_str().as_bytes();
    let too_long = bytes.len() >= PATH_MAX || bytes.split(|&b| b == b'/').any(|name| name.len() > NAME_MAX);
    let path = given.to_path_buf();
    match (GuestPath::new(bytes), side) {
        (Err(PathError::Nul), _) => Err(MountError::NulByte { flag, at, path }),
        (_, _) if too_long => Err(MountError::NameTooLong { flag, at, path }),
        (Ok(normal), _) => Ok(normal),
        (Err(PathError::NotAbsolute), Side::Guest) => Err(MountError::DestNotAbsolute { flag, at, dest: path }),
        (Err(PathError::DotDot), Side::Guest) => Err(MountError::DestNotNormal { flag, at, dest: path }),
        (Err(PathError::NotAbsolute), Side::Host) => Err(MountError::SourceNotAbsolute { flag, at, src: path }),
        (Err(PathError::DotDot), Side::Host) => Err(MountError::SourceNotNormal { flag, at, src: path }),
    }
}

fn host_path(flag: &'static str, at: Origin, given: &Path) -> Result<PathBuf, MountError> {
    check_path(flag, at, given, Side::Host).map(PathBuf::from)
}

/// `/name`, for a fixed, valid name.
fn top(name: &'static [u8]) -> GuestPath {
    let mut path = GuestPath::root();
    path.push(name);
    path
}

/// The mount table under construction.
struct Builder {
    mounts: Vec<Mount>,
    skeleton: BTreeSet<GuestPath>,
    next_id: usize,
}

impl Builder {
    /// Adds a mount on top: it covers every mount and skeleton directory at
    /// or under its destination, and (unless it hides) makes its
    /// destination's ancestors directories.
    fn add(&mut self, dest: GuestPath, kind: MountKind, origin: Origin, flag: &'static str) {
        self.mounts.retain(|m| !m.dest.starts_with(&dest));
        self.skeleton.retain(|s| !s.starts_with(&dest));
        if kind != MountKind::Hidden {
            let mut ancestor = dest.parent();
            while let Some(dir) = ancestor {
                ancestor = dir.parent();
                self.skeleton.insert(dir);
            }
        }
        let id = MountId(self.next_id);
        self.next_id += 1;
        self.mounts.push(Mount { id, dest, kind, origin, flag });
    }
}

impl View {
    /// Builds the view: `base`, replaced by a `--root`/`--empty` spec if
    /// there is one, then every mount spec in order. `--chdir` may come
    /// anywhere; the last one wins.
    pub fn build(base: Base, specs: &[MountSpec]) -> Result<View, MountError> {
        // The base: from the argument, or from the one --root/--empty spec,
        // which must precede every mount flag.
        let mut base_from: Option<(&'static str, Origin)> = match base {
            Base::HostReadOnly => None,
            Base::Root(_) => Some(("--root", Origin::Base)),
            Base::Empty => Some(("--empty", Origin::Base)),
        };
        let mut base = base;
        let mut first_mount: Option<&'static str> = None;
        for (i, spec) in specs.iter().enumerate() {
            let at = Origin::Spec(i);
            if spec.is_base() {
                let flag = spec.flag();
                if let Some((earlier, _)) = base_from {
                    return Err(MountError::ConflictingBase { flag, at, earlier });
                }
                if let Some(earlier) = first_mount {
                    return Err(MountError::BaseAfterMount { flag, at, earlier });
                }
                base_from = Some((flag, at));
                base = match spec {
                    MountSpec::Root { host } => Base::Root(host.clone()),
                    _ => Base::Empty,
                };
            } else if !matches!(spec, MountSpec::Chdir(_)) {
                first_mount = first_mount.or(Some(spec.flag()));
            }
        }

        let mut b = Builder { mounts: Vec::new(), skeleton: BTreeSet::new(), next_id: 0 };
        let (base_flag, base_at) = base_from.unwrap_or(("default view", Origin::Base));
        match base {
            Base::HostReadOnly => {
                let host = MountKind::Host { root: PathBuf::from("/"), writable: false };
                b.add(GuestPath::root(), host, Origin::Base, base_flag);
                b.add(top(b"tmp"), MountKind::Tmpfs { size: None }, Origin::Base, base_flag);
                b.add(top(b"dev"), MountKind::Synthetic(Synthetic::Dev), Origin::Base, base_flag);
                b.add(top(b"proc"), MountKind::Synthetic(Synthetic::Proc), Origin::Base, base_flag);
            }
            Base::Root(host) => {
                let root = host_path(base_flag, base_at, &host)?;
                b.add(GuestPath::root(), MountKind::Host { root, writable: false }, base_at, base_flag);
            }
            Base::Empty => b.add(GuestPath::root(), MountKind::Synthetic(Synthetic::Empty), base_at, base_flag),
        }

        let mut cwd = None;
        for (i, spec) in specs.iter().enumerate() {
            let at = Origin::Spec(i);
            let flag = spec.flag();
            let guest = |p: &Path| check_path(flag, at, p, Side::Guest);
            match spec {
                MountSpec::Root { .. } | MountSpec::Empty => {}
                MountSpec::Bind { src, dest, writable } => {
                    let root = host_path(flag, at, src)?;
                    b.add(guest(dest)?, MountKind::Host { root, writable: *writable }, at, flag);
                }
                MountSpec::Tmpfs { dest, size } => b.add(guest(dest)?, MountKind::Tmpfs { size: *size }, at, flag),
                MountSpec::Overlay { src, dest, upper } => {
                    let lower = check_path(flag, at, src, Side::Host)?;
                    let dest = guest(dest)?;
                    let upper = match upper {
                        None => None,
                        Some(upper) => {
                            let upper = check_path(flag, at, upper, Side::Host)?;
                            if upper.starts_with(&lower) || lower.starts_with(&upper) {
                                return Err(MountError::UpperOverlapsSource {
                                    at,
                                    src: lower.into(),
                                    upper: upper.into(),
                                });
                            }
                            Some(upper.into())
                        }
                    };
                    b.add(dest, MountKind::Overlay { lower: lower.into(), upper }, at, flag);
                }
                MountSpec::Hide { path } => {
                    let path = guest(path)?;
                    if path.is_root() {
                        return Err(MountError::HideRoot { at });
                    }
                    b.add(path, MountKind::Hidden, at, flag);
                }
                MountSpec::Dev => b.add(top(b"dev"), MountKind::Synthetic(Synthetic::Dev), at, flag),
                MountSpec::Proc => b.add(top(b"proc"), MountKind::Synthetic(Synthetic::Proc), at, flag),
                MountSpec::Chdir(dir) => cwd = Some(guest(dir)?),
            }
        }
        Ok(View { mounts: b.mounts, skeleton: b.skeleton, cwd })
    }

    /// The visible mounts, in the order they were added.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// The initial working directory from `--chdir`, if any (otherwise the
    /// caller's own, as the guest sees it).
    pub fn cwd(&self) -> Option<&GuestPath> {
        self.cwd.as_ref()
    }

    /// Whether the mount table makes `path` a directory: it is an ancestor
    /// of a mount point (see the module docs). Such a directory exists and
    /// is a directory whatever the mount below it has there, and its
    /// listing must include the names the mount table puts in it.
    pub fn is_skeleton(&self, path: &GuestPath) -> bool {
        self.skeleton.contains(path)
    }

    /// Whether a `--tmpfs` has a `--size` (a disk budget of its own).
    pub fn has_sized_tmpfs(&self) -> bool {
        self.mounts.iter().any(|m| matches!(m.kind, MountKind::Tmpfs { size: Some(_) }))
    }

    /// Every skeleton directory ([`View::is_skeleton`]).
    pub fn skeletons(&self) -> impl Iterator<Item = &GuestPath> {
        self.skeleton.iter()
    }

    /// How the mount table changes the listing of directory `dir`: the
    /// names it puts there (mount points, and the skeleton directories
    /// above deeper ones) and the names it hides. `None` when the host's
    /// listing of `dir` is the view's.
    pub fn listing_changes(&self, dir: &GuestPath) -> Option<ListingChanges> {
        if !self.changes_listing(dir) {
            return None;
        }
        let mut changes = ListingChanges { shown: Vec::new(), hidden: Vec::new() };
        for m in &self.mounts {
            let Some(below) = m.dest.strip_prefix(dir) else { continue };
            let below = below.strip_prefix(b"/").unwrap_or(below);
            let Some(name) = below.split(|&b| b == b'/').next().filter(|n| !n.is_empty()) else { continue };
            if changes.shown.iter().chain(&changes.hidden).any(|n| n == name) {
                continue;
            }
            let child = dir.join(name)?;
            if self.lookup(&child).is_err() && !self.is_skeleton(&child) {
                changes.hidden.push(name.to_vec());
            } else {
                changes.shown.push(name.to_vec());
            }
        }
        Some(changes)
    }

    /// Whether [`View::listing_changes`] has anything for `dir`: it is a
    /// skeleton directory, or a mount (hidden ones too) lies below it. Such
    /// a directory has no Landlock rule of its own (vfs/grants.rs carves
    /// along the covered paths). No allocation: asked on hot paths.
    pub fn changes_listing(&self, dir: &GuestPath) -> bool {
        self.is_skeleton(dir) || self.mounts.iter().any(|m| m.dest.strip_prefix(dir).is_some_and(|r| !r.is_empty()))
    }

    /// The mount that holds `path` (the one whose destination is its
    /// longest component-wise prefix) and the path under that mount.
    /// `ENOENT` when the path is hidden. This is lexical: it does not
    /// follow symlinks or check that anything exists, and it does not
    /// know about skeleton directories ([`View::is_skeleton`]); use
    /// [`crate::vfs::resolve()`] for paths from the guest.
    pub fn lookup<'a>(&'a self, path: &'a GuestPath) -> Result<Lookup<'a>, Errno> {
        let (mount, rest_start) = self.find(path).ok_or(Errno::ENOENT)?;
        if mount.kind == MountKind::Hidden {
            return Err(Errno::ENOENT);
        }
        Ok(Lookup { mount, rest: path.as_bytes().get(rest_start..).unwrap_or_default() })
    }

    /// The longest-prefix mount, hidden or not, and where the rest of the
    /// path starts in its bytes.
    pub(crate) fn find<'s>(&'s self, path: &GuestPath) -> Option<(&'s Mount, usize)> {
        self.mounts
            .iter()
            .filter_map(|m| Some((m, path.len() - path.strip_prefix(&m.dest)?.len())))
            .max_by_key(|(m, _)| m.dest.len())
    }
}

/// `path` with its longest existing prefix replaced by that prefix's real
/// path (symlinks resolved); the rest is kept as given.
fn real_path(path: &Path) -> PathBuf {
    let mut missing = Vec::new();
    let mut p = path.to_path_buf();
    loop {
        if let Ok(real) = std::fs::canonicalize(&p) {
            return missing.iter().rev().fold(real, |acc: PathBuf, name| acc.join(name));
        }
        match (p.file_name().map(|n| n.to_os_string()), p.parent()) {
            (Some(name), Some(parent)) => {
                missing.push(name);
                p = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Builds a view from mount flags as a user gives them: relative host
/// paths (and relative destinations) are taken from the caller's working
/// directory, sources must exist, and `--root`/`--empty` choose the base.
///
/// An overlay's `--upper` may be missing (it is made when the sandbox
/// starts).
pub fn build_view(specs: &[MountSpec]) -> Result<View, MountError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let abs = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
    let exists = |flag: &'static str, p: &Path| -> Result<PathBuf, MountError> {
        let p = abs(p);
        match std::fs::metadata(&p) {
            Ok(_) => Ok(normalize(&p)),
            Err(e) => Err(MountError::SourceMissing { flag, path: p, reason: e.to_string() }),
        }
    };
    let mut out = Vec::with_capacity(specs.len());
    for s in specs {
        let flag = s.flag();
        out.push(match s {
            MountSpec::Root { host } => {
                let host = exists(flag, host)?;
                if !host.is_dir() {
                    return Err(MountError::SourceMissing { flag, path: host, reason: "not a directory".into() });
                }
                MountSpec::Root { host }
            }
            MountSpec::Bind { src, dest, writable } => {
                MountSpec::Bind { src: exists(flag, src)?, dest: normalize(&abs(dest)), writable: *writable }
            }
            MountSpec::Tmpfs { dest, size } => MountSpec::Tmpfs { dest: normalize(&abs(dest)), size: *size },
            // Both layers by their real paths, so that an upper directory
            // reached through a symlink into the source is refused (the
            // source must never change), and fds the guest holds map back.
            MountSpec::Overlay { src, dest, upper } => {
                let src = exists(flag, src)?;
                let real = std::fs::canonicalize(&src).map_err(|e| MountError::SourceMissing {
                    flag,
                    path: src.clone(),
                    reason: e.to_string(),
                })?;
                if !real.is_dir() {
                    return Err(MountError::SourceMissing { flag, path: src, reason: "not a directory".into() });
                }
                MountSpec::Overlay {
                    src: real,
                    dest: normalize(&abs(dest)),
                    upper: upper.as_ref().map(|u| real_path(&normalize(&abs(u)))),
                }
            }
            MountSpec::Hide { path } => MountSpec::Hide { path: normalize(&abs(path)) },
            other => other.clone(),
        });
    }
    let base = match out.first() {
        Some(MountSpec::Root { host }) => Base::Root(host.clone()),
        Some(MountSpec::Empty) => Base::Empty,
        _ => Base::HostReadOnly,
    };
    let rest = if matches!(base, Base::HostReadOnly) { &out[..] } else { &out[1..] };
    View::build(base, rest)
}

/// Folds `.` and `..` lexically (a host path the caller typed, like
/// `realpath -s`); symlinks are the host's and stay.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> GuestPath {
        GuestPath::new(s.as_bytes()).unwrap()
    }

    fn bind(src: &str, dest: &str, writable: bool) -> MountSpec {
        MountSpec::Bind { src: src.into(), dest: dest.into(), writable }
    }

    fn tmpfs(dest: &str) -> MountSpec {
        MountSpec::Tmpfs { dest: dest.into(), size: None }
    }

    /// (dest of the mount, rest) for a path, or the errno.
    fn at(view: &View, path: &str) -> Result<(String, String), Errno> {
        let path = p(path);
        let l = view.lookup(&path)?;
        Ok((l.mount.dest().to_string(), String::from_utf8_lossy(l.rest).into_owned()))
    }

    fn ok(dest: &str, rest: &str) -> Result<(String, String), Errno> {
        Ok((dest.to_string(), rest.to_string()))
    }

    #[test]
    fn default_view() {
        let v = View::build(Base::HostReadOnly, &[]).unwrap();
        let dests: Vec<_> = v.mounts().iter().map(|m| m.dest().to_string()).collect();
        assert_eq!(dests, ["/", "/tmp", "/dev", "/proc"]);
        assert_eq!(at(&v, "/etc/passwd"), ok("/", "etc/passwd"));
        assert_eq!(at(&v, "/"), ok("/", ""));
        assert_eq!(at(&v, "/tmp"), ok("/tmp", ""));
        assert_eq!(at(&v, "/tmp/x/y"), ok("/tmp", "x/y"));
        assert_eq!(at(&v, "/tmpfoo"), ok("/", "tmpfoo"));
        assert_eq!(v.mounts()[0].host_root(), Some(Path::new("/")));
        assert!(!v.mounts()[0].writable());
        assert!(v.mounts()[1].writable());
        assert!(v.is_skeleton(&p("/")));
        assert!(!v.is_skeleton(&p("/tmp")));
        assert_eq!(v.cwd(), None);
    }

    #[test]
    fn mounts_nest_and_later_ones_cover() {
        let v = View::build(Base::HostReadOnly, &[tmpfs("/tmp"), bind("/tmp/x", "/tmp/x", false)]).unwrap();
        assert_eq!(at(&v, "/tmp/x/a"), ok("/tmp/x", "a"));
        assert_eq!(at(&v, "/tmp/y"), ok("/tmp", "y"));
        let x = p("/tmp/x/a");
        let l = v.lookup(&x).unwrap();
        assert_eq!(l.host_path(), Some(PathBuf::from("/tmp/x/a")));
        // The spec's tmpfs covered the default one: one mount at /tmp.
        assert_eq!(v.mounts().iter().filter(|m| m.dest() == &p("/tmp")).count(), 1);
        assert_eq!(v.lookup(&p("/tmp")).unwrap().mount.origin(), Origin::Spec(0));

        // A later mount above covers an earlier one below.
        let v = View::build(Base::HostReadOnly, &[bind("/src", "/a/b", true), tmpfs("/a")]).unwrap();
        assert_eq!(at(&v, "/a/b/c"), ok("/a", "b/c"));
        assert!(v.mounts().iter().all(|m| m.flag() != "--bind"));
    }

    #[test]
    fn hide() {
        let v = View::build(
            Base::HostReadOnly,
            &[MountSpec::Hide { path: "/home".into() }, bind("/w", "/home/me/ws", true)],
        )
        .unwrap();
        assert_eq!(at(&v, "/home/other"), Err(Errno::ENOENT));
        assert_eq!(at(&v, "/home"), Err(Errno::ENOENT)); // lexically hidden...
        assert!(v.is_skeleton(&p("/home"))); // ...but the mount table makes it a directory
        assert!(v.is_skeleton(&p("/home/me")));
        assert_eq!(at(&v, "/home/me/ws/f"), ok("/home/me/ws", "f"));
        assert_eq!(at(&v, "/homes"), ok("/", "homes"));

        // A later hide covers an earlier mount; the skeleton it made stays.
        let v = View::build(Base::Empty, &[bind("/w", "/a/b", true), MountSpec::Hide { path: "/a/b".into() }]).unwrap();
        assert!(v.is_skeleton(&p("/a")));
        assert_eq!(at(&v, "/a/b"), Err(Errno::ENOENT));
        assert_eq!(v.mounts().len(), 2);
    }

    #[test]
    fn bases() {
        let v =
            View::build(Base::HostReadOnly, &[MountSpec::Root { host: "/srv/tree/".into() }, MountSpec::Dev]).unwrap();
        assert_eq!(v.mounts().len(), 2);
        assert_eq!(v.mounts()[0].host_root(), Some(Path::new("/srv/tree")));
        assert_eq!(v.mounts()[0].origin(), Origin::Spec(0));
        assert_eq!(v.mounts()[0].flag(), "--root");
        assert_eq!(at(&v, "/dev/null"), ok("/dev", "null"));
        assert_eq!(v.lookup(&p("/bin/sh")).unwrap().host_path(), Some(PathBuf::from("/srv/tree/bin/sh")));

        let v = View::build(Base::Empty, &[bind("/usr", "/usr", false)]).unwrap();
        assert_eq!(*v.mounts()[0].kind(), MountKind::Synthetic(Synthetic::Empty));
        assert_eq!(v.mounts()[0].origin(), Origin::Base);
        assert_eq!(at(&v, "/usr/bin"), ok("/usr", "bin"));

        let v = View::build(Base::Root("/r".into()), &[MountSpec::Chdir("/work/".into())]).unwrap();
        assert_eq!(v.cwd(), Some(&p("/work")));
    }

    #[test]
    fn errors_name_the_flag() {
        let e = |base, specs: &[MountSpec]| View::build(base, specs).unwrap_err();
        let hr = || Base::HostReadOnly;
        assert_eq!(
            e(hr(), &[bind("/a", "b", true)]),
            MountError::DestNotAbsolute { flag: "--bind", at: Origin::Spec(0), dest: "b".into() }
        );
        assert_eq!(
            e(hr(), &[tmpfs("/tmp"), bind("/a", "/x/../y", false)]),
            MountError::DestNotNormal { flag: "--ro-bind", at: Origin::Spec(1), dest: "/x/../y".into() }
        );
        assert_eq!(
            e(hr(), &[bind("a", "/b", true)]),
            MountError::SourceNotAbsolute { flag: "--bind", at: Origin::Spec(0), src: "a".into() }
        );
        assert_eq!(
            e(hr(), &[MountSpec::Overlay { src: "/s/../t".into(), dest: "/d".into(), upper: None }]),
            MountError::SourceNotNormal { flag: "--overlay", at: Origin::Spec(0), src: "/s/../t".into() }
        );
        assert_eq!(e(hr(), &[tmpfs("relative")]).flag(), "--tmpfs");
        assert_eq!(e(hr(), &[MountSpec::Chdir("rel".into())]).flag(), "--chdir");
        assert_eq!(e(hr(), &[MountSpec::Hide { path: "//".into() }]), MountError::HideRoot { at: Origin::Spec(0) });
        assert_eq!(
            e(hr(), &[MountSpec::Dev, MountSpec::Root { host: "/r".into() }]),
            MountError::BaseAfterMount { flag: "--root", at: Origin::Spec(1), earlier: "--dev" }
        );
        assert_eq!(
            e(hr(), &[MountSpec::Root { host: "/r".into() }, MountSpec::Root { host: "/s".into() }]),
            MountError::ConflictingBase { flag: "--root", at: Origin::Spec(1), earlier: "--root" }
        );
        assert_eq!(
            e(Base::Empty, &[MountSpec::Root { host: "/r".into() }]),
            MountError::ConflictingBase { flag: "--root", at: Origin::Spec(0), earlier: "--empty" }
        );
        assert_eq!(
            e(hr(), &[MountSpec::Empty, MountSpec::Root { host: "/r".into() }]),
            MountError::ConflictingBase { flag: "--root", at: Origin::Spec(1), earlier: "--empty" }
        );
        assert_eq!(
            e(hr(), &[MountSpec::Root { host: "r".into() }]),
            MountError::SourceNotAbsolute { flag: "--root", at: Origin::Spec(0), src: "r".into() }
        );
        assert_eq!(
            e(Base::Root("r".into()), &[]),
            MountError::SourceNotAbsolute { flag: "--root", at: Origin::Base, src: "r".into() }
        );
        assert_eq!(
            e(hr(), &[MountSpec::Overlay { src: "/s".into(), dest: "/d".into(), upper: Some("/s/up".into()) }]),
            MountError::UpperOverlapsSource { at: Origin::Spec(0), src: "/s".into(), upper: "/s/up".into() }
        );
        assert!(matches!(
            e(hr(), &[MountSpec::Overlay { src: "/s/t".into(), dest: "/d".into(), upper: Some("/s".into()) }]),
            MountError::UpperOverlapsSource { .. }
        ));
        let long = format!("/{}", "a".repeat(256));
        assert!(matches!(e(hr(), &[tmpfs(&long)]), MountError::NameTooLong { flag: "--tmpfs", .. }));
        let long = "/aaaaaaa".repeat(512);
        assert!(matches!(e(hr(), &[bind(&long, "/x", true)]), MountError::NameTooLong { flag: "--bind", .. }));
        use std::os::unix::ffi::OsStringExt;
        let nul = PathBuf::from(std::ffi::OsString::from_vec(b"/a\0b".to_vec()));
        assert!(matches!(e(hr(), &[MountSpec::Hide { path: nul }]), MountError::NulByte { flag: "--hide", .. }));
        // Messages name the flag and the path.
        let msg = e(hr(), &[bind("/a", "b", true)]).to_string();
        assert!(msg.contains("--bind") && msg.contains("\"b\""), "{msg}");
        let msg = e(hr(), &[MountSpec::Proc, MountSpec::Empty]).to_string();
        assert_eq!(msg, "--empty must come before --proc: it replaces the whole view");
        // Chdir before --root is fine; a --root overlay upper elsewhere is fine.
        assert!(View::build(hr(), &[MountSpec::Chdir("/x".into()), MountSpec::Root { host: "/r".into() }]).is_ok());
        assert!(View::build(
            hr(),
            &[MountSpec::Overlay { src: "/s".into(), dest: "/d".into(), upper: Some("/sx".into()) }]
        )
        .is_ok());
    }
}
