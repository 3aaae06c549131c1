/* teacher_forced_positions: a check (stop 14), not part of lengen. The answers of a checkpoint's
 * main task on its first N held-out prompts of one length, teacher-forced, at positions 0..T-1
 * (how lengen evaluates) or at a sorted random subset of [0, R) per example (how randomized-
 * position training draws them, and how Ruoss et al.'s code evaluates too). With greedy
 * decoding an answer is right exactly when every teacher-forced next-token argmax is, so
 * "teacher-forced exact" is the exact match greedy decoding would get at those positions.
 *
 * Built against lengen's objects (the command is in experiments/pe_ablation/RESULTS.md, "Randomized
 * positions on copy rsc"); run as
 *   OMP_NUM_THREADS=1 /tmp/tfp CKPT LENGTH N R MODE      (MODE 0: 0..T-1, 1: random; Rng seed 12345) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "experiment.h"
#include "data.h"
#include "model.h"
#include "rng.h"

int main(int argc, char **argv) {
    const char *path = argv[1];
    int length = atoi(argv[2]), n = atoi(argv[3]), R = atoi(argv[4]), mode = atoi(argv[5]);  /* mode 0: 0..T-1, 1: random */
    Experiment e;
    LgErr err;
    if (exp_load(&e, path, NULL, 0, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    Task *t = e.tasks[0];
    int cap = task_max_tokens(t, length);
    int *tok = calloc(cap, sizeof(int)), *dig = calloc(cap, sizeof(int));
    float *mask = calloc(cap, sizeof(float)), *pos = calloc(cap, sizeof(float));
    EvalSetIter it;
    eval_set_begin(&it, &e.cfg, t, 0, length);
    Rng r; rng_seed(&r, 12345);
    Ag g; ag_init(&g, (size_t)1 << 20); ag_set_grad(&g, 0);
    int right_all = 0; long tok_right = 0, tok_all = 0;
    for (int i = 0; i < n; i++) {
        TaskExample ex = {tok, mask, dig, cap, 0, 0, 0};
        if (eval_set_next(&it, &ex, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
        int T = ex.n_tokens;
        if (mode == 0) for (int j = 0; j < T; j++) pos[j] = (float)j;
        else {  /* selection sampling: T of [0, R), sorted */
            int need = T;
            for (int v = 0, j = 0; v < R && need > 0; v++)
                if (rng_uniform(&r) * (R - v) < need) { pos[j++] = (float)v; need--; }
        }
        ModelBatch in = {.tokens = tok, .B = 1, .T = T, .positions = pos, .digit_index = dig};
        ag_reset(&g);
        Tensor *lg = model_forward(&e.model, &g, &in, NULL);
        int V = lg->shape[2], ok = 1;
        for (int p = ex.prompt_len - 1; p < T - 1; p++) {
            const float *l = lg->data + (size_t)p * V;
            int best = 0;
            for (int v = 1; v < V; v++) if (l[v] > l[best]) best = v;
            int good = best == tok[p + 1];
            ok &= good; tok_right += good; tok_all++;
        }
        right_all += ok;
    }
    printf("length %d %s: teacher-forced exact %d/%d, token acc %.3f\n", length, mode ? "random positions" : "0..T-1",
           right_all, n, (double)tok_right / tok_all);
    return 0;
}
