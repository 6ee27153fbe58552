/* A dynamically linked guest for the --root tree test (built WITHOUT
 * -static by tests/vfs_view.rs, unlike the other guests).
 *
 * It prints the /proc/self/maps lines of the two mappings that prove which
 * C library it runs on: the one holding the string gnu_get_libc_version()
 * returns (inside libc's own read-only data), and the one holding
 * __tls_get_addr, which the dynamic loader itself defines (so this finds
 * the loader's code whether the kernel loaded it as the ELF interpreter or
 * it was run as the program, where AT_BASE would be 0). The kernel fills
 * in the device and inode columns of those lines from the file actually
 * mapped, so the test can compare them with the host's stat of the tree's
 * copies, whatever path the sandbox shows. */
#include <gnu/libc-version.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_mapping(const char *tag, uintptr_t addr) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) {
        perror("fopen /proc/self/maps");
        exit(2);
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && addr >= lo && addr < hi) {
            printf("%s %s", tag, line);
            fclose(f);
            return;
        }
    }
    printf("%s none for %#lx\n", tag, (unsigned long)addr);
    fclose(f);
}

/* Defined by the dynamic loader (ld.so) on every glibc architecture. */
extern void *__tls_get_addr(void *);

int main(void) {
    const char *v = gnu_get_libc_version();
    printf("hello from a dynamically linked program\n");
    printf("libc-version %s\n", v);
    print_mapping("libc-map", (uintptr_t)v);
    print_mapping("ld-map", (uintptr_t)&__tls_get_addr);
    return 0;
}
