/* optim: optimizers (AdamW, Lion, SGD with momentum), learning-rate schedules and global-norm
 * gradient clipping, all over the one contiguous Params block.
 *
 * State lives in blocks of the Params layout: m and v hold params->n floats each, 64-byte
 * aligned, allocated once by optim_init (v stays zero for Lion and SGD, so every optimizer has
 * the same checkpoint layout). A checkpoint saves m, v and step; restoring them into a freshly
 * initialised Optim makes the next steps bit-identical to an uninterrupted run.
 *
 * Weight decay is decoupled (p -= lr * wd * p) and applies only to tensors with ndim >= 2
 * (matrices and embedding tables), never to biases, norm gains or other vectors. The exact
 * update rules are in docs/optim.md.
 *
 * Determinism: every update is elementwise, and the gradient norm is summed over fixed chunks
 * in a fixed order, so results do not depend on the thread count. optim_step and
 * optim_clip_grad_norm allocate nothing.
 */
#ifndef LENGEN_OPTIM_H
#define LENGEN_OPTIM_H

#include <stddef.h>

#include "config.h"
#include "tensor.h"

/* A run of the parameter block that shares a weight-decay setting. */
typedef struct OptimSpan {
    size_t start, end;      /* element range [start, end) in the block */
    int decay;              /* 1: weight decay applies (tensor ndim >= 2) */
} OptimSpan;

typedef struct Optim {
    OptimKind kind;
    float beta1, beta2, eps, weight_decay, momentum;
    size_t n;               /* == params->n */
    float *m;               /* AdamW first moment, Lion momentum, SGD momentum buffer */
    float *v;               /* AdamW second moment; zeros for Lion and SGD */
    long long step;         /* steps taken; AdamW bias correction uses step after increment */
    int n_spans;
    OptimSpan *spans;       /* cover [0, n) in order */
} Optim;

/* Takes the kind and hyperparameters from tc and the layout from p (finalized). m, v zeroed,
 * step 0. Owns m, v, spans: release with optim_free. */
void optim_init(Optim *o, const TrainConfig *tc, const Params *p);
/* One update of p->data from p->grad at learning rate lr; step += 1. Grads are left as they
 * are (the caller zeroes them). */
void optim_step(Optim *o, Params *p, float lr);
void optim_free(Optim *o);

/* The learning rate for step `step` (0-based: the step about to be taken):
 *   step < warmup:  lr * step / warmup                (linear from 0)
 *   then constant:  lr
 *        cosine:    min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2
 *        poly:      min_lr + (lr - min_lr) * (1 - t)^poly_power
 *   with t = (step - warmup) / (steps - warmup), clamped to [0, 1]; min_lr from `steps` on. */
float optim_lr_at(const TrainConfig *tc, int step);

/* Global L2 norm of p->grad (summed in double, in a fixed order), returned as it was before
 * clipping. If max_norm > 0 and norm > max_norm, grads are scaled by max_norm / norm. A
 * non-finite norm is returned without touching the grads (the caller should stop). */
float optim_clip_grad_norm(Params *p, float max_norm);

/* grads *= s, e.g. 1 / grad_accum after accumulating micro-batches. */
void optim_scale_grads(Params *p, float s);

#endif
