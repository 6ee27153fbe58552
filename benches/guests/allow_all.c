/* The floor of the fast path: installs the smallest possible seccomp filter
 * (one instruction, RET ALLOW) and execs argv[1..]. Whatever a syscall costs
 * under it is what seccomp itself costs, before any policy. */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: allow_all PROGRAM [ARG...]\n"); return 2; }
    struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
    struct sock_fprog prog = { 1, f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) {
        perror("seccomp");
        return 1;
    }
    execv(argv[1], argv + 1);
    perror("execv");
    return 127;
}
