/* sweep: a grid of `lengen train` runs with W workers and one results table. See sweep.h. */
#define _POSIX_C_SOURCE 200809L
#include "sweep.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint.h"
#include "config.h"
#include "rundir.h"

/* ---- the sweep file ---- */

typedef struct {
    Sweep *s;
    LgErr *err;
    int failed;
} Loader;

static char *trim(char *p) {
    while (*p == ' ' || *p == '\t') p++;
    char *e = p + strlen(p);
    while (e > p && (e[-1] == ' ' || e[-1] == '\t')) *--e = 0;
    return p;
}

static int copy_str(char *dst, size_t cap, const char *src, const char *what, LgErr *err) {
    if (strlen(src) >= cap) return lg_err(err, "%s is too long (at most %zu characters)", what, cap - 1);
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int name_ok(const char *n) {
    if (!*n) return 0;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '.' ||
              *n == '_' || *n == '-'))
            return 0;
    return 1;
}

/* A value's character in a run name: those outside [A-Za-z0-9._] become '-'. */
static char name_char(char ch) {
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_';
    return ok ? ch : '-';
}

/* Do values a and b give the same run name? */
static int same_name(const char *a, const char *b) {
    for (; *a && *b; a++, b++)
        if (name_char(*a) != name_char(*b)) return 0;
    return !*a && !*b;
}

static int on_key(void *user, const char *section, const char *name, const char *value) {
    Loader *ld = user;
    Sweep *s = ld->s;
    LgErr *err = ld->err;
    if (ld->failed) return 0;
    int rc = 0;
    if (!strcmp(section, "sweep")) {
        if (!strcmp(name, "base")) rc = copy_str(s->base, sizeof s->base, value, "[sweep] base", err);
        else if (!strcmp(name, "name")) rc = copy_str(s->name, sizeof s->name, value, "[sweep] name", err);
        else if (!strcmp(name, "out_dir")) rc = copy_str(s->out_dir, sizeof s->out_dir, value, "[sweep] out_dir", err);
        else if (!strcmp(name, "threads") || !strcmp(name, "workers")) {
            char *end;
            long v = strtol(value, &end, 10);
            if (end == value || *trim(end) || v < (name[0] == 't' ? 1 : 0) || v > 1024)
                rc = lg_err(err, "[sweep] %s = '%s' is not an integer in %d..1024", name, value, name[0] == 't' ? 1 : 0);
            else if (name[0] == 't') s->threads = (int)v;
            else s->workers = (int)v;
        } else if (!strcmp(name, "set")) {
            if (s->n_sets >= SWEEP_MAX_SETS) rc = lg_err(err, "[sweep] more than %d set lines", SWEEP_MAX_SETS);
            else rc = copy_str(s->sets[s->n_sets++], 256, value, "[sweep] set", err);
        } else {
            rc = lg_err(err, "unknown key '%s' in [sweep] (keys: base, name, out_dir, threads, workers, set)", name);
        }
    } else if (!strcmp(section, "grid")) {
        if (s->n_axes >= SWEEP_MAX_AXES) {
            rc = lg_err(err, "[grid] has more than %d axes", SWEEP_MAX_AXES);
        } else if (!strchr(name, '.') && !name_ok(name)) {
            rc = lg_err(err, "[grid] key '%s' must be section.key (e.g. model.posenc) or the name of a named axis "
                        "(letters, digits, _ -)", name);
        } else {
            SweepAxis *a = &s->axes[s->n_axes++];
            memset(a, 0, sizeof *a);
            a->named = !strchr(name, '.');
            rc = copy_str(a->key, sizeof a->key, name, "[grid] key", err);
            char buf[2048];
            if (!rc) rc = copy_str(buf, sizeof buf, value, "[grid] values", err);
            for (char *save = NULL, *v = rc ? NULL : strtok_r(buf, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
                v = trim(v);
                if (!*v) continue;
                if (a->n >= SWEEP_MAX_VALUES) {
                    rc = lg_err(err, "[grid] %s has more than %d values", name, SWEEP_MAX_VALUES);
                    break;
                }
                if (a->named && (!name_ok(v) || strchr(v, '.'))) {
                    rc = lg_err(err, "[grid] %s: value '%s' of a named axis must be letters, digits, _ - (it names the "
                                "section [%s.%s] and the runs)", name, v, name, v);
                    break;
                }
                if ((rc = copy_str(a->values[a->n++], 64, v, "a [grid] value", err))) break;
            }
            if (!rc && a->n == 0) rc = lg_err(err, "[grid] %s lists no values", name);
        }
    } else if (strchr(section, '.')) {   /* [NAME.v]: what value v of the named axis NAME sets */
        char set[512];
        snprintf(set, sizeof set, "%s=%s", name, value);
        if (s->n_named >= SWEEP_MAX_NAMED_SETS) {
            rc = lg_err(err, "more than %d lines in [NAME.value] sections", SWEEP_MAX_NAMED_SETS);
        } else if (!strchr(name, '.')) {
            rc = lg_err(err, "[%s] key '%s' must be section.key, e.g. model.posenc", section, name);
        } else {
            SweepNamedSet *n = &s->named[s->n_named++];
            rc = copy_str(n->section, sizeof n->section, section, "a section name", err);
            if (!rc) rc = copy_str(n->set, sizeof n->set, set, "a [NAME.value] line", err);
        }
    } else {
        rc = lg_err(err, "unknown section [%s] (a sweep file has [sweep], [grid] and a [NAME.value] section for each "
                    "value of a named axis)", section);
    }
    if (rc) ld->failed = 1;
    return rc ? 0 : 1;
}

static int sweep_run_sets(const Sweep *s, int r, char sets[][256]);

/* Builds run r's config (base + sets + its grid point) into c. */
static int run_config(const Sweep *s, int r, Config *c, LgErr *err) {
    cfg_defaults(c);
    if (cfg_load_file(c, s->base, err) != 0) return -1;
    for (int i = 0; i < s->n_sets; i++)
        if (cfg_set(c, s->sets[i], err) != 0) return -1;
    char sets[SWEEP_MAX_RUN_SETS][256];
    int n = sweep_run_sets(s, r, sets);
    for (int i = 0; i < n; i++)
        if (cfg_set(c, sets[i], err) != 0) return -1;
    return cfg_validate(c, err);
}

/* The key of a `section.key=value` line, `len` characters. */
static size_t set_key_len(const char *set) {
    return strcspn(set, "=");
}

/* Ties each [NAME.v] line to its named axis and value, and checks that every value of a named
 * axis says what it sets, and that no key is set by two axes. Returns 0 or -1 with err. */
static int resolve_named(Sweep *s, const char *path, LgErr *err) {
    for (int k = 0; k < s->n_named; k++) {
        SweepNamedSet *n = &s->named[k];
        size_t alen = strcspn(n->section, ".");
        const char *v = n->section + alen + 1;
        n->axis = n->value = -1;
        for (int i = 0; i < s->n_axes; i++)
            if (s->axes[i].named && strlen(s->axes[i].key) == alen && !strncmp(s->axes[i].key, n->section, alen))
                n->axis = i;
        if (n->axis < 0)
            return lg_err(err, "%s: section [%s] names no axis of [grid]; a named axis is a [grid] line NAME = v1, v2, "
                          "... whose values' sections are [NAME.v1], [NAME.v2], ...", path, n->section);
        const SweepAxis *a = &s->axes[n->axis];
        for (int j = 0; j < a->n; j++)
            if (!strcmp(a->values[j], v)) n->value = j;
        if (n->value < 0)
            return lg_err(err, "%s: section [%s]: '%s' is not a value of the [grid] axis %s; add it there or remove the "
                          "section", path, n->section, v, a->key);
        size_t klen = set_key_len(n->set);
        for (int i = 0; i < s->n_axes; i++)
            if (!s->axes[i].named && strlen(s->axes[i].key) == klen && !strncmp(s->axes[i].key, n->set, klen))
                return lg_err(err, "%s: section [%s] sets %.*s, which [grid] also varies as an axis; set it in one place",
                              path, n->section, (int)klen, n->set);
        for (int j = 0; j < k; j++) {
            const SweepNamedSet *o = &s->named[j];
            if (set_key_len(o->set) != klen || strncmp(o->set, n->set, klen)) continue;
            if (o->axis == n->axis && o->value == n->value)
                return lg_err(err, "%s: section [%s] sets %.*s twice", path, n->section, (int)klen, n->set);
            if (o->axis != n->axis)
                return lg_err(err, "%s: %.*s is set by two named axes ([%s] and [%s]); set it in one place", path,
                              (int)klen, n->set, o->section, n->section);
        }
    }
    for (int i = 0; i < s->n_axes; i++) {
        const SweepAxis *a = &s->axes[i];
        for (int j = 0; a->named && j < a->n; j++) {
            int lines = 0;
            for (int k = 0; k < s->n_named; k++) lines += s->named[k].axis == i && s->named[k].value == j;
            if (!lines)
                return lg_err(err, "%s: [grid] %s: value '%s' has no section [%s.%s] saying what it sets (e.g. "
                              "model.posenc = fire)", path, a->key, a->values[j], a->key, a->values[j]);
        }
    }
    return 0;
}

int sweep_load(Sweep *s, const char *path, LgErr *err) {
    memset(s, 0, sizeof *s);
    s->threads = 1;
    s->stride = 1;
    snprintf(s->out_dir, sizeof s->out_dir, "runs");
    if (lg_check_input_file(path, CFG_MAX_FILE_BYTES, "sweep file", err) != 0) return -1;
    Loader ld = {s, err, 0};
    int rc = ini_parse(path, on_key, &ld);
    if (rc < 0) return lg_err(err, "cannot read %s: %s", path, strerror(errno));
    if (ld.failed) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return lg_err(err, "%s: %s", path, msg);
    }
    if (rc > 0) return lg_err(err, "%s:%d: not an INI line", path, rc);
    if (!s->base[0]) return lg_err(err, "%s: [sweep] base is not set; name the config the runs start from", path);
    if (!name_ok(s->name)) return lg_err(err, "%s: [sweep] name '%s' must be letters, digits, . _ -", path, s->name);
    if (s->n_axes == 0) return lg_err(err, "%s: [grid] is empty; add an axis such as run.seed = 1, 2, 3", path);
    /* two values naming the same run would train into one folder */
    for (int i = 0; i < s->n_axes; i++)
        for (int j = 0; j < s->axes[i].n; j++)
            for (int k = 0; k < j; k++)
                if (same_name(s->axes[i].values[j], s->axes[i].values[k]))
                    return lg_err(err, "%s: [grid] %s lists '%s' and '%s', which name the same run (a run name keeps "
                                  "letters, digits, . and _, and writes - for the rest); list each value once",
                                  path, s->axes[i].key, s->axes[i].values[k], s->axes[i].values[j]);
    if (resolve_named(s, path, err) != 0) return -1;
    s->n_runs = 1;
    for (int i = 0; i < s->n_axes; i++) {
        if (s->n_runs * s->axes[i].n > SWEEP_MAX_RUNS)
            return lg_err(err, "%s: the grid has more than %d runs", path, SWEEP_MAX_RUNS);
        s->n_runs *= s->axes[i].n;
    }
    if (s->workers == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        s->workers = cores > s->threads ? (int)(cores / s->threads) : 1;
    }
    for (int r = 0; r < s->n_runs; r++) {
        Config c;
        char name[256], msg[sizeof err->msg];
        sweep_run_name(s, r, name, sizeof name);
        if (run_config(s, r, &c, err) != 0) {
            snprintf(msg, sizeof msg, "%s", err->msg);
            return lg_err(err, "%s: run %s: %s", path, name, msg);
        }
    }
    return 0;
}

/* The value axis i takes in run r. */
static const char *sweep_axis_value(const Sweep *s, int r, int i) {
    int stride = 1;
    for (int j = i + 1; j < s->n_axes; j++) stride *= s->axes[j].n;
    return s->axes[i].values[(r / stride) % s->axes[i].n];
}

void sweep_run_name(const Sweep *s, int r, char *name, size_t cap) {
    size_t o = 0;
    name[0] = 0;
    for (int i = 0; i < s->n_axes; i++) {
        const SweepAxis *a = &s->axes[i];
        const char *v = sweep_axis_value(s, r, i), *dot = strrchr(a->key, '.'), *k = dot ? dot + 1 : a->key;
        o += (size_t)snprintf(name + o, o < cap ? cap - o : 0, "%s%s-", i ? "_" : "", k);
        for (; *v && o + 1 < cap; v++, o++) name[o] = name_char(*v);
        if (o < cap) name[o] = 0;
    }
}

/* The `--set` assignments of run r's grid point in file order (a named axis gives its value's
 * section lines); returns how many (at most SWEEP_MAX_RUN_SETS). */
static int sweep_run_sets(const Sweep *s, int r, char sets[][256]) {
    int n = 0;
    for (int i = 0; i < s->n_axes; i++) {
        const SweepAxis *a = &s->axes[i];
        const char *v = sweep_axis_value(s, r, i);
        if (!a->named) {
            snprintf(sets[n++], 256, "%s=%s", a->key, v);
            continue;
        }
        for (int k = 0; k < s->n_named; k++)
            if (s->named[k].axis == i && !strcmp(a->values[s->named[k].value], v))
                snprintf(sets[n++], 256, "%s", s->named[k].set);
    }
    return n;
}

/* ---- the --finished list ---- */

int sweep_load_finished(Sweep *s, const char *path, FILE *warn, LgErr *err) {
    memset(s->elsewhere, 0, sizeof s->elsewhere);
    s->finished_file[0] = 0;
    const char *what = "give --finished the path of a file of <sweep name>/<run name> lines";
    if (lg_check_input_file(path, CFG_MAX_FILE_BYTES, "--finished list", err) != 0) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return lg_err(err, "%s; %s", msg, what);
    }
    if (copy_str(s->finished_file, sizeof s->finished_file, path, "the --finished path", err) != 0) return -1;
    FILE *f = fopen(path, "r");
    if (!f) return lg_err(err, "%s: cannot read the --finished list: %s; %s", path, strerror(errno), what);
    char (*names)[256] = lg_calloc((size_t)s->n_runs, sizeof *names, "sweep run names");
    for (int r = 0; r < s->n_runs; r++) sweep_run_name(s, r, names[r], sizeof names[r]);
    char buf[1024];
    int line = 0, rc = 0;
    while (!rc && fgets(buf, sizeof buf, f)) {
        line++;
        size_t len = strlen(buf);
        if (len && buf[len - 1] != '\n' && !feof(f)) {   /* fgets filled buf mid-line */
            rc = lg_err(err, "%s:%d: longer than %zu characters; a line is <sweep name>/<run name>", path, line,
                        sizeof buf - 2);
            break;
        }
        buf[strcspn(buf, "\r\n")] = 0;
        char *p = trim(buf);
        if (!*p || *p == '#') continue;
        char *slash = strchr(p, '/');
        if (slash) *slash = 0;
        if (!slash || !name_ok(p) || !name_ok(slash + 1)) {
            if (slash) *slash = '/';
            rc = lg_err(err, "%s:%d: '%s' is not <sweep name>/<run name> (e.g. cmc/seed-1_posenc-nope: letters, "
                        "digits, . _ - on either side of one /); fix it, or start it with # to keep it as a comment",
                        path, line, p);
            break;
        }
        if (strcmp(p, s->name)) continue;   /* another sweep's run */
        const char *run = slash + 1;
        int r = 0;
        while (r < s->n_runs && strcmp(names[r], run)) r++;
        if (r < s->n_runs) s->elsewhere[r] = 1;
        else if (warn)
            fprintf(warn, "lengen sweep: %s:%d: sweep %s has no run %s (its runs are named like %s); line ignored\n",
                    path, line, s->name, run, names[0]);
    }
    if (!rc && ferror(f)) rc = lg_err_io(err, "read", path);
    fclose(f);
    lg_free(names);
    if (rc) {
        memset(s->elsewhere, 0, sizeof s->elsewhere);
        s->finished_file[0] = 0;
    }
    return rc;
}

/* ---- running ---- */

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

typedef enum { RUN_DONE, RUN_RESUME, RUN_FRESH } RunState;

/* "process 123", or "another process" when the lock file does not say which (rundir_holder). */
static void holder_name(long holder, char *buf, size_t cap) {
    if (holder > 0) snprintf(buf, cap, "process %ld", holder);
    else snprintf(buf, cap, "another process");
}

/* Run r's folder (into dir) and state; its [train] steps into *steps_out when not NULL (-1 for a
 * run finished elsewhere, whose config is not read). */
static RunState run_state(const Sweep *s, int r, char *dir, size_t cap, long *steps_out) {
    char name[256];
    sweep_run_name(s, r, name, sizeof name);
    snprintf(dir, cap, "%s/%s/%s", s->out_dir, s->name, name);
    if (steps_out) *steps_out = -1;
    if (s->elsewhere[r]) return RUN_DONE;   /* listed by --finished: its results are kept elsewhere */
    Config c;
    LgErr err;
    long steps = run_config(s, r, &c, &err) == 0 ? c.train.steps : -1;
    if (steps_out) *steps_out = steps;
    char path[1200];
    rundir_file(path, sizeof path, dir, RUNDIR_EVAL_CSV);
    if (steps > 0 && rundir_last_train_step(dir) >= steps && file_exists(path)) return RUN_DONE;
    rundir_file(path, sizeof path, dir, RUNDIR_CKPT);
    return file_exists(path) ? RUN_RESUME : RUN_FRESH;
}

int sweep_run_finished(const Sweep *s, int r) {
    char dir[900];
    return run_state(s, r, dir, sizeof dir, NULL) == RUN_DONE;
}

/* "1.3 h" or "25 min" */
static void fmt_hours(double seconds, char *buf, size_t cap) {
    if (seconds >= 3600) snprintf(buf, cap, "%.1f h", seconds / 3600);
    else snprintf(buf, cap, "%.0f min", seconds / 60);
}

int sweep_status(const Sweep *s, FILE *out, int quiet) {
    int n_done = 0, n_elsewhere = 0, n_resume = 0, n_fresh = 0, n_timed = 0;
    double timed_s = 0, left_runs = 0;   /* left_runs: runs still to train, a stopped one as its fraction left */
    char dir[900], name[256], path[1200];
    for (int r = 0; r < s->n_runs; r++) {
        long steps;
        RunState st = run_state(s, r, dir, sizeof dir, &steps);
        sweep_run_name(s, r, name, sizeof name);
        char what[1400], who[48];
        long holder = st == RUN_DONE ? 0 : rundir_holder(dir);
        holder_name(holder, who, sizeof who);
        if (st == RUN_DONE && s->elsewhere[r]) {
            n_done++, n_elsewhere++;
            snprintf(what, sizeof what, "finished elsewhere (--finished)");
        } else if (st == RUN_DONE) {
            double secs = rundir_train_seconds(dir);
            n_done++;
            if (secs >= 0) {
                n_timed++, timed_s += secs;
                snprintf(what, sizeof what, "finished, %.0f s of training", secs);
            } else {
                snprintf(what, sizeof what, "finished");
            }
        } else if (st == RUN_RESUME) {
            rundir_file(path, sizeof path, dir, RUNDIR_CKPT);
            long at = ckpt_step_of(path);
            n_resume++;
            if (at >= 0 && steps > 0) {
                left_runs += 1.0 - (double)at / (double)steps;
                if (holder != 0)
                    snprintf(what, sizeof what, "training now, in %s (its ckpt.h5 at step %ld of %ld)", who, at, steps);
                else
                    snprintf(what, sizeof what, "resumes from step %ld of %ld (its ckpt.h5)", at, steps);
            } else {
                left_runs += 1;
                snprintf(what, sizeof what, "has a ckpt.h5 that cannot be read: `lengen inspect %s`", path);
            }
        } else {
            n_fresh++;
            left_runs += 1;
            if (holder != 0)
                snprintf(what, sizeof what, "training now, in %s (no checkpoint yet)", who);
            else
                snprintf(what, sizeof what, "%s", rundir_last_train_step(dir) >= 0 ? "starts over (stopped before its "
                         "first checkpoint)" : "not started");
        }
        if (!quiet) fprintf(out, "  %-40s %s\n", name, what);
    }
    fprintf(out, "%s: %d runs: %d finished", s->name, s->n_runs, n_done);
    if (n_elsewhere) fprintf(out, " (%d elsewhere)", n_elsewhere);
    fprintf(out, ", %d to resume, %d not started", n_resume, n_fresh);
    if (left_runs == 0) {
        fprintf(out, "; nothing left to train\n");
    } else if (n_timed == 0) {
        fprintf(out, "; no run has finished here yet to time the rest by\n");
    } else {
        char left[32];
        double mean = timed_s / n_timed;
        fmt_hours(left_runs * mean, left, sizeof left);
        fprintf(out, "; training left: about %s, one run after another (%.0f s a run, the mean of the %d "
                "finished here)\n", left, mean, n_timed);
    }
    return ferror(out) ? -1 : 0;
}

/* Starts run r as a child; returns its pid or -1. */
static pid_t start_run(const Sweep *s, int r, RunState st, const char *exe) {
    char dir[900], name[256], log[1200], threads[64], out_dir[700], run_name[300];
    run_state(s, r, dir, sizeof dir, NULL);
    sweep_run_name(s, r, name, sizeof name);
    snprintf(log, sizeof log, "%s/%s/%s.log", s->out_dir, s->name, name);
    snprintf(threads, sizeof threads, "run.threads=%d", s->threads);
    snprintf(out_dir, sizeof out_dir, "run.out_dir=%s/%s", s->out_dir, s->name);
    snprintf(run_name, sizeof run_name, "run.name=%s", name);
    char sets[SWEEP_MAX_RUN_SETS][256];
    int n_grid = sweep_run_sets(s, r, sets);
    const char *argv[16 + 2 * (SWEEP_MAX_SETS + SWEEP_MAX_RUN_SETS)];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "train";
    if (st == RUN_RESUME) {
        argv[n++] = "--resume";
        argv[n++] = dir;
    } else {
        argv[n++] = s->base;
        for (int i = 0; i < s->n_sets; i++) argv[n++] = "--set", argv[n++] = s->sets[i];
        for (int i = 0; i < n_grid; i++) argv[n++] = "--set", argv[n++] = sets[i];
        argv[n++] = "--set", argv[n++] = out_dir;
        argv[n++] = "--set", argv[n++] = run_name;
        argv[n++] = "--force";
    }
    argv[n++] = "--set", argv[n++] = threads;
    argv[n++] = "--quiet";
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* child: quiet OpenMP waiting when runs share cores, output to the run's log; a child of an
     * MPI rank (lengen-mpi sweep under mpirun) is a process of its own, not a rank (dist.h) */
    setenv("LENGEN_NO_MPI", "1", 1);
    setenv("OMP_WAIT_POLICY", "passive", 0);
    setenv("GOMP_SPINCOUNT", "10000", 0);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    execv(exe, (char *const *)argv);
    fprintf(stderr, "lengen sweep: cannot run %s: %s\n", exe, strerror(errno));
    _exit(127);
}

int sweep_execute(const Sweep *s, const char *exe, int quiet) {
    char dir[900], name[256];
    snprintf(dir, sizeof dir, "%s/%s", s->out_dir, s->name);
    LgErr err;
    if (lg_mkdir_p(dir, &err) != 0) {
        fprintf(stderr, "lengen sweep: %s\n", err.msg);
        return 1;
    }
    pid_t *pids = lg_calloc((size_t)s->workers, sizeof *pids, "sweep workers");
    int *slot_run = lg_calloc((size_t)s->workers, sizeof *slot_run, "sweep worker runs");
    int next = s->first, running = 0, failed = 0, done = 0, skipped = 0, elsewhere = 0, busy = 0;
    int mine = s->first < s->n_runs ? (s->n_runs - s->first + s->stride - 1) / s->stride : 0;
    double t0 = lg_seconds();
    if (!quiet && mine < s->n_runs)
        printf("lengen sweep: %d of the %d runs of %s in %s (runs %d, %d, ...), %d workers x %d threads\n", mine,
               s->n_runs, s->base, dir, s->first, s->first + s->stride, s->workers, s->threads);
    else if (!quiet)
        printf("lengen sweep: %d runs of %s in %s, %d workers x %d threads\n", s->n_runs, s->base, dir, s->workers,
               s->threads);
    while (next < s->n_runs || running > 0) {
        /* fill free workers */
        for (int w = 0; w < s->workers && next < s->n_runs; w++) {
            if (pids[w] > 0) continue;
            int r = next;
            next += s->stride;
            char rdir[900];
            RunState st = run_state(s, r, rdir, sizeof rdir, NULL);
            sweep_run_name(s, r, name, sizeof name);
            if (st == RUN_DONE) {
                skipped++;
                elsewhere += s->elsewhere[r];
                if (!quiet)
                    printf("  %-40s %s: skipped\n", name, s->elsewhere[r] ? "finished elsewhere" : "finished before");
                w--;   /* this worker is still free */
                continue;
            }
            /* another sweep (a second queue on the same sweep file) is training it now: left to
             * that one, so two queues share a sweep's runs instead of failing on each other's */
            long holder = rundir_holder(rdir);
            if (holder != 0) {
                char who[48];
                holder_name(holder, who, sizeof who);
                skipped++, busy++;
                if (!quiet) printf("  %-40s training in %s: skipped\n", name, who);
                w--;
                continue;
            }
            pid_t pid = start_run(s, r, st, exe);
            if (pid < 0) {
                fprintf(stderr, "lengen sweep: cannot start run %s: %s\n", name, strerror(errno));
                failed++;
                continue;
            }
            pids[w] = pid;
            slot_run[w] = r;
            running++;
            if (!quiet) printf("  %-40s %s\n", name, st == RUN_RESUME ? "resumed" : "started");
            fflush(stdout);
        }
        if (running == 0) break;
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int w = 0; w < s->workers; w++) {
            if (pids[w] != pid) continue;
            pids[w] = 0;
            running--;
            sweep_run_name(s, slot_run[w], name, sizeof name);
            int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (ok) done++;
            else failed++;
            if (ok && !quiet) printf("  %-40s done (%.0f s into the sweep)\n", name, lg_seconds() - t0);
            if (!ok) printf("  %-40s FAILED; see %s/%s.log\n", name, dir, name);
            fflush(stdout);
        }
    }
    lg_free(pids);
    lg_free(slot_run);
    if (!quiet) {
        char why[128] = "";
        if (elsewhere && busy)
            snprintf(why, sizeof why, " (%d finished elsewhere, %d training in another process)", elsewhere, busy);
        else if (elsewhere)
            snprintf(why, sizeof why, " (%d finished elsewhere)", elsewhere);
        else if (busy)
            snprintf(why, sizeof why, " (%d training in another process)", busy);
        printf("lengen sweep: %d trained, %d skipped%s, %d failed in %.0f s\n", done, skipped, why, failed,
               lg_seconds() - t0);
    }
    return failed ? 1 : 0;
}

/* ---- the table ---- */

#define MAX_LEN 256

typedef struct {
    long step;
    int n;
    int lengths[MAX_LEN];
    double em[MAX_LEN];
} RunResult;

/* Reading one run's eval.csv: pass 0 finds the main task's last step, pass 1 keeps its rows. */
typedef struct {
    RunResult *rr;
    char main_task[128];
    int pass;
} EvalScan;

static void eval_scan_row(void *ctx, const RundirEvalRow *row) {
    EvalScan *sc = ctx;
    RunResult *rr = sc->rr;
    if (!sc->main_task[0]) snprintf(sc->main_task, sizeof sc->main_task, "%s", row->task);
    if (strcmp(row->task, sc->main_task)) return;
    if (sc->pass == 0) {
        if (row->step > rr->step) rr->step = row->step;
    } else if (row->step == rr->step) {
        int k = 0;
        while (k < rr->n && rr->lengths[k] != row->length) k++;
        if (k == rr->n && rr->n < MAX_LEN) rr->lengths[rr->n++] = row->length;
        if (k < MAX_LEN) rr->em[k] = row->exact_match;
    }
}

/* The main task's (first row's task) exact match per length at its last evaluated step; a
 * later row of the same step and length wins. Returns 0, or -1 without a readable eval.csv. */
static int read_eval(const char *dir, RunResult *rr) {
    char path[1200];
    rundir_file(path, sizeof path, dir, RUNDIR_EVAL_CSV);
    memset(rr, 0, sizeof *rr);
    rr->step = -1;
    EvalScan sc = {.rr = rr};
    for (sc.pass = 0; sc.pass < 2; sc.pass++)
        if (rundir_read_eval(path, eval_scan_row, &sc) != 0) return -1;
    return rr->step >= 0 ? 0 : -1;
}

int sweep_table(const Sweep *s, FILE *out, LgErr *err) {
    RunResult *rr = lg_calloc((size_t)s->n_runs, sizeof *rr, "sweep results");
    int *have = lg_calloc((size_t)s->n_runs, sizeof *have, "sweep result flags");
    int lengths[MAX_LEN], nl = 0;
    char dir[900], name[256];
    for (int r = 0; r < s->n_runs; r++) {
        run_state(s, r, dir, sizeof dir, NULL);
        have[r] = read_eval(dir, &rr[r]) == 0;
        for (int k = 0; have[r] && k < rr[r].n; k++) {   /* the union of lengths, ascending */
            int l = rr[r].lengths[k], i = 0;
            while (i < nl && lengths[i] < l) i++;
            if ((i < nl && lengths[i] == l) || nl >= MAX_LEN) continue;
            memmove(lengths + i + 1, lengths + i, (size_t)(nl - i) * sizeof(int));
            lengths[i] = l;
            nl++;
        }
    }
    char csv_path[1000], md_path[1000];
    snprintf(dir, sizeof dir, "%s/%s", s->out_dir, s->name);
    if (lg_mkdir_p(dir, err) != 0) {   /* --table before any run started: an empty table */
        lg_free(rr);
        lg_free(have);
        return -1;
    }
    snprintf(csv_path, sizeof csv_path, "%s/%s/results.csv", s->out_dir, s->name);
    snprintf(md_path, sizeof md_path, "%s/%s/results.md", s->out_dir, s->name);
    FILE *csv = fopen(csv_path, "w"), *md = fopen(md_path, "w");
    if (!csv || !md) {
        if (csv) fclose(csv);
        if (md) fclose(md);
        lg_free(rr);
        lg_free(have);
        return lg_err(err, "cannot write %s: %s", !csv ? csv_path : md_path, strerror(errno));
    }
    fprintf(csv, "run");
    fprintf(md, "| run");
    for (int i = 0; i < s->n_axes; i++) {
        fprintf(csv, ",%s", s->axes[i].key);
        fprintf(md, " | %s", s->axes[i].key);
    }
    fprintf(csv, ",step");
    fprintf(md, " | step");
    for (int k = 0; k < nl; k++) {
        fprintf(csv, ",%d", lengths[k]);
        fprintf(md, " | %d", lengths[k]);
    }
    fprintf(csv, "\n");
    fprintf(md, " |\n|---");
    for (int i = 0; i < s->n_axes + 1 + nl; i++) fprintf(md, "|---");
    fprintf(md, "|\n");
    for (int r = 0; r < s->n_runs; r++) {
        sweep_run_name(s, r, name, sizeof name);
        fprintf(csv, "%s", name);
        fprintf(md, "| %s", name);
        for (int i = 0; i < s->n_axes; i++) {
            const char *v = sweep_axis_value(s, r, i);
            fprintf(csv, ",%s", v);
            fprintf(md, " | %s", v);
        }
        if (have[r]) {
            fprintf(csv, ",%ld", rr[r].step);
            fprintf(md, " | %ld", rr[r].step);
        } else {
            fprintf(csv, ",");
            fprintf(md, " | -");
        }
        for (int k = 0; k < nl; k++) {
            int j = 0;
            while (have[r] && j < rr[r].n && rr[r].lengths[j] != lengths[k]) j++;
            if (have[r] && j < rr[r].n) {
                fprintf(csv, ",%.6g", rr[r].em[j]);
                fprintf(md, " | %.1f", 100 * rr[r].em[j]);
            } else {
                fprintf(csv, ",");
                fprintf(md, " | -");
            }
        }
        fprintf(csv, "\n");
        fprintf(md, " |\n");
    }
    fprintf(md, "\nexact match (%%) of the main task per length at each run's last evaluated step\n");
    /* a write that failed on the way (full disk) shows in the error flag or at the flush */
    int bad_csv = lg_flush_check(csv, csv_path, err) != 0;
    int bad_md = !bad_csv && lg_flush_check(md, md_path, err) != 0;
    if (fclose(csv) != 0 && !bad_csv && !bad_md) bad_csv = lg_err_io(err, "close", csv_path);
    if (fclose(md) != 0 && !bad_csv && !bad_md) bad_md = lg_err_io(err, "close", md_path);
    lg_free(rr);
    lg_free(have);
    if (bad_csv || bad_md) return -1;
    if (out) {
        FILE *f = fopen(md_path, "r");
        char line[4096];
        while (f && fgets(line, sizeof line, f)) fputs(line, out);
        if (f) fclose(f);
    }
    return 0;
}
