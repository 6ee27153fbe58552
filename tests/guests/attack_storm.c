/* Confusing the supervisor (tests/attacks.rs): many threads in notified
 * calls at once, callers that vanish mid-call (exec, SIGKILL, thread exit),
 * buffers unmapped under the supervisor's write, closed standard fds and
 * every catchable signal. Run with --hostname NODENAME.
 *
 *   attack_storm storm NODENAME       500 threads, valid and invalid uname
 *                                     pointers, while other processes' threads
 *                                     are cut short by exec and SIGKILL;
 *                                     exits 42 when every answer was right
 *   attack_storm exec-check NODENAME  (helper: exit 0 iff uname is right)
 *   attack_storm munmap-race NODENAME uname into a page another thread keeps
 *                                     unmapping and remapping
 *   attack_storm chaos NODENAME       fds 0-2 closed and replaced, every
 *                                     catchable classic signal (1-31) sent to
 *                                     itself and to a thread in uname; exits 37
 *   attack_storm realtime NODENAME    every real-time signal, handled, sent to
 *                                     itself and to a thread in uname; then a
 *                                     child dies of SIGRTMIN+2
 *   attack_storm nondumpable NODENAME PR_SET_DUMPABLE 0, then uname
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *expected;
static atomic_long n_valid, n_wrong, n_efault, n_other;

static long raw_uname(void *p) { return syscall(SYS_uname, p); }

static void check_valid(void) {
    struct utsname u;
    memset(&u, 0xa5, sizeof u);
    if (raw_uname(&u) != 0)
        atomic_fetch_add(&n_other, 1);
    else if (strcmp(u.nodename, expected) != 0)
        atomic_fetch_add(&n_wrong, 1);
    else
        atomic_fetch_add(&n_valid, 1);
}

static char *ro_page, *unmapped_page;

static void check_invalid(int k) {
    void *bad[] = {NULL, (void *)1, unmapped_page, ro_page, ro_page + 4096 - 100, (void *)0xffffffffff600000UL};
    errno = 0;
    long r = raw_uname(bad[k % 6]);
    if (r == -1 && errno == EFAULT)
        atomic_fetch_add(&n_efault, 1);
    else
        atomic_fetch_add(&n_other, 1);
}

static pthread_barrier_t start;

static void *storm_thread(void *arg) {
    long i = (long)arg;
    pthread_barrier_wait(&start);
    for (int k = 0; k < 8; k++) {
        check_valid();
        check_invalid((int)(i + k));
        if (i % 10 == 0 && k == 4) pthread_exit(NULL); /* leave mid-storm */
    }
    return NULL;
}

static void *spin_uname(void *arg) {
    (void)arg;
    struct utsname u;
    for (;;) raw_uname(&u);
    return NULL;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* A process whose threads hammer uname, then a non-main thread execs: the
 * others vanish in the middle of their notified calls. */
static void *exec_from_thread(void *arg) {
    (void)arg;
    sleep_ms(20);
    char *argv[] = {"attack_storm", "exec-check", (char *)expected, NULL};
    execve("/proc/self/exe", argv, environ);
    _exit(126);
}

static pid_t spawn_exec_victim(void) {
    pid_t c = fork();
    if (c != 0) return c;
    for (int i = 0; i < 24; i++) {
        pthread_t t;
        pthread_create(&t, NULL, spin_uname, NULL);
    }
    pthread_t t;
    pthread_create(&t, NULL, exec_from_thread, NULL);
    for (;;) pause();
}

static pid_t spawn_kill_victim(void) {
    pid_t c = fork();
    if (c != 0) return c;
    for (int i = 0; i < 24; i++) {
        pthread_t t;
        pthread_create(&t, NULL, spin_uname, NULL);
    }
    spin_uname(NULL);
    return 0;
}

static int storm(void) {
    ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* PROT_NONE, not unmapped: thread stacks must not land there */
    unmapped_page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    enum { THREADS = 500, VICTIMS = 6 };
    pid_t execs[VICTIMS], kills[VICTIMS];
    for (int i = 0; i < VICTIMS; i++) execs[i] = spawn_exec_victim();
    for (int i = 0; i < VICTIMS; i++) kills[i] = spawn_kill_victim();

    pthread_barrier_init(&start, NULL, THREADS + 1);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    static pthread_t th[THREADS];
    int made = 0;
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], &attr, storm_thread, (void *)i) == 0) made++;
    if (made != THREADS) {
        printf("only %d threads\n", made);
        return 1;
    }
    pthread_barrier_wait(&start);
    /* Kill the other victims while their threads sit in uname. */
    for (int i = 0; i < VICTIMS; i++) {
        sleep_ms(3);
        kill(kills[i], SIGKILL);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);

    int execs_ok = 0, kills_ok = 0;
    for (int i = 0; i < VICTIMS; i++) {
        int st;
        if (waitpid(execs[i], &st, 0) == execs[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0) execs_ok++;
        if (waitpid(kills[i], &st, 0) == kills[i] && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) kills_ok++;
    }
    check_valid();
    long v = n_valid, w = n_wrong, f = n_efault, o = n_other;
    /* threads leaving early (i % 10 == 0) make 5 calls of each kind */
    long want = (THREADS / 10) * 5 + (THREADS - THREADS / 10) * 8;
    printf("valid %ld/%ld wrong %ld efault %ld/%ld other %ld exec-victims %d/%d kill-victims %d/%d\n", v, want + 1, w, f,
           want, o, execs_ok, VICTIMS, kills_ok, VICTIMS);
    int good = v == want + 1 && w == 0 && f == want && o == 0 && execs_ok == VICTIMS && kills_ok == VICTIMS;
    return good ? 42 : 1;
}

static int exec_check(void) {
    struct utsname u;
    if (uname(&u) != 0) return 2;
    return strcmp(u.nodename, expected) == 0 ? 0 : 3;
}

/* ---- munmap-race -------------------------------------------------------- */

static char *volatile page;
static atomic_int stop;

static void *remapper(void *arg) {
    (void)arg;
    unsigned k = 0;
    while (!atomic_load(&stop)) {
        munmap(page, 8192);
        if (k % 3 == 0) {
            /* the second page read-only: the struct straddles it */
            mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            mmap(page + 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        } else if (k % 3 == 1) {
            mmap(page, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        }
        /* k % 3 == 2: leave it unmapped for a while */
        k++;
        sched_yield();
    }
    return NULL;
}

static int munmap_race(void) {
    page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *target = page + 4096 - 200; /* 390-byte struct across the boundary */
    pthread_t t;
    pthread_create(&t, NULL, remapper, NULL);
    long ok = 0, efault = 0, other = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0;; i++) {
        errno = 0;
        long r = raw_uname(target);
        if (r == 0)
            ok++;
        else if (errno == EFAULT)
            efault++;
        else
            other++;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (i >= 20000 || (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 > 700) break;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    printf("both outcomes seen %s\n", ok > 0 && efault > 0 ? "yes" : "no");
    printf("other results %ld\n", other);
    struct utsname u;
    if (uname(&u) == 0)
        printf("nodename %s\n", u.nodename);
    else
        printf("nodename %s\n", strerrorname_np(errno));
    fprintf(stderr, "ok %ld efault %ld other %ld\n", ok, efault, other);
    return 0;
}

/* ---- chaos ----------------------------------------------------------------- */

static atomic_int handled[NSIG];
static atomic_int in_uname_stop;
static atomic_long u_ok, u_eintr, u_other;

static void on_signal(int s) { atomic_fetch_add(&handled[s], 1); }

static void *uname_loop(void *arg) {
    (void)arg;
    while (!atomic_load(&in_uname_stop)) {
        struct utsname u;
        errno = 0;
        long r = raw_uname(&u);
        if (r == 0 && strcmp(u.nodename, expected) == 0)
            atomic_fetch_add(&u_ok, 1);
        else if (r == -1 && errno == EINTR)
            atomic_fetch_add(&u_eintr, 1);
        else
            atomic_fetch_add(&u_other, 1);
    }
    return NULL;
}

static int chaos(void) {
    int out = fcntl(1, F_DUPFD_CLOEXEC, 100);
    /* close and replace the standard fds */
    close(0);
    close(1);
    close(2);
    int n = open("/dev/null", O_RDWR); /* 0 */
    dup2(n, 1);
    dup2(n, 2);
    int pfd[2];
    if (pipe(pfd) == 0) {
        dup2(pfd[0], 2); /* stderr is now a pipe nobody reads */
        dup2(pfd[1], 0);
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    /* The classic signals (real-time ones: see "realtime") */
    int sent = 0;
    static int installed[NSIG];
    for (int s = 1; s < 32; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        if (sigaction(s, &sa, NULL) == 0) {
            installed[s] = 1;
            sent++;
        }
    }
    pthread_t t;
    pthread_create(&t, NULL, uname_loop, NULL);
    sleep_ms(5);
    int delivered_to = 0;
    for (int round = 0; round < 3; round++) {
        for (int s = 1; s < 32; s++) {
            if (!installed[s]) continue;
            kill(getpid(), s);
            /* directed at the thread that sits in uname */
            pthread_kill(t, s);
            union sigval v = {.sival_int = s};
            sigqueue(getpid(), s, v);
            delivered_to++;
        }
    }
    sleep_ms(50);
    atomic_store(&in_uname_stop, 1);
    pthread_join(t, NULL);
    int all = 0;
    for (int s = 1; s < NSIG; s++)
        if (atomic_load(&handled[s]) > 0) all++;
    struct utsname u;
    const char *nn = uname(&u) == 0 ? u.nodename : strerrorname_np(errno);
    dprintf(out, "signals caught %d/%d\n", all, sent);
    dprintf(out, "uname in the loop ok %s eintr %ld other %ld\n", u_ok > 0 ? "yes" : "no", (long)u_eintr,
            (long)u_other);
    dprintf(out, "nodename %s\n", nn);
    (void)delivered_to;
    return 37;
}

/* ---- realtime -------------------------------------------------------------- */

static int realtime(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    int n = 0;
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        if (sigaction(s, &sa, NULL) == 0) n++;
    pthread_t t;
    pthread_create(&t, NULL, uname_loop, NULL);
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++) {
        union sigval v = {.sival_int = s};
        sigqueue(getpid(), s, v);
        pthread_kill(t, s);
    }
    sleep_ms(20);
    atomic_store(&in_uname_stop, 1);
    pthread_join(t, NULL);
    int caught = 0;
    for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
        if (atomic_load(&handled[s]) > 0) caught++;
    printf("real-time signals caught %d/%d\n", caught, n);
    /* a child that dies of one */
    pid_t c = fork();
    if (c == 0) {
        signal(SIGRTMIN + 2, SIG_DFL);
        raise(SIGRTMIN + 2);
        _exit(0);
    }
    int st = 0;
    waitpid(c, &st, 0);
    printf("child died of SIGRTMIN+%d\n", WIFSIGNALED(st) ? WTERMSIG(st) - SIGRTMIN : -1);
    struct utsname u;
    printf("nodename %s\n", uname(&u) == 0 ? u.nodename : strerrorname_np(errno));
    return 0;
}

/* ---- nondumpable ----------------------------------------------------------- */

/* A process may make itself non-dumpable; then nobody without
 * CAP_SYS_PTRACE may write its memory, the supervisor included. */
static int nondumpable(void) {
    prctl(PR_SET_DUMPABLE, 0);
    struct utsname u;
    printf("nodename %s\n", uname(&u) == 0 ? u.nodename : strerrorname_np(errno));
    pid_t c = fork(); /* children of a non-dumpable process are too */
    if (c == 0) {
        printf("child nodename %s\n", uname(&u) == 0 ? u.nodename : strerrorname_np(errno));
        _exit(0);
    }
    waitpid(c, NULL, 0);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 3) return 2;
    expected = argv[2];
    if (!strcmp(argv[1], "storm")) return storm();
    if (!strcmp(argv[1], "exec-check")) return exec_check();
    if (!strcmp(argv[1], "munmap-race")) return munmap_race();
    if (!strcmp(argv[1], "chaos")) return chaos();
    if (!strcmp(argv[1], "realtime")) return realtime();
    if (!strcmp(argv[1], "nondumpable")) return nondumpable();
    return 2;
}
