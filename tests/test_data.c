/* Tests of the training data stream: batch layout, loss weights, task mixing, curriculum,
 * packing, held-out prompts kept out of training, determinism and no allocation. */
#include <string.h>

#include "../src/data.h"
#include "../src/util.h"
#include "test.h"

typedef struct {
    Config cfg;
    Vocab vocab;
    Task *tasks[CFG_MAX_TASKS];
    int n_tasks;
    DataStream d;
    Batch b;
} Fixture;

static int fixture_init(Fixture *f, const char *ini) {
    LgErr err;
    memset(f, 0, sizeof *f);
    cfg_defaults(&f->cfg);
    if (cfg_load_string(&f->cfg, ini, "test", &err) != 0 || cfg_validate(&f->cfg, &err) != 0)
        return EXPECT(0, "%s", err.msg);
    const char *names[CFG_MAX_TASKS];
    for (int i = 0; i < f->cfg.task.n_tasks; i++) names[i] = f->cfg.task.tasks[i].name;
    vocab_init(&f->vocab);
    if (task_create_many(names, f->cfg.task.n_tasks, f->cfg.task.opts, f->cfg.task.n_opts, &f->vocab,
                         f->tasks, &err) != 0)
        return EXPECT(0, "%s", err.msg);
    f->n_tasks = f->cfg.task.n_tasks;
    if (data_init(&f->d, &f->cfg, f->tasks, f->n_tasks, &err) != 0) return EXPECT(0, "%s", err.msg);
    batch_init(&f->b, f->cfg.train.batch_size, data_max_T(&f->d));
    return 1;
}

static void fixture_free(Fixture *f) {
    batch_free(&f->b);
    data_free(&f->d);
    for (int i = 0; i < f->n_tasks; i++) task_free(f->tasks[i]);
    vocab_free(&f->vocab);
}

static const char *sort_ini =
    "[model]\nmax_pos = 128\n"
    "[task]\nmain = sort\nhints = successor:0.5\nloss_weights = successor:0.25\n"
    "[train]\nbatch_size = 16\nmin_length = 3\nmax_length = 8\n"
    "[eval]\nlengths = 3,5,8\nn = 50\n";

TEST(data_batch_rows_are_examples_with_next_token_targets) {
    Fixture f;
    if (!fixture_init(&f, sort_ini)) return;
    LgErr err;
    CHECK(data_next(&f.d, 0, &f.b, &err) == 0, "%s", err.msg);
    const Batch *b = &f.b;
    long counted = 0;
    for (int r = 0; r < b->B; r++) {
        const int *tok = b->tokens + (size_t)r * b->T, *tgt = b->targets + (size_t)r * b->T;
        const float *w = b->weights + (size_t)r * b->T;
        const int *task = b->pos_task + (size_t)r * b->T;
        int ti = task[0];
        CHECK(ti == 0 || ti == 1);
        CHECK(tok[0] == task_token(f.tasks[ti]), "a row starts with its task token");
        int n = 0;
        while (n < b->T && task[n] >= 0) n++;
        counted += n;
        for (int t = 0; t + 1 < n; t++) CHECK(tgt[t] == tok[t + 1], "targets are the next input tokens");
        CHECK(tgt[n - 1] == VOCAB_EOS, "the last target of a row is EOS");
        for (int t = n; t < b->T; t++) CHECK(tok[t] == VOCAB_PAD && w[t] == 0 && task[t] == -1, "padding");
        /* answer-only loss: weights are 0 before the separator, then the task's loss weight */
        float lw = ti == 0 ? 1.0f : 0.25f;
        int sep = 0;
        while (tok[sep] != VOCAB_SEP) sep++;
        for (int t = 0; t < n; t++) CHECK(w[t] == (t >= sep ? lw : 0.0f), "row %d pos %d weight %g", r, t, w[t]);
    }
    CHECK(counted == b->n_tokens);
    fixture_free(&f);
}

TEST(data_mixes_tasks_by_sample_weight) {
    Fixture f;
    if (!fixture_init(&f, sort_ini)) return;
    LgErr err;
    long rows[2] = {0, 0};
    for (int s = 0; s < 200; s++) {
        CHECK(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg);
        for (int r = 0; r < f.b.B; r++) rows[f.b.pos_task[(size_t)r * f.b.T]]++;
    }
    double share = (double)rows[1] / (rows[0] + rows[1]);   /* 0.5 / 1.5 */
    CHECK(share > 0.30 && share < 0.37, "successor share %.3f, want about 1/3", share);
    fixture_free(&f);
}

TEST(data_keeps_held_out_prompts_out_of_training) {
    Fixture f;
    /* values 0..9: length 3 has only 1000 prompts, so 50 held out would be hit about every 20th
     * draw at that length if nothing kept them out */
    if (!fixture_init(&f, "[model]\nmax_pos = 128\n[task]\nmain = sort\nhints = successor:0.5\nvalues = 0..9\n"
                          "[train]\nbatch_size = 16\nmin_length = 3\nmax_length = 8\n"
                          "[eval]\nlengths = 3,5,8\nn = 50\n")) return;
    LgErr err;
    /* the held-out prompts of every (task, length) */
    static uint64_t held[2 * 3 * 50];
    int n_held = 0;
    int tok[256], dig[256];
    float mask[256];
    TaskExample ex = {tok, mask, dig, 256, 0, 0, 0};
    for (int ti = 0; ti < 2; ti++)
        for (int k = 0; k < f.cfg.eval.n_lengths; k++) {
            EvalSetIter it;
            eval_set_begin(&it, &f.cfg, f.tasks[ti], ti, f.cfg.eval.lengths[k]);
            for (int j = 0; j < f.cfg.eval.n; j++) {
                CHECK(eval_set_next(&it, &ex, &err) == 0, "%s", err.msg);
                held[n_held++] = task_hash_prompt(&ex);
            }
        }
    /* the same set again: evaluation always sees the same examples */
    EvalSetIter it;
    eval_set_begin(&it, &f.cfg, f.tasks[0], 0, 3);
    CHECK(eval_set_next(&it, &ex, &err) == 0);
    CHECK(task_hash_prompt(&ex) == held[0]);
    /* 2000 batches of 16 rows draw about 5000 examples of length 3 */
    long hits = 0;
    for (int s = 0; s < 2000; s++) {
        CHECK(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg);
        for (int r = 0; r < f.b.B; r++) {
            int n = 0;
            const int *row = f.b.tokens + (size_t)r * f.b.T;
            while (row[n] != VOCAB_SEP) n++;
            uint64_t h = task_hash_tokens(row, n + 1);
            for (int i = 0; i < n_held; i++) hits += h == held[i];
        }
    }
    CHECK(hits == 0, "%ld training prompts were held-out prompts", hits);
    CHECK(f.d.redrawn > 0, "the stream should have had to redraw some examples");
    fixture_free(&f);
}

TEST(data_curriculum_grows_the_longest_length) {
    Fixture f;
    if (!fixture_init(&f, "[model]\nmax_pos = 128\n[task]\nmain = copy\n"
                          "[train]\nbatch_size = 32\nmin_length = 2\nmax_length = 20\n"
                          "length_dist = curriculum\ncurriculum_steps = 100\nsteps = 200\n"
                          "[eval]\nlengths = 5\nn = 5\n")) return;
    LgErr err;
    int longest_early = 0, longest_late = 0;
    for (int s = 0; s < 10; s++) {
        CHECK(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg);
        if (f.b.T > longest_early) longest_early = f.b.T;
    }
    for (int s = 150; s < 160; s++) {
        CHECK(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg);
        if (f.b.T > longest_late) longest_late = f.b.T;
    }
    /* copy of n symbols is 2n + 3 tokens, 2n + 2 positions: early steps stay near length 2..3 */
    CHECK(longest_early <= 2 * 4 + 2, "early rows up to %d positions", longest_early);
    CHECK(longest_late == 2 * 20 + 2, "late rows reach the full length (%d positions)", longest_late);
    fixture_free(&f);
}

TEST(data_packed_rows_weight_only_whole_examples) {
    Fixture f;
    if (!fixture_init(&f, "[model]\nmax_pos = 64\n[task]\nmain = copy\n"
                          "[train]\nbatch_size = 8\nmin_length = 1\nmax_length = 6\npack = true\npack_len = 48\n"
                          "[eval]\nlengths = 5\nn = 5\n")) return;
    LgErr err;
    CHECK(data_next(&f.d, 0, &f.b, &err) == 0, "%s", err.msg);
    CHECK(f.b.T == 48 && f.b.n_tokens == 8 * 48);
    int copy_tok = task_token(f.tasks[0]);
    for (int r = 0; r < f.b.B; r++) {
        const int *tok = f.b.tokens + (size_t)r * 48;
        const float *w = f.b.weights + (size_t)r * 48;
        /* every weighted position lies in an example that starts (task token) inside the row
         * and whose EOS target is inside the row */
        int start = -1;
        for (int t = 0; t < 48; t++) {
            if (tok[t] == copy_tok) start = t;
            if (w[t] > 0) CHECK(start >= 0, "row %d pos %d: loss on an example cut at the row start", r, t);
        }
        int t = 47;
        while (t >= 0 && f.b.targets[(size_t)r * 48 + t] != VOCAB_EOS) {
            CHECK(w[t] == 0, "row %d pos %d: loss on an example cut at the row end", r, t);
            t--;
        }
    }
    fixture_free(&f);
}

TEST(data_stream_is_deterministic_and_allocates_nothing) {
    Fixture a, b;
    if (!fixture_init(&a, sort_ini) || !fixture_init(&b, sort_ini)) return;
    LgErr err;
    uint64_t before = 0;
    for (int s = 0; s < 20; s++) {
        if (s == 1) before = lg_alloc_count();
        CHECK(data_next(&a.d, s, &a.b, &err) == 0 && data_next(&b.d, s, &b.b, &err) == 0);
        CHECK(a.b.T == b.b.T);
        CHECK(memcmp(a.b.tokens, b.b.tokens, (size_t)a.b.B * a.b.T * sizeof(int)) == 0);
    }
    CHECK(lg_alloc_count() == before, "data_next allocated %llu times",
          (unsigned long long)(lg_alloc_count() - before));
    fixture_free(&a);
    fixture_free(&b);
}
