/* A call waiting on a fifo, as signals meet it natively: an alarm whose
 * handler lacks SA_RESTART ends the open with EINTR, one with SA_RESTART
 * lets it go on until a writer comes, and a fatal signal ends the
 * process. Under the sandbox such an open waits in the supervisor. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <pthread.h>
#include <unistd.h>

static volatile sig_atomic_t alarms, usr1;
static void on_usr1(int sig) { (void)sig; usr1++; }
static void *idle(void *arg) { (void)arg; for (;;) pause(); return NULL; }
static void on_alarm(int sig) { (void)sig; alarms++; }

static void alarm_in(int ms, int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval t = {{0, 0}, {0, ms * 1000}};
    setitimer(ITIMER_REAL, &t, NULL);
}

int main(int argc, char **argv) {
    const char *fifo = argc > 1 ? argv[1] : "fifo";
    if (mkfifo(fifo, 0600) != 0) { perror("mkfifo"); return 1; }
    setvbuf(stdout, NULL, _IONBF, 0);

    alarm_in(300, 0);
    int fd = open(fifo, O_WRONLY);
    printf("no SA_RESTART: %s, alarms %d\n", fd < 0 && errno == EINTR ? "EINTR" : "opened", (int)alarms);

    alarm_in(200, 1);
    pid_t w = fork();
    if (w == 0) {
        usleep(700 * 1000);
        int o = open(fifo, O_WRONLY);
        if (write(o, "late", 4) != 4) _exit(1);
        _exit(0);
    }
    fd = open(fifo, O_RDONLY);
    char buf[8] = {0};
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    printf("SA_RESTART: %s %s, alarms %d\n", fd < 0 ? strerror(errno) : "opened", n > 0 ? buf : "-", (int)alarms);
    waitpid(w, NULL, 0);
    if (fd >= 0) close(fd);

    pid_t b = fork();
    if (b == 0) {
        open(fifo, O_WRONLY);
        _exit(0);
    }
    usleep(300 * 1000);
    kill(b, SIGTERM);
    int st;
    waitpid(b, &st, 0);
    printf("blocked writer: %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "killed by SIGTERM" : "other");
    /* A caught signal for a process with another thread, which may take
     * it: an SA_RESTART handler lets the open go on natively. */
    struct sigaction su;
    memset(&su, 0, sizeof su);
    su.sa_handler = on_usr1;
    su.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &su, NULL);
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
    pid_t parent = getpid();
    pid_t k = fork();
    if (k == 0) {
        usleep(300 * 1000);
        kill(parent, SIGUSR1);
        usleep(300 * 1000);
        int o = open(fifo, O_WRONLY);
        _exit(o < 0);
    }
    fd = open(fifo, O_RDONLY);
    printf("threaded SA_RESTART: %s\n", fd < 0 ? strerror(errno) : "opened");
    waitpid(k, NULL, 0);
    unlink(fifo);
    return 0;
}
