/* alibi: a fixed linear penalty on the query-key distance, one slope per head (Press et al.). */
#include <math.h>

#include "scheme.h"

typedef struct {
    int H;
    float slopes[];  /* [H] */
} Alibi;

static void alibi_pow2(float *out, int n) {
    double start = pow(2.0, -pow(2.0, -(log2((double)n) - 3.0)));
    double s = start;
    for (int i = 0; i < n; i++, s *= start) out[i] = (float)s;
}

void pe_alibi_slopes(float *out, int H) {
    int p = 1;
    while (p * 2 <= H) p *= 2;
    alibi_pow2(out, p);
    if (p == H) return;
    /* the remaining H - p heads take every other slope of 2p heads */
    float extra[2 * 4096];
    LG_ASSERT(2 * p <= 2 * 4096, "too many heads (%d) for alibi", H);
    alibi_pow2(extra, 2 * p);
    for (int i = 0; i < H - p; i++) out[p + i] = extra[2 * i];
}

static void alibi_declare(PosEnc *pe, Params *p) {
    Alibi *s = lg_malloc(sizeof *s + (size_t)pe->H * sizeof(float), "alibi slopes");
    s->H = pe->H;
    pe_alibi_slopes(s->slopes, pe->H);
    pe->state = s;
}

static Tensor *alibi_bias(const PosEnc *pe, Ag *g, int layer, const float *qpos, const float *kpos,
                          int Bb, int Tq, int Tk) {
    const Alibi *s = pe->state;
    int H = pe->H;
    // bias[b,h,i,j] = -slope_h * (q_i - k_j)
    Tensor *out = tensor_new4(&g->arena, Bb, H, Tq, Tk);
    for (int b = 0; b < Bb; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < Tq; i++) {
                float *o = out->data + (((size_t)b * H + h) * Tq + i) * Tk;
                for (int j = 0; j < Tk; j++) o[j] = -s->slopes[h] * (qpos[b * Tq + i] - kpos[b * Tk + j]);
            }
    return out;
}

const PeScheme pe_scheme_alibi = {
    .by_position = 1,
    .declare = alibi_declare,
    .bias = alibi_bias,
};
