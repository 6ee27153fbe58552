/* Creates up to N threads that stay alive; prints how many it got and the
 * error that stopped it. argv: N */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *idle(void *a) { (void)a; pause(); return NULL; }

int main(int argc, char **argv) {
    int n = atoi(argv[1]), got = 0, err = 0;
    for (int i = 0; i < n; i++) {
        pthread_t t;
        err = pthread_create(&t, NULL, idle, NULL);
        if (err) break;
        got++;
    }
    printf("threads %d, stopped by %s\n", got, err ? strerrorname_np(err) : "nothing");
    return 0;
}
