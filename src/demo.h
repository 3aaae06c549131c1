/* demo: a tiny one-layer attention model trained on a toy task, built from the engine's ops.
 *
 * Honest scaffolding until the real model and training loop land: it shows the engine end to
 * end (embedding, layernorm, fused causal attention, MLP, cross-entropy, backward, an inline
 * Adam) and gives tests a real training step to measure (the loss falls; the steady-state step
 * allocates nothing from the heap).
 *
 * The task ("lag"): a row of `seq` random tokens from [0, vocab); at position t >= lag the
 * target is the token at t - lag, positions t < lag are masked. Only attention to a fixed
 * relative position solves it, so a model without working attention stays at chance
 * (1 / vocab).
 */
#ifndef LENGEN_DEMO_H
#define LENGEN_DEMO_H

#include <stdint.h>

#include "autograd.h"
#include "rng.h"
#include "tensor.h"

typedef struct DemoConfig {
    int vocab, seq, d_model, heads, d_ff, batch, lag;
    float lr;
    uint64_t seed;
} DemoConfig;

/* vocab 16, seq 12, d_model 32, heads 2, d_ff 64, batch 32, lag 3, lr 3e-3, seed 1. */
DemoConfig demo_default_config(void);

typedef struct Demo {
    DemoConfig c;
    Params p;
    /* parameter views (PyTorch-style names in p) */
    Tensor *tok_emb, *pos_emb, *ln1_w, *ln1_b, *qkv_w, *qkv_b, *proj_w, *proj_b;
    Tensor *ln2_w, *ln2_b, *fc_w, *fc_b, *fc2_w, *fc2_b, *lnf_w, *lnf_b, *head_w, *head_b;
    float *adam_m, *adam_v;   /* same layout as p.data */
    int step;                 /* Adam steps taken */
    Ag g;
    Rng data_rng, eval_rng;
    int *ids, *targets, *pos_ids;  /* [batch * seq] */
    float *weights;                /* [batch * seq] loss mask */
} Demo;

/* Builds the model with its parameters drawn from c->seed. Dies on an impossible config
 * (the CLI validates its options first). */
void demo_init(Demo *d, const DemoConfig *c);
/* One training step on a fresh batch: forward, loss, backward, Adam, ag_reset. Returns the loss. */
float demo_train_step(Demo *d);
/* Greedy accuracy over the unmasked positions of `batches` fresh batches (no grad). */
float demo_accuracy(Demo *d, int batches);
void demo_free(Demo *d);

#endif
