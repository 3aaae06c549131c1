/* Tests of the core: arena reuse, parameter block layout, rng determinism. */
#include <string.h>

#include "../src/autograd.h"
#include "../src/rng.h"
#include "../src/tensor.h"
#include "../src/util.h"
#include "test.h"

TEST(arena_folds_chunks_and_then_stops_allocating) {
    Arena a;
    arena_init(&a, 4096);
    for (int step = 0; step < 5; step++) {
        uint64_t before = lg_alloc_count();
        for (int i = 0; i < 100; i++) {
            float *p = arena_alloc(&a, 1000 * sizeof(float));
            CHECK(((uintptr_t)p & 63) == 0, "arena memory must be 64-byte aligned");
            p[999] = (float)i;
        }
        uint64_t made = lg_alloc_count() - before;
        if (step >= 1) CHECK(made == 0, "step %d made %llu heap allocations", step, (unsigned long long)made);
        else CHECK(made > 0, "the first step should have grown the arena");
        CHECK(a.used >= 100 * 4000, "used %zu", a.used);
        arena_reset(&a);
        CHECK(a.used == 0);
    }
    arena_free(&a);
}

TEST(params_block_is_contiguous_and_aligned) {
    Params p;
    params_init(&p);
    int s1[2] = {3, 5}, s2[1] = {7};
    Tensor *w = params_add(&p, "w", 2, s1);
    Tensor *b = params_add(&p, "b", 1, s2);
    params_finalize(&p);
    CHECK(w->data == p.data);
    CHECK(b->data >= w->data + 15 && b->data < p.data + p.n);
    CHECK(((uintptr_t)b->data & 63) == 0);
    CHECK(b->grad - p.grad == b->data - p.data, "grad block mirrors the data block");
    CHECK(params_find(&p, "b") == b && params_find(&p, "nope") == NULL);
    b->grad[3] = 1.0f;
    params_zero_grad(&p);
    CHECK(b->grad[3] == 0.0f);
    params_free(&p);
}

TEST(rng_is_deterministic_and_uniform) {
    Rng a, b;
    rng_seed(&a, 42);
    rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) CHECK(rng_u64(&a) == rng_u64(&b));
    int counts[10] = {0};
    double mean = 0, var = 0;
    for (int i = 0; i < 100000; i++) {
        counts[rng_below(&a, 10)]++;
        float x = rng_normal(&a);
        mean += x;
        var += x * x;
    }
    for (int i = 0; i < 10; i++) CHECK(counts[i] > 9500 && counts[i] < 10500, "bucket %d: %d", i, counts[i]);
    mean /= 100000;
    var = var / 100000 - mean * mean;
    CHECK(fabs(mean) < 0.02 && fabs(var - 1) < 0.03, "normal mean %g var %g", mean, var);
    Rng f1 = rng_fork(&a, 1), f2 = rng_fork(&a, 2);
    CHECK(rng_u64(&f1) != rng_u64(&f2), "forks with different labels must differ");
}
