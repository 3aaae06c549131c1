/* Tests of optim: each optimizer against a double-precision reference of its update rule,
 * weight decay only on ndim >= 2, convergence on a quadratic bowl, schedules at key steps,
 * clipping to the exact norm, thread-count independence and exact resume from saved state. */
#include <math.h>
#include <string.h>

#include "../src/optim.h"
#include "../src/rng.h"
#include "../src/util.h"
#include "test.h"

/* w [3,5] and e [4,3] decay; b [7] and g [5] do not. */
static void make_params(Params *p, uint64_t seed) {
    params_init(p);
    params_add(p, "w", 2, (int[]){3, 5});
    params_add(p, "b", 1, (int[]){7});
    params_add(p, "e", 2, (int[]){4, 3});
    params_add(p, "g", 1, (int[]){5});
    params_finalize(p);
    Rng r;
    rng_seed(&r, seed);
    for (int t = 0; t < p->count; t++)
        for (size_t i = 0; i < p->tensors[t]->n; i++) p->tensors[t]->data[i] = rng_normal(&r);
}

static void random_grads(Params *p, Rng *r) {
    for (int t = 0; t < p->count; t++)
        for (size_t i = 0; i < p->tensors[t]->n; i++) p->tensors[t]->grad[i] = rng_normal(r);
}

static TrainConfig train_cfg(OptimKind kind) {
    Config c;
    cfg_defaults(&c);
    TrainConfig tc = c.train;
    tc.optimizer = kind;
    tc.beta1 = 0.9f;
    tc.beta2 = 0.999f;
    tc.eps = 1e-8f;
    tc.weight_decay = 0.1f;
    tc.momentum = 0.9f;
    return tc;
}

static int near(double a, double b, double atol, double rtol) { return fabs(a - b) <= atol + rtol * fabs(b); }

/* Five steps of each optimizer against a double reference (on every element, including the
 * decay / no-decay split). */
static void check_against_reference(OptimKind kind) {
    Params p;
    make_params(&p, 7);
    TrainConfig tc = train_cfg(kind);
    if (kind == OPT_LION) tc.beta2 = 0.5f;  /* far from beta1, so mixing them up shows */
    Optim o;
    optim_init(&o, &tc, &p);
    size_t n = p.n;
    double *ref = lg_malloc(n * sizeof(double) * 3, "ref"), *m = ref + n, *v = ref + 2 * n;
    for (size_t i = 0; i < n; i++) ref[i] = p.data[i], m[i] = 0, v[i] = 0;
    Rng r;
    rng_seed(&r, 99);
    const float lrs[5] = {1e-2f, 5e-3f, 2e-2f, 1e-3f, 1e-2f};
    for (int step = 1; step <= 5; step++) {
        random_grads(&p, &r);
        float lr = lrs[step - 1];
        for (int t = 0; t < p.count; t++) {
            const Tensor *T = p.tensors[t];
            double wd = T->ndim >= 2 ? tc.weight_decay : 0.0;
            for (size_t k = 0; k < T->n; k++) {
                size_t i = p.offsets[t] + k;
                double g = T->grad[k], b1 = tc.beta1, b2 = tc.beta2;
                if (kind == OPT_ADAMW) {
                    m[i] = b1 * m[i] + (1 - b1) * g;
                    v[i] = b2 * v[i] + (1 - b2) * g * g;
                    double mh = m[i] / (1 - pow(b1, step)), vh = v[i] / (1 - pow(b2, step));
                    ref[i] = ref[i] * (1 - lr * wd) - lr * mh / (sqrt(vh) + tc.eps);
                } else if (kind == OPT_LION) {
                    double c = b1 * m[i] + (1 - b1) * g;
                    ref[i] = ref[i] * (1 - lr * wd) - lr * (c > 0 ? 1.0 : c < 0 ? -1.0 : 0.0);
                    m[i] = b2 * m[i] + (1 - b2) * g;
                } else {
                    m[i] = tc.momentum * m[i] + g;
                    ref[i] = ref[i] * (1 - lr * wd) - lr * m[i];
                }
            }
        }
        optim_step(&o, &p, lr);
        CHECK(o.step == step);
        for (int t = 0; t < p.count; t++)
            for (size_t k = 0; k < p.tensors[t]->n; k++) {
                size_t i = p.offsets[t] + k;
                CHECK(near(p.data[i], ref[i], 1e-6, 1e-5), "%s %s[%zu] step %d: %.9g vs reference %.9g",
                      cfg_optim_name(kind), p.tensors[t]->name, k, step, p.data[i], ref[i]);
                CHECK(near(o.m[i], m[i], 1e-7, 1e-5), "m of %s[%zu]: %.9g vs %.9g", p.tensors[t]->name, k, o.m[i], m[i]);
                CHECK(near(o.v[i], v[i], 1e-8, 1e-5), "v of %s[%zu]: %.9g vs %.9g", p.tensors[t]->name, k, o.v[i], v[i]);
            }
    }
    lg_free(ref);
    optim_free(&o);
    params_free(&p);
}

TEST(optim_adamw_matches_double_reference) { check_against_reference(OPT_ADAMW); }
TEST(optim_lion_matches_double_reference) { check_against_reference(OPT_LION); }
TEST(optim_sgd_matches_double_reference) { check_against_reference(OPT_SGD); }

/* With zero gradients only weight decay acts: matrices shrink by exactly (1 - lr wd), vectors
 * do not move; the padding between tensors stays zero. */
TEST(optim_weight_decay_only_on_matrices) {
    for (int kind = OPT_ADAMW; kind <= OPT_SGD; kind++) {
        Params p;
        make_params(&p, 3);
        TrainConfig tc = train_cfg((OptimKind)kind);
        tc.weight_decay = 0.5f;
        Optim o;
        optim_init(&o, &tc, &p);
        CHECK(o.n_spans >= 2 && o.spans[0].start == 0 && o.spans[o.n_spans - 1].end == p.n);
        float *before = lg_malloc(p.n * sizeof(float), "copy");
        memcpy(before, p.data, p.n * sizeof(float));
        params_zero_grad(&p);
        optim_step(&o, &p, 0.1f);
        for (int t = 0; t < p.count; t++) {
            const Tensor *T = p.tensors[t];
            for (size_t k = 0; k < T->n; k++) {
                float b = before[p.offsets[t] + k];
                float want = T->ndim >= 2 ? b * (1.0f - 0.1f * 0.5f) : b;
                CHECK(T->data[k] == want, "%s %s[%zu] = %g, want %g", cfg_optim_name((OptimKind)kind), T->name, k, T->data[k], want);
            }
        }
        /* "b" has 7 elements padded to 16 */
        for (size_t i = p.offsets[1] + 7; i < p.offsets[2]; i++) CHECK(p.data[i] == 0.0f, "padding moved");
        lg_free(before);
        optim_free(&o);
        params_free(&p);
    }
}

/* f(x) = 0.5 sum a_i (x_i - c_i)^2 with a spread of curvatures; each optimizer must get close
 * to c from a distant start. */
TEST(optim_minimises_quadratic_bowl) {
    for (int kind = OPT_ADAMW; kind <= OPT_SGD; kind++) {
        Params p;
        params_init(&p);
        Tensor *x = params_add(&p, "x", 1, (int[]){20});
        params_finalize(&p);
        float a[20], c[20];
        for (int i = 0; i < 20; i++) {
            a[i] = 0.2f + 0.1f * (float)i;
            c[i] = (float)(i % 5) - 2.0f;
            x->data[i] = 3.0f;
        }
        TrainConfig tc = train_cfg((OptimKind)kind);
        tc.weight_decay = 0;
        if (kind == OPT_LION) tc.beta2 = 0.99f;   /* the paper's defaults */
        tc.steps = 1000;
        tc.warmup = 10;
        tc.schedule = SCHED_COSINE;
        tc.lr = kind == OPT_ADAMW ? 0.1f : kind == OPT_LION ? 0.02f : 0.05f;
        tc.min_lr = 0;
        Optim o;
        optim_init(&o, &tc, &p);
        double f0 = 0, f = 0;
        for (int i = 0; i < 20; i++) f0 += 0.5 * a[i] * (x->data[i] - c[i]) * (x->data[i] - c[i]);
        for (int s = 0; s < tc.steps; s++) {
            for (int i = 0; i < 20; i++) x->grad[i] = a[i] * (x->data[i] - c[i]);
            optim_step(&o, &p, optim_lr_at(&tc, s));
        }
        double worst = 0;
        for (int i = 0; i < 20; i++) {
            f += 0.5 * a[i] * (x->data[i] - c[i]) * (x->data[i] - c[i]);
            worst = fmax(worst, fabs(x->data[i] - c[i]));
        }
        CHECK(worst < 1e-2 && f < 1e-4 * f0, "%s: loss %g -> %g, worst coordinate off by %g", cfg_optim_name((OptimKind)kind), f0, f, worst);
        optim_free(&o);
        params_free(&p);
    }
}

TEST(optim_schedules_at_key_steps) {
    TrainConfig tc = train_cfg(OPT_ADAMW);
    tc.lr = 1e-3f;
    tc.min_lr = 1e-4f;
    tc.warmup = 100;
    tc.steps = 1100;
    for (int s = SCHED_CONSTANT; s <= SCHED_POLY; s++) {
        tc.schedule = (SchedKind)s;
        CHECK(optim_lr_at(&tc, 0) == 0.0f, "warmup starts at 0");
        CHECK_NEAR(optim_lr_at(&tc, 50), 0.5e-3, 1e-12, 1e-6, "halfway through warmup");
        CHECK_NEAR(optim_lr_at(&tc, 100), 1e-3, 1e-12, 1e-6, "peak at the end of warmup");
    }
    tc.schedule = SCHED_CONSTANT;
    CHECK(optim_lr_at(&tc, 600) == tc.lr && optim_lr_at(&tc, 5000) == tc.lr);
    tc.schedule = SCHED_COSINE;
    CHECK_NEAR(optim_lr_at(&tc, 600), 0.55e-3, 1e-12, 1e-6, "cosine midpoint = (lr + min_lr) / 2");
    CHECK_NEAR(optim_lr_at(&tc, 350), 1e-4 + 0.9e-3 * 0.5 * (1 + cos(M_PI / 4)), 1e-12, 1e-6, "cosine quarter");
    CHECK_NEAR(optim_lr_at(&tc, 1100), 1e-4, 1e-12, 1e-6, "cosine end at min_lr");
    CHECK(optim_lr_at(&tc, 99999) == tc.min_lr);
    tc.schedule = SCHED_POLY;
    tc.poly_power = 1;
    CHECK_NEAR(optim_lr_at(&tc, 600), 0.55e-3, 1e-12, 1e-6, "linear midpoint");
    CHECK_NEAR(optim_lr_at(&tc, 850), 1e-4 + 0.9e-3 * 0.25, 1e-12, 1e-6, "linear three quarters");
    tc.poly_power = 2;
    CHECK_NEAR(optim_lr_at(&tc, 600), 1e-4 + 0.9e-3 * 0.25, 1e-12, 1e-6, "quadratic midpoint");
    CHECK_NEAR(optim_lr_at(&tc, 1100), 1e-4, 1e-12, 1e-6, "poly end");
    /* no warmup: step 0 is the peak */
    tc.warmup = 0;
    CHECK_NEAR(optim_lr_at(&tc, 0), 1e-3, 1e-12, 1e-6);
    /* monotone decay after warmup */
    tc.warmup = 100;
    tc.schedule = SCHED_COSINE;
    for (int s = 101; s <= 1100; s++) CHECK(optim_lr_at(&tc, s) <= optim_lr_at(&tc, s - 1), "step %d", s);
}

TEST(optim_clip_scales_to_exact_norm) {
    Params p;
    make_params(&p, 1);
    Rng r;
    rng_seed(&r, 5);
    random_grads(&p, &r);
    double ref = 0;
    for (size_t i = 0; i < p.n; i++) ref += (double)p.grad[i] * p.grad[i];
    ref = sqrt(ref);
    float norm = optim_clip_grad_norm(&p, 0.0f);
    CHECK_NEAR(norm, ref, 0, 1e-6, "max_norm 0 still reports the norm");
    float again = optim_clip_grad_norm(&p, 0.0f);
    CHECK(again == norm, "max_norm 0 must not scale");
    CHECK(optim_clip_grad_norm(&p, 2.0f * norm) == norm, "below the limit: no scaling");
    CHECK(optim_clip_grad_norm(&p, 0.0f) == norm);
    float before = optim_clip_grad_norm(&p, 0.25f * norm);
    CHECK(before == norm, "returns the norm before clipping");
    CHECK_NEAR(optim_clip_grad_norm(&p, 0.0f), 0.25 * norm, 0, 1e-6, "after clipping the norm is max_norm");
    /* non-finite: returned, grads untouched */
    float g3 = p.grad[3];
    p.grad[0] = NAN;
    CHECK(isnan(optim_clip_grad_norm(&p, 1.0f)));
    CHECK(p.grad[3] == g3, "a NaN norm must leave grads alone");
    p.grad[0] = INFINITY;
    CHECK(isinf(optim_clip_grad_norm(&p, 1.0f)) && p.grad[3] == g3);
    /* scale helper */
    p.grad[0] = 2.0f;
    optim_scale_grads(&p, 0.5f);
    CHECK(p.grad[0] == 1.0f && p.grad[3] == 0.5f * g3);
    params_free(&p);
}

/* Runs 5 steps (clip + AdamW/Lion/SGD) with `threads` threads; returns a copy of the params. */
static float *run_steps(OptimKind kind, int threads, float *m_out) {
    int prev = lg_threads();
    lg_set_threads(threads);
    Params p;
    params_init(&p);
    params_add(&p, "big", 2, (int[]){300, 257});
    params_add(&p, "bias", 1, (int[]){1001});
    params_finalize(&p);
    Rng r;
    rng_seed(&r, 11);
    for (size_t i = 0; i < p.n; i++) p.data[i] = rng_normal(&r);
    TrainConfig tc = train_cfg(kind);
    Optim o;
    optim_init(&o, &tc, &p);
    for (int s = 0; s < 5; s++) {
        for (size_t i = 0; i < p.n; i++) p.grad[i] = rng_normal(&r);
        optim_clip_grad_norm(&p, 10.0f);
        optim_step(&o, &p, 1e-2f);
    }
    float *out = lg_malloc(p.n * sizeof(float), "copy");
    memcpy(out, p.data, p.n * sizeof(float));
    memcpy(m_out, o.m, 16 * sizeof(float));
    optim_free(&o);
    params_free(&p);
    lg_set_threads(prev);
    return out;
}

TEST(optim_is_deterministic_across_thread_counts) {
    for (int kind = OPT_ADAMW; kind <= OPT_SGD; kind++) {
        float m1[16], m2[16], m3[16];
        float *a = run_steps((OptimKind)kind, 1, m1), *b = run_steps((OptimKind)kind, 2, m2), *c = run_steps((OptimKind)kind, 2, m3);
        size_t n = 300 * 257 + 1008;
        CHECK(memcmp(a, b, n * sizeof(float)) == 0 && memcmp(b, c, n * sizeof(float)) == 0, "%s differs between runs/thread counts", cfg_optim_name((OptimKind)kind));
        CHECK(memcmp(m1, m2, sizeof m1) == 0);
        lg_free(a);
        lg_free(b);
        lg_free(c);
    }
}

/* Saving m, v, step and restoring them into a fresh Optim continues bit-identically. */
TEST(optim_state_restores_exactly) {
    for (int kind = OPT_ADAMW; kind <= OPT_SGD; kind++) {
        TrainConfig tc = train_cfg((OptimKind)kind);
        Params p, q;
        make_params(&p, 21);
        make_params(&q, 21);
        Optim o, o2;
        optim_init(&o, &tc, &p);
        Rng r;
        rng_seed(&r, 4);
        for (int s = 0; s < 3; s++) {
            random_grads(&p, &r);
            optim_step(&o, &p, 1e-2f);
        }
        /* "checkpoint": params, m, v, step into a fresh optimizer */
        memcpy(q.data, p.data, p.n * sizeof(float));
        optim_init(&o2, &tc, &q);
        memcpy(o2.m, o.m, o.n * sizeof(float));
        memcpy(o2.v, o.v, o.n * sizeof(float));
        o2.step = o.step;
        for (int s = 0; s < 3; s++) {
            random_grads(&p, &r);
            memcpy(q.grad, p.grad, p.n * sizeof(float));
            optim_step(&o, &p, 1e-2f);
            optim_step(&o2, &q, 1e-2f);
        }
        CHECK(memcmp(p.data, q.data, p.n * sizeof(float)) == 0, "%s: resumed run differs", cfg_optim_name((OptimKind)kind));
        CHECK(memcmp(o.m, o2.m, p.n * sizeof(float)) == 0 && memcmp(o.v, o2.v, p.n * sizeof(float)) == 0);
        optim_free(&o);
        optim_free(&o2);
        params_free(&p);
        params_free(&q);
    }
}

TEST(optim_step_allocates_nothing) {
    Params p;
    make_params(&p, 2);
    TrainConfig tc = train_cfg(OPT_ADAMW);
    Optim o;
    optim_init(&o, &tc, &p);
    uint64_t before = lg_alloc_count();
    for (int s = 0; s < 3; s++) {
        optim_clip_grad_norm(&p, 1.0f);
        optim_scale_grads(&p, 0.5f);
        optim_step(&o, &p, 1e-3f);
    }
    CHECK(lg_alloc_count() == before, "optimizer step made heap allocations");
    optim_free(&o);
    params_free(&p);
}
