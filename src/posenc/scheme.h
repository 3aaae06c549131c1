/* scheme: what one positional encoding implements. Each scheme is one file in src/posenc/
 * defining `const PeScheme pe_scheme_<name>` and one row of PE_LIST (posenc_list.h); posenc.c
 * dispatches through the table. Every hook may be NULL: the scheme does not act there.
 *
 * A scheme keeps what it needs (views of its parameters, fixed tables) in pe->state, one
 * lg_malloc'd block that pe_free releases; its settings are pe->cfg's keys. Hooks get checked
 * settings (check ran first) and checked batches (pe_check_batch).
 */
#ifndef LENGEN_POSENC_SCHEME_H
#define LENGEN_POSENC_SCHEME_H

#include "../posenc.h"

struct PeScheme {
    int by_position;   /* reads token positions, so randomized positions apply */
    /* The scheme's own keys of c (heads divide d_model). 0, or -1 with err naming the key. */
    int (*check)(const ModelConfig *c, LgErr *err);
    /* Declares the parameters into p with their state-dict names; sets pe->state. */
    void (*declare)(PosEnc *pe, Params *p);
    /* Initial parameter values, drawn in declaration order from rng. */
    void (*init_weights)(PosEnc *pe, Rng *rng, float std);
    /* The largest number of positions (table rows); NULL: unbounded. */
    int (*max_position)(const PosEnc *pe);
    /* digit_index [n] (may be NULL) against the tables, training or not. 0 or -1 with err. */
    int (*check_batch)(const PosEnc *pe, const int *digit_index, int n, int training, LgErr *err);
    /* Does a training plan draw (plan hook)? And the draws: per-example values into p. */
    int (*draws)(const PosEnc *pe);
    void (*plan)(const PosEnc *pe, Ag *g, PePlan *p, Rng *rng);
    /* x [B, T, D] -> x + encoding at the plan's positions / digit places. */
    Tensor *(*embed)(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p);
    /* x [B, H, T, hd] rotated at the plan's positions (the KV-cache path). */
    Tensor *(*rotate)(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p);
    /* The same on q and k of a packed qkv [N, 3D], token n at position keep[n] (or n) of a
     * forward plan; a scheme with rotate has this too. */
    Tensor *(*rotate_qkv)(const PosEnc *pe, Ag *g, Tensor *qkv, int H, const PePlan *p, const int *keep);
    /* Additive bias [Bb, H, Tq, Tk] of `layer` for queries at qpos [Bb*Tq], keys at kpos [Bb*Tk]. */
    Tensor *(*bias)(const PosEnc *pe, Ag *g, int layer, const float *qpos, const float *kpos,
                    int Bb, int Tq, int Tk);
    /* Does the bias differ between layers? NULL: one bias for every layer. */
    int (*bias_per_layer)(const PosEnc *pe);
};

#define PE_LIST_DECLARE(kind, name, scheme) extern const PeScheme scheme;
PE_LIST(PE_LIST_DECLARE)
#undef PE_LIST_DECLARE

/* Normal(0, std) draws into t, in order. */
void pe_fill_normal(Tensor *t, Rng *rng, float std);

#endif
