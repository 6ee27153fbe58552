//! Load and faults: many sandboxes at once, thousands of threads making
//! intercepted calls, and the supervisor killed at random moments.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn thirty_two_sandboxes_at_once_all_finish_correctly() {
    let sc = Scratch::new();
    // A syscall-heavy workload (a metadata walk), plus a notified call.
    let script = "n=$(find /usr/lib -maxdepth 3 2>/dev/null | wc -l); h=$(uname -n); echo \"$h $n\"";
    let native = run(&mut native(&sc, ["sh", "-c", "find /usr/lib -maxdepth 3 2>/dev/null | wc -l"]));
    let expected = format!("box {}", native.out().trim());
    let mut running: Vec<Running> =
        (0..32).map(|_| start(&mut sandboxed(&sc, ["--hostname", "box"], ["sh", "-c", script]))).collect();
    for (i, r) in running.drain(..).enumerate() {
        let o = r.wait();
        o.assert_code(0);
        assert_eq!(o.out().trim(), expected, "sandbox {i}");
    }
}

#[test]
fn two_thousand_threads_make_intercepted_calls_concurrently() {
    let sc = Scratch::new();
    let g = guest("load_uname_threads");
    let o = run(&mut sandboxed(&sc, ["--hostname", "many"], [s(&g), "2000", "20", "many"]));
    o.assert_code(0);
    assert_eq!(o.out(), "threads 2000 calls 40000 wrong 0\n");
}

/// A process is gone for good: no longer there, or a zombie.
fn dead(pid: i32) -> bool {
    proc_state(pid).is_none_or(|(state, _)| state == 'Z' || state == 'X')
}

#[test]
fn killing_the_supervisor_at_random_moments_leaves_no_guest_alive() {
    let sc = Scratch::new();
    // Each round: a guest tree that keeps forking and recording its pids,
    // killed with SIGKILL after a different delay.
    let script = "while :; do sleep 30 & echo $! >> pids; (sleep 30 &); done";
    let mut rounds_with_guests = 0;
    for (round, delay_ms) in [30u64, 90, 150, 7, 260, 55].into_iter().enumerate() {
        let pids = sc.join("pids");
        let _ = std::fs::remove_file(&pids);
        let mut r = start(&mut sandboxed(&sc, NO_OPTS, ["sh", "-c", script]));
        // The moment is random within the tree's life, not its start-up:
        // under contention (the other load tests run beside this one) a
        // debug-build sandbox can take longer than the shortest delays to
        // fork its first child, which left rounds with nothing to check.
        poll_until(Duration::from_secs(10), || std::fs::metadata(&pids).is_ok_and(|m| m.len() > 0));
        std::thread::sleep(Duration::from_millis(delay_ms));
        let supervisor = r.pid();
        kill(supervisor, libc::SIGKILL);
        let _ = r.try_wait();
        let recorded: Vec<i32> =
            std::fs::read_to_string(&pids).unwrap_or_default().lines().filter_map(|l| l.trim().parse().ok()).collect();
        if recorded.len() >= 3 {
            rounds_with_guests += 1;
        }
        let all_dead = poll_until(Duration::from_secs(1), || recorded.iter().all(|&p| dead(p)));
        let survivors: Vec<i32> = recorded.iter().copied().filter(|&p| !dead(p)).collect();
        cleanup_pids(&survivors, "sleep");
        assert!(all_dead, "round {round} (after {delay_ms} ms): guests outlived the supervisor: {survivors:?}");
    }
    assert!(rounds_with_guests >= 4, "the guest trees never got going ({rounds_with_guests} rounds)");
}

#[test]
fn killing_the_supervisor_mid_change_leaves_read_only_and_overlaid_files_unchanged() {
    // Guests keep changing an overlaid tree (every change copies up
    // first, into a private upper made anew each round) and keep trying
    // to change files the view shows read-only (which the guest user owns,
    // so only the view stands in the way); the supervisor is killed with
    // SIGKILL in the middle of it. Afterwards the overlay's source and the
    // read-only files must be exactly as they were.
    let sc = Scratch::new();
    for i in 0..20 {
        sc.write(format!("src/f{i}.txt"), format!("source {i}\n").repeat(200));
        sc.write(format!("src/d{}/g{i}.txt", i % 4), format!("deep {i}\n"));
        sc.write(format!("ro/r{i}.txt"), format!("read-only {i}\n"));
    }
    give_tree_to_guest(sc.path());
    let (src, ro) = (sc.join("src"), sc.join("ro"));
    let before = (exact_snapshot(&src), exact_snapshot(&ro));
    let script = r#"
w=/w; ro=$1
while :; do
  for f in $w/f*.txt $w/d*/g*.txt; do echo x >> $f; chmod 600 $f; touch -d @1 $f; done
  mv $w/f1.txt $w/moved.txt; mv $w/moved.txt $w/f1.txt
  rm -rf $w/d2; mkdir $w/d2; echo new > $w/d2/new.txt
  ln $w/f3.txt $w/link.txt; echo y >> $w/link.txt; rm $w/link.txt
  sed -i s/source/SOURCE/ $w/f5.txt
  for f in $ro/*.txt; do (echo y >> $f; chmod 600 $f; touch -d @1 $f; rm -f $f) 2>/dev/null; done
  echo round >> $2/progress
done
"#;
    let prog = sc.join("prog");
    std::fs::create_dir(&prog).unwrap();
    give_to_guest(&prog);
    let progress = prog.join("progress");
    let mut rounds_busy = 0;
    for (round, delay_ms) in [40u64, 120, 9, 230, 75, 160].into_iter().enumerate() {
        let _ = std::fs::remove_file(&progress);
        let mut r = start(&mut sandbox_raw(
            &sc,
            [
                "--overlay",
                s(&src),
                "/w",
                "--ro-bind",
                s(&ro),
                s(&ro),
                "--bind",
                s(&prog),
                s(&prog),
                "--",
                "sh",
                "-c",
                script,
                "sh",
                s(&ro),
                s(&prog),
            ],
        ));
        // Random within the guests' work, not the sandbox's start-up: once
        // a first round of changes is done, then a different delay.
        if poll_until(Duration::from_secs(20), || std::fs::metadata(&progress).is_ok_and(|m| m.len() > 0)) {
            rounds_busy += 1;
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        kill(r.pid(), libc::SIGKILL);
        let _ = r.try_wait();
        assert_eq!(exact_snapshot(&src), before.0, "round {round} (after {delay_ms} ms): the overlay's source changed");
        assert_eq!(exact_snapshot(&ro), before.1, "round {round} (after {delay_ms} ms): a read-only file changed");
    }
    assert!(rounds_busy >= 4, "the guests were not running when the supervisor was killed ({rounds_busy} rounds)");
}
