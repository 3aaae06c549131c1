/* test_experiment: every ready config in configs/ (and experiments/) builds its experiment (tasks with their
 * options, vocabulary, model) and can evaluate every length it lists, so a config whose task
 * options are misspelt or whose sequences outgrow max_pos fails the suite, not a user's run. */
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/eval.h"
#include "../src/experiment.h"
#include "model_helpers.h"
#include "test.h"

TEST(shipped_configs_build_their_experiment) {
    glob_t g;
    CHECK(glob("configs/*.ini", 0, NULL, &g) == 0 && g.gl_pathc >= 13, "expected the configs/*.ini files");
    size_t n_ready = g.gl_pathc;
    /* the experiments' configs too */
    CHECK(glob("experiments/*/*.ini", GLOB_APPEND, NULL, &g) == 0 && g.gl_pathc > n_ready,
          "expected experiments/*/*.ini files");
    for (size_t i = 0; i < g.gl_pathc && !test_failed(); i++) {
        const char *path = g.gl_pathv[i];
        Config c;
        LgErr err;
        cfg_defaults(&c);
        Experiment e;
        if (cfg_load_file(&c, path, &err) != 0 || exp_build(&e, &c, &err) != 0) {
            test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
            break;
        }
        /* every task option in the file reached a task (task_create_many rejects the others) */
        EXPECT(e.n_tasks == c.task.n_tasks, "%s: %d tasks built, %d configured", path, e.n_tasks, c.task.n_tasks);
        int lo, hi;
        task_length_range(e.tasks[0], &lo, &hi);
        for (int k = 0; k < c.eval.n_lengths; k++) {
            int L = c.eval.lengths[k];
            if (!EXPECT(L >= lo && L <= hi, "%s: eval length %d is outside %s's lengths %d..%d", path, L,
                        task_name(e.tasks[0]), lo, hi))
                break;
            int need = task_max_tokens(e.tasks[0], L);
            if (!EXPECT(need <= c.model.max_pos, "%s: eval length %d needs %d positions, max_pos is %d", path,
                        L, need, c.model.max_pos))
                break;
        }
        exp_free(&e);
    }
    globfree(&g);
}

/* The test above must be able to fail: a misspelt task option is caught by exp_build. */
TEST(shipped_configs_check_catches_a_bad_task_option) {
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(cfg_load_file(&c, "configs/addition_reversed.ini", &err) == 0, "%s", err.msg);
    CHECK(cfg_set(&c, "task.reversed=answer", &err) == 0, "%s", err.msg);
    Experiment e;
    CHECK(exp_build(&e, &c, &err) == -1, "a misspelt task option built");
    CHECK(strstr(err.msg, "reversed") && strstr(err.msg, "reverse"), "%s", err.msg);
}

/* [model] attn_scale set on a checkpoint (lengen eval RUN --set model.attn_scale=...) reaches
 * the model: at 1 the loaded model gives the stored model's logits bit for bit, also from a
 * checkpoint written before the key existed; at 1.5 the logits change, and KV-cache decoding
 * applies it as the forward does. */
static void logits_of(Experiment *e, const int *tokens, int T, float *out) {
    Ag g;
    ag_init(&g, 1 << 16);
    ag_set_grad(&g, 0);
    ModelBatch in = {.tokens = tokens, .B = 1, .T = T};
    Tensor *l = model_forward(&e->model, &g, &in, NULL);
    memcpy(out, l->data, l->n * sizeof(float));
    ag_free(&g);
}

TEST(eval_set_attn_scale_on_a_checkpoint) {
    static const char *ini = "[model]\nlayers = 2\nheads = 2\nd_model = 16\nmax_pos = 32\nposenc = alibi\n"
                             "temperature = log\ntemperature_base = 4\n[task]\nmain = copy\nalphabet = 6\n"
                             "[train]\nmin_length = 1\nmax_length = 6\n[eval]\nlengths = 4\n";
    Config c;
    LgErr err;
    Experiment e;
    CHECK(tm_experiment(&e, &c, ini, 3, &err) == 0, "%s", err.msg);
    /* a checkpoint whose config text predates attn_scale */
    char *text = cfg_to_string(&c), *line = strstr(text, "attn_scale = 1\n");
    CHECK(line, "the written config has attn_scale = 1");
    memmove(line, line + strlen("attn_scale = 1\n"), strlen(line + strlen("attn_scale = 1\n")) + 1);
    char path[] = "/tmp/lengen_attn_scale_XXXXXX.h5";
    int fd = mkstemps(path, 3);
    CHECK(fd >= 0, "mkstemps");
    close(fd);
    const char **vocab = exp_vocab_strings(&e);
    CHECK(ckpt_save(path, &e.model.params, 9, text, vocab, e.vocab.n, NULL, 0, &err) == 0, "%s", err.msg);
    lg_free(vocab);
    lg_free(text);

    enum { T = 9 };
    int V = e.model.vocab_size, tokens[T];
    for (int t = 0; t < T; t++) tokens[t] = 1 + t % (V - 1);
    float *want = lg_malloc((size_t)T * V * sizeof(float), "want"), *got = lg_malloc((size_t)T * V * sizeof(float), "got");
    logits_of(&e, tokens, T, want);
    exp_free(&e);

    const char *one[] = {"model.attn_scale=1"}, *more[] = {"model.attn_scale=1.5"};
    CHECK(exp_load(&e, path, NULL, 0, NULL, &err) == 0, "%s", err.msg);
    logits_of(&e, tokens, T, got);
    CHECK(!memcmp(got, want, (size_t)T * V * sizeof(float)), "the loaded model differs from the stored one");
    exp_free(&e);
    CHECK(exp_load(&e, path, one, 1, NULL, &err) == 0, "%s", err.msg);
    logits_of(&e, tokens, T, got);
    CHECK(!memcmp(got, want, (size_t)T * V * sizeof(float)), "attn_scale = 1 changed the logits");
    exp_free(&e);
    CHECK(exp_load(&e, path, more, 1, NULL, &err) == 0, "%s", err.msg);
    CHECK(e.cfg.model.attn_scale == 1.5f && e.model.cfg.attn_scale == 1.5f);
    logits_of(&e, tokens, T, got);
    double maxd = 0;
    for (int i = V; i < T * V; i++) maxd = fmax(maxd, fabs(got[i] - want[i]));  /* row 0 sees one key */
    CHECK(maxd > 1e-3, "attn_scale = 1.5 left the logits as they were (max change %g)", maxd);
    /* decoding applies it too: prefill then one step equal the forward at 1.5 */
    KVCache kv;
    Ag g;
    ag_init(&g, 1 << 16);
    int plen = T - 1;
    CHECK(model_kv_init(&kv, &e.model, 1, T, &err) == 0, "%s", err.msg);
    Tensor *a = model_prefill(&e.model, &g, &kv, tokens, &plen, plen, NULL);
    for (int v = 0; v < V; v++) CHECK_NEAR(a->data[v], got[(plen - 1) * V + v], 1e-4, 1e-4, "prefill vocab %d", v);
    Tensor *b = model_decode_step(&e.model, &g, &kv, &tokens[plen], NULL);
    for (int v = 0; v < V; v++) CHECK_NEAR(b->data[v], got[plen * V + v], 1e-4, 1e-4, "decode vocab %d", v);
    model_kv_free(&kv);
    ag_free(&g);
    exp_free(&e);
    lg_free(want);
    lg_free(got);
    unlink(path);
}

/* [eval] random_positions: each held-out example sits at its own sorted random positions, drawn
 * example by example, so the answers do not depend on the batch size; they are the positions'
 * doing (0..n-1 gives other answers); and a length whose sequences the positions cannot hold is
 * skipped naming the key. */
typedef struct Answers {
    uint64_t hash;
    int n;
} Answers;

static void hash_answer(const Experiment *e, int task, const TaskExample *ex, const int *gen, int n_gen,
                        int correct, void *ctx) {
    (void)e, (void)task, (void)ex, (void)correct;
    Answers *a = ctx;
    for (int i = 0; i < n_gen; i++) a->hash = (a->hash ^ (uint64_t)gen[i]) * 1099511628211ULL;
    a->hash = (a->hash ^ 0xffu) * 1099511628211ULL;
    a->n++;
}

static Answers answers_at(Experiment *e, int random_positions, int batch) {
    e->cfg.eval.random_positions = random_positions;
    Answers a = {14695981039346656037ULL, 0};
    EvalResult r;
    LgErr err;
    if (EXPECT(eval_task_length(e, 0, 6, 24, batch, &r, hash_answer, &a, &err) == 0, "%s", err.msg))
        EXPECT(r.n == 24 && a.n == 24 && !r.skipped[0], "%d examples, skipped '%s'", r.n, r.skipped);
    return a;
}

TEST(eval_at_random_positions) {
    static const char *ini = "[model]\nlayers = 2\nheads = 2\nd_model = 16\nmax_pos = 32\nposenc = alibi\n"
                             "random_positions = true\nrandom_max_pos = 200\n[task]\nmain = copy\nalphabet = 6\n"
                             "[train]\nmin_length = 1\nmax_length = 6\n[eval]\nlengths = 6\n";
    Config c;
    LgErr err;
    Experiment e;
    CHECK(tm_experiment(&e, &c, ini, 3, &err) == 0, "%s", err.msg);
    Answers fixed1 = answers_at(&e, 0, 1), fixed7 = answers_at(&e, 0, 7);
    Answers rand1 = answers_at(&e, 1, 1), rand7 = answers_at(&e, 1, 7), rand24 = answers_at(&e, 1, 24);
    CHECK(fixed1.hash == fixed7.hash, "0..n-1: batches of 1 and 7 decode differently");
    CHECK(rand1.hash == rand7.hash && rand1.hash == rand24.hash, "random positions: the batch size changed the answers");
    CHECK(rand1.hash != fixed1.hash, "random positions gave the answers of 0..n-1");
    /* copy at 6: 6 symbols, separator, 6 symbols, eos = 14 tokens */
    e.cfg.model.random_max_pos = 13;
    EvalResult res;
    CHECK(eval_task_length(&e, 0, 6, 4, 4, &res, NULL, NULL, &err) == 0, "%s", err.msg);
    CHECK(res.n == 0 && strstr(res.skipped, "random_max_pos"), "skipped: '%s'", res.skipped);
    exp_free(&e);
}

/* Batched decoding holds a finished sequence in place. Every sequence of a batch steps until the
 * last one is done; one whose answer ended early used to advance its cache row by row, so a
 * batch-mate with a shorter prompt and a longer answer (index hints: a final carry adds two
 * answer tokens) overflowed the cache, sized to the longest example (an assertion, at a study's
 * evaluation). The model here never writes <eos> (its final norm has weight 0, so every
 * position's output is the norm's bias, and only one output row is not 0), so each answer runs
 * to its true length, the worst case; the held-out set is checked to contain the case. */
typedef struct Shapes {
    int prompt[64], answer[64], n, full;   /* per example, in decoding order */
} Shapes;

static void record_shape(const Experiment *e, int task, const TaskExample *ex, const int *gen, int n_gen,
                         int correct, void *ctx) {
    (void)e, (void)task, (void)gen, (void)correct;
    Shapes *s = ctx;
    if (s->n == 64) return;
    s->prompt[s->n] = ex->prompt_len;
    s->answer[s->n] = ex->n_tokens - ex->prompt_len;
    s->full += n_gen == s->answer[s->n];
    s->n++;
}

/* Batches of `batch` consecutive examples of s in which the old decoding overflowed: the
 * longest prompt's sequence, stepping until the longest answer is written, passed the cache of
 * the longest example (longest prompt + longest answer - 1 > longest example). */
static int overflowing_batches(const Shapes *s, int batch) {
    int count = 0;
    for (int b0 = 0; b0 < s->n; b0 += batch) {
        int p = 0, a = 0, t = 0;
        for (int i = b0; i < b0 + batch && i < s->n; i++) {
            p = s->prompt[i] > p ? s->prompt[i] : p;
            a = s->answer[i] > a ? s->answer[i] : a;
            t = s->prompt[i] + s->answer[i] > t ? s->prompt[i] + s->answer[i] : t;
        }
        count += p + a - 1 > t;
    }
    return count;
}

TEST(eval_holds_finished_sequences_in_the_cache) {
    static const char *ini = "[model]\nlayers = 1\nheads = 2\nd_model = 16\nmax_pos = 128\n"
                             "[task]\nmain = addition\nindex_hints = true\nreverse = answer\noperands = balanced\ncarries = balanced\n"
                             "[train]\nmin_length = 1\nmax_length = 6\n[eval]\nlengths = 6\n";
    Config c;
    LgErr err;
    Experiment e;
    CHECK(tm_experiment(&e, &c, ini, 5, &err) == 0, "%s", err.msg);
    Model *m = &e.model;
    int D = m->D, V = m->vocab_size, write = VOCAB_EOS + 2;
    for (int i = 0; i < D; i++) m->lnf_w->data[i] = 0, m->lnf_b->data[i] = 1;
    memset(m->head->data, 0, (size_t)V * D * sizeof(float));
    for (int i = 0; i < D; i++) m->head->data[(size_t)write * D + i] = 1;   /* every logit 0 but this one */
    Shapes s = {.n = 0};
    EvalResult r;
    CHECK(eval_task_length(&e, 0, 6, 64, 4, &r, record_shape, &s, &err) == 0, "%s", err.msg);
    CHECK(r.n == 64 && s.n == 64 && s.full == 64, "%d examples, %d of them decoded to their answer's length", s.n, s.full);
    CHECK(overflowing_batches(&s, 4) > 0, "no batch of 4 of the held-out set stresses the cache");
    exp_free(&e);
}

/* A task does not clamp the lengths a run asks for: sort over the ten values 0..9 without
 * repeats has lists of 1..10 elements, and every length key outside that is an error at build
 * time (lengen config and lengen train) naming the key, the value, the range and the fix. */
static int build_error(const char *const *sets, int n_sets, char *msg, size_t cap) {
    static const char *ini = "[model]\nlayers = 1\nheads = 1\nd_model = 8\nmax_pos = 64\n"
                             "[task]\nmain = sort\nhints = fill:0.5\nvalues = 0..9\nrepeat = false\n"
                             "[train]\nmin_length = 2\nmax_length = 10\n[eval]\nlengths = 5:10\n";
    Config c;
    LgErr err;
    cfg_defaults(&c);
    if (cfg_load_string(&c, ini, "ini", &err) != 0) return snprintf(msg, cap, "%.400s", err.msg), -2;
    for (int i = 0; i < n_sets; i++)
        if (cfg_set(&c, sets[i], &err) != 0) return snprintf(msg, cap, "%.400s", err.msg), -2;
    Experiment e;
    if (exp_build(&e, &c, &err) != 0) return snprintf(msg, cap, "%.400s", err.msg), -1;
    exp_free(&e);
    msg[0] = 0;
    return 0;
}

TEST(lengths_outside_the_task_are_errors_not_clamps) {
    char msg[512];
    CHECK(build_error(NULL, 0, msg, sizeof msg) == 0, "the base config: %s", msg);
    const char *hint_ok[] = {"train.max_length=8", "train.hint_max_length=10", "eval.lengths=5:8"};
    CHECK(build_error(hint_ok, 3, msg, sizeof msg) == 0, "%s", msg);
    static const struct {
        const char *set[2];
        const char *want[4];
    } bad[] = {
        {{"train.max_length=500"}, {"[train] max_length = 500", "'sort'", "1..10", "max_length <= 10"}},
        {{"train.max_length=11"}, {"[train] max_length = 11", "'sort'", "1..10", "max_length <= 10"}},
        {{"eval.lengths=5:11"}, {"[eval] lengths", "11", "1..10", "'sort'"}},
        {{"train.max_length=8", "train.hint_max_length=12"}, {"hint_max_length = 12", "'fill'", "1..10", "<= 10"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = bad[i].set[1] ? 2 : 1;
        CHECK(build_error(bad[i].set, n, msg, sizeof msg) == -1, "%s built (or failed before the build: %s)",
              bad[i].set[n - 1], msg);
        for (int k = 0; k < 4; k++)
            CHECK(strstr(msg, bad[i].want[k]), "%s: the message lacks '%s': %s", bad[i].set[n - 1], bad[i].want[k], msg);
    }
}

/* eval_score, the number that picks best.h5: with [eval] best_lengths = 5 only length 5 counts.
 * At step A length 5 is at 0.9 and the out-of-distribution 20 at 0.1; at step B 0.8 and 0.6.
 * The mean over all lengths prefers B (0.7 > 0.5); best_lengths = 5 prefers A. */
TEST(eval_score_uses_best_lengths) {
    Experiment e;
    memset(&e, 0, sizeof e);
    LgErr err;
    cfg_defaults(&e.cfg);
    CHECK(cfg_set(&e.cfg, "task.main=copy", &err) == 0 && cfg_set(&e.cfg, "eval.lengths=5,20", &err) == 0, "%s", err.msg);
    EvalResult a[2] = {{.task = 0, .length = 5, .n = 10, .exact_match = 0.9},
                       {.task = 0, .length = 20, .n = 10, .exact_match = 0.1}};
    EvalResult b[2] = {{.task = 0, .length = 5, .n = 10, .exact_match = 0.8},
                       {.task = 0, .length = 20, .n = 10, .exact_match = 0.6}};
    CHECK(cfg_validate(&e.cfg, &err) == 0, "%s", err.msg);
    CHECK(eval_score(&e, a, 2, "exact_match") < eval_score(&e, b, 2, "exact_match"), "all lengths: B wins");
    CHECK(cfg_set(&e.cfg, "eval.best_lengths=5", &err) == 0 && cfg_validate(&e.cfg, &err) == 0, "%s", err.msg);
    CHECK_NEAR(eval_score(&e, a, 2, "exact_match"), 0.9, 1e-12, 0);
    CHECK_NEAR(eval_score(&e, b, 2, "exact_match"), 0.8, 1e-12, 0);
    /* the default writes and reads back as empty (all lengths); a length not evaluated is refused */
    Config c;
    cfg_defaults(&c);
    CHECK(c.eval.n_best_lengths == 0);
    CHECK(cfg_set(&c, "task.main=copy", &err) == 0, "%s", err.msg);
    char *text = cfg_to_string(&c);
    Config back;
    cfg_defaults(&back);
    CHECK(cfg_load_string(&back, text, "written", &err) == 0 && cfg_equal(&c, &back), "%s", err.msg);
    lg_free(text);
    CHECK(cfg_set(&c, "eval.best_lengths=15", &err) == 0);
    CHECK(cfg_validate(&c, &err) != 0 && strstr(err.msg, "best_lengths") && strstr(err.msg, "15"), "%s", err.msg);
}
