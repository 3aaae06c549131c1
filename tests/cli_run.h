/* cli_run: runs the lengen binary from a test. The binary is $LENGEN_BIN (make test sets it),
 * else ./lengen. */
#ifndef LENGEN_TEST_CLI_RUN_H
#define LENGEN_TEST_CLI_RUN_H

#include <stddef.h>

/* Runs the shell command cmd, its stdout into out (NUL-terminated, truncated to cap; add 2>&1
 * to cmd for stderr too). Returns the exit status, or -1 if it did not exit normally. */
int shell_output(const char *cmd, char *out, size_t cap);

/* Runs `lengen args` (args is shell text) with stderr merged into out (NUL-terminated,
 * truncated to cap). Returns the exit status, or -1 if it did not exit normally. */
int cli_run(const char *args, char *out, size_t cap);

/* Writes text to path (a config or sweep file for cli_run). Returns 1 on success, 0 on failure. */
int write_text(const char *path, const char *text);

#endif
