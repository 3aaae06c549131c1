/* optim: AdamW, Lion and SGD over the Params block, LR schedules and gradient clipping.
 * Update rules are stated above each kernel and in docs/optim.md. */
#include "optim.h"

#include <math.h>
#include <string.h>

#include "util.h"

#define CLIP_CHUNKS 64   /* the norm is summed per chunk, then chunks in order: thread-count free */
#define PAR_MIN (1 << 15) /* below this many floats a thread team costs more than it saves */

void optim_init(Optim *o, const TrainConfig *tc, const Params *p) {
    LG_ASSERT(p->finalized, "optim_init needs finalized params (call params_finalize first)");
    memset(o, 0, sizeof *o);
    o->kind = tc->optimizer;
    o->beta1 = tc->beta1;
    o->beta2 = tc->beta2;
    o->eps = tc->eps;
    o->weight_decay = tc->weight_decay;
    o->momentum = tc->momentum;
    o->n = p->n;
    size_t bytes = (p->n ? p->n : 1) * sizeof(float);
    o->m = lg_aligned_alloc(bytes, "optimizer m");
    o->v = lg_aligned_alloc(bytes, "optimizer v");
    memset(o->m, 0, bytes);
    memset(o->v, 0, bytes);
    /* spans: consecutive tensors with the same decay flag merge; the alignment padding between
     * tensors joins the span before it (its grads are zero, so it stays zero) */
    o->spans = lg_malloc((size_t)(p->count ? p->count : 1) * sizeof *o->spans, "optimizer spans");
    for (int i = 0; i < p->count; i++) {
        int decay = p->tensors[i]->ndim >= 2;
        size_t start = p->offsets[i];
        if (o->n_spans && o->spans[o->n_spans - 1].decay == decay) continue;
        if (o->n_spans) o->spans[o->n_spans - 1].end = start;
        o->spans[o->n_spans++] = (OptimSpan){start, p->n, decay};
    }
}

void optim_free(Optim *o) {
    lg_free(o->m);
    lg_free(o->v);
    lg_free(o->spans);
    memset(o, 0, sizeof *o);
}

/* AdamW (Loshchilov & Hutter), PyTorch's formulation; t = step after increment:
 *   m = b1 m + (1 - b1) g ;  v = b2 v + (1 - b2) g^2
 *   p = p - lr wd p                              (decay spans only)
 *   p = p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * p, g, m, v are (n,) */
static void adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float wd,
                         float b1, float b2, float eps, float step_size, float sqrt_bc2) {
    float decay = 1.0f - lr * wd;
#pragma omp for schedule(static) nowait
    for (size_t i = 0; i < n; i++) {
        float mi = b1 * m[i] + (1.0f - b1) * g[i];
        float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        float pi = p[i] * decay;
        p[i] = pi - step_size * mi / (sqrtf(vi) / sqrt_bc2 + eps);
    }
}

/* Lion (Chen et al. 2023):
 *   u = sign(b1 m + (1 - b1) g)                  (sign(0) = 0)
 *   p = p - lr wd p - lr u                       (decay on decay spans only)
 *   m = b2 m + (1 - b2) g */
static void lion_update(float *p, const float *g, float *m, size_t n, float lr, float wd, float b1, float b2) {
    float decay = 1.0f - lr * wd;
#pragma omp for schedule(static) nowait
    for (size_t i = 0; i < n; i++) {
        float c = b1 * m[i] + (1.0f - b1) * g[i];
        float u = (float)((c > 0.0f) - (c < 0.0f));
        p[i] = p[i] * decay - lr * u;
        m[i] = b2 * m[i] + (1.0f - b2) * g[i];
    }
}

/* SGD with momentum (PyTorch's, no dampening) and decoupled weight decay:
 *   b = mu b + g ;  p = p - lr wd p - lr b       (mu = 0: plain SGD) */
static void sgd_update(float *p, const float *g, float *b, size_t n, float lr, float wd, float mu) {
    float decay = 1.0f - lr * wd;
#pragma omp for schedule(static) nowait
    for (size_t i = 0; i < n; i++) {
        float bi = mu * b[i] + g[i];
        b[i] = bi;
        p[i] = p[i] * decay - lr * bi;
    }
}

void optim_step(Optim *o, Params *p, float lr) {
    LG_ASSERT(p->n == o->n, "optimizer built for %zu parameters, given %zu", o->n, p->n);
    o->step++;
    /* bias corrections in double, as PyTorch computes them */
    double bc1 = 1.0 - pow((double)o->beta1, (double)o->step);
    double bc2 = 1.0 - pow((double)o->beta2, (double)o->step);
    float step_size = (float)(lr / bc1);
    float sqrt_bc2 = (float)sqrt(bc2);
#pragma omp parallel if (o->n >= PAR_MIN)
    for (int s = 0; s < o->n_spans; s++) {
        const OptimSpan *sp = &o->spans[s];
        size_t a = sp->start, n = sp->end - sp->start;
        float wd = sp->decay ? o->weight_decay : 0.0f;
        switch (o->kind) {
        case OPT_ADAMW:
            adamw_update(p->data + a, p->grad + a, o->m + a, o->v + a, n, lr, wd, o->beta1, o->beta2, o->eps,
                         step_size, sqrt_bc2);
            break;
        case OPT_LION: lion_update(p->data + a, p->grad + a, o->m + a, n, lr, wd, o->beta1, o->beta2); break;
        case OPT_SGD: sgd_update(p->data + a, p->grad + a, o->m + a, n, lr, wd, o->momentum); break;
        }
    }
}

float optim_lr_at(const TrainConfig *tc, int step) {
    if (step < 0) step = 0;
    if (tc->warmup > 0 && step < tc->warmup) return (float)((double)tc->lr * step / tc->warmup);
    if (tc->schedule == SCHED_CONSTANT) return tc->lr;
    if (step >= tc->steps) return tc->min_lr;
    double t = (double)(step - tc->warmup) / (double)(tc->steps - tc->warmup);
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    double span = (double)tc->lr - tc->min_lr, f;
    if (tc->schedule == SCHED_COSINE) f = 0.5 * (1.0 + cos(M_PI * t));
    else f = pow(1.0 - t, (double)tc->poly_power);
    return (float)(tc->min_lr + span * f);
}

float optim_clip_grad_norm(Params *p, float max_norm) {
    double part[CLIP_CHUNKS];
    size_t n = p->n;
    const float *g = p->grad;
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (int c = 0; c < CLIP_CHUNKS; c++) {
        size_t a = n * (size_t)c / CLIP_CHUNKS, b = n * (size_t)(c + 1) / CLIP_CHUNKS;
        double s = 0.0;
        for (size_t i = a; i < b; i++) s += (double)g[i] * g[i];
        part[c] = s;
    }
    double sum = 0.0;
    for (int c = 0; c < CLIP_CHUNKS; c++) sum += part[c];
    double norm = sqrt(sum);
    if (!isfinite(norm)) return (float)norm;
    if (max_norm > 0 && norm > max_norm) optim_scale_grads(p, (float)(max_norm / norm));
    return (float)norm;
}

void optim_scale_grads(Params *p, float s) {
    float *g = p->grad;
    size_t n = p->n;
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) g[i] *= s;
}
