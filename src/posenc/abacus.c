/* abacus and coupled: a learned embedding of each digit's place inside its own number (the
 * task's digit_index: 0 = not a digit, 1.. = the place counted from the units digit), added to
 * the token embedding. Each training example shifts its places by an offset k.
 *
 * abacus (McLeish et al. 2024, pe.abacus.weight): rows 0 (not a digit) and d + k (place d), k
 * drawn from [0, abacus_max_offset); the table holds abacus_max_digits + abacus_max_offset rows.
 * The token after a number (DIGIT_AFTER_NUMBER) reads row 0, like any non-digit.
 * coupled (position coupling, Cho et al. 2024, pe.coupled.weight): digits of the same
 * significance in the operands and the answer share one id, and so does the token right after
 * each operand (`+`, `=`), one step past the units digit: rows 0 (not a digit), 1 + k (the token
 * after a number) and 1 + d + k (place d), one row more than abacus. Cho et al.'s random start:
 * k is drawn from every shift that keeps the example's top row inside the table, so short
 * examples train the rows long ones read at evaluation (abacus: the same [0, abacus_max_offset)
 * for every example). Evaluation uses k = 0 in both. */
#include "../ops/ops.h"
#include "scheme.h"

typedef struct {
    Tensor *table;  /* [rows, D] */
    int rows;
    int coupled;    /* 1: the token after a number has a row of its own, 1 + k */
} Abacus;

/* The table row of a token with digit_index d in an example shifted by k (see the top). */
static int table_row(const Abacus *s, int d, int k) {
    if (d == 0 || (d == DIGIT_AFTER_NUMBER && !s->coupled)) return 0;
    return s->coupled ? 1 + (d == DIGIT_AFTER_NUMBER ? 0 : d) + k : d + k;
}

/* The largest offset a training example may draw. */
static int abacus_shift(const ModelConfig *c) { return c->abacus_max_offset > 0 ? c->abacus_max_offset - 1 : 0; }

static int abacus_check(const ModelConfig *c, LgErr *err) {
    if (c->abacus_max_digits < 1)
        return lg_err(err, "[model] abacus_max_digits = %d: must be >= 1", c->abacus_max_digits);
    if (c->abacus_max_offset < 0)
        return lg_err(err, "[model] abacus_max_offset = %d: must be >= 0", c->abacus_max_offset);
    return 0;
}

static void declare_table(PosEnc *pe, Params *p, const char *name, int coupled) {
    Abacus *s = lg_calloc(1, sizeof *s, "posenc abacus");
    s->coupled = coupled;
    s->rows = 1 + coupled + pe->cfg.abacus_max_digits + abacus_shift(&pe->cfg);
    int shape[2] = {s->rows, pe->D};
    s->table = params_add(p, name, 2, shape);
    pe->state = s;
}
static void abacus_declare(PosEnc *pe, Params *p) { declare_table(pe, p, "pe.abacus.weight", 0); }
static void coupled_declare(PosEnc *pe, Params *p) { declare_table(pe, p, "pe.coupled.weight", 1); }

static void abacus_init_weights(PosEnc *pe, Rng *rng, float std) {
    pe_fill_normal(((Abacus *)pe->state)->table, rng, std);
}

static int abacus_check_batch(const PosEnc *pe, const int *digit_index, int n, int training, LgErr *err) {
    if (!digit_index) return lg_err(err, "model: posenc %s needs digit indices", pe_names[pe->cfg.posenc]);
    int top = pe->cfg.abacus_max_digits + (training ? 0 : abacus_shift(&pe->cfg));
    for (int i = 0; i < n; i++) {
        int d = digit_index[i];
        if (d < DIGIT_AFTER_NUMBER)
            return lg_err(err, "model: digit index %d: must be a place >= 0 or %d (the token after a number)",
                          d, DIGIT_AFTER_NUMBER);
        if (d > top) return lg_err(err, "model: digit place %d past %d (raise [model] abacus_max_digits)", d, top);
    }
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
            LG_ASSERT(d >= DIGIT_AFTER_NUMBER, "digit index %d < %d", d, DIGIT_AFTER_NUMBER);
            int row = table_row(s, d, p->offset ? p->offset[b] : 0);
            LG_ASSERT(row < s->rows, "digit index %d reads row %d outside the %s table of %d rows (raise "
                                     "[model] abacus_max_digits)", d, row, pe_names[pe->cfg.posenc], s->rows);
            ids[b * p->T + t] = row;
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

/* Coupled draws whenever it trains: an example's room [0, rows - 1 - its top row at k = 0] is at
 * least [0, abacus_max_offset - 1] and grows as its numbers get shorter. */
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
        for (int t = 0; t < p->T; t++) {
            int row = table_row(s, p->digit_index[b * p->T + t], 0);
            if (row > top) top = row;
        }
        int room = s->rows - 1 - top;
        LG_ASSERT(room >= 0, "posenc coupled: row %d outside the table of %d rows", top, s->rows);
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
