/*
 * threads.c - a record per thread: its held-lock stack, its cache of lock
 * chains already in the graph, and what it is blocked on.
 *
 * Everything on the per-acquire path lives here and is private to the
 * thread (no lock, no shared cache line): the held stack and the chain set.
 *
 * Memory is bounded by the threads alive at once. A thread on its way out
 * gives back its chain set and retires its record (2 KiB, with its held
 * stack) to a spare list, from which the next new thread takes it. Reports
 * name threads long after they exited (edge labels keep thread numbers),
 * so a retired thread that recorded a lock chain leaves 16 bytes in an
 * archive: its number, tid, creator and creation stack. The registry (the
 * list the liveness monitor and the deadlock search walk) holds only live
 * records; lookups by number answer with a snapshot (rt.h), so a recycled
 * record is never read as its former owner.
 */
#include "rt.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

LG_TLS struct lg_thread *lg_tls_self;
/* The number pthread_create() gave the thread being started, for its
 * record: threads are numbered in the order they were created. */
static LG_TLS uint32_t promised_num;
/* Set once this thread's record is retired: it is exiting, and is not
 * followed any more (lg_self() gives NULL). */
static LG_TLS bool retired;
static lg_mutex thread_lock = LG_MUTEX_INIT;
/* Under thread_lock: the registry (live records), the spare records, and
 * the archive of retired threads, in retirement order. */
static struct lg_thread *all_threads, *spare;
struct archived {
    uint32_t num, creator;
    pid_t tid;
    lg_stack_id created_at;
};
static struct archived *archive;
static size_t narchived, archive_cap;
static atomic_bool said_archive_memory;
static atomic_uint next_num = 1;
static atomic_uint alive_count, seen_count;
static atomic_uint_fast64_t last_exit_ns;
static atomic_bool said_held_memory, said_thread_memory;
static pthread_key_t exit_key;
static bool have_exit_key;

static void (*_Atomic at_next_wait)(void);

void
lg_threads_at_next_wait(void (*fn)(void))
{
    atomic_store_explicit(&at_next_wait, fn, memory_order_release);
}

void
lg_thread_wait_begins(const struct lg_thread *t)
{
    if (LG_LIKELY(atomic_load_explicit(&at_next_wait, memory_order_relaxed) == NULL)
        || t->nheld != 0)
        return;
    void (*fn)(void) = atomic_exchange_explicit(&at_next_wait, NULL, memory_order_acquire);
    if (fn)
        fn();
}

void
lg_threads_set_exit_key(unsigned key)
{
    exit_key = (pthread_key_t)key;
    have_exit_key = true;
}

#define CHAIN_MAX (1u << 20) /* entries per thread before the set starts over */

/* A record for a new thread: a spare one, or fresh memory. A spare keeps
 * its held stack's memory; everything else starts at zero. */
static struct lg_thread *
record_new(void)
{
    lg_mutex_lock(&thread_lock);
    struct lg_thread *t = spare;
    if (t)
        spare = t->next;
    lg_mutex_unlock(&thread_lock);
    if (!t)
        return lg_mem_alloc(sizeof *t);
    struct lg_held *held = t->held;
    uint32_t held_cap = t->held_cap;
    memset(t, 0, sizeof *t);
    t->held = held;
    t->held_cap = held_cap;
    return t;
}

struct lg_thread *
lg_self_slow(void)
{
    if (retired)
        return NULL;
    struct lg_thread *t = record_new();
    if (!t) {
        lg_warn_once(&said_thread_memory, "out of memory for thread records: some "
                     "threads are not checked");
        return NULL;
    }
    t->num = promised_num ? promised_num
                          : atomic_fetch_add_explicit(&next_num, 1, memory_order_relaxed);
    t->tid = (pid_t)syscall(SYS_gettid);
    t->handle = (uintptr_t)pthread_self();
    atomic_store_explicit(&t->alive, true, memory_order_relaxed);
    lg_mutex_lock(&thread_lock);
    t->next = all_threads;
    if (all_threads)
        all_threads->prev = t;
    all_threads = t;
    lg_mutex_unlock(&thread_lock);
    atomic_fetch_add_explicit(&alive_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&seen_count, 1, memory_order_relaxed);
    lg_tls_self = t;
    if (have_exit_key)
        pthread_setspecific(exit_key, t); /* its destructor runs at thread exit */
    return t;
}

bool
lg_held_grow(struct lg_thread *t)
{
    uint32_t cap = t->held_cap ? t->held_cap * 2 : 16;
    struct lg_held *grown = lg_grow(&lg_mem, t->held, t->held_cap * sizeof *grown,
                                    cap * sizeof *grown);
    if (!grown) {
        lg_warn_once(&said_held_memory, "out of memory for a held-lock stack: "
                     "locks held deeper than %u are not checked", t->held_cap);
        return false;
    }
    t->held = grown;
    t->held_cap = cap;
    return true;
}

void
lg_held_remove(struct lg_thread *t, uint32_t i)
{
    t->nheld--;
    /* Released out of order: the entries above move down and their chain
     * hashes, which cover everything below them, are recomputed. */
    for (uint32_t j = i; j < t->nheld; j++) {
        t->held[j] = t->held[j + 1];
        t->held[j].chain = lg_chain_hash(j ? t->held[j - 1].chain : 0, t->held[j].uid,
                                         (enum lg_mode)t->held[j].mode);
    }
}

static bool
chain_grow(struct lg_thread *t)
{
    uint32_t cap = t->chain_cap ? t->chain_cap * 2 : 256;
    if (cap > CHAIN_MAX) {
        /* Full: start over. It is a cache; the graph keeps the truth. */
        memset(t->chains, 0, t->chain_cap * sizeof *t->chains);
        t->nchains = 0;
        return true;
    }
    uint64_t *fresh = lg_mem_alloc(cap * sizeof *fresh);
    if (!fresh)
        return false;
    for (uint32_t i = 0; i < t->chain_cap; i++) {
        uint64_t c = t->chains[i];
        if (!c)
            continue;
        uint32_t j = (uint32_t)(c >> 32) & (cap - 1);
        while (fresh[j])
            j = (j + 1) & (cap - 1);
        fresh[j] = c;
    }
    lg_mem_free(t->chains, t->chain_cap * sizeof *t->chains);
    t->chains = fresh;
    t->chain_cap = cap;
    return true;
}

/* Insert a chain the fast probe did not find at its home slot; false if
 * it was already there (further along the probe sequence). */
bool
lg_chain_insert(struct lg_thread *t, uint64_t chain)
{
    if (t->chain_cap != 0) {
        for (uint32_t j = (uint32_t)(chain >> 32) & (t->chain_cap - 1);;
             j = (j + 1) & (t->chain_cap - 1)) {
            if (t->chains[j] == chain)
                return false;
            if (!t->chains[j])
                break;
        }
    }
    t->chained = true;
    if ((t->nchains + 1) * 2 > t->chain_cap && !chain_grow(t))
        return true; /* no memory: the slow path runs every time */
    uint32_t j = (uint32_t)(chain >> 32) & (t->chain_cap - 1);
    while (t->chains[j])
        j = (j + 1) & (t->chain_cap - 1);
    t->chains[j] = chain;
    t->nchains++;
    return true;
}

/* Under thread_lock: take t out of the registry, keep what reports need
 * of it, and make it a spare. Its spinlocks forget it as their owner (a
 * record serving another thread must not be taken for their holder). */
static void
retire(struct lg_thread *t)
{
    for (uint32_t i = 0; i < t->nheld; i++) {
        struct lg_lock *l = t->held[i].lock;
        struct lg_thread *self = t;
        if (t->held[i].spin)
            atomic_compare_exchange_strong_explicit(&l->owner, &self, NULL,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed);
    }
    if (t->prev)
        t->prev->next = t->next;
    else
        all_threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (t->chained) {
        if (narchived == archive_cap) {
            size_t cap = archive_cap ? archive_cap * 2 : 256;
            struct archived *grown = lg_grow(&lg_mem, archive, archive_cap * sizeof *grown,
                                             cap * sizeof *grown);
            if (grown) {
                archive = grown;
                archive_cap = cap;
            }
        }
        if (narchived < archive_cap)
            archive[narchived++] = (struct archived){ t->num, t->creator, t->tid, t->created_at };
        else
            lg_warn_once(&said_archive_memory, "out of memory for the records of exited "
                         "threads: reports may name them without their tid and creation "
                         "stack");
    }
    lg_mem_free(t->chains, t->chain_cap * sizeof *t->chains);
    t->chains = NULL;
    t->chain_cap = t->nchains = 0;
    t->nheld = 0;
    t->prev = NULL;
    t->next = spare;
    spare = t;
}

void
lg_thread_exiting(struct lg_thread *t)
{
    if (!atomic_load_explicit(&t->alive, memory_order_relaxed))
        return;
    uint64_t now = lg_now_ns(), was = atomic_load_explicit(&last_exit_ns, memory_order_relaxed);
    while (was < now && !atomic_compare_exchange_weak_explicit(&last_exit_ns, &was, now,
                                                               memory_order_relaxed,
                                                               memory_order_relaxed))
        ;
    atomic_store_explicit(&t->alive, false, memory_order_release);
    atomic_fetch_sub_explicit(&alive_count, 1, memory_order_relaxed);
    /* From here on the thread is not followed: the record may serve
     * another thread as soon as the lock below is released. */
    if (t == lg_tls_self) {
        lg_tls_self = NULL;
        retired = true;
    }
    lg_mutex_lock(&thread_lock);
    retire(t);
    lg_mutex_unlock(&thread_lock);
}

void
lg_threads_each(void (*fn)(struct lg_thread *t, void *ctx), void *ctx)
{
    lg_mutex_lock(&thread_lock);
    for (struct lg_thread *t = all_threads; t; t = t->next)
        fn(t, ctx);
    lg_mutex_unlock(&thread_lock);
}

/* Snapshots for lg_thread_by_num(), used in turn. */
#define GHOSTS 8
static struct lg_thread ghosts[GHOSTS];
static atomic_uint next_ghost;

struct lg_thread *
lg_thread_by_num(uint32_t num)
{
    struct lg_thread *g = &ghosts[atomic_fetch_add_explicit(&next_ghost, 1,
                                                            memory_order_relaxed) % GHOSTS];
    bool found = false;
    lg_mutex_lock(&thread_lock);
    for (struct lg_thread *t = all_threads; t && !found; t = t->next) {
        if (t->num != num)
            continue;
        found = true;
        /* What report_rt.c reads of a thread, copied while the record is
         * surely this thread's. */
        memset(g, 0, sizeof *g);
        g->num = t->num;
        g->tid = t->tid;
        g->handle = t->handle;
        g->creator = t->creator;
        g->created_at = t->created_at;
        atomic_store_explicit(&g->alive, atomic_load_explicit(&t->alive, memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&g->wait_stack, atomic_load_explicit(&t->wait_stack,
                                                                    memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&g->trying_stack, atomic_load_explicit(&t->trying_stack,
                                                                      memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&g->wait_site, atomic_load_explicit(&t->wait_site,
                                                                   memory_order_relaxed),
                              memory_order_relaxed);
    }
    for (size_t i = narchived; i-- > 0 && !found;) {
        if (archive[i].num != num)
            continue;
        found = true;
        memset(g, 0, sizeof *g);
        g->num = archive[i].num;
        g->tid = archive[i].tid;
        g->creator = archive[i].creator;
        g->created_at = archive[i].created_at;
    }
    lg_mutex_unlock(&thread_lock);
    return found ? g : NULL;
}

uint32_t
lg_thread_number_next(void)
{
    return atomic_fetch_add_explicit(&next_num, 1, memory_order_relaxed);
}

void
lg_thread_number_promise(uint32_t num)
{
    promised_num = num;
}

struct lg_thread *
lg_thread_by_tid(long tid)
{
    struct lg_thread *found = NULL;
    if (tid <= 0)
        return NULL;
    lg_mutex_lock(&thread_lock);
    for (struct lg_thread *t = all_threads; t && !found; t = t->next)
        if (t->tid == tid && atomic_load_explicit(&t->alive, memory_order_relaxed))
            found = t;
    lg_mutex_unlock(&thread_lock);
    return found;
}

uint64_t
lg_threads_last_exit_ns(void)
{
    return atomic_load_explicit(&last_exit_ns, memory_order_relaxed);
}

uint32_t
lg_threads_alive(void)
{
    return atomic_load_explicit(&alive_count, memory_order_relaxed);
}

uint32_t
lg_threads_seen(void)
{
    return atomic_load_explicit(&seen_count, memory_order_relaxed);
}

void
lg_threads_atfork_prepare(void)
{
    lg_mutex_lock(&thread_lock);
}

void
lg_threads_atfork_parent(void)
{
    lg_mutex_unlock(&thread_lock);
}

void
lg_threads_atfork_child(void)
{
    lg_mutex_reset(&thread_lock);
    /* Only the forking thread lives on in the child: the others' records
     * are retired (as if each had exited). */
    unsigned alive = 0;
    for (struct lg_thread *t = all_threads, *next; t; t = next) {
        next = t->next;
        if (t == lg_tls_self) {
            t->tid = (pid_t)syscall(SYS_gettid);
            alive++;
        } else {
            atomic_store_explicit(&t->alive, false, memory_order_relaxed);
            retire(t);
        }
    }
    atomic_store_explicit(&alive_count, alive, memory_order_relaxed);
}
