//! Differential tests: the same command natively and under `sandbox-run`
//! (both as the same unprivileged user) must print the same stdout and end
//! with the same exit code.

mod common;

use common::*;

#[test]
fn true_exits_0() {
    let (_, s) = differential(&["/bin/true"]);
    s.assert_code(0);
}

#[test]
fn false_exits_1() {
    let (_, s) = differential(&["false"]);
    s.assert_code(1);
}

#[test]
fn exit_codes_pass_through() {
    for code in ["0", "3", "77", "255"] {
        let (_, s) = differential(&["sh", "-c", &format!("echo exiting {code}; exit {code}")]);
        s.assert_code(code.parse().unwrap());
    }
}

#[test]
fn shell_pipeline() {
    let (_, s) = differential(&["sh", "-c", "seq 1 2000 | grep 7 | sort -r | head -5; exit 3"]);
    s.assert_code(3);
    assert_eq!(s.out(), "997\n987\n979\n978\n977\n");
}

#[test]
fn python_threads_and_subprocess() {
    let script = r#"
import subprocess, sys, threading
res = [0] * 8
def work(i):
    res[i] = sum(range(i * 10000))
threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("threads", res)
out = subprocess.run(["sh", "-c", "echo sub $((6 * 7)); exit 5"], capture_output=True, text=True)
print("subprocess", out.stdout.strip(), out.returncode)
p = subprocess.run([sys.executable, "-c", "import sys; print('grandchild'); sys.exit(4)"], stdout=subprocess.PIPE, text=True)
print("python child", p.stdout.strip(), p.returncode)
with subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as c:
    o, _ = c.communicate("through a pipe\n")
print("popen", o.strip(), c.returncode)
sys.exit(2)
"#;
    let (_, s) = differential(&["python3", "-c", script]);
    s.assert_code(2);
    assert!(s.out().contains("subprocess sub 42 5"), "{s:?}");
    assert!(s.out().contains("popen through a pipe 0"), "{s:?}");
}

const HELLO_C: &str = r#"
#include <stdio.h>
#include <pthread.h>
static long total;
static void *add(void *p) { total += (long)p; return 0; }
int main(int argc, char **argv) {
    pthread_t t;
    pthread_create(&t, 0, add, (void *)41);
    pthread_join(t, 0);
    printf("hello from %s, total %ld\n", argv[0], total + 1);
    return 6;
}
"#;

#[test]
fn gcc_compiles_and_runs_a_program() {
    let (_, s) = differential_with(
        &[],
        &["sh", "-c", "gcc -O1 -pthread -o hello hello.c && ./hello && echo unreachable; echo status $?"],
        &[],
        |sc| {
            sc.write("hello.c", HELLO_C);
        },
    );
    s.assert_code(0);
    assert_eq!(s.out(), "hello from ./hello, total 42\nstatus 6\n");
}

#[test]
fn git_init_add_commit_log() {
    let envs = [
        ("GIT_AUTHOR_NAME", "Test Author"),
        ("GIT_AUTHOR_EMAIL", "author@example.com"),
        ("GIT_COMMITTER_NAME", "Test Committer"),
        ("GIT_COMMITTER_EMAIL", "committer@example.com"),
        ("GIT_AUTHOR_DATE", "2020-01-01T00:00:00Z"),
        ("GIT_COMMITTER_DATE", "2020-01-01T00:00:00Z"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
    ];
    let script = "set -e; git init -q -b main repo; cd repo; echo one > a.txt; git add a.txt; \
                  git commit -q -m 'first commit'; echo two > b.txt; mkdir d; echo three > d/c.txt; \
                  git add .; git commit -q -m 'second commit'; git log --format=%s; \
                  git ls-files; git rev-list --count HEAD; git status --porcelain; git log --format=%H | wc -l";
    let (_, s) = differential_with(&[], &["sh", "-c", script], &envs, |_| {});
    s.assert_code(0);
    assert_eq!(s.out(), "second commit\nfirst commit\na.txt\nb.txt\nd/c.txt\n2\n2\n");
}

#[test]
fn make_j2_builds_a_small_project() {
    let setup = |sc: &Scratch| {
        let n = 6;
        let mut main = String::from("#include <stdio.h>\n");
        for i in 0..n {
            main.push_str(&format!("int f{i}(int);\n"));
            sc.write(
                format!("f{i}.c"),
                format!("int f{i}(int x) {{ int r = x; for (int k = 0; k < {i}; k++) r = r * 3 + {i}; return r; }}\n"),
            );
        }
        main.push_str("int main(void) {\n    long s = 0;\n");
        for i in 0..n {
            main.push_str(&format!("    printf(\"f{i}(7) = %d\\n\", f{i}(7)); s += f{i}(7);\n"));
        }
        main.push_str("    printf(\"sum %ld\\n\", s);\n    return 0;\n}\n");
        sc.write("main.c", main);
        let objs: Vec<String> = (0..n).map(|i| format!("f{i}.o")).collect();
        sc.write(
            "Makefile",
            format!(
                "OBJS = main.o {}\n\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n\n%.o: %.c\n\t$(CC) -O1 -c -o $@ $<\n\n.PHONY: clean\nclean:\n\trm -f prog $(OBJS)\n",
                objs.join(" ")
            ),
        );
    };
    let (_, s) = differential_with(
        &[],
        &["sh", "-c", "make -s -j2 >/dev/null && ./prog && ls *.o | wc -l && make -s -j2 clean && ls"],
        &[],
        setup,
    );
    s.assert_code(0);
    assert!(s.out().starts_with("f0(7) = 7\nf1(7) = 22\n"), "{s:?}");
    assert!(s.out().contains("\n7\nMakefile\n"), "{s:?}");
}

#[test]
fn two_hundred_threads() {
    let g = guest("threads");
    let (_, s) = differential(&[s(&g)]);
    s.assert_code(0);
    assert_eq!(
        s.out(),
        "threads 200 joined, return sum 20100, squares sum 2646700, distinct tids 200, main tid reused no\n"
    );
}

#[test]
fn tree_of_300_processes() {
    let g = guest("proctree");
    let (_, s) = differential(&[s(&g)]);
    s.assert_code(0);
    assert_eq!(s.out(), "processes 300, all exited 0: yes\nwait after tree: ECHILD\n");
}

#[test]
fn vfork_and_posix_spawn() {
    let g = guest("spawn");
    let (_, s) = differential(&[s(&g)]);
    s.assert_code(0);
    assert_eq!(
        s.out(),
        "vfork child\nvfork+exec status 5\nvfork+_exit status 9\nspawned\nposix_spawn status 7\n\
         posix_spawnp status 0\nfile got: through file actions\nposix_spawn of a missing program: ENOENT\n"
    );
}

#[test]
fn exec_chain_of_50() {
    let g = guest("execchain");
    let (_, s) = differential(&[s(&g)]);
    s.assert_code(0);
    assert_eq!(s.out(), "exec chain 50, same pid: yes\n");
}

#[test]
fn shell_exec_chain_and_nested_shells() {
    let (_, s) = differential(&["sh", "-c", "exec sh -c 'exec sh -c \"echo deep; exec env true\"'; echo unreachable"]);
    s.assert_code(0);
    assert_eq!(s.out(), "deep\n");
}

#[test]
fn only_fds_0_1_2_are_open() {
    let (n, s) = differential(&["ls", "/proc/self/fd"]);
    s.assert_code(0);
    // ls opens the directory itself: fd 3.
    assert_eq!(n.out(), "0\n1\n2\n3\n", "the native run itself inherited extra fds: {n:?}");
    assert_eq!(s.out(), "0\n1\n2\n3\n");
}

#[test]
fn stdin_reaches_the_guest() {
    let sc = Scratch::new();
    let f = sc.write("input.txt", "line one\nline two\n");
    // wc reads all of stdin; /dev/stdin reopens the file from its start.
    let cmd = ["sh", "-c", "wc -l; cat; cat /dev/stdin; head -c 5 /proc/self/fd/0"];
    let n = run(native(&sc, cmd).stdin(std::fs::File::open(&f).unwrap()));
    let out = run(sandboxed(&sc, NO_OPTS, cmd).stdin(std::fs::File::open(&f).unwrap()));
    out.assert_code(0);
    assert_eq!(out.out(), n.out());
    assert_eq!(out.out(), "2\nline one\nline two\nline ");
}

#[test]
fn path_search_skips_an_inaccessible_directory() {
    // Like execvp: a PATH entry the user cannot search is skipped.
    let setup = |sc: &Scratch| {
        let locked = sc.join("locked");
        std::fs::create_dir(&locked).unwrap();
        give_to_guest(&locked);
        sc.write("locked/hello-prog", "#!/bin/sh\necho wrong\n");
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    };
    let sn = Scratch::new();
    setup(&sn);
    let ss = Scratch::new();
    setup(&ss);
    let path = |sc: &Scratch| format!("{}:{STD_PATH}", sc.join("locked").display());
    let n = run(native(&sn, ["true"]).env("PATH", path(&sn)));
    let s = run(sandboxed(&ss, NO_OPTS, ["true"]).env("PATH", path(&ss)));
    // Unlock first so the scratch directories can be removed whatever
    // the outcome.
    for sc in [&sn, &ss] {
        std::fs::set_permissions(sc.join("locked"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    assert_eq!(n.shell_code(), 0, "{n:?}");
    assert_eq!(s.code(), 0, "{s:?}");
}

#[test]
fn environment_and_cwd_are_the_callers() {
    let (_, s) = differential_with(
        &[],
        &["sh", "-c", "echo $CONDO_TEST_VAR; pwd -P | sed \"s|^$(cd \"$HOME\" && pwd -P)|HOME|\"; mkdir sub && cd sub && pwd -P | sed \"s|^$(cd \"$HOME\" && pwd -P)|HOME|\""],
        &[("CONDO_TEST_VAR", "value with spaces")],
        |_| {},
    );
    s.assert_code(0);
    assert_eq!(s.out(), "value with spaces\nHOME\nHOME/sub\n");
}
