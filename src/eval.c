/* eval: greedy decoding of held-out sets and the metrics of eval.h. */
#include "eval.h"

#include <string.h>
#include <unistd.h>

#include "data.h"
#include "rundir.h"
#include "util.h"

#define RNG_LABEL_EVAL_POSITIONS 0x65706f73ULL  /* "epos" */

void eval_positions_begin(EvalPositions *p, const Config *cfg, int task, int length) {
    rng_seed(&p->rng, cfg->run.seed);
    p->rng = rng_fork(&p->rng, RNG_LABEL_EVAL_POSITIONS + (uint64_t)task);
    p->rng = rng_fork(&p->rng, (uint64_t)length);
    p->random = cfg->eval.random_positions;
    p->max_pos = cfg->model.random_max_pos;
}

void eval_positions_next(EvalPositions *p, float *out, int n, int width) {
    if (p->random) {
        pe_random_positions(&p->rng, out, n, p->max_pos);
    } else {
        for (int t = 0; t < n; t++) out[t] = (float)t;
    }
    for (int t = n; t < width; t++) out[t] = out[n - 1];
}

int eval_positions_fit(const Config *cfg, int n_tokens, LgErr *err) {
    int max_pos = cfg->model.random_max_pos;
    if (!cfg->eval.random_positions || n_tokens <= max_pos) return 0;
    return lg_err(err, "%d tokens do not fit in the %d random positions of [model] random_max_pos ([eval] "
                  "random_positions)", n_tokens, max_pos);
}

static const volatile int *interrupt_flag;

void eval_set_interrupt(const volatile int *flag) { interrupt_flag = flag; }

static int interrupted(void) { return interrupt_flag && *interrupt_flag; }

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* One batch of nb examples (ex[0..nb)): decodes and scores them. Every int array is carved
 * out of one allocation (ints), the masks out of another. */
typedef struct DecodeBuf {
    int nb_cap, cap;          /* examples, tokens per example */
    TaskExample *ex;
    int *ints;                /* owns the int arrays below */
    float *ex_mask;           /* [nb * cap] */
    float *ex_pos, *kv_pos;   /* [nb * cap] each with [eval] random_positions (else NULL): each
                                 example's positions (padded to cap), the cache's rows of them */
    int *ex_tokens, *ex_digits;                  /* [nb * cap] each */
    int *prompts, *prompt_len, *prompt_digits;   /* [nb * cap], [nb], [nb * cap] */
    int *gen, *n_gen, *next, *next_digit, *done; /* [nb * cap], [nb], [nb], [nb], [nb] */
} DecodeBuf;

static void buf_init(DecodeBuf *d, int nb, int cap, int random_positions) {
    memset(d, 0, sizeof *d);
    d->nb_cap = nb;
    d->cap = cap;
    size_t n = (size_t)nb * cap;
    d->ex = lg_calloc((size_t)nb, sizeof *d->ex, "eval examples");
    d->ex_mask = lg_malloc(n * sizeof(float), "eval mask");
    if (random_positions) {
        d->ex_pos = lg_malloc(n * sizeof(float), "eval positions");
        d->kv_pos = lg_malloc(n * sizeof(float), "eval cache positions");
    }
    d->ints = lg_malloc((5 * n + 5 * (size_t)nb) * sizeof(int), "eval decode buffers");
    int **wide[] = {&d->ex_tokens, &d->ex_digits, &d->prompts, &d->prompt_digits, &d->gen};
    int **narrow[] = {&d->prompt_len, &d->n_gen, &d->next, &d->next_digit, &d->done};
    int *p = d->ints;
    for (int k = 0; k < 5; k++, p += n) *wide[k] = p;
    for (int k = 0; k < 5; k++, p += nb) *narrow[k] = p;
    for (int i = 0; i < nb; i++) {
        d->ex[i].tokens = d->ex_tokens + (size_t)i * cap;
        d->ex[i].digit_index = d->ex_digits + (size_t)i * cap;
        d->ex[i].loss_mask = d->ex_mask + (size_t)i * cap;
        d->ex[i].cap = cap;
    }
}

static void buf_free(DecodeBuf *d) {
    lg_free(d->ex);
    lg_free(d->ex_mask);
    lg_free(d->ex_pos);
    lg_free(d->kv_pos);
    lg_free(d->ints);
    memset(d, 0, sizeof *d);
}

/* Greedy decoding of d->ex[0..nb): fills gen / n_gen. */
static int decode_batch(Experiment *e, Ag *g, DecodeBuf *d, int nb, LgErr *err) {
    Model *m = &e->model;
    int V = m->vocab_size, T = 1, Tmax = 1;
    for (int b = 0; b < nb; b++) {
        const TaskExample *x = &d->ex[b];
        if (x->prompt_len > T) T = x->prompt_len;
        if (x->n_tokens > Tmax) Tmax = x->n_tokens;
    }
    for (int b = 0; b < nb; b++) {
        const TaskExample *x = &d->ex[b];
        d->prompt_len[b] = x->prompt_len;
        for (int t = 0; t < T; t++) {
            d->prompts[(size_t)b * T + t] = t < x->prompt_len ? x->tokens[t] : VOCAB_PAD;
            d->prompt_digits[(size_t)b * T + t] = t < x->prompt_len ? x->digit_index[t] : 0;
        }
        d->n_gen[b] = 0;
        d->done[b] = 0;
    }
    KVCache kv;
    if (model_kv_init(&kv, m, nb, Tmax, err) != 0) return -1;
    if (d->ex_pos) {
        /* example b's positions: rows of Tmax <= cap (a finished sequence holds its place) */
        for (int b = 0; b < nb; b++)
            memcpy(d->kv_pos + (size_t)b * Tmax, d->ex_pos + (size_t)b * d->cap, (size_t)Tmax * sizeof(float));
        if (model_kv_set_positions(&kv, m, d->kv_pos, err) != 0) {
            model_kv_free(&kv);
            return -1;
        }
    }
    ag_reset(g);
    Tensor *logits = model_prefill(m, g, &kv, d->prompts, d->prompt_len, T, d->prompt_digits);
    for (;;) {
        int active = 0;
        for (int b = 0; b < nb; b++) {
            const TaskExample *x = &d->ex[b];
            int answer_len = x->n_tokens - x->prompt_len;
            int tok = argmax(logits->data + (size_t)b * V, V);
            if (!d->done[b]) {
                d->gen[(size_t)b * d->cap + d->n_gen[b]++] = tok;
                if (tok == VOCAB_EOS || d->n_gen[b] >= answer_len) d->done[b] = 1;
            }
            /* finished sequences keep stepping with padding until the batch is done */
            int pos = x->prompt_len + d->n_gen[b] - 1;
            d->next[b] = d->done[b] ? VOCAB_PAD : tok;
            d->next_digit[b] = (!d->done[b] && pos < x->n_tokens) ? x->digit_index[pos] : 0;
            active += !d->done[b];
        }
        if (!active) break;
        ag_reset(g);
        logits = model_decode_step(m, g, &kv, d->next, d->next_digit);
        /* A finished sequence holds its place: its padding rewrites one cache row, the one after
           its last token, so it never passes its own n_tokens <= Tmax. (Advancing it would
           overflow the cache when a batch-mate with a shorter prompt has a longer answer.) */
        for (int b = 0; b < nb; b++) kv.len[b] -= d->done[b];
    }
    ag_reset(g);
    model_kv_free(&kv);
    return 0;
}

int eval_task_length(Experiment *e, int task, int length, int n, int batch, EvalResult *r,
                     EvalExampleFn fn, void *ctx, LgErr *err) {
    memset(r, 0, sizeof *r);
    r->task = task;
    r->length = length;
    r->first_error = -1;
    Task *t = e->tasks[task];
    int lo, hi;
    task_length_range(t, &lo, &hi);
    if (length < lo || length > hi) {
        snprintf(r->skipped, sizeof r->skipped, "task allows lengths %d..%d", lo, hi);
        return 0;
    }
    int cap = task_max_tokens(t, length);
    LgErr too_long;
    if (model_check_length(&e->model, cap, &too_long)) {
        snprintf(r->skipped, sizeof r->skipped, "%.159s", too_long.msg);
        return 0;
    }
    if (eval_positions_fit(&e->cfg, cap, &too_long)) {
        snprintf(r->skipped, sizeof r->skipped, "%.159s", too_long.msg);
        return 0;
    }
    if (batch > n) batch = n;
    /* the decode cache (keys and values of every layer for batch x cap positions) is the big
     * allocation: refuse one larger than half this machine's memory before making it */
    double need = 4.0 * batch * cap * (2.0 * e->model.L * e->cfg.model.d_model + 12);
    double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (have > 0 && need > have / 2)
        return lg_err(err, "%s at length %d in batches of %d needs about %.1f GiB to decode, more than half "
                      "this machine's %.1f GiB; lower the batch (--batch, [eval] batch_size) or the length",
                      task_name(t), length, batch, need / (1 << 30), have / (1 << 30));
    DecodeBuf d;
    buf_init(&d, batch, cap, e->cfg.eval.random_positions);
    Ag g;
    ag_init(&g, (size_t)1 << 20);
    ag_set_grad(&g, 0);
    EvalSetIter it;
    eval_set_begin(&it, &e->cfg, t, task, length);
    EvalPositions positions;   /* drawn example by example: the batch size changes nothing */
    eval_positions_begin(&positions, &e->cfg, task, length);
    long exact = 0, tok_ok = 0, tok_all = 0;
    double first_err_sum = 0;
    long n_wrong = 0;
    int rc = 0;
    for (int done = 0; done < n && rc == 0;) {
        if (interrupted()) {
            rc = 1;
            break;
        }
        int nb = n - done < batch ? n - done : batch;
        for (int b = 0; b < nb && rc == 0; b++) {
            rc = eval_set_next(&it, &d.ex[b], err);
            if (rc == 0 && d.ex_pos)
                eval_positions_next(&positions, d.ex_pos + (size_t)b * d.cap, d.ex[b].n_tokens, d.cap);
        }
        if (rc == 0) rc = decode_batch(e, &g, &d, nb, err);
        for (int b = 0; b < nb && rc == 0; b++) {
            const TaskExample *x = &d.ex[b];
            const int *gen = d.gen + (size_t)b * d.cap;
            int answer_len = x->n_tokens - x->prompt_len;
            int ok = task_answer_matches(x, gen, d.n_gen[b]);
            int first = -1;
            for (int i = 0; i < answer_len; i++) {
                int right = i < d.n_gen[b] && gen[i] == x->tokens[x->prompt_len + i];
                tok_ok += right;
                if (!right && first < 0) first = i;
            }
            tok_all += answer_len;
            exact += ok;
            if (!ok) {
                n_wrong++;
                first_err_sum += first < 0 ? answer_len : first;
            }
            if (fn) fn(e, task, x, gen, d.n_gen[b], ok, ctx);
        }
        done += nb;
    }
    ag_free(&g);
    buf_free(&d);
    if (rc != 0) return rc;
    r->n = n;
    r->exact_match = (double)exact / n;
    r->token_accuracy = tok_all ? (double)tok_ok / tok_all : 0;
    r->first_error = n_wrong ? first_err_sum / n_wrong : -1;
    return 0;
}

int eval_sweep(Experiment *e, int only, EvalResult *results, LgErr *err) {
    const EvalConfig *ec = &e->cfg.eval;
    memset(results, 0, (size_t)e->n_tasks * ec->n_lengths * sizeof *results);
    for (int t = 0; t < e->n_tasks; t++)
        for (int k = 0; k < ec->n_lengths; k++) {
            EvalResult *r = &results[t * ec->n_lengths + k];
            r->task = t;
            r->length = ec->lengths[k];
            if (only >= 0 ? t != only : t > 0 && !ec->hints) continue;
            int rc = eval_task_length(e, t, ec->lengths[k], ec->n, ec->batch_size, r, NULL, NULL, err);
            if (rc != 0) return rc;
        }
    return 0;
}

int eval_write_csv(FILE *f, const char *path, const Experiment *e, long step, const EvalResult *r, int n_results,
                   const char *overrides, LgErr *err) {
    for (int i = 0; i < n_results; i++)
        if (r[i].n)
            rundir_eval_row(f, step, task_name(e->tasks[r[i].task]), r[i].length, r[i].n, r[i].exact_match,
                            r[i].token_accuracy, r[i].first_error, overrides);
    return lg_flush_check(f, path, err);
}

void eval_print_table(FILE *f, const Experiment *e, long step, const EvalResult *r, int n_results) {
    const EvalConfig *ec = &e->cfg.eval;
    const TrainConfig *tr = &e->cfg.train;
    fprintf(f, "exact match (%%) at step %ld, %d held-out examples per length; * = a training length\n",
            step, ec->n);
    int shown[CFG_MAX_TASKS] = {0};
    for (int i = 0; i < n_results; i++)
        if (r[i].n) shown[r[i].task] = 1;
    fprintf(f, "%8s", "length");
    for (int t = 0; t < e->n_tasks; t++)
        if (shown[t]) fprintf(f, " %12s", task_name(e->tasks[t]));
    fputc('\n', f);
    for (int k = 0; k < ec->n_lengths; k++) {
        int len = ec->lengths[k];
        fprintf(f, "%7d%c", len, len >= tr->min_length && len <= tr->max_length ? '*' : ' ');
        for (int t = 0; t < e->n_tasks; t++) {
            if (!shown[t]) continue;
            int i = t * ec->n_lengths + k;
            if (i < n_results && r[i].n) fprintf(f, " %12.1f", 100.0 * r[i].exact_match);
            else fprintf(f, " %12s", "-");
        }
        fputc('\n', f);
    }
    for (int i = 0; i < n_results; i++)
        if (r[i].skipped[0] && r[i].task == 0)
            fprintf(f, "  (%s at length %d skipped: %s)\n", task_name(e->tasks[0]), r[i].length, r[i].skipped);
    fflush(f);
}

static int is_best_length(const EvalConfig *ec, int length) {
    if (ec->n_best_lengths == 0) return 1;
    for (int k = 0; k < ec->n_best_lengths; k++)
        if (ec->best_lengths[k] == length) return 1;
    return 0;
}

double eval_score(const Experiment *e, const EvalResult *r, int n_results, const char *metric) {
    double sum = 0;
    int n = 0;
    int tok = strcmp(metric, "token_accuracy") == 0;
    for (int i = 0; i < n_results; i++)
        if (r[i].task == 0 && r[i].n && is_best_length(&e->cfg.eval, r[i].length)) {
            sum += tok ? r[i].token_accuracy : r[i].exact_match;
            n++;
        }
    return n ? sum / n : -1;
}
