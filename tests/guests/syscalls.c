/* Invokes system calls by number and prints what each returned.
 *
 *   syscalls SPEC...     SPEC is LABEL:NR[:ARG]... (up to 6 args); an ARG is
 *                        a number (strtoull, base 0), "devnull" (an fd open
 *                        on /dev/null), "pid" (getpid()) or "buf" (a zeroed
 *                        64 KiB buffer). Prints "LABEL ok" or "LABEL ERRNO".
 *                        A call that forks (clone) has its child _exit(0)
 *                        at once; the parent reaps it.
 *   syscalls x32         syscall(0x40000000 | 39): x32 getpid
 *   syscalls int80       getpid through int $0x80 (the i386 ABI)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[65536];

static long arg(const char *s, int devnull) {
    if (!strcmp(s, "devnull")) return devnull;
    if (!strcmp(s, "pid")) return getpid();
    if (!strcmp(s, "buf")) return (long)buf;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end) {
        fprintf(stderr, "bad argument %s\n", s);
        exit(2);
    }
    return (long)v;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 2 && !strcmp(argv[1], "x32")) {
        printf("calling x32 getpid\n");
        long r = syscall(0x40000000L | 39);
        printf("x32 returned %ld (%s)\n", r, r < 0 ? strerrorname_np(errno) : "ok");
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "int80")) {
        printf("calling int $0x80 getpid\n");
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "rcx", "r8", "r9", "r10", "r11");
        printf("int80 returned %s\n", r > 0 ? "a pid" : "an error");
        return 0;
    }
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0) {
        perror("/dev/null");
        return 1;
    }
    pid_t self = getpid();
    for (int i = 1; i < argc; i++) {
        char spec[512];
        snprintf(spec, sizeof spec, "%s", argv[i]);
        char *save = NULL;
        char *label = strtok_r(spec, ":", &save);
        char *nrs = strtok_r(NULL, ":", &save);
        if (!label || !nrs) {
            fprintf(stderr, "bad spec %s\n", argv[i]);
            return 2;
        }
        long nr = arg(nrs, devnull);
        long a[6] = {0, 0, 0, 0, 0, 0};
        char *tok;
        for (int k = 0; k < 6 && (tok = strtok_r(NULL, ":", &save)); k++) a[k] = arg(tok, devnull);
        errno = 0;
        long r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        int e = errno;
        if (getpid() != self) _exit(0); /* a clone/fork child */
        if (r < 0) {
            printf("%s %s\n", label, strerrorname_np(e));
        } else {
            printf("%s ok\n", label);
            if (nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork) {
                if (r > 0) waitpid((pid_t)r, NULL, __WALL);
            }
        }
    }
    return 0;
}
