/* Dies of a signal: "segv" (null write), "abort". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "segv";
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("about to %s\n", mode);
    if (strcmp(mode, "segv") == 0) {
        *(volatile int *)0 = 1;
    } else if (strcmp(mode, "abort") == 0) {
        abort();
    }
    printf("still alive\n");
    return 0;
}
