/* posenc_ops: T5 gathered relative bias and the FIRE bias MLP, forward and backward.
 * Both produce an additive attention bias [Bb, H, Tq, Tk] for op_attention. */
#include "posenc_ops.h"

#include <math.h>
#include <string.h>

#include "../util.h"
#include "par.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* ------------------------------------------------------------------------------------------ */
/* T5: gather rows of a [NB, H] table by bucket                                                */

typedef struct {
    const int *bucket;
    int Bb, Tq, Tk;
} RelBiasSaved;

// table is (NB,H), bucket is (Bb,Tq,Tk), out is (Bb,H,Tq,Tk)
static void rel_bias_forward(float *out, const float *table, const int *bucket, int NB, int H,
                             int Bb, int Tq, int Tk) {
    #pragma omp parallel for collapse(2) schedule(static) if (OPS_PAR((size_t)Bb * Tq * Tk * H))
    for (int b = 0; b < Bb; b++)
        for (int i = 0; i < Tq; i++) {
            const int *bk = bucket + ((size_t)b * Tq + i) * Tk;
            for (int j = 0; j < Tk; j++)
                LG_ASSERT(bk[j] >= 0 && bk[j] < NB, "op_rel_bias: bucket %d outside [0, %d)", bk[j], NB);
            for (int h = 0; h < H; h++) {
                float *o = out + (((size_t)b * H + h) * Tq + i) * Tk;
                for (int j = 0; j < Tk; j++) o[j] = table[(size_t)bk[j] * H + h];
            }
        }
}

static void rel_bias_backward(AgNode *n) {
    RelBiasSaved *s = n->saved;
    Tensor *table = n->in[0];
    int H = table->shape[1];
    float *dtable = ag_din(n, 0);
    const float *dout = ag_dout(n);
    /* serial: the scatter hits the same few buckets from every thread; the table is tiny */
    for (int b = 0; b < s->Bb; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < s->Tq; i++) {
                const float *d = dout + (((size_t)b * H + h) * s->Tq + i) * s->Tk;
                const int *bk = s->bucket + ((size_t)b * s->Tq + i) * s->Tk;
                // out[b,h,i,j] = table[bk[j], h]
                for (int j = 0; j < s->Tk; j++) dtable[(size_t)bk[j] * H + h] += d[j];
            }
}

Tensor *op_rel_bias(Ag *g, Tensor *table, const int *bucket, int Bb, int Tq, int Tk) {
    LG_ASSERT(table->ndim == 2, "op_rel_bias: table must be [NB, H], has rank %d", table->ndim);
    int NB = table->shape[0], H = table->shape[1];
    Tensor *out = tensor_new4(&g->arena, Bb, H, Tq, Tk);
    rel_bias_forward(out->data, table->data, bucket, NB, H, Bb, Tq, Tk);
    if (ag_needs_grad(g, table, NULL, NULL)) {
        Tensor *in[1] = {table};
        AgNode *n = ag_record(g, "rel_bias", rel_bias_backward, out, in, 1, sizeof(RelBiasSaved));
        RelBiasSaved *s = n->saved;
        size_t nb = (size_t)Bb * Tq * Tk * sizeof(int);
        int *copy = arena_alloc(&g->arena, nb);
        memcpy(copy, bucket, nb);
        *s = (RelBiasSaved){copy, Bb, Tq, Tk};
    }
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* FIRE: MLP(1 -> W -> H) of a normalised log distance                                          */

#define FIRE_EPS 1e-6f

typedef struct {
    const float *qpos, *kpos;
    int Bb, Tq, Tk, causal;
} FireSaved;

/* x and its derivatives with respect to c and L for one (query, key) pair. */
static inline float fire_x(float c, float L, float qi, float kj, float *dxdc, float *dxdL) {
    float ac = fabsf(c), aL = fabsf(L);
    float d = fabsf(qi - kj);
    float m = qi > aL ? qi : aL;
    float num = logf(ac * d + 1.0f);
    float den = logf(ac * m + 1.0f) + FIRE_EPS;
    float x = num / den;
    if (dxdc) {
        float sc = c > 0 ? 1.0f : (c < 0 ? -1.0f : 0.0f);
        float dnum = sc * d / (ac * d + 1.0f);
        float dden = sc * m / (ac * m + 1.0f);
        *dxdc = (dnum * den - num * dden) / (den * den);
        float sL = L > 0 ? 1.0f : (L < 0 ? -1.0f : 0.0f);
        /* den depends on L only when the threshold wins the max */
        *dxdL = aL > qi ? -num / (den * den) * (ac * sL / (ac * m + 1.0f)) : 0.0f;
    }
    return x;
}

// c, L scalars; w1 (W,1), b1 (W), w2 (H,W), b2 (H); qpos (Bb,Tq), kpos (Bb,Tk);
// out is (Bb,H,Tq,Tk)
static void fire_forward(float *out, float c, float L, const float *w1, const float *b1,
                         const float *w2, const float *b2, const float *qpos, const float *kpos,
                         int W, int H, int Bb, int Tq, int Tk, int causal) {
    #pragma omp parallel for collapse(2) schedule(static) if (OPS_PAR((size_t)Bb * Tq * Tk * W * (H + 2)))
    for (int b = 0; b < Bb; b++)
        for (int i = 0; i < Tq; i++) {
            float hid[256];
            float qi = qpos[(size_t)b * Tq + i];
            int jmax = causal ? i + (Tk - Tq) + 1 : Tk;
            if (jmax > Tk) jmax = Tk;
            for (int j = 0; j < Tk; j++) {
                if (j >= jmax) {
                    for (int h = 0; h < H; h++) out[(((size_t)b * H + h) * Tq + i) * Tk + j] = 0.0f;
                    continue;
                }
                float x = fire_x(c, L, qi, kpos[(size_t)b * Tk + j], NULL, NULL);
                for (int k = 0; k < W; k++) {
                    float a = w1[k] * x + b1[k];
                    hid[k] = a > 0 ? a : 0;
                }
                for (int h = 0; h < H; h++) {
                    float acc = b2[h];
                    const float *wr = w2 + (size_t)h * W;
                    for (int k = 0; k < W; k++) acc += wr[k] * hid[k];
                    out[(((size_t)b * H + h) * Tq + i) * Tk + j] = acc;
                }
            }
        }
}

static void fire_backward(AgNode *n) {
    FireSaved *s = n->saved;
    Tensor *tc = n->in[0], *tL = n->in[1], *tw1 = n->in[2], *tb1 = n->in[3], *tw2 = n->in[4];
    int W = tw1->shape[0], H = tw2->shape[0];
    int Bb = s->Bb, Tq = s->Tq, Tk = s->Tk;
    const float *dout = ag_dout(n);
    float c = tc->data[0], L = tL->data[0];
    const float *w1 = tw1->data, *b1 = tb1->data, *w2 = tw2->data;
    /* per-thread accumulators: dc, dL, dw1[W], db1[W], dw2[H*W], db2[H] */
    int nacc = 2 + 2 * W + H * W + H;
    int nt = max_threads();
    float *acc = arena_calloc(&n->g->arena, (size_t)nt * nacc * sizeof(float));
    #pragma omp parallel if (OPS_PAR((size_t)Bb * Tq * Tk * W * (2 * H + 4)))
    {
        float *a = acc + (size_t)thread_id() * nacc;
        float *dc = a, *dL = a + 1, *dw1 = a + 2, *db1 = dw1 + W, *dw2 = db1 + W, *db2 = dw2 + H * W;
        float pre[256], hid[256], dhid[256];
        #pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < Bb; b++)
            for (int i = 0; i < Tq; i++) {
                float qi = s->qpos[(size_t)b * Tq + i];
                int jmax = s->causal ? i + (Tk - Tq) + 1 : Tk;
                if (jmax > Tk) jmax = Tk;
                for (int j = 0; j < jmax; j++) {
                    float dxdc, dxdL;
                    float x = fire_x(c, L, qi, s->kpos[(size_t)b * Tk + j], &dxdc, &dxdL);
                    for (int k = 0; k < W; k++) {
                        pre[k] = w1[k] * x + b1[k];
                        hid[k] = pre[k] > 0 ? pre[k] : 0;
                        dhid[k] = 0;
                    }
                    // out[h] = b2[h] + sum_k w2[h,k] hid[k]
                    for (int h = 0; h < H; h++) {
                        float d = dout[(((size_t)b * H + h) * Tq + i) * Tk + j];
                        if (d == 0.0f) continue;
                        db2[h] += d;
                        const float *wr = w2 + (size_t)h * W;
                        float *dwr = dw2 + (size_t)h * W;
                        for (int k = 0; k < W; k++) {
                            dwr[k] += d * hid[k];
                            dhid[k] += d * wr[k];
                        }
                    }
                    // hid[k] = relu(w1[k] x + b1[k])
                    float dx = 0;
                    for (int k = 0; k < W; k++) {
                        float dp = pre[k] > 0 ? dhid[k] : 0.0f;
                        dw1[k] += dp * x;
                        db1[k] += dp;
                        dx += dp * w1[k];
                    }
                    // x = x(c, L)
                    *dc += dx * dxdc;
                    *dL += dx * dxdL;
                }
            }
    }
    float *g_c = ag_din(n, 0), *g_L = ag_din(n, 1), *g_w1 = ag_din(n, 2), *g_b1 = ag_din(n, 3);
    float *g_w2 = ag_din(n, 4), *g_b2 = ag_din(n, 5);
    for (int t = 0; t < nt; t++) {
        const float *a = acc + (size_t)t * nacc;
        const float *dw1 = a + 2, *db1 = dw1 + W, *dw2 = db1 + W, *db2 = dw2 + H * W;
        if (g_c) g_c[0] += a[0];
        if (g_L) g_L[0] += a[1];
        for (int k = 0; k < W; k++) {
            if (g_w1) g_w1[k] += dw1[k];
            if (g_b1) g_b1[k] += db1[k];
        }
        for (int k = 0; k < H * W; k++)
            if (g_w2) g_w2[k] += dw2[k];
        for (int h = 0; h < H; h++)
            if (g_b2) g_b2[h] += db2[h];
    }
}

Tensor *op_fire_bias(Ag *g, Tensor *c, Tensor *L, Tensor *w1, Tensor *b1, Tensor *w2, Tensor *b2,
                     const float *qpos, const float *kpos, int Bb, int Tq, int Tk, int causal) {
    LG_ASSERT(c->n == 1 && L->n == 1, "op_fire_bias: c and L must be scalars [1]");
    LG_ASSERT(w1->ndim == 2 && w1->shape[1] == 1, "op_fire_bias: w1 must be [W, 1]");
    int W = w1->shape[0];
    LG_ASSERT(W <= 256, "op_fire_bias: hidden width %d > 256", W);
    LG_ASSERT(b1->n == (size_t)W, "op_fire_bias: b1 has %zu elements, want %d", b1->n, W);
    LG_ASSERT(w2->ndim == 2 && w2->shape[1] == W, "op_fire_bias: w2 must be [H, %d]", W);
    int H = w2->shape[0];
    LG_ASSERT(b2->n == (size_t)H, "op_fire_bias: b2 has %zu elements, want %d", b2->n, H);
    Tensor *out = tensor_new4(&g->arena, Bb, H, Tq, Tk);
    fire_forward(out->data, c->data[0], L->data[0], w1->data, b1->data, w2->data, b2->data, qpos,
                 kpos, W, H, Bb, Tq, Tk, causal);
    if (ag_needs_grad(g, c, L, w1) || ag_needs_grad(g, b1, w2, b2)) {
        Tensor *in[6] = {c, L, w1, b1, w2, b2};
        AgNode *n = ag_record(g, "fire_bias", fire_backward, out, in, 6, sizeof(FireSaved));
        FireSaved *s = n->saved;
        float *qp = arena_alloc(&g->arena, (size_t)Bb * Tq * sizeof(float));
        float *kp = arena_alloc(&g->arena, (size_t)Bb * Tk * sizeof(float));
        memcpy(qp, qpos, (size_t)Bb * Tq * sizeof(float));
        memcpy(kp, kpos, (size_t)Bb * Tk * sizeof(float));
        *s = (FireSaved){qp, kp, Bb, Tq, Tk, causal};
    }
    return out;
}
