/* posenc: every positional encoding of the model, behind one small interface with a hook where
 * each scheme acts:
 *   - on the input embedding: learned (pos_emb table), sinusoidal (fixed table), abacus
 *     (learned embedding of each digit's place inside its own number)   -> pe_embed
 *   - on q and k: rope (GPT-J interleaved rotary on a fraction of each head)  -> pe_rotate
 *   - as an additive attention bias: t5 (bucketed relative bias), alibi (Press slopes), fire
 *     (learned MLP of a normalised log distance)                              -> pe_bias
 *   - nope does nothing: the causal mask is the only source of order.
 * Position-indexed schemes read float positions [B*T], so randomized positions (a sorted
 * random subset of [0, random_max_pos) per example, pe_random_positions) and decoding at an
 * offset use the same code. The length-dependent attention temperature lives here too
 * (pe_temperature), as a per-query-row factor for the attention op.
 *
 * Parameters are declared into the model's Params block by pe_init (before params_finalize)
 * with state-dict names: pos_emb.weight, pe.abacus.weight, pe.t5.bias (shared) or
 * pe.t5.{i}.bias (per layer), pe.fire.{c,L,mlp.0.weight,mlp.0.bias,mlp.2.weight,mlp.2.bias}.
 * The PosEnc only points at them; the Params block owns them.
 */
#ifndef LENGEN_POSENC_H
#define LENGEN_POSENC_H

#include "autograd.h"
#include "config.h"
#include "rng.h"

typedef struct PosEnc {
    PeKind kind;
    int H, D, hd, layers;
    int table_rows;          /* learned: rows of pos_emb; abacus: rows of the digit table */
    int rot_dims;            /* rope: dims rotated per head (even, <= hd) */
    float rope_base;
    int t5_buckets, t5_max_distance, t5_shared;
    int fire_hidden;
    int abacus_max_offset, abacus_max_digits;
    float *alibi_slopes;     /* [H], owned (alibi only) */
    Tensor *pos_emb;         /* learned: [table_rows, D] */
    Tensor *abacus;          /* abacus: [table_rows, D]; row 0 = not a digit */
    Tensor **t5;             /* t5: [layers] tables [buckets, H]; all point at one when shared */
    Tensor *fire_c, *fire_L; /* fire: [1] each */
    Tensor *fire_w1, *fire_b1, *fire_w2, *fire_b2;  /* [W,1], [W], [H,W], [H] */
} PosEnc;

/* Validates the positional part of cfg for a model of H heads and width D (rope dims, table
 * sizes, ...) and declares the scheme's parameters into `params` (not yet finalized).
 * Returns 0, or -1 with err naming the key and value. On error nothing needs freeing. */
int pe_init(PosEnc *pe, const ModelConfig *cfg, Params *params, LgErr *err);
/* Initial values once the block is finalized: tables ~ N(0, std); FIRE c, L from cfg and its
 * MLP like PyTorch's nn.Linear default (U(-1/sqrt(fan_in), 1/sqrt(fan_in))). */
void pe_init_weights(PosEnc *pe, const ModelConfig *cfg, Rng *rng, float std);
void pe_free(PosEnc *pe);

/* Is the scheme indexed by token position (so randomized positions apply)? */
int pe_uses_positions(PeKind kind);
/* The largest position + 1 the scheme can take (learned: table rows), or INT32_MAX. */
int pe_max_position(const PosEnc *pe);

/* Input-side encoding: x [B, T, D] -> x + pe. pos [B*T] (float, whole numbers for learned),
 * digit_index [B*T] (abacus: 0 = not a digit, 1.. = place in its number) and abacus_offset
 * [B] (added to every nonzero digit index of an example; NULL = 0). Returns x itself for
 * schemes that act elsewhere. Dies naming the value if a position is outside the table. */
Tensor *pe_embed(const PosEnc *pe, Ag *g, Tensor *x, const float *pos, const int *digit_index,
                 const int *abacus_offset, int B, int T);
/* RoPE on x [B, H, T, hd] at positions pos [B*T]; x itself for other schemes. */
Tensor *pe_rotate(const PosEnc *pe, Ag *g, Tensor *x, const float *pos);
/* The additive attention bias of `layer` for queries at qpos [Bb*Tq] and keys at kpos
 * [Bb*Tk]: [Bb, H, Tq, Tk] (differentiable for t5 and fire), or NULL for schemes without one.
 * Entries a causal mask hides (key j > i + Tk - Tq) may hold anything. */
Tensor *pe_bias(const PosEnc *pe, Ag *g, int layer, const float *qpos, const float *kpos,
                int Bb, int Tq, int Tk);
/* Is the bias the same for every layer (so the model computes it once per forward)? */
int pe_bias_shared(const PosEnc *pe);

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
 * keys visible to row i of Tq queries over Tk keys. */
void pe_temperature(float *out, int Tq, int Tk, int base);

#endif
