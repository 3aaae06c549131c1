/* sinusoidal: the fixed sin/cos table of absolute positions, times sinusoid_scale, added to the
 * token embedding. */
#include <math.h>

#include "../ops/ops.h"
#include "scheme.h"

void pe_sinusoid(float *out, float p, int D) {
    int half = D / 2;
    for (int i = 0; i < half; i++) {
        float w = 1.0f / powf(10000.0f, (float)(2 * i) / (float)D);
        float a = p * w;
        out[i] = sinf(a);
        out[half + i] = cosf(a);
    }
}

static int sinusoidal_check(const ModelConfig *c, LgErr *err) {
    if (c->d_model % 2)
        return lg_err(err, "[model] posenc = sinusoidal needs an even d_model, got %d", c->d_model);
    return 0;
}

static Tensor *sinusoidal_embed(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p) {
    int D = pe->D;
    Tensor *s = tensor_new3(&g->arena, p->B, p->T, D);
    float scale = pe->cfg.sinusoid_scale;
    for (int i = 0; i < p->B * p->T; i++) {
        float *row = s->data + (size_t)i * D;
        pe_sinusoid(row, p->pos[i], D);
        if (scale != 1.0f)
            for (int k = 0; k < D; k++) row[k] *= scale;
    }
    return op_add(g, x, s);
}

const PeScheme pe_scheme_sinusoidal = {
    .by_position = 1,
    .check = sinusoidal_check,
    .embed = sinusoidal_embed,
};
