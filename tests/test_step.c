/* Tests of the training step (src/step.c) on the real model and data stream: the steady-state
 * step makes no heap allocation, and steps are repeatable from the seed. (Learning, resume
 * and the length split's gradient are tested end to end in test_train.c.) */
#include <string.h>

#include "../src/data.h"
#include "../src/experiment.h"
#include "../src/step.h"
#include "../src/util.h"
#include "test.h"

typedef struct {
    Experiment e;
    Optim opt;
    DataStream d;
    Batch b;
    Ag g;
    Rng rng;
    Stepper st;
    double task_nll[2];
    long task_count[2];
} Rig;

/* sort 1..12 with a successor hint, 2 layers of d 32, dropout on (the step's Rng matters) */
static int rig_init(Rig *r, const char *extra) {
    LgErr err;
    Config c;
    memset(r, 0, sizeof *r);
    cfg_defaults(&c);
    char ini[600];
    snprintf(ini, sizeof ini,
             "[model]\nlayers = 2\nheads = 2\nd_model = 32\nmax_pos = 64\ndropout = 0.1\n"
             "[task]\nmain = sort\nhints = successor:0.5\n"
             "[train]\nbatch_size = 24\nmin_length = 1\nmax_length = 12\n%s\n"
             "[eval]\nlengths = 14\nn = 10\n[run]\nthreads = 1\n", extra);
    if (cfg_load_string(&c, ini, "test", &err) != 0 || cfg_validate(&c, &err) != 0) return EXPECT(0, "%s", err.msg);
    if (exp_build(&r->e, &c, &err) != 0) return EXPECT(0, "%s", err.msg);
    lg_set_threads(1);
    const Config *cfg = &r->e.cfg;
    optim_init(&r->opt, &cfg->train, &r->e.model.params);
    if (data_init(&r->d, cfg, r->e.tasks, r->e.n_tasks, &err) != 0) return EXPECT(0, "%s", err.msg);
    batch_init(&r->b, cfg->train.batch_size, data_max_T(&r->d));
    ag_init(&r->g, (size_t)1 << 16);
    rng_seed(&r->rng, 5);
    step_init(&r->st, &r->e.model, &r->opt, &r->g, &r->rng, &cfg->train, cfg->train.batch_size, data_max_T(&r->d),
              r->task_nll, r->task_count);
    return 1;
}

static void rig_free(Rig *r) {
    step_free(&r->st);
    ag_free(&r->g);
    batch_free(&r->b);
    data_free(&r->d);
    optim_free(&r->opt);
    exp_free(&r->e);
}

/* one optimizer step of grad_accum micro-batches, as the trainer takes it */
static float rig_step(Rig *r, int step) {
    LgErr err;
    const TrainConfig *tr = &r->e.cfg.train;
    double loss = 0;
    for (int m = 0; m < tr->grad_accum; m++) {
        if (data_next(&r->d, step, &r->b, &err) != 0) return NAN;
        loss += step_grad(&r->st, &r->b);
    }
    float norm;
    if (!step_update(&r->st, 1e-3f, tr->grad_accum, (float)(loss / tr->grad_accum), &norm)) return NAN;
    return (float)(loss / tr->grad_accum);
}

static void check_no_allocation(const char *extra) {
    Rig r;
    if (!rig_init(&r, extra)) return;
    /* the arena (64 KB here) grows in the first steps; then every step runs in place */
    uint64_t start = lg_alloc_count();
    for (int s = 0; s < 20; s++) CHECK(isfinite(rig_step(&r, s)));
    uint64_t before = lg_alloc_count();
    CHECK(before > start, "the first steps should grow the arena (else this test shows nothing)");
    for (int s = 20; s < 60; s++) CHECK(isfinite(rig_step(&r, s)));
    uint64_t made = lg_alloc_count() - before;
    CHECK(made == 0, "%s: 40 steady-state steps made %llu heap allocations", extra, (unsigned long long)made);
    CHECK(r.task_count[0] > 0 && r.task_count[1] > 0, "per-task losses are summed");
    rig_free(&r);
}

TEST(step_steady_state_makes_no_heap_allocation) {
    check_no_allocation("length_split = 1");
    check_no_allocation("length_split = 3\ngrad_accum = 2");
    check_no_allocation("length_split = 2\nbucket = 4");
}

TEST(step_is_repeatable_from_the_seed) {
    Rig a, b;
    if (!rig_init(&a, "length_split = 3") || !rig_init(&b, "length_split = 3")) return;
    float first = 0, last = 0;
    for (int s = 0; s < 30; s++) {
        float la = rig_step(&a, s), lb = rig_step(&b, s);
        CHECK(la == lb, "step %d: loss %.9g vs %.9g", s, la, lb);
        if (s < 5) first += la / 5;
        if (s >= 25) last += la / 5;
    }
    CHECK(memcmp(a.e.model.params.data, b.e.model.params.data, a.e.model.params.n * sizeof(float)) == 0,
          "parameters differ after 30 steps");
    CHECK(last < first, "the loss should fall over 30 steps (%.4f -> %.4f)", first, last);
    rig_free(&a);
    rig_free(&b);
}
