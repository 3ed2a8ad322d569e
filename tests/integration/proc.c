#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

const char *dgt_top(void)
{
    const char *t = getenv("DG_TOP_BUILDDIR");
    return t ? t : ".";
}

pid_t dgt_spawn(char *const argv[], int *fd)
{
    int p[2];
    pid_t pid;
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *fd = p[0];
    return pid;
}

char *dgt_read_until(int fd, const char *needle)
{
    size_t cap = 65536, len = 0;
    char *buf = calloc(1, cap);
    assert_non_null(buf);
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (needle && strstr(buf, needle))
            break;
        if (len + 1 >= cap)
            break;
    }
    return buf;
}

int dgt_wait_exit(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void dgt_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}
