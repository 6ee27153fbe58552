//! Path resolution in the guest's view (`condo::vfs`): any mount table, any
//! tree of directories, files and symlinks (loops, `..` chains, absolute
//! targets), any working directory and any path must give a result inside
//! the view or a path-walk errno, never a panic. A result must name a
//! normalised guest path, sit in the mount that `View::lookup` gives for
//! it, and its host path must be under that mount's host root.
//!
//! Input layout: sections separated by `0xff` bytes.
//! - section 0: byte 0 = base (`% 3`: default view, `--root /r`, `--empty`);
//!   byte 1 bit 0 = `follow_last`, bit 1 = `resolve_or_missing`;
//! - section 1: the host tree, one node per `\n`-separated line: first byte
//!   `d` directory, `l` symlink (`PATH=TARGET`), anything else a file;
//! - section 2: mount specs, one per line: first byte picks the flag (`% 9`),
//!   the rest is `ARG` or `SRC DEST`;
//! - section 3: the working directory (made absolute, normalised);
//! - every further section: a path to resolve (bytes as given).
#![no_main]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use condo::vfs::{
    resolve, resolve_or_missing, Base, Fs, GuestPath, Lookup, MountKind, MountSpec, NodeKind, Synthetic, View,
};
use libfuzzer_sys::fuzz_target;
use nix::errno::Errno;

/// Names of a path, without empty, `.` and `..` components.
fn names(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|&b| b == b'/').filter(|n| !n.is_empty() && *n != b"." && *n != b"..").map(<[u8]>::to_vec).collect()
}

/// An in-memory host tree: every node's parent is a directory.
struct Host {
    nodes: BTreeMap<Vec<Vec<u8>>, NodeKind>,
}

impl Host {
    fn add(&mut self, path: &[u8], node: NodeKind) {
        let path = names(path);
        for i in 0..path.len() {
            match self.nodes.get(&path[..i]) {
                Some(NodeKind::Dir) => {}
                Some(_) => return,
                None => {
                    self.nodes.insert(path[..i].to_vec(), NodeKind::Dir);
                }
            }
        }
        self.nodes.entry(path).or_insert(node);
    }
}

/// Where a mount's contents live in the host tree.
fn backing(kind: &MountKind) -> Vec<Vec<u8>> {
    match kind {
        MountKind::Host { root, .. } => names(root.as_os_str().as_bytes()),
        MountKind::Overlay { lower, .. } => names(lower.as_os_str().as_bytes()),
        MountKind::Tmpfs { .. } => vec![b"tmpfs".to_vec()],
        MountKind::Synthetic(Synthetic::Dev) => vec![b"devfs".to_vec()],
        MountKind::Synthetic(Synthetic::Proc) => vec![b"procfs".to_vec()],
        // The resolver answers for these itself.
        MountKind::Synthetic(Synthetic::Empty) | MountKind::Hidden => panic!("asked about {kind:?}"),
    }
}

/// Like `openat2(RESOLVE_NO_SYMLINKS)` beneath the mount's backing directory.
impl Fs for Host {
    fn kind(&self, _path: &GuestPath, at: &Lookup<'_>) -> Result<NodeKind, Errno> {
        let mut cur = backing(at.mount.kind());
        if !at.rest.is_empty() {
            for name in at.rest.split(|&b| b == b'/') {
                assert!(!name.is_empty() && name != b"." && name != b"..", "rest {:?}", at.rest);
                match self.nodes.get(&cur) {
                    Some(NodeKind::Dir) => cur.push(name.to_vec()),
                    Some(NodeKind::File) => return Err(Errno::ENOTDIR),
                    Some(NodeKind::Symlink(_)) => return Err(Errno::ELOOP),
                    None => return Err(Errno::ENOENT),
                }
            }
        }
        self.nodes.get(&cur).cloned().ok_or(Errno::ENOENT)
    }
}

fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

fn spec(line: &[u8]) -> Option<MountSpec> {
    let (&op, args) = line.split_first()?;
    let mut words = args.splitn(2, |&b| b == b' ');
    let a = path_of(words.next().unwrap_or_default());
    let b = path_of(words.next().unwrap_or_default());
    Some(match op % 9 {
        0 => MountSpec::Bind { src: a, dest: b, writable: op & 0x10 != 0 },
        1 => MountSpec::Tmpfs { dest: a, size: None },
        2 => MountSpec::Overlay { src: a, dest: b, upper: None },
        3 => MountSpec::Hide { path: a },
        4 => MountSpec::Dev,
        5 => MountSpec::Proc,
        6 => MountSpec::Chdir(a),
        7 => MountSpec::Root { host: a },
        _ => MountSpec::Empty,
    })
}

fuzz_target!(|data: &[u8]| {
    let mut sections = data.split(|&b| b == 0xff);
    let header = sections.next().unwrap_or_default();
    let base = match header.first().map(|b| b % 3) {
        Some(1) => Base::Root(PathBuf::from("/r")),
        Some(2) => Base::Empty,
        _ => Base::HostReadOnly,
    };
    let flags = header.get(1).copied().unwrap_or(0);
    let (follow_last, missing_ok) = (flags & 1 != 0, flags & 2 != 0);

    let mut host = Host { nodes: BTreeMap::from([(Vec::new(), NodeKind::Dir)]) };
    for line in sections.next().unwrap_or_default().split(|&b| b == b'\n') {
        match line.split_first() {
            Some((b'd', path)) => host.add(path, NodeKind::Dir),
            Some((b'l', rest)) => {
                let mut parts = rest.splitn(2, |&b| b == b'=');
                let path = parts.next().unwrap_or_default();
                host.add(path, NodeKind::Symlink(parts.next().unwrap_or_default().to_vec()));
            }
            Some((_, path)) => host.add(path, NodeKind::File),
            None => {}
        }
    }
    let specs: Vec<MountSpec> = sections.next().unwrap_or_default().split(|&b| b == b'\n').filter_map(spec).collect();
    let Ok(view) = View::build(base, &specs) else { return };

    let mut cwd = GuestPath::root();
    for name in names(sections.next().unwrap_or_default()) {
        if let Some(next) = cwd.join(&name) {
            cwd = next;
        }
    }

    for path in sections {
        let result = if missing_ok {
            resolve_or_missing(&view, &host, &cwd, path, follow_last)
        } else {
            resolve(&view, &host, &cwd, path, follow_last)
        };
        let again = if missing_ok {
            resolve_or_missing(&view, &host, &cwd, path, follow_last)
        } else {
            resolve(&view, &host, &cwd, path, follow_last)
        };
        assert_eq!(result, again, "not deterministic");
        let r = match result {
            Ok(r) => r,
            Err(e) => {
                let expected = [Errno::ENOENT, Errno::ENOTDIR, Errno::ELOOP, Errno::ENAMETOOLONG, Errno::EINVAL];
                assert!(expected.contains(&e) || (missing_ok && e == Errno::EACCES), "errno {e}");
                continue;
            }
        };
        // The result names a normalised guest path...
        assert_eq!(GuestPath::new(r.path().as_bytes()).as_ref(), Ok(r.path()));
        // ...in the mount that holds it...
        let rest = r.path().strip_prefix(r.mount().dest()).expect("mount is not a prefix of the result");
        assert_eq!(rest, r.rest());
        assert!(view.mounts().iter().any(|m| std::ptr::eq(m, r.mount())));
        match view.lookup(r.path()) {
            Ok(l) => assert!(std::ptr::eq(l.mount, r.mount()) && l.rest == r.rest()),
            Err(_) => assert!(*r.mount().kind() == MountKind::Hidden && r.is_skeleton()),
        }
        // ...whose rest is normalised, so the host path is under the root.
        assert!(
            r.rest().is_empty() || r.rest().split(|&b| b == b'/').all(|n| !n.is_empty() && n != b"." && n != b"..")
        );
        match (r.host_path(), r.mount().host_root()) {
            (Some(h), Some(root)) => {
                assert!(h.starts_with(root) && !h.components().any(|c| c == Component::ParentDir), "{h:?} {root:?}");
                assert_eq!(
                    h,
                    if r.rest().is_empty() {
                        root.to_path_buf()
                    } else {
                        root.join(Path::new(OsStr::from_bytes(r.rest())))
                    }
                );
            }
            (None, None) => {}
            (h, root) => panic!("host path {h:?} with root {root:?}"),
        }
        match r.kind() {
            None => assert!(missing_ok),
            Some(NodeKind::Dir) => {}
            Some(NodeKind::Symlink(_)) => assert!(!follow_last && !r.trailing_slash()),
            Some(NodeKind::File) => assert!(!r.trailing_slash()),
        }
    }
});
