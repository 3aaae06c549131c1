/* posenc: the scheme table, the checks, the plan of a batch and the dispatch to the schemes
 * (see posenc.h for the hooks, src/posenc/ for the schemes). */
#include "posenc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "posenc/scheme.h"
#include "util.h"

#define PE_LIST_NAME(kind, name, scheme) name,
#define PE_LIST_SCHEME(kind, name, scheme) &scheme,
const char *const pe_names[] = {PE_LIST(PE_LIST_NAME) NULL};
static const PeScheme *const schemes[] = {PE_LIST(PE_LIST_SCHEME)};
#undef PE_LIST_NAME
#undef PE_LIST_SCHEME

const char *const pe_temp_names[] = {"off", "log", "learned_log", "log_beyond", NULL};

void pe_fill_normal(Tensor *t, Rng *rng, float std) {
    for (size_t i = 0; i < t->n; i++) t->data[i] = std * rng_normal(rng);
}

/* ---- checks ---- */

static int check_random_positions(const ModelConfig *m, LgErr *err) {
    if (!m->random_positions) return 0;
    if (m->random_max_pos < m->max_pos)
        return lg_err(err, "[model] random_max_pos = %d must be >= max_pos = %d when random_positions = true",
                      m->random_max_pos, m->max_pos);
    if (schemes[m->posenc]->by_position) return 0;
    char list[160] = "";
    for (int k = 0; k < PE_COUNT; k++)
        if (schemes[k]->by_position)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "", pe_names[k]);
    return lg_err(err, "[model] random_positions = true needs a position-indexed posenc (%s), not '%s'",
                  list, pe_names[m->posenc]);
}

int pe_check(const ModelConfig *m, LgErr *err) {
    if ((unsigned)m->posenc >= PE_COUNT) return lg_err(err, "[model] posenc: unknown scheme %d", (int)m->posenc);
    const PeScheme *s = schemes[m->posenc];
    if (s->check && s->check(m, err)) return -1;
    if (check_random_positions(m, err)) return -1;
    if ((unsigned)m->temperature > TEMP_LOG_BEYOND)
        return lg_err(err, "[model] temperature: unknown kind %d", (int)m->temperature);
    if (m->temperature != TEMP_OFF && m->temperature_base < 2)
        return lg_err(err, "[model] temperature_base = %d: must be >= 2", m->temperature_base);
    if (!(m->attn_scale > 0.0f) || !isfinite(m->attn_scale))
        return lg_err(err, "[model] attn_scale = %g: must be > 0", (double)m->attn_scale);
    return 0;
}

/* ---- construction ---- */

int pe_init(PosEnc *pe, const ModelConfig *cfg, Params *params, LgErr *err) {
    memset(pe, 0, sizeof *pe);
    if (pe_check(cfg, err)) return -1;
    pe->scheme = schemes[cfg->posenc];
    pe->cfg = *cfg;
    pe->H = cfg->heads;
    pe->D = cfg->d_model;
    pe->hd = cfg->d_model / cfg->heads;
    pe->L = cfg->layers;
    if (pe->scheme->declare) pe->scheme->declare(pe, params);
    return 0;
}

Tensor *pe_declare_head_scale(const PosEnc *pe, Params *params, int layer) {
    if (pe->cfg.temperature != TEMP_LEARNED_LOG) return NULL;
    char name[64];
    snprintf(name, sizeof name, "blocks.%d.attn.temp", layer);
    int shape[1] = {pe->H};
    return params_add(params, name, 1, shape);
}

void pe_init_weights(PosEnc *pe, Rng *rng, float std) {
    if (pe->scheme->init_weights) pe->scheme->init_weights(pe, rng, std);
}

void pe_free(PosEnc *pe) {
    lg_free(pe->state);
    memset(pe, 0, sizeof *pe);
}

/* ---- limits and batch checks ---- */

/* The largest number of tokens a sequence may have (learned: table rows), or INT32_MAX. */
static int pe_max_position(const PosEnc *pe) {
    return pe->scheme->max_position ? pe->scheme->max_position(pe) : INT32_MAX;
}

int pe_check_length(const PosEnc *pe, int T, LgErr *err) {
    int maxp = pe_max_position(pe);
    if (T <= maxp) return 0;
    return lg_err(err, "%d tokens exceed the %d positions of posenc %s (raise [model] max_pos)", T, maxp,
                  pe_names[pe->cfg.posenc]);
}

int pe_check_positions(const PosEnc *pe, const float *pos, int n, LgErr *err) {
    int maxp = pe_max_position(pe);
    for (int i = 0; i < n; i++)
        if (!(pos[i] >= 0.0f) || pos[i] >= (float)maxp)
            return lg_err(err, "model: position %g outside [0, %d)", pos[i], maxp);
    return 0;
}

int pe_check_batch(const PosEnc *pe, int B, int T, const float *positions, const int *digit_index,
                   int training, LgErr *err) {
    if (positions) {
        if (pe_check_positions(pe, positions, B * T, err)) return -1;
    } else if (!(training && pe->cfg.random_positions) && pe_check_length(pe, T, err)) {
        return -1;
    }
    if (pe->scheme->check_batch) return pe->scheme->check_batch(pe, digit_index, B * T, training, err);
    return 0;
}

int pe_draws(const PosEnc *pe) {
    return pe->cfg.random_positions || (pe->scheme->draws && pe->scheme->draws(pe));
}

/* ---- the plan ---- */

/* The constant logit factor: attn_scale / sqrt(hd) (exactly 1 / sqrt(hd) at attn_scale = 1). */
static float logit_scale(const PosEnc *pe) { return pe->cfg.attn_scale / sqrtf((float)pe->hd); }

/* Positions of a forward: given, random (training), or 0..T-1; sets p->pos and p->rows. */
static void plan_positions(PePlan *p, const PosEnc *pe, Ag *g, const float *positions, int training,
                           Rng *rng) {
    int B = p->B, T = p->T;
    p->pos = arena_alloc(&g->arena, (size_t)B * T * sizeof(float));
    p->rows = 1;
    if (positions) {
        memcpy(p->pos, positions, (size_t)B * T * sizeof(float));
        for (int b = 1; b < B && p->rows == 1; b++)
            if (memcmp(p->pos, p->pos + (size_t)b * T, (size_t)T * sizeof(float))) p->rows = B;
    } else if (training && pe->cfg.random_positions && pe->scheme->by_position) {
        LG_ASSERT(rng, "posenc: random positions need an Rng");
        for (int b = 0; b < B; b++) pe_random_positions(rng, p->pos + (size_t)b * T, T, pe->cfg.random_max_pos);
        p->rows = B;
    } else {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) p->pos[(size_t)b * T + t] = (float)t;
    }
}

/* The temperature factors of Tq query rows over Tk keys (the last Tq of them): pe_temperature,
 * and for log_beyond never below 1, so every row that sees at most `base` keys is unchanged. */
static void plan_temperature(const PosEnc *pe, float *out, int Tq, int Tk) {
    pe_temperature(out, Tq, Tk, pe->cfg.temperature_base);
    if (pe->cfg.temperature == TEMP_LOG_BEYOND)
        for (int i = 0; i < Tq; i++) out[i] = out[i] < 1.0f ? 1.0f : out[i];
}

void pe_plan_forward(PePlan *p, const PosEnc *pe, Ag *g, int B, int T, const float *positions,
                     const int *digit_index, int training, Rng *rng) {
    LG_ASSERT(B >= 1 && T >= 1, "pe_plan_forward: empty batch %d x %d", B, T);
    memset(p, 0, sizeof *p);
    p->B = B;
    p->T = T;
    p->digit_index = digit_index;
    plan_positions(p, pe, g, positions, training, rng);
    if (training && pe->scheme->plan) pe->scheme->plan(pe, g, p, rng);
    p->scale = logit_scale(pe);
    if (pe->cfg.temperature != TEMP_OFF) {
        p->row_scale = arena_alloc(&g->arena, (size_t)T * sizeof(float));
        plan_temperature(pe, p->row_scale, T, T);
    }
    if (pe->scheme->bias && !(pe->scheme->bias_per_layer && pe->scheme->bias_per_layer(pe)))
        p->bias = pe->scheme->bias(pe, g, 0, p->pos, p->pos, p->rows, T, T);
}

/* The biases of `layer` for each sequence of a decode plan. */
static Tensor **decode_biases(const PosEnc *pe, Ag *g, const PePlan *p, int layer) {
    Tensor **out = arena_alloc(&g->arena, (size_t)p->B * sizeof(Tensor *));
    for (int b = 0; b < p->B; b++)
        out[b] = pe->scheme->bias(pe, g, layer, &p->pos[b], p->kpos + (size_t)b * p->kstride, 1, 1, p->klen[b]);
    return out;
}

void pe_plan_decode(PePlan *p, const PosEnc *pe, Ag *g, int B, const int *len, const float *pos,
                    int stride, const int *digit_index) {
    memset(p, 0, sizeof *p);
    p->B = B;
    p->T = 1;
    p->rows = B;
    p->digit_index = digit_index;
    p->pos = arena_alloc(&g->arena, (size_t)B * sizeof(float));
    int *klen = arena_alloc(&g->arena, (size_t)B * sizeof(int));
    int kmax = 1;
    for (int b = 0; b < B; b++) {
        p->pos[b] = pos ? pos[(size_t)b * stride + len[b]] : (float)len[b];
        klen[b] = len[b] + 1;
        if (klen[b] > kmax) kmax = klen[b];
    }
    p->klen = klen;
    if (pos) {
        p->kpos = pos;
        p->kstride = stride;
    } else {
        float *kpos = arena_alloc(&g->arena, (size_t)kmax * sizeof(float));
        for (int t = 0; t < kmax; t++) kpos[t] = (float)t;
        p->kpos = kpos;
    }
    p->scale = logit_scale(pe);
    if (pe->cfg.temperature != TEMP_OFF) {
        p->row_scale = arena_alloc(&g->arena, (size_t)B * sizeof(float));
        for (int b = 0; b < B; b++) plan_temperature(pe, &p->row_scale[b], 1, klen[b]);
    }
    if (pe->scheme->bias && !(pe->scheme->bias_per_layer && pe->scheme->bias_per_layer(pe)))
        p->seq_bias = decode_biases(pe, g, p, 0);
}

/* ---- the hooks ---- */

Tensor *pe_embed(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p) {
    return pe->scheme->embed ? pe->scheme->embed(pe, g, x, p) : x;
}

Tensor *pe_rotate(const PosEnc *pe, Ag *g, Tensor *x, const PePlan *p) {
    return pe->scheme->rotate ? pe->scheme->rotate(pe, g, x, p) : x;
}

Tensor *pe_rotate_qkv(const PosEnc *pe, Ag *g, Tensor *qkv, int H, const PePlan *p, const int *keep) {
    return pe->scheme->rotate_qkv ? pe->scheme->rotate_qkv(pe, g, qkv, H, p, keep) : qkv;
}

Tensor *pe_layer_bias(const PosEnc *pe, Ag *g, const PePlan *p, int layer) {
    if (!pe->scheme->bias || p->bias) return p->bias;
    return pe->scheme->bias(pe, g, layer, p->pos, p->pos, p->rows, p->T, p->T);
}

Tensor **pe_decode_biases(const PosEnc *pe, Ag *g, const PePlan *p, int layer) {
    if (!pe->scheme->bias || p->seq_bias) return p->seq_bias;
    return decode_biases(pe, g, p, layer);
}

/* ---- pieces ---- */

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
