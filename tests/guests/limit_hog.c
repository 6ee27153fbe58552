/* Memory hog: N processes each allocating and touching MB mebibytes, a
 * mebibyte at a time, then sleeping. argv: N MB */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    int n = atoi(argv[1]);
    long mb = atol(argv[2]);
    for (int i = 0; i < n; i++) {
        if (fork() == 0) {
            for (long k = 0; k < mb; k++) {
                char *p = malloc(1 << 20);
                if (!p) _exit(3);
                memset(p, 1, 1 << 20);
                usleep(1000);
            }
            sleep(30);
            _exit(0);
        }
    }
    while (wait(NULL) > 0) {}
    puts("hog finished");
    return 0;
}
