/* A tree of exactly 300 processes: each process writes one byte to a shared
 * pipe, then splits the rest of its budget between up to 3 children, and
 * waits for all of them. The first process counts the bytes once the whole
 * tree is gone (EOF on the pipe). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>

#define TOTAL 300
#define FANOUT 3

static int wfd;

static int node(int budget) {
    char c = 'x';
    if (write(wfd, &c, 1) != 1) return 10;
    int rest = budget - 1;
    int k = rest < FANOUT ? rest : FANOUT;
    pid_t kids[FANOUT];
    int nk = 0, bad = 0;
    for (int i = 0; i < k; i++) {
        int share = rest / (k - i);
        rest -= share;
        pid_t pid = fork();
        if (pid == 0) _exit(node(share));
        if (pid < 0) {
            perror("fork");
            bad = 1;
            break;
        }
        kids[nk++] = pid;
    }
    for (int i = 0; i < nk; i++) {
        int st;
        pid_t r;
        while ((r = waitpid(kids[i], &st, 0)) < 0 && errno == EINTR) {}
        if (r != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bad = 1;
    }
    return bad;
}

int main(void) {
    int p[2];
    if (pipe(p) != 0) {
        perror("pipe");
        return 1;
    }
    wfd = p[1];
    int bad = node(TOTAL);
    close(p[1]);
    long count = 0;
    char buf[512];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0) count += n;
    printf("processes %ld, all exited 0: %s\n", count, bad ? "no" : "yes");
    /* every child was reaped: no more children */
    printf("wait after tree: %s\n", (wait(NULL) < 0 && errno == ECHILD) ? "ECHILD" : "children left");
    return bad;
}
