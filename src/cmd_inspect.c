/* cmd_inspect: `lengen inspect FILE` prints what a lengen model file holds: format, version,
 * step, the config text, the vocabulary and every dataset with its type and shape. Exit 0;
 * 2 with a message for a missing, foreign, truncated or corrupt file or bad arguments. */
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "cli_util.h"

typedef struct {
    long long model_floats;
    int n;
} Totals;

static void print_ds(const char *name, const char *type, int ndim, const int64_t *dims, void *ctx) {
    Totals *t = ctx;
    char shape[160];
    size_t o = (size_t)snprintf(shape, sizeof shape, "[");
    long long n = 1;
    for (int i = 0; i < ndim && o < sizeof shape; i++) {
        o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%lld", i ? ", " : "", (long long)dims[i]);
        n *= dims[i];
    }
    if (o < sizeof shape) snprintf(shape + o, sizeof shape - o, "]");
    printf("  %-44s %-6s %s\n", name, type, shape);
    if (!strncmp(name, "/model/", 7)) t->model_floats += n;
    t->n++;
}

int cmd_inspect(int argc, char **argv) {
    const CliCommand cmd = {
        "inspect", "FILE", "FILE",
        "Prints the format, version, step, config, vocabulary and every dataset (with type and\n"
        "shape) of a lengen model file (HDF5, see docs/checkpoint.md).\n",
        NULL, 0};
    const char *path;
    int rc = cli_parse(&cmd, argc, argv, &path);
    if (rc >= 0) return rc;
    CkptFile f;
    LgErr err;
    if (ckpt_open(&f, path, &err)) {
        fprintf(stderr, "lengen inspect: %s\n", err.msg);
        return 2;
    }
    printf("file:     %s\n", path);
    printf("format:   %s, version %d\n", CKPT_FORMAT, f.version);
    printf("checksum: %s\n", f.checksum ? "crc32 of the whole file, verified" : "none (an older file; read unverified)");
    printf("step:     %lld\n", (long long)f.step);
    printf("vocab:    %d tokens:", f.n_vocab);
    for (int i = 0; i < f.n_vocab && i < 40; i++) printf(" %s", f.vocab[i]);
    printf("%s\n", f.n_vocab > 40 ? " ..." : "");
    printf("config:\n");
    const char *p = f.config;
    while (*p) {
        size_t n = strcspn(p, "\n");
        printf("  %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    printf("datasets:\n");
    Totals t = {0, 0};
    if (ckpt_list(&f, print_ds, &t, &err)) {
        fprintf(stderr, "lengen inspect: %s\n", err.msg);
        ckpt_close(&f);
        return 2;
    }
    printf("%d datasets; %lld parameters in /model\n", t.n, t.model_floats);
    ckpt_close(&f);
    return 0;
}
