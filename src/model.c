/* model: parameter layout, GPT-2 initialisation, the batched forward, and KV-cache decoding.
 * See model.h for the contract; docs/model.md for the parameter names and options. */
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops.h"
#include "util.h"

#define NORM_EPS 1e-5f

/* ------------------------------------------------------------------------------------------ */
/* construction                                                                                */

static Tensor *add1(Params *p, const char *name, int d0) {
    int s[1] = {d0};
    return params_add(p, name, 1, s);
}

static Tensor *add2(Params *p, const char *name, int d0, int d1) {
    int s[2] = {d0, d1};
    return params_add(p, name, 2, s);
}

static void fill_normal(Tensor *t, Rng *rng, float std) {
    for (size_t i = 0; i < t->n; i++) t->data[i] = std * rng_normal(rng);
}

static void fill_const(Tensor *t, float v) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) t->data[i] = v;
}

int model_init(Model *m, const ModelConfig *cfg, int vocab_size, uint64_t seed, LgErr *err) {
    memset(m, 0, sizeof *m);
    if (cfg->layers < 1) return lg_err(err, "[model] layers = %d: must be >= 1", cfg->layers);
    if (cfg->heads < 1) return lg_err(err, "[model] heads = %d: must be >= 1", cfg->heads);
    if (cfg->d_model < 1 || cfg->d_model % cfg->heads)
        return lg_err(err, "[model] d_model = %d must be a positive multiple of heads = %d",
                      cfg->d_model, cfg->heads);
    if (cfg->d_ff < 0) return lg_err(err, "[model] d_ff = %d: must be >= 0 (0 = 4 * d_model)", cfg->d_ff);
    if (vocab_size < 1) return lg_err(err, "model: vocabulary size %d: must be >= 1", vocab_size);
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f))
        return lg_err(err, "[model] dropout = %g: must be in [0, 1)", cfg->dropout);
    if (cfg->max_pos < 1) return lg_err(err, "[model] max_pos = %d: must be >= 1", cfg->max_pos);
    if (!(cfg->init_std > 0.0f)) return lg_err(err, "[model] init_std = %g: must be > 0", cfg->init_std);

    m->cfg = *cfg;
    m->vocab_size = vocab_size;
    m->L = cfg->layers;
    m->H = cfg->heads;
    m->D = cfg->d_model;
    m->hd = m->D / m->H;
    m->F = cfg->d_ff ? cfg->d_ff : 4 * m->D;
    int D = m->D, F = m->F, V = vocab_size;
    int ln_bias = cfg->bias && cfg->norm == NORM_LAYERNORM;

    Params *p = &m->params;
    params_init(p);
    m->tok_emb = add2(p, "tok_emb.weight", V, D);
    if (pe_init(&m->pe, cfg, p, err)) {
        params_free(p);
        return -1;
    }
    m->layers = lg_calloc((size_t)m->L, sizeof *m->layers, "model layers");
    char name[96];
#define NAME(fmt) (snprintf(name, sizeof name, "blocks.%d." fmt, l), name)
    for (int l = 0; l < m->L; l++) {
        ModelLayer *y = &m->layers[l];
        y->ln1_w = add1(p, NAME("ln1.weight"), D);
        if (ln_bias) y->ln1_b = add1(p, NAME("ln1.bias"), D);
        y->qkv_w = add2(p, NAME("attn.qkv.weight"), 3 * D, D);
        if (cfg->bias) y->qkv_b = add1(p, NAME("attn.qkv.bias"), 3 * D);
        y->proj_w = add2(p, NAME("attn.proj.weight"), D, D);
        if (cfg->bias) y->proj_b = add1(p, NAME("attn.proj.bias"), D);
        y->temp = pe_declare_head_scale(&m->pe, p, l);
        y->ln2_w = add1(p, NAME("ln2.weight"), D);
        if (ln_bias) y->ln2_b = add1(p, NAME("ln2.bias"), D);
        y->fc_w = add2(p, NAME("mlp.fc.weight"), F, D);
        if (cfg->bias) y->fc_b = add1(p, NAME("mlp.fc.bias"), F);
        y->mproj_w = add2(p, NAME("mlp.proj.weight"), D, F);
        if (cfg->bias) y->mproj_b = add1(p, NAME("mlp.proj.bias"), D);
    }
#undef NAME
    m->lnf_w = add1(p, "ln_f.weight", D);
    if (ln_bias) m->lnf_b = add1(p, "ln_f.bias", D);
    m->head = cfg->tie_embeddings ? m->tok_emb : add2(p, "head.weight", V, D);
    params_finalize(p);

    /* GPT-2 initialisation, drawn in declaration order from one seeded stream */
    Rng root, rng;
    rng_seed(&root, seed);
    rng = rng_fork(&root, 0x696e6974 /* "init" */);
    float std = cfg->init_std, rstd = std / sqrtf(2.0f * (float)m->L);
    fill_normal(m->tok_emb, &rng, std);
    pe_init_weights(&m->pe, &rng, std);
    for (int l = 0; l < m->L; l++) {
        ModelLayer *y = &m->layers[l];
        fill_const(y->ln1_w, 1.0f);
        fill_const(y->ln2_w, 1.0f);
        fill_const(y->temp, 1.0f);
        fill_normal(y->qkv_w, &rng, std);
        fill_normal(y->proj_w, &rng, rstd);
        fill_normal(y->fc_w, &rng, std);
        fill_normal(y->mproj_w, &rng, rstd);
    }
    fill_const(m->lnf_w, 1.0f);
    if (!cfg->tie_embeddings) fill_normal(m->head, &rng, std);
    return 0;
}

void model_free(Model *m) {
    pe_free(&m->pe);
    lg_free(m->layers);
    params_free(&m->params);
    memset(m, 0, sizeof *m);
}

size_t model_num_params(const Model *m) { return m->params.n; }

/* ------------------------------------------------------------------------------------------ */
/* forward                                                                                     */

static Tensor *norm(const Model *m, Ag *g, Tensor *x, Tensor *w, Tensor *b) {
    if (m->cfg.norm == NORM_RMSNORM) return op_rmsnorm(g, x, w, NORM_EPS);
    return op_layernorm(g, x, w, b, NORM_EPS);
}

static Tensor *linear(Ag *g, Tensor *x, Tensor *w, Tensor *b) { return op_linear(g, x, w, b); }

static Tensor *dropout(const Model *m, Ag *g, Tensor *x, int training, Rng *rng) {
    if (!training || m->cfg.dropout <= 0.0f) return x;
    return op_dropout(g, x, m->cfg.dropout, rng);
}

static Tensor *mlp(const Model *m, Ag *g, const ModelLayer *y, Tensor *x) {
    Tensor *h = m->cfg.activation == ACT_RELU ? op_relu(g, linear(g, x, y->fc_w, y->fc_b))
                                              : op_linear_gelu(g, x, y->fc_w, y->fc_b);
    return linear(g, h, y->mproj_w, y->mproj_b);
}

/* Token embedding plus the input-side posenc: x [B, T, D]. */
static Tensor *embed(Model *m, Ag *g, const int *tokens, const PePlan *pl) {
    Tensor *x = op_embedding(g, m->tok_emb, tokens, pl->B, pl->T);
    return pe_embed(&m->pe, g, x, pl);
}

/* ------------------------------------------------------------------------------------------ */
/* the block: one for training, evaluation, prefill and decoding                               */

/* The real (non-padding) positions of a batch whose rows have lengths: keep [P] are their
 * indices b*T + t in [B, T], and rows_packed [n_rows] the loss rows' indices among them. */
typedef struct {
    const int *keep;
    int P;
    const int *rows_packed;
    const int *lens;          /* [B] */
} Packing;

/* Layer l's attention options from the plan: a forward plan has one bias [rows, H, T, T] and a
 * temperature factor per query row, a decode plan one bias and one factor per sequence. */
static AttnOpts attn_opts(Model *m, Ag *g, const PePlan *pl, int l) {
    AttnOpts o = {.scale = pl->scale, .row_scale = pl->row_scale, .head_scale = m->layers[l].temp, .causal = 1};
    if (pl->klen) {
        o.seq_bias = pe_decode_biases(&m->pe, g, pl, l);
        o.row_scale_per_seq = 1;
    } else {
        o.bias = pe_layer_bias(&m->pe, g, pl, l);
    }
    return o;
}

/* Layer l's self-attention on qkv [B, T, 3D] -> [B, T, D]. Without a cache, over the T tokens
 * (training, evaluation); with one, the T new tokens' keys and values are appended to layer
 * l's cache and the queries attend over all that sequence has cached (prefill, decoding). */
static Tensor *attention(Model *m, Ag *g, int l, Tensor *qkv, const PePlan *pl, const KVCache *kv,
                         Tensor **probs, const Packing *pk) {
    int H = m->H, hd = m->hd, D = m->D;
    AttnOpts o = attn_opts(m, g, pl, l);
    o.probs_out = probs;
    if (!kv) {   /* q, k and v read in place: no head copies */
        qkv = pe_rotate_qkv(&m->pe, g, qkv, H, pl, pk ? pk->keep : NULL);
        if (pk) return op_attention_qkv_ragged(g, qkv, H, pl->B, pl->T, pk->lens, &o);  // [P, D]
        return op_attention_qkv(g, qkv, H, &o);
    }
    Tensor *q = op_split_heads(g, qkv, H, hd, 0);                               // [B, H, T, hd]
    Tensor *k = op_split_heads(g, qkv, H, hd, D);
    Tensor *v = op_split_heads(g, qkv, H, hd, 2 * D);
    q = pe_rotate(&m->pe, g, q, pl);
    k = pe_rotate(&m->pe, g, k, pl);
    size_t per_layer = (size_t)kv->B * H * kv->Tmax * hd;
    KvView view = {kv->k + l * per_layer, kv->v + l * per_layer, kv->len, kv->Tmax};
    return op_merge_heads(g, op_attention_cached(g, q, k, v, &view, &o));       // [B, T, D]
}

/* Block l on x [B, T, D]:  x += dropout(proj(attention(norm1(x))));  x += dropout(mlp(norm2(x)))
 * With rows (the last block of a forward that wants logits at a few positions only): after the
 * attention, which needs every position's keys and values, only those rows of x and of the
 * attention output go on (the rest of the block is per row): x [n_rows, D]. With pk, x is
 * [P, D], the real positions only, and attention runs on each sequence at its own length. */
static Tensor *block(Model *m, Ag *g, int l, Tensor *x, const PePlan *pl, const KVCache *kv, int training,
                     Rng *rng, ModelTrace *trace, const int *rows, int n_rows, const Packing *pk) {
    ModelLayer *y = &m->layers[l];
    Tensor *h = norm(m, g, x, y->ln1_w, y->ln1_b);
    Tensor *qkv = linear(g, h, y->qkv_w, y->qkv_b);                              // [B, T, 3D] or [P, 3D]
    Tensor *a = attention(m, g, l, qkv, pl, kv, trace && trace->attn ? &trace->attn[l] : NULL, pk);
    if (rows) {
        if (pk) rows = pk->rows_packed;
        a = op_gather_rows(g, a, rows, n_rows);                                  // [n_rows, D]
        x = op_gather_rows(g, x, rows, n_rows);
    }
    x = op_add(g, x, dropout(m, g, linear(g, a, y->proj_w, y->proj_b), training, rng));
    h = norm(m, g, x, y->ln2_w, y->ln2_b);
    x = op_add(g, x, dropout(m, g, mlp(m, g, y, h), training, rng));
    if (trace && trace->hidden) trace->hidden[l] = x;
    return x;
}

/* Tokens [B*T] of plan pl's batch -> norm_f(x) [B, T, D]: the path of model_forward,
 * model_prefill and model_decode_step alike; with kv, every block reads and extends the cache
 * at kv->len (which the caller advances). With rows, only those positions leave the last
 * block: [n_rows, D]. */
static Tensor *body(Model *m, Ag *g, const int *tokens, const PePlan *pl, int training, Rng *rng,
                    ModelTrace *trace, const KVCache *kv, const int *rows, int n_rows, const Packing *pk) {
    Tensor *x = dropout(m, g, embed(m, g, tokens, pl), training, rng);
    if (pk) x = op_gather_rows(g, x, pk->keep, pk->P);                          // [P, D]
    for (int l = 0; l < m->L; l++)
        x = block(m, g, l, x, pl, kv, training, rng, trace, l == m->L - 1 ? rows : NULL, n_rows, pk);
    return norm(m, g, x, m->lnf_w, m->lnf_b);
}

int model_check_batch(const Model *m, const ModelBatch *in, LgErr *err) {
    if (in->B < 1 || in->T < 1) return lg_err(err, "model: empty batch (B = %d, T = %d)", in->B, in->T);
    for (int i = 0; i < in->B * in->T; i++)
        if (in->tokens[i] < 0 || in->tokens[i] >= m->vocab_size)
            return lg_err(err, "model: token id %d at %d outside the vocabulary [0, %d)",
                          in->tokens[i], i, m->vocab_size);
    if (pe_check_batch(&m->pe, in->B, in->T, in->positions, in->digit_index, in->training, err)) return -1;
    if (in->training && !in->rng && (m->cfg.dropout > 0 || pe_draws(&m->pe)))
        return lg_err(err, "model: training batch without an Rng");
    return 0;
}

/* in's real positions from in->lens into pk (arena memory), or NULL when there is no padding
 * to skip. Every loss row must be a real position. */
static const Packing *packing(Packing *pk, Ag *g, const ModelBatch *in) {
    int B = in->B, T = in->T, P = 0;
    for (int b = 0; b < B; b++) {
        LG_ASSERT(in->lens[b] >= 1 && in->lens[b] <= T, "model_forward: lens[%d] = %d outside [1, %d]", b,
                  in->lens[b], T);
        P += in->lens[b];
    }
    if (P == B * T) return NULL;
    int *keep = arena_alloc(&g->arena, (size_t)P * sizeof(int));
    int *start = arena_alloc(&g->arena, (size_t)B * sizeof(int));  // packed index of row b's position 0
    for (int b = 0, p = 0; b < B; b++) {
        start[b] = p;
        for (int t = 0; t < in->lens[b]; t++) keep[p++] = b * T + t;
    }
    int *rp = arena_alloc(&g->arena, (size_t)in->n_rows * sizeof(int));
    for (int i = 0; i < in->n_rows; i++) {
        int b = in->rows[i] / T, t = in->rows[i] % T;
        LG_ASSERT(t < in->lens[b], "model_forward: loss row %d (row %d, position %d) is past lens[%d] = %d",
                  in->rows[i], b, t, b, in->lens[b]);
        rp[i] = start[b] + t;
    }
    pk->keep = keep;
    pk->P = P;
    pk->rows_packed = rp;
    pk->lens = in->lens;
    return pk;
}

Tensor *model_forward(Model *m, Ag *g, const ModelBatch *in, ModelTrace *trace) {
    LG_ASSERT(!(in->training && m->cfg.dropout > 0) || in->rng, "model_forward: training needs in->rng");
    PePlan pl;
    pe_plan_forward(&pl, &m->pe, g, in->B, in->T, in->positions, in->digit_index, in->training, in->rng);
    LG_ASSERT(!in->rows || (!trace && in->n_rows >= 1),
              "model_forward: rows (%d of them) need n_rows >= 1 and no trace", in->n_rows);
    Packing pk = {0};
    const Packing *ppk = in->rows && in->lens ? packing(&pk, g, in) : NULL;
    Tensor *x = body(m, g, in->tokens, &pl, in->training, in->rng, trace, NULL, in->rows, in->n_rows, ppk);
    return op_linear(g, x, m->head, NULL);  // [B, T, V] or [n_rows, V]
}

int model_check_length(const Model *m, int T, LgErr *err) { return pe_check_length(&m->pe, T, err); }

/* ------------------------------------------------------------------------------------------ */
/* KV-cache decoding                                                                           */

int model_kv_init(KVCache *kv, const Model *m, int B, int Tmax, LgErr *err) {
    memset(kv, 0, sizeof *kv);
    if (B < 1 || Tmax < 1) return lg_err(err, "kv cache: B = %d, Tmax = %d must be >= 1", B, Tmax);
    if (pe_check_length(&m->pe, Tmax, err)) return -1;
    kv->B = B;
    kv->Tmax = Tmax;
    kv->L = m->L;
    kv->H = m->H;
    kv->hd = m->hd;
    size_t n = (size_t)m->L * B * m->H * Tmax * m->hd;
    kv->k = lg_calloc(n, sizeof(float), "kv cache keys");
    kv->v = lg_calloc(n, sizeof(float), "kv cache values");
    kv->len = lg_calloc((size_t)B, sizeof(int), "kv cache lengths");
    return 0;
}

void model_kv_free(KVCache *kv) {
    lg_free(kv->k);
    lg_free(kv->v);
    lg_free(kv->len);
    lg_free(kv->pos);
    memset(kv, 0, sizeof *kv);
}

int model_kv_set_positions(KVCache *kv, const Model *m, const float *pos, LgErr *err) {
    size_t n = (size_t)kv->B * kv->Tmax;
    if (pe_check_positions(&m->pe, pos, (int)n, err)) return -1;
    if (!kv->pos) kv->pos = lg_malloc(n * sizeof(float), "kv cache positions");
    memcpy(kv->pos, pos, n * sizeof(float));
    return 0;
}

Tensor *model_prefill(Model *m, Ag *g, KVCache *kv, const int *tokens, const int *prompt_len,
                      int T, const int *digit_index) {
    int B = kv->B, D = m->D;
    LG_ASSERT(T >= 1 && T <= kv->Tmax, "model_prefill: T = %d outside [1, Tmax = %d]", T, kv->Tmax);
    int prev = ag_set_grad(g, 0);
    for (int b = 0; b < B; b++) kv->len[b] = 0;  /* a prefill starts every sequence afresh */
    float *pos = NULL;  /* [B*T] the first T of each row of kv->pos */
    if (kv->pos) {
        pos = arena_alloc(&g->arena, (size_t)B * T * sizeof(float));
        for (int b = 0; b < B; b++)
            memcpy(pos + (size_t)b * T, kv->pos + (size_t)b * kv->Tmax, (size_t)T * sizeof(float));
    }
    PePlan pl;
    pe_plan_forward(&pl, &m->pe, g, B, T, pos, digit_index, 0, NULL);
    Tensor *x = body(m, g, tokens, &pl, 0, NULL, NULL, kv, NULL, 0, NULL);  // [B, T, D]; cache rows 0..T-1
    Tensor *last = tensor_new2(&g->arena, B, D);                 // [B, D]
    for (int b = 0; b < B; b++) {
        LG_ASSERT(prompt_len[b] >= 1 && prompt_len[b] <= T,
                  "model_prefill: prompt_len[%d] = %d outside [1, %d]", b, prompt_len[b], T);
        memcpy(last->data + (size_t)b * D, x->data + ((size_t)b * T + prompt_len[b] - 1) * D,
               (size_t)D * sizeof(float));
        kv->len[b] = prompt_len[b];  /* the padding's rows are overwritten by the next tokens */
    }
    Tensor *logits = op_linear(g, last, m->head, NULL);          // [B, V]
    ag_set_grad(g, prev);
    return logits;
}

Tensor *model_decode_step(Model *m, Ag *g, KVCache *kv, const int *next_tokens,
                          const int *digit_index) {
    int B = kv->B, D = m->D;
    int prev = ag_set_grad(g, 0);
    for (int b = 0; b < B; b++)
        LG_ASSERT(kv->len[b] < kv->Tmax, "model_decode_step: sequence %d is full (%d tokens)", b, kv->Tmax);
    /* per sequence: the query is token n = len[b], over tokens 0..n */
    PePlan pl;
    pe_plan_decode(&pl, &m->pe, g, B, kv->len, kv->pos, kv->Tmax, digit_index);
    Tensor *x = body(m, g, next_tokens, &pl, 0, NULL, NULL, kv, NULL, 0, NULL);  // [B, 1, D]
    for (int b = 0; b < B; b++) kv->len[b]++;
    int shape[2] = {B, D};
    Tensor *logits = op_linear(g, op_reshape(g, x, 2, shape), m->head, NULL);  // [B, V]
    ag_set_grad(g, prev);
    return logits;
}
