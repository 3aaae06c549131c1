/* attention_kernels: the raw kernels of attention, on float pointers with explicit dims.
 *
 *   attention_fast_forward / attention_fast_backward: the sgemm kernels every attention op
 *     runs on. One (batch, head) per OpenMP iteration (static schedule); inside it the query
 *     rows go in blocks of ATT_RB, and each block touches only the keys its last row can see
 *     (causal skipping), with single-threaded sgemm (OpenBLAS runs one thread inside a
 *     parallel region):
 *       forward   S = Q K^T -> probs (scaled, biased, masked softmax in place) ; O = P V
 *       backward  dP = dO V^T ; dS = P * (dP - rowsum(P * dP)) ; dV += P^T dO ;
 *                 dQ += (s dS) K ; dK += (s dS)^T Q
 *     Heads are addressed through an AttnLayout, so q, k, v can be read straight out of a
 *     packed qkv [B, T, 3D] or a KV cache, and the output written into [B, T, D].
 *   attention_forward / attention_backward_ref: the plain two-pass reference kernels the sgemm
 *     ones are tested against (tests/test_perf.c: equal to float rounding, not bit for bit);
 *     cached decoding runs attention_forward (one query row: no sgemm to gain).
 * The row rules (which keys a row sees, the softmax backward of a row) are in attn_rows.h.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../util.h"
#include "attn_rows.h"
#include "fastmath.h"
#include "ops.h"
#include "par.h"

#define ATT_RB 64 /* query rows per block */

/* ---- reference kernels -------------------------------------------------------------------- */

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

/* Backward of attention_forward with kv_stride = Tk: the plain reference kernel that
 * attention_fast_backward is tested against. Accumulates into dq, dk, dv (any may be NULL);
 * writes (does not add) dl [B,H,Tq,Tk] = dlogits, from which the op derives the bias and
 * head_scale gradients. */
void attention_backward_ref(float *dq, float *dk, float *dv, float *dl, const float *dout, const float *p,
                            const float *q, const float *k, const float *v, const float *head_scale,
                            const float *row_scale, float scale, int causal, int B, int H, int Tq, int Tk,
                            int hd) {
    // forward: logit_ij = s_i (q_i . k_j) + bias_ij,  s_i = scale row_scale_i head_scale_h
    //          p = softmax_j(logit);  out_i = sum_j p_ij v_j
#pragma omp parallel for if (OPS_PAR((size_t)B * H * Tq * Tk * hd))
    for (int bh = 0; bh < B * H; bh++) {
        int h = bh % H;
        const float *qh = q + (size_t)bh * Tq * hd, *kh = k + (size_t)bh * Tk * hd, *vh = v + (size_t)bh * Tk * hd;
        const float *doh = dout + (size_t)bh * Tq * hd;
        float hs = head_scale ? head_scale[h] : 1.0f;
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
            }
        }
    }
}

/* ---- sgemm kernels ------------------------------------------------------------------------ */

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
        int tq = hrows(lq, b, Tq), tk = hrows(lk, b, Tk);       // this sequence's rows (ragged)
        for (int i0 = 0; i0 < tq; i0 += ATT_RB) {
            int nr = tq - i0 < ATT_RB ? tq - i0 : ATT_RB;
            int kn = last_key(i0 + nr - 1, tq, tk, causal) + 1;  // keys the block sees
            float *pb = ph + (size_t)i0 * Tk;
            if (kn > 0)  // S[nr, kn] = Q_blk K^T
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, kn, hd, 1.0f,
                            qh + (size_t)i0 * lq.ld, lq.ld, kh, lk.ld, 0.0f, pb, Tk);
            for (int r = 0; r < nr; r++) {
                int i = i0 + r, jend = last_key(i, tq, tk, causal);
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

/* fresh: dq, dk, dv are uninitialised; each (batch, head) zeroes its own rows first (in cache,
 * on its own thread) instead of the caller zeroing the whole buffer up front. */
void attention_fast_backward(float *dq, AttnLayout lq, float *dk, AttnLayout lk, float *dv, AttnLayout lv,
                             float *dl, float *scratch, const float *dout, AttnLayout lo, const float *p,
                             const float *q, const float *k, const float *v, const float *head_scale,
                             const float *row_scale, float scale, int causal,
                             int B, int H, int Tq, int Tk, int hd, int fresh) {
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
        int tq = hrows(lq, b, Tq), tk = hrows(lk, b, Tk);       // this sequence's rows (ragged)
        if (fresh) {
            for (int i = 0; dq && i < tq; i++) memset((float *)hrow(dq, lq, b, h, i), 0, (size_t)hd * sizeof(float));
            for (int j = 0; dk && j < tk; j++) memset((float *)hrow(dk, lk, b, h, j), 0, (size_t)hd * sizeof(float));
            for (int j = 0; dv && j < tk; j++) memset((float *)hrow(dv, lv, b, h, j), 0, (size_t)hd * sizeof(float));
        }
        if (dl && tq < Tq)  // rows past a ragged sequence's end: no logits, zero gradient
            memset(dl + ((size_t)bh * Tq + tq) * Tk, 0, (size_t)(Tq - tq) * Tk * sizeof(float));
        for (int i0 = 0; i0 < tq; i0 += ATT_RB) {
            int nr = tq - i0 < ATT_RB ? tq - i0 : ATT_RB;
            int kn = last_key(i0 + nr - 1, tq, tk, causal) + 1;
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
                int i = i0 + r, jend = last_key(i, tq, tk, causal);
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

