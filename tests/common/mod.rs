//! Shared harness of the integration tests.
//!
//! Guests always run as an unprivileged user: when the tests run as root
//! (CI), every guest command -- `sandbox-run` and the native comparison runs
//! alike -- is started through `setpriv --reuid=65534 --regid=65534
//! --clear-groups --` (user nobody), in a per-test scratch directory owned by
//! nobody, with HOME and TMPDIR pointing at it. When the tests do not run as
//! root the commands run directly.
//!
//! Every process started here has a deadline ([`TIMEOUT`]): a product hang
//! kills the process and fails the test instead of hanging CI.
//!
//! C guests (`tests/guests/*.c`) are compiled on first use, once per test
//! binary, into a directory everybody can read and execute.
#![allow(dead_code)]

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

/// How long any one process may run before the test gives up on it.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The unprivileged user guests run as when the tests run as root.
pub const NOBODY: u32 = 65534;

/// The PATH every guest (and native comparison run) gets: the test
/// runner's own PATH may name directories nobody cannot enter.
pub const STD_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Whether the tests run as root (then guests run as nobody).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The `sandbox-run` binary under test.
pub fn sandbox_run() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_sandbox-run"))
}

/// Changes the owner of `path` (not following symlinks) to nobody when the
/// tests run as root; a no-op otherwise.
pub fn give_to_guest(path: &Path) {
    if is_root() {
        std::os::unix::fs::lchown(path, Some(NOBODY), Some(NOBODY))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
}

/// Recursively [`give_to_guest`].
pub fn give_tree_to_guest(path: &Path) {
    give_to_guest(path);
    if path.is_dir() && !path.is_symlink() {
        for e in std::fs::read_dir(path).expect("read_dir") {
            give_tree_to_guest(&e.expect("dir entry").path());
        }
    }
}

/// Where scratch directories and built guests live: not under /tmp, which
/// the default view replaces with a private one, so the guest finds them
/// (read-only, unless a test binds them) at the same path as the host.
/// `CONDO_TEST_TMP` overrides `/var/tmp`.
pub fn test_tmp() -> PathBuf {
    std::env::var_os("CONDO_TEST_TMP").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/var/tmp"))
}

/// A per-test scratch directory the guest user owns; removed on drop.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A fresh, empty scratch directory.
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("condo-test-")
            .tempdir_in(test_tmp())
            .expect("creating a scratch directory");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod scratch");
        give_to_guest(dir.path());
        Scratch { dir }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside it.
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Writes a file (creating parent directories), owned by the guest user.
    pub fn write(&self, name: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        if let Some(parent) = p.parent() {
            if !parent.exists() {
                std::fs::create_dir_all(parent).expect("mkdir -p");
                give_tree_to_guest(self.path());
            }
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
        give_to_guest(&p);
        p
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

/// A command that runs `program` as the guest user (through setpriv when we
/// are root) in `dir`, with a clean, fixed environment on top of ours:
/// HOME=TMPDIR=dir, PATH=[`STD_PATH`], LC_ALL=C. stdin is /dev/null, stdout
/// and stderr are piped. Descriptors above 2 that the test runner itself
/// inherited (from CI or cargo) are not passed on, so native runs start
/// clean too.
pub fn as_guest_user(dir: &Path, program: impl AsRef<OsStr>) -> Command {
    let mut c = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    c.current_dir(dir)
        .env("HOME", dir)
        .env("TMPDIR", dir)
        .env("PATH", STD_PATH)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: close_range is a plain syscall (async-signal-safe); marking
    // fds close-on-exec keeps std's own exec-error pipe working.
    unsafe {
        c.pre_exec(|| {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
            Ok(())
        });
    }
    c
}

/// `argv` run natively (as the guest user, in the scratch directory).
pub fn native<I, S>(s: &Scratch, argv: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let argv: Vec<OsString> = argv.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let (prog, rest) = argv.split_first().expect("a command");
    let mut c = as_guest_user(s.path(), prog);
    c.args(rest);
    c
}

/// `sandbox-run --bind S S OPTS... -- ARGV...` (as the guest user, in the
/// scratch directory S, which the guest may write as before the view
/// existed).
pub fn sandboxed<I, S, J, T>(s: &Scratch, opts: J, argv: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
    J: IntoIterator<Item = T>,
    T: AsRef<OsStr>,
{
    let mut c = as_guest_user(s.path(), sandbox_run());
    c.arg("--bind").arg(s.path()).arg(s.path()).args(opts).arg("--").args(argv);
    c
}

/// `sandbox-run ARGS...` exactly as given (for CLI tests).
pub fn sandbox_raw<I, S>(s: &Scratch, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = as_guest_user(s.path(), sandbox_run());
    c.args(args);
    c
}

/// No sandbox-run options.
pub const NO_OPTS: [&str; 0] = [];

/// The start of a Python guest that tries calls: `t(name, f)` prints
/// `name ok`, or `name ERRNO` when `f` raises an `OSError` (with `errno`
/// and `os` imported).
pub const PY_TRY: &str = "import errno, os
def t(name, f):
    try:
        f(); print(name, 'ok')
    except OSError as e:
        print(name, errno.errorcode[e.errno])
";

/// A finished process.
pub struct Out {
    /// What `what` ran (for messages).
    pub what: String,
    /// Its status.
    pub status: ExitStatus,
    /// Its stdout.
    pub stdout: Vec<u8>,
    /// Its stderr.
    pub stderr: Vec<u8>,
}

impl Out {
    /// stdout as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text.
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The exit code; panics (with the output) when the process itself died
    /// of a signal. Use for `sandbox-run`, which reports a guest's signal
    /// death as 128+N and must never die of one itself.
    pub fn code(&self) -> i32 {
        match self.status.code() {
            Some(c) => c,
            None => panic!("{self:?}\nexpected an exit code, the process died of a signal"),
        }
    }

    /// The exit code a shell would report: the code, or 128+N for signal N.
    /// Use for native runs.
    pub fn shell_code(&self) -> i32 {
        shell_code(self.status)
    }

    /// Panics unless it exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Out {
        assert_eq!(self.status.code(), Some(code), "{self:?}");
        self
    }
}

/// The exit code a shell would report for `status`.
pub fn shell_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        _ => panic!("status {status:?} has neither code nor signal"),
    }
}

impl fmt::Debug for Out {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "command: {}", self.what)?;
        writeln!(f, "status:  {:?}", self.status)?;
        writeln!(f, "--- stdout ---\n{}", tail(&self.out(), 4000))?;
        write!(f, "--- stderr ---\n{}", tail(&self.err(), 4000))
    }
}

fn tail(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn describe(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for a in c.get_args() {
        let a = a.to_string_lossy();
        if a.len() > 200 {
            s.push_str(&format!(" {}...", &a[..a.char_indices().nth(200).map(|(i, _)| i).unwrap_or(a.len())]));
        } else {
            s.push_str(&format!(" {a:?}"));
        }
    }
    s
}

fn pump<R: Read + Send + 'static>(mut r: R) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    });
    rx
}

/// A running process with a deadline.
pub struct Running {
    child: Option<Child>,
    what: String,
    deadline: Instant,
    out_rx: Receiver<Vec<u8>>,
    out: Vec<u8>,
    out_eof: bool,
    err_rx: Receiver<Vec<u8>>,
    err: Vec<u8>,
}

/// Starts `cmd` (stdout and stderr must be piped) with the default
/// [`TIMEOUT`].
pub fn start(cmd: &mut Command) -> Running {
    start_with_timeout(cmd, TIMEOUT)
}

/// Starts `cmd` with a deadline `timeout` from now.
pub fn start_with_timeout(cmd: &mut Command, timeout: Duration) -> Running {
    let what = describe(cmd);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let out_rx = pump(child.stdout.take().expect("stdout must be piped"));
    let err_rx = pump(child.stderr.take().expect("stderr must be piped"));
    Running {
        child: Some(child),
        what,
        deadline: Instant::now() + timeout,
        out_rx,
        out: Vec::new(),
        out_eof: false,
        err_rx,
        err: Vec::new(),
    }
}

impl Running {
    /// The pid of the process (sandbox-run itself: setpriv execs it).
    pub fn pid(&self) -> i32 {
        self.child.as_ref().expect("running").id() as i32
    }

    fn drain_err(&mut self) {
        while let Ok(b) = self.err_rx.try_recv() {
            self.err.extend_from_slice(&b);
        }
    }

    fn fail(&mut self, why: &str) -> ! {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        std::thread::sleep(Duration::from_millis(100));
        self.drain_err();
        while let Ok(b) = self.out_rx.try_recv() {
            self.out.extend_from_slice(&b);
        }
        panic!(
            "{why}\ncommand: {}\n--- stdout so far ---\n{}\n--- stderr so far ---\n{}",
            self.what,
            tail(&String::from_utf8_lossy(&self.out), 4000),
            tail(&String::from_utf8_lossy(&self.err), 4000)
        );
    }

    /// The next line of stdout, without its newline. Fails the test at EOF
    /// or when the deadline passes.
    pub fn read_line(&mut self) -> String {
        loop {
            if let Some(i) = self.out.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.out.drain(..=i).collect();
                return String::from_utf8_lossy(&line[..i]).into_owned();
            }
            if self.out_eof {
                self.fail("stdout ended before a full line");
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.out_rx.recv_timeout(left) {
                Ok(b) => self.out.extend_from_slice(&b),
                Err(RecvTimeoutError::Disconnected) => self.out_eof = true,
                Err(RecvTimeoutError::Timeout) => self.fail("timed out waiting for a line of output"),
            }
        }
    }

    /// Whether the process has exited (without reaping it).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().expect("running").try_wait().expect("try_wait")
    }

    /// Waits for the process and the end of its output; fails the test when
    /// the deadline passes first.
    pub fn wait(mut self) -> Out {
        let status = loop {
            if let Some(st) = self.child.as_mut().expect("running").try_wait().expect("try_wait") {
                break st;
            }
            if Instant::now() >= self.deadline {
                self.fail(&format!("timed out after {TIMEOUT:?}: killed"));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        self.child = None;
        // The output ends when every process holding the pipes is gone: for
        // sandbox-run, the whole guest tree.
        let collect = |rx: &Receiver<Vec<u8>>, into: &mut Vec<u8>, deadline: Instant| -> bool {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(b) => into.extend_from_slice(&b),
                    Err(RecvTimeoutError::Disconnected) => return true,
                    Err(RecvTimeoutError::Timeout) => return false,
                }
            }
        };
        let mut out = std::mem::take(&mut self.out);
        let mut err = std::mem::take(&mut self.err);
        let deadline = self.deadline.max(Instant::now() + Duration::from_secs(5));
        let ok_out = self.out_eof || collect(&self.out_rx, &mut out, deadline);
        let ok_err = collect(&self.err_rx, &mut err, deadline);
        self.out = out;
        self.err = err;
        if !ok_out || !ok_err {
            self.fail(&format!(
                "the process exited ({status:?}) but its stdout/stderr stayed open: some process of it survived"
            ));
        }
        Out {
            what: std::mem::take(&mut self.what),
            status,
            stdout: std::mem::take(&mut self.out),
            stderr: std::mem::take(&mut self.err),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `cmd` to completion (with the deadline).
pub fn run(cmd: &mut Command) -> Out {
    start(cmd).wait()
}

/// Runs `argv` natively and under `sandbox-run OPTS` in two fresh scratch
/// directories (each prepared by `setup`), and asserts equal stdout and exit
/// code. Returns (native, sandboxed).
#[track_caller]
pub fn differential_with<F>(opts: &[&str], argv: &[&str], envs: &[(&str, &str)], setup: F) -> (Out, Out)
where
    F: Fn(&Scratch),
{
    let sn = Scratch::new();
    setup(&sn);
    let ss = Scratch::new();
    setup(&ss);
    let mut nc = native(&sn, argv);
    let mut sc = sandboxed(&ss, opts, argv);
    for (k, v) in envs {
        nc.env(k, v);
        sc.env(k, v);
    }
    let n = run(&mut nc);
    let s = run(&mut sc);
    assert_eq!(s.code(), n.shell_code(), "exit codes differ\n=== native ===\n{n:?}\n=== sandboxed ===\n{s:?}");
    assert_eq!(s.out(), n.out(), "stdout differs\n=== native ===\n{n:?}\n=== sandboxed ===\n{s:?}");
    (n, s)
}

/// [`differential_with`] with no options, environment or setup.
#[track_caller]
pub fn differential(argv: &[&str]) -> (Out, Out) {
    differential_with(&[], argv, &[], |_| {})
}

// ---- C guests ------------------------------------------------------------

static GUEST_DIR: OnceLock<PathBuf> = OnceLock::new();
static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

extern "C" fn remove_guest_dir() {
    if let Some(d) = GUEST_DIR.get() {
        let _ = std::fs::remove_dir_all(d);
    }
}

fn guest_dir() -> &'static Path {
    GUEST_DIR.get_or_init(|| {
        let d = tempfile::Builder::new()
            .prefix("condo-guests-")
            .tempdir_in(test_tmp())
            .expect("creating the guest build directory")
            .keep();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod guest dir");
        // SAFETY: registering a plain extern "C" function with atexit.
        unsafe { libc::atexit(remove_guest_dir) };
        d
    })
}

/// The path of C guest `name` (`tests/guests/NAME.c`), compiled statically
/// on first use in this test binary; readable and executable by everybody.
pub fn guest(name: &str) -> PathBuf {
    let dir = guest_dir();
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let map = built.get_or_insert_with(HashMap::new);
    if let Some(p) = map.get(name) {
        return p.clone();
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests").join(format!("{name}.c"));
    let exe = dir.join(name);
    let mut cc = Command::new("gcc");
    cc.args(["-std=gnu11", "-O1", "-Wall", "-static", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = run(&mut cc);
    assert!(out.status.success(), "compiling guest {name}:\n{out:?}");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod guest");
    map.insert(name.to_string(), exe.clone());
    exe
}

/// The path as a string (guests' paths are ASCII).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

// ---- processes -----------------------------------------------------------

/// The state letter of /proc/PID/stat and the command name, if the process
/// exists.
pub fn proc_state(pid: i32) -> Option<(char, String)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let state = stat[close + 1..].trim_start().chars().next()?;
    Some((state, comm))
}

/// Whether `pid` is a live (not zombie) process named `comm`.
pub fn alive_as(pid: i32, comm: &str) -> bool {
    match proc_state(pid) {
        Some((state, c)) => c == comm && state != 'Z' && state != 'X',
        None => false,
    }
}

/// Sends `sig` to `pid`.
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) with plain integers.
    let r = unsafe { libc::kill(pid, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig}): {}", std::io::Error::last_os_error());
}

/// Kills leftover processes named `comm` among `pids` (cleanup after a
/// failed test; never fails).
pub fn cleanup_pids(pids: &[i32], comm: &str) {
    for &p in pids {
        if alive_as(p, comm) {
            // SAFETY: kill(2) with plain integers.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
    }
}

/// Polls `cond` every 10 ms until it holds or `limit` passes; returns
/// whether it held.
pub fn poll_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---- traces --------------------------------------------------------------

/// One line of a JSON trace, as python3's json module parsed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    /// "pid"
    pub pid: i64,
    /// "syscall"
    pub syscall: String,
    /// "path": native, notify or denied
    pub path: String,
    /// "result" (None for null)
    pub result: Option<i64>,
    /// "errno" when present
    pub errno: Option<String>,
    /// "args", re-serialized by python (json.dumps)
    pub args: String,
}

const JSON_CHECK: &str = r#"
import json, sys
bad = 0
for n, line in enumerate(open(sys.argv[1], encoding="utf-8", errors="strict"), 1):
    line = line.rstrip("\n")
    try:
        o = json.loads(line)
    except Exception as e:
        print("line %d is not JSON (%s): %r" % (n, e, line[:300]), file=sys.stderr)
        bad += 1
        continue
    problems = []
    if not isinstance(o, dict): problems.append("not an object")
    else:
        if not isinstance(o.get("pid"), int): problems.append("pid")
        if not isinstance(o.get("syscall"), str): problems.append("syscall")
        if not isinstance(o.get("args"), list): problems.append("args")
        if o.get("path") not in ("native", "notify", "denied"): problems.append("path")
        if "result" not in o or not (o["result"] is None or isinstance(o["result"], int)): problems.append("result")
        if "errno" in o and (o.get("result") != -1 or not isinstance(o["errno"], str) or not o["errno"].startswith("E")): problems.append("errno")
    if problems:
        print("line %d lacks or has a bad %s: %r" % (n, ", ".join(problems), line[:300]), file=sys.stderr)
        bad += 1
        continue
    r = "null" if o["result"] is None else str(o["result"])
    print("\t".join([str(o["pid"]), o["syscall"], o["path"], r, o.get("errno", "-"), json.dumps(o["args"])]))
sys.exit(1 if bad else 0)
"#;

/// Parses a JSON-lines trace with python3 (every line must be a valid JSON
/// object with the documented keys); fails the test otherwise.
pub fn parse_json_trace(path: &Path) -> Vec<TraceLine> {
    let mut c = Command::new("python3");
    c.arg("-c").arg(JSON_CHECK).arg(path).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = run(&mut c);
    assert!(out.status.success(), "the JSON trace {} is not valid:\n{}", path.display(), out.err());
    out.out()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.splitn(6, '\t').collect();
            assert_eq!(f.len(), 6, "validator output {l:?}");
            TraceLine {
                pid: f[0].parse().expect("pid"),
                syscall: f[1].to_string(),
                path: f[2].to_string(),
                result: if f[3] == "null" { None } else { Some(f[3].parse().expect("result")) },
                errno: if f[4] == "-" { None } else { Some(f[4].to_string()) },
                args: f[5].to_string(),
            }
        })
        .collect()
}

// ---- privileges (library tests) --------------------------------------------

static DROP: Once = Once::new();

/// For tests that use the library in-process: when running as root, drops
/// the whole test process to nobody (uid and gid 65534, no supplementary
/// groups) once; glibc's set*id wrappers apply to every thread. Call at the
/// top of each such test, before creating scratch directories.
pub fn drop_privileges_once() {
    DROP.call_once(|| {
        if !is_root() {
            return;
        }
        // SAFETY: plain libc calls with valid arguments; setgroups with a
        // zero count reads no memory.
        unsafe {
            assert_eq!(libc::setgroups(0, std::ptr::null()), 0, "setgroups: {}", std::io::Error::last_os_error());
            assert_eq!(libc::setresgid(NOBODY, NOBODY, NOBODY), 0, "setresgid: {}", std::io::Error::last_os_error());
            assert_eq!(libc::setresuid(NOBODY, NOBODY, NOBODY), 0, "setresuid: {}", std::io::Error::last_os_error());
            // A process that changed its uid is not dumpable, which would
            // make its /proc files root's; an ordinary unprivileged process
            // is dumpable.
            libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        }
        // SAFETY: as above.
        assert_eq!(unsafe { libc::geteuid() }, NOBODY);
    });
}

/// Everything about every node under `root` that a change could touch:
/// kind, mode, owner, size, inode, link count, mtime, contents (or link
/// target) and extended attributes.
pub fn exact_snapshot(root: &Path) -> std::collections::BTreeMap<PathBuf, String> {
    use std::hash::Hasher;
    use std::os::unix::fs::MetadataExt;
    fn xattrs(p: &Path) -> Vec<u8> {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        let mut buf = vec![0u8; 4096];
        // SAFETY: the buffer is valid for its length; the path is NUL-terminated.
        let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        buf.truncate(usize::try_from(n).unwrap_or(0));
        buf
    }
    fn walk(dir: &Path, root: &Path, into: &mut std::collections::BTreeMap<PathBuf, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read_dir").flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).expect("lstat");
            let body = if m.file_type().is_symlink() {
                format!("-> {:?}", std::fs::read_link(&p).unwrap())
            } else if m.is_file() {
                let mut h = std::hash::DefaultHasher::new();
                h.write(&std::fs::read(&p).unwrap());
                format!("{:016x}", h.finish())
            } else {
                String::new()
            };
            into.insert(
                p.strip_prefix(root).unwrap().to_path_buf(),
                format!(
                    "{:?} mode {:o} uid {} size {} ino {} nlink {} mtime {}.{} xattrs {:?} {body}",
                    m.file_type(),
                    m.mode(),
                    m.uid(),
                    m.len(),
                    m.ino(),
                    m.nlink(),
                    m.mtime(),
                    m.mtime_nsec(),
                    xattrs(&p)
                ),
            );
            if m.is_dir() {
                walk(&p, root, into);
            }
        }
    }
    let mut v = std::collections::BTreeMap::new();
    walk(root, root, &mut v);
    v
}
