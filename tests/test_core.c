/* Tests of the core: arena reuse, parameter block layout, rng determinism. */
#include <string.h>
#include <sys/stat.h>

#include "../src/autograd.h"
#include "../src/rng.h"
#include "../src/tensor.h"
#include "../src/util.h"
#include "files.h"
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

/* test_tmpdir's folders go, contents and all, when the runner cleans up after a test (which it
 * does after every test, passed or failed); kept (LENGEN_TEST_KEEP) they stay. */
TEST(test_tmpdir_folders_are_removed_after_the_test) {
    char dir[64], path[200];
    struct stat st;
    for (int keep = 0; keep < 2; keep++) {
        CHECK(test_tmpdir(dir, sizeof dir));
        CHECK(strstr(dir, "/lengen_test_") && stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "%s", dir);
        snprintf(path, sizeof path, "%s/sub", dir);
        CHECK(mkdir(path, 0700) == 0, "mkdir %s", path);
        snprintf(path, sizeof path, "%s/sub/file", dir);
        FILE *f = fopen(path, "w");
        CHECK(f && fputs("x", f) >= 0 && fclose(f) == 0, "cannot write %s", path);
        test_tmpdir_cleanup(keep);
        CHECK((stat(dir, &st) == 0) == keep, "%s %s after the cleanup", dir, keep ? "was removed" : "is still there");
    }
    /* the kept one is the harness's no more: remove it by hand */
    CHECK(remove(path) == 0);
    snprintf(path, sizeof path, "%s/sub", dir);
    CHECK(remove(path) == 0 && remove(dir) == 0);
}

/* test_read_file, the one whole-file reader of the tests: every byte (NULs too) and the count,
 * NUL-terminated; NULL for a file that is not there. */
TEST(test_read_file_reads_every_byte) {
    char dir[64], path[128];
    CHECK(test_tmpdir(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/f", dir);
    static const char bytes[] = "ab\0cd\nef";
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(bytes, 1, sizeof bytes - 1, f) == sizeof bytes - 1 && fclose(f) == 0, "cannot write %s", path);
    size_t n = 0;
    char *got = test_read_file(path, &n);
    CHECK(got && n == sizeof bytes - 1 && !memcmp(got, bytes, n) && got[n] == 0, "read %zu bytes", n);
    lg_free(got);
    snprintf(path, sizeof path, "%s/none", dir);
    CHECK(!test_read_file(path, &n), "a missing file read");
}
