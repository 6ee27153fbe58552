//! `sandbox-run`: run a command in a condo sandbox.
//!
//! Parses arguments, calls the library, turns its errors into messages and
//! exit statuses. Nothing else lives here.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use condo::{Error, LaunchError, Sandbox, TraceConfig, TraceFormat, TraceTarget};

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

    /// Print the routing table (every syscall's path and why) and exit.
    #[arg(long, exclusive = true)]
    list_syscalls: bool,

    /// The command and its arguments.
    #[arg(value_name = "COMMAND", trailing_var_arg = true, required_unless_present = "list_syscalls")]
    command: Vec<OsString>,
}

fn sandbox(cli: &Cli) -> Sandbox {
    let mut sb = Sandbox::new();
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
    sb
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

fn run(cli: Cli) -> ExitCode {
    if cli.list_syscalls {
        print!("{}", condo::table::listing(condo_syscalls::Arch::native()));
        return ExitCode::SUCCESS;
    }
    let sb = sandbox(&cli);
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
    if let Err(e) = child.forward_signals(blocked) {
        eprintln!("sandbox-run: warning: signals will not be forwarded: {e}");
    }
    match child.wait() {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(c), _) => ExitCode::from((c & 0xff) as u8),
            (None, Some(sig)) => ExitCode::from((128 + sig).min(255) as u8),
            _ => ExitCode::from(EXIT_SETUP),
        },
        Err(e) => fail(format!("lost the guest: {e}"), EXIT_SETUP),
    }
}

const USAGE: &str = "Usage: sandbox-run [OPTIONS] [--] COMMAND [ARG]...";

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => run(cli),
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
