//! The resolver against the real kernel: with `--root DIR`, resolving in
//! the view must give what `openat2(DIR, path, RESOLVE_IN_ROOT)` gives on
//! the same tree (the kernel's own "resolve as if DIR were /"), errno for
//! errno. This checks the Linux semantics the reference model can only
//! restate: trailing slashes, `O_NOFOLLOW`, the 40-symlink limit,
//! `ENAMETOOLONG`, `ENOTDIR`, `..` clamped at the root.
//!
//! The only vfs tests that touch the host: a temporary directory each.
//! Skipped (with a message) where `openat2` is unavailable.

use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, Mode, SFlag};
use proptest::prelude::*;

use super::*;

/// The host, through `lstat` and `readlink`, never following a symlink in
/// `rest` (an intermediate non-directory is `ENOENT`, as the [`Fs`]
/// contract asks).
struct HostFs;

fn errno(e: std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

impl Fs for HostFs {
    fn kind(&self, _path: &GuestPath, at: &Lookup<'_>) -> Result<NodeKind, Errno> {
        let mut cur = at.mount.host_root().ok_or(Errno::EIO)?.to_path_buf();
        for name in at.rest.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
            if !std::fs::symlink_metadata(&cur).map_err(errno)?.is_dir() {
                return Err(Errno::ENOENT);
            }
            cur.push(OsStr::from_bytes(name));
        }
        let md = std::fs::symlink_metadata(&cur).map_err(errno)?;
        Ok(if md.is_dir() {
            NodeKind::Dir
        } else if md.file_type().is_symlink() {
            NodeKind::Symlink(std::fs::read_link(&cur).map_err(errno)?.into_os_string().into_encoded_bytes())
        } else {
            NodeKind::File
        })
    }
}

/// (guest path, 0 dir / 1 file / 2 symlink), or the errno.
type Answer = Result<(Vec<u8>, u8), Errno>;

/// The answer as the kernel resolves it.
fn kernel(root: &Path, rootfd: &OwnedFd, path: &[u8], follow: bool) -> Answer {
    let mut flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    if !follow {
        flags |= OFlag::O_NOFOLLOW;
    }
    let how = OpenHow::new().flags(flags).resolve(ResolveFlag::RESOLVE_IN_ROOT);
    // With `..` in the path, RESOLVE_IN_ROOT fails with EAGAIN when any
    // rename or mount on the host raced the walk (other tests rename
    // concurrently); openat2(2) says to retry.
    let mut tries = 0;
    let fd = loop {
        match openat2(rootfd.as_fd(), OsStr::from_bytes(path), how) {
            Err(Errno::EAGAIN) if tries < 1000 => tries += 1,
            other => break other?,
        }
    };
    let fmt = SFlag::from_bits_truncate(fstat(&fd)?.st_mode) & SFlag::S_IFMT;
    let kind = if fmt == SFlag::S_IFDIR {
        0
    } else if fmt == SFlag::S_IFLNK {
        2
    } else {
        1
    };
    let host = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
    let inside = host.strip_prefix(root).unwrap_or_else(|_| panic!("the kernel left the root: {host:?}"));
    let mut guest = b"/".to_vec();
    guest.extend_from_slice(inside.as_os_str().as_bytes());
    Ok((GuestPath::new(&guest).unwrap().as_bytes().to_vec(), kind))
}

/// The answer as [`resolve`] gives it.
fn ours(view: &View, cwd: &GuestPath, path: &[u8], follow: bool) -> Answer {
    let r = resolve(view, &HostFs, cwd, path, follow)?;
    let kind = match r.kind() {
        Some(NodeKind::Dir) => 0,
        Some(NodeKind::File) => 1,
        Some(NodeKind::Symlink(_)) => 2,
        None => unreachable!("resolve() found nothing"),
    };
    Ok((r.path().as_bytes().to_vec(), kind))
}

/// A temporary tree: (path, 0..=3 dir / 4..=5 file / else symlink, target).
/// Entries under a non-directory or already there are skipped.
struct Tree {
    dir: tempfile::TempDir,
    view: View,
    rootfd: OwnedFd,
}

impl Tree {
    fn new(entries: &[(String, u8, String)]) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        'entry: for (path, tag, target) in entries {
            let names: Vec<&str> = path.split('/').filter(|n| !n.is_empty()).collect();
            let Some((last, parents)) = names.split_last() else { continue };
            let mut cur = dir.path().to_path_buf();
            for name in parents {
                cur.push(name);
                match std::fs::symlink_metadata(&cur) {
                    Ok(md) if md.is_dir() => {}
                    Ok(_) => continue 'entry,
                    Err(_) => std::fs::create_dir(&cur).unwrap(),
                }
            }
            cur.push(last);
            if std::fs::symlink_metadata(&cur).is_ok() {
                continue;
            }
            match tag {
                0..=3 => std::fs::create_dir(&cur).unwrap(),
                4..=5 => drop(std::fs::File::create(&cur).unwrap()),
                _ if target.is_empty() => {}
                _ => std::os::unix::fs::symlink(target, &cur).unwrap(),
            }
        }
        let root = dir.path().canonicalize().unwrap();
        let view = View::build(Base::Root(root.clone()), &[]).unwrap();
        let rootfd = nix::fcntl::open(&root, OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty()).unwrap();
        Tree { dir, view, rootfd }
    }

    /// Both answers for `path` from `cwd` (a resolved directory). The
    /// kernel has no cwd inside a RESOLVE_IN_ROOT walk, so a relative path
    /// is prefixed with the cwd's path (symlink-free, so equivalent).
    fn both(&self, cwd: &GuestPath, path: &[u8], follow: bool) -> (Answer, Answer) {
        let root = self.dir.path().canonicalize().unwrap();
        let mut kpath = path.to_vec();
        if !cwd.is_root() && path.first() != Some(&b'/') && !path.is_empty() {
            kpath = [cwd.as_bytes(), b"/", path].concat();
        }
        (kernel(&root, &self.rootfd, &kpath, follow), ours(&self.view, cwd, path, follow))
    }
}

/// Whether openat2 works here (Linux 5.6+, not filtered out).
fn have_openat2() -> bool {
    let how = OpenHow::new().flags(OFlag::O_PATH).resolve(ResolveFlag::RESOLVE_IN_ROOT);
    match openat2(nix::fcntl::AT_FDCWD, "/", how) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("openat2 unavailable ({e}): skipping the kernel comparison");
            false
        }
    }
}

#[test]
fn limits_match_the_kernel() {
    if !have_openat2() {
        return;
    }
    for n in [40usize, 41] {
        let mut entries = vec![("/d".to_string(), 0u8, String::new())];
        for i in 0..n {
            let target = if i + 1 == n { "d".to_string() } else { format!("l{}", i + 1) };
            entries.push((format!("/l{i}"), 9, target));
        }
        let t = Tree::new(&entries);
        for p in ["/l0", "/l0/", "l0/.", "/l0/.."] {
            for follow in [false, true] {
                let (k, o) = t.both(&GuestPath::root(), p.as_bytes(), follow);
                assert_eq!(k, o, "chain of {n}: {p} follow {follow}");
            }
        }
    }
    let t = Tree::new(&[("/d/f".to_string(), 4, String::new()), ("/d/l".to_string(), 9, "../../../d/f".to_string())]);
    let paths = [
        format!("/{}d/f", "./".repeat(2046)),
        format!("/{}d/f", "./".repeat(2047)),
        format!("/{}/d/f", "/".repeat(4090)),
        format!("/d/{}", "n".repeat(255)),
        format!("/d/{}", "n".repeat(256)),
        format!("/d/f/{}", "n".repeat(256)),
        format!("/x/{}", "n".repeat(256)),
        "/d/f/".into(),
        "/d/f/..".into(),
        "/d/l/".into(),
        "/../../d/l".into(),
        "".into(),
    ];
    for p in &paths {
        for follow in [false, true] {
            let (k, o) = t.both(&GuestPath::root(), p.as_bytes(), follow);
            assert_eq!(k, o, "{} bytes: {p}", p.len());
        }
    }
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(&["a", "b", "c"][..]).prop_map(str::to_string)
}

fn messy(max: usize) -> impl Strategy<Value = String> {
    let part = prop_oneof![
        12 => name(),
        4 => Just("..".to_string()),
        1 => Just(".".to_string()),
        1 => Just(String::new()),
        1 => Just("n".repeat(256)),
    ];
    (any::<bool>(), prop::collection::vec(part, 1..=max), any::<bool>()).prop_map(|(absolute, parts, trailing)| {
        let mut s = if absolute { "/".to_string() } else { String::new() };
        s.push_str(&parts.join("/"));
        if trailing {
            s.push('/');
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random trees (symlink loops, `..` chains past the root, absolute
    /// targets), random working directories and paths.
    #[test]
    fn resolution_matches_the_kernel(
        entries in prop::collection::vec(
            (prop::collection::vec(name(), 1..=3).prop_map(|v| format!("/{}", v.join("/"))), 0u8..10, messy(4)),
            0..40,
        ),
        cwds in prop::collection::vec(messy(3), 0..3),
        paths in prop::collection::vec(messy(6), 1..30),
    ) {
        if !have_openat2() {
            return Ok(());
        }
        let t = Tree::new(&entries);
        let mut dirs = vec![GuestPath::root()];
        for c in &cwds {
            if let (Ok((dir, 0)), _) = t.both(&GuestPath::root(), c.as_bytes(), true) {
                dirs.push(GuestPath::new(&dir).unwrap());
            }
        }
        for cwd in &dirs {
            for p in &paths {
                for follow in [false, true] {
                    let (k, o) = t.both(cwd, p.as_bytes(), follow);
                    prop_assert_eq!(&k, &o, "path {:?} cwd {} follow {}", p, cwd, follow);
                }
            }
        }
    }
}
