/* gradcheck: finite-difference gradient checks for ops and small compositions of ops.
 *
 * The function under test builds a tensor `out` from the parameters of a Params block with
 * ops on g. gradcheck fixes a random R of out's shape and compares, for every element of
 * every parameter with requires_grad (or an even spread of them, see max_per_tensor),
 *   analytic: d/dtheta sum(out * R) from the tape (op_mul, op_sum, ag_backward), with
 *   numeric:  (L(theta + eps) - L(theta - eps)) / (actual step), L summed in double,
 * and passes when |analytic - numeric| <= atol + rtol * |numeric| everywhere. On failure it
 * reports (test_fail) how many elements failed and the worst one, by tensor name and index.
 *
 * Honest float32 defaults for O(1) inputs: eps 1e-2, atol 1e-3, rtol 1e-2. The central
 * difference's truncation error is ~eps^2 |f'''| / 6 and its rounding error ~1e-7 |L| / eps,
 * so much smaller eps makes the check worse, not better. Kinks (relu at 0) and masks must be
 * kept further than eps from the inputs (choose inputs accordingly).
 *
 * Every op loop runs its OpenMP path during the check (ops_set_par_min(0)), whatever the size.
 *
 * Parameters with requires_grad = 0 are skipped (and the op must not ask for their grad):
 * clear the flag after params_finalize for inputs that are data, not weights.
 */
#ifndef LENGEN_GRADCHECK_H
#define LENGEN_GRADCHECK_H

#include <stdint.h>

#include "../src/autograd.h"
#include "../src/rng.h"

/* Builds the output from the caller's tensors (reached through ctx). Must be deterministic:
 * re-seed any Rng it uses (dropout) on every call. Called with recording on and off. */
typedef Tensor *(*GcFn)(Ag *g, void *ctx);

typedef struct GcOpts {
    float eps;            /* central-difference step; 0: 1e-2 */
    float atol, rtol;     /* 0: 1e-3 and 1e-2 */
    int max_per_tensor;   /* check at most this many elements per tensor, evenly spread; 0: all */
    uint64_t seed;        /* for R; 0 is a fine seed */
} GcOpts;

/* Returns 1 when every checked gradient matches, else 0 after reporting through test_fail.
 * `what` names the case in messages. opts may be NULL (defaults). */
int gradcheck(const char *what, Params *p, GcFn fn, void *ctx, const GcOpts *opts);

/* Fills t with N(0, std^2) draws, or uniform in [lo, hi) with gc_fill_uniform. */
void gc_fill_normal(Tensor *t, Rng *r, float std);
void gc_fill_uniform(Tensor *t, Rng *r, float lo, float hi);

#endif
