/* demo: the toy model and its training step; see demo.h. */
#include "demo.h"

#include <math.h>
#include <string.h>

#include "ops/ops.h"
#include "util.h"

DemoConfig demo_default_config(void) {
    return (DemoConfig){.vocab = 16, .seq = 12, .d_model = 32, .heads = 2, .d_ff = 64, .batch = 32,
                        .lag = 3, .lr = 3e-3f, .seed = 1};
}

static Tensor *add_param(Demo *d, const char *name, int d0, int d1) {
    int shape[2] = {d0, d1};
    return params_add(&d->p, name, d1 ? 2 : 1, shape);
}

void demo_init(Demo *d, const DemoConfig *c) {
    LG_ASSERT(c->vocab >= 2 && c->seq > c->lag && c->lag >= 1 && c->heads >= 1 && c->d_model % c->heads == 0 &&
                  c->batch >= 1 && c->d_ff >= 1,
              "demo: impossible config (vocab %d, seq %d, lag %d, d_model %d, heads %d)", c->vocab, c->seq, c->lag,
              c->d_model, c->heads);
    memset(d, 0, sizeof *d);
    d->c = *c;
    int V = c->vocab, T = c->seq, D = c->d_model, F = c->d_ff, N = c->batch * c->seq;
    params_init(&d->p);
    d->tok_emb = add_param(d, "tok_emb.weight", V, D);
    d->pos_emb = add_param(d, "pos_emb.weight", T, D);
    d->ln1_w = add_param(d, "ln1.weight", D, 0);
    d->ln1_b = add_param(d, "ln1.bias", D, 0);
    d->qkv_w = add_param(d, "attn.qkv.weight", 3 * D, D);
    d->qkv_b = add_param(d, "attn.qkv.bias", 3 * D, 0);
    d->proj_w = add_param(d, "attn.proj.weight", D, D);
    d->proj_b = add_param(d, "attn.proj.bias", D, 0);
    d->ln2_w = add_param(d, "ln2.weight", D, 0);
    d->ln2_b = add_param(d, "ln2.bias", D, 0);
    d->fc_w = add_param(d, "mlp.fc.weight", F, D);
    d->fc_b = add_param(d, "mlp.fc.bias", F, 0);
    d->fc2_w = add_param(d, "mlp.proj.weight", D, F);
    d->fc2_b = add_param(d, "mlp.proj.bias", D, 0);
    d->lnf_w = add_param(d, "ln_f.weight", D, 0);
    d->lnf_b = add_param(d, "ln_f.bias", D, 0);
    d->head_w = add_param(d, "head.weight", V, D);
    d->head_b = add_param(d, "head.bias", V, 0);
    params_finalize(&d->p);

    Rng root;
    rng_seed(&root, c->seed);
    Rng init = rng_fork(&root, 1);
    d->data_rng = rng_fork(&root, 2);
    d->eval_rng = rng_fork(&root, 3);
    /* embeddings N(0, 1); linear weights N(0, 1/fan_in); norms 1; biases 0 */
    for (int i = 0; i < d->p.count; i++) {
        Tensor *t = d->p.tensors[i];
        const char *name = t->name;
        size_t len = strlen(name);
        int is_bias = len > 5 && !strcmp(name + len - 5, ".bias");
        int is_norm = !strncmp(name, "ln", 2);
        float std = t->ndim == 2 ? (strstr(name, "emb") ? 1.0f : 1.0f / sqrtf((float)t->shape[1])) : 0.0f;
        for (size_t k = 0; k < t->n; k++)
            t->data[k] = is_norm && !is_bias ? 1.0f : std * rng_normal(&init);
    }
    d->adam_m = lg_calloc(d->p.n, sizeof(float), "demo adam m");
    d->adam_v = lg_calloc(d->p.n, sizeof(float), "demo adam v");
    ag_init(&d->g, 1 << 16);  /* small on purpose: the first step grows it, later steps reuse it */
    d->ids = lg_malloc((size_t)N * sizeof(int), "demo ids");
    d->targets = lg_malloc((size_t)N * sizeof(int), "demo targets");
    d->pos_ids = lg_malloc((size_t)N * sizeof(int), "demo positions");
    d->weights = lg_malloc((size_t)N * sizeof(float), "demo weights");
    for (int n = 0; n < N; n++) d->pos_ids[n] = n % T;
}

void demo_free(Demo *d) {
    ag_free(&d->g);
    params_free(&d->p);
    lg_free(d->adam_m);
    lg_free(d->adam_v);
    lg_free(d->ids);
    lg_free(d->targets);
    lg_free(d->pos_ids);
    lg_free(d->weights);
    memset(d, 0, sizeof *d);
}

/* A fresh batch of the lag task into ids, targets, weights. */
static void make_batch(Demo *d, Rng *r) {
    int T = d->c.seq;
    for (int b = 0; b < d->c.batch; b++)
        for (int t = 0; t < T; t++) {
            int n = b * T + t;
            d->ids[n] = (int)rng_below(r, (uint64_t)d->c.vocab);
            d->targets[n] = t >= d->c.lag ? d->ids[n - d->c.lag] : 0;
            d->weights[n] = t >= d->c.lag ? 1.0f : 0.0f;
        }
}

/* logits [B, T, V] of the current batch. */
static Tensor *forward(Demo *d) {
    Ag *g = &d->g;
    int B = d->c.batch, T = d->c.seq, D = d->c.d_model, H = d->c.heads, hd = D / H;
    Tensor *x = op_add(g, op_embedding(g, d->tok_emb, d->ids, B, T), op_embedding(g, d->pos_emb, d->pos_ids, B, T));
    /* attention block */
    Tensor *qkv = op_linear(g, op_layernorm(g, x, d->ln1_w, d->ln1_b, 1e-5f), d->qkv_w, d->qkv_b);
    AttnOpts o = {.scale = 1.0f / sqrtf((float)hd), .causal = 1};
    Tensor *a = op_attention(g, op_split_heads(g, qkv, H, hd, 0), op_split_heads(g, qkv, H, hd, D),
                             op_split_heads(g, qkv, H, hd, 2 * D), &o);
    x = op_add(g, x, op_linear(g, op_merge_heads(g, a), d->proj_w, d->proj_b));
    /* MLP block */
    Tensor *h = op_gelu(g, op_linear(g, op_layernorm(g, x, d->ln2_w, d->ln2_b, 1e-5f), d->fc_w, d->fc_b));
    x = op_add(g, x, op_linear(g, h, d->fc2_w, d->fc2_b));
    return op_linear(g, op_layernorm(g, x, d->lnf_w, d->lnf_b, 1e-5f), d->head_w, d->head_b);
}

/* Adam (beta1 0.9, beta2 0.999, eps 1e-8, bias-corrected), over the whole block at once. */
static void adam_update(Demo *d) {
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    d->step++;
    float c1 = 1.0f - powf(b1, (float)d->step), c2 = 1.0f - powf(b2, (float)d->step);
    float *w = d->p.data, *gr = d->p.grad, *m = d->adam_m, *v = d->adam_v;
    float lr = d->c.lr;
    size_t n = d->p.n;
#pragma omp parallel for if (n >= ((size_t)1 << 15))
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * gr[i];
        v[i] = b2 * v[i] + (1.0f - b2) * gr[i] * gr[i];
        w[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + eps);
    }
}

float demo_train_step(Demo *d) {
    make_batch(d, &d->data_rng);
    params_zero_grad(&d->p);
    Tensor *loss = op_cross_entropy(&d->g, forward(d), d->targets, d->weights, NULL);
    float l = loss->data[0];
    ag_backward(&d->g, loss);
    adam_update(d);
    ag_reset(&d->g);
    return l;
}

float demo_accuracy(Demo *d, int batches) {
    int prev = ag_set_grad(&d->g, 0);
    long right = 0, total = 0;
    int V = d->c.vocab, N = d->c.batch * d->c.seq;
    for (int k = 0; k < batches; k++) {
        make_batch(d, &d->eval_rng);
        Tensor *logits = forward(d);
        for (int n = 0; n < N; n++) {
            if (d->weights[n] == 0.0f) continue;
            const float *row = logits->data + (size_t)n * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (row[v] > row[best]) best = v;
            right += best == d->targets[n];
            total++;
        }
        ag_reset(&d->g);
    }
    ag_set_grad(&d->g, prev);
    return total ? (float)right / (float)total : 0.0f;
}
