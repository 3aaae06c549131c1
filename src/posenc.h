/* posenc: everything about position, behind one small interface. The model asks posenc for a
 * plan per batch and calls its hooks where position acts; it never looks at the scheme.
 *
 * The schemes (one file each in src/posenc/, one row each in posenc_list.h) act:
 *   - on the input embedding: learned (pos_emb table), sinusoidal (fixed table), abacus and
 *     coupled (learned embedding of each digit's place inside its own number; they differ in
 *     their training offsets)   -> pe_embed
 *   - on q and k: rope (GPT-J interleaved rotary on a fraction of each head)  -> pe_rotate
 *   - as an additive attention bias: t5 (bucketed relative bias), alibi (Press slopes), fire
 *     (learned MLP of a normalised log distance)           -> pe_layer_bias, pe_decode_biases
 *   - nope does nothing: the causal mask is the only source of order.
 * Position-indexed schemes read float positions, so randomized positions (a sorted random
 * subset of [0, random_max_pos) per training example) and decoding at an offset use the same
 * code. The attention temperature lives here too: the logit scale attn_scale / sqrt(hd), the
 * length factor log(n_i) / log(base) of query row i (n_i = the keys it sees), and the learned
 * per-head scale of temperature = learned_log.
 *
 * One plan per batch (pe_plan_forward for training, evaluation and prefill; pe_plan_decode for
 * a KV-cache step) holds the positions, the per-example offsets, the temperature factors and
 * the bias shared by every layer; the hooks read it.
 *
 * Parameters are declared into the model's Params block with state-dict names: pos_emb.weight,
 * pe.abacus.weight, pe.t5.bias (shared) or pe.t5.{i}.bias (per layer),
 * pe.fire.{c,L,mlp.0.weight,mlp.0.bias,mlp.2.weight,mlp.2.bias}, blocks.{i}.attn.temp. The
 * PosEnc only points at them; the Params block owns them.
 */
#ifndef LENGEN_POSENC_H
#define LENGEN_POSENC_H

#include "autograd.h"
#include "config.h"
#include "rng.h"

typedef struct PeScheme PeScheme;

typedef struct PosEnc {
    const PeScheme *scheme;  /* the scheme of cfg.posenc */
    ModelConfig cfg;         /* the model's settings; the scheme reads its own keys */
    int H, D, hd, L;         /* heads, width, head dim, layers */
    void *state;             /* the scheme's own (parameter views, tables): one allocation, owned */
} PosEnc;

/* Everything position-dependent of one batch of B sequences feeding T new tokens each. Arrays
 * live in the step's arena. */
typedef struct PePlan {
    int B, T;
    float *pos;               /* [B*T] positions of the new tokens */
    int rows;                 /* 1 when every sequence has the same positions, else B */
    const int *digit_index;   /* [B*T] digit places (abacus, coupled; 0 = not a digit) or NULL */
    int *offset;              /* [B] per-example shift of the digit places (abacus, training) or NULL */
    float scale;              /* logit scale attn_scale / sqrt(hd) */
    float *row_scale;         /* temperature factor, NULL when off: [T] per query row (forward),
                                 [B] per sequence (decode) */
    /* forward: self-attention over the T tokens */
    Tensor *bias;             /* the bias shared by every layer [rows, H, T, T], or NULL */
    /* decode (T = 1): sequence b attends over its klen[b] keys at positions
       kpos[b * kstride .. b * kstride + klen[b]) */
    const int *klen;          /* [B] or NULL in a forward */
    const float *kpos;
    int kstride;              /* 0: every sequence's keys are at 0, 1, ... (kpos shared) */
    Tensor **seq_bias;        /* [B] the biases shared by every layer [1, H, 1, klen[b]], or NULL */
} PePlan;

/* Checks cfg (pe_check), then declares the scheme's parameters into `params` (not yet
 * finalized). Returns 0, or -1 with err naming the key and value; on error nothing needs
 * freeing. */
int pe_init(PosEnc *pe, const ModelConfig *cfg, Params *params, LgErr *err);
/* The learned temperature scale [H] of `layer` (blocks.{layer}.attn.temp), declared into params
 * when temperature = learned_log, else NULL. model_init calls it in its parameter order. */
Tensor *pe_declare_head_scale(const PosEnc *pe, Params *params, int layer);
/* Initial values once the block is finalized: tables ~ N(0, std); FIRE c, L from cfg and its
 * MLP like PyTorch's nn.Linear default (U(-1/sqrt(fan_in), 1/sqrt(fan_in))). */
void pe_init_weights(PosEnc *pe, Rng *rng, float std);
void pe_free(PosEnc *pe);

/* 0 if sequences of T tokens fit, else -1 with err saying which key to raise. */
int pe_check_length(const PosEnc *pe, int T, LgErr *err);
/* Checks the position inputs of a batch: positions [B*T] (or NULL: 0..T-1 or random), digit
 * places [B*T] (needed by abacus). Returns 0 or -1 with err naming the value and the key. */
int pe_check_batch(const PosEnc *pe, int B, int T, const float *positions, const int *digit_index,
                   int training, LgErr *err);
/* 0 if the n positions pos[] are inside what the scheme takes ([0, max_pos) for learned), else
 * -1 with err naming the value. */
int pe_check_positions(const PosEnc *pe, const float *pos, int n, LgErr *err);
/* Does a training plan draw from an Rng (random positions, abacus offsets)? */
int pe_draws(const PosEnc *pe);

/* The plan of a forward over B sequences of T tokens (training, evaluation, prefill): positions
 * are `positions` when given, else (training with random_positions) a sorted random subset of
 * [0, random_max_pos) per sequence drawn from rng, else 0..T-1; training also draws the abacus
 * offsets. Dies on values pe_check_batch rejects. */
void pe_plan_forward(PePlan *p, const PosEnc *pe, Ag *g, int B, int T, const float *positions,
                     const int *digit_index, int training, Rng *rng);
/* The plan of one KV-cache step: sequence b feeds its token number len[b] and attends over its
 * tokens 0..len[b]. Token t of sequence b is at position t, or with pos at pos[b * stride + t]
 * (evaluation at randomized positions). digit_index [B] or NULL. */
void pe_plan_decode(PePlan *p, const PosEnc *pe, Ag *g, int B, const int *len, const float *pos,
                    int stride, const int *digit_index);

/* Input side: x [B, T, D] -> x + the encoding (learned, sinusoidal, abacus), or x itself. */
Tensor *pe_embed(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p);
/* q or k [B, H, T, hd] at the plan's positions -> rotated (rope), or x itself. */
Tensor *pe_rotate(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p);
/* The same on the q and k heads of a packed qkv [N, 3D] of a forward plan, whose token n is
 * position keep[n] = b*T + t of the plan (keep NULL: n) -> a rotated copy (v copied), or qkv
 * itself. */
Tensor *pe_rotate_qkv(const PosEnc *pe, Ag *g, Tensor *qkv, int H, const PePlan *p, const int *keep);
/* The additive attention bias of `layer` in a forward plan: [rows, H, T, T] (differentiable for
 * t5 and fire), or NULL. Entries a causal mask hides may hold anything. */
Tensor *pe_layer_bias(const PosEnc *pe, Ag *g, const PePlan *p, int layer);
/* The biases of `layer` in a decode plan, one [1, H, 1, klen[b]] per sequence, or NULL. Made on
 * the calling thread (the arena is not thread-safe). */
Tensor **pe_decode_biases(const PosEnc *pe, Ag *g, const PePlan *p, int layer);

/* ---- the pieces, exported for tests and tools ---- */

/* ALiBi slopes of Press et al. for any head count: for a power of two n, 2^(-8(h+1)/n);
 * otherwise the slopes of the nearest lower power of two p, then every other slope of 2p. */
void pe_alibi_slopes(float *out, int H);
/* T5 unidirectional (decoder) bucket of a query-minus-key distance d (d < 0 -> 0):
 * exact buckets 0 .. nb/2 - 1, then log-spaced up to max_distance, the rest in bucket nb-1. */
int pe_t5_bucket(int d, int num_buckets, int max_distance);
/* Sinusoidal row for position p, width D (even): out[i] = sin(p w_i), out[D/2 + i] =
 * cos(p w_i), w_i = 10000^(-2i/D) (concatenated halves, as in HF/NoPE). */
void pe_sinusoid(float *out, float p, int D);
/* A sorted random subset of T distinct integers of [0, max_pos) as floats (T <= max_pos). */
void pe_random_positions(Rng *rng, float *out, int T, int max_pos);
/* Attention temperature per query row: out[i] = log(n_i) / log(base), n_i = i + 1 + (Tk - Tq)
 * keys visible to row i of Tq queries over Tk keys. The only place the formula is written. */
void pe_temperature(float *out, int Tq, int Tk, int base);

#endif
