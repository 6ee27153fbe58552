//! A deliberately simple model of the view and of path resolution, and the
//! proptests that check the real ones against it.
//!
//! The model has no mount table at lookup time. It *paints* the guest's
//! tree once, into a map from guest path to node: the base, then every
//! mount in order, each one erasing whatever is at or under its
//! destination, copying its source's subtree there and making the
//! destination's ancestors directories; `--hide` only erases. Resolution
//! is then the textbook walk over that map, with a symlink's target
//! spliced in front of the names still to walk. Which mount holds a path
//! is "the last mount whose destination is the path or an ancestor of
//! it", with no notion of covered mounts.
//!
//! The real code instead keeps a table of visible mounts, looks up the
//! longest prefix at every step, asks an [`Fs`] about the mount's contents
//! through a host-like tree, and keeps symlink targets on a stack. Both
//! must give the same answer (path and kind, or errno) on every input.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use super::*;

/// A path as a list of names.
type Names = Vec<Vec<u8>>;

/// The names of a path, `.` and empty ones left out.
fn names(bytes: &[u8]) -> Names {
    bytes.split(|&b| b == b'/').filter(|n| !n.is_empty() && *n != b".").map(|n| n.to_vec()).collect()
}

fn bytes_of(names: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in names {
        out.push(b'/');
        out.extend_from_slice(n);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// Where the test host keeps the contents of mounts that have no host
/// root of their own. Names from the generators' alphabet, so they
/// sometimes exist.
const TMPFS_BACKING: &[u8] = b"/c";
const DEV_BACKING: &[u8] = b"/b/b";
const PROC_BACKING: &[u8] = b"/a/c";

fn backing(kind: &MountKind) -> Option<Names> {
    match kind {
        MountKind::Host { root, .. } => Some(names(root.as_os_str().as_bytes())),
        MountKind::Overlay { lower, .. } => Some(names(lower.as_os_str().as_bytes())),
        MountKind::Tmpfs { .. } => Some(names(TMPFS_BACKING)),
        MountKind::Synthetic(Synthetic::Dev) => Some(names(DEV_BACKING)),
        MountKind::Synthetic(Synthetic::Proc) => Some(names(PROC_BACKING)),
        MountKind::Synthetic(Synthetic::Empty) | MountKind::Hidden => None,
    }
}

/// An in-memory host tree; every node's parent is a directory.
#[derive(Clone, Debug)]
pub(crate) struct Host {
    nodes: BTreeMap<Names, NodeKind>,
}

impl Host {
    pub(crate) fn new() -> Host {
        Host { nodes: BTreeMap::from([(Vec::new(), NodeKind::Dir)]) }
    }

    /// Adds a node, making missing parents directories; ignored under a
    /// non-directory or where something already is.
    pub(crate) fn add(&mut self, path: &[u8], node: NodeKind) {
        let path = names(path);
        for i in 0..path.len() {
            let parent = path[..i].to_vec();
            match self.nodes.get(&parent) {
                Some(NodeKind::Dir) => {}
                Some(_) => return,
                None => {
                    self.nodes.insert(parent, NodeKind::Dir);
                }
            }
        }
        self.nodes.entry(path).or_insert(node);
    }

    pub(crate) fn dir(mut self, path: &str) -> Host {
        self.add(path.as_bytes(), NodeKind::Dir);
        self
    }

    pub(crate) fn file(mut self, path: &str) -> Host {
        self.add(path.as_bytes(), NodeKind::File);
        self
    }

    pub(crate) fn link(mut self, path: &str, target: &str) -> Host {
        self.add(path.as_bytes(), NodeKind::Symlink(target.as_bytes().to_vec()));
        self
    }
}

/// The host as the real resolver sees it: like `openat2` with
/// `RESOLVE_NO_SYMLINKS` beneath the mount's backing directory.
impl Fs for Host {
    fn kind(&self, _path: &GuestPath, at: &Lookup<'_>) -> Result<NodeKind, Errno> {
        let mut cur = backing(at.mount.kind()).ok_or(Errno::EIO)?;
        for name in at.rest.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
            match self.nodes.get(&cur) {
                Some(NodeKind::Dir) => {}
                Some(NodeKind::File) => return Err(Errno::ENOTDIR),
                Some(NodeKind::Symlink(_)) => return Err(Errno::ELOOP),
                None => return Err(Errno::ENOENT),
            }
            cur.push(name.to_vec());
        }
        self.nodes.get(&cur).cloned().ok_or(Errno::ENOENT)
    }
}

/// One mount as the model knows it.
#[derive(Clone, Debug)]
struct ModelMount {
    dest: Names,
    origin: Origin,
    kind: MountKind,
}

/// The model of a view: every mount ever applied, and the painted tree.
#[derive(Debug)]
pub(crate) struct Model {
    mounts: Vec<ModelMount>,
    tree: BTreeMap<Names, NodeKind>,
    /// `--chdir`, checked against the view's.
    cwd: Option<Names>,
}

/// A guest path as the model normalises it: `None` unless absolute without
/// `..` or NUL.
fn normal(path: &Path) -> Option<Names> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.first() != Some(&b'/') || bytes.contains(&0) {
        return None;
    }
    let all = names(bytes);
    if all.iter().any(|n| n == b"..") {
        return None;
    }
    Some(all)
}

/// What the model's resolution gives: (guest path, kind or `None` for a
/// missing last name, trailing slash).
type Outcome = Result<(Names, Option<NodeKind>, bool), Errno>;

impl Model {
    /// The model of `View::build(base, specs)`, or `None` when that must
    /// fail. Assumes no `--upper` and no over-long paths in `specs`.
    pub(crate) fn new(host: &Host, base: &Base, specs: &[MountSpec]) -> Option<Model> {
        // Validity: at most one base, before every mount flag.
        let bases = specs.iter().filter(|s| matches!(s, MountSpec::Root { .. } | MountSpec::Empty)).count();
        let first_mount =
            specs.iter().position(|s| !matches!(s, MountSpec::Root { .. } | MountSpec::Empty | MountSpec::Chdir(_)));
        let last_base = specs.iter().rposition(|s| matches!(s, MountSpec::Root { .. } | MountSpec::Empty));
        if bases + usize::from(*base != Base::HostReadOnly) > 1 {
            return None;
        }
        if let (Some(m), Some(b)) = (first_mount, last_base) {
            if b > m {
                return None;
            }
        }
        let (base, base_origin) = match specs.iter().enumerate().find_map(|(i, s)| match s {
            MountSpec::Root { host } => Some((Base::Root(host.clone()), Origin::Spec(i))),
            MountSpec::Empty => Some((Base::Empty, Origin::Spec(i))),
            _ => None,
        }) {
            Some(found) => found,
            None => (base.clone(), Origin::Base),
        };
        let host_kind = |p: &Path, writable| Some(MountKind::Host { root: bytes_of(&normal(p)?).into_os(), writable });
        let mut mounts = Vec::new();
        let mut add =
            |dest: &str, kind| mounts.push(ModelMount { dest: names(dest.as_bytes()), origin: base_origin, kind });
        match &base {
            Base::HostReadOnly => {
                add("/", MountKind::Host { root: "/".into(), writable: false });
                add("/tmp", MountKind::Tmpfs { size: None });
                add("/dev", MountKind::Synthetic(Synthetic::Dev));
                add("/proc", MountKind::Synthetic(Synthetic::Proc));
            }
            Base::Root(dir) => add("/", host_kind(dir, false)?),
            Base::Empty => add("/", MountKind::Synthetic(Synthetic::Empty)),
        }
        let mut cwd = None;
        for (i, spec) in specs.iter().enumerate() {
            let (dest, kind) = match spec {
                MountSpec::Root { .. } | MountSpec::Empty => continue,
                MountSpec::Chdir(dir) => {
                    cwd = Some(normal(dir)?);
                    continue;
                }
                MountSpec::Bind { src, dest, writable } => (normal(dest)?, host_kind(src, *writable)?),
                MountSpec::Tmpfs { dest, size } => (normal(dest)?, MountKind::Tmpfs { size: *size }),
                MountSpec::Overlay { src, dest, upper } => {
                    let lower = normal(src)?;
                    let upper = match upper {
                        None => None,
                        Some(u) => {
                            // Writing an upper that overlaps the source would
                            // change the source: no view.
                            let u = normal(u)?;
                            if u.starts_with(&lower) || lower.starts_with(&u) {
                                return None;
                            }
                            Some(bytes_of(&u).into_os())
                        }
                    };
                    (normal(dest)?, MountKind::Overlay { lower: bytes_of(&lower).into_os(), upper })
                }
                MountSpec::Hide { path } => {
                    let path = normal(path)?;
                    if path.is_empty() {
                        return None;
                    }
                    (path, MountKind::Hidden)
                }
                MountSpec::Dev => (names(b"/dev"), MountKind::Synthetic(Synthetic::Dev)),
                MountSpec::Proc => (names(b"/proc"), MountKind::Synthetic(Synthetic::Proc)),
            };
            mounts.push(ModelMount { dest, origin: Origin::Spec(i), kind });
        }

        // Paint.
        let mut tree = BTreeMap::new();
        for m in &mounts {
            tree.retain(|path: &Names, _| !path.starts_with(&m.dest));
            if m.kind == MountKind::Hidden {
                continue;
            }
            if m.kind == MountKind::Synthetic(Synthetic::Empty) {
                tree.insert(m.dest.clone(), NodeKind::Dir);
            } else if let Some(src) = backing(&m.kind) {
                for (path, node) in host.nodes.range(src.clone()..) {
                    let Some(under) = path.strip_prefix(src.as_slice()) else { break };
                    let mut at = m.dest.clone();
                    at.extend(under.iter().cloned());
                    tree.insert(at, node.clone());
                }
            }
            for i in 0..m.dest.len() {
                let ancestor = m.dest[..i].to_vec();
                if tree.get(&ancestor) != Some(&NodeKind::Dir) {
                    tree.insert(ancestor, NodeKind::Dir);
                }
            }
        }
        Some(Model { mounts, tree, cwd })
    }

    /// The mount holding `path`: the last one whose destination is the path
    /// or an ancestor.
    fn owner(&self, path: &[Vec<u8>]) -> Option<&ModelMount> {
        self.mounts.iter().rev().find(|m| path.starts_with(&m.dest))
    }

    /// Whether the mount table makes `path` a directory: some mount that
    /// makes things lies strictly below it, and no later mount covers
    /// `path` itself.
    fn skeleton(&self, path: &[Vec<u8>]) -> bool {
        self.mounts.iter().enumerate().any(|(i, m)| {
            m.kind != MountKind::Hidden
                && m.dest.len() > path.len()
                && m.dest.starts_with(path)
                && !self.mounts[i + 1..].iter().any(|later| path.starts_with(&later.dest))
        })
    }

    /// The mount that owns `path` (its index), unless it is hidden: what
    /// `RESOLVE_NO_XDEV` compares with the start's.
    fn visible_owner(&self, path: &[Vec<u8>]) -> Option<usize> {
        let i = self.mounts.iter().rposition(|m| path.starts_with(&m.dest))?;
        (self.mounts[i].kind != MountKind::Hidden).then_some(i)
    }

    /// The textbook walk over the painted tree, within `openat2`'s bounds
    /// (`/proc`'s magic links aside) as the kernel documents them: the walk
    /// starts at `cwd`.
    pub(crate) fn resolve_bounded(
        &self,
        cwd: &[Vec<u8>],
        path: &[u8],
        follow_last: bool,
        missing_ok: bool,
        b: Bounds,
    ) -> Outcome {
        let root: Names = if b.in_root { cwd.to_vec() } else { Vec::new() };
        if path.len() >= 4096 {
            return Err(Errno::ENAMETOOLONG);
        }
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        if path.contains(&0) {
            return Err(Errno::EINVAL);
        }
        if path[0] == b'/' && b.beneath {
            return Err(Errno::EXDEV);
        }
        let mut cur: Names = if path[0] == b'/' { root.clone() } else { cwd.to_vec() };
        // The walk's start: the root for an absolute path.
        let start_owner = self.mounts.iter().rposition(|m| cur.starts_with(&m.dest));
        let crossed = |at: &[Vec<u8>]| b.no_xdev && self.visible_owner(at).is_some_and(|o| Some(o) != start_owner);
        let mut todo = path.to_vec();
        let mut links = 0;
        let mut found = None;
        let mut trailing = false;
        while let Some(start) = todo.iter().position(|&b| b != b'/') {
            let len = todo[start..].iter().position(|&b| b == b'/').unwrap_or(todo.len() - start);
            let name = todo[start..start + len].to_vec();
            todo.drain(..start + len);
            let last = todo.iter().all(|&b| b == b'/');
            let slash = !todo.is_empty();
            trailing = last && slash;
            found = None;
            if name == b"." {
                continue;
            }
            if name == b".." {
                if (b.beneath || b.in_root) && cur == cwd {
                    if b.beneath {
                        return Err(Errno::EXDEV);
                    }
                    continue;
                }
                cur.pop();
                if crossed(&cur) {
                    return Err(Errno::EXDEV);
                }
                continue;
            }
            if name.len() > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            cur.push(name);
            match self.tree.get(&cur) {
                None if last && missing_ok => {
                    if self.owner(&cur).is_some_and(|m| m.kind == MountKind::Hidden) {
                        return Err(Errno::EACCES);
                    }
                    return Ok((cur, None, trailing));
                }
                None => return Err(Errno::ENOENT),
                Some(_) if crossed(&cur) => return Err(Errno::EXDEV),
                Some(NodeKind::Symlink(_)) if (!last || follow_last || slash) && b.no_symlinks => {
                    return Err(Errno::ELOOP);
                }
                Some(NodeKind::Symlink(target)) if !last || follow_last || slash => {
                    links += 1;
                    if links > 40 {
                        return Err(Errno::ELOOP);
                    }
                    if target.len() >= 4096 {
                        return Err(Errno::ENAMETOOLONG);
                    }
                    if target.is_empty() {
                        return Err(Errno::ENOENT);
                    }
                    if target.contains(&0) {
                        return Err(Errno::EINVAL);
                    }
                    cur.pop();
                    if target[0] == b'/' {
                        if b.beneath {
                            return Err(Errno::EXDEV);
                        }
                        cur = root.clone();
                        if crossed(&cur) {
                            return Err(Errno::EXDEV);
                        }
                    }
                    let mut spliced = target.clone();
                    spliced.extend_from_slice(&todo);
                    todo = spliced;
                }
                Some(NodeKind::Dir) => found = Some(NodeKind::Dir),
                Some(other) if last && !slash => found = Some(other.clone()),
                Some(_) => return Err(Errno::ENOTDIR),
            }
        }
        let kind = match found {
            Some(kind) => kind,
            None => match self.tree.get(&cur) {
                Some(NodeKind::Dir) => NodeKind::Dir,
                Some(_) => return Err(Errno::ENOTDIR),
                None => return Err(Errno::ENOENT),
            },
        };
        Ok((cur, Some(kind), trailing))
    }
}

trait IntoOs {
    fn into_os(self) -> PathBuf;
}

impl IntoOs for Vec<u8> {
    fn into_os(self) -> PathBuf {
        PathBuf::from(OsStr::from_bytes(&self))
    }
}

/// Runs the real resolver and the model on one input; fails on any
/// disagreement or broken invariant. Returns the real outcome.
#[allow(clippy::too_many_arguments)]
fn compare<'v>(
    view: &'v View,
    model: &Model,
    host: &Host,
    cwd: &GuestPath,
    path: &[u8],
    follow_last: bool,
    missing_ok: bool,
    bounds: Bounds,
) -> Result<Result<Resolved<'v>, Errno>, String> {
    let real = resolve_bounded(view, host, cwd, path, follow_last, missing_ok, bounds);
    let expected = model.resolve_bounded(&names(cwd.as_bytes()), path, follow_last, missing_ok, bounds);
    let ctx = || {
        format!(
            "path {:?} cwd {cwd} follow_last {follow_last} missing_ok {missing_ok} {bounds:?}\nreal {real:?}\nmodel {expected:?}",
            path.escape_ascii().to_string()
        )
    };
    let got =
        real.as_ref().map(|r| (names(r.path().as_bytes()), r.kind().cloned(), r.trailing_slash())).map_err(|e| *e);
    if got != expected {
        return Err(format!("disagreement\n{}", ctx()));
    }
    if let Ok(r) = &real {
        check_invariants(view, model, r).map_err(|e| format!("{e}\n{}", ctx()))?;
    }
    Ok(real)
}

/// What must hold of every result: it is where the model says, its mount
/// is the one the model says, and its host path is under that mount's
/// host root.
pub(crate) fn check_invariants(view: &View, model: &Model, r: &Resolved<'_>) -> Result<(), String> {
    let path = names(r.path().as_bytes());
    if GuestPath::new(r.path().as_bytes()).as_ref() != Ok(r.path()) {
        return Err("result path not normalised".into());
    }
    let owner = model.owner(&path).ok_or("no owner")?;
    if (r.mount().origin(), names(r.mount().dest().as_bytes())) != (owner.origin, owner.dest.clone()) {
        return Err(format!("mount {:?} but the model says {owner:?}", r.mount()));
    }
    if !view.mounts().iter().any(|m| std::ptr::eq(m, r.mount())) {
        return Err("mount not from this view".into());
    }
    if names(r.rest()) != path[owner.dest.len()..] || r.rest().split(|&b| b == b'/').any(|n| n == b"." || n == b"..") {
        return Err(format!("rest {:?}", r.rest().escape_ascii().to_string()));
    }
    if r.rest().first() == Some(&b'/') || r.rest().last() == Some(&b'/') || r.rest().windows(2).any(|w| w == b"//") {
        return Err("rest not normalised".into());
    }
    if r.is_skeleton() != model.skeleton(&path) {
        return Err(format!("skeleton {} but the model says otherwise", r.is_skeleton()));
    }
    if *r.mount().kind() == MountKind::Hidden && !r.is_skeleton() {
        return Err("a hidden path resolved".into());
    }
    match (r.host_path(), r.mount().host_root()) {
        (Some(host), Some(root)) => {
            if !host.starts_with(root) || host.components().any(|c| c == std::path::Component::ParentDir) {
                return Err(format!("host path {host:?} outside {root:?}"));
            }
        }
        (None, None) => {}
        (h, root) => return Err(format!("host path {h:?} with root {root:?}")),
    }
    let lookup = r.lookup();
    if lookup.rest != r.rest() || !std::ptr::eq(lookup.mount, r.mount()) {
        return Err("lookup() disagrees".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gp(s: &str) -> GuestPath {
        GuestPath::new(s.as_bytes()).unwrap()
    }

    fn bind(src: &str, dest: &str) -> MountSpec {
        MountSpec::Bind { src: src.into(), dest: dest.into(), writable: true }
    }

    /// A view, its model and the host, for unit tests.
    struct Case {
        host: Host,
        view: View,
        model: Model,
    }

    impl Case {
        fn new(host: Host, base: Base, specs: &[MountSpec]) -> Case {
            let view = View::build(base.clone(), specs).unwrap();
            let model = Model::new(&host, &base, specs).unwrap();
            Case { host, view, model }
        }

        /// Resolves with both; returns the real result as (path, host path).
        fn run(
            &self,
            cwd: &str,
            path: &str,
            follow: bool,
            missing_ok: bool,
        ) -> Result<(String, Option<PathBuf>), Errno> {
            let real = compare(
                &self.view,
                &self.model,
                &self.host,
                &gp(cwd),
                path.as_bytes(),
                follow,
                missing_ok,
                Bounds::default(),
            )
            .unwrap_or_else(|e| panic!("{e}"))?;
            Ok((real.path().to_string(), real.host_path()))
        }

        fn path(&self, cwd: &str, path: &str) -> Result<String, Errno> {
            self.run(cwd, path, true, false).map(|(p, _)| p)
        }

        fn host(&self, path: &str) -> Option<PathBuf> {
            self.run("/", path, true, false).unwrap().1
        }

        fn kind(&self, path: &str, follow: bool) -> Result<NodeKind, Errno> {
            let r = resolve(&self.view, &self.host, &GuestPath::root(), path.as_bytes(), follow)?;
            self.run("/", path, follow, false)?;
            Ok(r.kind().cloned().unwrap())
        }
    }

    fn rooted() -> Case {
        let host = Host::new()
            .file("/etc/passwd")
            .file("/r/etc/passwd")
            .dir("/r/bin")
            .link("/r/abs", "/etc")
            .link("/r/up", "../../../../../etc/passwd")
            .link("/r/bin/dotdot", "../../..")
            .link("/r/loop", "loop")
            .link("/r/dangling", "/nothere/x")
            .link("/r/dangling2", "/etc/newfile");
        Case::new(host, Base::Root("/r".into()), &[])
    }

    #[test]
    fn dotdot_and_absolute_symlinks_stay_in_the_view() {
        let c = rooted();
        assert_eq!(c.path("/", "/.."), Ok("/".into()));
        assert_eq!(c.path("/", "/../../.."), Ok("/".into()));
        assert_eq!(c.path("/bin", "../../../etc/passwd"), Ok("/etc/passwd".into()));
        assert_eq!(c.host("/../etc/passwd"), Some("/r/etc/passwd".into()));
        assert_eq!(c.host("/abs/passwd"), Some("/r/etc/passwd".into()));
        assert_eq!(c.host("/up"), Some("/r/etc/passwd".into()));
        assert_eq!(c.host("/bin/dotdot/etc/passwd"), Some("/r/etc/passwd".into()));
        assert_eq!(c.path("/", "/bin/dotdot"), Ok("/".into()));
    }

    #[test]
    fn dotdot_from_a_mount_goes_to_the_guest_parent() {
        let host = Host::new().dir("/src/deep/ws").file("/src/deep/secret").file("/other");
        let c = Case::new(host, Base::Empty, &[bind("/src/deep/ws", "/ws"), bind("/other", "/other")]);
        assert_eq!(c.path("/ws", ".."), Ok("/".into()));
        assert_eq!(c.path("/ws", "../secret"), Err(Errno::ENOENT));
        assert_eq!(c.host("/ws/../other"), Some("/other".into()));
        assert_eq!(c.path("/", "/ws/../ws/./"), Ok("/ws".into()));
    }

    #[test]
    fn linux_errors() {
        let c = rooted();
        assert_eq!(c.path("/", ""), Err(Errno::ENOENT));
        assert_eq!(c.path("/", "/etc/passwd/"), Err(Errno::ENOTDIR));
        assert_eq!(c.path("/", "/etc/passwd/."), Err(Errno::ENOTDIR));
        assert_eq!(c.path("/", "/etc/passwd/x"), Err(Errno::ENOTDIR));
        assert_eq!(c.path("/", "/etc/passwd/.."), Err(Errno::ENOTDIR));
        assert_eq!(c.path("/", "/nothere/x"), Err(Errno::ENOENT));
        assert_eq!(c.path("/", "/loop"), Err(Errno::ELOOP));
        assert_eq!(c.path("/", "/loop/x"), Err(Errno::ELOOP));
        assert_eq!(c.kind("/loop", false), Ok(NodeKind::Symlink(b"loop".to_vec())));
        assert_eq!(c.path("/", "/dangling"), Err(Errno::ENOENT));
        // Names: 255 bytes is fine (it just does not exist), 256 is too long.
        assert_eq!(c.path("/", &format!("/etc/{}", "n".repeat(255))), Err(Errno::ENOENT));
        assert_eq!(c.path("/", &format!("/etc/{}", "n".repeat(256))), Err(Errno::ENAMETOOLONG));
        // ENOTDIR before the long name is looked at.
        assert_eq!(c.path("/", &format!("/etc/passwd/{}", "n".repeat(256))), Err(Errno::ENOTDIR));
        // Path arguments: 4095 bytes is fine, 4096 is too long.
        let ok = format!("/{}etc/passwd", "./".repeat((4095 - 11) / 2));
        assert_eq!(ok.len(), 4095);
        assert_eq!(c.path("/", &ok), Ok("/etc/passwd".into()));
        let long = format!("/{}etc/passwd", "/".repeat(4096 - 11));
        assert_eq!(long.len(), 4096);
        assert_eq!(c.path("/", &long), Err(Errno::ENAMETOOLONG));
        assert_eq!(resolve(&c.view, &c.host, &GuestPath::root(), b"/a\0b", true).unwrap_err(), Errno::EINVAL);
    }

    #[test]
    fn trailing_slash_and_nofollow() {
        let host = Host::new().dir("/d").file("/d/f").link("/l", "d").link("/lf", "d/f").link("/ls", "d/");
        let c = Case::new(host, Base::Root("/".into()), &[]);
        assert_eq!(c.kind("/l", false), Ok(NodeKind::Symlink(b"d".to_vec())));
        assert_eq!(c.kind("/l", true), Ok(NodeKind::Dir));
        // A trailing slash follows even with follow_last = false.
        assert_eq!(c.kind("/l/", false), Ok(NodeKind::Dir));
        assert_eq!(c.run("/", "/l//", false, false).map(|r| r.0), Ok("/d".into()));
        assert_eq!(c.kind("/lf", true), Ok(NodeKind::File));
        assert_eq!(c.kind("/lf/", false), Err(Errno::ENOTDIR));
        assert_eq!(c.kind("/ls", true), Ok(NodeKind::Dir));
        assert_eq!(c.kind("/l/.", false), Ok(NodeKind::Dir));
        assert_eq!(c.kind("/", false), Ok(NodeKind::Dir));
        assert_eq!(c.kind("//", false), Ok(NodeKind::Dir));
    }

    #[test]
    fn symlink_limit_is_forty() {
        // /l0 -> l1 -> ... -> l{n-1} -> d
        let chain = |n: usize| {
            let mut host = Host::new().dir("/d");
            for i in 0..n {
                let target = if i + 1 == n { "d".to_string() } else { format!("l{}", i + 1) };
                host = host.link(&format!("/l{i}"), &target);
            }
            Case::new(host, Base::Root("/".into()), &[])
        };
        assert_eq!(chain(40).path("/", "/l0"), Ok("/d".into()));
        assert_eq!(chain(40).path("/", "/l0/"), Ok("/d".into()));
        assert_eq!(chain(41).path("/", "/l0"), Err(Errno::ELOOP));
        assert_eq!(chain(41).kind("/l0", false), Ok(NodeKind::Symlink(b"l1".to_vec())));
    }

    #[test]
    fn missing_last_names() {
        let c = rooted();
        let r = resolve_or_missing(&c.view, &c.host, &GuestPath::root(), b"/etc/new", true).unwrap();
        assert!(!r.exists());
        assert_eq!(r.host_path(), Some("/r/etc/new".into()));
        assert_eq!(c.run("/", "/etc/new/", true, true).map(|r| r.0), Ok("/etc/new".into()));
        assert_eq!(c.run("/", "/etc/new/x", true, true), Err(Errno::ENOENT));
        assert_eq!(c.run("/", "/etc/new/..", true, true), Err(Errno::ENOENT));
        // A dangling symlink leads to where its target would be...
        assert_eq!(c.run("/", "/dangling2", true, true).map(|r| r.1), Ok(Some("/r/etc/newfile".into())));
        // ...unless its directory is missing too, or it is not followed.
        assert_eq!(c.run("/", "/dangling", true, true), Err(Errno::ENOENT));
        assert_eq!(c.run("/", "/dangling2", false, true).map(|r| r.0), Ok("/dangling2".into()));
        assert_eq!(c.run("/", "/etc/passwd", true, true).map(|r| r.0), Ok("/etc/passwd".into()));
    }

    #[test]
    fn hide() {
        let host = Host::new().file("/home/me/.ssh/id").dir("/w").link("/l", "/home/me/.ssh/id");
        let specs = [MountSpec::Hide { path: "/home/me/.ssh".into() }, bind("/w", "/home/me/.ssh/ok")];
        let c = Case::new(host, Base::HostReadOnly, &specs);
        assert_eq!(c.path("/", "/home/me/.ssh/id"), Err(Errno::ENOENT));
        assert_eq!(c.path("/", "/l"), Err(Errno::ENOENT));
        assert_eq!(c.run("/", "/home/me/.ssh/new", true, true), Err(Errno::EACCES));
        // The mount below the hidden path makes it a directory again.
        let r = resolve(&c.view, &c.host, &GuestPath::root(), b"/home/me/.ssh", true).unwrap();
        assert!(r.is_skeleton());
        assert_eq!(r.host_path(), None);
        assert_eq!(c.host("/home/me/.ssh/ok"), Some("/w".into()));
        assert_eq!(c.path("/home/me/.ssh/ok", "../../.ssh/ok/."), Ok("/home/me/.ssh/ok".into()));
    }

    #[test]
    fn skeleton_directories() {
        // A mount point under a symlink and under a file: the mount table's
        // directories win, and nothing leaks through them.
        let host = Host::new().link("/lib", "/usr/lib").dir("/usr/lib").file("/f").dir("/x").dir("/c");
        let specs = [MountSpec::Tmpfs { dest: "/lib/tmp".into(), size: None }, bind("/x", "/f/x")];
        let c = Case::new(host, Base::HostReadOnly, &specs);
        assert_eq!(c.kind("/lib", false), Ok(NodeKind::Dir));
        assert_eq!(c.path("/", "/lib/tmp"), Ok("/lib/tmp".into()));
        assert_eq!(c.path("/", "/lib/other"), Err(Errno::ENOENT));
        assert_eq!(c.kind("/f", true), Ok(NodeKind::Dir));
        assert_eq!(c.host("/f/x"), Some("/x".into()));
        assert_eq!(c.run("/", "/f/y", true, true).map(|r| r.1), Ok(Some("/f/y".into())));

        // Over an empty root.
        let host = Host::new().dir("/usr/bin");
        let c = Case::new(host, Base::Empty, &[bind("/usr", "/a/b/usr")]);
        assert_eq!(c.kind("/a", true), Ok(NodeKind::Dir));
        assert_eq!(c.path("/", "/a/b/usr/bin/../.."), Ok("/a/b".into()));
        assert_eq!(c.path("/", "/a/c"), Err(Errno::ENOENT));
        assert_eq!(c.host("/a/b/usr/bin"), Some("/usr/bin".into()));
    }

    #[test]
    fn nested_tmp_and_prefixes() {
        let host = Host::new().dir("/tmp/x/sub").file("/tmp/y").file("/tmpfoo").dir("/c");
        let specs = [MountSpec::Tmpfs { dest: "/tmp".into(), size: None }, bind("/tmp/x", "/tmp/x")];
        let c = Case::new(host, Base::HostReadOnly, &specs);
        assert_eq!(c.host("/tmp/x/sub"), Some("/tmp/x/sub".into()));
        assert_eq!(c.path("/", "/tmp/y"), Err(Errno::ENOENT)); // the private /tmp has no y
        assert_eq!(c.host("/tmpfoo"), Some("/tmpfoo".into()));
        let r = resolve(&c.view, &c.host, &GuestPath::root(), b"/tmp/x/..", true).unwrap();
        assert_eq!(r.mount().flag(), "--tmpfs");
    }

    mod props {
        use proptest::prelude::*;

        use super::*;

        const NAMES: &[&str] = &["a", "b", "c", "tmp", "dev"];

        fn name() -> impl Strategy<Value = String> {
            // /tmp and /dev are mount points of the default view: rarer, so
            // that most of the host stays visible.
            prop_oneof![12 => prop::sample::select(&NAMES[..3]), 1 => prop::sample::select(&NAMES[3..])]
                .prop_map(str::to_string)
        }

        /// An absolute path of up to `max` names, spelt untidily.
        fn abs(max: usize) -> impl Strategy<Value = String> {
            (prop::collection::vec((name(), prop::sample::select(&["/", "//", "/./"][..])), 0..=max), any::<bool>())
                .prop_map(|(parts, trailing)| {
                    let mut s = String::new();
                    for (n, sep) in parts {
                        s.push_str(sep);
                        s.push_str(&n);
                    }
                    if s.is_empty() || trailing {
                        s.push('/');
                    }
                    s
                })
        }

        /// A path a guest might pass, or a symlink target.
        fn messy(max: usize) -> impl Strategy<Value = Vec<u8>> {
            let part = prop_oneof![
                24 => name(),
                6 => Just("..".to_string()),
                2 => Just(".".to_string()),
                2 => Just(String::new()),
                1 => Just("n".repeat(255)),
                1 => Just("n".repeat(256)),
            ];
            prop_oneof![
                30 => (any::<bool>(), prop::collection::vec(part, 0..=max), any::<bool>()).prop_map(
                    |(absolute, parts, trailing)| {
                        let mut s = if absolute { "/".to_string() } else { String::new() };
                        s.push_str(&parts.join("/"));
                        if trailing {
                            s.push('/');
                        }
                        s.into_bytes()
                    }
                ),
                1 => Just(Vec::new()),
                1 => (4090usize..4100).prop_map(|len| {
                    let mut s = b"/a".to_vec();
                    s.resize(len, b'/');
                    s
                }),
                1 => (0usize..2048).prop_map(|n| "../".repeat(n).into_bytes()),
            ]
        }

        /// A host tree of up to 60 nodes; symlink targets are random, or
        /// name another node: absolutely, or relatively with a `..` chain
        /// that may overshoot the root.
        fn host() -> impl Strategy<Value = Host> {
            let entry = (abs(3), 0u8..10, any::<prop::sample::Index>(), 0u8..5, 0usize..3, messy(4));
            prop::collection::vec(entry, 0..60).prop_map(|entries| {
                let paths: Vec<String> = entries.iter().map(|e| e.0.clone()).collect();
                let mut host = Host::new();
                for (path, tag, other, style, overshoot, random) in entries {
                    let other = names(other.get(&paths).as_bytes());
                    let node = match tag {
                        0..=3 => NodeKind::Dir,
                        4..=5 => NodeKind::File,
                        _ => NodeKind::Symlink(match style {
                            0 | 1 => random,
                            2 => bytes_of(&other),
                            _ => {
                                let depth = names(path.as_bytes()).len().saturating_sub(1) + overshoot;
                                let mut t = "../".repeat(depth).into_bytes();
                                t.extend_from_slice(&other.join(&b'/'));
                                if style == 4 {
                                    t.push(b'/');
                                }
                                t
                            }
                        }),
                    };
                    host.add(path.as_bytes(), node);
                }
                host
            })
        }

        /// A host tree, and paths to resolve: random ones, and host paths
        /// (which the default view shows as they are) with a suffix.
        fn world() -> impl Strategy<Value = (Host, Vec<Vec<u8>>)> {
            host().prop_flat_map(|host| {
                let known: Vec<Vec<u8>> = host.nodes.keys().map(|k| bytes_of(k)).collect();
                let suffix =
                    prop::sample::select(&["", "", "/", "/.", "/..", "/a", "/b/", "/../b", "//", "/../..", "/c/a"][..]);
                let path = prop_oneof![
                    2 => messy(6),
                    3 => (prop::sample::select(known), suffix, any::<bool>()).prop_map(|(mut p, suffix, relative)| {
                        p.extend_from_slice(suffix.as_bytes());
                        if relative && p.len() > 1 {
                            p.remove(0);
                        }
                        p
                    }),
                ];
                (Just(host), prop::collection::vec(path, 1..16))
            })
        }

        fn spec() -> impl Strategy<Value = MountSpec> {
            prop_oneof![
                4 => (abs(3), abs(3), any::<bool>()).prop_map(|(src, dest, writable)| MountSpec::Bind {
                    src: src.into(),
                    dest: dest.into(),
                    writable
                }),
                2 => abs(3).prop_map(|dest| MountSpec::Tmpfs { dest: dest.into(), size: None }),
                1 => (abs(3), abs(3), prop::option::of(abs(3))).prop_map(|(src, dest, upper)| MountSpec::Overlay {
                    src: src.into(),
                    dest: dest.into(),
                    upper: upper.map(Into::into)
                }),
                3 => abs(3).prop_map(|path| MountSpec::Hide { path: path.into() }),
                1 => Just(MountSpec::Dev),
                1 => Just(MountSpec::Proc),
                1 => abs(3).prop_map(|dir| MountSpec::Chdir(dir.into())),
                1 => abs(2).prop_map(|host| MountSpec::Root { host: host.into() }),
                1 => Just(MountSpec::Empty),
            ]
        }

        fn base() -> impl Strategy<Value = Base> {
            prop_oneof![
                3 => Just(Base::HostReadOnly),
                1 => abs(2).prop_map(|dir| Base::Root(dir.into())),
                1 => Just(Base::Empty),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            /// The real resolver and the model agree on every input (path
            /// and kind, or errno), and every result is inside the view.
            #[test]
            fn resolver_matches_model(
                (host, paths) in world(),
                base in base(),
                specs in prop::collection::vec(spec(), 0..6),
                cwd in abs(3),
                bounds in (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
                    |(beneath, in_root, no_symlinks, no_xdev)| Bounds {
                        beneath,
                        in_root: in_root && !beneath,
                        no_symlinks,
                        no_magiclinks: false,
                        no_xdev,
                    },
                ),
            ) {
                let model = Model::new(&host, &base, &specs);
                let view = View::build(base, &specs);
                prop_assert_eq!(view.is_ok(), model.is_some(), "{:?}", view);
                let (Ok(view), Some(model)) = (view, model) else { return Ok(()) };
                prop_assert_eq!(view.cwd().map(|c| names(c.as_bytes())), model.cwd.clone());
                let cwd = gp(&cwd);
                for path in &paths {
                    for follow in [false, true] {
                        for missing_ok in [false, true] {
                            for b in [Bounds::default(), bounds] {
                                if let Err(e) = compare(&view, &model, &host, &cwd, path, follow, missing_ok, b) {
                                    prop_assert!(false, "{}\nspecs {:?}\nview {:?}\nhost {:?}", e, specs, view.mounts(), host);
                                }
                            }
                        }
                    }
                }
            }

            /// `View::lookup` is "the last mount at or above the path",
            /// hidden paths excepted.
            #[test]
            fn lookup_matches_model(
                base in base(),
                specs in prop::collection::vec(spec(), 0..8),
                paths in prop::collection::vec(abs(4), 1..16),
            ) {
                let host = Host::new();
                let (Ok(view), Some(model)) = (View::build(base.clone(), &specs), Model::new(&host, &base, &specs))
                else { return Ok(()) };
                prop_assert!(view.mounts().iter().any(|m| m.dest().is_root()));
                for path in &paths {
                    let path = gp(path);
                    let owner = model.owner(&names(path.as_bytes())).unwrap();
                    match view.lookup(&path) {
                        Err(e) => {
                            prop_assert_eq!(e, Errno::ENOENT);
                            prop_assert_eq!(&owner.kind, &MountKind::Hidden);
                        }
                        Ok(l) => {
                            prop_assert_eq!(l.mount.origin(), owner.origin);
                            prop_assert_eq!(names(l.mount.dest().as_bytes()), owner.dest.clone());
                            prop_assert_eq!(l.mount.kind(), &owner.kind);
                            prop_assert_eq!(names(l.rest), names(path.as_bytes())[owner.dest.len()..].to_vec());
                        }
                    }
                    prop_assert_eq!(view.is_skeleton(&path), model.skeleton(&names(path.as_bytes())));
                }
            }
        }
    }
}
