/* train: the training loop of `lengen train`.
 *
 *   batch (data) -> model_forward -> op_cross_entropy -> ag_backward   (x grad_accum)
 *   -> clip -> optim_step at the scheduled lr -> log train.csv -> every eval_every steps an
 *   eval sweep (eval.csv, best.h5) -> every ckpt_every steps ckpt.h5
 *
 * A new run lives in <out_dir>/<name>/ (rundir.h): config.ini (resolved), train.csv, eval.csv,
 * ckpt.h5, best.h5, lock. A resumed run lives where it is: `--resume DIR` reads and writes DIR
 * only; `--resume FILE.h5` continues in FILE's folder, and refuses a checkpoint older than that
 * folder's ckpt.h5 (or train.csv) unless `fork` names a new folder to continue it in (config,
 * CSV rows up to its step, best.h5 copied there). The folder's lock (rundir_lock) is taken
 * before anything in it is written and held until the run ends, so a second trainer on it is
 * refused. Checkpoints hold the model, the optimizer state, the step, the data stream's and the
 * model's Rng states and the best score, so `--resume` continues bit-identically (same thread
 * count); an evaluation due at the checkpoint's step that left no eval.csv rows (interrupted)
 * is redone first. SIGINT/SIGTERM finish the current step, write ckpt.h5 and return 128 + signal
 * (also when they cut the final evaluation short). A
 * non-finite loss or gradient norm stops the run (exit 1) without writing over the last good
 * checkpoint.
 */
#ifndef LENGEN_TRAIN_H
#define LENGEN_TRAIN_H

#include "config.h"

typedef struct TrainOptions {
    const char *resume;       /* run folder or checkpoint to continue, or NULL */
    const char *fork;         /* with resume: a new run folder to continue it in, or NULL */
    const char *const *overrides;  /* --set assignments applied on resume */
    int n_overrides;
    int force;                /* start over in an existing run folder */
    long stop_at;             /* > 0: behave as if interrupted after this step (tests) */
    int quiet;                /* no progress output (tests) */
} TrainOptions;

/* Trains cfg (validated by the caller; ignored on resume, where the checkpoint's config plus
 * overrides is used). Returns the process exit status: 0 done, 2 bad input (a config, task
 * option or checkpoint the experiment cannot be built from), 1 other failure (message printed),
 * 128 + signal when interrupted (checkpoint written). */
int train_run(const Config *cfg, const TrainOptions *opt);

#endif
