/* step: one training step (forward, loss, backward, clip, optimizer). See step.h. */
#include "step.h"

#include <math.h>
#include <string.h>

#include "ops/ops.h"
#include "util.h"

void step_init(Stepper *s, Model *m, Optim *opt, Ag *g, Rng *rng, const TrainConfig *tr, int B, int cap_T,
               double *task_nll, long *task_count) {
    memset(s, 0, sizeof *s);
    s->m = m;
    s->opt = opt;
    s->g = g;
    s->rng = rng;
    s->tr = tr;
    s->task_nll = task_nll;
    s->task_count = task_count;
    s->split = tr->length_split < 1 ? 1 : tr->length_split;
    if (s->split > STEP_MAX_SPLIT) s->split = STEP_MAX_SPLIT;
    if (s->split > B) s->split = B;
    if (s->split > 1) {
        int rows = (B + s->split - 1) / s->split;
        for (int i = 0; i < s->split; i++) batch_init(&s->parts[i], rows, cap_T);
        s->scratch = lg_malloc((size_t)(2 * B + cap_T + 2) * sizeof(int), "length split scratch");
    }
}

void step_free(Stepper *s) {
    if (s->split > 1)
        for (int i = 0; i < s->split; i++) batch_free(&s->parts[i]);
    lg_free(s->scratch);
    memset(s, 0, sizeof *s);
}

/* forward + backward of one (part of a) batch; returns its loss. Logits are computed at the
 * loss positions only (weight > 0; ModelBatch rows): the loss and its gradient are the same,
 * since a position of weight 0 contributes nothing to either. */
static float grad_of(Stepper *s, const Batch *b) {
    ag_reset(s->g);
    int N = b->B * b->T, n = 0;
    int *rows = arena_alloc(&s->g->arena, (size_t)N * sizeof(int));
    for (int i = 0; i < N; i++)
        if (b->weights[i] > 0) rows[n++] = i;
    int *targets = arena_alloc(&s->g->arena, (size_t)(n ? n : 1) * sizeof(int));
    float *weights = arena_alloc(&s->g->arena, (size_t)(n ? n : 1) * sizeof(float));
    for (int i = 0; i < n; i++) {
        targets[i] = b->targets[rows[i]];
        weights[i] = b->weights[rows[i]];
    }
    /* row r's length: up to its last position of a task (or with loss); the rest is padding,
     * which the blocks then skip (ModelBatch lens) */
    int *lens = arena_alloc(&s->g->arena, (size_t)b->B * sizeof(int)), P = 0;
    for (int r = 0; r < b->B; r++) {
        int t = b->T - 1;
        while (t > 0 && b->pos_task[(size_t)r * b->T + t] < 0 && !(b->weights[(size_t)r * b->T + t] > 0)) t--;
        lens[r] = t + 1;
        P += lens[r];
    }
    ModelBatch in = {.tokens = b->tokens, .B = b->B, .T = b->T, .digit_index = b->digit_index, .training = 1,
                     .rng = s->rng, .rows = n && n < N ? rows : NULL, .n_rows = n, .lens = lens};
    Tensor *logits = model_forward(s->m, s->g, &in, NULL);  // [n, V]; [B, T, V] if n = 0 or N
    float *nll = s->task_nll ? arena_alloc(&s->g->arena, (size_t)(n ? n : 1) * sizeof(float)) : NULL;
    Tensor *loss = n ? op_cross_entropy(s->g, logits, targets, weights, nll)
                     : op_cross_entropy(s->g, logits, b->targets, b->weights, NULL);
    ag_backward(s->g, loss);
    /* The step's memory grows with its P real positions, which vary from batch to batch; scaled
     * to P = N it bounds every later batch of at most this shape (the part proportional to P
     * grows by N / P, the rest not at all), so the arena is sized for that once instead of
     * growing whenever a batch has more real positions than any before. */
    size_t bound = (size_t)((double)s->g->arena.used * N / P);
    float v = loss->data[0];
    if (nll)
        for (int i = 0; i < n; i++)
            if (b->pos_task[rows[i]] >= 0) {
                s->task_nll[b->pos_task[rows[i]]] += nll[i];
                s->task_count[b->pos_task[rows[i]]]++;
            }
    ag_reset(s->g);
    arena_reserve(&s->g->arena, bound);
    return v;
}

float step_grad(Stepper *s, const Batch *b) {
    int n = s->split > 1 ? batch_split_by_length(b, s->split, s->parts, s->scratch) : 0;
    if (n == 0) return grad_of(s, b);
    double loss = 0;   /* the parts' losses add up to b's */
    for (int i = 0; i < n; i++) loss += grad_of(s, &s->parts[i]);
    return (float)loss;
}

int step_update(Stepper *s, float lr, int n_micro, float loss, float *norm_out) {
    Params *p = &s->m->params;
    if (n_micro > 1) optim_scale_grads(p, 1.0f / (float)n_micro);
    float norm = optim_clip_grad_norm(p, s->tr->grad_clip);
    *norm_out = norm;
    if (!isfinite(loss) || !isfinite(norm)) return 0;
    optim_step(s->opt, p, lr);
    params_zero_grad(p);
    return 1;
}
