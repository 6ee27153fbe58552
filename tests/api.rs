//! The library API (`condo::Sandbox`), used in-process. When the tests run
//! as root the whole test process first drops to nobody (see
//! `common::drop_privileges_once`), so guests run unprivileged here too.
//! Every library call runs on a helper thread with a deadline.

mod common;

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::*;
use condo::{Error, LaunchError, Sandbox, Stdio};

/// Runs `f` on its own thread; fails the test if it takes longer than
/// [`TIMEOUT`].
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(TIMEOUT) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("{what}: no result within {TIMEOUT:?}"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the call panicked"),
    }
}

/// Setup shared by every test: unprivileged, then a scratch directory.
fn setup() -> Scratch {
    drop_privileges_once();
    Scratch::new()
}

fn base(sc: &Scratch, program: &str) -> condo::Command {
    // The scratch directory is the guest's workspace: bound writable.
    let ws = condo::vfs::MountSpec::Bind { src: sc.path().into(), dest: sc.path().into(), writable: true };
    let mut c = Sandbox::new().mounts(&[ws]).expect("a valid view").command(program);
    c.env("PATH", STD_PATH).env("HOME", sc.path()).env("LC_ALL", "C").current_dir(sc.path());
    c
}

#[test]
fn output_captures_stdout_stderr_and_status() {
    let sc = setup();
    let mut c = base(&sc, "sh");
    c.args(["-c", "echo out; echo err >&2; printf 'no newline'; exit 5"]);
    let out = within("output", move || c.output()).expect("output");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(out.stdout, b"out\nno newline");
    assert_eq!(out.stderr, b"err\n");
}

#[test]
fn output_of_large_streams_is_complete() {
    let sc = setup();
    let mut c = base(&sc, "sh");
    c.args(["-c", "seq 1 100000; seq 1 50000 >&2"]);
    let out = within("output", move || c.output()).expect("output");
    assert!(out.status.success());
    let expected: String = (1..=100000).map(|i| format!("{i}\n")).collect();
    assert_eq!(out.stdout.len(), expected.len());
    assert!(out.stdout == expected.as_bytes());
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 50000);
}

#[test]
fn status_gives_the_exit_code() {
    let sc = setup();
    let mut c = base(&sc, "sh");
    c.args(["-c", "exit 3"]).stdout(Stdio::Null).stderr(Stdio::Null);
    let st = within("status", move || c.status()).expect("status");
    assert_eq!(st.code(), Some(3));
    let mut c = base(&sc, "true");
    c.stdout(Stdio::Null);
    assert!(within("status", move || c.status()).expect("status").success());
}

#[test]
fn death_by_signal_is_reported_as_a_signal() {
    let sc = setup();
    let mut c = base(&sc, "sh");
    c.args(["-c", "kill -TERM $$"]);
    let out = within("output", move || c.output()).expect("output");
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{:?}", out.status);
    assert_eq!(out.status.code(), None);
}

#[test]
fn spawn_then_kill_gives_signal_9() {
    let sc = setup();
    let mut c = base(&sc, "sleep");
    c.arg("100");
    let mut child = within("spawn", move || c.spawn()).expect("spawn");
    let pid = child.id() as i32;
    assert!(
        poll_until(Duration::from_secs(10), || alive_as(pid, "sleep")),
        "child.id() {pid} is not the running sleep: {:?}",
        proc_state(pid)
    );
    assert!(matches!(child.try_wait(), Ok(None)), "sleep 100 has not finished");
    child.kill().expect("kill");
    let (st, mut child) = within("wait", move || {
        let st = child.wait();
        (st, child)
    });
    let st = st.expect("wait");
    assert_eq!(st.signal(), Some(libc::SIGKILL), "{st:?}");
    assert!(!alive_as(pid, "sleep"));
    // Waiting again, try_wait and kill after the end are harmless.
    assert_eq!(child.wait().expect("second wait").signal(), Some(libc::SIGKILL));
    assert_eq!(child.try_wait().expect("try_wait").map(|s| s.signal()), Some(Some(libc::SIGKILL)));
    child.kill().expect("kill after exit");
}

#[test]
fn kill_takes_the_whole_tree() {
    let sc = setup();
    let mut c = base(&sc, "sh");
    c.args(["-c", "sleep 1000 & echo $! > pid; wait"]).stdout(Stdio::Null);
    let mut child = within("spawn", move || c.spawn()).expect("spawn");
    let pidfile = sc.join("pid");
    assert!(poll_until(Duration::from_secs(10), || std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n'))));
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(poll_until(Duration::from_secs(10), || alive_as(pid, "sleep")));
    child.kill().expect("kill");
    let st = within("wait", move || child.wait()).expect("wait");
    assert_eq!(st.signal(), Some(libc::SIGKILL));
    let gone = poll_until(Duration::from_secs(2), || !alive_as(pid, "sleep"));
    cleanup_pids(&[pid], "sleep");
    assert!(gone, "the background sleep survived the kill");
}

#[test]
fn dropping_a_child_kills_it() {
    let sc = setup();
    let mut c = base(&sc, "sleep");
    c.arg("1000");
    let child = within("spawn", move || c.spawn()).expect("spawn");
    let pid = child.id() as i32;
    assert!(poll_until(Duration::from_secs(10), || alive_as(pid, "sleep")));
    within("drop", move || drop(child));
    let gone = poll_until(Duration::from_secs(2), || !alive_as(pid, "sleep"));
    cleanup_pids(&[pid], "sleep");
    assert!(gone, "a dropped Child's guest lives on");
}

#[test]
fn env_env_remove_and_env_clear() {
    let sc = setup();
    std::env::set_var("CONDO_API_INHERITED", "from the parent");
    let mut c = base(&sc, "sh");
    c.args(["-c", "echo \"$CONDO_API_SET|$CONDO_API_INHERITED|${CONDO_API_REMOVED-unset}\""])
        .env("CONDO_API_SET", "set value")
        .env("CONDO_API_REMOVED", "x")
        .env_remove("CONDO_API_REMOVED");
    let out = within("output", move || c.output()).expect("output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "set value|from the parent|unset\n");

    let mut c = Sandbox::new().command("/usr/bin/env");
    c.env("DROPPED", "1").env_clear().env("ONLY", "this one");
    let out = within("output", move || c.output()).expect("output");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ONLY=this one\n");
}

#[test]
fn current_dir_is_used() {
    let sc = setup();
    let sub = sc.join("sub dir");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("f.txt"), "content\n").unwrap();
    let mut c = base(&sc, "sh");
    c.args(["-c", "pwd -P; cat f.txt"]).current_dir(&sub);
    let out = within("output", move || c.output()).expect("output");
    assert!(out.status.success(), "{out:?}");
    let real = std::fs::canonicalize(&sub).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{}\ncontent\n", real.display()));
}

#[test]
fn missing_current_dir_fails_to_launch() {
    let sc = setup();
    let mut c = base(&sc, "true");
    c.current_dir(sc.join("does-not-exist"));
    let r = within("output", move || c.output().map(|o| o.status));
    assert!(r.is_err(), "ran in a missing directory: {r:?}");
}

#[test]
fn stdin_piped_to_the_guest() {
    let sc = setup();
    let mut c = base(&sc, "sh");
    c.args(["-c", "tr a-z A-Z; echo end"]).stdin(Stdio::Piped).stdout(Stdio::Piped);
    let mut child = within("spawn", move || c.spawn()).expect("spawn");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    assert!(child.stderr.is_none());
    let (text, st) = within("pipe", move || {
        stdin.write_all(b"hello sandbox\n").unwrap();
        drop(stdin);
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        (s, child.wait())
    });
    assert_eq!(text, "HELLO SANDBOX\nend\n");
    assert!(st.expect("wait").success());
}

#[test]
fn stdin_and_stdout_from_fds() {
    let sc = setup();
    let input = sc.write("in.txt", "b\na\nc\n");
    let output = sc.join("out.txt");
    let mut c = base(&sc, "sort");
    c.stdin(Stdio::Fd(std::fs::File::open(&input).unwrap().into()))
        .stdout(Stdio::Fd(std::fs::File::create(&output).unwrap().into()));
    let st = within("status", move || c.status()).expect("status");
    assert!(st.success());
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "a\nb\nc\n");
}

#[test]
fn output_stdin_is_null_by_default() {
    let sc = setup();
    let mut c = base(&sc, "sh");
    c.args(["-c", "cat; echo eof"]);
    let out = within("output", move || c.output()).expect("output");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "eof\n");
}

#[test]
fn missing_program_is_an_exec_error() {
    let sc = setup();
    let mut c = base(&sc, "no-such-prog-xyz");
    let r = within("output", move || c.output().map(|o| o.status));
    match r {
        Err(Error::Launch(LaunchError::Exec { program, errno })) => {
            assert_eq!(program, "no-such-prog-xyz");
            assert_eq!(errno, nix::errno::Errno::ENOENT);
        }
        other => panic!("expected an Exec error, got {other:?}"),
    }
    let mut c = base(&sc, "/tmp");
    match within("spawn", move || c.spawn().map(|_| ())) {
        Err(Error::Launch(LaunchError::Exec { errno, .. })) => assert_eq!(errno, nix::errno::Errno::EACCES),
        other => panic!("expected an Exec error, got {other:?}"),
    }
}

#[test]
fn bad_hostname_is_a_policy_error() {
    let sc = setup();
    for bad in ["a b", "", &"x".repeat(65)] {
        let mut c = Sandbox::new().hostname(bad.to_string()).command("true");
        c.current_dir(sc.path());
        match within("output", move || c.output().map(|o| o.status)) {
            Err(Error::Policy(_)) => {}
            other => panic!("hostname {bad:?}: expected a Policy error, got {other:?}"),
        }
    }
}

#[test]
fn hostname_via_output() {
    let sc = setup();
    let sb = Sandbox::new().hostname("box");
    let mut c = sb.command("uname");
    c.arg("-n").current_dir(sc.path()).env("PATH", STD_PATH);
    let out = within("output", move || c.output()).expect("output");
    assert_eq!(out.stdout, b"box\n");
    assert!(out.status.success());
    // The same Sandbox runs another command.
    let mut c = sb.command("hostname");
    c.current_dir(sc.path()).env("PATH", STD_PATH);
    let out = within("output", move || c.output()).expect("output");
    assert_eq!(out.stdout, b"box\n");
}

#[test]
fn several_sandboxes_at_once() {
    let sc = setup();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let mut c = Sandbox::new().hostname(format!("box{i}")).command("sh");
            c.args(["-c", "uname -n; seq 1 1000 | wc -l"]).current_dir(sc.path()).env("PATH", STD_PATH);
            std::thread::spawn(move || c.output())
        })
        .collect();
    let outs = within("join", move || handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>());
    for (i, o) in outs.into_iter().enumerate() {
        let o = o.expect("output");
        assert_eq!(String::from_utf8_lossy(&o.stdout), format!("box{i}\n1000\n"));
    }
}

#[test]
fn guests_run_unprivileged() {
    let sc = setup();
    let mut c = base(&sc, "id");
    c.arg("-u");
    let out = within("output", move || c.output()).expect("output");
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    assert_ne!(uid, 0, "the library tests must run unprivileged");
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{uid}\n"));
}
