/* data: batches for training, held-out sets for evaluation. See data.h. */
#include "data.h"

#include <string.h>

#include "util.h"

#define RNG_LABEL_DATA 0x64617461ULL   /* "data" */
#define RNG_LABEL_EVAL 0x6576616cULL   /* "eval" */
#define RNG_LABEL_SET 0x74736574ULL    /* "tset": the fixed training set's examples */
#define RNG_LABEL_EPOCH 0x6570636fULL  /* "epco": the order of each of its epochs */
#define MAX_REDRAWS 32

void batch_init(Batch *b, int B, int cap_T) {
    memset(b, 0, sizeof *b);
    size_t n = (size_t)B * (size_t)cap_T;
    b->B = b->cap_B = B;
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

static int row_length(const Batch *b, int r) {
    const int *task = b->pos_task + (size_t)r * (size_t)b->T;
    int n = 0;
    while (n < b->T && task[n] >= 0) n++;
    return n;
}

/* Copies row r of b (its first n positions) into row dst of p, weights times scale, padded. */
static void copy_row(const Batch *b, int r, int n, Batch *p, int dst, float scale) {
    size_t from = (size_t)r * (size_t)b->T, to = (size_t)dst * (size_t)p->T;
    memcpy(p->tokens + to, b->tokens + from, (size_t)n * sizeof(int));
    memcpy(p->targets + to, b->targets + from, (size_t)n * sizeof(int));
    memcpy(p->digit_index + to, b->digit_index + from, (size_t)n * sizeof(int));
    memcpy(p->pos_task + to, b->pos_task + from, (size_t)n * sizeof(int));
    for (int t = 0; t < n; t++) p->weights[to + t] = b->weights[from + t] * scale;
    for (int t = n; t < p->T; t++) {
        p->tokens[to + t] = VOCAB_PAD;
        p->targets[to + t] = VOCAB_PAD;
        p->weights[to + t] = 0.0f;
        p->digit_index[to + t] = 0;
        p->pos_task[to + t] = -1;
    }
}

int batch_split_by_length(const Batch *b, int n, Batch *parts, int *scratch) {
    int B = b->B, T = b->T;
    int *len = scratch, *order = scratch + B, *count = scratch + 2 * (size_t)B;
    int lo = T, hi = 0;
    for (int r = 0; r < B; r++) {
        len[r] = row_length(b, r);
        lo = len[r] < lo ? len[r] : lo;
        hi = len[r] > hi ? len[r] : hi;
    }
    if (n > B) n = B;
    if (n <= 1 || lo == hi) return 0;
    long total = 0;
    for (int i = 0; i < B * T; i++) total += b->weights[i] > 0.0f;
    /* stable counting sort of the rows by length */
    memset(count, 0, (size_t)(T + 2) * sizeof(int));
    for (int r = 0; r < B; r++) count[len[r] + 1]++;
    for (int l = 1; l <= T + 1; l++) count[l] += count[l - 1];
    for (int r = 0; r < B; r++) order[count[len[r]]++] = r;
    int start = 0;
    for (int i = 0; i < n; i++) {
        Batch *p = &parts[i];
        int rows = B / n + (i < B % n), top = 1;
        LG_ASSERT(p->cap_B >= rows && p->cap_T >= T, "split part %d holds %d x %d, needs %d x %d", i, p->cap_B,
                  p->cap_T, rows, T);
        long pcount = 0;
        for (int j = start; j < start + rows; j++) {
            int r = order[j];
            top = len[r] > top ? len[r] : top;
            const float *w = b->weights + (size_t)r * (size_t)T;
            for (int t = 0; t < len[r]; t++) pcount += w[t] > 0.0f;
        }
        float scale = total > 0 ? (float)((double)pcount / (double)total) : 1.0f;
        p->B = rows;
        p->T = top;
        p->n_tokens = 0;
        for (int j = 0; j < rows; j++) {
            int r = order[start + j];
            copy_row(b, r, len[r], p, j, scale);
            p->n_tokens += len[r];
        }
        start += rows;
    }
    return n;
}

int batch_take_rows(const Batch *b, int first, int stride, Batch *out) {
    int rows = first < b->B ? (b->B - first + stride - 1) / stride : 0, top = 1;
    LG_ASSERT(out->cap_B >= rows && out->cap_T >= b->T, "row slice holds %d x %d, needs %d x %d", out->cap_B,
              out->cap_T, rows, b->T);
    long total = 0, count = 0;
    for (int i = 0; i < b->B * b->T; i++) total += b->weights[i] > 0.0f;
    for (int r = first; r < b->B; r += stride) {
        int n = row_length(b, r);
        top = n > top ? n : top;
        const float *w = b->weights + (size_t)r * (size_t)b->T;
        for (int t = 0; t < n; t++) count += w[t] > 0.0f;
    }
    float scale = total > 0 ? (float)((double)count / (double)total) : 1.0f;
    out->B = rows;
    out->T = top;
    out->n_tokens = 0;
    for (int j = 0, r = first; r < b->B; j++, r += stride) {
        int n = row_length(b, r);
        copy_row(b, r, n, out, j, scale);
        out->n_tokens += n;
    }
    return rows;
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

int data_max_length(const TrainConfig *tr, int ti) {
    return ti > 0 && tr->hint_max_length > 0 ? tr->hint_max_length : tr->max_length;
}

int data_train_tokens(const TrainConfig *tr, const Task *t, int ti) {
    int lo, hi, top = data_max_length(tr, ti);
    task_length_range(t, &lo, &hi);
    return task_max_tokens(t, top < hi ? top : hi);
}

int data_max_T(const DataStream *d) {
    const TrainConfig *tr = &d->cfg->train;
    if (tr->pack) return tr->pack_len ? tr->pack_len : d->cfg->model.max_pos;
    int T = 1;
    for (int i = 0; i < d->n_tasks; i++) {
        int n = data_train_tokens(tr, d->tasks[i], i) - 1;
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
    d->pool_rng = d->rng;

    /* scratch example big enough for any training length and any eval length */
    int cap = 1;
    for (int i = 0; i < n_tasks; i++) {
        int n = data_train_tokens(&cfg->train, tasks[i], i);
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
    d->set_epoch = -1;
    if (cfg->train.examples > 0) {
        /* cfg (validated by exp_build) has no pack and no curriculum with a set: cfg_validate
         * refuses both, since the set's examples must not depend on the step or the row */
        d->set_rng = rng_fork(&base, RNG_LABEL_SET);
        d->epoch_rng = rng_fork(&base, RNG_LABEL_EPOCH);
        d->set_order = lg_malloc((size_t)cfg->train.examples * sizeof(int), "training set order");
    }
    if (cfg->train.bucket > 1 && !cfg->train.pack) {
        size_t k = (size_t)cfg->train.bucket, slots = k * (size_t)cfg->train.batch_size;
        d->pool_k = (int)k;
        d->pool_next = d->pool_k;
        d->pool_tokens = lg_malloc(slots * (size_t)cap * sizeof(int), "bucket pool tokens");
        d->pool_digits = lg_malloc(slots * (size_t)cap * sizeof(int), "bucket pool digits");
        d->pool_mask = lg_malloc(slots * (size_t)cap * sizeof(float), "bucket pool masks");
        d->pool_len = lg_malloc(slots * sizeof(int), "bucket pool lengths");
        d->pool_task = lg_malloc(slots * sizeof(int), "bucket pool tasks");
        d->pool_sorted = lg_malloc(slots * sizeof(int), "bucket pool order");
        d->pool_count = lg_malloc((size_t)(cap + 2) * sizeof(int), "bucket length counts");
        d->pool_order = lg_malloc(k * sizeof(int), "bucket batch order");
        d->pool_scale = lg_malloc(k * sizeof(float), "bucket batch scales");
    }

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
    lg_free(d->pool_tokens);
    lg_free(d->pool_digits);
    lg_free(d->pool_mask);
    lg_free(d->pool_len);
    lg_free(d->pool_task);
    lg_free(d->pool_sorted);
    lg_free(d->pool_count);
    lg_free(d->pool_order);
    lg_free(d->pool_scale);
    lg_free(d->set_order);
    memset(d, 0, sizeof *d);
}

static int pick_task(DataStream *d, Rng *rng) {
    double total = d->cum_weight[d->n_tasks - 1];
    double u = (double)rng_uniform(rng) * total;
    for (int i = 0; i < d->n_tasks - 1; i++)
        if (u < d->cum_weight[i]) return i;
    return d->n_tasks - 1;
}

static int pick_length(DataStream *d, Rng *rng, int ti, int step) {
    const TrainConfig *tr = &d->cfg->train;
    Task *t = d->tasks[ti];
    int lo = tr->min_length, hi = data_max_length(tr, ti);
    if (tr->length_dist == LENDIST_CURRICULUM && tr->curriculum_steps > 0 && step < tr->curriculum_steps)
        hi = lo + (int)((double)(hi - lo) * (step + 1) / tr->curriculum_steps);
    /* a new run's lengths are within the task's (exp_check_lengths); a run made before that
     * check had them clamped here, and a resumed one keeps drawing as it did */
    int tlo, thi;
    task_length_range(t, &tlo, &thi);
    if (lo < tlo) lo = tlo;
    if (hi > thi) hi = thi;
    if (hi < lo) hi = lo;
    if (tr->length_dist == LENDIST_PAIRS) {
        /* P(n) = (2n - 1) / (hi^2 - (lo - 1)^2): the n with n^2 - (lo-1)^2 > u >= (n-1)^2 - (lo-1)^2 */
        uint64_t base = (uint64_t)(lo - 1) * (uint64_t)(lo - 1);
        uint64_t u = base + rng_below(rng, (uint64_t)hi * (uint64_t)hi - base);
        int n = lo;
        while ((uint64_t)n * (uint64_t)n <= u) n++;
        return n;
    }
    return (int)rng_range(rng, lo, hi);
}

/* Draws one example from rng into d->ex: the task, the length, the example, drawn again while
 * its prompt is held out (up to MAX_REDRAWS). Returns its task index or -1 with err. */
static int generate_from(DataStream *d, Rng *rng, int step, LgErr *err) {
    int ti = pick_task(d, rng);
    Task *t = d->tasks[ti];
    int len = pick_length(d, rng, ti, step);
    for (int tries = 0;; tries++) {
        if (task_generate_train(t, rng, len, &d->ex, err) != 0) return -1;
        if (tries >= MAX_REDRAWS || !excluded_has(d, task_hash_prompt(&d->ex))) break;
        d->redrawn++;
    }
    return ti;
}

/* The fixed set's example the stream takes next: set_order[k % N] of epoch k / N, k = set_taken. */
static long set_next_index(DataStream *d) {
    long long n = d->cfg->train.examples, epoch = d->set_taken / n;
    if (epoch != d->set_epoch) {
        for (long long i = 0; i < n; i++) d->set_order[i] = (int)i;
        Rng r = rng_fork(&d->epoch_rng, (uint64_t)epoch);
        rng_shuffle_int(&r, d->set_order, (int)n);
        d->set_epoch = epoch;
    }
    return d->set_order[d->set_taken++ % n];
}

/* Draws one training example into d->ex (a fresh one, or the fixed set's next); returns its
 * task index or -1 with err. A set has no curriculum (data_init), so `step` does not change
 * its examples. */
static int draw_example(DataStream *d, int step, LgErr *err) {
    if (!d->set_order) return generate_from(d, &d->rng, step, err);
    Rng r = rng_fork(&d->set_rng, (uint64_t)set_next_index(d));
    return generate_from(d, &r, step, err);
}

/* Writes positions [0, n) of the current example, shifted to start at example position
 * `from`, into row r at column `col`; `weighted` says whether its loss counts. */
static void put_tokens(DataStream *d, Batch *b, int r, int col, const int *tokens, const float *mask,
                       const int *digits, int from, int n, int ti, float scale) {
    float lw = d->cfg->task.tasks[ti].loss_weight * scale;
    size_t o = (size_t)r * (size_t)b->T + (size_t)col;
    for (int i = 0; i < n; i++) {
        int t = from + i;
        b->tokens[o + i] = tokens[t];
        b->targets[o + i] = tokens[t + 1];
        b->weights[o + i] = mask[t] * lw;
        b->digit_index[o + i] = digits[t];
        b->pos_task[o + i] = ti;
    }
}

static void put_example(DataStream *d, Batch *b, int r, int col, int from, int n, int ti, int weighted) {
    const TaskExample *ex = &d->ex;
    put_tokens(d, b, r, col, ex->tokens, ex->loss_mask, ex->digit_index, from, n, ti, weighted ? 1.0f : 0.0f);
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

/* ---- bucketing ---- */

/* Draws the next pool at `step`: pool_k * B examples in stream order, sorted by length, the
 * batch order shuffled, each batch's loss-weight scale set. */
static int fill_pool(DataStream *d, int step, int B, LgErr *err) {
    int k = d->pool_k, slots = k * B, cap = d->ex_cap;
    d->pool_rng = d->rng;
    for (int i = 0; i < slots; i++) {
        int ti = draw_example(d, step, err);
        if (ti < 0) return -1;
        size_t o = (size_t)i * (size_t)cap;
        int n = d->ex.n_tokens;
        memcpy(d->pool_tokens + o, d->ex.tokens, (size_t)n * sizeof(int));
        memcpy(d->pool_mask + o, d->ex.loss_mask, (size_t)n * sizeof(float));
        memcpy(d->pool_digits + o, d->ex.digit_index, (size_t)n * sizeof(int));
        d->pool_len[i] = n;
        d->pool_task[i] = ti;
    }
    /* stable counting sort by length: equal lengths keep stream order */
    memset(d->pool_count, 0, (size_t)(cap + 2) * sizeof(int));
    for (int i = 0; i < slots; i++) d->pool_count[d->pool_len[i] + 1]++;
    for (int n = 1; n <= cap + 1; n++) d->pool_count[n] += d->pool_count[n - 1];
    for (int i = 0; i < slots; i++) d->pool_sorted[d->pool_count[d->pool_len[i]]++] = i;
    for (int j = 0; j < k; j++) d->pool_order[j] = j;
    rng_shuffle_int(&d->rng, d->pool_order, k);
    /* loss positions per batch (what op_cross_entropy divides by) and their pool mean */
    double total = 0;
    for (int j = 0; j < k; j++) {
        long count = 0;
        for (int r = 0; r < B; r++) {
            int slot = d->pool_sorted[j * B + r];
            const float *m = d->pool_mask + (size_t)slot * (size_t)cap;
            float lw = d->cfg->task.tasks[d->pool_task[slot]].loss_weight;
            for (int t = 0; t + 1 < d->pool_len[slot]; t++) count += m[t] * lw > 0.0f;
        }
        d->pool_scale[j] = (float)count;
        total += (double)count;
    }
    double mean = total / k;
    for (int j = 0; j < k; j++) d->pool_scale[j] = mean > 0 ? (float)(d->pool_scale[j] / mean) : 1.0f;
    d->pool_next = 0;
    return 0;
}

static int next_bucketed(DataStream *d, int step, Batch *b, LgErr *err) {
    LG_ASSERT(b->B == d->cfg->train.batch_size, "bucketed batch of %d rows, want train.batch_size %d", b->B,
              d->cfg->train.batch_size);
    if (d->pool_next >= d->pool_k && fill_pool(d, step, b->B, err) != 0) return -1;
    int j = d->pool_order[d->pool_next++];
    const int *slots = d->pool_sorted + (size_t)j * (size_t)b->B;
    int T = 1;
    for (int r = 0; r < b->B; r++)
        if (d->pool_len[slots[r]] - 1 > T) T = d->pool_len[slots[r]] - 1;
    LG_ASSERT(T <= b->cap_T, "example of %d positions over the batch capacity %d", T, b->cap_T);
    b->T = T;
    b->n_tokens = 0;
    for (int r = 0; r < b->B; r++) {
        int slot = slots[r], n = d->pool_len[slot] - 1;   /* inputs 0..n-1 predict 1..n */
        size_t o = (size_t)slot * (size_t)d->ex_cap;
        put_tokens(d, b, r, 0, d->pool_tokens + o, d->pool_mask + o, d->pool_digits + o, 0, n, d->pool_task[slot],
                   d->pool_scale[j]);
        pad_row(b, r, n);
        b->n_tokens += n;
    }
    if (d->pool_next == d->pool_k) d->pool_rng = d->rng;   /* the next batch starts a new pool */
    return 0;
}

int data_next(DataStream *d, int step, Batch *b, LgErr *err) {
    int rc;
    if (d->cfg->train.pack) rc = next_packed(d, step, b, err);
    else if (d->pool_k) rc = next_bucketed(d, step, b, err);
    else rc = next_unpacked(d, step, b, err);
    if (rc == 0) d->served++;
    if (!d->pool_k) d->pool_rng = d->rng;
    return rc;
}

int data_seek(DataStream *d, long batches, LgErr *err) {
    d->rng = d->pool_rng;
    d->served = batches;
    long within = d->pool_k ? batches % d->pool_k : 0;
    /* a fixed set: batches (of batch_size examples each: no pack) before the current pool */
    d->set_taken = (long long)(batches - within) * d->cfg->train.batch_size;
    if (!d->pool_k) return 0;
    d->pool_next = d->pool_k;
    if (within == 0) return 0;
    int step = (int)((batches - within) / d->cfg->train.grad_accum);
    if (fill_pool(d, step, d->cfg->train.batch_size, err) != 0) return -1;
    d->pool_next = (int)within;
    return 0;
}
