/* Re-executes itself 50 times with a counter (alternately through
 * /proc/self/exe and argv[0]); the last one prints the count and whether the
 * pid stayed the same all along. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CHAIN 50

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 0;
    long first = argc > 2 ? atol(argv[2]) : (long)getpid();
    if (n < CHAIN) {
        char a[16], b[32];
        snprintf(a, sizeof a, "%d", n + 1);
        snprintf(b, sizeof b, "%ld", first);
        const char *path = (n % 2 == 0) ? "/proc/self/exe" : argv[0];
        execl(path, argv[0], a, b, (char *)NULL);
        perror("execl");
        return 1;
    }
    printf("exec chain %d, same pid: %s\n", n, first == (long)getpid() ? "yes" : "no");
    return 0;
}
