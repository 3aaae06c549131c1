/* Tests of the demo model: it learns its task, its steady-state step allocates nothing, it is
 * repeatable from its seed, and `lengen demo` rejects bad options with exit status 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/demo.h"
#include "../src/util.h"
#include "cli_run.h"
#include "test.h"

TEST(demo_steady_state_step_makes_no_heap_allocation) {
    DemoConfig c = demo_default_config();
    Demo d;
    demo_init(&d, &c);
    uint64_t before = lg_alloc_count();
    demo_train_step(&d);
    CHECK(lg_alloc_count() > before, "the first step should have grown the arena (else this test shows nothing)");
    demo_accuracy(&d, 1);
    before = lg_alloc_count();
    for (int s = 0; s < 5; s++) demo_train_step(&d);
    demo_accuracy(&d, 1);
    uint64_t made = lg_alloc_count() - before;
    CHECK(made == 0, "5 steady-state steps made %llu heap allocations", (unsigned long long)made);
    demo_free(&d);
}

/* Threshold: from chance (1/16) to >= 0.9 accuracy on held-out batches within 200 steps
 * (it reaches 1.0 by ~100 steps with the default seed). */
TEST(demo_loss_falls_and_the_task_is_learned) {
    DemoConfig c = demo_default_config();
    c.seed = 3;
    Demo d;
    demo_init(&d, &c);
    float acc0 = demo_accuracy(&d, 4);
    CHECK(acc0 < 0.25f, "an untrained model should be near chance (0.0625), got %.3f", acc0);
    float first = 0, last = 0;
    for (int s = 0; s < 200; s++) {
        float l = demo_train_step(&d);
        CHECK(isfinite(l), "loss at step %d is %g", s, l);
        if (s < 10) first += l / 10;
        if (s >= 190) last += l / 10;
    }
    float acc = demo_accuracy(&d, 8);
    CHECK(last < 0.5f * first && last < 0.3f, "loss went from %.4f to %.4f", first, last);
    CHECK(acc >= 0.9f, "accuracy %.3f after 200 steps, want >= 0.9", acc);
    demo_free(&d);
}

TEST(demo_is_repeatable_from_its_seed) {
    DemoConfig c = demo_default_config();
    c.seed = 11;
    Demo a, b;
    demo_init(&a, &c);
    demo_init(&b, &c);
    for (int s = 0; s < 5; s++) {
        float la = demo_train_step(&a), lb = demo_train_step(&b);
        CHECK(la == lb, "step %d: %.9g vs %.9g", s, la, lb);
    }
    CHECK(memcmp(a.p.data, b.p.data, a.p.n * sizeof(float)) == 0, "parameters differ after 5 steps");
    demo_free(&a);
    demo_free(&b);
}

TEST(demo_cli_runs_and_rejects_bad_options) {
    char out[4096];
    int rc = cli_run("demo --steps 20 --threads 1 --seed 2", out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "the engine alone") && strstr(out, "step     20") && strstr(out, "final accuracy"), "output: %s", out);
    const char *bad[] = {"--steps 0", "--steps 12x", "--threads -1", "--threads", "--seed -5", "--frobnicate"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "demo %s", bad[i]);
        rc = cli_run(args, out, sizeof out);
        CHECK(rc == 2, "'lengen demo %s' exited %d, want 2: %s", bad[i], rc, out);
        CHECK(strstr(out, "lengen demo:"), "'%s' must say what is wrong: %s", bad[i], out);
    }
}
