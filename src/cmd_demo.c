/* cmd_demo: `lengen demo [--steps N] [--seed S] [--threads N]`: trains the toy model of demo.h
 * and prints the loss falling and the final accuracy. Bad options exit 2 with a message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "demo.h"
#include "util.h"

static void demo_usage(FILE *f) {
    fprintf(f,
            "usage: lengen demo [--steps N] [--seed S] [--threads N]\n"
            "  Trains a one-layer attention model on a toy task (output the token 3 positions back)\n"
            "  with the engine's ops and prints the loss and accuracy.\n"
            "  --steps N    training steps, 1..1000000 (default 300)\n"
            "  --seed S     random seed, a non-negative integer (default 1)\n"
            "  --threads N  threads for OpenMP and OpenBLAS, 1..1024 (default: LENGEN_THREADS or all cores)\n");
}

/* Parses a whole decimal integer in [lo, hi]; 0 on success. */
static int parse_long(const char *s, long long lo, long long hi, long long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cmd_demo(int argc, char **argv) {
    long long steps = 300, seed = 1, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            demo_usage(stdout);
            return 0;
        }
        long long *dst = !strcmp(opt, "--steps") ? &steps : !strcmp(opt, "--seed") ? &seed
                         : !strcmp(opt, "--threads") ? &threads : NULL;
        if (!dst) {
            fprintf(stderr, "lengen demo: unknown option '%s'\n", opt);
            demo_usage(stderr);
            return 2;
        }
        long long lo = dst == &seed ? 0 : 1, hi = dst == &steps ? 1000000 : dst == &threads ? 1024 : (1LL << 62);
        const char *val = i + 1 < argc ? argv[++i] : NULL;
        if (parse_long(val, lo, hi, dst)) {
            fprintf(stderr, "lengen demo: %s needs an integer in %lld..%lld, got '%s'\n", opt, lo, hi, val ? val : "");
            return 2;
        }
    }
    int nthreads = lg_set_threads((int)threads);
    DemoConfig c = demo_default_config();
    c.seed = (uint64_t)seed;
    printf("lengen demo: the engine alone, without the model or tasks (lengen train is the real thing): a one-layer attention model\n"
           "learns to output the token %d positions back (vocab %d, length %d, chance %.3f); "
           "inline Adam, %d thread%s.\n",
           c.lag, c.vocab, c.seq, 1.0 / c.vocab, nthreads, nthreads == 1 ? "" : "s");
    Demo d;
    demo_init(&d, &c);
    double t0 = lg_seconds(), avg = 0;
    int every = steps >= 10 ? (int)(steps / 10) : 1, in_avg = 0;
    for (long long s = 1; s <= steps; s++) {
        avg += demo_train_step(&d);
        in_avg++;
        if (s % every == 0 || s == steps) {
            printf("step %6lld  loss %.4f\n", s, avg / in_avg);
            fflush(stdout);
            avg = 0;
            in_avg = 0;
        }
    }
    double dt = lg_seconds() - t0;
    float acc = demo_accuracy(&d, 16);
    printf("final accuracy %.3f on %d held-out positions; %.2f s, %.1f ms/step\n", acc,
           16 * c.batch * (c.seq - c.lag), dt, 1e3 * dt / (double)steps);
    demo_free(&d);
    return 0;
}
