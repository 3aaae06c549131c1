/* Tests of the training data stream: batch layout, loss weights, task mixing, curriculum,
 * packing, held-out prompts kept out of training, determinism and no allocation. */
#include <stdlib.h>
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
    int hint_rows;   /* rows of a hint task seen by row_hashes */
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
    "[train]\nbatch_size = 16\nmin_length = 3\nmax_length = 8\nbucket = 0\n"
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

static void check_held_out_kept_out(const char *bucket, int examples) {
    Fixture f;
    /* values 0..9: length 3 has only 1000 prompts, so 50 held out would be hit about every 20th
     * draw at that length if nothing kept them out */
    char ini[512];
    snprintf(ini, sizeof ini, "[model]\nmax_pos = 128\n[task]\nmain = sort\nhints = successor:0.5\nvalues = 0..9\n"
             "[train]\nbatch_size = 16\nmin_length = 3\nmax_length = 8\nbucket = %s\nexamples = %d\n"
             "[eval]\nlengths = 3,5,8\nn = 50\n", bucket, examples);
    if (!fixture_init(&f, ini)) return;
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
    CHECK(hits == 0, "bucket = %s, examples = %d: %ld training prompts were held-out prompts", bucket, examples, hits);
    CHECK(f.d.redrawn > 0, "the stream should have had to redraw some examples");
    fixture_free(&f);
}

TEST(data_keeps_held_out_prompts_out_of_training) {
    check_held_out_kept_out("0", 0);
}

TEST(data_bucketed_stream_keeps_held_out_prompts_out) {
    check_held_out_kept_out("8", 0);
}

/* a fixed set of 3000 examples, served about 10 times over the 32000 rows: each of its examples
 * whose prompt was held out was drawn again inside that example's own Rng */
TEST(data_fixed_training_set_keeps_held_out_prompts_out) {
    check_held_out_kept_out("0", 3000);
    check_held_out_kept_out("8", 3000);
}

TEST(data_curriculum_grows_the_longest_length) {
    Fixture f;
    if (!fixture_init(&f, "[model]\nmax_pos = 128\n[task]\nmain = copy\n"
                          "[train]\nbatch_size = 32\nmin_length = 2\nmax_length = 20\n"
                          "length_dist = curriculum\ncurriculum_steps = 100\nsteps = 200\nbucket = 0\n"
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


/* The task length of a row: sort of n values is 2n + 3 tokens, 2n + 2 positions. */
static int sort_row_length(const Batch *b, int r) {
    int n = 0;
    while (n < b->T && b->pos_task[(size_t)r * b->T + n] >= 0) n++;
    return (n - 2) / 2;
}

static const char *bucket_ini =
    "[model]\nmax_pos = 128\n[task]\nmain = sort\n"
    "[train]\nbatch_size = 16\nmin_length = 1\nmax_length = 20\nbucket = %d\n"
    "[eval]\nlengths = 25\nn = 5\n";

TEST(data_bucketed_batches_keep_the_length_distribution) {
    Fixture on, off;
    char ini_on[512], ini_off[512];
    snprintf(ini_on, sizeof ini_on, bucket_ini, 8);
    snprintf(ini_off, sizeof ini_off, bucket_ini, 0);
    if (!fixture_init(&on, ini_on) || !fixture_init(&off, ini_off)) return;
    LgErr err;
    /* the first pool holds exactly the examples of the first 8 unbucketed batches */
    long hist_on[21] = {0}, hist_off[21] = {0};
    for (int s = 0; s < 8; s++) {
        CHECK(data_next(&on.d, s, &on.b, &err) == 0 && data_next(&off.d, s, &off.b, &err) == 0, "%s", err.msg);
        for (int r = 0; r < 16; r++) {
            hist_on[sort_row_length(&on.b, r)]++;
            hist_off[sort_row_length(&off.b, r)]++;
        }
    }
    for (int n = 0; n <= 20; n++) CHECK(hist_on[n] == hist_off[n], "length %d: %ld rows bucketed, %ld not", n, hist_on[n], hist_off[n]);
    /* over 500 pools the lengths stay uniform on 1..20 (chi-square, 19 dof: p(> 43.8) = 0.001),
     * each batch spans few lengths, and the padded positions drop */
    long hist[21] = {0}, padded_on = 0, padded_off = 0, tokens = 0;
    double spread = 0;
    for (int s = 0; s < 4000; s++) {
        CHECK(data_next(&on.d, s, &on.b, &err) == 0 && data_next(&off.d, s, &off.b, &err) == 0, "%s", err.msg);
        int lo = 99, hi = 0;
        for (int r = 0; r < 16; r++) {
            int n = sort_row_length(&on.b, r);
            CHECK(n >= 1 && n <= 20, "row length %d", n);
            hist[n]++;
            lo = n < lo ? n : lo;
            hi = n > hi ? n : hi;
        }
        spread += hi - lo;
        padded_on += (long)on.b.B * on.b.T;
        padded_off += (long)off.b.B * off.b.T;
        tokens += on.b.n_tokens;
    }
    double chi2 = 0, expect = 4000.0 * 16 / 20;
    for (int n = 1; n <= 20; n++) chi2 += (hist[n] - expect) * (hist[n] - expect) / expect;
    CHECK(chi2 < 43.8, "bucketed lengths are not uniform on 1..20: chi-square %.1f", chi2);
    CHECK(spread / 4000 < 3.5, "a bucketed batch spans %.2f lengths on average, want under 3.5", spread / 4000);
    CHECK(padded_on < 0.75 * padded_off, "bucketed %ld positions, unbucketed %ld", padded_on, padded_off);
    CHECK((double)tokens / padded_on > 0.85, "bucketed batches are %.2f real tokens", (double)tokens / padded_on);
    fixture_free(&on);
    fixture_free(&off);
}

TEST(data_bucketed_loss_weights_keep_every_loss_position_equal) {
    Fixture f;
    char ini[512];
    snprintf(ini, sizeof ini, bucket_ini, 8);
    if (!fixture_init(&f, ini)) return;
    LgErr err;
    /* with nll = 1 everywhere a batch's loss is sum(w) / count(w > 0) = its scale; over a pool
     * the scales average to 1 (every loss position of the pool weighs the same) */
    double mean = 0;
    int lo = 1 << 30, hi = 0;
    for (int s = 0; s < 8; s++) {
        CHECK(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg);
        double sum = 0;
        int count = 0;
        for (int i = 0; i < f.b.B * f.b.T; i++) {
            sum += f.b.weights[i];
            count += f.b.weights[i] > 0;
        }
        mean += sum / count / 8;
        lo = count < lo ? count : lo;
        hi = count > hi ? count : hi;
    }
    CHECK_NEAR(mean, 1.0, 1e-5, 0);
    CHECK(hi > 3 * lo, "batches of a pool should differ in size (loss positions %d..%d)", lo, hi);
    fixture_free(&f);
}

TEST(data_seek_resumes_a_bucketed_stream_mid_pool) {
    Fixture a, b;
    char ini[512];
    snprintf(ini, sizeof ini, bucket_ini, 4);
    if (!fixture_init(&a, ini) || !fixture_init(&b, ini)) return;
    LgErr err;
    for (int s = 0; s < 6; s++) CHECK(data_next(&a.d, s, &a.b, &err) == 0, "%s", err.msg);
    /* a checkpoint after 6 batches holds pool_rng (the start of batches 4..7) */
    b.d.pool_rng = a.d.pool_rng;
    CHECK(data_seek(&b.d, 6, &err) == 0, "%s", err.msg);
    for (int s = 6; s < 20; s++) {
        CHECK(data_next(&a.d, s, &a.b, &err) == 0 && data_next(&b.d, s, &b.b, &err) == 0, "%s", err.msg);
        CHECK(a.b.T == b.b.T, "batch %d", s);
        CHECK(memcmp(a.b.tokens, b.b.tokens, (size_t)a.b.B * a.b.T * sizeof(int)) == 0, "batch %d tokens", s);
        CHECK(memcmp(a.b.weights, b.b.weights, (size_t)a.b.B * a.b.T * sizeof(float)) == 0, "batch %d weights", s);
    }
    fixture_free(&a);
    fixture_free(&b);
}

static void check_deterministic_without_allocation(const char *ini) {
    Fixture a, b;
    if (!fixture_init(&a, ini) || !fixture_init(&b, ini)) return;
    LgErr err;
    uint64_t before = 0;
    for (int s = 0; s < 40; s++) {
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

TEST(data_stream_is_deterministic_and_allocates_nothing) {
    check_deterministic_without_allocation(sort_ini);
    /* bucketed: 40 batches of 16 rows draw three pools of 16 batches */
    char ini[512];
    snprintf(ini, sizeof ini, bucket_ini, 16);
    check_deterministic_without_allocation(ini);
    /* a fixed set of 100 examples: 40 batches of 16 rows cross 6 epochs, each shuffled anew */
    snprintf(ini, sizeof ini, "%s[train]\nexamples = 100\n", sort_ini);
    check_deterministic_without_allocation(ini);
    snprintf(ini, sizeof ini, bucket_ini, 16);
    strcat(ini, "[train]\nexamples = 100\n");
    check_deterministic_without_allocation(ini);
}

TEST(data_length_split_parts_add_up_to_the_batch) {
    Fixture f;
    if (!fixture_init(&f, sort_ini)) return;   /* sort 3..8 with successor hints at loss weight 0.25 */
    LgErr err;
    Batch parts[3];
    for (int i = 0; i < 3; i++) batch_init(&parts[i], 6, f.b.cap_T);
    int scratch[2 * 16 + 64];
    long cells_split = 0, cells_whole = 0;
    for (int s = 0; s < 50; s++) {
        CHECK(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg);
        const Batch *b = &f.b;
        CHECK(b->T + 2 + 2 * b->B <= (int)(sizeof scratch / sizeof scratch[0]));
        int n = batch_split_by_length(b, 3, parts, scratch);
        CHECK(n == 3, "split into %d parts", n);
        /* with nll = 1 everywhere a loss is sum(w) / count(w > 0): the parts' add up to b's */
        double whole = 0, sum = 0;
        int count = 0;
        for (int i = 0; i < b->B * b->T; i++) {
            whole += b->weights[i];
            count += b->weights[i] > 0;
        }
        whole /= count;
        int rows = 0, prev_top = 0;
        long tokens = 0;
        for (int p = 0; p < n; p++) {
            const Batch *q = &parts[p];
            double w = 0;
            int c = 0, top = 0;
            for (int r = 0; r < q->B; r++) {
                int l = 0;
                while (l < q->T && q->pos_task[(size_t)r * q->T + l] >= 0) l++;
                top = l > top ? l : top;
                /* each part row is some row of b, token for token */
                int found = 0;
                for (int br = 0; br < b->B && !found; br++)
                    found = b->pos_task[(size_t)br * b->T + l - 1] >= 0 && (l == b->T || b->pos_task[(size_t)br * b->T + l] < 0) &&
                            !memcmp(b->tokens + (size_t)br * b->T, q->tokens + (size_t)r * q->T, (size_t)l * sizeof(int));
                CHECK(found, "part %d row %d is not a row of the batch", p, r);
            }
            for (int i = 0; i < q->B * q->T; i++) {
                w += q->weights[i];
                c += q->weights[i] > 0;
            }
            CHECK(q->T == top, "part %d padded to %d, its longest row is %d", p, q->T, top);
            CHECK(top >= prev_top, "parts go from short rows to long");
            prev_top = top;
            sum += c ? w / c : 0;
            rows += q->B;
            tokens += q->n_tokens;
            cells_split += (long)q->B * q->T;
        }
        cells_whole += (long)b->B * b->T;
        CHECK(rows == b->B && tokens == b->n_tokens, "parts hold %d rows, %ld tokens", rows, tokens);
        CHECK_NEAR(sum, whole, 1e-6, 1e-6, "batch %d: parts' losses vs the batch's", s);
    }
    CHECK(cells_split < 0.85 * cells_whole, "split batches compute %ld positions, whole %ld", cells_split, cells_whole);
    for (int i = 0; i < 3; i++) batch_free(&parts[i]);
    fixture_free(&f);
}

TEST(data_hint_max_length_trains_hints_longer_than_main) {
    Fixture f;
    if (!fixture_init(&f, "[model]\nmax_pos = 128\n[task]\nmain = sort\nhints = next_larger:1\n"
                          "[train]\nbatch_size = 32\nmin_length = 3\nmax_length = 8\nhint_max_length = 30\nbucket = 0\n"
                          "[eval]\nlengths = 5\nn = 5\n")) return;
    LgErr err;
    int longest[2] = {0, 0};
    for (int s = 0; s < 50; s++) {
        CHECK(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg);
        for (int r = 0; r < f.b.B; r++) {
            const int *task = f.b.pos_task + (size_t)r * f.b.T;
            int n = 0;
            while (n < f.b.T && task[n] >= 0) n++;
            if (n > longest[task[0]]) longest[task[0]] = n;
        }
    }
    /* a row of input positions is one shorter than its example */
    CHECK(longest[0] == task_max_tokens(f.tasks[0], 8) - 1, "sort stays within max_length (%d positions)", longest[0]);
    CHECK(longest[1] > task_max_tokens(f.tasks[1], 8) - 1 && longest[1] <= task_max_tokens(f.tasks[1], 30) - 1,
          "next_larger reaches beyond max_length up to hint_max_length (%d positions)", longest[1]);
    CHECK(data_max_length(&f.cfg.train, 0) == 8 && data_max_length(&f.cfg.train, 1) == 30, "per-task longest length");
    fixture_free(&f);
}

TEST(data_length_dist_pairs_with_balanced_operands_gives_every_pair_equally) {
    Fixture f;
    if (!fixture_init(&f, "[model]\nmax_pos = 128\n[task]\nmain = addition\noperands = balanced\n"
                          "[train]\nbatch_size = 50\nmin_length = 1\nmax_length = 6\nlength_dist = pairs\nbucket = 0\n"
                          "[eval]\nlengths = 6\nn = 5\n")) return;
    LgErr err;
    int plus = -1, eq = -1, seen[7][7] = {{0}}, total = 0;
    for (int i = 0; i < vocab_size(&f.vocab); i++) {
        if (!strcmp(vocab_str(&f.vocab, i), "+")) plus = i;
        if (!strcmp(vocab_str(&f.vocab, i), "=")) eq = i;
    }
    for (int s = 0; s < 1200; s++) {
        CHECK(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg);
        for (int r = 0; r < f.b.B; r++) {
            const int *row = f.b.tokens + (size_t)r * f.b.T;
            int p = 1;
            while (row[p] != plus) p++;
            int q = p + 1;
            while (row[q] != eq) q++;
            seen[p - 1][q - p - 1]++, total++;
        }
    }
    /* 36 pairs (len a, len b) in 1..6 x 1..6, each 1/36 of 60000 draws (~1667; sd ~40) */
    for (int a = 1; a <= 6; a++)
        for (int b = 1; b <= 6; b++)
            CHECK(seen[a][b] > total / 36 * 0.9 && seen[a][b] < total / 36 * 1.1, "pair (%d, %d) seen %d of %d",
                  a, b, seen[a][b], total);
    fixture_free(&f);
}

/* ---- a fixed training set (train.examples) ---- */

/* FNV-1a over n bytes, continuing from h. */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}

/* A digest of the first `batches` batches of the stream of ini: every row's tokens, targets,
 * weights and task ids. */
static uint64_t stream_digest(const char *ini, int batches) {
    Fixture f;
    if (!fixture_init(&f, ini)) return 0;
    LgErr err;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int s = 0; s < batches; s++) {
        if (!EXPECT(data_next(&f.d, s, &f.b, &err) == 0, "%s", err.msg)) break;
        size_t n = (size_t)f.b.B * (size_t)f.b.T;
        h = fnv(h, &f.b.T, sizeof f.b.T);
        h = fnv(h, f.b.tokens, n * sizeof(int));
        h = fnv(h, f.b.targets, n * sizeof(int));
        h = fnv(h, f.b.weights, n * sizeof(float));
        h = fnv(h, f.b.pos_task, n * sizeof(int));
    }
    fixture_free(&f);
    return h;
}

static const char *packed_ini =
    "[model]\nmax_pos = 64\n[task]\nmain = copy\n"
    "[train]\nbatch_size = 8\nmin_length = 1\nmax_length = 10\npack = true\n"
    "[eval]\nlengths = 5\nn = 20\n";

static const char *pairs_ini =
    "[model]\nmax_pos = 128\n[task]\nmain = addition\noperands = balanced\ncarries = balanced\n"
    "[train]\nbatch_size = 16\nmin_length = 1\nmax_length = 3\nlength_dist = pairs\n"
    "[eval]\nlengths = 2,3\nn = 50\n";

/* examples = 0 (the default) is the stream as it was before the key existed: these digests were
 * taken with src/data.c of main at 71f5e85, before train.examples, for an unpacked stream with a
 * hint, a bucketed, a packed and a carry-balanced pairs stream (40 batches each). */
TEST(data_fresh_stream_is_unchanged_by_the_fixed_set_option) {
    char bucketed[512];
    snprintf(bucketed, sizeof bucketed, bucket_ini, 8);
    const char *inis[] = {sort_ini, bucketed, packed_ini, pairs_ini};
    const uint64_t want[] = {0x66f714c13368da23ULL, 0x997aac5751afff7eULL, 0xa2cfa2eac31a6da4ULL, 0x33555252484e56e4ULL};
    for (int i = 0; i < 4; i++) {
        uint64_t h = stream_digest(inis[i], 40);
        EXPECT(h == want[i], "stream %d: digest 0x%016llxULL, want 0x%016llxULL", i, (unsigned long long)h,
               (unsigned long long)want[i]);
    }
}

/* The sort stream with a successor hint over a fixed set of `examples` (0 = fresh draws). */
static void set_ini(char *ini, size_t cap, int batch, int bucket, int examples) {
    snprintf(ini, cap,
             "[model]\nmax_pos = 128\n[task]\nmain = sort\nhints = successor:0.5\n"
             "[train]\nbatch_size = %d\nmin_length = 3\nmax_length = 8\nbucket = %d\nexamples = %d\n"
             "[eval]\nlengths = 3,5,8\nn = 50\n", batch, bucket, examples);
}

/* A hash of each row of the next `batches` batches (its task and its tokens up to its length),
 * in stream order, into out; returns the rows hashed. */
static int row_hashes(Fixture *f, int batches, uint64_t *out) {
    LgErr err;
    int n = 0;
    for (int s = 0; s < batches; s++) {
        if (!EXPECT(data_next(&f->d, s, &f->b, &err) == 0, "%s", err.msg)) return n;
        for (int r = 0; r < f->b.B; r++) {
            const int *task = f->b.pos_task + (size_t)r * f->b.T;
            int len = 0;
            while (len < f->b.T && task[len] >= 0) len++;
            out[n++] = task_hash_tokens(f->b.tokens + (size_t)r * f->b.T, len) * 31 + (uint64_t)task[0];
            f->hint_rows += task[0] > 0;
        }
    }
    return n;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int distinct(const uint64_t *h, int n, uint64_t *scratch) {
    memcpy(scratch, h, (size_t)n * sizeof *h);
    qsort(scratch, (size_t)n, sizeof *h, cmp_u64);
    int d = n > 0;
    for (int i = 1; i < n; i++) d += scratch[i] != scratch[i - 1];
    return d;
}

/* examples = 40, batches of 16: every run of 40 consecutive rows (an epoch, crossing batch
 * boundaries) is the same 40 examples in a new order, nothing else ever occurs, both tasks are
 * in the set, and fresh draws (examples = 0) are not a set at all. */
TEST(data_fixed_training_set_is_served_in_epochs) {
    enum { N = 40, EPOCHS = 10, ROWS = N * EPOCHS };
    static uint64_t h[ROWS], first[N], sorted[N], all[ROWS];
    char ini[512];
    Fixture f;
    set_ini(ini, sizeof ini, 16, 0, N);
    if (!fixture_init(&f, ini)) return;
    int n = row_hashes(&f, ROWS / 16, h);
    CHECK(n == ROWS);
    CHECK(distinct(h, N, first) == N, "the first epoch holds %d distinct examples, want all %d", distinct(h, N, first), N);
    CHECK(distinct(h, ROWS, all) == N, "%d distinct examples over %d epochs of a set of %d", distinct(h, ROWS, all), EPOCHS, N);
    int reordered = 0;
    for (int e = 1; e < EPOCHS; e++) {
        distinct(h + e * N, N, sorted);
        CHECK(memcmp(sorted, first, sizeof first) == 0, "epoch %d is not the set of epoch 0", e);
        reordered += memcmp(h + e * N, h + (e - 1) * N, sizeof first) != 0;
    }
    CHECK(reordered == EPOCHS - 1, "only %d of %d epochs were in a new order", reordered, EPOCHS - 1);
    CHECK(f.hint_rows > 0 && f.hint_rows < ROWS, "the set should mix sort and successor (%d successor rows)", f.hint_rows);
    fixture_free(&f);
    /* the same stream drawing fresh examples: 400 rows of sort 3..8 and successor barely repeat */
    set_ini(ini, sizeof ini, 16, 0, 0);
    if (!fixture_init(&f, ini)) return;
    CHECK(row_hashes(&f, ROWS / 16, h) == ROWS);
    CHECK(distinct(h, ROWS, all) > ROWS * 9 / 10, "fresh draws: only %d distinct of %d", distinct(h, ROWS, all), ROWS);
    fixture_free(&f);
}

/* The set is a function of the run seed alone: the batch size and bucketing change which rows
 * share a batch, not the examples nor, without bucketing, their order. Another seed, another set. */
TEST(data_fixed_training_set_depends_on_the_seed_only) {
    enum { N = 64, ROWS = 5 * N };   /* 20 batches of 16 = 5 pools of 4 batches = 5 epochs */
    static uint64_t a[ROWS], b[ROWS], sa[ROWS], sb[ROWS];
    char ini[512];
    Fixture f;
    set_ini(ini, sizeof ini, 16, 0, N);
    if (!fixture_init(&f, ini)) return;
    CHECK(row_hashes(&f, ROWS / 16, a) == ROWS);
    fixture_free(&f);
    set_ini(ini, sizeof ini, 8, 0, N);
    if (!fixture_init(&f, ini)) return;
    CHECK(row_hashes(&f, ROWS / 8, b) == ROWS);
    fixture_free(&f);
    CHECK(memcmp(a, b, sizeof a) == 0, "batches of 8 take the set's examples in another order than batches of 16");
    set_ini(ini, sizeof ini, 16, 4, N);
    if (!fixture_init(&f, ini)) return;
    CHECK(row_hashes(&f, ROWS / 16, b) == ROWS);
    fixture_free(&f);
    distinct(a, ROWS, sa);
    distinct(b, ROWS, sb);
    CHECK(memcmp(sa, sb, sizeof sa) == 0, "bucketing changed which examples the 5 epochs hold");
    CHECK(memcmp(a, b, sizeof a) != 0, "bucketing should reorder the rows");
    set_ini(ini, sizeof ini, 16, 0, N);
    strcat(ini, "[run]\nseed = 2\n");
    if (!fixture_init(&f, ini)) return;
    CHECK(row_hashes(&f, ROWS / 16, b) == ROWS);
    fixture_free(&f);
    int shared = 0;
    distinct(a, N, sa);
    for (int i = 0; i < N; i++) shared += bsearch(&b[i], sa, N, sizeof *sa, cmp_u64) != NULL;
    CHECK(shared < N / 4, "seed 2's set shares %d of %d examples with seed 1's", shared, N);
}

/* A checkpoint after `at` batches holds pool_rng; a new stream seeking there continues as the
 * uninterrupted one, mid-epoch (and, bucketed, mid-pool). */
static void check_fixed_set_seek(int bucket, int at) {
    Fixture a, b;
    char ini[512];
    set_ini(ini, sizeof ini, 16, bucket, 40);
    if (!fixture_init(&a, ini) || !fixture_init(&b, ini)) return;
    LgErr err;
    for (int s = 0; s < at; s++) CHECK(data_next(&a.d, s, &a.b, &err) == 0, "%s", err.msg);
    b.d.pool_rng = a.d.pool_rng;
    CHECK(data_seek(&b.d, at, &err) == 0, "%s", err.msg);
    for (int s = at; s < at + 30; s++) {
        CHECK(data_next(&a.d, s, &a.b, &err) == 0 && data_next(&b.d, s, &b.b, &err) == 0, "%s", err.msg);
        CHECK(a.b.T == b.b.T, "bucket %d, seek to %d: batch %d", bucket, at, s);
        CHECK(memcmp(a.b.tokens, b.b.tokens, (size_t)a.b.B * a.b.T * sizeof(int)) == 0, "bucket %d, seek to %d: batch %d tokens",
              bucket, at, s);
        CHECK(memcmp(a.b.weights, b.b.weights, (size_t)a.b.B * a.b.T * sizeof(float)) == 0,
              "bucket %d, seek to %d: batch %d weights", bucket, at, s);
    }
    fixture_free(&a);
    fixture_free(&b);
}

TEST(data_seek_resumes_a_fixed_training_set_mid_epoch) {
    check_fixed_set_seek(0, 6);    /* 96 rows: 16 into the third epoch of 40 */
    check_fixed_set_seek(0, 5);    /* 80 rows: at an epoch boundary */
    check_fixed_set_seek(4, 6);    /* pool of batches 4..7 (rows 64..127), 2 of its batches used */
    check_fixed_set_seek(4, 8);    /* at a pool boundary */
}
