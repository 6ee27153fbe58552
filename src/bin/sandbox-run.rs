//! `sandbox-run`: run a command in a condo sandbox.
//!
//! Parses arguments, calls the library, turns its errors into messages and
//! exit statuses. Nothing else lives here.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use condo::limits::{human_bytes, parse_bytes, parse_duration};
use condo::vfs::MountSpec;
use condo::{Error, LaunchError, LimitKind, Limits, Report, Sandbox, TraceConfig, TraceFormat, TraceTarget};

/// Exit status when the sandbox itself could not be set up.
const EXIT_SETUP: u8 = 125;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// Run COMMAND in an unprivileged sandbox (seccomp + ptrace, no namespaces).
///
/// The exit status is the command's; 128+N when it died of signal N; 125
/// when the sandbox could not be set up; 126/127 when COMMAND could not be
/// executed / found.
#[derive(Debug, Parser)]
#[command(
    name = "sandbox-run",
    version,
    arg_required_else_help = true,
    override_usage = "sandbox-run [OPTIONS] [--] COMMAND [ARG]..."
)]
struct Cli {
    /// Hostname the guest sees (uname, hostname).
    #[arg(long, value_name = "NAME")]
    hostname: Option<String>,

    /// Log the guest's system calls to FILE (standard error without FILE).
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "-")]
    trace: Option<PathBuf>,

    /// Trace line format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "text")]
    trace_format: Format,

    /// Wall-clock limit for the whole tree (e.g. 10s, 2m): SIGTERM, then
    /// SIGKILL after --kill-after; exit status 124.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,

    /// Time between the SIGTERM and the SIGKILL of --timeout [default: 2s].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "timeout")]
    kill_after: Option<Duration>,

    /// CPU time for the whole tree (user + system, summed over processes).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    cpu_time: Option<Duration>,

    /// Resident memory for the whole tree (e.g. 512M, 1G); also each
    /// process's data-segment limit.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    memory: Option<u64>,

    /// Processes and threads alive at once; forks beyond fail with EAGAIN.
    #[arg(long, value_name = "N")]
    max_procs: Option<u32>,

    /// Open files per process (RLIMIT_NOFILE).
    #[arg(long, value_name = "N")]
    max_files: Option<u64>,

    /// Largest file a process may write (RLIMIT_FSIZE).
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    max_file_size: Option<u64>,

    /// Bytes the guest may add to its writable mounts (e.g. 100M): writes
    /// beyond fail with EDQUOT.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    disk: Option<u64>,

    /// Write a JSON report of the run to FILE ('-': a short summary on stderr).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,

    /// Host DIR (read-only) is the guest's /, nothing else until added.
    /// Must come before the other mount flags.
    #[arg(long, value_name = "DIR", action = ArgAction::Append, help_heading = "Filesystem view")]
    root: Vec<PathBuf>,

    /// Start from an empty / instead of the default view (the host's /
    /// read-only, a private /tmp, a minimal /dev and /proc).
    #[arg(long, action = ArgAction::Count, help_heading = "Filesystem view")]
    empty: u8,

    /// Show host SRC read-only at DEST.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], action = ArgAction::Append, help_heading = "Filesystem view")]
    ro_bind: Vec<PathBuf>,

    /// Show host SRC at DEST, writable.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], action = ArgAction::Append, help_heading = "Filesystem view")]
    bind: Vec<PathBuf>,

    /// A private, empty, writable directory at DEST, removed at the end.
    #[arg(long, value_name = "DEST", action = ArgAction::Append, help_heading = "Filesystem view")]
    tmpfs: Vec<PathBuf>,

    /// Size limit of the --tmpfs before it: writes past it fail with ENOSPC.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes, action = ArgAction::Append, help_heading = "Filesystem view")]
    size: Vec<u64>,

    /// Host directory SRC at DEST, copy-on-write: the guest may change
    /// anything there, SRC never changes; the changes are dropped at the
    /// end unless --upper keeps them.
    #[arg(long, num_args = 2, value_names = ["SRC", "DEST"], action = ArgAction::Append, help_heading = "Filesystem view")]
    overlay: Vec<PathBuf>,

    /// Keep the changes of the --overlay before it in host DIR (made if
    /// missing; overlayfs's upper-directory format): a later run with the
    /// same DIR sees them.
    #[arg(long, value_name = "DIR", action = ArgAction::Append, help_heading = "Filesystem view")]
    upper: Vec<PathBuf>,

    /// PATH and everything under it do not exist (ENOENT).
    #[arg(long, value_name = "PATH", action = ArgAction::Append, help_heading = "Filesystem view")]
    hide: Vec<PathBuf>,

    /// A minimal /dev (null, zero, full, random, urandom, tty, fd, std*, shm).
    #[arg(long, action = ArgAction::Count, help_heading = "Filesystem view")]
    dev: u8,

    /// A /proc showing the sandbox's processes only.
    #[arg(long, action = ArgAction::Count, help_heading = "Filesystem view")]
    proc: u8,

    /// The guest's working directory (a path in its view).
    #[arg(long, value_name = "DIR", action = ArgAction::Append, help_heading = "Filesystem view")]
    chdir: Vec<PathBuf>,

    /// Print the routing table (every syscall's path and why) and exit.
    #[arg(long, exclusive = true)]
    list_syscalls: bool,

    /// The command and its arguments.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, required_unless_present = "list_syscalls")]
    command: Vec<OsString>,
}

/// The mount flags in command-line order (clap groups values by flag).
fn mount_specs(m: &ArgMatches) -> Result<Vec<MountSpec>, String> {
    let mut at: Vec<(usize, MountSpec)> = Vec::new();
    let paths = |id: &str| -> Vec<(usize, PathBuf)> {
        match (m.indices_of(id), m.get_many::<PathBuf>(id)) {
            (Some(i), Some(v)) => i.zip(v.cloned()).collect(),
            _ => Vec::new(),
        }
    };
    let flags = |id: &str| -> Vec<usize> {
        // A count flag has a default, which has an index too.
        if m.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
            return Vec::new();
        }
        m.indices_of(id).map(|i| i.collect()).unwrap_or_default()
    };
    for (i, host) in paths("root") {
        at.push((i, MountSpec::Root { host }));
    }
    for i in flags("empty") {
        at.push((i, MountSpec::Empty));
    }
    for (id, writable) in [("ro_bind", false), ("bind", true)] {
        for pair in paths(id).chunks(2) {
            if let [(i, src), (_, dest)] = pair {
                at.push((*i, MountSpec::Bind { src: src.clone(), dest: dest.clone(), writable }));
            }
        }
    }
    for pair in paths("overlay").chunks(2) {
        if let [(i, src), (_, dest)] = pair {
            at.push((*i, MountSpec::Overlay { src: src.clone(), dest: dest.clone(), upper: None }));
        }
    }
    for (i, dest) in paths("tmpfs") {
        at.push((i, MountSpec::Tmpfs { dest, size: None }));
    }
    for (i, path) in paths("hide") {
        at.push((i, MountSpec::Hide { path }));
    }
    for i in flags("dev") {
        at.push((i, MountSpec::Dev));
    }
    for i in flags("proc") {
        at.push((i, MountSpec::Proc));
    }
    for (i, dir) in paths("chdir") {
        at.push((i, MountSpec::Chdir(dir)));
    }
    at.sort_by_key(|(i, _)| *i);
    // --size belongs to the --tmpfs before it.
    if let (Some(idx), Some(sizes)) = (m.indices_of("size"), m.get_many::<u64>("size")) {
        for (i, &bytes) in idx.zip(sizes) {
            match at.iter_mut().rev().find(|(j, _)| *j < i) {
                Some((_, MountSpec::Tmpfs { size, .. })) => *size = Some(bytes),
                _ => return Err("--size must follow the --tmpfs it applies to".into()),
            }
        }
    }
    // --upper belongs to the --overlay before it.
    for (i, dir) in paths("upper") {
        match at.iter_mut().rev().find(|(j, _)| *j < i) {
            Some((_, MountSpec::Overlay { upper: upper @ None, .. })) => *upper = Some(dir),
            Some((_, MountSpec::Overlay { dest, .. })) => {
                return Err(format!("--upper given twice for the --overlay at {}", dest.display()))
            }
            _ => return Err("--upper must follow the --overlay it applies to".into()),
        }
    }
    Ok(at.into_iter().map(|(_, s)| s).collect())
}

fn sandbox(cli: &Cli, mounts: &[MountSpec]) -> Result<Sandbox, Error> {
    let mut sb = Sandbox::new().mounts(mounts)?;
    if let Some(h) = &cli.hostname {
        sb = sb.hostname(h.clone());
    }
    if let Some(t) = &cli.trace {
        let target = if t.as_os_str() == "-" { TraceTarget::Stderr } else { TraceTarget::File(t.clone()) };
        let format = match cli.trace_format {
            Format::Text => TraceFormat::Text,
            Format::Json => TraceFormat::Json,
        };
        sb = sb.trace(TraceConfig { format, target });
    }
    let limits = Limits {
        timeout: cli.timeout,
        kill_grace: cli.kill_after,
        cpu_time: cli.cpu_time,
        memory: cli.memory,
        max_procs: cli.max_procs,
        max_files: cli.max_files,
        max_file_size: cli.max_file_size,
        disk: cli.disk,
    };
    Ok(sb.limits(limits).account(cli.report.is_some()))
}

/// One line saying which limit ended the run.
fn limit_message(cli: &Cli, kind: LimitKind) -> String {
    let secs = |d: Option<Duration>| d.map_or(String::new(), |d| format!(" of {:.3} s", d.as_secs_f64()));
    match kind {
        LimitKind::Timeout => format!("time limit{} reached: the guest was stopped", secs(cli.timeout)),
        LimitKind::CpuTime => format!("CPU time limit{} exceeded: the guest was killed", secs(cli.cpu_time)),
        LimitKind::Memory => format!(
            "memory limit{} exceeded: the guest was killed",
            cli.memory.map_or(String::new(), |m| format!(" of {}", human_bytes(m)))
        ),
        LimitKind::Disk => format!(
            "disk limit{} reached: writes past it failed with EDQUOT",
            cli.disk.map_or(String::new(), |m| format!(" of {}", human_bytes(m)))
        ),
        _ => format!("the {} limit ended the run", kind.name()),
    }
}

fn write_report(path: &std::path::Path, report: &Report) -> Result<(), String> {
    if path.as_os_str() == "-" {
        eprintln!("{}", report.summary());
        return Ok(());
    }
    std::fs::write(path, report.to_json() + "\n")
        .map_err(|e| format!("cannot write the report to {}: {e}", path.display()))
}

/// The library's error, with what the user can do about the usual causes.
fn explain(e: &Error) -> String {
    use condo::launch::Stage;
    use nix::errno::Errno;
    match e {
        Error::Launch(LaunchError::Attach { errno: Errno::EPERM }) => {
            "ptrace is not permitted here: sandbox-run may already be traced (strace, gdb, \
             another sandbox), or Yama's ptrace_scope is 3"
                .to_string()
        }
        Error::Launch(LaunchError::Setup { stage: Stage::Seccomp, errno: Errno::EBUSY }) => {
            "a seccomp listener already exists in this process's filter chain (a sandbox \
             inside a sandbox?); only one is allowed"
                .to_string()
        }
        Error::Launch(LaunchError::Setup { stage: Stage::Seccomp, errno: Errno::EINVAL }) => {
            "this kernel has no seccomp user notification (Linux 5.0+ needed, 5.9+ recommended)".to_string()
        }
        e => e.to_string(),
    }
}

fn fail(msg: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("sandbox-run: {msg}");
    ExitCode::from(code)
}

fn run(cli: Cli, mounts: Vec<MountSpec>) -> ExitCode {
    if cli.list_syscalls {
        print!("{}", condo::table::listing(condo_syscalls::Arch::native()));
        return ExitCode::SUCCESS;
    }
    let sb = match sandbox(&cli, &mounts) {
        Ok(sb) => sb,
        Err(e) => return fail(format!("cannot set up the sandbox: {e}"), EXIT_SETUP),
    };
    if let Some(p) = &cli.report {
        // Refuse an unwritable report path before running anything.
        if p.as_os_str() != "-" {
            if let Err(e) = std::fs::OpenOptions::new().create(true).append(true).open(p) {
                return fail(format!("cannot write the report to {}: {e}", p.display()), 2);
            }
        }
    }
    if let Err(e) = sb.validate() {
        // A policy error is a usage error.
        eprintln!("sandbox-run: {e}");
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let Some((program, args)) = cli.command.split_first() else {
        return fail("no command given", 2);
    };
    let blocked = match condo::signals::block(&condo::signals::FORWARDED) {
        Ok(b) => b,
        Err(e) => return fail(e, EXIT_SETUP),
    };
    let mut child = match sb.command(program).args(args).spawn() {
        Ok(c) => c,
        Err(Error::Launch(LaunchError::Exec { program, errno })) => {
            let code = if errno == nix::errno::Errno::ENOENT { 127 } else { 126 };
            return fail(format!("cannot run '{}': {}", program.to_string_lossy(), errno.desc()), code);
        }
        Err(e) => return fail(format!("cannot set up the sandbox: {}", explain(&e)), EXIT_SETUP),
    };
    let enf = child.enforcement();
    if enf.notify_routes && !enf.sync_wake_up {
        eprintln!(
            "sandbox-run: note: this kernel lacks SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6); \
             intercepted calls may be slower"
        );
    }
    if enf.landlock_abi.is_none() {
        eprintln!(
            "sandbox-run: warning: this kernel has no Landlock; the guest is confined by seccomp only \
             and is not kept from other processes of this user"
        );
    }
    if let Err(e) = child.forward_signals(blocked) {
        eprintln!("sandbox-run: warning: signals will not be forwarded: {e}");
    }
    let report = match child.wait_report() {
        Ok(r) => r,
        Err(e) => return fail(format!("lost the guest: {e}"), EXIT_SETUP),
    };
    if let Some(kind) = report.limit {
        eprintln!("sandbox-run: {}", limit_message(&cli, kind));
    }
    if let Some(path) = &cli.report {
        if let Err(msg) = write_report(path, &report) {
            eprintln!("sandbox-run: {msg}");
        }
    }
    if report.limit == Some(LimitKind::Timeout) {
        // As timeout(1) does.
        return ExitCode::from(124);
    }
    ExitCode::from(report.shell_code().clamp(0, 255) as u8)
}

const USAGE: &str = "Usage: sandbox-run [OPTIONS] [--] COMMAND [ARG]...";

fn main() -> ExitCode {
    let parsed = Cli::command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    match parsed {
        Ok((cli, m)) => match mount_specs(&m) {
            Ok(mounts) => run(cli, mounts),
            Err(msg) => fail(format!("{msg}\n{USAGE}"), 2),
        },
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                e.exit();
            }
            // Every configuration error names the problem and shows the
            // usage line, and exits 2.
            let text = e.render().to_string();
            eprint!("{text}");
            if !text.contains("Usage:") {
                eprintln!("{USAGE}");
            }
            ExitCode::from(2)
        }
    }
}
