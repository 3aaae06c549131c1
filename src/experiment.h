/* experiment: everything one run is made of, built from a Config or loaded from a checkpoint:
 * the tasks (main + hints) over one shared vocabulary, and the model.
 *
 * train, eval, sample and probe all start here, so "which tasks, which vocab, which model" is
 * decided in one place. The vocabulary is rebuilt from the task list (it is deterministic) and,
 * when loading, checked against the one stored in the checkpoint.
 */
#ifndef LENGEN_EXPERIMENT_H
#define LENGEN_EXPERIMENT_H

#include "checkpoint.h"
#include "config.h"
#include "model.h"
#include "tasks/task.h"

typedef struct Experiment {
    Config cfg;
    Vocab vocab;
    int n_tasks;                    /* tasks[0] is the main task, then the hints */
    Task *tasks[CFG_MAX_TASKS];
    Model model;
    int has_model;
} Experiment;

/* Builds tasks and vocab from a validated cfg, checks the lengths (exp_check_lengths) and the
 * longest training sequence against the model's positions, and initialises a fresh model from
 * the run seed. Returns 0, or -1 with err; on error e holds nothing to free. */
int exp_build(Experiment *e, const Config *cfg, LgErr *err);

/* The lengths a run asks for are ones its tasks generate: [train] min_length..max_length for
 * the main task (hint_max_length, when set, for the hints) and every [eval] length for the main
 * task. A task never clamps them quietly: anything else is an error naming the key, the value,
 * the task's range and what to set. Returns 0 or -1 with err. */
int exp_check_lengths(const Experiment *e, LgErr *err);

/* Opens a checkpoint (a .h5 file, or a run folder: its ckpt.h5), reads its config, applies
 * `overrides` ("section.key=value", may be NULL when n_overrides is 0), builds the experiment
 * and loads the weights (without exp_check_lengths: a run made before that check still loads
 * and resumes; its training lengths stay clamped to the task's). The vocab rebuilt from the tasks must equal the stored one. If f is
 * not NULL the file is left open in *f for reading more arrays (close with ckpt_close).
 * Returns 0 or -1 with err. */
int exp_load(Experiment *e, const char *path, const char *const *overrides, int n_overrides,
             CkptFile *f, LgErr *err);

/* The vocab as an array of strings (pointers into e->vocab), for ckpt_save. Caller frees the
 * array (not the strings) with lg_free. */
const char **exp_vocab_strings(const Experiment *e);

/* Task index by name, or -1. */
int exp_task_index(const Experiment *e, const char *name);

void exp_free(Experiment *e);

#endif
