/* Attacks on the tree-wide budgets (tests/attacks.rs).
 *
 *   attack_budget zombies N      forks N children that exit at once and are
 *                                never reaped: each zombie still holds a pid
 *                                (RLIMIT_NPROC counts them). Prints
 *                                "forked X refused Y", then "live children Z"
 *                                (zombies included), then reaps them all.
 *   attack_budget memfd MIB      writes MIB MiB into a memfd with write(2)
 *                                (never mapped: not in any RSS), holds it
 *                                1.5 s, prints "held MIB MiB", exits 0.
 *   attack_budget freeze         SIGSTOPs its supervisor, keeps running for
 *                                3 s, creates the file "outlived", then
 *                                SIGCONTs the supervisor and exits 0.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static int live_children(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[300];
        snprintf(p, sizeof p, "/proc/self/task/%s/children", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        int pid;
        while (fscanf(f, "%d", &pid) == 1) n++;
        fclose(f);
    }
    if (d) closedir(d);
    return n;
}

static int zombies(int n) {
    int forked = 0, refused = 0;
    for (int i = 0; i < n; i++) {
        pid_t c = fork();
        if (c == 0) _exit(0);
        if (c > 0)
            forked++;
        else
            refused++;
    }
    sleep_ms(100);
    printf("forked %d refused %d\n", forked, refused);
    printf("live children %d\n", live_children());
    int reaped = 0;
    while (waitpid(-1, NULL, 0) > 0) reaped++;
    printf("reaped %d\n", reaped);
    return 0;
}

static int memfd(long mib) {
    int fd = memfd_create("hoard", MFD_CLOEXEC);
    if (fd < 0) {
        printf("memfd_create %s\n", strerrorname_np(errno));
        return 1;
    }
    static char chunk[1 << 20];
    memset(chunk, 0x5a, sizeof chunk);
    for (long i = 0; i < mib; i++) {
        if (write(fd, chunk, sizeof chunk) != (ssize_t)sizeof chunk) {
            printf("write %s after %ld MiB\n", strerrorname_np(errno), i);
            return 1;
        }
    }
    sleep_ms(1500);
    printf("held %ld MiB\n", mib);
    return 0;
}

static int freeze(void) {
    pid_t sup = getppid();
    if (kill(sup, SIGSTOP) != 0) {
        printf("SIGSTOP to the supervisor: %s\n", strerrorname_np(errno));
        sleep_ms(3000);
        return 0;
    }
    printf("supervisor stopped\n");
    sleep_ms(3000);
    int fd = open("outlived", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
    kill(sup, SIGCONT);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc == 3 && !strcmp(argv[1], "zombies")) return zombies(atoi(argv[2]));
    if (argc == 3 && !strcmp(argv[1], "memfd")) return memfd(atol(argv[2]));
    if (argc == 2 && !strcmp(argv[1], "freeze")) return freeze();
    fprintf(stderr, "usage: attack_budget zombies N | memfd MIB | freeze\n");
    return 2;
}
