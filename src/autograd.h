/* autograd: the tape. An Ag owns the step's arena and the list of recorded ops.
 *
 * Each op (src/ops) computes its output into the arena and, when recording is on and one of
 * its inputs requires grad, appends an AgNode: the inputs, the output, a backward function
 * and whatever the backward needs (saved in the arena). ag_backward(g, loss) seeds
 * dloss = 1 and walks the tape in reverse. Nothing is freed per op: ag_reset ends the step.
 *
 * Gradient buffers belong to autograd; a backward function gets them only through ag_dout and
 * ag_din* below, and only while ag_backward runs that node (asserted). The rule they rest on:
 *   When a node's backward runs, its output's gradient is complete (every op that read the
 *   output was recorded later, so its backward has already run) and, once the backward
 *   returns, dead: nothing reads it again (ag_backward then forgets it).
 * Hence a backward may
 *   - overwrite dout (ag_dout) as scratch;
 *   - hand dout's buffer to an input that has no gradient yet (ag_din_take): the input's
 *     gradient then IS dout, transformed in place if need be;
 *   - write (=) rather than add into an input gradient that does not exist yet (ag_din_fresh
 *     says when), instead of zeroing it first;
 * and otherwise ADDS into its inputs' gradients (ag_din): a tensor read by two ops receives
 * two contributions, and parameter gradients (views into the grad block) accumulate across
 * ag_backward calls until params_zero_grad (or, under ag_redirect_params, in the redirect's
 * block of the same layout: how step_grad's second thread keeps its own).
 *
 * No-grad mode (ag_set_grad(g, 0)) records nothing: evaluation and decoding.
 */
#ifndef LENGEN_AUTOGRAD_H
#define LENGEN_AUTOGRAD_H

#include "tensor.h"

#define AG_MAX_INPUTS 6

struct AgNode;
typedef void (*AgBackwardFn)(struct AgNode *node);

typedef struct AgNode {
    struct AgNode *prev;               /* previous node on the tape */
    const char *op;                    /* op name, for messages and the tape dump */
    AgBackwardFn backward;
    Tensor *out;
    Tensor *in[AG_MAX_INPUTS];         /* NULL for absent optional inputs */
    int nin;
    void *saved;                       /* op-specific context, allocated in the arena */
    struct Ag *g;                      /* the owning context */
} AgNode;

typedef struct Ag {
    Arena arena;          /* activations, grads of activations, nodes; reset each step */
    AgNode *tail;         /* last recorded node */
    int n_nodes;
    int grad_on;          /* record ops? */
    AgNode *running;      /* the node whose backward ag_backward is running, or NULL */
    /* parameter-gradient redirect (ag_redirect_params): a tensor whose grad lies in
     * [param_grad, param_grad + param_n) gets its gradient at the same offset of param_to */
    const float *param_grad;
    size_t param_n;
    float *param_to;
} Ag;

void ag_init(Ag *g, size_t arena_bytes);
void ag_free(Ag *g);
/* Ends a step: forgets the tape and every activation. */
void ag_reset(Ag *g);
/* Turns recording on or off; returns the previous setting. */
int ag_set_grad(Ag *g, int on);

/* Sends the parameter gradients of g's backward passes to `to` instead of the grad block:
 * ag_din / ag_din_fresh of a tensor whose grad is a slice of block [n] (Params.grad) return the
 * same slice of to [n] (the same layout). So a tape run on its own thread (a lane of step_grad)
 * adds its parameter gradients into its own buffer. to = NULL turns the redirect off. */
void ag_redirect_params(Ag *g, const float *block, size_t n, float *to);

/* True when an op on these inputs must be recorded (recording on and any input needs grad).
 * NULL inputs are ignored. */
int ag_needs_grad(const Ag *g, const Tensor *a, const Tensor *b, const Tensor *c);

/* Appends a node for `out` (marks out->requires_grad). `saved_bytes` of zeroed arena memory
 * are reserved at node->saved. Inputs may be NULL. Returns the node. */
AgNode *ag_record(Ag *g, const char *op, AgBackwardFn backward, Tensor *out,
                  Tensor *const *inputs, int nin, size_t saved_bytes);

/* ---- gradient buffers, for backward functions (the rule is at the top of this file) ---- */

/* The gradient of n's output: complete, and dead once n's backward returns, so the backward
 * may overwrite it. */
float *ag_dout(AgNode *n);
/* The gradient of input i to ADD into, allocated zeroed in the arena on first use; NULL when
 * input i is absent or does not require grad. */
float *ag_din(AgNode *n, int i);
/* Like ag_din for a backward that writes the whole gradient of input i: when the input has no
 * gradient yet, returns a new UNINITIALISED buffer and sets *fresh = 1 (write every element,
 * =); otherwise the existing buffer with *fresh = 0 (add into it). */
float *ag_din_fresh(AgNode *n, int i, int *fresh);
/* Hands n's output gradient buffer to input i when that input requires grad, has no gradient
 * yet and as many elements as the output: input i's gradient is then dout itself (transform
 * it in place if d input != d output). Returns 1 when taken, 0 otherwise (use ag_din). */
int ag_din_take(AgNode *n, int i);

/* Runs the tape backwards from a scalar (n == 1) loss, seeding dloss = 1. Parameter grads
 * ACCUMULATE into the grad block, so zero it (params_zero_grad) before each step unless
 * accumulating on purpose. */
void ag_backward(Ag *g, Tensor *loss);

#endif
