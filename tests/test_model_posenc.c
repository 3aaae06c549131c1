/* Tests of the positional pieces: gradchecks of the posenc ops (T5 gather, FIRE MLP), ALiBi
 * slopes, T5 buckets against HF T5's values, sinusoid rows, random position subsets and the
 * temperature factor. Gradcheck tolerances: gradcheck.h defaults (eps 1e-2, atol 1e-3,
 * rtol 1e-2), inputs kept further than eps from ReLU kinks and from the FIRE max(i, L). */
#include <math.h>
#include <string.h>

#include "../src/ops/ops.h"
#include "../src/ops/posenc_ops.h"
#include "../src/posenc.h"
#include "../src/util.h"
#include "gradcheck.h"
#include "model_helpers.h"
#include "test.h"

typedef struct {
    Tensor *c, *L, *w1, *b1, *w2, *b2, *table;
    const float *qpos, *kpos;
    const int *bucket;
    int Bb, Tq, Tk, causal;
} PCtx;

static Tensor *f_rel_bias(Ag *g, void *v) {
    PCtx *c = v;
    return op_rel_bias(g, c->table, c->bucket, c->Bb, c->Tq, c->Tk);
}

TEST(gradcheck_rel_bias) {
    Params p;
    params_init(&p);
    int s[2] = {5, 3};
    PCtx c = {.table = params_add(&p, "table", 2, s), .Bb = 2, .Tq = 3, .Tk = 4};
    params_finalize(&p);
    Rng r;
    rng_seed(&r, 1);
    gc_fill_normal(c.table, &r, 1.0f);
    int bucket[2 * 3 * 4];
    for (int i = 0; i < 24; i++) bucket[i] = (int)rng_below(&r, 5);
    bucket[0] = bucket[1] = bucket[2] = 4;  /* repeated buckets accumulate */
    c.bucket = bucket;
    size_t par = ops_set_par_min(0);  /* run the threaded paths too */
    gradcheck("rel_bias", &p, f_rel_bias, &c, NULL);
    ops_set_par_min(par);
    /* forward is a gather */
    Ag g;
    ag_init(&g, 1 << 16);
    Tensor *o = op_rel_bias(&g, c.table, bucket, 2, 3, 4);
    CHECK(o->shape[0] == 2 && o->shape[1] == 3 && o->shape[2] == 3 && o->shape[3] == 4);
    // out[b=1, h=2, i=1, j=3] = table[bucket[(1*3+1)*4+3], 2]
    CHECK(o->data[((1 * 3 + 2) * 3 + 1) * 4 + 3] == c.table->data[bucket[(1 * 3 + 1) * 4 + 3] * 3 + 2]);
    ag_free(&g);
    params_free(&p);
}

static Tensor *f_fire(Ag *g, void *v) {
    PCtx *c = v;
    return op_fire_bias(g, c->c, c->L, c->w1, c->b1, c->w2, c->b2, c->qpos, c->kpos, c->Bb, c->Tq,
                        c->Tk, c->causal);
}

static void fire_case(float c0, float L0, int Bb, int Tq, int Tk, int causal, const float *qpos,
                      const float *kpos) {
    enum { W = 5, H = 3 };
    Params p;
    params_init(&p);
    int one[1] = {1}, sw1[2] = {W, 1}, sb1[1] = {W}, sw2[2] = {H, W}, sb2[1] = {H};
    PCtx c = {0};
    c.c = params_add(&p, "c", 1, one);
    c.L = params_add(&p, "L", 1, one);
    c.w1 = params_add(&p, "w1", 2, sw1);
    c.b1 = params_add(&p, "b1", 1, sb1);
    c.w2 = params_add(&p, "w2", 2, sw2);
    c.b2 = params_add(&p, "b2", 1, sb2);
    params_finalize(&p);
    Rng r;
    rng_seed(&r, 3);
    c.c->data[0] = c0;
    c.L->data[0] = L0;
    /* |w1 x| <= 0.3 with x in [0, 1] and |b1| >= 0.5: no unit crosses its ReLU kink */
    gc_fill_uniform(c.w1, &r, -0.3f, 0.3f);
    for (int k = 0; k < W; k++) c.b1->data[k] = (k % 2 ? -1.0f : 1.0f) * (0.5f + 0.5f * rng_uniform(&r));
    gc_fill_normal(c.w2, &r, 1.0f);
    gc_fill_normal(c.b2, &r, 1.0f);
    c.qpos = qpos;
    c.kpos = kpos;
    c.Bb = Bb;
    c.Tq = Tq;
    c.Tk = Tk;
    c.causal = causal;
    GcOpts o = {.eps = 1e-3f, .atol = 1e-3f, .rtol = 1e-2f};  /* x is O(1): a smaller step is fine */
    size_t par = ops_set_par_min(0);  /* run the threaded paths too */
    gradcheck("fire_bias", &p, f_fire, &c, &o);
    ops_set_par_min(par);
    params_free(&p);
}

TEST(gradcheck_fire_bias) {
    float pos[7] = {0, 1, 2, 3, 4, 5, 6};
    fire_case(0.3f, 3.5f, 1, 7, 7, 1, pos, pos);     /* L wins for rows 0..3, i for 4..6 */
    if (test_failed()) return;
    fire_case(-0.4f, -2.5f, 1, 7, 7, 0, pos, pos);   /* negative c, L: |.| is used */
    if (test_failed()) return;
    float q[2 * 2] = {5, 6, 30, 31}, k[2 * 4] = {0, 3, 5, 6, 2, 9, 30, 31};
    fire_case(0.2f, 10.5f, 2, 2, 4, 1, q, k);         /* batched positions, Tq < Tk */
}

TEST(fire_bias_masks_future_keys_and_matches_formula) {
    Params p;
    params_init(&p);
    int one[1] = {1}, sw1[2] = {2, 1}, sb1[1] = {2}, sw2[2] = {1, 2}, sb2[1] = {1};
    Tensor *c = params_add(&p, "c", 1, one), *L = params_add(&p, "L", 1, one);
    Tensor *w1 = params_add(&p, "w1", 2, sw1), *b1 = params_add(&p, "b1", 1, sb1);
    Tensor *w2 = params_add(&p, "w2", 2, sw2), *b2 = params_add(&p, "b2", 1, sb2);
    params_finalize(&p);
    c->data[0] = 0.1f; L->data[0] = 2.0f;
    w1->data[0] = 1; w1->data[1] = -1; b1->data[0] = 0; b1->data[1] = 0.5f;
    w2->data[0] = 2; w2->data[1] = 3; b2->data[0] = 0.25f;
    float pos[4] = {0, 1, 2, 3};
    Ag g;
    ag_init(&g, 1 << 16);
    Tensor *o = op_fire_bias(&g, c, L, w1, b1, w2, b2, pos, pos, 1, 4, 4, 1);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float got = o->data[i * 4 + j];
            if (j > i) {
                CHECK(got == 0.0f);
                continue;
            }
            float x = logf(0.1f * (float)(i - j) + 1) / (logf(0.1f * fmaxf((float)i, 2.0f) + 1) + 1e-6f);
            float want = 0.25f + 2 * fmaxf(x, 0) + 3 * fmaxf(-x + 0.5f, 0);
            CHECK_NEAR(got, want, 1e-6, 1e-5, "i %d j %d", i, j);
        }
    ag_free(&g);
    params_free(&p);
}

TEST(alibi_slopes_follow_press_for_any_head_count) {
    float s[16];
    pe_alibi_slopes(s, 8);
    for (int h = 0; h < 8; h++) CHECK_NEAR(s[h], pow(2.0, -(h + 1)), 1e-7, 1e-6, "8 heads, head %d", h);
    /* 12 heads (papers.md): 1/2 .. 1/256, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5 */
    pe_alibi_slopes(s, 12);
    const double want12[12] = {0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625,
                               0.70710678, 0.35355339, 0.17677670, 0.08838835};
    for (int h = 0; h < 12; h++) CHECK_NEAR(s[h], want12[h], 1e-7, 1e-6, "12 heads, head %d", h);
    pe_alibi_slopes(s, 4);
    for (int h = 0; h < 4; h++) CHECK_NEAR(s[h], pow(2.0, -2 * (h + 1)), 1e-7, 1e-6, "4 heads");
    pe_alibi_slopes(s, 3);  /* 2 heads: 2^-4, 2^-8, then the first of every other of 4 heads: 2^-2 */
    CHECK_NEAR(s[0], 0.0625, 1e-7, 0); CHECK_NEAR(s[1], 1.0 / 256, 1e-7, 0); CHECK_NEAR(s[2], 0.25, 1e-7, 0);
    pe_alibi_slopes(s, 1);
    CHECK_NEAR(s[0], 1.0 / 256, 1e-9, 1e-6);
}

TEST(t5_buckets_match_hf_decoder_values) {
    /* HF T5 _relative_position_bucket(-d, bidirectional=False, 32, 128) */
    for (int d = 0; d < 16; d++) CHECK(pe_t5_bucket(d, 32, 128) == d, "exact bucket %d", d);
    const int d[] = {16, 20, 32, 45, 64, 100, 127, 128, 129, 1000, -3};
    const int want[] = {16, 17, 21, 23, 26, 30, 31, 31, 31, 31, 0};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        CHECK(pe_t5_bucket(d[i], 32, 128) == want[i], "distance %d: bucket %d, want %d", d[i],
              pe_t5_bucket(d[i], 32, 128), want[i]);
    int prev = 0;
    for (int k = 0; k < 500; k++) {
        int b = pe_t5_bucket(k, 32, 128);
        CHECK(b >= prev && b < 32, "monotone and in range");
        prev = b;
    }
}

/* sinusoid_scale multiplies the table added to the embeddings (1: the table itself). */
TEST(sinusoid_scale_scales_the_table) {
    enum { T = 5, D = 8 };
    for (int k = 0; k < 2; k++) {
        float scale = k ? 0.02f : 1.0f;
        ModelConfig c;
        tm_defaults(&c);
        c.posenc = PE_SINUSOIDAL;
        c.d_model = D;
        c.heads = 2;
        c.sinusoid_scale = scale;
        Model m;
        LgErr err;
        CHECK(model_init(&m, &c, 5, 1, &err) == 0, "%s", err.msg);
        Ag g;
        ag_init(&g, 1 << 16);
        ag_set_grad(&g, 0);
        PePlan p;
        pe_plan_forward(&p, &m.pe, &g, 1, T, NULL, NULL, 0, NULL);
        Tensor *x = tensor_new3(&g.arena, 1, T, D);
        memset(x->data, 0, x->n * sizeof(float));
        Tensor *y = pe_embed(&m.pe, &g, x, &p);
        float row[D];
        for (int t = 0; t < T; t++) {
            pe_sinusoid(row, (float)t, D);
            for (int i = 0; i < D; i++)
                CHECK(y->data[t * D + i] == scale * row[i], "scale %g, position %d, dim %d: %g", scale, t, i,
                      y->data[t * D + i]);
        }
        ag_free(&g);
        model_free(&m);
    }
}

TEST(sinusoid_random_positions_and_temperature) {
    float row[8];
    pe_sinusoid(row, 0.0f, 8);
    for (int i = 0; i < 4; i++) CHECK(row[i] == 0.0f && row[4 + i] == 1.0f);
    pe_sinusoid(row, 3.0f, 8);
    CHECK_NEAR(row[0], sin(3.0), 1e-6, 0);
    CHECK_NEAR(row[5], cos(3.0 / pow(10000.0, 2.0 / 8)), 1e-6, 0);
    Rng r;
    rng_seed(&r, 5);
    float pos[50];
    double mean = 0;
    for (int trial = 0; trial < 200; trial++) {
        pe_random_positions(&r, pos, 50, 1000);
        for (int i = 0; i < 50; i++) {
            CHECK(pos[i] >= 0 && pos[i] < 1000 && pos[i] == floorf(pos[i]));
            CHECK(i == 0 || pos[i] > pos[i - 1], "sorted and distinct");
            mean += pos[i];
        }
    }
    mean /= 200 * 50;
    CHECK_NEAR(mean, 499.5, 15, 0, "positions spread over [0, 1000)");
    pe_random_positions(&r, pos, 10, 10);
    for (int i = 0; i < 10; i++) CHECK(pos[i] == (float)i, "T == max_pos gives 0..T-1");
    float t[4];
    pe_temperature(t, 4, 4, 2);
    CHECK(t[0] == 0.0f);
    CHECK_NEAR(t[1], 1.0, 1e-6, 0);
    CHECK_NEAR(t[3], 2.0, 1e-6, 0);
    pe_temperature(t, 1, 8, 8);  /* one query over 8 keys: n = 8 */
    CHECK_NEAR(t[0], 1.0, 1e-6, 0);
}
