/* Tests of the checkpoint: save/load round trip of params, attributes, vocab and extras;
 * failures on missing / mis-shaped / unexpected datasets, wrong format attribute, truncated,
 * corrupt and missing files, each with a message naming the problem; and the files for the
 * PyTorch round trip (tools/make_golden.py --check, docs/checkpoint.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#include "../src/checkpoint.h"
#include "../src/model.h"
#include "../src/util.h"
#include "model_helpers.h"
#include "cli_run.h"
#include "files.h"
#include "test.h"

static const char *tmp_path(const char *tag) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "/tmp/lengen_test_%d_%s.h5", (int)getpid(), tag);
    return p;
}

/* A Params block: w [3, 4] and b [5] (or custom shapes). */
static void small_params(Params *p, int w0, int w1, int with_b) {
    params_init(p);
    int s[2] = {w0, w1}, sb[1] = {5};
    params_add(p, "w", 2, s);
    if (with_b) params_add(p, "b", 1, sb);
    params_finalize(p);
    for (size_t i = 0; i < p->n; i++) p->data[i] = 0.5f * (float)i - 1.0f;
}

static const char *VOCAB[] = {"<pad>", "0", "1", "+", "=", "é"};

TEST(ckpt_round_trip_params_attrs_vocab_extras) {
    Params p, q;
    small_params(&p, 3, 4, 1);
    float m[6] = {1, 2, 3, 4, 5, 6};
    int64_t step = 1234567890123LL, pos[2] = {-7, 9};
    uint64_t rng[4] = {1, UINT64_MAX, 3, 0x8000000000000000ULL};
    CkptArray ex[] = {
        {.name = "/optim/m", .type = CKPT_F32, .data = m, .ndim = 2, .dims = {2, 3}},
        {.name = "/data/position", .type = CKPT_I64, .data = pos, .ndim = 1, .dims = {2}},
        {.name = "/rng/train", .type = CKPT_U64, .data = rng, .ndim = 1, .dims = {4}},
        {.name = "/optim/step", .type = CKPT_I64, .data = &step, .ndim = 0},
    };
    const char *path = tmp_path("rt");
    LgErr err;
    CHECK(ckpt_save(path, &p, 42, "[model]\nlayers = 2\n", VOCAB, 6, ex, 4, &err) == 0, "%s", err.msg);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(access(tmp, F_OK) != 0, "the .tmp file is renamed away");
    small_params(&q, 3, 4, 1);
    memset(q.data, 0, q.n * sizeof(float));
    CkptFile f;
    CHECK(ckpt_open(&f, path, &err) == 0, "%s", err.msg);
    CHECK(f.version == CKPT_VERSION && f.step == 42);
    CHECK(!strcmp(f.config, "[model]\nlayers = 2\n"), "config '%s'", f.config);
    CHECK(f.n_vocab == 6 && !strcmp(f.vocab[5], "é") && !strcmp(f.vocab[0], "<pad>"));
    CHECK(ckpt_load_params(&f, &q, &err) == 0, "%s", err.msg);
    for (int i = 0; i < p.count; i++)
        CHECK(memcmp(p.tensors[i]->data, q.tensors[i]->data, p.tensors[i]->n * sizeof(float)) == 0,
              "%s survives bit for bit", p.tensors[i]->name);
    float m2[6];
    int64_t pos2[2], step2;
    uint64_t rng2[4];
    CkptArray in[] = {
        {.name = "/optim/m", .type = CKPT_F32, .data = m2, .ndim = 2, .dims = {2, 3}},
        {.name = "/data/position", .type = CKPT_I64, .data = pos2, .ndim = 1, .dims = {2}},
        {.name = "/rng/train", .type = CKPT_U64, .data = rng2, .ndim = 1, .dims = {4}},
        {.name = "/optim/step", .type = CKPT_I64, .data = &step2, .ndim = 0},
    };
    for (int i = 0; i < 4; i++) CHECK(ckpt_read(&f, &in[i], &err) == 0, "%s", err.msg);
    CHECK(!memcmp(m, m2, sizeof m) && !memcmp(pos, pos2, sizeof pos) && !memcmp(rng, rng2, sizeof rng) && step == step2);
    CHECK(ckpt_has(&f, "/optim/m") && !ckpt_has(&f, "/optim/v") && !ckpt_has(&f, "/nothing/here") && !ckpt_has(&f, "/optim"));
    /* wrong expectations are reported, naming the dataset */
    CkptArray bad = {.name = "/optim/m", .type = CKPT_F32, .data = m2, .ndim = 2, .dims = {3, 2}};
    CHECK(ckpt_read(&f, &bad, &err) == -1 && strstr(err.msg, "/optim/m") && strstr(err.msg, "[2, 3]"), "%s", err.msg);
    bad = (CkptArray){.name = "/optim/m", .type = CKPT_I64, .data = pos2, .ndim = 2, .dims = {2, 3}};
    CHECK(ckpt_read(&f, &bad, &err) == -1 && strstr(err.msg, "floats"), "%s", err.msg);
    bad = (CkptArray){.name = "/optim/v", .type = CKPT_F32, .data = m2, .ndim = 1, .dims = {6}};
    CHECK(ckpt_read(&f, &bad, &err) == -1 && strstr(err.msg, "/optim/v") && strstr(err.msg, "missing"), "%s", err.msg);
    ckpt_close(&f);
    params_free(&p);
    params_free(&q);
    unlink(path);
}

TEST(ckpt_missing_misshaped_and_unexpected_datasets_are_named) {
    Params p, q;
    LgErr err;
    CkptFile f;
    const char *path = tmp_path("shape");
    small_params(&p, 3, 4, 0);                  /* file has w [3, 4] only */
    CHECK(ckpt_save(path, &p, 0, "", VOCAB, 2, NULL, 0, &err) == 0, "%s", err.msg);

    small_params(&q, 3, 4, 1);                  /* model wants w and b */
    CHECK(ckpt_open(&f, path, &err) == 0, "%s", err.msg);
    CHECK(ckpt_load_params(&f, &q, &err) == -1 && strstr(err.msg, "'/model/b'") && strstr(err.msg, "missing"), "%s", err.msg);
    ckpt_close(&f);
    params_free(&q);

    small_params(&q, 4, 3, 0);                  /* same count, transposed shape */
    CHECK(ckpt_open(&f, path, &err) == 0, "%s", err.msg);
    CHECK(ckpt_load_params(&f, &q, &err) == -1 && strstr(err.msg, "'/model/w'") && strstr(err.msg, "[3, 4]") &&
          strstr(err.msg, "[4, 3]"), "%s", err.msg);
    ckpt_close(&f);
    params_free(&q);
    params_free(&p);

    small_params(&p, 3, 4, 1);                  /* file has an extra b the model lacks */
    CHECK(ckpt_save(path, &p, 0, "", VOCAB, 2, NULL, 0, &err) == 0, "%s", err.msg);
    small_params(&q, 3, 4, 0);
    CHECK(ckpt_open(&f, path, &err) == 0, "%s", err.msg);
    CHECK(ckpt_load_params(&f, &q, &err) == -1 && strstr(err.msg, "/model/b") && strstr(err.msg, "not a parameter"), "%s", err.msg);
    ckpt_close(&f);
    params_free(&q);
    params_free(&p);
    unlink(path);
}

/* Writes a minimal HDF5 file with the given format attribute (NULL: none). */
static void write_foreign(const char *path, const char *format) {
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (format) {
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, strlen(format));
        hid_t s = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(file, "format", t, s, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, format);
        H5Aclose(a);
        H5Sclose(s);
        H5Tclose(t);
    }
    H5Fclose(file);
}

TEST(ckpt_wrong_format_missing_and_garbage_files_fail_cleanly) {
    CkptFile f;
    LgErr err;
    const char *path = tmp_path("fmt");
    write_foreign(path, "pytorch");
    CHECK(ckpt_open(&f, path, &err) == -1 && strstr(err.msg, "'format'") && strstr(err.msg, "pytorch"), "%s", err.msg);
    write_foreign(path, NULL);
    CHECK(ckpt_open(&f, path, &err) == -1 && strstr(err.msg, "'format'") && strstr(err.msg, "missing"), "%s", err.msg);
    write_foreign(path, "lengen");  /* right format, nothing else */
    CHECK(ckpt_open(&f, path, &err) == -1 && strstr(err.msg, "'version'"), "%s", err.msg);
    FILE *fp = fopen(path, "w");
    fputs("[model]\nlayers = 2\n", fp);
    fclose(fp);
    CHECK(ckpt_open(&f, path, &err) == -1 && strstr(err.msg, "not an HDF5 file"), "%s", err.msg);
    unlink(path);
    CHECK(ckpt_open(&f, "/tmp/lengen_no_such_file.h5", &err) == -1 && strstr(err.msg, "no such file"), "%s", err.msg);
    Params p;
    small_params(&p, 2, 2, 0);
    CHECK(ckpt_save("/nonexistent_dir/x.h5", &p, 0, "", VOCAB, 1, NULL, 0, &err) == -1 && strstr(err.msg, "cannot create"), "%s", err.msg);
    params_free(&p);
}

TEST(ckpt_truncated_file_fails_naming_the_problem) {
    ModelConfig c;
    tm_defaults(&c);
    c.d_model = 64;
    c.layers = 2;
    c.posenc = PE_LEARNED;
    c.max_pos = 64;
    Model m;
    LgErr err;
    CHECK(model_init(&m, &c, 40, 1, &err) == 0, "%s", err.msg);
    const char *path = tmp_path("full"), *cut = tmp_path("cut");
    char *text = tm_ini(&c);
    int saved = ckpt_save(path, &m.params, 7, text, VOCAB, 6, NULL, 0, &err);
    lg_free(text);
    CHECK(saved == 0, "%s", err.msg);
    size_t n = 0;
    char *buf = test_read_file(path, &n);
    CHECK(buf, "cannot read %s", path);
    long size = (long)n;
    long cuts[] = {size / 2, size * 9 / 10, size - 100, 1000, 100, 0};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        FILE *out = fopen(cut, "wb");
        fwrite(buf, 1, (size_t)cuts[k], out);
        fclose(out);
        CkptFile f;
        int rc = ckpt_open(&f, cut, &err);
        if (rc == 0) {
            rc = ckpt_load_params(&f, &m.params, &err);
            ckpt_close(&f);
        }
        CHECK(rc == -1, "a file cut at %ld of %ld bytes loaded", cuts[k], size);
        CHECK(strstr(err.msg, cut) && (strstr(err.msg, "truncated") || strstr(err.msg, "corrupt")),
              "cut at %ld: %s", cuts[k], err.msg);
    }
    /* and a corrupted byte range in the middle of the data */
    memset(buf + size / 3, 0xff, 256);
    FILE *out = fopen(cut, "wb");
    fwrite(buf, 1, (size_t)size, out);
    fclose(out);
    CkptFile f;
    if (ckpt_open(&f, cut, &err) == 0) {
        (void)ckpt_load_params(&f, &m.params, &err);  /* may or may not notice: must not crash */
        ckpt_close(&f);
    }
    lg_free(buf);
    unlink(path);
    unlink(cut);
    model_free(&m);
}

static void count_ds(const char *name, const char *type, int ndim, const int64_t *dims, void *ctx) {
    (void)type; (void)ndim; (void)dims;
    int *n = ctx;
    if (!strncmp(name, "/model/", 7)) n[0]++;
    if (!strcmp(name, "/vocab")) n[1]++;
}

TEST(ckpt_list_visits_every_dataset) {
    Params p;
    small_params(&p, 3, 4, 1);
    const char *path = tmp_path("list");
    LgErr err;
    CHECK(ckpt_save(path, &p, 0, "", VOCAB, 3, NULL, 0, &err) == 0, "%s", err.msg);
    CkptFile f;
    CHECK(ckpt_open(&f, path, &err) == 0, "%s", err.msg);
    int n[2] = {0, 0};
    CHECK(ckpt_list(&f, count_ds, n, &err) == 0, "%s", err.msg);
    CHECK(n[0] == 2 && n[1] == 1, "listed %d model datasets and %d vocab", n[0], n[1]);
    ckpt_close(&f);
    params_free(&p);
    unlink(path);
}

/* A model saved by lengen, reloaded into a fresh model from the file's own config, gives the
 * same logits; the files (with /check/tokens and /check/logits) are left in
 * $LENGEN_ROUNDTRIP_DIR (default /tmp) for `tools/make_golden.py --check`. */
TEST(model_roundtrip_files) {
    const char *dir = getenv("LENGEN_ROUNDTRIP_DIR") ? getenv("LENGEN_ROUNDTRIP_DIR") : "/tmp";
    struct { const char *name; PeKind pe; int variant; } cases[] = {
        {"nope", PE_NOPE, 0}, {"learned", PE_LEARNED, 1}, {"sinusoidal", PE_SINUSOIDAL, 2},
        {"t5", PE_T5, 0}, {"alibi", PE_ALIBI, 3}, {"rope", PE_ROPE, 0}, {"rope25", PE_ROPE, 4},
        {"fire", PE_FIRE, 3}, {"abacus", PE_ABACUS, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ModelConfig c;
        tm_defaults(&c);
        c.layers = 2;
        c.heads = 4;
        c.d_model = 32;
        c.max_pos = 64;
        c.posenc = cases[k].pe;
        c.abacus_max_digits = 16;
        c.abacus_max_offset = 8;
        c.fire_hidden = 16;
        switch (cases[k].variant) {
        case 1: c.tie_embeddings = 0; c.activation = ACT_RELU; break;
        case 2: c.norm = NORM_RMSNORM; c.bias = 0; break;
        case 3: c.temperature = TEMP_LEARNED_LOG; c.temperature_base = 8; break;
        case 4: c.rope_fraction = 0.25f; c.temperature = TEMP_LOG; c.temperature_base = 8; break;
        }
        enum { B = 2, T = 12, V = 6 };
        Model m, m2;
        LgErr err;
        CHECK(model_init(&m, &c, V, 1, &err) == 0, "%s", err.msg);
        tm_perturb(&m, 9 + k);
        int tok[B * T];
        int64_t tok64[B * T], dig64[B * T];
        int dig[B * T];
        for (int i = 0; i < B * T; i++) {
            tok[i] = (i * 7 + 3) % V;
            dig[i] = i % 5;
            tok64[i] = tok[i];
            dig64[i] = dig[i];
        }
        Ag g;
        ag_init(&g, 1 << 20);
        ag_set_grad(&g, 0);
        ModelBatch in = {.tokens = tok, .B = B, .T = T, .digit_index = dig};
        Tensor *lg = model_forward(&m, &g, &in, NULL);
        CkptArray ex[] = {
            {.name = "/check/tokens", .type = CKPT_I64, .data = tok64, .ndim = 2, .dims = {B, T}},
            {.name = "/check/digit_index", .type = CKPT_I64, .data = dig64, .ndim = 2, .dims = {B, T}},
            {.name = "/check/logits", .type = CKPT_F32, .data = lg->data, .ndim = 3, .dims = {B, T, V}},
        };
        char path[512];
        snprintf(path, sizeof path, "%s/lengen_roundtrip_%s.h5", dir, cases[k].name);
        char *text = tm_ini(&c);
        int saved = ckpt_save(path, &m.params, 3, text, VOCAB, V, ex, 3, &err);
        lg_free(text);
        CHECK(saved == 0, "%s", err.msg);
        CkptFile f;
        CHECK(ckpt_open(&f, path, &err) == 0, "%s", err.msg);
        ModelConfig c2;
        CHECK(tm_model_from_ini(&c2, f.config, path, &err) == 0, "%s", err.msg);
        CHECK(!memcmp(&c2, &c, sizeof c), "%s: the model config read back differs from the one saved", path);
        CHECK(model_init(&m2, &c2, f.n_vocab, 999, &err) == 0, "%s", err.msg);
        CHECK(ckpt_load_params(&f, &m2.params, &err) == 0, "%s", err.msg);
        ckpt_close(&f);
        float *want = lg_malloc(lg->n * sizeof(float), "want");
        memcpy(want, lg->data, lg->n * sizeof(float));
        ag_reset(&g);
        Tensor *lg2 = model_forward(&m2, &g, &in, NULL);
        for (size_t i = 0; i < lg2->n; i++)
            CHECK(lg2->data[i] == want[i], "%s: logit %zu differs after reload", cases[k].name, i);
        lg_free(want);
        ag_free(&g);
        model_free(&m);
        model_free(&m2);
    }
}


TEST(cli_inspect_lists_datasets_and_rejects_bad_files) {
    static char out[1 << 16];
    int rc = cli_run("inspect tests/data/golden_nope.h5", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "version 1") && strstr(out, "posenc = nope") && strstr(out, "10 tokens"), "%s", out);
    CHECK(strstr(out, "/model/tok_emb.weight") && strstr(out, "[10, 8]"), "%s", out);
    CHECK(strstr(out, "/model/blocks.1.attn.qkv.weight") && strstr(out, "[24, 8]"), "%s", out);
    rc = cli_run("inspect /tmp/lengen_no_such_model.h5", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "no such file"), "exit %d: %s", rc, out);
    rc = cli_run("inspect Makefile", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "not an HDF5 file"), "exit %d: %s", rc, out);
    rc = cli_run("inspect", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "missing FILE"), "exit %d: %s", rc, out);
}
