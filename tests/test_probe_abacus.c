/* test_probe_abacus: a probe file holds the whole input of the forward that made its logits.
 * For an Abacus model (whose logits depend on the digit indices, not only on the tokens) the
 * file's /tokens and /digit_index, run through a fresh forward, give its /logits; the same
 * tokens with every digit index 0 do not. */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/experiment.h"
#include "../src/probe.h"
#include "test.h"

static int read_ints(hid_t f, const char *name, int *buf) {
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    int ok = ds >= 0 && H5Dread(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0;
    if (ds >= 0) H5Dclose(ds);
    return ok;
}

TEST(probe_file_recomputes_abacus_logits_from_tokens_and_digit_index) {
    const char *ini = "[model]\nlayers = 1\nheads = 2\nd_model = 16\nmax_pos = 64\nposenc = abacus\n"
                      "abacus_max_digits = 16\nabacus_max_offset = 4\n"
                      "[task]\nmain = addition\n"
                      "[train]\nmin_length = 1\nmax_length = 4\n[eval]\nlengths = 5\nn = 4\n[run]\nseed = 3\nthreads = 1\n";
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(cfg_load_string(&c, ini, "abacus_ini", &err) == 0, "%s", err.msg);
    Experiment e;
    CHECK(exp_build(&e, &c, &err) == 0, "%s", err.msg);
    char out[] = "/tmp/lengen_probe_abacus_XXXXXX";
    int fd = mkstemp(out);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    const int N = 3, len = 5;
    ProbeOptions o = {.task = 0, .length = len, .n = N, .batch = 2, .checkpoint = "none", .step = 0};
    CHECK(probe_write(&e, &o, out, &err) == 0, "%s", err.msg);

    hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(f >= 0, "cannot open %s", out);
    hid_t ds = H5Dopen2(f, "/tokens", H5P_DEFAULT), sp = H5Dget_space(ds);
    hsize_t dims[2];
    H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    H5Dclose(ds);
    const int T = (int)dims[1], V = e.model.vocab_size;
    int *tok = calloc((size_t)N * T, sizeof(int)), *dig = calloc((size_t)N * T, sizeof(int));
    int *zeros = calloc((size_t)T, sizeof(int));
    int n_tok[3];
    float *logits = calloc((size_t)N * T * V, sizeof(float));
    hid_t lds = H5Dopen2(f, "/logits", H5P_DEFAULT);
    int ok = read_ints(f, "/tokens", tok) && read_ints(f, "/digit_index", dig) && read_ints(f, "/n_tokens", n_tok) &&
             lds >= 0 && H5Dread(lds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, logits) >= 0;
    if (lds >= 0) H5Dclose(lds);
    H5Fclose(f);
    unlink(out);
    EXPECT(ok, "cannot read /tokens, /digit_index, /n_tokens or /logits");
    int digits_seen = 0;
    for (int i = 0; i < N * T; i++) digits_seen += dig[i] > 0;
    EXPECT(digits_seen > 0, "an addition example has digit places");

    Ag g;
    ag_init(&g, 1 << 20);
    ag_set_grad(&g, 0);
    double worst_with = 0, worst_without = 0;
    for (int i = 0; ok && i < N; i++)
        for (int with = 0; with < 2; with++) {
            ag_reset(&g);
            ModelBatch in = {.tokens = tok + (size_t)i * T, .B = 1, .T = n_tok[i], .digit_index = with ? dig + (size_t)i * T : zeros};
            Tensor *lg = model_forward(&e.model, &g, &in, NULL);
            for (size_t k = 0; k < (size_t)n_tok[i] * V; k++) {
                double d = fabs(lg->data[k] - logits[(size_t)i * T * V + k]) / (1 + fabs(lg->data[k]));
                double *w = with ? &worst_with : &worst_without;
                if (d > *w) *w = d;
            }
        }
    ag_free(&g);
    EXPECT(worst_with <= 1e-5, "forward of /tokens with /digit_index differs from /logits by %g", worst_with);
    EXPECT(worst_without > 1e-3, "zero digit indices should change an Abacus model's logits (diff %g)", worst_without);
    free(tok);
    free(dig);
    free(zeros);
    free(logits);
    exp_free(&e);
}
