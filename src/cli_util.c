/* cli_util: see cli_util.h. */
#include "cli_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    if (!s || !*s) return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_add_set(const char *cmd, const char **sets, int *n_sets, const char *value) {
    if (!value) {
        fprintf(stderr, "lengen %s: --set needs section.key=value\n", cmd);
        return 2;
    }
    if (*n_sets == CLI_MAX_SETS) {
        fprintf(stderr, "lengen %s: more than %d --set options\n", cmd, CLI_MAX_SETS);
        return 2;
    }
    sets[(*n_sets)++] = value;
    return 0;
}
