//! Attack tests: each test runs a real guest (tests/guests/attack_*.c) that
//! tries to break one property of the sandbox, and asserts what the guest
//! and the host can observe (errno printed by the guest, exit status, /proc)
//! that it failed. Run unprivileged (as nobody when the tests run as root),
//! like every guest.
//!
//! Properties not covered here on purpose: filesystem views and pid
//! virtualization (later issues), except where the supervisor itself is the
//! target (`attack_supervisor_memory_is_out_of_reach`,
//! `attack_frozen_supervisor_cannot_stop_the_clock`): a sandbox whose guest
//! can rewrite or freeze its supervisor enforces nothing.
#![cfg(target_arch = "x86_64")]

mod common;

use std::collections::{BTreeSet, HashMap};
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use common::*;

// ---- helpers ---------------------------------------------------------------

/// The guest's "LABEL RESULT" lines (the result is the last word).
fn results(out: &Out) -> HashMap<String, String> {
    out.out().lines().filter_map(|l| l.rsplit_once(' ')).map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Asserts that every `(label, result)` was printed as expected.
#[track_caller]
fn expect_results(out: &Out, want: &[(&str, &str)]) {
    let got = results(out);
    let wrong: Vec<String> = want
        .iter()
        .filter_map(|(label, exp)| match got.get(*label) {
            Some(r) if r == exp => None,
            Some(r) => Some(format!("{label}: expected {exp}, got {r}")),
            None => Some(format!("{label}: no result printed")),
        })
        .collect();
    assert!(wrong.is_empty(), "the attack was not refused as it should be:\n  {}\n{out:?}", wrong.join("\n  "));
}

/// Runs C guest `name` with `args` under `sandbox-run OPTS` in `sc`.
fn attack(sc: &Scratch, name: &str, opts: &[&str], args: &[&str]) -> Out {
    let g = guest(name);
    let mut argv = vec![s(&g).to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    run(&mut sandboxed(sc, opts, &argv))
}

/// A `--trace=FILE` option writing into the scratch directory.
fn trace_opt(sc: &Scratch) -> String {
    format!("--trace={}", sc.join("trace.txt").display())
}

/// `opts` with "TRACE" replaced by a `--trace=FILE` option and "REPORT" by
/// a report file, both in the scratch directory.
fn with_files(sc: &Scratch, opts: &[&str]) -> Vec<String> {
    opts.iter()
        .map(|o| match *o {
            "TRACE" => trace_opt(sc),
            "REPORT" => sc.join("report.json").display().to_string(),
            o => o.to_string(),
        })
        .collect()
}

/// No untraced child ever ran (see `escapee` in attack_tree.c).
#[track_caller]
fn assert_no_escapee(sc: &Scratch, out: &Out) {
    let escaped = sc.join("escaped.pid");
    let pid = std::fs::read_to_string(&escaped).ok().and_then(|p| p.trim().parse::<i32>().ok());
    if let Some(p) = pid {
        cleanup_pids(&[p], "attack_tree");
    }
    assert!(
        pid.is_none() && !out.out().contains("escapee"),
        "a child escaped the tracer (pid {pid:?}, survived: {})\n{out:?}",
        sc.join("escaped.txt").exists()
    );
}

/// The "LABEL PID" lines of the guest's `pids` file (comments skipped).
fn recorded_pids(sc: &Scratch) -> Vec<(String, i32)> {
    let text = std::fs::read_to_string(sc.join("pids")).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(label, pid)| Some((label.to_string(), pid.trim().parse().ok()?)))
        .collect()
}

/// Polls up to 1 s until none of `pids` is a live `comm` process (zombies
/// count as dead); kills the survivors and fails the test if any is left.
#[track_caller]
fn assert_all_die_within_a_second(pids: &[(String, i32)], comm: &str, what: &str) {
    let raw: Vec<i32> = pids.iter().map(|(_, p)| *p).collect();
    let gone = poll_until(Duration::from_secs(1), || raw.iter().all(|&p| !alive_as(p, comm)));
    let survivors: Vec<&(String, i32)> = pids.iter().filter(|(_, p)| alive_as(*p, comm)).collect();
    let report = format!("{survivors:?}");
    cleanup_pids(&raw, comm);
    assert!(gone, "{what}: guest processes still alive 1 s later: {report} (of {pids:?})");
}

/// Waits (up to `limit`) for a started sandbox-run to exit, without
/// collecting its output.
fn wait_exit(r: &mut Running, limit: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + limit;
    loop {
        if let Some(st) = r.try_wait() {
            return Some(st);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ---- the tracer cannot be escaped ---------------------------------------------

#[test]
fn attack_clone_untraced_is_refused() {
    // clone(2) with CLONE_UNTRACED would create a child the tracer never
    // sees: no EXITKILL, no tree-kill. Every combination, raw, including
    // garbage in the upper half of the flags (the kernel uses the lower).
    // Under every policy that changes how clone is routed: plain, with a
    // notify listener, traced, counted (--max-procs), reported (refusals
    // answered by the supervisor).
    for opts in
        [&[][..], &["--hostname", "box"][..], &["TRACE"][..], &["--max-procs", "50"][..], &["--report", "REPORT"][..]]
    {
        let sc = Scratch::new();
        let opts = with_files(&sc, opts);
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        let out = attack(&sc, "attack_tree", &opts, &["untraced-clone"]);
        out.assert_code(0);
        expect_results(
            &out,
            &[
                ("clone(CLONE_UNTRACED|SIGCHLD)", "EPERM"),
                ("clone(CLONE_UNTRACED)", "EPERM"),
                ("clone(CLONE_UNTRACED|CLONE_PARENT|SIGCHLD)", "EPERM"),
                ("clone(CLONE_UNTRACED|SIGCHLD, high garbage)", "EPERM"),
                ("clone(CLONE_UNTRACED|CLONE_VM|CLONE_VFORK|SIGCHLD)", "EPERM"),
                ("clone(CLONE_UNTRACED|CLONE_VM|CLONE_THREAD|CLONE_SIGHAND)", "EPERM"),
            ],
        );
        assert_no_escapee(&sc, &out);
    }
}

#[test]
fn attack_every_child_is_traced() {
    // fork, a thread, a thread of a child, a grandchild, vfork+exec,
    // posix_spawn, clone without exit signal, CLONE_PARENT (a sibling whose
    // real parent is sandbox-run), clone(CLONE_VM) and a double-forked
    // setsid daemon: each reads its TracerPid, which must be the tracer
    // thread of this sandbox-run.
    let sc = Scratch::new();
    let g = guest("attack_tree");
    let mut r = start(&mut sandboxed(&sc, NO_OPTS, [s(&g), "traced-children"]));
    let sandbox_pid = r.pid();
    let mut seen: HashMap<String, i64> = HashMap::new();
    loop {
        let line = r.read_line();
        if line == "done" {
            break;
        }
        if let Some((label, tracer)) = line.split_once(" tracer ") {
            seen.insert(label.to_string(), tracer.trim().parse().unwrap_or(-2));
        }
    }
    // The guest waits for us while we look at sandbox-run's threads.
    let tracers: BTreeSet<i64> = seen.values().copied().collect();
    let tracer_comm = tracers
        .iter()
        .next()
        .and_then(|t| std::fs::read_to_string(format!("/proc/{sandbox_pid}/task/{t}/comm")).ok())
        .map(|c| c.trim().to_string());
    sc.write("release", "");
    let out = r.wait();
    out.assert_code(0);
    let labels: BTreeSet<&str> = seen.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = [
        "main",
        "thread",
        "fork",
        "thread-of-fork",
        "fork-grandchild",
        "vfork-exec",
        "posix_spawn",
        "clone-no-exit-signal",
        "clone-parent-sibling",
        "clone-vm",
        "daemon",
    ]
    .into_iter()
    .collect();
    assert_eq!(labels, want, "not every kind of child reported\n{out:?}");
    assert_eq!(tracers.len(), 1, "children have different tracers: {seen:?}");
    assert!(tracers.iter().all(|&t| t > 0), "an untraced child: {seen:?}");
    assert_eq!(
        tracer_comm.as_deref(),
        Some("condo-tracer"),
        "TracerPid {tracers:?} is not the tracer thread of sandbox-run {sandbox_pid}"
    );
}

#[test]
fn attack_clone3_never_reaches_the_kernel() {
    // clone3's flags live in memory BPF cannot read (and a second thread
    // could rewrite): every clone3, well-formed or not, is ENOSYS.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_tree", NO_OPTS.as_slice(), &["clone3"]);
    out.assert_code(0);
    expect_results(
        &out,
        &[
            ("clone3(CLONE_UNTRACED)", "ENOSYS"),
            ("clone3(CLONE_NEWUSER)", "ENOSYS"),
            ("clone3(CLONE_NEWTIME|CLONE_NEWNS|CLONE_NEWUSER)", "ENOSYS"),
            ("clone3(plain fork)", "ENOSYS"),
            ("clone3(bad pointer)", "ENOSYS"),
            ("clone3(size 0)", "ENOSYS"),
        ],
    );
    assert_no_escapee(&sc, &out);
}

#[test]
fn attack_new_namespaces_are_refused() {
    // unshare(CLONE_NEWUSER) works natively for an unprivileged user on
    // most kernels (and gives a full set of namespaced capabilities).
    let sc = Scratch::new();
    let out = attack(&sc, "attack_tree", NO_OPTS.as_slice(), &["namespaces"]);
    out.assert_code(0);
    expect_results(
        &out,
        &[
            ("unshare(CLONE_NEWUSER)", "EPERM"),
            ("unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET)", "EPERM"),
            ("unshare(CLONE_NEWUSER, high garbage)", "EPERM"),
            ("setns(own user ns)", "EPERM"),
            ("setns(own net ns)", "EPERM"),
            ("setns(pidfd of self)", "EPERM"),
            ("clone(CLONE_NEWUSER|SIGCHLD)", "EPERM"),
            ("clone(CLONE_NEWNET|CLONE_NEWUSER|SIGCHLD)", "EPERM"),
            ("clone(CLONE_NEWPID|CLONE_NEWUSER|SIGCHLD)", "EPERM"),
            ("clone(CLONE_NEWUSER|SIGCHLD, high garbage)", "EPERM"),
            ("namespaces unchanged", "yes"),
        ],
    );
    assert_no_escapee(&sc, &out);
}

#[test]
fn attack_ptrace_family_is_refused() {
    // Against a sibling guest process and against sandbox-run itself.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_tree", NO_OPTS.as_slice(), &["ptrace"]);
    out.assert_code(0);
    let mut want = vec![
        ("ptrace(PTRACE_TRACEME)", "EPERM"),
        ("ptrace(PTRACE_ATTACH, sibling)", "EPERM"),
        ("ptrace(PTRACE_SEIZE, sibling)", "EPERM"),
        ("ptrace(PTRACE_ATTACH, supervisor)", "EPERM"),
        ("ptrace(PTRACE_SEIZE, supervisor)", "EPERM"),
        ("process_vm_readv(sibling)", "EPERM"),
        ("process_vm_readv(supervisor)", "EPERM"),
        ("process_vm_writev(supervisor)", "EPERM"),
        ("pidfd_getfd(sibling, 1)", "EPERM"),
        ("kcmp(self, supervisor)", "EPERM"),
        ("kcmp(self, sibling)", "EPERM"),
        ("process_madvise(sibling)", "EPERM"),
    ];
    // sandbox-run's own fds 0-2 always exist: the filter must refuse those.
    want.extend([
        ("pidfd_getfd(supervisor, 0)", "EPERM"),
        ("pidfd_getfd(supervisor, 1)", "EPERM"),
        ("pidfd_getfd(supervisor, 2)", "EPERM"),
    ]);
    expect_results(&out, &want);
    // Whatever other fd numbers the guest tried: none was handed over.
    let leaked: Vec<String> = out
        .out()
        .lines()
        .filter(|l| l.starts_with("pidfd_getfd") && !l.ends_with(" EPERM"))
        .map(String::from)
        .collect();
    assert!(leaked.is_empty(), "pidfd_getfd did not fail with EPERM: {leaked:?}");
}

#[test]
fn attack_supervisor_memory_is_out_of_reach() {
    // ptrace and process_vm_writev are denied, but sandbox-run runs as the
    // guest's user: /proc/<supervisor>/mem is an ordinary path open. The
    // guest writes code over the tracer thread's next instruction; the code
    // execs a shell *in the supervisor process* (no filter, no tracer),
    // which records its Seccomp and TracerPid lines in escaped.txt.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_supervisor_mem", NO_OPTS.as_slice(), &[]);
    let escaped = sc.join("escaped.txt");
    poll_until(Duration::from_millis(500), || escaped.exists());
    let escaped_text = std::fs::read_to_string(&escaped).ok();
    assert!(
        escaped_text.is_none(),
        "the guest ran code in the supervisor process, outside the filter:\n{}\n{out:?}",
        escaped_text.unwrap_or_default()
    );
    // Any refusal will do (EACCES from a non-dumpable supervisor, Yama or
    // Landlock; ENOENT from a /proc view), for reading as for writing.
    let text = out.out();
    let mut lines = text.lines();
    let rw = lines.next().unwrap_or_default();
    let ro = lines.next().unwrap_or_default();
    assert!(
        rw.starts_with("open supervisor mem: E") && ro.starts_with("open supervisor mem read-only: E"),
        "the guest could open its supervisor's memory\n{out:?}"
    );
}

// ---- nobody outlives the supervisor ---------------------------------------------

/// The guest SIGKILLs sandbox-run (from the first process, or from a
/// double-forked setsid daemon with its fds closed and every signal
/// ignored); within a second no guest process may be left.
fn supervisor_killed_by(mode: &str) {
    let sc = Scratch::new();
    let g = guest("attack_tree");
    let mut r = start_with_timeout(&mut sandboxed(&sc, NO_OPTS, [s(&g), mode]), Duration::from_secs(30));
    // With Landlock signal scoping (ABI 6+) the guest cannot signal its
    // supervisor at all: then the supervisor is killed from outside, which
    // must end the guest tree just the same.
    let refused = poll_until(Duration::from_secs(10), || {
        std::fs::read_to_string(sc.join("pids")).is_ok_and(|t| t.contains("# kill refused")) || r.try_wait().is_some()
    }) && std::fs::read_to_string(sc.join("pids")).is_ok_and(|t| t.contains("# kill refused"));
    if refused {
        kill(r.pid(), libc::SIGKILL);
    }
    let status = wait_exit(&mut r, Duration::from_secs(20));
    let pids = recorded_pids(&sc);
    let Some(status) = status else {
        let raw: Vec<i32> = pids.iter().map(|(_, p)| *p).collect();
        cleanup_pids(&raw, "attack_tree");
        panic!("sandbox-run was not killed by its guest ({mode}); pids {pids:?}");
    };
    assert_eq!(status.signal(), Some(libc::SIGKILL), "sandbox-run should have died of the guest's SIGKILL");
    let labels: BTreeSet<&str> = pids.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["daemon", "first", "plain-child", "setsid-child"].into_iter().collect(),
        "the guest did not record all its processes: {pids:?}"
    );
    assert_all_die_within_a_second(&pids, "attack_tree", &format!("after the guest killed sandbox-run ({mode})"));
    let _ = r.wait();
}

#[test]
fn attack_guest_kills_supervisor_from_first_process() {
    supervisor_killed_by("kill-supervisor");
}

#[test]
fn attack_guest_kills_supervisor_from_daemonized_grandchild() {
    supervisor_killed_by("daemon-kills-supervisor");
}

#[test]
fn attack_tree_kill_cannot_be_dodged() {
    // When the first process exits, descendants that setsid()ed, changed
    // process group, became subreapers (and orphaned a child into their
    // care), cleared PDEATHSIG, ignore every signal, are stopped, are a
    // vfork parent, have 16 threads, fork as fast as they can, or
    // double-forked into init's care must all die.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_tree", NO_OPTS.as_slice(), &["escape-tree-kill"]);
    let pids = recorded_pids(&sc);
    let labels: BTreeSet<&str> = pids.iter().map(|(l, _)| l.as_str()).collect();
    let want: BTreeSet<&str> = [
        "setsid",
        "pgrp-subreaper",
        "orphan-of-subreaper",
        "stopped",
        "vfork-parent",
        "threads",
        "fork-storm",
        "daemon",
    ]
    .into_iter()
    .collect();
    assert_all_die_within_a_second(&pids, "attack_tree", "after the first process exited");
    assert_eq!(out.code(), 7, "sandbox-run must exit with the first process's status\n{out:?}");
    assert_eq!(labels, want, "the guest did not record all its processes\n{out:?}");
}

// ---- the guest's own seccomp filters ---------------------------------------------

#[test]
fn attack_second_seccomp_listener_is_busy() {
    // A listener of the guest's own would receive the calls its filter
    // notifies; the kernel allows one listener per filter chain.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_tree", &["--hostname", "box"], &["listener"]);
    out.assert_code(0);
    expect_results(
        &out,
        &[
            ("seccomp(NEW_LISTENER)", "EBUSY"),
            ("seccomp(NEW_LISTENER|TSYNC|TSYNC_ESRCH)", "EBUSY"),
            ("seccomp(NEW_LISTENER, uname)", "EBUSY"),
            ("uname after listener attempts", "box"),
            ("uname in a child", "box"),
        ],
    );
}

/// What the own-filter guest must see whatever the options: calls condo
/// denies stay denied, and the supervisor keeps answering.
const OWN_FILTER_SECURITY: [(&str, &str); 8] = [
    ("install own filter", "ok"),
    ("unshare(0) (own TRACE)", "EPERM"),
    ("personality(READ_IMPLIES_EXEC) (own TRACE)", "EPERM"),
    ("process_vm_readv(self) (own TRACE)", "EPERM"),
    ("clone(CLONE_UNTRACED|SIGCHLD) (own TRACE)", "EPERM"),
    ("uname (own TRACE)", "box"),
    ("uname (child after filters)", "box"),
    ("uname (parent after filters)", "box"),
];

#[test]
fn attack_own_seccomp_filters_do_not_confuse_the_supervisor() {
    // The guest stacks a filter returning SECCOMP_RET_TRACE (with data 0)
    // and SECCOMP_RET_USER_NOTIF (no listener). Natively, without a tracer
    // or listener, both give ENOSYS; condo's denials still win; uname
    // still reaches the supervisor; the supervisor lives on.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_tree", &["--hostname", "box"], &["own-filter"]);
    out.assert_code(0);
    let mut want = OWN_FILTER_SECURITY.to_vec();
    want.extend([
        ("getppid (own TRACE)", "ENOSYS"),
        ("getpgrp (own USER_NOTIF)", "ENOSYS"),
        ("uname (own USER_NOTIF)", "ENOSYS"),
    ]);
    expect_results(&out, &want);
    assert_no_escapee(&sc, &out);
    assert!(out.out().lines().any(|l| l.starts_with("child after filters tracer ") && !l.ends_with(" 0")), "{out:?}");
}

#[test]
fn attack_own_trace_filter_cannot_lift_denials_under_trace() {
    // Under --trace condo's filter answers denied calls with
    // SECCOMP_RET_TRACE|errno. The kernel keeps the *first* filter's value
    // among equal actions, i.e. the guest's newer filter: a guest filter
    // returning SECCOMP_RET_TRACE|0 ("log and run") for a denied call must
    // not make it run.
    let sc = Scratch::new();
    let t = trace_opt(&sc);
    let out = attack(&sc, "attack_tree", &["--hostname", "box", t.as_str()], &["own-filter"]);
    out.assert_code(0);
    expect_results(&out, &OWN_FILTER_SECURITY);
    assert_no_escapee(&sc, &out);
}

// ---- the filter holds for every encoding of a call ---------------------------------

/// What the rax-high guest must see: every call refused, nothing typed.
const RAX_HIGH: [(&str, &str); 8] = [
    ("unshare(0)", "EPERM"),
    ("personality(READ_IMPLIES_EXEC)", "EPERM"),
    ("process_vm_readv(self)", "EPERM"),
    ("kcmp(self, self)", "EPERM"),
    ("clone(CLONE_UNTRACED|SIGCHLD)", "EPERM"),
    ("ioctl(TIOCSTI)", "EPERM"),
    ("injected input:", "none"),
    ("unshare(CLONE_NEWUSER)", "EPERM"),
];

#[test]
fn attack_high_rax_bits_cannot_lift_denials() {
    // The kernel runs syscall number (int)rax: garbage in rax[63:32] still
    // names the same call, and BPF sees the same low 32 bits. Every one of
    // these calls succeeds natively.
    for opts in [&[][..], &["--hostname", "box"][..], &["--max-procs", "50"][..], &["--report", "REPORT"][..]] {
        let sc = Scratch::new();
        let opts = with_files(&sc, opts);
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        let out = attack(&sc, "attack_tree", &opts, &["rax-high"]);
        out.assert_code(0);
        expect_results(&out, &RAX_HIGH);
        assert_no_escapee(&sc, &out);
    }
}

#[test]
fn attack_high_rax_bits_cannot_lift_denials_under_trace() {
    // Under --trace the tracer decides at the seccomp stop, from
    // regs.orig_rax: with garbage in the upper half it must still refuse
    // (the filter said TRACE|EPERM for the low 32 bits).
    let sc = Scratch::new();
    let t = trace_opt(&sc);
    let out = attack(&sc, "attack_tree", &[t.as_str()], &["rax-high"]);
    out.assert_code(0);
    expect_results(&out, &RAX_HIGH);
    assert_no_escapee(&sc, &out);
}

#[test]
fn attack_terminal_injection_is_refused() {
    // TIOCSTI into our own controlling terminal (a pty) works natively;
    // musl passes the request as an int, so the upper half of the register
    // may hold anything.
    for opts in [&[][..], &["TRACE"][..], &["--report", "REPORT"][..]] {
        let sc = Scratch::new();
        let opts = with_files(&sc, opts);
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        let out = attack(&sc, "attack_kernel", &opts, &["tty"]);
        out.assert_code(0);
        expect_results(
            &out,
            &[
                ("ioctl(TIOCSTI)", "EPERM"),
                ("ioctl(TIOCSTI, high garbage)", "EPERM"),
                ("ioctl(TIOCSTI, all-ones high half)", "EPERM"),
                ("ioctl(TIOCLINUX)", "EPERM"),
                ("ioctl(TIOCLINUX, high garbage)", "EPERM"),
                ("injected input:", "none"),
            ],
        );
    }
}

#[test]
fn attack_personality_changes_are_refused() {
    let sc = Scratch::new();
    let out = attack(&sc, "attack_kernel", NO_OPTS.as_slice(), &["persona"]);
    out.assert_code(0);
    expect_results(
        &out,
        &[
            ("personality(READ_IMPLIES_EXEC)", "EPERM"),
            ("personality(ADDR_NO_RANDOMIZE)", "EPERM"),
            ("personality(ADDR_NO_RANDOMIZE|ADDR_COMPAT_LAYOUT|MMAP_PAGE_ZERO)", "EPERM"),
            ("personality(PER_LINUX32)", "EPERM"),
            ("personality(UNAME26)", "EPERM"),
            ("personality(READ_IMPLIES_EXEC, high garbage)", "EPERM"),
            ("personality(ADDR_NO_RANDOMIZE, high garbage)", "EPERM"),
            ("persona", "0"),
        ],
    );
}

#[test]
fn attack_foreign_abis_kill_the_process() {
    // Entering the kernel through the i386 ABI (int $0x80 or syscall from
    // the 32-bit code segment, sysenter) or the x32 ABI. The process must
    // die before the call returns: SIGSYS from the filter (159), or
    // SIGILL (132) where the CPU has no such instruction in that mode.
    let sc = Scratch::new();
    let mut wrong = Vec::new();
    for (mode, codes) in [
        ("compat-int80", &[159][..]),
        ("compat-syscall", &[159, 132][..]),
        ("compat-sysenter", &[159, 132][..]),
        ("sysenter", &[159, 132][..]),
        ("x32-unshare", &[159][..]),
    ] {
        let out = attack(&sc, "attack_abi", NO_OPTS.as_slice(), &[mode]);
        if !codes.contains(&out.code()) || out.out() != format!("calling {mode}\n") {
            wrong.push(format!("{mode}: expected death by {codes:?}\n{out:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn attack_kernel_attack_surface_is_closed() {
    // Each of these works natively for an unprivileged user (io_uring,
    // userfaultfd in user mode, a software perf counter on ourselves), or
    // is kernel attack surface (bpf).
    let sc = Scratch::new();
    let out = attack(&sc, "attack_kernel", NO_OPTS.as_slice(), &["surface"]);
    out.assert_code(0);
    expect_results(
        &out,
        &[
            ("io_uring_setup", "ENOSYS"),
            ("io_uring_enter", "ENOSYS"),
            ("io_uring_register", "ENOSYS"),
            ("bpf(BPF_PROG_LOAD)", "EPERM"),
            ("bpf(BPF_MAP_CREATE)", "EPERM"),
            ("userfaultfd(UFFD_USER_MODE_ONLY)", "EPERM"),
            ("perf_event_open(self, task clock)", "EPERM"),
        ],
    );
}

#[test]
fn attack_no_supervisor_fd_reaches_the_guest() {
    // The listener, pidfds, eventfd, control socket, trace file: none may
    // be open in the guest. sandbox-run itself starts with fds 0-2 only.
    for opts in [
        &[][..],
        &["--hostname", "box"][..],
        &["--hostname", "box", "TRACE", "--trace-format", "json"][..],
        &["--report", "REPORT", "--timeout", "30s", "--max-procs", "50", "--memory", "1G"][..],
    ] {
        let sc = Scratch::new();
        let opts = with_files(&sc, opts);
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        let out = attack(&sc, "attack_kernel", &opts, &["fds"]);
        out.assert_code(0);
        let text = out.out();
        let fds: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("fd ")).collect();
        let numbers: Vec<&str> = fds.iter().filter_map(|l| l.split(' ').next()).collect();
        assert_eq!(numbers, ["0", "1", "2"], "the guest has fds it should not have under {opts:?}: {fds:?}\n{out:?}");
    }
}

// ---- the supervisor under stress ------------------------------------------------

#[test]
fn attack_uname_storm_with_vanishing_callers() {
    // 500 threads at once, valid and invalid pointers (NULL, 1, PROT_NONE,
    // read-only, straddling into a read-only page, the vsyscall page);
    // a tenth of them exit mid-storm; meanwhile 6 processes whose threads
    // spin in uname are cut short by an exec from one of their threads and
    // 6 more are SIGKILLed. Every answer must be right (valid: the
    // sandbox's nodename; invalid: EFAULT), the exec'ed programs must see
    // the right nodename, and sandbox-run must exit with the guest's
    // status (42 means "all right").
    let sc = Scratch::new();
    let out = attack(&sc, "attack_storm", &["--hostname", "storm-box"], &["storm", "storm-box"]);
    assert_eq!(
        out.out(),
        "valid 3851/3851 wrong 0 efault 3850/3850 other 0 exec-victims 6/6 kill-victims 6/6\n",
        "{out:?}"
    );
    out.assert_code(42);
}

#[test]
fn attack_uname_into_a_buffer_being_unmapped() {
    // uname into a struct straddling two pages while another thread keeps
    // unmapping them, remapping them, remapping the second read-only: the
    // guest may get 0 or EFAULT, nothing else, and the supervisor lives on.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_storm", &["--hostname", "box"], &["munmap-race", "box"]);
    out.assert_code(0);
    expect_results(&out, &[("other results", "0"), ("nodename", "box")]);
}

#[test]
fn attack_closed_stdio_and_every_classic_signal() {
    // The guest closes fds 0-2, puts /dev/null and a pipe nobody reads in
    // their place, then sends every catchable classic signal (1-31, those
    // glibc lets it handle) to itself three ways, also to a thread that
    // sits in notified unames. Handled with SA_RESTART, uname never fails.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_storm", &["--hostname", "box"], &["chaos", "box"]);
    assert_eq!(out.out(), "signals caught 29/29\nuname in the loop ok yes eintr 0 other 0\nnodename box\n", "{out:?}");
    out.assert_code(37);
}

#[test]
fn attack_realtime_signals_do_not_kill_the_sandbox() {
    // Real-time signals (SIGRTMIN..SIGRTMAX) are ordinary signals to
    // deliver and to die of: glibc uses two of them itself (thread
    // cancellation, set*id in threaded programs), POSIX timers use them.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_storm", &["--hostname", "box"], &["realtime", "box"]);
    let caught = out.out().lines().find_map(|l| l.strip_prefix("real-time signals caught ").map(String::from));
    let all = caught.as_deref().and_then(|c| c.split_once('/')).is_some_and(|(a, b)| a == b && a != "0");
    assert!(
        all && out.code() == 0,
        "real-time signals broke the sandbox: sandbox-run exited {} (137: the tree was SIGKILLed), expected 0\n{out:?}",
        out.code()
    );
    expect_results(&out, &[("child died of", "SIGRTMIN+2"), ("nodename", "box")]);
}

#[test]
fn attack_nondumpable_guest_still_gets_the_sandbox_answer() {
    // prctl(PR_SET_DUMPABLE, 0) forbids other processes of the same user
    // (the supervisor included) to write its memory. The guest must still
    // see the sandbox's hostname, not an error it would never get natively.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_storm", &["--hostname", "box"], &["nondumpable", "box"]);
    out.assert_code(0);
    expect_results(&out, &[("nodename", "box"), ("child nodename", "box")]);
}

// ---- budgets ---------------------------------------------------------------------

#[test]
fn attack_zombies_count_against_max_procs() {
    // A zombie still holds a pid (and counts against RLIMIT_NPROC) until its
    // parent reaps it. The tracer forgets a process when *it* sees the exit,
    // so a guest that never reaps can hold any number of pids: with
    // pid_max at 32768 that is the host's whole pid space.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_budget", &["--max-procs", "10"], &["zombies", "60"]);
    out.assert_code(0);
    let got = results(&out);
    let live: i64 = got.get("live children").and_then(|v| v.parse().ok()).unwrap_or(-1);
    let text = out.out();
    let forked: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("forked "))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(-1);
    assert!(
        (0..=9).contains(&live) && (0..=9).contains(&forked),
        "--max-procs 10 let the guest hold {live} children at once ({forked} forks admitted)\n{out:?}"
    );
}

#[test]
fn attack_memory_outside_rss_counts_against_memory() {
    // 256 MiB written into a memfd that is never mapped: no process has it
    // in its RSS and RLIMIT_DATA does not apply, yet it is the guest's
    // memory for as long as it holds the fd. Under --memory 64M the guest
    // must not get to hold it.
    let sc = Scratch::new();
    let out = attack(&sc, "attack_budget", &["--memory", "64M"], &["memfd", "256"]);
    assert!(
        out.code() != 0 && !out.out().contains("held"),
        "the guest held 256 MiB under --memory 64M (exit {})\n{out:?}",
        out.code()
    );
    assert!(out.err().contains("memory limit of 64 MiB"), "stopped, but not for its memory:\n{out:?}");
}

#[test]
fn attack_frozen_supervisor_cannot_stop_the_clock() {
    // The guest runs as the supervisor's user and knows its pid
    // (getppid): it SIGSTOPs sandbox-run -- monitor, tracer and all -- and
    // keeps running past its --timeout. (It resumes the supervisor after
    // 3 s so the run ends; a real attacker would not.)
    let sc = Scratch::new();
    let g = guest("attack_budget");
    let mut r = start_with_timeout(
        &mut sandboxed(&sc, ["--timeout", "1s", "--kill-after", "200ms"], [s(&g), "freeze"]),
        Duration::from_secs(30),
    );
    let pid = r.pid();
    let status = wait_exit(&mut r, Duration::from_secs(8));
    if status.is_none() {
        // Still frozen: let it go so the test can end.
        // SAFETY: kill(2) with plain integers.
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }
    let out = r.wait();
    let outlived = sc.join("outlived").exists();
    assert!(
        !outlived && out.code() == 124,
        "the guest froze its supervisor and ran past --timeout 1s (outlived: {outlived}, exit {})\n{out:?}",
        out.code()
    );
}

#[test]
fn attack_memory_in_a_barely_mapped_memfd_counts_against_memory() {
    // One page of the memfd mapped, 300 MiB written into it with write(2):
    // only the page is in any RSS. A review found the whole memfd skipped
    // because its holder mapped some of it.
    let sc = Scratch::new();
    let script = "import os, mmap, time\n\
                  fd = os.memfd_create('x'); os.ftruncate(fd, 4096)\n\
                  m = mmap.mmap(fd, 4096); m[0] = 1\n\
                  os.lseek(fd, 4096, 0)\n\
                  for i in range(300): os.write(fd, b'z' * (1 << 20))\n\
                  time.sleep(1.5)\n\
                  print('held')\n";
    let out = run(&mut sandboxed(&sc, ["--memory", "128M"], ["python3", "-c", script]));
    assert!(out.code() != 0 && !out.out().contains("held"), "the guest held 300 MiB under --memory 128M\n{out:?}");
    assert!(out.err().contains("memory limit of 128 MiB"), "{out:?}");
}
