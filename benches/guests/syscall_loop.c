/* Calls one syscall N times in a tight loop and prints the elapsed
 * nanoseconds on stdout. Raw syscalls, so libc caching cannot hide them. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: syscall_loop getppid|uname|acct N\n"); return 2; }
    long n = atol(argv[2]);
    int use_uname = strcmp(argv[1], "uname") == 0;
    /* acct(NULL) is denied by the sandbox: with --report the supervisor
     * answers it (EPERM, no guest memory touched), the closest twin of the
     * C floor's fixed answer. */
    int use_acct = strcmp(argv[1], "acct") == 0;
    struct utsname u;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        if (use_uname) syscall(SYS_uname, &u);
        else if (use_acct) syscall(SYS_acct, NULL);
        else syscall(SYS_getppid);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec));
    return 0;
}
