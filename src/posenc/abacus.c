/* abacus: a learned embedding of each digit's place inside its own number (pe.abacus.weight;
 * row 0 = not a digit, then places 1..abacus_max_digits), added to the token embedding. In
 * training every example shifts its digit places by an offset drawn from [0, abacus_max_offset),
 * so the table holds abacus_max_offset - 1 more rows. */
#include "../ops/ops.h"
#include "scheme.h"

typedef struct {
    Tensor *table;  /* [rows, D] */
    int rows;
} Abacus;

/* The largest offset a training example may draw. */
static int abacus_shift(const ModelConfig *c) { return c->abacus_max_offset > 0 ? c->abacus_max_offset - 1 : 0; }

static int abacus_check(const ModelConfig *c, LgErr *err) {
    if (c->abacus_max_digits < 1)
        return lg_err(err, "[model] abacus_max_digits = %d: must be >= 1", c->abacus_max_digits);
    if (c->abacus_max_offset < 0)
        return lg_err(err, "[model] abacus_max_offset = %d: must be >= 0", c->abacus_max_offset);
    return 0;
}

static void abacus_declare(PosEnc *pe, Params *p) {
    Abacus *s = lg_calloc(1, sizeof *s, "posenc abacus");
    s->rows = 1 + pe->cfg.abacus_max_digits + abacus_shift(&pe->cfg);
    int shape[2] = {s->rows, pe->D};
    s->table = params_add(p, "pe.abacus.weight", 2, shape);
    pe->state = s;
}

static void abacus_init_weights(PosEnc *pe, Rng *rng, float std) {
    pe_fill_normal(((Abacus *)pe->state)->table, rng, std);
}

static int abacus_check_batch(const PosEnc *pe, const int *digit_index, int n, int training, LgErr *err) {
    const Abacus *s = pe->state;
    if (!digit_index) return lg_err(err, "model: posenc abacus needs digit indices");
    int lim = s->rows - (training ? abacus_shift(&pe->cfg) : 0);
    for (int i = 0; i < n; i++)
        if (digit_index[i] < 0 || digit_index[i] >= lim)
            return lg_err(err, "model: digit place %d outside [0, %d) (raise [model] abacus_max_digits)",
                          digit_index[i], lim);
    return 0;
}

static int abacus_draws(const PosEnc *pe) { return pe->cfg.abacus_max_offset > 1; }

static void abacus_plan(const PosEnc *pe, Ag *g, PePlan *p, Rng *rng) {
    if (!abacus_draws(pe)) return;
    LG_ASSERT(rng, "posenc abacus: training offsets need an Rng");
    p->offset = arena_alloc(&g->arena, (size_t)p->B * sizeof(int));
    for (int b = 0; b < p->B; b++) p->offset[b] = (int)rng_below(rng, (uint64_t)pe->cfg.abacus_max_offset);
}

static Tensor *abacus_embed(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p) {
    const Abacus *s = pe->state;
    LG_ASSERT(p->digit_index, "posenc abacus needs the batch's digit_index");
    int *ids = arena_alloc(&g->arena, (size_t)p->B * p->T * sizeof(int));
    for (int b = 0; b < p->B; b++)
        for (int t = 0; t < p->T; t++) {
            int d = p->digit_index[b * p->T + t];
            LG_ASSERT(d >= 0, "digit index %d < 0", d);
            if (d > 0 && p->offset) d += p->offset[b];
            LG_ASSERT(d < s->rows, "digit place %d is outside the abacus table of %d rows (raise [model] "
                                   "abacus_max_digits)", d, s->rows);
            ids[b * p->T + t] = d;
        }
    return op_add(g, x, op_embedding(g, s->table, ids, p->B, p->T));
}

const PeScheme pe_scheme_abacus = {
    .check = abacus_check,
    .declare = abacus_declare,
    .init_weights = abacus_init_weights,
    .check_batch = abacus_check_batch,
    .draws = abacus_draws,
    .plan = abacus_plan,
    .embed = abacus_embed,
};
