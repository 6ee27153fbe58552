/* A fork bomb that tries clone3 first (as a modern libc would), then fork.
 * Every process forks as fast as it can and keeps the children alive.
 * Prints what clone3 returned once, then bombs until killed. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    long r = syscall(SYS_clone3, &ca, sizeof ca);
    if (r == 0) _exit(0);
    printf("clone3: %s\n", r < 0 ? strerrorname_np(errno) : "created a process");
    fflush(stdout);
    for (;;) {
        pid_t p = fork();
        if (p < 0) usleep(1000);
    }
}
