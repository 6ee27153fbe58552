/* Filesystem-view attacks (tests/vfs_attacks.rs). Runs the operations
 * given on the command line, in order; each prints one "LABEL RESULT" line
 * (RESULT has no spaces): ok, ok:CONTENT (what a read got, spaces and
 * control characters as '_'), an errno name, or a fact (listed, absent, a
 * list of fds). A read whose directory fd could not be opened prints
 * dir:ERRNO: the attack itself was not tried. The last line is "done".
 *
 * The test decides what is an attack and what a control: this program
 * only tries. Paths may contain %PID%, %PPID% and %TID%.
 *
 *   read LABEL DIR PATH          openat(DIR, PATH, O_RDONLY) and read; DIR "-"
 *                                is AT_FDCWD, "@D" an O_PATH fd of D, else an
 *                                O_RDONLY|O_DIRECTORY fd of DIR
 *   readvia LABEL PATH           the read through each open syscall (the legacy
 *                                open, openat, openat2): prints LABEL/open,
 *                                LABEL/openat, LABEL/openat2
 *   procfd LABEL DIR REL         open("/proc/self/fd/<O_RDONLY fd of DIR>/REL"), read
 *   write LABEL PATH MODE        open for writing (MODE trunc, append, rdwr,
 *                                creat, excl) and write "PWNED\n"; write:ERRNO
 *                                when the open worked but the write did not
 *   reopen LABEL PATH HOW VIA MODE  fd = open(PATH, HOW: path=O_PATH, ro=O_RDONLY),
 *                                then open(VIA: proc=/proc/self/fd/N,
 *                                dev=/dev/fd/N, MODE: rdwr, trunc, append)
 *                                and write; first:ERRNO when the first open failed
 *   call LABEL CALL PATH         one single-path syscall, see call()
 *   rename LABEL A B | exchange LABEL A B | link LABEL A B | linkf LABEL A B
 *   linkfd LABEL A B             linkat("/proc/self/fd/<O_PATH fd of A>", B, AT_SYMLINK_FOLLOW)
 *   linkempty LABEL A B          linkat(<O_PATH fd of A>, "", B, AT_EMPTY_PATH)
 *   symlink LABEL TARGET LINK
 *   getdents LABEL DIR NAME      listed or absent (NAME among DIR's entries)
 *   chdir LABEL DIR | updir LABEL N (chdir("..") N times)
 *   connect LABEL PATH           connect to a unix socket; if it works, take
 *                                an fd with SCM_RIGHTS and read it
 *   handle LABEL MOUNTDIR TYPE:HEX   open_by_handle_at with that handle
 *   selfhandle LABEL PATH        name_to_handle_at then open_by_handle_at:
 *                                LABEL/name_to_handle_at, LABEL/open_by_handle_at
 *   fds LABEL                    fds above 2 (none, or N,M,...); then for each
 *                                one "fd N ok:CONTENT" (pread) and
 *                                "fd N/secret ..." (openat(N, "secret"))
 *   exec LABEL PATH              fork, execve(PATH, {PATH, "noop"}): ok when it ran
 *   noop                         prints "hidden program ran" (what exec runs)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static const char *err(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "E?";
}

static void res(const char *label, long r, int e) { printf("%s %s\n", label, r < 0 ? err(e) : "ok"); }

/* Replaces %PID%, %PPID% and %TID% (the test cannot know them). */
static const char *subst(const char *in) {
    static char bufs[4][8192];
    static int which;
    char *out = bufs[which++ % 4];
    size_t o = 0;
    while (*in && o < sizeof bufs[0] - 32) {
        if (!strncmp(in, "%PID%", 5)) {
            o += sprintf(out + o, "%d", getpid());
            in += 5;
        } else if (!strncmp(in, "%PPID%", 6)) {
            o += sprintf(out + o, "%d", getppid());
            in += 6;
        } else if (!strncmp(in, "%TID%", 5)) {
            o += sprintf(out + o, "%ld", (long)syscall(SYS_gettid));
            in += 5;
        } else {
            out[o++] = *in++;
        }
    }
    out[o] = 0;
    return out;
}

/* Prints "LABEL ok:CONTENT" for n bytes of buf (which has room for a NUL). */
static void print_buf(const char *label, char *buf, ssize_t n) {
    buf[n] = 0;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] <= ' ' || buf[i] > '~') buf[i] = '_';
    printf("%s ok:%s\n", label, buf);
}

/* Reads fd from offset 0 (an fd passed over a socket may share its offset
 * with earlier copies), closes it, prints "LABEL ok:CONTENT". */
static void print_read(const char *label, int fd) {
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n < 0 && errno == ESPIPE) n = read(fd, buf, sizeof buf - 1);
    int e = errno;
    close(fd);
    if (n < 0)
        printf("%s read:%s\n", label, err(e));
    else
        print_buf(label, buf, n);
}

/* The dirfd a DIR argument names; -2 (with errno) when it cannot be opened. */
static int dirfd_of(const char *dir) {
    if (!strcmp(dir, "-")) return AT_FDCWD;
    int fd = dir[0] == '@' ? open(subst(dir + 1), O_PATH | O_DIRECTORY) : open(subst(dir), O_RDONLY | O_DIRECTORY);
    return fd < 0 ? -2 : fd;
}

static void op_read(const char *label, const char *dir, const char *path) {
    int dfd = dirfd_of(dir);
    if (dfd == -2) {
        printf("%s dir:%s\n", label, err(errno));
        return;
    }
    int fd = openat(dfd, subst(path), O_RDONLY);
    int e = errno;
    if (dfd >= 0) close(dfd);
    if (fd < 0)
        printf("%s %s\n", label, err(e));
    else
        print_read(label, fd);
}

/* Every open-like entry point: a path handler must cover each one. */
static void op_readvia(const char *label, const char *path) {
    char l[512];
    const char *p = subst(path);
    long fd;
    snprintf(l, sizeof l, "%s/open", label);
    fd = syscall(SYS_open, p, O_RDONLY);
    if (fd < 0) printf("%s %s\n", l, err(errno)); else print_read(l, (int)fd);
    snprintf(l, sizeof l, "%s/openat", label);
    fd = syscall(SYS_openat, AT_FDCWD, p, O_RDONLY);
    if (fd < 0) printf("%s %s\n", l, err(errno)); else print_read(l, (int)fd);
    snprintf(l, sizeof l, "%s/openat2", label);
    struct open_how how = {.flags = O_RDONLY};
    fd = syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how);
    if (fd < 0) printf("%s %s\n", l, err(errno)); else print_read(l, (int)fd);
}

static void op_procfd(const char *label, const char *dir, const char *rel) {
    int dfd = open(subst(dir), O_RDONLY | O_DIRECTORY);
    if (dfd < 0) {
        printf("%s dir:%s\n", label, err(errno));
        return;
    }
    char p[8192];
    snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dfd, subst(rel));
    int fd = open(p, O_RDONLY);
    int e = errno;
    close(dfd);
    if (fd < 0)
        printf("%s %s\n", label, err(e));
    else
        print_read(label, fd);
}

static int write_flags(const char *mode) {
    if (!strcmp(mode, "trunc")) return O_WRONLY | O_TRUNC;
    if (!strcmp(mode, "append")) return O_WRONLY | O_APPEND;
    if (!strcmp(mode, "rdwr")) return O_RDWR;
    if (!strcmp(mode, "creat")) return O_WRONLY | O_CREAT | O_TRUNC;
    if (!strcmp(mode, "excl")) return O_WRONLY | O_CREAT | O_EXCL;
    fprintf(stderr, "bad write mode %s\n", mode);
    exit(2);
}

static void write_fd(const char *label, int fd) {
    ssize_t n = write(fd, "PWNED\n", 6);
    int e = errno;
    close(fd);
    if (n < 0)
        printf("%s write:%s\n", label, err(e));
    else
        printf("%s ok\n", label);
}

static void op_write(const char *label, const char *path, const char *mode) {
    int fd = open(subst(path), write_flags(mode), 0644);
    if (fd < 0)
        printf("%s %s\n", label, err(errno));
    else
        write_fd(label, fd);
}

static void op_reopen(const char *label, const char *path, const char *how, const char *via, const char *mode) {
    int fd = open(subst(path), !strcmp(how, "path") ? O_PATH : O_RDONLY);
    if (fd < 0) {
        printf("%s first:%s\n", label, err(errno));
        return;
    }
    char p[64];
    snprintf(p, sizeof p, !strcmp(via, "dev") ? "/dev/fd/%d" : "/proc/self/fd/%d", fd);
    int w = open(p, write_flags(mode));
    int e = errno;
    close(fd);
    if (w < 0)
        printf("%s %s\n", label, err(e));
    else
        write_fd(label, w);
}

/* The single-path calls: every way to change a file's contents or
 * metadata, or to learn about it, by path, by fd and by O_PATH fd. */
static void op_call(const char *label, const char *call, const char *path) {
    const char *p = subst(path);
    long r = -1;
    int e = 0;
    struct stat st;
    errno = 0;
    if (!strcmp(call, "truncate")) r = truncate(p, 0);
    else if (!strcmp(call, "chmod")) r = syscall(SYS_chmod, p, 0777);
    else if (!strcmp(call, "fchmodat")) r = syscall(SYS_fchmodat, AT_FDCWD, p, 0777);
    else if (!strcmp(call, "chown")) r = syscall(SYS_chown, p, getuid(), getgid());
    else if (!strcmp(call, "lchown")) r = syscall(SYS_lchown, p, getuid(), getgid());
    else if (!strcmp(call, "fchownat")) r = syscall(SYS_fchownat, AT_FDCWD, p, getuid(), getgid(), 0);
    else if (!strcmp(call, "utimensat")) r = utimensat(AT_FDCWD, p, NULL, 0);
    else if (!strcmp(call, "utime")) r = syscall(SYS_utime, p, NULL);
    else if (!strcmp(call, "utimes")) r = syscall(SYS_utimes, p, NULL);
    else if (!strcmp(call, "futimesat")) r = syscall(SYS_futimesat, AT_FDCWD, p, NULL);
    else if (!strcmp(call, "unlink")) r = syscall(SYS_unlink, p);
    else if (!strcmp(call, "unlinkat")) r = syscall(SYS_unlinkat, AT_FDCWD, p, 0);
    else if (!strcmp(call, "rmdir")) r = syscall(SYS_rmdir, p);
    else if (!strcmp(call, "mkdir")) r = syscall(SYS_mkdir, p, 0755);
    else if (!strcmp(call, "mkdirat")) r = syscall(SYS_mkdirat, AT_FDCWD, p, 0755);
    else if (!strcmp(call, "mknod")) r = syscall(SYS_mknod, p, S_IFIFO | 0644, 0);
    else if (!strcmp(call, "mknodat")) r = syscall(SYS_mknodat, AT_FDCWD, p, S_IFREG | 0644, 0);
    else if (!strcmp(call, "creat")) {
        r = syscall(SYS_creat, p, 0644);
        if (r >= 0) {
            write_fd(label, (int)r);
            return;
        }
    } else if (!strcmp(call, "setxattr")) r = setxattr(p, "user.condo", "x", 1, 0);
    else if (!strcmp(call, "lsetxattr")) r = lsetxattr(p, "user.condo", "x", 1, 0);
    else if (!strcmp(call, "removexattr")) r = removexattr(p, "user.keep");
    else if (!strcmp(call, "setxattrat")) {
        struct { unsigned long long value; unsigned size, flags; } a = {(unsigned long long)(unsigned long)"x", 1, 0};
        r = syscall(463 /* SYS_setxattrat */, AT_FDCWD, p, 0, "user.condo", &a, sizeof a);
    } else if (!strcmp(call, "removexattrat")) r = syscall(466 /* SYS_removexattrat */, AT_FDCWD, p, 0, "user.keep");
    else if (!strcmp(call, "stat")) r = syscall(SYS_stat, p, &st);
    else if (!strcmp(call, "lstat")) r = syscall(SYS_lstat, p, &st);
    else if (!strcmp(call, "newfstatat")) r = syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0);
    else if (!strcmp(call, "statx")) {
        char sx[256];
        r = syscall(SYS_statx, AT_FDCWD, p, 0, 0x7ff, sx);
    } else if (!strcmp(call, "access")) r = syscall(SYS_access, p, R_OK);
    else if (!strcmp(call, "faccessat")) r = syscall(SYS_faccessat, AT_FDCWD, p, R_OK);
    else if (!strcmp(call, "faccessat2")) r = syscall(SYS_faccessat2, AT_FDCWD, p, R_OK, 0);
    else if (!strcmp(call, "readlink")) {
        char b[256];
        r = syscall(SYS_readlink, p, b, sizeof b);
    } else if (!strcmp(call, "getxattr")) {
        char b[64];
        r = getxattr(p, "user.keep", b, sizeof b);
    } else if (!strcmp(call, "listxattr")) {
        char b[256];
        r = listxattr(p, b, sizeof b);
    } else if (!strcmp(call, "statfs")) {
        struct statfs sf;
        r = statfs(p, &sf);
    } else if (!strcmp(call, "chdir")) {
        /* Only to see whether it works: go back at once. */
        int here = open(".", O_PATH | O_DIRECTORY);
        r = chdir(p);
        e = errno;
        if (r == 0 && here >= 0) fchdir(here);
        if (here >= 0) close(here);
        errno = e;
    } else if (!strcmp(call, "chroot")) r = chroot(p);
    else if (!strcmp(call, "inotify")) {
        int in = inotify_init1(IN_CLOEXEC);
        r = inotify_add_watch(in, p, IN_ALL_EVENTS);
        e = errno;
        close(in);
        errno = e;
    } else if (!strcmp(call, "uselib")) r = syscall(SYS_uselib, p);
    else if (!strcmp(call, "swapon")) r = syscall(SYS_swapon, p, 0);
    else if (!strcmp(call, "acct")) r = syscall(SYS_acct, p);
    /* fd-based changes through a descriptor opened read-only (or O_PATH):
     * fchmod/fchown/futimens need ownership, not write access, so a
     * read-only view must refuse them after the open. */
    else if (!strncmp(call, "f:", 2) || !strncmp(call, "o:", 2)) {
        int fd = open(p, call[0] == 'o' ? O_PATH : O_RDONLY);
        if (fd < 0) {
            printf("%s first:%s\n", label, err(errno));
            return;
        }
        const char *c = call + 2;
        if (!strcmp(c, "fchmod")) r = fchmod(fd, 0777);
        else if (!strcmp(c, "fchown")) r = fchown(fd, getuid(), getgid());
        else if (!strcmp(c, "futimens")) r = futimens(fd, NULL);
        else if (!strcmp(c, "fsetxattr")) r = fsetxattr(fd, "user.condo", "x", 1, 0);
        else if (!strcmp(c, "fremovexattr")) r = fremovexattr(fd, "user.keep");
        else if (!strcmp(c, "fchmodat2")) r = syscall(SYS_fchmodat2, fd, "", 0777, AT_EMPTY_PATH);
        else if (!strcmp(c, "fchownat")) r = syscall(SYS_fchownat, fd, "", getuid(), getgid(), AT_EMPTY_PATH);
        else if (!strcmp(c, "utimensat")) r = syscall(SYS_utimensat, fd, "", NULL, AT_EMPTY_PATH);
        else if (!strcmp(c, "ftruncate")) r = ftruncate(fd, 0);
        else if (!strcmp(c, "fallocate")) r = fallocate(fd, 0, 0, 4096);
        else {
            fprintf(stderr, "bad call %s\n", call);
            exit(2);
        }
        e = errno;
        close(fd);
        errno = e;
    } else {
        fprintf(stderr, "bad call %s\n", call);
        exit(2);
    }
    if (!e) e = errno;
    res(label, r, e);
}

static void op_two(const char *op, const char *label, const char *a, const char *b) {
    const char *pa = subst(a), *pb = subst(b);
    long r;
    if (!strcmp(op, "rename")) r = syscall(SYS_rename, pa, pb);
    else if (!strcmp(op, "exchange")) r = syscall(SYS_renameat2, AT_FDCWD, pa, AT_FDCWD, pb, RENAME_EXCHANGE);
    else if (!strcmp(op, "link")) r = syscall(SYS_link, pa, pb);
    else if (!strcmp(op, "linkf")) r = syscall(SYS_linkat, AT_FDCWD, pa, AT_FDCWD, pb, AT_SYMLINK_FOLLOW);
    else if (!strcmp(op, "symlink")) r = syscall(SYS_symlink, pa, pb);
    else {
        int fd = open(pa, O_PATH);
        if (fd < 0) {
            printf("%s first:%s\n", label, err(errno));
            return;
        }
        if (!strcmp(op, "linkfd")) {
            char p[64];
            snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
            r = linkat(AT_FDCWD, p, AT_FDCWD, pb, AT_SYMLINK_FOLLOW);
        } else {
            r = linkat(fd, "", AT_FDCWD, pb, AT_EMPTY_PATH);
        }
        int e = errno;
        close(fd);
        errno = e;
    }
    res(label, r, errno);
}

static void op_getdents(const char *label, const char *dir, const char *name) {
    DIR *d = opendir(subst(dir));
    if (!d) {
        printf("%s %s\n", label, err(errno));
        return;
    }
    int found = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (!strcmp(de->d_name, name)) found = 1;
    closedir(d);
    printf("%s %s\n", label, found ? "listed" : "absent");
}

static void op_updir(const char *label, int n) {
    long r = 0;
    int e = 0;
    for (int i = 0; i < n && r == 0; i++) {
        r = chdir("..");
        e = errno;
    }
    res(label, r, e);
}

static void op_connect(const char *label, const char *path) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", subst(path));
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        printf("%s %s\n", label, err(errno));
        close(s);
        return;
    }
    char byte;
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
    ssize_t n = recvmsg(s, &m, 0);
    close(s);
    struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
    if (!c || c->cmsg_type != SCM_RIGHTS) {
        printf("%s connected-no-fd\n", label);
        return;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    print_read(label, fd);
}

static int unhex(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

static void op_handle(const char *label, const char *mountdir, const char *spec) {
    int mfd = open(subst(mountdir), O_RDONLY | O_DIRECTORY);
    if (mfd < 0) {
        printf("%s dir:%s\n", label, err(errno));
        return;
    }
    const char *colon = strchr(spec, ':');
    const char *hex = colon ? colon + 1 : "";
    size_t nbytes = strlen(hex) / 2;
    struct file_handle *h = calloc(1, sizeof *h + nbytes + 8);
    h->handle_bytes = nbytes;
    h->handle_type = atoi(spec);
    for (size_t i = 0; i < nbytes; i++) h->f_handle[i] = unhex(hex[2 * i]) << 4 | unhex(hex[2 * i + 1]);
    int fd = open_by_handle_at(mfd, h, O_RDONLY);
    int e = errno;
    close(mfd);
    free(h);
    if (fd < 0)
        printf("%s %s\n", label, err(e));
    else
        print_read(label, fd);
}

static void op_selfhandle(const char *label, const char *path) {
    char l[512];
    struct file_handle *h = calloc(1, sizeof *h + MAX_HANDLE_SZ);
    h->handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    long r = name_to_handle_at(AT_FDCWD, subst(path), h, &mount_id, 0);
    snprintf(l, sizeof l, "%s/name_to_handle_at", label);
    res(l, r, errno);
    if (r < 0) h->handle_bytes = 8; /* a made-up handle: the call must still be refused */
    int fd = open_by_handle_at(AT_FDCWD, h, O_RDONLY);
    snprintf(l, sizeof l, "%s/open_by_handle_at", label);
    free(h);
    if (fd < 0)
        printf("%s %s\n", l, err(errno));
    else
        print_read(l, fd);
}

/* Must run before anything else opens a descriptor. */
static void op_fds(const char *label) {
    int open_fds[64], n = 0;
    for (int fd = 3; fd < 1024 && n < 64; fd++)
        if (fcntl(fd, F_GETFD) >= 0) open_fds[n++] = fd;
    char list[1024] = "none";
    size_t o = 0;
    for (int i = 0; i < n; i++) o += snprintf(list + o, sizeof list - o, "%s%d", i ? "," : "", open_fds[i]);
    printf("%s %s\n", label, list);
    for (int i = 0; i < n; i++) {
        char l[64], buf[128];
        snprintf(l, sizeof l, "fd %d", open_fds[i]);
        ssize_t r = pread(open_fds[i], buf, sizeof buf - 1, 0);
        if (r < 0)
            printf("%s %s\n", l, err(errno));
        else
            print_buf(l, buf, r);
        snprintf(l, sizeof l, "fd %d/secret", open_fds[i]);
        int fd = openat(open_fds[i], "secret", O_RDONLY);
        if (fd < 0)
            printf("%s %s\n", l, err(errno));
        else
            print_read(l, fd);
    }
}

static void op_exec(const char *label, const char *path) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        printf("%s pipe:%s\n", label, err(errno));
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        const char *ex = subst(path);
        char *argv[] = {(char *)ex, "noop", NULL};
        execve(ex, argv, environ);
        int e = errno;
        (void)!write(p[1], &e, sizeof e);
        _exit(127);
    }
    close(p[1]);
    int e = 0;
    ssize_t got = read(p[0], &e, sizeof e);
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (got == sizeof e)
        printf("%s %s\n", label, err(e));
    else
        printf("%s ok\n", label);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc;) {
        const char *op = argv[i];
        int left = argc - i - 1;
#define NEED(n)                                                   \
    if (left < (n)) {                                             \
        fprintf(stderr, "%s needs %d arguments\n", op, (n));      \
        return 2;                                                 \
    }
        if (!strcmp(op, "noop")) {
            printf("hidden program ran\n");
            return 0;
        } else if (!strcmp(op, "read")) {
            NEED(3);
            op_read(argv[i + 1], argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (!strcmp(op, "readvia")) {
            NEED(2);
            op_readvia(argv[i + 1], argv[i + 2]);
            i += 3;
        } else if (!strcmp(op, "procfd")) {
            NEED(3);
            op_procfd(argv[i + 1], argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (!strcmp(op, "write")) {
            NEED(3);
            op_write(argv[i + 1], argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (!strcmp(op, "reopen")) {
            NEED(5);
            op_reopen(argv[i + 1], argv[i + 2], argv[i + 3], argv[i + 4], argv[i + 5]);
            i += 6;
        } else if (!strcmp(op, "call")) {
            NEED(3);
            op_call(argv[i + 1], argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (!strcmp(op, "rename") || !strcmp(op, "exchange") || !strcmp(op, "link") || !strcmp(op, "linkf") ||
                   !strcmp(op, "linkfd") || !strcmp(op, "linkempty") || !strcmp(op, "symlink")) {
            NEED(3);
            op_two(op, argv[i + 1], argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (!strcmp(op, "getdents")) {
            NEED(3);
            op_getdents(argv[i + 1], argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (!strcmp(op, "chdir")) {
            NEED(2);
            long r = chdir(subst(argv[i + 2]));
            res(argv[i + 1], r, errno);
            i += 3;
        } else if (!strcmp(op, "updir")) {
            NEED(2);
            op_updir(argv[i + 1], atoi(argv[i + 2]));
            i += 3;
        } else if (!strcmp(op, "connect")) {
            NEED(2);
            op_connect(argv[i + 1], argv[i + 2]);
            i += 3;
        } else if (!strcmp(op, "handle")) {
            NEED(3);
            op_handle(argv[i + 1], argv[i + 2], argv[i + 3]);
            i += 4;
        } else if (!strcmp(op, "selfhandle")) {
            NEED(2);
            op_selfhandle(argv[i + 1], argv[i + 2]);
            i += 3;
        } else if (!strcmp(op, "fds")) {
            NEED(1);
            op_fds(argv[i + 1]);
            i += 2;
        } else if (!strcmp(op, "exec")) {
            NEED(2);
            op_exec(argv[i + 1], argv[i + 2]);
            i += 3;
        } else {
            fprintf(stderr, "unknown operation %s\n", op);
            return 2;
        }
    }
    printf("done\n");
    return 0;
}
