/* Tries changes under DIR and prints one line per attempt: "OP NAME: ok"
 * or "OP NAME: <strerror>". Usage: vfs_view_erofs DIR OP:NAME... where
 * NAME is relative to DIR. OPs ending in "-at" make the call relative to a
 * directory fd of DIR (as find, tar, rm -r and git do), the others give
 * the path relative to the working directory (DIR). The test runs it
 * natively, where every attempt succeeds (so each is possible), and in a
 * view where DIR is read-only, where each must fail with EROFS. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static int dfd = -1;

static int open_close(int dir, const char *p, int flags) {
    int fd = openat(dir, p, flags, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int with_suffix(char *buf, size_t n, const char *name, const char *suffix) {
    return snprintf(buf, n, "%s%s", name, suffix) < (int)n ? 0 : -1;
}

static int attempt(const char *op, const char *name) {
    char other[512];
    if (!strcmp(op, "create"))
        return open_close(AT_FDCWD, name, O_WRONLY | O_CREAT | O_EXCL);
    if (!strcmp(op, "create-at"))
        return open_close(dfd, name, O_WRONLY | O_CREAT | O_EXCL);
    if (!strcmp(op, "write"))
        return open_close(AT_FDCWD, name, O_WRONLY);
    if (!strcmp(op, "write-at"))
        return open_close(dfd, name, O_WRONLY);
    if (!strcmp(op, "append"))
        return open_close(AT_FDCWD, name, O_WRONLY | O_APPEND);
    if (!strcmp(op, "open-trunc"))
        return open_close(AT_FDCWD, name, O_RDWR | O_TRUNC);
    if (!strcmp(op, "truncate"))
        return truncate(name, 0);
    if (!strcmp(op, "chmod"))
        return chmod(name, 0600);
    if (!strcmp(op, "utimes"))
        return utimes(name, NULL);
    if (!strcmp(op, "mkdir"))
        return mkdir(name, 0755);
    if (!strcmp(op, "mkdir-at"))
        return mkdirat(dfd, name, 0755);
    if (!strcmp(op, "symlink"))
        return symlink("target", name);
    if (!strcmp(op, "symlink-at"))
        return symlinkat("target", dfd, name);
    if (!strcmp(op, "mkfifo"))
        return mkfifo(name, 0644);
    if (!strcmp(op, "mkfifo-at"))
        return mkfifoat(dfd, name, 0644);
    if (!strcmp(op, "link"))
        return with_suffix(other, sizeof other, name, ".hardlink") ?: link(name, other);
    if (!strcmp(op, "link-at"))
        return with_suffix(other, sizeof other, name, ".hardlink-at") ?: linkat(dfd, name, dfd, other, 0);
    if (!strcmp(op, "rename"))
        return with_suffix(other, sizeof other, name, ".renamed") ?: rename(name, other);
    if (!strcmp(op, "rename-at"))
        return with_suffix(other, sizeof other, name, ".renamed-at") ?: renameat(dfd, name, dfd, other);
    if (!strcmp(op, "unlink"))
        return unlink(name);
    if (!strcmp(op, "unlink-at"))
        return unlinkat(dfd, name, 0);
    if (!strcmp(op, "rmdir"))
        return rmdir(name);
    if (!strcmp(op, "rmdir-at"))
        return unlinkat(dfd, name, AT_REMOVEDIR);
    if (!strcmp(op, "reopen-via-proc")) {
        /* Reopening a read-only fd through /proc/self/fd must not turn it
         * into a writable one. */
        int fd = open(name, O_RDONLY);
        if (fd < 0)
            return -1;
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        int r = open_close(AT_FDCWD, p, O_WRONLY);
        int e = errno;
        close(fd);
        errno = e;
        return r;
    }
    fprintf(stderr, "unknown op %s\n", op);
    errno = EINVAL;
    return -2;
}

int main(int argc, char **argv) {
    if (argc < 2 || chdir(argv[1]) < 0 || (dfd = open(".", O_RDONLY | O_DIRECTORY)) < 0) {
        perror("usage: vfs_view_erofs DIR OP:NAME...");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        char op[64];
        const char *colon = strchr(argv[i], ':');
        if (!colon || colon - argv[i] >= (int)sizeof op) {
            fprintf(stderr, "bad argument %s\n", argv[i]);
            return 2;
        }
        memcpy(op, argv[i], colon - argv[i]);
        op[colon - argv[i]] = 0;
        int r = attempt(op, colon + 1);
        if (r == -2)
            return 2;
        if (r < 0)
            printf("%s %s: %s\n", op, colon + 1, strerror(errno));
        else
            printf("%s %s: ok\n", op, colon + 1);
        fflush(stdout);
    }
    return 0;
}
