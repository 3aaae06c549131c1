/* autograd: the tape. An Ag owns the step's arena and the list of recorded ops.
 *
 * Each op (src/ops) computes its output into the arena and, when recording is on and one of
 * its inputs requires grad, appends an AgNode: the inputs, the output, a backward function
 * and whatever the backward needs (saved in the arena). ag_backward(g, loss) seeds
 * dloss = 1 and walks the tape in reverse; each backward function ADDS into its inputs' grads
 * (ag_grad allocates a zeroed grad in the arena on first use; parameters already point into
 * the grad block). Nothing is freed per op: ag_reset ends the step.
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
    struct Ag *g;                      /* the owning context (for ag_grad) */
} AgNode;

typedef struct Ag {
    Arena arena;          /* activations, grads of activations, nodes; reset each step */
    AgNode *tail;         /* last recorded node */
    int n_nodes;
    int grad_on;          /* record ops? */
} Ag;

void ag_init(Ag *g, size_t arena_bytes);
void ag_free(Ag *g);
/* Ends a step: forgets the tape and every activation. */
void ag_reset(Ag *g);
/* Turns recording on or off; returns the previous setting. */
int ag_set_grad(Ag *g, int on);

/* True when an op on these inputs must be recorded (recording on and any input needs grad).
 * NULL inputs are ignored. */
int ag_needs_grad(const Ag *g, const Tensor *a, const Tensor *b, const Tensor *c);

/* Appends a node for `out` (marks out->requires_grad). `saved_bytes` of zeroed arena memory
 * are reserved at node->saved. Inputs may be NULL. Returns the node. */
AgNode *ag_record(Ag *g, const char *op, AgBackwardFn backward, Tensor *out,
                  Tensor *const *inputs, int nin, size_t saved_bytes);

/* The gradient buffer of t, allocating it zeroed in the arena on first use. Only call on a
 * tensor with requires_grad. */
float *ag_grad(Ag *g, Tensor *t);

/* Like ag_grad, for a backward that can write instead of add: when t has no gradient buffer
 * yet, allocates one UNINITIALISED and sets *fresh = 1, and the caller must then write every
 * element (=, not +=); otherwise returns the existing buffer with *fresh = 0 (add into it).
 * Saves zeroing a buffer that the first contribution overwrites anyway. */
float *ag_grad_fresh(Ag *g, Tensor *t, int *fresh);

/* Runs the tape backwards from a scalar (n == 1) loss, seeding dloss = 1. Parameter grads
 * ACCUMULATE into the grad block, so zero it (params_zero_grad) before each step unless
 * accumulating on purpose. */
void ag_backward(Ag *g, Tensor *loss);

#endif
