/* cli_util: small helpers shared by the commands: integer arguments, --set lists. */
#ifndef LENGEN_CLI_UTIL_H
#define LENGEN_CLI_UTIL_H

#define CLI_MAX_SETS 64

/* Parses a whole decimal integer in [lo, hi]; returns 0 or -1. */
int cli_parse_long(const char *s, long lo, long hi, long *out);

/* Collects the value of `--set` options: returns 0, or prints an error and returns 2. */
int cli_add_set(const char *cmd, const char **sets, int *n_sets, const char *value);

#endif
