/* t5: a learned bias per (distance bucket, head) added to the attention logits; one table
 * shared by every layer (pe.t5.bias, t5_shared = true) or one per layer (pe.t5.{i}.bias). */
#include <math.h>
#include <stdio.h>

#include "../ops/posenc_ops.h"
#include "scheme.h"

typedef struct {
    int layers;
    Tensor *table[];  /* [layers] tables [buckets, H]; all the same one when shared */
} T5;

int pe_t5_bucket(int d, int num_buckets, int max_distance) {
    if (d < 0) d = 0;  /* keys after the query (masked in a decoder) share bucket 0 */
    int max_exact = num_buckets / 2;
    if (d < max_exact) return d;
    /* same float arithmetic as HF T5: log(d / max_exact) / log(max_dist / max_exact) * (nb - max_exact) */
    float v = logf((float)d / (float)max_exact) / logf((float)max_distance / (float)max_exact) *
              (float)(num_buckets - max_exact);
    int b = max_exact + (int)v;
    return b < num_buckets - 1 ? b : num_buckets - 1;
}

static int t5_check(const ModelConfig *c, LgErr *err) {
    if (c->t5_buckets < 2) return lg_err(err, "[model] t5_buckets = %d: must be >= 2", c->t5_buckets);
    if (c->t5_max_distance <= c->t5_buckets / 2)
        return lg_err(err, "[model] t5_max_distance = %d must exceed t5_buckets / 2 = %d (half the "
                           "buckets are exact offsets)", c->t5_max_distance, c->t5_buckets / 2);
    return 0;
}

static void t5_declare(PosEnc *pe, Params *p) {
    T5 *s = lg_calloc(1, sizeof *s + (size_t)pe->L * sizeof(Tensor *), "posenc t5");
    int shape[2] = {pe->cfg.t5_buckets, pe->H};
    s->layers = pe->L;
    for (int l = 0; l < pe->L; l++) {
        if (pe->cfg.t5_shared && l > 0) {
            s->table[l] = s->table[0];
            continue;
        }
        char name[64];
        if (pe->cfg.t5_shared) snprintf(name, sizeof name, "pe.t5.bias");
        else snprintf(name, sizeof name, "pe.t5.%d.bias", l);
        s->table[l] = params_add(p, name, 2, shape);
    }
    pe->state = s;
}

static void t5_init_weights(PosEnc *pe, Rng *rng, float std) {
    T5 *s = pe->state;
    for (int l = 0; l < (pe->cfg.t5_shared ? 1 : pe->L); l++) pe_fill_normal(s->table[l], rng, std);
}

static Tensor *t5_bias(const PosEnc *pe, Ag *g, int layer, const float *qpos, const float *kpos,
                       int Bb, int Tq, int Tk) {
    const T5 *s = pe->state;
    int *bk = arena_alloc(&g->arena, (size_t)Bb * Tq * Tk * sizeof(int));
    for (int b = 0; b < Bb; b++)
        for (int i = 0; i < Tq; i++)
            for (int j = 0; j < Tk; j++) {
                int d = (int)lrintf(qpos[b * Tq + i] - kpos[b * Tk + j]);
                bk[((size_t)b * Tq + i) * Tk + j] = pe_t5_bucket(d, pe->cfg.t5_buckets, pe->cfg.t5_max_distance);
            }
    return op_rel_bias(g, s->table[layer], bk, Bb, Tq, Tk);
}

static int t5_bias_per_layer(const PosEnc *pe) { return !pe->cfg.t5_shared; }

const PeScheme pe_scheme_t5 = {
    .by_position = 1,
    .check = t5_check,
    .declare = t5_declare,
    .init_weights = t5_init_weights,
    .bias = t5_bias,
    .bias_per_layer = t5_bias_per_layer,
};
