/* Tests of the training step (src/step.c) on the real model and data stream: the steady-state
 * step makes no heap allocation, steps are repeatable from the seed, and two threads (the
 * groups of parts on two lanes) take bit for bit the step one thread takes. (Learning, resume
 * and the length split's gradient are tested end to end in test_train.c.) */
#include <string.h>

#include "../src/data.h"
#include "../src/ops/ops.h"
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
              r->task_nll, r->task_count, 2);
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

static void check_no_allocation(const char *extra, int threads) {
    Rig r;
    if (!rig_init(&r, extra)) return;
    lg_set_threads(threads);
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
    lg_set_threads(1);
}

TEST(step_steady_state_makes_no_heap_allocation) {
    check_no_allocation("length_split = 1", 1);
    check_no_allocation("length_split = 3\ngrad_accum = 2", 1);
    check_no_allocation("length_split = 2\nbucket = 4", 1);
    check_no_allocation("length_split = 8", 2);
    check_no_allocation("length_split = 1\ngrad_accum = 2", 2);
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

/* Rigs a (1 thread), b and c (2 threads each) take 30 steps side by side: every loss, every
 * per-task sum and the parameters after the 30 steps are bit-identical. */
static void check_threads_take_the_same_steps(const char *extra) {
    Rig r[3];
    for (int i = 0; i < 3; i++)
        if (!rig_init(&r[i], extra)) return;
    for (int s = 0; s < 30; s++) {
        float l[3];
        for (int i = 0; i < 3; i++) {
            lg_set_threads(i == 0 ? 1 : 2);
            l[i] = rig_step(&r[i], s);
            if (i > 0) CHECK(lg_threads() == 2, "the step changed the thread count to %d", lg_threads());
        }
        CHECK(isfinite(l[0]) && l[1] == l[0] && l[2] == l[0], "%s, step %d: loss %.9g at 1 thread, %.9g and %.9g at 2",
              extra, s, l[0], l[1], l[2]);
    }
    for (int i = 1; i < 3; i++) {
        CHECK(memcmp(r[i].task_nll, r[0].task_nll, sizeof r[0].task_nll) == 0 &&
              memcmp(r[i].task_count, r[0].task_count, sizeof r[0].task_count) == 0,
              "%s: per-task sums differ between 1 and 2 threads", extra);
        CHECK(memcmp(r[i].e.model.params.data, r[0].e.model.params.data, r[0].e.model.params.n * sizeof(float)) == 0,
              "%s: parameters after 30 steps differ between 1 and 2 threads", extra);
    }
    for (int i = 0; i < 3; i++) rig_free(&r[i]);
    lg_set_threads(1);
}

TEST(step_two_threads_take_the_one_thread_step_bit_for_bit) {
    size_t par = ops_set_par_min(0);   /* every op's threaded path, were any op to run threaded */
    check_threads_take_the_same_steps("length_split = 8");                  /* dropout 0.1 */
    check_threads_take_the_same_steps("length_split = 3\ngrad_accum = 2");
    check_threads_take_the_same_steps("length_split = 1");                  /* row slices */
    check_threads_take_the_same_steps("length_split = 4\nbucket = 4");      /* some batches of one length */
    check_threads_take_the_same_steps("length_split = 4\n[model]\nrandom_positions = true\n"
                                      "random_max_pos = 128\nposenc = learned");
    ops_set_par_min(par);
}
