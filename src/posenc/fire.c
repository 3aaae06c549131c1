/* fire: a learned MLP of a normalised log distance gives each head's attention bias (Li et al.
 * 2023); one MLP for every layer (pe.fire.{c,L,mlp.0.weight,mlp.0.bias,mlp.2.weight,mlp.2.bias}). */
#include <math.h>

#include "../ops/posenc_ops.h"
#include "scheme.h"

typedef struct {
    Tensor *c, *L;            /* [1] each */
    Tensor *w1, *b1, *w2, *b2;  /* [W, 1], [W], [H, W], [H] */
} Fire;

static int fire_check(const ModelConfig *c, LgErr *err) {
    if (c->fire_hidden < 1 || c->fire_hidden > 256)
        return lg_err(err, "[model] fire_hidden = %d: must be in [1, 256]", c->fire_hidden);
    return 0;
}

static void fire_declare(PosEnc *pe, Params *p) {
    Fire *s = lg_calloc(1, sizeof *s, "posenc fire");
    int W = pe->cfg.fire_hidden;
    int one[1] = {1}, w1s[2] = {W, 1}, b1s[1] = {W}, w2s[2] = {pe->H, W}, b2s[1] = {pe->H};
    s->c = params_add(p, "pe.fire.c", 1, one);
    s->L = params_add(p, "pe.fire.L", 1, one);
    s->w1 = params_add(p, "pe.fire.mlp.0.weight", 2, w1s);
    s->b1 = params_add(p, "pe.fire.mlp.0.bias", 1, b1s);
    s->w2 = params_add(p, "pe.fire.mlp.2.weight", 2, w2s);
    s->b2 = params_add(p, "pe.fire.mlp.2.bias", 1, b2s);
    pe->state = s;
}

static void fill_uniform(Tensor *t, Rng *rng, float a) {
    for (size_t i = 0; i < t->n; i++) t->data[i] = a * (2 * rng_uniform(rng) - 1);
}

static void fire_init_weights(PosEnc *pe, Rng *rng, float std) {
    Fire *s = pe->state;
    s->c->data[0] = pe->cfg.fire_c_init;
    s->L->data[0] = pe->cfg.fire_L_init;
    float a1 = 1.0f, a2 = 1.0f / sqrtf((float)pe->cfg.fire_hidden);
    fill_uniform(s->w1, rng, a1);
    fill_uniform(s->b1, rng, a1);
    fill_uniform(s->w2, rng, a2);
    fill_uniform(s->b2, rng, a2);
}

static Tensor *fire_bias(const PosEnc *pe, Ag *g, int layer, const float *qpos, const float *kpos,
                         int Bb, int Tq, int Tk) {
    const Fire *s = pe->state;
    return op_fire_bias(g, s->c, s->L, s->w1, s->b1, s->w2, s->b2, qpos, kpos, Bb, Tq, Tk, 1);
}

const PeScheme pe_scheme_fire = {
    .by_position = 1,
    .check = fire_check,
    .declare = fire_declare,
    .init_weights = fire_init_weights,
    .bias = fire_bias,
};
