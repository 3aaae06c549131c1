/* posenc_ops: the differentiable ops of the relative-bias positional encodings (T5 and FIRE),
 * forward and backward side by side in posenc_ops.c. Same conventions as ops.h: output in
 * g->arena, a tape node when an input needs grad, backward ADDS into input grads. */
#ifndef LENGEN_POSENC_OPS_H
#define LENGEN_POSENC_OPS_H

#include "../autograd.h"

/* Gathered relative bias: table [NB, H], bucket [Bb*Tq*Tk] in [0, NB)
 * -> out [Bb, H, Tq, Tk], out[b,h,i,j] = table[bucket[(b*Tq + i)*Tk + j], h].
 * Backward scatter-adds into the table's grad. */
Tensor *op_rel_bias(Ag *g, Tensor *table, const int *bucket, int Bb, int Tq, int Tk);

/* FIRE bias (Li et al. 2023): for query position qi = qpos[b*Tq+i], key position kj:
 *   x   = log(|c| |qi - kj| + 1) / (log(|c| max(qi, |L|) + 1) + 1e-6)
 *   out[b,h,i,j] = (w2 relu(w1 x + b1) + b2)[h]
 * c [1], L [1], w1 [W, 1], b1 [W], w2 [H, W], b2 [H]; qpos [Bb*Tq], kpos [Bb*Tk].
 * With causal, entries with j > i + (Tk - Tq) are 0 and get no gradient (the attention mask
 * hides them). Differentiable in all six parameters. */
Tensor *op_fire_bias(Ag *g, Tensor *c, Tensor *L, Tensor *w1, Tensor *b1, Tensor *w2, Tensor *b2,
                     const float *qpos, const float *kpos, int Bb, int Tq, int Tk, int causal);

#endif
