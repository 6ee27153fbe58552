/* Kernel attack surface, personas, terminals and descriptors
 * (tests/attacks.rs). Prints "LABEL RESULT" lines (RESULT: ok or an errno
 * name) plus a few "KEY VALUE" facts.
 *
 *   surface    io_uring, bpf, userfaultfd, perf_event_open with arguments
 *              that work natively for an unprivileged user
 *   persona    personality() changes, also with garbage in the upper half
 *   tty        TIOCSTI / TIOCLINUX on our own controlling terminal (a pty),
 *              also with garbage in the upper half of the request (musl
 *              passes ioctl requests as int); then whether input arrived
 *   fds        every open descriptor and what it is
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

static long raw3(unsigned long nr, long a0, long a1, long a2) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a0), "S"(a1), "d"(a2) : "rcx", "r11", "memory");
    return r;
}

static void result(const char *label, long r, int e) { printf("%s %s\n", label, r < 0 ? strerrorname_np(e) : "ok"); }

static void raw_result(const char *label, long r) {
    printf("%s %s\n", label, r < 0 && r > -4096 ? strerrorname_np((int)-r) : "ok");
}

static int surface(void) {
    long r;
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    errno = 0;
    r = syscall(SYS_io_uring_setup, 8L, &p);
    result("io_uring_setup", r, errno);
    errno = 0;
    r = syscall(SYS_io_uring_enter, r >= 0 ? r : 0L, 0L, 0L, 0L, NULL, 0L);
    result("io_uring_enter", r, errno);
    errno = 0;
    r = syscall(SYS_io_uring_register, 0L, (long)IORING_REGISTER_PROBE, NULL, 0L);
    result("io_uring_register", r, errno);

    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = (unsigned long)prog;
    a.insn_cnt = 2;
    a.license = (unsigned long)"GPL";
    errno = 0;
    r = syscall(SYS_bpf, (long)BPF_PROG_LOAD, &a, sizeof a);
    result("bpf(BPF_PROG_LOAD)", r, errno);
    memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 1;
    errno = 0;
    r = syscall(SYS_bpf, (long)BPF_MAP_CREATE, &a, sizeof a);
    result("bpf(BPF_MAP_CREATE)", r, errno);

    errno = 0;
    r = syscall(SYS_userfaultfd, (long)(O_CLOEXEC | UFFD_USER_MODE_ONLY));
    result("userfaultfd(UFFD_USER_MODE_ONLY)", r, errno);

    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.type = PERF_TYPE_SOFTWARE;
    pe.size = sizeof pe;
    pe.config = PERF_COUNT_SW_TASK_CLOCK;
    pe.exclude_kernel = 1;
    pe.exclude_hv = 1;
    errno = 0;
    r = syscall(SYS_perf_event_open, &pe, 0L, -1L, -1L, 0L);
    result("perf_event_open(self, task clock)", r, errno);
    return 0;
}

static int persona(void) {
    struct {
        const char *label;
        unsigned long v;
    } cases[] = {
        {"personality(READ_IMPLIES_EXEC)", READ_IMPLIES_EXEC},
        {"personality(ADDR_NO_RANDOMIZE)", ADDR_NO_RANDOMIZE},
        {"personality(ADDR_NO_RANDOMIZE|ADDR_COMPAT_LAYOUT|MMAP_PAGE_ZERO)",
         ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT | MMAP_PAGE_ZERO},
        {"personality(PER_LINUX32)", PER_LINUX32},
        {"personality(UNAME26)", UNAME26},
        {"personality(READ_IMPLIES_EXEC, high garbage)", 0xdeadbeef00000000UL | READ_IMPLIES_EXEC},
        {"personality(ADDR_NO_RANDOMIZE, high garbage)", 0xffffffff00000000UL | ADDR_NO_RANDOMIZE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        raw_result(cases[i].label, raw3(SYS_personality, (long)cases[i].v, 0, 0));
    printf("persona %#lx\n", raw3(SYS_personality, 0xffffffffL, 0, 0));
    return 0;
}

static int tty(void) {
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
        printf("no pty: %s\n", strerrorname_np(errno));
        return 1;
    }
    char *name = ptsname(m);
    if (setsid() < 0) printf("setsid %s\n", strerrorname_np(errno));
    int s = open(name, O_RDWR); /* becomes our controlling terminal */
    if (s < 0) {
        printf("open %s: %s\n", name, strerrorname_np(errno));
        return 1;
    }
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    tcsetattr(s, TCSANOW, &t);
    static char c = 'X';
    raw_result("ioctl(TIOCSTI)", raw3(SYS_ioctl, s, TIOCSTI, (long)&c));
    raw_result("ioctl(TIOCSTI, high garbage)", raw3(SYS_ioctl, s, (long)(0xdeadbeef00000000UL | TIOCSTI), (long)&c));
    raw_result("ioctl(TIOCSTI, all-ones high half)", raw3(SYS_ioctl, s, (long)(0xffffffff00000000UL | TIOCSTI), (long)&c));
    static char paste[2] = {3 /* TIOCL_PASTESEL */, 0};
    raw_result("ioctl(TIOCLINUX)", raw3(SYS_ioctl, s, TIOCLINUX, (long)paste));
    raw_result("ioctl(TIOCLINUX, high garbage)", raw3(SYS_ioctl, s, (long)(0x1234567800000000UL | TIOCLINUX), (long)paste));
    struct pollfd pfd = {s, POLLIN, 0};
    char got[64] = "";
    if (poll(&pfd, 1, 100) > 0) {
        ssize_t n = read(s, got, sizeof got - 1);
        got[n > 0 ? n : 0] = 0;
    }
    printf("injected input: %s\n", got[0] ? got : "none");
    return 0;
}

static int fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 1;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self) continue;
        char p[300], l[300] = "";
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(p, l, sizeof l - 1);
        l[n > 0 ? n : 0] = 0;
        printf("fd %s %s\n", e->d_name, l);
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 2) return 2;
    if (!strcmp(argv[1], "surface")) return surface();
    if (!strcmp(argv[1], "persona")) return persona();
    if (!strcmp(argv[1], "tty")) return tty();
    if (!strcmp(argv[1], "fds")) return fds();
    return 2;
}
