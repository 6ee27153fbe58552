//! Denied system calls: each gets its documented errno, and the JSON trace
//! proves the filter (not the kernel) refused it ("path":"denied") -- many
//! of these calls also fail natively for an unprivileged user. Foreign ABIs
//! (x32, int $0x80) kill the guest with SIGSYS.
#![cfg(target_arch = "x86_64")]

mod common;

use std::collections::HashMap;

use common::*;
use libc::c_long;

/// One call: label (unique), syscall name as the trace spells it, number,
/// arguments (see tests/guests/syscalls.c), expected result ("ok" or an
/// errno name), and whether the filter refuses it (else it runs natively).
struct Call {
    label: String,
    name: &'static str,
    nr: c_long,
    args: Vec<String>,
    expect: &'static str,
    denied: bool,
}

fn call(label: &str, name: &'static str, nr: c_long, args: &[&str], expect: &'static str) -> Call {
    Call {
        label: label.to_string(),
        name,
        nr,
        args: args.iter().map(|a| a.to_string()).collect(),
        expect,
        denied: expect != "ok",
    }
}

fn allowed(label: &str, name: &'static str, nr: c_long, args: &[&str], expect: &'static str) -> Call {
    Call { denied: false, ..call(label, name, nr, args, expect) }
}

const CHLD: u64 = libc::SIGCHLD as u64;

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

/// The documented list, one by one.
fn documented_calls() -> Vec<Call> {
    use libc::*;
    let eperm = |name: &'static str, nr: c_long| call(name, name, nr, &[], "EPERM");
    let mut v = vec![
        eperm("mount", SYS_mount),
        eperm("umount2", SYS_umount2),
        eperm("pivot_root", SYS_pivot_root),
        eperm("chroot", SYS_chroot),
        // unshare(0) is a harmless no-op natively: only the filter fails it.
        call("unshare(0)", "unshare", SYS_unshare, &["0"], "EPERM"),
        call("unshare(CLONE_NEWUSER)", "unshare", SYS_unshare, &[&hex(CLONE_NEWUSER as u64)], "EPERM"),
        call("setns", "setns", SYS_setns, &["devnull", "0"], "EPERM"),
        call("ptrace(PTRACE_TRACEME)", "ptrace", SYS_ptrace, &["0"], "EPERM"),
        eperm("bpf", SYS_bpf),
        eperm("userfaultfd", SYS_userfaultfd),
        eperm("perf_event_open", SYS_perf_event_open),
        eperm("kexec_load", SYS_kexec_load),
        eperm("kexec_file_load", SYS_kexec_file_load),
        eperm("reboot", SYS_reboot),
        eperm("init_module", SYS_init_module),
        eperm("finit_module", SYS_finit_module),
        eperm("delete_module", SYS_delete_module),
        eperm("swapon", SYS_swapon),
        eperm("swapoff", SYS_swapoff),
        eperm("open_by_handle_at", SYS_open_by_handle_at),
        eperm("keyctl", SYS_keyctl),
        eperm("add_key", SYS_add_key),
        eperm("request_key", SYS_request_key),
        eperm("fsopen", SYS_fsopen),
        eperm("fsmount", SYS_fsmount),
        eperm("fspick", SYS_fspick),
        eperm("move_mount", SYS_move_mount),
        eperm("open_tree", SYS_open_tree),
        eperm("mount_setattr", SYS_mount_setattr),
        // Reading one's own memory or comparing one's own fds succeeds
        // natively: only the filter fails these.
        call(
            "process_vm_readv(self)",
            "process_vm_readv",
            SYS_process_vm_readv,
            &["pid", "0", "0", "0", "0", "0"],
            "EPERM",
        ),
        call(
            "process_vm_writev(self)",
            "process_vm_writev",
            SYS_process_vm_writev,
            &["pid", "0", "0", "0", "0", "0"],
            "EPERM",
        ),
        eperm("pidfd_getfd", SYS_pidfd_getfd),
        call("kcmp(self, self)", "kcmp", SYS_kcmp, &["pid", "pid", "0", "1", "1"], "EPERM"),
        eperm("sethostname", SYS_sethostname),
        eperm("setdomainname", SYS_setdomainname),
        eperm("acct", SYS_acct),
        eperm("settimeofday", SYS_settimeofday),
        eperm("clock_settime", SYS_clock_settime),
        // iopl(0) and modify_ldt(0, ...) (read) succeed natively.
        call("iopl(0)", "iopl", SYS_iopl, &["0"], "EPERM"),
        eperm("ioperm", SYS_ioperm),
        call("modify_ldt(read)", "modify_ldt", SYS_modify_ldt, &["0", "buf", "16"], "EPERM"),
        call("syslog(SIZE_BUFFER)", "syslog", SYS_syslog, &["10"], "EPERM"),
        eperm("vhangup", SYS_vhangup),
        call("io_uring_setup", "io_uring_setup", SYS_io_uring_setup, &["8", "buf"], "ENOSYS"),
        call("io_uring_enter", "io_uring_enter", SYS_io_uring_enter, &[], "ENOSYS"),
        call("io_uring_register", "io_uring_register", SYS_io_uring_register, &[], "ENOSYS"),
        call("clone3", "clone3", SYS_clone3, &["buf", "88"], "ENOSYS"),
        call(
            "personality(ADDR_NO_RANDOMIZE)",
            "personality",
            SYS_personality,
            &[&hex(ADDR_NO_RANDOMIZE as u64)],
            "EPERM",
        ),
        call(
            "personality(READ_IMPLIES_EXEC)",
            "personality",
            SYS_personality,
            &[&hex(READ_IMPLIES_EXEC as u64)],
            "EPERM",
        ),
        allowed("personality(0xffffffff)", "personality", SYS_personality, &["0xffffffff"], "ok"),
        allowed("personality(0)", "personality", SYS_personality, &["0"], "ok"),
        call("ioctl(TIOCSTI)", "ioctl", SYS_ioctl, &["devnull", &hex(TIOCSTI), "buf"], "EPERM"),
        call("ioctl(TIOCLINUX)", "ioctl", SYS_ioctl, &["devnull", &hex(TIOCLINUX), "buf"], "EPERM"),
        allowed("ioctl(TCGETS)", "ioctl", SYS_ioctl, &["devnull", &hex(TCGETS), "buf"], "ENOTTY"),
        allowed("clone(SIGCHLD)", "clone", SYS_clone, &[&hex(CHLD)], "ok"),
    ];
    for (flag, name) in [
        (CLONE_NEWUSER as u64, "CLONE_NEWUSER"),
        (CLONE_NEWNS as u64, "CLONE_NEWNS"),
        (CLONE_NEWPID as u64, "CLONE_NEWPID"),
        (CLONE_NEWNET as u64, "CLONE_NEWNET"),
        (CLONE_NEWUTS as u64, "CLONE_NEWUTS"),
        (CLONE_NEWIPC as u64, "CLONE_NEWIPC"),
        (CLONE_NEWCGROUP as u64, "CLONE_NEWCGROUP"),
        (CLONE_UNTRACED as u64, "CLONE_UNTRACED"),
    ] {
        v.push(call(&format!("clone({name}|SIGCHLD)"), "clone", SYS_clone, &[&hex(flag | CHLD)], "EPERM"));
    }
    v
}

fn specs(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            let mut s = format!("{}:{}", c.label, c.nr);
            for a in &c.args {
                s.push(':');
                s.push_str(a);
            }
            s
        })
        .collect()
}

/// Runs the syscalls guest with `calls` and checks each printed result.
fn run_calls(calls: &[Call], opts: &[&str], sc: &Scratch) -> Out {
    let g = guest("syscalls");
    let mut argv = vec![s(&g).to_string()];
    argv.extend(specs(calls));
    let out = run(&mut sandboxed(sc, opts, &argv));
    assert_eq!(out.code(), 0, "{out:?}");
    let text = out.out();
    let got: HashMap<String, String> =
        text.lines().filter_map(|l| l.rsplit_once(' ')).map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let mut wrong = Vec::new();
    for c in calls {
        match got.get(&c.label) {
            Some(r) if r == c.expect => {}
            Some(r) => wrong.push(format!("{}: expected {}, got {}", c.label, c.expect, r)),
            None => wrong.push(format!("{}: no result printed", c.label)),
        }
    }
    assert!(wrong.is_empty(), "wrong results under sandbox-run {opts:?}:\n  {}\n{out:?}", wrong.join("\n  "));
    out
}

/// Runs `calls` with a JSON trace and checks that each appears with the
/// expected path and result.
fn trace_calls(calls: &[Call]) {
    let sc = Scratch::new();
    let trace = sc.join("trace.json");
    let opt = format!("--trace={}", trace.display());
    run_calls(calls, &[opt.as_str(), "--trace-format", "json"], &sc);
    let lines = parse_json_trace(&trace);
    let main_pid = lines.iter().find(|l| l.syscall == "execve").expect("the guest's execve is traced").pid;
    let mut by_name: HashMap<&str, Vec<&TraceLine>> = HashMap::new();
    for l in lines.iter().filter(|l| l.pid == main_pid) {
        by_name.entry(l.syscall.as_str()).or_default().push(l);
    }
    // The guest's own calls are the last ones of each name.
    let mut expected: HashMap<&str, Vec<&Call>> = HashMap::new();
    for c in calls {
        expected.entry(c.name).or_default().push(c);
    }
    let mut wrong = Vec::new();
    for (name, cs) in &expected {
        let seen = by_name.get(name).map(|v| v.as_slice()).unwrap_or(&[]);
        if seen.len() < cs.len() {
            wrong.push(format!("{name}: {} calls expected in the trace, {} found", cs.len(), seen.len()));
            continue;
        }
        for (c, l) in cs.iter().zip(&seen[seen.len() - cs.len()..]) {
            let want_path = if c.denied { "denied" } else { "native" };
            let result_ok = match c.expect {
                "ok" => l.result.is_some_and(|r| r >= 0) && l.errno.is_none(),
                e => l.result == Some(-1) && l.errno.as_deref() == Some(e),
            };
            if l.path != want_path || !result_ok {
                wrong.push(format!(
                    "{}: expected path {want_path} and {}, trace has path {} result {:?} errno {:?} args {}",
                    c.label, c.expect, l.path, l.result, l.errno, l.args
                ));
            }
        }
    }
    wrong.sort();
    assert!(wrong.is_empty(), "trace mismatches:\n  {}", wrong.join("\n  "));
}

#[test]
fn documented_denials_get_their_errno() {
    let sc = Scratch::new();
    run_calls(&documented_calls(), &[], &sc);
}

#[test]
fn documented_denials_are_refused_by_the_filter() {
    trace_calls(&documented_calls());
}

#[test]
fn denials_hold_with_a_hostname_too() {
    // The notify listener must not change the routing of other calls.
    let sc = Scratch::new();
    run_calls(&documented_calls(), &["--hostname", "box"], &sc);
}

/// The "deny" rows of `--list-syscalls`: (nr, name, errno).
fn listed_denials() -> Vec<(c_long, String, String)> {
    let sc = Scratch::new();
    let out = run(&mut sandbox_raw(&sc, ["--list-syscalls"]));
    out.assert_code(0);
    let mut v = Vec::new();
    for l in out.out().lines() {
        let mut w = l.split_whitespace();
        let (Some(nr), Some(name), Some(route)) = (w.next(), w.next(), w.next()) else { continue };
        if route == "deny" {
            let errno = w.next().expect("deny has an errno").to_string();
            v.push((nr.parse().expect("a number"), name.to_string(), errno));
        }
    }
    assert!(v.len() >= 40, "only {} deny rows in the listing:\n{}", v.len(), out.out());
    v
}

fn listed_calls() -> Vec<Call> {
    listed_denials()
        .into_iter()
        .map(|(nr, name, errno)| {
            let name: &'static str = Box::leak(name.into_boxed_str());
            let expect: &'static str = Box::leak(errno.into_boxed_str());
            Call { label: name.to_string(), name, nr, args: Vec::new(), expect, denied: true }
        })
        .collect()
}

#[test]
fn every_listed_denial_gets_its_errno_and_is_refused_by_the_filter() {
    // Every "deny" row of --list-syscalls, invoked with all-zero arguments
    // (only ever inside the sandbox, never natively): the guest gets the
    // listed errno and the JSON trace shows the filter refused the call, so
    // none of them reached the kernel.
    trace_calls(&listed_calls());
}

#[test]
fn list_syscalls_routes_are_the_documented_ones() {
    let sc = Scratch::new();
    let out = run(&mut sandbox_raw(&sc, ["--list-syscalls"]));
    out.assert_code(0);
    let mut routes: HashMap<String, String> = HashMap::new();
    let mut numbers = std::collections::HashSet::new();
    for l in out.out().lines() {
        let mut w = l.split_whitespace();
        let nr: i64 = w.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("bad line {l:?}"));
        let name = w.next().unwrap_or_else(|| panic!("bad line {l:?}"));
        let rest: Vec<&str> = w.collect();
        let rest = rest.join(" ");
        let route = [
            "allow",
            "notify (with --hostname)",
            "notify (the view)",
            "notify unless dirfd",
            "notify unless no address",
            "notify (with --disk)",
            "notify; native beneath dirfd",
            "notify; change beneath dirfd",
            "notify (made listings)",
            "notify for a high fd",
            "trace (the view)",
            "check args",
            "deny EPERM",
            "deny ENOSYS",
            "deny EOPNOTSUPP",
        ]
        .into_iter()
        .find(|r| rest.starts_with(r) && rest.len() > r.len())
        .unwrap_or_else(|| panic!("unknown route (or no reason) in {l:?}"));
        assert!(numbers.insert(nr), "number {nr} listed twice");
        routes.insert(name.to_string(), route.to_string());
    }
    assert!(routes.len() >= 300, "only {} rows", routes.len());
    let mut wrong = Vec::new();
    let mut want = |name: &str, route: &str| {
        if routes.get(name).map(String::as_str) != Some(route) {
            wrong.push(format!("{name}: expected {route:?}, listed {:?}", routes.get(name)));
        }
    };
    for c in documented_calls() {
        if c.name == "clone" || c.name == "personality" || c.name == "ioctl" {
            want(c.name, "check args");
        } else {
            want(c.name, &format!("deny {}", c.expect));
        }
    }
    want("uname", "notify (with --hostname)");
    // Paths go through the view: openat is native only beneath a
    // directory fd, statx beneath one, execve's path is translated by the
    // tracer; of the calls that change the tree, making a directory and
    // removing a file may run beneath a directory fd, the others and those
    // that change an open file are always answered in the view.
    want("openat", "notify; native beneath dirfd");
    want("statx", "notify unless dirfd");
    want("mkdirat", "notify; change beneath dirfd");
    want("unlinkat", "notify; change beneath dirfd");
    for c in [
        "mkdir",
        "unlink",
        "rmdir",
        "renameat2",
        "linkat",
        "symlinkat",
        "fchmod",
        "fchown",
        "fsetxattr",
        "connect",
        "bind",
    ] {
        want(c, "notify (the view)");
    }
    // A datagram's address may name a unix socket file: sendmsg carries it
    // in memory, sendto in a register the filter reads.
    want("sendmsg", "notify (the view)");
    want("sendmmsg", "notify (the view)");
    want("sendto", "notify unless no address");
    want("getsockname", "notify (the view)");
    // With a disk budget, every call that can make a file larger.
    for c in ["write", "pwrite64", "writev", "ftruncate", "fallocate", "copy_file_range", "io_submit"] {
        want(c, "notify (with --disk)");
    }
    // A copy of a directory fd kept from 512 up (calls beneath it are
    // notified) stays up there.
    want("dup", "notify for a high fd");
    want("fcntl", "notify for a high fd");
    want("dup2", "allow");
    // The host's mount table: tools fall back to /proc/self/mountinfo.
    want("listmount", "deny ENOSYS");
    want("statmount", "deny ENOSYS");
    want("execve", "trace (the view)");
    want("chroot", "deny EPERM");
    for a in ["read", "fork", "vfork", "wait4", "mmap", "futex"] {
        want(a, "allow");
    }
    assert!(wrong.is_empty(), "{}\n{}", wrong.join("\n"), out.out());
}

fn killed_by_sigsys(mode: &str, opts: &[&str]) {
    let sc = Scratch::new();
    let g = guest("syscalls");
    let n = run(&mut native(&sc, [s(&g), mode]));
    let out = run(&mut sandboxed(&sc, opts, [s(&g), mode]));
    assert_eq!(out.code(), 128 + libc::SIGSYS, "expected death by SIGSYS (159)\n{out:?}\n=== native ===\n{n:?}");
    assert_eq!(out.out(), format!("calling {}\n", if mode == "x32" { "x32 getpid" } else { "int $0x80 getpid" }));
    // Natively the same program survives the call (x32: ENOSYS or a pid;
    // int $0x80: a pid where the kernel has IA32 emulation).
    if mode == "x32" {
        n.assert_code(0);
        assert!(n.out().contains("x32 returned"), "{n:?}");
    }
}

#[test]
fn x32_abi_kills_with_sigsys() {
    killed_by_sigsys("x32", &[]);
}

#[test]
fn int80_kills_with_sigsys() {
    killed_by_sigsys("int80", &[]);
}

#[test]
fn foreign_abis_kill_with_sigsys_under_trace_and_hostname() {
    let sc = Scratch::new();
    let t = format!("--trace={}", sc.join("t").display());
    killed_by_sigsys("x32", &["--hostname", "box", t.as_str()]);
    killed_by_sigsys("int80", &["--hostname", "box", t.as_str()]);
}
