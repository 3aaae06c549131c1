/* posenc_ops: the T5 gathered relative bias and the FIRE bias MLP, forward and backward.
 *
 * Both produce an additive attention bias [Bb, H, Tq, Tk] for op_attention. Each pairs raw
 * kernels (xxx_forward / xxx_backward, outputs first) with its op wrapper, as the other op
 * files do. The backward kernels are reductions into small parameter tables: rel_bias runs
 * serially (every thread would hit the same few buckets), fire keeps one accumulator set per
 * thread and sums them in thread order afterwards, so results do not depend on scheduling.
 */
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../util.h"
#include "par.h"
#include "posenc_ops.h"

/* ---- rel_bias (T5): gather rows of a [NB, H] table by bucket ------------------------------ */

static void rel_bias_forward(float *out, const float *table, const int *bucket, int NB, int H,
                             int Bb, int Tq, int Tk) {
    // table is [NB,H], bucket is [Bb,Tq,Tk], out is [Bb,H,Tq,Tk]
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

static void rel_bias_backward(float *dtable, const float *dout, const int *bucket, int H, int Bb,
                              int Tq, int Tk) {
    // forward: out[b,h,i,j] = table[bucket[b,i,j], h];  dtable[bucket[b,i,j], h] += dout[b,h,i,j]
    /* serial: the scatter hits the same few buckets from every thread; the table is tiny */
    for (int b = 0; b < Bb; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Tq; i++) {
                const float *d = dout + (((size_t)b * H + h) * Tq + i) * Tk;
                const int *bk = bucket + ((size_t)b * Tq + i) * Tk;
                for (int j = 0; j < Tk; j++) dtable[(size_t)bk[j] * H + h] += d[j];
            }
}

typedef struct {
    int *bucket;  /* [Bb*Tq*Tk] copy in the arena */
    int Bb, Tq, Tk;
} RelBiasCtx;

static void rel_bias_node_backward(AgNode *node) {
    RelBiasCtx *c = node->saved;
    Tensor *table = node->in[0];
    rel_bias_backward(ag_din(node, 0), ag_dout(node), c->bucket, table->shape[1], c->Bb, c->Tq, c->Tk);
}

Tensor *op_rel_bias(Ag *g, Tensor *table, const int *bucket, int Bb, int Tq, int Tk) {
    LG_ASSERT(table->ndim == 2, "op_rel_bias: table must be [NB, H], has rank %d", table->ndim);
    int NB = table->shape[0], H = table->shape[1];
    Tensor *out = tensor_new4(&g->arena, Bb, H, Tq, Tk);
    rel_bias_forward(out->data, table->data, bucket, NB, H, Bb, Tq, Tk);
    if (ag_needs_grad(g, table, NULL, NULL)) {
        AgNode *n = ag_record(g, "rel_bias", rel_bias_node_backward, out, &table, 1, sizeof(RelBiasCtx));
        RelBiasCtx *c = n->saved;
        size_t nb = (size_t)Bb * Tq * Tk * sizeof(int);
        c->bucket = arena_alloc(&g->arena, nb);
        memcpy(c->bucket, bucket, nb);
        c->Bb = Bb;
        c->Tq = Tq;
        c->Tk = Tk;
    }
    return out;
}

/* ---- fire_bias: MLP(1 -> W -> H) of a normalised log distance ------------------------------ */

#define FIRE_EPS 1e-6f

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

/* The keys query row i of Tq sees among Tk: all, or with causal those j <= i + (Tk - Tq). */
static inline int fire_keys(int i, int Tq, int Tk, int causal) {
    int jmax = causal ? i + (Tk - Tq) + 1 : Tk;
    return jmax > Tk ? Tk : jmax;
}

static void fire_forward(float *out, float c, float L, const float *w1, const float *b1,
                         const float *w2, const float *b2, const float *qpos, const float *kpos,
                         int W, int H, int Bb, int Tq, int Tk, int causal) {
    // c, L scalars; w1 is [W,1], b1 [W], w2 [H,W], b2 [H]; qpos is [Bb,Tq], kpos [Bb,Tk];
    // out is [Bb,H,Tq,Tk]
#pragma omp parallel for collapse(2) schedule(static) if (OPS_PAR((size_t)Bb * Tq * Tk * W * (H + 2)))
    for (int b = 0; b < Bb; b++)
        for (int i = 0; i < Tq; i++) {
            float hid[256];
            float qi = qpos[(size_t)b * Tq + i];
            int jmax = fire_keys(i, Tq, Tk, causal);
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

/* Scratch floats fire_backward needs: one accumulator set per thread. */
static size_t fire_scratch(int W, int H, int *nthreads) {
#ifdef _OPENMP
    *nthreads = omp_get_max_threads();
#else
    *nthreads = 1;
#endif
    return (size_t)*nthreads * (size_t)(2 + 2 * W + H * W + H);
}

/* One (query, key) pair's share of the gradients, into one thread's accumulators. */
static inline void fire_pair_backward(float *dc, float *dL, float *dw1, float *db1, float *dw2,
                                      float *db2, const float *dout_ij, size_t dout_hstride,
                                      float c, float L, const float *w1, const float *b1,
                                      const float *w2, float qi, float kj, int W, int H) {
    float pre[256], hid[256], dhid[256];
    float dxdc, dxdL;
    float x = fire_x(c, L, qi, kj, &dxdc, &dxdL);
    for (int k = 0; k < W; k++) {
        pre[k] = w1[k] * x + b1[k];
        hid[k] = pre[k] > 0 ? pre[k] : 0;
        dhid[k] = 0;
    }
    // out[h] = b2[h] + sum_k w2[h,k] hid[k]
    for (int h = 0; h < H; h++) {
        float d = dout_ij[(size_t)h * dout_hstride];
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

static void fire_backward(float *dc, float *dL, float *dw1, float *db1, float *dw2, float *db2,
                          float *scratch, const float *dout, float c, float L, const float *w1,
                          const float *b1, const float *w2, const float *qpos, const float *kpos,
                          int W, int H, int Bb, int Tq, int Tk, int causal) {
    // shapes as fire_forward; every d* may be NULL (not wanted); scratch holds fire_scratch floats
    int nt;
    size_t total = fire_scratch(W, H, &nt);
    size_t nacc = total / (size_t)nt;
    memset(scratch, 0, total * sizeof(float));
#pragma omp parallel if (OPS_PAR((size_t)Bb * Tq * Tk * W * (2 * H + 4)))
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        float *a = scratch + (size_t)tid * nacc;
        float *tdw1 = a + 2, *tdb1 = tdw1 + W, *tdw2 = tdb1 + W, *tdb2 = tdw2 + H * W;
#pragma omp for collapse(2) schedule(static)
        for (int b = 0; b < Bb; b++)
            for (int i = 0; i < Tq; i++) {
                float qi = qpos[(size_t)b * Tq + i];
                int jmax = fire_keys(i, Tq, Tk, causal);
                for (int j = 0; j < jmax; j++)
                    fire_pair_backward(a, a + 1, tdw1, tdb1, tdw2, tdb2,
                                       dout + ((size_t)b * H * Tq + i) * Tk + j, (size_t)Tq * Tk,
                                       c, L, w1, b1, w2, qi, kpos[(size_t)b * Tk + j], W, H);
            }
    }
    for (int t = 0; t < nt; t++) {
        const float *a = scratch + (size_t)t * nacc;
        const float *tdw1 = a + 2, *tdb1 = tdw1 + W, *tdw2 = tdb1 + W, *tdb2 = tdw2 + H * W;
        if (dc) dc[0] += a[0];
        if (dL) dL[0] += a[1];
        for (int k = 0; k < W; k++) {
            if (dw1) dw1[k] += tdw1[k];
            if (db1) db1[k] += tdb1[k];
        }
        for (int k = 0; k < H * W; k++)
            if (dw2) dw2[k] += tdw2[k];
        for (int h = 0; h < H; h++)
            if (db2) db2[h] += tdb2[h];
    }
}

typedef struct {
    float *qpos, *kpos;  /* [Bb*Tq], [Bb*Tk] copies in the arena */
    int Bb, Tq, Tk, causal;
} FireCtx;

static void fire_node_backward(AgNode *node) {
    FireCtx *c = node->saved;
    Tensor *tc = node->in[0], *tL = node->in[1], *tw1 = node->in[2], *tb1 = node->in[3],
           *tw2 = node->in[4];
    int W = tw1->shape[0], H = tw2->shape[0], nt;
    float *scratch = arena_alloc(&node->g->arena, fire_scratch(W, H, &nt) * sizeof(float));
    fire_backward(ag_din(node, 0), ag_din(node, 1), ag_din(node, 2), ag_din(node, 3), ag_din(node, 4),
                  ag_din(node, 5), scratch, ag_dout(node), tc->data[0],
                  tL->data[0], tw1->data, tb1->data, tw2->data, c->qpos, c->kpos, W, H, c->Bb,
                  c->Tq, c->Tk, c->causal);
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
        AgNode *n = ag_record(g, "fire_bias", fire_node_backward, out, in, 6, sizeof(FireCtx));
        FireCtx *s = n->saved;
        s->qpos = arena_alloc(&g->arena, (size_t)Bb * Tq * sizeof(float));
        s->kpos = arena_alloc(&g->arena, (size_t)Bb * Tk * sizeof(float));
        memcpy(s->qpos, qpos, (size_t)Bb * Tq * sizeof(float));
        memcpy(s->kpos, kpos, (size_t)Bb * Tk * sizeof(float));
        s->Bb = Bb;
        s->Tq = Tq;
        s->Tk = Tk;
        s->causal = causal;
    }
    return out;
}
