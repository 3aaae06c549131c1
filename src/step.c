/* step: one training step (forward, loss, backward, clip, optimizer). See step.h. */
#include "step.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops/ops.h"
#include "ops/par.h"
#include "util.h"

void step_init(Stepper *s, Model *m, Optim *opt, Ag *g, Rng *rng, const TrainConfig *tr, int B, int cap_T,
               double *task_nll, long *task_count, int n_tasks) {
    memset(s, 0, sizeof *s);
    s->m = m;
    s->opt = opt;
    s->g = g;
    s->rng = rng;
    s->tr = tr;
    s->task_nll = task_nll;
    s->task_count = task_count;
    s->n_tasks = task_nll ? n_tasks : 0;
    s->split = tr->length_split < 1 ? 1 : tr->length_split;
    if (s->split > STEP_MAX_SPLIT) s->split = STEP_MAX_SPLIT;
    if (s->split > B) s->split = B;
    /* a part holds a length-split part or a row slice (1 / STEP_GROUPS of the rows) */
    int fewest = s->split < STEP_GROUPS ? s->split : STEP_GROUPS, rows = (B + fewest - 1) / fewest;
    int n = s->split > STEP_GROUPS ? s->split : STEP_GROUPS;
    for (int i = 0; i < n; i++) batch_init(&s->parts[i], rows, cap_T);
    s->scratch = lg_malloc((size_t)(2 * B + cap_T + 2) * sizeof(int), "length split scratch");
    ag_init(&s->lane, (size_t)1 << 20);
    s->grad1 = lg_aligned_alloc(m->params.n * sizeof(float), "second gradient block");
    memset(s->grad1, 0, m->params.n * sizeof(float));
    if (s->n_tasks) {
        s->nll1 = lg_calloc((size_t)s->n_tasks, sizeof *s->nll1, "task losses");
        s->count1 = lg_calloc((size_t)s->n_tasks, sizeof *s->count1, "task counts");
    }
}

void step_free(Stepper *s) {
    for (int i = 0; i < STEP_MAX_SPLIT; i++)
        if (s->parts[i].cap_B) batch_free(&s->parts[i]);
    lg_free(s->scratch);
    ag_free(&s->lane);
    lg_free(s->grad1);
    lg_free(s->nll1);
    lg_free(s->count1);
    memset(s, 0, sizeof *s);
}

/* forward + backward of one part on tape g; returns its loss and adds its nll per task into
 * nll/count (may be NULL). Logits are computed at the loss positions only (weight > 0;
 * ModelBatch rows): the loss and its gradient are the same, since a position of weight 0
 * contributes nothing to either. */
static double grad_of(Stepper *s, Ag *g, const Batch *b, Rng *rng, double *task_nll, long *task_count) {
    ag_reset(g);
    int N = b->B * b->T, n = 0;
    int *rows = arena_alloc(&g->arena, (size_t)N * sizeof(int));
    for (int i = 0; i < N; i++)
        if (b->weights[i] > 0) rows[n++] = i;
    int *targets = arena_alloc(&g->arena, (size_t)(n ? n : 1) * sizeof(int));
    float *weights = arena_alloc(&g->arena, (size_t)(n ? n : 1) * sizeof(float));
    for (int i = 0; i < n; i++) {
        targets[i] = b->targets[rows[i]];
        weights[i] = b->weights[rows[i]];
    }
    /* row r's length: up to its last position of a task (or with loss); the rest is padding,
     * which the blocks then skip (ModelBatch lens) */
    int *lens = arena_alloc(&g->arena, (size_t)b->B * sizeof(int)), P = 0;
    for (int r = 0; r < b->B; r++) {
        int t = b->T - 1;
        while (t > 0 && b->pos_task[(size_t)r * b->T + t] < 0 && !(b->weights[(size_t)r * b->T + t] > 0)) t--;
        lens[r] = t + 1;
        P += lens[r];
    }
    ModelBatch in = {.tokens = b->tokens, .B = b->B, .T = b->T, .digit_index = b->digit_index, .training = 1,
                     .rng = rng, .rows = n && n < N ? rows : NULL, .n_rows = n, .lens = lens};
    Tensor *logits = model_forward(s->m, g, &in, NULL);  // [n, V]; [B, T, V] if n = 0 or N
    float *nll = task_nll ? arena_alloc(&g->arena, (size_t)(n ? n : 1) * sizeof(float)) : NULL;
    Tensor *loss = n ? op_cross_entropy(g, logits, targets, weights, nll)
                     : op_cross_entropy(g, logits, b->targets, b->weights, NULL);
    ag_backward(g, loss);
    /* The step's memory grows with its P real positions, which vary from batch to batch; scaled
     * to P = N it bounds every later batch of at most this shape (the part proportional to P
     * grows by N / P, the rest not at all), so the arena is sized for that once instead of
     * growing whenever a batch has more real positions than any before. */
    size_t bound = (size_t)((double)g->arena.used * N / P);
    double v = loss->data[0];
    if (nll)
        for (int i = 0; i < n; i++)
            if (b->pos_task[rows[i]] >= 0) {
                task_nll[b->pos_task[rows[i]]] += nll[i];
                task_count[b->pos_task[rows[i]]]++;
            }
    ag_reset(g);
    arena_reserve(&g->arena, bound);
    return v;
}

/* Cuts b into s->parts: by length, or else into STEP_GROUPS strided row slices. Returns the
 * number of parts (>= 1). */
static int make_parts(Stepper *s, const Batch *b) {
    int n = s->split > 1 ? batch_split_by_length(b, s->split, s->parts, s->scratch) : 0;
    if (n > 0) return n;
    for (int i = 0; i < STEP_GROUPS; i++)
        if (batch_take_rows(b, i, STEP_GROUPS, &s->parts[n]) > 0) n++;
    return n;
}

/* Deals the parts to the groups: largest first (padded tokens; ties by index) to the group
 * with the fewest padded tokens so far (ties to the lower group). Depends only on the parts. */
static void assign_groups(Stepper *s) {
    long load[STEP_GROUPS] = {0};
    int done[STEP_MAX_SPLIT] = {0};
    for (int k = 0; k < s->n_parts; k++) {
        int best = -1;
        for (int i = 0; i < s->n_parts; i++)
            if (!done[i] && (best < 0 || (long)s->parts[i].B * s->parts[i].T >
                                             (long)s->parts[best].B * s->parts[best].T))
                best = i;
        int grp = 0;
        for (int j = 1; j < STEP_GROUPS; j++)
            if (load[j] < load[grp]) grp = j;
        done[best] = 1;
        s->group[best] = grp;
        load[grp] += (long)s->parts[best].B * s->parts[best].T;
    }
}

/* Runs group grp's parts in index order on tape g: group 0 into the grad block and the
 * caller's task sums, group 1 into grad1, nll1 and count1. */
static void run_group(Stepper *s, int grp, Ag *g) {
    Params *p = &s->m->params;
    ag_redirect_params(g, p->grad, p->n, grp ? s->grad1 : NULL);
    double *nll = grp ? s->nll1 : s->task_nll;
    long *count = grp ? s->count1 : s->task_count;
    for (int i = 0; i < s->n_parts; i++)
        if (s->group[i] == grp) s->part_loss[i] = grad_of(s, g, &s->parts[i], &s->part_rng[i], nll, count);
    ag_redirect_params(g, NULL, 0, NULL);
}

float step_grad(Stepper *s, const Batch *b) {
    s->n_parts = make_parts(s, b);
    assign_groups(s);
    /* each part's own stream, by its index: the same draws whichever thread runs it */
    for (int i = 0; i < s->n_parts; i++) s->part_rng[i] = rng_fork(s->rng, (uint64_t)i + 1);
    rng_u64(s->rng);
    int busy = 0;   /* does group 1 have a part? */
    for (int i = 0; i < s->n_parts; i++) busy |= s->group[i] == 1;
    if (lg_threads() >= 2) {   /* even when group 1 is empty: ops on one thread, as at threads = 1 */
#pragma omp parallel num_threads(STEP_GROUPS)
        {
            int lane = 0, lanes = 1;
#ifdef _OPENMP
            lane = omp_get_thread_num();
            lanes = omp_get_num_threads();
            omp_set_num_threads(1);   /* this lane's ops and sgemms: on this thread only */
#endif
            for (int grp = lane; grp < STEP_GROUPS; grp += lanes) run_group(s, grp, grp ? &s->lane : s->g);
        }
    } else {
        run_group(s, 0, s->g);
        if (busy) run_group(s, 1, s->g);
    }
    if (busy) {
        Params *p = &s->m->params;
        float *grad = p->grad, *g1 = s->grad1;
        long n = (long)p->n;
#pragma omp parallel for schedule(static) if (OPS_PAR(n))
        for (long i = 0; i < n; i++) {
            grad[i] += g1[i];
            g1[i] = 0.0f;
        }
        for (int t = 0; t < s->n_tasks; t++) {
            s->task_nll[t] += s->nll1[t];
            s->task_count[t] += s->count1[t];
            s->nll1[t] = 0;
            s->count1[t] = 0;
        }
    }
    double loss = 0;   /* the parts' losses add up to b's */
    for (int i = 0; i < s->n_parts; i++) loss += s->part_loss[i];
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
