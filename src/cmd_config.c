/* cmd_config: `lengen config` checks an experiment config and prints it resolved (every key,
 * defaults filled in), or prints the table of all keys (the source of docs/configs.md). The
 * check is train's own: the experiment is built (tasks, lengths against the model's positions,
 * the model) and its data stream set up, so a config `config` accepts is one `train` starts. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "data.h"
#include "experiment.h"
#include "util.h"

static void config_usage(FILE *f) {
    fprintf(f,
            "usage: lengen config [FILE.ini ...] [--set section.key=value ...]\n"
            "       lengen config --keys\n\n"
            "Loads the files in order over the defaults, applies each --set, validates, and prints\n"
            "the resolved config (every key) when `lengen train` would start it (the same checks).\n"
            "--keys prints every key as a Markdown table.\n");
}

static void print_keys(void) {
    const char *section = "";
    for (int i = 0; i < cfg_key_count(); i++) {
        CfgKeyInfo k = cfg_key_info(i);
        if (strcmp(k.section, section)) {
            printf("%s### [%s]\n\n| key | type | default | range | meaning |\n|---|---|---|---|---|\n",
                   section[0] ? "\n" : "", k.section);
            section = k.section;
        }
        printf("| `%s` | %s | %s%s%s | %s | %s |\n", k.name, k.type, k.def[0] ? "`" : "", k.def[0] ? k.def : "(none)",
               k.def[0] ? "`" : "", k.range, k.doc);
    }
}

int cmd_config(int argc, char **argv) {
    Config c;
    LgErr err;
    cfg_defaults(&c);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            config_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--keys")) {
            print_keys();
            return 0;
        }
        if (!strcmp(a, "--set") || !strncmp(a, "--set=", 6)) {
            const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                fprintf(stderr, "lengen config: --set needs section.key=value\n");
                return 2;
            }
            if (cfg_set(&c, v, &err)) {
                fprintf(stderr, "lengen config: %s\n", err.msg);
                return 2;
            }
            continue;
        }
        if (a[0] == '-') {
            fprintf(stderr, "lengen config: unknown option '%s'\n\n", a);
            config_usage(stderr);
            return 2;
        }
        if (cfg_load_file(&c, a, &err)) {
            fprintf(stderr, "lengen config: %s\n", err.msg);
            return 2;
        }
    }
    /* train's checks: cfg_validate (inside exp_build), the experiment, the data stream */
    Experiment e;
    if (exp_build(&e, &c, &err) != 0) {
        fprintf(stderr, "lengen config: %s\n", err.msg);
        return 2;
    }
    DataStream d;
    int bad = data_init(&d, &e.cfg, e.tasks, e.n_tasks, &err);
    data_free(&d);
    exp_free(&e);
    if (bad) {
        fprintf(stderr, "lengen config: %s\n", err.msg);
        return 2;
    }
    char *text = cfg_to_string(&c);
    fputs(text, stdout);
    lg_free(text);
    return 0;
}
