/* test_probe: `lengen probe`'s file on a tiny trained model: every dataset with its shape,
 * the held-out examples and their text, attention rows that are distributions and causal,
 * logits equal to a fresh forward of each example alone (so padding leaks nowhere), and a
 * bad length that leaves no file behind. */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/data.h"
#include "../src/experiment.h"
#include "../src/probe.h"
#include "../src/train.h"
#include "../src/eval.h"
#include "files.h"
#include "model_helpers.h"
#include "test.h"

static const char *probe_ini =
    "[model]\nlayers = 2\nheads = 2\nd_model = 16\nmax_pos = 32\nposenc = alibi\ntemperature = learned_log\n"
    "[task]\nmain = copy\nalphabet = 6\n"
    "[train]\nsteps = 30\nbatch_size = 16\nlr = 3e-3\nmin_lr = 3e-4\nwarmup = 5\n"
    "min_length = 1\nmax_length = 6\nlog_every = 10\neval_every = 0\nckpt_every = 0\n"
    "[eval]\nlengths = 4\nn = 10\n"
    "[run]\nname = p\nseed = 5\nthreads = 1\n";

/* Reads a whole dataset of `mtype`, checking its rank and dims. Returns 1, or 0 after failing. */
static int read_ds(hid_t f, const char *name, hid_t mtype, void *buf, int ndim, const hsize_t *want) {
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    if (!EXPECT(ds >= 0, "dataset %s missing", name)) return 0;
    hid_t sp = H5Dget_space(ds);
    hsize_t dims[4] = {0};
    int nd = H5Sget_simple_extent_dims(sp, dims, NULL), ok = nd == ndim;
    for (int i = 0; ok && i < nd; i++) ok = dims[i] == want[i];
    H5Sclose(sp);
    if (!EXPECT(ok, "%s: rank %d dims %llu %llu %llu %llu", name, nd, (unsigned long long)dims[0],
                (unsigned long long)dims[1], (unsigned long long)dims[2], (unsigned long long)dims[3])) {
        H5Dclose(ds);
        return 0;
    }
    ok = buf == NULL || H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    H5Dclose(ds);
    return EXPECT(ok, "cannot read %s", name);
}

static long attr_long(hid_t f, const char *name) {
    long v = -1;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a >= 0) H5Aread(a, H5T_NATIVE_LONG, &v), H5Aclose(a);
    return v;
}

static void attr_str(hid_t f, const char *name, char *out, size_t cap) {
    out[0] = 0;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    char *s = NULL;
    if (a >= 0 && H5Aread(a, t, &s) >= 0 && s) snprintf(out, cap, "%s", s), H5free_memory(s);
    if (a >= 0) H5Aclose(a);
    H5Tclose(t);
}

/* Trains the tiny probe_ini model into a new folder dir (64 bytes, test_tmpdir'd here) and loads its
 * run into e. Returns 1, or 0 after failing the test. */
static int tiny_trained_model(char *dir, Experiment *e) {
    if (!test_tmpdir(dir, 64)) return 0;
    Config c;
    LgErr err;
    cfg_defaults(&c);
    char set[128], run[128];
    snprintf(set, sizeof set, "run.out_dir=%s", dir);
    if (!EXPECT(cfg_load_string(&c, probe_ini, "probe_ini", &err) == 0 && cfg_set(&c, set, &err) == 0 &&
                    cfg_validate(&c, &err) == 0,
                "%s", err.msg))
        return 0;
    TrainOptions to = {.quiet = 1};
    if (!EXPECT(train_run(&c, &to) == 0, "training the tiny model failed")) return 0;
    snprintf(run, sizeof run, "%s/p", dir);
    return EXPECT(exp_load(e, run, NULL, 0, NULL, &err) == 0, "%s", err.msg);
}

TEST(probe_dumps_attention_logits_and_hidden_of_held_out_examples) {
    char dir[64];
    Experiment e;
    LgErr err;
    if (!tiny_trained_model(dir, &e)) return;
    char out[160];
    snprintf(out, sizeof out, "%s/probe.h5", dir);
    const int N = 5, len = 7;   /* longer than trained; batch 2 leaves a last batch of 1 */
    ProbeOptions o = {.task = 0, .length = len, .n = N, .hidden = 1, .batch = 2, .checkpoint = "ckpt-name", .step = 30};
    CHECK(probe_write(&e, &o, out, &err) == 0, "%s", err.msg);

    /* the examples: the held-out set of (copy, 7) */
    Task *t = e.tasks[0];
    int cap = task_max_tokens(t, len), T = 0;
    int *want_tok = calloc((size_t)N * cap, sizeof(int)), *want_n = calloc((size_t)N, sizeof(int));
    float *mask = calloc((size_t)cap, sizeof(float));
    int *digits = calloc((size_t)cap, sizeof(int));
    char texts[5][512];
    EvalSetIter it;
    eval_set_begin(&it, &e.cfg, t, 0, len);
    for (int i = 0; i < N; i++) {
        TaskExample ex = {want_tok + (size_t)i * cap, mask, digits, cap, 0, 0, 0};
        CHECK(eval_set_next(&it, &ex, &err) == 0, "%s", err.msg);
        want_n[i] = ex.n_tokens;
        if (ex.n_tokens > T) T = ex.n_tokens;
        task_format(t, &ex, texts[i], sizeof texts[i]);
    }
    free(mask);
    free(digits);

    Model *m = &e.model;
    const int V = m->vocab_size, L = m->L, H = m->H, D = m->D;
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "cannot open %s", out);
    char s[256];
    attr_str(f, "task", s, sizeof s);
    EXPECT(!strcmp(s, "copy"), "task attribute '%s'", s);
    attr_str(f, "checkpoint", s, sizeof s);
    EXPECT(!strcmp(s, "ckpt-name"), "checkpoint attribute '%s'", s);
    EXPECT(attr_long(f, "step") == 30 && attr_long(f, "length") == len && attr_long(f, "n") == N, "numeric attributes");

    int *tok = calloc((size_t)N * T, sizeof(int));
    float *logits = calloc((size_t)N * T * V, sizeof(float));
    float *attn = calloc((size_t)N * H * T * T, sizeof(float));
    hsize_t d_tok[2] = {N, T}, d_log[3] = {N, T, V}, d_att[4] = {N, H, T, T}, d_hid[3] = {N, T, D};
    hsize_t d_text[1] = {N}, d_voc[1] = {V};
    int ok = read_ds(f, "/tokens", H5T_NATIVE_INT, tok, 2, d_tok) && read_ds(f, "/logits", H5T_NATIVE_FLOAT, logits, 3, d_log);
    for (int l = 0; ok && l < L; l++) {
        char name[32];
        snprintf(name, sizeof name, "/hidden/layer%d", l);
        ok = read_ds(f, name, 0, NULL, 3, d_hid);
    }
    char **text = calloc((size_t)N, sizeof(char *)), **voc = calloc((size_t)V, sizeof(char *));
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    ok = ok && read_ds(f, "/text", st, text, 1, d_text) && read_ds(f, "/vocab", st, voc, 1, d_voc);
    for (int i = 0; ok && i < N; i++) ok = EXPECT(text[i] && !strcmp(text[i], texts[i]), "text %d: '%s' vs '%s'", i, text[i], texts[i]);
    for (int i = 0; ok && i < V; i++) ok = EXPECT(voc[i] && !strcmp(voc[i], vocab_str(&e.vocab, i)), "vocab %d", i);
    for (int i = 0; i < N; i++) H5free_memory(text[i]);
    for (int i = 0; i < V; i++) H5free_memory(voc[i]);
    free(text);
    free(voc);
    H5Tclose(st);

    /* tokens: the examples, <pad> (0) after each end; positions 0..n-1, the last repeated */
    float *pos = calloc((size_t)N * T, sizeof(float));
    ok = ok && read_ds(f, "/positions", H5T_NATIVE_FLOAT, pos, 2, d_tok);
    for (int i = 0; ok && i < N; i++)
        for (int j = 0; ok && j < T; j++)
            ok = EXPECT(tok[i * T + j] == (j < want_n[i] ? want_tok[(size_t)i * cap + j] : VOCAB_PAD),
                        "tokens[%d, %d] = %d", i, j, tok[i * T + j]) &&
                 EXPECT(pos[i * T + j] == (float)(j < want_n[i] ? j : want_n[i] - 1), "positions[%d, %d] = %g", i, j,
                        pos[i * T + j]);
    free(pos);

    /* attention: each row a distribution over keys <= query, exact zeros above the diagonal */
    for (int l = 0; ok && l < L; l++) {
        char name[32];
        snprintf(name, sizeof name, "/attn/layer%d", l);
        ok = read_ds(f, name, H5T_NATIVE_FLOAT, attn, 4, d_att);
        for (int r = 0; ok && r < N * H * T; r++) {
            const float *row = attn + (size_t)r * T;
            int q = r % T;
            double sum = 0;
            for (int k = 0; k < T; k++) {
                sum += row[k];
                if (k > q && row[k] != 0.0f) ok = EXPECT(0, "%s row %d: key %d > query %d has %g", name, r, k, q, row[k]);
            }
            if (ok) ok = EXPECT(fabs(sum - 1.0) < 1e-5, "%s row %d sums to %.8f", name, r, sum);
        }
    }
    H5Fclose(f);

    /* logits: each example alone, unpadded, through a fresh forward */
    Ag g;
    ag_init(&g, 1 << 20);
    ag_set_grad(&g, 0);
    for (int i = 0; ok && i < N; i++) {
        ag_reset(&g);
        ModelBatch in = {.tokens = want_tok + (size_t)i * cap, .B = 1, .T = want_n[i]};
        Tensor *lg = model_forward(m, &g, &in, NULL);
        for (int j = 0; ok && j < want_n[i]; j++)
            for (int v = 0; ok && v < V; v++) {
                float a = logits[((size_t)i * T + j) * V + v], b = lg->data[(size_t)j * V + v];
                ok = EXPECT(fabsf(a - b) <= 1e-5f + 1e-5f * fabsf(b), "logits[%d, %d, %d] = %g, fresh forward %g", i, j, v, a, b);
            }
    }
    ag_free(&g);

    /* a length outside the task's range fails and leaves nothing behind */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/bad.h5", dir);
    o.length = 100000;
    EXPECT(probe_write(&e, &o, bad, &err) == -1 && strstr(err.msg, "out of range"), "%s", err.msg);
    snprintf(s, sizeof s, "%s.tmp", bad);
    EXPECT(access(bad, F_OK) != 0 && access(s, F_OK) != 0, "a failed probe left a file");

    free(tok);
    free(logits);
    free(attn);
    free(want_tok);
    free(want_n);
    exp_free(&e);
}

/* With [eval] random_positions the probe runs each example at the positions lengen eval gives
 * it: /positions holds them (strictly increasing, inside random_max_pos) and /logits are a
 * fresh forward's at those positions. A length whose sequences outgrow random_max_pos is an
 * error naming the key. */
TEST(probe_at_random_positions) {
    static const char *ini = "[model]\nlayers = 2\nheads = 2\nd_model = 16\nmax_pos = 32\nposenc = alibi\n"
                             "random_positions = true\nrandom_max_pos = 40\n[task]\nmain = copy\nalphabet = 6\n"
                             "[train]\nmin_length = 1\nmax_length = 6\n[eval]\nlengths = 6\nrandom_positions = true\n";
    char dir[64];
    if (!test_tmpdir(dir, sizeof dir)) return;
    Config c;
    Experiment e;
    LgErr err;
    CHECK(tm_experiment(&e, &c, ini, 5, &err) == 0, "%s", err.msg);
    enum { N = 3, LEN = 5 };
    char out[160];
    snprintf(out, sizeof out, "%s/probe.h5", dir);
    ProbeOptions o = {.task = 0, .length = LEN, .n = N, .batch = 2, .checkpoint = "x", .step = 0};
    CHECK(probe_write(&e, &o, out, &err) == 0, "%s", err.msg);
    Task *t = e.tasks[0];
    int cap = task_max_tokens(t, LEN), V = e.model.vocab_size, T = 0;
    int want_tok[N][32], want_n[N], digits[32];
    float mask[32], want_pos[N][32];
    CHECK(cap <= 32);
    EvalSetIter it;
    eval_set_begin(&it, &e.cfg, t, 0, LEN);
    EvalPositions ep;
    eval_positions_begin(&ep, &e.cfg, 0, LEN);
    for (int i = 0; i < N; i++) {
        TaskExample ex = {want_tok[i], mask, digits, cap, 0, 0, 0};
        CHECK(eval_set_next(&it, &ex, &err) == 0, "%s", err.msg);
        eval_positions_next(&ep, want_pos[i], ex.n_tokens, ex.n_tokens);
        want_n[i] = ex.n_tokens;
        if (ex.n_tokens > T) T = ex.n_tokens;
    }
    float *pos = calloc((size_t)N * T, sizeof(float)), *logits = calloc((size_t)N * T * V, sizeof(float));
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "cannot open %s", out);
    hsize_t d_pos[2] = {N, T}, d_log[3] = {N, T, V};
    int ok = read_ds(f, "/positions", H5T_NATIVE_FLOAT, pos, 2, d_pos) &&
             read_ds(f, "/logits", H5T_NATIVE_FLOAT, logits, 3, d_log);
    H5Fclose(f);
    int gaps = 0;
    for (int i = 0; ok && i < N; i++)
        for (int j = 0; ok && j < want_n[i]; j++) {
            ok = EXPECT(pos[i * T + j] == want_pos[i][j], "positions[%d, %d] = %g, eval gives %g", i, j, pos[i * T + j],
                        want_pos[i][j]) &&
                 EXPECT(pos[i * T + j] < 40 && (j == 0 || pos[i * T + j] > pos[i * T + j - 1]), "positions[%d, %d]", i, j);
            gaps += j > 0 && pos[i * T + j] > pos[i * T + j - 1] + 1;
        }
    EXPECT(gaps > 0, "the positions have no gaps: 0..n-1, not random");
    Ag g;
    ag_init(&g, 1 << 20);
    ag_set_grad(&g, 0);
    for (int i = 0; ok && i < N; i++) {
        ag_reset(&g);
        ModelBatch in = {.tokens = want_tok[i], .B = 1, .T = want_n[i], .positions = want_pos[i]};
        Tensor *lg = model_forward(&e.model, &g, &in, NULL);
        for (int j = 0; ok && j < want_n[i]; j++)
            for (int v = 0; ok && v < V; v++) {
                float a = logits[((size_t)i * T + j) * V + v], b = lg->data[(size_t)j * V + v];
                ok = EXPECT(fabsf(a - b) <= 1e-5f + 1e-5f * fabsf(b), "logits[%d, %d, %d] = %g, forward %g", i, j, v, a, b);
            }
    }
    ag_free(&g);
    free(pos);
    free(logits);
    o.length = 20;  /* 20 + 1 + 20 + 1 = 42 tokens, more than [0, 40) holds */
    EXPECT(probe_write(&e, &o, out, &err) == -1 && strstr(err.msg, "random_max_pos"), "%s", err.msg);
    exp_free(&e);
}

/* probe_summary against the same statistics recomputed here from the probe file's /attn,
 * /tokens, /prompt_len and /n_tokens of the same held-out examples, for every target. */
TEST(probe_summary_matches_the_dumped_attention) {
    char dir[64];
    Experiment e;
    LgErr err;
    if (!tiny_trained_model(dir, &e)) return;
    char out[160];
    snprintf(out, sizeof out, "%s/probe.h5", dir);
    const int N = 6, len = 5;
    ProbeOptions o = {.task = 0, .length = len, .n = N, .batch = 4, .checkpoint = "c", .step = 30};
    CHECK(probe_write(&e, &o, out, &err) == 0, "%s", err.msg);
    const int L = e.model.L, H = e.model.H;
    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "cannot open %s", out);
    int T = 0, n_tok[6], plen[6];
    hsize_t d1[1] = {N};
    CHECK(read_ds(f, "/n_tokens", H5T_NATIVE_INT, n_tok, 1, d1) && read_ds(f, "/prompt_len", H5T_NATIVE_INT, plen, 1, d1));
    for (int i = 0; i < N; i++) T = n_tok[i] > T ? n_tok[i] : T;
    int *tok = calloc((size_t)N * T, sizeof(int));
    float *attn = calloc((size_t)L * N * H * T * T, sizeof(float));
    hsize_t d_tok[2] = {N, T}, d_att[4] = {N, H, T, T};
    int ok = read_ds(f, "/tokens", H5T_NATIVE_INT, tok, 2, d_tok);
    for (int l = 0; ok && l < L; l++) {
        char name[32];
        snprintf(name, sizeof name, "/attn/layer%d", l);
        ok = read_ds(f, name, H5T_NATIVE_FLOAT, attn + (size_t)l * N * H * T * T, 4, d_att);
    }
    H5Fclose(f);
    for (int target = 0; ok && target < PROBE_TARGET_COUNT; target++) {
        ProbeSummary s;
        CHECK(probe_summary(&e, &o, (ProbeTarget)target, &s, &err) == 0, "%s", err.msg);
        long rows = 0;
        for (int i = 0; i < N; i++) rows += n_tok[i] - plen[i];
        ok = EXPECT(s.rows == rows && s.L == L && s.H == H, "rows %ld, want %ld", s.rows, rows);
        for (int l = 0; ok && l < L; l++)
            for (int h = 0; ok && h < H; h++) {
                double ent = 0, dist = 0, share = 0;
                for (int i = 0; i < N; i++)
                    for (int t = plen[i] - 1; t <= n_tok[i] - 2; t++) {
                        const float *row = attn + ((((size_t)l * N + i) * H + h) * T + t) * T;
                        const int *x = tok + (size_t)i * T;
                        for (int j = 0; j <= t; j++) {
                            if (row[j] > 0) ent -= row[j] * log(row[j]);
                            dist += row[j] * (t - j);
                            int hit = target == PROBE_NEXT ? j < plen[i] && x[j] == x[t + 1]
                                    : target == PROBE_SAME ? j < t && x[j] == x[t] : j == 0;
                            if (hit) share += row[j];
                        }
                    }
                int k = l * H + h;
                ok = EXPECT(fabs(s.entropy[k] - ent / rows) < 1e-4 && fabs(s.distance[k] - dist / rows) < 1e-3 &&
                                fabs(s.on_target[k] - share / rows) < 1e-4,
                            "%s layer %d head %d: entropy %g/%g distance %g/%g share %g/%g", probe_target_names[target], l,
                            h, s.entropy[k], ent / rows, s.distance[k], dist / rows, s.on_target[k], share / rows);
            }
        probe_summary_free(&s);
    }
    free(tok);
    free(attn);
    exp_free(&e);
}
