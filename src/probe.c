/* probe: forward passes over held-out examples with the attention and hidden-state trace,
 * written batch by batch into an HDF5 file (layout in probe.h and docs/probing.md). */
#include "probe.h"

#include <hdf5.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#include "data.h"
#include "eval.h"
#include "h5util.h"

/* ---- HDF5 writing (shared helpers in h5util.h); errors name the file and the dataset ---- */

typedef struct H5Out {
    hid_t file;
    const char *path;         /* the file's name, for messages (it is built in memory) */
} H5Out;

static int h5_fail(const H5Out *h, const char *what, LgErr *err) {
    return lg_err(err, "%s: cannot write %s (out of memory?)", h->path, what);
}

static int attr_i64(const H5Out *h, const char *name, int64_t value, LgErr *err) {
    return h5u_attr_num(h->file, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &value, h->path, err);
}

/* Chunks of one example (one row of dim 0) for dims[0..ndim), 1 <= ndim <= 4; a 1-D array is
 * one chunk. */
static void row_chunk(hsize_t *chunk, int ndim, const hsize_t *dims) {
    for (int i = 0; i < ndim; i++) chunk[i] = dims[i] ? dims[i] : 1;
    if (ndim > 1) chunk[0] = 1;
}

/* Creates a numeric dataset of dims[0..ndim) chunked per example and deflate-compressed, to be
 * filled by write_rows; groups on the path are created. Returns the dataset or -1. */
static hid_t create_rows(const H5Out *h, const char *name, hid_t ftype, int ndim, const hsize_t *dims,
                         LgErr *err) {
    hsize_t chunk[4];
    row_chunk(chunk, ndim, dims);
    return h5u_create_dataset(h->file, name, ftype, ndim, dims, chunk, h->path, err);
}

/* Writes a whole int32 dataset [dims] chunked like create_rows from contiguous ints. */
static int write_ints(const H5Out *h, const char *name, int ndim, const hsize_t *dims, const int *data, LgErr *err) {
    hsize_t chunk[4];
    row_chunk(chunk, ndim, dims);
    return h5u_write_dataset(h->file, name, H5T_STD_I32LE, ndim, dims, chunk, H5T_NATIVE_INT, data, h->path, err);
}

/* Writes rows [row0, row0 + nrows) of a dataset made by create_rows from contiguous data. */
static int write_rows(const H5Out *h, hid_t ds, const char *name, hid_t mtype, const void *data, hsize_t row0,
                      hsize_t nrows, LgErr *err) {
    hsize_t dims[4], start[4] = {row0, 0, 0, 0};
    hid_t fs = H5Dget_space(ds), ms = -1;
    int ndim = fs >= 0 ? H5Sget_simple_extent_ndims(fs) : -1;
    int ok = ndim >= 1 && ndim <= 4 && H5Sget_simple_extent_dims(fs, dims, NULL) == ndim;
    if (ok) {
        dims[0] = nrows;
        ok = H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, dims, NULL) >= 0 &&
             (ms = H5Screate_simple(ndim, dims, NULL)) >= 0 && H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, data) >= 0;
    }
    h5u_close(ms);
    h5u_close(fs);
    return ok ? 0 : h5_fail(h, name, err);
}

/* ---- the examples ---- */

typedef struct ProbeSet {
    int n, cap, T;            /* examples, tokens allocated per example, longest example */
    int *tokens, *digits;     /* [n, cap] */
    float *pos;               /* [n, cap] the positions lengen eval gives each example, padded */
    int *n_tokens, *prompt_len;
    char **text;              /* [n] owned strings */
} ProbeSet;

static void set_free(ProbeSet *s) {
    for (int i = 0; s->text && i < s->n; i++) lg_free(s->text[i]);
    lg_free(s->text);
    lg_free(s->tokens);
    lg_free(s->digits);
    lg_free(s->pos);
    lg_free(s->n_tokens);
    lg_free(s->prompt_len);
    memset(s, 0, sizeof *s);
}

static int set_generate(ProbeSet *s, Experiment *e, const ProbeOptions *o, LgErr *err) {
    memset(s, 0, sizeof *s);
    Task *t = e->tasks[o->task];
    s->n = o->n;
    s->cap = task_max_tokens(t, o->length);
    s->tokens = lg_calloc((size_t)s->n * s->cap, sizeof(int), "probe tokens");
    s->digits = lg_calloc((size_t)s->n * s->cap, sizeof(int), "probe digit index");
    s->pos = lg_calloc((size_t)s->n * s->cap, sizeof(float), "probe positions");
    s->n_tokens = lg_calloc((size_t)s->n, sizeof(int), "probe n_tokens");
    s->prompt_len = lg_calloc((size_t)s->n, sizeof(int), "probe prompt_len");
    s->text = lg_calloc((size_t)s->n, sizeof(char *), "probe text");
    float *mask = lg_malloc((size_t)s->cap * sizeof(float), "probe mask");
    size_t text_cap = (size_t)s->cap * (VOCAB_TOKEN_MAX + 1) + 16;
    EvalSetIter it;
    eval_set_begin(&it, &e->cfg, t, o->task, o->length);
    EvalPositions positions;
    eval_positions_begin(&positions, &e->cfg, o->task, o->length);
    int rc = 0;
    for (int i = 0; i < s->n && rc == 0; i++) {
        TaskExample ex = {s->tokens + (size_t)i * s->cap, mask, s->digits + (size_t)i * s->cap, s->cap, 0, 0, 0};
        rc = eval_set_next(&it, &ex, err);
        if (rc) break;
        eval_positions_next(&positions, s->pos + (size_t)i * s->cap, ex.n_tokens, s->cap);
        s->n_tokens[i] = ex.n_tokens;
        s->prompt_len[i] = ex.prompt_len;
        if (ex.n_tokens > s->T) s->T = ex.n_tokens;
        s->text[i] = lg_malloc(text_cap, "probe text");
        task_format(t, &ex, s->text[i], text_cap);
    }
    lg_free(mask);
    if (rc) set_free(s);
    return rc;
}

/* ---- the run ---- */

/* The set's model inputs, padded to [N, T]: tokens (<pad> = 0 after each example), digit
 * places (0 after it), positions (the last one repeated after it). */
typedef struct ProbeInputs {
    int *tok, *dig;
    float *pos;
} ProbeInputs;

static void padded_inputs(const ProbeSet *s, ProbeInputs *in) {
    size_t n = (size_t)s->n * s->T;
    in->tok = lg_calloc(n, sizeof(int), "probe padded tokens");   /* VOCAB_PAD = 0 */
    in->dig = lg_calloc(n, sizeof(int), "probe padded digits");
    in->pos = lg_malloc(n * sizeof(float), "probe padded positions");
    for (int i = 0; i < s->n; i++) {
        int k = s->n_tokens[i];
        memcpy(in->tok + (size_t)i * s->T, s->tokens + (size_t)i * s->cap, (size_t)k * sizeof(int));
        memcpy(in->dig + (size_t)i * s->T, s->digits + (size_t)i * s->cap, (size_t)k * sizeof(int));
        memcpy(in->pos + (size_t)i * s->T, s->pos + (size_t)i * s->cap, (size_t)s->T * sizeof(float));
    }
}

static void inputs_free(ProbeInputs *in) {
    lg_free(in->tok);
    lg_free(in->dig);
    lg_free(in->pos);
}

/* What one batch of the forward gives a sink: examples [i0, i0 + nb) of the set, their logits
 * [nb, T, V], attention [L] x [nb, H, T, T] and hidden states [L] x [nb, T, D] (NULL without). */
typedef int (*BatchSink)(void *sink, int i0, int nb, const Tensor *logits, Tensor *const *attn,
                         Tensor *const *hidden);

/* Runs the model without grad over the set in batches of o->batch, teacher-forced, and hands
 * each batch to sink; stops at the first sink failure. */
static int run_batches(Experiment *e, const ProbeOptions *o, const ProbeSet *s, const ProbeInputs *pin,
                       BatchSink fn, void *sink, LgErr *err) {
    Model *m = &e->model;
    int N = s->n, T = s->T, L = m->L, rc = 0;
    Tensor **attn = lg_calloc((size_t)L, sizeof(Tensor *), "probe attn trace");
    Tensor **hidden = lg_calloc((size_t)L, sizeof(Tensor *), "probe hidden trace");
    ModelTrace trace = {attn, o->hidden ? hidden : NULL};
    Ag g;
    ag_init(&g, (size_t)1 << 20);
    ag_set_grad(&g, 0);
    int batch = o->batch > 0 ? o->batch : 8;
    for (int i0 = 0; i0 < N && !rc; i0 += batch) {
        int nb = N - i0 < batch ? N - i0 : batch;
        ModelBatch in = {.tokens = pin->tok + (size_t)i0 * T, .B = nb, .T = T, .digit_index = pin->dig + (size_t)i0 * T,
                         .positions = e->cfg.eval.random_positions ? pin->pos + (size_t)i0 * T : NULL};
        if (model_check_batch(m, &in, err) != 0) {
            rc = -1;
            break;
        }
        ag_reset(&g);
        Tensor *logits = model_forward(m, &g, &in, &trace);
        rc = fn(sink, i0, nb, logits, attn, o->hidden ? hidden : NULL);
    }
    ag_free(&g);
    lg_free(attn);
    lg_free(hidden);
    return rc ? -1 : 0;
}

typedef struct WriteSink {
    const H5Out *h;
    int n_ds;
    hid_t *ds;
    char (*names)[32];
    LgErr *err;
} WriteSink;

static int write_batch(void *sink, int i0, int nb, const Tensor *logits, Tensor *const *attn, Tensor *const *hidden) {
    WriteSink *w = sink;
    int L = hidden ? (w->n_ds - 1) / 2 : w->n_ds - 1;
    int rc = write_rows(w->h, w->ds[0], w->names[0], H5T_NATIVE_FLOAT, logits->data, (hsize_t)i0, (hsize_t)nb, w->err);
    for (int l = 0; l < L && !rc; l++)
        rc = write_rows(w->h, w->ds[1 + l], w->names[1 + l], H5T_NATIVE_FLOAT, attn[l]->data, (hsize_t)i0, (hsize_t)nb,
                        w->err);
    for (int l = 0; l < L && hidden && !rc; l++)
        rc = write_rows(w->h, w->ds[1 + L + l], w->names[1 + L + l], H5T_NATIVE_FLOAT, hidden[l]->data, (hsize_t)i0,
                        (hsize_t)nb, w->err);
    return rc;
}

static int write_file(Experiment *e, const ProbeOptions *o, const ProbeSet *s, H5Out *h, LgErr *err) {
    Model *m = &e->model;
    const int N = s->n, T = s->T, V = m->vocab_size, L = m->L, H = m->H, D = m->D;
    char *config = cfg_to_string(&e->cfg);
    hid_t f = h->file;
    const char *path = h->path;
    int rc = h5u_attr_str(f, "format", "lengen-probe", path, err) ||
             h5u_attr_str(f, "checkpoint", o->checkpoint, path, err) || attr_i64(h, "step", o->step, err) ||
             h5u_attr_str(f, "task", task_name(e->tasks[o->task]), path, err) ||
             attr_i64(h, "length", o->length, err) || attr_i64(h, "n", N, err) ||
             h5u_attr_str(f, "config", config, path, err);
    lg_free(config);
    if (rc) return -1;
    const char **vocab = exp_vocab_strings(e);
    rc = h5u_write_strings(f, "/vocab", vocab, e->vocab.n, path, err) ||
         h5u_write_strings(f, "/text", (const char *const *)s->text, N, path, err);
    lg_free(vocab);
    if (rc) return -1;

    ProbeInputs in;
    padded_inputs(s, &in);
    hsize_t d2[2] = {(hsize_t)N, (hsize_t)T}, d1[1] = {(hsize_t)N}, chunk[2] = {1, (hsize_t)T};
    rc = write_ints(h, "/tokens", 2, d2, in.tok, err) || write_ints(h, "/digit_index", 2, d2, in.dig, err) ||
         h5u_write_dataset(h->file, "/positions", H5T_IEEE_F32LE, 2, d2, chunk, H5T_NATIVE_FLOAT, in.pos, h->path, err) ||
         write_ints(h, "/n_tokens", 1, d1, s->n_tokens, err) ||
         write_ints(h, "/prompt_len", 1, d1, s->prompt_len, err);

    /* one dataset per array the forward produces: logits, then attn and hidden per layer */
    WriteSink w = {h, 1 + L + (o->hidden ? L : 0), NULL, NULL, err};
    w.ds = lg_malloc((size_t)w.n_ds * sizeof(hid_t), "probe datasets");
    w.names = lg_malloc((size_t)w.n_ds * sizeof *w.names, "probe dataset names");
    for (int k = 0; k < w.n_ds; k++) w.ds[k] = -1;
    for (int k = 0; k < w.n_ds && !rc; k++) {
        hsize_t dims[4];
        int nd;
        if (k == 0) {
            snprintf(w.names[k], sizeof w.names[k], "/logits");
            nd = 3, dims[0] = N, dims[1] = T, dims[2] = V;
        } else if (k <= L) {
            snprintf(w.names[k], sizeof w.names[k], "/attn/layer%d", k - 1);
            nd = 4, dims[0] = N, dims[1] = H, dims[2] = T, dims[3] = T;
        } else {
            snprintf(w.names[k], sizeof w.names[k], "/hidden/layer%d", k - 1 - L);
            nd = 3, dims[0] = N, dims[1] = T, dims[2] = D;
        }
        w.ds[k] = create_rows(h, w.names[k], H5T_IEEE_F32LE, nd, dims, err);
        if (w.ds[k] < 0) rc = -1;
    }
    if (!rc) rc = run_batches(e, o, s, &in, write_batch, &w, err);
    for (int k = 0; k < w.n_ds; k++) h5u_close(w.ds[k]);
    lg_free(w.ds);
    lg_free(w.names);
    inputs_free(&in);
    return rc ? -1 : 0;
}

/* The task index, length and example count of o are ones e can probe. */
static int probe_check(Experiment *e, const ProbeOptions *o, LgErr *err) {
    LG_ASSERT(o->task >= 0 && o->task < e->n_tasks && e->has_model, "probing needs a built model and a task index of it");
    Task *t = e->tasks[o->task];
    int lo, hi;
    task_length_range(t, &lo, &hi);
    if (o->length < lo || o->length > hi)
        return lg_err(err, "length %d is out of range: task '%s' takes lengths %d..%d", o->length, task_name(t), lo, hi);
    if (o->n < 1) return lg_err(err, "the number of examples must be >= 1, got %d", o->n);
    LgErr too_long;
    if (eval_positions_fit(&e->cfg, task_max_tokens(t, o->length), &too_long))
        return lg_err(err, "task '%s' at length %d: %s; probe a shorter length", task_name(t), o->length, too_long.msg);
    return 0;
}

int probe_write(Experiment *e, const ProbeOptions *o, const char *out_path, LgErr *err) {
    Task *t = e->tasks[o->task];
    ProbeSet s;
    if (probe_check(e, o, err) != 0 || set_generate(&s, e, o, err) != 0) return -1;
    LgErr too_long;
    if (model_check_length(&e->model, s.T, &too_long)) {
        lg_err(err, "task '%s' at length %d: %s, or probe a shorter length", task_name(t), o->length, too_long.msg);
        set_free(&s);
        return -1;
    }
    h5u_quiet();
    H5Out h = {h5u_mem_create(out_path, err), out_path};
    if (h.file < 0) {
        set_free(&s);
        return -1;
    }
    int rc = write_file(e, o, &s, &h, err);
    set_free(&s);
    /* closes the in-memory file; on success writes it, checksummed, to out_path atomically */
    return h5u_mem_commit(h.file, out_path, rc, err);
}

/* ---- the summary ---- */

const char *const probe_target_names[PROBE_TARGET_COUNT] = {"next", "same", "first"};

int probe_target_parse(const char *name) {
    for (int k = 0; k < PROBE_TARGET_COUNT; k++)
        if (!strcmp(name, probe_target_names[k])) return k;
    return -1;
}

typedef struct SummarySink {
    const ProbeSet *s;
    ProbeSummary *out;
} SummarySink;

/* 1 when key j is on the target of query t in example tokens x (prompt length p) */
static int on_target(ProbeTarget target, const int *x, int p, int t, int j) {
    switch (target) {
    case PROBE_NEXT: return j < p && x[j] == x[t + 1];
    case PROBE_SAME: return j < t && x[j] == x[t];
    case PROBE_FIRST: return j == 0;
    default: return 0;
    }
}

/* Adds the answer queries of one batch: rows t = prompt_len-1 .. n_tokens-2 (each predicts an
 * answer token), every layer and head. */
static int summary_batch(void *sink, int i0, int nb, const Tensor *logits, Tensor *const *attn, Tensor *const *hidden) {
    SummarySink *ss = sink;
    ProbeSummary *o = ss->out;
    const ProbeSet *s = ss->s;
    int T = s->T, L = o->L, H = o->H;
    (void)logits, (void)hidden;
    for (int b = 0; b < nb; b++) {
        int i = i0 + b, p = s->prompt_len[i], n = s->n_tokens[i];
        const int *x = s->tokens + (size_t)i * s->cap;
        for (int t = p - 1; t <= n - 2; t++) {
            o->rows++;
            for (int l = 0; l < L; l++)
                for (int h = 0; h < H; h++) {
                    const float *row = attn[l]->data + (((size_t)b * H + h) * T + t) * T;
                    double ent = 0, dist = 0, share = 0;
                    for (int j = 0; j <= t; j++) {
                        double a = row[j];
                        if (a > 0) ent -= a * log(a);
                        dist += a * (t - j);
                        if (on_target(o->target, x, p, t, j)) share += a;
                    }
                    int k = l * H + h;
                    o->entropy[k] += ent, o->distance[k] += dist, o->on_target[k] += share;
                }
            o->uniform_entropy += log((double)t + 1);
        }
    }
    return 0;
}

int probe_summary(Experiment *e, const ProbeOptions *o, ProbeTarget target, ProbeSummary *out, LgErr *err) {
    memset(out, 0, sizeof *out);
    ProbeSet s;
    if (probe_check(e, o, err) != 0 || set_generate(&s, e, o, err) != 0) return -1;
    LgErr too_long;
    if (model_check_length(&e->model, s.T, &too_long)) {
        set_free(&s);
        return lg_err(err, "task '%s' at length %d: %s, or probe a shorter length", task_name(e->tasks[o->task]),
                      o->length, too_long.msg);
    }
    Model *m = &e->model;
    out->L = m->L, out->H = m->H, out->target = target, out->n = s.n;
    size_t k = (size_t)m->L * m->H;
    out->entropy = lg_calloc(k, sizeof(double), "probe summary");
    out->distance = lg_calloc(k, sizeof(double), "probe summary");
    out->on_target = lg_calloc(k, sizeof(double), "probe summary");
    ProbeInputs in;
    padded_inputs(&s, &in);
    ProbeOptions no_hidden = *o;
    no_hidden.hidden = 0;
    SummarySink sink = {&s, out};
    int rc = run_batches(e, &no_hidden, &s, &in, summary_batch, &sink, err);
    inputs_free(&in);
    set_free(&s);
    if (rc) {
        probe_summary_free(out);
        return -1;
    }
    for (size_t i = 0; i < k && out->rows; i++)
        out->entropy[i] /= out->rows, out->distance[i] /= out->rows, out->on_target[i] /= out->rows;
    if (out->rows) out->uniform_entropy /= out->rows;
    return 0;
}

void probe_summary_free(ProbeSummary *s) {
    lg_free(s->entropy);
    lg_free(s->distance);
    lg_free(s->on_target);
    memset(s, 0, sizeof *s);
}

void probe_summary_print(FILE *f, const ProbeSummary *s) {
    static const char *const what[PROBE_TARGET_COUNT] = {
        "prompt tokens equal to the token the query predicts (sort: the next element in sorted order)",
        "earlier tokens equal to the query's own token", "the first token (the task token)"};
    fprintf(f, "attention of the %ld answer queries (%d examples), per layer and head:\n", s->rows, s->n);
    fprintf(f, "  entropy in nats (uniform over the keys seen: %.3f); distance = mean query-key offset;\n",
            s->uniform_entropy);
    fprintf(f, "  target '%s' = %s\n", probe_target_names[s->target], what[s->target]);
    fprintf(f, "  layer  head   entropy   distance   on target\n");
    for (int l = 0; l < s->L; l++)
        for (int h = 0; h < s->H; h++) {
            int k = l * s->H + h;
            fprintf(f, "  %5d  %4d   %7.3f   %8.2f   %9.3f\n", l, h, s->entropy[k], s->distance[k], s->on_target[k]);
        }
}
