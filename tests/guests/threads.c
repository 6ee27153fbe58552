/* 200 threads alive at once (a barrier holds them), each computes a value and
 * records its kernel thread id; the main thread joins them all and prints a
 * summary that is the same on every run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define N 200

static pthread_barrier_t barrier;
static long squares[N];
static pid_t tids[N];

static void *worker(void *arg) {
    long i = (long)arg;
    tids[i] = (pid_t)syscall(SYS_gettid);
    pthread_barrier_wait(&barrier);
    squares[i] = i * i;
    return (void *)(i + 1);
}

static int cmp(const void *a, const void *b) {
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

int main(void) {
    pthread_t th[N];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (pthread_barrier_init(&barrier, NULL, N + 1) != 0) {
        perror("pthread_barrier_init");
        return 1;
    }
    for (long i = 0; i < N; i++) {
        int e = pthread_create(&th[i], &attr, worker, (void *)i);
        if (e != 0) {
            fprintf(stderr, "pthread_create %ld: %s\n", i, strerror(e));
            return 1;
        }
    }
    pthread_barrier_wait(&barrier);
    long sum_ret = 0;
    for (long i = 0; i < N; i++) {
        void *r;
        int e = pthread_join(th[i], &r);
        if (e != 0) {
            fprintf(stderr, "pthread_join %ld: %s\n", i, strerror(e));
            return 1;
        }
        sum_ret += (long)r;
    }
    long sum_sq = 0;
    for (int i = 0; i < N; i++) sum_sq += squares[i];
    qsort(tids, N, sizeof tids[0], cmp);
    int distinct = 0;
    pid_t self = getpid();
    int self_seen = 0;
    for (int i = 0; i < N; i++) {
        if (i == 0 || tids[i] != tids[i - 1]) distinct++;
        if (tids[i] == self || tids[i] <= 0) self_seen = 1;
    }
    printf("threads %d joined, return sum %ld, squares sum %ld, distinct tids %d, main tid reused %s\n",
           N, sum_ret, sum_sq, distinct, self_seen ? "yes" : "no");
    return 0;
}
