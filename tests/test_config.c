/* Tests of config: defaults, parsing of every type, error messages (file:line, suggestions),
 * task options pass-through, --set, cross-field validation, round trip through
 * cfg_to_string, the docs covering every key, and every shipped config in configs/ loading. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../src/config.h"
#include "../src/model.h"
#include "../src/util.h"
#include "files.h"
#include "test.h"

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* Loads text over defaults; returns the rc and leaves the message in err. */
static int load(Config *c, const char *text, LgErr *err) {
    cfg_defaults(c);
    return cfg_load_string(c, text, "t.ini", err);
}

/* The load must fail with a message containing every one of the given fragments. */
#define EXPECT_LOAD_ERROR(text, ...)                                                           \
    do {                                                                                       \
        Config c_;                                                                             \
        LgErr e_ = {{0}};                                                                      \
        CHECK(load(&c_, text, &e_) == -1, "accepted: %s", text);                               \
        const char *frags_[] = {__VA_ARGS__};                                                  \
        for (size_t i_ = 0; i_ < sizeof frags_ / sizeof frags_[0]; i_++)                       \
            CHECK(contains(e_.msg, frags_[i_]), "message '%s' lacks '%s'", e_.msg, frags_[i_]); \
    } while (0)

#define EXPECT_INVALID(assignments, fragment)                                                  \
    do {                                                                                       \
        Config c_;                                                                             \
        LgErr e_ = {{0}};                                                                      \
        cfg_defaults(&c_);                                                                     \
        CHECK(cfg_set(&c_, "task.main=sort", &e_) == 0, "%s", e_.msg);                         \
        const char *as_[] = assignments;                                                       \
        for (size_t i_ = 0; i_ < sizeof as_ / sizeof as_[0]; i_++)                             \
            CHECK(cfg_set(&c_, as_[i_], &e_) == 0, "%s: %s", as_[i_], e_.msg);                 \
        CHECK(cfg_validate(&c_, &e_) == -1, "validated although %s", #assignments);            \
        CHECK(contains(e_.msg, fragment), "message '%s' lacks '%s'", e_.msg, fragment);        \
    } while (0)
#define L(...) {__VA_ARGS__}

TEST(config_defaults_match_header) {
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(c.model.layers == 2 && c.model.heads == 4 && c.model.d_model == 128 && c.model.d_ff == 0);
    CHECK(c.model.norm == NORM_LAYERNORM && c.model.bias == 1 && c.model.activation == ACT_GELU);
    CHECK(c.model.tie_embeddings == 1 && c.model.max_pos == 512 && c.model.init_std == 0.02f);
    CHECK(c.model.posenc == PE_NOPE && c.model.rope_base == 10000.0f && c.model.rope_fraction == 1.0f);
    CHECK(c.model.t5_buckets == 32 && c.model.t5_max_distance == 128 && c.model.t5_shared == 1);
    CHECK(c.model.fire_hidden == 32 && c.model.fire_c_init == 0.1f && c.model.fire_L_init == 512.0f);
    CHECK(c.model.abacus_max_offset == 100 && c.model.abacus_max_digits == 128);
    CHECK(c.model.random_positions == 0 && c.model.random_max_pos == 2048);
    CHECK(c.model.temperature == TEMP_OFF && c.model.temperature_base == 20 && c.model.attn_scale == 1.0f);
    CHECK(c.task.n_tasks == 1 && c.task.tasks[0].name[0] == '\0' && c.task.tasks[0].sample_weight == 1.0f);
    CHECK(c.task.tasks[0].loss_weight == 1.0f && c.task.whole_sequence_loss == 0 && c.task.n_opts == 0);
    CHECK(c.train.steps == 2000 && c.train.batch_size == 64 && c.train.grad_accum == 1);
    CHECK(c.train.optimizer == OPT_ADAMW && c.train.lr == 1e-3f && c.train.min_lr == 1e-4f);
    CHECK(c.train.warmup == 100 && c.train.schedule == SCHED_COSINE && c.train.poly_power == 1.0f);
    CHECK(c.train.weight_decay == 0.1f && c.train.beta1 == 0.9f && c.train.beta2 == 0.99f);
    CHECK(c.train.eps == 1e-8f && c.train.momentum == 0.9f && c.train.grad_clip == 1.0f);
    CHECK(c.train.min_length == 1 && c.train.max_length == 20 && c.train.length_dist == LENDIST_UNIFORM);
    CHECK(c.train.pack == 0 && c.train.pack_len == 0 && c.train.log_every == 50);
    CHECK(c.train.length_split == 8 && c.train.bucket == 0 && c.train.examples == 0);
    CHECK(c.train.eval_every == 500 && c.train.ckpt_every == 500);
    CHECK(c.eval.n_lengths == 10 && c.eval.lengths[0] == 10 && c.eval.lengths[9] == 100);
    CHECK(c.eval.n == 200 && c.eval.batch_size == 64 && !strcmp(c.eval.best_metric, "exact_match"));
    CHECK(!strcmp(c.run.name, "default") && !strcmp(c.run.out_dir, "runs") && c.run.seed == 1 && c.run.threads == 0);
    /* the defaults validate once a main task is named, and only then */
    CHECK(cfg_validate(&c, &err) == -1 && contains(err.msg, "main is not set"), "%s", err.msg);
    CHECK(cfg_set(&c, "task.main=sort", &err) == 0);
    CHECK(cfg_validate(&c, &err) == 0, "%s", err.msg);
}

TEST(config_parses_every_type) {
    Config c;
    LgErr err;
    const char *text =
        "; comment\n# another\n"
        "[model]\n"
        "  layers = 4   ; indented, inline comment\n"
        "dropout = 0.25\n"
        "norm = rmsnorm\n"
        "bias = off\n"
        "tie_embeddings = No\n"
        "posenc = rope\n"
        "rope_fraction = 0.25\n"
        "[run]\n"
        "seed = 18446744073709551615\n"
        "name = exp-1.a_b\n"
        "[eval]\n"
        "lengths = 5, 10:30:10, 31:33\n"
        "best_metric = token_accuracy\n";
    CHECK(load(&c, text, &err) == 0, "%s", err.msg);
    CHECK(c.model.layers == 4 && c.model.dropout == 0.25f && c.model.norm == NORM_RMSNORM);
    CHECK(c.model.bias == 0 && c.model.tie_embeddings == 0 && c.model.posenc == PE_ROPE && c.model.rope_fraction == 0.25f);
    CHECK(c.run.seed == 18446744073709551615ULL && !strcmp(c.run.name, "exp-1.a_b"));
    int want[] = {5, 10, 20, 30, 31, 32, 33};
    CHECK(c.eval.n_lengths == 7);
    for (int i = 0; i < 7; i++) CHECK(c.eval.lengths[i] == want[i], "lengths[%d] = %d", i, c.eval.lengths[i]);
    CHECK(!strcmp(c.eval.best_metric, "token_accuracy"));
    /* every bool spelling */
    const char *yes[] = {"true", "1", "yes", "on", "TRUE"}, *no[] = {"false", "0", "no", "off", "Off"};
    for (int i = 0; i < 5; i++) {
        char a[64];
        snprintf(a, sizeof a, "model.bias=%s", yes[i]);
        CHECK(cfg_set(&c, a, &err) == 0 && c.model.bias == 1, "%s", a);
        snprintf(a, sizeof a, "model.bias=%s", no[i]);
        CHECK(cfg_set(&c, a, &err) == 0 && c.model.bias == 0, "%s", a);
    }
}

TEST(config_lengths_lists) {
    int v[CFG_MAX_LENGTHS], n;
    LgErr err;
    CHECK(cfg_parse_lengths("5,10:100:10", v, CFG_MAX_LENGTHS, &n, &err) == 0, "%s", err.msg);
    CHECK(n == 11 && v[0] == 5 && v[1] == 10 && v[10] == 100);
    CHECK(cfg_parse_lengths(" 7 ", v, CFG_MAX_LENGTHS, &n, &err) == 0 && n == 1 && v[0] == 7);
    CHECK(cfg_parse_lengths("1:10:4", v, CFG_MAX_LENGTHS, &n, &err) == 0 && n == 3 && v[2] == 9, "stop is inclusive only when hit");
    CHECK(cfg_parse_lengths("3:5", v, CFG_MAX_LENGTHS, &n, &err) == 0 && n == 3 && v[2] == 5);
    CHECK(cfg_parse_lengths("5,1x:3", v, CFG_MAX_LENGTHS, &n, &err) == -1 && contains(err.msg, "'1x:3'"), "%s", err.msg);
    CHECK(cfg_parse_lengths("5,,6", v, CFG_MAX_LENGTHS, &n, &err) == -1 && contains(err.msg, "''"), "%s", err.msg);
    CHECK(cfg_parse_lengths("0", v, CFG_MAX_LENGTHS, &n, &err) == -1 && contains(err.msg, "'0'"), "%s", err.msg);
    CHECK(cfg_parse_lengths("9:3", v, CFG_MAX_LENGTHS, &n, &err) == -1 && contains(err.msg, "below start"), "%s", err.msg);
    CHECK(cfg_parse_lengths("1:5:0", v, CFG_MAX_LENGTHS, &n, &err) == -1 && contains(err.msg, "'1:5:0'"), "%s", err.msg);
    CHECK(cfg_parse_lengths("1:2:3:4", v, CFG_MAX_LENGTHS, &n, &err) == -1, "four parts");
    CHECK(cfg_parse_lengths("", v, CFG_MAX_LENGTHS, &n, &err) == -1 && contains(err.msg, "no lengths"));
    CHECK(cfg_parse_lengths("1:100", v, 50, &n, &err) == -1 && contains(err.msg, "more than 50"), "%s", err.msg);
}

TEST(config_errors_name_line_and_suggest) {
    EXPECT_LOAD_ERROR("[train]\nsteps = 10\n\nlr_warmup = 5\n", "t.ini:4:", "unknown key 'lr_warmup' in [train]", "did you mean 'warmup'?");
    EXPECT_LOAD_ERROR("[train]\nwarmpu = 5\n", "t.ini:2:", "did you mean 'warmup'?");
    EXPECT_LOAD_ERROR("[model]\nlr = 0.1\n", "t.ini:2:", "unknown key 'lr' in [model]", "belongs in [train]");
    EXPECT_LOAD_ERROR("[model]\nmomentun = 0.1\n", "did you mean 'momentum' in [train]?");
    EXPECT_LOAD_ERROR("[model]\nzzzzzz = 1\n", "unknown key 'zzzzzz' in [model]");
    EXPECT_LOAD_ERROR("lr = 0.1\n", "t.ini:1:", "outside any section", "[train]");
    EXPECT_LOAD_ERROR("[model]\n[trian]\n", "t.ini:2:", "unknown section [trian]", "did you mean [train]?");
    EXPECT_LOAD_ERROR("[train]\nlr = abc\n", "t.ini:2: [train] lr = 'abc' is not a number");
    EXPECT_LOAD_ERROR("[train]\nlr = 1e-3 # old\n", "is not a number", "inline comments start with ';'");
    EXPECT_LOAD_ERROR("[train]\nsteps = 1.5\n", "[train] steps = '1.5' is not a whole number");
    EXPECT_LOAD_ERROR("[train]\nbeta1 = 1\n", "[train] beta1 = 1 must be in [0, 1)");
    EXPECT_LOAD_ERROR("[train]\nlr = 0\n", "[train] lr = 0 must be > 0");
    EXPECT_LOAD_ERROR("[train]\nlr = nan\n", "not a finite");
    EXPECT_LOAD_ERROR("[model]\nlayers = 0\n", "[model] layers = 0 must be in [1, 256]");
    EXPECT_LOAD_ERROR("[train]\nexamples = -5\n", "t.ini:2: [train] examples = -5 must be in [0, 10000000]");
    EXPECT_LOAD_ERROR("[train]\nexamples = 20000000\n", "t.ini:2: [train] examples = 20000000 must be in [0, 10000000]");
    EXPECT_LOAD_ERROR("[model]\nposenc = rotary\n", "posenc = 'rotary' is not one of: nope, learned, sinusoidal, t5, alibi, rope, fire, abacus, coupled");
    EXPECT_LOAD_ERROR("[model]\nbias = maybe\n", "bias = 'maybe' is not a boolean");
    EXPECT_LOAD_ERROR("[eval]\nbest_metric = accuracy\n", "not one of: exact_match, token_accuracy");
    EXPECT_LOAD_ERROR("[eval]\nlengths = 5, 10:x\n", "t.ini:2:", "'10:x'");
    EXPECT_LOAD_ERROR("[run]\nseed = -1\n", "seed = '-1'");
    EXPECT_LOAD_ERROR("[run]\nseed = 18446744073709551616\n", "seed = '18446744073709551616'");
    EXPECT_LOAD_ERROR("[train]\nsteps = 99999999999999999999\n", "steps = 99999999999999999999 must be in");
    EXPECT_LOAD_ERROR("[model]\nlayers = 2\n[train]\nsteps = 5\n[model]\nlayers = 3\n", "t.ini:6:", "duplicate key 'layers' in [model]");
    EXPECT_LOAD_ERROR("[model]\nlayers 2\n", "t.ini:2:", "syntax error");
    EXPECT_LOAD_ERROR("[model\n", "t.ini:1:", "syntax error");
    EXPECT_LOAD_ERROR("[task]\nmain = sort, copy\n", "main = 'sort, copy' must be one task name");
    EXPECT_LOAD_ERROR("[task]\nhints = successor:0\n", "weights are numbers > 0");
    EXPECT_LOAD_ERROR("[task]\nhints = successor, successor\n", "names 'successor' twice");
    EXPECT_LOAD_ERROR("[task]\nhints = a b\n", "bad task name 'a b'");
    EXPECT_LOAD_ERROR("[task]\nloss_weights = successor\n", "without a weight");
    EXPECT_LOAD_ERROR("[task]\nreverse = true\nreverse = false\n", "t.ini:3:", "duplicate key 'reverse' in [task]");
    char longline[400];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "[run]\nname = ", 13);
    longline[398] = '\n';
    longline[399] = '\0';
    EXPECT_LOAD_ERROR(longline, "t.ini:2:", "longer than");

    /* a failed key leaves the earlier value in place */
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(cfg_load_string(&c, "[train]\nlr = 0.5\nsteps = x\n", "t.ini", &err) == -1);
    CHECK(c.train.lr == 0.5f && c.train.steps == 2000);
    CHECK(cfg_load_file(&c, "/nonexistent/x.ini", &err) == -1 && contains(err.msg, "/nonexistent/x.ini") && contains(err.msg, "cannot open"), "%s", err.msg);
}

TEST(config_set_behaves_like_a_file_line) {
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(cfg_set(&c, "train.lr=3e-4", &err) == 0 && c.train.lr == 3e-4f);
    CHECK(cfg_set(&c, " model.posenc = alibi ", &err) == 0 && c.model.posenc == PE_ALIBI);
    CHECK(cfg_set(&c, "train.lr=3e-4", &err) == 0, "--set may repeat a key: the later value wins");
    CHECK(cfg_set(&c, "train.lr=abc", &err) == -1 && contains(err.msg, "--set") && contains(err.msg, "[train] lr = 'abc' is not a number"), "%s", err.msg);
    CHECK(cfg_set(&c, "train.lr_warmup=3", &err) == -1 && contains(err.msg, "did you mean 'warmup'?"), "%s", err.msg);
    CHECK(cfg_set(&c, "model.lr=3", &err) == -1 && contains(err.msg, "belongs in [train]"), "%s", err.msg);
    CHECK(cfg_set(&c, "trian.lr=3", &err) == -1 && contains(err.msg, "did you mean [train]?"), "%s", err.msg);
    CHECK(cfg_set(&c, "lr=3", &err) == -1 && contains(err.msg, "train.lr=3"), "%s", err.msg);
    CHECK(cfg_set(&c, "train.lr", &err) == -1 && contains(err.msg, "section.key=value"), "%s", err.msg);
    CHECK(cfg_set(&c, "eval.lengths=2:8:2", &err) == 0 && c.eval.n_lengths == 4 && c.eval.lengths[3] == 8);
    char buf[64];
    CHECK(cfg_get(&c, "eval.lengths", buf, sizeof buf, &err) == 0 && !strcmp(buf, "2:8:2"), "%s", buf);
    CHECK(cfg_get(&c, "model.posenc", buf, sizeof buf, &err) == 0 && !strcmp(buf, "alibi"));
    CHECK(cfg_get(&c, "train.lr", buf, sizeof buf, &err) == 0 && !strcmp(buf, "0.0003"), "%s", buf);
    CHECK(cfg_get(&c, "model.headz", buf, sizeof buf, &err) == -1 && contains(err.msg, "did you mean 'heads'"), "%s", err.msg);
}

TEST(config_task_mixture_and_options) {
    Config c;
    LgErr err;
    /* loss_weights before the tasks it names: resolved regardless of order */
    const char *text =
        "[task]\n"
        "loss_weights = successor:0.5, sort:2\n"
        "main = sort\n"
        "hints = successor:0.5, rank:0.25, fill\n"
        "main_weight = 3\n"
        "whole_sequence_loss = yes\n"
        "reverse = true\n"
        "max_value = 99\n";
    CHECK(load(&c, text, &err) == 0, "%s", err.msg);
    const TaskConfig *t = &c.task;
    CHECK(t->n_tasks == 4 && !strcmp(t->tasks[0].name, "sort") && !strcmp(t->tasks[3].name, "fill"));
    CHECK(t->tasks[0].sample_weight == 3.0f && t->tasks[0].loss_weight == 2.0f);
    CHECK(t->tasks[1].sample_weight == 0.5f && t->tasks[1].loss_weight == 0.5f);
    CHECK(t->tasks[2].sample_weight == 0.25f && t->tasks[2].loss_weight == 1.0f);
    CHECK(t->tasks[3].sample_weight == 1.0f && t->tasks[3].loss_weight == 1.0f);
    CHECK(t->whole_sequence_loss == 1);
    CHECK(t->n_opts == 2);
    const TaskOpt *o = cfg_task_opt(t, "reverse");
    CHECK(o && !strcmp(o->value, "true") && !strcmp(o->file, "t.ini") && o->line == 7);
    CHECK(cfg_task_opt(t, "max_value") && !strcmp(cfg_task_opt(t, "max_value")->value, "99"));
    CHECK(cfg_task_opt(t, "nope") == NULL);
    CHECK(cfg_validate(&c, &err) == 0, "%s", err.msg);
    /* --set: a later value replaces the option and records where it came from */
    CHECK(cfg_set(&c, "task.reverse=false", &err) == 0);
    o = cfg_task_opt(t, "reverse");
    CHECK(t->n_opts == 2 && !strcmp(o->value, "false") && !strcmp(o->file, "--set") && o->line == 0);
    CHECK(cfg_set(&c, "task.pad = zeros", &err) == 0 && t->n_opts == 3);
    /* a second file layers over the first */
    CHECK(cfg_load_string(&c, "[task]\nmax_value = 9\n", "u.ini", &err) == 0);
    o = cfg_task_opt(t, "max_value");
    CHECK(t->n_opts == 3 && !strcmp(o->value, "9") && !strcmp(o->file, "u.ini") && o->line == 2);
    /* new hints keep the loss weights by name */
    CHECK(cfg_set(&c, "task.hints=successor", &err) == 0 && t->n_tasks == 2 && t->tasks[1].loss_weight == 0.5f);
    CHECK(cfg_set(&c, "task.hints=", &err) == 0 && t->n_tasks == 1);
    CHECK(cfg_validate(&c, &err) == -1 && contains(err.msg, "loss_weights names 'successor'"), "%s", err.msg);
    CHECK(cfg_set(&c, "task.hints=sort", &err) == 0);
    CHECK(cfg_set(&c, "task.loss_weights=", &err) == 0);
    CHECK(cfg_validate(&c, &err) == -1 && contains(err.msg, "'sort' appears twice"), "%s", err.msg);
}

TEST(config_validate_cross_field) {
    EXPECT_INVALID(L("model.heads=3"), "heads = 3 does not divide d_model = 128");
    EXPECT_INVALID(L("model.posenc=rope", "model.d_model=60", "model.heads=4"), "even head dim");
    EXPECT_INVALID(L("model.posenc=rope", "model.rope_fraction=0.3"), "rope_fraction = 0.3");
    EXPECT_INVALID(L("model.posenc=rope", "model.d_model=16", "model.heads=4", "model.rope_fraction=0.25"), "rope_fraction");
    EXPECT_INVALID(L("model.random_positions=true", "model.max_pos=4096"), "random_max_pos = 2048 must be >= max_pos = 4096");
    EXPECT_INVALID(L("model.posenc=t5", "model.t5_max_distance=10"), "t5_max_distance");
    EXPECT_INVALID(L("eval.random_positions=true"), "[eval] random_positions = true needs [model] random_positions = true");
    EXPECT_INVALID(L("train.min_length=30"), "min_length = 30 must be <= max_length = 20");
    EXPECT_INVALID(L("train.warmup=2000"), "warmup = 2000 must be < steps = 2000");
    EXPECT_INVALID(L("train.hint_max_length=50"), "hint_max_length = 50 is set but [task] has no hints");
    EXPECT_INVALID(L("task.hints=copies", "train.min_length=5", "train.hint_max_length=3"), "hint_max_length = 3 must be 0");
    EXPECT_INVALID(L("train.min_lr=0.01"), "min_lr");
    EXPECT_INVALID(L("train.length_dist=curriculum"), "curriculum_steps");
    EXPECT_INVALID(L("train.pack=true", "train.pack_len=1000"), "pack_len = 1000");
    EXPECT_INVALID(L("train.examples=500", "train.pack=true"), "[train] examples = 500 (a fixed training set) does not combine with pack = true");
    EXPECT_INVALID(L("train.examples=500", "train.length_dist=curriculum", "train.curriculum_steps=100"),
                   "[train] examples = 500 (a fixed training set) does not combine with length_dist = curriculum");
    EXPECT_INVALID(L("eval.lengths=10,5"), "ascending");
    EXPECT_INVALID(L("eval.lengths=5,5"), "ascending");
    EXPECT_INVALID(L("run.name=a/b"), "[run] name = 'a/b'");
    EXPECT_INVALID(L("task.main="), "main is not set");
    /* RoPE with a valid partial fraction passes */
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(cfg_set(&c, "task.main=sort", &err) == 0 && cfg_set(&c, "model.posenc=rope", &err) == 0);
    CHECK(cfg_set(&c, "model.rope_fraction=0.25", &err) == 0);
    CHECK(cfg_validate(&c, &err) == 0, "%s", err.msg);
    /* ranges are re-checked for configs changed in code */
    c.train.beta2 = 1.5f;
    CHECK(cfg_validate(&c, &err) == -1 && contains(err.msg, "beta2 = 1.5 must be in [0, 1)"), "%s", err.msg);
}

/* Sets every key to a non-default value. */
static int change_everything(Config *c, LgErr *err) {
    const char *as[] = {
        "model.layers=5", "model.heads=8", "model.d_model=256", "model.d_ff=300", "model.dropout=0.125",
        "model.norm=rmsnorm", "model.bias=false", "model.activation=relu", "model.tie_embeddings=false",
        "model.max_pos=1000", "model.init_std=0.0123456789", "model.posenc=rope", "model.rope_base=500000",
        "model.rope_fraction=0.25", "model.t5_buckets=64", "model.t5_max_distance=300", "model.t5_shared=false",
        "model.sinusoid_scale=0.02", "model.fire_hidden=16", "model.fire_c_init=0.3", "model.fire_L_init=333.5", "model.abacus_max_offset=50",
        "model.abacus_max_digits=64", "model.random_positions=true", "model.random_max_pos=4000",
        "model.temperature=learned_log", "model.temperature_base=32", "model.attn_scale=0.75",
        "task.main=sort", "task.main_weight=0.7", "task.hints=successor:0.3, rank:1e-3",
        "task.loss_weights=rank:0.1", "task.whole_sequence_loss=true", "task.reverse=true", "task.alphabet=abc xyz",
        "train.steps=777", "train.batch_size=17", "train.grad_accum=3", "train.optimizer=lion", "train.lr=3.3e-4",
        "train.min_lr=1.1e-5", "train.warmup=7", "train.schedule=poly", "train.poly_power=0.5",
        "train.weight_decay=0.01", "train.beta1=0.95", "train.beta2=0.98", "train.eps=1e-6", "train.momentum=0.5",
        "train.grad_clip=0", "train.min_length=3", "train.max_length=33", "train.hint_max_length=40", "train.length_dist=curriculum",
        "train.curriculum_steps=300", "train.pack=true", "train.pack_len=900", "train.length_split=3", "train.bucket=4", "train.log_every=5",
        "train.eval_every=0", "train.ckpt_every=100",
        "eval.lengths=1,2,5:25:5,27,100:110", "eval.n=33", "eval.batch_size=11", "eval.hints=false", "eval.random_positions=true",
        "eval.best_metric=token_accuracy",
        "eval.best_lengths=5:25:5,100", "eval.best_ties=latest",
        "run.name=everything", "run.out_dir=/tmp/somewhere else", "run.seed=12345678901234", "run.threads=2",
    };
    for (size_t i = 0; i < sizeof as / sizeof as[0]; i++)
        if (cfg_set(c, as[i], err)) return -1;
    return 0;
}

static void check_round_trip(const Config *c) {
    LgErr err;
    char *text = cfg_to_string(c);
    Config back;
    cfg_defaults(&back);
    CHECK(cfg_load_string(&back, text, "written", &err) == 0, "%s\n%s", err.msg, text);
    CHECK(cfg_equal(c, &back), "round trip changed the config:\n%s", text);
    char *again = cfg_to_string(&back);
    CHECK(!strcmp(text, again), "writing twice differs");
    lg_free(text);
    lg_free(again);
}

/* Position rules have one home (pe_check): a config that validation rejects for a positional
 * key, model_init rejects with the same message, and one it accepts builds. */
TEST(config_and_model_share_the_position_check) {
    static const char *const cases[][4] = {
        {"model.posenc=rope", "model.rope_fraction=0.3", NULL},
        {"model.posenc=rope", "model.d_model=60", "model.heads=4", NULL},
        {"model.posenc=rope", "model.rope_fraction=0.25", NULL},
        {"model.posenc=t5", "model.t5_buckets=32", "model.t5_max_distance=10", NULL},
        {"model.posenc=sinusoidal", "model.d_model=65", "model.heads=5", NULL},
        {"model.random_positions=true", "model.random_max_pos=4096", NULL},
        {"model.posenc=learned", "model.random_positions=true", "model.random_max_pos=100", NULL},
        {"model.posenc=abacus", "model.abacus_max_digits=4", NULL},
        {"model.temperature=log", "model.temperature_base=2", NULL},
    };
    const int valid[] = {0, 0, 1, 0, 0, 0, 0, 1, 1};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Config c;
        LgErr e1, e2;
        cfg_defaults(&c);
        CHECK(cfg_set(&c, "task.main=sort", &e1) == 0);
        for (int j = 0; cases[i][j]; j++) CHECK(cfg_set(&c, cases[i][j], &e1) == 0, "%s", e1.msg);
        int v = cfg_validate(&c, &e1) == 0;
        Model m;
        int built = model_init(&m, &c.model, 10, 1, &e2) == 0;
        if (built) model_free(&m);
        CHECK(v == valid[i] && built == valid[i], "case %zu: validate %d (%s), model_init %d", i, v,
              v ? "" : e1.msg, built);
        if (!v && !built) CHECK(!strcmp(e1.msg, e2.msg), "case %zu: '%s' vs '%s'", i, e1.msg, e2.msg);
    }
    /* a config built in code skips the parser's ranges; pe_check still refuses attn_scale <= 0 */
    Config c;
    LgErr err;
    Model m;
    cfg_defaults(&c);
    c.model.attn_scale = 0.0f;
    CHECK(model_init(&m, &c.model, 10, 1, &err) == -1 && strstr(err.msg, "attn_scale = 0"), "%s", err.msg);
}

TEST(config_round_trips_through_text) {
    Config c, d;
    LgErr err;
    cfg_defaults(&c);
    check_round_trip(&c);
    if (test_failed()) return;
    CHECK(change_everything(&c, &err) == 0, "%s", err.msg);
    CHECK(cfg_validate(&c, &err) == 0, "%s", err.msg);
    /* a fixed training set does not combine with the pack and curriculum set above (refused by
     * cfg_validate: config_validate_cross_field); the round trip does not validate */
    CHECK(cfg_set(&c, "train.examples=12345", &err) == 0, "%s", err.msg);
    check_round_trip(&c);
    if (test_failed()) return;
    /* every key really changed: the written text shares no "key = value" line with the defaults' */
    cfg_defaults(&d);
    char *a = cfg_to_string(&c), *b = cfg_to_string(&d);
    for (int i = 0; i < cfg_key_count(); i++) {
        CfgKeyInfo k = cfg_key_info(i);
        char key[128], va[512], vb[512];
        snprintf(key, sizeof key, "%s.%s", k.section, k.name);
        CHECK(cfg_get(&c, key, va, sizeof va, &err) == 0 && cfg_get(&d, key, vb, sizeof vb, &err) == 0, "%s", key);
        CHECK(strcmp(va, vb), "%s was not changed by the test (%s)", key, va);
        char line[700];
        snprintf(line, sizeof line, "\n%s = %s\n", k.name, va);
        CHECK(contains(a, line), "written text lacks '%s'", line + 1);
    }
    CHECK(contains(a, "\nreverse = true\n") && contains(a, "\nalphabet = abc xyz\n"), "task options are written");
    CHECK(!cfg_equal(&c, &d));
    lg_free(a);
    lg_free(b);
}

/* docs/configs.md documents every key as a table row "| `name` |" under its section's heading. */
TEST(config_docs_cover_every_key) {
    char *doc = test_read_file("docs/configs.md", NULL);
    CHECK(doc, "docs/configs.md not found (tests run from the repository root)");
    for (int i = 0; i < cfg_key_count(); i++) {
        CfgKeyInfo k = cfg_key_info(i);
        char heading[64], row[128];
        snprintf(heading, sizeof heading, "\n### [%s]", k.section);
        snprintf(row, sizeof row, "| `%s` |", k.name);
        const char *sec = strstr(doc, heading);
        CHECK(sec, "docs/configs.md has no heading '### [%s]'", k.section);
        const char *next = strstr(sec + 1, "\n### ");
        const char *hit = strstr(sec, row);
        CHECK(hit && (!next || hit < next), "docs/configs.md does not document [%s] %s (add a row '| `%s` | ...' under ### [%s])",
              k.section, k.name, k.name, k.section);
        /* the documented default is the schema's */
        char def[128];
        snprintf(def, sizeof def, "| `%s` |", k.def);
        const char *eol = strchr(hit, '\n');
        const char *d = strstr(hit + strlen(row), def);
        CHECK(k.def[0] == '\0' || (d && d < eol), "docs/configs.md: [%s] %s should show the default `%s`", k.section, k.name, k.def);
    }
    lg_free(doc);
}

TEST(config_shipped_configs_load_and_validate) {
    glob_t g;
    CHECK(glob("configs/*.ini", 0, NULL, &g) == 0 && g.gl_pathc >= 13, "expected the configs/*.ini files");
    int found_default = 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        Config c;
        LgErr err;
        cfg_defaults(&c);
        int ok = cfg_load_file(&c, g.gl_pathv[i], &err) == 0 && cfg_validate(&c, &err) == 0;
        if (!ok) globfree(&g);
        CHECK(ok, "%s", err.msg);
        check_round_trip(&c);
        if (test_failed()) break;
        found_default |= contains(g.gl_pathv[i], "default.ini");
    }
    globfree(&g);
    CHECK(found_default, "configs/default.ini is missing");
}

/* A value whose resolved form cannot be written as one INI line is rejected by cfg_validate
 * (else cfg_to_string would write text that does not load back). */
TEST(config_values_fit_on_an_ini_line) {
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(cfg_set(&c, "task.main=sort", &err) == 0);
    char set[1200] = "eval.lengths=";
    for (int i = 0; i < 60; i++) {   /* 60 irregular lengths: no ranges to compress into */
        char item[16];
        snprintf(item, sizeof item, "%s%d", i ? "," : "", 1000 + i * i);
        strcat(set, item);
    }
    CHECK(cfg_set(&c, set, &err) == 0, "%s", err.msg);
    CHECK(cfg_validate(&c, &err) == -1 && contains(err.msg, "[eval] lengths") && contains(err.msg, "ranges"), "%s", err.msg);
    char opt[400];
    memset(opt, 'v', sizeof opt);
    memcpy(opt, "task.x=", 7);
    opt[300] = '\0';
    CHECK(cfg_set(&c, opt, &err) == -1 && contains(err.msg, "too long"), "%s", err.msg);
}

/* Random bytes and mutated configs never crash the loader (run under SAN=1 too). */
TEST(config_survives_garbage) {
    static const char *const pieces[] = {"[model]\n", "[task]\n", "[train]\n", "[eval]\n", "[run]\n", "[x\n", "=",
                                         "lr", " = ", "1e-3", "abc", ",", ":", ";", "#", "\n", "lengths", "5:1",
                                         "hints", "main", "sort", "a:0", "\t", "\xEF\xBB\xBF", "\r\n", "[]", "=="};
    uint64_t s = 12345;
    char text[512];
    int valid = 0;
    for (int iter = 0; iter < 3000; iter++) {
        /* half the inputs start valid, so some survive validation and get round-tripped */
        strcpy(text, iter % 2 ? "[task]\nmain = sort\n" : "");
        size_t n = strlen(text);
        int k = (int)((s >> 33) % 30);
        for (int j = 0; j < k; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *p;
            char raw[4];
            if ((s >> 60) < 3) {   /* sometimes raw bytes */
                raw[0] = (char)(1 + (s >> 20) % 255);
                raw[1] = '\0';
                p = raw;
            } else {
                p = pieces[(s >> 35) % (sizeof pieces / sizeof pieces[0])];
            }
            if (n + strlen(p) + 1 >= sizeof text) break;
            strcpy(text + n, p);
            n += strlen(p);
        }
        Config c;
        LgErr err;
        cfg_defaults(&c);
        if (cfg_load_string(&c, text, "fuzz", &err) == 0 && cfg_validate(&c, &err) == 0) {
            valid++;
            char *t = cfg_to_string(&c);
            Config d;
            cfg_defaults(&d);
            CHECK(cfg_load_string(&d, t, "again", &err) == 0 && cfg_equal(&c, &d), "round trip of fuzz input '%s'", text);
            lg_free(t);
        }
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    CHECK(valid > 30, "only %d fuzz inputs were valid configs; the round-trip half of the test is idle", valid);
}

/* `lengen config`: prints the resolved config, exit 2 with the message on bad input. */
TEST(config_cli_checks_and_prints) {
    const char *bin = getenv("LENGEN_BIN");
    CHECK(bin, "LENGEN_BIN is not set (run through make test)");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s config configs/default.ini --set train.lr=3e-4 2>&1", bin);
    FILE *f = popen(cmd, "r");
    CHECK(f);
    char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int rc = pclose(f);
    CHECK(rc == 0 && contains(out, "\nlr = 0.0003\n") && contains(out, "\nmain = sort_unique\n") &&
              contains(out, "\nwindow = 1..40\n"), "rc %d:\n%s", rc, out);
    snprintf(cmd, sizeof cmd, "%s config configs/default.ini --set train.lr_warmup=3 2>&1", bin);
    f = popen(cmd, "r");
    CHECK(f);
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    rc = pclose(f);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 2 && contains(out, "did you mean 'warmup'?"), "rc %d: %s", rc, out);
}
