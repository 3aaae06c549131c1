/* elementwise: add, mul, scale, bias, activations, dropout, sum, reshape, row gather.
 *
 * Every kernel writes each output element from the same input elements whatever the thread
 * count, so results are bit-identical across thread counts. The only reduction (op_sum and the
 * bias gradient) runs in a fixed order.
 */
#include <math.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "fastmath.h"
#include "par.h"

size_t ops_par_min = (size_t)1 << 15;

size_t ops_set_par_min(size_t work) {
    size_t prev = ops_par_min;
    ops_par_min = work;
    return prev;
}

static void check_same(const char *op, const Tensor *a, const Tensor *b) {
    char sa[64], sb[64];
    LG_ASSERT(tensor_same_shape(a, b), "%s needs equal shapes, got %s and %s", op,
              tensor_shape_str(a, sa, sizeof sa), tensor_shape_str(b, sb, sizeof sb));
}

static Tensor *new_like(Ag *g, const Tensor *x) { return tensor_new(&g->arena, x->ndim, x->shape); }

/* ---- add ---------------------------------------------------------------------------------- */

static void add_node_backward(AgNode *node) {
    // forward: out[i] = a[i] + b[i]
    // da = dout: a takes dout's buffer when it has none yet (a residual add's x: saves a zeroed
    // buffer and a pass per block); otherwise, and for b, a copy or an add
    const float *dout = ag_dout(node);
    size_t n = node->out->n;
    for (int k = 0; k < 2; k++) {
        if (k == 0 && ag_din_take(node, 0)) continue;
        int fresh;
        float *d = ag_din_fresh(node, k, &fresh);
        if (!d) continue;
        if (fresh) {  // first contribution: a copy, not zeroing then adding
            memcpy(d, dout, n * sizeof(float));
            continue;
        }
#pragma omp parallel for if (OPS_PAR(n))
        for (size_t i = 0; i < n; i++) d[i] += dout[i];
    }
}

Tensor *op_add(Ag *g, Tensor *a, Tensor *b) {
    check_same("op_add", a, b);
    Tensor *out = new_like(g, a);
#pragma omp parallel for if (OPS_PAR(a->n))
    for (size_t i = 0; i < a->n; i++) out->data[i] = a->data[i] + b->data[i];
    if (ag_needs_grad(g, a, b, NULL)) {
        Tensor *in[2] = {a, b};
        ag_record(g, "add", add_node_backward, out, in, 2, 0);
    }
    return out;
}

/* ---- mul ---------------------------------------------------------------------------------- */

static void mul_node_backward(AgNode *node) {
    // forward: out[i] = a[i] * b[i]
    Tensor *a = node->in[0], *b = node->in[1];
    const float *dout = ag_dout(node);
    float *da = ag_din(node, 0), *db = ag_din(node, 1);
    size_t n = node->out->n;
#pragma omp parallel for if (OPS_PAR(n))
    for (size_t i = 0; i < n; i++) {
        if (da) da[i] += dout[i] * b->data[i];
        if (db) db[i] += dout[i] * a->data[i];
    }
}

Tensor *op_mul(Ag *g, Tensor *a, Tensor *b) {
    check_same("op_mul", a, b);
    Tensor *out = new_like(g, a);
#pragma omp parallel for if (OPS_PAR(a->n))
    for (size_t i = 0; i < a->n; i++) out->data[i] = a->data[i] * b->data[i];
    if (ag_needs_grad(g, a, b, NULL)) {
        Tensor *in[2] = {a, b};
        ag_record(g, "mul", mul_node_backward, out, in, 2, 0);
    }
    return out;
}

/* ---- scale -------------------------------------------------------------------------------- */

static void scale_node_backward(AgNode *node) {
    // forward: out[i] = s * a[i]
    float s = *(float *)node->saved;
    const float *dout = ag_dout(node);
    float *da = ag_din(node, 0);
    size_t n = node->out->n;
#pragma omp parallel for if (OPS_PAR(n))
    for (size_t i = 0; i < n; i++) da[i] += s * dout[i];
}

Tensor *op_scale(Ag *g, Tensor *a, float s) {
    Tensor *out = new_like(g, a);
#pragma omp parallel for if (OPS_PAR(a->n))
    for (size_t i = 0; i < a->n; i++) out->data[i] = s * a->data[i];
    if (ag_needs_grad(g, a, NULL, NULL)) {
        AgNode *n = ag_record(g, "scale", scale_node_backward, out, &a, 1, sizeof(float));
        *(float *)n->saved = s;
    }
    return out;
}

/* ---- add_bias ----------------------------------------------------------------------------- */

static void add_bias_node_backward(AgNode *node) {
    // forward: out[n,c] = x[n,c] + b[c]       x is [N,C], b is [C]
    Tensor *x = node->in[0], *b = node->in[1];
    const float *dout = ag_dout(node);
    int C = (int)b->n;
    int N = (int)(x->n / (size_t)C);
    float *dx = ag_din(node, 0), *db = ag_din(node, 1);
    if (dx) {
#pragma omp parallel for if (OPS_PAR(x->n))
        for (size_t i = 0; i < x->n; i++) dx[i] += dout[i];
    }
    if (db) {
#pragma omp parallel for if (OPS_PAR(x->n))
        for (int c = 0; c < C; c++) {
            float s = 0.0f;
            for (int n = 0; n < N; n++) s += dout[(size_t)n * C + c];
            db[c] += s;
        }
    }
}

Tensor *op_add_bias(Ag *g, Tensor *x, Tensor *b) {
    char sx[64], sb[64];
    int C = x->shape[x->ndim - 1];
    LG_ASSERT(b->n == (size_t)C, "op_add_bias: bias %s does not match the last dim of x %s",
              tensor_shape_str(b, sb, sizeof sb), tensor_shape_str(x, sx, sizeof sx));
    Tensor *out = new_like(g, x);
    int N = (int)(x->n / (size_t)C);
#pragma omp parallel for if (OPS_PAR(x->n))
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) out->data[(size_t)n * C + c] = x->data[(size_t)n * C + c] + b->data[c];
    if (ag_needs_grad(g, x, b, NULL)) {
        Tensor *in[2] = {x, b};
        ag_record(g, "add_bias", add_bias_node_backward, out, in, 2, 0);
    }
    return out;
}

/* ---- relu --------------------------------------------------------------------------------- */

static void relu_node_backward(AgNode *node) {
    // forward: out[i] = max(x[i], 0)
    Tensor *x = node->in[0];
    const float *dout = ag_dout(node);
    float *dx = ag_din(node, 0);
#pragma omp parallel for if (OPS_PAR(x->n))
    for (size_t i = 0; i < x->n; i++) dx[i] += x->data[i] > 0.0f ? dout[i] : 0.0f;
}

Tensor *op_relu(Ag *g, Tensor *x) {
    Tensor *out = new_like(g, x);
#pragma omp parallel for if (OPS_PAR(x->n))
    for (size_t i = 0; i < x->n; i++) out->data[i] = x->data[i] > 0.0f ? x->data[i] : 0.0f;
    if (ag_needs_grad(g, x, NULL, NULL)) ag_record(g, "relu", relu_node_backward, out, &x, 1, 0);
    return out;
}

/* ---- gelu (tanh approximation) ------------------------------------------------------------ */

void gelu_forward(float *out, const float *x, size_t n) {
#pragma omp parallel for simd schedule(static) if (OPS_PAR(n * 8))
    for (size_t i = 0; i < n; i++) out[i] = lg_gelu(x[i]);
}

void gelu_backward(float *dx, const float *x, const float *dout, size_t n) {
    // forward: out = gelu(x), so dx += dout * gelu'(x)
#pragma omp parallel for simd schedule(static) if (OPS_PAR(n * 8))
    for (size_t i = 0; i < n; i++) dx[i] += dout[i] * lg_gelu_grad(x[i]);
}

static void gelu_node_backward(AgNode *node) {
    Tensor *x = node->in[0];
    float *dout = ag_dout(node);
    if (ag_din_take(node, 0)) {
        // dx = dout * gelu'(x), in dout's buffer (x's gradient now)
        size_t n = x->n;
        const float *xd = x->data;
#pragma omp parallel for simd schedule(static) if (OPS_PAR(n * 8))
        for (size_t i = 0; i < n; i++) dout[i] = dout[i] * lg_gelu_grad(xd[i]);
        return;
    }
    gelu_backward(ag_din(node, 0), x->data, dout, x->n);
}

Tensor *op_gelu(Ag *g, Tensor *x) {
    Tensor *out = new_like(g, x);
    gelu_forward(out->data, x->data, x->n);
    if (ag_needs_grad(g, x, NULL, NULL)) ag_record(g, "gelu", gelu_node_backward, out, &x, 1, 0);
    return out;
}

/* ---- dropout ------------------------------------------------------------------------------ */

static void dropout_node_backward(AgNode *node) {
    // forward: out[i] = x[i] * mask[i],  mask[i] in {0, 1/(1-p)}
    Tensor *x = node->in[0];
    const float *mask = node->saved;
    const float *dout = ag_dout(node);
    float *dx = ag_din(node, 0);
#pragma omp parallel for if (OPS_PAR(x->n))
    for (size_t i = 0; i < x->n; i++) dx[i] += dout[i] * mask[i];
}

Tensor *op_dropout(Ag *g, Tensor *x, float p, Rng *rng) {
    LG_ASSERT(p >= 0.0f && p < 1.0f, "op_dropout: p = %g must be in [0, 1)", (double)p);
    if (p == 0.0f) return x;
    Tensor *out = new_like(g, x);
    int rec = ag_needs_grad(g, x, NULL, NULL);
    AgNode *node = rec ? ag_record(g, "dropout", dropout_node_backward, out, &x, 1, x->n * sizeof(float)) : NULL;
    float keep = 1.0f / (1.0f - p);
    float *mask = node ? node->saved : NULL;
    /* one draw per element in order, so the mask depends only on the rng state; drawn from a
     * local copy of the state, which stays in registers */
    Rng r = *rng;
    for (size_t i = 0; i < x->n; i++) {
        float m = rng_uniform(&r) < p ? 0.0f : keep;
        if (mask) mask[i] = m;
        out->data[i] = x->data[i] * m;
    }
    *rng = r;
    return out;
}

/* ---- sum ---------------------------------------------------------------------------------- */

static void sum_node_backward(AgNode *node) {
    // forward: out = sum_i x[i]
    Tensor *x = node->in[0];
    float d = ag_dout(node)[0];
    float *dx = ag_din(node, 0);
#pragma omp parallel for if (OPS_PAR(x->n))
    for (size_t i = 0; i < x->n; i++) dx[i] += d;
}

Tensor *op_sum(Ag *g, Tensor *x) {
    Tensor *out = tensor_new1(&g->arena, 1);
    double s = 0.0;  /* sequential, in double: fixed order, no dependence on threads */
    for (size_t i = 0; i < x->n; i++) s += x->data[i];
    out->data[0] = (float)s;
    if (ag_needs_grad(g, x, NULL, NULL)) ag_record(g, "sum", sum_node_backward, out, &x, 1, 0);
    return out;
}

/* ---- reshape ------------------------------------------------------------------------------ */

static void reshape_node_backward(AgNode *node) {
    // forward: out is x's data under a new shape; dx = dout (x takes the buffer when it can)
    Tensor *x = node->in[0];
    if (ag_din_take(node, 0)) return;
    const float *dout = ag_dout(node);
    float *dx = ag_din(node, 0);
#pragma omp parallel for if (OPS_PAR(x->n))
    for (size_t i = 0; i < x->n; i++) dx[i] += dout[i];
}

Tensor *op_reshape(Ag *g, Tensor *x, int ndim, const int *shape) {
    char sx[64];
    LG_ASSERT(ndim >= 1 && ndim <= TENSOR_MAXDIM, "op_reshape: rank %d outside 1..%d", ndim, TENSOR_MAXDIM);
    LG_ASSERT(tensor_numel(ndim, shape) == x->n, "op_reshape: %s has %zu elements, the new shape %zu",
              tensor_shape_str(x, sx, sizeof sx), x->n, tensor_numel(ndim, shape));
    Tensor *out = arena_alloc(&g->arena, sizeof *out);
    memset(out, 0, sizeof *out);
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++) out->shape[i] = shape[i];
    out->n = x->n;
    out->data = x->data;  /* a view: same data, its own grad */
    if (ag_needs_grad(g, x, NULL, NULL)) ag_record(g, "reshape", reshape_node_backward, out, &x, 1, 0);
    return out;
}

/* ---- row gather --------------------------------------------------------------------------- */

typedef struct {
    int *rows;  /* [M] copy in the arena */
    int M;
} GatherCtx;

static void gather_rows_node_backward(AgNode *node) {
    // forward: out[i,:] = x[rows[i],:];  dx[rows[i],:] += dout[i,:]
    GatherCtx *c = node->saved;
    int C = node->out->shape[1];
    const float *dout = ag_dout(node);
    float *dx = ag_din(node, 0);
#pragma omp parallel for if (OPS_PAR((size_t)c->M * C))
    for (int i = 0; i < c->M; i++) {
        float *d = dx + (size_t)c->rows[i] * C;
        const float *s = dout + (size_t)i * C;
        for (int j = 0; j < C; j++) d[j] += s[j];
    }
}

Tensor *op_gather_rows(Ag *g, Tensor *x, const int *rows, int M) {
    char sx[64];
    int C = x->shape[x->ndim - 1];
    int N = (int)(x->n / (size_t)C);
    LG_ASSERT(M >= 1, "op_gather_rows: %d rows", M);
    for (int i = 0; i < M; i++)
        LG_ASSERT(rows[i] >= 0 && rows[i] < N && (i == 0 || rows[i] > rows[i - 1]),
                  "op_gather_rows: row %d at %d is not increasing inside the %d rows of %s", rows[i], i, N,
                  tensor_shape_str(x, sx, sizeof sx));
    Tensor *out = tensor_new2(&g->arena, M, C);
#pragma omp parallel for if (OPS_PAR((size_t)M * C))
    for (int i = 0; i < M; i++)
        memcpy(out->data + (size_t)i * C, x->data + (size_t)rows[i] * C, (size_t)C * sizeof(float));
    if (ag_needs_grad(g, x, NULL, NULL)) {
        AgNode *n = ag_record(g, "gather_rows", gather_rows_node_backward, out, &x, 1, sizeof(GatherCtx));
        GatherCtx *c = n->saved;
        c->rows = arena_alloc(&g->arena, (size_t)M * sizeof(int));
        memcpy(c->rows, rows, (size_t)M * sizeof(int));
        c->M = M;
    }
    return out;
}
