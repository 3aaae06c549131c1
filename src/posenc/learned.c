/* learned: a trained table of absolute positions added to the token embedding (pos_emb.weight,
 * [rows, D] with rows = max_pos, or random_max_pos when randomized positions need more). */
#include <math.h>

#include "../ops/ops.h"
#include "scheme.h"

typedef struct {
    Tensor *table;  /* [rows, D] */
    int rows;
} Learned;

static int learned_check(const ModelConfig *c, LgErr *err) {
    if (c->max_pos < 1) return lg_err(err, "[model] max_pos = %d: must be >= 1", c->max_pos);
    return 0;
}

static void learned_declare(PosEnc *pe, Params *p) {
    Learned *s = lg_calloc(1, sizeof *s, "posenc learned");
    s->rows = pe->cfg.max_pos;
    if (pe->cfg.random_positions && pe->cfg.random_max_pos > s->rows) s->rows = pe->cfg.random_max_pos;
    int shape[2] = {s->rows, pe->D};
    s->table = params_add(p, "pos_emb.weight", 2, shape);
    pe->state = s;
}

static void learned_init_weights(PosEnc *pe, Rng *rng, float std) {
    pe_fill_normal(((Learned *)pe->state)->table, rng, std);
}

static int learned_max_position(const PosEnc *pe) { return ((const Learned *)pe->state)->rows; }

static Tensor *learned_embed(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p) {
    const Learned *s = pe->state;
    int n = p->B * p->T;
    int *ids = arena_alloc(&g->arena, (size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) {
        int r = (int)lrintf(p->pos[i]);
        LG_ASSERT(r >= 0 && r < s->rows,
                  "position %d is outside the learned table of %d rows (raise [model] max_pos)", r, s->rows);
        ids[i] = r;
    }
    return op_add(g, x, op_embedding(g, s->table, ids, p->B, p->T));
}

const PeScheme pe_scheme_learned = {
    .by_position = 1,
    .check = learned_check,
    .declare = learned_declare,
    .init_weights = learned_init_weights,
    .max_position = learned_max_position,
    .embed = learned_embed,
};
