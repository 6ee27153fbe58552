//! The Landlock rules that confine the guest's own filesystem access to
//! its view: which host paths it may reach directly, and where it may
//! change things.
//!
//! # Why
//!
//! The supervisor resolves every path it is asked about in the view
//! ([`crate::vfs::resolve()`]), but some calls run natively (an `openat`
//! relative to a directory fd the guest already holds, say), and then the
//! kernel walks the host's tree. Landlock is what keeps those inside the
//! view, and the backstop should the resolver be wrong: the guest may
//! reach exactly the host files and directories its view shows, at their
//! host locations, and change only those the view shows writable.
//!
//! # Carving
//!
//! A Landlock rule allows a whole hierarchy, rules add up, and there is no
//! "except". But the view often shows a host directory with a part of it
//! replaced: the default view is the host's `/` with a private `/tmp`,
//! `/dev` and `/proc` over it; `--hide /etc/shadow` takes a file out;
//! `--tmpfs /home/x` lays scratch space over a directory. A rule on the
//! outer mount's root would let the guest reach the replaced host path
//! anyway. So such a root is *carved*: instead of the root, each of its
//! entries gets a rule, except the one on the way to the covered part,
//! which is carved in turn. For `--hide /etc/shadow` over the host's `/`,
//! that is every entry of `/` but `etc`, and every entry of `/etc` but
//! `shadow`.
//!
//! The covered parts come from the mount table alone: every mount `L`
//! below a mount `M`'s destination (a bind, a tmpfs, `--hide`, ...) covers
//! `M`'s host path for `L`'s destination. An identity bind (`--ro-bind
//! /usr /usr` over the host's `/`) is carved like any other mount and then
//! granted by its own rule; skipping the carve would be right only when
//! the inner mount is at least as writable as the outer one, and carving
//! is right always.
//!
//! On the way down:
//! - symlinks get no rule and are not followed: Landlock checks the
//!   object a symlink leads to where that object is, and that place has
//!   its own rule or none;
//! - an entry on the way to a covered part that is not a directory gets a
//!   rule only if the guest sees it: where the mount table puts a
//!   directory over it ([`View::is_skeleton`]), it gets none;
//! - an entry on the way that does not exist leaves nothing to carve; one
//!   that cannot be listed (`EACCES`) gets no rules beneath it, which can
//!   only deny more than the view shows;
//! - an entry that disappears while its directory is listed is skipped.
//!
//! # What carving costs
//!
//! A carved directory itself has no rule, so the guest cannot natively
//! list it or create names directly in it (`--bind ws /ws --tmpfs
//! /ws/target`: nothing new directly in `ws` through a directory fd), and a
//! name the host adds to it later is not reachable natively. The
//! supervisor's own path handling is not subject to the guest's domain, so
//! calls it serves are unaffected.
//! [`grants_at`] also says where the rules take effect, so that the
//! supervisor answers, rather than lets the kernel run, calls beneath a
//! name made later in a carved directory (or by the guest: a directory it
//! makes there).
//!
//! Private directories the supervisor made (a tmpfs's, the synthetic
//! `/dev`'s, a private overlay upper layer) are granted whole, never
//! carved: they hold nothing but what the sandbox itself put there, so
//! reaching a covered part of one reveals nothing of the host, and the
//! guest keeps native access to the names it creates in them. Host
//! directories (bound roots, overlay lower and `--upper` layers) are
//! carved.
//!
//! Rules name places, not guest paths: a host directory the view shows
//! twice (read-only in one place, writable in another) is writable
//! wherever the guest reaches it natively. The supervisor's own checks
//! (`EROFS` per mount) still apply to the paths it resolves.
//!
//! The rules are a snapshot of the host's tree when they are computed: a
//! carve lists directories then.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::FileType;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::mount::{Mount, MountKind, Synthetic, View};
use super::path::GuestPath;

/// One Landlock rule: the host path, and whether the guest may change
/// things beneath it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    /// The host path, with no symlink in it (mount roots are
    /// canonicalised and carving never follows a symlink), so opening it
    /// with `O_PATH | O_NOFOLLOW` gets exactly what was examined.
    pub path: PathBuf,
    /// Whether the guest may change things beneath it (create, remove,
    /// write); otherwise it may only read.
    pub write: bool,
    /// Whether it is a directory. Landlock refuses directory rights
    /// (`READ_DIR`, `MAKE_*`, `REMOVE_*`, ...) on a rule for a file, so a
    /// rule for a non-directory must ask for file rights only.
    pub dir: bool,
}

/// The Landlock rules for `view`: every host file and directory the view
/// shows, at its host location, writable where the view makes it writable,
/// and nothing the view does not show (see the module docs).
///
/// `backing(mount)` gives the host directory that holds a mount's contents
/// when that is not [`Mount::host_root`]: the private directory the
/// supervisor made for a tmpfs mount, for the synthetic `/dev`, or for an
/// overlay's upper layer when it has no `--upper`; `None` when there is
/// none. It is never asked about hidden, `/proc`, empty-root or host
/// mounts, which get no rule or their own root's.
///
/// The result is sorted by path, has one rule per path, and leaves out a
/// rule already implied by one on an ancestor (as writable or more).
///
/// # Errors
///
/// A mount's host path (or backing directory) that does not exist or
/// cannot be examined, with the flag and the path in the message and the
/// kind of the underlying error; an error other than `ENOENT`, `ENOTDIR`
/// or `EACCES` while carving.
pub fn grants(view: &View, backing: &dyn Fn(&Mount) -> Option<PathBuf>) -> io::Result<Vec<Grant>> {
    grants_at(view, backing).map(|(g, _)| g)
}

/// A guest path where a rule takes effect, and the index of the mount
/// (in [`View::mounts`]) it was made for.
pub type Place = (GuestPath, usize);

/// [`grants`], and the guest paths where the view shows what a rule
/// covers, each with the index of the mount (in [`View::mounts`]) it was
/// made for: beneath one of these, in that mount (not one mounted
/// beneath it), the kernel lets the guest reach what the view shows (a
/// directory made later directly in a carved one is beneath none).
pub fn grants_at(view: &View, backing: &dyn Fn(&Mount) -> Option<PathBuf>) -> io::Result<(Vec<Grant>, Vec<Place>)> {
    let mut out = Vec::new();
    let mut places = Vec::new();
    for (index, m) in view.mounts().iter().enumerate() {
        let cover = Cover::of(view, m);
        for layer in layers(m, backing) {
            let path = std::fs::canonicalize(&layer.path).map_err(|e| in_mount(m, &layer.path, e))?;
            let meta = std::fs::symlink_metadata(&path).map_err(|e| in_mount(m, &path, e))?;
            let cover = if layer.carve { cover.as_ref() } else { None };
            Carve { view, write: layer.write, out: &mut out, places: &mut places, index }.walk(
                path,
                m.dest().clone(),
                meta.file_type(),
                cover,
            )?;
        }
    }
    Ok((tidy(out), places))
}

/// The host paths the view covers: for every mount with host directories
/// of its own (a bound root, an overlay's lower and `--upper` layers), the
/// host path under each of them where another mount, or `--hide`, takes
/// over. Lexical (the host is not looked at), sorted, and with no path
/// under another. [`grants`] carves exactly these.
pub fn covered(view: &View) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for m in view.mounts() {
        let Some(cover) = Cover::of(view, m) else { continue };
        for layer in layers(m, &|_| None).into_iter().filter(|l| l.carve) {
            cover.leaves(&mut layer.path.clone(), &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A host directory (or file) that holds a mount's contents.
struct Layer {
    path: PathBuf,
    write: bool,
    /// Whether it is the host's (carved) rather than the supervisor's own
    /// private directory (granted whole).
    carve: bool,
}

fn layers(m: &Mount, backing: &dyn Fn(&Mount) -> Option<PathBuf>) -> Vec<Layer> {
    let private = |write| backing(m).map(|path| Layer { path, write, carve: false });
    match m.kind() {
        MountKind::Host { root, writable } => vec![Layer { path: root.clone(), write: *writable, carve: true }],
        MountKind::Overlay { lower, upper } => {
            let upper = match upper {
                Some(u) => Some(Layer { path: u.clone(), write: true, carve: true }),
                None => private(true),
            };
            std::iter::once(Layer { path: lower.clone(), write: false, carve: true }).chain(upper).collect()
        }
        MountKind::Tmpfs { .. } => private(true).into_iter().collect(),
        // The view makes only /dev/shm writable: the placeholders beside
        // it are the supervisor's (a call continued natively beneath
        // /dev/shm, its path rewritten to `../name` by a second thread,
        // would otherwise make or remove names there).
        MountKind::Synthetic(Synthetic::Dev) => match backing(m) {
            Some(dir) => vec![
                Layer { path: dir.join("shm"), write: true, carve: false },
                Layer { path: dir, write: false, carve: false },
            ],
            None => Vec::new(),
        },
        MountKind::Synthetic(Synthetic::Proc | Synthetic::Empty) | MountKind::Hidden => Vec::new(),
    }
}

/// What other mounts cover inside one mount, by name from its root: a
/// name is covered whole, or on the way to something covered.
#[derive(Default)]
struct Cover {
    whole: bool,
    below: BTreeMap<Vec<u8>, Cover>,
}

impl Cover {
    /// The parts of `m` that the view shows from another mount (or hides);
    /// `None` when it shows all of `m`.
    ///
    /// [`View::build`] drops a mount once a later one covers it, so today
    /// every other mount below `m`'s destination is what the view shows
    /// there; asking the view (`find`, which unlike `lookup` also answers
    /// for `--hide`) keeps this right should the table ever keep covered
    /// mounts.
    fn of(view: &View, m: &Mount) -> Option<Cover> {
        let mut cover = Cover::default();
        for l in view.mounts() {
            let Some(rel) = l.dest().strip_prefix(m.dest()) else { continue };
            let shown = view.find(l.dest()).is_some_and(|(found, _)| found.id() == l.id());
            if l.id() != m.id() && !rel.is_empty() && shown {
                cover.insert(rel.split(|&b| b == b'/'));
            }
        }
        (cover.whole || !cover.below.is_empty()).then_some(cover)
    }

    fn insert<'a>(&mut self, mut names: impl Iterator<Item = &'a [u8]>) {
        if self.whole {
            return;
        }
        match names.next() {
            None => {
                self.whole = true;
                self.below.clear();
            }
            Some(name) => self.below.entry(name.to_vec()).or_default().insert(names),
        }
    }

    fn leaves(&self, at: &mut PathBuf, out: &mut Vec<PathBuf>) {
        if self.whole {
            out.push(at.clone());
        }
        for (name, below) in &self.below {
            at.push(OsStr::from_bytes(name));
            below.leaves(at, out);
            at.pop();
        }
    }
}

/// One layer's rules, being made.
struct Carve<'a> {
    view: &'a View,
    write: bool,
    out: &'a mut Vec<Grant>,
    places: &'a mut Vec<Place>,
    /// The mount's index in the view.
    index: usize,
}

impl Carve<'_> {
    /// The rules for `host`, which the view shows at `guest` and which is a
    /// `kind`, given what `cover` says other mounts cover of it.
    fn walk(&mut self, host: PathBuf, guest: GuestPath, kind: FileType, cover: Option<&Cover>) -> io::Result<()> {
        if kind.is_symlink() {
            return Ok(());
        }
        let Some(cover) = cover else {
            self.out.push(Grant { path: host, write: self.write, dir: kind.is_dir() });
            self.places.push((guest, self.index));
            return Ok(());
        };
        if cover.whole {
            return Ok(());
        }
        if !kind.is_dir() {
            // Only a mount below can cover part of a non-directory; what the
            // guest sees here then is a skeleton directory, not this file,
            // unless the mounts below only hide.
            if !self.view.is_skeleton(&guest) {
                self.out.push(Grant { path: host, write: self.write, dir: false });
                self.places.push((guest, self.index));
            }
            return Ok(());
        }
        let entries = match std::fs::read_dir(&host) {
            Ok(entries) => entries,
            Err(e) if gone(&e) || e.kind() == io::ErrorKind::PermissionDenied => return Ok(()),
            Err(e) => return Err(at(&host, e)),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(at(&host, e)),
            };
            // d_type when the filesystem gives it, else an lstat, which
            // fails for a name that went away since the listing.
            let kind = match entry.file_type() {
                Ok(kind) => kind,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(at(&entry.path(), e)),
            };
            let name = entry.file_name();
            let Some(guest) = guest.join(name.as_bytes()) else { continue };
            self.walk(entry.path(), guest, kind, cover.below.get(name.as_bytes()))?;
        }
        Ok(())
    }
}

/// Whether an error says the path is not there (any more).
fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn in_mount(m: &Mount, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{} {} (at {} in the sandbox): {e}", m.flag(), path.display(), m.dest()))
}

/// One rule per path (writable if any was), in path order, without rules
/// that one on an ancestor already implies: Landlock allows what any rule
/// on an ancestor allows, so they change nothing but the rule count.
fn tidy(grants: Vec<Grant>) -> Vec<Grant> {
    let mut by_path: BTreeMap<PathBuf, Grant> = BTreeMap::new();
    for g in grants {
        by_path.entry(g.path.clone()).and_modify(|had| had.write |= g.write).or_insert(g);
    }
    let implied =
        |g: &Grant| g.path.ancestors().skip(1).any(|a| by_path.get(a).is_some_and(|above| above.write || !g.write));
    by_path.values().filter(|g| !implied(g)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::os::unix::fs::symlink;

    use proptest::prelude::*;

    use super::super::mount::{Base, MountSpec};
    use super::*;

    /// A temporary host tree. Entries: `dir/`, `file`, `link -> target`;
    /// parents are made as needed.
    struct Tree {
        _dir: tempfile::TempDir,
        root: PathBuf,
    }

    impl Tree {
        fn new(entries: &[&str]) -> Tree {
            let dir = tempfile::tempdir().unwrap();
            let root = std::fs::canonicalize(dir.path()).unwrap();
            for e in entries {
                if let Some((link, target)) = e.split_once(" -> ") {
                    std::fs::create_dir_all(root.join(link).parent().unwrap()).unwrap();
                    symlink(target, root.join(link)).unwrap();
                } else if let Some(d) = e.strip_suffix('/') {
                    std::fs::create_dir_all(root.join(d)).unwrap();
                } else {
                    std::fs::create_dir_all(root.join(e).parent().unwrap()).unwrap();
                    std::fs::write(root.join(e), b"x").unwrap();
                }
            }
            Tree { _dir: dir, root }
        }

        fn p(&self, rel: &str) -> PathBuf {
            if rel.is_empty() {
                self.root.clone()
            } else {
                self.root.join(rel)
            }
        }

        fn ro(&self, rel: &str) -> Grant {
            Grant { path: self.p(rel), write: false, dir: true }
        }

        fn rw(&self, rel: &str) -> Grant {
            Grant { path: self.p(rel), write: true, dir: true }
        }

        fn ro_file(&self, rel: &str) -> Grant {
            Grant { path: self.p(rel), write: false, dir: false }
        }

        fn rw_file(&self, rel: &str) -> Grant {
            Grant { path: self.p(rel), write: true, dir: false }
        }
    }

    /// Private directories under `dir`, one per mount, made when asked for.
    fn private_in(dir: &Path) -> impl Fn(&Mount) -> Option<PathBuf> + '_ {
        move |m: &Mount| {
            let d = dir.join(format!("m{}", m.id().index()));
            std::fs::create_dir_all(&d).unwrap();
            Some(d)
        }
    }

    fn none(_: &Mount) -> Option<PathBuf> {
        None
    }

    fn bind(src: PathBuf, dest: &str, writable: bool) -> MountSpec {
        MountSpec::Bind { src, dest: dest.into(), writable }
    }

    fn tmpfs(dest: &str) -> MountSpec {
        MountSpec::Tmpfs { dest: dest.into(), size: None }
    }

    fn hide(path: &str) -> MountSpec {
        MountSpec::Hide { path: path.into() }
    }

    fn view(t: &Tree, specs: &[MountSpec]) -> View {
        View::build(Base::Root(t.root.clone()), specs).unwrap()
    }

    fn sorted(mut g: Vec<Grant>) -> Vec<Grant> {
        g.sort();
        g
    }

    #[test]
    fn default_view_like() {
        let t = Tree::new(&[
            "bin/sh",
            "etc/passwd",
            "etc/shadow",
            "tmp/x",
            "dev/null",
            "proc/1/",
            "usr/lib/libc.so",
            "lib -> usr/lib",
            "vmlinuz",
        ]);
        // The private /dev, as Host makes it, holds its shm.
        let b = Tree::new(&["m2/shm/"]);
        let specs = [tmpfs("/tmp"), MountSpec::Dev, MountSpec::Proc, hide("/etc/shadow")];
        let v = view(&t, &specs);
        let got = grants(&v, &private_in(&b.root)).unwrap();
        let want = sorted(vec![
            t.ro("bin"),
            t.ro_file("etc/passwd"),
            t.ro("usr"),
            t.ro_file("vmlinuz"),
            b.rw("m1"),     // /tmp
            b.ro("m2"),     // /dev: only its shm is writable
            b.rw("m2/shm"), // /dev/shm
        ]);
        assert_eq!(got, want);
        assert_eq!(covered(&v), vec![t.p("dev"), t.p("etc/shadow"), t.p("proc"), t.p("tmp")]);

        // Without private directories, the private mounts get nothing.
        let host_only: Vec<Grant> = want.into_iter().filter(|g| !g.path.starts_with(&b.root)).collect();
        assert_eq!(grants(&v, &none).unwrap(), host_only);
    }

    #[test]
    fn nothing_covered_grants_the_root() {
        let t = Tree::new(&["a/b", "c"]);
        assert_eq!(grants(&view(&t, &[]), &none).unwrap(), vec![t.ro("")]);
        assert!(covered(&view(&t, &[])).is_empty());
    }

    #[test]
    fn nested_binds() {
        let t = Tree::new(&["a/x", "a/inner/y", "b/z", "c/"]);
        let v = view(&t, &[bind(t.p("a"), "/m", true), bind(t.p("b"), "/m/inner", false)]);
        // `/` shows the whole tree read-only, except what is at /m (nothing
        // there); `/m` shows `a` writable except `a/inner`, which it covers
        // with `b`; `a/inner` is still read-only at /a/inner.
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro("a"), t.rw_file("a/x"), t.ro("b"), t.ro("c")]);
        assert_eq!(covered(&v), vec![t.p("a/inner"), t.p("m")]);
    }

    #[test]
    fn identity_binds() {
        let t = Tree::new(&["usr/bin/", "home/me/", "etc/"]);
        let v = view(&t, &[bind(t.p("usr"), "/usr", false), bind(t.p("home"), "/home", true)]);
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro("etc"), t.rw("home"), t.ro("usr")]);

        // A read-only identity bind inside a writable one stays read-only.
        let t = Tree::new(&["data/keep/k", "data/scratch/", "etc/"]);
        let v = view(&t, &[bind(t.p("data"), "/data", true), bind(t.p("data/keep"), "/data/keep", false)]);
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro("data/keep"), t.rw("data/scratch"), t.ro("etc")]);
    }

    #[test]
    fn covered_two_levels_deep() {
        let t = Tree::new(&["etc/hosts", "etc/ssl/certs/ca", "etc/ssl/private/key", "usr/"]);
        let v = view(&t, &[hide("/etc/ssl/private")]);
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro_file("etc/hosts"), t.ro("etc/ssl/certs"), t.ro("usr")]);
        assert_eq!(covered(&v), vec![t.p("etc/ssl/private")]);
    }

    #[test]
    fn covered_path_missing_on_the_host() {
        let t = Tree::new(&["etc/", "usr/"]);
        let b = Tree::new(&[]);
        // Still carved: granting the root whole would let the guest reach
        // (or, with write, make) the covered name on the host.
        let v = view(&t, &[tmpfs("/opt/cache"), hide("/nonexistent")]);
        assert_eq!(grants(&v, &private_in(&b.root)).unwrap(), sorted(vec![t.ro("etc"), t.ro("usr"), b.rw("m1")]));
    }

    #[test]
    fn symlinks_are_skipped() {
        let t = Tree::new(&[
            "usr/lib/",
            "real/f",
            "lib -> usr/lib",
            "bin -> /usr/bin",
            "dangling -> nowhere",
            "via -> real",
            "tmp/",
        ]);
        // /via is a symlink on the host; the mount at /via/x puts a
        // skeleton directory there, which must not lead to `real`.
        let v = view(&t, &[tmpfs("/tmp"), tmpfs("/via/x")]);
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro("real"), t.ro("usr")]);
    }

    #[test]
    fn writable_bind_inside_read_only_root() {
        let t = Tree::new(&["home/me/ws/src/main.rs", "home/me/notes", "home/other/", "etc/"]);
        let v = view(&t, &[bind(t.p("home/me/ws"), "/home/me/ws", true)]);
        assert_eq!(
            grants(&v, &none).unwrap(),
            vec![t.ro("etc"), t.ro_file("home/me/notes"), t.rw("home/me/ws"), t.ro("home/other")]
        );
    }

    #[test]
    fn files() {
        let t = Tree::new(&["etc/hosts.real", "etc/hosts", "f", "g", "usr/"]);
        // A bound file is a rule on a file.
        let v = View::build(Base::Empty, &[bind(t.p("etc/hosts.real"), "/etc/hosts", false)]).unwrap();
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro_file("etc/hosts.real")]);

        // A mount below a file puts a directory over it: the file is not
        // shown, so not granted. A hide below it leaves it shown.
        let v = view(&t, &[tmpfs("/f/x"), hide("/g/x")]);
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro("etc"), t.ro_file("g"), t.ro("usr")]);
        // A skeleton survives the mount that made it being hidden.
        let v = view(&t, &[tmpfs("/f/x"), hide("/f/x")]);
        assert!(v.is_skeleton(&GuestPath::new(b"/f").unwrap()));
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro("etc"), t.ro_file("g"), t.ro("usr")]);
    }

    #[test]
    fn overlays() {
        let t = Tree::new(&["src/pub", "src/secret", "up/other", "up/secret", "etc/"]);
        let spec = MountSpec::Overlay { src: t.p("src"), dest: "/src".into(), upper: Some(t.p("up")) };
        let v = view(&t, &[spec, hide("/src/secret")]);
        // The root's `src` and `up` are shown at /src and /up; the overlay
        // covers /src. The upper layer is the host's, so it is carved too.
        assert_eq!(
            grants(&v, &none).unwrap(),
            vec![t.ro("etc"), t.ro_file("src/pub"), t.ro("up"), t.rw_file("up/other")]
        );
        assert_eq!(covered(&v), vec![t.p("src"), t.p("src/secret"), t.p("up/secret")]);

        // A private upper layer is granted whole.
        let b = Tree::new(&[]);
        let spec = MountSpec::Overlay { src: t.p("src"), dest: "/o".into(), upper: None };
        let v = View::build(Base::Empty, &[spec, hide("/o/secret")]).unwrap();
        assert_eq!(grants(&v, &private_in(&b.root)).unwrap(), sorted(vec![t.ro_file("src/pub"), b.rw("m1")]));
    }

    #[test]
    fn no_rules_for_hidden_proc_and_empty() {
        let b = Tree::new(&[]);
        let v = View::build(Base::Empty, &[MountSpec::Proc, hide("/x")]).unwrap();
        assert_eq!(grants(&v, &private_in(&b.root)).unwrap(), vec![]);
    }

    #[test]
    fn one_rule_per_place() {
        let t = Tree::new(&["usr/share/doc/", "w/f", "etc/"]);
        let v = view(
            &t,
            &[bind(t.p("usr/share"), "/share", false), bind(t.p("w"), "/a", false), bind(t.p("w"), "/b", true)],
        );
        // /usr/share is under /usr's rule; `w` once, writable.
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro("etc"), t.ro("usr"), t.rw("w")]);
    }

    #[test]
    fn missing_source_is_an_error() {
        let t = Tree::new(&["etc/"]);
        let v = view(&t, &[bind(t.p("gone"), "/x", true)]);
        let e = grants(&v, &none).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        let msg = e.to_string();
        assert!(msg.contains("--bind") && msg.contains(&*t.p("gone").to_string_lossy()) && msg.contains("/x"), "{msg}");

        let v = view(&t, &[tmpfs("/tmp")]);
        let missing = |_: &Mount| Some(t.p("no/such"));
        assert_eq!(grants(&v, &missing).unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn mount_roots_are_canonical() {
        let t = Tree::new(&["real/f", "link -> real", "etc/"]);
        let v = View::build(Base::Empty, &[bind(t.p("link"), "/x", false)]).unwrap();
        assert_eq!(grants(&v, &none).unwrap(), vec![t.ro("real")]);
    }

    #[test]
    fn the_host_default_view() {
        let v = View::build(Base::HostReadOnly, &[]).unwrap();
        let got = grants(&v, &none).unwrap();
        for g in &got {
            assert!(!g.write, "{g:?}");
            assert_eq!(g.path.parent(), Some(Path::new("/")), "{g:?}");
            for replaced in ["/tmp", "/dev", "/proc"] {
                assert!(!g.path.starts_with(replaced), "{g:?}");
            }
        }
        if std::fs::symlink_metadata("/usr").is_ok_and(|m| m.is_dir()) {
            assert!(got.contains(&Grant { path: "/usr".into(), write: false, dir: true }));
        }
    }

    /// Every path of a tree, as (names, what): 0..=2 directory, 3..=4
    /// file, else a symlink to `target`.
    fn tree_entries() -> impl Strategy<Value = Vec<(Vec<u8>, u8, Vec<u8>)>> {
        let path = prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'c']), 1..=3);
        let target = prop::sample::select(vec![b"a".to_vec(), b"/b".to_vec(), b"../c".to_vec(), b"/".to_vec()]);
        prop::collection::vec((path, 0u8..7, target), 0..14)
    }

    fn guest(names: &[u8]) -> String {
        let mut s = String::new();
        for n in names {
            s.push('/');
            s.push(char::from(*n));
        }
        if s.is_empty() {
            s.push('/');
        }
        s
    }

    /// `names` as a path relative to a tree's root.
    fn rel(names: &[u8]) -> String {
        guest(names).trim_start_matches('/').to_string()
    }

    /// Makes `names` under `root`: 0..=2 a directory, 3..=4 a file, else a
    /// symlink to `target`; nothing where something is already, or under
    /// a non-directory. Never through a symlink: some point outside.
    fn make(root: &Path, names: &[u8], what: u8, target: &[u8]) {
        let Some((last, parents)) = names.split_last() else { return };
        let mut path = root.to_path_buf();
        for name in parents {
            path.push(OsStr::from_bytes(&[*name]));
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => return,
                Err(_) => std::fs::create_dir(&path).unwrap(),
            }
        }
        path.push(OsStr::from_bytes(&[*last]));
        if std::fs::symlink_metadata(&path).is_ok() {
            return;
        }
        match what {
            0..=2 => std::fs::create_dir(&path).unwrap(),
            3..=4 => std::fs::write(&path, b"x").unwrap(),
            _ => symlink(OsStr::from_bytes(target), &path).unwrap(),
        }
    }

    /// A mount spec over tree `t`: 0 hide, 1 tmpfs, 2 ro bind, 3 rw bind,
    /// 4 overlay with a private upper layer.
    fn spec_of(t: &Tree, what: u8, src: &[u8], dest: &[u8]) -> MountSpec {
        let src = t.p(&rel(src));
        let dest = guest(dest);
        match what {
            0 => hide(&dest),
            1 => tmpfs(&dest),
            2 | 3 => bind(src, &dest, what == 3),
            _ => MountSpec::Overlay { src, dest: dest.into(), upper: None },
        }
    }

    fn regular_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let kind = e.file_type().unwrap();
            if kind.is_dir() {
                regular_files(&e.path(), out);
            } else if kind.is_file() {
                out.push(e.path());
            }
        }
    }

    /// Whether the view shows host file `h` somewhere (writable, if
    /// `write`): at the path it has under some mount's host root, with
    /// that mount the one the view finds there and no directory of the
    /// mount table laid over it.
    fn shown(view: &View, h: &Path, write: bool) -> bool {
        view.mounts().iter().any(|m| {
            let (root, writable) = match m.kind() {
                MountKind::Host { root, writable } => (root, *writable),
                MountKind::Overlay { lower, .. } => (lower, false),
                _ => return false,
            };
            let Ok(rel) = h.strip_prefix(root) else { return false };
            let mut g = m.dest().clone();
            for c in rel.components() {
                g = g.join(c.as_os_str().as_bytes()).unwrap();
            }
            (writable || !write)
                && view.lookup(&g).is_ok_and(|l| l.mount.id() == m.id() && l.host_path().as_deref() == Some(h))
                && !view.is_skeleton(&g)
        })
    }

    fn reachable(grants: &[Grant], h: &Path, write: bool) -> bool {
        grants.iter().any(|g| h.starts_with(&g.path) && (g.write || !write))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Over a `--root` tree with random hides, tmpfs mounts, binds and
        /// overlays from the tree itself: a host file is reachable through
        /// the rules exactly when the view shows it, and writable exactly
        /// when the view shows it writable; and with no binds, no rule
        /// reaches anything hidden.
        #[test]
        fn rules_match_the_view(
            entries in tree_entries(),
            mounts in prop::collection::vec(
                (
                    0u8..5,
                    prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'c']), 0..=2),
                    prop::collection::vec(prop::sample::select(vec![b'a', b'b', b'c']), 0..=3),
                ),
                0..5,
            ),
        ) {
            let t = Tree::new(&[]);
            for (names, what, target) in &entries {
                make(&t.root, names, *what, target);
            }
            // The view takes sources as given; keep those that are real
            // paths (there, and not through a symlink).
            let specs: Vec<MountSpec> = mounts
                .iter()
                .filter(|(what, src, _)| {
                    let src = t.p(&rel(src));
                    *what < 2 || std::fs::canonicalize(&src).is_ok_and(|c| c == src)
                })
                .map(|(what, src, dest)| spec_of(&t, *what, src, dest))
                .collect();
            let Ok(v) = View::build(Base::Root(t.root.clone()), &specs) else { return Ok(()) };
            let b = Tree::new(&[]);
            let got = grants(&v, &private_in(&b.root)).unwrap();

            let mut files = Vec::new();
            regular_files(&t.root, &mut files);
            for h in &files {
                prop_assert_eq!(reachable(&got, h, false), shown(&v, h, false), "read {:?}\n{:?}\n{:#?}", h, specs, got);
                prop_assert_eq!(reachable(&got, h, true), shown(&v, h, true), "write {:?}\n{:?}\n{:#?}", h, specs, got);
            }
            let paths: BTreeSet<&PathBuf> = got.iter().map(|g| &g.path).collect();
            prop_assert_eq!(paths.len(), got.len());
            prop_assert!(got.windows(2).all(|w| w[0].path < w[1].path));
            for g in &got {
                prop_assert!(!std::fs::symlink_metadata(&g.path).unwrap().file_type().is_symlink());
                prop_assert_eq!(std::fs::symlink_metadata(&g.path).unwrap().is_dir(), g.dir);
            }
            if specs.iter().all(|s| matches!(s, MountSpec::Hide { .. } | MountSpec::Tmpfs { .. })) {
                for m in v.mounts().iter().filter(|m| *m.kind() == MountKind::Hidden) {
                    let hidden = t.root.join(m.dest().as_path().strip_prefix("/").unwrap());
                    // Only what is there: nothing is under a file, say.
                    if std::fs::canonicalize(&hidden).ok().as_ref() != Some(&hidden) {
                        continue;
                    }
                    for g in &got {
                        prop_assert!(
                            !hidden.starts_with(&g.path) && !g.path.starts_with(&hidden),
                            "{:?} reaches hidden {:?}", g, hidden
                        );
                    }
                }
            }
        }
    }
}
