/* data: batches for training, held-out sets for evaluation. See data.h. */
#include "data.h"

#include <string.h>

#include "util.h"

#define RNG_LABEL_DATA 0x64617461ULL   /* "data" */
#define RNG_LABEL_EVAL 0x6576616cULL   /* "eval" */
#define MAX_REDRAWS 32

void batch_init(Batch *b, int B, int cap_T) {
    memset(b, 0, sizeof *b);
    size_t n = (size_t)B * (size_t)cap_T;
    b->B = B;
    b->cap_T = cap_T;
    b->tokens = lg_malloc(n * sizeof(int), "batch tokens");
    b->targets = lg_malloc(n * sizeof(int), "batch targets");
    b->digit_index = lg_malloc(n * sizeof(int), "batch digit index");
    b->pos_task = lg_malloc(n * sizeof(int), "batch task ids");
    b->weights = lg_malloc(n * sizeof(float), "batch weights");
}

void batch_free(Batch *b) {
    lg_free(b->tokens);
    lg_free(b->targets);
    lg_free(b->digit_index);
    lg_free(b->pos_task);
    lg_free(b->weights);
    memset(b, 0, sizeof *b);
}

/* ---- the held-out prompt set ---- */

static void excluded_add(DataStream *d, uint64_t h) {
    if (h == 0) h = 1;  /* 0 marks an empty slot */
    size_t mask = d->excluded_cap - 1, i = (size_t)h & mask;
    while (d->excluded[i] && d->excluded[i] != h) i = (i + 1) & mask;
    d->excluded[i] = h;
}

static int excluded_has(const DataStream *d, uint64_t h) {
    if (!d->excluded_cap) return 0;
    if (h == 0) h = 1;
    size_t mask = d->excluded_cap - 1, i = (size_t)h & mask;
    while (d->excluded[i]) {
        if (d->excluded[i] == h) return 1;
        i = (i + 1) & mask;
    }
    return 0;
}

void eval_set_begin(EvalSetIter *it, const Config *cfg, Task *task, int task_index, int length) {
    Rng base;
    rng_seed(&base, cfg->run.seed);
    Rng per_task = rng_fork(&base, RNG_LABEL_EVAL + (uint64_t)task_index);
    it->rng = rng_fork(&per_task, (uint64_t)length);
    it->task = task;
    it->length = length;
}

int eval_set_next(EvalSetIter *it, TaskExample *ex, LgErr *err) {
    return task_generate(it->task, &it->rng, it->length, ex, err);
}

static int length_legal(Task *t, int length) {
    int lo, hi;
    task_length_range(t, &lo, &hi);
    return length >= lo && length <= hi;
}

/* ---- the stream ---- */

int data_train_tokens(const TrainConfig *tr, const Task *t) {
    int lo, hi;
    task_length_range(t, &lo, &hi);
    return task_max_tokens(t, tr->max_length < hi ? tr->max_length : hi);
}

int data_max_T(const DataStream *d) {
    const TrainConfig *tr = &d->cfg->train;
    if (tr->pack) return tr->pack_len ? tr->pack_len : d->cfg->model.max_pos;
    int T = 1;
    for (int i = 0; i < d->n_tasks; i++) {
        int n = data_train_tokens(tr, d->tasks[i]) - 1;
        if (n > T) T = n;
    }
    return T;
}

int data_init(DataStream *d, const Config *cfg, Task **tasks, int n_tasks, LgErr *err) {
    memset(d, 0, sizeof *d);
    d->cfg = cfg;
    d->tasks = tasks;
    d->n_tasks = n_tasks;
    double total = 0;
    for (int i = 0; i < n_tasks; i++) {
        total += cfg->task.tasks[i].sample_weight;
        d->cum_weight[i] = total;
    }
    Rng base;
    rng_seed(&base, cfg->run.seed);
    d->rng = rng_fork(&base, RNG_LABEL_DATA);

    /* scratch example big enough for any training length and any eval length */
    int cap = 1;
    for (int i = 0; i < n_tasks; i++) {
        int n = data_train_tokens(&cfg->train, tasks[i]);
        if (n > cap) cap = n;
        for (int k = 0; k < cfg->eval.n_lengths; k++)
            if (length_legal(tasks[i], cfg->eval.lengths[k])) {
                n = task_max_tokens(tasks[i], cfg->eval.lengths[k]);
                if (n > cap) cap = n;
            }
    }
    d->ex_cap = cap;
    d->ex.tokens = lg_malloc((size_t)cap * sizeof(int), "example tokens");
    d->ex.loss_mask = lg_malloc((size_t)cap * sizeof(float), "example mask");
    d->ex.digit_index = lg_malloc((size_t)cap * sizeof(int), "example digits");
    d->ex.cap = cap;

    /* every held-out prompt, so training never sees one */
    size_t n_held = 0;
    for (int i = 0; i < n_tasks; i++)
        for (int k = 0; k < cfg->eval.n_lengths; k++)
            if (length_legal(tasks[i], cfg->eval.lengths[k])) n_held += (size_t)cfg->eval.n;
    d->excluded_cap = 64;
    while (d->excluded_cap < 2 * n_held) d->excluded_cap *= 2;
    d->excluded = lg_calloc(d->excluded_cap, sizeof(uint64_t), "held-out prompt set");
    for (int i = 0; i < n_tasks; i++)
        for (int k = 0; k < cfg->eval.n_lengths; k++) {
            int len = cfg->eval.lengths[k];
            if (!length_legal(tasks[i], len)) continue;
            EvalSetIter it;
            eval_set_begin(&it, cfg, tasks[i], i, len);
            for (int j = 0; j < cfg->eval.n; j++) {
                if (eval_set_next(&it, &d->ex, err) != 0) {
                    data_free(d);
                    return -1;
                }
                excluded_add(d, task_hash_prompt(&d->ex));
            }
        }
    return 0;
}

void data_free(DataStream *d) {
    lg_free(d->ex.tokens);
    lg_free(d->ex.loss_mask);
    lg_free(d->ex.digit_index);
    lg_free(d->excluded);
    memset(d, 0, sizeof *d);
}

static int pick_task(DataStream *d) {
    double total = d->cum_weight[d->n_tasks - 1];
    double u = (double)rng_uniform(&d->rng) * total;
    for (int i = 0; i < d->n_tasks - 1; i++)
        if (u < d->cum_weight[i]) return i;
    return d->n_tasks - 1;
}

static int pick_length(DataStream *d, Task *t, int step) {
    const TrainConfig *tr = &d->cfg->train;
    int lo = tr->min_length, hi = tr->max_length;
    if (tr->length_dist == LENDIST_CURRICULUM && tr->curriculum_steps > 0 && step < tr->curriculum_steps)
        hi = lo + (int)((double)(hi - lo) * (step + 1) / tr->curriculum_steps);
    int tlo, thi;
    task_length_range(t, &tlo, &thi);
    if (lo < tlo) lo = tlo;
    if (hi > thi) hi = thi;
    if (hi < lo) hi = lo;
    return (int)rng_range(&d->rng, lo, hi);
}

/* Draws one training example into d->ex; returns its task index or -1 with err. */
static int draw_example(DataStream *d, int step, LgErr *err) {
    int ti = pick_task(d);
    Task *t = d->tasks[ti];
    int len = pick_length(d, t, step);
    for (int tries = 0;; tries++) {
        if (task_generate_train(t, &d->rng, len, &d->ex, err) != 0) return -1;
        if (tries >= MAX_REDRAWS || !excluded_has(d, task_hash_prompt(&d->ex))) break;
        d->redrawn++;
    }
    return ti;
}

/* Writes positions [0, n) of the current example, shifted to start at example position
 * `from`, into row r at column `col`; `weighted` says whether its loss counts. */
static void put_example(DataStream *d, Batch *b, int r, int col, int from, int n, int ti, int weighted) {
    const TaskExample *ex = &d->ex;
    float lw = d->cfg->task.tasks[ti].loss_weight;
    size_t o = (size_t)r * (size_t)b->T + (size_t)col;
    for (int i = 0; i < n; i++) {
        int t = from + i;
        b->tokens[o + i] = ex->tokens[t];
        b->targets[o + i] = ex->tokens[t + 1];
        b->weights[o + i] = weighted ? ex->loss_mask[t] * lw : 0.0f;
        b->digit_index[o + i] = ex->digit_index[t];
        b->pos_task[o + i] = ti;
    }
}

static void pad_row(Batch *b, int r, int from) {
    size_t o = (size_t)r * (size_t)b->T;
    for (int t = from; t < b->T; t++) {
        b->tokens[o + t] = VOCAB_PAD;
        b->targets[o + t] = VOCAB_PAD;
        b->weights[o + t] = 0.0f;
        b->digit_index[o + t] = 0;
        b->pos_task[o + t] = -1;
    }
}

static int next_unpacked(DataStream *d, int step, Batch *b, LgErr *err) {
    /* rows are filled at stride cap_T first, then compacted to stride T */
    int B = b->B, T = 1;
    int lens[4096];
    LG_ASSERT(B <= 4096, "batch of %d rows is over 4096", B);
    int saveT = b->T;
    b->T = b->cap_T;
    b->n_tokens = 0;
    for (int r = 0; r < B; r++) {
        int ti = draw_example(d, step, err);
        if (ti < 0) { b->T = saveT; return -1; }
        int n = d->ex.n_tokens - 1;  /* inputs 0..n-1 predict 1..n */
        LG_ASSERT(n <= b->cap_T, "example of %d positions over the batch capacity %d", n, b->cap_T);
        put_example(d, b, r, 0, 0, n, ti, 1);
        lens[r] = n;
        b->n_tokens += n;
        if (n > T) T = n;
    }
    /* compact: row r moves from offset r*cap_T to r*T (forward order never overwrites unread data) */
    for (int r = 0; r < B; r++) {
        size_t from = (size_t)r * (size_t)b->cap_T, to = (size_t)r * (size_t)T;
        if (from != to) {
            memmove(b->tokens + to, b->tokens + from, (size_t)lens[r] * sizeof(int));
            memmove(b->targets + to, b->targets + from, (size_t)lens[r] * sizeof(int));
            memmove(b->weights + to, b->weights + from, (size_t)lens[r] * sizeof(float));
            memmove(b->digit_index + to, b->digit_index + from, (size_t)lens[r] * sizeof(int));
            memmove(b->pos_task + to, b->pos_task + from, (size_t)lens[r] * sizeof(int));
        }
    }
    b->T = T;
    for (int r = 0; r < B; r++) pad_row(b, r, lens[r]);
    return 0;
}

static int next_packed(DataStream *d, int step, Batch *b, LgErr *err) {
    int T = b->cap_T;
    b->T = T;
    b->n_tokens = 0;
    for (int r = 0; r < b->B; r++) {
        int col = 0, first = 1;
        while (col < T) {
            int ti = draw_example(d, step, err);
            if (ti < 0) return -1;
            int n = d->ex.n_tokens - 1;
            int from = 0;
            if (first) {  /* random shift: the row starts inside its first example */
                from = (int)rng_below(&d->rng, (uint64_t)n);
                first = 0;
            }
            int take = n - from;
            int whole = from == 0 && col + take <= T;
            if (col + take > T) take = T - col;
            put_example(d, b, r, col, from, take, ti, whole);
            col += take;
        }
        b->n_tokens += T;
    }
    return 0;
}

int data_next(DataStream *d, int step, Batch *b, LgErr *err) {
    return d->cfg->train.pack ? next_packed(d, step, b, err) : next_unpacked(d, step, b, err);
}
