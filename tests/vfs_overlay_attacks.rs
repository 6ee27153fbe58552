//! Adversarial tests of `--overlay SRC DEST [--upper UP]`.
//!
//! The property under attack: whatever a guest does, nothing under SRC
//! changes (contents, modes, owners, times, inode numbers, link counts,
//! extended attributes), and the supervisor creates, changes or removes
//! nothing outside UP (and the view's other writable mounts, here only the
//! private /tmp and /dev/shm) on the guest's behalf.
//!
//! Every test lays out one scratch directory:
//!
//! ```text
//! SC/box/src     SRC, owned by the guest user (so a confused supervisor,
//!                which runs as that user, *could* change it)
//! SC/canary      a sibling of SRC and UP holding the same names as SRC
//!                (so a path followed the wrong way finds something to hit)
//! SC/up          UP
//! /tmp/condo-ovl-canary-*   a host /tmp canary (the guest's /tmp is private)
//! ```
//!
//! and after each attack compares, on the host, a snapshot of everything
//! in SC but UP (SRC and the canary included; inode, link count, mode,
//! owner, size, mtime, ctime, xattr names and values, contents) and of the
//! /tmp canary with the one taken before. ctime catches even a change that
//! restores the old value (chown to the same owner, chmod to the same
//! mode). The guest's own view of the results is asserted too where it is
//! well defined.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::*;

// ---- the world ---------------------------------------------------------------------------------

/// Every extended attribute of `p` (not following symlinks), name=value.
fn xattrs(p: &Path) -> Vec<String> {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let mut names = vec![0u8; 4096];
    // SAFETY: the buffer is valid for its length; the path is NUL-terminated.
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    names.truncate(usize::try_from(n).unwrap_or(0));
    let mut out = Vec::new();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let cname = CString::new(name).unwrap();
        let mut val = vec![0u8; 4096];
        // SAFETY: as above.
        let v = unsafe { libc::lgetxattr(c.as_ptr(), cname.as_ptr(), val.as_mut_ptr().cast(), val.len()) };
        val.truncate(usize::try_from(v).unwrap_or(0));
        out.push(format!("{}={}", String::from_utf8_lossy(name), String::from_utf8_lossy(&val)));
    }
    out.sort();
    out
}

/// The kind of node `ft` is, in a word.
fn kind_name(ft: std::fs::FileType) -> &'static str {
    match () {
        _ if ft.is_symlink() => "symlink",
        _ if ft.is_dir() => "dir",
        _ if ft.is_file() => "file",
        _ if ft.is_fifo() => "fifo",
        _ if ft.is_socket() => "socket",
        _ if ft.is_char_device() => "chardev",
        _ if ft.is_block_device() => "blockdev",
        _ => "unknown",
    }
}

/// One line about everything a change could touch on `p`.
fn describe_node(p: &Path) -> String {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("lstat {}: {e}", p.display()));
    let ft = m.file_type();
    let kind = kind_name(ft);
    let body = if ft.is_symlink() {
        format!("-> {:?}", std::fs::read_link(p).unwrap())
    } else if ft.is_file() {
        let data = std::fs::read(p).unwrap();
        if data.len() <= 64 {
            format!("{:?}", String::from_utf8_lossy(&data))
        } else {
            use std::hash::Hasher;
            let mut h = std::hash::DefaultHasher::new();
            h.write(&data);
            format!("hash {:016x}", h.finish())
        }
    } else if ft.is_char_device() || ft.is_block_device() {
        format!("rdev {:x}", m.rdev())
    } else {
        String::new()
    };
    format!(
        "{kind} mode {:o} uid {} gid {} size {} ino {} nlink {} mtime {}.{:09} ctime {}.{:09} xattrs {:?} {body}",
        m.mode(),
        m.uid(),
        m.gid(),
        m.len(),
        m.ino(),
        m.nlink(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
        xattrs(p)
    )
}

/// [`describe_node`] of `root` (as ".") and of everything beneath it, by
/// relative path, leaving out what `skip` says (and what lies beneath it).
fn deep_snapshot(root: &Path, skip: &dyn Fn(&str) -> bool) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, skip: &dyn Fn(&str) -> bool, into: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if skip(&rel) {
                continue;
            }
            into.insert(rel, describe_node(&p));
            if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                walk(&p, root, skip, into);
            }
        }
    }
    let mut out = BTreeMap::new();
    if !skip(".") {
        out.insert(".".to_string(), describe_node(root));
    }
    walk(root, root, skip, &mut out);
    out
}

/// What differs between two snapshots, one line per path.
fn differences(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|k| match (before.get(k), after.get(k)) {
            (Some(a), Some(b)) if a == b => None,
            (a, b) => Some(format!("{k}:\n    before {a:?}\n    after  {b:?}")),
        })
        .collect()
}

fn set_xattr(p: &Path, name: &str, value: &str) {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let n = CString::new(name).unwrap();
    // SAFETY: valid NUL-terminated strings and a buffer of the given length.
    let r = unsafe { libc::lsetxattr(c.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) };
    assert_eq!(r, 0, "setxattr {}: {}", p.display(), std::io::Error::last_os_error());
}

fn symlink(target: impl AsRef<Path>, at: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap_or_else(|e| panic!("symlink {}: {e}", at.display()));
    give_to_guest(at);
}

/// The directories of one attack: SRC, UP, the canaries.
struct World {
    sc: Scratch,
    src: PathBuf,
    up: PathBuf,
    canary: PathBuf,
    tmp: tempfile::TempDir,
    before: BTreeMap<String, String>,
}

/// Names both SRC and the canary hold (the canary's say "canary").
const COMMON: &[&str] =
    &["a.txt", "b.txt", "c.txt", "x", "file", "d/inner.txt", "d/sub/deep.txt", "e/only.txt", "empty/"];

impl World {
    /// SRC with [`COMMON`] and `more` (a name ending in `/` is a
    /// directory), every file with a `user.keep` attribute, and the
    /// canaries; all owned by the guest user. Takes the "before" snapshot
    /// after `prepare` (which may lay out UP or add special files).
    fn new(more: &[(&str, &str)], prepare: impl FnOnce(&World)) -> World {
        let sc = Scratch::new();
        let src = sc.join("box/src");
        let canary = sc.join("canary");
        let up = sc.join("up");
        let tmp = tempfile::Builder::new().prefix("condo-ovl-canary-").tempdir_in("/tmp").expect("a /tmp canary");
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for root in [&src, &canary, &tmp.path().to_path_buf()] {
            let kind = if *root == src { "source" } else { "canary" };
            let files = COMMON.iter().map(|n| (*n, "")).chain(more.iter().copied());
            for (name, body) in files {
                let p = root.join(name);
                if let Some(dir) = name.strip_suffix('/') {
                    std::fs::create_dir_all(root.join(dir)).unwrap();
                    continue;
                }
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                let body = if body.is_empty() { format!("{kind} {name}\n") } else { body.to_string() };
                std::fs::write(&p, body).unwrap();
                set_xattr(&p, "user.keep", kind);
            }
            set_xattr(&root.join("d"), "user.keep", kind);
            give_tree_to_guest(root);
        }
        give_tree_to_guest(&sc.join("box"));
        let mut w = World { sc, src, up, canary, tmp, before: BTreeMap::new() };
        prepare(&w);
        w.before = w.outside();
        w
    }

    /// Everything the guest must not change: SC but UP, and the /tmp canary.
    fn outside(&self) -> BTreeMap<String, String> {
        let mut all = deep_snapshot(self.sc.path(), &|rel| rel == "." || rel == "up" || rel.starts_with("up/"));
        for (k, v) in deep_snapshot(self.tmp.path(), &|_| false) {
            all.insert(format!("/tmp canary/{k}"), v);
        }
        all
    }

    /// Asserts that nothing outside UP changed.
    #[track_caller]
    fn assert_outside_unchanged(&self, what: &str, out: &Out) {
        let diff = differences(&self.before, &self.outside());
        assert!(
            diff.is_empty(),
            "{what}: the source or a canary outside the upper directory changed:\n{}\n{out:?}",
            diff.join("\n")
        );
    }

    fn s(&self, p: &Path) -> String {
        s(p).to_string()
    }

    /// The arguments every script gets: SRC, CANARY, TMP CANARY, UP, as
    /// host paths.
    fn paths(&self) -> Vec<String> {
        vec![self.s(&self.src), self.s(&self.canary), self.s(self.tmp.path()), self.s(&self.up)]
    }

    /// `sandbox-run --overlay SRC /work --upper UP EXTRA -- python3 -c
    /// PRELUDE+SCRIPT SRC CANARY TMP UP ARGS...`.
    fn guest(&self, extra: &[&str], script: &str, args: &[&str]) -> Out {
        let src = self.s(&self.src);
        let up = self.s(&self.up);
        let program = format!("{PRELUDE}{script}");
        let mut argv: Vec<String> = vec!["--overlay".into(), src, "/work".into(), "--upper".into(), up];
        argv.extend(extra.iter().map(|a| a.to_string()));
        argv.extend(["--".into(), "python3".into(), "-c".into(), program]);
        argv.extend(self.paths());
        argv.extend(args.iter().map(|a| a.to_string()));
        run(&mut sandbox_raw(&self.sc, &argv))
    }
}

/// Python helpers every guest script starts with. `t(name, f)` prints
/// `name ok` or `name ERRNO`.
const PRELUDE: &str = r#"
import os, sys, errno, ctypes, time, socket, mmap
libc = ctypes.CDLL(None, use_errno=True)
SRC, CAN, TMPC, UP = sys.argv[1:5]
ARGS = sys.argv[5:]
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_SYMLINK_FOLLOW = 0x400
RENAME_EXCHANGE = 2
def _chk(r):
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
def renameat2(a, b, flags):
    _chk(libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags))
def fchmodat2(fd, path, mode, flags):
    _chk(libc.syscall(452, fd, path.encode(), mode, flags))
def utimensat(fd, path, sec, flags):
    ts = (ctypes.c_long * 4)(sec, 0, sec, 0)
    _chk(libc.utimensat(fd, path.encode(), ts, flags))
def fchownat(fd, path, flags):
    _chk(libc.fchownat(fd, path.encode(), -1, -1, flags))
def linkat(ofd, old, new, flags):
    _chk(libc.linkat(ofd, old.encode(), AT_FDCWD, new.encode(), flags))
def bind_unix(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(path)
    finally:
        s.close()
def append(path, data=b'PWNED\n', dir_fd=None):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND, dir_fd=dir_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
def create(path, data=b'PWNED\n', dir_fd=None):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dir_fd)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
def res(f):
    try:
        f()
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
def t(name, f):
    print(name, res(f), flush=True)
def retry(f, n):
    # The first 'ok' of up to n tries, else the last error.
    for _ in range(n):
        r = res(f)
        if r == 'ok':
            break
    return r
def tr(name, f, n):
    print(name, retry(f, n), flush=True)
def say(*words):
    # One write(2), so that lines of concurrent processes never mix.
    os.write(1, (' '.join(str(w) for w in words) + '\n').encode())
"#;

/// The `name result` lines a guest printed with `t`.
fn results(out: &Out) -> BTreeMap<String, String> {
    out.out()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, r)| *r == "ok" || r.starts_with('E'))
        .map(|(n, r)| (n.to_string(), r.to_string()))
        .collect()
}

/// Asserts that the guest printed exactly the names of `want`, each with
/// one of the results `want` allows (`"EROFS|EXDEV"`).
#[track_caller]
fn assert_results(out: &Out, want: &[(&str, &str)]) {
    let got = results(out);
    let mut wrong = Vec::new();
    for (name, allowed) in want {
        match got.get(*name) {
            Some(r) if allowed.split('|').any(|a| a == r) => {}
            Some(r) => wrong.push(format!("{name}: got {r}, want {allowed}")),
            None => wrong.push(format!("{name}: not run")),
        }
    }
    let known: BTreeSet<&str> = want.iter().map(|(n, _)| *n).collect();
    for name in got.keys().filter(|n| !known.contains(n.as_str())) {
        wrong.push(format!("{name}: unexpected result {}", got[name]));
    }
    assert!(wrong.is_empty(), "the guest saw:\n{}\n{out:?}", wrong.join("\n"));
}

/// The numbers a race guest printed on its `counts` line(s), summed by name.
fn counts(out: &Out) -> BTreeMap<String, i64> {
    let mut c = BTreeMap::new();
    for line in out.out().lines().filter(|l| l.starts_with("counts ")) {
        let words: Vec<&str> = line.split(' ').skip(1).collect();
        for pair in words.chunks(2).filter(|p| p.len() == 2) {
            *c.entry(pair[0].to_string()).or_insert(0) += pair[1].parse::<i64>().unwrap_or(-1_000_000);
        }
    }
    c
}

/// The upper directory's nodes by kind: `file`, `dir`, `whiteout`,
/// `symlink:TARGET`, or the file type.
fn upper_kinds(up: &Path) -> BTreeMap<String, String> {
    deep_snapshot(up, &|rel| rel == ".")
        .keys()
        .map(|rel| {
            let p = up.join(rel);
            let m = std::fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let kind = if ft.is_char_device() && m.rdev() == 0 {
                "whiteout".to_string()
            } else if ft.is_symlink() {
                format!("symlink:{}", std::fs::read_link(&p).unwrap().display())
            } else if ft.is_char_device() || ft.is_block_device() {
                format!("{} {:x}", kind_name(ft), m.rdev())
            } else {
                kind_name(ft).to_string()
            };
            (rel.clone(), kind)
        })
        .collect()
}

// ---- 1. races: a directory swapped for a symlink under the supervisor -----------------------------

/// A swapper process exchanges an upper-only directory `n` with symlinks
/// (RENAME_EXCHANGE, atomic) pointing at SRC's, the canary's, UP's and the
/// /tmp canary's host paths, absolute and relative (`../canary` is the
/// canary when followed from UP on the host), and tries to exchange the
/// source directory `d` too. Two worker processes meanwhile make, change,
/// link and rename names below `n` and copy up source files into it, as
/// fast as they can. A supervisor that resolved `n/...` twice, or followed
/// a symlink of the upper directory, would write through one of the links.
///
/// Today one notify worker answers every one of these calls, so a swap
/// lands between two calls, never inside one: this is the guard for the
/// day it can (more workers), and for any path that is resolved outside
/// the worker. The test after it races the one such path there is now.
const SWAP_RACE: &str = r#"
DUR = float(ARGS[0])
# The swapper runs DUR seconds and at least MIN flips (at most 4 DUR
# seconds), then raises STOP, shared with the workers across fork.
MIN = 400
STOP = mmap.mmap(-1, 1)
os.chdir('/work')
os.mkdir('n')
os.mkdir('n/deep')
create('n/x', b'x\n')
targets = [SRC, CAN, TMPC, UP, '../canary', '../box/src', CAN + '/d', SRC + '/d', '../../canary']
for i, tg in enumerate(targets):
    os.symlink(tg, 'l%d' % i)
start = time.time() + 0.2

def swapper():
    flips = refused = dmoved = 0
    k = 0
    time.sleep(max(0, start - time.time()))
    end = start + DUR
    while (time.time() < end or flips < MIN) and time.time() < start + 4 * DUR:
        name = 'l%d' % (k % len(targets))
        k += 1
        for _ in range(2):
            r = res(lambda: renameat2('n', name, RENAME_EXCHANGE))
            if r == 'ok':
                flips += 1
            else:
                refused += 1
        # The source directory never moves (EXDEV), whatever it meets.
        for a, b in (('d', name), (name, 'd'), ('d', 'n')):
            if res(lambda: renameat2(a, b, RENAME_EXCHANGE)) != 'EXDEV':
                dmoved += 1
    STOP[0] = 1
    say('counts flips', flips, 'refused', refused, 'dmoved', dmoved)

def worker(w):
    ok = fail = tries = 0
    i = 0
    ops = [
        lambda i: create('n/c%d-%d' % (w, i)),
        lambda i: os.mkdir('n/deep/m%d-%d' % (w, i)),
        lambda i: os.symlink('PWNED', 'n/s%d-%d' % (w, i)),
        lambda i: append('n/x'),
        lambda i: os.chmod('n/x', 0o600 | (i & 0o44)),
        lambda i: os.utime('n/x', (i, i)),
        lambda i: os.truncate('n/x', 2),
        lambda i: os.setxattr('n/x', 'user.pwn', b'%d' % i),
        lambda i: os.link('w%d/r%03d' % (w, i % 150), 'n/l%d-%d' % (w, i)),
        lambda i: os.rename('w%d/f%03d' % (w, i % 150), 'n/deep/r%d-%d' % (w, i)),
        lambda i: os.mkfifo('n/p%d-%d' % (w, i)),
        lambda i: bind_unix('n/k%d-%d' % (w, i)),
        lambda i: os.unlink('n/c%d-%d' % (w, i - 12)),
        lambda i: os.rename('n/x', 'n/deep/x') if i % 2 else os.rename('n/deep/x', 'n/x'),
        lambda i: append('d/inner.txt'),
        lambda i: os.chmod('d/sub/deep.txt', 0o600 | (i & 0o44)),
        lambda i: os.rmdir('n/deep/m%d-%d' % (w, i - 15)),
    ]
    time.sleep(max(0, start - time.time()))
    while not STOP[0]:
        try:
            ops[i % len(ops)](i)
            ok += 1
        except OSError:
            fail += 1
        tries += 1
        i += 1
    say('counts tries', tries, 'ok', ok, 'fail', fail)

pids = []
for role in (swapper, lambda: worker(0), lambda: worker(1)):
    pid = os.fork()
    if pid == 0:
        try:
            role()
        finally:
            os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
print('done')
"#;

#[test]
fn ovl_attack_dir_swapped_for_symlinks_during_copy_ups_and_creates() {
    let mut more: Vec<(String, String)> = Vec::new();
    for w in 0..2 {
        for i in 0..150 {
            more.push((format!("w{w}/r{i:03}"), format!("r{i}\n")));
            more.push((format!("w{w}/f{i:03}"), format!("f{i}\n")));
        }
    }
    let more: Vec<(&str, &str)> = more.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let world = World::new(&more, |_| {});
    let out = world.guest(&[], SWAP_RACE, &["1.8"]);
    out.assert_code(0);
    assert!(out.out().ends_with("done\n"), "{out:?}");
    world.assert_outside_unchanged("swap race", &out);
    let c = counts(&out);
    // The race ran: both states of `n` were met, thousands of times
    // (some 1000 flips and 5000 tries on an idle 2-core VM; the swapper
    // goes on until 400 flips on a loaded one).
    assert!(c.get("flips").is_some_and(|&f| f >= 400), "the swapper hardly ran: {c:?}\n{out:?}");
    assert!(c.get("tries").is_some_and(|&t| t >= 400), "the workers hardly ran: {c:?}\n{out:?}");
    assert!(c.get("ok").is_some_and(|&o| o >= 50), "no change ever worked: {c:?}\n{out:?}");
    assert!(c.get("fail").is_some_and(|&f| f >= 50), "the swapped state was never met: {c:?}\n{out:?}");
    assert_eq!(c.get("dmoved"), Some(&0), "a source directory was exchanged: {c:?}\n{out:?}");
    eprintln!("swap race: {c:?}");
    // The symlinks the swapper made are still the ones it made, in UP.
    let kinds = upper_kinds(&world.up);
    let links = kinds.values().filter(|k| k.starts_with("symlink:/") || k.starts_with("symlink:../")).count();
    assert_eq!(links, 9, "{kinds:#?}");
}

/// The documented O_PATH window: an `O_PATH` open is translated by the
/// tracer and walked by the kernel, so a guest swapping `n` for a symlink
/// meanwhile gets an fd of a node outside the view. Whatever it gets, the
/// changes it then asks for through that fd (`fchmodat2`, `utimensat`,
/// `fchownat` with `AT_EMPTY_PATH`, a reopen for writing, `setxattr` and
/// `truncate` on `/proc/self/fd/N`, a hard link of it) must not reach
/// anything outside UP.
const OPATH_RACE: &str = r#"
DUR = float(ARGS[0])
MIN = 400
STOP = mmap.mmap(-1, 1)
os.chdir('/work')
os.mkdir('n')
create('n/x', b'x\n')
xino = os.stat('n/x').st_ino
targets = [CAN, SRC, TMPC, '../canary', '../box/src']
for i, tg in enumerate(targets):
    os.symlink(tg, 'l%d' % i)
os.mkdir('links')
start = time.time() + 0.2

def swapper():
    flips = 0
    k = 0
    time.sleep(max(0, start - time.time()))
    end = start + DUR
    while (time.time() < end or flips < MIN) and time.time() < start + 4 * DUR:
        name = 'l%d' % (k % len(targets))
        k += 1
        for _ in range(2):
            if res(lambda: renameat2('n', name, RENAME_EXCHANGE)) == 'ok':
                flips += 1
    STOP[0] = 1
    say('counts flips', flips)

# The inodes of the x files of the canaries, and of SRC (an fd of a
# source file is mapped back to the overlay's copy: changes through it
# are the overlay's).
canary_inos = set(int(a) for a in ARGS[1:])
src_ino = os.stat(SRC + '/x').st_ino

def worker(w):
    tries = canary = source = changed = 0
    i = 0
    time.sleep(max(0, start - time.time()))
    while not STOP[0]:
        tries += 1
        i += 1
        try:
            fd = os.open('n/x', os.O_PATH)
        except OSError:
            continue
        try:
            ino = os.fstat(fd).st_ino
            if ino == src_ino:
                source += 1
            if ino not in canary_inos:
                continue
            canary += 1
            p = '/proc/self/fd/%d' % fd
            for f in (
                lambda: fchmodat2(fd, '', 0o777, AT_EMPTY_PATH),
                lambda: utimensat(fd, '', 7, AT_EMPTY_PATH),
                lambda: fchownat(fd, '', AT_EMPTY_PATH),
                lambda: append(p),
                lambda: os.setxattr(p, 'user.pwn', b'1'),
                lambda: os.truncate(p, 0),
                lambda: linkat(AT_FDCWD, p, 'links/%d-%d' % (w, i), AT_SYMLINK_FOLLOW),
            ):
                if res(f) == 'ok':
                    changed += 1
        finally:
            os.close(fd)
    say('counts tries', tries, 'canary', canary, 'source', source, 'changed', changed)

pids = []
for role in (swapper, lambda: worker(0), lambda: worker(1)):
    pid = os.fork()
    if pid == 0:
        try:
            role()
        finally:
            os._exit(0)
    pids.append(pid)
for pid in pids:
    os.waitpid(pid, 0)
print('done')
"#;

#[test]
fn ovl_attack_opath_fd_won_in_a_race_changes_nothing_outside() {
    let world = World::new(&[], |_| {});
    let ino = |p: PathBuf| std::fs::symlink_metadata(p).unwrap().ino().to_string();
    let (can, tmp) = (ino(world.canary.join("x")), ino(world.tmp.path().join("x")));
    let out = world.guest(&[], OPATH_RACE, &["1.5", &can, &tmp]);
    out.assert_code(0);
    assert!(out.out().ends_with("done\n"), "{out:?}");
    world.assert_outside_unchanged("O_PATH race", &out);
    let c = counts(&out);
    assert!(c.get("flips").is_some_and(|&f| f >= 400), "the swapper hardly ran: {c:?}\n{out:?}");
    assert!(c.get("tries").is_some_and(|&t| t >= 400), "the workers hardly ran: {c:?}\n{out:?}");
    // An fd of a canary's node was won now and then (the documented
    // window); none of the changes asked through it may have worked.
    assert!(c.get("canary").is_some_and(|&n| n > 0), "the window was never hit: {c:?}\n{out:?}");
    assert_eq!(c.get("changed"), Some(&0), "a change through an escaped O_PATH fd worked: {c:?}\n{out:?}");
    eprintln!("O_PATH race: {c:?}");
}

// ---- 2. symlinks in the overlay to the host paths of SRC, UP and the canaries ---------------------

/// Symlinks made in the overlay point at host paths: SRC, UP, the canary
/// (absolute, shown read-only by the default view), the /tmp canary
/// (absolute, the private /tmp hides it) and `../canary`, `../box/src`
/// (relative: in the view they climb to `/`, on the host from UP they
/// reach the canary and SRC). Every kind of change is tried through each.
const THROUGH_LINKS: &str = r#"
os.chdir('/work')
append('a.txt', b'copied up\n')
links = {'src': SRC, 'up': UP, 'can': CAN, 'tmp': TMPC, 'relcan': '../canary', 'relsrc': '../box/src'}
for k, tg in links.items():
    os.symlink(tg, 'to' + k)
os.symlink(SRC + '/b.txt', 'srcfile')
os.symlink(CAN + '/b.txt', 'canfile')
os.symlink('../canary/b.txt', 'relcanfile')
for k in links:
    L = 'to' + k
    t(k + '-append', lambda: append(L + '/a.txt'))
    t(k + '-trunc-open', lambda: os.close(os.open(L + '/b.txt', os.O_RDWR | os.O_TRUNC)))
    t(k + '-create', lambda: create(L + '/new.txt'))
    t(k + '-mkdir', lambda: os.mkdir(L + '/newdir'))
    t(k + '-chmod', lambda: os.chmod(L + '/a.txt', 0o777))
    t(k + '-utime', lambda: os.utime(L + '/a.txt', (1, 1)))
    t(k + '-chown', lambda: os.chown(L + '/a.txt', -1, -1))
    t(k + '-truncate', lambda: os.truncate(L + '/c.txt', 0))
    t(k + '-setxattr', lambda: os.setxattr(L + '/a.txt', 'user.pwn', b'1'))
    t(k + '-removexattr', lambda: os.removexattr(L + '/x', 'user.keep'))
    t(k + '-unlink', lambda: os.unlink(L + '/x'))
    t(k + '-rmdir', lambda: os.rmdir(L + '/empty'))
    t(k + '-rename-in', lambda: os.rename(L + '/file', L + '/file2'))
    t(k + '-rename-out', lambda: os.rename(L + '/file', 'stolen-' + k))
    t(k + '-rename-into', lambda: os.rename('c.txt', L + '/planted'))
    t(k + '-link-out', lambda: os.link(L + '/file', 'linked-' + k))
    t(k + '-link-into', lambda: os.link('c.txt', L + '/planted-link'))
    t(k + '-symlink', lambda: os.symlink('PWNED', L + '/sl'))
    t(k + '-mkfifo', lambda: os.mkfifo(L + '/fifo'))
    t(k + '-bind', lambda: bind_unix(L + '/sock'))
    t(k + '-deep-append', lambda: append(L + '/d/inner.txt'))
    t(k + '-deep-mkdir', lambda: os.mkdir(L + '/d/sub/made'))
    def in_cwd():
        os.chdir(L)
        try:
            append('d/sub/deep.txt')
        finally:
            os.chdir('/work')
    t(k + '-cwd-append', in_cwd)
for f in ('srcfile', 'canfile', 'relcanfile'):
    t(f + '-append', lambda: append(f))
    t(f + '-chmod', lambda: os.chmod(f, 0o777))
    t(f + '-utime', lambda: os.utime(f, (1, 1)))
    t(f + '-truncate', lambda: os.truncate(f, 0))
    t(f + '-setxattr', lambda: os.setxattr(f, 'user.pwn', b'1'))
    t(f + '-link', lambda: linkat(AT_FDCWD, f, f + '-hard', AT_SYMLINK_FOLLOW))
print('view', sorted(os.listdir('.')))
"#;

#[test]
fn ovl_attack_symlinks_to_host_paths_of_source_upper_and_canaries() {
    let world = World::new(&[], |_| {});
    let out = world.guest(&[], THROUGH_LINKS, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("writes through symlinks", &out);
    // Absolute host paths the default view shows read-only: EROFS (EXDEV
    // where a name would cross from the overlay to them). The relative
    // ones and the /tmp canary name nothing in the view: ENOENT.
    let mut want: Vec<(String, &str)> = Vec::new();
    for (k, missing) in
        [("src", false), ("up", false), ("can", false), ("tmp", true), ("relcan", true), ("relsrc", true)]
    {
        let ro = if missing { "ENOENT" } else { "EROFS" };
        for op in [
            "append",
            "trunc-open",
            "create",
            "mkdir",
            "chmod",
            "utime",
            "chown",
            "truncate",
            "setxattr",
            "removexattr",
            "unlink",
            "rmdir",
            "rename-in",
            "symlink",
            "mkfifo",
            "bind",
            "deep-append",
            "deep-mkdir",
            "cwd-append",
        ] {
            want.push((format!("{k}-{op}"), ro));
        }
        for op in ["rename-out", "rename-into", "link-out"] {
            want.push((format!("{k}-{op}"), if missing { "ENOENT" } else { "EXDEV" }));
        }
        // (Into a read-only place: EROFS first, as the kernel says.)
        want.push((format!("{k}-link-into"), if missing { "ENOENT" } else { "EROFS" }));
    }
    // UP's host path is read-only in the view too, but holds only what
    // was made or copied up so far (a.txt, the links, d/sub/deep.txt by
    // src-cwd-append): the other names are ENOENT there.
    for op in [
        "trunc-open",
        "truncate",
        "removexattr",
        "unlink",
        "rmdir",
        "rename-in",
        "rename-out",
        "link-out",
        "deep-append",
    ] {
        let name = format!("up-{op}");
        want.iter_mut().find(|(n, _)| *n == name).unwrap().1 = "ENOENT";
    }
    // A cwd at SRC's (or UP's) host path maps back to the overlay's
    // root, as an fd of a source file maps back to its overlay path: a
    // relative write from there changes the overlay's copy (in UP), not
    // SRC.
    for k in ["src", "up"] {
        let name = format!("{k}-cwd-append");
        want.iter_mut().find(|(n, _)| *n == name).unwrap().1 = "ok";
    }
    for f in ["srcfile", "canfile"] {
        for op in ["append", "chmod", "utime", "truncate", "setxattr"] {
            want.push((format!("{f}-{op}"), "EROFS"));
        }
        want.push((format!("{f}-link"), "EXDEV"));
    }
    for op in ["append", "chmod", "utime", "truncate", "setxattr", "link"] {
        want.push((format!("relcanfile-{op}"), "ENOENT"));
    }
    let want: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    assert_results(&out, &want);
    // Nothing was planted through the links; UP holds the links and the copy.
    let kinds = upper_kinds(&world.up);
    let names: BTreeSet<&str> = kinds.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "a.txt",
        "d",
        "d/sub",
        "d/sub/deep.txt",
        "tosrc",
        "toup",
        "tocan",
        "totmp",
        "torelcan",
        "torelsrc",
        "srcfile",
        "canfile",
        "relcanfile",
    ]
    .into_iter()
    .collect();
    assert_eq!(names, expected, "{kinds:#?}\n{out:?}");
}

// ---- 3. an fd held below a directory the guest then replaces by a symlink ------------------------

/// fds of source files and directories the guest opened (through the
/// overlay, through SRC's host path, `O_PATH`, its cwd) map back to
/// guest paths by their host path, *without* resolving the view again.
/// Here the guest then removes `d` (and `a/b`) from the view and puts
/// symlinks there, to the canary's host path and to `../canary`, which
/// from UP on the host is the canary. Changes asked through the old fds
/// must land nowhere outside UP.
const FD_BELOW_SWAPPED: &str = r#"
os.chdir('/work')
def clear_d():
    os.unlink('/work/d/inner.txt')
    os.unlink('/work/d/sub/deep.txt')
    os.rmdir('/work/d/sub')
    os.rmdir('/work/d')
def clear_ab():
    os.unlink('/work/a/b/c/leaf.txt')
    os.rmdir('/work/a/b/c')
    os.rmdir('/work/a/b')
for round, (d_target, ab_target) in enumerate(((CAN, CAN), ('../canary', '../../canary'))):
    fds = {
        'host': os.open(SRC + '/d/inner.txt', os.O_RDONLY),
        'view': os.open('/work/d/sub/deep.txt', os.O_RDONLY),
        'leaf': os.open('/work/a/b/c/leaf.txt', os.O_RDONLY),
        'dir': os.open('/work/d', os.O_RDONLY | os.O_DIRECTORY),
        'subdir': os.open('/work/d/sub', os.O_RDONLY | os.O_DIRECTORY),
    }
    opath = os.open('/work/d/inner.txt', os.O_PATH)
    # The cwd too: in round one the source's d/sub, in round two the
    # upper directory made for it in round one.
    os.chdir('/work/d/sub')
    clear_d()
    clear_ab()
    os.symlink(d_target, '/work/d')
    os.symlink(ab_target, '/work/a/b')
    r = 'r%d-' % round
    for name, fd in fds.items():
        t(r + name + '-fchmod', lambda: os.fchmod(fd, 0o777))
        t(r + name + '-futimens', lambda: os.utime(fd, (7, 7)))
        t(r + name + '-fchown', lambda: os.fchown(fd, -1, -1))
        t(r + name + '-fsetxattr', lambda: os.setxattr(fd, 'user.pwn', b'1'))
        t(r + name + '-fremovexattr', lambda: os.removexattr(fd, 'user.keep'))
        t(r + name + '-reopen', lambda: append('/proc/self/fd/%d' % fd) if name not in ('dir', 'subdir')
          else create('/proc/self/fd/%d/planted' % fd))
    for name in ('dir', 'subdir'):
        fd = fds[name]
        t(r + name + '-openat-create', lambda: create('planted', dir_fd=fd))
        t(r + name + '-openat-append', lambda: append('inner.txt' if name == 'dir' else 'deep.txt', dir_fd=fd))
        t(r + name + '-mkdirat', lambda: os.mkdir('made', dir_fd=fd))
        t(r + name + '-unlinkat', lambda: os.unlink('inner.txt' if name == 'dir' else 'deep.txt', dir_fd=fd))
    t(r + 'opath-fchmodat2', lambda: fchmodat2(opath, '', 0o777, AT_EMPTY_PATH))
    t(r + 'opath-utimensat', lambda: utimensat(opath, '', 7, AT_EMPTY_PATH))
    t(r + 'opath-fchownat', lambda: fchownat(opath, '', AT_EMPTY_PATH))
    t(r + 'opath-reopen', lambda: append('/proc/self/fd/%d' % opath))
    t(r + 'opath-link', lambda: linkat(AT_FDCWD, '/proc/self/fd/%d' % opath, '/work/linked-%d' % round,
                                      AT_SYMLINK_FOLLOW))
    t(r + 'cwd-append', lambda: append('deep.txt'))
    t(r + 'cwd-create', lambda: create('planted'))
    t(r + 'cwd-mkdir', lambda: os.mkdir('made'))
    os.chdir('/work')
    for fd in list(fds.values()) + [opath]:
        os.close(fd)
    # Back to directories for the next round: d and a/b made again,
    # with the source's names (new upper files).
    os.unlink('/work/d')
    os.unlink('/work/a/b')
    os.makedirs('/work/d/sub')
    os.makedirs('/work/a/b/c')
    for p in ('d/inner.txt', 'd/sub/deep.txt', 'a/b/c/leaf.txt'):
        create('/work/' + p, b'new\n')
print('view', sorted(os.listdir('/work/d')), open('/work/d/inner.txt').read().strip())
"#;

#[test]
fn ovl_attack_fds_held_below_a_directory_replaced_by_a_symlink() {
    // The canary also has the names a path followed through the symlinks
    // from UP would meet: inner.txt, sub/deep.txt, c/leaf.txt.
    let more = [("a/b/c/leaf.txt", ""), ("c/leaf.txt", ""), ("inner.txt", ""), ("sub/deep.txt", "")];
    let world = World::new(&more, |_| {});
    let out = world.guest(&[], FD_BELOW_SWAPPED, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("fds below a swapped directory", &out);
    // What the guest sees. Round one: the fds are of source nodes whose
    // guest path now lies beneath an upper symlink, which the supervisor
    // does not follow, or, for the fd of `d` itself, is that symlink, a
    // node other than the fd's: ENOENT (a change through an fd never
    // lands on whatever took its node's name), reopening it through /proc
    // too (that would be the canary, which the fd does not hold). Round two:
    // the fds are of upper nodes made in round one and since removed,
    // which may still be changed (they are UP's), and a file reopened
    // through its link, as natively (a directory has no names left).
    let mut want: Vec<(String, &str)> = Vec::new();
    let ops = ["fchmod", "futimens", "fchown", "fsetxattr", "fremovexattr", "reopen"];
    for name in ["host", "view", "leaf", "dir", "subdir"] {
        for op in ops {
            let r0 = "ENOENT";
            let r1 = match (name, op) {
                ("view" | "leaf", "reopen") => "ok",
                ("host", _) | (_, "reopen") => "ENOENT",
                (_, "fremovexattr") => "ENODATA",
                _ => "ok",
            };
            want.push((format!("r0-{name}-{op}"), r0));
            want.push((format!("r1-{name}-{op}"), r1));
        }
    }
    for r in ["r0-", "r1-"] {
        for name in ["dir", "subdir"] {
            for op in ["openat-create", "openat-append", "mkdirat", "unlinkat"] {
                want.push((format!("{r}{name}-{op}"), "ENOENT"));
            }
        }
        for op in ["cwd-append", "cwd-create", "cwd-mkdir"] {
            want.push((format!("{r}{op}"), "ENOENT"));
        }
    }
    for (op, r0, r1) in [
        ("fchmodat2", "ENOENT", "ok"),
        ("utimensat", "ENOENT", "ok"),
        ("fchownat", "ENOENT", "ok"),
        ("reopen", "ENOENT", "ok"),
        ("link", "ENOENT", "ENOENT"),
    ] {
        want.push((format!("r0-opath-{op}"), r0));
        want.push((format!("r1-opath-{op}"), r1));
    }
    let want: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    assert_results(&out, &want);
    assert!(out.out().contains("view ['inner.txt', 'sub'] new"), "{out:?}");
}

// ---- 4. hard links and renames across mounts, merged directories ----------------------------------

const ACROSS: &str = r#"
os.chdir('/work')
create('/tmp/t', b't\n')
os.mkdir('newdir')
os.mkdir('newdir2')
fcan = os.open(CAN + '/file', os.O_RDONLY)
fsrc = os.open(SRC + '/a.txt', os.O_RDONLY)
fview = os.open('/work/b.txt', os.O_RDONLY)
t('link-to-tmp', lambda: os.link('a.txt', '/tmp/a'))
t('link-from-tmp', lambda: os.link('/tmp/t', 'from-tmp'))
t('link-from-src-host-path', lambda: os.link(SRC + '/a.txt', 'from-src'))
t('link-from-canary', lambda: os.link(CAN + '/file', 'from-canary'))
t('link-from-up-host-path', lambda: os.link(UP + '/newdir', 'from-up'))
t('link-canary-fd-proc', lambda: linkat(AT_FDCWD, '/proc/self/fd/%d' % fcan, 'via-proc-canary', AT_SYMLINK_FOLLOW))
t('link-canary-fd-empty-path', lambda: linkat(fcan, '', 'via-empty-canary', AT_EMPTY_PATH))
t('link-src-fd-empty-path', lambda: linkat(fsrc, '', 'via-empty-src', AT_EMPTY_PATH))
t('link-src-fd-proc', lambda: linkat(AT_FDCWD, '/proc/self/fd/%d' % fsrc, 'via-proc-src', AT_SYMLINK_FOLLOW))
t('link-view-fd-proc', lambda: linkat(AT_FDCWD, '/proc/self/fd/%d' % fview, 'newdir/via-proc-view', AT_SYMLINK_FOLLOW))
t('write-via-proc-links', lambda: (append('via-proc-src'), append('newdir/via-proc-view')))
t('link-in-overlay', lambda: os.link('c.txt', 'd/c-link'))
t('write-via-link', lambda: append('d/c-link'))
t('link-dir', lambda: os.link('d', 'd-link'))
t('rename-to-tmp', lambda: os.rename('x', '/tmp/x'))
t('rename-from-tmp', lambda: os.rename('/tmp/t', 'from-tmp'))
t('rename-from-canary', lambda: os.rename(CAN + '/file', 'stolen'))
t('rename-to-canary', lambda: os.rename('file', CAN + '/planted'))
t('rename-from-src-host-path', lambda: os.rename(SRC + '/file', 'stolen2'))
t('rename-dir-to-tmp', lambda: os.rename('newdir2', '/tmp/newdir2'))
t('rename-source-dir', lambda: os.rename('d', 'd2'))
t('rename-source-subdir', lambda: os.rename('d/sub', 'sub2'))
t('rename-empty-source-dir', lambda: os.rename('empty', 'empty2'))
t('exchange-source-dir-with-new', lambda: renameat2('d', 'newdir', RENAME_EXCHANGE))
t('exchange-new-with-source-dir', lambda: renameat2('newdir', 'd', RENAME_EXCHANGE))
t('exchange-file-with-source-dir', lambda: renameat2('a.txt', 'e', RENAME_EXCHANGE))
t('rename-new-over-source-dir', lambda: os.rename('newdir2', 'd'))
t('rename-into-itself', lambda: os.rename('newdir2', 'newdir2/inside'))
t('rename-mount-root', lambda: os.rename('/work', '/work2'))
t('rename-onto-mount-root', lambda: os.rename('newdir2', '/work'))
t('rmdir-mount-root', lambda: os.rmdir('/work'))
t('unlink-mount-root', lambda: os.unlink('/work'))
t('rmdir-merged-nonempty', lambda: os.rmdir('d'))
t('rmdir-lower-only-nonempty', lambda: os.rmdir('e'))
def mixed():
    create('d/sub/mine.txt')
    os.unlink('d/sub/deep.txt')
    os.rmdir('d/sub')
t('rmdir-upper-name-left', mixed)
t('rmdir-after-emptying', lambda: (os.unlink('e/only.txt'), os.rmdir('e')))
t('rmdir-empty-source-dir', lambda: os.rmdir('empty'))
t('move-file-within', lambda: os.rename('d/inner.txt', 'newdir/inner.txt'))
t('move-new-dir-into-source-dir', lambda: os.rename('newdir', 'd/sub/newdir'))
t('exchange-files', lambda: renameat2('a.txt', 'b.txt', RENAME_EXCHANGE))
print('view', sorted(os.listdir('.')), sorted(os.listdir('d')), sorted(os.listdir('d/sub')))
print('content', open('a.txt').read().strip(), '|', open('b.txt').read().strip(), '|', open('d/c-link').read().strip())
"#;

#[test]
fn ovl_attack_links_and_renames_across_mounts_and_merged_dirs() {
    let world = World::new(&[], |_| {});
    let out = world.guest(&[], ACROSS, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("links and renames", &out);
    assert_results(
        &out,
        &[
            ("link-to-tmp", "EXDEV"),
            ("link-from-tmp", "EXDEV"),
            ("link-from-src-host-path", "EXDEV"),
            ("link-from-canary", "EXDEV"),
            ("link-from-up-host-path", "EXDEV|EPERM"),
            ("link-canary-fd-proc", "EXDEV"),
            ("link-canary-fd-empty-path", "ENOENT|EXDEV|EPERM"),
            // The source file's fd maps back to its overlay path: the link
            // is of the upper copy, by its fd as through its /proc link.
            ("link-src-fd-empty-path", "ok"),
            ("link-src-fd-proc", "ok"),
            ("link-view-fd-proc", "ok"),
            ("write-via-proc-links", "ok"),
            ("link-in-overlay", "ok"),
            ("write-via-link", "ok"),
            ("link-dir", "EPERM"),
            ("rename-to-tmp", "EXDEV"),
            ("rename-from-tmp", "EXDEV"),
            ("rename-from-canary", "EXDEV"),
            ("rename-to-canary", "EXDEV"),
            ("rename-from-src-host-path", "EXDEV"),
            ("rename-dir-to-tmp", "EXDEV"),
            ("rename-source-dir", "EXDEV"),
            ("rename-source-subdir", "EXDEV"),
            ("rename-empty-source-dir", "EXDEV"),
            ("exchange-source-dir-with-new", "EXDEV"),
            ("exchange-new-with-source-dir", "EXDEV"),
            ("exchange-file-with-source-dir", "EXDEV"),
            ("rename-new-over-source-dir", "ENOTEMPTY"),
            ("rename-into-itself", "EINVAL"),
            ("rename-mount-root", "EBUSY|EXDEV"),
            ("rename-onto-mount-root", "EBUSY"),
            ("rmdir-mount-root", "EBUSY"),
            ("unlink-mount-root", "EBUSY|EISDIR"),
            ("rmdir-merged-nonempty", "ENOTEMPTY"),
            ("rmdir-lower-only-nonempty", "ENOTEMPTY"),
            ("rmdir-upper-name-left", "ENOTEMPTY"),
            ("rmdir-after-emptying", "ok"),
            ("rmdir-empty-source-dir", "ok"),
            ("move-file-within", "ok"),
            ("move-new-dir-into-source-dir", "ok"),
            ("exchange-files", "ok"),
        ],
    );
    let text = out.out();
    assert!(
        text.contains(
            "view ['a.txt', 'b.txt', 'c.txt', 'd', 'file', 'newdir2', 'via-empty-src', 'via-proc-src', 'x'] \
             ['c-link', 'sub'] ['mine.txt', 'newdir']"
        ),
        "{out:?}"
    );
    assert!(text.contains("content source b.txt\nPWNED | source a.txt\nPWNED | source c.txt\nPWNED\n"), "{out:?}");
    // The links in UP are links of upper copies: SRC's link counts are in
    // the snapshot; here, the upper files linked twice.
    let nlink = |p: &str| std::fs::symlink_metadata(world.up.join(p)).unwrap().nlink();
    assert_eq!(nlink("d/c-link"), 2);
    // (the source file copied up, and linked by its fd and through its
    // /proc link)
    assert_eq!(nlink("via-proc-src"), 3);
    assert_eq!(nlink("via-empty-src"), 3);
    assert_eq!(nlink("d/sub/newdir/via-proc-view"), 2, "{:#?}", upper_kinds(&world.up));
}

// ---- 5. changes through fds of source files -------------------------------------------------------

const THROUGH_FDS: &str = r#"
import mmap
os.chdir('/work')
ro = os.open('a.txt', os.O_RDONLY)
ro_host = os.open(SRC + '/b.txt', os.O_RDONLY)
pa = os.open('c.txt', os.O_PATH)
pa_host = os.open(SRC + '/x', os.O_PATH)
dfd = os.open('d', os.O_RDONLY | os.O_DIRECTORY)
root = os.open('/work', os.O_RDONLY | os.O_DIRECTORY)
t('write-ro', lambda: os.write(ro, b'PWNED'))
t('ftruncate-ro', lambda: os.ftruncate(ro, 0))
t('fallocate-ro', lambda: os.posix_fallocate(ro, 0, 4096))
def mm():
    m = mmap.mmap(ro, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[0:1] = b'P'
    m.close()
t('mmap-shared-write-ro', mm)
for name, fd in (('ro', ro), ('ro-host', ro_host)):
    t(name + '-fchmod', lambda: os.fchmod(fd, 0o777))
    t(name + '-futimens', lambda: os.utime(fd, (1, 1)))
    t(name + '-fchown', lambda: os.fchown(fd, -1, -1))
    t(name + '-fsetxattr', lambda: os.setxattr(fd, 'user.pwn', b'1'))
    t(name + '-fremovexattr', lambda: os.removexattr(fd, 'user.keep'))
    t(name + '-reopen-wronly', lambda: append('/proc/self/fd/%d' % fd))
    t(name + '-reopen-rdwr-trunc', lambda: os.close(os.open('/proc/self/fd/%d' % fd, os.O_RDWR | os.O_TRUNC)))
    t(name + '-truncate-proc-path', lambda: os.truncate('/proc/self/fd/%d' % fd, 1))
    t(name + '-setxattr-proc-path', lambda: os.setxattr('/proc/self/fd/%d' % fd, 'user.pwn2', b'1'))
for name, fd in (('opath', pa), ('opath-host', pa_host)):
    t(name + '-fchmod', lambda: os.fchmod(fd, 0o777))
    t(name + '-fchmodat2', lambda: fchmodat2(fd, '', 0o777, AT_EMPTY_PATH))
    t(name + '-utimensat', lambda: utimensat(fd, '', 1, AT_EMPTY_PATH))
    t(name + '-fchownat', lambda: fchownat(fd, '', AT_EMPTY_PATH))
    t(name + '-fsetxattr', lambda: os.setxattr(fd, 'user.pwn', b'1'))
    t(name + '-reopen-append', lambda: append('/proc/self/fd/%d' % fd))
    t(name + '-linkat-empty', lambda: linkat(fd, '', 'linked-' + name, AT_EMPTY_PATH))
t('dir-fchmod', lambda: os.fchmod(dfd, 0o700))
t('dir-futimens', lambda: os.utime(dfd, (1, 1)))
t('dir-fsetxattr', lambda: os.setxattr(dfd, 'user.pwn', b'1'))
t('dir-fremovexattr', lambda: os.removexattr(dfd, 'user.keep'))
t('dir-openat-create', lambda: create('made.txt', dir_fd=dfd))
t('dir-openat-append', lambda: append('inner.txt', dir_fd=dfd))
t('dir-mkdirat', lambda: os.mkdir('made', dir_fd=dfd))
t('dir-renameat', lambda: os.rename('sub/deep.txt', 'deep.txt', src_dir_fd=dfd, dst_dir_fd=dfd))
t('dir-unlinkat', lambda: os.unlink('made.txt', dir_fd=dfd))
t('root-fchmod', lambda: os.fchmod(root, 0o755))
t('root-fsetxattr', lambda: os.setxattr(root, 'user.pwn', b'1'))
t('truncate-path', lambda: os.truncate('file', 0))
t('rdonly-otrunc-open', lambda: os.close(os.open('e/only.txt', os.O_RDONLY | os.O_TRUNC)))
t('otrunc-odirectory-open', lambda: os.open('empty/../x', os.O_RDWR | os.O_TRUNC | os.O_DIRECTORY))
t('creat-existing', lambda: os.close(os.open('d/sub/deep.txt', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)))
t('chmod-mount-root', lambda: os.chmod('/work', 0o755))
t('utime-mount-root', lambda: os.utime('/work', (1, 1)))
print('sizes', [os.stat(p).st_size for p in ('a.txt', 'b.txt', 'file', 'e/only.txt', 'x')])
"#;

#[test]
fn ovl_attack_changes_through_fds_of_source_files() {
    let world = World::new(&[], |_| {});
    let out = world.guest(&[], THROUGH_FDS, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("changes through fds", &out);
    let mut want: Vec<(String, &str)> = vec![
        ("write-ro".into(), "EBADF"),
        ("ftruncate-ro".into(), "EINVAL|EBADF"),
        ("fallocate-ro".into(), "EBADF"),
        ("mmap-shared-write-ro".into(), "EACCES"),
    ];
    for name in ["ro", "ro-host"] {
        for op in [
            "fchmod",
            "futimens",
            "fchown",
            "fsetxattr",
            "reopen-wronly",
            "reopen-rdwr-trunc",
            "truncate-proc-path",
            "setxattr-proc-path",
        ] {
            want.push((format!("{name}-{op}"), "ok"));
        }
        // The copy does not keep the source's attributes (documented).
        want.push((format!("{name}-fremovexattr"), "ENODATA"));
    }
    for name in ["opath", "opath-host"] {
        for (op, r) in [
            ("fchmod", "EBADF"),
            ("fchmodat2", "ok"),
            ("utimensat", "ok"),
            ("fchownat", "ok"),
            ("fsetxattr", "EBADF"),
            ("reopen-append", "ok"),
            // As through the fd's /proc link: the upper copy is linked.
            ("linkat-empty", "ok"),
        ] {
            want.push((format!("{name}-{op}"), r));
        }
    }
    for op in [
        "dir-fchmod",
        "dir-futimens",
        "dir-fsetxattr",
        "dir-openat-create",
        "dir-openat-append",
        "dir-mkdirat",
        "dir-renameat",
        "dir-unlinkat",
        "root-fchmod",
        "root-fsetxattr",
        "truncate-path",
        "rdonly-otrunc-open",
        "creat-existing",
        "chmod-mount-root",
        "utime-mount-root",
    ] {
        want.push((op.into(), "ok"));
    }
    want.push(("dir-fremovexattr".into(), "ENODATA"));
    want.push(("otrunc-odirectory-open".into(), "ENOTDIR|EISDIR|EINVAL"));
    let want: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    assert_results(&out, &want);
    // Every change landed on the upper copies.
    assert!(out.out().contains("sizes [1, 1, 0, 0, 15]"), "{out:?}");
    assert_eq!(xattrs(&world.up.join("a.txt")), ["user.pwn2=1", "user.pwn=1"]);
    assert_eq!(xattrs(&world.up.join("d")), ["user.pwn=1"]);
    assert_eq!(std::fs::metadata(world.up.join("d")).unwrap().mode() & 0o7777, 0o700);
    assert_eq!(std::fs::metadata(world.up.join("a.txt")).unwrap().mode() & 0o7777, 0o777);
}

// ---- 6. forged whiteouts and the supervisor's own temporary names ---------------------------------

const FORGE: &str = r#"
os.chdir('/work')
pp = os.getppid()
# The supervisor's temporary whiteouts are named .condo-wh-PID-N: take
# the names it would use, as files, directories, fifos and symlinks to
# the canary.
made = []
for where in ('', 'd/'):
    for n in range(48):
        name = where + '.condo-wh-%d-%d' % (pp, n)
        kind = n % 4
        if kind == 0:
            create(name, b'mine\n')
        elif kind == 1:
            os.mkdir(name)
        elif kind == 2:
            os.mkfifo(name)
        else:
            os.symlink(CAN + '/file', name)
        made.append(name)
t('mknod-whiteout', lambda: os.mknod('wh', 0o600 | 0o020000, os.makedev(0, 0)))
t('mknod-null', lambda: os.mknod('null', 0o666 | 0o020000, os.makedev(1, 3)))
t('mknod-block', lambda: os.mknod('blk', 0o600 | 0o060000, os.makedev(7, 0)))
t('mknod-socket', lambda: os.mknod('sock', 0o600 | 0o140000))
t('mknod-whiteout-over-removed', lambda: (os.unlink('b.txt'), os.mknod('b.txt', 0o600 | 0o020000, 0)))
t('mknod-whiteout-reserved-name', lambda: os.mknod('.condo-wh-%d-999' % pp, 0o600 | 0o020000, 0))
t('mknodat-whiteout-dirfd', lambda: os.mknod('wh', 0o600 | 0o020000, 0, dir_fd=os.open('d', os.O_RDONLY)))
# Whiteouts made by the supervisor are out of the guest's reach, even by
# the upper directory's host path.
t('opath-whiteout-host', lambda: os.close(os.open(UP + '/b.txt', os.O_PATH)))
def link_whiteout():
    fd = os.open(UP + '/b.txt', os.O_PATH)
    linkat(AT_FDCWD, '/proc/self/fd/%d' % fd, 'b-again', AT_SYMLINK_FOLLOW)
t('link-whiteout-via-proc', link_whiteout)
t('open-whiteout-host', lambda: os.open(UP + '/b.txt', os.O_RDONLY))
t('stat-removed', lambda: os.stat('b.txt'))
# Removals and renames, which need temporary whiteouts: names the guest
# took are never followed, replaced or removed.
append('c.txt')
append('d/inner.txt')
t('unlink-lower', lambda: os.unlink('x'))
# The guest holds 48 names of the form the supervisor's temporary
# whiteouts once had (a counter); they must not clash with its own.
tr('unlink-copied-up', lambda: os.unlink('c.txt'), 120)
tr('unlink-copied-up-deep', lambda: os.unlink('d/inner.txt'), 120)
tr('rename-copied-up', lambda: os.rename('a.txt', 'a2.txt'), 120)
t('rmdir-with-guest-names', lambda: os.rmdir('d'))
listing = set(os.listdir('.')) | set('d/' + n for n in os.listdir('d'))
missing = [m for m in made if m not in listing]
print('missing', missing)
print('view', sorted(n for n in os.listdir('.') if not n.startswith('.condo')))
print('inner', os.path.exists('d/inner.txt'), 'c', os.path.exists('c.txt'))
"#;

#[test]
fn ovl_attack_forged_whiteouts_and_reserved_names() {
    let world = World::new(&[], |_| {});
    let out = world.guest(&[], FORGE, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("forged whiteouts", &out);
    assert_results(
        &out,
        &[
            ("mknod-whiteout", "EPERM"),
            ("mknod-null", "EPERM"),
            ("mknod-block", "EPERM"),
            ("mknod-socket", "ok"),
            ("mknod-whiteout-over-removed", "EPERM"),
            ("mknod-whiteout-reserved-name", "EPERM"),
            ("mknodat-whiteout-dirfd", "EPERM"),
            ("opath-whiteout-host", "ok"),
            ("link-whiteout-via-proc", "ENOENT"),
            ("open-whiteout-host", "ENXIO|EROFS|EACCES"),
            ("stat-removed", "ENOENT"),
            ("unlink-lower", "ok"),
            ("unlink-copied-up", "ok"),
            ("unlink-copied-up-deep", "ok"),
            ("rename-copied-up", "ok"),
            ("rmdir-with-guest-names", "ENOTEMPTY"),
        ],
    );
    let text = out.out();
    assert!(text.contains("missing []\n"), "a name the guest made vanished from its view\n{out:?}");
    // (A socket inode is no device: an unprivileged user may make one.)
    assert!(text.contains("view ['a2.txt', 'd', 'e', 'empty', 'file', 'sock']\n"), "{out:?}");
    assert!(text.contains("inner False c False\n"), "{out:?}");
    // In UP: the guest's reserved names are what it made them, and every
    // character device is a whiteout of a name the source has.
    let kinds = upper_kinds(&world.up);
    let link = format!("symlink:{}", world.canary.join("file").display());
    let mut reserved = 0;
    for (name, kind) in &kinds {
        let base = name.rsplit('/').next().unwrap();
        if let Some(n) = base.strip_prefix(".condo-wh-").and_then(|r| r.rsplit('-').next()) {
            let n: usize = n.parse().unwrap();
            let want = ["file", "dir", "fifo", &link][n % 4];
            assert_eq!(kind, want, "{name}\n{kinds:#?}");
            reserved += 1;
        } else if kind == "whiteout" {
            assert!(world.src.join(name).exists(), "a whiteout of a name the source lacks: {name}\n{kinds:#?}");
        }
        assert!(!kind.starts_with("chardev") && !kind.starts_with("blockdev"), "{name}: {kind}");
    }
    assert_eq!(reserved, 96, "{kinds:#?}");
    for gone in ["b.txt", "x", "c.txt", "d/inner.txt", "a.txt"] {
        assert_eq!(kinds.get(gone).map(String::as_str), Some("whiteout"), "{gone}\n{kinds:#?}");
    }
}

/// The supervisor once named its temporary whiteouts `.condo-wh-PID-N`
/// with a counter from 0, PID being the guest's parent: a guest that took
/// those names first made its own unlink of a copied-up source file fail
/// with `EEXIST`, which unlink(2) never returns. The names are random now
/// (and retried on a clash).
#[test]
fn ovl_attack_reserved_temp_names_do_not_break_unlink() {
    let world = World::new(&[], |_| {});
    let script = r#"
os.chdir('/work')
for n in range(8):
    create('.condo-wh-%d-%d' % (os.getppid(), n), b'mine\n')
append('a.txt')
t('unlink-copied-up', lambda: os.unlink('a.txt'))
"#;
    let out = world.guest(&[], script, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("reserved names", &out);
    assert_results(&out, &[("unlink-copied-up", "ok")]);
}

// ---- 7. an upper directory an attacker prepared outside --------------------------------------------

/// UP is made before the run, outside the sandbox, with symlinks where
/// the source has directories (to the canary's host path, to SRC's, to
/// `../canary`, which from UP is the canary, to the /tmp canary), a real
/// directory holding a symlink where the source has a file, whiteouts and
/// a replaced file. The supervisor must take them as the upper layer's
/// nodes (seen through the view, never followed on the host) when the
/// guest changes names below them.
const PREPARED: &str = r#"
os.chdir('/work')
print('links', [os.readlink(n) == v for n, v in (('d', CAN), ('e', SRC), ('f', '../canary'), ('g', TMPC))])
for L in ('d', 'e', 'f', 'g'):
    t(L + '-append', lambda: append(L + '/a.txt'))
    t(L + '-append-deep', lambda: append(L + '/d/inner.txt'))
    t(L + '-create', lambda: create(L + '/new.txt'))
    t(L + '-mkdir', lambda: os.mkdir(L + '/newdir'))
    t(L + '-chmod', lambda: os.chmod(L + '/a.txt', 0o777))
    t(L + '-utime', lambda: os.utime(L + '/a.txt', (1, 1)))
    t(L + '-truncate', lambda: os.truncate(L + '/a.txt', 0))
    t(L + '-setxattr', lambda: os.setxattr(L + '/a.txt', 'user.pwn', b'1'))
    t(L + '-unlink', lambda: os.unlink(L + '/b.txt'))
    t(L + '-rmdir', lambda: os.rmdir(L + '/empty'))
    t(L + '-rename-into', lambda: os.rename('c.txt', L + '/planted'))
    t(L + '-link-into', lambda: os.link('c.txt', L + '/planted'))
    t(L + '-symlink', lambda: os.symlink('x', L + '/sl'))
    t(L + '-bind', lambda: bind_unix(L + '/sock'))
t('h-x-append', lambda: append('h/x'))
t('h-x-chmod', lambda: os.chmod('h/x', 0o777))
t('h-x-unlink', lambda: os.unlink('h/x'))
t('h-y-stat', lambda: os.stat('h/y'))
t('w-stat', lambda: os.stat('w'))
t('w-recreate', lambda: create('w', b'again\n'))
t('k-append', lambda: append('k', b'more\n'))
t('d-replace', lambda: (os.unlink('d'), os.mkdir('d'), create('d/inner.txt', b'fresh\n')))
print('view', sorted(os.listdir('.')), sorted(os.listdir('h')), sorted(os.listdir('d')))
print('k', open('k').read().split())
"#;

#[test]
fn ovl_attack_prepared_upper_with_symlinks_out_and_whiteouts() {
    let more = [("h/x", ""), ("h/y", ""), ("w", ""), ("k", ""), ("f/only.txt", ""), ("g/only.txt", "")];
    let world = World::new(&more, |w| {
        let up = &w.up;
        std::fs::create_dir_all(up.join("h")).unwrap();
        // Where the source has directories d, e, f, g: symlinks out.
        symlink(&w.canary, &up.join("d"));
        symlink(&w.src, &up.join("e"));
        symlink("../canary", &up.join("f"));
        symlink(w.tmp.path(), &up.join("g"));
        // Where it has the file h/x: a symlink to the canary's x.
        symlink(w.canary.join("x"), &up.join("h/x"));
        for wh in ["h/y", "w"] {
            let c = CString::new(up.join(wh).as_os_str().as_bytes()).unwrap();
            // SAFETY: a valid path; a character device 0/0 (a whiteout).
            let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, 0) };
            assert_eq!(r, 0, "mknod: {}", std::io::Error::last_os_error());
        }
        std::fs::write(up.join("k"), "prepared\n").unwrap();
        give_tree_to_guest(up);
    });
    let out = world.guest(&[], PREPARED, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("prepared upper", &out);
    assert!(out.out().contains("links [True, True, True, True]"), "{out:?}");
    let mut want: Vec<(String, &str)> = Vec::new();
    // d and e are the canary's and SRC's host paths, which the default
    // view shows read-only; f (/canary in the view) and g (the private
    // /tmp) name nothing.
    for (l, missing) in [("d", false), ("e", false), ("f", true), ("g", true)] {
        for op in [
            "append",
            "append-deep",
            "create",
            "mkdir",
            "chmod",
            "utime",
            "truncate",
            "setxattr",
            "unlink",
            "rmdir",
            "symlink",
            "bind",
        ] {
            want.push((format!("{l}-{op}"), if missing { "ENOENT" } else { "EROFS" }));
        }
        // A link into a read-only place: EROFS before EXDEV, as the kernel
        // makes the new name's place first (a rename checks mounts first).
        want.push((format!("{l}-rename-into"), if missing { "ENOENT" } else { "EXDEV" }));
        want.push((format!("{l}-link-into"), if missing { "ENOENT" } else { "EROFS" }));
    }
    for (op, r) in [
        ("h-x-append", "EROFS"),
        ("h-x-chmod", "EROFS"),
        ("h-x-unlink", "ok"),
        ("h-y-stat", "ENOENT"),
        ("w-stat", "ENOENT"),
        ("w-recreate", "ok"),
        ("k-append", "ok"),
        ("d-replace", "ok"),
    ] {
        want.push((op.to_string(), r));
    }
    let want: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    assert_results(&out, &want);
    assert!(out.out().contains("k ['prepared', 'more']"), "{out:?}");
    assert!(out.out().contains("[] ['inner.txt']\n"), "h lists nothing, the new d its one file\n{out:?}");
    let kinds = upper_kinds(&world.up);
    let e = format!("symlink:{}", world.src.display());
    assert_eq!(kinds.get("e"), Some(&e), "{kinds:#?}");
    assert_eq!(kinds.get("f").map(String::as_str), Some("symlink:../canary"), "{kinds:#?}");
    assert_eq!(kinds.get("d").map(String::as_str), Some("dir"), "{kinds:#?}");
    assert_eq!(kinds.get("h/x").map(String::as_str), Some("whiteout"), "{kinds:#?}");
    assert_eq!(std::fs::read_to_string(world.up.join("w")).unwrap(), "again\n");
}

/// An upper directory that reaches into the source by a symlink, is the
/// source's ancestor, or is inside a source named through a symlink, is
/// refused before anything runs, and nothing is made in the source.
#[test]
fn ovl_attack_upper_reaching_into_the_source_is_refused() {
    let world = World::new(&[], |w| {
        symlink(&w.src, &w.sc.join("srclink"));
        symlink(w.src.join("d"), &w.sc.join("dlink"));
        symlink(w.src.join("nonexistent"), &w.sc.join("dangling"));
    });
    let sc = world.sc.path();
    let src = world.s(&world.src);
    let cases: Vec<(String, String)> = vec![
        (src.clone(), format!("{}/srclink/up", s(sc))),
        (src.clone(), format!("{}/srclink", s(sc))),
        (src.clone(), format!("{}/dlink", s(sc))),
        (src.clone(), format!("{}/dlink/deeper/up", s(sc))),
        (src.clone(), format!("{}/box", s(sc))),
        (src.clone(), s(sc).to_string()),
        (format!("{}/srclink", s(sc)), format!("{src}/up")),
        (format!("{}/srclink", s(sc)), format!("{}/srclink/d", s(sc))),
        (src.clone(), format!("{}/dangling/up", s(sc))),
        (src.clone(), format!("{}/dangling", s(sc))),
    ];
    for (lower, upper) in &cases {
        let out = run(&mut sandbox_raw(
            &world.sc,
            ["--overlay", lower, "/work", "--upper", upper, "--", "sh", "-c", "echo ran; echo x > /work/planted"],
        ));
        assert_eq!(out.code(), 125, "--overlay {lower} --upper {upper}: {out:?}");
        assert!(!out.out().contains("ran"), "{out:?}");
        world.assert_outside_unchanged(&format!("--overlay {lower} --upper {upper}"), &out);
    }
}

// ---- 8. concurrent copy-ups of one large file ------------------------------------------------------

/// Eight processes open the same large source file for appending at
/// once (each write a 16-byte record), two change its mode and times,
/// and two read it all the while: every reader must see the whole source
/// first (a copy is never half made), and the result must be exactly one
/// copy plus every record. (With one notify worker the copy-ups cannot
/// overlap today, so this guards against a future concurrent one; a copy
/// that is not made whole-or-nothing is caught by the failed copy-up test
/// below.)
const CONCURRENT: &str = r#"
SIZE = int(ARGS[0])
N = 8
os.chdir('/work')
r, w = os.pipe()
pids = []
def appender(k):
    os.read(r, 1)
    fd = os.open('big.bin', os.O_WRONLY | os.O_APPEND)
    os.write(fd, b'<record %06d>\n' % k)
    os.close(fd)
def meta(k):
    os.read(r, 1)
    for i in range(20):
        if k:
            os.chmod('big.bin', 0o640 if i % 2 else 0o600)
        else:
            os.utime('big.bin', (i, i))
def reader(k):
    os.read(r, 1)
    bad = 0
    tail = None
    for i in range(30):
        with open('big.bin', 'rb') as f:
            data = f.read()
        if len(data) < SIZE or (len(data) - SIZE) % 16 or data[SIZE - 16:SIZE] != b'%015d\n' % (SIZE // 16 - 1):
            bad += 1
    say('counts reads', 30, 'bad', bad)
roles = [lambda k=k: appender(k) for k in range(N)] + [lambda: meta(0), lambda: meta(1), lambda: reader(0), lambda: reader(1)]
for role in roles:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            role()
            code = 0
        finally:
            os._exit(code)
    pids.append(pid)
time.sleep(0.3)
os.write(w, b'x' * len(roles))
for pid in pids:
    _, st = os.waitpid(pid, 0)
    assert st == 0, st
st = os.stat('big.bin')
print('size', st.st_size, oct(st.st_mode & 0o777))
"#;

#[test]
fn ovl_attack_concurrent_copy_ups_of_one_large_file() {
    const SIZE: usize = 8 << 20;
    let world = World::new(&[], |w| {
        let mut data = Vec::with_capacity(SIZE);
        for i in 0..SIZE / 16 {
            data.extend_from_slice(format!("{i:015}\n").as_bytes());
        }
        std::fs::write(w.src.join("big.bin"), &data).unwrap();
        give_to_guest(&w.src.join("big.bin"));
    });
    let out = world.guest(&[], CONCURRENT, &[&SIZE.to_string()]);
    out.assert_code(0);
    world.assert_outside_unchanged("concurrent copy-ups", &out);
    let c = counts(&out);
    assert_eq!(c.get("reads"), Some(&60), "{out:?}");
    assert_eq!(c.get("bad"), Some(&0), "a reader saw a partial copy\n{out:?}");
    let got = std::fs::read(world.up.join("big.bin")).unwrap();
    let src = std::fs::read(world.src.join("big.bin")).unwrap();
    assert_eq!(got.len(), SIZE + 8 * 16, "{out:?}");
    assert!(got[..SIZE] == src[..], "the copy is not the source");
    let mut records: Vec<&[u8]> = got[SIZE..].chunks(16).collect();
    records.sort();
    let want: Vec<String> = (0..8).map(|k| format!("<record {k:06}>\n")).collect();
    let want: Vec<&[u8]> = want.iter().map(|r| r.as_bytes()).collect();
    assert_eq!(records, want, "{out:?}");
    let kinds = upper_kinds(&world.up);
    assert_eq!(kinds.keys().collect::<Vec<_>>(), ["big.bin"], "leftovers in UP: {kinds:#?}");
}

/// A copy-up that fails (the source file is mode 000: the supervisor,
/// which runs as the guest's user, cannot read it) must leave nothing in
/// UP: a copy is made whole in an unnamed file and only then linked in,
/// so the view keeps showing the source file as it was.
#[test]
fn ovl_attack_a_failed_copy_up_leaves_no_partial_copy() {
    let world = World::new(&[("locked/inner.txt", "")], |w| {
        std::fs::write(w.src.join("locked.txt"), "locked contents\n").unwrap();
        give_to_guest(&w.src.join("locked.txt"));
        std::fs::set_permissions(w.src.join("locked.txt"), std::fs::Permissions::from_mode(0o000)).unwrap();
    });
    let script = r#"
os.chdir('/work')
t('append', lambda: append('locked.txt'))
t('trunc-open', lambda: os.close(os.open('locked.txt', os.O_WRONLY | os.O_TRUNC)))
t('chmod', lambda: os.chmod('locked.txt', 0o644))
t('utime', lambda: os.utime('locked.txt', (1, 1)))
t('link', lambda: os.link('locked.txt', 'locked-link'))
t('rename', lambda: os.rename('locked.txt', 'locked2.txt'))
st = os.stat('locked.txt')
print('view', st.st_size, oct(st.st_mode & 0o777), sorted(os.listdir('.')))
"#;
    let out = world.guest(&[], script, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("failed copy-up", &out);
    assert_results(
        &out,
        &[
            ("append", "EACCES"),
            ("trunc-open", "EACCES"),
            ("chmod", "EACCES"),
            ("utime", "EACCES"),
            ("link", "EACCES"),
            ("rename", "EACCES"),
        ],
    );
    assert!(out.out().contains("view 16 0o0 "), "the view does not show the source file as it was\n{out:?}");
    let kinds = upper_kinds(&world.up);
    assert!(!kinds.keys().any(|k| k.starts_with("locked")), "a partial copy was left in UP: {kinds:#?}");
}

// ---- 9. special files in the source ------------------------------------------------------------------

/// A fifo, a unix socket and (as root) a character device in SRC. Opening
/// them to read is fine; changing their mode, owner or times through the
/// fd (or an O_PATH fd) must change upper copies or fail, never SRC.
#[test]
fn ovl_attack_metadata_of_source_special_files_through_fds() {
    let world = World::new(&[], |w| {
        let fifo = CString::new(w.src.join("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let sock = std::os::unix::net::UnixListener::bind(w.src.join("sock")).unwrap();
        drop(sock);
        std::fs::set_permissions(w.src.join("sock"), std::fs::Permissions::from_mode(0o644)).unwrap();
        if is_root() {
            let dev = CString::new(w.src.join("null").as_os_str().as_bytes()).unwrap();
            // SAFETY: a valid path; /dev/null's numbers.
            assert_eq!(unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 3)) }, 0);
        }
        give_tree_to_guest(&w.src);
    });
    let script = r#"
os.chdir('/work')
fifo = os.open('fifo', os.O_RDONLY | os.O_NONBLOCK)
sock = os.open('sock', os.O_PATH)
for name, fd in (('fifo', fifo), ('sock', sock)):
    t(name + '-fchmodat2', lambda: fchmodat2(fd, '', 0o600, AT_EMPTY_PATH))
    t(name + '-utimensat', lambda: utimensat(fd, '', 3, AT_EMPTY_PATH))
    t(name + '-fchownat', lambda: fchownat(fd, '', AT_EMPTY_PATH))
t('fifo-fchmod', lambda: os.fchmod(fifo, 0o600))
t('fifo-futimens', lambda: os.utime(fifo, (3, 3)))
if os.path.exists('null'):
    null = os.open('null', os.O_RDONLY)
    t('null-fchmod', lambda: os.fchmod(null, 0o600))
    t('null-futimens', lambda: os.utime(null, (3, 3)))
print('done')
"#;
    let out = world.guest(&[], script, &[]);
    out.assert_code(0);
    world.assert_outside_unchanged("special files", &out);
}

/// Writing to a source fifo opened (blocking) through the overlay writes
/// the *source* fifo, whose mtime and ctime then change: the open does not
/// copy the fifo up, where an open with `O_NONBLOCK` does.
#[test]
fn ovl_attack_writing_a_source_fifo() {
    let world = World::new(&[], |w| {
        let fifo = CString::new(w.src.join("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        give_to_guest(&w.src.join("fifo"));
    });
    let script = r#"
pid = os.fork()
if pid == 0:
    fd = os.open('/work/fifo', os.O_RDONLY)
    print('read', os.read(fd, 16), flush=True)
    os._exit(0)
fd = os.open('/work/fifo', os.O_WRONLY)
os.write(fd, b'through')
os.close(fd)
os.waitpid(pid, 0)
"#;
    let out = world.guest(&["--timeout", "10s"], script, &[]);
    out.assert_code(0);
    assert!(out.out().contains("read b'through'"), "{out:?}");
    world.assert_outside_unchanged("writing a source fifo", &out);
}

/// `truncate(2)` of a fifo is EINVAL natively; in an overlay the
/// supervisor copies the fifo up and opens it `O_WRONLY` without
/// `O_NONBLOCK`, which blocks its only notify worker until a reader comes
/// (that never can: opening the other end needs the worker too).
#[test]
fn ovl_attack_truncate_of_a_source_fifo() {
    let world = World::new(&[], |w| {
        let fifo = CString::new(w.src.join("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        give_to_guest(&w.src.join("fifo"));
    });
    let script = "t('truncate-fifo', lambda: os.truncate('/work/fifo', 0))\n";
    let out = world.guest(&["--timeout", "3s"], script, &[]);
    assert_eq!(out.code(), 0, "the sandbox hung\n{out:?}");
    assert_results(&out, &[("truncate-fifo", "EINVAL")]);
    world.assert_outside_unchanged("truncate of a fifo", &out);
}
