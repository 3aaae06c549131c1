/* ops: every differentiable operation of the engine.
 *
 * Each op takes the step context `g` first, allocates its output in g->arena, computes the
 * forward, and records a tape node when ag_needs_grad(...) says so. The backward function sits
 * next to the forward in the same file and gets its gradient buffers from autograd (ag_dout,
 * ag_din*: the rule is in autograd.h), adding into input grads unless the rule says it may
 * write or take a buffer. Raw kernels (plain functions on float pointers with explicit dims,
 * outputs first) are exported where other modules or the reference tests call them.
 *
 * Shapes below use B batch, T time, C channels, H heads, hd head dim, V vocab.
 * Misuse (shape mismatch, id out of range) is a programmer error: the op dies with a message
 * naming the op and the shapes.
 */
#ifndef LENGEN_OPS_H
#define LENGEN_OPS_H

#include "../autograd.h"
#include "../rng.h"

/* ------------------------------------------------------------------------------------------ */
/* linear algebra (OpenBLAS sgemm)                                                             */

/* a [..., M, K] (or [..., K, M] when trans_a), b [K, N] (or [N, K] when trans_b) or batched
 * with the same leading dims as a. out [..., M, N]. */
Tensor *op_matmul(Ag *g, Tensor *a, Tensor *b, int trans_a, int trans_b);
/* x [..., in], w [out, in] (PyTorch layout), b [out] or NULL. out [..., out]. */
Tensor *op_linear(Ag *g, Tensor *x, Tensor *w, Tensor *b);
/* gelu(op_linear(x, w, b)) (tanh GELU) in one op, fused by 256-row chunk: same values and
 * gradients as op_gelu(g, op_linear(g, x, w, b)) to rounding, one pass less over the [.., out]
 * activation each way. Keeps the pre-activation in the arena for backward. */
Tensor *op_linear_gelu(Ag *g, Tensor *x, Tensor *w, Tensor *b);

/* ------------------------------------------------------------------------------------------ */
/* elementwise                                                                                 */

Tensor *op_add(Ag *g, Tensor *a, Tensor *b);        /* same shape */
Tensor *op_mul(Ag *g, Tensor *a, Tensor *b);        /* same shape */
Tensor *op_scale(Ag *g, Tensor *a, float s);
Tensor *op_add_bias(Ag *g, Tensor *x, Tensor *b);   /* x [..., C], b [C] broadcast */
Tensor *op_relu(Ag *g, Tensor *x);
Tensor *op_gelu(Ag *g, Tensor *x);                  /* tanh approximation (GPT-2) */
/* Inverted dropout with keep-probability 1-p; the mask is drawn from rng. p == 0 returns x
 * itself (no node, no copy). */
Tensor *op_dropout(Ag *g, Tensor *x, float p, Rng *rng);
Tensor *op_sum(Ag *g, Tensor *x);                   /* scalar [1] */
/* Same data, new shape (numel must match). Backward copies the grad through. */
Tensor *op_reshape(Ag *g, Tensor *x, int ndim, const int *shape);
/* Rows of x [..., C] seen as [N, C]: out [M, C] with out[i] = x[rows[i]]; rows strictly
 * increasing in [0, N) (so the backward's scatter-add writes each row once). */
Tensor *op_gather_rows(Ag *g, Tensor *x, const int *rows, int M);

/* ------------------------------------------------------------------------------------------ */
/* normalisation (fused forward and backward)                                                  */

Tensor *op_layernorm(Ag *g, Tensor *x, Tensor *w, Tensor *b, float eps); /* x [..., C]; b may be NULL */
Tensor *op_rmsnorm(Ag *g, Tensor *x, Tensor *w, float eps);              /* x [..., C] */

/* ------------------------------------------------------------------------------------------ */
/* attention                                                                                   */

/* Softmax over the last axis of x [B, H, Tq, Tk] (any leading dims; the last two are Tq, Tk).
 * bias: NULL or [Bb, H, Tq, Tk] with Bb in {1, B}, added before the softmax.
 * causal: key j is masked when j > i + (Tk - Tq). */
Tensor *op_softmax(Ag *g, Tensor *x, Tensor *bias, int causal);

/* Heads out of a row: x [B, T, C] -> [B, H, T, hd], reading columns col0 .. col0 + H*hd - 1.
 * With a packed qkv [B, T, 3D]: q = op_split_heads(g, qkv, H, hd, 0), k at D, v at 2D. */
Tensor *op_split_heads(Ag *g, Tensor *x, int H, int hd, int col0);
Tensor *op_merge_heads(Ag *g, Tensor *x);           /* [B, H, T, hd] -> [B, T, H*hd] */

typedef struct AttnOpts {
    float scale;              /* logit scale, usually 1/sqrt(hd) */
    const float *row_scale;   /* [Tq] extra factor per query row (length temperature) or NULL */
    int row_scale_per_seq;    /* op_attention_cached: row_scale is [B, Tq], one row per sequence */
    Tensor *head_scale;       /* [H] learned factor per head (differentiable) or NULL */
    Tensor *bias;             /* [Bb, H, Tq, Tk], Bb in {1, B}, differentiable, or NULL */
    Tensor *const *seq_bias;  /* op_attention_cached: [B] biases [1, H, Tq, len[b] + Tq] or NULL */
    int causal;               /* mask key j > i + (Tk - Tq) */
    Tensor **probs_out;       /* if not NULL, receives the [B, H, Tq, Tk] probabilities */
} AttnOpts;

/* Fused attention: q [B, H, Tq, hd], k, v [B, H, Tk, hd] -> out [B, H, Tq, hd].
 *   logits[b,h,i,j] = (q_i . k_j) * scale * row_scale[i] * head_scale[h] + bias[b|0,h,i,j]
 *   p = softmax_j(logits with the causal mask); out_i = sum_j p_ij v_j
 * Backward uses the O(T^2) softmax gradient dlogit = p * (dp - sum_j p dp). Equal (to float
 * rounding) to the composition matmul -> scale -> softmax(bias, causal) -> matmul (a test). */
Tensor *op_attention(Ag *g, Tensor *q, Tensor *k, Tensor *v, const AttnOpts *o);

/* Fused split + attention + merge on a packed qkv [B, T, 3D] (columns q, then k, then v; head
 * h of each at h*hd..): -> [B, T, D], equal (to float rounding) to
 * merge_heads(attention(split_heads(qkv, H, hd, 0), split(.., D), split(.., 2D), o)). Self
 * attention (Tq = Tk = T); o as for op_attention (bias [Bb, H, T, T]). Saves the
 * probabilities; no q, k, v or head copies. */
Tensor *op_attention_qkv(Ag *g, Tensor *qkv, int H, const AttnOpts *o);

/* op_attention_qkv on B sequences of lens[b] <= T rows packed one after another: qkv
 * [P, 3D] with P = sum(lens), sequence b's rows from sum(lens[< b]) -> out [P, D], equal (to
 * float rounding) to op_attention_qkv on the sequences right-padded to T at their rows
 * (causal: a row sees no later one, so padding changes nothing before it). o->bias is
 * [Bb, H, T, T] and o->row_scale [T] as there; the saved probabilities [B, H, T, T] hold
 * rows i < lens[b] only (no probs_out). */
Tensor *op_attention_qkv_ragged(Ag *g, Tensor *qkv, int H, int B, int T, const int *lens, const AttnOpts *o);

/* One layer of a KV cache: B sequences, each head's rows at k + ((b*H + h) * Tmax + j) * hd. */
typedef struct KvView {
    float *k, *v;             /* [B, H, Tmax, hd] each */
    const int *len;           /* [B] rows already cached per sequence */
    int Tmax;
} KvView;

/* Attention over a KV cache (prefill and decoding; no grad): appends k, v [B, H, Tq, hd] to
 * sequence b's cache at rows len[b] .. len[b] + Tq - 1, then attends q [B, H, Tq, hd] over
 * its rows 0 .. len[b] + Tq - 1 (Tk = len[b] + Tq; with o->causal query i sees keys
 * j <= len[b] + i) -> out [B, H, Tq, hd]: what op_attention gives on the whole sequence, for
 * its last Tq rows. o->bias [Bb, H, Tq, Tk] when every len[b] is the same, else o->seq_bias;
 * o->row_scale [Tq], or [B, Tq] with o->row_scale_per_seq; probs_out only with equal lengths
 * and Tq > 1. Does not advance len (every layer of a step appends at the same rows). */
Tensor *op_attention_cached(Ag *g, Tensor *q, Tensor *k, Tensor *v, const KvView *kv, const AttnOpts *o);

/* The plain forward kernel (the reference, and cached decoding): k and v rows of head (b, h)
 * start at k + ((b*H + h) * kv_stride) * hd, i.e. kv_stride >= Tk rows per head. probs may be
 * NULL (not stored) or [B, H, Tq, Tk]. bias as above with Bb in {1, B}; head_scale /
 * row_scale may be NULL. */
void attention_forward(float *out, float *probs, const float *q, const float *k, const float *v,
                       const float *bias, int bias_batched, const float *head_scale,
                       const float *row_scale, float scale, int causal,
                       int B, int H, int Tq, int Tk, int hd, int kv_stride);

/* Where head (b, h)'s row i lives: base + b*bs + h*hs + i*ld (floats). [B, H, T, hd]:
 * {H*T*hd, T*hd, hd}; packed [B, T, C] at column col0 + h*hd: {T*C, hd, C} from base + col0.
 * Ragged (sequences of their own lengths one after another, [P, C]): boff[b] is sequence b's
 * first row (b*bs is then unused) and len[b] its rows; len NULL: every sequence has T rows. */
typedef struct AttnLayout {
    size_t bs, hs;
    int ld;
    const int *boff, *len;
} AttnLayout;

/* The sgemm kernels behind the attention ops (attention_kernels.c): same maths as
 * attention_forward / attention_backward_ref, one (b, h) per thread, query rows in blocks
 * that skip the keys the causal mask hides. probs [B, H, Tq, Tk] is required (written).
 * The backward accumulates dq, dk, dv (each NULL or in the layout of q, k, v; with fresh they
 * are uninitialised and written), writes dl [B, H, Tq, Tk] (dlogits) when not NULL, and needs
 * attention_fast_scratch(Tk) floats of scratch. */
void attention_fast_forward(float *out, AttnLayout lo, float *probs, const float *q, AttnLayout lq,
                            const float *k, AttnLayout lk, const float *v, AttnLayout lv,
                            const float *bias, int bias_batched, const float *head_scale,
                            const float *row_scale, float scale, int causal,
                            int B, int H, int Tq, int Tk, int hd);
size_t attention_fast_scratch(int Tk);
void attention_fast_backward(float *dq, AttnLayout lq, float *dk, AttnLayout lk, float *dv, AttnLayout lv,
                             float *dl, float *scratch, const float *dout, AttnLayout lo, const float *p,
                             const float *q, const float *k, const float *v, const float *head_scale,
                             const float *row_scale, float scale, int causal,
                             int B, int H, int Tq, int Tk, int hd, int fresh);
/* The plain reference backward of attention_forward (kv_stride = Tk), same outputs as
 * attention_fast_backward. */
void attention_backward_ref(float *dq, float *dk, float *dv, float *dl, const float *dout, const float *p,
                            const float *q, const float *k, const float *v, const float *head_scale,
                            const float *row_scale, float scale, int causal, int B, int H, int Tq, int Tk,
                            int hd);

/* Rotary embedding on x [B, H, T, hd]: rotates the first `rot_dims` (even, <= hd) dims of
 * every head in interleaved pairs (GPT-J: (x0,x1), (x2,x3), ...) by angle pos * base^(-2i/rot_dims).
 * pos: [rows, T] positions (float so randomized / offset positions work), rows = 1 when every
 * sequence has the same positions (the angles are then computed once for all B), else B. */
Tensor *op_rope(Ag *g, Tensor *x, const float *pos, int rows, int rot_dims, float base);

/* op_rope on the q and k of a packed qkv [N, 3D] (or [B, T, 3D]; columns q, k, v, head h of
 * each at h*hd..), as op_attention_qkv reads it: every head of q and of k rotated as op_rope
 * rotates it, v copied, so that split_heads(op_rope_qkv(qkv), .., 0) equals op_rope(split_heads(
 * qkv, .., 0)) bit for bit (likewise k). Token n is position b*T + t = keep[n] (keep: the real
 * positions of a packed batch) or n itself (keep NULL: N = B*T); pos [rows, T] as op_rope's. */
Tensor *op_rope_qkv(Ag *g, Tensor *qkv, int H, int T, const int *keep, const float *pos, int rows, int rot_dims,
                    float base);

/* ------------------------------------------------------------------------------------------ */
/* embeddings and loss                                                                         */

/* table [V, C], ids [B*T] in [0, V) -> [B, T, C]. Backward scatter-adds into the table grad. */
Tensor *op_embedding(Ag *g, Tensor *table, const int *ids, int B, int T);

/* Fused softmax cross-entropy. logits [..., V] with N = numel / V rows, targets [N],
 * weights [N] (>= 0; 0 masks a position; NULL = all 1).
 *   loss = sum_i w_i * nll_i / max(1, count(w_i > 0))
 * so per-task weights scale a task's share without changing the normalisation.
 * nll_out: if not NULL, receives nll_i for every row (masked rows too, 0 where a masked row's
 * target is outside [0, V)), for per-task logging.
 * Targets of masked rows are ignored (may be anything); unmasked targets must be in [0, V). */
Tensor *op_cross_entropy(Ag *g, Tensor *logits, const int *targets, const float *weights,
                         float *nll_out);

/* ------------------------------------------------------------------------------------------ */
/* threading                                                                                   */

/* Loops of the ops with less work than this (about float operations; default 32768) run on
 * one thread instead of opening an OpenMP region. Returns the previous value. Tests set 0 to
 * run every threaded path; results do not depend on it. */
size_t ops_set_par_min(size_t work);

/* ------------------------------------------------------------------------------------------ */
/* raw kernels                                                                                 */
/* Plain functions on float pointers, outputs first, for the reference tests (the other
 * kernels are static in their op's file). Forward kernels overwrite their outputs; backward
 * kernels ADD into their gradient outputs (any gradient pointer may be NULL: not wanted). */

/* out [M, N] = op(a) op(b); op(a) is [M, K] (a stored [K, M] when ta), op(b) is [K, N] (b stored
 * [N, K] when tb). sgemm; matmul_naive is the plain triple loop (double accumulator) that the
 * sgemm path is tested against. */
void matmul_forward(float *out, const float *a, const float *b, int M, int N, int K, int ta, int tb);
void matmul_naive(float *out, const float *a, const float *b, int M, int N, int K, int ta, int tb);
/* GELU (tanh form) on n floats; the backward adds dout * gelu'(x). */
void gelu_forward(float *out, const float *x, size_t n);
void gelu_backward(float *dx, const float *x, const float *dout, size_t n);

#endif
