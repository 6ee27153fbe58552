//! The view made real on the host: the private directories behind tmpfs
//! and `/dev` mounts, one `O_PATH` fd per mount root, and the few
//! operations every path handler is built from: resolve a guest path (fast
//! when it has no symlink and no `..`), open what it names beneath its
//! mount's root, and map a host path the guest holds (its cwd, an fd) back
//! into the view.
//!
//! Everything is opened with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
//! | RESOLVE_NO_MAGICLINKS)` from a mount root fd: the resolver has already
//! followed every symlink in the guest's view, so the host kernel never
//! follows one on the guest's behalf, and a symlink swapped in by the guest
//! after the resolver looked makes the open fail (`ELOOP`), never escape.
//! Host mount points inside a bound tree are the host's own and are shown
//! as the host shows them (no `RESOLVE_NO_XDEV`).

use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::dirent::{decode64, DirEntry};
use super::mount::{split_rest, Lookup, Mount, MountKind, Synthetic, View};
use super::mounttab;
use super::overlay::Layers;
use super::path::GuestPath;
use super::resolve::{Fs, NodeKind, Resolved};
use crate::procfs::read_link as read_proc_link;
use crate::sys;

/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`.
pub(crate) const BENEATH: u64 = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;

/// Open a node itself, never what a final symlink points to.
pub(crate) const O_PATH_NOFOLLOW: i32 = libc::O_PATH | libc::O_NOFOLLOW;

/// The device nodes of the synthetic `/dev`, opened from the host's `/dev`.
pub const DEVICES: [&str; 7] = ["null", "zero", "full", "random", "urandom", "tty", "ptmx"];

/// Whether `rest` (under a synthetic `/dev`) is the host's: a device, or
/// the pseudo-terminals under `pts` (the guest's own terminals live there).
pub fn host_device(rest: &[u8]) -> bool {
    DEVICES.iter().any(|d| d.as_bytes() == rest) || rest.starts_with(b"pts/")
}

/// Symlinks of the synthetic `/dev`.
const DEV_LINKS: [(&str, &str); 4] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

/// Why the view could not be made real.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// A mount's host path could not be opened.
    #[error("{flag} {path:?}: {source}")]
    Source {
        /// The flag that named it.
        flag: &'static str,
        /// The host path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The private directories could not be made.
    #[error("creating the sandbox's private directory under {dir:?}: {source}")]
    Scratch {
        /// Where.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A flag the view accepts but cannot enforce yet: refused rather than
    /// ignored.
    #[error("{flag}: {why}")]
    Unsupported {
        /// The flag.
        flag: &'static str,
        /// What is missing.
        why: &'static str,
    },
    /// An overlay's directories could not be opened or made, or do not
    /// allow whiteouts.
    #[error("{flag} {path:?}: {source}")]
    Overlay {
        /// `--overlay` for its source, `--upper` for the upper directory
        /// (`--overlay` for a private one).
        flag: &'static str,
        /// The lower or upper directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The host side of one mount.
struct Backing {
    /// `O_PATH` fd of the directory (or file) holding the contents.
    root: Option<OwnedFd>,
    /// Its host path, for Landlock rules and mapping host paths back (an
    /// overlay's upper directory).
    dir: Option<PathBuf>,
    /// An overlay's two layers.
    layers: Option<Layers>,
}

/// A view with its host side: the mount roots opened, private directories
/// made (and removed on drop).
pub struct Host {
    view: View,
    backing: Vec<Backing>,
    scratch: Option<PathBuf>,
    proc_fd: OwnedFd,
    dev_fd: OwnedFd,
    /// The guest's Landlock domain enforces the view's host directories,
    /// and calls may continue natively.
    landlock: bool,
    /// Where the guest's Landlock rules take effect, as guest paths, with
    /// the mounts they were made for ([`crate::vfs::grants::grants_at`]);
    /// empty without Landlock.
    ruled: std::collections::HashMap<Vec<u8>, Vec<usize>>,
    /// What runs natively beneath low directory fds (see
    /// [`Host::set_native_beneath`]).
    beneath: crate::filter::Beneath,
    /// What the guest changed, for the report.
    changes: std::sync::Arc<super::Changes>,
    /// The unix socket paths as the guest bound them, by socket inode: the
    /// supervisor binds through `/proc/self/fd/N/NAME`, which is what the
    /// kernel then reports as the socket's name.
    bound: std::sync::Mutex<SocketNames>,
    /// The disk budget (`--disk`), when there is one.
    disk: Option<std::sync::Arc<super::disk::DiskUsage>>,
    /// Empty private directories standing in for skeleton directories the
    /// host has no directory for (laid over a hidden path, or missing in
    /// a `--root` tree): what the guest opens or enters there.
    stand_ins: Vec<(GuestPath, PathBuf)>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host").field("view", &self.view).field("scratch", &self.scratch).finish()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(s) = &self.scratch {
            let _ = std::fs::remove_dir_all(s);
        }
    }
}

fn open_path(path: &Path) -> std::io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let fd = nix::fcntl::open(c.as_c_str(), OFlag::O_PATH | OFlag::O_CLOEXEC, nix::sys::stat::Mode::empty())?;
    Ok(fd)
}

/// Where private directories go: memory-backed and outside the host's
/// `/tmp` (which the default view replaces, and whose contents must not
/// change because of a guest), and where programs may run: a guest builds
/// and runs them in its `/tmp`, and containers (Docker's default) mount
/// `/dev/shm` `noexec`. `/var/tmp` (on disk) before a `noexec` one.
fn scratch_parent() -> PathBuf {
    let candidates = [
        std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
        Some(PathBuf::from("/dev/shm")),
        Some(PathBuf::from("/var/tmp")),
        Some(std::env::temp_dir()),
    ];
    let usable: Vec<PathBuf> = candidates
        .into_iter()
        .flatten()
        .filter(|c| nix::unistd::access(c, nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK).is_ok())
        .collect();
    let runs_programs = |c: &&PathBuf| {
        nix::sys::statvfs::statvfs(c.as_path())
            .is_ok_and(|v| !v.flags().contains(nix::sys::statvfs::FsFlags::ST_NOEXEC))
    };
    usable.iter().find(runs_programs).or(usable.first()).cloned().unwrap_or_else(std::env::temp_dir)
}

/// Removes private directories that supervisors killed with SIGKILL left
/// behind (they are named `condo-PID-XXXXXX`): those of our user whose
/// supervisor is gone. A recycled pid keeps its directory until the next
/// sweep after that process ends.
fn sweep_scratch(parent: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    let me = nix::unistd::geteuid().as_raw();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("condo-"))
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let ours = e.metadata().is_ok_and(|m| m.is_dir() && m.uid() == me);
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(Errno::ESRCH);
        if ours && gone && pid > 0 {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Makes this supervisor's private directory (`condo-PID-XXXXXX`).
/// Mode 1777, as a fresh tmpfs (and /dev/shm) has: everybody may make
/// names, only their owner remove them. (The scratch directory above it is
/// the supervisor's alone.)
fn sticky(dir: &Path) -> Result<(), HostError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o1777))
        .map_err(|source| HostError::Scratch { dir: dir.to_path_buf(), source })
}

fn make_scratch() -> Result<PathBuf, HostError> {
    let parent = scratch_parent();
    sweep_scratch(&parent);
    nix::unistd::mkdtemp(&parent.join(format!("condo-{}-XXXXXX", std::process::id())))
        .map_err(|e| HostError::Scratch { dir: parent.clone(), source: e.into() })
}

impl Host {
    /// Opens every mount's host side and makes the private directories.
    pub fn new(view: View) -> Result<Host, HostError> {
        let needs_scratch = view.mounts().iter().any(|m| {
            matches!(
                m.kind(),
                MountKind::Tmpfs { .. }
                    | MountKind::Synthetic(Synthetic::Dev | Synthetic::Empty)
                    | MountKind::Overlay { upper: None, .. }
            )
        });
        let scratch = if needs_scratch { Some(make_scratch()?) } else { None };
        let proc_fd = open_path(Path::new("/proc")).map_err(|source| HostError::Source {
            flag: "--proc",
            path: "/proc".into(),
            source,
        })?;
        let dev_fd = open_path(Path::new("/dev")).map_err(|source| HostError::Source {
            flag: "--dev",
            path: "/dev".into(),
            source,
        })?;
        let mut host = Host {
            view,
            backing: Vec::new(),
            scratch,
            proc_fd,
            dev_fd,
            landlock: false,
            ruled: Default::default(),
            beneath: crate::filter::Beneath::Nothing,
            changes: Default::default(),
            bound: Default::default(),
            disk: None,
            stand_ins: Vec::new(),
        };
        for i in 0..host.view.mounts().len() {
            let m = &host.view.mounts()[i];
            let b = host.make_backing(m)?;
            host.backing.push(b);
        }
        host.make_mount_points();
        host.make_stand_ins()?;
        Ok(host)
    }

    fn make_stand_ins(&mut self) -> Result<(), HostError> {
        let missing: Vec<GuestPath> = self
            .view
            .skeletons()
            .filter(|s| match self.view.lookup(s) {
                Ok(at) => self.open_at(&at, libc::O_PATH | libc::O_DIRECTORY, 0).is_err(),
                Err(_) => true,
            })
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if self.scratch.is_none() {
            self.scratch = Some(make_scratch()?);
        }
        let base = self.scratch.as_ref().map(|s| s.join("skeleton")).unwrap_or_default();
        for (i, g) in missing.into_iter().enumerate() {
            let dir = base.join(i.to_string());
            std::fs::create_dir_all(&dir).map_err(|source| HostError::Scratch { dir: dir.clone(), source })?;
            self.stand_ins.push((g, dir));
        }
        Ok(())
    }

    /// The private empty directory standing in for skeleton directory
    /// `dir`, when the host has no directory there.
    pub fn stand_in(&self, dir: &GuestPath) -> Option<&Path> {
        self.stand_ins.iter().find(|(g, _)| g == dir).map(|(_, p)| p.as_path())
    }

    fn make_backing(&self, m: &Mount) -> Result<Backing, HostError> {
        let private = |name: String| -> Result<PathBuf, HostError> {
            let s = self.scratch.as_ref().expect("scratch exists when a mount needs it");
            let dir = s.join(name);
            std::fs::create_dir(&dir).map_err(|source| HostError::Scratch { dir: dir.clone(), source })?;
            Ok(dir)
        };
        let dir = match m.kind() {
            MountKind::Host { root, .. } => Some(root.clone()),
            MountKind::Tmpfs { .. } => {
                let d = private(format!("tmp{}", m.id().index()))?;
                sticky(&d)?;
                Some(d)
            }
            MountKind::Synthetic(Synthetic::Empty) => Some(private(format!("empty{}", m.id().index()))?),
            MountKind::Synthetic(Synthetic::Dev) => {
                let d = private(format!("dev{}", m.id().index()))?;
                let scratch_err = |source| HostError::Scratch { dir: d.clone(), source };
                // Placeholders, so that listing /dev shows the devices; opens
                // and stats of these names go to the host's devices.
                for name in DEVICES {
                    std::fs::write(d.join(name), b"").map_err(scratch_err)?;
                }
                for (name, target) in DEV_LINKS {
                    std::os::unix::fs::symlink(target, d.join(name)).map_err(scratch_err)?;
                }
                std::fs::create_dir(d.join("shm")).map_err(scratch_err)?;
                sticky(&d.join("shm"))?;
                std::fs::create_dir(d.join("pts")).map_err(scratch_err)?;
                Some(d)
            }
            MountKind::Synthetic(Synthetic::Proc) => Some(PathBuf::from("/proc")),
            MountKind::Overlay { lower, upper } => {
                let (upper, upper_flag) = match upper {
                    Some(u) => (u.clone(), "--upper"),
                    None => (private(format!("upper{}", m.id().index()))?, "--overlay"),
                };
                let layers = Layers::new(lower, &upper).map_err(|(layer, path, source)| {
                    let flag = if layer == crate::vfs::overlay::Layer::Upper { upper_flag } else { "--overlay" };
                    HostError::Overlay { flag, path, source }
                })?;
                let root = open_path(&upper).map_err(|source| HostError::Overlay {
                    flag: upper_flag,
                    path: upper.clone(),
                    source,
                })?;
                return Ok(Backing { root: Some(root), dir: Some(upper), layers: Some(layers) });
            }
            MountKind::Hidden => None,
        };
        let root = match &dir {
            Some(d) => {
                Some(open_path(d).map_err(|source| HostError::Source { flag: m.flag(), path: d.clone(), source })?)
            }
            None => None,
        };
        Ok(Backing { root, dir, layers: None })
    }

    /// Mount points whose parent lies in a private directory get a
    /// directory there, so listing the parent shows them.
    fn make_mount_points(&self) {
        for m in self.view.mounts() {
            let Some(parent) = m.dest().parent() else { continue };
            let Ok(at) = self.view.lookup(&parent) else { continue };
            let private = matches!(at.mount.kind(), MountKind::Tmpfs { .. } | MountKind::Synthetic(Synthetic::Empty));
            if let (true, Some(dir)) = (private, self.dir_of(at.mount)) {
                let mut p = dir.to_path_buf();
                if !at.rest.is_empty() {
                    p.push(OsStr::from_bytes(at.rest));
                }
                if let Some(name) = m.dest().file_name() {
                    let _ = std::fs::create_dir_all(p.join(OsStr::from_bytes(name)));
                }
            }
        }
    }

    /// The view.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Records a change the guest made at `path` (for the report).
    pub fn record(&self, path: &GuestPath, what: super::Change) {
        self.changes.record(path, what);
    }

    /// Sets up the disk budgets ([`super::disk`]): `disk` bytes the guest
    /// may add across its writable mounts (`--disk`), and the size of each
    /// `--tmpfs` that has one. Nothing is counted when there is neither.
    pub fn set_disk_budget(&mut self, disk: Option<u64>) {
        use super::disk::Scope;
        let mut budgets: Vec<(Scope, u64)> = disk.map(|d| (Scope::All, d)).into_iter().collect();
        for (i, m) in self.view.mounts().iter().enumerate() {
            if let MountKind::Tmpfs { size: Some(size) } = m.kind() {
                budgets.push((Scope::Mount(i), *size));
            }
        }
        if !budgets.is_empty() {
            self.disk = Some(std::sync::Arc::new(super::disk::DiskUsage::new(&budgets)));
        }
    }

    /// The index of mount `m` in the view's table (what
    /// [`super::disk::Scope::Mount`] names).
    pub fn mount_index(&self, m: &Mount) -> usize {
        self.index(m).unwrap_or(usize::MAX)
    }

    /// The disk account, when there is a budget.
    pub fn disk(&self) -> Option<&super::disk::DiskUsage> {
        self.disk.as_deref()
    }

    /// The disk account, shared with whoever reports it.
    pub fn disk_account(&self) -> Option<std::sync::Arc<super::disk::DiskUsage>> {
        self.disk.clone()
    }

    /// Whether regular file `file` (stat `st`) counts against the disk
    /// budget: tracked already, or found now in a place the view shows
    /// writable (then tracked from its present size: a file created by an
    /// open the kernel ran itself, or one the caller redirected into a
    /// writable mount).
    pub fn counts_for_disk(&self, file: BorrowedFd<'_>, st: &libc::stat) -> bool {
        let Some(disk) = &self.disk else { return false };
        let key = (st.st_dev, st.st_ino);
        if disk.tracks(key) {
            return true;
        }
        if disk.ignores(key) && !disk.holds(key) {
            return false;
        }
        let Ok(target) = crate::procfs::fd_link(file) else { return disk.holds(key) };
        let (name, removed) = match target.strip_suffix(b" (deleted)") {
            Some(n) => (n, true),
            None => (&target[..], false),
        };
        // Held as removed, and removed still: it is. With a name, it is a
        // new file given the removed one's inode number (tracked below).
        if removed && disk.holds(key) {
            return true;
        }
        match self.writable_mount_of(name) {
            // Removed but open: it holds its room until closed.
            Some(i) if removed => disk.hold(key, st.st_size as u64, i),
            Some(i) => disk.track(key, st.st_size as u64, i),
            None => disk.ignore(key),
        }
        disk.tracks(key) || disk.holds(key)
    }

    /// The index of the writable mount that shows host path `host`, if one
    /// does.
    pub fn writable_mount_of(&self, host: &[u8]) -> Option<usize> {
        self.shown_writable(host).map(|(m, _)| self.mount_index(m))
    }

    /// The first place the view shows host path `host` writable: the mount
    /// and the guest path there.
    fn shown_writable<'a>(&'a self, host: &'a [u8]) -> Option<(&'a Mount, GuestPath)> {
        self.shown_at(host).find(|(m, g)| self.view.lookup(g).is_ok_and(|l| self.writable(m, l.rest)))
    }

    /// The monitor's tick with a disk budget: the removed files the
    /// processes `groups` still hold open in writable mounts, which keep
    /// their room until closed.
    pub fn scan_held(&self, groups: &std::collections::HashSet<i32>) {
        use std::os::unix::fs::MetadataExt;
        let Some(disk) = &self.disk else { return };
        let gen = disk.scan_started();
        let mut held = std::collections::HashMap::new();
        for &g in groups {
            for (link, target) in crate::procfs::fd_links(g) {
                let Some(name) = target.strip_suffix(b" (deleted)") else { continue };
                if name.starts_with(b"/memfd:") || name.first() != Some(&b'/') {
                    continue;
                }
                let Some(mount) = self.writable_mount_of(name) else { continue };
                let Ok(md) = std::fs::metadata(&link) else { continue };
                if md.is_file() && !disk.tracks((md.dev(), md.ino())) {
                    held.insert((md.dev(), md.ino()), (md.size(), mount));
                }
            }
        }
        disk.set_held(held, gen);
    }

    /// Remembers that the socket with inode `ino` was bound to `path` (as
    /// the guest spelt it), making the socket file `file` (its device and
    /// inode). Bounded: past 4096 sockets the oldest names are forgotten
    /// (their sockets then show the supervisor's spelling).
    /// `ours` is the name the supervisor bound it with.
    pub fn remember_bound(&self, ino: u64, file: (u64, u64), ours: &[u8], path: &[u8]) {
        let mut b = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        b.bounded();
        b.by_socket.insert(ino, path.to_vec());
        b.by_file.insert(file, path.to_vec());
        b.by_ours.insert(ours.to_vec(), path.to_vec());
    }

    /// The path the guest bound the socket with inode `ino` to; for a
    /// socket a listener bound with `ours` accepted (it has the
    /// listener's name), the path that listener was bound to.
    pub fn bound_name(&self, ino: u64, ours: &[u8]) -> Option<Vec<u8>> {
        let b = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        b.by_socket.get(&ino).or_else(|| b.by_ours.get(ours)).cloned()
    }

    /// Remembers that the socket with inode `ino` was connected through
    /// the socket file `file`: its peer's name is the one that file was
    /// bound with ([`Host::peer_name`]), when a guest bound it.
    pub fn remember_peer(&self, ino: u64, file: (u64, u64)) {
        let mut b = self.bound.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(name) = b.by_file.get(&file).cloned() {
            b.bounded();
            b.peer.insert(ino, name);
        }
    }

    /// The name the peer of the socket with inode `ino` was bound with,
    /// as the guest spelt it.
    pub fn peer_name(&self, ino: u64) -> Option<Vec<u8>> {
        self.bound.lock().unwrap_or_else(|e| e.into_inner()).peer.get(&ino).cloned()
    }

    /// The record of changes, shared with whoever reports them.
    pub fn changes(&self) -> std::sync::Arc<super::Changes> {
        std::sync::Arc::clone(&self.changes)
    }

    /// Lets calls whose path the kernel resolves alike continue natively
    /// ([`Host::kernel_resolves_alike`]): the guest's Landlock domain is
    /// built from this view, so the kernel itself confines host paths to it.
    pub fn allow_native_resolution(&mut self) {
        self.landlock = true;
    }

    /// Where the guest's Landlock rules take effect (guest paths, and the
    /// index of the mount each was made for).
    pub fn set_landlock_places(&mut self, places: impl IntoIterator<Item = (GuestPath, usize)>) {
        self.ruled.clear();
        for (p, m) in places {
            self.ruled.entry(p.as_bytes().to_vec()).or_default().push(m);
        }
    }

    /// Whether the kernel lets the guest reach `path` natively (a rule
    /// covers it or a directory above it): not a name made later directly
    /// in a carved directory (one on the way to a mount point or a hidden
    /// path, whose names at start have their own rules) nor anything
    /// beneath one. A rule counts for the mount it was made for: a tmpfs's
    /// covers its private directory, not a host directory bound inside
    /// it. Looked at from the root down while the way is carved, which is
    /// short: the default view carves `/` alone.
    pub fn landlock_reaches(&self, path: &GuestPath) -> bool {
        let Some(mount) = self.view.find(path).and_then(|(m, _)| self.index(m)) else { return false };
        let covers = |prefix: &[u8]| self.ruled.get(prefix).is_some_and(|ms| ms.contains(&mount));
        let carved = |prefix: &[u8]| GuestPath::new(prefix).is_ok_and(|p| self.view.changes_listing(&p));
        let b = path.as_bytes();
        if covers(b"/") {
            return true;
        }
        if !carved(b"/") {
            return false;
        }
        let mut end = 0;
        while end < b.len() {
            let next = b[end + 1..].iter().position(|&c| c == b'/').map_or(b.len(), |i| end + 1 + i);
            let prefix = &b[..next];
            if covers(prefix) {
                return true;
            }
            // Not covered for this mount, and nothing beneath it is
            // carved: nothing above the path had a rule for it.
            if !carved(prefix) {
                return false;
            }
            end = next;
        }
        false
    }

    /// What the filter lets run natively beneath directory fds below
    /// [`crate::filter::NATIVE_DIRFDS`]: directories the kernel would
    /// resolve unlike the view must then go above
    /// ([`Host::resolves_unlike_beneath`]), writable ones, with changes,
    /// from [`crate::filter::CHANGE_DIRFDS`] up ([`Host::changes_beneath`]).
    pub fn set_native_beneath(&mut self, beneath: crate::filter::Beneath) {
        self.beneath = beneath;
    }

    /// Whether the common changes run natively beneath the fd of a
    /// directory at `at` placed from [`crate::filter::CHANGE_DIRFDS`] up
    /// ([`crate::filter::Beneath::ReadsAndChanges`]): it is writable.
    pub fn changes_beneath(&self, at: &Lookup<'_>) -> bool {
        self.beneath == crate::filter::Beneath::ReadsAndChanges && self.writable(at.mount, at.rest)
    }

    /// The lowest fd number the guest's fd of directory `dir` may have:
    /// [`crate::filter::NATIVE_DIRFDS`] where the kernel would resolve
    /// names beneath it unlike the view ([`Host::resolves_unlike_beneath`]),
    /// [`crate::filter::CHANGE_DIRFDS`] where changes beneath it may run
    /// natively ([`Host::changes_beneath`]); `None`: any, as the kernel picks.
    pub fn dirfd_floor(&self, dir: &GuestPath) -> Option<u32> {
        if self.resolves_unlike_beneath(dir) {
            return Some(crate::filter::NATIVE_DIRFDS);
        }
        let at = self.view.lookup(dir).ok()?;
        self.changes_beneath(&at).then_some(crate::filter::CHANGE_DIRFDS)
    }

    /// Whether the kernel may resolve guest path `guest` itself (the
    /// notified call continued as the guest made it), given `kernel`, the
    /// host path the kernel would walk (the guest's string, joined to the
    /// host directory its fd or cwd names when relative): the view shows
    /// that very host path at `guest`, in a mount whose host side is a
    /// plain directory tree (a host directory, or a private one: a
    /// tmpfs's, `/dev/shm`), and Landlock confines whatever a second guest
    /// thread could rewrite the path (or swap the directory fd) to, to the
    /// host directories the view shows, with the view's read-only and
    /// writable parts. Saves the fd injection, which costs the guest two
    /// more wake-ups, or the supervisor's doing the change.
    pub fn kernel_resolves_alike(&self, at: &Lookup<'_>, guest: &GuestPath, kernel: &GuestPath) -> bool {
        // A directory above a mount point has no Landlock rule of its own
        // (its other names do: see vfs/grants.rs), so the kernel would
        // refuse to open it.
        let plain = match at.mount.kind() {
            // A directory on the way to another mount has no Landlock
            // rule of its own either (the rule is carved into one per
            // name it had at start): names made in it later, or to be
            // made or removed there, are refused by the kernel.
            MountKind::Host { .. } => {
                guest.parent().is_none_or(|p| !self.view.changes_listing(&p) && self.landlock_reaches(&p))
            }
            MountKind::Tmpfs { .. } => true,
            // Its private shm (only that is writable under Landlock too);
            // the device names are the host's.
            MountKind::Synthetic(Synthetic::Dev) => self.writable(at.mount, at.rest),
            _ => false,
        };
        self.landlock
            && plain
            && !self.view.changes_listing(guest)
            && self.host_path(at).is_some_and(|p| p.as_os_str().as_bytes() == kernel.as_bytes())
    }

    fn index(&self, m: &Mount) -> Option<usize> {
        self.view.mounts().iter().position(|x| x.id() == m.id())
    }

    /// The host directory holding a mount's contents.
    pub fn dir_of(&self, m: &Mount) -> Option<&Path> {
        self.index(m).and_then(|i| self.backing[i].dir.as_deref())
    }

    /// An overlay mount's layers.
    pub fn layers_of(&self, m: &Mount) -> Option<&Layers> {
        self.index(m).and_then(|i| self.backing[i].layers.as_ref())
    }

    /// Whether `dir` lies in an overlay, whose listings are merged.
    fn in_overlay(&self, dir: &GuestPath) -> bool {
        self.view.lookup(dir).is_ok_and(|l| matches!(l.mount.kind(), MountKind::Overlay { .. }))
    }

    fn root_of(&self, m: &Mount) -> Result<BorrowedFd<'_>, Errno> {
        self.index(m).and_then(|i| self.backing[i].root.as_ref()).map(|f| f.as_fd()).ok_or(Errno::ENOENT)
    }

    /// Whether the guest may change what is at `rest` in mount `m`.
    pub fn writable(&self, m: &Mount, rest: &[u8]) -> bool {
        match m.kind() {
            MountKind::Synthetic(Synthetic::Dev) => rest.starts_with(b"shm/") || rest == b"shm",
            _ => m.writable(),
        }
    }

    /// Host `O_PATH` fd and rest for a lookup, as the kernel must see it:
    /// `/dev` device names go to the host's `/dev`.
    fn place<'a>(&'a self, at: &Lookup<'a>) -> Result<(BorrowedFd<'a>, &'a [u8]), Errno> {
        if let MountKind::Synthetic(Synthetic::Dev) = at.mount.kind() {
            if host_device(at.rest) {
                return Ok((self.dev_fd.as_fd(), at.rest));
            }
        }
        Ok((self.root_of(at.mount)?, at.rest_or_dot()))
    }

    /// Opens `at` on the host with the guest's `flags`. Never follows a
    /// symlink (`ELOOP`, or the symlink itself for `O_PATH|O_NOFOLLOW`).
    pub fn open_at(&self, at: &Lookup<'_>, flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
        // openat2 refuses a mode the call would not use, where open ignores it.
        let mode =
            if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE { mode & 0o7777 } else { 0 };
        if let MountKind::Synthetic(Synthetic::Proc) = at.mount.kind() {
            return self.open_proc(at.rest, flags, mode);
        }
        if let Some(l) = self.layers_of(at.mount) {
            return l.open(at.rest, flags, mode);
        }
        self.open_placed(at, (flags | libc::O_CLOEXEC) as u64, u64::from(mode))
    }

    /// The node at `at` as `lstat` shows it, on a mount whose host side is
    /// a plain tree (`None` on `/proc` or an overlay): one `fstatat`, which
    /// would follow a symlink above the last name, for a caller that knows
    /// there is none there.
    pub fn lstat_plain(&self, at: &Lookup<'_>) -> Option<Result<libc::stat, Errno>> {
        if matches!(at.mount.kind(), MountKind::Synthetic(Synthetic::Proc)) || self.layers_of(at.mount).is_some() {
            return None;
        }
        Some(self.place(at).and_then(|(dir, rest)| sys::lstat_at(dir, rest)))
    }

    /// Whether mount `m` shows a plain host tree: a host directory or a
    /// tmpfs's private one (not an overlay's layers, `/proc` or `/dev`).
    pub fn is_plain_tree(&self, m: &Mount) -> bool {
        matches!(m.kind(), MountKind::Host { .. } | MountKind::Tmpfs { .. })
    }

    /// Whether the file at `at` shows a thread's CPU mask
    /// (`/proc/PID/status`, `/proc/PID/task/TID/status`), which the
    /// kernel makes as it is read.
    pub fn shows_cpu_mask(&self, at: &Lookup<'_>) -> bool {
        matches!(at.mount.kind(), MountKind::Synthetic(Synthetic::Proc)) && split_rest(at.rest).1 == b"status"
    }

    /// The directory the name at `at` is in, opened `O_PATH` with no
    /// symlink on the way, on a mount whose host side is a plain tree
    /// (a host directory or a tmpfs's): the name can then be looked up
    /// from it ([`sys::lstat_at`]) as [`Host::lstat_plain`] does from the
    /// mount's root. `None` elsewhere, or when it cannot be opened.
    pub fn plain_parent(&self, at: &Lookup<'_>) -> Option<OwnedFd> {
        if !self.is_plain_tree(at.mount) || at.rest.is_empty() {
            return None;
        }
        self.open_parent(at).ok()
    }

    /// The node at `at` that a change (mode, owner, times, attributes,
    /// links) applies to, opened `O_PATH|O_NOFOLLOW`: in an overlay, the
    /// upper layer's copy, made first; elsewhere the node itself.
    pub fn node_for_change(&self, at: &Lookup<'_>) -> Result<OwnedFd, Errno> {
        match self.layers_of(at.mount) {
            Some(l) => l.upper_node(at.rest),
            None => self.open_at(at, libc::O_PATH | libc::O_NOFOLLOW, 0),
        }
    }

    /// The directory (`O_PATH`) in which the name at `at` is to be made:
    /// in an overlay, the upper layer's (copied up first), with any
    /// whiteout at the name removed.
    pub fn parent_for_new(&self, at: &Lookup<'_>) -> Result<OwnedFd, Errno> {
        if let Some(l) = self.layers_of(at.mount) {
            return l.upper_parent(at.rest);
        }
        self.open_parent(at)
    }

    /// The directory holding the name at `at` (`O_PATH`), opened as
    /// [`Host::open_at`] opens: beneath the mount's root, meeting no
    /// symlink.
    pub fn open_parent(&self, at: &Lookup<'_>) -> Result<OwnedFd, Errno> {
        self.open_at(&Lookup { mount: at.mount, rest: split_rest(at.rest).0 }, libc::O_PATH | libc::O_DIRECTORY, 0)
    }

    /// After a make at `at` failed: in an overlay, a source name that was
    /// removed stays removed ([`Layers::restore_whiteout`]).
    pub fn making_failed(&self, at: &Lookup<'_>) {
        if let Some(l) = self.layers_of(at.mount) {
            l.restore_whiteout(at.rest);
        }
    }

    /// After a directory was made at `at`: in an overlay, a lower
    /// directory that was removed there must not show through it.
    pub fn made_dir(&self, at: &Lookup<'_>) -> Result<(), Errno> {
        match self.layers_of(at.mount) {
            Some(l) => l.made_dir(at.rest),
            None => Ok(()),
        }
    }

    /// Removes the name at `at` (a directory when `dir`); in an overlay,
    /// behind a whiteout when the lower layer has it.
    pub fn remove(&self, at: &Lookup<'_>, dir: bool) -> Result<(), Errno> {
        let r = if let Some(l) = self.layers_of(at.mount) {
            l.remove(at.rest, dir)
        } else {
            let parent = self.open_parent(at)?;
            let name = CString::new(split_rest(at.rest).1).map_err(|_| Errno::EINVAL)?;
            let flag =
                if dir { nix::unistd::UnlinkatFlags::RemoveDir } else { nix::unistd::UnlinkatFlags::NoRemoveDir };
            nix::unistd::unlinkat(parent.as_fd(), name.as_c_str(), flag)
        };
        if dir {
            // A removed directory may be some thread's cwd, or known to
            // hold no symlink (a symlink may take its name now).
            crate::procfs::dirs_moved();
        }
        r
    }

    /// Renames `from` to `to`, which lie in the same mount, with
    /// `renameat2`'s flags.
    pub fn rename(&self, from: &Lookup<'_>, to: &Lookup<'_>, flags: u32) -> Result<(), Errno> {
        let r = if let Some(l) = self.layers_of(from.mount) {
            l.rename(from.rest, to.rest, flags)
        } else {
            let dir = |rest: &[u8]| -> Result<(OwnedFd, CString), Errno> {
                let parent = self.open_parent(&Lookup { mount: from.mount, rest })?;
                Ok((parent, CString::new(split_rest(rest).1).map_err(|_| Errno::EINVAL)?))
            };
            let (a, an) = dir(from.rest)?;
            let (b, bn) = dir(to.rest)?;
            nix::fcntl::renameat2(
                a.as_fd(),
                an.as_c_str(),
                b.as_fd(),
                bn.as_c_str(),
                nix::fcntl::RenameFlags::from_bits_truncate(flags),
            )
        };
        // What moved may be some thread's cwd or hold one, or be a
        // directory known to hold no symlink.
        crate::procfs::dirs_moved();
        r
    }

    /// `openat2` beneath the mount's root. A mount whose source is a file
    /// (`--ro-bind /etc/resolv.conf ...`) has no directory to open beneath:
    /// its root is reopened from the supervisor's own fd.
    fn open_placed(&self, at: &Lookup<'_>, flags: u64, mode: u64) -> Result<OwnedFd, Errno> {
        let (dir, rest) = self.place(at)?;
        match sys::openat2(dir, rest, flags, mode, BENEATH) {
            Err(Errno::ENOTDIR) if at.rest.is_empty() && rest == b"." => {
                let f = flags as i32;
                if f & libc::O_PATH != 0 {
                    return dir
                        .try_clone_to_owned()
                        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EBADF)));
                }
                if f & libc::O_DIRECTORY != 0 {
                    return Err(Errno::ENOTDIR);
                }
                if f & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL {
                    return Err(Errno::EEXIST);
                }
                let keep = !(libc::O_NOFOLLOW | libc::O_CREAT | libc::O_EXCL);
                let oflags = OFlag::from_bits_truncate(f & keep);
                let own = format!("/proc/self/fd/{}", dir.as_raw_fd());
                Ok(nix::fcntl::open(own.as_str(), oflags, nix::sys::stat::Mode::empty())?)
            }
            other => other,
        }
    }

    /// `/proc` files are the host's, opened beneath `/proc` without
    /// following any link; `fd/N` of a pipe, socket or anonymous inode is
    /// reopened through the host's magic link, which cannot name a path.
    fn open_proc(&self, rest: &[u8], flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
        if let Some(made) = self.proc_mount_table(rest, flags) {
            return made;
        }
        let rest_or_dot: &[u8] = if rest.is_empty() { b"." } else { rest };
        let f = (flags | libc::O_CLOEXEC) as u64;
        match sys::openat2(self.proc_fd.as_fd(), rest_or_dot, f, u64::from(mode), BENEATH) {
            Err(Errno::ELOOP) if is_fd_entry(rest) => {
                if flags & libc::O_NOFOLLOW != 0 {
                    return Err(Errno::ELOOP);
                }
                // Pinned first and checked, then reopened from what was
                // checked: a file swapped in meanwhile is never opened, let
                // alone truncated, with the guest's flags.
                let node = sys::openat2(self.proc_fd.as_fd(), rest, (libc::O_PATH | libc::O_CLOEXEC) as u64, 0, 0)?;
                match sys::fstat(node.as_fd())?.st_mode & libc::S_IFMT {
                    // An anonymous inode (eventfd, epoll, ...) has no type
                    // bits of a file; anything with a path is refused: the
                    // fd was swapped for a file after the resolver looked.
                    libc::S_IFIFO | libc::S_IFSOCK | 0 => {}
                    libc::S_IFREG if is_memfd(node.as_fd()) => {}
                    libc::S_IFREG => self.removed_file_opens(node.as_fd(), flags)?,
                    // A removed directory the view showed: empty for good.
                    libc::S_IFDIR => self.removed_dir_opens(node.as_fd(), flags)?,
                    _ => return Err(Errno::EACCES),
                }
                if flags & libc::O_PATH != 0 {
                    return Ok(node);
                }
                if flags & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL {
                    return Err(Errno::EEXIST);
                }
                // Never blocking the worker: a pipe with no partner is
                // ENXIO for a writer, as a non-blocking open is.
                let keep = flags & !(libc::O_CREAT | libc::O_EXCL) | libc::O_NONBLOCK | libc::O_CLOEXEC;
                let fd = crate::procfs::reopen(node.as_fd(), OFlag::from_bits_truncate(keep))?;
                if flags & libc::O_NONBLOCK == 0 {
                    let fl = OFlag::from_bits_truncate(
                        flags & !(libc::O_CLOEXEC | libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC),
                    );
                    nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(fl & !OFlag::O_NONBLOCK))?;
                }
                Ok(fd)
            }
            // A name to make beneath a removed directory's fd (the
            // resolver found nothing there): the kernel's ENOENT.
            Err(Errno::ELOOP) if below_fd_entry(rest) => Err(Errno::ENOENT),
            other => other,
        }
    }

    /// For a reopen through `/proc/PID/fd/N` of regular file `file`: `Ok`
    /// when it was removed from a place the view shows (an `O_TMPFILE`
    /// file, or one unlinked while open), and it may be opened with
    /// `flags` there: written only where [`Host::removed_file_mount`]
    /// says. `EACCES` for anything else: a file swapped in after the
    /// resolver looked, which still has a path the view decides about.
    fn removed_file_opens(&self, file: BorrowedFd<'_>, flags: i32) -> Result<(), Errno> {
        // Shown (not hidden): an O_PATH fd opened natively beneath a
        // directory fd may name a node outside the view.
        let name =
            removed_name(file, libc::S_IFREG).filter(|n| self.guest_path_of(n).is_some()).ok_or(Errno::EACCES)?;
        let writes = flags & libc::O_ACCMODE != libc::O_RDONLY || flags & libc::O_TRUNC != 0;
        if writes && self.removed_mount_of(&name).is_none() {
            return Err(Errno::EROFS);
        }
        Ok(())
    }

    /// For a reopen through `/proc/PID/fd/N` of directory `dir` with
    /// `flags`: `Ok` when it was removed from a place the view shows (it
    /// has no names, and none can be made in it), for reading, with the
    /// kernel's errors otherwise; `EACCES` for any other directory.
    fn removed_dir_opens(&self, dir: BorrowedFd<'_>, flags: i32) -> Result<(), Errno> {
        self.removed_shown(dir, libc::S_IFDIR).ok_or(Errno::EACCES)?;
        if flags & libc::O_TMPFILE == libc::O_TMPFILE {
            return Err(Errno::EPERM);
        }
        if flags & libc::O_CREAT != 0 || flags & libc::O_ACCMODE != libc::O_RDONLY {
            return Err(Errno::EISDIR);
        }
        Ok(())
    }

    /// The mount where removed regular file `file` (an `O_TMPFILE` file, or
    /// one unlinked while open) was, when the view shows that place
    /// writable: it may be written, and linked there again. In an overlay
    /// only an upper layer's file (the lower's never change).
    pub fn removed_file_mount(&self, file: BorrowedFd<'_>) -> Option<&Mount> {
        self.removed_mount_of(&removed_name(file, libc::S_IFREG)?)
    }

    /// [`Host::removed_file_mount`] by the host path the file had.
    fn removed_mount_of(&self, name: &[u8]) -> Option<&Mount> {
        let m = &self.view.mounts()[self.writable_mount_of(name)?];
        self.layers_of(m).is_none_or(|l| under(name, l.lower_dir()).is_none()).then_some(m)
    }

    /// Where the view shows the place `node`, a regular file or directory
    /// (`kind`) no path names any more, was: its guest path there.
    pub fn removed_shown(&self, node: BorrowedFd<'_>, kind: libc::mode_t) -> Option<GuestPath> {
        self.guest_path_of(&removed_name(node, kind)?)
    }

    /// Whether the kernel, resolving names beneath a directory fd of `dir`
    /// under Landlock, would not find what the view shows there: a
    /// directory with a mount point or hidden name below it (that name
    /// and the way to it have no rule of their own), a stand-in, `/dev`
    /// (placeholders; its `shm` is a plain tree) and `/proc` itself. Such fds go
    /// to the guest from [`crate::filter::NATIVE_DIRFDS`] up, where calls
    /// beneath them are notified.
    pub fn resolves_unlike_beneath(&self, dir: &GuestPath) -> bool {
        if self.beneath == crate::filter::Beneath::Nothing {
            return false;
        }
        match self.view.lookup(dir) {
            Ok(l) => match l.mount.kind() {
                // Its shm, the writable part, is a plain tree.
                MountKind::Synthetic(Synthetic::Dev) => !self.writable(l.mount, l.rest),
                // Only its root, which lists the sandbox's pids: beneath a
                // process's directory the kernel refuses rather than
                // misleads, and `ls /proc/self/fd` should show fd 3, not
                // the directory's high number.
                MountKind::Synthetic(Synthetic::Proc) => l.rest.is_empty(),
                MountKind::Synthetic(_) => true,
                _ => self.listing_differs(dir) || self.stand_in(dir).is_some() || !self.landlock_reaches(dir),
            },
            Err(_) => true,
        }
    }

    /// Whether `at` is a `/proc/PID/fd/N` (or a thread's) entry that the
    /// view shows as a file: a pipe, socket or anonymous inode, reached by
    /// following the host's magic link ([`Host::open_at`] does).
    pub fn is_proc_fd_entry(&self, at: &Lookup<'_>) -> bool {
        matches!(at.mount.kind(), MountKind::Synthetic(Synthetic::Proc)) && is_fd_entry(at.rest)
    }

    /// The link text of such an entry (`pipe:[N]`, `socket:[N]`, ...), as
    /// `readlink` shows it natively.
    pub fn proc_fd_link(&self, at: &Lookup<'_>) -> Option<Vec<u8>> {
        if !self.is_proc_fd_entry(at) {
            return None;
        }
        let link = read_proc_link(&format!("/proc/{}", String::from_utf8_lossy(at.rest))).ok()?;
        if !names_a_path(&link) {
            return Some(link);
        }
        // A removed file (reopened through the link, see proc_kind): where
        // the view shows it was, marked as the kernel marks it.
        let name = link.strip_suffix(b" (deleted)")?;
        let mut shown = self.guest_path_of(name)?.as_bytes().to_vec();
        shown.extend_from_slice(b" (deleted)");
        Some(shown)
    }

    /// Resolves `path` from `base` (the guest path of the starting
    /// directory) in the view.
    pub fn resolve<'v>(
        &'v self,
        guest: &GuestCtx<'_>,
        base: &GuestPath,
        path: &[u8],
        follow: bool,
        create: bool,
    ) -> Result<Resolved<'v>, Errno> {
        self.resolve_bounded(guest, base, path, follow, create, crate::vfs::Bounds::default())
    }

    /// [`Host::resolve`] within `openat2`'s bounds, from `base` (the guest
    /// path of the directory fd the bounds are relative to).
    pub fn resolve_bounded<'v>(
        &'v self,
        guest: &GuestCtx<'_>,
        base: &GuestPath,
        path: &[u8],
        follow: bool,
        create: bool,
        bounds: crate::vfs::Bounds,
    ) -> Result<Resolved<'v>, Errno> {
        let fs = HostFs { host: self, guest };
        crate::vfs::resolve_bounded(&self.view, &fs, base, path, follow, create, bounds)
    }

    /// The fast path: a path with no `..` whose open, beneath its mount's
    /// root, meets no symlink. `None` when the full resolution is needed.
    pub fn fast_lookup<'v>(&'v self, abs: &'v GuestPath) -> Option<Lookup<'v>> {
        if self.view.is_skeleton(abs) {
            return None;
        }
        let at = self.view.lookup(abs).ok()?;
        match at.mount.kind() {
            MountKind::Host { .. } | MountKind::Tmpfs { .. } => Some(at),
            // The host's devices, and the private shm directory (a plain
            // tree, where workloads that want a tmpfs write).
            MountKind::Synthetic(Synthetic::Dev) if host_device(at.rest) || at.rest.starts_with(b"shm/") => Some(at),
            _ => None,
        }
    }

    /// Every place the view shows host path `host` (a cwd, an fd's
    /// target), last mount first: the mount and the guest path there.
    fn shown_at<'a>(&'a self, host: &'a [u8]) -> impl Iterator<Item = (&'a Mount, GuestPath)> + 'a {
        self.view.mounts().iter().enumerate().rev().filter_map(move |(i, m)| {
            if let MountKind::Synthetic(Synthetic::Dev) = m.kind() {
                if let Some(name) = host.strip_prefix(b"/dev/") {
                    if host_device(name) {
                        // `pts/N` is two names.
                        return name.split(|&b| b == b'/').try_fold(m.dest().clone(), |g, n| g.join(n)).map(|g| (m, g));
                    }
                }
            }
            let b = &self.backing[i];
            let lower = b.layers.as_ref().map(|l| l.lower_dir());
            let suffix = [b.dir.as_deref(), lower].into_iter().flatten().find_map(|d| under(host, d))?;
            let mut cand = m.dest().as_bytes().to_vec();
            if !suffix.is_empty() {
                if cand != b"/" {
                    cand.push(b'/');
                }
                cand.extend_from_slice(suffix);
            }
            let cand = GuestPath::new(&cand).ok()?;
            // A skeleton directory the host has in this mount is this
            // directory (one it lacks has a stand-in, mapped above).
            let visible = self.view.lookup(&cand).is_ok_and(|l| l.mount.id() == m.id());
            (visible || cand == *m.dest()).then_some((m, cand))
        })
    }

    /// The guest path of a host path the guest holds (its cwd, an fd's
    /// target): the last mount whose host side contains it and which the
    /// view shows there. `None` when the view has no name for it.
    pub fn guest_path_of(&self, host: &[u8]) -> Option<GuestPath> {
        if !names_a_path(host) {
            return None;
        }
        if let Some((g, _)) = self.stand_ins.iter().find(|(_, p)| p.as_os_str().as_bytes() == host) {
            return Some(g.clone());
        }
        self.shown_at(host).next().map(|(_, g)| g)
    }

    /// Whether the guest may change the metadata (mode, owner, times,
    /// attributes) of `file`, a file it holds open: only when the view
    /// shows it somewhere writable. Pipes, sockets, anonymous inodes and
    /// memfds (no path) and the host's own devices (under `/dev`, which
    /// the view's `/dev` shows) live on no mount of the view and may be
    /// changed as on the host; a named fifo or socket file is a file like
    /// any other. A deleted file is judged by the name it had (a guest can
    /// only delete on writable mounts).
    ///
    /// Returns the node to change: `file` itself, or, for a file an
    /// overlay's lower layer holds, the upper layer's copy (made first);
    /// with the guest path the view shows it at, when it has one.
    /// `EROFS` when the view shows it nowhere writable.
    pub fn changeable_fd(&self, file: OwnedFd) -> Result<(OwnedFd, Option<GuestPath>), Errno> {
        let Some(name) = fd_name(file.as_fd())? else { return Ok((file, None)) };
        let (m, g) = self.shown_writable(&name).ok_or(Errno::EROFS)?;
        let node = match self.layers_of(m) {
            Some(layers) if under(&name, layers.lower_dir()).is_some() => {
                // Its copy: only while the view shows this very node at its
                // path (renamed since, its name may hold another file).
                let st = sys::fstat(file.as_fd())?;
                let rest = self.view.lookup(&g)?.rest;
                if !layers.shows(rest, (st.st_dev, st.st_ino)) {
                    return Err(Errno::ENOENT);
                }
                layers.upper_node(rest)?
            }
            _ => file,
        };
        Ok((node, Some(g)))
    }

    /// Whether [`Host::changeable_fd`] would let `file` change, copying
    /// nothing up: `EROFS` when the view shows it nowhere writable.
    pub fn check_changeable_fd(&self, file: BorrowedFd<'_>) -> Result<(), Errno> {
        match fd_name(file)? {
            Some(name) => self.shown_writable(&name).map(drop).ok_or(Errno::EROFS),
            None => Ok(()),
        }
    }

    /// The listing of guest directory `dir` when the view's differs from
    /// the host's ([`View::listing_changes`]; `/proc`, which lists only
    /// the sandbox's processes): `.` and `..`, the host's names minus the
    /// hidden ones, then the names the mount table puts there. `None` when
    /// the host's listing is the view's.
    pub fn listing(&self, guest: &GuestCtx<'_>, dir: &GuestPath) -> Option<Vec<DirEntry>> {
        let at = self.view.lookup(dir).ok();
        let proc_root = self.is_proc_root(dir);
        let changes = self.view.listing_changes(dir);
        let layers = at.and_then(|l| self.layers_of(l.mount).map(|layers| (layers, l.rest)));
        let dev_root = self.is_dev_root(dir);
        if changes.is_none() && !proc_root && !dev_root && layers.is_none() {
            return None;
        }
        let changes = changes.unwrap_or_default();
        let dot = |name: &[u8]| DirEntry { ino: 1, kind: libc::DT_DIR, name: name.to_vec() };
        let mut out = vec![dot(b"."), dot(b"..")];
        let keep = |e: &DirEntry| {
            !(e.name == b"."
                || e.name == b".."
                || changes.hidden.contains(&e.name)
                || changes.shown.contains(&e.name)
                || proc_root && is_other_pid(&e.name, guest))
        };
        if let Some((layers, rest)) = layers {
            out.extend(layers.list(rest).unwrap_or_default().into_iter().filter(|e| keep(e)));
        } else if let Some(fd) = at.and_then(|l| self.open_at(&l, libc::O_RDONLY | libc::O_DIRECTORY, 0).ok()) {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = sys::getdents64(fd.as_fd(), &mut buf) {
                if n == 0 {
                    break;
                }
                out.extend(decode64(&buf[..n]).into_iter().filter(|e| keep(e)));
            }
        }
        for name in changes.shown {
            let (ino, kind) = dir
                .join(&name)
                .and_then(|child| {
                    let l = self.view.lookup(&child).ok()?;
                    let fd = self.open_at(&l, libc::O_PATH | libc::O_NOFOLLOW, 0).ok()?;
                    let st = sys::fstat(fd.as_fd()).ok()?;
                    Some((st.st_ino, dtype(st.st_mode)))
                })
                .unwrap_or((1, libc::DT_DIR));
            out.push(DirEntry { ino, kind, name });
        }
        // /dev's device names are placeholder files here; the guest opens
        // and stats the host's character devices by them.
        if dev_root {
            for e in out.iter_mut().filter(|e| DEVICES.iter().any(|d| d.as_bytes() == e.name.as_slice())) {
                e.kind = libc::DT_CHR;
            }
        }
        Some(out)
    }

    /// Whether [`Host::listing`] makes the listing of `dir` (a question of
    /// the mount table only: no host I/O).
    pub fn listing_differs(&self, dir: &GuestPath) -> bool {
        self.is_proc_root(dir) || self.is_dev_root(dir) || self.view.changes_listing(dir) || self.in_overlay(dir)
    }

    /// Whether `dir` is a synthetic `/dev`'s root, whose device names are
    /// placeholder files in its private directory.
    fn is_dev_root(&self, dir: &GuestPath) -> bool {
        self.view
            .lookup(dir)
            .is_ok_and(|l| matches!(l.mount.kind(), MountKind::Synthetic(Synthetic::Dev)) && l.rest.is_empty())
    }

    /// Whether any directory of the view lists differently from the host
    /// directory behind it: a hidden name the host has there, or a mount
    /// point (or the skeleton directory above one) the host lacks. Only
    /// then are listings asked of the supervisor ([`crate::table::Facet`]);
    /// otherwise the kernel lists every directory itself. (`/proc` still
    /// lists the host's pids by name until the pids issue; entering one of
    /// another process is `ENOENT`.)
    pub fn makes_listings(&self) -> bool {
        if !self.stand_ins.is_empty() || self.has_overlay() {
            return true;
        }
        let mut dirs: Vec<GuestPath> = Vec::new();
        for m in self.view.mounts() {
            let mut d = m.dest().parent();
            while let Some(p) = d {
                d = p.parent();
                if !dirs.contains(&p) {
                    dirs.push(p);
                }
            }
        }
        dirs.iter().any(|dir| {
            let Some(changes) = self.view.listing_changes(dir) else { return false };
            let Ok(at) = self.view.lookup(dir) else { return false };
            let Ok(fd) = self.open_at(&at, libc::O_PATH | libc::O_DIRECTORY, 0) else { return false };
            let has = |name: &[u8]| {
                CString::new(name).is_ok_and(|n| {
                    nix::sys::stat::fstatat(fd.as_fd(), n.as_c_str(), nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW).is_ok()
                })
            };
            changes.hidden.iter().any(|n| has(n)) || changes.shown.iter().any(|n| !has(n))
        })
    }

    /// The mount table the guest reads in `/proc/PID/mountinfo`: the
    /// view's mounts in order (those a later one covers left out), each
    /// host bind followed by the host mounts beneath its directory, seen
    /// where the view shows them.
    pub fn mount_entries(&self) -> Vec<mounttab::Entry> {
        let host = std::fs::read("/proc/self/mountinfo").map(|t| mounttab::parse_mountinfo(&t)).unwrap_or_default();
        let mounts = self.view.mounts();
        let dev_of = |path: &[u8]| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(OsStr::from_bytes(path))
                .map(|m| (libc::major(m.dev()), libc::minor(m.dev())))
                .unwrap_or((0, 0))
        };
        let made = |point: Vec<u8>, dev, fstype: &str, opts: &str, superopts: &str| mounttab::Entry {
            point,
            dev,
            root: b"/".to_vec(),
            opts: opts.into(),
            fstype: fstype.into(),
            source: fstype.into(),
            superopts: superopts.into(),
        };
        let shown = |h: &mounttab::HostMount, point: Vec<u8>, root: Vec<u8>, writable: bool| mounttab::Entry {
            point,
            dev: h.dev,
            root,
            opts: mounttab::with_access(&h.opts, writable),
            fstype: h.fstype.clone(),
            source: h.source.clone(),
            superopts: h.superopts.clone(),
        };
        let mut out = Vec::new();
        for (i, m) in mounts.iter().enumerate() {
            // A later mount at or above a point covers it.
            let covered = |point: &[u8]| mounts[i + 1..].iter().any(|l| mounttab::beneath(point, l.dest().as_bytes()));
            let dest = m.dest().as_bytes().to_vec();
            if covered(&dest) {
                continue;
            }
            let dir = self.dir_of(m).map(|d| d.as_os_str().as_bytes().to_vec());
            let dev = dir.as_deref().map(dev_of).unwrap_or((0, 0));
            match m.kind() {
                MountKind::Hidden => {}
                MountKind::Host { root, writable } => {
                    let root = root.as_os_str().as_bytes();
                    // Its root shows as "/": the host path behind it may
                    // name what the view hides.
                    if let Some(h) = mounttab::containing(&host, root) {
                        out.push(mounttab::Entry { dev, ..shown(h, dest.clone(), b"/".to_vec(), *writable) });
                    }
                    for h in &host {
                        let Some(rel) = mounttab::relative(&h.point, root).filter(|r| !r.is_empty()) else { continue };
                        let point = mounttab::join(&dest, rel);
                        if !covered(&point) {
                            // A read-only bind's mounts are read-only too.
                            let writable = *writable && h.opts.split(',').next() == Some("rw");
                            out.push(shown(h, point, h.root.clone(), writable));
                        }
                    }
                }
                MountKind::Tmpfs { size } => {
                    let superopts = size.map_or("rw".to_string(), |s| format!("rw,size={}k", s.div_ceil(1024)));
                    out.push(made(dest, dev, "tmpfs", "rw,nosuid,nodev,relatime", &superopts));
                }
                MountKind::Overlay { .. } => out.push(made(dest, dev, "overlay", "rw,relatime", "rw")),
                MountKind::Synthetic(Synthetic::Proc) => {
                    // Read-only as the view makes it (writes are EROFS).
                    out.push(made(dest, dev, "proc", "ro,nosuid,nodev,noexec,relatime", "rw"));
                }
                MountKind::Synthetic(Synthetic::Empty) => out.push(made(dest, dev, "tmpfs", "ro,relatime", "ro")),
                MountKind::Synthetic(Synthetic::Dev) => {
                    let shm = dir.as_deref().map(|d| dev_of(&mounttab::join(d, b"shm"))).unwrap_or((0, 0));
                    out.push(made(dest.clone(), dev, "tmpfs", "ro,nosuid,relatime", "ro,mode=755"));
                    // Its shm is the guest's to write. (Its pts is a private
                    // directory whose terminals are the host's, not a mount.)
                    let shm_point = mounttab::join(&dest, b"shm");
                    if !covered(&shm_point) {
                        out.push(made(shm_point, shm, "tmpfs", "rw,nosuid,nodev,relatime", "rw"));
                    }
                }
            }
        }
        out
    }

    /// A `/proc` mount-table or mappings file of a sandbox process (`rest`
    /// is `PID/NAME` or `PID/task/TID/NAME`), made from the view: a sealed
    /// read-only memfd. `None` for any other `/proc` name.
    fn proc_mount_table(&self, rest: &[u8], flags: i32) -> Option<Result<OwnedFd, Errno>> {
        let parts: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
        let digits = |p: &[u8]| !p.is_empty() && p.iter().all(u8::is_ascii_digit);
        let name = match parts.as_slice() {
            [pid, name] if digits(pid) => *name,
            [pid, b"task", tid, name] if digits(pid) && digits(tid) => *name,
            _ => return None,
        };
        let render: fn(&Host, &[u8]) -> Result<Vec<u8>, Errno> = match name {
            b"mounts" => |h, _| Ok(mounttab::mounts(&h.mount_entries()).into_bytes()),
            b"mountinfo" => |h, _| Ok(mounttab::mountinfo(&h.mount_entries()).into_bytes()),
            b"mountstats" => |h, _| Ok(mounttab::mountstats(&h.mount_entries()).into_bytes()),
            b"maps" | b"smaps" | b"numa_maps" => |h, rest| h.mappings_shown(rest),
            _ => return None,
        };
        if flags & libc::O_PATH != 0 {
            return None;
        }
        if flags & libc::O_ACCMODE != libc::O_RDONLY || flags & (libc::O_TRUNC | libc::O_CREAT) != 0 {
            return Some(Err(Errno::EACCES));
        }
        if flags & libc::O_DIRECTORY != 0 {
            return Some(Err(Errno::ENOTDIR));
        }
        Some(render(self, rest).and_then(|text| sys::read_only_memfd(name, &text)))
    }

    /// A process's `maps`, `smaps` or `numa_maps` (`rest` under `/proc`), its files
    /// named by their guest paths: the host's would show where the view
    /// keeps them (a bind's source, the private `/tmp`'s directory), which
    /// the guest could neither reopen nor should learn. Read whole when
    /// opened, as a program reads it right after.
    fn mappings_shown(&self, rest: &[u8]) -> Result<Vec<u8>, Errno> {
        let name = std::ffi::CString::new(rest).map_err(|_| Errno::EINVAL)?;
        let flags = (libc::O_RDONLY | libc::O_CLOEXEC) as u64;
        let file = sys::openat2(self.proc_fd.as_fd(), name.as_bytes(), flags, 0, BENEATH)?;
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::fs::File::from(file), &mut text)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
        let mut out = Vec::with_capacity(text.len());
        for line in text.split_inclusive(|&b| b == b'\n') {
            out.extend_from_slice(&self.mapping_line_shown(line));
        }
        Ok(out)
    }

    /// One line of `maps` (or an `smaps` header): `ADDR PERMS OFFSET DEV
    /// INODE`, spaces, then the file's path, whose host path is put as
    /// the view shows it. Any other line as it is.
    fn mapping_line_shown(&self, line: &[u8]) -> Vec<u8> {
        // numa_maps: `ADDR POLICY file=PATH ...`, the path's spaces escaped.
        if let Some(at) = line.windows(6).position(|w| w == b" file=") {
            let start = at + 6;
            let end = start + line[start..].iter().position(|&b| b == b' ' || b == b'\n').unwrap_or(line.len() - start);
            let Some(guest) = self.guest_path_of(&line[start..end]) else { return line.to_vec() };
            let mut out = line[..start].to_vec();
            out.extend_from_slice(guest.as_bytes());
            out.extend_from_slice(&line[end..]);
            return out;
        }
        let mut fields = 0;
        let mut i = 0;
        // The end of the fifth field.
        while i < line.len() && fields < 5 {
            while i < line.len() && line[i] == b' ' {
                i += 1;
            }
            while i < line.len() && line[i] != b' ' && line[i] != b'\n' {
                i += 1;
            }
            fields += 1;
        }
        let header = line.first().is_some_and(u8::is_ascii_hexdigit) && line.contains(&b'-');
        let start = i + line[i..].iter().position(|&b| b != b' ').unwrap_or(line.len() - i);
        if !header || fields < 5 || line.get(start) != Some(&b'/') {
            return line.to_vec();
        }
        let end = if line.ends_with(b"\n") { line.len() - 1 } else { line.len() };
        let path = &line[start..end];
        let (host, deleted) = match path.strip_suffix(b" (deleted)") {
            Some(p) => (p, &b" (deleted)"[..]),
            None => (path, &b""[..]),
        };
        let Some(guest) = self.guest_path_of(host) else { return line.to_vec() };
        let mut out = line[..start].to_vec();
        out.extend_from_slice(guest.as_bytes());
        out.extend_from_slice(deleted);
        out.extend_from_slice(&line[end..]);
        out
    }

    /// Whether the view has an overlay mount: the kernel cannot resolve
    /// any path in it (merged directories, whiteouts), so no path call
    /// runs natively beneath a directory fd ([`crate::table::resolve_with`]).
    pub fn has_overlay(&self) -> bool {
        self.backing.iter().any(|b| b.layers.is_some())
    }

    /// For `/proc/self/fd/N` (also `thread-self` and a sandbox pid), the
    /// magic link glibc and tar name an `O_PATH` fd's node by: the guest
    /// path the view shows for that fd's file, as the resolver would
    /// follow it, without walking both paths a component at a time.
    /// `None` for anything else (a pipe, a deleted or unshown file, a
    /// path into `/proc` itself), which the resolver then answers.
    pub fn proc_fd_target(&self, guest: &GuestCtx<'_>, path: &[u8]) -> Option<GuestPath> {
        let (who, n) = self.fd_entry_path(path)?;
        let pid: libc::pid_t = match who {
            b"self" => crate::procfs::tgid(guest.tid)?,
            b"thread-self" => guest.tid,
            digits => std::str::from_utf8(digits).ok()?.parse().ok()?,
        };
        if !(guest.in_sandbox)(pid) {
            return None;
        }
        let target = crate::procfs::task_link(pid, &format!("fd/{}", std::str::from_utf8(n).ok()?)).ok()?;
        // (No name for a pipe's or socket's link: guest_path_of says. A
        // removed file's is reopened through the link by the resolver.)
        if target.ends_with(b" (deleted)") {
            return None;
        }
        let shown = self.fd_guest_path(pid, n, &target)?;
        (!shown.as_bytes().starts_with(b"/proc/") && shown.as_bytes() != b"/proc").then_some(shown)
    }

    /// Where the view shows the file `/proc/PID/fd/N` holds (its link text
    /// `target`). A source file of an overlay only while the view shows it
    /// (or its copy) at its path: after a removal another file may have
    /// that name, and nothing through the fd may reach it.
    fn fd_guest_path(&self, pid: libc::pid_t, n: &[u8], target: &[u8]) -> Option<GuestPath> {
        let shown = self.guest_path_of(target)?;
        if let Ok(at) = self.view.lookup(&shown) {
            if let Some(layers) = self.layers_of(at.mount).filter(|l| under(target, l.lower_dir()).is_some()) {
                let fd = format!("/proc/{pid}/fd/{}", String::from_utf8_lossy(n));
                let st = nix::sys::stat::stat(fd.as_str()).ok()?;
                if !layers.shows(at.rest, (st.st_dev, st.st_ino)) {
                    return None;
                }
            }
        }
        Some(shown)
    }

    /// For `/proc/self/fd/N` (also `thread-self`, or the caller's own
    /// pid) when the path names the calling thread's own fd table: `N`.
    /// (`self` from a thread other than the leader names the leader's
    /// table, which a thread may have unshared: not answered here.)
    pub fn own_fd_entry(&self, guest: &GuestCtx<'_>, path: &[u8]) -> Option<i32> {
        let (who, n) = self.fd_entry_path(path)?;
        let own = match who {
            b"thread-self" => true,
            b"self" => crate::procfs::tgid(guest.tid) == Some(guest.tid),
            digits => std::str::from_utf8(digits).ok()?.parse::<libc::pid_t>().ok() == Some(guest.tid),
        };
        if !own || n.len() > 9 {
            return None;
        }
        std::str::from_utf8(n).ok()?.parse().ok()
    }

    /// `/proc/WHO/fd/N` as WHO and N (digits), when the view's `/proc`
    /// is the process view.
    fn fd_entry_path<'p>(&self, path: &'p [u8]) -> Option<(&'p [u8], &'p [u8])> {
        let rest = path.strip_prefix(b"/proc/")?;
        let parts: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
        let [who, b"fd", n] = parts.as_slice() else { return None };
        if n.is_empty() || !n.iter().all(u8::is_ascii_digit) || !self.is_proc_root(&GuestPath::new(b"/proc").ok()?) {
            return None;
        }
        Some((who, n))
    }

    fn is_proc_root(&self, dir: &GuestPath) -> bool {
        self.view
            .lookup(dir)
            .is_ok_and(|l| matches!(l.mount.kind(), MountKind::Synthetic(Synthetic::Proc)) && l.rest.is_empty())
    }

    /// The guest path of the directory a relative path of thread `tid`
    /// starts from: its cwd (`AT_FDCWD`) or directory fd `dirfd`, mapped
    /// back into the view. `ENOENT` when the view has no name for it.
    pub fn guest_dir(&self, tid: libc::pid_t, dirfd: i32) -> Result<GuestPath, Errno> {
        self.guest_dir_at(tid, dirfd).map(|(g, _)| g)
    }

    /// [`Host::guest_dir`], with the host path of that directory (where
    /// the kernel starts a relative path from).
    pub fn guest_dir_at(&self, tid: libc::pid_t, dirfd: i32) -> Result<(GuestPath, Vec<u8>), Errno> {
        let target = if dirfd == libc::AT_FDCWD {
            crate::procfs::cwd_link(tid)
        } else {
            crate::procfs::task_link(tid, &format!("fd/{dirfd}"))
        }
        .map_err(|e| if e == Errno::ENOENT { Errno::EBADF } else { e })?;
        if target.first() != Some(&b'/') {
            return Err(Errno::ENOTDIR);
        }
        let guest = self.guest_path_of(&target).ok_or(Errno::ENOENT)?;
        // A source directory of an overlay the guest removed (and maybe
        // made again): its node is not what the view shows there now, and
        // nothing is in it, as for a removed directory.
        if let Some(at) = self.has_overlay().then(|| self.view.lookup(&guest).ok()).flatten() {
            if let Some(layers) = self.layers_of(at.mount).filter(|l| under(&target, l.lower_dir()).is_some()) {
                let link = if dirfd == libc::AT_FDCWD { "cwd".to_string() } else { format!("fd/{dirfd}") };
                let st = crate::procfs::task_stat(tid, &link)?;
                if !layers.shows(at.rest, (st.st_dev, st.st_ino)) {
                    return Err(Errno::ENOENT);
                }
            }
        }
        Ok((guest, target))
    }

    /// The host path the kernel must be given for a resolved path: a
    /// skeleton directory's stand-in, or [`Host::host_path`].
    pub fn resolved_host_path(&self, r: &Resolved<'_>) -> Option<PathBuf> {
        if r.is_skeleton() {
            if let Some(dir) = self.stand_in(r.path()) {
                return Some(dir.to_path_buf());
            }
        }
        self.host_path(&r.lookup())
    }

    /// The host path the kernel must be given for `at`: beneath the
    /// mount's host directory, or the host's own device for `/dev` names.
    pub fn host_path(&self, at: &Lookup<'_>) -> Option<PathBuf> {
        match at.mount.kind() {
            MountKind::Synthetic(Synthetic::Dev) if host_device(at.rest) => {
                return Some(Path::new("/dev").join(OsStr::from_bytes(at.rest)));
            }
            // The resolver has answered `self` and the magic links: what is
            // left names the host's own /proc entries of sandbox processes.
            MountKind::Synthetic(Synthetic::Proc) => return Some(Path::new("/proc").join(OsStr::from_bytes(at.rest))),
            MountKind::Overlay { .. } => return self.layers_of(at.mount).map(|l| l.host_path(at.rest)),
            _ => {}
        }
        let dir = self.dir_of(at.mount)?;
        Some(if at.rest.is_empty() { dir.to_path_buf() } else { dir.join(OsStr::from_bytes(at.rest)) })
    }
}

/// `host` relative to directory `dir`, when it is `dir` or lies under it.
/// The host name of the file `file` holds, by which the view knows it;
/// `None` for one on no mount of the view (see [`Host::changeable_fd`]).
fn fd_name(file: BorrowedFd<'_>) -> Result<Option<Vec<u8>>, Errno> {
    let st = sys::fstat(file)?;
    let target = crate::procfs::fd_link(file)?;
    if !names_a_path(&target) || st.st_mode & libc::S_IFMT == libc::S_IFCHR && target.starts_with(b"/dev/") {
        return Ok(None);
    }
    Ok(Some(target.strip_suffix(b" (deleted)").unwrap_or(&target).to_vec()))
}

fn under<'a>(host: &'a [u8], dir: &Path) -> Option<&'a [u8]> {
    let d = dir.as_os_str().as_bytes();
    if host == d {
        Some(&[][..])
    } else if d == b"/" {
        Some(host.strip_prefix(b"/").unwrap_or(host))
    } else {
        host.strip_prefix(d).and_then(|s| s.strip_prefix(b"/"))
    }
}

/// A numeric `/proc` name of a process that is not the sandbox's.
fn is_other_pid(name: &[u8], guest: &GuestCtx<'_>) -> bool {
    std::str::from_utf8(name)
        .ok()
        .and_then(|n| n.parse::<libc::pid_t>().ok())
        .is_some_and(|pid| !(guest.in_sandbox)(pid))
}

/// The `DT_*` type of a mode.
fn dtype(mode: libc::mode_t) -> u8 {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => libc::DT_DIR,
        libc::S_IFREG => libc::DT_REG,
        libc::S_IFLNK => libc::DT_LNK,
        libc::S_IFCHR => libc::DT_CHR,
        libc::S_IFBLK => libc::DT_BLK,
        libc::S_IFIFO => libc::DT_FIFO,
        libc::S_IFSOCK => libc::DT_SOCK,
        _ => libc::DT_UNKNOWN,
    }
}

/// Whether an fd's link text names a path: not a pipe's `pipe:[N]` (nor
/// a socket's, an anonymous inode's), nor a memfd's `/memfd:NAME
/// (deleted)`, which is absolute but a name only.
fn names_a_path(link: &[u8]) -> bool {
    link.first() == Some(&b'/') && !link.starts_with(b"/memfd:")
}

/// The file type of what `/proc/PID/fd/N` (link text `target`) holds,
/// when it is a regular file or directory its name was removed from: the
/// kernel marks its link ` (deleted)` (a directory has no links left; a
/// name may end so too).
fn removed_node(pid: libc::pid_t, n: &[u8], target: &[u8]) -> Option<libc::mode_t> {
    if !target.ends_with(b" (deleted)") {
        return None;
    }
    let st = nix::sys::stat::stat(format!("/proc/{pid}/fd/{}", String::from_utf8_lossy(n)).as_str()).ok()?;
    let kind = st.st_mode & libc::S_IFMT;
    // A file may have other names left (see removed_name).
    (kind == libc::S_IFREG || kind == libc::S_IFDIR && st.st_nlink == 0).then_some(kind)
}

/// The host path `node`, of file type `kind`, had, when that name was
/// removed (its `/proc/self/fd` link reads `PATH (deleted)`).
fn removed_name(node: BorrowedFd<'_>, kind: libc::mode_t) -> Option<Vec<u8>> {
    let st = sys::fstat(node).ok()?;
    // A file may have other names still (an O_TMPFILE one given a name, a
    // hard link left): the one this fd had is gone all the same, and any
    // other is on the same mount (links do not cross mounts).
    if st.st_mode & libc::S_IFMT != kind || kind != libc::S_IFREG && st.st_nlink != 0 {
        return None;
    }
    let link = crate::procfs::fd_link(node).ok()?;
    link.strip_suffix(b" (deleted)").filter(|n| n.first() == Some(&b'/')).map(<[u8]>::to_vec)
}

/// Whether `file` is a memfd: unlinked, on the kernel's internal tmpfs
/// (or hugetlbfs), named `/memfd:NAME` by its link. A host file has a path
/// on a mounted filesystem instead, and the view decides about it.
fn is_memfd(file: BorrowedFd<'_>) -> bool {
    let internal = sys::fstatfs(file).is_ok_and(|fs| matches!(fs.f_type, libc::TMPFS_MAGIC | libc::HUGETLBFS_MAGIC));
    internal
        && sys::fstat(file).is_ok_and(|st| st.st_nlink == 0)
        && crate::procfs::fd_link(file).is_ok_and(|l| l.starts_with(b"/memfd:"))
}

/// Whether `rest` names something beneath an fd entry (`PID/fd/N/NAME`).
fn below_fd_entry(rest: &[u8]) -> bool {
    let parts: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
    matches!(parts.as_slice(), [_, b"fd", n, _, ..] if n.iter().all(u8::is_ascii_digit))
}

fn is_fd_entry(rest: &[u8]) -> bool {
    let parts: Vec<&[u8]> = rest.split(|&b| b == b'/').collect();
    matches!(parts.as_slice(), [_, b"fd", n] if n.iter().all(u8::is_ascii_digit))
        || matches!(parts.as_slice(), [_, b"task", _, b"fd", n] if n.iter().all(u8::is_ascii_digit))
}

/// What path resolution must know about the calling guest thread: who it
/// is (for `/proc/self`), and which processes are the sandbox's (the rest
/// of `/proc` is not the guest's to see).
pub struct GuestCtx<'a> {
    /// The calling thread.
    pub tid: libc::pid_t,
    /// Whether a host pid belongs to the sandbox.
    pub in_sandbox: &'a dyn Fn(libc::pid_t) -> bool,
}

impl GuestCtx<'_> {
    fn tgid(&self) -> Result<libc::pid_t, Errno> {
        crate::procfs::tgid(self.tid).ok_or(Errno::ESRCH)
    }
}

/// The [`Fs`] over the host: what is at a path, asked beneath the mount's
/// root without following anything.
struct HostFs<'a> {
    host: &'a Host,
    guest: &'a GuestCtx<'a>,
}

fn kind_of(fd: BorrowedFd<'_>) -> Result<NodeKind, Errno> {
    let st = sys::fstat(fd)?;
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => NodeKind::Dir,
        libc::S_IFLNK => {
            let t = nix::fcntl::readlinkat(fd, c"")?;
            NodeKind::Symlink(t.into_vec())
        }
        _ => NodeKind::File,
    })
}

impl Fs for HostFs<'_> {
    fn kind(&self, _path: &GuestPath, at: &Lookup<'_>) -> Result<NodeKind, Errno> {
        if let MountKind::Synthetic(Synthetic::Proc) = at.mount.kind() {
            return self.proc_kind(at.rest);
        }
        if let Some(l) = self.host.layers_of(at.mount) {
            return kind_of(l.find(at.rest)?.1.as_fd());
        }
        let fd = self.host.open_placed(at, (libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64, 0)?;
        kind_of(fd.as_fd())
    }
}

impl HostFs<'_> {
    /// The `/proc` view: the sandbox's processes only, `self` is the
    /// caller, and the magic links (`root`, `cwd`, `exe`, `fd/N`) are
    /// answered in the guest's view instead of followed on the host.
    fn proc_kind(&self, rest: &[u8]) -> Result<NodeKind, Errno> {
        let parts: Vec<&[u8]> = if rest.is_empty() { Vec::new() } else { rest.split(|&b| b == b'/').collect() };
        let num = |s: &[u8]| -> Option<libc::pid_t> {
            if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(s).ok()?.parse().ok()
        };
        let pid_dir = |pid: &[u8]| -> Result<libc::pid_t, Errno> {
            let p = num(pid).ok_or(Errno::ENOENT)?;
            if (self.guest.in_sandbox)(p) {
                Ok(p)
            } else {
                Err(Errno::ENOENT)
            }
        };
        match parts.as_slice() {
            [] => Ok(NodeKind::Dir),
            [b"self"] => Ok(NodeKind::Symlink(self.guest.tgid()?.to_string().into_bytes())),
            [b"thread-self"] => {
                Ok(NodeKind::Symlink(format!("{}/task/{}", self.guest.tgid()?, self.guest.tid).into_bytes()))
            }
            [first, tail @ ..] if num(first).is_some() => {
                let pid = pid_dir(first)?;
                let (pid, tail) = match tail {
                    [b"task", t, more @ ..] => (pid_dir(t)?, more),
                    _ => (pid, tail),
                };
                match tail {
                    [b"root"] => Ok(NodeKind::Symlink(b"/".to_vec())),
                    [b"cwd" | b"exe"] => {
                        let target = read_proc_link(&format!("/proc/{pid}/{}", String::from_utf8_lossy(tail[0])))?;
                        let g = self.host.guest_path_of(&target).ok_or(Errno::ENOENT)?;
                        Ok(NodeKind::Symlink(g.as_bytes().to_vec()))
                    }
                    // A mapped file's link names it in the view, as an fd's
                    // does (`ENOENT` where the view has no name for it).
                    [b"map_files", range] => {
                        let link = format!("/proc/{pid}/map_files/{}", String::from_utf8_lossy(range));
                        let g = self.host.guest_path_of(&read_proc_link(&link)?).ok_or(Errno::ENOENT)?;
                        Ok(NodeKind::Symlink(g.as_bytes().to_vec()))
                    }
                    [b"fd", n] if num(n).is_some() => {
                        let target = read_proc_link(&format!("/proc/{pid}/fd/{}", String::from_utf8_lossy(n)))?;
                        // One that names no path is reopened through the
                        // link (see Host::open_at), and so is a removed
                        // file or directory, which no path names any more
                        // (nothing can be found or made in the directory).
                        if !names_a_path(&target) {
                            return Ok(NodeKind::File);
                        }
                        match removed_node(pid, n, &target) {
                            Some(libc::S_IFREG) => Ok(NodeKind::File),
                            Some(libc::S_IFDIR) => Ok(NodeKind::Dir),
                            _ => {
                                let g = self.host.fd_guest_path(pid, n, &target).ok_or(Errno::ENOENT)?;
                                Ok(NodeKind::Symlink(g.as_bytes().to_vec()))
                            }
                        }
                    }
                    // A name in a removed directory, through its fd.
                    [b"fd", n, _, ..]
                        if num(n).is_some() && {
                            let target = read_proc_link(&format!("/proc/{pid}/fd/{}", String::from_utf8_lossy(n)))?;
                            removed_node(pid, n, &target) == Some(libc::S_IFDIR)
                        } =>
                    {
                        Err(Errno::ENOENT)
                    }
                    _ => self.host_proc_kind(rest),
                }
            }
            _ => self.host_proc_kind(rest),
        }
    }

    fn host_proc_kind(&self, rest: &[u8]) -> Result<NodeKind, Errno> {
        let fd = sys::openat2(
            self.host.proc_fd.as_fd(),
            rest,
            (libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u64,
            0,
            BENEATH,
        )?;
        kind_of(fd.as_fd())
    }
}

/// Unix socket names as guests spelt them, for the addresses the kernel
/// reports with the supervisor's spelling (`/proc/self/fd/N/NAME`, which
/// it bound and connected through).
#[derive(Default)]
pub struct SocketNames {
    /// Socket inode -> the path its guest bound it to.
    by_socket: std::collections::HashMap<u64, Vec<u8>>,
    /// Socket file (device, inode) -> the same path.
    by_file: std::collections::HashMap<(u64, u64), Vec<u8>>,
    /// The supervisor's spelling -> the same path: what an accepted
    /// socket, which has its listener's name, is named by. The newest
    /// bind wins (the spelling holds an fd number, which is reused).
    by_ours: std::collections::HashMap<Vec<u8>, Vec<u8>>,
    /// Connected socket inode -> its peer's bound path.
    peer: std::collections::HashMap<u64, Vec<u8>>,
}

impl SocketNames {
    /// Keeps the maps bounded: past 4096 names each starts over.
    fn bounded(&mut self) {
        for len in [self.by_socket.len(), self.by_file.len(), self.by_ours.len(), self.peer.len()] {
            if len >= 4096 {
                *self = SocketNames::default();
                return;
            }
        }
    }
}
