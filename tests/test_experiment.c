/* test_experiment: every ready config in configs/ (and experiments/) builds its experiment (tasks with their
 * options, vocabulary, model) and can evaluate every length it lists, so a config whose task
 * options are misspelt or whose sequences outgrow max_pos fails the suite, not a user's run. */
#include <glob.h>
#include <string.h>

#include "../src/experiment.h"
#include "test.h"

TEST(shipped_configs_build_their_experiment) {
    glob_t g;
    CHECK(glob("configs/*.ini", 0, NULL, &g) == 0 && g.gl_pathc >= 13, "expected the configs/*.ini files");
    size_t n_ready = g.gl_pathc;
    /* the experiments' configs too */
    CHECK(glob("experiments/*/*.ini", GLOB_APPEND, NULL, &g) == 0 && g.gl_pathc > n_ready,
          "expected experiments/*/*.ini files");
    for (size_t i = 0; i < g.gl_pathc && !test_failed(); i++) {
        const char *path = g.gl_pathv[i];
        Config c;
        LgErr err;
        cfg_defaults(&c);
        Experiment e;
        if (cfg_load_file(&c, path, &err) != 0 || exp_build(&e, &c, &err) != 0) {
            test_fail(__FILE__, __LINE__, "%s: %s", path, err.msg);
            break;
        }
        /* every task option in the file reached a task (task_create_many rejects the others) */
        EXPECT(e.n_tasks == c.task.n_tasks, "%s: %d tasks built, %d configured", path, e.n_tasks, c.task.n_tasks);
        int lo, hi;
        task_length_range(e.tasks[0], &lo, &hi);
        for (int k = 0; k < c.eval.n_lengths; k++) {
            int L = c.eval.lengths[k];
            if (!EXPECT(L >= lo && L <= hi, "%s: eval length %d is outside %s's lengths %d..%d", path, L,
                        task_name(e.tasks[0]), lo, hi))
                break;
            int need = task_max_tokens(e.tasks[0], L);
            if (!EXPECT(need <= c.model.max_pos, "%s: eval length %d needs %d positions, max_pos is %d", path,
                        L, need, c.model.max_pos))
                break;
        }
        exp_free(&e);
    }
    globfree(&g);
}

/* The test above must be able to fail: a misspelt task option is caught by exp_build. */
TEST(shipped_configs_check_catches_a_bad_task_option) {
    Config c;
    LgErr err;
    cfg_defaults(&c);
    CHECK(cfg_load_file(&c, "configs/addition_reversed.ini", &err) == 0, "%s", err.msg);
    CHECK(cfg_set(&c, "task.reversed=answer", &err) == 0, "%s", err.msg);
    Experiment e;
    CHECK(exp_build(&e, &c, &err) == -1, "a misspelt task option built");
    CHECK(strstr(err.msg, "reversed") && strstr(err.msg, "reverse"), "%s", err.msg);
}
