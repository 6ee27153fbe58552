//! Signals: forwarding from sandbox-run to the guest, stop/continue inside
//! the guest, deaths by signal, SIGKILL of the supervisor, and the tree
//! dying with its first process.

mod common;

use std::time::Duration;

use common::*;

/// The guest prints "ready", traps SIG, and exits 42 with a message when it
/// arrives; the test sends SIG to the sandbox-run pid.
fn forwarded(sig: i32, name: &str) {
    let sc = Scratch::new();
    let script = format!("trap 'echo got {name}; exit 42' {name}; echo ready; while :; do sleep 0.1; done");
    let mut r = start(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", &script]));
    assert_eq!(r.read_line(), "ready");
    kill(r.pid(), sig);
    let out = r.wait();
    assert_eq!(out.code(), 42, "{out:?}");
    assert_eq!(out.out(), format!("got {name}\n"));
}

#[test]
fn sigint_is_forwarded() {
    forwarded(libc::SIGINT, "INT");
}

#[test]
fn sigterm_is_forwarded() {
    forwarded(libc::SIGTERM, "TERM");
}

#[test]
fn sighup_is_forwarded() {
    forwarded(libc::SIGHUP, "HUP");
}

#[test]
fn sigquit_is_forwarded() {
    forwarded(libc::SIGQUIT, "QUIT");
}

#[test]
fn untrapped_sigterm_kills_the_guest_with_143() {
    let sc = Scratch::new();
    let mut r = start(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", "echo ready; exec sleep 1000"]));
    assert_eq!(r.read_line(), "ready");
    // Let the exec of sleep happen (sleep's default SIGTERM action kills).
    let pid = r.pid();
    let execed = poll_until(Duration::from_secs(10), || descendant_named(pid, "sleep"));
    assert!(execed, "the guest never became sleep");
    kill(pid, libc::SIGTERM);
    let out = r.wait();
    assert_eq!(out.code(), 128 + libc::SIGTERM, "{out:?}");
}

/// Whether a live process named `comm` descends from `pid` (children of
/// every thread, recursively).
fn descendant_named(pid: i32, comm: &str) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    for t in tasks.flatten() {
        let Ok(c) = std::fs::read_to_string(t.path().join("children")) else { continue };
        for child in c.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            if alive_as(child, comm) || descendant_named(child, comm) {
                return true;
            }
        }
    }
    false
}

#[test]
fn stopped_guest_is_continued_by_another_guest_process() {
    let script = r#"sh -c 'kill -STOP $$; echo resumed' & p=$!
i=0
while [ $i -lt 200 ]; do
  s=$(cut -d' ' -f3 /proc/$p/stat)
  case $s in T|t) break;; esac
  sleep 0.05; i=$((i+1))
done
case $s in T|t) echo stopped;; *) echo "never stopped: $s";; esac
kill -CONT $p; wait $p; echo done $?"#;
    let (_, s) = differential(&["sh", "-c", script]);
    s.assert_code(0);
    assert_eq!(s.out(), "stopped\nresumed\ndone 0\n");
}

#[test]
fn sigsegv_gives_139() {
    let g = guest("crash");
    let (n, s) = differential(&[s(&g), "segv"]);
    assert_eq!(n.status.signal_number(), Some(libc::SIGSEGV), "{n:?}");
    s.assert_code(139);
    assert_eq!(s.out(), "about to segv\n");
}

#[test]
fn abort_gives_134() {
    let g = guest("crash");
    let (_, s) = differential(&[s(&g), "abort"]);
    s.assert_code(134);
}

#[test]
fn kill_term_self_gives_143() {
    let (_, s) = differential(&["sh", "-c", "kill -TERM $$"]);
    s.assert_code(143);
}

#[test]
fn sigkill_of_sandbox_run_kills_the_whole_tree_within_a_second() {
    let sc = Scratch::new();
    let script = "for i in 1 2 3 4 5; do sleep 1000 </dev/null >/dev/null 2>&1 & echo $! >> pids; done; \
                  sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! >> pids; wait' & \
                  while [ $(wc -l < pids) -lt 6 ]; do sleep 0.05; done; echo ready; wait";
    let mut r = start(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", script]));
    assert_eq!(r.read_line(), "ready");
    let pids: Vec<i32> =
        std::fs::read_to_string(sc.join("pids")).unwrap().lines().map(|l| l.trim().parse().expect("a pid")).collect();
    assert_eq!(pids.len(), 6);
    let all_up = poll_until(Duration::from_secs(10), || pids.iter().all(|&p| alive_as(p, "sleep")));
    assert!(all_up, "the guest's sleeps did not all start: {pids:?}");

    kill(r.pid(), libc::SIGKILL);
    let gone = poll_until(Duration::from_secs(1), || pids.iter().all(|&p| !alive_as(p, "sleep")));
    let survivors: Vec<i32> = pids.iter().copied().filter(|&p| alive_as(p, "sleep")).collect();
    cleanup_pids(&pids, "sleep");
    assert!(gone, "guest processes survived SIGKILL of sandbox-run for 1 s: {survivors:?} of {pids:?}");
    let out = r.wait();
    assert_eq!(out.status.signal_number(), Some(libc::SIGKILL), "{out:?}");
}

#[test]
fn the_tree_dies_with_its_first_process() {
    let sc = Scratch::new();
    let script = "sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > pid1; \
                  sh -c 'sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > pid2; wait' </dev/null >/dev/null 2>&1 & \
                  while [ ! -s pid2 ]; do sleep 0.05; done; exit 7";
    let out = run(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", script]));
    let pids: Vec<i32> = ["pid1", "pid2"]
        .iter()
        .map(|f| std::fs::read_to_string(sc.join(f)).unwrap().trim().parse().expect("a pid"))
        .collect();
    // Killed and reaped by the time sandbox-run exits; a little grace for
    // the kernel to finish tearing them down.
    let gone = poll_until(Duration::from_secs(2), || pids.iter().all(|&p| !alive_as(p, "sleep")));
    cleanup_pids(&pids, "sleep");
    out.assert_code(7);
    assert!(gone, "background processes outlived the guest's first process: {pids:?}");
}

#[test]
fn signal_death_inside_the_tree_is_seen_by_the_parent() {
    let (_, s) =
        differential(&["sh", "-c", "sh -c 'kill -KILL $$'; echo child $?; sh -c 'kill -USR1 $$'; echo child $?"]);
    s.assert_code(0);
    assert_eq!(s.out(), "child 137\nchild 138\n");
}

trait SignalNumber {
    fn signal_number(&self) -> Option<i32>;
}

impl SignalNumber for std::process::ExitStatus {
    fn signal_number(&self) -> Option<i32> {
        std::os::unix::process::ExitStatusExt::signal(self)
    }
}
