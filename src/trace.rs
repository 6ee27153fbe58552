//! Observation: strace-like text or JSON lines of the guest's system calls,
//! decoded with `condo-syscalls`. Called by the dispatcher and the tracer
//! around each call; handlers never log.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::{Arc, Mutex};

use condo_syscalls::decode::{errno_name, format_call, format_return, Value};
use condo_syscalls::Sysno;

use crate::policy::{TraceConfig, TraceFormat, TraceTarget};

/// How the call was handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// The kernel ran it.
    Native,
    /// The supervisor answered it.
    Notify,
    /// The filter refused it.
    Denied,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Native => "native",
            Path::Notify => "notify",
            Path::Denied => "denied",
        }
    }
}

/// One finished (or abandoned) call.
pub struct Event<'a> {
    /// Host thread id.
    pub tid: libc::pid_t,
    /// The call.
    pub sysno: Sysno,
    /// Decoded arguments.
    pub args: &'a [Value],
    /// The return value (negative errno on failure), `None` when the call
    /// never returned (exit, execve of a dying thread, killed).
    pub ret: Option<i64>,
    /// How it was handled.
    pub path: Path,
}

enum Out {
    Stderr,
    File(BufWriter<File>),
    Writer(Arc<Mutex<dyn Write + Send>>),
}

/// A trace destination shared by the tracer and the notify workers.
pub struct TraceSink {
    format: TraceFormat,
    out: Mutex<Out>,
}

impl TraceSink {
    /// Opens the destination (creating or truncating a file).
    pub fn open(cfg: &TraceConfig) -> io::Result<TraceSink> {
        let out = match &cfg.target {
            TraceTarget::Stderr => Out::Stderr,
            TraceTarget::File(p) => Out::File(BufWriter::new(File::create(p)?)),
            TraceTarget::Writer(w) => Out::Writer(Arc::clone(w)),
        };
        Ok(TraceSink { format: cfg.format, out: Mutex::new(out) })
    }

    /// Formats one line (without the newline).
    pub fn format(&self, ev: &Event<'_>) -> String {
        match self.format {
            TraceFormat::Text => {
                let ret = match ev.ret {
                    Some(r) => format_return(r),
                    None => "= ?".to_string(),
                };
                format!("[pid {}] {} {}", ev.tid, format_call(ev.sysno, ev.args), ret)
            }
            TraceFormat::Json => {
                let mut s = String::with_capacity(128);
                s.push_str("{\"pid\":");
                s.push_str(&ev.tid.to_string());
                s.push_str(",\"syscall\":\"");
                s.push_str(ev.sysno.name());
                s.push_str("\",\"args\":[");
                for (i, a) in ev.args.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    a.write_json(&mut s);
                }
                s.push_str("],\"path\":\"");
                s.push_str(ev.path.name());
                s.push('"');
                match ev.ret {
                    None => s.push_str(",\"result\":null"),
                    Some(r) if (-4095..0).contains(&r) => {
                        let e = (-r) as i32;
                        s.push_str(",\"result\":-1,\"errno\":\"");
                        s.push_str(errno_name(e).unwrap_or("E?"));
                        s.push('"');
                    }
                    Some(r) => {
                        s.push_str(",\"result\":");
                        s.push_str(&r.to_string());
                    }
                }
                s.push('}');
                s
            }
        }
    }

    /// Writes one event. Trace output errors never disturb the guest.
    pub fn record(&self, ev: &Event<'_>) {
        let mut line = self.format(ev);
        line.push('\n');
        let mut out = match self.out.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let _ = match &mut *out {
            Out::Stderr => io::stderr().lock().write_all(line.as_bytes()),
            Out::File(f) => f.write_all(line.as_bytes()),
            Out::Writer(w) => match w.lock() {
                Ok(mut w) => w.write_all(line.as_bytes()),
                Err(p) => p.into_inner().write_all(line.as_bytes()),
            },
        };
    }

    /// Flushes buffered output (at the end of the run).
    pub fn flush(&self) {
        if let Ok(mut out) = self.out.lock() {
            let _ = match &mut *out {
                Out::Stderr => Ok(()),
                Out::File(f) => f.flush(),
                Out::Writer(w) => w.lock().map(|mut w| w.flush()).unwrap_or(Ok(())),
            };
        }
    }
}
