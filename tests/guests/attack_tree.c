/* Attacks on the process tree, the tracer and the filter (tests/attacks.rs).
 *
 *   attack_tree untraced-clone      clone(2) with CLONE_UNTRACED, every way
 *   attack_tree traced-children     every kind of child reports its TracerPid
 *   attack_tree report LABEL        (helper: print LABEL's TracerPid, exit)
 *   attack_tree clone3              clone3 with dangerous flags in memory
 *   attack_tree namespaces          unshare / setns / clone namespace flags
 *   attack_tree ptrace              the ptrace family against a sibling and
 *                                   the supervisor
 *   attack_tree rax-high            denied calls with garbage in rax[63:32]
 *                                   (the kernel runs the low 32 bits)
 *   attack_tree own-filter          the guest's own TRACE / USER_NOTIF filter
 *   attack_tree listener            a second seccomp listener
 *   attack_tree kill-supervisor     the first process SIGKILLs sandbox-run
 *   attack_tree daemon-kills-supervisor
 *                                   a double-forked, setsid'd daemon does it
 *   attack_tree escape-tree-kill    descendants try to survive the first
 *                                   process's exit
 *
 * Results are printed one per line as "LABEL RESULT" (RESULT is "ok" or an
 * errno name). Processes that must die write "LABEL PID" lines to the file
 * "pids" in the working directory. A call that should have been refused
 * but created an untraced child makes that child an "escapee": it writes
 * its pid to escaped.pid, outlives the guest by 1.5 s if it can, and then
 * writes "survived" to escaped.txt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef KCMP_FILE
#define KCMP_FILE 0
#define KCMP_VM 1
#endif

extern char **environ;

/* One line with a single write(2), so lines of concurrent processes never
 * interleave. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (n > (int)sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(1, line, n);
    (void)w;
}

static void result(const char *label, long r, int e) {
    say("%s %s", label, r < 0 ? strerrorname_np(e) : "ok");
}

/* "label pid" appended to ./pids */
static void record_pid(const char *label) {
    int fd = open("pids", O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) return;
    char line[128];
    int n = snprintf(line, sizeof line, "%s %d\n", label, getpid());
    ssize_t w = write(fd, line, n);
    (void)w;
    close(fd);
}

static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n') n++;
    fclose(f);
    return n;
}

static void wait_for_lines(const char *path, int n) {
    for (int i = 0; i < 2000 && count_lines(path) < n; i++) usleep(10000);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static long tracer_pid(const char *status_path) {
    FILE *f = fopen(status_path, "r");
    if (!f) return -1;
    char line[256];
    long t = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "TracerPid:", 10)) t = strtol(line + 10, NULL, 10);
    fclose(f);
    return t;
}

static void to_devnull(void) {
    int n = open("/dev/null", O_RDWR);
    if (n < 0) return;
    dup2(n, 0);
    dup2(n, 1);
    dup2(n, 2);
    if (n > 2) close(n);
}

/* A child that should never have been created untraced. */
static void escapee(const char *how) {
    long t = tracer_pid("/proc/self/status");
    say("escapee (%s): TracerPid %ld", how, t);
    int fd = open("escaped.pid", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        char b[32];
        int n = snprintf(b, sizeof b, "%d\n", getpid());
        ssize_t w = write(fd, b, n);
        (void)w;
        close(fd);
    }
    setsid();
    to_devnull();
    sleep_ms(1500);
    fd = open("escaped.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t w = write(fd, "survived\n", 9);
        (void)w;
        close(fd);
    }
    _exit(0);
}

/* clone(2) exactly as given (raw, so libc adds nothing); a child that gets
 * created becomes an escapee. */
static void try_clone(const char *label, unsigned long flags) {
    errno = 0;
    long r = syscall(SYS_clone, flags, 0L, 0L, 0L, 0L);
    int e = errno;
    if (r == 0) escapee(label);
    result(label, r, e);
    if (r > 0) waitpid((pid_t)r, NULL, __WALL);
}

/* clone(CLONE_VM|CLONE_VFORK|...) on the caller's stack: the child must not
 * touch memory, so it exits from assembly. */
static long clone_vm_exit(unsigned long flags) {
    long r;
    register long r10 __asm__("r10") = 0;
    register long r8 __asm__("r8") = 0;
    __asm__ volatile(
        "syscall\n"
        "test %%rax, %%rax\n"
        "jnz 1f\n"
        "mov $60, %%eax\n"
        "xor %%edi, %%edi\n"
        "syscall\n"
        "1:\n"
        : "=a"(r)
        : "a"((long)SYS_clone), "D"(flags), "S"(0L), "d"(0L), "r"(r10), "r"(r8)
        : "rcx", "r11", "memory");
    return r;
}

/* A raw syscall with every bit of rax under our control. */
static long raw6(unsigned long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
    long r;
    register long r10 __asm__("r10") = a3;
    register long r8 __asm__("r8") = a4;
    register long r9 __asm__("r9") = a5;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return r;
}

static void raw_result(const char *label, long r) {
    say("%s %s", label, r < 0 && r > -4096 ? strerrorname_np((int)-r) : "ok");
}

/* ---- untraced-clone ------------------------------------------------------ */

static int untraced_clone(void) {
    try_clone("clone(CLONE_UNTRACED|SIGCHLD)", CLONE_UNTRACED | SIGCHLD);
    try_clone("clone(CLONE_UNTRACED)", CLONE_UNTRACED);
    try_clone("clone(CLONE_UNTRACED|CLONE_PARENT|SIGCHLD)", CLONE_UNTRACED | CLONE_PARENT | SIGCHLD);
    try_clone("clone(CLONE_UNTRACED|SIGCHLD, high garbage)", 0xdead000000000000UL | CLONE_UNTRACED | SIGCHLD);
    long r = clone_vm_exit(CLONE_UNTRACED | CLONE_VM | CLONE_VFORK | SIGCHLD);
    raw_result("clone(CLONE_UNTRACED|CLONE_VM|CLONE_VFORK|SIGCHLD)", r);
    if (r > 0) waitpid((pid_t)r, NULL, __WALL);
    r = clone_vm_exit(CLONE_UNTRACED | CLONE_VM | CLONE_THREAD | CLONE_SIGHAND);
    raw_result("clone(CLONE_UNTRACED|CLONE_VM|CLONE_THREAD|CLONE_SIGHAND)", r);
    if (r > 0) sleep_ms(50);
    return 0;
}

/* ---- traced-children ---------------------------------------------------- */

static int report_pipe = -1;

static void report(const char *label, const char *status) { say("%s tracer %ld", label, tracer_pid(status)); }

static void *thread_report(void *label) {
    report(label, "/proc/thread-self/status");
    return NULL;
}

static void exec_report(const char *label) {
    char *argv[] = {"attack_tree", "report", (char *)label, NULL};
    execve("/proc/self/exe", argv, environ);
    _exit(127);
}

static int clone_child_fn(void *label) {
    report(label, "/proc/self/status");
    return 0;
}

static int traced_children(void) {
    int p[2];
    if (pipe(p) != 0) return 1;
    report_pipe = p[1];
    report("main", "/proc/self/status");

    pthread_t th;
    pthread_create(&th, NULL, thread_report, "thread");
    pthread_join(th, NULL);

    pid_t c = fork();
    if (c == 0) {
        report("fork", "/proc/self/status");
        pthread_t t2;
        pthread_create(&t2, NULL, thread_report, "thread-of-fork");
        pthread_join(t2, NULL);
        pid_t g = fork();
        if (g == 0) {
            report("fork-grandchild", "/proc/self/status");
            _exit(0);
        }
        waitpid(g, NULL, 0);
        _exit(0);
    }
    waitpid(c, NULL, 0);

    c = vfork();
    if (c == 0) exec_report("vfork-exec");
    waitpid(c, NULL, 0);

    char *argv[] = {"attack_tree", "report", "posix_spawn", NULL};
    pid_t sp;
    if (posix_spawn(&sp, "/proc/self/exe", NULL, NULL, argv, environ) == 0) waitpid(sp, NULL, 0);

    /* clone without an exit signal: only __WALL waits for it */
    c = (pid_t)syscall(SYS_clone, 0L, 0L, 0L, 0L, 0L);
    if (c == 0) {
        report("clone-no-exit-signal", "/proc/self/status");
        _exit(0);
    }
    if (c > 0) waitpid(c, NULL, __WALL);

    /* CLONE_PARENT from the first process: a sibling whose real parent is
     * the supervisor itself. We cannot wait for it: the report pipe tells
     * us when it is gone. */
    c = (pid_t)syscall(SYS_clone, (long)(CLONE_PARENT | SIGCHLD), 0L, 0L, 0L, 0L);
    if (c == 0) {
        report("clone-parent-sibling", "/proc/self/status");
        _exit(0);
    }

    /* glibc clone() with its own stack and CLONE_VM (a thread-like process) */
    static char stack[65536] __attribute__((aligned(16)));
    c = clone(clone_child_fn, stack + sizeof stack, CLONE_VM | SIGCHLD, "clone-vm");
    if (c > 0) waitpid(c, NULL, __WALL);

    /* a double-forked daemon */
    c = fork();
    if (c == 0) {
        if (fork() == 0) {
            setsid();
            report("daemon", "/proc/self/status");
            _exit(0);
        }
        _exit(0);
    }
    waitpid(c, NULL, 0);

    close(p[1]);
    char b;
    while (read(p[0], &b, 1) > 0) {}
    say("done");
    /* Stay until the test has looked at the supervisor's threads. */
    for (int i = 0; i < 2000 && access("release", F_OK) != 0; i++) sleep_ms(10);
    return 0;
}

/* ---- clone3 ------------------------------------------------------------- */

static void try_clone3(const char *label, struct clone_args *a, size_t size) {
    errno = 0;
    long r = syscall(SYS_clone3, a, size);
    int e = errno;
    if (r == 0) escapee(label);
    result(label, r, e);
    if (r > 0) waitpid((pid_t)r, NULL, __WALL);
}

static int clone3_attacks(void) {
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_UNTRACED;
    a.exit_signal = SIGCHLD;
    try_clone3("clone3(CLONE_UNTRACED)", &a, sizeof a);
    memset(&a, 0, sizeof a);
    a.flags = CLONE_NEWUSER;
    a.exit_signal = SIGCHLD;
    try_clone3("clone3(CLONE_NEWUSER)", &a, sizeof a);
    memset(&a, 0, sizeof a);
    a.flags = CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWUSER;
    a.exit_signal = SIGCHLD;
    try_clone3("clone3(CLONE_NEWTIME|CLONE_NEWNS|CLONE_NEWUSER)", &a, sizeof a);
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    try_clone3("clone3(plain fork)", &a, sizeof a);
    try_clone3("clone3(bad pointer)", (struct clone_args *)1, sizeof a);
    try_clone3("clone3(size 0)", &a, 0);
    return 0;
}

/* ---- namespaces --------------------------------------------------------- */

static void ns_of(const char *which, char *out, size_t n) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/ns/%s", which);
    ssize_t k = readlink(p, out, n - 1);
    out[k > 0 ? k : 0] = 0;
}

static int namespaces(void) {
    char user0[64], net0[64], mnt0[64];
    ns_of("user", user0, sizeof user0);
    ns_of("net", net0, sizeof net0);
    ns_of("mnt", mnt0, sizeof mnt0);
    long r;
    errno = 0;
    r = syscall(SYS_unshare, (long)CLONE_NEWUSER);
    result("unshare(CLONE_NEWUSER)", r, errno);
    errno = 0;
    r = syscall(SYS_unshare, (long)(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET));
    result("unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET)", r, errno);
    r = raw6(SYS_unshare, (long)(0xffffffff00000000UL | CLONE_NEWUSER), 0, 0, 0, 0, 0);
    raw_result("unshare(CLONE_NEWUSER, high garbage)", r);
    int fd = open("/proc/self/ns/user", O_RDONLY);
    errno = 0;
    r = syscall(SYS_setns, fd, 0L);
    result("setns(own user ns)", r, errno);
    close(fd);
    fd = open("/proc/self/ns/net", O_RDONLY);
    errno = 0;
    r = syscall(SYS_setns, fd, (long)CLONE_NEWNET);
    result("setns(own net ns)", r, errno);
    close(fd);
    int pfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    errno = 0;
    r = syscall(SYS_setns, pfd, (long)(CLONE_NEWUSER | CLONE_NEWNET));
    result("setns(pidfd of self)", r, errno);
    close(pfd);
    try_clone("clone(CLONE_NEWUSER|SIGCHLD)", CLONE_NEWUSER | SIGCHLD);
    try_clone("clone(CLONE_NEWNET|CLONE_NEWUSER|SIGCHLD)", CLONE_NEWNET | CLONE_NEWUSER | SIGCHLD);
    try_clone("clone(CLONE_NEWPID|CLONE_NEWUSER|SIGCHLD)", CLONE_NEWPID | CLONE_NEWUSER | SIGCHLD);
    try_clone("clone(CLONE_NEWUSER|SIGCHLD, high garbage)", 0xffffffff00000000UL | CLONE_NEWUSER | SIGCHLD);
    char user1[64], net1[64], mnt1[64];
    ns_of("user", user1, sizeof user1);
    ns_of("net", net1, sizeof net1);
    ns_of("mnt", mnt1, sizeof mnt1);
    say("namespaces unchanged %s",
        strcmp(user0, user1) || strcmp(net0, net1) || strcmp(mnt0, mnt1) ? "no" : "yes");
    return 0;
}

/* ---- ptrace family -------------------------------------------------------- */

static int ptrace_family(void) {
    pid_t sup = getppid();
    pid_t sib = fork();
    if (sib == 0) {
        for (;;) pause();
    }
    static char local[64], remote[64] = "the sibling's secret";
    struct iovec liov = {local, sizeof local}, riov = {remote, sizeof remote};
    long r;
    errno = 0;
    r = syscall(SYS_ptrace, PTRACE_TRACEME, 0L, 0L, 0L);
    result("ptrace(PTRACE_TRACEME)", r, errno);
    errno = 0;
    r = syscall(SYS_ptrace, PTRACE_ATTACH, (long)sib, 0L, 0L);
    result("ptrace(PTRACE_ATTACH, sibling)", r, errno);
    errno = 0;
    r = syscall(SYS_ptrace, PTRACE_SEIZE, (long)sib, 0L, 0L);
    result("ptrace(PTRACE_SEIZE, sibling)", r, errno);
    errno = 0;
    r = syscall(SYS_ptrace, PTRACE_ATTACH, (long)sup, 0L, 0L);
    result("ptrace(PTRACE_ATTACH, supervisor)", r, errno);
    errno = 0;
    r = syscall(SYS_ptrace, PTRACE_SEIZE, (long)sup, 0L, (long)PTRACE_O_EXITKILL);
    result("ptrace(PTRACE_SEIZE, supervisor)", r, errno);
    errno = 0;
    r = syscall(SYS_process_vm_readv, (long)sib, &liov, 1L, &riov, 1L, 0L);
    result("process_vm_readv(sibling)", r, errno);
    errno = 0;
    r = syscall(SYS_process_vm_readv, (long)sup, &liov, 1L, &riov, 1L, 0L);
    result("process_vm_readv(supervisor)", r, errno);
    errno = 0;
    r = syscall(SYS_process_vm_writev, (long)sup, &liov, 1L, &riov, 1L, 0L);
    result("process_vm_writev(supervisor)", r, errno);
    int psup = (int)syscall(SYS_pidfd_open, sup, 0);
    int psib = (int)syscall(SYS_pidfd_open, sib, 0);
    for (int fd = 0; fd < 8; fd++) {
        char label[64];
        errno = 0;
        r = syscall(SYS_pidfd_getfd, psup, fd, 0L);
        snprintf(label, sizeof label, "pidfd_getfd(supervisor, %d)", fd);
        if (r >= 0 || errno != EBADF) result(label, r, errno);
        if (r >= 0) close((int)r);
    }
    errno = 0;
    r = syscall(SYS_pidfd_getfd, psib, 1L, 0L);
    result("pidfd_getfd(sibling, 1)", r, errno);
    errno = 0;
    r = syscall(SYS_kcmp, (long)getpid(), (long)sup, (long)KCMP_FILE, 1L, 1L);
    result("kcmp(self, supervisor)", r, errno);
    errno = 0;
    r = syscall(SYS_kcmp, (long)getpid(), (long)sib, (long)KCMP_VM, 0L, 0L);
    result("kcmp(self, sibling)", r, errno);
    errno = 0;
    r = syscall(SYS_process_madvise, psib, &riov, 1L, (long)MADV_COLD, 0L);
    result("process_madvise(sibling)", r, errno);
    kill(sib, SIGKILL);
    waitpid(sib, NULL, 0);
    return 0;
}

/* ---- rax-high ------------------------------------------------------------ */

static int rax_high(void) {
    const unsigned long hi = 0xdeadbeef00000000UL;
    long r = raw6(hi | SYS_unshare, 0, 0, 0, 0, 0, 0);
    raw_result("unshare(0)", r);
    r = raw6(hi | SYS_personality, READ_IMPLIES_EXEC, 0, 0, 0, 0, 0);
    raw_result("personality(READ_IMPLIES_EXEC)", r);
    personality(0);
    static char a[16] = "x", b[16];
    struct iovec l = {b, sizeof b}, rv = {a, sizeof a};
    r = raw6(hi | SYS_process_vm_readv, getpid(), (long)&l, 1, (long)&rv, 1, 0);
    raw_result("process_vm_readv(self)", r);
    r = raw6(hi | SYS_kcmp, getpid(), getpid(), KCMP_VM, 0, 0, 0);
    raw_result("kcmp(self, self)", r);
    r = raw6((1UL << 32) | SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0, 0);
    if (r == 0) escapee("clone(CLONE_UNTRACED) with high rax");
    raw_result("clone(CLONE_UNTRACED|SIGCHLD)", r);
    if (r > 0) waitpid((pid_t)r, NULL, __WALL);
    /* TIOCSTI into our own controlling terminal (a fresh pty), in a child
     * because it takes a new session. */
    pid_t c = fork();
    if (c == 0) {
        int m = posix_openpt(O_RDWR | O_NOCTTY);
        if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || setsid() < 0) _exit(1);
        int s = open(ptsname(m), O_RDWR);
        if (s < 0) _exit(1);
        struct termios t;
        tcgetattr(s, &t);
        cfmakeraw(&t);
        tcsetattr(s, TCSANOW, &t);
        static char x = 'X';
        raw_result("ioctl(TIOCSTI)", raw6(hi | SYS_ioctl, s, TIOCSTI, (long)&x, 0, 0, 0));
        struct pollfd pfd = {s, POLLIN, 0};
        char got[16] = "";
        if (poll(&pfd, 1, 100) > 0) {
            ssize_t n = read(s, got, sizeof got - 1);
            got[n > 0 ? n : 0] = 0;
        }
        say("injected input: %s", got[0] ? got : "none");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    r = raw6(hi | SYS_unshare, CLONE_NEWUSER, 0, 0, 0, 0, 0);
    raw_result("unshare(CLONE_NEWUSER)", r);
    return 0;
}

/* ---- own-filter ------------------------------------------------------------ */

#define NR_IS(nr, ret) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (ret))

static long install(struct sock_filter *f, unsigned short n, unsigned long flags) {
    struct sock_fprog prog = {n, f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void nodename(const char *label) {
    struct utsname u;
    if (uname(&u) == 0)
        say("%s %s", label, u.nodename);
    else
        say("%s %s", label, strerrorname_np(errno));
}

static int own_filter(void) {
    pid_t c = fork();
    if (c == 0) {
        /* TRACE with data 0 (what condo's own filter uses for "log and let
         * it run" under --trace) for calls condo denies or allows, and
         * USER_NOTIF without a listener. */
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            NR_IS(SYS_getppid, SECCOMP_RET_TRACE),
            NR_IS(SYS_unshare, SECCOMP_RET_TRACE),
            NR_IS(SYS_personality, SECCOMP_RET_TRACE),
            NR_IS(SYS_clone, SECCOMP_RET_TRACE),
            NR_IS(SYS_process_vm_readv, SECCOMP_RET_TRACE),
            NR_IS(SYS_uname, SECCOMP_RET_TRACE),
            NR_IS(SYS_getpgrp, SECCOMP_RET_USER_NOTIF),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        errno = 0;
        long r = install(f, sizeof f / sizeof f[0], 0);
        result("install own filter", r, errno);
        errno = 0;
        r = syscall(SYS_getppid);
        result("getppid (own TRACE)", r, errno);
        errno = 0;
        r = syscall(SYS_getpgrp);
        result("getpgrp (own USER_NOTIF)", r, errno);
        errno = 0;
        r = syscall(SYS_unshare, 0L);
        result("unshare(0) (own TRACE)", r, errno);
        errno = 0;
        r = syscall(SYS_personality, (long)READ_IMPLIES_EXEC);
        result("personality(READ_IMPLIES_EXEC) (own TRACE)", r, errno);
        static char a[16] = "x", b[16];
        struct iovec l = {b, sizeof b}, rv = {a, sizeof a};
        errno = 0;
        r = syscall(SYS_process_vm_readv, (long)getpid(), &l, 1L, &rv, 1L, 0L);
        result("process_vm_readv(self) (own TRACE)", r, errno);
        try_clone("clone(CLONE_UNTRACED|SIGCHLD) (own TRACE)", CLONE_UNTRACED | SIGCHLD);
        nodename("uname (own TRACE)");
        _exit(0);
    }
    waitpid(c, NULL, 0);

    c = fork();
    if (c == 0) {
        /* The guest's USER_NOTIF for the call condo notifies: the kernel
         * picks the guest's filter, which has no listener. */
        struct sock_filter f[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
            NR_IS(SYS_uname, SECCOMP_RET_USER_NOTIF),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        install(f, sizeof f / sizeof f[0], 0);
        nodename("uname (own USER_NOTIF)");
        _exit(0);
    }
    waitpid(c, NULL, 0);

    /* The supervisor is unharmed: a fresh process still forks (traced) and
     * gets the sandbox's hostname. */
    c = fork();
    if (c == 0) {
        say("child after filters tracer %ld", tracer_pid("/proc/self/status"));
        nodename("uname (child after filters)");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    nodename("uname (parent after filters)");
    return 0;
}

/* ---- listener -------------------------------------------------------------- */

static int listener(void) {
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    errno = 0;
    long r = install(allow, 1, SECCOMP_FILTER_FLAG_NEW_LISTENER);
    result("seccomp(NEW_LISTENER)", r, errno);
    errno = 0;
    r = install(allow, 1, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC |
                              SECCOMP_FILTER_FLAG_TSYNC_ESRCH);
    result("seccomp(NEW_LISTENER|TSYNC|TSYNC_ESRCH)", r, errno);
    /* A listener's filter returning USER_NOTIF for uname would capture it. */
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        NR_IS(SYS_uname, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    errno = 0;
    r = install(f, sizeof f / sizeof f[0], SECCOMP_FILTER_FLAG_NEW_LISTENER);
    result("seccomp(NEW_LISTENER, uname)", r, errno);
    nodename("uname after listener attempts");
    pid_t c = fork();
    if (c == 0) {
        nodename("uname in a child");
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}

/* ---- outliving the supervisor ---------------------------------------------- */

static void linger(const char *label) {
    record_pid(label);
    for (;;) sleep_ms(100);
}

static void ignore_everything(void) {
    for (int s = 1; s < NSIG; s++) signal(s, SIG_IGN);
}

static int outlive(int from_daemon) {
    pid_t sup = getppid();
    char here[4096];
    if (!getcwd(here, sizeof here)) return 1;
    char pids[4200];
    snprintf(pids, sizeof pids, "%s/pids", here);
    if (fork() == 0) {
        to_devnull();
        linger("plain-child");
    }
    if (fork() == 0) {
        to_devnull();
        setsid();
        ignore_everything();
        prctl(PR_SET_PDEATHSIG, 0);
        linger("setsid-child");
    }
    if (fork() == 0) {
        if (fork() == 0) {
            setsid();
            if (fork() == 0) {
                to_devnull();
                for (int fd = 3; fd < 1024; fd++) close(fd);
                ignore_everything();
                record_pid("daemon");
                if (chdir("/") != 0) {}
                if (from_daemon) {
                    wait_for_lines(pids, 4);
                    int refused = kill(sup, SIGKILL) != 0;
                    int fd = open(pids, O_WRONLY | O_APPEND);
                    if (fd >= 0) {
                        const char *m = refused ? "# kill refused\n" : "# daemon killed the supervisor\n";
                        ssize_t w = write(fd, m, strlen(m));
                        (void)w;
                        close(fd);
                    }
                }
                for (;;) sleep_ms(100);
            }
            _exit(0);
        }
        _exit(0);
    }
    record_pid("first");
    wait_for_lines("pids", 4);
    say("ready");
    if (!from_daemon) {
        if (kill(sup, SIGKILL) != 0) record_pid("# kill refused");
        else record_pid("# first killed the supervisor");
    }
    for (;;) sleep_ms(100);
}

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) sleep_ms(100);
    return NULL;
}

static int escape_tree_kill(void) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int n = 0;
    if (fork() == 0) {  /* its own session, no PDEATHSIG, ignores everything */
        to_devnull();
        setsid();
        ignore_everything();
        linger("setsid");
    }
    n++;
    if (fork() == 0) {  /* its own process group, a subreaper, orphans a child */
        to_devnull();
        setpgid(0, 0);
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        if (fork() == 0) {
            if (fork() == 0) linger("orphan-of-subreaper");
            _exit(0);
        }
        linger("pgrp-subreaper");
    }
    n += 2;
    if (fork() == 0) {  /* stopped */
        to_devnull();
        record_pid("stopped");
        raise(SIGSTOP);
        linger("stopped-then-continued");
    }
    n++;
    if (fork() == 0) {  /* a vfork parent blocked on its child */
        to_devnull();
        record_pid("vfork-parent");
        pid_t v = vfork();
        if (v == 0) {
            /* only async-signal-safe, no stack changes of note */
            for (;;) {
                struct timespec ts = {0, 100000000};
                syscall(SYS_nanosleep, &ts, NULL);
            }
        }
        for (;;) sleep_ms(100);
    }
    n++;
    if (fork() == 0) {  /* many threads */
        to_devnull();
        for (int i = 0; i < 16; i++) {
            pthread_t t;
            pthread_create(&t, NULL, sleeper, NULL);
        }
        linger("threads");
    }
    n++;
    if (fork() == 0) {  /* forks as fast as it can */
        to_devnull();
        record_pid("fork-storm");
        for (;;) {
            pid_t k = fork();
            if (k == 0) _exit(0);
            if (k > 0) waitpid(k, NULL, 0);
        }
    }
    n++;
    if (fork() == 0) {  /* clears PDEATHSIG, double-forks into init's care */
        if (fork() == 0) {
            to_devnull();
            setsid();
            prctl(PR_SET_PDEATHSIG, 0);
            ignore_everything();
            linger("daemon");
        }
        _exit(0);
    }
    n++;
    wait_for_lines("pids", n);
    say("ready %d", count_lines("pids"));
    return 7;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) {
        fprintf(stderr, "usage: attack_tree MODE\n");
        return 2;
    }
    const char *m = argv[1];
    if (!strcmp(m, "report") && argc == 3) {
        report(argv[2], "/proc/self/status");
        return 0;
    }
    if (!strcmp(m, "untraced-clone")) return untraced_clone();
    if (!strcmp(m, "traced-children")) return traced_children();
    if (!strcmp(m, "clone3")) return clone3_attacks();
    if (!strcmp(m, "namespaces")) return namespaces();
    if (!strcmp(m, "ptrace")) return ptrace_family();
    if (!strcmp(m, "rax-high")) return rax_high();
    if (!strcmp(m, "own-filter")) return own_filter();
    if (!strcmp(m, "listener")) return listener();
    if (!strcmp(m, "kill-supervisor")) return outlive(0);
    if (!strcmp(m, "daemon-kills-supervisor")) return outlive(1);
    if (!strcmp(m, "escape-tree-kill")) return escape_tree_kill();
    fprintf(stderr, "unknown mode %s\n", m);
    return 2;
}
