/* N threads each call uname(2) K times (notified under --hostname) and check
 * the nodename every time. Prints "calls C wrong W". argv: N K NAME */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static int k;
static const char *want;
static long calls, wrong;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *run(void *a) {
    (void)a;
    long c = 0, w = 0;
    for (int i = 0; i < k; i++) {
        struct utsname u;
        if (uname(&u) != 0 || strcmp(u.nodename, want) != 0) w++;
        c++;
    }
    pthread_mutex_lock(&m);
    calls += c;
    wrong += w;
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    int n = atoi(argv[1]);
    k = atoi(argv[2]);
    want = argv[3];
    pthread_t *t = calloc(n, sizeof *t);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    int started = 0;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&t[i], &attr, run, NULL) != 0) break;
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    printf("threads %d calls %ld wrong %ld\n", started, calls, wrong);
    return 0;
}
