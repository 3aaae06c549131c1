/* heads: the per-head view of attention. op_split_heads / op_merge_heads move between packed
 * rows [B, T, C] and heads [B, H, T, hd] (the split and merge a composed attention, RoPE and
 * the KV cache need; the fused ops read heads in place instead), op_rope rotates heads, and
 * op_rope_qkv rotates the q and k heads of a packed qkv in place of split + rope + attention.
 */
#include <math.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "par.h"

/* ---- split / merge heads ------------------------------------------------------------------ */

/* x [B,T,C] columns col0 .. col0+H*hd-1  <->  y [B,H,T,hd]. to_heads: y = x's slice, else
 * x's slice += y (the backward of split, the forward-with-accumulate of merge is not needed). */
static void heads_copy(float *y, const float *x, int B, int T, int C, int H, int hd, int col0) {
    // x is [B,T,C], y is [B,H,T,hd]:  y[b,h,t,d] = x[b,t,col0 + h*hd + d]
#pragma omp parallel for if (OPS_PAR((size_t)B * H * T * hd))
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        for (int t = 0; t < T; t++)
            memcpy(y + ((size_t)bh * T + t) * hd, x + ((size_t)b * T + t) * C + col0 + h * hd, (size_t)hd * sizeof(float));
    }
}

static void heads_add_back(float *dx, const float *dy, int B, int T, int C, int H, int hd, int col0) {
    // forward: y[b,h,t,d] = x[b,t,col0 + h*hd + d];  dx[b,t,col0+h*hd+d] += dy[b,h,t,d]
#pragma omp parallel for if (OPS_PAR((size_t)B * H * T * hd))
    for (int bt = 0; bt < B * T; bt++) {
        int b = bt / T, t = bt % T;
        for (int h = 0; h < H; h++) {
            const float *src = dy + (((size_t)b * H + h) * T + t) * hd;
            float *dst = dx + (size_t)bt * C + col0 + h * hd;
            for (int d = 0; d < hd; d++) dst[d] += src[d];
        }
    }
}

typedef struct {
    int B, T, C, H, hd, col0;
} HeadsCtx;

static void split_heads_node_backward(AgNode *node) {
    HeadsCtx *c = node->saved;
    heads_add_back(ag_din(node, 0), ag_dout(node), c->B, c->T, c->C, c->H, c->hd, c->col0);
}

Tensor *op_split_heads(Ag *g, Tensor *x, int H, int hd, int col0) {
    char sx[64];
    LG_ASSERT(x->ndim == 3 && H >= 1 && hd >= 1 && col0 >= 0 && col0 + H * hd <= x->shape[2],
              "op_split_heads: x %s has no columns %d..%d for %d heads of %d", tensor_shape_str(x, sx, sizeof sx),
              col0, col0 + H * hd - 1, H, hd);
    HeadsCtx c = {x->shape[0], x->shape[1], x->shape[2], H, hd, col0};
    Tensor *out = tensor_new4(&g->arena, c.B, H, c.T, hd);
    heads_copy(out->data, x->data, c.B, c.T, c.C, H, hd, col0);
    if (ag_needs_grad(g, x, NULL, NULL)) {
        AgNode *n = ag_record(g, "split_heads", split_heads_node_backward, out, &x, 1, sizeof c);
        *(HeadsCtx *)n->saved = c;
    }
    return out;
}

static void merge_heads_node_backward(AgNode *node) {
    // forward: out[b,t,h*hd+d] = x[b,h,t,d];  dx[b,h,t,d] += dout[b,t,h*hd+d]
    HeadsCtx *c = node->saved;
    float *dx = ag_din(node, 0);
    const float *dout = ag_dout(node);
#pragma omp parallel for if (OPS_PAR((size_t)c->B * c->T * c->C))
    for (int bh = 0; bh < c->B * c->H; bh++) {
        int b = bh / c->H, h = bh % c->H;
        for (int t = 0; t < c->T; t++) {
            const float *src = dout + ((size_t)b * c->T + t) * c->C + h * c->hd;
            float *dst = dx + ((size_t)bh * c->T + t) * c->hd;
            for (int d = 0; d < c->hd; d++) dst[d] += src[d];
        }
    }
}

Tensor *op_merge_heads(Ag *g, Tensor *x) {
    char sx[64];
    LG_ASSERT(x->ndim == 4, "op_merge_heads: x %s must be [B, H, T, hd]", tensor_shape_str(x, sx, sizeof sx));
    HeadsCtx c = {x->shape[0], x->shape[2], x->shape[1] * x->shape[3], x->shape[1], x->shape[3], 0};
    Tensor *out = tensor_new3(&g->arena, c.B, c.T, c.C);
    // out[b,t,h*hd+d] = x[b,h,t,d]
#pragma omp parallel for if (OPS_PAR((size_t)c.B * c.T * c.C))
    for (int bt = 0; bt < c.B * c.T; bt++) {
        int b = bt / c.T, t = bt % c.T;
        for (int h = 0; h < c.H; h++)
            memcpy(out->data + (size_t)bt * c.C + h * c.hd, x->data + (((size_t)b * c.H + h) * c.T + t) * c.hd,
                   (size_t)c.hd * sizeof(float));
    }
    if (ag_needs_grad(g, x, NULL, NULL)) {
        AgNode *n = ag_record(g, "merge_heads", merge_heads_node_backward, out, &x, 1, sizeof c);
        *(HeadsCtx *)n->saved = c;
    }
    return out;
}

/* ---- rope --------------------------------------------------------------------------------- */

/* cos and sin of the rotation angles pos[r] * base^(-2i/rot) of n positions, i < rot/2:
 * cs, sn [n, rot/2]. */
static void rope_angles(float *cs, float *sn, const float *pos, int n, int rot, float base) {
    int half = rot / 2;
    for (int i = 0; i < half; i++) {
        double inv = pow((double)base, -2.0 * i / rot);
        for (int r = 0; r < n; r++) {
            double ang = (double)pos[r] * inv;
            cs[(size_t)r * half + i] = (float)cos(ang);
            sn[(size_t)r * half + i] = (float)sin(ang);
        }
    }
}

/* rope_angles of n positions into a table [n, rot/2] of cos and of sin in g's arena (kept for
 * the backward). */
static void rope_table(Ag *g, const float *pos, int n, int rot, float base, float **cs, float **sn) {
    size_t n_ang = (size_t)n * (rot / 2);
    *cs = arena_alloc(&g->arena, (n_ang ? n_ang : 1) * sizeof(float));
    *sn = arena_alloc(&g->arena, (n_ang ? n_ang : 1) * sizeof(float));
    rope_angles(*cs, *sn, pos, n, rot, base);
}

/* One head's vector of hd dims: rotates (or with dir = -1 rotates back) pairs (x[2i], x[2i+1])
 * of the first rot dims by the angles whose cos and sin are cs, sn [rot/2]; y = x for the other
 * dims; accumulate: y += R x instead. */
static inline void rope_head(float *yr, const float *xr, const float *cs, const float *sn, int hd, int rot, int dir,
                             int accumulate) {
    for (int i = 0; i < rot / 2; i++) {
        float c = cs[i], s = dir * sn[i];
        float x0 = xr[2 * i], x1 = xr[2 * i + 1];
        float y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
        if (accumulate) { yr[2 * i] += y0; yr[2 * i + 1] += y1; }
        else { yr[2 * i] = y0; yr[2 * i + 1] = y1; }
    }
    for (int d = rot; d < hd; d++) yr[d] = accumulate ? yr[d] + xr[d] : xr[d];
}

/* rope_head on every head of x [B,H,T,hd] into y, with row t of the angle table for every
 * sequence (rows = 1) or row b*T + t (rows = B). */
static void rope_apply(float *y, const float *x, const float *cs, const float *sn, int rows, int B, int H, int T,
                       int hd, int rot, int dir, int accumulate) {
    // x, y are [B,H,T,hd]; cs, sn are [rows*T, rot/2]
    int half = rot / 2;
#pragma omp parallel for if (OPS_PAR((size_t)B * H * T * rot * 8))
    for (int bht = 0; bht < B * H * T; bht++) {
        int t = bht % T, b = bht / (H * T);
        size_t r = (size_t)(rows == 1 ? t : b * T + t) * half;
        rope_head(y + (size_t)bht * hd, x + (size_t)bht * hd, cs + r, sn + r, hd, rot, dir, accumulate);
    }
}

typedef struct {
    float *cs, *sn;  /* [rows*T, rot_dims/2] the forward's angles */
    int rows, rot_dims;
} RopeCtx;

static void rope_node_backward(AgNode *node) {
    // forward: y = R(angle) x;  dx += R(angle)^T dy = R(-angle) dy
    RopeCtx *c = node->saved;
    Tensor *x = node->in[0];
    rope_apply(ag_din(node, 0), ag_dout(node), c->cs, c->sn, c->rows, x->shape[0], x->shape[1], x->shape[2],
               x->shape[3], c->rot_dims, -1, 1);
}

Tensor *op_rope(Ag *g, Tensor *x, const float *pos, int rows, int rot_dims, float base) {
    char sx[64];
    LG_ASSERT(x->ndim == 4 && rot_dims >= 0 && rot_dims % 2 == 0 && rot_dims <= x->shape[3],
              "op_rope: x %s must be [B,H,T,hd] and rot_dims %d even and <= hd", tensor_shape_str(x, sx, sizeof sx), rot_dims);
    int B = x->shape[0], H = x->shape[1], T = x->shape[2], hd = x->shape[3];
    LG_ASSERT(rows == 1 || rows == B, "op_rope: rows %d must be 1 or B = %d", rows, B);
    // (y0, y1) = (x0 cos - x1 sin, x0 sin + x1 cos),  angle = pos[r] * base^(-2i/rot_dims)
    float *cs, *sn;
    rope_table(g, pos, rows * T, rot_dims, base, &cs, &sn);
    Tensor *out = tensor_new(&g->arena, 4, x->shape);
    rope_apply(out->data, x->data, cs, sn, rows, B, H, T, hd, rot_dims, 1, 0);
    if (ag_needs_grad(g, x, NULL, NULL)) {
        AgNode *n = ag_record(g, "rope", rope_node_backward, out, &x, 1, sizeof(RopeCtx));
        RopeCtx *c = n->saved;
        c->cs = cs, c->sn = sn, c->rows = rows, c->rot_dims = rot_dims;
    }
    return out;
}

/* ---- rope on a packed qkv ------------------------------------------------------------------ */

typedef struct {
    float *cs, *sn;    /* [rows*T, rot_dims/2] the forward's angles */
    const int *keep;   /* [N] token n's index b*T + t, or NULL (n itself) */
    int rows, T, H, rot_dims;
} RopeQkvCtx;

/* Every token n of qkv [N, 3D]: its q and k heads rotated by rope_head at the angles of its
 * position row, its v copied (or with accumulate, y += R x on all three). */
static void rope_qkv_apply(float *y, const float *x, const RopeQkvCtx *c, int N, int D, int dir, int accumulate) {
    int H = c->H, hd = D / H, half = c->rot_dims / 2, T = c->T;
#pragma omp parallel for if (OPS_PAR((size_t)N * 3 * D * 4))
    for (int n = 0; n < N; n++) {
        int bt = c->keep ? c->keep[n] : n;
        size_t r = (size_t)(c->rows == 1 ? bt % T : bt) * half;
        const float *xr = x + (size_t)n * 3 * D;
        float *yr = y + (size_t)n * 3 * D;
        for (int h = 0; h < 2 * H; h++)   /* q's heads, then k's */
            rope_head(yr + (size_t)h * hd, xr + (size_t)h * hd, c->cs + r, c->sn + r, hd, c->rot_dims, dir, accumulate);
        for (int d = 2 * D; d < 3 * D; d++) yr[d] = accumulate ? yr[d] + xr[d] : xr[d];
    }
}

static void rope_qkv_node_backward(AgNode *node) {
    // forward: (q, k, v) -> (R q, R k, v) per head;  dx += (R^T dq, R^T dk, dv)
    RopeQkvCtx *c = node->saved;
    Tensor *x = node->in[0];
    int D = x->shape[x->ndim - 1] / 3;
    rope_qkv_apply(ag_din(node, 0), ag_dout(node), c, (int)(tensor_numel(x->ndim, x->shape) / (3 * (size_t)D)), D, -1, 1);
}

Tensor *op_rope_qkv(Ag *g, Tensor *qkv, int H, int T, const int *keep, const float *pos, int rows, int rot_dims,
                    float base) {
    char sx[64];
    int C = qkv->shape[qkv->ndim - 1], D = C / 3;
    LG_ASSERT((qkv->ndim == 2 || qkv->ndim == 3) && C % 3 == 0 && H >= 1 && D % H == 0 && T >= 1 && rot_dims >= 0 &&
                  rot_dims % 2 == 0 && rot_dims <= D / H,
              "op_rope_qkv: qkv %s must be [N, 3D] or [B, T, 3D] with D = H * hd (H = %d), rot_dims %d even and <= hd",
              tensor_shape_str(qkv, sx, sizeof sx), H, rot_dims);
    int N = (int)(tensor_numel(qkv->ndim, qkv->shape) / (size_t)C);
    LG_ASSERT(keep || rows == 1 || N == rows * T, "op_rope_qkv: %d tokens are not %d rows of T = %d", N, rows, T);
    for (int n = 0; keep && n < N; n++)
        LG_ASSERT(keep[n] >= 0 && (rows == 1 || keep[n] < rows * T),
                  "op_rope_qkv: keep[%d] = %d outside the %d x %d positions", n, keep[n], rows, T);
    float *cs, *sn;
    rope_table(g, pos, rows * T, rot_dims, base, &cs, &sn);
    RopeQkvCtx ctx = {cs, sn, keep, rows, T, H, rot_dims};
    Tensor *out = tensor_new(&g->arena, qkv->ndim, qkv->shape);
    rope_qkv_apply(out->data, qkv->data, &ctx, N, D, 1, 0);
    if (ag_needs_grad(g, qkv, NULL, NULL)) {
        AgNode *nd = ag_record(g, "rope_qkv", rope_qkv_node_backward, out, &qkv, 1, sizeof(RopeQkvCtx));
        *(RopeQkvCtx *)nd->saved = ctx;
    }
    return out;
}
