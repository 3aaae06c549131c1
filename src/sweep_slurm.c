/* sweep_slurm: a sweep's unfinished runs as one Slurm job array. See sweep.h. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sweep.h"

/* Runs argv with stdout into out (NUL-terminated, truncated to cap; stderr passes through).
 * Returns the exit status, 127 when it cannot be started, -1 when it did not exit. */
static int run_capture(const char *const *argv, char *out, size_t cap) {
    int fd[2];
    if (pipe(fd) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fd[1], STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "lengen sweep: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t got;
    char sink[256];
    while ((got = read(fd[0], n + 1 < cap ? out + n : sink, n + 1 < cap ? cap - 1 - n : sizeof sink)) != 0) {
        if (got < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (n + 1 < cap) n += (size_t)got;
    }
    out[n] = 0;
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The grid indices of the unfinished runs as a Slurm array list ("0-3,5,9-10") into list.
 * Returns how many. */
static int unfinished_list(const Sweep *s, char *list, size_t cap) {
    int count = 0;
    size_t o = 0;
    list[0] = 0;
    for (int r = 0; r < s->n_runs; r++) {
        if (sweep_run_finished(s, r)) continue;
        int end = r;
        while (end + 1 < s->n_runs && !sweep_run_finished(s, end + 1)) end++;
        int w = end > r ? snprintf(list + o, cap - o, "%s%d-%d", o ? "," : "", r, end)
                        : snprintf(list + o, cap - o, "%s%d", o ? "," : "", r);
        if (w > 0 && (size_t)w < cap - o) o += (size_t)w;
        count += end - r + 1;
        r = end;
    }
    return count;
}

/* A path for a /bin/sh script line in single quotes: refuses ones holding a quote. */
static int quotable(const char *p, const char *what, LgErr *err) {
    if (strchr(p, '\'') || strchr(p, '\n')) return lg_err(err, "%s '%s' holds a quote or newline; move or rename it", what, p);
    return 0;
}

int sweep_slurm_submit(const Sweep *s, const char *exe, const char *file, const SweepSlurm *o, LgErr *err) {
    char list[8192], why[64] = "";
    int n = unfinished_list(s, list, sizeof list), elsewhere = 0;
    for (int r = 0; r < s->n_runs; r++) {   /* --finished: say which runs are left out, and why */
        if (!s->elsewhere[r]) continue;
        char name[256];
        sweep_run_name(s, r, name, sizeof name);
        printf("  %-40s finished elsewhere (listed in %s): not submitted\n", name, s->finished_file);
        elsewhere++;
    }
    if (elsewhere) snprintf(why, sizeof why, " (%d finished elsewhere)", elsewhere);
    if (n == 0) {
        printf("lengen sweep: all %d runs of %s/%s have finished%s; nothing to submit\n", s->n_runs, s->out_dir,
               s->name, why);
        return 0;
    }
    if (strlen(list) + 1 >= sizeof list) return lg_err(err, "the list of %d unfinished runs is too long for --array", n);
    char job_name[200], cwd[PATH_MAX], sweep_file[PATH_MAX], dir[900], script[1000], output[1000];
    snprintf(job_name, sizeof job_name, "lengen-sweep-%s", s->name);
    if (!getcwd(cwd, sizeof cwd)) return lg_err(err, "cannot read the current folder: %s", strerror(errno));
    if (!realpath(file, sweep_file)) return lg_err(err, "cannot resolve %s: %s", file, strerror(errno));
    if (quotable(exe, "the binary", err) || quotable(sweep_file, "the sweep file", err)) return -1;
    snprintf(dir, sizeof dir, "%s/%s/slurm", s->out_dir, s->name);
    if (lg_mkdir_p(dir, err) != 0) return -1;

    if (!o->dry_run) {
        /* a run still queued or running must not be submitted again */
        char queued[4096];
        const char *sq[] = {"squeue", "--noheader", "--name", job_name, "--format=%i %T", NULL};
        int rc = run_capture(sq, queued, sizeof queued);
        if (rc != 0) return lg_err(err, "squeue failed (exit %d): is Slurm reachable from here?", rc);
        if (queued[0]) {
            char *nl = strchr(queued, '\n');
            if (nl && nl[1]) nl[1] = 0;
            return lg_err(err, "jobs of sweep %s are still queued or running (%s...); wait for them or scancel "
                          "them, then submit again: only unfinished runs are submitted", s->name, queued);
        }
    }

    /* the job script: one grid point per array task, in the folder sbatch was called from */
    snprintf(script, sizeof script, "%s/job.sh", dir);
    FILE *f = fopen(script, "w");
    if (!f) return lg_err(err, "cannot write %s: %s", script, strerror(errno));
    fprintf(f, "#!/bin/sh\n"
               "# Written by `lengen sweep %s --slurm`: array task I trains grid point I of the sweep\n"
               "# (resumed when it has a checkpoint, skipped when finished). Runs in the submit folder.\n"
               "exec '%s' sweep '%s' --task \"$SLURM_ARRAY_TASK_ID\"\n", file, exe, sweep_file);
    if (fclose(f) != 0) return lg_err(err, "cannot write %s: %s", script, strerror(errno));

    char array[8200], cpus[64], out_opt[1100], chdir_opt[PATH_MAX + 16], name_opt[220];
    snprintf(array, sizeof array, "--array=%s", list);
    snprintf(cpus, sizeof cpus, "--cpus-per-task=%d", s->threads);
    snprintf(output, sizeof output, "%s/%%A_%%a.out", dir);
    snprintf(out_opt, sizeof out_opt, "--output=%s", output);
    snprintf(chdir_opt, sizeof chdir_opt, "--chdir=%s", cwd);
    snprintf(name_opt, sizeof name_opt, "--job-name=%s", job_name);
    const char *argv[32];
    int k = 0;
    argv[k++] = "sbatch";
    argv[k++] = "--parsable";
    argv[k++] = name_opt;
    argv[k++] = array;
    argv[k++] = cpus;
    argv[k++] = out_opt;
    argv[k++] = chdir_opt;
    if (o->wait) argv[k++] = "--wait";
    for (int i = 0; i < o->n_args; i++) argv[k++] = o->args[i];
    argv[k++] = script;
    argv[k] = NULL;
    printf("lengen sweep: %d of %d runs unfinished%s; %s", n, s->n_runs, why,
           o->dry_run ? "would run:" : "submitting:");
    for (int i = 0; i < k; i++) printf(" %s", argv[i]);
    printf("\n");
    if (o->dry_run) return 0;
    char id[256];
    int rc = run_capture(argv, id, sizeof id);
    char *semi = strpbrk(id, ";\n");
    if (semi) *semi = 0;
    if (rc == 127 || (rc != 0 && !id[0])) return lg_err(err, "sbatch failed (exit %d)", rc);
    if (o->wait) {
        printf("lengen sweep: job %s finished%s; task output in %s\n", id, rc ? " with failed tasks" : "", dir);
        return rc ? 1 : 0;
    }
    printf("lengen sweep: submitted job %s (%d array tasks); output in %s; when it has finished, "
           "`lengen sweep %s --table` gathers the results (and `--slurm` again submits what did not finish)\n",
           id, n, dir, file);
    return 0;
}
