/* attention: the ops that turn queries and keys into attention probabilities.
 *
 *   op_softmax          softmax with an additive bias and the causal mask (the composition's
 *                       piece; the fused ops are tested against matmul -> softmax -> matmul)
 *   op_attention        fused attention on heads q, k, v [B, H, T, hd] (training with RoPE)
 *   op_attention_qkv    the same read straight out of a packed qkv [B, T, 3D] (training)
 *   op_attention_cached the same over a KV cache, appending the new keys (prefill, decoding)
 * op_attention and op_attention_qkv share one tape node backward (op_attention_cached records
 * none); the fused three run on the kernels of attention_kernels.c. The causal rule is in
 * attn_rows.h.
 *
 * Threading: the fused kernels run one (batch, head) per iteration; every write of an
 * iteration lands in that head's own slices. Gradients that sum over heads' iterations (a bias
 * shared over the batch, head_scale) are reduced afterwards in a fixed order, so results do
 * not depend on the thread count.
 */
#include <math.h>
#include <string.h>

#include "../util.h"
#include "attn_rows.h"
#include "ops.h"
#include "par.h"

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

/* ---- softmax ------------------------------------------------------------------------------ */

static void softmax_forward(float *out, const float *x, const float *bias, int bias_batched, int causal,
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

static void softmax_backward(float *dlogit, const float *p, const float *dout, int causal, int B, int H, int Tq, int Tk) {
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

/* ---- fused attention: op_attention, op_attention_qkv --------------------------------------- */

/* dhead_scale[h] += sum_{b,i,j} dl[b,h,i,j] s_i (q_i . k_j), s_i = scale row_scale_i: per head,
 * over (b, i, j) in a fixed order in double. dl [B,H,Tq,Tk] is zero wherever the mask hides. */
static void head_scale_grad(float *dhs, const float *dl, const float *q, AttnLayout lq, const float *k,
                            AttnLayout lk, const float *row_scale, float scale, int B, int H, int Tq, int Tk,
                            int hd) {
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        double acc = 0.0;
        for (int i = 0; i < hrows(lq, b, Tq); i++) {  // dl is 0 past a ragged sequence's rows
            const float *qi = hrow(q, lq, b, h, i);
            float rs = scale * (row_scale ? row_scale[i] : 1.0f);
            const float *dli = dl + ((size_t)bh * Tq + i) * Tk;
            for (int j = 0; j < Tk; j++) {
                if (dli[j] == 0.0f) continue;
                const float *kj = hrow(k, lk, b, h, j);
                float d = 0.0f;
                for (int e = 0; e < hd; e++) d += qi[e] * kj[e];
                acc += (double)dli[j] * rs * d;
            }
        }
        dhs[h] += (float)acc;
    }
}

/* Inputs of the node: q, k, v (op_attention) or qkv, NULL, NULL (op_attention_qkv, packed),
 * then head_scale and bias (either may be NULL). */
enum { IN_Q, IN_K, IN_V, IN_HEAD_SCALE, IN_BIAS, N_IN };

typedef struct {
    float scale;
    float *row_scale;        /* copy in the arena, or NULL */
    float *probs;            /* [B, H, Tq, Tk] */
    AttnLayout lq, lk, lv, lo;
    int B, H, Tq, Tk, hd, causal, bias_batched;
    int packed;              /* q, k, v are columns 0, D, 2D of one tensor */
} AttnCtx;

static void attention_node_backward(AgNode *node) {
    AttnCtx *c = node->saved;
    int B = c->B, H = c->H, Tq = c->Tq, Tk = c->Tk, hd = c->hd, D = H * hd, fresh = 0;
    const float *q = node->in[IN_Q]->data, *k, *v;
    float *dq, *dk, *dv;
    if (c->packed) {  // dqkv is written whole here: first contribution written, not zeroed then added
        float *d = ag_din_fresh(node, IN_Q, &fresh);
        k = q + D, v = q + 2 * D;
        dq = d, dk = d ? d + D : NULL, dv = d ? d + 2 * D : NULL;
    } else {
        k = node->in[IN_K]->data, v = node->in[IN_V]->data;
        dq = ag_din(node, IN_Q), dk = ag_din(node, IN_K), dv = ag_din(node, IN_V);
    }
    float *dhs = ag_din(node, IN_HEAD_SCALE), *dbias = ag_din(node, IN_BIAS);
    Tensor *hs = node->in[IN_HEAD_SCALE];
    float *dl = dhs || dbias ? arena_alloc(&node->g->arena, (size_t)B * H * Tq * Tk * sizeof(float)) : NULL;
    float *scratch = arena_alloc(&node->g->arena, attention_fast_scratch(Tk) * sizeof(float));
    attention_fast_backward(dq, c->lq, dk, c->lk, dv, c->lv, dl, scratch, ag_dout(node), c->lo, c->probs, q, k, v,
                            hs ? hs->data : NULL, c->row_scale, c->scale, c->causal, B, H, Tq, Tk, hd, fresh);
    if (dbias) bias_grad_reduce(dbias, dl, c->bias_batched, B, H, Tq, Tk);
    if (dhs) head_scale_grad(dhs, dl, q, c->lq, k, c->lk, c->row_scale, c->scale, B, H, Tq, Tk, hd);
}

/* Checks o's bias and head_scale against c's dims for `op`; sets c->bias_batched. */
static void check_opts(const char *op, AttnCtx *c, const AttnOpts *o) {
    if (o->bias) c->bias_batched = check_bias(op, o->bias, c->B, c->H, c->Tq, c->Tk);
    LG_ASSERT(!o->head_scale || o->head_scale->n == (size_t)c->H, "%s: head_scale has %zu elements for %d heads",
              op, o->head_scale ? o->head_scale->n : 0, c->H);
}

/* The shared forward of op_attention and op_attention_qkv: q, k, v are read through c's
 * layouts, out written through c->lo; records a node on `in` when one needs grad. */
static void attention_run(Ag *g, AttnCtx *c, Tensor *out, const float *q, const float *k, const float *v,
                          Tensor **in, const AttnOpts *o) {
    Tensor *probs = tensor_new4(&g->arena, c->B, c->H, c->Tq, c->Tk);
    attention_fast_forward(out->data, c->lo, probs->data, q, c->lq, k, c->lk, v, c->lv,
                           o->bias ? o->bias->data : NULL, c->bias_batched, o->head_scale ? o->head_scale->data : NULL,
                           o->row_scale, o->scale, o->causal, c->B, c->H, c->Tq, c->Tk, c->hd);
    if (o->probs_out) *o->probs_out = probs;
    if (!ag_needs_grad(g, in[IN_Q], in[IN_K], in[IN_V]) && !ag_needs_grad(g, in[IN_HEAD_SCALE], in[IN_BIAS], NULL))
        return;
    c->probs = probs->data;
    if (o->row_scale) {
        c->row_scale = arena_alloc(&g->arena, (size_t)c->Tq * sizeof(float));
        memcpy(c->row_scale, o->row_scale, (size_t)c->Tq * sizeof(float));
    }
    AgNode *n = ag_record(g, c->packed ? "attention_qkv" : "attention", attention_node_backward, out, in, N_IN,
                          sizeof *c);
    *(AttnCtx *)n->saved = *c;
}

/* The dims and options every attention op starts from. */
static AttnCtx attn_ctx(const AttnOpts *o, int B, int H, int Tq, int Tk, int hd) {
    AttnCtx c = {.scale = o->scale, .B = B, .H = H, .Tq = Tq, .Tk = Tk, .hd = hd, .causal = o->causal};
    return c;
}

/* [B, H, T, hd] contiguous. */
static AttnLayout heads_layout(int H, int T, int hd) {
    AttnLayout l = {.bs = (size_t)H * T * hd, .hs = (size_t)T * hd, .ld = hd};
    return l;
}

Tensor *op_attention(Ag *g, Tensor *q, Tensor *k, Tensor *v, const AttnOpts *o) {
    char sq[64], sk[64], sv[64];
    LG_ASSERT(q->ndim == 4 && k->ndim == 4 && tensor_same_shape(k, v) && q->shape[0] == k->shape[0] &&
                  q->shape[1] == k->shape[1] && q->shape[3] == k->shape[3],
              "op_attention: want q [B,H,Tq,hd], k and v [B,H,Tk,hd]; got q %s, k %s, v %s",
              tensor_shape_str(q, sq, sizeof sq), tensor_shape_str(k, sk, sizeof sk), tensor_shape_str(v, sv, sizeof sv));
    int B = q->shape[0], H = q->shape[1], Tq = q->shape[2], Tk = k->shape[2], hd = q->shape[3];
    AttnCtx c = attn_ctx(o, B, H, Tq, Tk, hd);
    check_opts("op_attention", &c, o);
    c.lq = c.lo = heads_layout(H, Tq, hd);
    c.lk = c.lv = heads_layout(H, Tk, hd);
    Tensor *out = tensor_new4(&g->arena, B, H, Tq, hd);
    Tensor *in[N_IN] = {q, k, v, o->head_scale, o->bias};
    attention_run(g, &c, out, q->data, k->data, v->data, in, o);
    return out;
}

Tensor *op_attention_qkv(Ag *g, Tensor *qkv, int H, const AttnOpts *o) {
    char s[64];
    LG_ASSERT(qkv->ndim == 3 && H >= 1 && qkv->shape[2] % (3 * H) == 0,
              "op_attention_qkv: qkv %s must be [B, T, 3 D] with D a multiple of %d heads",
              tensor_shape_str(qkv, s, sizeof s), H);
    int B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3, hd = D / H;
    AttnCtx c = attn_ctx(o, B, H, T, T, hd);
    check_opts("op_attention_qkv", &c, o);
    c.packed = 1;
    AttnLayout lp = {.bs = (size_t)T * 3 * D, .hs = (size_t)hd, .ld = 3 * D}, lo = {.bs = (size_t)T * D, .hs = (size_t)hd, .ld = D};
    c.lq = c.lk = c.lv = lp;
    c.lo = lo;
    Tensor *out = tensor_new3(&g->arena, B, T, D);
    Tensor *in[N_IN] = {qkv, NULL, NULL, o->head_scale, o->bias};
    attention_run(g, &c, out, qkv->data, qkv->data + D, qkv->data + 2 * D, in, o);
    return out;
}

Tensor *op_attention_qkv_ragged(Ag *g, Tensor *qkv, int H, int B, int T, const int *lens, const AttnOpts *o) {
    char s[64];
    LG_ASSERT(qkv->ndim == 2 && H >= 1 && qkv->shape[1] % (3 * H) == 0 && B >= 1 && T >= 1,
              "op_attention_qkv_ragged: qkv %s must be [P, 3 D] with D a multiple of %d heads",
              tensor_shape_str(qkv, s, sizeof s), H);
    LG_ASSERT(!o->probs_out, "op_attention_qkv_ragged: no probs_out (its rows past each length are not written)");
    int D = qkv->shape[1] / 3, hd = D / H, P = 0;
    int *len = arena_alloc(&g->arena, (size_t)B * sizeof(int)), *off = arena_alloc(&g->arena, (size_t)B * sizeof(int));
    for (int b = 0; b < B; b++) {
        LG_ASSERT(lens[b] >= 1 && lens[b] <= T, "op_attention_qkv_ragged: lens[%d] = %d outside [1, %d]", b, lens[b], T);
        len[b] = lens[b];
        off[b] = P;
        P += lens[b];
    }
    LG_ASSERT(P == qkv->shape[0], "op_attention_qkv_ragged: %s has %d rows, the lengths add up to %d",
              tensor_shape_str(qkv, s, sizeof s), qkv->shape[0], P);
    AttnCtx c = attn_ctx(o, B, H, T, T, hd);
    check_opts("op_attention_qkv_ragged", &c, o);
    c.packed = 1;
    AttnLayout lp = {.hs = (size_t)hd, .ld = 3 * D, .boff = off, .len = len}, lo = {.hs = (size_t)hd, .ld = D, .boff = off, .len = len};
    c.lq = c.lk = c.lv = lp;
    c.lo = lo;
    Tensor *out = tensor_new2(&g->arena, P, D);
    Tensor *in[N_IN] = {qkv, NULL, NULL, o->head_scale, o->bias};
    attention_run(g, &c, out, qkv->data, qkv->data + D, qkv->data + 2 * D, in, o);
    return out;
}

/* ---- cached attention ------------------------------------------------------------------------ */

/* Copies k, v [B, H, Tq, hd] into the cache rows len[b] .. len[b] + Tq - 1 of each head. */
static void kv_append(const KvView *kv, const float *k, const float *v, int B, int H, int Tq, int hd) {
#pragma omp parallel for if (OPS_PAR((size_t)B * H * Tq * hd))
    for (int bh = 0; bh < B * H; bh++) {
        size_t dst = ((size_t)bh * kv->Tmax + kv->len[bh / H]) * hd, src = (size_t)bh * Tq * hd;
        memcpy(kv->k + dst, k + src, (size_t)Tq * hd * sizeof(float));
        memcpy(kv->v + dst, v + src, (size_t)Tq * hd * sizeof(float));
    }
}

/* Sequences at different lengths, or one query row each: every sequence on its own (in
 * parallel; lengths differ, hence the dynamic schedule) with the plain kernel reading the
 * cache in place. Nothing is reduced across sequences, so any thread count gives the same. */
static void attention_cached_per_seq(float *out, const float *q, const KvView *kv, const AttnOpts *o,
                                     int B, int H, int Tq, int hd) {
    for (int b = 0; b < B; b++) {  // shapes checked before the region
        int Tk = kv->len[b] + Tq;
        if (o->seq_bias) check_bias("op_attention_cached", o->seq_bias[b], 1, H, Tq, Tk);
        else if (o->bias) check_bias("op_attention_cached", o->bias, B, H, Tq, Tk);
    }
    int bias_batched = o->bias && o->bias->shape[0] == B && B > 1;
    size_t per_seq = (size_t)H * kv->Tmax * hd;
#pragma omp parallel for schedule(dynamic, 4) if (B > 1)
    for (int b = 0; b < B; b++) {
        int Tk = kv->len[b] + Tq;
        const float *bias = o->seq_bias ? o->seq_bias[b]->data
                            : o->bias   ? o->bias->data + (bias_batched ? (size_t)b * H * Tq * Tk : 0)
                                        : NULL;
        const float *rs = o->row_scale ? o->row_scale + (o->row_scale_per_seq ? (size_t)b * Tq : 0) : NULL;
        attention_forward(out + (size_t)b * H * Tq * hd, NULL, q + (size_t)b * H * Tq * hd, kv->k + b * per_seq,
                          kv->v + b * per_seq, bias, 0, o->head_scale ? o->head_scale->data : NULL, rs, o->scale,
                          o->causal, 1, H, Tq, Tk, hd, kv->Tmax);
    }
}

Tensor *op_attention_cached(Ag *g, Tensor *q, Tensor *k, Tensor *v, const KvView *kv, const AttnOpts *o) {
    char sq[64], sk[64];
    LG_ASSERT(q->ndim == 4 && tensor_same_shape(q, k) && tensor_same_shape(q, v),
              "op_attention_cached: want q, k, v [B,H,Tq,hd] alike; got q %s, k %s",
              tensor_shape_str(q, sq, sizeof sq), tensor_shape_str(k, sk, sizeof sk));
    LG_ASSERT(!ag_needs_grad(g, q, k, v) && !ag_needs_grad(g, o->head_scale, o->bias, NULL),
              "op_attention_cached has no backward: run it with grad off (ag_set_grad)");
    int B = q->shape[0], H = q->shape[1], Tq = q->shape[2], hd = q->shape[3], same = 1;
    for (int b = 0; b < B; b++) {
        LG_ASSERT(kv->len[b] >= 0 && kv->len[b] + Tq <= kv->Tmax,
                  "op_attention_cached: sequence %d has %d cached rows, %d more exceed Tmax = %d", b, kv->len[b],
                  Tq, kv->Tmax);
        same = same && kv->len[b] == kv->len[0];
    }
    LG_ASSERT(!o->head_scale || o->head_scale->n == (size_t)H,
              "op_attention_cached: head_scale has %zu elements for %d heads", o->head_scale ? o->head_scale->n : 0, H);
    Tensor *out = tensor_new4(&g->arena, B, H, Tq, hd);
    kv_append(kv, k->data, v->data, B, H, Tq, hd);
    if (!same || Tq == 1 || o->seq_bias || o->row_scale_per_seq) {
        LG_ASSERT(!o->probs_out, "op_attention_cached: probabilities only when every sequence has the same length");
        LG_ASSERT(same || !o->bias || o->seq_bias, "op_attention_cached: sequences of different lengths need seq_bias");
        attention_cached_per_seq(out->data, q->data, kv, o, B, H, Tq, hd);
        return out;
    }
    /* every sequence has the same length (a prefill): the sgemm kernel over the cache in place */
    AttnCtx c = attn_ctx(o, B, H, Tq, kv->len[0] + Tq, hd);
    check_opts("op_attention_cached", &c, o);
    c.lq = c.lo = heads_layout(H, Tq, hd);
    c.lk = c.lv = heads_layout(H, kv->Tmax, hd);
    Tensor *in[N_IN] = {q, k, v, o->head_scale, o->bias};
    attention_run(g, &c, out, q->data, kv->k, kv->v, in, o);
    return out;
}
