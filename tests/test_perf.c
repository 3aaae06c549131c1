/* test_perf: every fast kernel against the plain reference kernel beside it, on shapes that
 * exercise the blocking (more query rows than one block, a ragged last block, Tq < Tk,
 * Tq > Tk with rows that see no key), and the fused qkv attention against its composition. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/autograd.h"
#include "../src/ops/fastmath.h"
#include "../src/ops/ops.h"
#include "../src/rng.h"
#include "../src/util.h"
#include "test.h"

static float *randn(Rng *r, size_t n, float s) {
    float *x = lg_malloc(n * sizeof(float), "test buffer");
    for (size_t i = 0; i < n; i++) x[i] = s * rng_normal(r);
    return x;
}

static float *zeros(size_t n) { return lg_calloc(n, sizeof(float), "test buffer"); }

static int close_all(const float *a, const float *b, size_t n, double atol, double rtol, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= atol + rtol * fabs((double)b[i]))) {
            test_fail(__FILE__, __LINE__, "%s[%zu]: fast %g, reference %g", what, i, a[i], b[i]);
            return 0;
        }
    return 1;
}

typedef struct {
    int B, H, Tq, Tk, hd, causal, bias, row_scale;
} FastCase;

TEST(fast_attention_kernels_equal_the_reference) {
    static const FastCase cases[] = {
        {2, 3, 130, 130, 8, 1, 1, 1},   /* three row blocks, the last ragged */
        {1, 2, 70, 150, 5, 1, 0, 0},    /* Tq < Tk: queries are the last 70 positions */
        {2, 1, 90, 40, 4, 1, 1, 0},     /* Tq > Tk: the first 50 rows see no key */
        {1, 2, 65, 33, 3, 0, 1, 1},     /* not causal */
        {3, 2, 1, 7, 6, 1, 0, 1},       /* one query row */
    };
    ops_set_par_min(0);
    Rng r;
    rng_seed(&r, 5);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const FastCase *k = &cases[c];
        int B = k->B, H = k->H, Tq = k->Tq, Tk = k->Tk, hd = k->hd;
        size_t nq = (size_t)B * H * Tq * hd, nk = (size_t)B * H * Tk * hd, np = (size_t)B * H * Tq * Tk;
        float *q = randn(&r, nq, 1.0f), *kk = randn(&r, nk, 1.0f), *v = randn(&r, nk, 1.0f);
        float *bias = k->bias ? randn(&r, (size_t)H * Tq * Tk, 0.5f) : NULL;
        float *rs = NULL, hs[3] = {0.9f, 1.2f, 1.0f};
        if (k->row_scale) {
            rs = lg_malloc((size_t)Tq * sizeof(float), "row scale");
            for (int i = 0; i < Tq; i++) rs[i] = 0.7f + 0.01f * (float)(i % 50);
        }
        float scale = 1.0f / sqrtf((float)hd);
        float *o1 = zeros(nq), *o2 = zeros(nq), *p1 = zeros(np), *p2 = zeros(np);
        attention_forward(o1, p1, q, kk, v, bias, 0, hs, rs, scale, k->causal, B, H, Tq, Tk, hd, Tk);
        AttnLayout lq = {.bs = (size_t)H * Tq * hd, .hs = (size_t)Tq * hd, .ld = hd},
                   lk = {.bs = (size_t)H * Tk * hd, .hs = (size_t)Tk * hd, .ld = hd};
        attention_fast_forward(o2, lq, p2, q, lq, kk, lk, v, lk, bias, 0, hs, rs, scale, k->causal, B, H, Tq, Tk, hd);
        int ok = close_all(o2, o1, nq, 1e-5, 1e-4, "out") && close_all(p2, p1, np, 1e-6, 1e-4, "probs");
        float *dout = randn(&r, nq, 1.0f);
        float *dq1 = zeros(nq), *dk1 = zeros(nk), *dv1 = zeros(nk), *dl1 = zeros(np);
        float *dq2 = zeros(nq), *dk2 = zeros(nk), *dv2 = zeros(nk), *dl2 = zeros(np);
        float *scratch = lg_malloc(attention_fast_scratch(Tk) * sizeof(float), "scratch");
        attention_backward_ref(dq1, dk1, dv1, dl1, dout, p1, q, kk, v, hs, rs, scale, k->causal, B, H, Tq, Tk, hd);
        attention_fast_backward(dq2, lq, dk2, lk, dv2, lk, dl2, scratch, dout, lq, p1, q, kk, v, hs, rs, scale,
                                k->causal, B, H, Tq, Tk, hd, 0);
        ok = ok && close_all(dq2, dq1, nq, 1e-5, 1e-4, "dq") && close_all(dk2, dk1, nk, 1e-5, 1e-4, "dk") &&
             close_all(dv2, dv1, nk, 1e-5, 1e-4, "dv") && close_all(dl2, dl1, np, 1e-6, 1e-4, "dlogits");
        float *bufs[] = {q, kk, v, bias, rs, o1, o2, p1, p2, dout, dq1, dk1, dv1, dl1, dq2, dk2, dv2, dl2, scratch};
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) lg_free(bufs[i]);
        CHECK(ok, "case %zu", c);
    }
    ops_set_par_min(32768);
}

TEST(attention_qkv_equals_split_attention_merge) {
    int B = 2, T = 70, H = 3, hd = 4, D = H * hd;
    ops_set_par_min(0);
    Params p;
    params_init(&p);
    int sq[3] = {B, T, 3 * D}, sb[4] = {1, H, T, T}, sh[1] = {H};
    Tensor *qkv = params_add(&p, "qkv", 3, sq), *bias = params_add(&p, "bias", 4, sb), *hs = params_add(&p, "hs", 1, sh);
    params_finalize(&p);
    Rng r;
    rng_seed(&r, 9);
    for (size_t i = 0; i < p.n; i++) p.data[i] = 0.5f * rng_normal(&r);
    for (int h = 0; h < H; h++) hs->data[h] = 1.0f;
    hs->requires_grad = 0;  // a constant per-head factor (its gradient takes the reference path)
    float rs[70];
    for (int i = 0; i < T; i++) rs[i] = 0.8f + 0.005f * i;
    AttnOpts o = {.scale = 0.5f, .row_scale = rs, .head_scale = hs, .bias = bias, .causal = 1};
    float *R = randn(&r, (size_t)B * T * D, 1.0f);
    float *grads[2];
    float *outs[2];
    for (int way = 0; way < 2; way++) {
        Ag g;
        ag_init(&g, 1 << 20);
        params_zero_grad(&p);
        Tensor *a = way ? op_merge_heads(&g, op_attention(&g, op_split_heads(&g, qkv, H, hd, 0),
                                                          op_split_heads(&g, qkv, H, hd, D),
                                                          op_split_heads(&g, qkv, H, hd, 2 * D), &o))
                        : op_attention_qkv(&g, qkv, H, &o);
        Tensor *Rt = tensor_new(&g.arena, a->ndim, a->shape);
        memcpy(Rt->data, R, a->n * sizeof(float));
        Tensor *loss = op_sum(&g, op_mul(&g, a, Rt));
        ag_backward(&g, loss);
        outs[way] = lg_malloc(a->n * sizeof(float), "out");
        memcpy(outs[way], a->data, a->n * sizeof(float));
        grads[way] = lg_malloc(p.n * sizeof(float), "grads");
        memcpy(grads[way], p.grad, p.n * sizeof(float));
        ag_free(&g);
    }
    int ok = close_all(outs[0], outs[1], (size_t)B * T * D, 1e-6, 1e-5, "out") &&
             close_all(grads[0], grads[1], p.n, 1e-5, 1e-4, "grad");
    lg_free(outs[0]); lg_free(outs[1]); lg_free(grads[0]); lg_free(grads[1]); lg_free(R);
    params_free(&p);
    ops_set_par_min(32768);
    CHECK(ok, "fused qkv attention differs from its composition");
}

TEST(fast_exp_tanh_and_gelu_match_libm) {
    for (float x = -80.0f; x <= 80.0f; x += 0.0137f)
        CHECK_NEAR(lg_expf(x), expf(x), 0.0, 3e-7, "lg_expf(%g)", x);
    CHECK(lg_expf(-200.0f) == 0.0f && lg_expf(-INFINITY) == 0.0f, "exp of a masked logit is 0");
    for (float u = -12.0f; u <= 12.0f; u += 0.00731f) CHECK_NEAR(lg_tanhf(u), tanhf(u), 4e-7, 0.0, "lg_tanhf(%g)", u);
    /* gelu against the libm formula, forward and backward */
    enum { N = 4001 };
    static float x[N], y[N], dx[N], dout[N];
    for (int i = 0; i < N; i++) {
        x[i] = -10.0f + 0.005f * i;
        dout[i] = 1.0f;
        dx[i] = 0.0f;
    }
    gelu_forward(y, x, N);
    gelu_backward(dx, x, dout, N);
    for (int i = 0; i < N; i++) {
        double v = x[i], u = 0.7978845608028654 * (v + 0.044715 * v * v * v), t = tanh(u);
        double want = 0.5 * v * (1 + t);
        double dwant = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * v * v);
        CHECK_NEAR(y[i], want, 2e-6, 1e-6, "gelu(%g)", v);
        CHECK_NEAR(dx[i], dwant, 4e-6, 1e-6, "gelu'(%g)", v);
    }
}

TEST(fast_exp_and_gelu_propagate_nan) {
    CHECK(isnan(lg_expf(NAN)) && isnan(lg_tanhf(NAN)), "NaN in, NaN out");
    float x[3] = {NAN, 1.0f, -1.0f}, y[3];
    gelu_forward(y, x, 3);
    CHECK(isnan(y[0]) && !isnan(y[1]), "gelu(NaN) = NaN, the others finite");
}

/* op_linear_gelu against its composition op_gelu(op_linear): three 256-row chunks, the last
 * ragged; x's gradient both written fresh (x only feeds the fused op) and accumulated (x also
 * feeds a later op, whose backward runs first). */
TEST(linear_gelu_equals_gelu_of_linear) {
    int B = 3, T = 200, IN = 12, OUT = 20;
    ops_set_par_min(0);
    Params p;
    params_init(&p);
    int sx[3] = {B, T, IN}, sw[2] = {OUT, IN}, sb[1] = {OUT};
    Tensor *x = params_add(&p, "x", 3, sx), *w = params_add(&p, "w", 2, sw), *b = params_add(&p, "b", 1, sb);
    params_finalize(&p);
    Rng r;
    rng_seed(&r, 11);
    for (size_t i = 0; i < p.n; i++) p.data[i] = 0.7f * rng_normal(&r);
    float *R = randn(&r, (size_t)B * T * OUT, 1.0f), *R2 = randn(&r, (size_t)B * T * IN, 1.0f);
    int ok = 1;
    for (int extra = 0; extra < 2 && ok; extra++) {
        float *grads[2], *outs[2];
        for (int way = 0; way < 2; way++) {
            Ag g;
            ag_init(&g, 1 << 22);
            params_zero_grad(&p);
            Tensor *x0 = op_scale(&g, x, 1.3f);  // an intermediate: its first gradient is fresh
            Tensor *h = way ? op_gelu(&g, op_linear(&g, x0, w, b)) : op_linear_gelu(&g, x0, w, b);
            Tensor *Rt = tensor_new(&g.arena, h->ndim, h->shape);
            memcpy(Rt->data, R, h->n * sizeof(float));
            Tensor *loss = op_sum(&g, op_mul(&g, h, Rt));
            if (extra) {
                Tensor *R2t = tensor_new(&g.arena, x0->ndim, x0->shape);
                memcpy(R2t->data, R2, x0->n * sizeof(float));
                loss = op_add(&g, loss, op_sum(&g, op_mul(&g, x0, R2t)));
            }
            ag_backward(&g, loss);
            outs[way] = lg_malloc(h->n * sizeof(float), "out");
            memcpy(outs[way], h->data, h->n * sizeof(float));
            grads[way] = lg_malloc(p.n * sizeof(float), "grads");
            memcpy(grads[way], p.grad, p.n * sizeof(float));
            ag_free(&g);
        }
        ok = close_all(outs[0], outs[1], (size_t)B * T * OUT, 1e-6, 1e-5, "out") &&
             close_all(grads[0], grads[1], p.n, 1e-4, 1e-4, "grad");
        lg_free(outs[0]); lg_free(outs[1]); lg_free(grads[0]); lg_free(grads[1]);
    }
    lg_free(R); lg_free(R2);
    params_free(&p);
    ops_set_par_min(32768);
    CHECK(ok, "fused linear + gelu differs from its composition");
}
