/* Creates each file named on the command line (a static stand-in for
 * touch that runs in any tree, even one without a libc): the flag-error
 * tests use it to show whether the command ran at all. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_WRONLY | O_CREAT, 0644);
        if (fd < 0) {
            perror(argv[i]);
            rc = 1;
        } else {
            close(fd);
        }
    }
    return rc;
}
