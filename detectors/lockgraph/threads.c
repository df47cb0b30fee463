/*
 * threads.c - a record per thread: its held-lock stack, its cache of lock
 * chains already in the graph, and what it is blocked on.
 *
 * Everything on the per-acquire path lives here and is private to the
 * thread (no lock, no shared cache line): the held stack and the chain set.
 * Records are never freed, because reports name threads long after they
 * exited; a dead thread gives back its chain set.
 */
#include "rt.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

LG_TLS struct lg_thread *lg_tls_self;
/* The number pthread_create() gave the thread being started, for its
 * record: threads are numbered in the order they were created. */
static LG_TLS uint32_t promised_num;
static lg_mutex thread_lock = LG_MUTEX_INIT;
static struct lg_thread *all_threads;
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

struct lg_thread *
lg_self_slow(void)
{
    struct lg_thread *t = lg_mem_alloc(sizeof *t);
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
    if ((t->nchains + 1) * 2 > t->chain_cap && !chain_grow(t))
        return true; /* no memory: the slow path runs every time */
    uint32_t j = (uint32_t)(chain >> 32) & (t->chain_cap - 1);
    while (t->chains[j])
        j = (j + 1) & (t->chain_cap - 1);
    t->chains[j] = chain;
    t->nchains++;
    return true;
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
    lg_mem_free(t->chains, t->chain_cap * sizeof *t->chains);
    t->chains = NULL;
    t->chain_cap = t->nchains = 0;
}

void
lg_threads_each(void (*fn)(struct lg_thread *t, void *ctx), void *ctx)
{
    lg_mutex_lock(&thread_lock);
    for (struct lg_thread *t = all_threads; t; t = t->next)
        fn(t, ctx);
    lg_mutex_unlock(&thread_lock);
}

struct lg_thread *
lg_thread_by_num(uint32_t num)
{
    struct lg_thread *found = NULL;
    lg_mutex_lock(&thread_lock);
    for (struct lg_thread *t = all_threads; t && !found; t = t->next)
        if (t->num == num)
            found = t;
    lg_mutex_unlock(&thread_lock);
    return found;
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
    /* Only the forking thread lives on in the child. */
    unsigned alive = 0;
    for (struct lg_thread *t = all_threads; t; t = t->next) {
        if (t == lg_tls_self) {
            t->tid = (pid_t)syscall(SYS_gettid);
            alive++;
        } else if (atomic_load_explicit(&t->alive, memory_order_relaxed)) {
            atomic_store_explicit(&t->alive, false, memory_order_relaxed);
            atomic_store_explicit(&t->waiting_for, NULL, memory_order_relaxed);
            atomic_store_explicit(&t->wait_kind, LG_WAIT_NONE, memory_order_relaxed);
        }
    }
    atomic_store_explicit(&alive_count, alive, memory_order_relaxed);
}
