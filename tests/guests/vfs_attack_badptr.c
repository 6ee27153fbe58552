/* Malformed path arguments (tests/vfs_attacks.rs): every path-taking call
 * below gets, for each of its path arguments in turn (the other one valid):
 *
 *   toolong      PATH_MAX non-NUL bytes, then a NUL (PATH_MAX+1 bytes)
 *   unterm       64 non-NUL bytes that end where the mapping ends
 *   unterm-page  a whole page of non-NUL bytes, the next page PROT_NONE
 *   protnone     a pointer into a PROT_NONE page
 *   unmapped     a pointer into an unmapped page
 *   null         NULL
 *   kernel       a kernel address
 *
 * and prints "CALL/ARG/KIND ERRNO". After every call it opens CTL (in
 * the working directory), which must still read "CTL": a supervisor that
 * died or got confused would show there. At the end: "control failures N",
 * then a valid path straddling a page boundary ("straddle ok:CONTENT"),
 * then "done". Run natively, the kernel's own answers come out.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long page;
static char *toolong, *unterm, *unterm_page, *protnone, *unmapped, *straddle;
static long control_failures;

static void control(void) {
    char b[16];
    int fd = open("ctl", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, b, sizeof b) : -1;
    if (fd >= 0) close(fd);
    if (n != 3 || memcmp(b, "CTL", 3)) control_failures++;
}

/* One call: which (0 or 1) is the bad argument, p the bad pointer. */
static long call(const char *name, int which, const char *p) {
    const char *a = which == 0 ? p : "ctl";
    const char *b = which == 1 ? p : "nonexistent-target";
    char buf[256];
    struct stat st;
    struct open_how how = {.flags = O_RDONLY};
    if (!strcmp(name, "open")) return syscall(SYS_open, a, O_RDONLY);
    if (!strcmp(name, "open-creat")) return syscall(SYS_open, a, O_WRONLY | O_CREAT, 0644);
    if (!strcmp(name, "openat")) return syscall(SYS_openat, AT_FDCWD, a, O_RDONLY);
    if (!strcmp(name, "openat2")) return syscall(SYS_openat2, AT_FDCWD, a, &how, sizeof how);
    if (!strcmp(name, "stat")) return syscall(SYS_stat, a, &st);
    if (!strcmp(name, "lstat")) return syscall(SYS_lstat, a, &st);
    if (!strcmp(name, "newfstatat")) return syscall(SYS_newfstatat, AT_FDCWD, a, &st, 0);
    if (!strcmp(name, "statx")) return syscall(SYS_statx, AT_FDCWD, a, 0, 0x7ff, buf);
    if (!strcmp(name, "access")) return syscall(SYS_access, a, R_OK);
    if (!strcmp(name, "readlink")) return syscall(SYS_readlink, a, buf, sizeof buf);
    if (!strcmp(name, "mkdir")) return syscall(SYS_mkdir, a, 0755);
    if (!strcmp(name, "mkdirat")) return syscall(SYS_mkdirat, AT_FDCWD, a, 0755);
    if (!strcmp(name, "rmdir")) return syscall(SYS_rmdir, a);
    if (!strcmp(name, "unlink")) return syscall(SYS_unlink, a);
    if (!strcmp(name, "chdir")) return syscall(SYS_chdir, a);
    if (!strcmp(name, "truncate")) return syscall(SYS_truncate, a, 0L);
    if (!strcmp(name, "chmod")) return syscall(SYS_chmod, a, 0644);
    if (!strcmp(name, "execve")) {
        char *argv[] = {NULL};
        return syscall(SYS_execve, a, argv, argv);
    }
    /* Two paths: "ctl" as the source would be renamed/linked if the bad
     * destination were taken for something valid; the control notices. */
    if (!strcmp(name, "rename")) return syscall(SYS_rename, a, b);
    if (!strcmp(name, "renameat2")) return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 0);
    if (!strcmp(name, "link")) return syscall(SYS_link, a, b);
    if (!strcmp(name, "symlink")) return syscall(SYS_symlink, a, b);
    fprintf(stderr, "bad call %s\n", name);
    exit(2);
}

static const char *const one_path[] = {"open", "open-creat", "openat", "openat2", "stat", "lstat", "newfstatat",
                                       "statx", "access", "readlink", "mkdir", "mkdirat", "rmdir", "unlink",
                                       "chdir", "truncate", "chmod", "execve"};
static const char *const two_paths[] = {"rename", "renameat2", "link", "symlink"};

static void try_all(const char *name, int which) {
    const struct {
        const char *kind;
        const char *p;
    } kinds[] = {
        {"toolong", toolong},
        {"unterm", unterm},
        {"unterm-page", unterm_page},
        {"protnone", protnone},
        {"unmapped", unmapped},
        {"null", NULL},
        {"kernel", (const char *)0xffff888000001000UL},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        errno = 0;
        long r = call(name, which, kinds[k].p);
        int e = errno;
        printf("%s/%d/%s %s\n", name, which, kinds[k].kind, r < 0 ? strerrorname_np(e) : "ok");
        control();
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    page = sysconf(_SC_PAGESIZE);
    /* Layout: [toolong: 2 pages][straddle: 2 pages][unterm: 1 page][PROT_NONE][unmapped] */
    char *m = mmap(NULL, 7 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 3;
    toolong = m;
    memset(toolong, 'd', 4096);
    toolong[4096] = 0;
    straddle = m + 3 * page - 3; /* "ctl" with "ctl"'s NUL on the next page */
    memcpy(straddle, "ctl", 4);
    unterm_page = m + 4 * page;
    memset(unterm_page, 'u', page);
    unterm = unterm_page + page - 64;
    protnone = m + 5 * page;
    mprotect(protnone, page, PROT_NONE);
    unmapped = m + 6 * page;
    munmap(unmapped, page);
    for (size_t i = 0; i < sizeof one_path / sizeof one_path[0]; i++) try_all(one_path[i], 0);
    for (size_t i = 0; i < sizeof two_paths / sizeof two_paths[0]; i++) {
        try_all(two_paths[i], 0);
        try_all(two_paths[i], 1);
    }
    printf("control failures %ld\n", control_failures);
    int fd = open(straddle, O_RDONLY);
    char b[16];
    ssize_t n = fd >= 0 ? read(fd, b, 3) : -1;
    if (n == 3) {
        b[3] = 0;
        printf("straddle ok:%s\n", b);
    } else {
        printf("straddle %s\n", strerrorname_np(errno));
    }
    printf("done\n");
    return 0;
}
