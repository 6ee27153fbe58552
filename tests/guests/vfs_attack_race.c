/* Filesystem-view races (tests/vfs_attacks.rs): a second thread changes
 * what a path means while the first uses it, thousands of times. A
 * supervisor that checks a path and then lets the kernel look it up again
 * (by re-reading guest memory, or by resolving a symlink anew) loses these
 * races now and then; one that opens what it checked never does.
 *
 *   swap-link DIR BENIGN EVIL TRIES
 *       DIR/link is flipped (rename of a fresh symlink) between -> BENIGN
 *       and -> EVIL while this thread reads DIR/link (by path, and by
 *       openat from a dirfd of DIR, alternately)
 *   swap-dir DIR BENIGNDIR EVILDIR NAME TRIES
 *       DIR/d is flipped between -> BENIGNDIR and -> EVILDIR while this
 *       thread reads DIR/d/NAME
 *   flip-read BENIGN EVIL TRIES
 *       one buffer holds BENIGN or EVIL (equal lengths), rewritten all the
 *       time, while this thread opens it and reads
 *   flip-write BENIGN EVIL TRIES
 *       the same, opening for O_WRONLY|O_APPEND and writing "X"
 *   flip-link BENIGN EVIL DIR TRIES
 *       the same, hard-linking the buffer's path to DIR/lN; links that are
 *       not to BENIGN are kept (the test looks at what they are)
 *   flip-make BENIGN EVIL TRIES
 *       the same, creating the buffer's path (O_CREAT|O_EXCL), removing
 *       it, making it a directory and removing that: calls the supervisor
 *       checks and may then let the kernel make itself
 *   flip-dirfd BENIGNDIR EVILDIR NAME TRIES
 *       fd 100 is flipped (dup2) between directory fds of BENIGNDIR and
 *       EVILDIR while this thread creates, removes, mkdirs and rmdirs NAME
 *       relative to it
 *   flip-fd WRITABLE READONLY TRIES
 *       fd 100 is flipped (dup2) between WRITABLE open for writing and
 *       READONLY open for reading while this thread sets its times
 *       (futimens) and mode (fchmod 0600): changes through an fd that the
 *       supervisor lets the kernel make when the fd needs no look
 *
 * Reads are classified against BENIGN's content (read first, without a
 * race): "tries N benign B other O errors E flips F", then "first other:
 * CONTENT" if any. Writes and links print "tries N done D errors E flips F".
 * F counts the second thread's flips during the tries: the loop starts only
 * once that thread runs, and a race it hardly took part in proves nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long flips;
static char dir[4096], benign[4096], evil[4096];
static volatile char flip_buf[4096];
static size_t flip_len;

static void *swap_link(void *arg) {
    const char *name = arg;
    char link[4200], t1[4200], t2[4200];
    snprintf(link, sizeof link, "%s/%s", dir, name);
    snprintf(t1, sizeof t1, "%s/.t1", dir);
    snprintf(t2, sizeof t2, "%s/.t2", dir);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        unlink(t1);
        if (symlink(benign, t1) == 0) rename(t1, link);
        unlink(t2);
        if (symlink(evil, t2) == 0) rename(t2, link);
        atomic_fetch_add_explicit(&flips, 1, memory_order_relaxed);
    }
    return NULL;
}

/* A few microseconds at most, different each time: each path stays in
 * the buffer long enough to be seen whole, for a varying time, so both the
 * moment the supervisor reads it and the moment the kernel would read it
 * again land on either path. */
static void dwell(unsigned *seed) {
    *seed = *seed * 1103515245u + 12345u;
    for (volatile unsigned k = 0; k < (*seed >> 20) % 2048; k++) {
    }
}

static void *flipper(void *arg) {
    (void)arg;
    unsigned seed = 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (size_t i = 0; i <= flip_len; i++) flip_buf[i] = benign[i];
        dwell(&seed);
        for (size_t i = 0; i <= flip_len; i++) flip_buf[i] = evil[i];
        dwell(&seed);
        atomic_fetch_add_explicit(&flips, 1, memory_order_relaxed);
    }
    return NULL;
}

static int dirfds[2];

static void *dirfd_flipper(void *arg) {
    (void)arg;
    unsigned seed = 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        dup2(dirfds[0], 100);
        dwell(&seed);
        dup2(dirfds[1], 100);
        dwell(&seed);
        atomic_fetch_add_explicit(&flips, 1, memory_order_relaxed);
    }
    return NULL;
}

/* Creates, removes, mkdirs and rmdirs NAME relative to DIRFD; counts the
 * calls that worked. */
static void make_and_remove(int dirfd, const char *name, long *done, long *errs) {
    int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        ++*done;
    } else {
        ++*errs;
    }
    unlinkat(dirfd, name, 0) == 0 ? ++*done : ++*errs;
    mkdirat(dirfd, name, 0755) == 0 ? ++*done : ++*errs;
    unlinkat(dirfd, name, AT_REMOVEDIR) == 0 ? ++*done : ++*errs;
}

static char benign_content[256];
static ssize_t benign_n;
static long n_benign, n_other, n_err;
static char first_other[128];

static void sanitize(char *b, ssize_t n) {
    b[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (b[i] <= ' ' || b[i] > '~') b[i] = '_';
}

static void classify(int fd) {
    if (fd < 0) {
        n_err++;
        return;
    }
    char b[256];
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n < 0) {
        n_err++;
    } else if (n == benign_n && !memcmp(b, benign_content, n)) {
        n_benign++;
    } else {
        if (!n_other++) {
            sanitize(b, n < 120 ? n : 120);
            strcpy(first_other, b);
        }
    }
}

static void read_benign(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("cannot read the benign file %s: %s\n", path, strerrorname_np(errno));
        exit(3);
    }
    benign_n = read(fd, benign_content, sizeof benign_content);
    close(fd);
}

static long flips_at_start;

static void report_reads(long tries) {
    printf("tries %ld benign %ld other %ld errors %ld flips %ld\n", tries, n_benign, n_other, n_err,
           atomic_load(&flips) - flips_at_start);
    if (n_other) printf("first other: %s\n", first_other);
}

/* Puts the calling thread on the nth CPU it may use, if there is one.
 * Two threads sharing a CPU take turns by timeslice: the buffer would sit
 * still for a whole slice of the main loop and nothing would race. */
static void pin(int nth) {
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof allowed, &allowed) || CPU_COUNT(&allowed) < 2) return;
    for (int c = 0, seen = 0; c < CPU_SETSIZE; c++) {
        if (CPU_ISSET(c, &allowed) && seen++ == nth) {
            CPU_ZERO(&one);
            CPU_SET(c, &one);
            sched_setaffinity(0, sizeof one, &one);
            return;
        }
    }
}

static void *(*second_fn)(void *);

static void *second(void *arg) {
    pin(1);
    return second_fn(arg);
}

/* Starts the second thread and waits until it has flipped a few times. */
static void start(pthread_t *t, void *(*fn)(void *), void *arg) {
    pin(0);
    second_fn = fn;
    if (pthread_create(t, NULL, second, arg)) {
        printf("pthread_create failed\n");
        exit(3);
    }
    while (atomic_load(&flips) < 10) sched_yield();
    flips_at_start = atomic_load(&flips);
}

/* Called between tries: lets the second thread in even where the two
 * share a CPU. */
static void breathe(long i) {
    if (i % 64 == 63) sched_yield();
}

static void finish(pthread_t t) {
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2) return 2;
    const char *mode = argv[1];
    pthread_t t;
    if (!strcmp(mode, "swap-link") && argc == 6) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        snprintf(benign, sizeof benign, "%s", argv[3]);
        snprintf(evil, sizeof evil, "%s", argv[4]);
        long tries = atol(argv[5]);
        read_benign(benign);
        char link[4200];
        snprintf(link, sizeof link, "%s/link", dir);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        symlink(benign, link);
        start(&t, swap_link, "link");
        for (long i = 0; i < tries; i++) {
            classify(i % 2 ? openat(dfd, "link", O_RDONLY) : open(link, O_RDONLY));
            breathe(i);
        }
        finish(t);
        report_reads(tries);
    } else if (!strcmp(mode, "swap-dir") && argc == 7) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        snprintf(benign, sizeof benign, "%s", argv[3]);
        snprintf(evil, sizeof evil, "%s", argv[4]);
        long tries = atol(argv[6]);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", benign, argv[5]);
        read_benign(path);
        snprintf(path, sizeof path, "%s/d/%s", dir, argv[5]);
        start(&t, swap_link, "d");
        for (long i = 0; i < tries; i++) {
            classify(open(path, O_RDONLY));
            breathe(i);
        }
        finish(t);
        report_reads(tries);
    } else if (!strcmp(mode, "flip-dirfd") && argc == 6) {
        dirfds[0] = open(argv[2], O_RDONLY | O_DIRECTORY);
        dirfds[1] = open(argv[3], O_RDONLY | O_DIRECTORY);
        if (dirfds[0] < 0 || dirfds[1] < 0) {
            printf("cannot open the directories: %s\n", strerrorname_np(errno));
            return 3;
        }
        dup2(dirfds[0], 100);
        long tries = atol(argv[5]), done = 0, errs = 0;
        start(&t, dirfd_flipper, NULL);
        for (long i = 0; i < tries; i++) {
            make_and_remove(100, argv[4], &done, &errs);
            breathe(i);
        }
        finish(t);
        printf("tries %ld done %ld errors %ld flips %ld\n", tries, done, errs, atomic_load(&flips) - flips_at_start);
    } else if (!strcmp(mode, "flip-fd") && argc == 5) {
        dirfds[0] = open(argv[2], O_WRONLY);
        dirfds[1] = open(argv[3], O_RDONLY);
        if (dirfds[0] < 0 || dirfds[1] < 0) {
            printf("cannot open the files: %s\n", strerrorname_np(errno));
            return 3;
        }
        dup2(dirfds[0], 100);
        long tries = atol(argv[4]), done = 0, errs = 0;
        const struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
        start(&t, dirfd_flipper, NULL);
        for (long i = 0; i < tries; i++) {
            futimens(100, times) == 0 ? ++done : ++errs;
            fchmod(100, 0600) == 0 ? ++done : ++errs;
            breathe(i);
        }
        finish(t);
        printf("tries %ld done %ld errors %ld flips %ld\n", tries, done, errs, atomic_load(&flips) - flips_at_start);
    } else if (!strncmp(mode, "flip-", 5) && argc >= 5) {
        snprintf(benign, sizeof benign, "%s", argv[2]);
        snprintf(evil, sizeof evil, "%s", argv[3]);
        flip_len = strlen(benign);
        if (strlen(evil) != flip_len) {
            printf("the two paths must have the same length\n");
            return 2;
        }
        memcpy((char *)flip_buf, benign, flip_len + 1);
        const char *path = (const char *)flip_buf;
        if (!strcmp(mode, "flip-read") && argc == 5) {
            long tries = atol(argv[4]);
            read_benign(benign);
            start(&t, flipper, NULL);
            for (long i = 0; i < tries; i++) {
                classify(open(path, O_RDONLY));
                breathe(i);
            }
            finish(t);
            report_reads(tries);
        } else if (!strcmp(mode, "flip-write") && argc == 5) {
            long tries = atol(argv[4]), done = 0, errs = 0;
            start(&t, flipper, NULL);
            for (long i = 0; i < tries; i++) {
                int fd = open(path, O_WRONLY | O_APPEND);
                if (fd >= 0 && write(fd, "X", 1) == 1)
                    done++;
                else
                    errs++;
                if (fd >= 0) close(fd);
                breathe(i);
            }
            finish(t);
            printf("tries %ld done %ld errors %ld flips %ld\n", tries, done, errs, atomic_load(&flips) - flips_at_start);
        } else if (!strcmp(mode, "flip-make") && argc == 5) {
            long tries = atol(argv[4]), done = 0, errs = 0;
            start(&t, flipper, NULL);
            for (long i = 0; i < tries; i++) {
                make_and_remove(AT_FDCWD, path, &done, &errs);
                breathe(i);
            }
            finish(t);
            printf("tries %ld done %ld errors %ld flips %ld\n", tries, done, errs, atomic_load(&flips) - flips_at_start);
        } else if (!strcmp(mode, "flip-link") && argc == 6) {
            snprintf(dir, sizeof dir, "%s", argv[4]);
            long tries = atol(argv[5]), done = 0, errs = 0;
            struct stat bst;
            if (stat(benign, &bst) < 0) {
                printf("cannot stat the benign file: %s\n", strerrorname_np(errno));
                return 3;
            }
            start(&t, flipper, NULL);
            char l[4200];
            for (long i = 0; i < tries; i++) {
                breathe(i);
                snprintf(l, sizeof l, "%s/l%ld", dir, i);
                if (link(path, l) < 0) {
                    errs++;
                    continue;
                }
                done++;
                struct stat st;
                /* Only links to the benign file are removed; any other is
                 * left for the test to identify. */
                if (stat(l, &st) == 0 && st.st_ino == bst.st_ino && st.st_dev == bst.st_dev) unlink(l);
            }
            finish(t);
            printf("tries %ld done %ld errors %ld flips %ld\n", tries, done, errs, atomic_load(&flips) - flips_at_start);
        } else {
            return 2;
        }
    } else {
        fprintf(stderr, "usage: see the comment at the top\n");
        return 2;
    }
    return 0;
}
