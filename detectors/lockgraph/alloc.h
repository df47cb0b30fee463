/*
 * alloc.h - the allocator lockgraph's modules are given.
 *
 * The graph, the report writers and the option parser never call malloc:
 * the runtime hands them an allocator backed by mmap (so the checker never
 * re-enters the observed program's malloc, nor the locks inside it), and the
 * unit tests hand them one that counts and checks every allocation.
 */
#ifndef LG_ALLOC_H
#define LG_ALLOC_H

#include <stddef.h>
#include <string.h>

struct lg_alloc {
    /* Zero-filled memory of `size` bytes, or NULL when exhausted. */
    void *(*alloc)(void *ctx, size_t size);
    /* Give back memory from alloc(); `size` is what was asked for. */
    void (*free)(void *ctx, void *p, size_t size);
    void *ctx;
};

static inline void *
lg_alloc(const struct lg_alloc *a, size_t size)
{
    return a->alloc(a->ctx, size);
}

static inline void
lg_free(const struct lg_alloc *a, void *p, size_t size)
{
    if (p)
        a->free(a->ctx, p, size);
}

/* Grow a block from old_size to new_size bytes (new_size >= old_size),
 * keeping its contents; NULL (and the old block untouched) on failure. */
static inline void *
lg_grow(const struct lg_alloc *a, void *p, size_t old_size, size_t new_size)
{
    void *q = lg_alloc(a, new_size);
    if (q && p) {
        memcpy(q, p, old_size);
        lg_free(a, p, old_size);
    }
    return q;
}

#endif /* LG_ALLOC_H */
