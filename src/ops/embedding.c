/* embedding: token-table lookup with scatter-add backward, and the fused softmax
 * cross-entropy loss.
 *
 * The embedding backward adds rows into the table grad in token order on one thread: several
 * tokens may share a row, and a fixed order keeps the result bit-identical whatever the
 * thread count (it is O(B*T*C), small next to everything else). The cross-entropy computes
 * rows in parallel and sums the loss sequentially in double.
 */
#include <math.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "fastmath.h"
#include "par.h"

/* ---- embedding ---------------------------------------------------------------------------- */

static void embedding_forward(float *out, const float *table, const int *ids, int N, int V, int C) {
    // table is [V,C], ids is [N], out is [N,C]
    for (int n = 0; n < N; n++)
        if (ids[n] < 0 || ids[n] >= V)
            lg_die("op_embedding: token id %d at position %d is outside the vocabulary [0, %d)", ids[n], n, V);
#pragma omp parallel for if (OPS_PAR((size_t)N * C))
    for (int n = 0; n < N; n++) memcpy(out + (size_t)n * C, table + (size_t)ids[n] * C, (size_t)C * sizeof(float));
}

static void embedding_backward(float *dtable, const float *dout, const int *ids, int N, int C) {
    // forward: out[n,:] = table[ids[n],:];  dtable[ids[n],:] += dout[n,:]
    for (int n = 0; n < N; n++) {
        float *dr = dtable + (size_t)ids[n] * C;
        const float *src = dout + (size_t)n * C;
        for (int c = 0; c < C; c++) dr[c] += src[c];
    }
}

typedef struct {
    int *ids;  /* [N] copy in the arena */
    int N;
} EmbCtx;

static void embedding_node_backward(AgNode *node) {
    EmbCtx *c = node->saved;
    Tensor *table = node->in[0];
    embedding_backward(ag_din(node, 0), ag_dout(node), c->ids, c->N, table->shape[1]);
}

Tensor *op_embedding(Ag *g, Tensor *table, const int *ids, int B, int T) {
    char st[64];
    LG_ASSERT(table->ndim == 2, "op_embedding: table %s must be [V, C]", tensor_shape_str(table, st, sizeof st));
    int V = table->shape[0], C = table->shape[1], N = B * T;
    Tensor *out = tensor_new3(&g->arena, B, T, C);
    embedding_forward(out->data, table->data, ids, N, V, C);
    if (ag_needs_grad(g, table, NULL, NULL)) {
        AgNode *n = ag_record(g, "embedding", embedding_node_backward, out, &table, 1, sizeof(EmbCtx));
        EmbCtx *c = n->saved;
        c->ids = arena_alloc(&g->arena, (size_t)N * sizeof(int));
        memcpy(c->ids, ids, (size_t)N * sizeof(int));
        c->N = N;
    }
    return out;
}

/* ---- cross-entropy ------------------------------------------------------------------------ */

/* Returns the loss; lse [N] receives logsumexp of each row, nll [N] the row losses (0 for a
 * masked row whose target is out of range). */
static double cross_entropy_forward(float *lse, float *nll, const float *logits, const int *targets,
                                    const float *weights, int N, int V) {
    // logits is [N,V], targets, weights, lse, nll are [N]; weights may be NULL (all 1)
    for (int n = 0; n < N; n++) {
        float w = weights ? weights[n] : 1.0f;
        LG_ASSERT(w >= 0.0f, "op_cross_entropy: weight %g at row %d is negative", (double)w, n);
        if (w > 0.0f && (targets[n] < 0 || targets[n] >= V))
            lg_die("op_cross_entropy: target %d at row %d is outside the vocabulary [0, %d)", targets[n], n, V);
    }
#pragma omp parallel for if (OPS_PAR((size_t)N * V * 4))
    for (int n = 0; n < N; n++) {
        const float *lr = logits + (size_t)n * V;
        float m = -INFINITY;
        for (int v = 0; v < V; v++) m = lr[v] > m ? lr[v] : m;
        // exp through lg_expf (relative error < 2e-7; libm's exp was ~3% of a tiny step), the
        // row sum in double
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int v = 0; v < V; v++) s += (double)lg_expf(lr[v] - m);
        lse[n] = m + (float)log(s);
        int t = targets[n];
        nll[n] = (t >= 0 && t < V) ? lse[n] - lr[t] : 0.0f;  // nll = logsumexp - logit[target]
    }
    double loss = 0.0;
    int count = 0;
    for (int n = 0; n < N; n++) {
        float w = weights ? weights[n] : 1.0f;
        if (w > 0.0f) {
            loss += (double)w * nll[n];
            count++;
        }
    }
    return loss / (count > 1 ? count : 1);
}

static void cross_entropy_backward(float *dlogits, const float *logits, const float *lse, const int *targets,
                                   const float *weights, float dloss, int N, int V) {
    // forward: loss = sum_n w_n (lse_n - logit[n,t_n]) / count;  dlogit[n,v] += dloss w_n/count (p_nv - [v == t_n])
    int count = 0;
    for (int n = 0; n < N; n++) count += (weights ? weights[n] : 1.0f) > 0.0f;
    float norm = dloss / (float)(count > 1 ? count : 1);
#pragma omp parallel for if (OPS_PAR((size_t)N * V * 4))
    for (int n = 0; n < N; n++) {
        float w = weights ? weights[n] : 1.0f;
        if (w <= 0.0f) continue;
        const float *lr = logits + (size_t)n * V;
        float *dr = dlogits + (size_t)n * V;
        float f = w * norm;
        float l = lse[n];
#pragma omp simd
        for (int v = 0; v < V; v++) dr[v] += f * lg_expf(lr[v] - l);
        dr[targets[n]] -= f;
    }
}

typedef struct {
    int *targets;
    float *weights;  /* NULL = all 1 */
    float *lse;
    int N, V;
} CeCtx;

static void cross_entropy_node_backward(AgNode *node) {
    CeCtx *c = node->saved;
    Tensor *logits = node->in[0];
    cross_entropy_backward(ag_din(node, 0), logits->data, c->lse, c->targets, c->weights,
                           ag_dout(node)[0], c->N, c->V);
}

Tensor *op_cross_entropy(Ag *g, Tensor *logits, const int *targets, const float *weights, float *nll_out) {
    int V = logits->shape[logits->ndim - 1];
    int N = (int)(logits->n / (size_t)V);
    Arena *a = &g->arena;
    Tensor *out = tensor_new1(a, 1);
    float *lse = arena_alloc(a, (size_t)N * sizeof(float));
    float *nll = nll_out ? nll_out : arena_alloc(a, (size_t)N * sizeof(float));
    out->data[0] = (float)cross_entropy_forward(lse, nll, logits->data, targets, weights, N, V);
    if (ag_needs_grad(g, logits, NULL, NULL)) {
        AgNode *n = ag_record(g, "cross_entropy", cross_entropy_node_backward, out, &logits, 1, sizeof(CeCtx));
        CeCtx *c = n->saved;
        c->targets = arena_alloc(a, (size_t)N * sizeof(int));
        memcpy(c->targets, targets, (size_t)N * sizeof(int));
        if (weights) {
            c->weights = arena_alloc(a, (size_t)N * sizeof(float));
            memcpy(c->weights, weights, (size_t)N * sizeof(float));
        }
        c->lse = lse;
        c->N = N;
        c->V = V;
    }
    return out;
}
