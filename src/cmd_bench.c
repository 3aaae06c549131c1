/* cmd_bench: `lengen bench`: times what our users wait for.
 *
 *   lengen bench [--layers L --heads H --d-model D --seq T --batch B --vocab V --steps S]
 *       full training steps on random tokens through the trainer's own step (step_grad:
 *       model_forward, op_cross_entropy, ag_backward; step_update: clip, AdamW); learned positions, GELU, layernorm with
 *       biases, tied head. Warm-up steps are not timed. Prints ms/step, tokens/s, GFLOP/s
 *       (6 x params x tokens + 12 L D T per token for attention, as nanoGPT counts), peak RSS
 *       and the heap allocations made during the timed steps (the promise is 0).
 *   lengen bench --sgemm [--n N]   large square sgemm: this machine's BLAS ceiling.
 *   lengen bench --decode          greedy decoding of 256 sequences to length 200: KV cache
 *                                  against recomputing the full forward for every token.
 *
 * Every mode ends with one line `RESULT key=value ...` that tools/bench.sh parses.
 * Bad options exit 2 naming the option. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "cli_util.h"
#include "config.h"
#include "model.h"
#include "ops/ops.h"
#include "optim.h"
#include "rng.h"
#include "step.h"
#include "util.h"

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: lengen bench [--layers L] [--heads H] [--d-model D] [--seq T] [--batch B]\n"
            "                    [--vocab V] [--steps S] [--warmup W] [--threads N]\n"
            "       lengen bench --sgemm [--n N] [--threads N]\n"
            "       lengen bench --decode [model options] [--batch B] [--len T] [--prompt P]\n"
            "  Times full training steps (forward, backward, clip, AdamW) of a GPT model with\n"
            "  learned positions, GELU, layernorm and a tied head on random tokens, and prints\n"
            "  ms/step, tokens/s, GFLOP/s and peak RSS. Defaults: L=2 H=4 D=64 T=64 B=64 V=64,\n"
            "  20 timed steps after 3 warm-up steps, all cores (or LENGEN_THREADS).\n"
            "  --sgemm   time an N x N x N sgemm (default N = 4096): the BLAS ceiling\n"
            "  --decode  greedy decoding of B sequences (default 256) from a P-token prompt\n"
            "            (default 8) to length T (default 200): KV cache vs full recompute\n");
}

static long peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static int bench_sgemm(int n, int threads) {
    float *a = lg_aligned_alloc((size_t)n * n * sizeof(float), "bench sgemm a");
    float *b = lg_aligned_alloc((size_t)n * n * sizeof(float), "bench sgemm b");
    float *c = lg_aligned_alloc((size_t)n * n * sizeof(float), "bench sgemm c");
    for (size_t i = 0; i < (size_t)n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = lg_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = lg_seconds() - t0;
        if (dt < best) best = dt;
    }
    double gf = 2.0 * n * n * (double)n / best / 1e9;
    printf("sgemm %d x %d x %d, %d threads: best of 5 %.1f ms, %.1f GFLOP/s\n", n, n, n, threads, best * 1e3, gf);
    printf("RESULT mode=sgemm n=%d threads=%d gflops=%.1f\n", n, threads, gf);
    lg_free(a);
    lg_free(b);
    lg_free(c);
    return 0;
}

static void bench_model_config(ModelConfig *mc, int L, int H, int D, int maxpos) {
    Config cfg;
    cfg_defaults(&cfg);
    *mc = cfg.model;
    mc->layers = L;
    mc->heads = H;
    mc->d_model = D;
    mc->d_ff = 0;
    mc->dropout = 0.0f;
    mc->norm = NORM_LAYERNORM;
    mc->bias = 1;
    mc->activation = ACT_GELU;
    mc->tie_embeddings = 1;
    mc->posenc = PE_LEARNED;
    mc->max_pos = maxpos;
    mc->random_positions = 0;
    mc->temperature = TEMP_OFF;
}

static int bench_train(int L, int H, int D, int T, int B, int V, int steps, int warmup, int threads) {
    ModelConfig mc;
    bench_model_config(&mc, L, H, D, T);
    Config cfg;
    cfg_defaults(&cfg);
    TrainConfig tc = cfg.train;
    tc.optimizer = OPT_ADAMW;
    Model m;
    LgErr err;
    if (model_init(&m, &mc, V, 1, &err)) {
        fprintf(stderr, "lengen bench: %s\n", err.msg);
        return 2;
    }
    Optim opt;
    optim_init(&opt, &tc, &m.params);
    Ag g;
    ag_init(&g, (size_t)1 << 20);
    Rng rng;
    rng_seed(&rng, 7);
    /* a batch of B full rows of random tokens, every position in the loss */
    Batch b;
    batch_init(&b, B, T);
    int n = B * T;
    for (int i = 0; i < n; i++) {
        b.tokens[i] = (int)rng_below(&rng, (uint64_t)V);
        b.targets[i] = (int)rng_below(&rng, (uint64_t)V);
        b.weights[i] = 1.0f;
        b.digit_index[i] = 0;
        b.pos_task[i] = 0;
    }
    b.T = T;
    b.n_tokens = n;
    Stepper st;   /* the trainer's step: step_grad, then step_update */
    step_init(&st, &m, &opt, &g, &rng, &tc, B, T, NULL, NULL, 0);
    size_t np = 0;  /* true parameter count: p->n also counts the alignment padding */
    for (int i = 0; i < m.params.count; i++) np += m.params.tensors[i]->n;
    double flops_tok = 6.0 * (double)np + 12.0 * L * D * (double)T;
    double t_total = 0, t_grad = 0, t_opt = 0;
    uint64_t allocs = 0;
    float loss_v = 0, norm;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup) allocs = lg_alloc_count();
        double t0 = lg_seconds();
        loss_v = step_grad(&st, &b);
        double t1 = lg_seconds();
        step_update(&st, 1e-4f, 1, loss_v, &norm);
        double t2 = lg_seconds();
        if (s >= warmup) {
            t_total += t2 - t0;
            t_grad += t1 - t0;
            t_opt += t2 - t1;
        }
    }
    allocs = lg_alloc_count() - allocs;
    double ms = 1e3 * t_total / steps, tps = (double)n * steps / t_total;
    double gf = flops_tok * tps / 1e9;
    printf("lengen bench: L=%d H=%d D=%d T=%d B=%d V=%d, %zu params, %d threads, %d steps after %d warm-up\n",
           L, H, D, T, B, V, np, threads, steps, warmup);
    printf("  %.2f ms/step (forward+backward %.2f, clip+adamw %.2f), %.0f tokens/s, %.1f GFLOP/s,\n"
           "  peak RSS %ld MB, %llu heap allocations in the timed steps, last loss %.4f\n",
           ms, 1e3 * t_grad / steps, 1e3 * t_opt / steps, tps, gf, peak_rss_mb(), (unsigned long long)allocs, loss_v);
    printf("RESULT mode=train impl=lengen params=%zu ms=%.3f tok_s=%.0f gflops=%.2f rss_mb=%ld allocs=%llu\n",
           np, ms, tps, gf, peak_rss_mb(), (unsigned long long)allocs);
    step_free(&st);
    batch_free(&b);
    ag_free(&g);
    optim_free(&opt);
    model_free(&m);
    return 0;
}

/* argmax over a row of V logits */
static int argmax(const float *x, int V) {
    int best = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

static int bench_decode(int L, int H, int D, int B, int V, int len, int prompt) {
    ModelConfig mc;
    bench_model_config(&mc, L, H, D, len);
    Model m;
    LgErr err;
    if (model_init(&m, &mc, V, 1, &err)) {
        fprintf(stderr, "lengen bench: %s\n", err.msg);
        return 2;
    }
    Ag g;
    ag_init(&g, (size_t)1 << 20);
    ag_set_grad(&g, 0);
    Rng rng;
    rng_seed(&rng, 11);
    int *seq_kv = lg_malloc((size_t)B * len * sizeof(int), "bench decode kv");
    int *seq_full = lg_malloc((size_t)B * len * sizeof(int), "bench decode full");
    int *plen = lg_malloc((size_t)B * sizeof(int), "bench decode prompt lengths");
    int *next = lg_malloc((size_t)B * sizeof(int), "bench decode next");
    for (int b = 0; b < B; b++) {
        plen[b] = prompt;
        for (int t = 0; t < len; t++) seq_kv[(size_t)b * len + t] = (int)rng_below(&rng, (uint64_t)V);
    }
    memcpy(seq_full, seq_kv, (size_t)B * len * sizeof(int));

    /* KV cache: prefill the prompt, then one decode step per token */
    KVCache kv;
    if (model_kv_init(&kv, &m, B, len, &err)) {
        fprintf(stderr, "lengen bench: %s\n", err.msg);
        return 2;
    }
    int *prompts = lg_malloc((size_t)B * prompt * sizeof(int), "bench decode prompts");
    for (int b = 0; b < B; b++) memcpy(prompts + (size_t)b * prompt, seq_kv + (size_t)b * len, (size_t)prompt * sizeof(int));
    double t0 = lg_seconds();
    ag_reset(&g);
    Tensor *lg = model_prefill(&m, &g, &kv, prompts, plen, prompt, NULL);
    for (int t = prompt; t < len; t++) {
        for (int b = 0; b < B; b++) next[b] = seq_kv[(size_t)b * len + t] = argmax(lg->data + (size_t)b * V, V);
        if (t == len - 1) break;
        ag_reset(&g);
        lg = model_decode_step(&m, &g, &kv, next, NULL);
    }
    double t_kv = lg_seconds() - t0;

    /* full recompute: the whole prefix through model_forward for every new token */
    int *prefix = lg_malloc((size_t)B * len * sizeof(int), "bench decode prefix");
    {   /* untimed: grow the arena to the longest forward once, so the timed loop measures
         * compute, not page faults of an arena that would otherwise grow every step */
        ModelBatch in = {.tokens = seq_full, .B = B, .T = len - 1};
        ag_reset(&g);
        model_forward(&m, &g, &in, NULL);
        ag_reset(&g);
    }
    t0 = lg_seconds();
    for (int t = prompt; t < len; t++) {
        for (int b = 0; b < B; b++) memcpy(prefix + (size_t)b * t, seq_full + (size_t)b * len, (size_t)t * sizeof(int));
        ag_reset(&g);
        ModelBatch in = {.tokens = prefix, .B = B, .T = t};
        Tensor *logits = model_forward(&m, &g, &in, NULL);  // [B, t, V]
        for (int b = 0; b < B; b++)
            seq_full[(size_t)b * len + t] = argmax(logits->data + ((size_t)b * t + t - 1) * V, V);
    }
    double t_full = lg_seconds() - t0;
    int same = !memcmp(seq_kv, seq_full, (size_t)B * len * sizeof(int));
    printf("lengen bench --decode: L=%d H=%d D=%d V=%d, %d sequences, prompt %d, to length %d\n", L, H, D, V, B,
           prompt, len);
    printf("  KV cache %.3f s (%.0f tokens/s), full recompute %.3f s: %.1fx; same tokens: %s\n", t_kv,
           (double)B * (len - prompt) / t_kv, t_full, t_full / t_kv, same ? "yes" : "NO");
    printf("RESULT mode=decode kv_s=%.3f full_s=%.3f speedup=%.1f same=%d\n", t_kv, t_full, t_full / t_kv, same);
    model_kv_free(&kv);
    lg_free(prompts);
    lg_free(prefix);
    lg_free(seq_kv);
    lg_free(seq_full);
    lg_free(plen);
    lg_free(next);
    ag_free(&g);
    model_free(&m);
    return same ? 0 : 1;
}

int cmd_bench(int argc, char **argv) {
    long L = 2, H = 4, D = 64, T = 64, B = 64, V = 64, steps = 20, warmup = 3, threads = 0;
    long n = 4096, len = 200, prompt = 8;
    int sgemm = 0, decode = 0, batch_set = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            bench_usage(stdout);
            return 0;
        }
        if (!strcmp(opt, "--sgemm")) { sgemm = 1; continue; }
        if (!strcmp(opt, "--decode")) { decode = 1; continue; }
        struct { const char *name; long *dst, lo, hi; } o[] = {
            {"--layers", &L, 1, 64}, {"--heads", &H, 1, 64}, {"--d-model", &D, 1, 8192},
            {"--seq", &T, 1, 65536}, {"--batch", &B, 1, 65536}, {"--vocab", &V, 2, 1 << 20},
            {"--steps", &steps, 1, 100000}, {"--warmup", &warmup, 0, 1000}, {"--threads", &threads, 1, 1024},
            {"--n", &n, 16, 16384}, {"--len", &len, 2, 65536}, {"--prompt", &prompt, 1, 65536},
        };
        long *dst = NULL, lo = 0, hi = 0;
        for (size_t j = 0; j < sizeof o / sizeof o[0]; j++)
            if (!strcmp(opt, o[j].name)) { dst = o[j].dst; lo = o[j].lo; hi = o[j].hi; }
        if (!dst) {
            fprintf(stderr, "lengen bench: unknown option '%s'\n", opt);
            bench_usage(stderr);
            return 2;
        }
        const char *val = i + 1 < argc ? argv[++i] : NULL;
        if (cli_parse_long(val, lo, hi, dst)) {
            fprintf(stderr, "lengen bench: %s needs an integer in %ld..%ld, got '%s'\n", opt, lo, hi, val ? val : "");
            return 2;
        }
        if (dst == &B) batch_set = 1;
    }
    if (D % H) {
        fprintf(stderr, "lengen bench: --d-model %ld must be a multiple of --heads %ld\n", D, H);
        return 2;
    }
    if (decode && prompt >= len) {
        fprintf(stderr, "lengen bench: --prompt %ld must be shorter than --len %ld\n", prompt, len);
        return 2;
    }
    int nt = lg_set_threads((int)threads);
    if (sgemm) return bench_sgemm((int)n, nt);
    if (decode) return bench_decode((int)L, (int)H, (int)D, batch_set ? (int)B : 256, (int)V, (int)len, (int)prompt);
    return bench_train((int)L, (int)H, (int)D, (int)T, (int)B, (int)V, (int)steps, (int)warmup, nt);
}
