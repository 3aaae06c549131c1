/* gradcheck: see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <string.h>

#include "../src/ops/ops.h"
#include "../src/util.h"
#include "test.h"

void gc_fill_normal(Tensor *t, Rng *r, float std) {
    for (size_t i = 0; i < t->n; i++) t->data[i] = std * rng_normal(r);
}

void gc_fill_uniform(Tensor *t, Rng *r, float lo, float hi) {
    for (size_t i = 0; i < t->n; i++) t->data[i] = lo + (hi - lo) * rng_uniform(r);
}

/* L = sum(out * R) in double, with recording off. */
static double eval_loss(Ag *g, GcFn fn, void *ctx, const float *R, size_t n) {
    int prev = ag_set_grad(g, 0);
    Tensor *out = fn(g, ctx);
    LG_ASSERT(out->n == n, "gradcheck: the function's output changed size (%zu, was %zu)", out->n, n);
    double L = 0.0;
    for (size_t i = 0; i < n; i++) L += (double)out->data[i] * R[i];
    ag_reset(g);
    ag_set_grad(g, prev);
    return L;
}

int gradcheck(const char *what, Params *p, GcFn fn, void *ctx, const GcOpts *opts) {
    GcOpts o = opts ? *opts : (GcOpts){0};
    if (o.eps == 0.0f) o.eps = 1e-2f;
    if (o.atol == 0.0f) o.atol = 1e-3f;
    if (o.rtol == 0.0f) o.rtol = 1e-2f;
    Ag g;
    ag_init(&g, 1 << 20);
    size_t par_min = ops_set_par_min(0);  /* check the threaded paths, however small the shapes */

    /* the output's shape, then a fixed R */
    int prev = ag_set_grad(&g, 0);
    Tensor *out = fn(&g, ctx);
    size_t n = out->n;
    int ndim = out->ndim, shape[TENSOR_MAXDIM];
    memcpy(shape, out->shape, sizeof shape);
    ag_reset(&g);
    ag_set_grad(&g, prev);
    float *R = lg_malloc(n * sizeof(float), "gradcheck R");
    Rng rng;
    rng_seed(&rng, o.seed ^ 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < n; i++) R[i] = rng_normal(&rng);

    /* analytic gradients from the tape */
    params_zero_grad(p);
    out = fn(&g, ctx);
    Tensor *Rt = tensor_new(&g.arena, ndim, shape);
    memcpy(Rt->data, R, n * sizeof(float));
    ag_backward(&g, op_sum(&g, op_mul(&g, out, Rt)));
    float *analytic = lg_malloc((p->n ? p->n : 1) * sizeof(float), "gradcheck analytic");
    memcpy(analytic, p->grad, p->n * sizeof(float));
    ag_reset(&g);

    int failures = 0, checked = 0;
    double worst = -1.0, worst_a = 0, worst_n = 0;
    const char *worst_name = "?";
    size_t worst_i = 0;
    for (int ti = 0; ti < p->count; ti++) {
        Tensor *t = p->tensors[ti];
        if (!t->requires_grad) continue;
        size_t step = 1;
        if (o.max_per_tensor > 0 && t->n > (size_t)o.max_per_tensor) step = (t->n + o.max_per_tensor - 1) / o.max_per_tensor;
        for (size_t i = 0; i < t->n; i += step) {
            float x = t->data[i];
            float xp = x + o.eps, xm = x - o.eps;
            t->data[i] = xp;
            double Lp = eval_loss(&g, fn, ctx, R, n);
            t->data[i] = xm;
            double Lm = eval_loss(&g, fn, ctx, R, n);
            t->data[i] = x;
            double num = (Lp - Lm) / ((double)xp - (double)xm);
            double an = analytic[p->offsets[ti] + i];
            double tol = o.atol + o.rtol * fabs(num);
            double ratio = fabs(an - num) / tol;
            if (!(ratio <= 1.0)) failures++;
            if (!(ratio <= worst)) {  /* also catches NaN */
                worst = isnan(ratio) ? INFINITY : ratio;
                worst_a = an;
                worst_n = num;
                worst_name = t->name;
                worst_i = i;
            }
            checked++;
        }
    }
    if (failures)
        test_fail(__FILE__, __LINE__,
                  "gradcheck %s: %d of %d gradients off; worst %s[%zu]: analytic %.6g, numeric %.6g "
                  "(eps %g, atol %g, rtol %g)",
                  what, failures, checked, worst_name, worst_i, worst_a, worst_n, (double)o.eps,
                  (double)o.atol, (double)o.rtol);
    if (!checked) test_fail(__FILE__, __LINE__, "gradcheck %s: no parameter requires grad", what);
    lg_free(R);
    lg_free(analytic);
    ag_free(&g);
    ops_set_par_min(par_min);
    return failures == 0 && checked > 0;
}
