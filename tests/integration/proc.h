/* Helpers for tests that run the real duegate binary as a child process. */
#ifndef DG_TESTS_PROC_H
#define DG_TESTS_PROC_H

#include <sys/types.h>

/* $DG_TOP_BUILDDIR, or "." */
const char *dgt_top(void);
/* Start argv[0] with argv; its stdout+stderr go to a pipe returned in *fd. */
pid_t dgt_spawn(char *const argv[], int *fd);
/* Read until `needle` shows up (NULL: until EOF); returns what was read (caller frees). */
char *dgt_read_until(int fd, const char *needle);
/* Wait for pid; its exit status, or 128 + signal. */
int dgt_wait_exit(pid_t pid);
/* Write text to path (the test fails if it cannot). */
void dgt_write_file(const char *path, const char *text);

#endif
