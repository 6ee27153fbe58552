//! Limits: each one exceeded by a real guest, with the exit status and the
//! reason in the report (issue: limits, reports and resilience).

mod common;

use std::path::Path;

use common::*;

/// Reads the JSON report through python3 (the suite's JSON parser) and
/// returns `field` as Python prints it.
fn report_field(report: &Path, field: &str) -> String {
    let out = std::process::Command::new("python3")
        .args(["-c", "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(json.dumps(v))"])
        .arg(report)
        .arg(field)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "report is not valid JSON with {field}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn num(report: &Path, field: &str) -> f64 {
    report_field(report, field).parse().unwrap_or_else(|_| panic!("{field} is not a number"))
}

#[test]
fn timeout_stops_an_infinite_loop_with_124() {
    let sc = Scratch::new();
    let o = run(&mut sandboxed(&sc, ["--timeout", "1s", "--report", "r.json"], ["sh", "-c", "while :; do :; done"]));
    o.assert_code(124);
    assert!(o.err().contains("time limit"), "{o:?}");
    let r = sc.join("r.json");
    assert_eq!(report_field(&r, "limit"), "\"timeout\"");
    assert_eq!(report_field(&r, "signal"), "\"SIGTERM\"");
    assert!(num(&r, "wall_seconds") >= 0.95, "stopped before its time");
}

#[test]
fn timeout_kills_a_guest_that_ignores_sigterm() {
    let sc = Scratch::new();
    let o = run(&mut sandboxed(
        &sc,
        ["--timeout", "300ms", "--kill-after", "300ms", "--report", "r.json"],
        ["sh", "-c", "trap '' TERM; while :; do :; done"],
    ));
    o.assert_code(124);
    assert_eq!(report_field(&sc.join("r.json"), "signal"), "\"SIGKILL\"");
}

#[test]
fn timeout_reaches_every_process_of_the_tree() {
    let sc = Scratch::new();
    // Background sleepers in their own session: TERM must reach them too.
    let o = run(&mut sandboxed(
        &sc,
        ["--timeout", "500ms"],
        ["sh", "-c", "setsid sh -c 'trap \"echo child got TERM; exit 0\" TERM; sleep 20 & wait' & sleep 20; wait"],
    ));
    o.assert_code(124);
    assert!(o.out().contains("child got TERM"), "{o:?}");
}

#[test]
fn cpu_time_is_summed_over_the_tree() {
    let sc = Scratch::new();
    // Four busy processes: each alone stays under the budget (and under
    // RLIMIT_CPU), together they exceed it.
    let o = run(&mut sandboxed(
        &sc,
        ["--cpu-time", "1s", "--report", "r.json"],
        ["sh", "-c", "for i in 1 2 3 4; do (while :; do :; done) & done; wait"],
    ));
    o.assert_code(137);
    assert!(o.err().contains("CPU time limit"), "{o:?}");
    let r = sc.join("r.json");
    assert_eq!(report_field(&r, "limit"), "\"cpu-time\"");
    assert!(num(&r, "cpu_seconds") >= 1.0, "cpu {}", num(&r, "cpu_seconds"));
    assert!(num(&r, "peak_tasks") >= 5.0);
}

#[test]
fn memory_hog_in_twenty_processes_is_stopped_at_the_tree_limit() {
    let sc = Scratch::new();
    let g = guest("limit_hog");
    // 20 x 40 MiB = 800 MiB wanted; each process alone stays under 128 MiB.
    let o = run(&mut sandboxed(&sc, ["--memory", "128M", "--report", "r.json"], [s(&g), "20", "40"]));
    o.assert_code(137);
    assert!(!o.out().contains("hog finished"), "{o:?}");
    assert!(o.err().contains("memory limit of 128 MiB"), "{o:?}");
    let r = sc.join("r.json");
    assert_eq!(report_field(&r, "limit"), "\"memory\"");
    assert!(num(&r, "peak_memory_bytes") > 128.0 * 1048576.0);
}

#[test]
fn shell_fork_bomb_is_held_at_max_procs() {
    let sc = Scratch::new();
    let o = run(&mut sandboxed(
        &sc,
        ["--max-procs", "40", "--timeout", "2s", "--report", "r.json"],
        ["bash", "-c", ":(){ :|:& };:; sleep 10"],
    ));
    o.assert_code(124);
    assert!(o.err().contains("Resource temporarily unavailable"), "{o:?}");
    let r = sc.join("r.json");
    let peak = num(&r, "peak_tasks");
    assert!(peak <= 40.0, "peak {peak} tasks over a limit of 40");
    assert!(peak >= 30.0, "the bomb never got going: {peak}");
}

#[test]
fn c_fork_bomb_with_clone3_is_held_at_max_procs() {
    let sc = Scratch::new();
    let g = guest("limit_forkbomb");
    let o = run(&mut sandboxed(&sc, ["--max-procs", "25", "--timeout", "1500ms", "--report", "r.json"], [s(&g)]));
    o.assert_code(124);
    assert_eq!(o.out(), "clone3: ENOSYS\n");
    let peak = num(&sc.join("r.json"), "peak_tasks");
    assert!((20.0..=25.0).contains(&peak), "peak {peak} tasks, limit 25");
}

#[test]
fn threads_count_against_max_procs() {
    let sc = Scratch::new();
    let g = guest("limit_threads");
    let o = run(&mut sandboxed(&sc, ["--max-procs", "10"], [s(&g), "50"]));
    o.assert_code(0);
    assert_eq!(o.out(), "threads 9, stopped by EAGAIN\n");
    // Without the limit all 50 start.
    let o = run(&mut sandboxed(&sc, NO_OPTS, [s(&g), "50"]));
    assert_eq!(o.out(), "threads 50, stopped by nothing\n");
}

#[test]
fn max_files_limits_open_descriptors() {
    let sc = Scratch::new();
    let script = "import os\nfs=[]\ntry:\n    while True: fs.append(open('/dev/null'))\nexcept OSError as e: print(len(fs), e.strerror)";
    let o = run(&mut sandboxed(&sc, ["--max-files", "16"], ["python3", "-c", script]));
    o.assert_code(0);
    // 16 minus stdin/stdout/stderr.
    assert_eq!(o.out(), "13 Too many open files\n");
}

#[test]
fn max_file_size_stops_a_disk_filler() {
    let sc = Scratch::new();
    let o = run(&mut sandboxed(
        &sc,
        ["--max-file-size", "1M"],
        ["sh", "-c", "head -c 5000000 /dev/zero > big; echo status $?; wc -c < big"],
    ));
    o.assert_code(0);
    // head is killed by SIGXFSZ at the limit (128 + 25).
    assert_eq!(o.out(), "status 153\n1048576\n");
}

#[test]
fn report_dash_prints_a_summary_on_stderr() {
    let sc = Scratch::new();
    let o = run(&mut sandboxed(&sc, ["--report", "-", "--hostname", "box"], ["sh", "-c", "uname -n; exit 7"]));
    o.assert_code(7);
    assert_eq!(o.out(), "box\n");
    assert!(o.err().contains("sandbox: exited with 7"), "{o:?}");
    // Path calls are answered in the view too; uname is among the counts.
    assert!(o.err().contains("answered by the supervisor: "), "{o:?}");
    assert!(o.err().contains("uname 1"), "{o:?}");
}

#[test]
fn report_without_limits_has_every_field() {
    let sc = Scratch::new();
    let o = run(&mut sandboxed(&sc, ["--report", "r.json"], ["sh", "-c", "true | true; exit 3"]));
    o.assert_code(3);
    let r = sc.join("r.json");
    assert_eq!(report_field(&r, "exit_code"), "3");
    assert_eq!(report_field(&r, "limit"), "null");
    assert!(num(&r, "tasks") >= 3.0);
    assert!(num(&r, "cpu_seconds") >= 0.0);
    assert!(num(&r, "wall_seconds") > 0.0);
}

#[test]
fn bad_limit_values_are_usage_errors() {
    let sc = Scratch::new();
    for args in [
        &["--timeout", "0s", "true"][..],
        &["--timeout", "soon", "true"],
        &["--memory", "1Q", "true"],
        &["--memory", "10K", "true"],
        &["--max-procs", "0", "true"],
        &["--max-procs", "-3", "true"],
        &["--max-files", "1", "true"],
        &["--kill-after", "1s", "true"],
        &["--report", "/nonexistent-dir/r.json", "true"],
    ] {
        let o = run(&mut sandbox_raw(&sc, args));
        assert_eq!(o.code(), 2, "{args:?}: {o:?}");
        assert!(o.err().contains("Usage") || o.err().contains("cannot write the report"), "{args:?}: {o:?}");
    }
}

#[test]
fn report_lists_denied_operations_with_process_and_reason() {
    let sc = Scratch::new();
    let script = "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n\
                  for nr in (165, 272, 101):\n    r = libc.syscall(nr, 0, 0, 0, 0, 0)\n    print(nr, r, os.strerror(ctypes.get_errno()))\n\
                  r = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)\n\
                  print('clone', r, os.strerror(ctypes.get_errno()))\n\
                  print('pid', os.getpid())";
    let o = run(&mut sandboxed(&sc, ["--report", "r.json"], ["python3", "-c", script]));
    o.assert_code(0);
    let out = o.out();
    assert!(out.contains("165 -1 Operation not permitted"), "{out}");
    let pid = out.lines().last().and_then(|l| l.strip_prefix("pid ")).expect("pid line").to_string();
    let r = sc.join("r.json");
    let denied = report_field(&r, "denied");
    // mount (165), unshare (272), ptrace (101), each by the python process.
    for (name, why) in
        [("mount", "mounts are the sandbox's"), ("unshare", "no new namespaces"), ("ptrace", "guests may not trace")]
    {
        let entry = format!("{{\"syscall\": \"{name}\", \"pid\": {pid}, \"errno\": \"EPERM\", \"why\": \"{why}\"}}");
        assert!(denied.contains(&entry), "{entry} not in {denied}");
    }
    assert_eq!(report_field(&r, "denied_total"), "4");
}

#[test]
fn disk_filler_is_held_at_the_budget_with_edquot() {
    // A disk filler writes 50 MiB into its workspace under --disk 8M: the
    // writes past the budget fail with EDQUOT, the file holds no more than
    // the budget, the report says disk, and removing files gives the room
    // back.
    let sc = Scratch::new();
    let script = "head -c 52428800 /dev/zero > fill; echo \"head $?\"; wc -c < fill; \
                  rm fill; head -c 4194304 /dev/zero > again && echo again-ok; \
                  head -c 4194304 /dev/zero > /tmp/t && echo tmp-ok; \
                  head -c 4194304 /dev/zero > third; echo \"third $?\"";
    let o = run(&mut sandboxed(&sc, ["--disk", "8M", "--report", "r.json"], ["sh", "-c", script]));
    o.assert_code(0);
    let out = o.out();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "head 1", "{o:?}");
    let kept: u64 = lines[1].trim().parse().unwrap();
    assert!(kept <= 8 << 20 && kept > 7 << 20, "the filler kept {kept} bytes under an 8 MiB budget\n{o:?}");
    // 4 MiB in the workspace and 4 MiB in the private /tmp: the budget
    // spans every writable mount, so the third 4 MiB does not fit.
    assert_eq!(&lines[2..], ["again-ok", "tmp-ok", "third 1"], "{o:?}");
    assert!(o.err().contains("Disk quota exceeded"), "the guest saw EDQUOT\n{o:?}");
    assert!(o.err().contains("disk limit of 8 MiB reached"), "{o:?}");
    let r = sc.join("r.json");
    assert_eq!(report_field(&r, "limit"), "\"disk\"");
    assert!(std::fs::metadata(sc.join("third")).unwrap().len() < 4 << 20);
}

#[test]
fn disk_budget_covers_every_call_that_grows_a_file() {
    // pwrite, writev, pwritev, ftruncate, fallocate, truncate(2),
    // sendfile, copy_file_range: each refused when it would pass a 1 MiB
    // budget, each allowed when it fits; a rewrite in place adds nothing.
    let sc = Scratch::new();
    sc.write("src.bin", vec![7u8; 2 << 20]);
    let script = PY_TRY.to_owned()
        + r#"
M = 1 << 20
fd = os.open('f', os.O_RDWR | os.O_CREAT, 0o644)
t('pwrite-fits', lambda: os.pwrite(fd, b'x' * 1000, 0))
t('pwrite-far', lambda: os.pwrite(fd, b'x', 2 * M))
t('writev-big', lambda: os.writev(fd, [b'y' * M, b'y' * 10]))
t('pwritev-far', lambda: os.pwritev(fd, [b'z'], 3 * M))
t('ftruncate-big', lambda: os.ftruncate(fd, 2 * M))
t('fallocate-big', lambda: os.posix_fallocate(fd, 0, 2 * M))
t('truncate-path', lambda: os.truncate('f', 2 * M))
t('rewrite-in-place', lambda: os.pwrite(fd, b'w' * 1000, 0))
src = os.open('src.bin', os.O_RDONLY)
out = os.open('g', os.O_WRONLY | os.O_CREAT, 0o644)
t('sendfile-big', lambda: os.sendfile(out, src, 0, 2 * M))
t('copy_file_range-big', lambda: os.copy_file_range(src, out, 2 * M, 0, 0))
t('ftruncate-fits', lambda: os.ftruncate(fd, M // 2))
print(os.stat('f').st_size, os.stat('g').st_size)
"#;
    let o = run(&mut sandboxed(&sc, ["--disk", "1M"], ["python3", "-c", &script]));
    o.assert_code(0);
    assert_eq!(
        o.out(),
        "pwrite-fits ok\npwrite-far EDQUOT\nwritev-big EDQUOT\npwritev-far EDQUOT\nftruncate-big EDQUOT\n\
         fallocate-big EDQUOT\ntruncate-path EDQUOT\nrewrite-in-place ok\nsendfile-big EDQUOT\n\
         copy_file_range-big EDQUOT\nftruncate-fits ok\n524288 0\n",
        "{o:?}"
    );
}

#[test]
fn disk_budget_counts_overlay_copies_and_not_the_callers_redirections() {
    // An overlay's copy-up adds the whole file to the upper layer; output
    // the caller redirects outside the view's writable mounts is the
    // caller's, not the guest's, and is not counted.
    let sc = Scratch::new();
    sc.write("src/big.dat", vec![1u8; 3 << 20]);
    sc.write("src/small.txt", "small\n");
    give_tree_to_guest(sc.path());
    let out_file = sc.join("redirected.out");
    let script = "echo more >> /w/small.txt && echo small-ok; \
                  echo more >> /w/big.dat; echo \"big $?\"; head -c 3145728 /dev/zero; true";
    // The caller's shell makes the redirection, as on a command line.
    let mut c = as_guest_user(sc.path(), "sh");
    c.args(["-c", "\"$@\" > \"$OUT\"", "sh", s(sandbox_run())]);
    c.args(["--disk", "2M", "--overlay", s(&sc.join("src")), "/w", "--", "sh", "-c", script]);
    c.env("OUT", &out_file);
    let o = run(&mut c);
    o.assert_code(0);
    // dash's echo reports any write error as an I/O error.
    assert!(o.err().contains("disk limit of 2 MiB reached"), "appending to a 3 MiB source file copies it up\n{o:?}");
    let text = std::fs::read(&out_file).unwrap();
    assert!(text.starts_with(b"small-ok\nbig 1\n"), "{:?}", String::from_utf8_lossy(&text[..text.len().min(40)]));
    assert_eq!(text.len(), "small-ok\nbig 1\n".len() + (3 << 20), "the caller's redirection is not counted");
}

#[test]
fn disk_budget_lets_cp_copy_within_it() {
    // coreutils cp asks copy_file_range for 2^63 bytes at once; only what
    // the source has left can grow the copy (a review found every cp
    // failing under --disk).
    let sc = Scratch::new();
    sc.write("a", vec![5u8; 100_000]);
    let o = run(&mut sandboxed(&sc, ["--disk", "10M"], ["sh", "-c", "cp a b && cmp a b && echo copied"]));
    o.assert_code(0);
    assert_eq!(o.out(), "copied\n", "{o:?}");
}

#[test]
fn disk_budget_counts_removed_files_while_they_are_held_open() {
    // Write, remove, keep the fd, again: the removed files still hold
    // their room (a review held 20 MiB under --disk 1M this way), until
    // they are closed.
    let sc = Scratch::new();
    let script = r#"
import os, errno
M = 1 << 20
held = []
for i in range(5):
    p = 'f%d' % i
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b'x' * M); print('wrote', i)
    except OSError as e:
        print('refused', i, errno.errorcode[e.errno]); break
    os.unlink(p); held.append(fd)
for fd in held: os.close(fd)
fd = os.open('after', os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b'y' * M); print('room back')
"#;
    let o = run(&mut sandboxed(&sc, ["--disk", "2M"], ["python3", "-c", script]));
    o.assert_code(0);
    assert_eq!(o.out(), "wrote 0\nwrote 1\nrefused 2 EDQUOT\nroom back\n", "{o:?}");
}

#[test]
fn memory_of_a_mapped_memfd_is_counted_once() {
    // 100 MiB in a memfd, mapped and touched, under --memory 160M: its
    // pages are in the RSS, and must not count again as a held memfd.
    let sc = Scratch::new();
    let script = "import os, mmap, time\n\
                  fd = os.memfd_create('m'); os.ftruncate(fd, 100 << 20)\n\
                  m = mmap.mmap(fd, 100 << 20)\n\
                  for i in range(0, 100 << 20, 4096): m[i] = 1\n\
                  time.sleep(0.5)\n\
                  print('mapped ok')\n";
    let o = run(&mut sandboxed(&sc, ["--memory", "160M"], ["python3", "-c", script]));
    o.assert_code(0);
    assert_eq!(o.out(), "mapped ok\n", "{o:?}");
}
