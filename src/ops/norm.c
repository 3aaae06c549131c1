/* norm: LayerNorm and RMSNorm over the last axis, forward and backward fused.
 *
 * The forward saves mean and rstd per row (rstd only for RMSNorm) so the backward does not
 * recompute the statistics. Rows are independent (threaded over rows); the weight and bias
 * gradients are reductions over rows, done in a second loop where each thread owns a set of
 * columns, so no two threads write the same float and the order of the sum is fixed.
 */
#include <math.h>

#include "../util.h"
#include "ops.h"
#include "par.h"

/* ---- layernorm ---------------------------------------------------------------------------- */

/* The row sums below run in NL lanes (lane k sums the columns c = k mod NL, then the lanes are
 * added in order): strict float order would keep a single running sum scalar (a 4-cycle add
 * per column); this way they vectorise, and the order is still fixed. */
#define NL 16

static inline float lanes_total(const float *acc) {
    float s = 0.0f;
    for (int k = 0; k < NL; k++) s += acc[k];
    return s;
}

static void layernorm_forward(float *out, float *mean, float *rstd, const float *x, const float *w,
                              const float *b, int N, int C, float eps) {
    // x is [N,C], w and b are [C] (b may be NULL), out is [N,C], mean and rstd are [N]
#pragma omp parallel for if (OPS_PAR((size_t)N * C))
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float *yr = out + (size_t)n * C;
        float acc[NL] = {0}, acc2[NL] = {0}, tail = 0.0f, tail2 = 0.0f;
        int cn = C - C % NL;  // the lanes take columns < cn, a scalar sum the rest
        for (int c0 = 0; c0 < cn; c0 += NL)
            for (int k = 0; k < NL; k++) acc[k] += xr[c0 + k];
        for (int c = cn; c < C; c++) tail += xr[c];
        float m = (lanes_total(acc) + tail) / C;
        for (int c0 = 0; c0 < cn; c0 += NL)
            for (int k = 0; k < NL; k++) acc2[k] += (xr[c0 + k] - m) * (xr[c0 + k] - m);
        for (int c = cn; c < C; c++) tail2 += (xr[c] - m) * (xr[c] - m);
        float v = (lanes_total(acc2) + tail2) / C;
        float s = 1.0f / sqrtf(v + eps);
        for (int c = 0; c < C; c++) yr[c] = (xr[c] - m) * s * w[c] + (b ? b[c] : 0.0f);
        mean[n] = m;
        rstd[n] = s;
    }
}

static void layernorm_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                               const float *w, const float *mean, const float *rstd, int N, int C) {
    // forward: xhat = (x - mean) * rstd;  out = xhat * w + b
    if (dx) {
#pragma omp parallel for if (OPS_PAR((size_t)N * C))
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *dr = dout + (size_t)n * C;
            float *dxr = dx + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            // dxhat = dout * w; dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
            float a1[NL] = {0}, a2[NL] = {0}, t1 = 0.0f, t2 = 0.0f;
            int cn = C - C % NL;  // the lanes take columns < cn, a scalar sum the rest
            for (int c0 = 0; c0 < cn; c0 += NL)
                for (int k = 0; k < NL; k++) {
                    float dxhat = dr[c0 + k] * w[c0 + k];
                    a1[k] += dxhat;
                    a2[k] += dxhat * (xr[c0 + k] - m) * s;
                }
            for (int c = cn; c < C; c++) {
                float dxhat = dr[c] * w[c];
                t1 += dxhat;
                t2 += dxhat * (xr[c] - m) * s;
            }
            float mdx = (lanes_total(a1) + t1) / C, mdxx = (lanes_total(a2) + t2) / C;
            for (int c = 0; c < C; c++) {
                float xhat = (xr[c] - m) * s;
                dxr[c] += s * (dr[c] * w[c] - mdx - xhat * mdxx);
            }
        }
    }
    if (dw || db) {
        // per 64-column strip, rows in order (row-contiguous reads; columns one at a time
        // strode over the whole activation and cost 4% of a step)
        int strips = (C + 63) / 64;
#pragma omp parallel for schedule(static) if (OPS_PAR((size_t)N * C))
        for (int st = 0; st < strips; st++) {
            int c0 = st * 64, cols = C - c0 < 64 ? C - c0 : 64;
            float sw[64] = {0}, sb[64] = {0};
            for (int n = 0; n < N; n++) {
                const float *dr = dout + (size_t)n * C + c0, *xr = x + (size_t)n * C + c0;
                float m = mean[n], s = rstd[n];
                for (int c = 0; c < cols; c++) {
                    sw[c] += dr[c] * (xr[c] - m) * s;  // dw[c] += dout * xhat
                    sb[c] += dr[c];                    // db[c] += dout
                }
            }
            for (int c = 0; c < cols; c++) {
                if (dw) dw[c0 + c] += sw[c];
                if (db) db[c0 + c] += sb[c];
            }
        }
    }
}

typedef struct {
    float *mean, *rstd;
} NormCtx;

static void layernorm_node_backward(AgNode *node) {
    Tensor *x = node->in[0], *w = node->in[1];
    NormCtx *c = node->saved;
    int C = (int)w->n, N = (int)(x->n / (size_t)C);
    layernorm_backward(ag_din(node, 0), ag_din(node, 1), ag_din(node, 2), ag_dout(node), x->data, w->data, c->mean, c->rstd, N, C);
}

static void check_norm(const char *op, const Tensor *x, const Tensor *w, const Tensor *b) {
    char sx[64], sw[64];
    int C = x->shape[x->ndim - 1];
    LG_ASSERT(w->n == (size_t)C && (!b || b->n == (size_t)C),
              "%s: weight %s (and bias) must have the last dim of x %s", op,
              tensor_shape_str(w, sw, sizeof sw), tensor_shape_str(x, sx, sizeof sx));
}

Tensor *op_layernorm(Ag *g, Tensor *x, Tensor *w, Tensor *b, float eps) {
    check_norm("op_layernorm", x, w, b);
    int C = (int)w->n, N = (int)(x->n / (size_t)C);
    Tensor *out = tensor_new(&g->arena, x->ndim, x->shape);
    NormCtx c;
    c.mean = arena_alloc(&g->arena, (size_t)N * sizeof(float));
    c.rstd = arena_alloc(&g->arena, (size_t)N * sizeof(float));
    layernorm_forward(out->data, c.mean, c.rstd, x->data, w->data, b ? b->data : NULL, N, C, eps);
    if (ag_needs_grad(g, x, w, b)) {
        Tensor *in[3] = {x, w, b};
        AgNode *n = ag_record(g, "layernorm", layernorm_node_backward, out, in, 3, sizeof c);
        *(NormCtx *)n->saved = c;
    }
    return out;
}

/* ---- rmsnorm ------------------------------------------------------------------------------ */

static void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int N, int C, float eps) {
    // x is [N,C], w is [C], out is [N,C], rstd is [N]
#pragma omp parallel for if (OPS_PAR((size_t)N * C))
    for (int n = 0; n < N; n++) {
        const float *xr = x + (size_t)n * C;
        float *yr = out + (size_t)n * C;
        float ss = 0.0f;
        for (int c = 0; c < C; c++) ss += xr[c] * xr[c];
        float s = 1.0f / sqrtf(ss / C + eps);
        for (int c = 0; c < C; c++) yr[c] = xr[c] * s * w[c];
        rstd[n] = s;
    }
}

static void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                             const float *rstd, int N, int C) {
    // forward: xhat = x * rstd, rstd = 1/sqrt(mean(x^2) + eps);  out = xhat * w
    if (dx) {
#pragma omp parallel for if (OPS_PAR((size_t)N * C))
        for (int n = 0; n < N; n++) {
            const float *xr = x + (size_t)n * C, *dr = dout + (size_t)n * C;
            float *dxr = dx + (size_t)n * C;
            float s = rstd[n];
            // dx = rstd * (dxhat - xhat * mean(dxhat * xhat)),  dxhat = dout * w
            float mdxx = 0.0f;
            for (int c = 0; c < C; c++) mdxx += dr[c] * w[c] * xr[c] * s;
            mdxx /= C;
            for (int c = 0; c < C; c++) dxr[c] += s * (dr[c] * w[c] - xr[c] * s * mdxx);
        }
    }
    if (dw) {
#pragma omp parallel for if (OPS_PAR((size_t)N * C))
        for (int c = 0; c < C; c++) {
            float sw = 0.0f;
            for (int n = 0; n < N; n++) sw += dout[(size_t)n * C + c] * x[(size_t)n * C + c] * rstd[n];
            dw[c] += sw;  // dw[c] += dout * xhat
        }
    }
}

static void rmsnorm_node_backward(AgNode *node) {
    Tensor *x = node->in[0], *w = node->in[1];
    NormCtx *c = node->saved;
    int C = (int)w->n, N = (int)(x->n / (size_t)C);
    rmsnorm_backward(ag_din(node, 0), ag_din(node, 1), ag_dout(node), x->data, w->data, c->rstd, N, C);
}

Tensor *op_rmsnorm(Ag *g, Tensor *x, Tensor *w, float eps) {
    check_norm("op_rmsnorm", x, w, NULL);
    int C = (int)w->n, N = (int)(x->n / (size_t)C);
    Tensor *out = tensor_new(&g->arena, x->ndim, x->shape);
    NormCtx c = {NULL, arena_alloc(&g->arena, (size_t)N * sizeof(float))};
    rmsnorm_forward(out->data, c.rstd, x->data, w->data, N, C, eps);
    if (ag_needs_grad(g, x, w, NULL)) {
        Tensor *in[2] = {x, w};
        AgNode *n = ag_record(g, "rmsnorm", rmsnorm_node_backward, out, in, 2, sizeof c);
        *(NormCtx *)n->saved = c;
    }
    return out;
}
