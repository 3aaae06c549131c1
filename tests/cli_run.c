/* cli_run: see cli_run.h. */
#define _POSIX_C_SOURCE 200809L
#include "cli_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

int shell_output(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    while (fgetc(p) != EOF) {}  /* drain what did not fit */
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int cli_run(const char *args, char *out, size_t cap) {
    const char *bin = getenv("LENGEN_BIN");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", bin && *bin ? bin : "./lengen", args);
    return shell_output(cmd, out, cap);
}

int write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}
