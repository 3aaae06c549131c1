/* rope: rotary embedding of q and k (GPT-J interleaved pairs) on the first rope_fraction of
 * each head's dims, which must be a whole even number >= 2. */
#include <math.h>

#include "../ops/ops.h"
#include "scheme.h"

/* rope_fraction * head dim, rounded to the nearest integer. */
static int rope_dims(const ModelConfig *c) {
    return (int)floor((double)c->rope_fraction * (c->d_model / c->heads) + 0.5);
}

static int rope_check(const ModelConfig *c, LgErr *err) {
    int hd = c->d_model / c->heads;
    if (!(c->rope_fraction > 0.0f && c->rope_fraction <= 1.0f))
        return lg_err(err, "[model] rope_fraction = %g: must be in (0, 1]", (double)c->rope_fraction);
    if (!(c->rope_base > 1.0f)) return lg_err(err, "[model] rope_base = %g: must be > 1", (double)c->rope_base);
    if (hd % 2)
        return lg_err(err, "[model] posenc = rope needs an even head dim, but d_model / heads = %d / %d = %d",
                      c->d_model, c->heads, hd);
    double r = (double)c->rope_fraction * hd;
    int rd = rope_dims(c);
    if (fabs(r - rd) > 1e-4 || rd < 2 || rd % 2)
        return lg_err(err, "[model] rope_fraction = %g rotates %g of the %d dims per head; it must be a "
                           "whole even number >= 2 (e.g. rope_fraction = %g)",
                      (double)c->rope_fraction, r, hd, hd >= 8 ? 0.25 : 1.0);
    return 0;
}

static Tensor *rope_rotate(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p) {
    return op_rope(g, x, p->pos, p->rows, rope_dims(&pe->cfg), pe->cfg.rope_base);
}

static Tensor *rope_rotate_qkv(const PosEnc *pe, Ag *g, Tensor *qkv, int H, const PePlan *p, const int *keep) {
    return op_rope_qkv(g, qkv, H, p->T, keep, p->pos, p->rows, rope_dims(&pe->cfg), pe->cfg.rope_base);
}

const PeScheme pe_scheme_rope = {
    .by_position = 1,
    .check = rope_check,
    .rotate = rope_rotate,
    .rotate_qkv = rope_rotate_qkv,
};
