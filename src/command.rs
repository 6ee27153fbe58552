//! Spawning a guest, modelled on `std::process::Command` so Rust users know
//! it on sight: `Sandbox::command(..).arg(..).status()`, `.output()`,
//! `.spawn()` → [`Child`] with `wait()` and `kill()`.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus};
use std::thread::JoinHandle;

use nix::unistd::Pid;

use crate::error::Error;
use crate::launch::{self, Spec, Stdio};
use crate::limits::Limits;
use crate::policy::{Policy, TraceConfig};
use crate::report::Report;
use crate::supervisor::{self, Enforcement};

/// A sandbox policy, builder style. Cheap to clone; one `Sandbox` can run
/// many commands.
#[derive(Clone, Debug)]
pub struct Sandbox {
    policy: Policy,
}

impl Default for Sandbox {
    fn default() -> Sandbox {
        Sandbox::new()
    }
}

impl Sandbox {
    /// The default sandbox: the default filesystem view (the host's `/`
    /// read-only, a private `/tmp`, a minimal `/dev` and `/proc`), the
    /// dangerous syscalls denied.
    pub fn new() -> Sandbox {
        let view = crate::vfs::View::build(crate::vfs::Base::HostReadOnly, &[]).expect("the default view is valid");
        Sandbox { policy: Policy { view: Some(view), ..Policy::default() } }
    }

    /// The filesystem view: the default view changed by `specs` in order
    /// (bubblewrap-like: `--root`/`--empty` first, later mounts cover
    /// earlier ones). Relative host paths, and relative destinations, are
    /// taken from the caller's working directory; sources must exist.
    pub fn mounts(mut self, specs: &[crate::vfs::MountSpec]) -> Result<Sandbox, Error> {
        self.policy.view = Some(crate::vfs::build_view(specs)?);
        Ok(self)
    }

    /// No filesystem view: the guest sees and may change whatever the
    /// caller's user may. For callers that confine files some other way.
    pub fn host_filesystem(mut self) -> Sandbox {
        self.policy.view = None;
        self
    }

    /// The hostname the guest sees (`uname`, `hostname`).
    pub fn hostname(mut self, name: impl Into<String>) -> Sandbox {
        self.policy.hostname = Some(name.into());
        self
    }

    /// Log the guest's system calls.
    pub fn trace(mut self, cfg: TraceConfig) -> Sandbox {
        self.policy.trace = Some(cfg);
        self
    }

    /// What the guest tree may spend.
    pub fn limits(mut self, limits: Limits) -> Sandbox {
        self.policy.limits = limits;
        self
    }

    /// Measure CPU time and peak memory for [`Child::wait_report`] even when
    /// no limit needs them (costs a `/proc` sample of the tree every 20 ms).
    pub fn account(mut self, on: bool) -> Sandbox {
        self.policy.account = on;
        self
    }

    /// The policy as built so far.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks the policy without running anything.
    pub fn validate(&self) -> Result<(), Error> {
        Ok(self.policy.validate()?)
    }

    /// A command to run in this sandbox.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        Command {
            policy: self.policy.clone(),
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: BTreeMap::new(),
            env_clear: false,
            cwd: None,
            stdio: [StdioSpec::Inherit, StdioSpec::Inherit, StdioSpec::Inherit],
            output_limit: None,
        }
    }
}

#[derive(Debug)]
enum StdioSpec {
    Inherit,
    Null,
    Piped,
    Fd(OwnedFd),
}

impl From<Stdio> for StdioSpec {
    fn from(s: Stdio) -> StdioSpec {
        match s {
            Stdio::Inherit => StdioSpec::Inherit,
            Stdio::Null => StdioSpec::Null,
            Stdio::Piped => StdioSpec::Piped,
            Stdio::Fd(fd) => StdioSpec::Fd(fd),
        }
    }
}

/// A guest program to run, like `std::process::Command`.
#[derive(Debug)]
pub struct Command {
    policy: Policy,
    program: OsString,
    args: Vec<OsString>,
    env: BTreeMap<OsString, Option<OsString>>,
    env_clear: bool,
    cwd: Option<PathBuf>,
    stdio: [StdioSpec; 3],
    output_limit: Option<u64>,
}

impl Command {
    /// Adds an argument.
    pub fn arg(&mut self, a: impl AsRef<OsStr>) -> &mut Command {
        self.args.push(a.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> &mut Command {
        self.env.insert(k.as_ref().to_owned(), Some(v.as_ref().to_owned()));
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, k: impl AsRef<OsStr>) -> &mut Command {
        self.env.insert(k.as_ref().to_owned(), None);
        self
    }

    /// Starts from an empty environment.
    pub fn env_clear(&mut self) -> &mut Command {
        self.env_clear = true;
        self.env.clear();
        self
    }

    /// The guest's working directory.
    pub fn current_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Command {
        self.cwd = Some(dir.into());
        self
    }

    /// The guest's standard input.
    pub fn stdin(&mut self, s: Stdio) -> &mut Command {
        self.stdio[0] = s.into();
        self
    }

    /// The guest's standard output.
    pub fn stdout(&mut self, s: Stdio) -> &mut Command {
        self.stdio[1] = s.into();
        self
    }

    /// The guest's standard error.
    pub fn stderr(&mut self, s: Stdio) -> &mut Command {
        self.stdio[2] = s.into();
        self
    }

    /// Caps what [`Command::output`] captures of each stream: a guest that
    /// writes more is killed (its tree with it), and the capture ends at the
    /// limit. [`Output::limit`] says so.
    pub fn output_limit(&mut self, bytes: u64) -> &mut Command {
        self.output_limit = Some(bytes);
        self
    }

    fn environment(&self) -> BTreeMap<OsString, OsString> {
        let mut env: BTreeMap<OsString, OsString> =
            if self.env_clear { BTreeMap::new() } else { std::env::vars_os().collect() };
        for (k, v) in &self.env {
            match v {
                Some(v) => env.insert(k.clone(), v.clone()),
                None => env.remove(k),
            };
        }
        env
    }

    /// Starts the guest; returns once its program runs.
    pub fn spawn(&mut self) -> Result<Child, Error> {
        self.spawn_with(false)
    }

    fn spawn_with(&mut self, capture: bool) -> Result<Child, Error> {
        let env = self.environment();
        let mut envp = Vec::with_capacity(env.len());
        for (k, v) in &env {
            let mut kv = k.clone();
            kv.push("=");
            kv.push(v);
            envp.push(launch::cstring("an environment variable", &kv)?);
        }
        // PATH search in the guest's environment, as execvp in the guest
        // would do it.
        let candidates = launch::search_path(&self.program, env.get(OsStr::new("PATH")).map(|p| p.as_os_str()))
            .iter()
            .map(|p| launch::cstring("the program path", p.as_os_str()))
            .collect::<Result<Vec<_>, _>>()?;
        let mut argv = vec![launch::cstring("the program name", &self.program)?];
        for a in &self.args {
            argv.push(launch::cstring("an argument", a)?);
        }
        let cwd = match &self.cwd {
            Some(d) => Some(launch::cstring("the working directory", d.as_os_str())?),
            None => None,
        };

        // The guest's ends of its standard streams, and our ends of pipes.
        let mut child_ends: [Option<OwnedFd>; 3] = [None, None, None];
        let mut ours: [Option<OwnedFd>; 3] = [None, None, None];
        let names = ["stdin", "stdout", "stderr"];
        for i in 0..3 {
            let piped = capture && i > 0;
            let spec = std::mem::replace(&mut self.stdio[i], StdioSpec::Inherit);
            let (child_end, our_end) = match (spec, piped) {
                (_, true) | (StdioSpec::Piped, false) => {
                    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
                        .map_err(|e| Error::Stdio { what: names[i], source: e.into() })?;
                    if i == 0 {
                        (Some(r), Some(w))
                    } else {
                        (Some(w), Some(r))
                    }
                }
                (StdioSpec::Inherit, _) => (None, None),
                (StdioSpec::Null, _) => {
                    let f = std::fs::OpenOptions::new()
                        .read(i == 0)
                        .write(i > 0)
                        .open("/dev/null")
                        .map_err(|source| Error::Stdio { what: names[i], source })?;
                    (Some(OwnedFd::from(f)), None)
                }
                (StdioSpec::Fd(fd), _) => (Some(fd), None),
            };
            child_ends[i] = child_end;
            ours[i] = our_end;
        }

        let spec = Spec {
            program: self.program.clone(),
            candidates,
            argv,
            envp,
            cwd,
            stdio: child_ends,
            filter: Vec::new(),
            rlimits: self.policy.limits.rlimits(),
            landlock_abi: 0,
            landlock_ruleset: None,
        };
        let start = std::time::Instant::now();
        let started = supervisor::start(&self.policy, spec)?;
        let [stdin, stdout, stderr] = ours;
        Ok(Child {
            pid: started.pid,
            pidfd: started.pidfd,
            tracer: Some(started.tracer),
            worker: started.worker,
            monitor: started.monitor,
            tree: started.tree,
            start,
            report: None,
            enforcement: started.enforcement,
            changes: started.changes,
            disk: started.disk,
            stdin: stdin.map(ChildStdin::from),
            stdout: stdout.map(ChildStdout::from),
            stderr: stderr.map(ChildStderr::from),
        })
    }

    /// Runs the guest to completion with inherited streams.
    pub fn status(&mut self) -> Result<ExitStatus, Error> {
        self.spawn()?.wait()
    }

    /// Runs the guest to completion, capturing stdout and stderr (stdin is
    /// `/dev/null` unless set).
    pub fn output(&mut self) -> Result<Output, Error> {
        if matches!(self.stdio[0], StdioSpec::Inherit) {
            self.stdio[0] = StdioSpec::Null;
        }
        let mut child = self.spawn_with(true)?;
        drop(child.stdin.take());
        let limit = self.output_limit.unwrap_or(u64::MAX);
        let out = child.stdout.take().map(|s| reader(s, "stdout", limit, child.stopper()));
        let err = child.stderr.take().map(|s| reader(s, "stderr", limit, child.stopper()));
        let report = child.wait_report()?;
        let collect = |h: Option<JoinHandle<Vec<u8>>>| h.map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        Ok(Output { status: report.status, stdout: collect(out), stderr: collect(err), limit: report.limit })
    }
}

/// Ends a guest tree from another thread because a limit was reached.
struct Stopper {
    tree: std::sync::Arc<supervisor::tree::Tree>,
    main: Option<OwnedFd>,
}

impl Stopper {
    fn stop(&self, kind: crate::limits::LimitKind) {
        self.tree.end(kind);
        self.tree.ask(supervisor::tree::Request::KillAll, self.main.as_ref());
    }
}

/// Captures `r` up to `limit` bytes; past it, the guest is stopped.
fn reader<R: Read + Send + 'static>(mut r: R, name: &str, limit: u64, stopper: Stopper) -> JoinHandle<Vec<u8>> {
    std::thread::Builder::new()
        .name(format!("condo-{name}"))
        .spawn(move || {
            let mut v = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            let mut stopped = false;
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    // Past the limit the pipe is drained, not closed, until
                    // the tree is gone: closing it would race the kill with
                    // a SIGPIPE, and the guest must end by the limit's kill.
                    Ok(_) if stopped => {}
                    Ok(n) => {
                        let room = usize::try_from(limit.saturating_sub(v.len() as u64)).unwrap_or(usize::MAX);
                        v.extend_from_slice(&buf[..n.min(room)]);
                        if n > room {
                            stopper.stop(crate::limits::LimitKind::Output);
                            stopped = true;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            v
        })
        .unwrap_or_else(|_| std::thread::spawn(Vec::new))
}

/// The result of [`Command::output`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// How the guest ended.
    pub status: ExitStatus,
    /// What it wrote to stdout.
    pub stdout: Vec<u8>,
    /// What it wrote to stderr.
    pub stderr: Vec<u8>,
    /// The limit that ended the run, if one did (e.g.
    /// [`crate::LimitKind::Output`] when a stream passed
    /// [`Command::output_limit`]).
    pub limit: Option<crate::limits::LimitKind>,
}

/// A running guest.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    pidfd: Option<OwnedFd>,
    tracer: Option<JoinHandle<i32>>,
    worker: Option<supervisor::WorkerHandle>,
    monitor: Option<supervisor::MonitorHandle>,
    tree: std::sync::Arc<supervisor::tree::Tree>,
    start: std::time::Instant,
    report: Option<Report>,
    enforcement: Enforcement,
    changes: Option<std::sync::Arc<crate::vfs::Changes>>,
    disk: Option<std::sync::Arc<crate::vfs::disk::DiskUsage>>,
    /// Our end of the guest's stdin, when piped.
    pub stdin: Option<ChildStdin>,
    /// Our end of the guest's stdout, when piped.
    pub stdout: Option<ChildStdout>,
    /// Our end of the guest's stderr, when piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// The host pid of the guest's first process.
    pub fn id(&self) -> u32 {
        self.pid.as_raw() as u32
    }

    fn stopper(&self) -> Stopper {
        Stopper { tree: std::sync::Arc::clone(&self.tree), main: self.pidfd.as_ref().and_then(|f| f.try_clone().ok()) }
    }

    /// What the kernel let the sandbox enforce.
    pub fn enforcement(&self) -> &Enforcement {
        &self.enforcement
    }

    /// Sends `sig` to the guest's first process (the rest of the tree dies
    /// with it when it exits). A no-op once the guest has exited.
    pub fn signal(&self, sig: i32) -> Result<(), Error> {
        if self.report.is_some() || self.tracer.as_ref().is_none_or(|t| t.is_finished()) {
            return Ok(());
        }
        match supervisor::signal(self.pid, self.pidfd.as_ref(), sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(errno) => Err(Error::Host { what: "signalling the guest", errno }),
        }
    }

    /// Kills the whole guest tree.
    pub fn kill(&mut self) -> Result<(), Error> {
        self.signal(libc::SIGKILL)
    }

    /// Waits for the guest's first process to exit; by then every other
    /// process of the tree has been killed and reaped.
    pub fn wait(&mut self) -> Result<ExitStatus, Error> {
        self.wait_report().map(|r| r.status)
    }

    /// Like [`Child::wait`], with the account of the run: which limit ended
    /// it, wall and CPU time, peak memory, tasks, calls answered.
    pub fn wait_report(&mut self) -> Result<Report, Error> {
        if let Some(r) = &self.report {
            return Ok(r.clone());
        }
        drop(self.stdin.take());
        let raw = self.tracer.take().ok_or(Error::SupervisorDied)?.join().map_err(|_| Error::SupervisorDied)?;
        let wall = self.start.elapsed();
        let counts = self.worker.take().map(|w| w.stop()).unwrap_or_default();
        let sample = self.monitor.take().map(|m| m.stop());
        let arch = condo_syscalls::Arch::native();
        let syscalls = counts
            .iter()
            .enumerate()
            .filter(|&(_, &n)| n > 0)
            .filter_map(|(nr, &n)| arch.sysno(nr as u64).map(|s| (s.name(), n)))
            .collect();
        let (peak_tasks, tasks, peak_memory) = self.tree.peaks();
        let (denied, denied_total) = self.tree.denied();
        let (changed, changed_total) = match &self.changes {
            Some(c) => {
                let (list, n) = c.list();
                (list.into_iter().map(|(p, w)| (p, w.name())).collect(), n)
            }
            None => (Vec::new(), 0),
        };
        let report = Report {
            status: ExitStatus::from_raw(raw),
            // A refused write did not end the run, but it is the limit the
            // guest met (unless another one ended it).
            limit: self
                .tree
                .ended_by()
                .or_else(|| self.disk.as_ref().filter(|d| d.refused() > 0).map(|_| crate::limits::LimitKind::Disk)),
            wall,
            cpu: sample.map(|s| s.cpu),
            peak_memory: sample.map(|_| peak_memory),
            peak_tasks: peak_tasks as u64,
            tasks,
            syscalls,
            denied,
            denied_total,
            changed,
            changed_total,
            enforcement: self.enforcement.clone(),
        };
        self.report = Some(report.clone());
        Ok(report)
    }

    /// The exit status if the guest has finished, without blocking.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        match &self.tracer {
            Some(t) if !t.is_finished() => Ok(None),
            _ => self.wait().map(Some),
        }
    }

    /// Forwards `signals` sent to this process to the guest until it exits.
    /// The signals must have been blocked with [`crate::signals::block`]
    /// before the sandbox started (threads inherit the mask).
    pub fn forward_signals(&self, set: crate::signals::Blocked) -> Result<(), Error> {
        let pidfd = match &self.pidfd {
            Some(fd) => Some(fd.try_clone().map_err(|e| Error::Stdio { what: "pidfd", source: e })?),
            None => None,
        };
        let pid = self.pid;
        std::thread::Builder::new()
            .name("condo-signals".into())
            .spawn(move || set.forward(pid, pidfd))
            .map_err(Error::Thread)?;
        Ok(())
    }
}

impl Drop for Child {
    /// A guest never outlives the handle that supervises it.
    fn drop(&mut self) {
        if self.tracer.is_some() {
            let _ = self.kill();
            let _ = self.wait();
        }
    }
}
