/* vfork (with and without exec) and posix_spawn / posix_spawnp, including a
 * spawn of a missing program whose errno must come back to the parent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int status_of(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) return -1;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);

    pid_t pid = vfork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", "echo vfork child; exit 5", (char *)NULL);
        _exit(127);
    }
    printf("vfork+exec status %d\n", status_of(pid));

    pid = vfork();
    if (pid == 0) _exit(9);
    printf("vfork+_exit status %d\n", status_of(pid));

    char *argv1[] = {"sh", "-c", "echo spawned; exit 7", NULL};
    int e = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv1, environ);
    if (e != 0) {
        printf("posix_spawn failed: %s\n", strerrorname_np(e));
    } else {
        printf("posix_spawn status %d\n", status_of(pid));
    }

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "spawn-out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *argv2[] = {"echo", "through", "file", "actions", NULL};
    e = posix_spawnp(&pid, "echo", &fa, NULL, argv2, environ);
    if (e != 0) {
        printf("posix_spawnp failed: %s\n", strerrorname_np(e));
    } else {
        printf("posix_spawnp status %d\n", status_of(pid));
        FILE *f = fopen("spawn-out.txt", "r");
        char line[128] = "";
        if (f) {
            if (!fgets(line, sizeof line, f)) line[0] = 0;
            fclose(f);
        }
        printf("file got: %s", line);
    }
    posix_spawn_file_actions_destroy(&fa);

    char *argv3[] = {"nope", NULL};
    e = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, argv3, environ);
    if (e == 0) {
        printf("posix_spawn of a missing program: started, status %d\n", status_of(pid));
    } else {
        printf("posix_spawn of a missing program: %s\n", strerrorname_np(e));
    }
    return 0;
}
