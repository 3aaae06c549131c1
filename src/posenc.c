/* posenc: the positional encodings (see posenc.h for the hooks and parameter names). */
#include "posenc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops.h"
#include "ops/posenc_ops.h"
#include "util.h"

int pe_uses_positions(PeKind kind) {
    return kind == PE_LEARNED || kind == PE_SINUSOIDAL || kind == PE_T5 || kind == PE_ALIBI ||
           kind == PE_ROPE || kind == PE_FIRE;
}

static const char *pe_name(PeKind k) {
    static const char *names[] = {"nope", "learned", "sinusoidal", "t5", "alibi", "rope", "fire", "abacus"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

int pe_init(PosEnc *pe, const ModelConfig *cfg, Params *params, LgErr *err) {
    memset(pe, 0, sizeof *pe);
    pe->kind = cfg->posenc;
    pe->H = cfg->heads;
    pe->D = cfg->d_model;
    pe->hd = cfg->d_model / cfg->heads;
    pe->layers = cfg->layers;
    if ((unsigned)pe->kind > PE_ABACUS) return lg_err(err, "[model] posenc: unknown scheme %d", (int)pe->kind);
    if (cfg->random_positions && !pe_uses_positions(pe->kind))
        return lg_err(err, "[model] random_positions = true needs a position-indexed posenc "
                           "(learned, sinusoidal, rope, t5, alibi, fire), not '%s'", pe_name(pe->kind));
    if (cfg->random_positions && cfg->random_max_pos < 1)
        return lg_err(err, "[model] random_max_pos = %d: must be >= 1", cfg->random_max_pos);
    switch (pe->kind) {
    case PE_NOPE: break;
    case PE_LEARNED: {
        int rows = cfg->max_pos;
        if (cfg->random_positions && cfg->random_max_pos > rows) rows = cfg->random_max_pos;
        if (rows < 1) return lg_err(err, "[model] max_pos = %d: must be >= 1", cfg->max_pos);
        pe->table_rows = rows;
        int shape[2] = {rows, pe->D};
        pe->pos_emb = params_add(params, "pos_emb.weight", 2, shape);
        break;
    }
    case PE_SINUSOIDAL:
        if (pe->D % 2) return lg_err(err, "[model] posenc = sinusoidal needs an even d_model, got %d", pe->D);
        break;
    case PE_T5: {
        if (cfg->t5_buckets < 2)
            return lg_err(err, "[model] t5_buckets = %d: must be >= 2", cfg->t5_buckets);
        if (cfg->t5_max_distance <= cfg->t5_buckets / 2)
            return lg_err(err, "[model] t5_max_distance = %d: must exceed t5_buckets / 2 = %d",
                          cfg->t5_max_distance, cfg->t5_buckets / 2);
        pe->t5_buckets = cfg->t5_buckets;
        pe->t5_max_distance = cfg->t5_max_distance;
        pe->t5_shared = cfg->t5_shared;
        pe->t5 = lg_calloc((size_t)pe->layers, sizeof *pe->t5, "t5 tables");
        int shape[2] = {pe->t5_buckets, pe->H};
        for (int l = 0; l < pe->layers; l++) {
            if (pe->t5_shared && l > 0) {
                pe->t5[l] = pe->t5[0];
                continue;
            }
            char name[64];
            if (pe->t5_shared) snprintf(name, sizeof name, "pe.t5.bias");
            else snprintf(name, sizeof name, "pe.t5.%d.bias", l);
            pe->t5[l] = params_add(params, name, 2, shape);
        }
        break;
    }
    case PE_ALIBI:
        pe->alibi_slopes = lg_malloc((size_t)pe->H * sizeof(float), "alibi slopes");
        pe_alibi_slopes(pe->alibi_slopes, pe->H);
        break;
    case PE_ROPE: {
        if (!(cfg->rope_fraction > 0.0f && cfg->rope_fraction <= 1.0f))
            return lg_err(err, "[model] rope_fraction = %g: must be in (0, 1]", cfg->rope_fraction);
        if (!(cfg->rope_base > 1.0f))
            return lg_err(err, "[model] rope_base = %g: must be > 1", cfg->rope_base);
        int rot = (int)(cfg->rope_fraction * (float)pe->hd + 1e-4f);
        rot -= rot % 2;
        if (rot < 2)
            return lg_err(err, "[model] rope_fraction = %g of head dim %d rotates %d dims; need at "
                               "least 2 (raise rope_fraction or d_model / heads)",
                          cfg->rope_fraction, pe->hd, rot);
        pe->rot_dims = rot;
        pe->rope_base = cfg->rope_base;
        break;
    }
    case PE_FIRE: {
        if (cfg->fire_hidden < 1 || cfg->fire_hidden > 256)
            return lg_err(err, "[model] fire_hidden = %d: must be in [1, 256]", cfg->fire_hidden);
        pe->fire_hidden = cfg->fire_hidden;
        int one[1] = {1}, w1s[2] = {cfg->fire_hidden, 1}, b1s[1] = {cfg->fire_hidden},
            w2s[2] = {pe->H, cfg->fire_hidden}, b2s[1] = {pe->H};
        pe->fire_c = params_add(params, "pe.fire.c", 1, one);
        pe->fire_L = params_add(params, "pe.fire.L", 1, one);
        pe->fire_w1 = params_add(params, "pe.fire.mlp.0.weight", 2, w1s);
        pe->fire_b1 = params_add(params, "pe.fire.mlp.0.bias", 1, b1s);
        pe->fire_w2 = params_add(params, "pe.fire.mlp.2.weight", 2, w2s);
        pe->fire_b2 = params_add(params, "pe.fire.mlp.2.bias", 1, b2s);
        break;
    }
    case PE_ABACUS: {
        if (cfg->abacus_max_digits < 1)
            return lg_err(err, "[model] abacus_max_digits = %d: must be >= 1", cfg->abacus_max_digits);
        if (cfg->abacus_max_offset < 0)
            return lg_err(err, "[model] abacus_max_offset = %d: must be >= 0", cfg->abacus_max_offset);
        pe->abacus_max_digits = cfg->abacus_max_digits;
        pe->abacus_max_offset = cfg->abacus_max_offset;
        /* row 0: not a digit; digit places 1..max_digits, shifted by offsets < max_offset */
        pe->table_rows = 1 + cfg->abacus_max_digits + (cfg->abacus_max_offset > 0 ? cfg->abacus_max_offset - 1 : 0);
        int shape[2] = {pe->table_rows, pe->D};
        pe->abacus = params_add(params, "pe.abacus.weight", 2, shape);
        break;
    }
    }
    return 0;
}

void pe_init_weights(PosEnc *pe, const ModelConfig *cfg, Rng *rng, float std) {
    if (pe->pos_emb)
        for (size_t i = 0; i < pe->pos_emb->n; i++) pe->pos_emb->data[i] = std * rng_normal(rng);
    if (pe->abacus)
        for (size_t i = 0; i < pe->abacus->n; i++) pe->abacus->data[i] = std * rng_normal(rng);
    if (pe->t5)
        for (int l = 0; l < pe->layers; l++) {
            if (pe->t5_shared && l > 0) break;
            for (size_t i = 0; i < pe->t5[l]->n; i++) pe->t5[l]->data[i] = std * rng_normal(rng);
        }
    if (pe->kind == PE_FIRE) {
        pe->fire_c->data[0] = cfg->fire_c_init;
        pe->fire_L->data[0] = cfg->fire_L_init;
        float a1 = 1.0f, a2 = 1.0f / sqrtf((float)pe->fire_hidden);
        for (size_t i = 0; i < pe->fire_w1->n; i++) pe->fire_w1->data[i] = a1 * (2 * rng_uniform(rng) - 1);
        for (size_t i = 0; i < pe->fire_b1->n; i++) pe->fire_b1->data[i] = a1 * (2 * rng_uniform(rng) - 1);
        for (size_t i = 0; i < pe->fire_w2->n; i++) pe->fire_w2->data[i] = a2 * (2 * rng_uniform(rng) - 1);
        for (size_t i = 0; i < pe->fire_b2->n; i++) pe->fire_b2->data[i] = a2 * (2 * rng_uniform(rng) - 1);
    }
}

void pe_free(PosEnc *pe) {
    lg_free(pe->alibi_slopes);
    lg_free(pe->t5);
    memset(pe, 0, sizeof *pe);
}

int pe_max_position(const PosEnc *pe) {
    return pe->kind == PE_LEARNED ? pe->table_rows : INT32_MAX;
}

/* ---- input side ---- */

Tensor *pe_embed(const PosEnc *pe, Ag *g, Tensor *x, const float *pos, const int *digit_index,
                 const int *abacus_offset, int B, int T) {
    int D = pe->D;
    if (pe->kind == PE_LEARNED) {
        int *ids = arena_alloc(&g->arena, (size_t)B * T * sizeof(int));
        for (int i = 0; i < B * T; i++) {
            int p = (int)lrintf(pos[i]);
            LG_ASSERT(p >= 0 && p < pe->table_rows,
                      "position %d is outside the learned table of %d rows (raise [model] max_pos)",
                      p, pe->table_rows);
            ids[i] = p;
        }
        return op_add(g, x, op_embedding(g, pe->pos_emb, ids, B, T));
    }
    if (pe->kind == PE_SINUSOIDAL) {
        Tensor *s = tensor_new3(&g->arena, B, T, D);
        for (int i = 0; i < B * T; i++) pe_sinusoid(s->data + (size_t)i * D, pos[i], D);
        return op_add(g, x, s);
    }
    if (pe->kind == PE_ABACUS) {
        LG_ASSERT(digit_index, "posenc abacus needs the batch's digit_index");
        int *ids = arena_alloc(&g->arena, (size_t)B * T * sizeof(int));
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                int d = digit_index[b * T + t];
                LG_ASSERT(d >= 0, "digit index %d < 0", d);
                if (d > 0 && abacus_offset) d += abacus_offset[b];
                LG_ASSERT(d < pe->table_rows,
                          "digit place %d is outside the abacus table of %d rows (raise [model] "
                          "abacus_max_digits)", d, pe->table_rows);
                ids[b * T + t] = d;
            }
        return op_add(g, x, op_embedding(g, pe->abacus, ids, B, T));
    }
    return x;
}

Tensor *pe_rotate(const PosEnc *pe, Ag *g, Tensor *x, const float *pos) {
    if (pe->kind != PE_ROPE) return x;
    return op_rope(g, x, pos, pe->rot_dims, pe->rope_base);
}

int pe_bias_shared(const PosEnc *pe) {
    return pe->kind == PE_ALIBI || pe->kind == PE_FIRE || (pe->kind == PE_T5 && pe->t5_shared);
}

Tensor *pe_bias(const PosEnc *pe, Ag *g, int layer, const float *qpos, const float *kpos,
                int Bb, int Tq, int Tk) {
    int H = pe->H;
    if (pe->kind == PE_T5) {
        int *bk = arena_alloc(&g->arena, (size_t)Bb * Tq * Tk * sizeof(int));
        for (int b = 0; b < Bb; b++)
            for (int i = 0; i < Tq; i++)
                for (int j = 0; j < Tk; j++) {
                    int d = (int)lrintf(qpos[b * Tq + i] - kpos[b * Tk + j]);
                    bk[((size_t)b * Tq + i) * Tk + j] = pe_t5_bucket(d, pe->t5_buckets, pe->t5_max_distance);
                }
        return op_rel_bias(g, pe->t5[layer], bk, Bb, Tq, Tk);
    }
    if (pe->kind == PE_ALIBI) {
        // bias[b,h,i,j] = -slope_h * (q_i - k_j)
        Tensor *out = tensor_new4(&g->arena, Bb, H, Tq, Tk);
        for (int b = 0; b < Bb; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < Tq; i++) {
                    float *o = out->data + (((size_t)b * H + h) * Tq + i) * Tk;
                    for (int j = 0; j < Tk; j++)
                        o[j] = -pe->alibi_slopes[h] * (qpos[b * Tq + i] - kpos[b * Tk + j]);
                }
        return out;
    }
    if (pe->kind == PE_FIRE)
        return op_fire_bias(g, pe->fire_c, pe->fire_L, pe->fire_w1, pe->fire_b1, pe->fire_w2,
                            pe->fire_b2, qpos, kpos, Bb, Tq, Tk, 1);
    return NULL;
}

/* ---- pieces ---- */

static void alibi_pow2(float *out, int n) {
    double start = pow(2.0, -pow(2.0, -(log2((double)n) - 3.0)));
    double s = start;
    for (int i = 0; i < n; i++, s *= start) out[i] = (float)s;
}

void pe_alibi_slopes(float *out, int H) {
    int p = 1;
    while (p * 2 <= H) p *= 2;
    alibi_pow2(out, p);
    if (p == H) return;
    /* the remaining H - p heads take every other slope of 2p heads */
    float extra[2 * 4096];
    LG_ASSERT(2 * p <= 2 * 4096, "too many heads (%d) for alibi", H);
    alibi_pow2(extra, 2 * p);
    for (int i = 0; i < H - p; i++) out[p + i] = extra[2 * i];
}

int pe_t5_bucket(int d, int num_buckets, int max_distance) {
    if (d < 0) d = 0;  /* keys after the query (masked in a decoder) share bucket 0 */
    int max_exact = num_buckets / 2;
    if (d < max_exact) return d;
    /* same float arithmetic as HF T5: log(d / max_exact) / log(max_dist / max_exact) * (nb - max_exact) */
    float v = logf((float)d / (float)max_exact) / logf((float)max_distance / (float)max_exact) *
              (float)(num_buckets - max_exact);
    int b = max_exact + (int)v;
    return b < num_buckets - 1 ? b : num_buckets - 1;
}

void pe_sinusoid(float *out, float p, int D) {
    int half = D / 2;
    for (int i = 0; i < half; i++) {
        float w = 1.0f / powf(10000.0f, (float)(2 * i) / (float)D);
        float a = p * w;
        out[i] = sinf(a);
        out[half + i] = cosf(a);
    }
}

void pe_random_positions(Rng *rng, float *out, int T, int max_pos) {
    LG_ASSERT(T <= max_pos, "random positions: %d tokens do not fit in [0, %d) (raise random_max_pos)", T, max_pos);
    /* selection sampling (Knuth's algorithm S): visits 0..max_pos-1 in order, keeps each with
     * probability (needed / left), so the output comes out sorted */
    int need = T;
    for (int v = 0; v < max_pos && need > 0; v++) {
        if (rng_below(rng, (uint64_t)(max_pos - v)) < (uint64_t)need) {
            out[T - need] = (float)v;
            need--;
        }
    }
}

void pe_temperature(float *out, int Tq, int Tk, int base) {
    float inv = 1.0f / logf((float)base);
    for (int i = 0; i < Tq; i++) out[i] = logf((float)(i + 1 + (Tk - Tq))) * inv;
}
