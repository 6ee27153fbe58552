//! Attack tests for the filesystem view: each test builds a view with
//! `sandbox-run`'s mount flags, puts a *secret* host file outside it (in a
//! directory that is not bound, that `--hide` hides, or under the host's
//! /tmp, which the default view replaces) and *precious* files inside a
//! read-only part, then runs a real guest (tests/guests/vfs_attack_*.c)
//! that tries to read the secret or change a precious file.
//!
//! Every attack here works natively for the guest user: the secret is
//! readable by it and the precious files are its own. So each test fails
//! against a sandbox without a view, and passes only when the view holds.
//! Each test asserts three things: the guest ran every attack (it prints
//! one result per attack, and "done"), no attack got the secret (the
//! secret's unique token appears nowhere in the output; reads print what
//! they got), and the host files are byte-for-byte and inode-for-inode as
//! before (snapshots of content, mode, owner, link count, times).
//!
//! Expected results are exact where the spec defines them (EROFS under a
//! read-only mount, ENOENT for a hidden path, EPERM for open_by_handle_at
//! and chroot); elsewhere any errno will do, but never success.
#![cfg(target_arch = "x86_64")]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::ffi::CString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;

/// The operation-interpreter guest (most attacks).
const FS: &str = "vfs_attack_fs";

// ---- host-side fixtures ----------------------------------------------------------

/// A name no other test (or run) uses.
fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Where a secret's directory lives.
enum Holder {
    /// Under the test directory (/var/tmp): visible in the default view
    /// unless hidden or left out by `--root`/`--empty`.
    Scratch(Scratch),
    /// Under the host's /tmp, which the default view replaces.
    HostTmp { _keep: tempfile::TempDir },
}

/// A host file the guest must never read: `DIR/secret`, holding a unique
/// token, owned by the guest user (so natively the guest reads it).
struct Secret {
    holder: Holder,
    dir: PathBuf,
    path: PathBuf,
    token: String,
}

impl Secret {
    /// A secret in a fresh scratch directory under the test directory.
    fn new() -> Secret {
        let sc = Scratch::new();
        let dir = sc.path().to_path_buf();
        Secret::fill(Holder::Scratch(sc), dir)
    }

    /// A secret in a fresh directory under the host's /tmp.
    fn in_host_tmp() -> Secret {
        let d = tempfile::Builder::new().prefix("condo-secret-").tempdir_in("/tmp").expect("tempdir in /tmp");
        set_mode(d.path(), 0o755);
        give_to_guest(d.path());
        let dir = d.path().to_path_buf();
        Secret::fill(Holder::HostTmp { _keep: d }, dir)
    }

    fn fill(holder: Holder, dir: PathBuf) -> Secret {
        let token = unique("CONDO-SECRET");
        let path = dir.join("secret");
        std::fs::write(&path, &token).expect("writing the secret");
        give_to_guest(&path);
        Secret { holder, dir, path, token }
    }

    /// The scratch directory holding it (for a `--hide`n secret).
    fn scratch(&self) -> &Scratch {
        match &self.holder {
            Holder::Scratch(sc) => sc,
            Holder::HostTmp { .. } => panic!("this secret lives in /tmp"),
        }
    }

    /// Its path without the leading '/', to append to a chain of `..`.
    fn rel(&self) -> String {
        s(&self.path).trim_start_matches('/').to_string()
    }

    /// Its path relative to any sibling directory of its own (another
    /// scratch directory under the same parent): `../NAME/secret`.
    fn rel_from_sibling(&self) -> String {
        format!("../{}/secret", self.dir_name())
    }

    fn dir_name(&self) -> String {
        self.dir.file_name().expect("name").to_string_lossy().into_owned()
    }

    /// A copy of the operation guest at `DIR/prog` (natively executable
    /// by the guest user).
    fn add_program(&self) -> PathBuf {
        let p = self.dir.join("prog");
        std::fs::copy(guest(FS), &p).expect("copying the guest");
        set_mode(&p, 0o755);
        give_to_guest(&p);
        p
    }
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A tree of precious files the guest owns but sees read-only:
/// `precious` (with a user.keep xattr), `lnk -> precious`, `sub/` (empty)
/// and `sub2/file`.
fn make_precious_tree(dir: &Path) -> String {
    let token = unique("PRECIOUS");
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
    std::fs::create_dir_all(dir.join("sub2")).expect("mkdir");
    std::fs::write(dir.join("precious"), &token).expect("write");
    std::fs::write(dir.join("sub2/file"), "FILE").expect("write");
    std::os::unix::fs::symlink("precious", dir.join("lnk")).expect("symlink");
    let p = CString::new(dir.join("precious").as_os_str().as_bytes()).expect("path");
    // SAFETY: valid NUL-terminated strings and a 1-byte value.
    let r = unsafe { libc::setxattr(p.as_ptr(), c"user.keep".as_ptr(), b"1".as_ptr().cast(), 1, 0) };
    assert_eq!(r, 0, "setxattr user.keep: {}", std::io::Error::last_os_error());
    give_tree_to_guest(dir);
    token
}

/// One file's identity and state: anything a write, chmod, chown, touch,
/// link, rename or xattr change would alter (ctime covers xattrs).
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    path: PathBuf,
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    data: Data,
}

/// File contents or a symlink's target; printed short.
#[derive(PartialEq, Eq)]
struct Data(Vec<u8>);

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = String::from_utf8_lossy(&self.0[..self.0.len().min(48)]).into_owned();
        write!(f, "{} bytes {shown:?}{}", self.0.len(), if self.0.len() > 48 { "..." } else { "" })
    }
}

/// Every entry under `root` (itself included), not following symlinks.
fn snapshot(root: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("stat {}: {e}", p.display()));
        let data = if m.file_type().is_symlink() {
            std::fs::read_link(&p).expect("readlink").into_os_string().into_vec()
        } else if m.is_file() {
            std::fs::read(&p).expect("read")
        } else {
            let mut names: Vec<PathBuf> =
                std::fs::read_dir(&p).expect("read_dir").map(|e| e.expect("entry").path()).collect();
            names.sort();
            todo.extend(names);
            Vec::new()
        };
        out.push(Entry {
            path: p,
            ino: m.ino(),
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            nlink: m.nlink(),
            size: m.size(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            data: Data(data),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// What changed between two snapshots of the same tree.
fn changes(before: &[Entry], after: &[Entry]) -> Vec<String> {
    let b: HashMap<&Path, &Entry> = before.iter().map(|e| (e.path.as_path(), e)).collect();
    let a: HashMap<&Path, &Entry> = after.iter().map(|e| (e.path.as_path(), e)).collect();
    let mut out = Vec::new();
    for (p, e) in &b {
        match a.get(p) {
            None => out.push(format!("{} disappeared", p.display())),
            Some(x) if x != e => out.push(format!("{} changed: {e:?} -> {x:?}", p.display())),
            _ => {}
        }
    }
    for p in a.keys().filter(|p| !b.contains_key(*p)) {
        out.push(format!("{} appeared", p.display()));
    }
    out.sort();
    out
}

/// The (device, inode) of every file under `root`.
fn inodes(root: &Path) -> HashMap<(u64, u64), PathBuf> {
    snapshot(root)
        .into_iter()
        .map(|e| {
            let dev = std::fs::symlink_metadata(&e.path).map(|m| m.dev()).unwrap_or(0);
            ((dev, e.ino), e.path)
        })
        .collect()
}

/// Paths under `dir` that are hard links to `file`.
fn links_to(dir: &Path, file: &Path) -> Vec<PathBuf> {
    let m = std::fs::metadata(file).expect("stat");
    inodes(dir).into_iter().filter(|(k, p)| *k == (m.dev(), m.ino()) && p != file).map(|(_, p)| p).collect()
}

/// The directory the guests are built in, which a `--root`/`--empty`
/// view must bind so the guest can be executed.
fn guest_dir() -> PathBuf {
    guest(FS).parent().expect("guest dir").to_path_buf()
}

/// A path argument as a string.
fn p(x: impl AsRef<Path>) -> String {
    s(x.as_ref()).to_string()
}

/// `n` times "../".
fn ups(n: usize) -> String {
    "../".repeat(n)
}

// ---- running guests in a view ------------------------------------------------------

/// `sandbox-run VIEW... -- GUEST ARGS...` as the guest user, started in
/// the host directory `cwd` (the default view keeps the working
/// directory; `--root` views name theirs with `--chdir`).
fn view_cmd(home: &Scratch, cwd: &Path, view: &[String], guest_name: &str, args: &[String]) -> Command {
    let g = guest(guest_name);
    let mut all = view.to_vec();
    all.push("--".into());
    all.push(p(&g));
    all.extend(args.iter().cloned());
    let mut c = sandbox_raw(home, &all);
    c.current_dir(cwd);
    c
}

fn run_view(home: &Scratch, cwd: &Path, view: &[String], guest_name: &str, args: &[String]) -> Out {
    run(&mut view_cmd(home, cwd, view, guest_name, args))
}

/// Strings from mixed `&str`, `String` and paths.
macro_rules! strs {
    ($($x:expr),* $(,)?) => { [$(p(&$x)),*] };
}

/// The operations for vfs_attack_fs and what each must answer.
#[derive(Default)]
struct Ops {
    args: Vec<String>,
    want: Vec<(String, String)>,
}

impl Ops {
    fn new() -> Ops {
        Ops::default()
    }

    fn expect(&mut self, label: &str, want: &str) {
        assert!(!self.want.iter().any(|(l, _)| l == label), "duplicate label {label}");
        self.want.push((label.to_string(), want.to_string()));
    }

    fn op(&mut self, want: &str, name: &str, label: &str, rest: &[String]) -> &mut Ops {
        self.args.push(name.to_string());
        self.args.push(label.to_string());
        self.args.extend(rest.iter().cloned());
        self.expect(label, want);
        self
    }

    /// openat(DIR, PATH) and read ("-": the cwd; "@D": an O_PATH dirfd).
    fn read(&mut self, want: &str, label: &str, dir: impl AsRef<Path>, path: impl AsRef<Path>) -> &mut Ops {
        self.op(want, "read", label, &strs![dir, path])
    }

    /// The read through open, openat and openat2 (LABEL/open, ...).
    fn readvia(&mut self, want: &str, label: &str, path: impl AsRef<Path>) -> &mut Ops {
        self.args.extend(strs!["readvia", label, path]);
        for via in ["open", "openat", "openat2"] {
            self.expect(&format!("{label}/{via}"), want);
        }
        self
    }

    /// open("/proc/self/fd/<fd of DIR>/REL") and read.
    fn procfd(&mut self, want: &str, label: &str, dir: impl AsRef<Path>, rel: &str) -> &mut Ops {
        self.op(want, "procfd", label, &strs![dir, rel])
    }

    /// Open for writing (trunc, append, rdwr, creat, excl) and write.
    fn write(&mut self, want: &str, label: &str, path: impl AsRef<Path>, mode: &str) -> &mut Ops {
        self.op(want, "write", label, &strs![path, mode])
    }

    /// open(PATH, O_PATH or O_RDONLY), then reopen /proc/self/fd/N or
    /// /dev/fd/N for writing.
    fn reopen(
        &mut self,
        want: &str,
        label: &str,
        path: impl AsRef<Path>,
        how: &str,
        via: &str,
        mode: &str,
    ) -> &mut Ops {
        self.op(want, "reopen", label, &strs![path, how, via, mode])
    }

    /// One single-path call (see op_call in the guest).
    fn call(&mut self, want: &str, label: &str, call: &str, path: impl AsRef<Path>) -> &mut Ops {
        self.op(want, "call", label, &strs![call, path])
    }

    /// rename, exchange, link, linkf, linkfd, linkempty, symlink.
    fn two(&mut self, want: &str, op: &str, label: &str, a: impl AsRef<Path>, b: impl AsRef<Path>) -> &mut Ops {
        self.op(want, op, label, &strs![a, b])
    }

    fn getdents(&mut self, want: &str, label: &str, dir: impl AsRef<Path>, name: &str) -> &mut Ops {
        self.op(want, "getdents", label, &strs![dir, name])
    }

    fn updir(&mut self, want: &str, label: &str, n: usize) -> &mut Ops {
        self.op(want, "updir", label, &[n.to_string()])
    }

    fn connect(&mut self, want: &str, label: &str, path: impl AsRef<Path>) -> &mut Ops {
        self.op(want, "connect", label, &strs![path])
    }

    fn handle(&mut self, want: &str, label: &str, mount_dir: impl AsRef<Path>, handle: &str) -> &mut Ops {
        self.op(want, "handle", label, &strs![mount_dir, handle])
    }

    /// name_to_handle_at then open_by_handle_at on PATH.
    fn selfhandle(&mut self, want_n2h: &str, want_open: &str, label: &str, path: impl AsRef<Path>) -> &mut Ops {
        self.args.extend(strs!["selfhandle", label, path]);
        self.expect(&format!("{label}/name_to_handle_at"), want_n2h);
        self.expect(&format!("{label}/open_by_handle_at"), want_open);
        self
    }

    fn exec(&mut self, want: &str, label: &str, path: impl AsRef<Path>) -> &mut Ops {
        self.op(want, "exec", label, &strs![path])
    }
}

/// The guest's "LABEL RESULT" lines (the result is the last word).
fn results(out: &Out) -> HashMap<String, String> {
    out.out().lines().filter_map(|l| l.rsplit_once(' ')).map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Whether `got` is an errno name.
fn is_errno(got: &str) -> bool {
    got.len() > 1 && got.starts_with('E') && got.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `want` is alternatives separated by '|'; "E*" is any errno.
fn matches(got: &str, want: &str) -> bool {
    want.split('|').any(|w| w == got || (w == "E*" && is_errno(got)))
}

/// Any error: the attack must fail, how is not specified.
const FAIL: &str = "E*";

/// What is wrong with a run of vfs_attack_fs: a non-zero exit, a missing
/// "done", an operation whose result is missing (it was not tried) or not
/// the expected one, a secret token anywhere in the output.
fn problems(out: &Out, ops: &Ops, secrets: &[&str]) -> Vec<String> {
    let got = results(out);
    let mut wrong = Vec::new();
    if out.status.code() != Some(0) {
        wrong.push(format!("sandbox-run exited with {:?}, expected 0", out.status));
    }
    if !out.out().lines().any(|l| l == "done") {
        wrong.push("the guest did not finish (no \"done\")".to_string());
    }
    for (label, want) in &ops.want {
        match got.get(label) {
            None => wrong.push(format!("{label}: not tried (no result printed)")),
            Some(r) if !matches(r, want) => wrong.push(format!("{label}: got {r}, expected {want}")),
            Some(_) => {}
        }
    }
    if out.out().contains("hidden program ran") {
        wrong.push("the guest executed a program outside its view".to_string());
    }
    for t in secrets {
        if out.out().contains(t) || out.err().contains(t) {
            wrong.push(format!("the guest got the secret {t}"));
        }
    }
    wrong
}

#[track_caller]
fn verdict(what: &str, wrong: Vec<String>, out: &Out) {
    assert!(wrong.is_empty(), "{what}: the view did not hold:\n  {}\n{out:?}", wrong.join("\n  "));
}

/// Runs `ops` in the view and checks them (and that no secret leaked).
#[track_caller]
fn attack(home: &Scratch, cwd: &Path, view: &[String], ops: &Ops, secrets: &[&str]) -> Out {
    let out = run_view(home, cwd, view, FS, &ops.args);
    verdict("attack", problems(&out, ops, secrets), &out);
    out
}

// ---- 1. `..` chains ------------------------------------------------------------------

#[test]
fn vfs_attack_dotdot_out_of_root() {
    // `--root R` with R inside the secret's directory: `..` from the view's
    // root (the cwd, a dirfd, an O_PATH dirfd, a bound directory) must stay
    // at the root, however many there are.
    let secret = Secret::new();
    let sc = secret.scratch();
    sc.write("root/a/b/c/inside", "INSIDE");
    let root = sc.join("root");
    let gd = guest_dir();
    let cwd = root.join("a/b/c");
    let view = strs!["--root", root, "--ro-bind", gd, gd, "--chdir", "/a/b/c"];
    let dd = ups(40);
    let mut o = Ops::new();
    o.read("ok:INSIDE", "control: the cwd is /a/b/c", "-", "inside")
        .read("ok:INSIDE", "control: the root is R", "-", "/a/b/c/inside")
        .read("ok:INSIDE", "control: openat(dirfd .)", ".", "inside")
        .read("ok:INSIDE", "control: openat(O_PATH dirfd .)", "@.", "inside")
        .read(FAIL, "cwd ../../../../secret (R's sibling)", "-", "../../../../secret")
        .read(FAIL, "cwd ../x40 + secret", "-", format!("{dd}{}", secret.rel()))
        .read(FAIL, "dirfd . ../../../../secret", ".", "../../../../secret")
        .read(FAIL, "dirfd . ../x40 + secret", ".", format!("{dd}{}", secret.rel()))
        .read(FAIL, "O_PATH dirfd . ../x40 + secret", "@.", format!("{dd}{}", secret.rel()))
        .read(FAIL, "dirfd .. ../x40 + secret", "..", format!("{dd}{}", secret.rel()))
        .read(FAIL, "dirfd of a bound dir ../x40 + secret", &gd, format!("{dd}{}", secret.rel()))
        .read(FAIL, "dirfd of a bound dir ../<secret dir>/secret", &gd, secret.rel_from_sibling())
        .readvia(FAIL, "absolute secret path", &secret.path)
        .updir("ok", "chdir(\"..\") x40", 40)
        .getdents("listed", "control: chdir .. stopped at the root", ".", "a")
        .read(FAIL, "after chdir .. x40: relative secret path", "-", secret.rel())
        .read(FAIL, "after chdir .. x40: R/../secret", "-", format!("{}/../secret", p(&root).trim_start_matches('/')));
    let before = snapshot(&secret.dir);
    attack(sc, &cwd, &view, &o, &[&secret.token]);
    assert_eq!(changes(&before, &snapshot(&secret.dir)), Vec::<String>::new());
}

/// Reads beneath a directory fd the guest holds run natively, confined by
/// Landlock (docs/ARCHITECTURE.md, "the fast path's trade"): a hidden or
/// outside path is refused as Landlock refuses it, `EACCES`, where the
/// supervisor would say `ENOENT`. Either way nothing is read.
const BENEATH_DIRFD: &str = "ENOENT|EACCES";

#[test]
fn vfs_attack_dotdot_out_of_bind() {
    // A writable `--bind` of DIR/ws whose parent DIR (holding the secret)
    // is hidden: in the default view (DIR becomes a skeleton directory
    // with ws as its only name) and under `--root` (ws at /ws). `..` from
    // the bind reaches the bind's parent *in the view*, never DIR.
    let secret = Secret::new();
    let sc = secret.scratch();
    sc.write("ws/mine", "MINE");
    secret.add_program();
    let ws = sc.join("ws");
    let dd = ups(40);

    let view = strs!["--hide", secret.dir, "--bind", ws, ws];
    let mut o = Ops::new();
    o.write("ok", "control: the bind is writable", ws.join("new"), "creat")
        .read("ok:MINE", "control: cwd is the bind", "-", "mine")
        .read("ok:MINE", "control: openat(dirfd ws)", &ws, "mine")
        .read("ok:MINE", "control: openat(O_PATH dirfd ws)", format!("@{}", p(&ws)), "mine")
        .read("ENOENT", "cwd ../secret", "-", "../secret")
        .read(BENEATH_DIRFD, "dirfd ws ../secret", &ws, "../secret")
        .read(BENEATH_DIRFD, "O_PATH dirfd ws ../secret", format!("@{}", p(&ws)), "../secret")
        .read(BENEATH_DIRFD, "dirfd ws ../../<dir>/secret", &ws, format!("../{}", secret.rel_from_sibling()))
        .read(BENEATH_DIRFD, "dirfd ws ../x40 + secret", &ws, format!("{dd}{}", secret.rel()))
        .read(BENEATH_DIRFD, "dirfd ws/. ./../secret", ws.join("."), "./../secret")
        .call("ENOENT", "stat ../secret", "stat", "../secret")
        .call("ENOENT", "access ../secret", "access", "../secret")
        .exec("ENOENT", "exec ../prog", "../prog");
    let before = snapshot(&secret.dir);
    attack(sc, &ws, &view, &o, &[&secret.token]);
    let after: Vec<String> =
        changes(&before, &snapshot(&secret.dir)).into_iter().filter(|c| !c.contains("/ws")).collect();
    assert_eq!(after, Vec::<String>::new(), "the hidden parent changed");

    // The same bind at /ws under `--root R`: `..` from /ws is R.
    let r = Scratch::new();
    r.write("inside", "INSIDE");
    let gd = guest_dir();
    let view = strs!["--root", r.path(), "--bind", ws, "/ws", "--ro-bind", gd, gd, "--chdir", "/ws"];
    let mut o = Ops::new();
    o.read("ok:MINE", "control: cwd is /ws", "-", "mine")
        .read(FAIL, "cwd ../secret", "-", "../secret")
        .read(FAIL, "dirfd . ../secret", ".", "../secret")
        .read(FAIL, "O_PATH dirfd . ../secret", "@.", "../secret")
        .read(FAIL, "cwd ../../<dir>/secret", "-", format!("../{}", secret.rel_from_sibling()))
        .read(FAIL, "cwd ../x40 + secret", "-", format!("{dd}{}", secret.rel()))
        .exec(FAIL, "exec ../prog", "../prog")
        .updir("ok", "chdir(\"..\") x5", 5)
        .read(FAIL, "after chdir .. x5: relative secret path", "-", secret.rel());
    attack(sc, &ws, &view, &o, &[&secret.token]);
}

#[test]
fn vfs_attack_dotdot_into_a_skeleton_parent() {
    // As above: `..` from the bind reaches the bind's parent *in the
    // view*, a directory holding only `ws`, and climbing further stops at /.
    let secret = Secret::new();
    let sc = secret.scratch();
    sc.write("ws/mine", "MINE");
    let ws = sc.join("ws");
    let view = strs!["--hide", secret.dir, "--bind", ws, ws];
    let mut o = Ops::new();
    o.getdents("absent", "the hidden parent lists secret", &secret.dir, "secret")
        .updir("ok", "chdir(\"..\") into the hidden parent", 1)
        .read("ENOENT", "after chdir ..: secret", "-", "secret")
        .read("ENOENT", "after chdir ..: ws/../secret", "-", "ws/../secret")
        .updir("ok", "chdir(\"..\") x40", 40)
        .read("ENOENT", "after chdir .. x40: relative secret path", "-", secret.rel());
    attack(sc, &ws, &view, &o, &[&secret.token]);
}

// ---- 2. symlinks ---------------------------------------------------------------------

#[test]
fn vfs_attack_symlinks_out_of_writable_bind() {
    // Symlinks in a writable bind pointing at a hidden secret, at a secret
    // in the host's /tmp, through /proc, and at a read-only precious file;
    // made by the host before the run and by the guest during it, opened
    // by path (relative and absolute) and by openat from dirfds.
    let ws = Scratch::new();
    let hidden = Secret::new();
    let tmp = Secret::in_host_tmp();
    let pre = Scratch::new();
    let pre_token = make_precious_tree(pre.path());
    ws.write("mine", "MINE");
    let w = ws.path();
    let link = |name: &str, target: &str| {
        std::os::unix::fs::symlink(target, w.join(name)).expect("symlink");
        give_to_guest(&w.join(name));
    };
    link("h-abs", &p(&hidden.path));
    link("h-rel", &hidden.rel_from_sibling());
    link("h-dir", &p(&hidden.dir));
    link("h-tmp", &p(&tmp.path));
    link("h-proc", &format!("/proc/self/root{}", p(&hidden.path)));
    let view = strs!["--hide", hidden.dir, "--bind", w, w];
    let mut o = Ops::new();
    o.read("ok:MINE", "control: openat(dirfd)", w, "mine")
        .read("ok:MINE", "control: openat(O_PATH dirfd)", format!("@{}", p(w)), "mine")
        .two("ok", "symlink", "make g-abs", &hidden.path, w.join("g-abs"))
        .two("ok", "symlink", "make g-rel", hidden.rel_from_sibling(), w.join("g-rel"))
        .two("ok", "symlink", "make g-dotdot", format!("{}{}", ups(40), hidden.rel()), w.join("g-dotdot"))
        .two("ok", "symlink", "make g-dir", &hidden.dir, w.join("g-dir"))
        .two("ok", "symlink", "make g-tmp", &tmp.path, w.join("g-tmp"))
        .two("ok", "symlink", "make g-chain2", &hidden.path, w.join("g-chain2"))
        .two("ok", "symlink", "make g-chain1", "g-chain2", w.join("g-chain1"))
        .two("ok", "symlink", "make g-precious", pre.join("precious"), w.join("g-precious"))
        .two("ok", "symlink", "make g-new", hidden.dir.join("created"), w.join("g-new"));
    for name in ["h-abs", "h-rel", "g-abs", "g-rel", "g-dotdot", "g-chain1", "h-tmp", "g-tmp"] {
        o.read("ENOENT", &format!("{name} by relative path"), "-", name)
            .read("ENOENT", &format!("{name} by absolute path"), "-", w.join(name))
            .read(BENEATH_DIRFD, &format!("{name} by openat(dirfd)"), w, name)
            .read(BENEATH_DIRFD, &format!("{name} by openat(O_PATH dirfd)"), format!("@{}", p(w)), name);
    }
    o.read("ENOENT", "h-dir/secret", "-", "h-dir/secret")
        .read(BENEATH_DIRFD, "g-dir/secret by openat(dirfd)", w, "g-dir/secret")
        .read(FAIL, "h-proc", "-", "h-proc")
        .readvia("ENOENT", "g-abs via every open", w.join("g-abs"))
        .write("ENOENT|EACCES", "create through g-new", w.join("g-new"), "creat")
        .write("EROFS", "write through g-precious", w.join("g-precious"), "trunc")
        .write("EROFS", "write through g-precious (O_APPEND)", "g-precious", "append");
    let before = [snapshot(&hidden.dir), snapshot(&tmp.dir), snapshot(pre.path())];
    attack(&ws, w, &view, &o, &[&hidden.token, &tmp.token, &pre_token]);
    assert_eq!(changes(&before[0], &snapshot(&hidden.dir)), Vec::<String>::new(), "the hidden directory changed");
    assert_eq!(changes(&before[1], &snapshot(&tmp.dir)), Vec::<String>::new(), "the /tmp secret changed");
    assert_eq!(changes(&before[2], &snapshot(pre.path())), Vec::<String>::new(), "a read-only file changed");
}

// ---- 3. a symlink swapped during resolution ---------------------------------------------

/// The counts a race guest prints ("tries N benign B ... flips F").
fn race_counts(out: &Out) -> HashMap<String, i64> {
    let text = out.out();
    let line = text.lines().find(|l| l.starts_with("tries ")).unwrap_or_default();
    let words: Vec<&str> = line.split(' ').collect();
    words.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0].to_string(), c[1].parse().unwrap_or(-1))).collect()
}

/// The guest made all its tries while the second thread kept flipping: on
/// a loaded machine that thread could otherwise sleep through the whole
/// loop, and a race nobody raced proves nothing.
#[track_caller]
fn assert_race_ran(c: &HashMap<String, i64>, tries: i64, what: &str, out: &Out) {
    assert_eq!(c.get("tries"), Some(&tries), "{what}: the race did not run\n{out:?}");
    assert!(c.get("flips").is_some_and(|&f| f >= 100), "{what}: the second thread hardly ran\n{out:?}");
}

/// [`assert_race_ran`] for a race whose allowed side makes a change: it
/// worked at least once, so the refusals counted are not all there was.
#[track_caller]
fn assert_changing_race_ran(c: &HashMap<String, i64>, tries: i64, what: &str, out: &Out) {
    assert_race_ran(c, tries, what, out);
    assert!(c.get("done").is_some_and(|&d| d > 0), "{what}: the allowed change never worked\n{out:?}");
}

#[test]
fn vfs_attack_symlink_swapped_during_resolution() {
    // A second thread flips ws/link (rename of a fresh symlink, atomic)
    // between a benign file and the hidden secret while the first opens
    // ws/link thousands of times; the same with a directory symlink whose
    // two targets both hold a file named "secret". A supervisor that
    // checks the link and then lets the kernel resolve it again loses the
    // race now and then.
    let ws = Scratch::new();
    let secret = Secret::new();
    ws.write("benign", "BENIGN");
    ws.write("bdir/secret", "BENIGN");
    let w = ws.path();
    let view = strs!["--hide", secret.dir, "--bind", w, w];
    let rel_evil = secret.rel_from_sibling();
    let runs: [(&str, Vec<String>); 3] = [
        ("absolute target", strs!["swap-link", w, w.join("benign"), secret.path, "3000"].to_vec()),
        ("relative target", strs!["swap-link", w, w.join("benign"), rel_evil, "3000"].to_vec()),
        ("directory", strs!["swap-dir", w, w.join("bdir"), secret.dir, "secret", "3000"].to_vec()),
    ];
    for (what, args) in runs {
        let out = run_view(&ws, w, &view, "vfs_attack_race", &args);
        let c = race_counts(&out);
        assert_eq!(out.code(), 0, "{what}\n{out:?}");
        assert!(
            !out.out().contains(&secret.token) && c.get("other") == Some(&0),
            "{what}: the guest read something else than the benign file through the swapped link\n{out:?}"
        );
        assert_race_ran(&c, 3000, what, &out);
        assert!(c.get("benign").is_some_and(|&b| b > 0), "{what}: the link never worked at all\n{out:?}");
    }
}

// ---- 4. /proc magic links ------------------------------------------------------------------

#[test]
fn vfs_attack_proc_root_and_cwd_links() {
    // /proc/<pid>/root, /proc/<pid>/cwd and /proc/self/fd/<dirfd> are magic
    // links: the kernel follows them to the *host* directory, and `..`
    // from there is the host's parent. For the guest itself, its threads,
    // its supervisor (the parent), init, and a host process of the same
    // user sitting in the secret's directory.
    let secret = Secret::new();
    let tmp = Secret::in_host_tmp();
    let sc = secret.scratch();
    sc.write("ws/mine", "MINE");
    let ws = sc.join("ws");
    let home = Scratch::new();
    let neighbour = start(as_guest_user(&secret.dir, "sleep").arg("30"));
    let np = neighbour.pid();
    let dd = ups(40);
    let sp = p(&secret.path);

    let view = strs!["--hide", secret.dir, "--bind", ws, ws];
    let mut o = Ops::new();
    o.read("ok:MINE", "control: cwd is the bind", "-", "mine");
    for pid in ["self", "thread-self", "%PID%", "%PID%/task/%TID%", "%PPID%", "1", &np.to_string()] {
        o.read(FAIL, &format!("/proc/{pid}/root + secret"), "-", format!("/proc/{pid}/root{sp}"))
            .read(FAIL, &format!("/proc/{pid}/cwd/../secret"), "-", format!("/proc/{pid}/cwd/../secret"))
            .read(
                FAIL,
                &format!("/proc/{pid}/cwd/../x40 + secret"),
                "-",
                format!("/proc/{pid}/cwd/{dd}{}", secret.rel()),
            );
    }
    o.read(FAIL, "the neighbour's /proc/<pid>/cwd/secret", "-", format!("/proc/{np}/cwd/secret"));
    o.read(FAIL, "/proc/self/root + host /tmp secret", "-", format!("/proc/self/root{}", p(&tmp.path)))
        .readvia(FAIL, "/proc/self/root + secret via every open", format!("/proc/self/root{sp}"))
        .procfd(FAIL, "/proc/self/fd/<ws>/../secret", &ws, "../secret")
        .procfd(FAIL, "/proc/self/fd/<ws>/../x40 + secret", &ws, &format!("{dd}{}", secret.rel()))
        .procfd(
            FAIL,
            "/proc/self/fd/<hidden dir's parent>/<dir>/secret",
            secret.dir.parent().expect("parent"),
            &format!("{}/secret", secret.dir_name()),
        );
    attack(&home, &ws, &view, &o, &[&secret.token, &tmp.token]);

    // Under `--root R` the guest's working directory is the host's ws
    // (whose parent holds the secret) seen as /ws.
    let r = Scratch::new();
    let gd = guest_dir();
    let view = strs!["--root", r.path(), "--proc", "--bind", ws, "/ws", "--ro-bind", gd, gd, "--chdir", "/ws"];
    let mut o = Ops::new();
    o.read("ok:MINE", "control: cwd is /ws", "-", "mine");
    for pid in ["self", "%PID%", "%PPID%", &np.to_string()] {
        o.read(FAIL, &format!("/proc/{pid}/root + secret"), "-", format!("/proc/{pid}/root{sp}"))
            .read(FAIL, &format!("/proc/{pid}/cwd/../secret"), "-", format!("/proc/{pid}/cwd/../secret"))
            .read(
                FAIL,
                &format!("/proc/{pid}/cwd/../x40 + secret"),
                "-",
                format!("/proc/{pid}/cwd/{dd}{}", secret.rel()),
            );
    }
    o.procfd(FAIL, "/proc/self/fd/<.>/../secret", ".", "../secret").procfd(
        FAIL,
        "/proc/self/fd/<.>/../x40 + secret",
        ".",
        &format!("{dd}{}", secret.rel()),
    );
    attack(&home, &ws, &view, &o, &[&secret.token]);
    drop(neighbour);
}

// ---- 5. reopening through /proc/self/fd --------------------------------------------------------

#[test]
fn vfs_attack_reopen_read_only_file_for_writing() {
    // An O_PATH or O_RDONLY fd of a file in a read-only part is legitimate;
    // reopening it through /proc/self/fd/N or /dev/fd/N for writing must not
    // be. Read-only parts: the default view's host `/`, and a `--ro-bind`
    // nested inside a writable bind.
    let ws = Scratch::new();
    let pre = Scratch::new();
    let t1 = make_precious_tree(pre.path());
    std::fs::create_dir(ws.join("ro")).expect("mkdir");
    let t2 = make_precious_tree(&ws.join("ro"));
    let w = ws.path();
    let view = strs!["--bind", w, w, "--ro-bind", ws.join("ro"), ws.join("ro")];
    let mut o = Ops::new();
    for (name, file) in [("host /", pre.join("precious")), ("nested --ro-bind", ws.join("ro/precious"))] {
        for how in ["path", "ro"] {
            for via in ["proc", "dev"] {
                for mode in ["rdwr", "trunc", "append"] {
                    o.reopen(FAIL, &format!("{name}: {how} fd reopened via {via} for {mode}"), &file, how, via, mode);
                }
            }
        }
    }
    let before = [snapshot(pre.path()), snapshot(&ws.join("ro"))];
    attack(&ws, w, &view, &o, &[]);
    assert_eq!(changes(&before[0], &snapshot(pre.path())), Vec::<String>::new(), "{t1} changed");
    assert_eq!(changes(&before[1], &snapshot(&ws.join("ro"))), Vec::<String>::new(), "{t2} changed");
}

/// The middle of a Python guest that holds `fd`: it says `opened`, then
/// waits (up to 10 s) for the host to remove the file.
const PY_AWAIT_REMOVAL: &str = "print('opened', flush=True)
for i in range(1000):
    if os.stat(fd).st_nlink == 0:
        break
    time.sleep(0.01)
";

/// Runs `cmd`, a guest built on [`PY_AWAIT_REMOVAL`], has `remove` take
/// the file away once the guest holds it, and returns what the guest
/// did (it must exit 0).
fn while_removed(cmd: &mut Command, remove: impl FnOnce()) -> Out {
    let mut guest = start(cmd);
    assert_eq!(guest.read_line(), "opened");
    remove();
    let out = guest.wait();
    out.assert_code(0);
    out
}

/// A file removed from a read-only part while the guest holds it open
/// for reading can be reopened through its fd's link (the kernel allows
/// that), but only for reading: it was read-only in the view. So is an
/// overlay's source file: the lower layer never changes.
#[test]
fn vfs_attack_reopen_removed_read_only_file_for_writing() {
    for overlay in [false, true] {
        let ws = Scratch::new();
        let file = ws.write("ro/precious", "precious\n");
        let w = ws.path();
        let (view, seen) = if overlay {
            (strs!["--bind", w, w, "--overlay", ws.join("ro"), "/ov"], "/ov/precious".to_string())
        } else {
            (strs!["--bind", w, w, "--ro-bind", ws.join("ro"), ws.join("ro")], p(&file))
        };
        let script = "import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
"
        .to_owned()
            + PY_AWAIT_REMOVAL
            + "for via in ('/proc/self/fd/%d', '/dev/fd/%d'):
    for how in (os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_WRONLY | os.O_APPEND):
        try:
            os.write(os.open(via % fd, how), b'changed')
            print('written')
        except OSError as e:
            print(e.strerror)
    print(os.read(os.open(via % fd, os.O_RDONLY), 100))
";
        let mut cmd = as_guest_user(w, sandbox_run());
        cmd.args(&view).args(["--", "python3", "-c", &script]).arg(&seen);
        // Kept open here too, to read what the guest may have done to it.
        let mut held = std::fs::File::open(&file).expect("open");
        let out = while_removed(&mut cmd, || std::fs::remove_file(&file).expect("rm"));
        let ro = "Read-only file system\n".repeat(3) + "b'precious\\n'\n";
        assert_eq!(out.out(), ro.repeat(2), "overlay {overlay}: {out:?}");
        let mut now = String::new();
        std::io::Read::read_to_string(&mut held, &mut now).expect("read");
        assert_eq!(now, "precious\n", "overlay {overlay}");
    }
}

/// `.` of a removed directory fd is answered from the node the fd holds;
/// a second thread swapping the fd between a removed writable directory
/// and one the host removed from a read-only place must never get the
/// read-only one changed (the path checked and the node changed are
/// taken from the same fd).
#[test]
fn vfs_attack_removed_directory_swapped_under_dot() {
    let ws = Scratch::new();
    std::fs::create_dir_all(ws.join("ro/sub")).expect("mkdir");
    std::fs::create_dir(ws.join("w")).expect("mkdir");
    give_tree_to_guest(ws.path());
    set_mode(&ws.join("ro/sub"), 0o755);
    let view = strs!["--bind", ws.path(), ws.path(), "--ro-bind", ws.join("ro"), ws.join("ro")];
    let mut cmd = as_guest_user(ws.path(), sandbox_run());
    cmd.args(&view).arg("--").arg(guest("vfs_attack_removed_dir"));
    cmd.arg(ws.join("ro/sub")).arg(ws.join("w")).arg("4000");
    let mut g = start(&mut cmd);
    assert_eq!(g.read_line(), "ready");
    std::fs::remove_dir(ws.join("ro/sub")).expect("rmdir");
    let out = g.wait();
    out.assert_code(0);
    let c = race_counts(&out);
    assert_eq!(c.get("ro_mode"), Some(&755), "the read-only directory changed: {out:?}");
    assert_changing_race_ran(&c, 4000, "fchmodat(\".\") on a swapped removed directory", &out);
}

/// An `O_PATH` fd opened natively beneath a directory fd may reach a
/// hidden file by `..` (it reads nothing). Once the file is removed, its
/// fd's link no longer names a path; reopening it through that link must
/// still not read what the view hides.
#[test]
fn vfs_attack_reopen_removed_hidden_file_through_an_opath_fd() {
    let ws = Scratch::new();
    let secret = ws.write("secret/x", "secret\n");
    std::fs::create_dir(ws.join("pub")).expect("mkdir");
    give_tree_to_guest(ws.path());
    let w = ws.path();
    let view = strs!["--bind", w, w, "--hide", ws.join("secret")];
    let script = "import os, sys, time
d = os.open(sys.argv[1] + '/pub', os.O_RDONLY | os.O_DIRECTORY)
fd = os.open('../secret/x', os.O_PATH, dir_fd=d)
"
    .to_owned()
        + PY_AWAIT_REMOVAL
        + "for via in ('/proc/self/fd/%d', '/dev/fd/%d'):
    try:
        print(os.read(os.open(via % fd, os.O_RDONLY), 100))
    except OSError as e:
        print(e.strerror)
";
    let mut cmd = as_guest_user(w, sandbox_run());
    cmd.args(&view).args(["--", "python3", "-c", &script]).arg(w);
    let out = while_removed(&mut cmd, || std::fs::remove_file(&secret).expect("rm"));
    assert!(!out.out().contains("secret"), "{out:?}");
    assert_eq!(out.out(), "Permission denied\n".repeat(2), "{out:?}");
}

/// A hidden path's directory, or one above it, moved elsewhere by the
/// guest would take the hidden name along, uncovered: the move is refused
/// (`EBUSY`, as for a mount point), by path and beneath a directory fd,
/// in a writable bind and in an overlay's upper, and the hidden file is
/// neither read nor removed.
#[test]
fn vfs_attack_moving_a_hidden_paths_directory_does_not_uncover_it() {
    let script = r#"import os, sys
m = sys.argv[1]
def t(name, f):
    try:
        f(); print(name, "ok")
    except OSError as e:
        print(name, e.strerror)
t("mv parent", lambda: os.rename(m + "/a/nd", m + "/a/nd2"))
t("mv grandparent", lambda: os.rename(m + "/a", m + "/a2"))
d = os.open(m + "/a", os.O_RDONLY | os.O_DIRECTORY)
t("mv beneath fd", lambda: os.rename("nd", "nd3", src_dir_fd=d, dst_dir_fd=d))
os.mkdir(m + "/other")
t("exchange", lambda: __import__("ctypes").CDLL(None, use_errno=True).renameat2(-100, (m + "/other").encode(), -100, (m + "/a").encode(), 2) == 0 or (_ for _ in ()).throw(OSError(__import__("ctypes").get_errno(), os.strerror(__import__("ctypes").get_errno()))))
for p in ("/a/nd/secret", "/a/nd2/secret", "/a2/nd/secret", "/a/nd3/secret", "/other/nd/secret"):
    try:
        print(p, open(m + p).read().strip())
    except OSError as e:
        print(p, e.strerror)
"#;
    let want = "mv parent Device or resource busy\nmv grandparent Device or resource busy\n\
                mv beneath fd Device or resource busy\nexchange Device or resource busy\n\
                /a/nd/secret No such file or directory\n/a/nd2/secret No such file or directory\n\
                /a2/nd/secret No such file or directory\n/a/nd3/secret No such file or directory\n\
                /other/nd/secret No such file or directory\n";
    // A writable bind over the host directory that holds the secret.
    let ws = Scratch::new();
    let secret = ws.write("a/nd/secret", "TOPSECRET\n");
    give_tree_to_guest(ws.path());
    let m = ws.path();
    let out = run(&mut sandbox_raw(
        &ws,
        strs!["--bind", m, m, "--hide", m.join("a/nd/secret"), "--", "python3", "-c", script, m],
    ));
    out.assert_code(0);
    assert_eq!(out.out(), want, "{out:?}");
    assert_eq!(std::fs::read_to_string(&secret).expect("secret"), "TOPSECRET\n");
    // An overlay whose upper (from an earlier run) holds the secret.
    let ov = Scratch::new();
    std::fs::create_dir(ov.join("src")).expect("mkdir");
    let kept = ov.write("upper/a/nd/secret", "TOPSECRET\n");
    give_tree_to_guest(ov.path());
    let o = "/mnt/ovl";
    let out = run(&mut sandbox_raw(
        &ov,
        strs![
            "--overlay",
            ov.join("src"),
            o,
            "--upper",
            ov.join("upper"),
            "--hide",
            "/mnt/ovl/a/nd/secret",
            "--",
            "python3",
            "-c",
            script,
            o
        ],
    ));
    out.assert_code(0);
    assert_eq!(out.out(), want, "{out:?}");
    assert_eq!(std::fs::read_to_string(&kept).expect("secret"), "TOPSECRET\n");
}

// ---- 6. hard links ----------------------------------------------------------------------------

#[test]
fn vfs_attack_hard_links_out_of_view() {
    // A hard link in the writable bind to the hidden secret would make it
    // readable there; one to a read-only file would make it writable
    // there. By path, following a symlink, through /proc/self/fd and with
    // AT_EMPTY_PATH. Natively (one filesystem, the guest owns both files)
    // every one of these links works.
    let ws = Scratch::new();
    let secret = Secret::new();
    let pre = Scratch::new();
    make_precious_tree(pre.path());
    ws.write("mine", "MINE");
    let w = ws.path();
    let precious = pre.join("precious");
    let view = strs!["--hide", secret.dir, "--bind", w, w];
    let mut o = Ops::new();
    o.two("ok", "link", "control: link inside the bind", w.join("mine"), w.join("mine2"))
        .two("ok", "symlink", "make a symlink to the secret", &secret.path, w.join("sl"))
        .two("ENOENT", "link", "link(secret, ws/x)", &secret.path, w.join("x"))
        .read("ENOENT", "read ws/x", "-", w.join("x"))
        .two("ENOENT", "linkf", "linkat(ws/sl -> secret, AT_SYMLINK_FOLLOW)", w.join("sl"), w.join("y"))
        .read("ENOENT", "read ws/y", "-", w.join("y"))
        .two(
            FAIL,
            "link",
            "link(/proc/self/root/secret, ws/z)",
            format!("/proc/self/root{}", p(&secret.path)),
            w.join("z"),
        )
        .two(FAIL, "link", "link(precious, ws/p1)", &precious, w.join("p1"))
        .write(FAIL, "write ws/p1", w.join("p1"), "trunc")
        .two(FAIL, "linkfd", "linkat(/proc/self/fd/<O_PATH precious>, ws/p2)", &precious, w.join("p2"))
        .write(FAIL, "write ws/p2", w.join("p2"), "trunc")
        .two(FAIL, "linkempty", "linkat(<O_PATH precious>, AT_EMPTY_PATH, ws/p3)", &precious, w.join("p3"))
        .write(FAIL, "write ws/p3", w.join("p3"), "trunc")
        .two("EROFS|EXDEV", "link", "link(ws/mine, read-only dir)", w.join("mine"), pre.join("new"));
    let before = [snapshot(&secret.dir), snapshot(pre.path())];
    attack(&ws, w, &view, &o, &[&secret.token]);
    assert_eq!(links_to(w, &secret.path), Vec::<PathBuf>::new(), "the bind holds a link to the secret");
    assert_eq!(links_to(w, &precious), Vec::<PathBuf>::new(), "the bind holds a link to a read-only file");
    assert_eq!(changes(&before[0], &snapshot(&secret.dir)), Vec::<String>::new());
    assert_eq!(changes(&before[1], &snapshot(pre.path())), Vec::<String>::new());
}

// ---- 7. rename across mounts -------------------------------------------------------------------

#[test]
fn vfs_attack_rename_across_mounts() {
    // Moving a read-only file (or its directory) into the writable bind
    // would make it writable; moving a file over a read-only one would
    // replace it. Natively these are plain renames on one filesystem.
    let ws = Scratch::new();
    let pre = Scratch::new();
    make_precious_tree(pre.path());
    ws.write("mine", "MINE");
    let w = ws.path();
    let pd = pre.path();
    let view = strs!["--bind", w, w];
    let mut o = Ops::new();
    o.two("ok", "rename", "control: rename inside the bind", w.join("mine"), w.join("mine2"))
        .two("ok", "rename", "control: rename it back", w.join("mine2"), w.join("mine"))
        .two("EXDEV|EROFS", "exchange", "exchange bind file and read-only file", w.join("mine"), pd.join("precious"))
        .two("EXDEV|EROFS", "rename", "bind file over a read-only file", w.join("mine"), pd.join("precious"))
        .two("EXDEV|EROFS", "rename", "bind file into a read-only dir", w.join("mine"), pd.join("new"))
        .two("EXDEV|EROFS", "rename", "read-only file into the bind", pd.join("precious"), w.join("moved"))
        .two("EXDEV|EROFS", "rename", "read-only dir into the bind", pd.join("sub2"), w.join("moved-dir"))
        .two("EXDEV|EROFS", "rename", "the read-only tree itself into the bind", pd, w.join("moved-tree"));
    let before = snapshot(pd);
    attack(&ws, w, &view, &o, &[]);
    assert_eq!(changes(&before, &snapshot(pd)), Vec::<String>::new(), "the read-only tree changed");
    assert_eq!(std::fs::read(w.join("mine")).ok(), Some(b"MINE".to_vec()), "ws/mine was moved");
    for gone in ["moved", "moved-dir", "moved-tree"] {
        assert!(!w.join(gone).exists(), "ws/{gone} exists");
    }
}

// ---- 8. a path rewritten after the supervisor read it --------------------------------------------

#[test]
fn vfs_attack_path_rewritten_during_the_call() {
    // One thread keeps rewriting the path buffer between an allowed path
    // and a forbidden one of the same length while another passes it to
    // open (read, and write) and link, thousands of times. A supervisor
    // that checks the path and then lets the kernel read guest memory
    // again (SECCOMP_USER_NOTIF_FLAG_CONTINUE) opens the forbidden one.
    let ws = Scratch::new();
    let secret = Secret::new();
    let benign = Scratch::new();
    benign.write("secret", "BENIGN");
    let pre = Scratch::new();
    pre.write("victim", "PRECIOUS-VICTIM");
    ws.write("victim", "");
    ws.write("secret", "BENIGN");
    let w = ws.path();
    let view = strs!["--hide", secret.dir, "--bind", w, w];
    let pairs = [
        (benign.join("secret"), secret.path.clone()),
        (w.join("victim"), pre.join("victim")),
        (w.join("secret"), secret.path.clone()),
    ];
    for (a, b) in &pairs {
        assert_eq!(p(a).len(), p(b).len(), "the two paths must have the same length: {a:?} {b:?}");
    }
    let out =
        run_view(&ws, w, &view, "vfs_attack_race", &strs!["flip-read", benign.join("secret"), secret.path, "5000"]);
    let c = race_counts(&out);
    assert!(
        !out.out().contains(&secret.token) && c.get("other") == Some(&0),
        "read: the guest opened the path as rewritten after the check\n{out:?}"
    );
    assert_race_ran(&c, 5000, "read", &out);
    assert!(c.get("benign").is_some_and(|&b| b > 0), "read: the allowed path never worked\n{out:?}");

    let before = snapshot(pre.path());
    let out =
        run_view(&ws, w, &view, "vfs_attack_race", &strs!["flip-write", w.join("victim"), pre.join("victim"), "4000"]);
    let c = race_counts(&out);
    assert_eq!(
        changes(&before, &snapshot(pre.path())),
        Vec::<String>::new(),
        "write: the read-only file changed\n{out:?}"
    );
    assert_changing_race_ran(&c, 4000, "write", &out);

    std::fs::create_dir(w.join("links")).expect("mkdir");
    give_to_guest(&w.join("links"));
    let out = run_view(
        &ws,
        w,
        &view,
        "vfs_attack_race",
        &strs!["flip-link", w.join("secret"), secret.path, w.join("links"), "2000"],
    );
    let c = race_counts(&out);
    assert_eq!(links_to(w, &secret.path), Vec::<PathBuf>::new(), "link: the bind holds a link to the secret\n{out:?}");
    assert_changing_race_ran(&c, 2000, "link", &out);
}

#[test]
fn vfs_attack_changes_the_kernel_makes_after_the_check() {
    // Creates, removals and mkdirs whose path the kernel resolves as the
    // view does are checked and then continued natively. A second thread
    // rewrites the path (from a writable bind into a read-only one whose
    // host directory the guest owns) or swaps the directory fd it is
    // relative to, thousands of times: the read-only directory, with a
    // file of the very name and a name it lacks, must never change.
    let ws = Scratch::new();
    let ro = Scratch::new();
    ro.write("victim", "PRECIOUS");
    ro.write("keep/inside", "KEEP");
    let (w, r) = (ws.path(), ro.path());
    assert_eq!(p(w).len(), p(r).len(), "the two directories must have the same length");
    let view = strs!["--bind", w, w, "--ro-bind", r, r];
    // The private /dev: only its shm is writable. A relative path beneath
    // /dev/shm rewritten to `../name` must not make or remove names in
    // /dev itself.
    let race = p(guest("vfs_attack_race"));
    let script = format!(
        "cd /dev/shm && {race} flip-make aaaaaaaa ../evil1 3000 && {race} flip-make aaaaaaaaa ../stdout 3000; ls /dev"
    );
    let out = run(&mut sandbox_raw(&ws, strs!["--", "sh", "-c", script]));
    assert!(out.out().contains("stdout\n") && !out.out().contains("evil1"), "/dev changed\n{out:?}");
    assert_eq!(out.out().matches("tries 3000").count(), 2, "the races did not run\n{out:?}");
    let before = snapshot(r);
    for name in ["victim", "absent"] {
        let out = run_view(&ws, w, &view, "vfs_attack_race", &strs!["flip-make", w.join(name), r.join(name), "3000"]);
        let c = race_counts(&out);
        assert_eq!(
            changes(&before, &snapshot(r)),
            Vec::<String>::new(),
            "path {name}: the read-only bind changed\n{out:?}"
        );
        assert_changing_race_ran(&c, 3000, &format!("path {name}"), &out);

        let out = run_view(&ws, w, &view, "vfs_attack_race", &strs!["flip-dirfd", w, r, name, "3000"]);
        let c = race_counts(&out);
        assert_eq!(
            changes(&before, &snapshot(r)),
            Vec::<String>::new(),
            "dirfd {name}: the read-only bind changed\n{out:?}"
        );
        assert_changing_race_ran(&c, 3000, &format!("dirfd {name}"), &out);
    }
}

#[test]
fn vfs_attack_fd_swapped_after_the_check_of_a_change_through_it() {
    // `futimens` and `fchmod` of a regular file open for writing need no
    // look at where the view shows it, and while no guest task shares its
    // fd table the kernel makes them itself. A second thread (which shares
    // the table) flips the fd between a writable file and a read-only
    // one the guest owns, thousands of times: the read-only file's times
    // and mode must never change.
    let ws = Scratch::new();
    let ro = Scratch::new();
    ws.write("rw", "W");
    ro.write("victim", "PRECIOUS");
    give_tree_to_guest(ws.path());
    give_tree_to_guest(ro.path());
    let (w, r) = (ws.path(), ro.path());
    let view = strs!["--bind", w, w, "--ro-bind", r, r];
    let before = snapshot(r);
    let out = run_view(&ws, w, &view, "vfs_attack_race", &strs!["flip-fd", w.join("rw"), r.join("victim"), "3000"]);
    let c = race_counts(&out);
    assert_eq!(changes(&before, &snapshot(r)), Vec::<String>::new(), "the read-only file changed\n{out:?}");
    assert_changing_race_ran(&c, 3000, "flip-fd", &out);
    // Single-threaded, the same changes go on natively and work.
    let out = run(&mut sandbox_raw(
        &ws,
        strs![
            "--bind",
            w,
            w,
            "--",
            "python3",
            "-c",
            "import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.utime(fd, ns=(5, 7)); os.chmod(fd, 0o604); \
             st = os.stat(sys.argv[1]); print(st.st_mtime_ns, oct(st.st_mode & 0o777))",
            w.join("rw")
        ],
    ));
    assert_eq!(out.out(), "7 0o604\n", "{out:?}");
}

// ---- 9. open_by_handle_at ------------------------------------------------------------------------

/// The file handle of `path` as "TYPE:HEX" (name_to_handle_at, as root
/// or whoever runs the tests).
fn handle_of(path: &Path) -> String {
    #[repr(C)]
    struct FileHandle {
        bytes: u32,
        kind: i32,
        f: [u8; 128],
    }
    let mut h = FileHandle { bytes: 128, kind: 0, f: [0; 128] };
    let mut mount_id: i32 = 0;
    let c = CString::new(path.as_os_str().as_bytes()).expect("path");
    // SAFETY: a valid path, a handle buffer of the size it declares, an int.
    let r = unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            c.as_ptr(),
            &mut h as *mut FileHandle,
            &mut mount_id as *mut i32,
            0,
        )
    };
    assert_eq!(r, 0, "name_to_handle_at {}: {}", path.display(), std::io::Error::last_os_error());
    let hex: String = h.f[..h.bytes as usize].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", h.kind)
}

#[test]
fn vfs_attack_open_by_handle_at() {
    // A file handle names an inode without a path, so no view can check
    // it: open_by_handle_at is refused (EPERM), for a handle of an allowed
    // file the guest made itself as for one crafted for the hidden secret.
    let ws = Scratch::new();
    let secret = Secret::new();
    ws.write("mine", "MINE");
    let w = ws.path();
    let view = strs!["--hide", secret.dir, "--bind", w, w];
    let mut o = Ops::new();
    o.selfhandle("ok|E*", "EPERM", "own file", w.join("mine"))
        .handle("EPERM", "crafted handle of the secret, mount fd of the bind", w, &handle_of(&secret.path))
        .handle("EPERM", "crafted handle of the secret, mount fd of /", "/", &handle_of(&secret.path))
        .handle("EPERM", "handle of an allowed file", w, &handle_of(&w.join("mine")));
    attack(&ws, w, &view, &o, &[&secret.token]);
}

// ---- 10. unix sockets outside the view -------------------------------------------------------------

/// Sends `fd` over `sock` with SCM_RIGHTS (and one byte).
fn send_fd(sock: &UnixStream, fd: RawFd) {
    let mut byte = [b'x'];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
    // SAFETY: an all-zero msghdr is valid; the pointers set below outlive
    // the sendmsg call; CMSG_FIRSTHDR is non-null for a buffer of
    // CMSG_SPACE(4) bytes.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
        libc::sendmsg(sock.as_raw_fd(), &msg, 0);
    }
}

/// A host unix socket at `path` (connectable by anybody) that hands every
/// client an fd of `secret`, until `stop`.
fn fd_server(path: &Path, secret: &Path, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u32> {
    serve_fd(path, std::fs::File::open(secret).expect("open secret").into(), stop)
}

/// A host unix socket at `path` (connectable by anybody) that hands every
/// client `fd`, until `stop`.
fn serve_fd(path: &Path, fd: std::os::fd::OwnedFd, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u32> {
    let listener = UnixListener::bind(path).expect("bind");
    set_mode(path, 0o777);
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let mut served = 0;
        let end = Instant::now() + TIMEOUT;
        while !stop.load(Ordering::Relaxed) && Instant::now() < end {
            match listener.accept() {
                Ok((s, _)) => {
                    send_fd(&s, fd.as_raw_fd());
                    served += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        served
    })
}

#[test]
fn vfs_attack_unix_socket_outside_view() {
    // A host process listening on a unix socket outside the view would
    // hand the guest an fd of the secret (SCM_RIGHTS), past any path
    // check. Connecting is a path lookup: the socket in the hidden
    // directory and the one in the host's /tmp do not exist for the guest.
    let ws = Scratch::new();
    let hidden = Secret::new();
    let tmp = Secret::in_host_tmp();
    let w = ws.path();
    let stop = Arc::new(AtomicBool::new(false));
    let servers = [
        fd_server(&hidden.dir.join("sock"), &hidden.path, stop.clone()),
        fd_server(&tmp.dir.join("sock"), &tmp.path, stop.clone()),
    ];
    let view = strs!["--hide", hidden.dir, "--bind", w, w];
    let mut o = Ops::new();
    o.connect("ENOENT|EACCES", "hidden socket", hidden.dir.join("sock"))
        .connect("ENOENT|EACCES", "socket in host /tmp", tmp.dir.join("sock"))
        .two("ok", "symlink", "make a symlink to the hidden socket", hidden.dir.join("sock"), w.join("sl"))
        .connect("ENOENT|EACCES", "hidden socket through a symlink", w.join("sl"))
        .connect(
            FAIL,
            "hidden socket through /proc/self/root",
            format!("/proc/self/root{}", p(hidden.dir.join("sock"))),
        );
    let out = run_view(&ws, w, &view, FS, &o.args);
    stop.store(true, Ordering::Relaxed);
    let served: Vec<u32> = servers.into_iter().map(|t| t.join().expect("server thread")).collect();
    let mut wrong = problems(&out, &o, &[&hidden.token, &tmp.token]);
    if served.iter().any(|&n| n > 0) {
        wrong.push(format!("the guest connected to a socket outside its view ({served:?} connections)"));
    }
    verdict("unix sockets", wrong, &out);
}

// ---- 11. inherited descriptors ----------------------------------------------------------------------

#[test]
fn vfs_attack_inherited_fds() {
    // sandbox-run started with fd 5 open on the secret and fd 7 on its
    // directory, neither close-on-exec: an fd is a capability no path
    // check sees, so the guest must start with 0-2 only.
    let ws = Scratch::new();
    let secret = Secret::new();
    let w = ws.path();
    let file = std::fs::File::open(&secret.path).expect("open secret");
    let dir = std::fs::File::open(&secret.dir).expect("open secret dir");
    let (ffd, dfd) = (file.as_raw_fd(), dir.as_raw_fd());
    let view = strs!["--hide", secret.dir, "--bind", w, w];
    let mut o = Ops::new();
    o.op("none", "fds", "fds above 2", &[]);
    let mut c = view_cmd(&ws, w, &view, FS, &o.args);
    // SAFETY: dup2 is async-signal-safe. This runs after the harness's own
    // pre_exec (which marks fds >= 3 close-on-exec), and dup2 clears the
    // flag on the new fds, so sandbox-run really inherits 5 and 7.
    unsafe {
        c.pre_exec(move || {
            if libc::dup2(ffd, 5) < 0 || libc::dup2(dfd, 7) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run(&mut c);
    verdict("inherited fds", problems(&out, &o, &[&secret.token]), &out);
    drop((file, dir));
}

// ---- 12. malformed path pointers --------------------------------------------------------------------

#[test]
fn vfs_attack_malformed_path_pointers() {
    // Paths of PATH_MAX+1 bytes, paths without a NUL running into the end
    // of a mapping, pointers to PROT_NONE, unmapped, NULL and kernel
    // memory, for every path argument of open, stat, mkdir, rename & co.
    // The supervisor reads these: the guest must get the kernel's own
    // answers (ENAMETOOLONG, EFAULT), nothing must be created, and the
    // sandbox must keep working (a control open after every call).
    let nat = Scratch::new();
    nat.write("ctl", "CTL");
    let native_out = run(&mut native(&nat, [s(&guest("vfs_attack_badptr"))]));
    let ws = Scratch::new();
    ws.write("ctl", "CTL");
    let w = ws.path();
    let out = run_view(&ws, w, &strs!["--bind", w, w], "vfs_attack_badptr", &[]);

    // The native answers are the reference; check they are what the
    // kernel is documented to say, so the comparison means something.
    let lines = |o: &Out| o.out().lines().map(String::from).collect::<Vec<_>>();
    let nl = lines(&native_out);
    let bad_native: Vec<&String> = nl
        .iter()
        .filter(|l| l.contains('/'))
        .filter(|l| {
            let kind = l.split(' ').next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
            let r = l.rsplit(' ').next().unwrap_or_default();
            match kind {
                "toolong" => r != "ENAMETOOLONG",
                "unterm-page" => r != "ENAMETOOLONG" && r != "EFAULT",
                _ => r != "EFAULT",
            }
        })
        .collect();
    assert!(bad_native.is_empty() && nl.len() > 100, "unexpected native answers: {bad_native:?}\n{native_out:?}");
    assert_eq!(out.code(), 0, "{out:?}");
    let sl = lines(&out);
    // A path that runs to the end of its mapping without a NUL after a
    // whole page may be ENAMETOOLONG (the kernel stops at PATH_MAX) or
    // EFAULT (a reader that looks one byte further); nothing else.
    let same = |n: &String, s: &String| {
        n == s
            || (n.contains("/unterm-page ")
                && n.rsplit_once(' ').map(|(l, _)| l) == s.rsplit_once(' ').map(|(l, _)| l)
                && (s.ends_with(" EFAULT") || s.ends_with(" ENAMETOOLONG")))
    };
    let differ: Vec<String> = nl
        .iter()
        .zip(sl.iter())
        .filter(|(n, s)| !same(n, s))
        .map(|(n, s)| format!("native {n:?}, sandboxed {s:?}"))
        .collect();
    assert!(
        differ.is_empty() && nl.len() == sl.len(),
        "the sandbox answered malformed paths differently:\n  {}\n{out:?}",
        differ.join("\n  ")
    );
    assert!(sl.iter().any(|l| l == "control failures 0") && sl.iter().any(|l| l == "straddle ok:CTL"), "{out:?}");
    let names: BTreeSet<String> = std::fs::read_dir(w)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names, ["ctl".to_string()].into_iter().collect(), "the malformed calls created files");
}

// ---- 13. writes to read-only paths ----------------------------------------------------------------------

/// Every way to change a file, its metadata or its directory, relative to
/// the precious tree (the cwd): each must fail with EROFS.
fn read_only_ops(o: &mut Ops, tag: &str) {
    // Destructive calls (unlink, rename) come last, so that against a
    // sandbox without a view each attack still finds its target.
    let l = |what: &str| format!("{tag}: {what}");
    o.read("ok:FILE", &l("control: the tree is readable"), "-", "sub2/file");
    for mode in ["trunc", "append", "rdwr"] {
        o.write("EROFS", &l(&format!("open precious ({mode})")), "precious", mode);
    }
    o.write("EROFS", &l("open new file (O_CREAT)"), "new", "creat")
        .write("EROFS", &l("open new file (O_EXCL)"), "new2", "excl")
        .write("EROFS", &l("open through lnk (trunc)"), "lnk", "trunc");
    for call in [
        "truncate",
        "chmod",
        "fchmodat",
        "chown",
        "fchownat",
        "utimensat",
        "utime",
        "utimes",
        "futimesat",
        "setxattr",
        "removexattr",
        "setxattrat",
        "removexattrat",
        "f:fchmod",
        "f:fchown",
        "f:futimens",
        "f:fsetxattr",
        "f:fremovexattr",
        "o:fchmodat2",
        "o:fchownat",
        "o:utimensat",
    ] {
        o.call("EROFS", &l(&format!("{call} precious")), call, "precious");
    }
    o.call("EROFS", &l("lchown lnk"), "lchown", "lnk")
        .call("EROFS", &l("mkdir"), "mkdir", "newdir")
        .call("EROFS", &l("mkdirat"), "mkdirat", "newdir2")
        .call("EROFS", &l("mknod fifo"), "mknod", "fifo")
        .call("EROFS", &l("mknodat file"), "mknodat", "file")
        .call("EROFS", &l("creat"), "creat", "new3")
        .call("EROFS", &l("chmod ."), "chmod", ".")
        .call("EROFS", &l("utimensat ."), "utimensat", ".")
        .call("EROFS", &l("f:fchmod sub"), "f:fchmod", "sub")
        .two("EROFS", "link", &l("link"), "precious", "hard")
        .two("EROFS", "linkfd", &l("link via /proc/self/fd"), "precious", "hard2")
        .two("EROFS", "symlink", &l("symlink"), "precious", "newlink")
        .two("EROFS", "exchange", &l("exchange"), "sub2/file", "lnk")
        .call("EROFS", &l("rmdir sub"), "rmdir", "sub")
        .two("EROFS", "rename", &l("rename sub"), "sub", "sub-renamed")
        .call("EROFS", &l("unlink sub2/file"), "unlink", "sub2/file")
        .call("EROFS", &l("unlinkat lnk"), "unlinkat", "lnk")
        .two("EROFS", "rename", &l("rename over precious"), "sub2/file", "precious")
        .call("EROFS", &l("unlink precious"), "unlink", "precious")
        .two("EROFS", "rename", &l("rename precious"), "precious", "renamed");
}

#[test]
fn vfs_attack_writes_to_read_only_paths() {
    // The default view's host `/`, a `--ro-bind` nested in a writable bind,
    // and a `--root` tree are all read-only: every write, metadata change
    // (by path, by fd, by O_PATH fd: fchmod needs ownership, not write
    // access) and directory change is EROFS, and nothing changes.
    let ws = Scratch::new();
    let w = ws.path();

    // The default view: the guest owns the tree, natively all of this works.
    let pre = Scratch::new();
    make_precious_tree(pre.path());
    let mut o = Ops::new();
    o.write("EROFS", "host /: absolute path (trunc)", pre.join("precious"), "trunc").call(
        "EROFS",
        "host /: absolute path (truncate)",
        "truncate",
        pre.join("precious"),
    );
    read_only_ops(&mut o, "host /");
    let before = snapshot(pre.path());
    attack(&ws, pre.path(), &strs!["--bind", w, w], &o, &[]);
    assert_eq!(changes(&before, &snapshot(pre.path())), Vec::<String>::new(), "host /: the tree changed");

    // A read-only bind inside a writable one; also moving out of it into
    // the writable part around it.
    let q = Scratch::new();
    std::fs::create_dir(q.join("ro")).expect("mkdir");
    make_precious_tree(&q.join("ro"));
    let mut o = Ops::new();
    o.write("ok", "nested --ro-bind: control: the outer bind is writable", "../outer", "creat")
        .two("EXDEV|EROFS", "link", "nested --ro-bind: link precious out", "precious", "../stolen2")
        .two("EXDEV|EROFS", "rename", "nested --ro-bind: rename precious out", "precious", "../stolen");
    read_only_ops(&mut o, "nested --ro-bind");
    let view = strs!["--bind", q.path(), q.path(), "--ro-bind", q.join("ro"), q.join("ro")];
    let before = snapshot(&q.join("ro"));
    attack(&ws, &q.join("ro"), &view, &o, &[]);
    assert_eq!(changes(&before, &snapshot(&q.join("ro"))), Vec::<String>::new(), "nested --ro-bind: the tree changed");
    assert!(!q.join("stolen").exists() && !q.join("stolen2").exists(), "nested --ro-bind: a file got out");

    // `--root R`: R is read-only (with a /proc, for the /proc/self/fd link).
    let r = Scratch::new();
    make_precious_tree(r.path());
    let gd = guest_dir();
    let mut o = Ops::new();
    read_only_ops(&mut o, "--root");
    let view = strs!["--root", r.path(), "--proc", "--ro-bind", gd, gd, "--chdir", "/"];
    let before = snapshot(r.path());
    attack(&ws, r.path(), &view, &o, &[]);
    assert_eq!(changes(&before, &snapshot(r.path())), Vec::<String>::new(), "--root: the tree changed");
}

// ---- 14. the host's /tmp ----------------------------------------------------------------------------------

/// Removes a host path on drop (a failing test may have let the guest
/// create it).
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn vfs_attack_host_tmp_is_private() {
    // The default view has a private, empty /tmp: what the guest writes
    // there never reaches the host's /tmp, and what the host (other users'
    // programs) keeps there is not visible.
    let ws = Scratch::new();
    let w = ws.path();
    let tmp = Secret::in_host_tmp();
    let host_name = unique("condo-hostfile");
    let host_file = Path::new("/tmp").join(&host_name);
    let _g0 = RemoveOnDrop(host_file.clone());
    std::fs::write(&host_file, &tmp.token).expect("write");
    give_to_guest(&host_file);
    let guest_file = Path::new("/tmp").join(unique("condo-guestfile"));
    let tmp_dir = Path::new("/tmp").join(unique("condo-guestdir"));
    let _g1 = RemoveOnDrop(guest_file.clone());
    let _g2 = RemoveOnDrop(tmp_dir.clone());
    let mut o = Ops::new();
    o.write("ok", "create a file in /tmp", &guest_file, "creat")
        .read("ok:PWNED_", "read it back", "-", &guest_file)
        .call("ok", "mkdir in /tmp", "mkdir", &tmp_dir)
        .read("ENOENT", "the host's file in /tmp", "-", &host_file)
        .read("ENOENT", "the host's directory in /tmp", "-", &tmp.path)
        .call("ENOENT", "stat the host's file", "stat", &host_file)
        .getdents("absent", "/tmp lists the host's file", "/tmp", &host_name)
        .getdents("absent", "/tmp lists the host's directory", "/tmp", &tmp.dir_name())
        .read(FAIL, "the host's file via /proc/self/root", "-", format!("/proc/self/root{}", p(&host_file)));
    let out = run_view(&ws, w, &strs!["--bind", w, w], FS, &o.args);
    let mut wrong = problems(&out, &o, &[&tmp.token]);
    if guest_file.exists() || tmp_dir.exists() {
        wrong.push(format!("the guest's /tmp writes reached the host: {guest_file:?} or {tmp_dir:?} exists"));
    }
    if std::fs::read(&host_file).ok() != Some(tmp.token.clone().into_bytes()) {
        wrong.push("the host's file in /tmp changed".to_string());
    }
    verdict("host /tmp", wrong, &out);
}

#[test]
fn vfs_attack_host_dev_shm_is_invisible() {
    // /dev is synthetic: the host's /dev/shm (POSIX shared memory and
    // semaphores of every program of the user) is not the guest's.
    let ws = Scratch::new();
    let w = ws.path();
    let token = unique("CONDO-SHM-SECRET");
    let host_name = unique("condo-shm");
    let host_file = Path::new("/dev/shm").join(&host_name);
    let _g0 = RemoveOnDrop(host_file.clone());
    std::fs::write(&host_file, &token).expect("write /dev/shm");
    give_to_guest(&host_file);
    let guest_file = Path::new("/dev/shm").join(unique("condo-guest-shm"));
    let _g1 = RemoveOnDrop(guest_file.clone());
    let mut o = Ops::new();
    o.read("ENOENT", "the host's /dev/shm file", "-", &host_file)
        .getdents("absent|ENOENT", "/dev/shm lists the host's file", "/dev/shm", &host_name)
        .write("ok|E*", "create a file in /dev/shm", &guest_file, "creat");
    let out = run_view(&ws, w, &strs!["--bind", w, w], FS, &o.args);
    let mut wrong = problems(&out, &o, &[&token]);
    if guest_file.exists() {
        wrong.push(format!("the guest's /dev/shm write reached the host: {guest_file:?}"));
    }
    verdict("host /dev/shm", wrong, &out);
}

// ---- 15. every path-taking syscall ------------------------------------------------------------------------

/// Every path-taking syscall the guest could use on the hidden `secret`
/// (a file in a hidden directory that also holds `lnk -> secret`,
/// `emptydir/` and `prog`), creating names in that directory, and moving
/// things in and out of it through the writable bind `w`.
fn hidden_ops(o: &mut Ops, tag: &str, secret: &Secret, w: &Path) {
    let l = |what: &str| format!("{tag}: {what}");
    let d = &secret.dir;
    o.readvia("ENOENT", &l("read"), &secret.path);
    for call in [
        "stat",
        "lstat",
        "newfstatat",
        "statx",
        "access",
        "faccessat",
        "faccessat2",
        "getxattr",
        "listxattr",
        "statfs",
        "inotify",
        "truncate",
        "chmod",
        "fchmodat",
        "chown",
        "lchown",
        "fchownat",
        "utimensat",
        "utime",
        "utimes",
        "futimesat",
        "setxattr",
        "removexattr",
        "setxattrat",
        "removexattrat",
        "f:fchmod",
        "o:fchmodat2",
    ] {
        // The f:/o: calls need an fd first: "first:ENOENT" is not an errno,
        // so those must fail at the open, which is what is expected.
        let want = if call.contains(':') { "first:ENOENT" } else { "ENOENT" };
        o.call(want, &l(&format!("{call} secret")), call, &secret.path);
    }
    o.call("ENOENT", &l("readlink lnk"), "readlink", d.join("lnk"))
        .call(FAIL, &l("uselib secret"), "uselib", &secret.path)
        .call(FAIL, &l("acct secret"), "acct", &secret.path)
        .call(FAIL, &l("swapon secret"), "swapon", &secret.path)
        .call("ENOENT", &l("rmdir emptydir"), "rmdir", d.join("emptydir"))
        .call("ENOENT|EACCES", &l("mkdir in the hidden dir"), "mkdir", d.join("newdir"))
        .call("ENOENT|EACCES", &l("mknod in the hidden dir"), "mknod", d.join("fifo"))
        .call("ENOENT|EACCES", &l("creat in the hidden dir"), "creat", d.join("new"))
        .call("ENOENT|EPERM", &l("chroot hidden dir"), "chroot", d)
        .write("ENOENT", &l("open secret for writing"), &secret.path, "trunc")
        .write("ENOENT|EACCES", &l("open a new file in the hidden dir"), d.join("new2"), "creat")
        .two("ENOENT|EACCES", "symlink", &l("symlink in the hidden dir"), "x", d.join("newlink"))
        .two("ENOENT", "link", &l("link secret into the bind"), &secret.path, w.join(format!("{tag}-l")))
        .selfhandle(FAIL, "EPERM", &l("file handle of secret"), &secret.path)
        .exec("ENOENT", &l("exec prog"), d.join("prog"))
        .call("ok", &l("control: stat works"), "stat", w.join("mine"))
        .call("ok", &l("control: statx works"), "statx", w.join("mine"))
        .call("ok", &l("control: inotify works"), "inotify", w.join("mine"))
        .readvia("ok:MINE", &l("control: reads work"), w.join("mine"))
        .two("ENOENT|EACCES", "link", &l("link a bind file into the hidden dir"), w.join("mine"), d.join("m2"))
        .two("ENOENT|EACCES", "rename", &l("rename a bind file into the hidden dir"), w.join("mine2"), d.join("m"))
        .call("ENOENT", &l("unlink lnk"), "unlink", d.join("lnk"))
        .call("ENOENT", &l("unlinkat secret"), "unlinkat", &secret.path)
        .two("ENOENT", "rename", &l("rename secret into the bind"), &secret.path, w.join(format!("{tag}-r")));
}

#[test]
fn vfs_attack_hidden_path_through_every_syscall() {
    // A path handler has to cover every syscall that takes a path, the
    // legacy x86_64 ones (open, stat, chmod, utime, ...) included: one left
    // on the fast path resolves the path in the host's tree. The hidden
    // secret must not exist (ENOENT) for any of them. Twice: a plain
    // `--hide`, and a `--hide` with a bind beneath it (the hidden directory
    // is then a skeleton directory in the view).
    let secret = Secret::new();
    let sc = secret.scratch();
    std::os::unix::fs::symlink("secret", secret.dir.join("lnk")).expect("symlink");
    give_to_guest(&secret.dir.join("lnk"));
    std::fs::create_dir(secret.dir.join("emptydir")).expect("mkdir");
    give_to_guest(&secret.dir.join("emptydir"));
    let pc = CString::new(secret.path.as_os_str().as_bytes()).expect("path");
    // SAFETY: valid NUL-terminated strings and a 1-byte value.
    let r = unsafe { libc::setxattr(pc.as_ptr(), c"user.keep".as_ptr(), b"1".as_ptr().cast(), 1, 0) };
    assert_eq!(r, 0, "setxattr user.keep: {}", std::io::Error::last_os_error());
    secret.add_program();
    let ws = Scratch::new();
    ws.write("mine", "MINE");
    ws.write("mine2", "MINE2");
    let w = ws.path();
    let before = snapshot(&secret.dir);

    let mut o = Ops::new();
    hidden_ops(&mut o, "--hide", &secret, w);
    o.call("ENOENT", "--hide: chdir hidden dir", "chdir", &secret.dir).call("EPERM", "chroot is refused", "chroot", w);
    attack(&ws, w, &strs!["--hide", secret.dir, "--bind", w, w], &o, &[&secret.token]);
    assert_eq!(changes(&before, &snapshot(&secret.dir)), Vec::<String>::new(), "--hide: the hidden directory changed");

    sc.write("inner/x", "X");
    let inner = secret.dir.join("inner");
    let before_inner = snapshot(&secret.dir);
    let mut o = Ops::new();
    hidden_ops(&mut o, "skeleton", &secret, w);
    o.read("ok:X", "skeleton: control: the bind beneath is there", "-", inner.join("x"));
    attack(&ws, w, &strs!["--hide", secret.dir, "--bind", inner, inner, "--bind", w, w], &o, &[&secret.token]);
    assert_eq!(
        changes(&before_inner, &snapshot(&secret.dir)),
        Vec::<String>::new(),
        "skeleton: the hidden directory changed"
    );
    assert_eq!(links_to(w, &secret.path), Vec::<PathBuf>::new(), "the bind holds a link to the secret");
}

/// Hands every client of a unix socket at `path` an `O_PATH|O_NOFOLLOW`
/// fd of `node`, until `stop`.
fn opath_server(path: &Path, node: &Path, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u32> {
    let flags = nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_CLOEXEC;
    let node_fd = nix::fcntl::open(node, flags, nix::sys::stat::Mode::empty())
        .unwrap_or_else(|e| panic!("open O_PATH {}: {e}", node.display()));
    serve_fd(path, node_fd, stop)
}

#[test]
fn vfs_attack_o_path_fd_of_a_hidden_node_reads_nothing() {
    // An O_PATH fd may name a node outside the view (a process outside
    // hands one over a socket the view shows, or a thread wins a race:
    // docs/ARCHITECTURE.md). Natively such an fd reads nothing, and the
    // calls the supervisor answers through an fd must not read for it:
    // a hidden symlink's target (readlinkat(fd, "")), a hidden file's
    // attributes (getxattrat / listxattrat with AT_EMPTY_PATH: EBADF on
    // an O_PATH fd, as natively).
    let ws = Scratch::new();
    let secret = Secret::new();
    std::os::unix::fs::symlink(&secret.token, secret.dir.join("tlink")).expect("symlink");
    let pc = CString::new(secret.path.as_os_str().as_bytes()).expect("path");
    // SAFETY: NUL-terminated strings and a value of the given length.
    let r = unsafe {
        libc::setxattr(pc.as_ptr(), c"user.keep".as_ptr(), secret.token.as_ptr().cast(), secret.token.len(), 0)
    };
    assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
    let w = ws.path();
    let stop = Arc::new(AtomicBool::new(false));
    let servers = [
        opath_server(&w.join("lsock"), &secret.dir.join("tlink"), stop.clone()),
        opath_server(&w.join("fsock"), &secret.path, stop.clone()),
    ];
    let script = r#"
import array, ctypes, os, socket, sys
def take(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    _, anc, _, _ = s.recvmsg(1, socket.CMSG_SPACE(4))
    return array.array("i", anc[0][2][:4])[0]
w = sys.argv[1]
l, f = take(w + "/lsock"), take(w + "/fsock")
print("control: fds", l > 2 and f > 2)
try:
    print("readlink", os.readlink("", dir_fd=l))
except OSError as e:
    print("readlink errno", e.errno)
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(256)
class Args(ctypes.Structure):
    _fields_ = [("value", ctypes.c_uint64), ("size", ctypes.c_uint32), ("flags", ctypes.c_uint32)]
a = Args(ctypes.addressof(buf), 256, 0)
r = libc.syscall(464, f, b"", 0x1000, b"user.keep", ctypes.byref(a), 16)
print("getxattrat", r if r >= 0 else -ctypes.get_errno(), buf.raw[: max(r, 0)])
r = libc.syscall(465, f, b"", 0x1000, buf, 256)
print("listxattrat", r if r >= 0 else -ctypes.get_errno())
"#;
    let view = strs!["--hide", secret.dir, "--bind", w, w, "--", "python3", "-c", script, w];
    let mut c = sandbox_raw(&ws, &view);
    c.current_dir(w);
    let out = run(&mut c);
    stop.store(true, Ordering::Relaxed);
    for s in servers {
        let _ = s.join();
    }
    assert!(!out.out().contains(&secret.token) && !out.err().contains(&secret.token), "the secret leaked\n{out:?}");
    assert_eq!(
        out.out(),
        "control: fds True\nreadlink errno 2\ngetxattrat -9 b''\nlistxattrat -9\n",
        "an O_PATH fd of a hidden node read something\n{out:?}"
    );
}
