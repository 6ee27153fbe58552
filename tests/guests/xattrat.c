/* The *xattrat calls (Linux 6.13), by raw syscall: glibc has no wrappers.
 *
 *   xattrat FILE
 *       sets, gets, lists and removes user.* attributes of FILE by path
 *       (relative to the cwd), relative to a directory fd, and on an fd
 *       (AT_EMPTY_PATH), printing each result; then bad flags and args.
 *   xattrat-ro FILE
 *       reads FILE's user.keep and tries to set and remove attributes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif

struct xattr_args {
    unsigned long long value;
    unsigned size;
    unsigned flags;
};

static void show(const char *what, long r, const char *buf) {
    if (r < 0)
        printf("%s: %s\n", what, strerrorname_np(errno));
    else if (buf)
        printf("%s: %ld %.*s\n", what, r, (int)r, buf);
    else
        printf("%s: %ld\n", what, r);
}

static void list(const char *what, int dfd, const char *path, unsigned flags) {
    char b[256];
    long r = syscall(SYS_listxattrat, dfd, path, flags, b, sizeof b);
    /* Names are NUL-separated: show them with commas. */
    for (long i = 0; i < r; i++)
        if (!b[i]) b[i] = ',';
    show(what, r, b);
}

static long get(int dfd, const char *path, unsigned flags, const char *name, char *b, unsigned size) {
    struct xattr_args a = {(unsigned long long)(unsigned long)b, size, 0};
    return syscall(SYS_getxattrat, dfd, path, flags, name, &a, sizeof a);
}

static long set(int dfd, const char *path, unsigned flags, const char *name, const char *v, unsigned xflags) {
    struct xattr_args a = {(unsigned long long)(unsigned long)v, (unsigned)strlen(v), xflags};
    return syscall(SYS_setxattrat, dfd, path, flags, name, &a, sizeof a);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc != 3) return 2;
    const char *f = argv[2];
    char b[64];
    if (!strcmp(argv[1], "xattrat")) {
        show("set by path", set(AT_FDCWD, f, 0, "user.one", "first", 0), NULL);
        show("get by path", get(AT_FDCWD, f, 0, "user.one", b, sizeof b), b);
        show("get size", get(AT_FDCWD, f, 0, "user.one", NULL, 0), NULL);
        show("create again", set(AT_FDCWD, f, 0, "user.one", "x", 1 /* XATTR_CREATE */), NULL);
        int d = open(".", O_RDONLY | O_DIRECTORY);
        show("set by dirfd", set(d, f, 0, "user.two", "second", 0), NULL);
        show("get by dirfd", get(d, f, 0, "user.two", b, sizeof b), b);
        int fd = open(f, O_RDONLY);
        show("set on fd", set(fd, "", AT_EMPTY_PATH, "user.three", "third", 0), NULL);
        show("get on fd", get(fd, "", AT_EMPTY_PATH, "user.three", b, sizeof b), b);
        list("list by path", AT_FDCWD, f, 0);
        list("list on fd", fd, "", AT_EMPTY_PATH);
        show("remove by path", syscall(SYS_removexattrat, AT_FDCWD, f, 0, "user.one"), NULL);
        show("remove by dirfd", syscall(SYS_removexattrat, d, f, 0, "user.two"), NULL);
        show("remove on fd", syscall(SYS_removexattrat, fd, "", AT_EMPTY_PATH, "user.three"), NULL);
        show("remove missing", syscall(SYS_removexattrat, AT_FDCWD, f, 0, "user.one"), NULL);
        list("list after", AT_FDCWD, f, 0);
        show("get missing", get(AT_FDCWD, f, 0, "user.one", b, sizeof b), NULL);
        show("bad at_flags", syscall(SYS_listxattrat, AT_FDCWD, f, 0x8000, b, sizeof b), NULL);
        struct xattr_args small = {0, 0, 0};
        show("short args", syscall(SYS_getxattrat, AT_FDCWD, f, 0, "user.one", &small, 8), NULL);
        show("missing file", get(AT_FDCWD, "no-such-file", 0, "user.one", b, sizeof b), NULL);
        int op = open(f, O_PATH);
        show("get on O_PATH fd", get(op, "", AT_EMPTY_PATH, "user.one", b, sizeof b), NULL);
        list("list on O_PATH fd", op, "", AT_EMPTY_PATH);
        show("set on O_PATH fd", set(op, "", AT_EMPTY_PATH, "user.one", "x", 0), NULL);
        show("remove on O_PATH fd", syscall(SYS_removexattrat, op, "", AT_EMPTY_PATH, "user.one"), NULL);
        struct {
            struct xattr_args a;
            unsigned long long more;
        } big = {{(unsigned long long)(unsigned long)"v", 1, 0}, 0};
        show("larger args", syscall(SYS_setxattrat, AT_FDCWD, f, 0, "user.big", &big, sizeof big), NULL);
        big.more = 1;
        show("larger args, tail set", syscall(SYS_setxattrat, AT_FDCWD, f, 0, "user.big", &big, sizeof big), NULL);
        show("remove big", syscall(SYS_removexattrat, AT_FDCWD, f, 0, "user.big"), NULL);
    } else if (!strcmp(argv[1], "xattrat-ro")) {
        show("get", get(AT_FDCWD, f, 0, "user.keep", b, sizeof b), b);
        show("set", set(AT_FDCWD, f, 0, "user.new", "x", 0), NULL);
        show("remove", syscall(SYS_removexattrat, AT_FDCWD, f, 0, "user.keep"), NULL);
        int fd = open(f, O_RDONLY);
        show("set on fd", set(fd, "", AT_EMPTY_PATH, "user.new", "x", 0), NULL);
        show("get on fd", get(fd, "", AT_EMPTY_PATH, "user.keep", b, sizeof b), b);
    } else {
        return 2;
    }
    return 0;
}
