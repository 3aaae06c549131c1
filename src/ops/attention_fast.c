/* attention_fast: the training-path attention on sgemm, and op_attention_qkv.
 *
 * One (batch, head) per OpenMP iteration (static schedule); inside it the query rows go in
 * blocks of ATT_RB, and each block touches only the keys its last row can see (causal
 * skipping), with single-threaded sgemm (OpenBLAS runs one thread inside a parallel region):
 *   forward   S = Q K^T -> probs (scaled, biased, masked softmax in place) ; O = P V
 *   backward  dP = dO V^T ; dS = P * (dP - rowsum(P * dP)) ; dV += P^T dO ;
 *             dQ += (s dS) K ; dK += (s dS)^T Q
 * Heads are addressed through an AttnLayout, so q, k, v can be read straight out of a packed
 * qkv [B, T, 3D] and the output written into [B, T, D] without split/merge copies.
 * attention_forward / the reference backward in attention.c are the plain kernels these are
 * tested against (tests/test_perf.c); results agree to float rounding, not bit for bit.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../util.h"
#include "ops.h"
#include "fastmath.h"
#include "par.h"

#define ATT_RB 64 /* query rows per block */

static inline const float *hrow(const float *base, AttnLayout l, int b, int h, int i) {
    return base + (size_t)b * l.bs + (size_t)h * l.hs + (size_t)i * l.ld;
}

static inline int last_key_fast(int i, int Tq, int Tk, int causal) {
    return causal ? (i + Tk - Tq < Tk - 1 ? i + Tk - Tq : Tk - 1) : Tk - 1;
}

void attention_fast_forward(float *out, AttnLayout lo, float *probs, const float *q, AttnLayout lq,
                            const float *k, AttnLayout lk, const float *v, AttnLayout lv,
                            const float *bias, int bias_batched, const float *head_scale,
                            const float *row_scale, float scale, int causal,
                            int B, int H, int Tq, int Tk, int hd) {
    // q rows [Tq, hd], k, v rows [Tk, hd] per head (layouts); probs [B,H,Tq,Tk]; out per lo
#pragma omp parallel for schedule(static) if (OPS_PAR((size_t)B * H * Tq * Tk * hd))
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
        const float *qh = hrow(q, lq, b, h, 0), *kh = hrow(k, lk, b, h, 0), *vh = hrow(v, lv, b, h, 0);
        float *oh = (float *)hrow(out, lo, b, h, 0);
        float *ph = probs + (size_t)bh * Tq * Tk;
        float hs = head_scale ? head_scale[h] : 1.0f;
        for (int i0 = 0; i0 < Tq; i0 += ATT_RB) {
            int nr = Tq - i0 < ATT_RB ? Tq - i0 : ATT_RB;
            int kn = last_key_fast(i0 + nr - 1, Tq, Tk, causal) + 1;  // keys the block sees
            float *pb = ph + (size_t)i0 * Tk;
            if (kn > 0)  // S[nr, kn] = Q_blk K^T
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, kn, hd, 1.0f,
                            qh + (size_t)i0 * lq.ld, lq.ld, kh, lk.ld, 0.0f, pb, Tk);
            for (int r = 0; r < nr; r++) {
                int i = i0 + r, jend = last_key_fast(i, Tq, Tk, causal);
                float *pr = pb + (size_t)r * Tk;
                const float *bi = bias ? bias + (((size_t)(bias_batched ? b : 0) * H + h) * Tq + i) * Tk : NULL;
                float s = scale * (row_scale ? row_scale[i] : 1.0f) * hs;
                float m = -INFINITY;
                for (int j = 0; j <= jend; j++) {
                    float l = s * pr[j] + (bi ? bi[j] : 0.0f);
                    pr[j] = l;
                    m = l > m ? l : m;
                }
                int start = jend + 1 > 0 ? jend + 1 : 0;
                if (m == -INFINITY) start = 0;  // no visible key: zero probabilities, zero output
                else {
                    float sum = 0.0f;
                    for (int j = 0; j <= jend; j++) {
                        float w = lg_expf(pr[j] - m);
                        pr[j] = w;
                        sum += w;
                    }
                    float inv = 1.0f / sum;
                    for (int j = 0; j <= jend; j++) pr[j] *= inv;
                }
                for (int j = start; j < Tk; j++) pr[j] = 0.0f;
            }
            // O_blk[nr, hd] = P_blk[nr, kn] V[kn, hd]
            if (kn > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hd, kn, 1.0f, pb, Tk, vh, lv.ld,
                            0.0f, oh + (size_t)i0 * lo.ld, lo.ld);
            else
                for (int r = 0; r < nr; r++) memset(oh + (size_t)(i0 + r) * lo.ld, 0, (size_t)hd * sizeof(float));
        }
    }
}

size_t attention_fast_scratch(int Tk) {
#ifdef _OPENMP
    size_t nt = (size_t)omp_get_max_threads();
#else
    size_t nt = 1;
#endif
    return nt * ATT_RB * (size_t)Tk;
}

static void backward_impl(float *dq, AttnLayout lq, float *dk, AttnLayout lk, float *dv, AttnLayout lv,
                          float *dl, float *scratch, const float *dout, AttnLayout lo, const float *p,
                          const float *q, const float *k, const float *v, const float *head_scale,
                          const float *row_scale, float scale, int causal,
                          int B, int H, int Tq, int Tk, int hd, int zero);

void attention_fast_backward(float *dq, AttnLayout lq, float *dk, AttnLayout lk, float *dv, AttnLayout lv,
                             float *dl, float *scratch, const float *dout, AttnLayout lo, const float *p,
                             const float *q, const float *k, const float *v, const float *head_scale,
                             const float *row_scale, float scale, int causal,
                             int B, int H, int Tq, int Tk, int hd) {
    backward_impl(dq, lq, dk, lk, dv, lv, dl, scratch, dout, lo, p, q, k, v, head_scale, row_scale, scale,
                  causal, B, H, Tq, Tk, hd, 0);
}

/* zero: dq, dk, dv are uninitialised; each (batch, head) zeroes its own rows first (in cache,
 * on its own thread) instead of the caller zeroing the whole buffer up front. */
static void backward_impl(float *dq, AttnLayout lq, float *dk, AttnLayout lk, float *dv, AttnLayout lv,
                          float *dl, float *scratch, const float *dout, AttnLayout lo, const float *p,
                          const float *q, const float *k, const float *v, const float *head_scale,
                          const float *row_scale, float scale, int causal,
                          int B, int H, int Tq, int Tk, int hd, int zero) {
    // forward: logit_ij = s_i (q_i . k_j) + bias_ij, s_i = scale row_scale_i head_scale_h;
    //          p = softmax_j(logit); out_i = sum_j p_ij v_j. Accumulates dq, dk, dv (may be
    //          NULL; all use the layouts of q, k, v); writes dl [B,H,Tq,Tk] = dlogits if not NULL.
    //          scratch: attention_fast_scratch(Tk) floats.
#pragma omp parallel for schedule(static) if (OPS_PAR((size_t)B * H * Tq * Tk * hd))
    for (int bh = 0; bh < B * H; bh++) {
        int b = bh / H, h = bh % H;
#ifdef _OPENMP
        float *ds = scratch + (size_t)omp_get_thread_num() * ATT_RB * Tk;
#else
        float *ds = scratch;
#endif
        const float *qh = hrow(q, lq, b, h, 0), *kh = hrow(k, lk, b, h, 0), *vh = hrow(v, lv, b, h, 0);
        const float *doh = hrow(dout, lo, b, h, 0);
        const float *ph = p + (size_t)bh * Tq * Tk;
        float hs = head_scale ? head_scale[h] : 1.0f;
        if (zero) {
            for (int i = 0; dq && i < Tq; i++) memset((float *)hrow(dq, lq, b, h, i), 0, (size_t)hd * sizeof(float));
            for (int j = 0; dk && j < Tk; j++) memset((float *)hrow(dk, lk, b, h, j), 0, (size_t)hd * sizeof(float));
            for (int j = 0; dv && j < Tk; j++) memset((float *)hrow(dv, lv, b, h, j), 0, (size_t)hd * sizeof(float));
        }
        for (int i0 = 0; i0 < Tq; i0 += ATT_RB) {
            int nr = Tq - i0 < ATT_RB ? Tq - i0 : ATT_RB;
            int kn = last_key_fast(i0 + nr - 1, Tq, Tk, causal) + 1;
            const float *pb = ph + (size_t)i0 * Tk;
            const float *dob = doh + (size_t)i0 * lo.ld;
            if (kn <= 0) {
                if (dl) memset(dl + ((size_t)bh * Tq + i0) * Tk, 0, (size_t)nr * Tk * sizeof(float));
                continue;
            }
            if (dv)  // dV[kn, hd] += P_blk^T dO_blk
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kn, hd, nr, 1.0f, pb, Tk, dob, lo.ld, 1.0f,
                            (float *)hrow(dv, lv, b, h, 0), lv.ld);
            // dP[nr, kn] = dO_blk V^T
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, kn, hd, 1.0f, dob, lo.ld, vh, lv.ld, 0.0f, ds, kn);
            for (int r = 0; r < nr; r++) {
                int i = i0 + r, jend = last_key_fast(i, Tq, Tk, causal);
                const float *pr = pb + (size_t)r * Tk;
                float *dr = ds + (size_t)r * kn;
                float dot = 0.0f;
                for (int j = 0; j <= jend; j++) dot += pr[j] * dr[j];
                for (int j = 0; j <= jend; j++) dr[j] = pr[j] * (dr[j] - dot);  // dl = p (dp - sum p dp)
                for (int j = jend + 1 > 0 ? jend + 1 : 0; j < kn; j++) dr[j] = 0.0f;
                if (dl) {
                    float *dlr = dl + ((size_t)bh * Tq + i) * Tk;
                    memcpy(dlr, dr, (size_t)kn * sizeof(float));
                    for (int j = kn; j < Tk; j++) dlr[j] = 0.0f;
                }
                float s = scale * (row_scale ? row_scale[i] : 1.0f) * hs;
                for (int j = 0; j < kn; j++) dr[j] *= s;
            }
            if (dq)  // dQ_blk += (s dS)[nr, kn] K[kn, hd]
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hd, kn, 1.0f, ds, kn, kh, lk.ld, 1.0f,
                            (float *)hrow(dq, lq, b, h, i0), lq.ld);
            if (dk)  // dK[kn, hd] += (s dS)^T Q_blk
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kn, hd, nr, 1.0f, ds, kn, qh + (size_t)i0 * lq.ld,
                            lq.ld, 1.0f, (float *)hrow(dk, lk, b, h, 0), lk.ld);
        }
    }
}

/* ---- op_attention_qkv --------------------------------------------------------------------- */

typedef struct {
    float scale;
    float *row_scale;
    float *probs;
    int B, H, T, hd, causal, bias_batched;
} QkvCtx;

static void qkv_node_backward(AgNode *node) {
    QkvCtx *c = node->saved;
    Tensor *qkv = node->in[0], *hs = node->in[1], *bias = node->in[2];
    Ag *g = node->g;
    int B = c->B, H = c->H, T = c->T, hd = c->hd, D = H * hd;
    AttnLayout lp = {(size_t)T * 3 * D, (size_t)hd, 3 * D}, lo = {(size_t)T * D, (size_t)hd, D};
    int want_bias = bias && bias->requires_grad, want_hs = hs && hs->requires_grad;
    float *dl = want_bias || want_hs ? arena_alloc(&g->arena, (size_t)B * H * T * T * sizeof(float)) : NULL;
    int fresh;
    float *dqkv = ag_din_fresh(node, 0, &fresh);
    float *scratch = arena_alloc(&g->arena, attention_fast_scratch(T) * sizeof(float));
    backward_impl(dqkv, lp, dqkv ? dqkv + D : NULL, lp, dqkv ? dqkv + 2 * D : NULL, lp, dl, scratch,
                  ag_dout(node), lo, c->probs, qkv->data, qkv->data + D, qkv->data + 2 * D,
                  hs ? hs->data : NULL, c->row_scale, c->scale, c->causal, B, H, T, T, hd, fresh);
    if (want_bias) {
        float *db = ag_din(node, 2);
        size_t per_b = (size_t)H * T * T;
        if (c->bias_batched) {
            for (size_t e = 0; e < (size_t)B * per_b; e++) db[e] += dl[e];
        } else {
#pragma omp parallel for if (OPS_PAR((size_t)B * per_b))
            for (size_t e = 0; e < per_b; e++) {
                float s = 0.0f;
                for (int bb = 0; bb < B; bb++) s += dl[(size_t)bb * per_b + e];
                db[e] += s;
            }
        }
    }
    if (want_hs) {
        // dhead_scale_h += sum_ij dl_ij rs_i (q_i . k_j), summed per head in a fixed order
        float *dhs = ag_din(node, 1);
        for (int bh = 0; bh < B * H; bh++) {
            int b = bh / H, h = bh % H;
            double acc = 0.0;
            for (int i = 0; i < T; i++) {
                const float *qi = qkv->data + ((size_t)b * T + i) * 3 * D + h * hd;
                float rs = c->scale * (c->row_scale ? c->row_scale[i] : 1.0f);
                const float *dli = dl + ((size_t)bh * T + i) * T;
                for (int j = 0; j < T; j++) {
                    if (dli[j] == 0.0f) continue;
                    const float *kj = qkv->data + ((size_t)b * T + j) * 3 * D + D + h * hd;
                    float d = 0.0f;
                    for (int e = 0; e < hd; e++) d += qi[e] * kj[e];
                    acc += (double)dli[j] * rs * d;
                }
            }
            dhs[h] += (float)acc;
        }
    }
}

Tensor *op_attention_qkv(Ag *g, Tensor *qkv, int H, const AttnOpts *o) {
    char s[64];
    LG_ASSERT(qkv->ndim == 3 && H >= 1 && qkv->shape[2] % (3 * H) == 0,
              "op_attention_qkv: qkv %s must be [B, T, 3 D] with D a multiple of %d heads",
              tensor_shape_str(qkv, s, sizeof s), H);
    int B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3, hd = D / H;
    QkvCtx c = {.scale = o->scale, .B = B, .H = H, .T = T, .hd = hd, .causal = o->causal};
    if (o->bias) {
        LG_ASSERT(o->bias->ndim == 4 && (o->bias->shape[0] == 1 || o->bias->shape[0] == B) &&
                      o->bias->shape[1] == H && o->bias->shape[2] == T && o->bias->shape[3] == T,
                  "op_attention_qkv: bias %s must be [1 or %d, %d, %d, %d]",
                  tensor_shape_str(o->bias, s, sizeof s), B, H, T, T);
        c.bias_batched = o->bias->shape[0] == B && B > 1;
    }
    LG_ASSERT(!o->head_scale || o->head_scale->n == (size_t)H,
              "op_attention_qkv: head_scale has %zu elements for %d heads", o->head_scale ? o->head_scale->n : 0, H);
    Tensor *out = tensor_new3(&g->arena, B, T, D);
    Tensor *probs = tensor_new4(&g->arena, B, H, T, T);
    AttnLayout lp = {(size_t)T * 3 * D, (size_t)hd, 3 * D}, lo = {(size_t)T * D, (size_t)hd, D};
    attention_fast_forward(out->data, lo, probs->data, qkv->data, lp, qkv->data + D, lp, qkv->data + 2 * D, lp,
                           o->bias ? o->bias->data : NULL, c.bias_batched,
                           o->head_scale ? o->head_scale->data : NULL, o->row_scale, o->scale, o->causal,
                           B, H, T, T, hd);
    if (o->probs_out) *o->probs_out = probs;
    if (ag_needs_grad(g, qkv, o->head_scale, o->bias)) {
        c.probs = probs->data;
        if (o->row_scale) {
            c.row_scale = arena_alloc(&g->arena, (size_t)T * sizeof(float));
            memcpy(c.row_scale, o->row_scale, (size_t)T * sizeof(float));
        }
        Tensor *in[3] = {qkv, o->head_scale, o->bias};
        AgNode *n = ag_record(g, "attention_qkv", qkv_node_backward, out, in, 3, sizeof c);
        *(QkvCtx *)n->saved = c;
    }
    return out;
}
