/* heads: the per-head view of attention. op_split_heads / op_merge_heads move between packed
 * rows [B, T, C] and heads [B, H, T, hd] (the split and merge a composed attention, RoPE and
 * the KV cache need; the fused ops read heads in place instead), and op_rope rotates heads.
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

/* Rotates (or with dir = -1 rotates back) pairs (x[2i], x[2i+1]) of the first rot dims by the
 * angles of rope_angles, row t of the table for every sequence (rows = 1) or row b*T + t
 * (rows = B). y = x for the other dims when y != x is given; accumulate: y += R x instead. */
static void rope_apply(float *y, const float *x, const float *cs, const float *sn, int rows, int B, int H, int T,
                       int hd, int rot, int dir, int accumulate) {
    // x, y are [B,H,T,hd]; cs, sn are [rows*T, rot/2]
    int half = rot / 2;
#pragma omp parallel for if (OPS_PAR((size_t)B * H * T * rot * 8))
    for (int bht = 0; bht < B * H * T; bht++) {
        int t = bht % T, b = bht / (H * T);
        size_t r = (size_t)(rows == 1 ? t : b * T + t) * half;
        const float *xr = x + (size_t)bht * hd;
        float *yr = y + (size_t)bht * hd;
        for (int i = 0; i < half; i++) {
            float c = cs[r + i], s = dir * sn[r + i];
            float x0 = xr[2 * i], x1 = xr[2 * i + 1];
            float y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
            if (accumulate) { yr[2 * i] += y0; yr[2 * i + 1] += y1; }
            else { yr[2 * i] = y0; yr[2 * i + 1] = y1; }
        }
        for (int d = rot; d < hd; d++) yr[d] = accumulate ? yr[d] + xr[d] : xr[d];
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
    size_t n_ang = (size_t)rows * T * (rot_dims / 2);
    float *cs = arena_alloc(&g->arena, (n_ang ? n_ang : 1) * sizeof(float));
    float *sn = arena_alloc(&g->arena, (n_ang ? n_ang : 1) * sizeof(float));
    rope_angles(cs, sn, pos, rows * T, rot_dims, base);
    Tensor *out = tensor_new(&g->arena, 4, x->shape);
    rope_apply(out->data, x->data, cs, sn, rows, B, H, T, hd, rot_dims, 1, 0);
    if (ag_needs_grad(g, x, NULL, NULL)) {
        AgNode *n = ag_record(g, "rope", rope_node_backward, out, &x, 1, sizeof(RopeCtx));
        RopeCtx *c = n->saved;
        c->cs = cs, c->sn = sn, c->rows = rows, c->rot_dims = rot_dims;
    }
    return out;
}
