/*
 * `.` of a removed directory, while a second thread swaps fd 100 between
 * two removed directories: one the guest removed in a writable place
 * (argv[2]/d), one the host removed from a read-only place (argv[1], opened
 * before and removed after "ready"). fchmodat(100, ".", 0700) must change
 * the writable one only; the read-only one must keep its mode.
 *
 * usage: vfs_attack_removed_dir READ_ONLY_DIR WRITABLE_DIR TRIES
 * prints: tries N done N erofs N other N flips N ro_mode OOO
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOT 100

static int fd_w, fd_ro;
static volatile int stop;
static volatile long flips;

static void *swapper(void *arg) {
    (void)arg;
    while (!stop) {
        dup2(fd_w, SLOT);
        dup2(fd_ro, SLOT);
        flips++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    int tries = atoi(argv[3]);
    fd_ro = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (fd_ro < 0) { perror("open read-only dir"); return 1; }
    printf("ready\n");
    fflush(stdout);
    struct stat st;
    for (int i = 0; i < 1000 && fstat(fd_ro, &st) == 0 && st.st_nlink != 0; i++) usleep(10000);
    char d[4096];
    snprintf(d, sizeof d, "%s/d", argv[2]);
    if (mkdir(d, 0755) != 0 || (fd_w = open(d, O_RDONLY | O_DIRECTORY)) < 0 || rmdir(d) != 0) {
        perror("writable dir");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, swapper, NULL);
    int ok = 0, erofs = 0, other = 0;
    for (int i = 0; i < tries; i++) {
        if (fchmodat(SLOT, ".", 0700 - (i & 1) * 0100, 0) == 0) ok++;
        else if (errno == EROFS) erofs++;
        else other++;
    }
    stop = 1;
    pthread_join(t, NULL);
    fstat(fd_ro, &st);
    printf("tries %d done %d erofs %d other %d flips %ld ro_mode %o\n", tries, ok, erofs, other, flips,
           st.st_mode & 07777);
    return 0;
}
