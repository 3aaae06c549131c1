/* fastmath: branch-free exp and tanh that the compiler vectorises (libm's expf / tanhf are
 * scalar calls: GELU through tanhf was 30% of a training step). Used by GELU and the attention
 * softmax; the libm versions stay in the reference kernels they are tested against.
 *
 * lg_expf: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, degree-6 Taylor polynomial for
 * e^r, scaled by 2^n through the exponent bits. Relative error < 2e-7 for x in [-87, 88];
 * inputs below -87 give 0 (a masked logit), above 88 are clamped (never reached here), NaN
 * gives NaN (divergence stays visible).
 * lg_tanhf: (1 - e) / (1 + e) with e = lg_expf(-2|u|), sign restored: absolute error < 3e-7. */
#ifndef LENGEN_OPS_FASTMATH_H
#define LENGEN_OPS_FASTMATH_H

#include <stdint.h>
#include <string.h>

static inline float lg_expf(float x) {
    float under = x < -87.0f ? 0.0f : 1.0f;
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round(x / ln2)
    float r = x - n * 0.693145751953125f;                               // ln2 = hi + lo
    r = r - n * 1.428606765330187e-06f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    float nn = n == n ? n : 0.0f;  // NaN in: keep the conversion defined; p carries the NaN out
    uint32_t bits = (uint32_t)((int32_t)nn + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale * under;
}

static inline float lg_tanhf(float u) {
    float a = u < 0.0f ? -u : u;
    float e = lg_expf(-2.0f * a);
    float t = (1.0f - e) / (1.0f + e);
    return u < 0.0f ? -t : t;
}

/* GELU, tanh approximation (GPT-2): gelu(v) = 0.5 v (1 + tanh(u)), u = k (v + 0.044715 v^3),
 * k = sqrt(2 / pi). lg_gelu_grad is d gelu / dv, lg_gelu_with_grad both from one tanh; every
 * GELU kernel uses these, so the derivative is written once. */
#define LG_GELU_K 0.7978845608028654f
static inline float lg_gelu(float v) {
    return 0.5f * v * (1.0f + lg_tanhf(LG_GELU_K * (v + 0.044715f * v * v * v)));
}
/* Both at once (one tanh): returns gelu(v), *grad = d gelu / dv. */
static inline float lg_gelu_with_grad(float v, float *grad) {
    float t = lg_tanhf(LG_GELU_K * (v + 0.044715f * v * v * v));
    float du = LG_GELU_K * (1.0f + 3.0f * 0.044715f * v * v);
    *grad = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
    return 0.5f * v * (1.0f + t);
}
static inline float lg_gelu_grad(float v) {
    float grad;
    (void)lg_gelu_with_grad(v, &grad);   /* the unused value is dead code once inlined */
    return grad;
}

#endif
