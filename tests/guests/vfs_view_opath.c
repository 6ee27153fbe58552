/* The calls glibc and tools make on symlinks themselves (never following
 * them), run in DIR: argv[1]. Creates "file" and "link" -> "file" there,
 * then prints one line per call. The test compares the output with a
 * native run and checks the key lines: open(O_PATH|O_NOFOLLOW) on a
 * symlink must succeed, since glibc's fchmodat(AT_SYMLINK_NOFOLLOW)
 * (before fchmodat2) opens the path that way and then works on
 * /proc/self/fd/N. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void report(const char *name, int r) {
    if (r < 0)
        printf("%s: %s\n", name, strerror(errno));
    else
        printf("%s: ok\n", name);
    fflush(stdout);
}

static const char *kind(mode_t m) {
    return S_ISLNK(m) ? "symlink" : S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : "other";
}

int main(int argc, char **argv) {
    if (argc != 2 || chdir(argv[1]) < 0) {
        perror("usage: vfs_view_opath DIR");
        return 2;
    }
    int fd = open("file", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, "data\n", 5) != 5) {
        perror("creating file");
        return 2;
    }
    close(fd);
    unlink("link");
    report("symlink", symlink("file", "link"));

    fd = open("link", O_PATH | O_NOFOLLOW);
    report("open-opath-nofollow", fd);
    if (fd >= 0) {
        struct stat st;
        int r = fstatat(fd, "", &st, AT_EMPTY_PATH);
        report("fstatat-empty-path", r);
        if (r == 0)
            printf("opath-fd-kind: %s\n", kind(st.st_mode));
        char buf[256];
        ssize_t n = readlinkat(fd, "", buf, sizeof buf - 1);
        report("readlinkat-empty-path", (int)n);
        if (n >= 0) {
            buf[n] = 0;
            printf("opath-fd-target: %s\n", buf);
        }
        char p[64];
        snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
        report("lstat-proc-fd", lstat(p, &st));
        close(fd);
    }

    fd = open("link", O_PATH);
    report("open-opath-follow", fd);
    if (fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0)
            printf("opath-follow-kind: %s\n", kind(st.st_mode));
        close(fd);
    }
    report("open-rdonly-nofollow", open("link", O_RDONLY | O_NOFOLLOW));

    struct stat st;
    report("fchmodat-file-nofollow", fchmodat(AT_FDCWD, "file", 0640, AT_SYMLINK_NOFOLLOW));
    if (stat("file", &st) == 0)
        printf("file-mode: %o\n", st.st_mode & 07777);
    /* glibc answers EOPNOTSUPP here after its O_PATH open; another errno
     * (ENOENT, EACCES) would mean the open itself failed. */
    report("fchmodat-link-nofollow", fchmodat(AT_FDCWD, "link", 0600, AT_SYMLINK_NOFOLLOW));
    report("fchownat-link-nofollow", fchownat(AT_FDCWD, "link", getuid(), getgid(), AT_SYMLINK_NOFOLLOW));
    struct timespec ts[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    report("utimensat-link-nofollow", utimensat(AT_FDCWD, "link", ts, AT_SYMLINK_NOFOLLOW));
    if (lstat("link", &st) == 0)
        printf("link-mtime: %ld kind %s\n", (long)st.st_mtime, kind(st.st_mode));
    if (stat("file", &st) == 0)
        printf("file-mode-after: %o\n", st.st_mode & 07777);
    return 0;
}
