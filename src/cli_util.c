/* cli_util: see cli_util.h. */
#include "cli_util.h"

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

/* Applies option o to its value val (NULL when argv has no more). Returns -1 when done, else
 * the exit status after a message. */
static int apply_opt(const CliCommand *c, const CliOpt *o, const char *val) {
    switch (o->kind) {
    case CLI_FLAG:
        *(int *)o->dst = 1;
        return -1;
    case CLI_SET: {
        CliSets *s = o->dst;
        return cli_add_set(c->name, s->v, &s->n, val) ? 2 : -1;
    }
    case CLI_STR:
        if (!val) break;
        *(const char **)o->dst = val;
        return -1;
    case CLI_INT:
        if (cli_parse_long(val, o->lo, o->hi, o->dst) == 0) return -1;
        fprintf(stderr, "lengen %s: %s needs %s, got '%s'\n", c->name, o->name, o->need, val ? val : "");
        return 2;
    }
    fprintf(stderr, "lengen %s: %s needs %s\n", c->name, o->name, o->need);
    return 2;
}

/* Prints the usage: synopsis, about, then one line per option. */
static void cli_usage(const CliCommand *c, FILE *f) {
    fprintf(f, "usage: lengen %s %s\n\n%s", c->name, c->synopsis, c->about);
    for (int k = 0; k < c->n_opts; k++) {
        const CliOpt *o = &c->opts[k];
        char form[64];
        snprintf(form, sizeof form, "%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-16s %s\n", form, o->help);
    }
}

int cli_parse(const CliCommand *c, int argc, char **argv, const char **target) {
    *target = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return cli_usage(c, stdout), 0;
        const CliOpt *o = NULL;
        for (int k = 0; k < c->n_opts && !o; k++)
            if (!strcmp(a, c->opts[k].name)) o = &c->opts[k];
        if (o) {
            int rc = apply_opt(c, o, val);
            if (rc >= 0) return rc;
            i += o->kind != CLI_FLAG;
        } else if (a[0] == '-') {
            fprintf(stderr, "lengen %s: unknown option '%s'\n\n", c->name, a);
            cli_usage(c, stderr);
            return 2;
        } else if (!*target) {
            *target = a;
        } else {
            fprintf(stderr, "lengen %s: one %s expected, got '%s' and '%s'\n", c->name, c->target, *target, a);
            return 2;
        }
    }
    if (*target) return -1;
    fprintf(stderr, "lengen %s: missing %s\n", c->name, c->target);
    cli_usage(c, stderr);
    return 2;
}

int cli_load_run(const char *cmd, CliRun *r, const char *target, const CliSets *sets, long threads) {
    CkptFile f;
    LgErr err = {{0}};
    memset(r, 0, sizeof *r);
    if (exp_load(&r->e, target, sets ? sets->v : NULL, sets ? sets->n : 0, &f, &err) != 0) {
        fprintf(stderr, "lengen %s: %s\n", cmd, err.msg);
        return 2;
    }
    snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s", f.path);
    r->step = (long)f.step;
    ckpt_close(&f);
    lg_set_threads(threads > 0 ? (int)threads : r->e.cfg.run.threads);
    return 0;
}

int cli_task_index(const char *cmd, const Experiment *e, const char *name) {
    if (!name) return 0;
    int i = exp_task_index(e, name);
    if (i >= 0) return i;
    fprintf(stderr, "lengen %s: the run has no task '%s'; its tasks:", cmd, name);
    for (int k = 0; k < e->n_tasks; k++) fprintf(stderr, " %s", task_name(e->tasks[k]));
    fprintf(stderr, "\n");
    return -1;
}
