/*
 * mem.c - the checker's own memory and its own lock.
 *
 * lockgraph runs inside a program it must not disturb, so it never calls
 * malloc (the program's allocator may be interposed, may take pthread locks
 * that lockgraph would then see, or may be the very thing that is broken)
 * and never takes a pthread mutex for its own tables. Memory comes from
 * mmap in size classes; locking is a three-state futex word.
 */
#include "rt.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void
futex_wait(atomic_int *word, int expected)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void
futex_wake_one(atomic_int *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- cancellation (rt.h says why) ------------------------------------ */

LG_TLS int lg_busy;
LG_TLS bool lg_cancel_saved;
static LG_TLS int cancel_state, cancel_type; /* the caller's, while lg_cancel_saved */
static LG_TLS unsigned held_depth; /* internal locks this thread holds */

void
lg_cancel_restore(void)
{
    if (!lg_cancel_saved || held_depth != 0)
        return;
    lg_cancel_saved = false;
    pthread_setcancelstate(cancel_state, NULL);
    /* Last: an asynchronous cancel that came meanwhile acts here, with no
     * internal lock held. */
    pthread_setcanceltype(cancel_type, NULL);
}

/* ---- lg_mutex: 0 free, 1 locked, 2 locked and somebody may sleep ----- */

/* Spins before a contended lock sleeps (each a pause, tens of ns). */
int lg_mutex_spin = 200;

void
lg_mutex_lock(lg_mutex *m)
{
    if (held_depth++ == 0 && !lg_cancel_saved) {
        /* The type too: glibc 2.36 acts on an asynchronous cancel whose
         * signal was sent while cancellation was still enabled even after
         * it is disabled (measured: 23 of 2000 threads died inside a
         * disabled region); it does check that the type is still
         * asynchronous. */
        pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &cancel_type);
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
        lg_cancel_saved = true;
    }
    int c = 0;
    if (atomic_compare_exchange_strong_explicit(&m->word, &c, 1, memory_order_acquire,
                                                memory_order_relaxed))
        return;
    /* Contended. lockgraph's critical sections last a few microseconds at
     * most, far less than a futex sleep and wake-up (two context switches,
     * measured at 40% of the time of two threads that add new lock orders
     * all the time): spin a little first, as glibc's adaptive mutexes do,
     * while nobody sleeps on the word. */
    for (int spin = 0; spin < lg_mutex_spin && c == 1; spin++) {
        __builtin_ia32_pause();
        c = atomic_load_explicit(&m->word, memory_order_relaxed);
        if (c == 0) {
            if (atomic_compare_exchange_weak_explicit(&m->word, &c, 1, memory_order_acquire,
                                                      memory_order_relaxed))
                return;
        }
    }
    /* Still held: announce a sleeper (2) and sleep until the word is free. */
    if (c != 2)
        c = atomic_exchange_explicit(&m->word, 2, memory_order_acquire);
    while (c != 0) {
        futex_wait(&m->word, 2);
        c = atomic_exchange_explicit(&m->word, 2, memory_order_acquire);
    }
}

void
lg_mutex_unlock(lg_mutex *m)
{
    if (atomic_exchange_explicit(&m->word, 0, memory_order_release) == 2)
        futex_wake_one(&m->word);
    if (--held_depth == 0 && !lg_busy)
        lg_cancel_restore();
}

void
lg_mutex_reset(lg_mutex *m)
{
    atomic_store_explicit(&m->word, 0, memory_order_relaxed);
}

/* ---- memory ------------------------------------------------------------ */

#define CLASS_MIN_SHIFT 4   /* 16 bytes */
#define CLASS_MAX_SHIFT 16  /* 64 KiB; larger blocks are mapped one by one */
#define NCLASSES (CLASS_MAX_SHIFT - CLASS_MIN_SHIFT + 1)
#define CHUNK LG_MEM_CHUNK /* one huge page */
/* A big lock-order graph is walked at random: past this many chunks, ask
 * for huge pages, which save a TLB miss on most steps (measured with
 * bench_graph at 1M locks). A small program keeps its small footprint. */
#define HUGE_AFTER_CHUNKS 4

struct free_block {
    struct free_block *next;
};

static lg_mutex mem_lock = LG_MUTEX_INIT;
static atomic_size_t mapped; /* bytes mapped now: chunks, and big blocks */
static struct free_block *free_list[NCLASSES];
static char *chunk_pos, *chunk_end;
static unsigned chunks;

static int
size_class(size_t size)
{
    int shift = CLASS_MIN_SHIFT;
    while (((size_t)1 << shift) < size)
        shift++;
    return shift - CLASS_MIN_SHIFT;
}

static void *
map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static size_t
page_round(size_t size)
{
    size_t page = 4096;
    return (size + page - 1) & ~(page - 1);
}

/* A CHUNK-aligned chunk (so that it can be one huge page). */
static char *
map_chunk(void)
{
    char *p = map(2 * (size_t)CHUNK);
    if (!p)
        return NULL;
    uintptr_t start = ((uintptr_t)p + CHUNK - 1) & ~((uintptr_t)CHUNK - 1);
    if (start > (uintptr_t)p)
        munmap(p, start - (uintptr_t)p);
    munmap((char *)start + CHUNK, (uintptr_t)p + 2 * (size_t)CHUNK - (start + CHUNK));
    atomic_fetch_add_explicit(&mapped, CHUNK, memory_order_relaxed);
    if (++chunks > HUGE_AFTER_CHUNKS)
        madvise((void *)start, CHUNK, MADV_HUGEPAGE);
    return (char *)start;
}

void *
lg_mem_alloc(size_t size)
{
    if (size == 0)
        size = 1;
    if (size > ((size_t)1 << CLASS_MAX_SHIFT)) {
        void *big = map(page_round(size)); /* fresh pages are zero; sparse tables stay small */
        if (big)
            atomic_fetch_add_explicit(&mapped, page_round(size), memory_order_relaxed);
        return big;
    }

    int c = size_class(size);
    size_t block = (size_t)1 << (c + CLASS_MIN_SHIFT);
    void *p = NULL;
    bool used = false; /* a block given back before: it needs clearing */
    lg_mutex_lock(&mem_lock);
    if (free_list[c]) {
        p = free_list[c];
        free_list[c] = free_list[c]->next;
        used = true;
    } else {
        if ((size_t)(chunk_end - chunk_pos) < block) {
            char *fresh = map_chunk();
            if (fresh) {
                chunk_pos = fresh;
                chunk_end = fresh + CHUNK;
            }
        }
        if ((size_t)(chunk_end - chunk_pos) >= block) {
            p = chunk_pos;
            chunk_pos += block;
        }
    }
    lg_mutex_unlock(&mem_lock);
    /* A chunk's fresh part is zero from mmap: clearing it would only touch
     * (and fault in) pages before their time. */
    if (p && used)
        memset(p, 0, block);
    return p;
}

void
lg_mem_free(void *p, size_t size)
{
    if (!p)
        return;
    if (size == 0)
        size = 1;
    if (size > ((size_t)1 << CLASS_MAX_SHIFT)) {
        munmap(p, page_round(size));
        atomic_fetch_sub_explicit(&mapped, page_round(size), memory_order_relaxed);
        return;
    }
    int c = size_class(size);
    struct free_block *b = p;
    lg_mutex_lock(&mem_lock);
    b->next = free_list[c];
    free_list[c] = b;
    lg_mutex_unlock(&mem_lock);
}

size_t
lg_mem_mapped(void)
{
    return atomic_load_explicit(&mapped, memory_order_relaxed);
}

static void *
alloc_cb(void *ctx, size_t size)
{
    (void)ctx;
    return lg_mem_alloc(size);
}

static void
free_cb(void *ctx, void *p, size_t size)
{
    (void)ctx;
    lg_mem_free(p, size);
}

const struct lg_alloc lg_mem = { alloc_cb, free_cb, NULL };

void
lg_mem_atfork_prepare(void)
{
    lg_mutex_lock(&mem_lock);
}

void
lg_mem_atfork_parent(void)
{
    lg_mutex_unlock(&mem_lock);
}

void
lg_mem_atfork_child(void)
{
    lg_mutex_reset(&mem_lock);
    /* The forking thread took every internal lock before fork(); in the
     * child they are reset, not unlocked. */
    held_depth = 0;
}
