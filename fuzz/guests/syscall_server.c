/* A guest that performs syscalls on request, for fuzzing the supervisor.
 * Reads requests from stdin: u32 nr, u32 ptr_mask, u64 args[6],
 * u8 blob[4096]. Copies blob into a buffer that ends right before a
 * PROT_NONE page; args whose bit is set in ptr_mask are offsets into that
 * buffer (so pointers land anywhere in it, up to and across its end).
 * Writes the raw return value (i64, -errno on failure) to stdout. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

struct req { uint32_t nr, ptr_mask; uint64_t args[6]; uint8_t blob[4096]; };

static int read_all(int fd, void *p, size_t n) {
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, (char *)p + got, n - got);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

int main(void) {
    /* Two pages: the first holds the blob, the second is PROT_NONE. */
    char *map = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + 4096, 4096, PROT_NONE)) return 1;
    static struct req q;
    while (read_all(0, &q, sizeof q) == 0) {
        memcpy(map, q.blob, 4096);
        long a[6];
        for (int i = 0; i < 6; i++)
            a[i] = (q.ptr_mask >> i) & 1 ? (long)(map + (q.args[i] % 8192)) : (long)q.args[i];
        long r = syscall(q.nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        int64_t out = r == -1 ? -(int64_t)errno : r;
        if (write(1, &out, sizeof out) != sizeof out) return 1;
    }
    return 0;
}
