/* attn_rows: what the attention files of src/ops share (internal): which keys a row sees, the
 * softmax backward of one row, and where a head's row lives in an AttnLayout.
 *
 * Causal convention everywhere: with Tq queries and Tk keys, query row i sees keys
 * j <= i + (Tk - Tq) (the queries are the last Tq positions of the key sequence). A row that
 * sees no key (only possible when Tq > Tk, or when a bias is -inf everywhere) gets all-zero
 * probabilities and output, and passes no gradient.
 */
#ifndef LENGEN_OPS_ATTN_ROWS_H
#define LENGEN_OPS_ATTN_ROWS_H

#include "ops.h"

/* The last key row i may attend to, or Tk - 1 when not causal. Negative: none. */
static inline int last_key(int i, int Tq, int Tk, int causal) {
    return causal ? (i + Tk - Tq < Tk - 1 ? i + Tk - Tq : Tk - 1) : Tk - 1;
}

/* dl = p * (dp - sum_j p dp) for one row over j in [0, jend]: the softmax backward. dl may
 * alias dp. */
static inline void softmax_row_backward(float *dl, const float *p, const float *dp, int jend) {
    float dot = 0.0f;
    for (int j = 0; j <= jend; j++) dot += p[j] * dp[j];
    for (int j = 0; j <= jend; j++) dl[j] = p[j] * (dp[j] - dot);
}

/* Row i of head (b, h) in layout l (ops.h). */
static inline const float *hrow(const float *base, AttnLayout l, int b, int h, int i) {
    size_t b0 = l.boff ? (size_t)l.boff[b] * (size_t)l.ld : (size_t)b * l.bs;
    return base + b0 + (size_t)h * l.hs + (size_t)i * l.ld;
}

/* Rows of sequence b in layout l: len[b], or T for a rectangular layout. */
static inline int hrows(AttnLayout l, int b, int T) { return l.len ? l.len[b] : T; }

#endif
