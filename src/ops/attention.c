/* attention: softmax with bias and causal mask, head split/merge, fused attention, RoPE.
 *
 * Causal convention everywhere: with Tq queries and Tk keys, query row i sees keys
 * j <= i + (Tk - Tq) (the queries are the last Tq positions of the key sequence). A row that
 * sees no key (only possible when Tq > Tk, or when a bias is -inf everywhere) gets all-zero
 * probabilities and output, and passes no gradient.
 *
 * Threading: the fused attention runs one (batch, head) per iteration; every write of an
 * iteration lands in that head's own slices. Gradients that sum over heads' iterations (a bias
 * shared over the batch, head_scale) are written per (b, h) to scratch first and reduced
 * afterwards in a fixed order, so results do not depend on the thread count.
 */
#include <math.h>
#include <string.h>

#include "../util.h"
#include "ops.h"
#include "par.h"

/* The last key row i may attend to, or Tk - 1 when not causal. Negative: none. */
static inline int last_key(int i, int Tq, int Tk, int causal) {
    return causal ? (i + Tk - Tq < Tk - 1 ? i + Tk - Tq : Tk - 1) : Tk - 1;
}

/* Softmax of one row over j in [0, jend]; p[j] = 0 for j > jend. All-(-inf) or empty rows
 * give zeros. */
static void softmax_row(float *p, const float *logit, int jend, int Tk) {
    float m = -INFINITY;
    for (int j = 0; j <= jend; j++) m = logit[j] > m ? logit[j] : m;
    if (m == -INFINITY) {
        memset(p, 0, (size_t)Tk * sizeof(float));
        return;
    }
    float s = 0.0f;
    for (int j = 0; j <= jend; j++) {
        p[j] = expf(logit[j] - m);
        s += p[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j <= jend; j++) p[j] *= inv;
    for (int j = jend + 1; j < Tk; j++) p[j] = 0.0f;
}

/* dl = p * (dp - sum_j p dp) for one row: the softmax backward. dl may alias dp. */
static void softmax_row_backward(float *dl, const float *p, const float *dp, int jend) {
    float dot = 0.0f;
    for (int j = 0; j <= jend; j++) dot += p[j] * dp[j];
    for (int j = 0; j <= jend; j++) dl[j] = p[j] * (dp[j] - dot);
}

/* ---- softmax ------------------------------------------------------------------------------ */

void softmax_forward(float *out, const float *x, const float *bias, int bias_batched, int causal,
                     int B, int H, int Tq, int Tk) {
    // x, out are [B,H,Tq,Tk]; bias is [Bb,H,Tq,Tk] (Bb = B when bias_batched, else 1) or NULL
    int rows = B * H * Tq;
#pragma omp parallel for if (OPS_PAR((size_t)rows * Tk))
    for (int r = 0; r < rows; r++) {
        int i = r % Tq, bh = r / Tq, h = bh % H, b = bh / H;
        const float *xr = x + (size_t)r * Tk;
        float *pr = out + (size_t)r * Tk;
        const float *lr = xr;
        if (bias) {
            const float *br = bias + (((size_t)(bias_batched ? b : 0) * H + h) * Tq + i) * Tk;
            for (int j = 0; j < Tk; j++) pr[j] = xr[j] + br[j];  // logits, in place
            lr = pr;
        }
        softmax_row(pr, lr, last_key(i, Tq, Tk, causal), Tk);
    }
}

void softmax_backward(float *dlogit, const float *p, const float *dout, int causal, int B, int H, int Tq, int Tk) {
    // forward: p = softmax(x + bias), masked;  dlogit = p * (dout - sum_j p dout)  (written, not added)
    int rows = B * H * Tq;
#pragma omp parallel for if (OPS_PAR((size_t)rows * Tk))
    for (int r = 0; r < rows; r++) {
        int i = r % Tq;
        int jend = last_key(i, Tq, Tk, causal);
        float *dr = dlogit + (size_t)r * Tk;
        for (int j = 0; j < Tk; j++) dr[j] = 0.0f;
        softmax_row_backward(dr, p + (size_t)r * Tk, dout + (size_t)r * Tk, jend);
    }
}

/* dbias[bb,h,i,j] += sum over the batches b that map to bb of d[b,h,i,j] (fixed order). */
static void bias_grad_reduce(float *dbias, const float *d, int bias_batched, int B, int H, int Tq, int Tk) {
    size_t per_b = (size_t)H * Tq * Tk;
    if (bias_batched) {
#pragma omp parallel for if (OPS_PAR((size_t)B * per_b))
        for (size_t e = 0; e < (size_t)B * per_b; e++) dbias[e] += d[e];
        return;
    }
#pragma omp parallel for if (OPS_PAR((size_t)B * per_b))
    for (size_t e = 0; e < per_b; e++) {
        float s = 0.0f;
        for (int b = 0; b < B; b++) s += d[(size_t)b * per_b + e];
        dbias[e] += s;
    }
}

typedef struct {
    int B, H, Tq, Tk, causal, bias_batched;
} SoftmaxCtx;

static void softmax_node_backward(AgNode *node) {
    SoftmaxCtx *c = node->saved;
    Tensor *out = node->out;
    float *dl = arena_alloc(&node->g->arena, out->n * sizeof(float));
    softmax_backward(dl, out->data, ag_dout(node), c->causal, c->B, c->H, c->Tq, c->Tk);
    float *dx = ag_din(node, 0), *dbias = ag_din(node, 1);
    if (dx) {
#pragma omp parallel for if (OPS_PAR(out->n))
        for (size_t e = 0; e < out->n; e++) dx[e] += dl[e];
    }
    if (dbias) bias_grad_reduce(dbias, dl, c->bias_batched, c->B, c->H, c->Tq, c->Tk);
}

/* Checks bias against [Bb, H, Tq, Tk] with Bb in {1, B}; returns 1 when it has one slice per batch. */
static int check_bias(const char *op, const Tensor *bias, int B, int H, int Tq, int Tk) {
    char sb[64];
    LG_ASSERT(bias->ndim == 4 && (bias->shape[0] == 1 || bias->shape[0] == B) && bias->shape[1] == H &&
                  bias->shape[2] == Tq && bias->shape[3] == Tk,
              "%s: bias %s must be [1 or %d, %d, %d, %d]", op, tensor_shape_str(bias, sb, sizeof sb), B, H, Tq, Tk);
    return bias->shape[0] == B && B > 1;
}

Tensor *op_softmax(Ag *g, Tensor *x, Tensor *bias, int causal) {
    char sx[64];
    LG_ASSERT(x->ndim >= 2, "op_softmax: x %s needs rank >= 2", tensor_shape_str(x, sx, sizeof sx));
    SoftmaxCtx c = {.Tq = x->shape[x->ndim - 2], .Tk = x->shape[x->ndim - 1], .causal = causal};
    if (bias) {
        LG_ASSERT(x->ndim == 4, "op_softmax: with a bias x %s must be [B, H, Tq, Tk]", tensor_shape_str(x, sx, sizeof sx));
        c.B = x->shape[0];
        c.H = x->shape[1];
        c.bias_batched = check_bias("op_softmax", bias, c.B, c.H, c.Tq, c.Tk);
    } else {
        c.B = 1;
        c.H = (int)(x->n / ((size_t)c.Tq * c.Tk));
    }
    Tensor *out = tensor_new(&g->arena, x->ndim, x->shape);
    softmax_forward(out->data, x->data, bias ? bias->data : NULL, c.bias_batched, causal, c.B, c.H, c.Tq, c.Tk);
    if (ag_needs_grad(g, x, bias, NULL)) {
        Tensor *in[2] = {x, bias};
        AgNode *n = ag_record(g, "softmax", softmax_node_backward, out, in, 2, sizeof c);
        *(SoftmaxCtx *)n->saved = c;
    }
    return out;
}

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

/* ---- fused attention ---------------------------------------------------------------------- */

static inline float dot(const float *a, const float *b, int n) {
    float s = 0.0f;
    for (int d = 0; d < n; d++) s += a[d] * b[d];
    return s;
}

void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       const float *bias, int bias_batched, const float *head_scale,
                       const float *row_scale, float scale, int causal,
                       int B, int H, int Tq, int Tk, int hd, int kv_stride) {
    // q is [B,H,Tq,hd]; k, v rows of head (b,h) at ((b*H+h)*kv_stride + j)*hd, j < Tk;
    // bias is [Bb,H,Tq,Tk] or NULL; out is [B,H,Tq,hd]; probs is [B,H,Tq,Tk] or NULL
    LG_ASSERT(kv_stride >= Tk, "attention_forward: kv_stride %d < Tk %d", kv_stride, Tk);
#pragma omp parallel for if (OPS_PAR((size_t)B * H * Tq * Tk * hd))
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const float *kh = k + (size_t)bh * kv_stride * hd, *vh = v + (size_t)bh * kv_stride * hd;
        for (int i = 0; i < Tq; i++) {
            const float *qi = q + ((size_t)bh * Tq + i) * hd;
            float *oi = out + ((size_t)bh * Tq + i) * hd;
            float *pi = probs ? probs + ((size_t)bh * Tq + i) * Tk : NULL;
            const float *bi = bias ? bias + (((size_t)(bias_batched ? b : 0) * H + h) * Tq + i) * Tk : NULL;
            float s = scale * (row_scale ? row_scale[i] : 1.0f) * (head_scale ? head_scale[h] : 1.0f);
            int jend = last_key(i, Tq, Tk, causal);
            // pass 1: the row max of logit_j = s * (q_i . k_j) + bias_ij
            float m = -INFINITY;
            for (int j = 0; j <= jend; j++) {
                float l = s * dot(qi, kh + (size_t)j * hd, hd) + (bi ? bi[j] : 0.0f);
                m = l > m ? l : m;
            }
            for (int d = 0; d < hd; d++) oi[d] = 0.0f;
            if (pi) memset(pi, 0, (size_t)Tk * sizeof(float));
            if (m == -INFINITY) continue;  // no visible key: zero output
            // pass 2: w_j = exp(logit_j - m); out_i = sum_j w_j v_j / sum_j w_j
            float sum = 0.0f;
            for (int j = 0; j <= jend; j++) {
                float w = expf(s * dot(qi, kh + (size_t)j * hd, hd) + (bi ? bi[j] : 0.0f) - m);
                sum += w;
                if (pi) pi[j] = w;
                const float *vj = vh + (size_t)j * hd;
                for (int d = 0; d < hd; d++) oi[d] += w * vj[d];
            }
            float inv = 1.0f / sum;
            for (int d = 0; d < hd; d++) oi[d] *= inv;
            if (pi)
                for (int j = 0; j <= jend; j++) pi[j] *= inv;
        }
    }
}

/* Backward of attention_forward with kv_stride = Tk: the plain reference kernel (the op uses
 * attention_fast_backward unless head_scale needs a gradient). Accumulates into dq, dk, dv (any
 * may be NULL). Writes (does not add) dl [B,H,Tq,Tk] = dlogits, and dhs_part [B*H] = this
 * (b,h)'s share of dhead_scale[h] (when not NULL); the caller reduces those over the batch. */
void attention_backward_ref(float *dq, float *dk, float *dv, float *dl, float *dhs_part,
                               const float *dout, const float *p, const float *q, const float *k,
                               const float *v, const float *head_scale, const float *row_scale,
                               float scale, int causal, int B, int H, int Tq, int Tk, int hd) {
    // forward: logit_ij = s_i (q_i . k_j) + bias_ij,  s_i = scale row_scale_i head_scale_h
    //          p = softmax_j(logit);  out_i = sum_j p_ij v_j
#pragma omp parallel for if (OPS_PAR((size_t)B * H * Tq * Tk * hd))
    for (int bh = 0; bh < B * H; bh++) {
        int h = bh % H;
        const float *qh = q + (size_t)bh * Tq * hd, *kh = k + (size_t)bh * Tk * hd, *vh = v + (size_t)bh * Tk * hd;
        const float *doh = dout + (size_t)bh * Tq * hd;
        float hs = head_scale ? head_scale[h] : 1.0f;
        float dhs = 0.0f;
        for (int i = 0; i < Tq; i++) {
            const float *pi = p + ((size_t)bh * Tq + i) * Tk;
            const float *doi = doh + (size_t)i * hd;
            float *dli = dl + ((size_t)bh * Tq + i) * Tk;
            int jend = last_key(i, Tq, Tk, causal);
            for (int j = 0; j < Tk; j++) dli[j] = 0.0f;
            for (int j = 0; j <= jend; j++) {
                const float *vj = vh + (size_t)j * hd;
                dli[j] = dot(doi, vj, hd);  // dp_ij = dout_i . v_j
                if (dv) {                   // dv_j += p_ij dout_i
                    float *dvj = dv + ((size_t)bh * Tk + j) * hd;
                    for (int d = 0; d < hd; d++) dvj[d] += pi[j] * doi[d];
                }
            }
            softmax_row_backward(dli, pi, dli, jend);  // dl = p (dp - sum_j p dp)
            float rs = scale * (row_scale ? row_scale[i] : 1.0f);
            float s = rs * hs;
            const float *qi = qh + (size_t)i * hd;
            float *dqi = dq ? dq + ((size_t)bh * Tq + i) * hd : NULL;
            for (int j = 0; j <= jend; j++) {
                float d = dli[j];
                if (d == 0.0f) continue;
                const float *kj = kh + (size_t)j * hd;
                if (dqi)  // dq_i += dl_ij s_i k_j
                    for (int e = 0; e < hd; e++) dqi[e] += d * s * kj[e];
                if (dk) {  // dk_j += dl_ij s_i q_i
                    float *dkj = dk + ((size_t)bh * Tk + j) * hd;
                    for (int e = 0; e < hd; e++) dkj[e] += d * s * qi[e];
                }
                if (dhs_part) dhs += d * rs * dot(qi, kj, hd);  // dhead_scale += dl_ij rs_i (q_i . k_j)
            }
        }
        if (dhs_part) dhs_part[bh] = dhs;
    }
}

typedef struct {
    float scale;
    float *row_scale;  /* copy in the arena, or NULL */
    float *probs;
    int B, H, Tq, Tk, hd, causal, bias_batched;
} AttnCtx;

static void attention_node_backward(AgNode *node) {
    AttnCtx *c = node->saved;
    Tensor *q = node->in[0], *k = node->in[1], *v = node->in[2], *hs = node->in[3], *bias = node->in[4];
    Ag *g = node->g;
    int want_hs = hs && hs->requires_grad, want_bias = bias && bias->requires_grad;
    float *dq = ag_din(node, 0), *dk = ag_din(node, 1), *dv = ag_din(node, 2);
    const float *dout = ag_dout(node);
    float *dl = want_hs || want_bias ? arena_alloc(&g->arena, (size_t)c->B * c->H * c->Tq * c->Tk * sizeof(float)) : NULL;
    if (want_hs) {
        float *dhs_part = arena_alloc(&g->arena, (size_t)c->B * c->H * sizeof(float));
        attention_backward_ref(dq, dk, dv, dl, dhs_part, dout, c->probs, q->data, k->data, v->data,
                               hs->data, c->row_scale, c->scale, c->causal, c->B, c->H, c->Tq, c->Tk, c->hd);
        float *dhs = ag_din(node, 3);
        for (int h = 0; h < c->H; h++)
            for (int b = 0; b < c->B; b++) dhs[h] += dhs_part[b * c->H + h];
    } else {
        AttnLayout lq = {(size_t)c->H * c->Tq * c->hd, (size_t)c->Tq * c->hd, c->hd};
        AttnLayout lk = {(size_t)c->H * c->Tk * c->hd, (size_t)c->Tk * c->hd, c->hd};
        float *scratch = arena_alloc(&g->arena, attention_fast_scratch(c->Tk) * sizeof(float));
        attention_fast_backward(dq, lq, dk, lk, dv, lk, dl, scratch, dout, lq, c->probs, q->data,
                                k->data, v->data, hs ? hs->data : NULL, c->row_scale, c->scale, c->causal,
                                c->B, c->H, c->Tq, c->Tk, c->hd);
    }
    if (want_bias) bias_grad_reduce(ag_din(node, 4), dl, c->bias_batched, c->B, c->H, c->Tq, c->Tk);
}

Tensor *op_attention(Ag *g, Tensor *q, Tensor *k, Tensor *v, const AttnOpts *o) {
    char sq[64], sk[64], sv[64];
    LG_ASSERT(q->ndim == 4 && k->ndim == 4 && tensor_same_shape(k, v) && q->shape[0] == k->shape[0] &&
                  q->shape[1] == k->shape[1] && q->shape[3] == k->shape[3],
              "op_attention: want q [B,H,Tq,hd], k and v [B,H,Tk,hd]; got q %s, k %s, v %s",
              tensor_shape_str(q, sq, sizeof sq), tensor_shape_str(k, sk, sizeof sk), tensor_shape_str(v, sv, sizeof sv));
    AttnCtx c = {.scale = o->scale, .B = q->shape[0], .H = q->shape[1], .Tq = q->shape[2], .Tk = k->shape[2],
                 .hd = q->shape[3], .causal = o->causal};
    if (o->bias) c.bias_batched = check_bias("op_attention", o->bias, c.B, c.H, c.Tq, c.Tk);
    LG_ASSERT(!o->head_scale || o->head_scale->n == (size_t)c.H, "op_attention: head_scale has %zu elements for %d heads",
              o->head_scale ? o->head_scale->n : 0, c.H);
    Tensor *out = tensor_new4(&g->arena, c.B, c.H, c.Tq, c.hd);
    int rec = ag_needs_grad(g, q, k, v) || ag_needs_grad(g, o->head_scale, o->bias, NULL);
    Tensor *probs = tensor_new4(&g->arena, c.B, c.H, c.Tq, c.Tk);
    AttnLayout lq = {(size_t)c.H * c.Tq * c.hd, (size_t)c.Tq * c.hd, c.hd};
    AttnLayout lk = {(size_t)c.H * c.Tk * c.hd, (size_t)c.Tk * c.hd, c.hd};
    attention_fast_forward(out->data, lq, probs->data, q->data, lq, k->data, lk, v->data, lk,
                           o->bias ? o->bias->data : NULL, c.bias_batched, o->head_scale ? o->head_scale->data : NULL,
                           o->row_scale, o->scale, o->causal, c.B, c.H, c.Tq, c.Tk, c.hd);
    if (o->probs_out) *o->probs_out = probs;
    if (rec) {
        c.probs = probs->data;
        if (o->row_scale) {
            c.row_scale = arena_alloc(&g->arena, (size_t)c.Tq * sizeof(float));
            memcpy(c.row_scale, o->row_scale, (size_t)c.Tq * sizeof(float));
        }
        Tensor *in[5] = {q, k, v, o->head_scale, o->bias};
        AgNode *n = ag_record(g, "attention", attention_node_backward, out, in, 5, sizeof c);
        *(AttnCtx *)n->saved = c;
    }
    return out;
}

/* ---- rope --------------------------------------------------------------------------------- */

/* Rotates (or with dir = -1 rotates back) pairs (x[2i], x[2i+1]) of the first rot dims.
 * y = x for the other dims when y != x is given; accumulate: y += R x instead of y = R x. */
static void rope_apply(float *y, const float *x, const float *pos, int B, int H, int T, int hd, int rot,
                       float base, int dir, int accumulate) {
    // x, y are [B,H,T,hd], pos is [B,T]
#pragma omp parallel for if (OPS_PAR((size_t)B * H * T * rot * 8))
    for (int bht = 0; bht < B * H * T; bht++) {
        int t = bht % T, b = bht / (H * T);
        double ps = pos[(size_t)b * T + t];
        const float *xr = x + (size_t)bht * hd;
        float *yr = y + (size_t)bht * hd;
        for (int i = 0; i < rot / 2; i++) {
            double ang = ps * pow((double)base, -2.0 * i / rot);
            float cs = (float)cos(ang), sn = (float)(dir * sin(ang));
            float x0 = xr[2 * i], x1 = xr[2 * i + 1];
            float y0 = x0 * cs - x1 * sn, y1 = x0 * sn + x1 * cs;
            if (accumulate) { yr[2 * i] += y0; yr[2 * i + 1] += y1; }
            else { yr[2 * i] = y0; yr[2 * i + 1] = y1; }
        }
        for (int d = rot; d < hd; d++) yr[d] = accumulate ? yr[d] + xr[d] : xr[d];
    }
}

void rope_forward(float *out, const float *x, const float *pos, int B, int H, int T, int hd, int rot_dims, float base) {
    // (y0, y1) = (x0 cos - x1 sin, x0 sin + x1 cos),  angle = pos[b,t] * base^(-2i/rot_dims)
    rope_apply(out, x, pos, B, H, T, hd, rot_dims, base, 1, 0);
}

void rope_backward(float *dx, const float *dout, const float *pos, int B, int H, int T, int hd, int rot_dims, float base) {
    // forward: y = R(angle) x;  dx += R(angle)^T dy = R(-angle) dy
    rope_apply(dx, dout, pos, B, H, T, hd, rot_dims, base, -1, 1);
}

typedef struct {
    float *pos;  /* [B,T] copy */
    int rot_dims;
    float base;
} RopeCtx;

static void rope_node_backward(AgNode *node) {
    RopeCtx *c = node->saved;
    Tensor *x = node->in[0];
    rope_backward(ag_din(node, 0), ag_dout(node), c->pos, x->shape[0], x->shape[1], x->shape[2], x->shape[3],
                  c->rot_dims, c->base);
}

Tensor *op_rope(Ag *g, Tensor *x, const float *pos, int rot_dims, float base) {
    char sx[64];
    LG_ASSERT(x->ndim == 4 && rot_dims >= 0 && rot_dims % 2 == 0 && rot_dims <= x->shape[3],
              "op_rope: x %s must be [B,H,T,hd] and rot_dims %d even and <= hd", tensor_shape_str(x, sx, sizeof sx), rot_dims);
    int B = x->shape[0], H = x->shape[1], T = x->shape[2], hd = x->shape[3];
    Tensor *out = tensor_new(&g->arena, 4, x->shape);
    rope_forward(out->data, x->data, pos, B, H, T, hd, rot_dims, base);
    if (ag_needs_grad(g, x, NULL, NULL)) {
        AgNode *n = ag_record(g, "rope", rope_node_backward, out, &x, 1, sizeof(RopeCtx));
        RopeCtx *c = n->saved;
        c->pos = arena_alloc(&g->arena, (size_t)B * T * sizeof(float));
        memcpy(c->pos, pos, (size_t)B * T * sizeof(float));
        c->rot_dims = rot_dims;
        c->base = base;
    }
    return out;
}
