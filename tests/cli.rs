//! The `sandbox-run` command line: flags, exit statuses, messages, the
//! hostname, the trace, and the guest's file descriptors.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

#[test]
fn help_exits_0() {
    let sc = Scratch::new();
    for flag in ["--help", "-h"] {
        let out = run(&mut sandbox_raw(&sc, [flag]));
        out.assert_code(0);
        assert!(out.out().contains("Usage"), "{out:?}");
        assert!(out.out().contains("--hostname") && out.out().contains("--trace"), "{out:?}");
    }
}

#[test]
fn version_exits_0() {
    let sc = Scratch::new();
    for flag in ["--version", "-V"] {
        let out = run(&mut sandbox_raw(&sc, [flag]));
        out.assert_code(0);
        assert!(out.out().starts_with("sandbox-run "), "{out:?}");
        assert!(out.out().contains(env!("CARGO_PKG_VERSION")), "{out:?}");
    }
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let sc = Scratch::new();
    let out = run(&mut sandbox_raw(&sc, ["--no-such-flag", "true"]));
    out.assert_code(2);
    assert!(out.err().contains("Usage"), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn missing_command_is_a_usage_error() {
    let sc = Scratch::new();
    for args in [&[][..], &["--hostname", "box"][..], &["--"][..], &["--trace-format", "json"][..]] {
        let out = run(&mut sandbox_raw(&sc, args));
        assert_eq!(out.code(), 2, "args {args:?}\n{out:?}");
        assert!(out.err().contains("Usage"), "args {args:?}\n{out:?}");
    }
}

#[test]
fn missing_program_exits_127_with_the_message() {
    let sc = Scratch::new();
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["no-such-prog-xyz", "arg"]));
    out.assert_code(127);
    assert_eq!(out.err(), "sandbox-run: cannot run 'no-such-prog-xyz': No such file or directory\n");
    assert!(out.stdout.is_empty());
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["/nonexistent/dir/prog"]));
    out.assert_code(127);
    assert_eq!(out.err(), "sandbox-run: cannot run '/nonexistent/dir/prog': No such file or directory\n");
}

#[test]
fn non_executable_file_exits_126() {
    let sc = Scratch::new();
    let f = sc.write("not-exec.sh", "#!/bin/sh\necho should not run\n");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["./not-exec.sh"]));
    out.assert_code(126);
    assert!(out.err().starts_with("sandbox-run: cannot run './not-exec.sh': "), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    // A directory cannot be executed either.
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["/tmp"]));
    out.assert_code(126);
    // Natively the same file is refused too (the shell says 126 as well).
    let n = run(&mut native(&sc, ["sh", "-c", "./not-exec.sh"]));
    assert_eq!(n.shell_code(), 126, "{n:?}");
}

#[test]
fn exec_format_error_exits_126() {
    let sc = Scratch::new();
    let f = sc.write("garbage", [0x7fu8, b'E', b'L', b'F', 0, 0, 0, 0]);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(&mut sandboxed(&sc, NO_OPTS, [s(&f)]));
    out.assert_code(126);
    assert!(out.err().starts_with("sandbox-run: cannot run '"), "{out:?}");
}

#[test]
fn unwritable_trace_file_exits_125_and_runs_nothing() {
    let sc = Scratch::new();
    let out = run(&mut sandboxed(&sc, ["--trace=/nonexistent-dir/x"], ["touch", "marker"]));
    out.assert_code(125);
    assert!(out.err().starts_with("sandbox-run: "), "{out:?}");
    assert!(out.err().len() > "sandbox-run: ".len() + 5, "{out:?}");
    assert!(!sc.join("marker").exists(), "the guest ran although the sandbox could not be set up");
}

#[test]
fn hostname_seen_by_uname() {
    let sc = Scratch::new();
    let out = run(&mut sandboxed(&sc, ["--hostname", "box"], ["uname", "-n"]));
    out.assert_code(0);
    assert_eq!(out.out(), "box\n");
    // The rest of uname is the host's.
    let n = run(&mut native(&sc, ["uname", "-s", "-r", "-m"]));
    let s2 = run(&mut sandboxed(&sc, ["--hostname", "box"], ["uname", "-s", "-r", "-m"]));
    assert_eq!(s2.out(), n.out());
}

#[test]
fn hostname_seen_by_hostname() {
    let sc = Scratch::new();
    let out = run(&mut sandboxed(&sc, ["--hostname", "box"], ["hostname"]));
    out.assert_code(0);
    assert_eq!(out.out(), "box\n");
}

#[test]
fn hostname_seen_by_python() {
    let sc = Scratch::new();
    let out = run(&mut sandboxed(
        &sc,
        ["--hostname", "box"],
        [
            "python3",
            "-c",
            "import os, platform, socket; print(socket.gethostname(), os.uname().nodename, platform.node())",
        ],
    ));
    out.assert_code(0);
    assert_eq!(out.out(), "box box box\n");
}

#[test]
fn hostname_is_inherited_by_children_and_exec() {
    let sc = Scratch::new();
    let out = run(&mut sandboxed(
        &sc,
        ["--hostname", "box-1.example"],
        ["sh", "-c", "uname -n; sh -c 'uname -n' & wait; exec uname -n"],
    ));
    out.assert_code(0);
    assert_eq!(out.out(), "box-1.example\nbox-1.example\nbox-1.example\n");
}

#[test]
fn longest_hostname_is_accepted() {
    let sc = Scratch::new();
    let name = "h".repeat(64);
    let out = run(&mut sandboxed(&sc, ["--hostname", &name], ["uname", "-n"]));
    out.assert_code(0);
    assert_eq!(out.out(), format!("{name}\n"));
}

#[test]
fn without_hostname_the_host_name_is_seen() {
    let sc = Scratch::new();
    let n = run(&mut native(&sc, ["uname", "-n"]));
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["uname", "-n"]));
    out.assert_code(0);
    assert_eq!(out.out(), n.out());
}

#[test]
fn bad_hostnames_are_usage_errors() {
    let sc = Scratch::new();
    let long = "a".repeat(65);
    for bad in [long.as_str(), "a b", "", "a/b", "tab\there", "new\nline"] {
        let out = run(&mut sandboxed(&sc, ["--hostname", bad], ["touch", "marker"]));
        assert_eq!(out.code(), 2, "hostname {bad:?}\n{out:?}");
        assert!(out.err().contains("Usage"), "hostname {bad:?}\n{out:?}");
        assert!(!sc.join("marker").exists(), "the guest ran with hostname {bad:?}");
    }
}

#[test]
fn bad_trace_format_is_a_usage_error() {
    let sc = Scratch::new();
    let out = run(&mut sandboxed(&sc, ["--trace", "--trace-format", "xml"], ["touch", "marker"]));
    out.assert_code(2);
    assert!(out.err().contains("Usage"), "{out:?}");
    assert!(!sc.join("marker").exists());
}

#[test]
fn text_trace_to_a_file() {
    let sc = Scratch::new();
    let trace = sc.join("trace.txt");
    let n = run(&mut native(&sc, ["cat", "/etc/hostname"]));
    let out = run(&mut sandboxed(&sc, [format!("--trace={}", trace.display())], ["cat", "/etc/hostname"]));
    out.assert_code(0);
    assert_eq!(out.out(), n.out(), "{out:?}");
    let text = std::fs::read_to_string(&trace).expect("the trace file");
    let open = text
        .lines()
        .find(|l| l.contains("openat(") && l.contains("\"/etc/hostname\""))
        .unwrap_or_else(|| panic!("no openat of /etc/hostname in the trace:\n{text}"));
    assert!(open.starts_with("[pid "), "{open}");
    assert!(open.contains("O_RDONLY"), "{open}");
    let ret = open.rsplit_once("= ").unwrap_or_else(|| panic!("no result in {open:?}")).1;
    let fd: i32 = ret.split_whitespace().next().unwrap().parse().unwrap_or_else(|_| panic!("result of {open:?}"));
    assert!(fd >= 3, "{open}");
    assert!(text.lines().any(|l| l.contains("execve(") && l.contains("cat")), "no execve of cat:\n{text}");
    assert!(text.lines().any(|l| l.starts_with("[pid ") && l.contains("read(")), "no read:\n{text}");
    // Every line has the shape "[pid N] call(...) = result".
    for l in text.lines() {
        assert!(l.starts_with("[pid ") && l.contains("(") && l.contains(" = "), "odd trace line {l:?}");
    }
    // A failing call shows its errno.
    let trace2 = sc.join("trace2.txt");
    let out = run(&mut sandboxed(&sc, [format!("--trace={}", trace2.display())], ["cat", "/nonexistent-file"]));
    out.assert_code(1);
    let text = std::fs::read_to_string(&trace2).unwrap();
    assert!(
        text.lines().any(|l| l.contains("\"/nonexistent-file\"") && l.contains("ENOENT")),
        "no failing openat with ENOENT:\n{text}"
    );
}

#[test]
fn text_trace_to_stderr() {
    let sc = Scratch::new();
    let out = run(&mut sandboxed(&sc, ["--trace"], ["cat", "/etc/hostname"]));
    out.assert_code(0);
    assert!(
        out.err().lines().any(|l| l.contains("openat(") && l.contains("\"/etc/hostname\"") && l.contains("= ")),
        "{out:?}"
    );
}

#[test]
fn json_trace() {
    let sc = Scratch::new();
    let trace = sc.join("trace.json");
    let opt = format!("--trace={}", trace.display());
    let out = run(&mut sandboxed(
        &sc,
        ["--hostname", "box", opt.as_str(), "--trace-format", "json"],
        ["sh", "-c", "uname -n; cat /etc/hostname > /dev/null; cat /nonexistent 2>/dev/null; exit 4"],
    ));
    out.assert_code(4);
    assert_eq!(out.out(), "box\n");
    let lines = parse_json_trace(&trace);
    assert!(lines.len() > 20, "{lines:#?}");
    // The command's execve (after any failed PATH candidates) succeeded.
    let exec = lines
        .iter()
        .find(|l| l.syscall == "execve" && l.result == Some(0))
        .unwrap_or_else(|| panic!("no successful execve in the trace: {lines:#?}"));
    assert!(
        exec.args.contains("/sh\"") && exec.args.contains("uname -n"),
        "the first execve is not the command's: {exec:?}"
    );
    assert!(lines.iter().any(|l| l.syscall == "execve" && l.args.contains("uname")), "no execve of uname");
    let uname = lines.iter().find(|l| l.syscall == "uname").expect("uname traced");
    assert_eq!((uname.path.as_str(), uname.result), ("notify", Some(0)), "{uname:?}");
    assert!(lines.iter().all(|l| l.path != "denied"), "nothing here is denied");
    assert!(lines
        .iter()
        .any(|l| l.syscall == "openat" && l.args.contains("/etc/hostname") && l.result.is_some_and(|r| r >= 3)));
    assert!(lines
        .iter()
        .any(|l| l.syscall == "openat" && l.args.contains("/nonexistent") && l.errno.as_deref() == Some("ENOENT")));
    // Several processes appear.
    let pids: std::collections::HashSet<i64> = lines.iter().map(|l| l.pid).collect();
    assert!(pids.len() >= 3, "pids {pids:?}");
    // The first process's exit is the trace's last word about it.
    assert!(lines.iter().any(|l| l.syscall == "exit_group" && l.result.is_none()));
}

#[test]
fn json_trace_shows_denied_calls() {
    let sc = Scratch::new();
    let trace = sc.join("trace.json");
    let g = guest("syscalls");
    let out = run(&mut sandboxed(
        &sc,
        [format!("--trace={}", trace.display()).as_str(), "--trace-format", "json"],
        [s(&g), format!("mount:{}", libc::SYS_mount).as_str(), format!("getppid:{}", libc::SYS_getppid).as_str()],
    ));
    out.assert_code(0);
    assert_eq!(out.out(), "mount EPERM\ngetppid ok\n");
    let lines = parse_json_trace(&trace);
    let m = lines.iter().find(|l| l.syscall == "mount").expect("mount traced");
    assert_eq!((m.path.as_str(), m.result, m.errno.as_deref()), ("denied", Some(-1), Some("EPERM")), "{m:?}");
    let p = lines.iter().find(|l| l.syscall == "getppid").expect("getppid traced");
    assert_eq!(p.path, "native", "{p:?}");
}

#[test]
fn trace_does_not_change_the_output() {
    let sc = Scratch::new();
    let cmd = ["sh", "-c", "seq 1 500 | sort -rn | head -3; ls /proc/self/fd; exit 9"];
    let plain = run(&mut sandboxed(&sc, NO_OPTS, cmd));
    let traced = run(&mut sandboxed(&sc, [format!("--trace={}", sc.join("t").display())], cmd));
    plain.assert_code(9);
    traced.assert_code(9);
    assert_eq!(plain.out(), "500\n499\n498\n0\n1\n2\n3\n");
    assert_eq!(traced.out(), plain.out());
}

#[test]
fn guest_gets_only_fds_0_1_2_even_if_sandbox_run_has_more() {
    use std::os::unix::process::CommandExt;
    let sc = Scratch::new();
    let mut c = sandboxed(&sc, NO_OPTS, ["ls", "/proc/self/fd"]);
    let f = std::fs::File::open("/dev/null").unwrap();
    let raw = std::os::fd::AsRawFd::as_raw_fd(&f);
    // SAFETY: dup2 and fcntl are async-signal-safe; the fds are valid.
    unsafe {
        c.pre_exec(move || {
            for target in [5, 9, 20] {
                if libc::dup2(raw, target) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = run(&mut c);
    drop(f);
    out.assert_code(0);
    assert_eq!(out.out(), "0\n1\n2\n3\n");
}

#[test]
fn arguments_pass_through_untouched() {
    let args = ["", "two words", "--hostname", "-x", "--", "ünïcödé", "$HOME", "*"];
    let mut argv = vec!["sh", "-c", "for a in \"$@\"; do printf '[%s]\\n' \"$a\"; done", "sh"];
    argv.extend(args);
    let (_, s) = differential(&argv);
    s.assert_code(0);
    assert_eq!(s.out(), "[]\n[two words]\n[--hostname]\n[-x]\n[--]\n[ünïcödé]\n[$HOME]\n[*]\n");
}

#[test]
fn options_after_the_command_belong_to_the_command() {
    let sc = Scratch::new();
    let out = run(&mut sandbox_raw(&sc, ["echo", "--hostname", "box", "--version"]));
    out.assert_code(0);
    assert_eq!(out.out(), "--hostname box --version\n");
}

#[test]
fn guest_processes_are_confined_and_traced_by_sandbox_run() {
    // Every guest process -- the first one and its descendants -- runs
    // under the seccomp filter with no_new_privs, traced by a thread of
    // sandbox-run.
    let sc = Scratch::new();
    let script = "f() { sed -n 's/^\\(NoNewPrivs\\|Seccomp\\|TracerPid\\):[[:space:]]*/\\1 /p' /proc/$1/status | tr '\\n' ' '; echo; }; \
                  f $$; sh -c 'f() { sed -n \"s/^\\(NoNewPrivs\\|Seccomp\\|TracerPid\\):[[:space:]]*/\\1 /p\" /proc/$1/status | tr \"\\n\" \" \"; echo; }; f $$'; \
                  echo ready; exec sleep 1000";
    let mut r = start(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", script]));
    let first = r.read_line();
    let second = r.read_line();
    assert_eq!(r.read_line(), "ready");
    let sb = r.pid();
    for line in [&first, &second] {
        let w: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(w.len(), 6, "{line:?}");
        assert_eq!((w[0], w[1]), ("TracerPid", w[1]));
        assert_eq!((w[2], w[3]), ("NoNewPrivs", "1"), "{line:?}");
        assert_eq!((w[4], w[5]), ("Seccomp", "2"), "{line:?}");
        let tracer: i32 = w[1].parse().unwrap();
        assert!(
            std::path::Path::new(&format!("/proc/{sb}/task/{tracer}")).exists(),
            "the tracer {tracer} is not a thread of sandbox-run {sb}: {line:?}"
        );
    }
    kill(sb, libc::SIGKILL);
    let out = r.wait();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&out.status), Some(libc::SIGKILL));
}
