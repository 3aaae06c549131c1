/* abacus and coupled: a learned embedding of each digit's place inside its own number (row 0 =
 * not a digit, then places 1..abacus_max_digits), added to the token embedding; the table holds
 * abacus_max_offset - 1 more rows for the training offsets.
 *
 * abacus (McLeish et al. 2024, pe.abacus.weight): every training example shifts its digit places
 * by an offset drawn from [0, abacus_max_offset).
 * coupled (position coupling, Cho et al. 2024, pe.coupled.weight): the same ids (digits of the
 * same significance in the operands and the answer share one, the task's digit_index), with
 * Cho et al.'s random start: each training example's offset is drawn from every shift that keeps
 * its largest place inside the table, [0, rows - 1 - largest place], so short examples train
 * the rows long ones read at evaluation (abacus: the same [0, abacus_max_offset) for every
 * example). Evaluation uses offset 0 in both. */
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

static void declare_table(PosEnc *pe, Params *p, const char *name) {
    Abacus *s = lg_calloc(1, sizeof *s, "posenc abacus");
    s->rows = 1 + pe->cfg.abacus_max_digits + abacus_shift(&pe->cfg);
    int shape[2] = {s->rows, pe->D};
    s->table = params_add(p, name, 2, shape);
    pe->state = s;
}
static void abacus_declare(PosEnc *pe, Params *p) { declare_table(pe, p, "pe.abacus.weight"); }
static void coupled_declare(PosEnc *pe, Params *p) { declare_table(pe, p, "pe.coupled.weight"); }

static void abacus_init_weights(PosEnc *pe, Rng *rng, float std) {
    pe_fill_normal(((Abacus *)pe->state)->table, rng, std);
}

static int abacus_check_batch(const PosEnc *pe, const int *digit_index, int n, int training, LgErr *err) {
    const Abacus *s = pe->state;
    if (!digit_index) return lg_err(err, "model: posenc %s needs digit indices", pe_names[pe->cfg.posenc]);
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

/* Coupled draws whenever it trains: an example's room [0, rows - 1 - largest place] is at least
 * [0, abacus_max_offset - 1] and grows as its numbers get shorter. */
static int coupled_draws(const PosEnc *pe) {
    (void)pe;
    return 1;
}

static void coupled_plan(const PosEnc *pe, Ag *g, PePlan *p, Rng *rng) {
    const Abacus *s = pe->state;
    LG_ASSERT(rng, "posenc coupled: training offsets need an Rng");
    LG_ASSERT(p->digit_index, "posenc coupled needs the batch's digit_index");
    p->offset = arena_alloc(&g->arena, (size_t)p->B * sizeof(int));
    for (int b = 0; b < p->B; b++) {
        int top = 0;
        for (int t = 0; t < p->T; t++)
            if (p->digit_index[b * p->T + t] > top) top = p->digit_index[b * p->T + t];
        int room = s->rows - 1 - top;
        LG_ASSERT(room >= 0, "posenc coupled: digit place %d outside the table of %d rows", top, s->rows);
        p->offset[b] = (int)rng_below(rng, (uint64_t)room + 1);
    }
}

const PeScheme pe_scheme_coupled = {
    .check = abacus_check,
    .declare = coupled_declare,
    .init_weights = abacus_init_weights,
    .check_batch = abacus_check_batch,
    .draws = coupled_draws,
    .plan = coupled_plan,
    .embed = abacus_embed,
};
