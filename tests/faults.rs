//! Bad guest input to intercepted calls: NULL, unmapped, read-only,
//! unterminated (ending at a page followed by a PROT_NONE page) and 1 MiB
//! pointers/strings. The guest must get exactly the kernel's answer (EFAULT,
//! ENAMETOOLONG, E2BIG) and the supervisor must live on: a normal uname
//! afterwards is still answered.

mod common;

use common::*;

const UNAME_LINES: &str = "\
uname(NULL) = EFAULT
uname((void *)1) = EFAULT
uname(unmapped) = EFAULT
uname(read-only page) = EFAULT
uname(straddling a PROT_NONE page) = EFAULT
uname(kernel address) = EFAULT
uname(valid) = ok
";

const PATH_LINES: &str = "\
openat(NULL) = EFAULT
openat(unmapped) = EFAULT
openat(unterminated) = EFAULT
openat(1 MiB) = ENAMETOOLONG
open(unterminated) = EFAULT
newfstatat(unterminated) = EFAULT
newfstatat(1 MiB) = ENAMETOOLONG
newfstatat(\"/\", unmapped buffer) = EFAULT
stat(unterminated) = EFAULT
stat(1 MiB) = ENAMETOOLONG
readlink(unterminated) = EFAULT
chdir(unterminated) = EFAULT
chdir(1 MiB) = ENAMETOOLONG
execve(NULL) = EFAULT
execve(unmapped) = EFAULT
execve(unterminated) = EFAULT
execve(1 MiB) = ENAMETOOLONG
execve(/bin/true, argv unmapped) = EFAULT
execve(/bin/true, unterminated argument) = EFAULT
execve(/bin/true, 1 MiB argument) = E2BIG
execve(/bin/true, envp unmapped) = EFAULT
uname(valid) = ok
";

fn host_nodename() -> String {
    let sc = Scratch::new();
    let out = run(&mut native(&sc, ["uname", "-n"]));
    out.assert_code(0);
    out.out().trim_end().to_string()
}

/// Runs the badptr guest in `mode` natively and under sandbox-run `opts`;
/// both must print `expected` (then the nodename line: the host's natively,
/// `nodename` in the sandbox) and exit 0.
fn check(mode: &str, opts: &[&str], sc: &Scratch, expected: &str, nodename: &str) -> Out {
    let g = guest("badptr");
    let n = run(&mut native(sc, [s(&g), mode]));
    n.assert_code(0);
    assert_eq!(n.out(), format!("{expected}nodename {}\n", host_nodename()), "the native run:\n{n:?}");
    let out = run(&mut sandboxed(sc, opts, [s(&g), mode]));
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(out.out(), format!("{expected}nodename {nodename}\n"), "{out:?}");
    out
}

#[test]
fn uname_with_bad_pointers_under_hostname() {
    let sc = Scratch::new();
    check("uname", &["--hostname", "box"], &sc, UNAME_LINES, "box");
}

#[test]
fn paths_with_bad_pointers_under_hostname() {
    let sc = Scratch::new();
    check("paths", &["--hostname", "box"], &sc, PATH_LINES, "box");
}

#[test]
fn bad_pointers_under_text_trace() {
    let sc = Scratch::new();
    let trace = sc.join("trace.txt");
    let opt = format!("--trace={}", trace.display());
    let all = format!("{UNAME_LINES}{PATH_LINES}").replacen("uname(valid) = ok\n", "", 1);
    check("all", &[opt.as_str()], &sc, &all, &host_nodename());
    let text = std::fs::read_to_string(&trace).expect("the trace file exists");
    assert!(text.contains("EFAULT"), "no EFAULT in the trace:\n{text}");
    assert!(text.contains("ENAMETOOLONG"), "no ENAMETOOLONG in the trace:\n{text}");
    assert!(text.contains("E2BIG"), "no E2BIG in the trace:\n{text}");
    assert!(text.contains("uname("), "no uname in the trace:\n{text}");
}

#[test]
fn bad_pointers_under_json_trace_and_hostname() {
    let sc = Scratch::new();
    let trace = sc.join("trace.json");
    let opt = format!("--trace={}", trace.display());
    let all = format!("{UNAME_LINES}{PATH_LINES}").replacen("uname(valid) = ok\n", "", 1);
    check("all", &["--hostname", "box", opt.as_str(), "--trace-format", "json"], &sc, &all, "box");
    let lines = parse_json_trace(&trace);
    let count = |sys: &str, errno: &str| {
        lines.iter().filter(|l| l.syscall == sys && l.errno.as_deref() == Some(errno) && l.result == Some(-1)).count()
    };
    // uname: six bad pointers, answered by the supervisor.
    let bad_unames: Vec<_> = lines.iter().filter(|l| l.syscall == "uname" && l.errno.is_some()).collect();
    assert_eq!(bad_unames.len(), 6, "uname failures in the trace: {bad_unames:#?}");
    assert!(bad_unames.iter().all(|l| l.path == "notify" && l.errno.as_deref() == Some("EFAULT")), "{bad_unames:#?}");
    let good_unames = lines.iter().filter(|l| l.syscall == "uname" && l.result == Some(0)).count();
    assert!(good_unames >= 1, "the final uname is not in the trace");
    assert_eq!(count("openat", "EFAULT"), 3, "openat EFAULT lines");
    assert_eq!(count("openat", "ENAMETOOLONG"), 1, "openat ENAMETOOLONG lines");
    assert_eq!(count("newfstatat", "ENAMETOOLONG"), 1);
    assert_eq!(count("stat", "ENAMETOOLONG"), 1);
    assert_eq!(count("execve", "EFAULT"), 6);
    assert_eq!(count("execve", "ENAMETOOLONG"), 1);
    assert_eq!(count("execve", "E2BIG"), 1);
    // The guest ran to its end: its exit is traced.
    assert!(lines.iter().any(|l| l.syscall == "exit_group"), "no exit_group in the trace");
}

#[test]
fn hostname_survives_a_storm_of_bad_unames() {
    // Many processes hammering the supervisor with bad pointers at once.
    let sc = Scratch::new();
    let g = guest("badptr");
    let script = format!(
        "for i in 1 2 3 4 5 6 7 8; do {g} uname > out.$i & done; wait; cat out.* | sort | uniq -c | sed 's/^ *//'",
        g = s(&g)
    );
    let out = run(&mut sandboxed(&sc, ["--hostname", "box"], ["sh", "-c", &script]));
    out.assert_code(0);
    let mut expected: Vec<String> = UNAME_LINES.lines().chain(["nodename box"]).map(|l| format!("8 {l}")).collect();
    expected.sort();
    let mut got: Vec<String> = out.out().lines().map(String::from).collect();
    got.sort();
    assert_eq!(got, expected, "{out:?}");
}
