/* matmul: matrix products on OpenBLAS sgemm (op_matmul, op_linear) and the plain reference
 * kernel they are tested against.
 *
 * Transposes are passed to sgemm as flags, never materialised. A batched product loops over the
 * batch (each sgemm threads internally); a 2-D right operand shared by a batched left operand
 * folds the batch into M when it can. Backward accumulates with beta = 1.
 */
#include <cblas.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "fastmath.h"
#include "par.h"

/* ------------------------------------------------------------------------------------------ */
/* kernels                                                                                     */

/* out = op(a) op(b) written with beta: out = op(a) op(b) + beta * out.
 * op(a) is [M, K] (a stored [M, K], or [K, M] when ta); op(b) is [K, N] (b stored [K, N], or
 * [N, K] when tb); out [M, N]. */
static void gemm(float *out, const float *a, const float *b, int M, int N, int K, int ta, int tb,
                 float beta) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, 1.0f, a, ta ? M : K, b, tb ? K : N, beta, out, N);
}

void matmul_naive(float *out, const float *a, const float *b, int M, int N, int K, int ta, int tb) {
    // a is [M,K] (or [K,M] when ta), b is [K,N] (or [N,K] when tb), out is [M,N]
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int p = 0; p < K; p++) {
                float av = ta ? a[(size_t)p * M + i] : a[(size_t)i * K + p];
                float bv = tb ? b[(size_t)j * K + p] : b[(size_t)p * N + j];
                s += (double)av * bv;
            }
            out[(size_t)i * N + j] = (float)s;
        }
}

void matmul_forward(float *out, const float *a, const float *b, int M, int N, int K, int ta, int tb) {
    // a is [M,K] (or [K,M] when ta), b is [K,N] (or [N,K] when tb), out is [M,N]
    gemm(out, a, b, M, N, K, ta, tb, 0.0f);
}

static void matmul_backward(float *da, float *db, const float *dout, const float *a, const float *b,
                            int M, int N, int K, int ta, int tb) {
    // forward: out[M,N] = op(a)[M,K] op(b)[K,N]
    if (da) {
        if (!ta) gemm(da, dout, b, M, K, N, 0, !tb, 1.0f);  // da[M,K] += dout[M,N] op(b)^T
        else gemm(da, b, dout, K, M, N, tb, 1, 1.0f);       // da[K,M] += op(b)[K,N] dout^T
    }
    if (db) {
        if (!tb) gemm(db, a, dout, K, N, M, !ta, 0, 1.0f);  // db[K,N] += op(a)^T dout[M,N]
        else gemm(db, dout, a, N, K, M, 1, ta, 1.0f);       // db[N,K] += dout^T op(a)[M,K]
    }
}

/* Rows per task of the row-split products: a chunk of out stays in L2 between the bias fill
 * and sgemm; each chunk is one single-threaded sgemm (OpenBLAS runs one thread inside a
 * parallel region). */
#define LIN_RB 256

/* out[N, M] = a[N, K] op(b)[K, M] + beta out, split over rows of a and out as linear_forward
 * does (one parallel region of single-threaded sgemms) when the work is large enough. */
static void gemm_rows(float *out, const float *a, const float *b, int N, int M, int K, int tb, float beta) {
    if (!OPS_PAR((size_t)N * M * K) || N < 2 * LIN_RB) {
        gemm(out, a, b, N, M, K, 0, tb, beta);
        return;
    }
    int chunks = (N + LIN_RB - 1) / LIN_RB;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < chunks; c++) {
        int n0 = c * LIN_RB, rows = N - n0 < LIN_RB ? N - n0 : LIN_RB;
        gemm(out + (size_t)n0 * M, a + (size_t)n0 * K, b, rows, M, K, 0, tb, beta);
    }
}

static void linear_forward(float *out, const float *x, const float *w, const float *b, int N, int IN, int OUT) {
    // x is [N,IN], w is [OUT,IN], b is [OUT] or NULL, out is [N,OUT]
    // out = b (a fill, row by row) then out += x w^T with beta = 1: no separate bias pass and no
    // zeroing inside sgemm (its beta = 0 path memsets out first)
    if (!OPS_PAR((size_t)N * OUT * IN) || N < 2 * LIN_RB) {
        if (b)
            for (int n = 0; n < N; n++) memcpy(out + (size_t)n * OUT, b, (size_t)OUT * sizeof(float));
        gemm(out, x, w, N, OUT, IN, 0, 1, b ? 1.0f : 0.0f);
        return;
    }
    int chunks = (N + LIN_RB - 1) / LIN_RB;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < chunks; c++) {
        int n0 = c * LIN_RB, rows = N - n0 < LIN_RB ? N - n0 : LIN_RB;
        float *o = out + (size_t)n0 * OUT;
        if (b)
            for (int n = 0; n < rows; n++) memcpy(o + (size_t)n * OUT, b, (size_t)OUT * sizeof(float));
        gemm(o, x + (size_t)n0 * IN, w, rows, OUT, IN, 0, 1, b ? 1.0f : 0.0f);
    }
}

static void linear_backward(float *dx, float *dw, float *db, const float *dout, const float *x,
                            const float *w, int N, int IN, int OUT) {
    // forward: out[n,o] = sum_i x[n,i] w[o,i] + b[o]
    if (dx) gemm_rows(dx, dout, w, N, IN, OUT, 0, 1.0f);  // dx[N,IN] += dout[N,OUT] w[OUT,IN]
    if (dw) gemm(dw, dout, x, OUT, IN, N, 1, 0, 1.0f);   // dw[OUT,IN] += dout^T x
    if (db) {
        // db[o] += sum_n dout[n,o]; each thread owns a strip of 64 columns and walks the rows
        // (row-contiguous reads; the column-at-a-time walk was 10% of a step)
        int strips = (OUT + 63) / 64;
#pragma omp parallel for schedule(static) if (OPS_PAR((size_t)N * OUT))
        for (int st = 0; st < strips; st++) {
            int o0 = st * 64, cols = OUT - o0 < 64 ? OUT - o0 : 64;
            float acc[64] = {0};
            for (int n = 0; n < N; n++) {
                const float *row = dout + (size_t)n * OUT + o0;
                for (int o = 0; o < cols; o++) acc[o] += row[o];
            }
            for (int o = 0; o < cols; o++) db[o0 + o] += acc[o];
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* op_matmul                                                                                   */

typedef struct {
    int batch, M, N, K, ta, tb, b_batched;
} MatmulCtx;

static void matmul_node_backward(AgNode *node) {
    MatmulCtx *c = node->saved;
    Tensor *a = node->in[0], *b = node->in[1];
    const float *dout = ag_dout(node);
    float *da = ag_din(node, 0), *db = ag_din(node, 1);
    size_t sa = (size_t)c->M * c->K, sb = (size_t)c->K * c->N, so = (size_t)c->M * c->N;
    if (!c->b_batched && !c->ta) {
        /* the batch was folded into M */
        matmul_backward(da, db, dout, a->data, b->data, c->batch * c->M, c->N, c->K, 0, c->tb);
        return;
    }
    for (int i = 0; i < c->batch; i++) {
        size_t ob = c->b_batched ? (size_t)i * sb : 0;
        matmul_backward(da ? da + i * sa : NULL, db ? db + ob : NULL, dout + i * so,
                        a->data + i * sa, b->data + ob, c->M, c->N, c->K, c->ta, c->tb);
    }
}

Tensor *op_matmul(Ag *g, Tensor *a, Tensor *b, int trans_a, int trans_b) {
    char sa[64], sb[64];
    LG_ASSERT(a->ndim >= 2 && b->ndim >= 2, "op_matmul needs rank >= 2 operands, got %s and %s",
              tensor_shape_str(a, sa, sizeof sa), tensor_shape_str(b, sb, sizeof sb));
    int ra = a->shape[a->ndim - 2], ca = a->shape[a->ndim - 1];
    int rb = b->shape[b->ndim - 2], cb = b->shape[b->ndim - 1];
    MatmulCtx c = {
        .M = trans_a ? ca : ra, .K = trans_a ? ra : ca, .N = trans_b ? rb : cb,
        .ta = trans_a, .tb = trans_b, .batch = (int)(a->n / ((size_t)ra * ca)),
    };
    int kb = trans_b ? cb : rb;
    LG_ASSERT(kb == c.K, "op_matmul: inner dims differ: a %s%s, b %s%s",
              tensor_shape_str(a, sa, sizeof sa), trans_a ? "^T" : "",
              tensor_shape_str(b, sb, sizeof sb), trans_b ? "^T" : "");
    if (b->ndim > 2) {
        int same = b->ndim == a->ndim;
        for (int i = 0; same && i < a->ndim - 2; i++) same = a->shape[i] == b->shape[i];
        LG_ASSERT(same, "op_matmul: a batched b must have a's leading dims: a %s, b %s",
                  tensor_shape_str(a, sa, sizeof sa), tensor_shape_str(b, sb, sizeof sb));
        c.b_batched = 1;
    }
    int shape[TENSOR_MAXDIM];
    memcpy(shape, a->shape, sizeof shape);
    shape[a->ndim - 2] = c.M;
    shape[a->ndim - 1] = c.N;
    Tensor *out = tensor_new(&g->arena, a->ndim, shape);
    size_t sza = (size_t)c.M * c.K, szb = (size_t)c.K * c.N, szo = (size_t)c.M * c.N;
    if (!c.b_batched && !c.ta)
        matmul_forward(out->data, a->data, b->data, c.batch * c.M, c.N, c.K, 0, c.tb);
    else
        for (int i = 0; i < c.batch; i++)
            matmul_forward(out->data + i * szo, a->data + i * sza, b->data + (c.b_batched ? i * szb : 0),
                           c.M, c.N, c.K, c.ta, c.tb);
    if (ag_needs_grad(g, a, b, NULL)) {
        Tensor *in[2] = {a, b};
        AgNode *n = ag_record(g, "matmul", matmul_node_backward, out, in, 2, sizeof c);
        *(MatmulCtx *)n->saved = c;
    }
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* op_linear                                                                                   */

static void linear_node_backward(AgNode *node) {
    Tensor *x = node->in[0], *w = node->in[1];
    int IN = w->shape[1], OUT = w->shape[0];
    int N = (int)(x->n / (size_t)IN);
    const float *dout = ag_dout(node);
    int fresh;
    float *dx = ag_din_fresh(node, 0, &fresh);
    if (fresh) {
        // first gradient of x: sgemm writes it (beta = 0) instead of adding into zeros
        gemm_rows(dx, dout, w->data, N, IN, OUT, 0, 0.0f);  // dx[N,IN] = dout w
        dx = NULL;
    }
    linear_backward(dx, ag_din(node, 1), ag_din(node, 2), dout, x->data, w->data, N, IN, OUT);
}

/* Checks x [..., IN] against w [OUT, IN] and b [OUT] (or NULL) for `op`, and returns the
 * output [..., OUT] in the arena with *N = rows of x. */
static Tensor *linear_out(Ag *g, const char *op, const Tensor *x, const Tensor *w, const Tensor *b, int *N) {
    char sx[64], sw[64];
    LG_ASSERT(w->ndim == 2 && x->shape[x->ndim - 1] == w->shape[1],
              "%s: x %s does not match w %s (want x [..., in], w [out, in])", op,
              tensor_shape_str(x, sx, sizeof sx), tensor_shape_str(w, sw, sizeof sw));
    int IN = w->shape[1], OUT = w->shape[0];
    LG_ASSERT(!b || (b->n == (size_t)OUT), "%s: bias has %zu elements, w %s wants %d", op,
              b ? b->n : 0, tensor_shape_str(w, sw, sizeof sw), OUT);
    int shape[TENSOR_MAXDIM];
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = OUT;
    *N = (int)(x->n / (size_t)IN);
    return tensor_new(&g->arena, x->ndim, shape);
}

Tensor *op_linear(Ag *g, Tensor *x, Tensor *w, Tensor *b) {
    int IN = w->shape[1], OUT = w->shape[0], N;
    Tensor *out = linear_out(g, "op_linear", x, w, b, &N);
    linear_forward(out->data, x->data, w->data, b ? b->data : NULL, N, IN, OUT);
    if (ag_needs_grad(g, x, w, b)) {
        Tensor *in[3] = {x, w, b};
        ag_record(g, "linear", linear_node_backward, out, in, 3, 0);
    }
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* op_linear_gelu: gelu(x w^T + b) fused by row chunk                                          */

/* The reference is op_gelu(g, op_linear(g, x, w, b)): same formulas (tanh approximation through
 * lg_tanhf), so the fused op agrees with it to rounding. What the fusion buys: each 256-row chunk
 * of the pre-activation is computed by sgemm and passed through GELU while it is in cache (one
 * parallel region instead of two), and in backward GELU' is applied to a chunk of dout just
 * before the same chunk's dx sgemm reads it. */
typedef struct {
    float *gp; /* [N, OUT] GELU'(x w^T + b), computed in the forward with the same tanh */
} LinGeluCtx;

static void lingelu_rows(float *out, float *pre, const float *x, const float *w, const float *b,
                         int rows, int IN, int OUT, int keep_grad) {
    // x [rows, IN], w [OUT, IN], b [OUT] or NULL -> pre, out [rows, OUT]; with keep_grad pre
    // is overwritten by GELU'(pre) (the backward's factor, so it needs no tanh of its own)
    if (b)
        for (int n = 0; n < rows; n++) memcpy(pre + (size_t)n * OUT, b, (size_t)OUT * sizeof(float));
    gemm(pre, x, w, rows, OUT, IN, 0, 1, b ? 1.0f : 0.0f);
    size_t m = (size_t)rows * OUT;
    if (keep_grad) {
#pragma omp simd
        for (size_t i = 0; i < m; i++) out[i] = lg_gelu_with_grad(pre[i], &pre[i]);
    } else {
#pragma omp simd
        for (size_t i = 0; i < m; i++) out[i] = lg_gelu(pre[i]);
    }
}

static void lingelu_node_backward(AgNode *node) {
    Tensor *x = node->in[0], *w = node->in[1];
    const float *gp = ((LinGeluCtx *)node->saved)->gp;
    int IN = w->shape[1], OUT = w->shape[0];
    int N = (int)(x->n / (size_t)IN);
    float *d = ag_dout(node); /* becomes dpre in place: dout is dead after this backward */
    int fresh;
    float *dx = ag_din_fresh(node, 0, &fresh);
    int chunks = (N + LIN_RB - 1) / LIN_RB;
#pragma omp parallel for schedule(static) if (OPS_PAR((size_t)N * OUT * IN) && N >= 2 * LIN_RB)
    for (int c = 0; c < chunks; c++) {
        int n0 = c * LIN_RB, rows = N - n0 < LIN_RB ? N - n0 : LIN_RB;
        float *dc = d + (size_t)n0 * OUT;
        const float *gc = gp + (size_t)n0 * OUT;
        size_t m = (size_t)rows * OUT;
        // dpre = dout * gelu'(pre)
#pragma omp simd
        for (size_t i = 0; i < m; i++) dc[i] = dc[i] * gc[i];
        // dx[rows, IN] (+)= dpre[rows, OUT] w[OUT, IN]
        if (dx) gemm(dx + (size_t)n0 * IN, dc, w->data, rows, IN, OUT, 0, 0, fresh ? 0.0f : 1.0f);
    }
    linear_backward(NULL, ag_din(node, 1), ag_din(node, 2), d, x->data, w->data, N, IN, OUT);
}

Tensor *op_linear_gelu(Ag *g, Tensor *x, Tensor *w, Tensor *b) {
    int IN = w->shape[1], OUT = w->shape[0], N;
    Tensor *out = linear_out(g, "op_linear_gelu", x, w, b, &N);
    int rec = ag_needs_grad(g, x, w, b);
    /* without a tape the pre-activation is scratch: it lives in the arena until the reset */
    float *pre = arena_alloc(&g->arena, out->n * sizeof(float));
    int chunks = (N + LIN_RB - 1) / LIN_RB;
#pragma omp parallel for schedule(static) if (OPS_PAR((size_t)N * OUT * IN) && N >= 2 * LIN_RB)
    for (int c = 0; c < chunks; c++) {
        int n0 = c * LIN_RB, rows = N - n0 < LIN_RB ? N - n0 : LIN_RB;
        lingelu_rows(out->data + (size_t)n0 * OUT, pre + (size_t)n0 * OUT, x->data + (size_t)n0 * IN,
                     w->data, b ? b->data : NULL, rows, IN, OUT, rec);
    }
    if (rec) {
        Tensor *in[3] = {x, w, b};
        AgNode *n = ag_record(g, "linear_gelu", lingelu_node_backward, out, in, 3, sizeof(LinGeluCtx));
        ((LinGeluCtx *)n->saved)->gp = pre;  /* GELU'(pre) by now */
    }
    return out;
}
