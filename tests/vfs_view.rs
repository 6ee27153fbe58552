//! The guest's filesystem view, through the `sandbox-run` command line:
//! `--root`, the default view (host `/` read-only, private `/tmp`,
//! synthetic `/dev` and `/proc`), `--bind`/`--ro-bind`, `--tmpfs`,
//! `--hide`, `--chdir`, and the flag errors found before anything runs.
//!
//! Every claim is checked on both sides: what the guest sees inside, and
//! what the host holds afterwards. Where a failure inside could also be the
//! host's own answer (permissions), a native run or a writable control
//! shows that the operation is possible, so the answer is the view's.
//!
//! Tests that put files in the host's /tmp, and the one that checks the
//! host's /tmp is untouched by real tools, share [`HOST_TMP`]: the latter
//! runs alone.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hasher};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use common::*;

const EROFS: &str = "Read-only file system";
const ENOENT: &str = "No such file or directory";

/// Held shared by every test (each may create host /tmp entries or run a
/// sandbox whose supervisor keeps something there while it runs), and
/// exclusively by the test that compares the host's /tmp before and after
/// a guest, so no other test of this binary changes it meanwhile.
static HOST_TMP: RwLock<()> = RwLock::new(());

fn host_tmp_shared() -> RwLockReadGuard<'static, ()> {
    HOST_TMP.read().unwrap_or_else(|e| e.into_inner())
}

fn host_tmp_exclusive() -> RwLockWriteGuard<'static, ()> {
    HOST_TMP.write().unwrap_or_else(|e| e.into_inner())
}

/// A name no other test (of this run or an earlier one) uses.
fn unique(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("condo-vfs-{what}-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A host path removed (file or tree) when dropped, so a failing test
/// leaves nothing in the host's /tmp.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.0.is_dir() && !self.0.is_symlink() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// `sh -c SCRIPT sh ARGS...`: the script reads its paths as $1, $2, ...,
/// so no path is ever quoted into shell text.
fn sh<'a>(script: &'a str, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["sh", "-c", script, "sh"];
    v.extend_from_slice(args);
    v
}

/// The output split at lines that are exactly `--`.
fn sections(out: &str) -> Vec<String> {
    let mut v = vec![String::new()];
    for l in out.lines() {
        if l == "--" {
            v.push(String::new());
        } else {
            let last = v.last_mut().unwrap();
            last.push_str(l);
            last.push('\n');
        }
    }
    v
}

/// The uid guest processes (and sandbox-run itself) run as.
fn guest_uid() -> u32 {
    if is_root() {
        NOBODY
    } else {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() }
    }
}

fn mkdir_p(p: &Path) {
    std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir -p {}: {e}", p.display()));
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn link_target(p: &Path) -> String {
    std::fs::read_link(p).unwrap_or_else(|e| panic!("readlink {}: {e}", p.display())).to_string_lossy().into_owned()
}

/// Runs a host command (as ourselves, not the guest user) and returns its
/// output, failing the test unless it succeeds.
fn host(argv: &[&str]) -> Out {
    let mut c = Command::new(argv[0]);
    c.args(&argv[1..]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = run(&mut c);
    assert!(out.status.success(), "{out:?}");
    out
}

/// A static C guest copied into `dir` (so a `--root` view can run it).
fn copy_guest(name: &str, dir: &Path) -> PathBuf {
    mkdir_p(dir);
    let to = dir.join(name);
    std::fs::copy(guest(name), &to).expect("copying a guest");
    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o755)).unwrap();
    to
}

// ---- 1. --root: a busybox tree with a dynamically linked program ----------

/// The host's statically linked busybox from Debian's busybox-static
/// (installed by .ci/run; installed here too when missing and we are root).
/// `None` only when it is neither installed nor installable.
fn busybox_static() -> Option<PathBuf> {
    let installed = || {
        let mut c = Command::new("dpkg-query");
        c.args(["-W", "-f=${Status}", "busybox-static"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let ok = c.output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"));
        ok && Path::new("/bin/busybox").exists()
    };
    // apt-get may take minutes, longer than common::TIMEOUT; it runs as us.
    let apt = |args: &[&str]| {
        let mut c = Command::new("apt-get");
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        which("apt-get") && start_with_timeout(&mut c, std::time::Duration::from_secs(300)).wait().status.success()
    };
    if !installed() && is_root() && !apt(&["install", "-y", "-qq", "busybox-static"]) {
        apt(&["update", "-qq"]);
        apt(&["install", "-y", "-qq", "busybox-static"]);
    }
    installed().then(|| PathBuf::from("/bin/busybox"))
}

/// Whether `prog` is on [`STD_PATH`].
fn which(prog: &str) -> bool {
    STD_PATH.split(':').any(|d| Path::new(d).join(prog).exists())
}

/// The applets the tree links to busybox (each must be in this busybox).
const APPLETS: &[&str] = &[
    "sh", "ls", "cat", "pwd", "echo", "env", "stat", "readlink", "test", "head", "wc", "id", "true", "false", "mkdir",
    "touch", "sort", "grep", "uname",
];

/// What ldd says `exe` loads: (path as the loader asks for it, whether it
/// is the ELF interpreter). The vDSO has no file and is left out.
fn ldd(exe: &Path) -> Vec<(PathBuf, bool)> {
    let out = host(&["ldd", s(exe)]);
    let mut v = Vec::new();
    for l in out.out().lines() {
        let l = l.trim();
        if let Some((_, rest)) = l.split_once("=> ") {
            let p = rest.split_whitespace().next().unwrap();
            if p.starts_with('/') {
                v.push((PathBuf::from(p), false));
            }
        } else if l.starts_with('/') {
            v.push((PathBuf::from(l.split_whitespace().next().unwrap()), true));
        }
    }
    assert!(v.iter().any(|(_, interp)| *interp), "no ELF interpreter in ldd's output:\n{out:?}");
    v
}

/// Copies the library `p` (a host path) into `tree` at the same path; when
/// the host's `p` is a symlink with an absolute target (Debian's
/// /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...), the tree gets
/// the same symlink and the file at the target, so the view has to resolve
/// an absolute symlink inside the tree to find it. Returns the host path of
/// the tree's regular file.
fn copy_lib_into(tree: &Path, p: &Path) -> PathBuf {
    let inside = |g: &Path| tree.join(g.strip_prefix("/").unwrap());
    let meta = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let file_at = if meta.file_type().is_symlink() && std::fs::read_link(p).unwrap().is_absolute() {
        let target = std::fs::read_link(p).unwrap();
        mkdir_p(inside(p).parent().unwrap());
        std::os::unix::fs::symlink(&target, inside(p)).expect("symlink into the tree");
        inside(&target)
    } else {
        inside(p)
    };
    mkdir_p(file_at.parent().unwrap());
    // A copy, never a hard link: the test tells the tree's file from the
    // host's by its inode.
    std::fs::copy(p, &file_at).unwrap_or_else(|e| panic!("copying {}: {e}", p.display()));
    file_at
}

/// (major:minor as /proc/pid/maps spells it, inode) of a host file.
fn maps_identity(p: &Path) -> (String, u64) {
    let m = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let dev = m.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (format!("{major:02x}:{minor:02x}"), m.ino())
}

/// The (device, inode) columns of the maps line the dynamic guest printed
/// after `tag`.
fn mapped(out: &str, tag: &str) -> (String, u64) {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{tag} ")))
        .unwrap_or_else(|| panic!("no {tag} line in the program's output:\n{out}"));
    let f: Vec<&str> = line.split_whitespace().collect();
    assert!(f.len() >= 6, "{tag}: not a maps line with a file: {line:?}");
    (f[4].to_string(), f[5].parse().unwrap_or_else(|_| panic!("inode in {line:?}")))
}

#[test]
fn vfs_view_root_is_a_busybox_tree_with_its_own_libc() {
    let _g = host_tmp_shared();
    let Some(busybox) = busybox_static() else {
        eprintln!(
            "\n\n!!!!! SKIPPED vfs_view_root_is_a_busybox_tree_with_its_own_libc: Debian's busybox-static is \
             neither installed nor installable here (.ci/run installs it) !!!!!\n\n"
        );
        return;
    };
    let sc = Scratch::new();
    let tree = sc.join("root");
    mkdir_p(&tree.join("bin"));
    std::fs::copy(&busybox, tree.join("bin/busybox")).unwrap();
    // `busybox --install -s` cannot run outside the tree (it would link
    // the host's /bin), so the applet links are made here.
    let list = host(&[s(&busybox), "--list"]).out();
    let have: BTreeSet<&str> = list.lines().collect();
    for a in APPLETS {
        assert!(have.contains(a), "this busybox has no {a} applet:\n{list}");
        std::os::unix::fs::symlink("busybox", tree.join("bin").join(a)).unwrap();
    }
    mkdir_p(&tree.join("etc"));
    let guest_line = "condo-tree-guest:x:4242:4242:only in the --root tree:/home/guest:/bin/sh";
    std::fs::write(
        tree.join("etc/passwd"),
        format!("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n{guest_line}\n"),
    )
    .unwrap();
    assert!(!read(Path::new("/etc/passwd")).contains("condo-tree-guest"));

    // The dynamically linked program, and what it loads, at the paths ldd
    // names.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests/vfs_view_dynamic.c");
    let exe = tree.join("bin/hello-dyn");
    host(&["gcc", "-std=gnu11", "-O1", "-Wall", "-o", s(&exe), s(&src)]);
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut libc_copy = None;
    let mut interp_copy = None;
    let mut host_libc = None;
    for (p, interp) in ldd(&exe) {
        let copy = copy_lib_into(&tree, &p);
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if interp {
            interp_copy = Some((p, copy));
        } else if name.starts_with("libc.so") {
            host_libc = Some(p.clone());
            libc_copy = Some((p, copy));
        }
    }
    let (libc_guest_path, libc_copy) = libc_copy.expect("ldd names libc");
    let (interp_guest_path, interp_copy) = interp_copy.expect("ldd names the interpreter");
    // A script the program interprets: the kernel would load the host's
    // loader for it, unless told the tree's.
    std::fs::write(tree.join("bin/via-script"), "#!/bin/hello-dyn\n").unwrap();
    std::fs::set_permissions(tree.join("bin/via-script"), std::fs::Permissions::from_mode(0o755)).unwrap();
    give_tree_to_guest(sc.path());

    // The program's own report is trustworthy: run natively it shows the
    // host's libc and loader by device and inode.
    let native_run = run(&mut native(&sc, [s(&exe)]));
    assert!(native_run.status.success(), "{native_run:?}");
    assert_eq!(
        mapped(&native_run.out(), "libc-map"),
        maps_identity(&host_libc.unwrap()),
        "natively the program maps the host's libc\n{native_run:?}"
    );
    assert_eq!(
        mapped(&native_run.out(), "ld-map"),
        maps_identity(&interp_guest_path),
        "natively the program maps the host's dynamic loader\n{native_run:?}"
    );
    assert_ne!(maps_identity(&libc_copy), maps_identity(&libc_guest_path), "the tree's libc is a copy");

    let script = "ls -la /; echo --; cat /etc/passwd; echo --; \
                  cd /..; pwd; /bin/pwd; cd /bin/../..; /bin/pwd; echo --; \
                  ls -a /; echo --; ls -a /..; echo --; \
                  /bin/hello-dyn; echo --; /bin/via-script; echo --; \
                  for p in /usr /home /var /etc/hostname /bin/bash; do test -e $p && echo host-path-visible $p; done; echo end";
    let out = run(&mut sandbox_raw(
        &sc,
        ["--root", s(&tree), "--dev", "--proc", "--chdir", "/", "--", "/bin/sh", "-c", script],
    ));
    out.assert_code(0);
    let sec = sections(&out.out());
    assert_eq!(sec.len(), 8, "{out:?}");

    // Every claim is checked and the failures reported together, so one
    // run shows all that is wrong with the view.
    let mut problems: Vec<String> = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };

    // `ls -la /` shows the tree (and the mount points --dev and --proc
    // add: a directory that exists is listed in its parent), nothing of the
    // host's root.
    let names: BTreeSet<String> = sec[0]
        .lines()
        .filter(|l| !l.starts_with("total"))
        .map(|l| l.split(" -> ").next().unwrap().split_whitespace().last().unwrap_or("").to_string())
        .collect();
    let want: BTreeSet<String> =
        [".", "..", "bin", "etc", "lib", "lib64", "dev", "proc"].iter().map(|s| s.to_string()).collect();
    check(names == want, format!("ls -la / lists {names:?}, want {want:?}"));
    check(sec[1].lines().any(|l| l == guest_line), "cat /etc/passwd does not show the tree's file".into());
    check(!sec[1].contains("daemon:"), "the host's /etc/passwd leaked into the tree".into());
    check(sec[2] == "/\n/\n/\n", "`..` of / is not / (cd /..; pwd; /bin/pwd; cd /bin/../..; /bin/pwd)".into());
    check(sec[3] == sec[4], "ls -a / and ls -a /.. differ".into());
    check(sec[7] == "end\n", "host paths are visible in the --root view".into());

    // The dynamic program runs, on the tree's libc and loader: the kernel
    // reports the files mapped, by device and inode, and they are the
    // tree's copies, not the host's files at the same paths.
    for (prog, how) in [(&sec[5], "run"), (&sec[6], "run as a script's interpreter")] {
        check(
            prog.starts_with("hello from a dynamically linked program\nlibc-version 2."),
            format!("the dynamically linked program did not {how}"),
        );
        if prog.contains("libc-map ") {
            check(
                mapped(prog, "libc-map") == maps_identity(&libc_copy),
                format!(
                    "{how}: the program does not run on the tree's libc {:?} (the host's {} is {:?})",
                    maps_identity(&libc_copy),
                    libc_guest_path.display(),
                    maps_identity(&libc_guest_path)
                ),
            );
        }
        if prog.contains("ld-map ") {
            check(
                mapped(prog, "ld-map") == maps_identity(&interp_copy),
                format!(
                    "{how}: the program's dynamic loader is not the tree's copy {:?} of {} (the host's is {:?})",
                    maps_identity(&interp_copy),
                    interp_guest_path.display(),
                    maps_identity(&interp_guest_path)
                ),
            );
        }
    }
    assert!(problems.is_empty(), "the --root view is wrong:\n- {}\n{out:?}", problems.join("\n- "));

    // The same program as the sandbox's first program, not run from a
    // shell: the launcher's exec, too, loads the tree's loader.
    let first = run(&mut sandbox_raw(&sc, ["--root", s(&tree), "--proc", "--", "/bin/hello-dyn"]));
    first.assert_code(0);
    assert_eq!(mapped(&first.out(), "libc-map"), maps_identity(&libc_copy), "{first:?}");
    assert_eq!(mapped(&first.out(), "ld-map"), maps_identity(&interp_copy), "{first:?}");
}

// ---- 2. the default view with real tools -----------------------------------

/// sha256sum of host files the tools read.
fn sample_checksums() -> String {
    let mut files: Vec<PathBuf> =
        ["/etc/passwd", "/usr/bin/gcc", "/usr/bin/make", "/usr/include/stdio.h"].iter().map(PathBuf::from).collect();
    for d in STD_PATH.split(':') {
        let g = Path::new(d).join("git");
        if g.exists() {
            files.push(g);
            break;
        }
    }
    for e in std::fs::read_dir("/usr/lib").unwrap().flatten() {
        let os_py = e.path().join("os.py");
        if e.file_name().to_string_lossy().starts_with("python3") && os_py.exists() {
            files.push(os_py);
        }
    }
    assert!(files.len() >= 6, "sample files: {files:?}");
    let mut argv = vec!["sha256sum"];
    argv.extend(files.iter().map(|p| s(p)));
    host(&argv).out()
}

/// Every entry under the host's `root` that the guest user owns: path ->
/// kind, mode, size and content hash (or symlink target). Only these: the
/// guest and sandbox-run run as that user, so anything either leaves in
/// the host's /tmp is among them, while other users' processes (the CI
/// machinery, the test runner's output) may change /tmp meanwhile. When
/// the tests do not run as root that is everything of ours.
fn guest_owned_snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, uid: u32, into: &mut BTreeMap<PathBuf, String>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
            if m.uid() == uid {
                let what = if m.file_type().is_symlink() {
                    format!("symlink -> {:?}", std::fs::read_link(&p).ok())
                } else if m.is_file() {
                    let mut h = DefaultHasher::new();
                    h.write(&std::fs::read(&p).unwrap_or_default());
                    format!("file {:o} {} bytes, hash {:016x}", m.mode(), m.len(), h.finish())
                } else {
                    format!("{:?} {:o}", m.file_type(), m.mode())
                };
                into.insert(p.clone(), what);
            }
            if m.is_dir() {
                walk(&p, uid, into);
            }
        }
    }
    let mut v = BTreeMap::new();
    walk(root, guest_uid(), &mut v);
    v
}

#[test]
fn vfs_view_default_view_runs_gcc_make_git_python_and_leaves_the_host_alone() {
    let _g = host_tmp_exclusive();
    let ws = Scratch::new();
    ws.write("hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello from gcc\"); return 0; }\n");
    ws.write("tool.c", "#include <stdio.h>\nint main(void) { puts(\"from a make-built tool\"); return 0; }\n");
    ws.write("input.txt", "input\n");
    ws.write(
        "Makefile",
        "made.txt: input.txt tool\n\ttr a-z A-Z < input.txt > made.txt\n\t./tool >> made.txt\n\
         tool: tool.c\n\t$(CC) -o tool tool.c\n",
    );
    let py_tmp = unique("py");
    // Should the view leak it, the host's /tmp does not keep it.
    let _c = Cleanup(Path::new("/tmp").join(&py_tmp));
    let script = r#"set -e
ws="$1"
cd "$ws"
gcc -o hello hello.c
./hello > gcc.out
make -s
git init -q -b main repo
cd repo
git config user.email guest@example.invalid
git config user.name Guest
echo tracked > f.txt
git add f.txt
git commit -q -m "commit inside the sandbox"
git log --format=%s > ../git.out
git status --porcelain >> ../git.out
cd ..
python3 - "$ws" "$2" <<'EOF'
import os, sys, tempfile
ws, name = sys.argv[1], sys.argv[2]
p = os.path.join("/tmp", name)
with open(p, "w") as f:
    f.write("python in tmp\n")
with tempfile.NamedTemporaryFile(mode="w", delete=False) as t:
    t.write("x")
with open(os.path.join(ws, "py.out"), "w") as f:
    f.write("tmp-file: " + open(p).read())
    f.write("tempfile-dir: " + os.path.dirname(t.name) + "\n")
    f.write("tmp-listing: " + " ".join(sorted(n for n in os.listdir("/tmp") if n != os.path.basename(t.name))) + "\n")
EOF
echo done"#;

    let sums_before = sample_checksums();
    let tmp_before = guest_owned_snapshot(Path::new("/tmp"));
    let mut c = sandboxed(&ws, NO_OPTS, sh(script, &[s(ws.path()), &py_tmp]));
    // The tools' own temporary files (gcc's, python's tempfile) go to the
    // private /tmp.
    c.env("TMPDIR", "/tmp");
    let out = run(&mut c);
    let tmp_after = guest_owned_snapshot(Path::new("/tmp"));
    let sums_after = sample_checksums();

    out.assert_code(0);
    assert_eq!(out.out(), "done\n", "{out:?}");
    assert_eq!(read(&ws.join("gcc.out")), "hello from gcc\n");
    assert_eq!(read(&ws.join("made.txt")), "INPUT\nfrom a make-built tool\n");
    assert_eq!(read(&ws.join("git.out")), "commit inside the sandbox\n", "the commit and a clean status");
    assert_eq!(
        read(&ws.join("py.out")),
        format!("tmp-file: python in tmp\ntempfile-dir: /tmp\ntmp-listing: {py_tmp}\n"),
        "python wrote and read /tmp, which held nothing else (gcc's files were gone, the host's never there)"
    );
    // The repository is real on the host.
    let log = run(&mut native(&ws, ["git", "-C", "repo", "log", "--format=%s"]));
    assert_eq!(log.out(), "commit inside the sandbox\n", "{log:?}");
    assert!(!Path::new("/tmp").join(&py_tmp).exists(), "python's /tmp file reached the host's /tmp");

    assert_eq!(sums_after, sums_before, "host files the tools read changed");
    if tmp_after != tmp_before {
        let gone: Vec<_> = tmp_before.iter().filter(|(k, v)| tmp_after.get(*k) != Some(v)).collect();
        let new: Vec<_> = tmp_after.iter().filter(|(k, v)| tmp_before.get(*k) != Some(v)).collect();
        panic!("the host's /tmp changed under the guest user:\nbefore only: {gone:#?}\nafter only: {new:#?}\n{out:?}");
    }
}

// ---- 3. private /tmp --------------------------------------------------------

#[test]
fn vfs_view_tmp_is_private_empty_and_goes_away() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    // A host file the guest user could read natively.
    let host_name = unique("host-file");
    let host_file = Path::new("/tmp").join(&host_name);
    let _c1 = Cleanup(host_file.clone());
    std::fs::write(&host_file, "host secret\n").unwrap();
    std::fs::set_permissions(&host_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let n = run(&mut native(&sc, ["cat", s(&host_file)]));
    assert_eq!(n.out(), "host secret\n", "natively the guest user reads it: {n:?}");

    let inside_name = unique("inside");
    let _c2 = Cleanup(Path::new("/tmp").join(&inside_name));
    let script = "ls -A /tmp; echo --; cat /tmp/$1 2>&1; ls /tmp | grep -c condo-vfs-host-file; \
                  echo inside > /tmp/$2 && cat /tmp/$2; ls -A /tmp; touch /tmp/$1 && ls -A /tmp | sort";
    let out = run(&mut sandboxed(&sc, NO_OPTS, sh(script, &[&host_name, &inside_name])));
    let sec = sections(&out.out());
    assert_eq!(sec[0], "", "/tmp is not empty at the start:\n{out:?}");
    assert_eq!(sec.len(), 2, "{out:?}");
    let mut want_sorted = [host_name.clone(), inside_name.clone()];
    want_sorted.sort();
    assert_eq!(
        sec[1],
        format!("cat: /tmp/{host_name}: {ENOENT}\n0\ninside\n{inside_name}\n{}\n", want_sorted.join("\n")),
        "{out:?}"
    );
    out.assert_code(0);
    assert!(!Path::new("/tmp").join(&inside_name).exists(), "the guest's /tmp file is in the host's /tmp");
    assert_eq!(read(&host_file), "host secret\n", "touching the same name inside changed the host's file");

    // The private /tmp was removed with its sandbox: a new one starts empty.
    let again = run(&mut sandboxed(&sc, NO_OPTS, ["ls", "-A", "/tmp"]));
    again.assert_code(0);
    assert_eq!(again.out(), "", "{again:?}");
}

/// Programs run from the private /tmp though the first place for private
/// directories is mounted `noexec` (Docker mounts `/dev/shm` so; here
/// `XDG_RUNTIME_DIR`, tried first, is). Needs root, to mount it.
#[test]
fn vfs_view_tmp_runs_programs_when_the_scratch_place_is_noexec() {
    if !is_root() {
        eprintln!("\n\n!!!!! SKIPPED vfs_view_tmp_runs_programs_when_the_scratch_place_is_noexec: needs root to mount a noexec tmpfs !!!!!\n\n");
        return;
    }
    let sc = Scratch::new();
    let runtime = sc.join("runtime");
    mkdir_p(&runtime);
    let mounted =
        Command::new("mount").args(["-t", "tmpfs", "-o", "noexec,mode=1777", "condo-noexec", s(&runtime)]).status();
    if !mounted.is_ok_and(|st| st.success()) {
        eprintln!(
            "\n\n!!!!! SKIPPED vfs_view_tmp_runs_programs_when_the_scratch_place_is_noexec: mount refused !!!!!\n\n"
        );
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&runtime);
    give_to_guest(sc.path());
    let script = "cp /bin/true /tmp/t && /tmp/t && echo ran";
    let out = run(sandboxed(&sc, NO_OPTS, ["sh", "-c", script]).env("XDG_RUNTIME_DIR", &runtime));
    assert_eq!(out.out(), "ran\n", "{out:?}");
    // The control: programs do not run from the noexec place itself.
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", "cp /bin/true \"$1\"/t && \"$1\"/t", "sh", s(&runtime)]));
    assert_ne!(out.code(), 0, "{out:?}");
}

#[test]
fn vfs_view_two_sandboxes_do_not_share_tmp() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    // Each waits for the other through the (bound, shared) scratch, so
    // both are running at once.
    let a = "echo a > /tmp/only-a; : > \"$1/a-ready\"; i=0; \
             while [ ! -e \"$1/b-done\" ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i+1)); done; \
             [ -e \"$1/b-done\" ] || { echo timed out; exit 3; }; ls -A /tmp";
    let b = "i=0; while [ ! -e \"$1/a-ready\" ] && [ $i -lt 1500 ]; do sleep 0.02; i=$((i+1)); done; \
             [ -e \"$1/a-ready\" ] || { echo timed out; exit 3; }; \
             ls -A /tmp; echo b > /tmp/only-b; ls -A /tmp; : > \"$1/b-done\"";
    let ra = start(&mut sandboxed(&sc, NO_OPTS, sh(a, &[s(sc.path())])));
    let rb = start(&mut sandboxed(&sc, NO_OPTS, sh(b, &[s(sc.path())])));
    let (oa, ob) = (ra.wait(), rb.wait());
    oa.assert_code(0);
    ob.assert_code(0);
    assert_eq!(oa.out(), "only-a\n", "A sees only its own /tmp:\n{oa:?}");
    assert_eq!(ob.out(), "only-b\n", "B sees only its own /tmp:\n{ob:?}");
}

#[test]
fn vfs_view_tmpfs_nests_a_host_dir_from_the_host_tmp() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    let hostdir = Path::new("/tmp").join(unique("nest"));
    let _c = Cleanup(hostdir.clone());
    mkdir_p(&hostdir);
    std::fs::set_permissions(&hostdir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(hostdir.join("inner.txt"), "from the host's /tmp\n").unwrap();
    let outside = unique("outside");
    let _c2 = Cleanup(Path::new("/tmp").join(&outside));
    let script = "ls -A /tmp; echo --; cat /tmp/x/inner.txt; echo --; (echo w > /tmp/x/new) 2>&1; echo --; \
                  echo ok > /tmp/$1 && cat /tmp/$1";
    let out = run(&mut sandbox_raw(
        &sc,
        ["--tmpfs", "/tmp", "--ro-bind", s(&hostdir), "/tmp/x", "--", "sh", "-c", script, "sh", &outside],
    ));
    let sec = sections(&out.out());
    assert_eq!(sec.len(), 4, "{out:?}");
    assert_eq!(sec[0], "x\n", "the private /tmp holds only the mount point x:\n{out:?}");
    assert_eq!(sec[1], "from the host's /tmp\n", "{out:?}");
    assert!(sec[2].contains(EROFS), "writing into the --ro-bind inside --tmpfs:\n{out:?}");
    assert_eq!(sec[3], "ok\n", "the rest of the --tmpfs is writable:\n{out:?}");
    out.assert_code(0);
    assert!(!hostdir.join("new").exists());
    assert!(!Path::new("/tmp").join(&outside).exists(), "--tmpfs /tmp wrote to the host's /tmp");
}

// ---- 4. EROFS under the read-only host root ---------------------------------

/// What the scratch directories hold for the EROFS test: every attempt
/// works on its own name, so natively all of them succeed.
fn erofs_setup(dir: &Path) {
    for d in ["emptyd", "emptyd-at"] {
        mkdir_p(&dir.join(d));
    }
    for f in ["existing", "moved", "moved-at", "victim", "victim-at"] {
        std::fs::write(dir.join(f), "unchanged\n").unwrap();
    }
    give_tree_to_guest(dir);
}

/// vfs_view_erofs's OP:NAME arguments for a scratch directory.
const EROFS_OPS: &[&str] = &[
    "create:condo-created",
    "create-at:condo-created-at",
    "mkdir:condo-dir",
    "mkdir-at:condo-dir-at",
    "symlink:condo-symlink",
    "symlink-at:condo-symlink-at",
    "mkfifo:condo-fifo",
    "mkfifo-at:condo-fifo-at",
    "write:existing",
    "write-at:existing",
    "append:existing",
    "open-trunc:existing",
    "truncate:existing",
    "chmod:existing",
    "utimes:existing",
    "link:existing",
    "link-at:existing",
    "reopen-via-proc:existing",
    "rename:moved",
    "rename-at:moved-at",
    "unlink:victim",
    "unlink-at:victim-at",
    "rmdir:emptyd",
    "rmdir-at:emptyd-at",
];

/// The guest's expected output: every attempt answered `result`.
fn erofs_expect(ops: &[&str], result: &str) -> String {
    ops.iter().map(|op| format!("{}: {result}\n", op.replacen(':', " ", 1))).collect()
}

#[test]
fn vfs_view_writes_under_the_read_only_host_root_fail_with_erofs() {
    let _g = host_tmp_shared();
    let g = guest("vfs_view_erofs");
    let argv = |dir: &Path, ops: &[&str]| -> Vec<String> {
        let mut v = vec![s(&g).to_string(), s(dir).to_string()];
        v.extend(ops.iter().map(|o| o.to_string()));
        v
    };
    // Natively every attempt succeeds on a directory the guest user owns.
    let nsc = Scratch::new();
    erofs_setup(nsc.path());
    let n = run(&mut native(&nsc, argv(nsc.path(), EROFS_OPS)));
    assert_eq!(n.out(), erofs_expect(EROFS_OPS, "ok"), "{n:?}");

    // Each part is checked and the failures reported together.
    let mut problems: Vec<String> = Vec::new();
    let mut expect = |what: &str, out: &Out, want: String| {
        if out.code() != 0 || out.out() != want {
            let wrong: Vec<String> = out
                .out()
                .lines()
                .zip(want.lines())
                .filter(|(got, want)| got != want)
                .map(|(got, want)| format!("    got {got:?}, want {want:?}"))
                .collect();
            problems.push(format!("{what}:\n{}\n{out:?}", wrong.join("\n")));
        }
    };

    // In the default view the same kind of directory, not bound, is part
    // of the read-only host root; with a path or with a directory fd, each
    // change is EROFS.
    let sc = Scratch::new();
    erofs_setup(sc.path());
    let mut args = vec!["--".to_string()];
    args.extend(argv(sc.path(), EROFS_OPS));
    let out = run(&mut sandbox_raw(&sc, &args));
    expect("a directory of the read-only host root", &out, erofs_expect(EROFS_OPS, EROFS));
    // And /etc, which the guest user could not write natively either:
    // the read-only mount answers first, as the kernel's would.
    let etc_ops = [
        "create:condo-created",
        "create-at:condo-created-at",
        "mkdir:condo-dir",
        "mkdir-at:condo-dir-at",
        "write:passwd",
        "write-at:passwd",
        "chmod:passwd",
        "rename:hostname",
        "unlink:hostname",
        "unlink-at:hostname",
    ];
    let mut args = vec!["--".to_string()];
    args.extend(argv(Path::new("/etc"), &etc_ops));
    let out = run(&mut sandbox_raw(&sc, &args));
    expect("/etc", &out, erofs_expect(&etc_ops, EROFS));

    // A writable bind in the same view accepts them all (so the EROFS
    // above is the read-only mount's, not the sandbox refusing writes).
    let wsc = Scratch::new();
    erofs_setup(wsc.path());
    let out = run(&mut sandboxed(&wsc, NO_OPTS, argv(wsc.path(), EROFS_OPS)));
    expect("a writable bind", &out, erofs_expect(EROFS_OPS, "ok"));
    // Whatever the errno, nothing changed on the host.
    let mut names: Vec<String> =
        std::fs::read_dir(sc.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["emptyd", "emptyd-at", "existing", "moved", "moved-at", "victim", "victim-at"]);
    assert_eq!(read(&sc.join("existing")), "unchanged\n");
    assert_eq!(std::fs::metadata(sc.join("existing")).unwrap().mode() & 0o7777, 0o644);
    assert!(!Path::new("/etc/condo-created").exists() && !Path::new("/etc/condo-dir").exists());
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

// ---- 5. --hide ----------------------------------------------------------------

#[test]
fn vfs_view_hide_makes_a_path_and_everything_below_enoent() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    let secret = sc.write("secret/a.txt", "a\n").parent().unwrap().to_path_buf();
    sc.write("secret/sub/b.txt", "b\n");
    sc.write("visible.txt", "v\n");
    let n = run(&mut native(&sc, ["cat", "/etc/hostname", s(&secret.join("a.txt"))]));
    assert!(n.status.success(), "natively both are readable: {n:?}");

    let script = "ls \"$1\"; echo --; ls \"$1/secret\" 2>&1; echo --; cat \"$1/secret/a.txt\" 2>&1; echo --; \
                  stat \"$1/secret/sub/b.txt\" 2>&1; echo --; stat \"$1/secret\" 2>&1; echo --; \
                  cat /etc/hostname 2>&1; echo --; ls /etc | grep -cx hostname; echo --; \
                  rm -rf \"$1/secret\" 2>&1; echo rm-done";
    let out = run(&mut sandboxed(&sc, ["--hide", s(&secret), "--hide", "/etc/hostname"], sh(script, &[s(sc.path())])));
    let sec = sections(&out.out());
    assert_eq!(sec.len(), 8, "{out:?}");
    for (i, what) in
        [(1, "ls DIR"), (2, "cat DIR/a.txt"), (3, "stat DIR/sub/b.txt"), (4, "stat DIR"), (5, "cat /etc/hostname")]
    {
        assert!(
            sec[i].contains(ENOENT) && sec[i].lines().count() == 1,
            "{what} under --hide is not a single ENOENT:\n{}\n{out:?}",
            sec[i]
        );
    }
    // The hidden host files are untouched, even by rm -rf.
    assert!(sec[7].ends_with("rm-done\n"), "{out:?}");
    assert_eq!(read(&secret.join("a.txt")), "a\n");
    assert_eq!(read(&secret.join("sub/b.txt")), "b\n");
    // A name that does not exist is not listed in its directory either.
    assert_eq!(sec[0], "visible.txt\n", "ls of the parent lists the hidden name:\n{out:?}");
    assert_eq!(sec[6], "0\n", "ls /etc lists the hidden hostname:\n{out:?}");
}

// ---- 6. the working directory ---------------------------------------------------

/// The script printing the working directory five ways.
const CWD5: &str = "pwd; /bin/pwd; realpath .; readlink /proc/self/cwd; python3 -c 'import os; print(os.getcwd())'";

#[test]
fn vfs_view_cwd_default_chdir_and_inside_a_bind_is_the_guest_path() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    let here = std::fs::canonicalize(sc.path()).unwrap();
    let five = |p: &str| format!("{p}\n").repeat(5);

    // The default cwd is the caller's.
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", CWD5]));
    out.assert_code(0);
    assert_eq!(out.out(), five(s(&here)), "{out:?}");

    // --chdir to a host directory of the view.
    let out = run(&mut sandboxed(&sc, ["--chdir", "/usr/share"], ["sh", "-c", CWD5]));
    out.assert_code(0);
    assert_eq!(out.out(), five("/usr/share"), "{out:?}");

    // Inside a bind whose destination differs from its source, every way
    // of asking gives the destination.
    sc.write("src/sub/f", "x");
    let src = sc.join("src");
    let script = format!("{CWD5}; echo --; cd sub; {CWD5}");
    let out = run(&mut sandboxed(
        &sc,
        ["--bind", s(&src), "/condo-cwd-dest", "--chdir", "/condo-cwd-dest"],
        ["sh", "-c", &script],
    ));
    out.assert_code(0);
    assert_eq!(
        out.out(),
        format!("{}--\n{}", five("/condo-cwd-dest"), five("/condo-cwd-dest/sub")),
        "the cwd in a bind shows the source's host path:\n{out:?}"
    );
    assert!(!Path::new("/condo-cwd-dest").exists());
}

#[test]
fn vfs_view_relative_paths_follow_the_cwd_as_it_moves() {
    // The supervisor remembers where each thread's cwd is: it must learn
    // of every way the cwd (or the path to it) changes. Each step checks
    // a name that exists on one side of the change only.
    let script = PY_TRY.to_owned()
        + r#"
import threading
top = os.getcwd()
os.makedirs('a'); os.makedirs('b'); open('a/in_a', 'w').close(); open('b/in_b', 'w').close()
os.chdir('a'); t('chdir', lambda: os.stat('in_a'))
fd = os.open('../b', os.O_RDONLY)
os.fchdir(fd); t('fchdir', lambda: os.stat('in_b')); t('fchdir-old', lambda: os.stat('in_a'))
# The cwd itself renamed: the process stays in it.
os.rename('../b', '../c'); t('renamed', lambda: os.stat('in_b')); print(os.getcwd().rsplit('/', 1)[1])
# A parent of the cwd renamed.
os.makedirs('d/e'); os.chdir('d/e'); open('f', 'w').close(); t('deep', lambda: os.stat('f'))
os.rename('../../d', '../../g'); t('parent-renamed', lambda: os.stat('f'))
# The cwd removed and a new directory made where it was: the process is
# still in the removed one.
os.chdir('..'); os.mkdir('gone'); os.chdir('gone'); t('before-rmdir', lambda: os.stat('.'))
os.rmdir('../gone'); os.mkdir('../gone'); open('../gone/new', 'w').close()
t('removed', lambda: os.stat('new')); t('removed-create', lambda: open('x', 'w'))
t('removed-rename', lambda: os.rename('new', 'new2'))
# Another thread's chdir moves this thread's cwd too (they share it).
os.chdir(top + '/c')
seen, first, moved = [], threading.Event(), threading.Event()
def other():
    seen.append(os.path.exists('in_b')); first.set(); moved.wait(); seen.append(os.path.exists('in_a'))
th = threading.Thread(target=other); th.start(); first.wait()
os.chdir(top + '/a'); moved.set(); th.join(); print('thread', seen)
"#;
    let (_, out) = differential(&["python3", "-c", &script]);
    assert!(out.out().contains("parent-renamed ok") && out.out().contains("removed-rename ENOENT"), "{out:?}");
}

#[test]
fn vfs_view_lstat_sees_a_directory_replaced_by_a_symlink() {
    // An lstat whose directory was found free of symlinks before goes on
    // natively without a new look; replacing that directory (renamed, or
    // removed) by a symlink into the private /tmp must be seen: natively
    // the kernel would follow it to the host's /tmp, where the name is not.
    let name = format!("condo-plain-{}-{}", std::process::id(), line!());
    let script = r#"
import os, sys
t = '/tmp/' + sys.argv[1]
os.mkdir('d'); open('d/x', 'w').close(); os.lstat('d/x')
os.rename('d', 'e')
os.makedirs(t); open(t + '/x', 'w').close(); os.symlink(t, 'd')
print('renamed', os.path.lexists('d/x'))
os.remove('d'); os.mkdir('d'); open('d/y', 'w').close(); os.lstat('d/y')
os.remove('d/y'); os.rmdir('d'); os.symlink(t, 'd')
print('removed', os.path.lexists('d/x'))
"#;
    let sc = Scratch::new();
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["python3", "-c", script, &name]));
    out.assert_code(0);
    assert_eq!(out.out(), "renamed True\nremoved True\n", "{out:?}");
    assert!(!Path::new("/tmp").join(&name).exists(), "the guest's /tmp is private");
}

// ---- 7. --bind SRC DEST ------------------------------------------------------------

#[test]
fn vfs_view_bind_to_another_path_writes_through_to_the_source() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    sc.write("src/existing.txt", "before\n");
    sc.write("src/gone.txt", "remove me\n");
    sc.write("src2/keep", "");
    let script = "set -e; cd /condo-rw-dest; echo one > new.txt; mkdir -p d/e; echo two > d/e/deep.txt; \
                  echo appended >> existing.txt; mv new.txt renamed.txt; ln -s renamed.txt sl; rm gone.txt; \
                  cd \"$1/rel-dest\"; echo three > rel.txt; ls";
    // SRC relative to the caller's cwd (the scratch); DEST absolute, then
    // both relative.
    let out = run(&mut sandboxed(
        &sc,
        ["--bind", "src", "/condo-rw-dest", "--bind", "src2", "rel-dest"],
        sh(script, &[s(sc.path())]),
    ));
    out.assert_code(0);
    assert_eq!(out.out(), "keep\nrel.txt\n", "{out:?}");

    let src = sc.join("src");
    assert_eq!(read(&src.join("renamed.txt")), "one\n");
    assert_eq!(read(&src.join("d/e/deep.txt")), "two\n");
    assert_eq!(read(&src.join("existing.txt")), "before\nappended\n");
    assert_eq!(link_target(&src.join("sl")), "renamed.txt");
    assert!(!src.join("gone.txt").exists() && !src.join("new.txt").exists());
    assert_eq!(read(&sc.join("src2/rel.txt")), "three\n");
    // The destinations exist only in the view.
    assert!(!Path::new("/condo-rw-dest").exists());
    assert!(!sc.join("rel-dest").exists(), "the relative destination was created on the host");
    if is_root() {
        let m = std::fs::metadata(src.join("d/e/deep.txt")).unwrap();
        assert_eq!((m.uid(), m.gid()), (NOBODY, NOBODY), "files the guest made belong to the guest user");
    }
}

#[test]
fn vfs_view_a_file_can_be_bound_read_only_or_writable() {
    // bubblewrap users bind single files (`--ro-bind /etc/resolv.conf ...`).
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    sc.write("conf", "from the host\n");
    let rw = sc.write("log", "one\n");
    give_to_guest(&rw);
    let script = "cat /condo-conf; echo x >> /condo-conf 2>/dev/null || echo refused; \
                  echo two >> /condo-log; cat /condo-log; ls -l /condo-conf | cut -c1; [ -d /condo-conf ] || echo file";
    let out = run(&mut sandboxed(
        &sc,
        ["--ro-bind", s(&sc.join("conf")), "/condo-conf", "--bind", s(&rw), "/condo-log"],
        sh(script, &[]),
    ));
    out.assert_code(0);
    assert_eq!(out.out(), "from the host\nrefused\none\ntwo\n-\nfile\n", "{out:?}");
    assert_eq!(read(&sc.join("conf")), "from the host\n");
    assert_eq!(read(&rw), "one\ntwo\n");
}

#[test]
fn vfs_view_unix_sockets_work_inside_the_view_and_the_network_is_untouched() {
    // bind/connect are answered by the supervisor: a server and client in
    // the private /tmp and by relative path, an abstract name the sandbox
    // owns, TCP on loopback (blocking connect, then a refused one), and a
    // socket under the read-only root.
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    if !which("python3") {
        eprintln!("skipped: no python3");
        return;
    }
    let script = r#"
import os, socket
srv = socket.socket(socket.AF_UNIX); srv.bind("/tmp/s.sock"); srv.listen(1)
print("socket file", os.path.exists("/tmp/s.sock"), oct(os.stat("/tmp/s.sock").st_mode >> 12))
c = socket.socket(socket.AF_UNIX); c.connect("/tmp/s.sock"); a, _ = srv.accept(); c.send(b"hi"); print(a.recv(2))
try:
    socket.socket(socket.AF_UNIX).bind("/tmp/s.sock")
except OSError as e:
    print("rebind", os.strerror(e.errno))
os.chdir("/tmp"); r = socket.socket(socket.AF_UNIX); r.bind("rel.sock"); print("relative", os.path.exists("/tmp/rel.sock"))
d1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d1.bind("/tmp/d.sock")
d2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d2.connect("/tmp/d.sock"); d2.send(b"dgram"); print(d1.recv(5))
ab = socket.socket(socket.AF_UNIX); ab.bind("\0condo-view-test-%d" % os.getpid()); ab.listen(1)
socket.socket(socket.AF_UNIX).connect("\0condo-view-test-%d" % os.getpid()); print("abstract ok")
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen(1)
socket.create_connection(t.getsockname()); print("tcp ok")
try:
    socket.create_connection(("127.0.0.1", 1))
except OSError as e:
    print("tcp", os.strerror(e.errno))
try:
    socket.socket(socket.AF_UNIX).bind("/condo-no-such.sock")
except OSError as e:
    print("root", os.strerror(e.errno))
try:
    socket.socket(socket.AF_UNIX).connect("/tmp/missing.sock")
except OSError as e:
    print("missing", os.strerror(e.errno))
"#;
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(
        out.out(),
        "socket file True 0o14\nb'hi'\nrebind Address already in use\nrelative True\nb'dgram'\nabstract ok\n\
         tcp ok\ntcp Connection refused\nroot Read-only file system\nmissing No such file or directory\n",
        "{out:?}"
    );
}

// ---- 8. regressions: O_PATH on symlinks, tar with symlinks -----------------------

#[test]
fn vfs_view_opath_nofollow_on_a_symlink_and_fchmodat_nofollow() {
    let _g = host_tmp_shared();
    let g = guest("vfs_view_opath");
    let nsc = Scratch::new();
    let n = run(&mut native(&nsc, [s(&g), s(nsc.path())]));
    assert!(n.status.success(), "{n:?}");

    let sc = Scratch::new();
    sc.write("w/.keep", "");
    let out = run(&mut sandboxed(&sc, ["--bind", s(&sc.join("w")), "/condo-opath"], [s(&g), "/condo-opath"]));
    out.assert_code(0);
    for line in [
        "open-opath-nofollow: ok",
        "opath-fd-kind: symlink",
        "opath-fd-target: file",
        "fchmodat-file-nofollow: ok",
        "file-mode: 640",
    ] {
        assert!(out.out().lines().any(|l| l == line), "no {line:?}:\n{out:?}");
    }
    assert_eq!(
        out.out(),
        n.out(),
        "the calls answer as they do natively\n=== native ===\n{n:?}\n=== sandboxed ===\n{out:?}"
    );
    assert_eq!(link_target(&sc.join("w/link")), "file");
    assert_eq!(std::fs::metadata(sc.join("w/file")).unwrap().mode() & 0o7777, 0o640);
}

#[test]
fn vfs_view_gnu_tar_extracts_symlinks_into_a_writable_bind() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    sc.write("src/file.txt", "payload\n");
    sc.write("src/dir/inner.txt", "inner\n");
    std::os::unix::fs::symlink("file.txt", sc.join("src/link")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", sc.join("src/dir/abs")).unwrap();
    std::os::unix::fs::symlink("../nowhere", sc.join("src/dir/dangling")).unwrap();
    mkdir_p(&sc.join("out"));
    give_tree_to_guest(sc.path());
    let tar = sc.join("a.tar");
    let mk = run(&mut native(&sc, ["tar", "-cf", s(&tar), "-C", s(&sc.join("src")), "."]));
    assert!(mk.status.success(), "{mk:?}");

    let out = run(&mut sandboxed(
        &sc,
        ["--bind", s(&sc.join("out")), "/condo-untar"],
        ["tar", "-xf", s(&tar), "-C", "/condo-untar"],
    ));
    out.assert_code(0);
    assert_eq!(out.err(), "", "{out:?}");
    let o = sc.join("out");
    assert_eq!(link_target(&o.join("link")), "file.txt");
    assert_eq!(link_target(&o.join("dir/abs")), "/etc/passwd");
    assert_eq!(link_target(&o.join("dir/dangling")), "../nowhere");
    assert_eq!(read(&o.join("file.txt")), "payload\n");
    assert_eq!(read(&o.join("dir/inner.txt")), "inner\n");
}

// ---- 9. /dev -------------------------------------------------------------------------

/// What the synthetic /dev holds (and a few entries bubblewrap's has too).
const DEV_ALLOWED: &[&str] = &[
    "null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout", "stderr", "shm", "pts", "ptmx", "core",
];

#[test]
fn vfs_view_dev_is_synthetic_and_works() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    let shm_name = unique("shm");
    let _c = Cleanup(Path::new("/dev/shm").join(&shm_name));
    let script = "echo x > /dev/null && echo null-ok; [ -c /dev/null ] && echo null-is-char; \
                  head -c 16 /dev/urandom | wc -c; head -c 4 /dev/zero | od -An -tx1; \
                  /bin/echo x 2>&1 > /dev/full || echo full-failed; \
                  for f in stdin stdout stderr fd tty random; do [ -e /dev/$f ] || echo missing $f; done; \
                  echo shm > /dev/shm/$1 && cat /dev/shm/$1; \
                  for f in mem kmsg port; do [ -e /dev/$f ] && echo present $f; done; echo --; ls /dev";
    let out = run(&mut sandboxed(&sc, NO_OPTS, sh(script, &[&shm_name])));
    out.assert_code(0);
    let sec = sections(&out.out());
    assert_eq!(sec.len(), 2, "{out:?}");
    let l: Vec<&str> = sec[0].lines().collect();
    assert_eq!(l[..4], ["null-ok", "null-is-char", "16", " 00 00 00 00"], "{out:?}");
    assert!(l[4].contains("No space left on device") && l[5] == "full-failed", "writing /dev/full:\n{out:?}");
    assert_eq!(l[6..], ["shm"], "{out:?}");
    let listed: BTreeSet<&str> = sec[1].lines().collect();
    for want in ["null", "zero", "full", "random", "urandom", "shm"] {
        assert!(listed.contains(want), "ls /dev lacks {want}:\n{out:?}");
    }
    // No host device beyond the synthetic set: sda, kmsg, mem, vda, ...
    let host_devs: BTreeSet<String> =
        std::fs::read_dir("/dev").unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let leaked: Vec<&str> =
        listed.iter().copied().filter(|n| host_devs.contains(*n) && !DEV_ALLOWED.contains(n)).collect();
    assert!(leaked.is_empty(), "ls /dev lists host devices {leaked:?}:\n{out:?}");
    for d in ["sda", "kmsg", "mem", "vda", "kvm", "loop0"] {
        assert!(!listed.contains(d), "ls /dev lists {d}");
    }
    assert!(!Path::new("/dev/shm").join(&shm_name).exists(), "the guest's /dev/shm file is on the host");
}

// ---- 10. flag errors ---------------------------------------------------------------

#[test]
fn vfs_view_invalid_mount_flags_exit_125_and_run_nothing() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    let toucher = guest("vfs_view_touch");
    // A tree that can run the marker-writing guest, for the --root cases.
    let tree = sc.join("tree");
    copy_guest("vfs_view_touch", &tree.join("bin"));
    give_tree_to_guest(sc.path());
    let here = s(sc.path());
    let marker = |n: &str| sc.join(format!("marker-{n}"));

    // Controls: without the faulty flag the same commands create their
    // marker, so a missing marker below means the command did not run.
    let ok = run(&mut sandbox_raw(&sc, ["--bind", here, here, "--", s(&toucher), s(&marker("control-1"))]));
    ok.assert_code(0);
    assert!(marker("control-1").exists(), "{ok:?}");
    let ok = run(&mut sandbox_raw(
        &sc,
        ["--root", s(&tree), "--bind", here, here, "--", "/bin/vfs_view_touch", s(&marker("control-2"))],
    ));
    ok.assert_code(0);
    assert!(marker("control-2").exists(), "{ok:?}");

    let missing = sc.join("no-such-source");
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        ("missing-bind-source", "--bind", vec!["--bind", here, here, "--bind", s(&missing), "/condo-x"]),
        (
            "missing-relative-ro-bind-source",
            "--ro-bind",
            vec!["--bind", here, here, "--ro-bind", "no-such-rel", "/condo-y"],
        ),
        ("missing-root", "--root", vec!["--root", s(&missing), "--bind", here, here]),
        ("two-roots", "--root", vec!["--root", s(&tree), "--root", s(&tree), "--bind", here, here]),
        ("root-after-bind", "--root", vec!["--bind", here, here, "--root", s(&tree), "--bind", here, here]),
    ];
    for (name, flag, flags) in cases {
        let m = marker(name);
        let prog = if flags.contains(&"--root") { "/bin/vfs_view_touch".to_string() } else { s(&toucher).to_string() };
        let mut args = flags.clone();
        args.extend(["--", prog.as_str(), s(&m)]);
        let out = run(&mut sandbox_raw(&sc, &args));
        assert_eq!(out.code(), 125, "{name}: {args:?}\n{out:?}");
        assert!(
            out.err().starts_with("sandbox-run: ") && out.err().contains(flag),
            "{name}: the message names {flag}:\n{out:?}"
        );
        assert!(out.stdout.is_empty(), "{name}:\n{out:?}");
        assert!(!m.exists(), "{name}: the command ran although the view was refused");
    }
}

// ---- 11. the stat family in a bind --------------------------------------------------

#[test]
fn vfs_view_stat_find_and_ls_in_a_bound_tree_match_the_host() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    sc.write("tree/empty", "");
    sc.write("tree/one", "1");
    sc.write("tree/big", vec![b'z'; 70_000]);
    sc.write("tree/sub/deeper/file", vec![b'q'; 123]);
    mkdir_p(&sc.join("tree/emptydir"));
    std::os::unix::fs::symlink("one", sc.join("tree/link")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", sc.join("tree/abs-link")).unwrap();
    std::os::unix::fs::symlink("no-such-target", sc.join("tree/dangling")).unwrap();
    give_tree_to_guest(sc.path());
    let src = sc.join("tree");

    let script = "cd \"$1\"; stat -c '%n %s %F' empty one big sub/deeper/file link; echo --; \
                  stat -L -c '%n %s %F' link; echo --; find . -printf '%y %p %l\\n' | LC_ALL=C sort; echo --; \
                  find . ! -type d -printf '%p %s\\n' | LC_ALL=C sort; echo --; ls -l link abs-link dangling; echo --; \
                  ls -lnR --time-style=+%s .";
    let n = run(&mut native(&sc, sh(script, &[s(&src)])));
    assert!(n.status.success(), "{n:?}");
    let out = run(&mut sandboxed(&sc, ["--ro-bind", s(&src), "/condo-tree"], sh(script, &["/condo-tree"])));
    out.assert_code(0);
    let (ns, vs) = (sections(&n.out()), sections(&out.out()));
    assert_eq!(vs.len(), 6, "{out:?}");
    assert_eq!(
        vs[0],
        "empty 0 regular empty file\none 1 regular file\nbig 70000 regular file\nsub/deeper/file 123 regular file\n\
         link 3 symbolic link\n",
        "{out:?}"
    );
    assert_eq!(vs[1], "link 1 regular file\n", "{out:?}");
    let what = ["stat", "stat -L", "find (names, kinds, targets)", "find (sizes)", "ls -l of symlinks", "ls -lnR"];
    for (i, w) in what.iter().enumerate() {
        assert_eq!(vs[i], ns[i], "{w} differs from the host's tree\n=== native ===\n{n:?}\n=== sandboxed ===\n{out:?}");
    }
    assert!(vs[4].lines().any(|l| l.ends_with(" link -> one")), "{out:?}");
}

#[test]
fn vfs_view_private_dirs_of_a_killed_supervisor_are_swept_by_the_next_sandbox() {
    // A supervisor killed with SIGKILL cannot remove its private /tmp; the
    // next sandbox of the same user removes it.
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    let mut r = start(&mut sandboxed(&sc, Vec::<&str>::new(), sh("echo ready; exec sleep 60", &[])));
    assert_eq!(r.read_line(), "ready");
    let pid = r.pid();
    let prefix = format!("condo-{pid}-");
    let parents: Vec<PathBuf> =
        [Some(PathBuf::from("/dev/shm")), std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)]
            .into_iter()
            .flatten()
            .collect();
    let mine: Vec<PathBuf> = parents
        .iter()
        .filter_map(|p| std::fs::read_dir(p).ok())
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    assert_eq!(mine.len(), 1, "the running sandbox's private directory: {mine:?}");
    kill(pid, libc::SIGKILL);
    let _ = r.wait();
    assert!(mine[0].exists(), "nothing could have removed {}", mine[0].display());
    run(&mut sandboxed(&sc, Vec::<&str>::new(), ["true"])).assert_code(0);
    assert!(!mine[0].exists(), "{} was left behind", mine[0].display());
}

#[test]
fn vfs_view_a_fifo_in_the_private_tmp_joins_its_reader_and_writer() {
    // Opening a fifo blocks until the other end opens it, and the other end
    // is another guest call the supervisor must answer meanwhile (both
    // opens are answered in the view: /tmp is private).
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    let script = "mkfifo /tmp/f; cat /tmp/f & sleep 0.2; echo through > /tmp/f; wait; \
                  mkfifo /tmp/g; (exec 3</tmp/g; cat <&3) & exec 4>/tmp/g; echo again >&4; exec 4>&-; wait";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), sh(script, &[])));
    out.assert_code(0);
    assert_eq!(out.out(), "through\nagain\n", "{out:?}");
}

#[test]
fn vfs_view_a_unix_connect_waiting_on_a_full_backlog_holds_up_no_other_call() {
    // The supervisor connects on the guest's behalf; a connect that waits
    // for a listener that never accepts must not stop it answering the
    // guest's other threads.
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    if !which("python3") {
        eprintln!("skipped: no python3");
        return;
    }
    let script = r#"
import os, socket, threading, time
srv = socket.socket(socket.AF_UNIX); srv.bind("/tmp/full.sock"); srv.listen(0)
def fill():
    for _ in range(8):
        socket.socket(socket.AF_UNIX).connect("/tmp/full.sock")
threading.Thread(target=fill, daemon=True).start()
time.sleep(0.5)
print(open("/etc/hostname").read() != "", os.path.exists("/tmp/full.sock"), flush=True)
os._exit(0)
"#;
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(out.out(), "True True\n", "{out:?}");
}

#[test]
fn vfs_view_the_report_lists_the_paths_changed_on_writable_mounts() {
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    sc.write("ws/old", "old\n");
    sc.write("ws/keep", "keep\n");
    give_tree_to_guest(&sc.join("ws"));
    let ws = sc.join("ws");
    let report = sc.join("report.json");
    give_to_guest(sc.path());
    let script = "cd \"$1\"; echo x > new; mkdir d; mv old d/moved; chmod 600 keep; ln -s new sl; \
                  echo y > /tmp/t; rm /tmp/t; cat keep >/dev/null; echo no >> /etc/hostname 2>/dev/null; true";
    let out = run(&mut sandboxed(&sc, ["--report", s(&report)], sh(script, &[s(&ws)])));
    out.assert_code(0);
    let json = read(&report);
    let w = s(&ws);
    for (path, change) in [
        (format!("{w}/new"), "written"),
        (format!("{w}/d"), "created"),
        (format!("{w}/d/moved"), "created"),
        (format!("{w}/old"), "removed"),
        (format!("{w}/keep"), "metadata"),
        (format!("{w}/sl"), "created"),
        ("/tmp/t".to_string(), "removed"),
    ] {
        let entry = format!("{{\"path\":\"{path}\",\"change\":\"{change}\"}}");
        assert!(json.contains(&entry), "no {entry} in {json}");
    }
    assert!(json.contains("\"changed_total\":7"), "read-only and unchanged paths are not listed: {json}");
}

#[test]
fn vfs_view_inode_flags_of_a_read_only_file_cannot_be_set() {
    // chattr works through an O_RDONLY fd for the file's owner: the view
    // must not let it change a file it shows read-only. (Natively, as the
    // same user, it does change it: checked first, so the attack means
    // something here.)
    let _g = host_tmp_shared();
    if !which("chattr") || !which("lsattr") {
        eprintln!("skipped: no chattr/lsattr");
        return;
    }
    let sc = Scratch::new();
    let control = sc.write("control", "c\n");
    let target = sc.write("target", "t\n");
    give_to_guest(&control);
    give_to_guest(&target);
    let attrs = |p: &Path| host(&["lsattr", s(p)]).out().split_whitespace().next().unwrap_or_default().to_string();
    let native_run = run(&mut native(&sc, ["chattr", "+d", s(&control)]));
    if native_run.code() != 0 || !attrs(&control).contains('d') {
        eprintln!("skipped: this filesystem has no settable inode flags here: {native_run:?}");
        return;
    }
    let before = attrs(&target);
    let out = run(&mut sandbox_raw(&sc, ["--", "chattr", "+d", s(&target)]));
    assert_ne!(out.code(), 0, "chattr succeeded in the view: {out:?}");
    assert_eq!(attrs(&target), before, "the read-only file's flags changed");
}

#[test]
fn vfs_view_tmpfs_size_fills_with_enospc() {
    // --tmpfs /t --size 1M holds 1 MiB: a filler gets ENOSPC there, the
    // rest of the view is not limited, and removing makes room again.
    let _g = host_tmp_shared();
    let sc = Scratch::new();
    let script = "head -c 5000000 /dev/zero > /t/fill; echo \"fill $?\"; wc -c < /t/fill; \
                  head -c 3000000 /dev/zero > big-outside && echo outside-ok; \
                  rm /t/fill; head -c 900000 /dev/zero > /t/again && echo again-ok";
    let out = run(&mut sandboxed(&sc, ["--tmpfs", "/t", "--size", "1M"], ["sh", "-c", script]));
    out.assert_code(0);
    let text = out.out();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{out:?}");
    assert_eq!(lines[0], "fill 1", "{out:?}");
    assert_eq!(lines[1].trim(), "1048576", "the tmpfs holds exactly its size\n{out:?}");
    assert_eq!(&lines[2..], ["outside-ok", "again-ok"], "{out:?}");
    assert!(out.err().contains("No space left on device"), "{out:?}");
}

#[test]
fn vfs_view_dot_and_empty_names_are_answered_as_linux_does() {
    // A review found `rmdir("")` removing the working directory and
    // `unlink("f/.")` removing f: the fast path dropped the final `.`.
    // Native and sandboxed runs (in a writable bind) must answer alike.
    let script = PY_TRY.to_owned()
        + r#"
os.makedirs('d/e'); open('f', 'w').close()
os.chdir('d/e'); t('rmdir-empty', lambda: os.rmdir('')); t('unlink-empty', lambda: os.unlink('')); os.chdir('../..')
t('unlink-file-dot', lambda: os.unlink('f/.'))
t('unlink-dir-dot', lambda: os.unlink('d/.'))
t('rmdir-dot', lambda: os.rmdir('d/e/.'))
t('rmdir-dotdot', lambda: os.rmdir('d/e/..'))
t('rename-dot', lambda: os.rename('d/e/.', 'x'))
t('rename-to-dot', lambda: os.rename('f', 'd/.'))
t('stat-file-dot', lambda: os.stat('f/.'))
t('open-file-dot', lambda: os.open('f/.', os.O_RDONLY))
print(os.path.isdir('d/e'), os.path.exists('f'))
"#;
    differential(&["python3", "-c", &script]);
}

#[test]
fn vfs_view_new_nodes_get_the_guest_umask() {
    // Whoever makes the node (the kernel, for a change continued
    // natively, or the supervisor, for the private /tmp, /dev/shm and
    // absolute paths there), it gets the mode asked for less the guest's
    // umask, as natively: a guest's `umask 077` keeps its files private.
    let (_, s) = differential(&[
        "sh",
        "-c",
        "umask 027; mkdir d; touch f; mkfifo p; mkdir d/e; umask 002; touch d/g; \
         python3 -c 'import os; os.mkdir(\"h\", 0o777); os.close(os.open(\"i\", os.O_CREAT|os.O_WRONLY, 0o666))'; \
         stat -c '%n %a' d f p d/e d/g h i",
    ]);
    assert_eq!(s.out(), "d 750\nf 640\np 640\nd/e 750\nd/g 664\nh 775\ni 664\n", "{s:?}");

    let sc = Scratch::new();
    let script = "umask 077; mkdir /tmp/a /dev/shm/b; touch /tmp/f /dev/shm/g; cd /tmp && mkdir c && touch h; \
                  umask 002; mkdir /tmp/i; touch /dev/shm/j; \
                  python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"/tmp/sock\")'; \
                  stat -c '%n %a' /tmp/a /dev/shm/b /tmp/f /dev/shm/g /tmp/c /tmp/h /tmp/i /dev/shm/j /tmp/sock";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), sh(script, &[])));
    out.assert_code(0);
    assert_eq!(
        out.out(),
        "/tmp/a 700\n/dev/shm/b 700\n/tmp/f 600\n/dev/shm/g 600\n/tmp/c 700\n/tmp/h 600\n/tmp/i 775\n/dev/shm/j 664\n/tmp/sock 775\n",
        "{out:?}"
    );
}

/// An open in a directory the supervisor found plain a moment ago (a
/// `stat` of a sibling) is decided by one `lstat` of the last name: a file
/// opens natively, a symlink there is still resolved in the view (its
/// target, the private `/tmp`, is not the host's).
#[test]
fn vfs_view_a_symlink_beside_a_plain_file_is_followed_in_the_view() {
    let sc = Scratch::new();
    sc.write("d/f", "plain\n");
    std::os::unix::fs::symlink("/tmp/condo-plain-target", sc.join("d/s")).unwrap();
    give_tree_to_guest(sc.path());
    let d = sc.join("d");
    let script = "import os, sys
d = sys.argv[1]
open('/tmp/condo-plain-target', 'w').write('private\\n')
for i in range(3):
    os.lstat(d + '/f')
    print(open(d + '/f').read().strip(), open(d + '/s').read().strip())
";
    let out = run(&mut sandbox_raw(&sc, ["--", "python3", "-c", script, s(&d)]));
    assert_eq!(out.out(), "plain private\n".repeat(3), "{out:?}");
}

/// A path through a symlink or `..` that leaves a bind mounted elsewhere
/// than its source is resolved in the view, though the host file the view
/// finds (`/etc/passwd`) is where the host has it: the kernel, walking the
/// same string from the source, would reach a decoy beside the source.
#[test]
fn vfs_view_a_path_out_of_a_bind_is_followed_in_the_view_not_from_its_source() {
    let sc = Scratch::new();
    sc.write("etc/passwd", "decoy\n");
    sc.write("src/f", "in the bind\n");
    std::os::unix::fs::symlink("../etc/passwd", sc.join("src/up")).unwrap();
    give_tree_to_guest(sc.path());
    let first = read(Path::new("/etc/passwd")).lines().next().unwrap().to_string();
    let script = "import os
for p in ['up', '/ws/up', '../etc/passwd', 'f']:
    for i in range(2):
        print(p, open(p).readline().strip())
";
    let src = sc.join("src");
    let out = run(&mut sandbox_raw(&sc, ["--bind", s(&src), "/ws", "--chdir", "/ws", "--", "python3", "-c", script]));
    out.assert_code(0);
    let mut want = String::new();
    for p in ["up", "/ws/up", "../etc/passwd"] {
        want += &format!("{p} {first}\n").repeat(2);
    }
    want += &"f in the bind\n".repeat(2);
    assert_eq!(out.out(), want, "{out:?}");
}

/// A bind with a hidden path beneath it (over the host's `/`, or inside
/// the private /tmp) is carved for Landlock: its
/// names at start get their own rules and a directory made later gets
/// none. Calls that would run natively there (continued opens and
/// stats, calls beneath a directory fd) are answered in the view instead
/// of failing with Landlock's `EACCES`.
#[test]
fn vfs_view_directories_made_beside_a_hidden_path_are_usable() {
    let sc = Scratch::new();
    sc.write("w/h/secret", "hidden\n");
    sc.write("w/old", "old\n");
    give_tree_to_guest(sc.path());
    let w = sc.join("w");
    let script = "import os, sys, shutil
os.chdir(sys.argv[1])
os.mkdir('new')
os.symlink('new', 'ln')
open('ln/f', 'w').write('via link')
open('new/g', 'w').write('direct')
for i in range(2):
    print(open('ln/f').read(), open('new/g').read(), os.stat('new/g').st_size, os.path.exists('h'))
d = os.open('new', os.O_RDONLY | os.O_DIRECTORY)
os.mkdir('sub', dir_fd=d)
fd = os.open('sub/x', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=d)
os.write(fd, b'x'); os.close(fd)
print(sorted(os.listdir(d)), sorted(os.listdir('new/sub')), open('old').read().strip())
os.rename('new/sub', 'new/sub2')
shutil.rmtree('new')
os.unlink('ln')
print(sorted(os.listdir('.')))
";
    let hide = format!("{}/h", s(&w));
    // The bind directly over the host's `/`, and one inside the private
    // /tmp (whose own rule covers its private directory, not the bind).
    let over_root = sandboxed(&sc, ["--hide", &hide], ["python3", "-c", script, s(&w)]);
    let in_tmp =
        sandbox_raw(&sc, ["--bind", s(&w), "/tmp/w", "--hide", "/tmp/w/h", "--", "python3", "-c", script, "/tmp/w"]);
    for (opts, mut cmd) in [("over /", over_root), ("in /tmp", in_tmp)] {
        let out = run(&mut cmd);
        out.assert_code(0);
        assert_eq!(
            out.out(),
            "via link direct 6 False\nvia link direct 6 False\n['f', 'g', 'sub'] ['x'] old\n['old']\n",
            "{opts:?}: {out:?}"
        );
    }
    assert_eq!(read(&sc.join("w/h/secret")), "hidden\n");
}

/// A file no path names (made `O_TMPFILE`, or removed while open) is
/// reopened through its fd's link as natively, where the view shows its
/// directory writable, and an `O_TMPFILE` one (not `O_EXCL`) is given a
/// name by linking that link (`linkat(AT_SYMLINK_FOLLOW)`). An
/// `O_TMPFILE` open gets the lowest fd, as any file's.
#[test]
fn vfs_view_a_removed_file_reopens_through_its_fd_link() {
    let sc = Scratch::new();
    let script = "import os, ctypes
libc = ctypes.CDLL(None, use_errno=True)
def linkat(fd, dst):
    if libc.linkat(-100, b'/proc/self/fd/%d' % fd, -100, dst.encode(), 0x400) != 0:
        return os.strerror(ctypes.get_errno())
    return open(dst).read()
fd = os.open('/tmp', os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b'made')
p = '/proc/self/fd/%d' % fd
print(fd, open(p).read(), os.stat(p).st_size)
g = os.open('/tmp/gone', os.O_CREAT | os.O_RDWR, 0o600)
os.unlink('/tmp/gone')
w = os.open('/proc/self/fd/%d' % g, os.O_WRONLY)
os.write(w, b'kept')
print(os.pread(g, 10, 0), os.read(os.open('/dev/fd/%d' % g, os.O_RDONLY), 10))
x = os.open('/tmp', os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
print(linkat(fd, '/tmp/named'), linkat(g, '/tmp/again'), linkat(x, '/tmp/excl'))
print(sorted(os.listdir('/tmp')))
q = '/proc/self/fd/%d' % g
print(os.readlink(q).startswith('/tmp/gone'), os.readlink(q).endswith(' (deleted)'), os.access(q, os.W_OK))
os.chmod(q, 0o640)
os.truncate(q, 2)
os.utime(q, (5, 5))
st = os.fstat(g)
print(oct(st.st_mode & 0o777), st.st_mtime, st.st_size)
";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", script]));
    out.assert_code(0);
    let enoent = "No such file or directory";
    let want = format!("3 made 4\nb'kept' b'kept'\nmade {enoent} {enoent}\n['named']\nTrue True True\n0o640 5.0 2\n");
    assert_eq!(out.out(), want, "{out:?}");
}

/// A removed working directory is still `.`, as natively: it stats and
/// lists (empty), opens for reading only, takes no new names, and is not
/// the directory made at its old path since, nor one literally named
/// `PATH (deleted)`; so is a removed directory's `/proc/self/fd/N`.
#[test]
fn vfs_view_a_removed_cwd_is_still_dot() {
    let sc = Scratch::new();
    let script = "import os
os.makedirs('/tmp/t/sub')
os.chdir('/tmp/t/sub')
os.rmdir('/tmp/t/sub')
print(os.listdir('.'), os.path.isdir('.'), os.access('./', os.R_OK), os.stat('.').st_nlink)
for fl in (os.O_WRONLY, os.O_RDONLY | os.O_CREAT):
    try:
        os.open('.', fl)
    except OSError as e:
        print(e.strerror)
fd = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
try:
    os.open('x', os.O_RDONLY | os.O_CREAT, dir_fd=fd)
except OSError as e:
    print('made beneath:', e.strerror)
os.makedirs('/tmp/t/sub')
open('/tmp/t/sub/new', 'w').close()
os.makedirs('/tmp/t/sub (deleted)/in')
print(os.listdir('.'), os.listdir('/tmp/t/sub'), sorted(os.listdir('..')))
for name in ('in', 'new', './in'):
    try:
        os.stat(name)
    except OSError as e:
        print(name, e.strerror)
try:
    open('made', 'w')
except OSError as e:
    print('made', e.strerror)
os.makedirs('/tmp/u/gone')
d = os.open('/tmp/u/gone', os.O_RDONLY | os.O_DIRECTORY)
os.rmdir('/tmp/u/gone')
os.makedirs('/tmp/u/gone (deleted)/in')
p = '/proc/self/fd/%d' % d
print(os.listdir(p), os.readlink(p), os.path.exists(p + '/in'), os.stat(p).st_nlink)
for fl in (os.O_TMPFILE | os.O_RDWR, os.O_WRONLY, os.O_RDONLY | os.O_CREAT):
    try:
        os.open(p, fl, 0o600)
    except OSError as e:
        print(e.strerror)
for q in (p + '/made', '/proc/self/made'):
    try:
        open(q, 'w')
    except OSError as e:
        print(e.strerror)
";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(
        out.out(),
        "[] True True 0\nIs a directory\nIs a directory\nmade beneath: No such file or directory\n[] ['new'] ['sub', 'sub (deleted)']\nin No such file or directory\nnew No such file or directory\n./in No such file or directory\nmade No such file or directory\n[] /tmp/u/gone (deleted) False 0\n\
         Operation not permitted\nIs a directory\nIs a directory\nNo such file or directory\nNo such file or directory\n",
        "{out:?}"
    );
}

/// The tracer remembers how it resolved the programs it saw run; a
/// program rewritten in place (even to name an interpreter only the view
/// has, a symlink in the private /tmp), a script whose interpreter is
/// rewritten so (to a script there), replaced by a rename, reached
/// through a symlink pointed elsewhere, or made again where its directory
/// was removed (natively, beneath a writable directory's fd) is the new
/// one.
#[test]
fn vfs_view_a_program_changed_between_runs_runs_as_changed() {
    let sc = Scratch::new();
    let script = r##"cd "$1"
ln -s /bin/sh /tmp/i
prog() { printf '#!/bin/sh\necho %s\n' "$2" > "$1"; chmod +x "$1"; }
prog tool one; ./tool; "$1/tool"; ./tool
printf '#!/tmp/i\necho via-tmp\n' > tool; ./tool; "$1/tool"
prog t3 three; mv t3 tool; ./tool; "$1/tool"
prog /tmp/i2 B; prog int A; printf '#!%s/int\n' "$1" > tool2; chmod +x tool2
"$1/tool2"; "$1/tool2"; printf '#!/tmp/i2\n' > int; "$1/tool2"
mkdir a b; cp /bin/true a/p; cp /bin/false b/p
ln -s a l; ./l/p; echo $?; "$1/l/p"; echo $?
rm l; ln -s b l; ./l/p; echo $?; "$1/l/p"; echo $?
python3 -c 'import os, shutil
w = os.open("b", os.O_RDONLY | os.O_DIRECTORY)
os.unlink("p", dir_fd=w)
os.rmdir("b")
os.mkdir("b")
fd = os.open("b/p", os.O_WRONLY | os.O_CREAT, 0o755)
os.write(fd, open("/bin/true", "rb").read())
print("placed", 256 <= w < 512)'
./l/p; echo $?; "$1/l/p"; echo $?
"##;
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["sh", "-c", script, "sh", s(sc.path())]));
    out.assert_code(0);
    let want = "one\none\none\nvia-tmp\nvia-tmp\nthree\nthree\nA\nA\nB\n0\n0\n1\n1\nplaced True\n0\n0\n";
    assert_eq!(out.out(), want, "{out:?}");
}

/// A `#!` interpreter may itself be a script, as the kernel allows (five
/// scripts deep; `ELOOP` beyond): a chain whose scripts live only in the
/// view's private /tmp runs as the same chain does natively, each script
/// getting the path it was named by.
#[test]
fn vfs_view_scripts_whose_interpreter_is_a_script_run_as_natively() {
    let sc = Scratch::new();
    let script = r##"d=$1/nx; mkdir -p "$d"
printf '#!/bin/sh\necho "$0" "$@"\n' > "$d/i0"; chmod +x "$d/i0"
for k in 1 2 3 4 5; do printf '#!%s/i%s -x\n' "$d" $((k-1)) > "$d/i$k"; chmod +x "$d/i$k"; done
cd "$d"; ./i1 a 'b c'; echo $?
"$d/i4" z; echo $?
"$d/i5" z 2>/dev/null; echo $?
"##;
    let sandboxed_out = run(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", script, "sh", "/tmp"]));
    sandboxed_out.assert_code(0);
    let native_out = run(&mut native(&sc, ["sh", "-c", script, "sh", s(sc.path())]));
    native_out.assert_code(0);
    let native_text = native_out.out().replace(s(sc.path()), "/tmp");
    assert_eq!(
        native_text,
        "/tmp/nx/i0 -x ./i1 a b c\n0\n/tmp/nx/i0 -x /tmp/nx/i1 -x /tmp/nx/i2 -x /tmp/nx/i3 -x /tmp/nx/i4 z\n0\n127\n",
        "the kernel's own answer: {native_out:?}"
    );
    assert_eq!(sandboxed_out.out(), native_text, "{sandboxed_out:?}");
}

/// `/proc/PID/maps`, `smaps` and `numa_maps` name mapped files by their paths in the
/// view: a program run from the private /tmp or from a bind at another
/// place shows those paths (which it can reopen), never where the host
/// keeps them.
#[test]
fn vfs_view_proc_maps_name_files_by_their_view_paths() {
    let sc = Scratch::new();
    std::fs::create_dir(sc.join("src")).expect("mkdir");
    give_tree_to_guest(sc.path());
    let script = "cp /bin/cat /tmp/cat && cp /bin/cat /mnt/ws/cat2 && \
                  /tmp/cat /proc/self/maps | grep -c ' /tmp/cat$' && \
                  /mnt/ws/cat2 /proc/self/smaps | grep -c ' /mnt/ws/cat2$' && \
                  /tmp/cat /proc/self/maps /proc/self/smaps /proc/self/numa_maps | grep -c -e condo- -e \"$1\"";
    let out = run(&mut sandbox_raw(
        &sc,
        ["--bind", s(&sc.join("src")), "/mnt/ws", "--", "sh", "-c", script, "sh", s(&sc.join("src"))],
    ));
    // Each file is mapped in several parts; no line names a host place.
    let text = out.out();
    let counts: Vec<&str> = text.lines().collect();
    assert_eq!(counts.len(), 3, "{out:?}");
    assert!(counts[0].parse::<u32>().unwrap_or(0) >= 2, "{out:?}");
    assert!(counts[1].parse::<u32>().unwrap_or(0) >= 2, "{out:?}");
    assert_eq!(counts[2], "0", "{out:?}");
}

/// A unix socket bound at a long name (the 108 bytes a socket address
/// holds, less the directory's) works as natively: by an absolute path
/// whose last name is ~95 bytes, and by a relative name of 107; a client
/// connects, and `getsockname` gives the name the guest bound.
#[test]
fn vfs_view_unix_sockets_bind_at_long_names_as_natively() {
    let script = r#"import os, socket, sys
os.chdir(sys.argv[1])
for name in (os.getcwd() + "/" + "s" * (104 - len(os.getcwd())), "r" * 107):
    srv = socket.socket(socket.AF_UNIX)
    try:
        srv.bind(name)
    except OSError as e:
        print(len(name), "bind", e.strerror)
        continue
    srv.listen(1)
    cli = socket.socket(socket.AF_UNIX)
    cli.connect(name)
    conn, _ = srv.accept()
    cli.send(b"hi")
    print(len(name), "ok", conn.recv(2), srv.getsockname() == name, os.path.exists(name))
"#;
    let native_out = python_as_natively(script);
    assert_eq!(native_out.out(), "105 ok b'hi' True True\n107 ok b'hi' True True\n", "the kernel's: {native_out:?}");
}

/// `utimensat` with nothing to change (both times `UTIME_OMIT`) succeeds
/// without looking at the path, unknown flags are `EINVAL`, and `mknod`
/// makes a socket inode (no device: an unprivileged user may) and refuses
/// an unknown file type with `EINVAL`, as natively.
#[test]
fn vfs_view_utimensat_and_mknod_check_their_arguments_as_natively() {
    let script = r#"import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class TS(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
omit = (TS * 2)(TS(0, (1 << 30) - 2), TS(0, (1 << 30) - 2))
def r(x):
    return "ok" if x == 0 else errno.errorcode[ctypes.get_errno()]
print("omit missing", r(libc.utimensat(-100, b"/nonexistent/x", omit, 0)))
print("omit read-only", r(libc.utimensat(-100, b"/usr/bin/true", omit, 0)))
print("bad flag", r(libc.utimensat(-100, sys.argv[1].encode(), None, 0x4000)))
print("flags on an fd", r(libc.utimensat(0, None, None, 0x100)))
for mode in (0o140600, 0o170600):
    try:
        os.mknod(sys.argv[1] + "/n%o" % mode, mode)
        print("mknod %o ok" % mode, oct(os.lstat(sys.argv[1] + "/n%o" % mode).st_mode))
    except OSError as e:
        print("mknod %o" % mode, errno.errorcode[e.errno])
"#;
    let native_out = python_as_natively(script);
    assert!(native_out.out().contains("omit read-only ok\n"), "the kernel's answers: {native_out:?}");
}

/// A file an fd holds is linked by the fd (`linkat(fd, "", ...,
/// AT_EMPTY_PATH)`: an `O_TMPFILE` file given a name), and through its
/// `/proc/self/fd` link again once it has a name, or after the name it was
/// opened by is removed while another is left; unknown `linkat` flags are
/// `EINVAL`. In the private /tmp and in a bind, as natively.
#[test]
fn vfs_view_files_are_linked_by_their_fds_as_natively() {
    let script = r#"import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def t(name, r):
    print(name, "ok" if r == 0 else errno.errorcode[ctypes.get_errno()])
d = sys.argv[1]
fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
os.write(fd, b"tmp")
t("linkat fd AT_EMPTY_PATH", libc.linkat(fd, b"", -100, (d + "/named").encode(), 0x1000))
t("linkat /proc/self/fd again", libc.linkat(-100, ("/proc/self/fd/%d" % fd).encode(), -100, (d + "/named2").encode(), 0x400))
print(open(d + "/named").read(), open(d + "/named2").read())
t("linkat bad flag", libc.linkat(-100, (d + "/named").encode(), -100, (d + "/named3").encode(), 0x2))
f = os.open(d + "/named", os.O_RDONLY)
os.unlink(d + "/named")
print("through the fd of a removed name:", open("/proc/self/fd/%d" % f).read())
t("linkat it back", libc.linkat(f, b"", -100, (d + "/again").encode(), 0x1000))
print(sorted(n for n in os.listdir(d) if not n.startswith(".")))
"#;
    let native_out = python_as_natively(script);
    assert!(native_out.out().starts_with("linkat fd AT_EMPTY_PATH ok\n"), "the kernel's answers: {native_out:?}");
}

/// `openat2`'s `RESOLVE_*` flags bound the walk where the view answers the
/// call (relative to the working directory, or to a directory fd the
/// supervisor placed high, here `/`'s), as the kernel bounds it: `..` or
/// an absolute name or symlink out of the start is `EXDEV` beneath it and
/// stays in it as a root, symlinks are `ELOOP` when refused (`/proc`'s
/// magic links only, not `/proc/self`), leaving the start's mount is
/// `EXDEV`, a create out of bounds makes nothing, and a malformed `how` is
/// refused. In the private /tmp and in a bind the answers are the kernel's.
#[test]
fn vfs_view_openat2_resolve_flags_bound_the_walk_as_natively() {
    let script = r#"import ctypes, errno, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def oa2(d, p, fl, res, size=24, tail=0):
    how = struct.pack("QQQ", fl, 0o644 if fl & os.O_CREAT else 0, res) + bytes([tail]) * (size - 24)
    r = libc.syscall(437, d, p.encode(), how, size)
    return r if r >= 0 else -ctypes.get_errno()
def t(name, r):
    if r < 0:
        print(name, errno.errorcode[-r])
    else:
        try:
            what = os.read(r, 20).decode().strip()
        except OSError as e:
            what = "fd " + errno.errorcode[e.errno]
        print(name, "ok", what)
os.chdir(sys.argv[1])
os.makedirs("r/sub", exist_ok=True)
open("r/sub/f", "w").write("in\n")
for l, to in (("abs", "/sub/f"), ("rel", "sub/f"), ("sd", "sub")):
    if not os.path.lexists("r/" + l):
        os.symlink(to, "r/" + l)
os.chdir("r")
B, R, NS, NM, NX, C = 0x08, 0x10, 0x04, 0x02, 0x01, 0x20
C_ = -100
t("beneath sub/f", oa2(C_, "sub/f", 0, B))
t("beneath ../r/sub/f", oa2(C_, "../r/sub/f", 0, B))
t("beneath abs", oa2(C_, "abs", 0, B))
t("beneath /etc/hostname", oa2(C_, "/etc/hostname", 0, B))
t("in_root /sub/f", oa2(C_, "/sub/f", 0, R))
t("in_root abs", oa2(C_, "abs", 0, R))
t("in_root ../../sub/f", oa2(C_, "../../sub/f", 0, R))
t("in_root /etc/hostname", oa2(C_, "/etc/hostname", 0, R))
t("no_xdev absolute from another mount", oa2(C_, "/etc/hostname", 0, NX))
r = oa2(C_, "/proc/mounts", 0, NM)
print("no_magiclinks /proc/mounts", "ok" if r >= 0 else errno.errorcode[-r])
t("no_symlinks rel", oa2(C_, "rel", 0, NS))
t("no_symlinks sd/f", oa2(C_, "sd/f", 0, NS))
t("no_symlinks sub/f", oa2(C_, "sub/f", 0, NS))
t("no_magiclinks /proc/self/exe", oa2(C_, "/proc/self/exe", 0, NM))
t("no_magiclinks /proc/self/comm", oa2(C_, "/proc/self/comm", 0, NM))
t("no_xdev /proc/self/comm", oa2(C_, "/proc/self/comm", 0, NX))
t("beneath creat ../x", oa2(C_, "../x", os.O_WRONLY | os.O_CREAT, B))
print("../x made", os.path.exists("../x"))
t("in_root creat /new", oa2(C_, "/new", os.O_WRONLY | os.O_CREAT, R))
print("new made", os.path.exists("new"))
t("cached creat", oa2(C_, "sub/g", os.O_WRONLY | os.O_CREAT, C))
t("size 32, tail set", oa2(C_, "sub/f", 0, 0, 32, 1))
t("size 32, tail clear", oa2(C_, "sub/f", 0, 0, 32, 0))
t("unknown resolve bit", oa2(C_, "sub/f", 0, 0x80))
t("beneath and in_root", oa2(C_, "sub/f", 0, B | R))
root = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
t("/ in_root /etc/../etc/hostname", oa2(root, "/etc/../etc/hostname", 0, R))
t("/ beneath ../etc/hostname", oa2(root, "../etc/hostname", 0, B))
"#;
    let native_out = python_as_natively(script);
    for want in
        ["beneath abs EXDEV\n", "in_root abs ok in\n", "no_magiclinks /proc/self/exe ELOOP\n", "../x made False\n"]
    {
        assert!(native_out.out().contains(want), "the kernel's answers: {native_out:?}");
    }
}

/// A file the view shows read-only is not writable to an access check
/// beneath a directory fd either (`find -writable`, `faccessat` with and
/// without `AT_EACCESS`, `AT_EMPTY_PATH` on the file's own fd), where the
/// host's answer, which Landlock does not change, would be that it is;
/// one in a writable bind is.
#[test]
fn vfs_view_access_checks_beneath_a_directory_fd_see_read_only_mounts() {
    let sc = Scratch::new();
    sc.write("ro/file", "x");
    sc.write("rw/file", "x");
    std::os::unix::fs::symlink("file", sc.join("ro/sl")).expect("symlink");
    give_tree_to_guest(sc.path());
    let script = r#"import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for d in sys.argv[1:]:
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    f = os.open(d + "/file", os.O_RDONLY)
    empty = libc.syscall(439, f, b"", os.W_OK, 0x1000) == 0
    print(d.rsplit("/", 1)[1], os.access("file", os.W_OK, dir_fd=fd),
          os.access("file", os.W_OK, dir_fd=fd, effective_ids=True), empty,
          os.access("file", os.R_OK, dir_fd=fd))
# A read-only mount says so before a symlink's missing user attributes do.
try:
    os.setxattr(sys.argv[1] + "/sl", "user.x", b"1", follow_symlinks=False)
except OSError as e:
    print("lsetxattr", e.strerror)
"#;
    let (ro, rw) = (sc.join("ro"), sc.join("rw"));
    let out = run(&mut sandbox_raw(
        &sc,
        [
            "--ro-bind",
            s(&ro),
            s(&ro),
            "--bind",
            s(&rw),
            s(&rw),
            "--",
            "sh",
            "-c",
            "find \"$1\" \"$2\" -writable; python3 -c \"$3\" \"$1\" \"$2\"",
            "sh",
            s(&ro),
            s(&rw),
            script,
        ],
    ));
    out.assert_code(0);
    assert_eq!(
        out.out(),
        format!(
            "{rw}\n{rw}/file\nro False False False True\nrw True True True True\nlsetxattr Read-only file system\n",
            rw = s(&rw)
        ),
        "{out:?}"
    );
}

/// Runs Python `script`, whose argument is the directory it works in,
/// natively (in a fresh directory, as the guest user) and sandboxed (in
/// the private /tmp and in a bind): every run exits 0, and each sandboxed
/// output is the native one. Returns the native run, whose answers the
/// caller checks are the kernel's.
fn python_as_natively(script: &str) -> Out {
    let sc = Scratch::new();
    std::fs::create_dir(sc.join("n")).expect("mkdir");
    give_tree_to_guest(sc.path());
    let native_out = run(&mut native(&sc, ["python3", "-c", script, s(&sc.join("n"))]));
    native_out.assert_code(0);
    let sc2 = Scratch::new();
    std::fs::create_dir(sc2.join("w")).expect("mkdir");
    give_tree_to_guest(sc2.path());
    for d in ["/tmp".to_string(), s(&sc2.join("w")).to_string()] {
        let out = run(&mut sandboxed(&sc2, NO_OPTS, ["python3", "-c", script, &d]));
        out.assert_code(0);
        assert_eq!(out.out(), native_out.out(), "in {d}: {out:?}");
    }
    native_out
}

/// A slash after the last name asks for a directory, as the kernel reads
/// it: a file, symlink, fifo or socket is not made there (`EISDIR` for an
/// `O_CREAT` open, `ENOENT` or `EEXIST` otherwise), a file is not renamed
/// to or from it (`ENOTDIR`), and a removal looks at the name itself, a
/// symlink too: `rmdir("link/")` does not remove the directory it points
/// to. In the private /tmp and in a bind the answers are the kernel's.
#[test]
fn vfs_view_a_slash_after_a_name_is_for_directories_as_natively() {
    let script = r#"import os, sys, socket
d = sys.argv[1]; os.chdir(d)
for n in os.listdir('.'):
    p = os.path.join(d, n)
    if os.path.isdir(p) and not os.path.islink(p): os.system(f"rm -rf '{p}'")
    else: os.unlink(p)
open('f', 'w').write('x'); os.mkdir('dd'); os.symlink('f', 'lf'); os.symlink('dd', 'ld')
def t(name, fn):
    try: r = fn(); print(name, 'ok', r if isinstance(r, (int, bool)) and not isinstance(r, bool) and r < 3 else '')
    except OSError as e: print(name, os.strerror(e.errno))
t('open-creat new/', lambda: os.close(os.open('new/', os.O_CREAT | os.O_WRONLY, 0o644)) or 0)
t('open-creat f/', lambda: os.close(os.open('f/', os.O_CREAT | os.O_WRONLY, 0o644)) or 0)
t('open-creat dd/', lambda: os.close(os.open('dd/', os.O_CREAT | os.O_RDONLY, 0o644)) or 0)
t('open f/', lambda: os.close(os.open('f/', os.O_RDONLY)) or 0)
t('open lf/', lambda: os.close(os.open('lf/', os.O_RDONLY)) or 0)
t('open ld/', lambda: os.close(os.open('ld/', os.O_RDONLY)) or 0)
t('stat f/', lambda: os.stat('f/') and 0)
t('lstat f/', lambda: os.lstat('f/') and 0)
t('lstat ld/', lambda: os.lstat('ld/').st_mode >> 12)
t('lstat lf/', lambda: os.lstat('lf/').st_mode >> 12)
t('access f/', lambda: os.access('f/', os.R_OK))
t('symlink s/', lambda: os.symlink('x', 's/') or 0)
t('symlink f/', lambda: os.symlink('x', 'f/') or 0)
t('mkfifo p/', lambda: os.mkfifo('p/') or 0)
t('link f n/', lambda: os.link('f', 'n/') or 0)
t('link f/ n2', lambda: os.link('f/', 'n2') or 0)
t('mkdir m/', lambda: os.mkdir('m/') or 0)
t('rename f g/', lambda: os.rename('f', 'g/') or 0)
t('rename f/ g', lambda: os.rename('f/', 'g') or 0)
t('rename dd ee/', lambda: os.rename('dd', 'ee/') or 0)
t('rename ee/ dd/', lambda: os.rename('ee/', 'dd/') or 0)
t('unlink f/', lambda: os.unlink('f/') or 0)
t('unlink lf/', lambda: os.unlink('lf/') or 0)
t('unlink ld/', lambda: os.unlink('ld/') or 0)
t('rmdir m/', lambda: os.rmdir('m/') or 0)
t('rmdir ld/', lambda: os.rmdir('ld/') or 0)
t('truncate f/', lambda: os.truncate('f/', 0) or 0)
t('chmod f/', lambda: os.chmod('f/', 0o644) or 0)
t('readlink lf/', lambda: os.readlink('lf/') and 0)
t('utime f/', lambda: os.utime('f/') or 0)
s = socket.socket(socket.AF_UNIX)
t('bind sock/', lambda: s.bind('sock/') or 0)
print(sorted(os.listdir('.')))
"#;
    let native_out = python_as_natively(script);
    assert!(native_out.out().contains("rename f g/ Not a directory\n"), "the kernel's answers: {native_out:?}");
    assert!(native_out.out().contains("rmdir ld/ Not a directory\n"), "the kernel's answers: {native_out:?}");
}

/// A script run by `execveat` relative to a directory fd gets the name
/// the kernel gives it, `/dev/fd/N/NAME` (which its interpreter opens
/// through the fd, wherever the working directory is), and one whose
/// directory fd is close-on-exec is refused with `ENOENT`, as natively:
/// in the private /tmp, where the exec is rewritten, and in a bind.
#[test]
fn vfs_view_scripts_run_beneath_a_directory_fd_are_named_as_natively() {
    let sc = Scratch::new();
    let script = r##"d=$1/fdx; mkdir -p "$d"
printf '#!/bin/sh\necho "$0" "$@"\n' > "$d/s.sh"; chmod +x "$d/s.sh"
cd /
for ce in 0 1; do python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
cloexec = sys.argv[2] == "1"
d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
os.set_inheritable(d, not cloexec)
print("fd", d, flush=True)
argv = (ctypes.c_char_p * 3)(b"s.sh", b"x", None)
envp = (ctypes.c_char_p * 1)(None)
libc.syscall(322, d, b"s.sh", argv, envp, 0)
print("execveat:", os.strerror(ctypes.get_errno()))
' "$d" $ce; done
"##;
    // The fd number is the guest's (a writable directory's goes from 256
    // up in the view): the name must carry the number it got.
    let normal = |text: &str| -> String {
        let fd = text.lines().find_map(|l| l.strip_prefix("fd ")).unwrap_or("?").to_string();
        text.replace(&format!("/dev/fd/{fd}/"), "/dev/fd/N/").replace(&format!("fd {fd}\n"), "fd N\n")
    };
    let native_out = run(&mut native(&sc, ["sh", "-c", script, "sh", s(sc.path())]));
    native_out.assert_code(0);
    let native_text = normal(&native_out.out());
    assert_eq!(
        native_text, "fd N\n/dev/fd/N/s.sh x\nfd N\nexecveat: No such file or directory\n",
        "the kernel's own answers: {native_out:?}"
    );
    let sc2 = Scratch::new();
    for d in ["/tmp", s(sc2.path())] {
        let out = run(&mut sandboxed(&sc2, NO_OPTS, ["sh", "-c", script, "sh", d]));
        out.assert_code(0);
        assert_eq!(normal(&out.out()), native_text, "in {d}: {out:?}");
    }
}

/// Each file of a `#!` chain is checked as the kernel checks it, even one
/// the rewritten exec skips: a script that is not executable, or an
/// interpreter that is a fifo or a pipe (`EACCES`, without reading it:
/// the data waiting in the pipe is still there for the guest),
/// and the `#!` line is read as the kernel reads it (a `\r` is part of
/// the name; one argument, tabs kept). In the private /tmp, where the
/// exec is rewritten, and in a bind, where it runs as the guest made it,
/// the answers are the kernel's.
#[test]
fn vfs_view_each_file_of_a_script_chain_is_checked_as_natively() {
    let sc = Scratch::new();
    let script = r##"d=$1/chk; mkdir -p "$d"
printf '#!/bin/sh\necho "$0" "$@"\n' > "$d/i0"; chmod 755 "$d/i0"
printf '#!%s/i0\n' "$d" > "$d/mid"; chmod 644 "$d/mid"
printf '#!%s/mid\n' "$d" > "$d/top"; chmod 755 "$d/top"
"$d/top" 2>/dev/null; echo "top $?"
cp "$d/i0" "$d/p644"; chmod 644 "$d/p644"; "$d/p644" 2>/dev/null; echo "644 $?"
mkfifo -m 755 "$d/ff"; printf '#!%s/ff\n' "$d" > "$d/viaff"; chmod 755 "$d/viaff"
"$d/viaff" 2>/dev/null; echo "fifo $?"
printf '#!/dev/stdin\n' > "$d/viastdin"; chmod 755 "$d/viastdin"
echo DATA | { sleep 0.2; "$d/viastdin" 2>/dev/null; echo "stdin $?"; cat; }
printf '#!/bin/sh\r\necho cr\n' > "$d/cr"; chmod 755 "$d/cr"; "$d/cr" 2>/dev/null; echo "cr $?"
printf '#! \t%s/i0 \t-a\tb  \t\n' "$d" > "$d/tabs"; chmod 755 "$d/tabs"; "$d/tabs" z
"##;
    let native_out = run(&mut native(&sc, ["sh", "-c", script, "sh", s(sc.path())]));
    native_out.assert_code(0);
    let native_text = native_out.out().replace(s(sc.path()), "D");
    assert_eq!(
        native_text, "top 126\n644 126\nfifo 126\nstdin 126\nDATA\ncr 127\nD/chk/i0 -a\tb D/chk/tabs z\n",
        "the kernel's own answers: {native_out:?}"
    );
    let sc2 = Scratch::new();
    for d in ["/tmp", s(sc2.path())] {
        let out = run(&mut sandboxed(&sc2, NO_OPTS, ["sh", "-c", script, "sh", d]));
        out.assert_code(0);
        assert_eq!(out.out().replace(d, "D"), native_text, "in {d}: {out:?}");
    }
}

/// Changes by the caller's own `/proc/self/fd/N` (how glibc's
/// `fchmodat(AT_SYMLINK_NOFOLLOW)` names the `O_PATH` fd it opens) apply
/// to what the fd holds, as natively: a symlink has no mode, a pipe's
/// may change, a file read-only in the view may not.
#[test]
fn vfs_view_changes_through_own_proc_fd_links_apply_to_what_the_fd_holds() {
    let sc = Scratch::new();
    let script = PY_TRY.to_owned()
        + "import sys
ws = sys.argv[1]
open(ws + '/f', 'w').close()
os.symlink('f', ws + '/ln')
w = os.open(ws + '/f', os.O_PATH)
r = os.open('/etc/passwd', os.O_PATH)
s = os.open(ws + '/ln', os.O_PATH | os.O_NOFOLLOW)
pr, pw = os.pipe()
t('file', lambda: os.chmod('/proc/self/fd/%d' % w, 0o600))
t('read-only', lambda: os.chmod('/proc/self/fd/%d' % r, 0o644))
t('symlink', lambda: os.chmod('/proc/self/fd/%d' % s, 0o644))
t('pipe', lambda: os.chmod('/proc/self/fd/%d' % pr, 0o600))
t('closed', lambda: os.chmod('/proc/self/fd/999', 0o600))
t('times', lambda: os.utime('/proc/thread-self/fd/%d' % w, (3, 3)))
st = os.stat(ws + '/f')
print(oct(st.st_mode & 0o777), st.st_mtime, oct(os.stat(ws + '/ln', follow_symlinks=False).st_mode & 0o777))
";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", &script, s(sc.path())]));
    out.assert_code(0);
    let want = "file ok\nread-only EROFS\nsymlink ENOTSUP\npipe ok\nclosed ENOENT\ntimes ok\n0o600 3.0 0o777\n";
    assert_eq!(out.out(), want, "{out:?}");
}

/// Python: `cpus(status_text)`, the CPUs a `/proc/PID/status` text's
/// `Cpus_allowed_list` names.
const PY_CPUS: &str = "import os, subprocess
def cpus(text):
    line = next(l for l in text.splitlines() if l.startswith('Cpus_allowed_list:'))
    out = set()
    for part in line.split()[1].split(','):
        a, _, b = part.partition('-')
        out.update(range(int(a), int(b or a) + 1))
    return out
";

/// A thread that reads its own `/proc/self/status` sees its own CPU
/// mask there, as `sched_getaffinity` says, not the one CPU the
/// supervisor holds a thread on while it hands it an fd.
#[test]
fn vfs_view_a_thread_reading_its_own_status_sees_its_own_cpu_mask() {
    let sc = Scratch::new();
    let script = PY_CPUS.to_owned()
        + "own = os.sched_getaffinity(0)
wrong = 0
for i in range(100):
    wrong += cpus(open('/proc/self/status').read()) != own
    wrong += cpus(open('/proc/thread-self/status').read()) != own
# A process's first open (grep's) is the one that raced most.
for i in range(100):
    wrong += cpus(subprocess.run(['grep', 'Cpus', '/proc/self/status'], capture_output=True, text=True).stdout) != own
print('wrong', wrong, 'of 300')
";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", &script]));
    out.assert_code(0);
    assert_eq!(out.out(), "wrong 0 of 300\n", "{out:?}");
}

/// A directory whose names were looked up is kept open by the
/// supervisor; removed and made again natively (beneath a writable
/// directory's fd, which the supervisor does not see), the directory at
/// its path is the new one: a name made there opens, an old one is gone.
#[test]
fn vfs_view_a_directory_removed_and_made_again_natively_shows_its_new_names() {
    let sc = Scratch::new();
    // Relative to the cwd: the kernel walks to the view's own host path
    // (an absolute /tmp path would name the host's /tmp), so opens
    // continue natively once checked.
    let script = "import os
os.makedirs('/tmp/w/d')
os.chdir('/tmp/w')
open('d/f', 'w').write('old')
for i in range(3):
    open('d/f').read()
w = os.open('.', os.O_RDONLY | os.O_DIRECTORY)
print('placed', 256 <= w < 512)
os.unlink('d/f', dir_fd=w)
os.rmdir('d', dir_fd=w)
os.mkdir('d', dir_fd=w)
fd = os.open('d/g', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=w)
os.write(fd, b'new')
os.close(fd)
for i in range(2):
    print(open('d/g').read(), os.path.exists('d/f'))
";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(out.out(), "placed True\nnew False\nnew False\n", "{out:?}");
}

/// The supervisor keeps a thread it gave a placed fd (a writable
/// directory's, from 256 up) on its own CPU until the next call it
/// answers otherwise: a process that placed one and then waits for a
/// child runs on all its CPUs again once the child's calls come, as
/// another process sees in its `/proc/PID/status`.
#[test]
fn vfs_view_a_thread_given_a_placed_fd_gets_its_cpu_mask_back() {
    let sc = Scratch::new();
    let script = PY_CPUS.to_owned()
        + "own = os.sched_getaffinity(0)
fd = os.open('/tmp', os.O_RDONLY | os.O_DIRECTORY)
print('placed', 256 <= fd < 512)
status = subprocess.run(['cat', '/proc/%d/status' % os.getpid()], capture_output=True, text=True).stdout
print('seen by a child', 'own' if cpus(status) == own else sorted(cpus(status)), 'of', len(own))
";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", &script]));
    out.assert_code(0);
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(out.out(), format!("placed True\nseen by a child own of {n}\n"), "{out:?}");
}

#[test]
fn vfs_view_changes_beneath_directory_fds_in_private_mounts() {
    // tar and rm -rf make and remove names relative to a directory fd; in
    // the private /dev/shm and /tmp the supervisor checks each and the
    // kernel makes it. What the guest sees, and the report, is what the
    // view says.
    let sc = Scratch::new();
    let report = sc.join("report.json");
    let script = r#"
import os
for top in ("/dev/shm/t", "/tmp/t"):
    os.mkdir(top)
    d = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    os.mkdir("a", dir_fd=d)
    os.mkdir("a/b", dir_fd=d)
    os.close(os.open("a/b/f", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=d))
    try:
        os.open("a/b/f", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=d)
    except FileExistsError:
        print("exists")
    try:
        os.mkdir("a/b", dir_fd=d)
    except FileExistsError:
        print("dir exists")
    try:
        os.unlink("a/b", dir_fd=d)
    except IsADirectoryError:
        print("is a directory")
    try:
        os.mkdir("nope/x", dir_fd=d)
    except FileNotFoundError:
        print("no parent")
    os.symlink("/etc", "a/l", dir_fd=d)
    try:
        os.close(os.open("a/l/new", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=d))
    except OSError as e:
        print("through the symlink:", e.errno == 30)
    try:
        os.open("a/l", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=d)
    except FileExistsError:
        print("exclusive on the symlink")
    print(sorted(os.listdir(top + "/a/b")), os.stat("a/b/f", dir_fd=d).st_size)
    os.unlink("a/b/f", dir_fd=d)
    os.unlink("a/l", dir_fd=d)
    os.rmdir("a/b", dir_fd=d)
    print(sorted(os.listdir(top + "/a")))
"#;
    let out = run(&mut sandboxed(&sc, ["--report", s(&report)], ["python3", "-c", script]));
    out.assert_code(0);
    let once = "exists\ndir exists\nis a directory\nno parent\nthrough the symlink: True\nexclusive on the symlink\n['f'] 0\n[]\n";
    assert_eq!(out.out(), format!("{once}{once}"), "{out:?}");
    let json = read(&report);
    for (path, change) in [("/dev/shm/t/a", "created"), ("/tmp/t/a/b", "removed"), ("/dev/shm/t/a/b/f", "removed")] {
        let entry = format!("{{\"path\":\"{path}\",\"change\":\"{change}\"}}");
        assert!(json.contains(&entry), "no {entry} in {json}");
    }
}

#[test]
fn vfs_view_xattrat_calls_are_answered_in_the_view() {
    // getxattrat, setxattrat, listxattrat and removexattrat (Linux 6.13):
    // by path, relative to a directory fd and on an fd, as natively; on a
    // read-only mount the attributes read and do not change.
    let g = guest("xattrat");
    let (_, out) = differential_with(&[], &[s(&g), "xattrat", "xf"], &[], |sc| {
        sc.write("xf", "");
    });
    assert!(out.out().contains("list by path: 29 user.one,user.two,user.three,\n"), "{out:?}");
    assert!(out.out().contains("remove on fd: 0\n"), "{out:?}");

    let sc = Scratch::new();
    let f = sc.write("xf", "");
    let c = std::ffi::CString::new(f.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path, name and a one-byte value.
    let r = unsafe { libc::setxattr(c.as_ptr(), c"user.keep".as_ptr(), b"K".as_ptr().cast(), 1, 0) };
    assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
    let d = s(sc.path());
    let out = run(&mut sandbox_raw(&sc, ["--ro-bind", d, d, "--chdir", d, "--", s(&g), "xattrat-ro", "xf"]));
    out.assert_code(0);
    assert_eq!(out.out(), "get: 1 K\nset: EROFS\nremove: EROFS\nset on fd: EROFS\nget on fd: 1 K\n", "{out:?}");
    assert_eq!(std::fs::read_dir(sc.path()).unwrap().count(), 1, "nothing was made");
}

#[test]
fn vfs_view_changes_in_a_bind_with_a_mount_below_it() {
    // A bind with another mount below it has no Landlock rule of its own
    // (the rule is carved per name it had at start), so the kernel would
    // refuse to make or remove names directly in it: those stay the
    // supervisor's, relative or absolute, and the report lists only what
    // happened.
    let sc = Scratch::new();
    sc.write("ws/existing", "hi\n");
    sc.write("ws/target/keep", "");
    give_tree_to_guest(&sc.join("ws"));
    let ws = sc.join("ws");
    let w = s(&ws);
    let report = sc.join("report.json");
    let script = format!(
        "touch {w}/abs; echo abs=$?; cd {w}; touch rel; echo rel=$?; mkdir d; echo mkdir=$?; \
         rm existing; echo rm=$?; touch nodir/x 2>/dev/null; echo nodir=$?; cat rel abs; ls"
    );
    let out = run(&mut sandboxed(&sc, ["--report", s(&report), "--tmpfs", &format!("{w}/target")], sh(&script, &[])));
    out.assert_code(0);
    assert_eq!(out.out(), "abs=0\nrel=0\nmkdir=0\nrm=0\nnodir=1\nabs\nd\nrel\ntarget\n", "{out:?}");
    let json = read(&report);
    for (path, change) in [("abs", "written"), ("rel", "written"), ("d", "created"), ("existing", "removed")] {
        let entry = format!("{{\"path\":\"{w}/{path}\",\"change\":\"{change}\"}}");
        assert!(json.contains(&entry), "no {entry} in {json}");
    }
    assert!(!json.contains("nodir"), "a create that failed is listed: {json}");
}

#[test]
fn vfs_view_children_keep_their_parents_cpus() {
    // The supervisor keeps a guest thread on its own CPU while it wakes
    // it (WakeHere); a child forked in that window must still get its
    // parent's CPUs, or a whole build could end up on one.
    let (_, out) = differential(&["sh", "-c", "for i in $(seq 300); do cd /tmp; nproc; done | sort | uniq -c"]);
    assert_eq!(out.out().lines().count(), 1, "{out:?}");
}

#[test]
fn vfs_view_unix_socket_names_are_the_guests() {
    // The supervisor binds and connects unix sockets through its own fds
    // (/proc/self/fd/N/NAME); getsockname, getpeername and an accepted
    // socket's name still show the path as the guest that bound it spelt
    // it, relative or absolute, as natively.
    let script = r#"
import os, socket
def server(name):
    s = socket.socket(socket.AF_UNIX)
    s.bind(name)
    s.listen(1)
    return s
here = os.getcwd()
rel, ab = server("srv.sock"), server(here + "/abs.sock")
c1 = socket.socket(socket.AF_UNIX)
c1.connect(here + "/srv.sock")
c2 = socket.socket(socket.AF_UNIX)
c2.connect("abs.sock")
a, _ = rel.accept()
print(c1.getpeername(), c2.getpeername() == here + "/abs.sock", rel.getsockname(), a.getsockname(), repr(a.getpeername()))
"#;
    let (_, out) = differential(&["python3", "-c", script]);
    assert_eq!(out.out(), "srv.sock True srv.sock srv.sock ''\n", "{out:?}");

    let sc = Scratch::new();
    let in_tmp = format!("import os; os.chdir('/tmp')\n{script}").replace("here = os.getcwd()", "here = '/tmp'");
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", &in_tmp]));
    out.assert_code(0);
    assert_eq!(out.out(), "srv.sock True srv.sock srv.sock ''\n", "{out:?}");
}

#[test]
fn vfs_view_the_mount_table_is_the_views() {
    // /proc/PID/mountinfo and mounts list the view's mounts: the private
    // /tmp, the workspace bind writable, / read-only, a hidden path and
    // what the host mounts beneath it gone; `df` finds /tmp's own mount,
    // and a mount's device is the one stat shows for files in it.
    let sc = Scratch::new();
    let ws = sc.path().to_path_buf();
    let script = r#"
cat /proc/self/mountinfo; echo --
cat /proc/mounts; echo --
df -P /tmp | tail -n 1 | awk '{print $NF}'; stat -c '%Hd:%Ld' /tmp /; echo --
echo x 2>/dev/null > /proc/self/mountinfo; echo write=$?
"#;
    let hidden = sc.join("hidden-parent");
    std::fs::create_dir_all(hidden.join("shown")).unwrap();
    give_tree_to_guest(&hidden);
    let (h, shown) = (s(&hidden).to_string(), format!("{}/shown", s(&hidden)));
    let opts = ["--hide", "/sys", "--tmpfs", "/tmp/with space", "--hide", &h, "--ro-bind", &shown, "/data"];
    let out = run(&mut sandboxed(&sc, opts, sh(script, &[])));
    // A bind's host source is not named (its path may be hidden).
    assert!(!out.out().contains("hidden-parent"), "{out:?}");
    out.assert_code(0);
    let sec = sections(&out.out());
    let info: Vec<Vec<&str>> = sec[0].lines().map(|l| l.split(' ').collect()).collect();
    let line = |point: &str| -> Vec<&str> {
        let found: Vec<&Vec<&str>> = info.iter().filter(|f| f[4] == point).collect();
        assert_eq!(found.len(), 1, "one mountinfo line for {point}: {:?}", sec[0]);
        found[0].clone()
    };
    let fstype = |f: &[&str]| f[f.iter().position(|x| *x == "-").expect("a separator") + 1].to_string();
    assert!(line("/")[5].starts_with("ro"), "{:?}", sec[0]);
    assert!(line(s(&ws))[5].starts_with("rw"), "{:?}", sec[0]);
    assert_eq!(fstype(&line("/tmp")), "tmpfs");
    assert_eq!(fstype(&line("/tmp/with\\040space")), "tmpfs");
    assert_eq!(fstype(&line("/proc")), "proc");
    assert!(!info.iter().any(|f| f[4] == "/sys" || f[4].starts_with("/sys/")), "hidden /sys listed: {:?}", sec[0]);
    // Ids are unique and every parent is listed.
    let ids: BTreeSet<&str> = info.iter().map(|f| f[0]).collect();
    assert_eq!(ids.len(), info.len(), "{:?}", sec[0]);
    assert!(info.iter().all(|f| ids.contains(f[1])), "{:?}", sec[0]);
    // The mounts file agrees.
    assert!(sec[1].lines().any(|l| l.split(' ').nth(1) == Some("/tmp") && l.contains(" tmpfs rw")), "{:?}", sec[1]);
    assert!(!sec[1].contains(" /sys"), "{:?}", sec[1]);
    let df: Vec<&str> = sec[2].lines().collect();
    assert_eq!(df[0], "/tmp", "df's mount for /tmp: {:?}", sec[2]);
    assert_eq!(line("/tmp")[2], df[1], "/tmp's device in mountinfo and in stat");
    assert_eq!(line("/")[2], df[2], "/'s device in mountinfo and in stat");
    assert_eq!(sec[3].trim(), "write=2", "{out:?}");
}

#[test]
fn vfs_view_mapped_files_are_named_in_the_view() {
    // /proc/self/map_files lists and names a mapped file by its path in
    // the view (the private /tmp here), not by its host path; `ls -la
    // /proc/self` shows it like any other entry.
    let sc = Scratch::new();
    let script = r#"
import mmap, os
with open("/tmp/mapped", "wb") as f:
    f.write(b"x" * 4096)
f = open("/tmp/mapped", "rb")
m = mmap.mmap(f.fileno(), 4096, prot=mmap.PROT_READ)
names = set(os.readlink("/proc/self/map_files/" + n) for n in os.listdir("/proc/self/map_files"))
print("/tmp/mapped" in names, any("condo" in n for n in names))
"#;
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", script]));
    out.assert_code(0);
    assert_eq!(out.out(), "True False\n", "{out:?}");
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["ls", "-la", "/proc/self/"]));
    out.assert_code(0);
    assert!(out.out().contains(" map_files\n") && out.err().is_empty(), "{out:?}");
}

#[test]
fn vfs_view_dev_stdio_reopens_pipes_and_terminals() {
    // /dev/stdout, /dev/stdin and /dev/fd/N of a pipe or terminal reopen
    // it, for writing too, and following them finds the pipe or terminal
    // itself: `tee /dev/stderr`, `cp /dev/stdin f`, process substitution
    // and ttyname all work as natively.
    let script = r#"
echo piped | sh -c 'cp /dev/stdin copy; cat copy; [ -p /dev/stdin ] && echo pipe; stat -L -c %F /dev/stdin'
echo teed | tee /dev/stderr 2>&1 >/dev/null | cat
sh -c 'echo via-fd > /dev/fd/1' | cat
diff <(echo a) <(echo b); echo diff=$?
case "$(readlink /dev/fd/1)" in pipe:*) echo pipe-link;; *) echo "other: $(readlink /dev/fd/1)";; esac
python3 -c 'import os, pty; m, s = pty.openpty(); print(os.ttyname(s).startswith("/dev/pts/"))'
"#;
    let (_, out) = differential(&["bash", "-c", script]);
    assert_eq!(out.out(), "piped\npipe\nfifo\nteed\nvia-fd\n1c1\n< a\n---\n> b\ndiff=1\npipe-link\nTrue\n", "{out:?}");
}

#[test]
fn vfs_view_private_scratch_is_like_a_fresh_tmpfs() {
    // The private /tmp and /dev/shm are sticky and world-writable, a
    // removed cwd has no path, and statvfs marks a read-only mount so,
    // through a path or an fd.
    let script = r#"
ls -ld /tmp /dev/shm | cut -c1-10
mkdir /tmp/gone-$$ && cd /tmp/gone-$$ && rmdir /tmp/gone-$$
python3 -c 'import os; os.getcwd()' 2>/dev/null; echo getcwd=$?
"#;
    differential(&["sh", "-c", script]);
    let sc = Scratch::new();
    let flags = "import os
ro = lambda v: v.f_flag & os.ST_RDONLY
print(ro(os.statvfs('/usr')), ro(os.statvfs('/tmp')))
print(ro(os.fstatvfs(os.open('/usr/bin', os.O_RDONLY))), ro(os.fstatvfs(os.open('/tmp', os.O_RDONLY))))
print(ro(os.fstatvfs(os.pipe()[0])))";
    let out = run(&mut sandboxed(&sc, Vec::<&str>::new(), ["python3", "-c", flags]));
    assert_eq!(out.out(), "1 0\n1 0\n0\n", "{out:?}");
    // A sized tmpfs shows its size, and what is written to it as used.
    let sized = "import os\n\
        def show(v):\n    print(v.f_blocks * v.f_frsize, (v.f_blocks - v.f_bfree) * v.f_frsize // 4096)\n\
        show(os.statvfs('/scratch'))\nopen('/scratch/f', 'wb').write(b'x' * 409600)\nshow(os.statvfs('/scratch'))\n\
        show(os.fstatvfs(os.open('/scratch/f', os.O_RDONLY)))";
    let out = run(&mut sandboxed(&sc, ["--tmpfs", "/scratch", "--size", "1M"], ["python3", "-c", sized]));
    assert_eq!(out.out(), "1048576 0\n1048576 100\n1048576 100\n", "{out:?}");
}

#[test]
fn vfs_view_signals_end_or_restart_a_call_waiting_on_a_fifo() {
    // A fifo open waits in the supervisor; signals for the waiting thread
    // end it (EINTR, or a restart after an SA_RESTART handler) or kill
    // the process, as natively, instead of leaving it waiting for good.
    // In /tmp, by absolute path: the supervisor opens it (beneath the
    // workspace the kernel would, after the view's checks).
    let g = guest("fifo_signals");
    let fifo = format!("/tmp/{}", unique("fifo"));
    let _c = Cleanup(PathBuf::from(&fifo));
    let (_, out) = differential(&[s(&g), &fifo]);
    assert_eq!(
        out.out(),
        "no SA_RESTART: EINTR, alarms 1\nSA_RESTART: opened late, alarms 2\nblocked writer: killed by SIGTERM\n\
         threaded SA_RESTART: opened\n",
        "{out:?}"
    );
}

#[test]
fn vfs_view_directory_fds_above_mount_points_reach_the_view() {
    // Beneath a directory fd the kernel resolves names itself, and cannot
    // know the view's mount points: a directory with one below it (the
    // default view's /, holding the private /tmp, /dev and /proc) is
    // given to the guest at a high fd number, beneath which calls (and
    // copies of the fd) are answered in the view. find, du and fts-style
    // walks through / then see the private /tmp, the devices and only the
    // sandbox's pids, as a path-by-path walk does.
    let sc = Scratch::new();
    let work = sc.join("work");
    std::fs::create_dir(&work).unwrap();
    give_to_guest(&work);
    let w = s(&work);
    let script = format!(
        r#"
touch /tmp/marker-in-private-tmp
find / -maxdepth 1 2>&1 | grep -E '^/(tmp|dev|proc)$|Permission denied: .?/(tmp|dev|proc)' | sort
find / -maxdepth 2 -name marker-in-private-tmp 2>/dev/null
find /dev -maxdepth 1 -name null -type c
ls /proc | grep -c '^[0-9]' | awk '{{print ($1 <= 6) ? "few pids" : "host pids: " $1}}'
python3 -c '
import os, fcntl
d = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
for copy in (d, os.dup(d), fcntl.fcntl(d, fcntl.F_DUPFD_CLOEXEC, 3)):
    print(sorted(os.listdir(os.open("tmp", os.O_RDONLY, dir_fd=copy))), os.stat("dev/null", dir_fd=copy).st_rdev == os.makedev(1, 3))
'
cd {w} && touch cache/c && find . | sort && du -a . | wc -l
"#
    );
    let out = run(&mut sandboxed(&sc, ["--tmpfs", &format!("{w}/cache")], ["sh", "-c", &script]));
    out.assert_code(0);
    // Traced, the same.
    let traced = run(&mut sandboxed(
        &sc,
        [format!("--trace={}", s(&sc.join("trace"))), "--tmpfs".into(), format!("{w}/cache")],
        ["sh", "-c", &script],
    ));
    assert_eq!(traced.out(), out.out(), "{traced:?}");
    let tmp = "['marker-in-private-tmp'] True\n";
    assert_eq!(
        out.out(),
        format!(
            "/dev\n/proc\n/tmp\n/tmp/marker-in-private-tmp\n/dev/null\nfew pids\n{tmp}{tmp}{tmp}.\n./cache\n./cache/c\n3\n"
        ),
        "{out:?}"
    );
}

#[test]
fn vfs_view_memfds_reopen_and_run_through_proc() {
    // A memfd's /proc/self/fd/N names no path: it is reopened, stat'ed,
    // read as a link and executed through /proc as natively.
    let script = r##"
import os, subprocess
fd = os.memfd_create("payload", 0)
os.write(fd, b"#!/bin/sh\necho from-memfd\n")
os.fchmod(fd, 0o755)
p = "/proc/self/fd/%d" % fd
print(open(p).read().splitlines()[1])
print(os.stat(p).st_size, os.readlink(p))
print(subprocess.run(["/proc/%d/fd/%d" % (os.getpid(), fd)], pass_fds=[fd], capture_output=True).stdout.decode().strip())
"##;
    let (_, out) = differential(&["python3", "-c", script]);
    assert_eq!(out.out(), "echo from-memfd\n26 /memfd:payload (deleted)\nfrom-memfd\n", "{out:?}");
}

// ---- changes beneath a writable directory's fd ------------------------------------------------------

/// Beneath the fd of a writable directory (which the supervisor puts from
/// 256 up: `CHANGE_DIRFDS`) tar's and `rm -r`'s changes run natively under
/// Landlock; beneath any other the view answers them. Either way they stay
/// in the view: a way out (`..`, a symlink), a read-only directory's fd
/// copied into that range, a hidden name beneath a copy of a carved
/// directory's fd are all refused, and the host outside the writable
/// mount does not change (docs/ARCHITECTURE.md, "changes beneath a
/// writable directory's fd").
#[test]
fn vfs_view_changes_beneath_a_writable_directory_fd_stay_in_the_view() {
    let _g = host_tmp_shared();
    let ws = Scratch::new();
    ws.write("w/.keep", "");
    ws.write("w/x/f", "");
    ws.write("c/secret", "s\n");
    ws.write("c/seen", "v\n");
    let ro = Scratch::new();
    ro.write("keep", "k\n");
    std::fs::create_dir(ro.join("empty")).unwrap();
    give_tree_to_guest(ws.path());
    give_tree_to_guest(ro.path());
    let (w, c) = (ws.join("w"), ws.join("c"));
    let script = format!(
        "{PY_TRY}import fcntl, sys
w, c, ro = sys.argv[1:4]
D = os.O_RDONLY | os.O_DIRECTORY
NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL
fd = os.open(w, D)
print('writable fd placed', 256 <= fd < 512)
cp = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
print('its F_DUPFD copy placed', 256 <= cp < 512)
sub = os.open('.', D, dir_fd=cp)
print('a directory opened beneath it placed', 256 <= sub < 512)
low = os.open('.', os.O_RDONLY, dir_fd=cp)
print('one opened without O_DIRECTORY is low', low < 256)
t('mkdir', lambda: os.mkdir('d', dir_fd=cp))
t('create', lambda: os.close(os.open('d/f', NEW, 0o640, dir_fd=cp)))
t('create again', lambda: os.close(os.open('d/f', NEW, 0o640, dir_fd=cp)))
t('unlink', lambda: os.unlink('d/f', dir_fd=cp))
t('create g', lambda: os.write(os.open('d/g', NEW, 0o600, dir_fd=cp), b'g'))
t('rmdir a full directory', lambda: os.rmdir('d', dir_fd=cp))
print('seen by path', sorted(os.listdir(w + '/d')), oct(os.stat(w + '/d/g').st_mode & 0o777))
t('mkdir e', lambda: os.mkdir('e', dir_fd=cp))
t('rmdir e', lambda: os.rmdir('e', dir_fd=cp))
print('e gone', not os.path.exists(w + '/e'))
t('look beneath x', lambda: os.lstat(w + '/x/f'))
t('unlink x/f', lambda: os.unlink('x/f', dir_fd=cp))
t('rmdir x', lambda: os.rmdir('x', dir_fd=cp))
os.symlink(c, w + '/x')
t('hidden name through a symlink where x was', lambda: os.lstat(w + '/x/secret'))
os.symlink(ro, w + '/to-ro')
out = os.path.relpath(ro, w)
t('create through a symlink out', lambda: os.open('to-ro/new', NEW, dir_fd=cp))
t('create by ..', lambda: os.open(out + '/new', NEW, dir_fd=cp))
t('mkdir by ..', lambda: os.mkdir(out + '/newd', dir_fd=cp))
t('unlink by ..', lambda: os.unlink(out + '/keep', dir_fd=cp))
t('unlink through a symlink out', lambda: os.unlink('to-ro/keep', dir_fd=cp))
t('rmdir by ..', lambda: os.rmdir(out + '/empty', dir_fd=cp))
r = os.open(ro, D)
print('read-only fd low', r < 256)
t('read-only create', lambda: os.open('new', NEW, dir_fd=r))
t('read-only mkdir', lambda: os.mkdir('newd', dir_fd=r))
t('read-only unlink', lambda: os.unlink('keep', dir_fd=r))
t('read-only rmdir', lambda: os.rmdir('empty', dir_fd=r))
os.dup2(r, 300)
t('read-only fd copied to 300: create', lambda: os.open('new', NEW, dir_fd=300))
t('read-only fd copied to 300: unlink', lambda: os.unlink('keep', dir_fd=300))
t('read-only fd copied to 300: rmdir', lambda: os.rmdir('empty', dir_fd=300))
k = os.open(c, D)
print('carved fd high', k >= 512)
t('hidden unlink', lambda: os.unlink('secret', dir_fd=k))
os.dup2(k, 301)
t('carved fd copied to 301: unlink hidden', lambda: os.unlink('secret', dir_fd=301))
t('carved fd copied to 301: unlink seen', lambda: os.unlink('seen', dir_fd=301))
t('carved fd copied to 301: create', lambda: os.open('new', NEW, dir_fd=301))
t('carved create', lambda: os.close(os.open('made', NEW, dir_fd=k)))
o = os.open(os.path.relpath(c + '/secret', w), os.O_PATH, dir_fd=low)
t('hidden file by an O_PATH fd reopened', lambda: os.open('/proc/self/fd/%d' % o, os.O_RDONLY))
"
    );
    let hide = c.join("secret");
    let args = [
        "--bind",
        s(&w),
        s(&w),
        "--bind",
        s(&c),
        s(&c),
        "--hide",
        s(&hide),
        "--",
        "python3",
        "-c",
        &script,
        s(&w),
        s(&c),
        s(ro.path()),
    ];
    let out = run(&mut sandbox_raw(&ws, args));
    out.assert_code(0);
    let want = "writable fd placed True
its F_DUPFD copy placed True
a directory opened beneath it placed True
one opened without O_DIRECTORY is low True
mkdir ok
create ok
create again EEXIST
unlink ok
create g ok
rmdir a full directory ENOTEMPTY
seen by path ['g'] 0o600
mkdir e ok
rmdir e ok
e gone True
look beneath x ok
unlink x/f ok
rmdir x ok
hidden name through a symlink where x was ENOENT
create through a symlink out EACCES
create by .. EACCES
mkdir by .. EACCES
unlink by .. EACCES
unlink through a symlink out EACCES
rmdir by .. EACCES
read-only fd low True
read-only create EROFS
read-only mkdir EROFS
read-only unlink EROFS
read-only rmdir EROFS
read-only fd copied to 300: create EACCES
read-only fd copied to 300: unlink EACCES
read-only fd copied to 300: rmdir EACCES
carved fd high True
hidden unlink ENOENT
carved fd copied to 301: unlink hidden EACCES
carved fd copied to 301: unlink seen EACCES
carved fd copied to 301: create EACCES
carved create ok
hidden file by an O_PATH fd reopened ENOENT
";
    assert_eq!(out.out(), want, "{out:?}");
    // Outside the writable mounts nothing changed; inside, what the view
    // said.
    assert_eq!(read(&ro.join("keep")), "k\n");
    let names = |d: &Path| -> BTreeSet<String> {
        std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
    };
    assert_eq!(names(ro.path()), ["empty", "keep"].iter().map(|s| s.to_string()).collect());
    assert_eq!(names(&c), ["made", "secret", "seen"].iter().map(|s| s.to_string()).collect());
    assert_eq!(names(&w.join("d")), ["g".to_string()].into_iter().collect());
}
