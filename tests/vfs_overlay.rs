//! `--overlay SRC DEST [--upper DIR]`: copy-on-write over a host tree.
//!
//! Each test checks both sides: what the guest sees, and, on the host,
//! that the source is byte- and metadata-identical afterwards and that the
//! upper directory holds exactly the changes, in overlayfs's format
//! (changed and new nodes at their paths, whiteouts for removed names).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use common::*;

/// The upper directory as the kinds of its nodes: `file:CONTENTS`,
/// `dir`, `whiteout`, `symlink:TARGET`.
fn upper_contents(upper: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, into: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let what = if ft.is_char_device() && m.rdev() == 0 {
                "whiteout".to_string()
            } else if ft.is_symlink() {
                format!("symlink:{}", std::fs::read_link(&p).unwrap().display())
            } else if ft.is_dir() {
                "dir".to_string()
            } else if ft.is_file() {
                format!("file:{}", String::from_utf8_lossy(&std::fs::read(&p).unwrap()))
            } else {
                format!("{ft:?}")
            };
            into.insert(p.strip_prefix(root).unwrap().display().to_string(), what);
            if ft.is_dir() {
                walk(&p, root, into);
            }
        }
    }
    let mut v = BTreeMap::new();
    walk(upper, upper, &mut v);
    v
}

fn source_tree(sc: &Scratch) -> PathBuf {
    for (name, body) in [
        ("src/keep.txt", "keep\n"),
        ("src/edit.txt", "before\n"),
        ("src/gone.txt", "bye\n"),
        ("src/old-name.txt", "moved\n"),
        ("src/dir/inner.txt", "inner\n"),
        ("src/dir/sub/deep.txt", "deep\n"),
        ("src/tree/x.txt", "x\n"),
        ("src/tree/y/z.txt", "z\n"),
    ] {
        sc.write(name, body);
    }
    std::os::unix::fs::symlink("keep.txt", sc.join("src/link")).unwrap();
    give_tree_to_guest(&sc.join("src"));
    sc.join("src")
}

/// What the guest sees of the overlaid tree: every path with its contents.
const SHOW: &str = "cd /work && for f in $(find . | sort); do \
                    if [ -L $f ]; then echo \"$f -> $(readlink $f)\"; \
                    elif [ -f $f ]; then echo \"$f: $(cat $f) $(stat -c %a $f)\"; else echo \"$f/\"; fi; done";

#[test]
fn vfs_overlay_edits_deletes_and_renames_land_in_the_upper_only_and_persist() {
    let sc = Scratch::new();
    let src = source_tree(&sc);
    let upper = sc.join("upper");
    let before = exact_snapshot(&src);
    let original = run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--", "sh", "-c", SHOW]));
    original.assert_code(0);

    let edit = "set -e; cd /work; \
                echo after >> edit.txt; \
                rm gone.txt; \
                mv old-name.txt new-name.txt; \
                rm -r tree; mkdir tree; echo fresh > tree/only.txt; \
                sed -i s/inner/INNER/ dir/inner.txt; \
                echo new > dir/sub/new.txt; \
                chmod 700 dir/sub/deep.txt; \
                ln -s new-name.txt newlink; \
                echo edited";
    let out = run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--upper", s(&upper), "--", "sh", "-c", edit]));
    out.assert_code(0);
    assert_eq!(out.out(), "edited\n", "{out:?}");

    // The source is exactly as it was: contents, modes, times, inodes.
    assert_eq!(exact_snapshot(&src), before, "the overlay's source changed");

    // The upper holds exactly the changes.
    let expected: BTreeMap<String, String> = [
        ("edit.txt", "file:before\nafter\n"),
        ("gone.txt", "whiteout"),
        ("old-name.txt", "whiteout"),
        ("new-name.txt", "file:moved\n"),
        ("tree", "dir"),
        ("tree/only.txt", "file:fresh\n"),
        // The recreated directory must not show the removed one's names.
        ("tree/x.txt", "whiteout"),
        ("tree/y", "whiteout"),
        ("dir", "dir"),
        ("dir/inner.txt", "file:INNER\n"),
        ("dir/sub", "dir"),
        ("dir/sub/new.txt", "file:new\n"),
        ("dir/sub/deep.txt", "file:deep\n"),
        ("newlink", "symlink:new-name.txt"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(upper_contents(&upper), expected, "the upper directory");
    let deep = std::fs::metadata(upper.join("dir/sub/deep.txt")).unwrap();
    assert_eq!(deep.mode() & 0o7777, 0o700, "chmod landed on the copy");

    // A second run with the same upper sees the changes.
    let again =
        run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--upper", s(&upper), "--", "sh", "-c", SHOW]));
    again.assert_code(0);
    let want = "./\n./dir/\n./dir/inner.txt: INNER 644\n./dir/sub/\n./dir/sub/deep.txt: deep 700\n\
                ./dir/sub/new.txt: new 644\n./edit.txt: before\nafter 644\n./keep.txt: keep 644\n\
                ./link -> keep.txt\n./new-name.txt: moved 644\n./newlink -> new-name.txt\n./tree/\n\
                ./tree/only.txt: fresh 644\n";
    assert_eq!(again.out(), want, "{again:?}");

    // Without --upper the changes are private to the run: the next run
    // sees the source as it was.
    let fresh = run(&mut sandbox_raw(
        &sc,
        ["--overlay", s(&src), "/work", "--", "sh", "-c", "cd /work && rm -r dir && echo x > keep.txt"],
    ));
    fresh.assert_code(0);
    let after = run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--", "sh", "-c", SHOW]));
    assert_eq!(after.out(), original.out(), "a run without --upper left changes behind");
    assert_eq!(exact_snapshot(&src), before, "the overlay's source changed");
}

/// A guest that tries every way it has to change an overlay's source:
/// through fds opened for reading, directory fds, hard links, `/proc`
/// magic links, its cwd, and renames. Each change must land in the view
/// (the copy), and the source must be identical afterwards.
#[test]
fn vfs_overlay_attack_the_source_never_changes() {
    let sc = Scratch::new();
    for (name, body) in [
        ("src/a.txt", "a\n"),
        ("src/b.txt", "b\n"),
        ("src/c.txt", "c\n"),
        ("src/d.txt", "d\n"),
        ("src/e.txt", "e\n"),
        ("src/dir/inner.txt", "inner\n"),
        ("src/dir/inner2.txt", "inner2\n"),
        ("src/big/x.txt", "x\n"),
    ] {
        sc.write(name, body);
    }
    let src = sc.join("src");
    give_tree_to_guest(&src);
    let before = exact_snapshot(&src);
    let script = PY_TRY.to_owned()
        + r#"
os.chdir('/work')
fd = os.open('a.txt', os.O_RDONLY)
t('fchmod', lambda: os.fchmod(fd, 0o600))
t('futimens', lambda: os.utime(fd, (1, 1)))
t('fchown', lambda: os.fchown(fd, os.getuid(), os.getgid()))
t('fsetxattr', lambda: os.setxattr(fd, 'user.condo', b'1'))
t('chmod', lambda: os.chmod('b.txt', 0o600))
t('utime', lambda: os.utime('b.txt', (1, 1)))
t('setxattr', lambda: os.setxattr('b.txt', 'user.condo', b'1'))
t('truncate', lambda: os.truncate('c.txt', 0))
def link_then_write():
    os.link('d.txt', 'd-link')
    with open('d-link', 'a') as f: f.write('via link\n')
t('link', link_then_write)
def proc_reopen():
    with open('/proc/self/fd/%d' % fd, 'a') as f: f.write('via proc\n')
t('proc-reopen', proc_reopen)
dfd = os.open('dir', os.O_RDONLY | os.O_DIRECTORY)
def beneath():
    w = os.open('inner.txt', os.O_WRONLY | os.O_APPEND, dir_fd=dfd)
    os.write(w, b'beneath\n'); os.close(w)
t('write-beneath-dirfd', beneath)
t('mkdir-beneath-dirfd', lambda: os.mkdir('made', dir_fd=dfd))
t('unlink-beneath-dirfd', lambda: os.unlink('inner2.txt', dir_fd=dfd))
def in_cwd():
    os.chdir('/work/dir')
    with open('inner.txt', 'a') as f: f.write('cwd\n')
    os.chdir('/work')
t('write-in-cwd', in_cwd)
t('rename-file', lambda: os.rename('e.txt', 'dir/e-moved.txt'))
t('rename-dir', lambda: os.rename('big', 'big2'))
t('rmdir-nonempty', lambda: os.rmdir('big'))
print('--')
for p in ['a.txt', 'c.txt', 'd.txt', 'd-link', 'dir/inner.txt', 'dir/e-moved.txt']:
    print(p, repr(open(p).read()), oct(os.stat(p).st_mode & 0o777))
print(sorted(os.listdir('dir')), os.path.exists('e.txt'), oct(os.stat('b.txt').st_mode & 0o777))
"#;
    let out = run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--", "python3", "-c", &script]));
    out.assert_code(0);
    assert_eq!(exact_snapshot(&src), before, "the overlay's source changed:\n{out:?}");
    let text = out.out();
    let (calls, view) = text.split_once("--\n").unwrap_or_else(|| panic!("{out:?}"));
    let want_calls = "fchmod ok\nfutimens ok\nfchown ok\nfsetxattr ok\nchmod ok\nutime ok\nsetxattr ok\n\
                      truncate ok\nlink ok\nproc-reopen ok\nwrite-beneath-dirfd ok\nmkdir-beneath-dirfd ok\n\
                      unlink-beneath-dirfd ok\nwrite-in-cwd ok\nrename-file ok\nrename-dir EXDEV\n\
                      rmdir-nonempty ENOTEMPTY\n";
    assert_eq!(calls, want_calls, "{out:?}");
    let want_view = "a.txt 'a\\nvia proc\\n' 0o600\nc.txt '' 0o644\nd.txt 'd\\nvia link\\n' 0o644\n\
                     d-link 'd\\nvia link\\n' 0o644\ndir/inner.txt 'inner\\nbeneath\\ncwd\\n' 0o644\n\
                     dir/e-moved.txt 'e\\n' 0o644\n\
                     ['e-moved.txt', 'inner.txt', 'made'] False 0o600\n";
    assert_eq!(view, want_view, "{out:?}");
}

/// Real tools on an overlaid git repository: commit in the copy, the
/// source repository is untouched, and `--upper` carries the commit to
/// the next run.
#[test]
fn vfs_overlay_git_commits_in_the_copy_only() {
    let sc = Scratch::new();
    let repo = sc.join("repo");
    std::fs::create_dir(&repo).unwrap();
    give_to_guest(&repo);
    let init = "set -e; git init -q . && git config user.email t@example.com && git config user.name t && \
                echo one > f && git add f && git commit -qm one && echo ok";
    run(native(&sc, ["sh", "-c", init]).current_dir(&repo)).assert_code(0);
    let before = exact_snapshot(&repo);
    let upper = sc.join("upper");
    let commit = "set -e; cd /r; echo two >> f; git commit -qam two; git log --format=%s | tr '\\n' ' '";
    let out = run(&mut sandbox_raw(&sc, ["--overlay", s(&repo), "/r", "--upper", s(&upper), "--", "sh", "-c", commit]));
    out.assert_code(0);
    assert_eq!(out.out(), "two one ", "{out:?}");
    assert_eq!(exact_snapshot(&repo), before, "the overlay's source repository changed");
    let log = "cd /r && git log --format=%s | tr '\\n' ' ' && git status --porcelain && cat f";
    let out = run(&mut sandbox_raw(&sc, ["--overlay", s(&repo), "/r", "--upper", s(&upper), "--", "sh", "-c", log]));
    assert_eq!(out.out(), "two one one\ntwo\n", "{out:?}");
}

#[test]
fn vfs_overlay_flag_errors_are_found_before_anything_runs() {
    let sc = Scratch::new();
    let src = sc.join("src");
    std::fs::create_dir(&src).unwrap();
    // 2: a usage error (as clap gives); 125: the sandbox cannot be set up.
    // A source the guest user cannot read (root's, mode 0700) would list
    // as empty.
    let closed = sc.join("closed");
    std::fs::create_dir(&closed).unwrap();
    std::fs::set_permissions(&closed, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let file = sc.write("file", "");
    let v = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let up_in_src = format!("{}/up", s(&src));
    let mut cases: Vec<(Vec<String>, String, i32)> = vec![
        (v(&["--overlay", "/nonexistent-condo", "/w"]), "--overlay".into(), 125),
        (v(&["--overlay", s(&src), "/w", "--upper", &up_in_src]), "overlaps the source".into(), 125),
        (v(&["--upper", "/var/tmp/x"]), "--upper must follow the --overlay".into(), 2),
        (v(&["--overlay", "/etc/passwd", "/w"]), "not a directory".into(), 125),
        (
            v(&["--overlay", s(&src), "/w", "--upper", s(&file)]),
            format!("--upper {:?}: not a directory", s(&file)),
            125,
        ),
        (
            v(&["--overlay", s(&src), "/w", "--upper", "/var/tmp/a", "--upper", "/var/tmp/b"]),
            "--upper given twice".into(),
            2,
        ),
    ];
    // (Only root's is closed to the guest user.)
    if is_root() {
        cases.push((v(&["--overlay", s(&closed), "/w"]), "the source must be readable".into(), 125));
    }
    for (flags, want, code) in cases {
        let mut args = flags.clone();
        args.extend(v(&["--", "sh", "-c", "echo ran"]));
        let out = run(&mut sandbox_raw(&sc, &args));
        assert_eq!(out.code(), code, "{args:?}: {out:?}");
        assert!(out.err().contains(&want), "{args:?}: expected {want:?} in {out:?}");
        assert!(!out.out().contains("ran"), "{out:?}");
    }
    assert_eq!(std::fs::read_dir(&src).unwrap().count(), 0, "a refused --upper was made");
}

#[test]
fn vfs_overlay_a_failed_create_leaves_a_removed_name_removed() {
    // Making a name over a removed source name takes its whiteout away
    // first; when the make then fails, the source file must not come back
    // (a review found it did).
    let sc = Scratch::new();
    let src = source_tree(&sc);
    let script = r#"
import os, errno
os.chdir('/w'); os.unlink('keep.txt')
for n, f in [('open-creat-dir', lambda: os.open('keep.txt', os.O_CREAT | os.O_DIRECTORY | os.O_RDONLY)),
             ('symlink-empty', lambda: os.symlink('', 'keep.txt')),
             ('mkfifo-bad-mode', lambda: os.mknod('keep.txt', 0o600 | 0o060000))]:
    try:
        f(); print(n, 'ok')
    except OSError as e:
        print(n, errno.errorcode[e.errno])
print(os.path.exists('keep.txt'), sorted(os.listdir('.')))
"#;
    let out = run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/w", "--", "python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(
        out.out(),
        "open-creat-dir EINVAL\nsymlink-empty ENOENT\nmkfifo-bad-mode EPERM\nFalse ['dir', 'edit.txt', 'gone.txt', 'link', \
         'old-name.txt', 'tree']\n",
        "{out:?}"
    );
}

/// An `O_TMPFILE` file made in an overlay (in its upper layer) gets the
/// mode asked for, less the umask, reopens through its fd's link and is
/// named there by `linkat`; the source stays as it was.
#[test]
fn vfs_overlay_an_o_tmpfile_file_gets_its_mode_and_a_name() {
    let sc = Scratch::new();
    let src = source_tree(&sc);
    let before = snapshot_names(&src);
    let script = "import os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
os.umask(0o022)
fd = os.open('/work', os.O_TMPFILE | os.O_RDWR, 0o666)
os.write(fd, b'made')
print(oct(os.fstat(fd).st_mode & 0o777), open('/proc/self/fd/%d' % fd).read())
r = libc.linkat(-100, b'/proc/self/fd/%d' % fd, -100, b'/work/named', 0x400)
print(r, open('/work/named').read(), oct(os.stat('/work/named').st_mode & 0o777))
";
    let out = run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--", "python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(out.out(), "0o644 made\n0 made 0o644\n", "{out:?}");
    assert_eq!(snapshot_names(&src), before, "the source changed");
}

fn snapshot_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    names.sort();
    names
}

/// A directory listed while names are made and removed in it gives every
/// name left unchanged exactly once (POSIX's readdir): in a merged
/// directory of the overlay and in one only its upper layer has, whose
/// listings the supervisor makes. A loop that made files as it listed them
/// saw some names twice.
#[test]
fn vfs_overlay_listings_changed_while_read_give_each_name_once() {
    let sc = Scratch::new();
    let src = sc.join("src");
    for i in 0..300 {
        sc.write(format!("src/d/f{i}"), "");
    }
    give_tree_to_guest(sc.path());
    let script = r#"import os
for d in ("/work/d", "/work/new"):
    os.makedirs(d, exist_ok=True)
    for i in range(300):
        open("%s/n%d" % (d, i), "w").close()
    before = set(os.listdir(d))
    seen = []
    for i, e in enumerate(os.scandir(d)):
        seen.append(e.name)
        if i == 0:
            for k in range(100):
                open("%s/made%d" % (d, k), "w").close()
            os.unlink(d + "/n7")
    dups = len(seen) - len(set(seen))
    missing = sorted(before - set(seen) - {"n7"})
    print(d, "dups", dups, "missing", missing)
"#;
    let out = run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--", "python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(out.out(), "/work/d dups 0 missing []\n/work/new dups 0 missing []\n", "{out:?}");
}

/// Copying a file up is no change of its directory, as on overlayfs: the
/// directory keeps its times, in the view and in the upper layer that
/// keeps the changes (a later run, or the kernel's overlayfs, reads them
/// there); a name the guest makes there changes them as anywhere.
#[test]
fn vfs_overlay_copying_up_keeps_the_directorys_times() {
    let sc = Scratch::new();
    sc.write("src/d/x", "x");
    sc.write("src/e/deep/y", "y");
    // 2010-01-01, UTC.
    let old = 1_262_304_000;
    for d in ["src/d", "src/e", "src/e/deep"] {
        set_mtime(&sc.join(d), old);
    }
    give_tree_to_guest(sc.path());
    let (src, upper) = (sc.join("src"), sc.join("upper"));
    let script = "chmod 600 /work/d/x && echo z >> /work/e/deep/y && echo new > /work/e/made && \
                  stat -c '%n %Y' /work/d /work/e /work/e/deep";
    let out =
        run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--upper", s(&upper), "--", "sh", "-c", script]));
    out.assert_code(0);
    let text = out.out();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("/work/d {old}"), "{out:?}");
    assert_ne!(lines[1], format!("/work/e {old}"), "a name made in it changes it: {out:?}");
    assert_eq!(lines[2], format!("/work/e/deep {old}"), "{out:?}");
    let mtime = |p: &str| std::fs::metadata(upper.join(p)).unwrap().mtime();
    assert_eq!(mtime("d"), old);
    assert_eq!(mtime("e/deep"), old);
}

fn set_mtime(p: &Path, secs: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    let times = std::fs::FileTimes::new().set_accessed(t).set_modified(t);
    std::fs::File::open(p).and_then(|f| f.set_times(times)).expect("set times");
}

/// A change through an fd of a source file lands on that file's copy,
/// never on whatever took its name since: renamed away and replaced by a
/// new file, the fd's change is refused (`ENOENT`) and the new file keeps
/// its mode; copied up by a write through another fd, the change lands on
/// the copy.
#[test]
fn vfs_overlay_changes_through_fds_never_land_on_another_file() {
    let sc = Scratch::new();
    sc.write("src/b", "orig\n");
    sc.write("src/c", "c\n");
    sc.write("src/g", "g\n");
    give_tree_to_guest(sc.path());
    for f in ["src/b", "src/c"] {
        std::fs::set_permissions(sc.join(f), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    }
    let src = sc.join("src");
    let before = exact_snapshot(&src);
    let script = r#"import os
fd = os.open("/work/b", os.O_RDONLY)
os.rename("/work/b", "/work/b.old")
open("/work/b", "w").write("other\n")
try:
    os.fchmod(fd, 0o600)
    print("fchmod ok")
except OSError as e:
    print("fchmod", e.strerror)
print("b", oct(os.stat("/work/b").st_mode & 0o777))
fd2 = os.open("/work/c", os.O_RDONLY)
open("/work/c", "a").write("more\n")
os.fchmod(fd2, 0o600)
print("c", oct(os.stat("/work/c").st_mode & 0o777))
# The copy removed: its inode number goes to a new file, which is no copy.
os.unlink("/work/c")
for i in range(5):
    open("/work/n%d" % i, "w").write("new")
os.rename("/work/n0", "/work/c")
try:
    os.fchmod(fd2, 0o606)
    print("fchmod ok")
except OSError as e:
    print("fchmod", e.strerror)
print("c", oct(os.stat("/work/c").st_mode & 0o777))
# Reopened through its /proc link once its name holds another file: not
# that file.
g = os.open("/work/g", os.O_RDONLY)
os.unlink("/work/g")
open("/work/g", "w").write("NEW")
try:
    os.write(os.open("/proc/self/fd/%d" % g, os.O_WRONLY | os.O_APPEND), b"+through the old fd")
    print("reopen ok")
except OSError as e:
    print("reopen", e.strerror)
print(open("/work/g").read())
"#;
    // An upper on the scratch's filesystem, which gives a freed inode
    // number to the next file (ext4 does; the private upper's tmpfs not).
    let upper = sc.join("upper");
    let out = run(&mut sandbox_raw(
        &sc,
        ["--overlay", s(&src), "/work", "--upper", s(&upper), "--", "python3", "-c", script],
    ));
    out.assert_code(0);
    assert_eq!(
        out.out(),
        "fchmod No such file or directory\nb 0o644\nc 0o600\nfchmod No such file or directory\nc 0o644\n\
         reopen No such file or directory\nNEW\n",
        "{out:?}"
    );
    assert_eq!(exact_snapshot(&src), before, "the overlay's source changed");
}

/// A source directory the guest works in and then removes is gone for its
/// working directory and fds, as on overlayfs: a name made relative to
/// it, or beneath its fd, is refused (`ENOENT`), even once a directory of
/// the same name was made again (where it used to land), and `getcwd` is
/// `ENOENT`; the new directory stays empty.
#[test]
fn vfs_overlay_a_removed_source_directory_holds_nothing_new() {
    let sc = Scratch::new();
    sc.write("src/d/a", "a\n");
    give_tree_to_guest(sc.path());
    let src = sc.join("src");
    let script = r#"import os, shutil
os.chdir("/work/d")
fd = os.open("/work/d", os.O_RDONLY | os.O_DIRECTORY)
open("before", "w").write("x")
shutil.rmtree("/work/d")
os.mkdir("/work/d")
for name, f in (("create", lambda: open("zz", "w")),
                ("create beneath fd", lambda: os.open("yy", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)),
                ("getcwd", os.getcwd)):
    try:
        f()
        print(name, "ok")
    except OSError as e:
        print(name, e.strerror)
print(sorted(os.listdir("/work/d")))
"#;
    let out = run(&mut sandbox_raw(&sc, ["--overlay", s(&src), "/work", "--", "python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(
        out.out(),
        "create No such file or directory\ncreate beneath fd No such file or directory\n\
         getcwd No such file or directory\n[]\n",
        "{out:?}"
    );
}

/// An upper written by overlayfs mounted with `userxattr` marks a
/// directory made where a removed source directory was as opaque
/// (`user.overlay.opaque`): none of the source directory's names shows
/// through it, in the view as on overlayfs, and the source is unchanged.
#[test]
fn vfs_overlay_opaque_directories_of_an_overlayfs_upper_hide_the_source() {
    let sc = Scratch::new();
    sc.write("src/dir/old", "old\n");
    sc.write("src/dir/sub/deep", "deep\n");
    sc.write("upper/dir/new", "new\n");
    let opaque = std::ffi::CString::new(sc.join("upper/dir").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: NUL-terminated path and name; a one-byte value.
    let set = unsafe { libc::setxattr(opaque.as_ptr(), c"user.overlay.opaque".as_ptr(), c"y".as_ptr().cast(), 1, 0) };
    if set != 0 {
        eprintln!("skipped: no user xattrs on {:?}", sc.path());
        return;
    }
    give_tree_to_guest(sc.path());
    let src = sc.join("src");
    let before = exact_snapshot(&src);
    let out = run(&mut sandbox_raw(
        &sc,
        [
            "--overlay",
            s(&src),
            "/work",
            "--upper",
            s(&sc.join("upper")),
            "--",
            "sh",
            "-c",
            "ls -A /work/dir; cat /work/dir/old",
        ],
    ));
    assert_eq!(out.out(), "new\n", "{out:?}");
    assert!(out.err().contains("No such file"), "{out:?}");
    assert_eq!(exact_snapshot(&src), before, "the overlay's source changed");
}
