/* Hands bad pointers to calls the sandbox intercepts (uname with
 * --hostname, everything with --trace) and prints what each call returned.
 * Every result must be what the kernel itself gives: EFAULT for NULL,
 * unmapped, read-only (for output buffers) and unterminated strings (ending
 * exactly at a page followed by a PROT_NONE page), ENAMETOOLONG for 1 MiB
 * paths, E2BIG for a 1 MiB execve argument. The last line is the nodename
 * from a normal uname(), which proves the supervisor still answers.
 * Usage: badptr uname|paths|all */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static void report(const char *label, long r) {
    if (r < 0)
        printf("%s = %s\n", label, strerrorname_np(errno));
    else
        printf("%s = ok\n", label);
}

#define MIB (1 << 20)

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "all";
    int do_uname = !strcmp(mode, "uname") || !strcmp(mode, "all");
    int do_paths = !strcmp(mode, "paths") || !strcmp(mode, "all");
    setvbuf(stdout, NULL, _IONBF, 0);

    long pg = sysconf(_SC_PAGESIZE);
    char *unmapped = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *two = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    /* a separate page + guard page for output buffers that straddle it */
    char *out2 = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (unmapped == MAP_FAILED || two == MAP_FAILED || ro == MAP_FAILED || out2 == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    munmap(unmapped, pg);
    mprotect(two + pg, pg, PROT_NONE);
    mprotect(out2 + pg, pg, PROT_NONE);
    /* 16 bytes of 'a' ending exactly at the end of the page, no NUL. */
    char *unterm = two + pg - 16;
    memset(unterm, 'a', 16);
    /* a 1 MiB string (NUL-terminated) */
    char *big = malloc(MIB + 1);
    memset(big, 'a', MIB);
    big[MIB] = 0;

    if (do_uname) {
        report("uname(NULL)", syscall(SYS_uname, NULL));
        report("uname((void *)1)", syscall(SYS_uname, (void *)1));
        report("uname(unmapped)", syscall(SYS_uname, unmapped));
        report("uname(read-only page)", syscall(SYS_uname, ro));
        report("uname(straddling a PROT_NONE page)", syscall(SYS_uname, out2 + pg - 100));
        report("uname(kernel address)", syscall(SYS_uname, (void *)0xffff800000000000UL));
    }

    if (do_paths) {
        struct stat st;
        char *tv[] = {"true", NULL};
        char *te[] = {NULL};
        report("openat(NULL)", syscall(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
        report("openat(unmapped)", syscall(SYS_openat, AT_FDCWD, unmapped, O_RDONLY));
        report("openat(unterminated)", syscall(SYS_openat, AT_FDCWD, unterm, O_RDONLY));
        report("openat(1 MiB)", syscall(SYS_openat, AT_FDCWD, big, O_RDONLY));
        report("open(unterminated)", syscall(SYS_open, unterm, O_RDONLY));
        report("newfstatat(unterminated)", syscall(SYS_newfstatat, AT_FDCWD, unterm, &st, 0));
        report("newfstatat(1 MiB)", syscall(SYS_newfstatat, AT_FDCWD, big, &st, 0));
        report("newfstatat(\"/\", unmapped buffer)", syscall(SYS_newfstatat, AT_FDCWD, "/", unmapped, 0));
        report("stat(unterminated)", syscall(SYS_stat, unterm, &st));
        report("stat(1 MiB)", syscall(SYS_stat, big, &st));
        report("readlink(unterminated)", syscall(SYS_readlink, unterm, big, 100));
        report("chdir(unterminated)", syscall(SYS_chdir, unterm));
        report("chdir(1 MiB)", syscall(SYS_chdir, big));
        report("execve(NULL)", syscall(SYS_execve, NULL, tv, te));
        report("execve(unmapped)", syscall(SYS_execve, unmapped, tv, te));
        report("execve(unterminated)", syscall(SYS_execve, unterm, tv, te));
        report("execve(1 MiB)", syscall(SYS_execve, big, tv, te));
        report("execve(/bin/true, argv unmapped)", syscall(SYS_execve, "/bin/true", unmapped, te));
        char *tv_unterm[] = {"true", unterm, NULL};
        report("execve(/bin/true, unterminated argument)", syscall(SYS_execve, "/bin/true", tv_unterm, te));
        char *tv_big[] = {"true", big, NULL};
        report("execve(/bin/true, 1 MiB argument)", syscall(SYS_execve, "/bin/true", tv_big, te));
        report("execve(/bin/true, envp unmapped)", syscall(SYS_execve, "/bin/true", tv, unmapped));
    }

    struct utsname u;
    memset(&u, 0, sizeof u);
    report("uname(valid)", uname(&u));
    printf("nodename %s\n", u.nodename);
    return 0;
}
