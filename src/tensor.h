/* tensor: float32 row-major tensors up to 4-D, the activation arena, and the parameter block.
 *
 * A Tensor is a shape plus pointers: it owns nothing. Its data lives either in an Arena (an
 * activation of the current step, gone at arena_reset) or in a Params block (a parameter: one
 * named view into one contiguous float block; its grad is the same slice of the grad block).
 *
 * Arena: a bump allocator. It grows by chaining chunks while a step runs; arena_reset then
 * folds them into one chunk as large as the peak, so from the second step on a step of the
 * same shape allocates nothing from the heap.
 *
 * Params: declare every parameter (params_add), then params_finalize allocates data, grad and
 * sets each Tensor's pointers. Zeroing grads is one memset; optimizers and clipping loop over
 * the whole block; checkpoints write the named slices.
 */
#ifndef LENGEN_TENSOR_H
#define LENGEN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAXDIM 4

typedef struct Tensor {
    int ndim;
    int shape[TENSOR_MAXDIM];
    size_t n;             /* number of elements = product of shape */
    float *data;
    float *grad;          /* NULL until backward needs it (activations); params: slice of grad block */
    int requires_grad;    /* parameter, or result of an op with such an input while recording */
    const char *name;     /* parameter name (state-dict style), NULL for activations */
} Tensor;

/* ---- arena ---- */
typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
    ArenaChunk *head;     /* current chunk; older chunks chained behind it */
    size_t used;          /* bytes used since the last reset, over all chunks */
    size_t peak;          /* largest `used` seen */
    size_t capacity;      /* bytes held over all chunks */
} Arena;

void arena_init(Arena *a, size_t initial_bytes);
/* 64-byte aligned, uninitialised; never NULL. Valid until the next arena_reset. */
void *arena_alloc(Arena *a, size_t bytes);
void *arena_calloc(Arena *a, size_t bytes);  /* zeroed */
/* Forget everything allocated; if the step spilled into extra chunks, replace them with one
 * chunk of the peak size so the next step fits without touching the heap. */
void arena_reset(Arena *a);
/* On an empty (just reset) arena: makes sure the next step can use `bytes` without touching
 * the heap; when it holds less, replaces its memory with one chunk of bytes + bytes / 8. */
void arena_reserve(Arena *a, size_t bytes);
void arena_free(Arena *a);

/* ---- tensors ---- */
/* Shape helpers: dims are given as a count and an array; all dims must be >= 1. */
size_t tensor_numel(int ndim, const int *shape);
/* A new tensor in the arena with uninitialised data, grad NULL, requires_grad 0. */
Tensor *tensor_new(Arena *a, int ndim, const int *shape);
Tensor *tensor_new1(Arena *a, int d0);
Tensor *tensor_new2(Arena *a, int d0, int d1);
Tensor *tensor_new3(Arena *a, int d0, int d1, int d2);
Tensor *tensor_new4(Arena *a, int d0, int d1, int d2, int d3);
int tensor_same_shape(const Tensor *a, const Tensor *b);
/* "[2, 3, 4]" into buf; returns buf. */
const char *tensor_shape_str(const Tensor *t, char *buf, size_t len);

/* ---- parameters ---- */
typedef struct Params {
    int count;
    Tensor **tensors;     /* count views, in declaration order (= checkpoint order) */
    size_t *offsets;      /* element offset of each tensor in the block */
    size_t n;             /* total floats */
    float *data;          /* n floats, 64-byte aligned */
    float *grad;          /* n floats, same layout */
    int finalized;
} Params;

void params_init(Params *p);
/* Declares a parameter; name is copied. Returns the Tensor whose data/grad are set at finalize.
 * Dies if called after finalize or if the name is taken. */
Tensor *params_add(Params *p, const char *name, int ndim, const int *shape);
void params_finalize(Params *p);       /* allocates data and grad (zeroed) */
void params_zero_grad(Params *p);
Tensor *params_find(const Params *p, const char *name);   /* NULL if absent */
void params_free(Params *p);

#endif
