/* experiment: build or load the tasks, vocab and model of one run. */
#include "experiment.h"

#include <string.h>

#include "data.h"
#include "rundir.h"

static int build_tasks(Experiment *e, LgErr *err) {
    const TaskConfig *tc = &e->cfg.task;
    const char *names[CFG_MAX_TASKS];
    for (int i = 0; i < tc->n_tasks; i++) names[i] = tc->tasks[i].name;
    vocab_init(&e->vocab);
    if (task_create_many(names, tc->n_tasks, tc->opts, tc->n_opts, &e->vocab, e->tasks, err) != 0) {
        vocab_free(&e->vocab);
        return -1;
    }
    e->n_tasks = tc->n_tasks;
    for (int i = 0; i < e->n_tasks; i++)
        if (tc->whole_sequence_loss) task_set_whole_sequence_loss(e->tasks[i], 1);
    return 0;
}

/* The longest training sequence must fit the model's positions. */
static int check_positions(const Experiment *e, LgErr *err) {
    const TrainConfig *tr = &e->cfg.train;
    for (int i = 0; i < e->n_tasks; i++) {
        int lo, hi;
        task_length_range(e->tasks[i], &lo, &hi);
        int max_len = data_max_length(tr, i);
        int top = max_len < hi ? max_len : hi;
        int need = data_train_tokens(tr, e->tasks[i], i) - 1;
        int row = tr->pack ? (tr->pack_len ? tr->pack_len : e->cfg.model.max_pos) : need;
        if (need > e->cfg.model.max_pos || row > e->cfg.model.max_pos)
            return lg_err(err, "task '%s' at length %d needs sequences of up to %d tokens but "
                          "[model] max_pos = %d; raise max_pos or lower [train] max_length (hint_max_length for a hint)",
                          task_name(e->tasks[i]), top, need > row ? need : row, e->cfg.model.max_pos);
    }
    return 0;
}

int exp_check_lengths(const Experiment *e, LgErr *err) {
    const TrainConfig *tr = &e->cfg.train;
    for (int i = 0; i < e->n_tasks; i++) {
        int lo, hi;
        task_length_range(e->tasks[i], &lo, &hi);
        const char *name = task_name(e->tasks[i]), *role = i ? " (a hint)" : "";
        if (tr->min_length < lo)
            return lg_err(err, "[train] min_length = %d but task '%s'%s generates lengths %d..%d only; "
                          "set min_length >= %d", tr->min_length, name, role, lo, hi, lo);
        int max_len = data_max_length(tr, i);
        if (max_len > hi) {
            if (i == 0)
                return lg_err(err, "[train] max_length = %d but task '%s' generates lengths %d..%d only "
                              "(its options bound them); set max_length <= %d or widen the task's options",
                              max_len, name, lo, hi, hi);
            if (tr->hint_max_length)
                return lg_err(err, "[train] hint_max_length = %d but task '%s' (a hint) generates lengths "
                              "%d..%d only; set hint_max_length <= %d", max_len, name, lo, hi, hi);
            return lg_err(err, "[train] max_length = %d (also the hints' longest length) but task '%s' (a hint) "
                          "generates lengths %d..%d only; set [train] hint_max_length = %d",
                          max_len, name, lo, hi, hi);
        }
    }
    int lo, hi;
    task_length_range(e->tasks[0], &lo, &hi);
    for (int k = 0; k < e->cfg.eval.n_lengths; k++) {
        int L = e->cfg.eval.lengths[k];
        if (L < lo || L > hi)
            return lg_err(err, "[eval] lengths: %d is outside the lengths %d..%d task '%s' generates; "
                          "keep [eval] lengths within %d..%d", L, lo, hi, task_name(e->tasks[0]), lo, hi);
    }
    return 0;
}

static int build(Experiment *e, const Config *cfg, int strict, LgErr *err) {
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    if (cfg_validate(&e->cfg, err) != 0) return -1;
    if (build_tasks(e, err) != 0) return -1;
    if ((strict && exp_check_lengths(e, err) != 0) || check_positions(e, err) != 0 ||
        model_init(&e->model, &e->cfg.model, vocab_size(&e->vocab), e->cfg.run.seed, err) != 0) {
        for (int i = 0; i < e->n_tasks; i++) task_free(e->tasks[i]);
        vocab_free(&e->vocab);
        memset(e, 0, sizeof *e);
        return -1;
    }
    e->has_model = 1;
    return 0;
}

int exp_build(Experiment *e, const Config *cfg, LgErr *err) { return build(e, cfg, 1, err); }

int exp_load(Experiment *e, const char *arg, const char *const *overrides, int n_overrides,
             CkptFile *f_out, LgErr *err) {
    char path[512];
    rundir_ckpt_of(arg, path, sizeof path);
    CkptFile f;
    if (ckpt_open(&f, path, err) != 0) return -1;
    Config cfg;
    cfg_defaults(&cfg);
    char origin[600];
    snprintf(origin, sizeof origin, "%s:/config", path);
    if (cfg_load_string(&cfg, f.config, origin, err) != 0) goto fail;
    for (int i = 0; i < n_overrides; i++)
        if (cfg_set(&cfg, overrides[i], err) != 0) goto fail;
    if (build(e, &cfg, 0, err) != 0) goto fail;
    if (f.n_vocab != e->vocab.n) {
        lg_err(err, "%s: stored vocabulary has %d tokens but the tasks build %d; the checkpoint "
               "was made with other task options or another lengen version", path, f.n_vocab, e->vocab.n);
        goto fail_exp;
    }
    for (int i = 0; i < f.n_vocab; i++)
        if (strcmp(f.vocab[i], vocab_str(&e->vocab, i)) != 0) {
            lg_err(err, "%s: stored token %d is '%s' but the tasks give '%s'; the checkpoint was "
                   "made with other task options or another lengen version", path, i, f.vocab[i],
                   vocab_str(&e->vocab, i));
            goto fail_exp;
        }
    if (ckpt_load_params(&f, &e->model.params, err) != 0) goto fail_exp;
    if (f_out) *f_out = f;
    else ckpt_close(&f);
    return 0;
fail_exp:
    exp_free(e);
fail:
    ckpt_close(&f);
    return -1;
}

const char **exp_vocab_strings(const Experiment *e) {
    const char **v = lg_malloc((size_t)e->vocab.n * sizeof *v, "vocab strings");
    for (int i = 0; i < e->vocab.n; i++) v[i] = e->vocab.str[i];
    return v;
}

int exp_task_index(const Experiment *e, const char *name) {
    for (int i = 0; i < e->n_tasks; i++)
        if (strcmp(task_name(e->tasks[i]), name) == 0) return i;
    return -1;
}

void exp_free(Experiment *e) {
    if (e->has_model) model_free(&e->model);
    for (int i = 0; i < e->n_tasks; i++) task_free(e->tasks[i]);
    if (e->vocab.str) vocab_free(&e->vocab);
    memset(e, 0, sizeof *e);
}
