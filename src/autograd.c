/* autograd: tape recording and the reverse walk. */
#include "autograd.h"

#include <stdint.h>
#include <string.h>

#include "util.h"

void ag_init(Ag *g, size_t arena_bytes) {
    memset(g, 0, sizeof *g);
    arena_init(&g->arena, arena_bytes);
    g->grad_on = 1;
}

void ag_free(Ag *g) {
    arena_free(&g->arena);
    memset(g, 0, sizeof *g);
}

void ag_reset(Ag *g) {
    arena_reset(&g->arena);
    g->tail = NULL;
    g->n_nodes = 0;
}

int ag_set_grad(Ag *g, int on) {
    int prev = g->grad_on;
    g->grad_on = on;
    return prev;
}

void ag_redirect_params(Ag *g, const float *block, size_t n, float *to) {
    g->param_grad = to ? block : NULL;
    g->param_n = to ? n : 0;
    g->param_to = to;
}

int ag_needs_grad(const Ag *g, const Tensor *a, const Tensor *b, const Tensor *c) {
    if (!g->grad_on) return 0;
    return (a && a->requires_grad) || (b && b->requires_grad) || (c && c->requires_grad);
}

AgNode *ag_record(Ag *g, const char *op, AgBackwardFn backward, Tensor *out,
                  Tensor *const *inputs, int nin, size_t saved_bytes) {
    LG_ASSERT(nin <= AG_MAX_INPUTS, "op %s has %d inputs, more than AG_MAX_INPUTS", op, nin);
    AgNode *n = arena_alloc(&g->arena, sizeof *n);
    memset(n, 0, sizeof *n);
    n->op = op;
    n->backward = backward;
    n->out = out;
    n->nin = nin;
    for (int i = 0; i < nin; i++) n->in[i] = inputs[i];
    n->saved = saved_bytes ? arena_calloc(&g->arena, saved_bytes) : NULL;
    n->g = g;
    n->prev = g->tail;
    g->tail = n;
    g->n_nodes++;
    out->requires_grad = 1;
    return n;
}

/* ---- gradient buffers ---------------------------------------------------------------------- */

/* The one place the buffer rule is checked: n's output gradient is complete and may be
 * reused only while ag_backward runs n's own backward. Returns input i (NULL when absent), or
 * NULL for i < 0. */
static Tensor *rule_check(AgNode *n, int i, const char *fn) {
    LG_ASSERT(n->g->running == n && n->out->grad,
              "%s on node '%s' outside its backward: gradient buffers are handed out only "
              "while ag_backward runs that node", fn, n->op);
    LG_ASSERT(i < n->nin, "%s: node '%s' has %d inputs, asked for input %d", fn, n->op, n->nin, i);
    return i >= 0 ? n->in[i] : NULL;
}

/* Where input t's gradient lives: its grad, or for a parameter under a redirect the same
 * offset of the redirect's buffer. */
static float *grad_of(const Ag *g, const Tensor *t) {
    uintptr_t a = (uintptr_t)t->grad, lo = (uintptr_t)g->param_grad;
    if (g->param_to && a >= lo && a < lo + g->param_n * sizeof(float))
        return g->param_to + (a - lo) / sizeof(float);
    return t->grad;
}

float *ag_dout(AgNode *n) {
    rule_check(n, -1, "ag_dout");
    return n->out->grad;
}

float *ag_din(AgNode *n, int i) {
    Tensor *t = rule_check(n, i, "ag_din");
    if (!t || !t->requires_grad) return NULL;
    if (!t->grad) t->grad = arena_calloc(&n->g->arena, t->n * sizeof(float));
    return grad_of(n->g, t);
}

float *ag_din_fresh(AgNode *n, int i, int *fresh) {
    Tensor *t = rule_check(n, i, "ag_din_fresh");
    *fresh = 0;
    if (!t || !t->requires_grad) return NULL;
    *fresh = !t->grad;
    if (!t->grad) t->grad = arena_alloc(&n->g->arena, t->n * sizeof(float));
    return grad_of(n->g, t);
}

int ag_din_take(AgNode *n, int i) {
    Tensor *t = rule_check(n, i, "ag_din_take");
    if (!t || !t->requires_grad || t->grad || t->n != n->out->n) return 0;
    t->grad = n->out->grad;
    return 1;
}

void ag_backward(Ag *g, Tensor *loss) {
    LG_ASSERT(loss->n == 1, "ag_backward needs a scalar loss, got %zu elements", loss->n);
    LG_ASSERT(loss->requires_grad,
              "the loss does not depend on any parameter: were ops recorded with grad off, "
              "or are the parameters not finalized?");
    if (!loss->grad) loss->grad = arena_calloc(&g->arena, sizeof(float));
    loss->grad[0] += 1.0f;
    for (AgNode *n = g->tail; n; n = n->prev) {
        if (!n->out->grad) continue;  /* nothing flowed into this node's output */
        g->running = n;
        n->backward(n);
        n->out->grad = NULL;  /* dead (an input that took the buffer keeps it) */
    }
    g->running = NULL;
}
