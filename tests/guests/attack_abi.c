/* Foreign system-call ABIs from a 64-bit process (tests/attacks.rs). Each
 * mode prints "calling MODE", makes one getpid (or unshare) call through
 * that ABI and, if it comes back, prints "MODE returned N". Under condo the
 * process must die first (SIGSYS; SIGILL where the CPU has no such
 * instruction in that mode).
 *
 *   sysenter          sysenter in 64-bit mode (#UD on AMD; the i386 entry
 *                     on Intel)
 *   compat-int80      far return into the 32-bit user code segment (0x23),
 *                     then int $0x80
 *   compat-syscall    the same, then syscall (the compat entry on AMD)
 *   compat-sysenter   the same, then sysenter
 *   x32-unshare       unshare(0) with __X32_SYSCALL_BIT
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Runs `insn` in compat mode with eax = 20 (i386 getpid); returns eax. */
static long compat_call(const uint8_t *insn, size_t len) {
    uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    uint8_t *stk = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (code == MAP_FAILED || stk == MAP_FAILED) {
        perror("mmap");
        return -1;
    }
    uint8_t *p = code;
    *p++ = 0xb8; /* mov eax, 20 */
    uint32_t nr = 20;
    memcpy(p, &nr, 4);
    p += 4;
    memcpy(p, insn, len);
    p += len;
    *p++ = 0xcb; /* lret: back to the 64-bit code segment */
    long ret;
    __asm__ volatile(
        "mov %%rsp, %%r12\n"
        "mov %[stk], %%rsp\n"
        "lea 1f(%%rip), %%r13\n"
        "sub $8, %%rsp\n"
        "movl %%r13d, (%%rsp)\n"
        "movl $0x33, 4(%%rsp)\n"
        "pushq $0x23\n"
        "pushq %[code]\n"
        "lretq\n"
        "1:\n"
        "mov %%r12, %%rsp\n"
        : "=a"(ret)
        : [stk] "r"(stk + 65536 - 64), [code] "r"((uint64_t)code)
        : "r12", "r13", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
    return ret;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc != 2) return 2;
    const char *m = argv[1];
    printf("calling %s\n", m);
    long r;
    if (!strcmp(m, "sysenter")) {
        __asm__ volatile("sysenter" : "=a"(r) : "a"(20L) : "memory", "rcx", "r11");
    } else if (!strcmp(m, "compat-int80")) {
        static const uint8_t i[] = {0xcd, 0x80};
        r = compat_call(i, sizeof i);
    } else if (!strcmp(m, "compat-syscall")) {
        static const uint8_t i[] = {0x0f, 0x05};
        r = compat_call(i, sizeof i);
    } else if (!strcmp(m, "compat-sysenter")) {
        static const uint8_t i[] = {0x0f, 0x34};
        r = compat_call(i, sizeof i);
    } else if (!strcmp(m, "x32-unshare")) {
        r = syscall(0x40000000L | SYS_unshare, 0L);
    } else {
        return 2;
    }
    printf("%s returned %ld\n", m, r);
    return 0;
}
