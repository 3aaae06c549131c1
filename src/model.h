/* model: the GPT-style pre-norm decoder.
 *
 *   x = tok_emb[tokens] (+ input-side posenc: learned / sinusoidal / abacus), dropout
 *   for each block:  x += dropout(proj(attn(norm1(x))))     (rope on q, k; bias from posenc)
 *                    x += dropout(mlp.proj(act(mlp.fc(norm2(x)))))
 *   logits = head(norm_f(x))        (head = tok_emb when tied)
 *
 * Every parameter lives in m->params, declared in checkpoint order with PyTorch state-dict
 * names (docs/model.md lists them). Three ways to run it:
 *   - model_forward: a right-padded batch [B, T] with autograd (training) or without (eval);
 *   - model_prefill + model_decode_step: batched greedy decoding with a KV cache, each
 *     sequence at its own length, O(T) per new token, no grad.
 * All of them run the same blocks (model.c's block): with a cache, a block's attention is
 * op_attention_cached, which appends the new keys and values and attends over the cache, so
 * decoding gives the full forward's logits at the same positions by construction (and to
 * float rounding: tests/test_model.c checks every scheme).
 * The model knows nothing of tasks: tokens are ids in [0, vocab_size), digit_index comes
 * from the caller.
 */
#ifndef LENGEN_MODEL_H
#define LENGEN_MODEL_H

#include "autograd.h"
#include "config.h"
#include "posenc.h"
#include "rng.h"

typedef struct ModelLayer {
    Tensor *ln1_w, *ln1_b;           /* [D], bias NULL without biases or with rmsnorm */
    Tensor *qkv_w, *qkv_b;           /* [3D, D], [3D] */
    Tensor *proj_w, *proj_b;         /* [D, D], [D] */
    Tensor *temp;                    /* [H] learned temperature scale (posenc declares it), or NULL */
    Tensor *ln2_w, *ln2_b;
    Tensor *fc_w, *fc_b;             /* [F, D], [F] */
    Tensor *mproj_w, *mproj_b;       /* [D, F], [D] */
} ModelLayer;

typedef struct Model {
    ModelConfig cfg;
    int vocab_size;
    int L, H, D, hd, F;
    Params params;                   /* owns every parameter */
    Tensor *tok_emb;                 /* [V, D] */
    PosEnc pe;                       /* position and temperature; its tables point into params */
    ModelLayer *layers;              /* [L] */
    Tensor *lnf_w, *lnf_b;
    Tensor *head;                    /* [V, D], or tok_emb when tied */
} Model;

/* Validates cfg for a model (heads divide d_model, rope dims, table sizes, vocab >= 1, ...),
 * declares and initialises every parameter as GPT-2 does (normal(0, init_std), residual
 * projections attn.proj and mlp.proj scaled by 1/sqrt(2 layers), biases 0, norm weights 1,
 * temperature scales 1) from `seed`. Returns 0, or -1 with err naming the key; on error m
 * holds nothing to free. */
int model_init(Model *m, const ModelConfig *cfg, int vocab_size, uint64_t seed, LgErr *err);
void model_free(Model *m);

/* One right-padded batch. Arrays are B*T, row-major; the model does not keep them. */
typedef struct ModelBatch {
    const int *tokens;        /* [B*T] ids in [0, vocab_size) (padding included) */
    int B, T;
    const float *positions;   /* [B*T] or NULL: 0..T-1, or (training with random_positions)
                                 a sorted random subset of [0, random_max_pos) per example */
    const int *digit_index;   /* [B*T] digit places for abacus, coupled (0 = not a digit,
                                 DIGIT_AFTER_NUMBER = after a units digit); NULL = none */
    int training;             /* dropout, random positions, abacus offsets on */
    Rng *rng;                 /* draws for the above; needed when training */
    const int *rows;          /* NULL (logits everywhere) or the n_rows >= 1 positions b*T + t,
                                 strictly increasing, that need logits (training: the loss
                                 positions); the last block then runs the rows only */
    int n_rows;
    const int *lens;          /* NULL or, with rows, [B] positions of each row that matter: row b's
                                 positions t >= lens[b] are padding (weight 0, and under the causal
                                 mask seen by no earlier position). The blocks then run their
                                 linears, norms and MLP on the P = sum(lens) real positions only,
                                 and attention on each row at its own length
                                 (op_attention_qkv_ragged); ignored for rotary schemes */
} ModelBatch;

/* What a forward can hand back for probing; any pointer may be NULL. Arrays are [L] and are
 * filled with arena tensors valid until the next ag_reset. */
typedef struct ModelTrace {
    Tensor **attn;            /* attn[l]: probabilities [B, H, T, T] of layer l */
    Tensor **hidden;          /* hidden[l]: residual stream after block l, [B, T, D] */
} ModelTrace;

/* Forward for training or evaluation; records the tape when g's grad is on. Returns logits
 * [B, T, V] in g's arena, or [n_rows, V] at in->rows (not with a trace): the same values at
 * those positions up to float rounding, and the work of the last block after its attention
 * and of the head only for those rows. Dies (programmer error) on ids or positions out of range; check a
 * batch from outside with model_check_batch first. */
Tensor *model_forward(Model *m, Ag *g, const ModelBatch *in, ModelTrace *trace);

/* Checks a batch against the model: ids in range, T within what the scheme supports.
 * Returns 0 or -1 with err saying what is wrong. */
int model_check_batch(const Model *m, const ModelBatch *in, LgErr *err);

/* 0 if the model takes sequences of T tokens (prompt and answer), else -1 with err naming the
 * limit and the key to raise (posenc learned: max_pos). */
int model_check_length(const Model *m, int T, LgErr *err);

/* Number of parameters (floats). */
size_t model_num_params(const Model *m);

/* ---- KV-cache decoding ---- */

typedef struct KVCache {
    int B, Tmax, L, H, hd;
    float *k, *v;             /* [L][B][H][Tmax][hd] each, owned */
    int *len;                 /* [B] tokens cached per sequence */
    float *pos;               /* [B * Tmax] token t of sequence b at position pos[b * Tmax + t],
                                 or NULL: at t; owned (model_kv_set_positions) */
} KVCache;

/* A cache for B sequences of up to Tmax tokens each (prompt + generated). Returns 0, or -1 if
 * Tmax exceeds what the positional scheme supports (err says which limit). */
int model_kv_init(KVCache *kv, const Model *m, int B, int Tmax, LgErr *err);
void model_kv_free(KVCache *kv);
/* Places token t of sequence b at position pos[b * Tmax + t] (copied) instead of t, for the
 * prefill and every decode step after it: evaluation at randomized positions. Each row
 * should increase, as training's random positions do. Returns 0, or -1 with err when a
 * position is outside what the scheme takes. */
int model_kv_set_positions(KVCache *kv, const Model *m, const float *pos, LgErr *err);

/* Runs right-padded prompts tokens [B*T] (row b's prompt is its first prompt_len[b] tokens,
 * 1 <= prompt_len[b] <= T <= Tmax) once at positions 0..T-1 (or kv->pos) without grad, fills the cache
 * (kv->len[b] = prompt_len[b]) and returns logits [B, V] at each sequence's last prompt
 * token. digit_index [B*T] or NULL. Padding never affects the prompts (causal attention). */
Tensor *model_prefill(Model *m, Ag *g, KVCache *kv, const int *tokens, const int *prompt_len,
                      int T, const int *digit_index);

/* Appends next_tokens[b] to sequence b at position kv->len[b] (and digit_index[b] for abacus,
 * NULL = 0), attends over the sequence's cache and returns logits [B, V]. No grad. Every
 * kv->len[b] must be < Tmax. */
Tensor *model_decode_step(Model *m, Ag *g, KVCache *kv, const int *next_tokens,
                          const int *digit_index);

#endif
