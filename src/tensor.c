/* tensor: arena allocator, tensor constructors, the contiguous parameter block. */
#include "tensor.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

struct ArenaChunk {
    ArenaChunk *prev;
    size_t size, used;
    char *mem;            /* 64-byte aligned */
};

static ArenaChunk *chunk_new(size_t size, ArenaChunk *prev) {
    ArenaChunk *c = lg_malloc(sizeof *c, "arena chunk header");
    c->prev = prev;
    c->size = size;
    c->used = 0;
    c->mem = lg_aligned_alloc(size, "arena chunk");
    return c;
}

void arena_init(Arena *a, size_t initial_bytes) {
    if (initial_bytes < 4096) initial_bytes = 4096;
    a->head = chunk_new(initial_bytes, NULL);
    a->used = 0;
    a->peak = 0;
    a->capacity = initial_bytes;
}

void *arena_alloc(Arena *a, size_t bytes) {
    size_t need = (bytes + 63) & ~(size_t)63;
    if (need == 0) need = 64;
    ArenaChunk *c = a->head;
    if (c->used + need > c->size) {
        size_t size = c->size * 2;
        if (size < need) size = need;
        c = chunk_new(size, c);
        a->head = c;
        a->capacity += size;
    }
    void *p = c->mem + c->used;
    c->used += need;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return p;
}

void *arena_calloc(Arena *a, size_t bytes) {
    void *p = arena_alloc(a, bytes);
    memset(p, 0, bytes);
    return p;
}

static void chunks_free(ArenaChunk *c) {
    while (c) {
        ArenaChunk *prev = c->prev;
        lg_free(c->mem);
        lg_free(c);
        c = prev;
    }
}

void arena_reset(Arena *a) {
    if (a->head->prev) {
        /* the step spilled: fold all chunks into one that holds the peak */
        size_t size = a->peak + a->peak / 8;
        chunks_free(a->head);
        a->head = chunk_new(size, NULL);
        a->capacity = size;
    }
    a->head->used = 0;
    a->used = 0;
}

void arena_reserve(Arena *a, size_t bytes) {
    LG_ASSERT(a->used == 0, "arena_reserve on an arena in use (%zu bytes)", a->used);
    if (!a->head->prev && a->head->size >= bytes) return;
    size_t size = bytes + bytes / 8;
    if (size < a->head->size) size = a->head->size;
    chunks_free(a->head);
    a->head = chunk_new(size, NULL);
    a->capacity = size;
}

void arena_free(Arena *a) {
    chunks_free(a->head);
    memset(a, 0, sizeof *a);
}

size_t tensor_numel(int ndim, const int *shape) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    return n;
}

Tensor *tensor_new(Arena *a, int ndim, const int *shape) {
    LG_ASSERT(ndim >= 1 && ndim <= TENSOR_MAXDIM, "tensor rank %d outside 1..%d", ndim, TENSOR_MAXDIM);
    Tensor *t = arena_alloc(a, sizeof *t);
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        LG_ASSERT(shape[i] >= 1, "tensor dim %d is %d; every dim must be >= 1", i, shape[i]);
        t->shape[i] = shape[i];
    }
    t->n = tensor_numel(ndim, shape);
    t->data = arena_alloc(a, t->n * sizeof(float));
    return t;
}

Tensor *tensor_new1(Arena *a, int d0) { int s[1] = {d0}; return tensor_new(a, 1, s); }
Tensor *tensor_new2(Arena *a, int d0, int d1) { int s[2] = {d0, d1}; return tensor_new(a, 2, s); }
Tensor *tensor_new3(Arena *a, int d0, int d1, int d2) { int s[3] = {d0, d1, d2}; return tensor_new(a, 3, s); }
Tensor *tensor_new4(Arena *a, int d0, int d1, int d2, int d3) {
    int s[4] = {d0, d1, d2, d3};
    return tensor_new(a, 4, s);
}

int tensor_same_shape(const Tensor *a, const Tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

const char *tensor_shape_str(const Tensor *t, char *buf, size_t len) {
    size_t k = 0;
    k += (size_t)snprintf(buf + k, len - k, "[");
    for (int i = 0; i < t->ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, i ? ", %d" : "%d", t->shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
    return buf;
}

void params_init(Params *p) { memset(p, 0, sizeof *p); }

Tensor *params_add(Params *p, const char *name, int ndim, const int *shape) {
    LG_ASSERT(!p->finalized, "parameter '%s' declared after params_finalize", name);
    LG_ASSERT(ndim >= 1 && ndim <= TENSOR_MAXDIM, "parameter '%s' has rank %d", name, ndim);
    LG_ASSERT(params_find(p, name) == NULL, "parameter '%s' declared twice", name);
    Tensor *t = lg_calloc(1, sizeof *t, "parameter tensor");
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        LG_ASSERT(shape[i] >= 1, "parameter '%s' dim %d is %d", name, i, shape[i]);
        t->shape[i] = shape[i];
    }
    t->n = tensor_numel(ndim, shape);
    t->requires_grad = 1;
    t->name = lg_strdup(name);
    p->tensors = lg_realloc(p->tensors, (size_t)(p->count + 1) * sizeof *p->tensors, "params table");
    p->offsets = lg_realloc(p->offsets, (size_t)(p->count + 1) * sizeof *p->offsets, "params table");
    p->tensors[p->count] = t;
    /* keep each tensor 16-float (64-byte) aligned inside the block */
    p->offsets[p->count] = p->n;
    p->n += (t->n + 15) & ~(size_t)15;
    p->count++;
    return t;
}

void params_finalize(Params *p) {
    LG_ASSERT(!p->finalized, "params_finalize called twice");
    size_t bytes = (p->n ? p->n : 1) * sizeof(float);
    p->data = lg_aligned_alloc(bytes, "parameter block");
    p->grad = lg_aligned_alloc(bytes, "gradient block");
    memset(p->data, 0, bytes);
    memset(p->grad, 0, bytes);
    for (int i = 0; i < p->count; i++) {
        p->tensors[i]->data = p->data + p->offsets[i];
        p->tensors[i]->grad = p->grad + p->offsets[i];
    }
    p->finalized = 1;
}

void params_zero_grad(Params *p) {
    if (p->grad) memset(p->grad, 0, p->n * sizeof(float));
}

Tensor *params_find(const Params *p, const char *name) {
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->tensors[i]->name, name) == 0) return p->tensors[i];
    return NULL;
}

void params_free(Params *p) {
    for (int i = 0; i < p->count; i++) {
        lg_free((void *)p->tensors[i]->name);
        lg_free(p->tensors[i]);
    }
    lg_free(p->tensors);
    lg_free(p->offsets);
    lg_free(p->data);
    lg_free(p->grad);
    memset(p, 0, sizeof *p);
}
