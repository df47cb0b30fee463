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
/* Blocks up to 1 MiB come from chunks, larger ones are mapped one by one.
 * The tables that grow with the number of locks held or chains used (a
 * thread's held stack, its chain set, the graph's hash indexes) pass 64
 * KiB early, and in a mapping of their own every 4 KiB page they touch is
 * a page fault: on the 2-core VM about 10 us each, most of the time of a
 * thread that takes 10,000 locks nested (bench_held). */
#define CLASS_MAX_SHIFT 20
#define NCLASSES (CLASS_MAX_SHIFT - CLASS_MIN_SHIFT + 1)
#define CHUNK LG_MEM_CHUNK /* one huge page */
/* Chunks past this many ask for huge pages (MADV_HUGEPAGE; it does nothing
 * where transparent huge pages are off): one fault per 2 MiB, not 512 of
 * them, and a TLB miss saved on most steps of a big graph's walks
 * (bench_graph at 1M locks). Every chunk does: the first one is where a
 * program that takes many locks at once spends its first 2 MiB. Measured
 * at git ce3997d, bench_held's 10,000 held, median of 9 runs on an idle
 * 2-core VM (native 1.2 ms): 21.9 ms with huge pages from the fifth chunk
 * and blocks up to 64 KiB from chunks, 9.2 ms from the second chunk with
 * blocks up to 1 MiB, 6.8 ms from the first. The cost: where huge pages
 * are on, a process under lockgraph is resident in 2 MiB more (/bin/true:
 * 3.7 MiB, against 1.7). */
#define HUGE_AFTER_CHUNKS 0

/*
 * Blocks of BUDDY_SHIFT bits or more are buddies: each lies at a multiple
 * of its size inside its chunk, and a freed one merges with its buddy (the
 * block it was split from or could be merged into) whenever that one is
 * free too. Without that, a table that grows by doubling leaves every
 * smaller size it went through on a free list nothing asks from again
 * (lockgraph's label blocks: about half of a run's memory, all of it
 * zeroed by the kernel on first touch). Smaller blocks keep plain free
 * lists: they are many, and rarely outgrown.
 */
#define BUDDY_SHIFT 10
#define BUDDY_CLASS (BUDDY_SHIFT - CLASS_MIN_SHIFT)
#define GRANULES (CHUNK >> BUDDY_SHIFT)

struct free_block {
    struct free_block *next;
};

/* A free buddy. `clean`: all zero but this header (never handed out since
 * mmap), so that handing it out clears only the header. */
struct buddy_block {
    struct buddy_block *next, *prev;
    uint8_t cls;
    bool clean;
};

/* The first granule of each chunk: which granules begin a free buddy (so
 * that a free buddy is told from live data that happens to look like a
 * header). */
struct chunk_head {
    uint64_t free_start[GRANULES / 64];
};
_Static_assert(sizeof(struct chunk_head) <= ((size_t)1 << BUDDY_SHIFT), "chunk head too big");

static lg_mutex mem_lock = LG_MUTEX_INIT;
static atomic_size_t mapped; /* bytes mapped now: chunks, and big blocks */
static struct free_block *free_list[NCLASSES];  /* classes below BUDDY_CLASS */
static struct buddy_block *buddy_list[NCLASSES]; /* BUDDY_CLASS and up */
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

static size_t
mem_class_size(int c)
{
    return (size_t)1 << (c + CLASS_MIN_SHIFT);
}

static struct chunk_head *
mem_chunk_of(const void *p)
{
    return (struct chunk_head *)((uintptr_t)p & ~((uintptr_t)CHUNK - 1));
}

static bool
mem_free_start(const void *p)
{
    size_t g = ((uintptr_t)p & (CHUNK - 1)) >> BUDDY_SHIFT;
    return mem_chunk_of(p)->free_start[g / 64] >> (g % 64) & 1;
}

static void
mem_set_free_start(const void *p, bool on)
{
    size_t g = ((uintptr_t)p & (CHUNK - 1)) >> BUDDY_SHIFT;
    uint64_t bit = (uint64_t)1 << (g % 64), *w = &mem_chunk_of(p)->free_start[g / 64];
    *w = on ? *w | bit : *w & ~bit;
}

static void
mem_buddy_push(void *p, int c, bool clean)
{
    struct buddy_block *b = p;
    b->next = buddy_list[c];
    b->prev = NULL;
    b->cls = (uint8_t)c;
    b->clean = clean;
    if (b->next)
        b->next->prev = b;
    buddy_list[c] = b;
    mem_set_free_start(b, true);
}

static void
mem_buddy_unlink(struct buddy_block *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        buddy_list[b->cls] = b->next;
    if (b->next)
        b->next->prev = b->prev;
    mem_set_free_start(b, false);
}

/* Give back a buddy of class c, merged with its free buddies upwards. */
static void
mem_buddy_free(char *p, int c, bool clean)
{
    for (; c < NCLASSES - 1; c++) {
        char *q = (char *)((uintptr_t)p ^ mem_class_size(c));
        struct buddy_block *b = (struct buddy_block *)(void *)q;
        if (!mem_free_start(q) || b->cls != c)
            break;
        mem_buddy_unlink(b);
        clean = clean && b->clean;
        if (q < p)
            p = q; /* q's header is the merged block's: rewritten below */
        else if (clean)
            memset(q, 0, sizeof *b); /* inside a clean block now */
    }
    mem_buddy_push(p, c, clean);
}

/* Fresh (zero) memory [lo, hi) onto the free lists, in the largest aligned
 * pieces it holds. */
static void
mem_give_range(char *lo, char *hi)
{
    while (lo < hi) {
        uintptr_t off = (uintptr_t)lo & (CHUNK - 1);
        int shift = CLASS_MAX_SHIFT;
        while (shift > CLASS_MIN_SHIFT
               && ((off & (((uintptr_t)1 << shift) - 1)) || (size_t)(hi - lo) < ((size_t)1 << shift)))
            shift--;
        int c = shift - CLASS_MIN_SHIFT;
        if (c >= BUDDY_CLASS) {
            mem_buddy_free(lo, c, true);
        } else {
            struct free_block *f = (struct free_block *)(void *)lo;
            f->next = free_list[c];
            free_list[c] = f;
        }
        lo += (size_t)1 << shift;
    }
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

/* size bytes (a multiple of the page) at a multiple of CHUNK, so that
 * every whole CHUNK of it can be one huge page; NULL if out of memory. */
static char *
map_aligned(size_t size)
{
    char *p = map(size + CHUNK);
    if (!p)
        return NULL;
    uintptr_t start = ((uintptr_t)p + CHUNK - 1) & ~((uintptr_t)CHUNK - 1);
    if (start > (uintptr_t)p)
        munmap(p, start - (uintptr_t)p);
    uintptr_t end = (uintptr_t)p + size + CHUNK;
    if (end > start + size)
        munmap((char *)start + size, end - (start + size));
    return (char *)start;
}

/* A CHUNK-aligned chunk (so that it can be one huge page). */
static char *
map_chunk(void)
{
    char *start = map_aligned(CHUNK);
    if (!start)
        return NULL;
    atomic_fetch_add_explicit(&mapped, CHUNK, memory_order_relaxed);
    if (++chunks > HUGE_AFTER_CHUNKS)
        madvise(start, CHUNK, MADV_HUGEPAGE);
    return start;
}

/* A never-used block from the current chunk (a buddy at a multiple of its
 * size; what is skipped to get there goes onto the free lists), or NULL. */
static void *
mem_bump(size_t block)
{
    for (;;) {
        if (chunk_pos) {
            char *at = chunk_pos;
            if (block >= ((size_t)1 << BUDDY_SHIFT))
                at = (char *)(((uintptr_t)at + block - 1) & ~((uintptr_t)block - 1));
            if (at <= chunk_end && (size_t)(chunk_end - at) >= block) {
                mem_give_range(chunk_pos, at);
                chunk_pos = at + block;
                return at;
            }
            mem_give_range(chunk_pos, chunk_end);
            chunk_pos = chunk_end = NULL;
        }
        char *fresh = map_chunk();
        if (!fresh)
            return NULL;
        chunk_pos = fresh + ((size_t)1 << BUDDY_SHIFT); /* after the chunk's head */
        chunk_end = fresh + CHUNK;
    }
}

void *
lg_mem_alloc(size_t size)
{
    if (size == 0)
        size = 1;
    if (size > ((size_t)1 << CLASS_MAX_SHIFT)) {
        /* Fresh pages are zero. The blocks this big are hash tables (a
         * thread's chain set, the graph's indexes), which touch every page
         * they have: huge pages from the start, like the chunks. */
        char *big = map_aligned(page_round(size));
        if (big) {
            madvise(big, page_round(size) & ~(CHUNK - 1), MADV_HUGEPAGE);
            atomic_fetch_add_explicit(&mapped, page_round(size), memory_order_relaxed);
        }
        return big;
    }

    int c = size_class(size);
    size_t block = mem_class_size(c), clear = 0;
    void *p = NULL;
    lg_mutex_lock(&mem_lock);
    if (c < BUDDY_CLASS && free_list[c]) {
        p = free_list[c];
        free_list[c] = free_list[c]->next;
        clear = block; /* given back before: it needs clearing */
    } else if (c >= BUDDY_CLASS) {
        int k = c;
        while (k < NCLASSES && !buddy_list[k])
            k++;
        if (k < NCLASSES) {
            struct buddy_block *b = buddy_list[k];
            bool clean = b->clean;
            mem_buddy_unlink(b);
            while (k > c) { /* split: the upper halves stay free */
                k--;
                mem_buddy_push((char *)b + mem_class_size(k), k, clean);
            }
            p = b;
            clear = clean ? sizeof *b : block;
        }
    }
    if (!p)
        p = mem_bump(block);
    lg_mutex_unlock(&mem_lock);
    /* A chunk's fresh part is zero from mmap: clearing it would only touch
     * (and fault in) pages before their time. */
    if (p && clear)
        memset(p, 0, clear);
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
    lg_mutex_lock(&mem_lock);
    if (c >= BUDDY_CLASS) {
        mem_buddy_free(p, c, false);
    } else {
        struct free_block *b = p;
        b->next = free_list[c];
        free_list[c] = b;
    }
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
