/* step: one optimizer step of training, the one path that `lengen train`, `lengen bench` and
 * the tests run.
 *
 *   step_grad (once per micro-batch): model_forward -> masked op_cross_entropy -> ag_backward;
 *       parameter gradients add up across calls. Logits are computed at the loss positions
 *       only (ModelBatch rows: the last block after its attention, the final norm and the head
 *       skip the positions of weight 0, which contribute nothing to the loss or gradient)
 *   step_update: gradients / n_micro -> global-norm clip -> finite check -> optimizer step at
 *       lr -> gradients zeroed
 *
 * Length split (train.length_split = S > 1): step_grad orders the batch's rows by length and
 * runs them as S parts of about B / S rows, each padded only to its own longest row, with loss
 * weights scaled by the part's share of the batch's loss positions (batch_split_by_length): the
 * parts' losses add up to the batch's loss, so the gradient is the unsplit batch's up to float
 * rounding, and the padding of short rows to the batch's longest is not computed. Batches that
 * do not split (S = 1, or every row one length) are cut into STEP_GROUPS strided row slices
 * (batch_take_rows), which add up the same way.
 *
 * Groups and threads: the parts are dealt to STEP_GROUPS = 2 groups by padded tokens, largest
 * part first to the lighter group (a rule on the batch alone). Group 0 adds its parts'
 * gradients into the grad block as before; group 1 into a second block of the same layout
 * (its tape redirected there, ag_redirect_params), which is then added into the grad block and
 * cleared. Each part draws its dropout and random positions from its own stream, forked from
 * the step's Rng by the part's index. With run.threads >= 2 the two groups run at once, one
 * thread each (a lane: its own Ag, every op and sgemm inside it on that one thread); with one
 * thread, one after the other on the caller's Ag. The arithmetic is the same either way, so a
 * step's result does not depend on the thread count: threads = 1 and 2 train bit for bit
 * alike (tested). Threads beyond 2 do not speed up the step (evaluation still uses them).
 *
 * A Stepper borrows the model, optimizer, autograd context and Rng; it owns the split parts,
 * the second lane's Ag and group 1's gradient block. step_grad and step_update make no heap
 * allocation once the arenas have grown to the step's size.
 */
#ifndef LENGEN_STEP_H
#define LENGEN_STEP_H

#include "autograd.h"
#include "config.h"
#include "data.h"
#include "model.h"
#include "optim.h"
#include "rng.h"

#define STEP_MAX_SPLIT 16
#define STEP_GROUPS 2      /* groups of parts, each summed on its own; = the lanes at threads >= 2 */

typedef struct Stepper {
    Model *m;
    Optim *opt;
    Ag *g;
    Rng *rng;                  /* dropout, random positions: model_forward's training draws */
    const TrainConfig *tr;     /* grad_clip, length_split */
    int split;                 /* length-split parts per batch (1 = no length split) */
    Batch parts[STEP_MAX_SPLIT];
    int *scratch;              /* batch_split_by_length's */
    double *task_nll;          /* optional [n_tasks] sums of nll over loss positions... */
    long *task_count;          /* ...and their counts, by Batch pos_task; owned by the caller */
    int n_tasks;
    /* this call's parts: their group, Rng stream and loss */
    int n_parts;
    int group[STEP_MAX_SPLIT];
    Rng part_rng[STEP_MAX_SPLIT];
    double part_loss[STEP_MAX_SPLIT];
    /* group 1: its lane's Ag (threads >= 2), gradient block (zero between calls), task sums */
    Ag lane;
    float *grad1;
    double *nll1;
    long *count1;
} Stepper;

/* Sets s up for batches of up to B rows of cap_T positions. task_nll/task_count ([n_tasks])
 * may be NULL. */
void step_init(Stepper *s, Model *m, Optim *opt, Ag *g, Rng *rng, const TrainConfig *tr, int B, int cap_T,
               double *task_nll, long *task_count, int n_tasks);
void step_free(Stepper *s);

/* Forward and backward of batch b, adding to the parameter gradients. Returns b's loss (the
 * weighted mean nll over its loss positions): the parts' losses added in part order. Advances
 * the Rng by one draw. The arenas are reset before and after. */
float step_grad(Stepper *s, const Batch *b);

/* Ends the step after n_micro step_grad calls whose losses averaged `loss`: scales the
 * gradients by 1 / n_micro, clips them (tr->grad_clip), and unless the loss or the norm is
 * not finite applies the optimizer at lr and zeroes the gradients. Returns 1 if it updated, 0
 * if not (non-finite: the caller stops; the weights are untouched). *norm_out: the norm
 * before clipping. */
int step_update(Stepper *s, float lr, int n_micro, float loss, float *norm_out);

#endif
