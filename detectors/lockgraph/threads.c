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
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

LG_TLS struct lg_thread *lg_tls_self;
/* The number pthread_create() gave the thread being started, for its
 * record: threads are numbered in the order they were created. */
static LG_TLS uint32_t promised_num;
static lg_mutex thread_lock = LG_MUTEX_INIT;
static struct lg_thread *all_threads;
static atomic_uint next_num = 1;
static atomic_uint alive_count;
static atomic_uint_fast64_t last_exit_ns;
static atomic_bool said_held_memory, said_thread_memory;
static pthread_key_t exit_key;
static bool have_exit_key;

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
        t->held[j].hid = 0; /* its set had the removed entry below it */
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

void
lg_chains_reset(struct lg_thread *t)
{
    if (t->nchains)
        memset(t->chains, 0, t->chain_cap * sizeof *t->chains);
    t->nchains = 0;
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

/* ---- thread order: the class of a lock-order cycle (rt.h) ------------ */

static atomic_uint sync_epoch = 1;

uint32_t
lg_epoch_now(void)
{
    return atomic_load_explicit(&sync_epoch, memory_order_relaxed);
}

uint32_t
lg_thread_creating(struct lg_thread *t)
{
    /* What t takes from now on may run beside the child: its chains must
     * reach the graph again, to move their labels' last epoch on. */
    lg_chains_reset(t);
    return atomic_fetch_add_explicit(&sync_epoch, 1, memory_order_relaxed) + 1;
}

struct handle_search {
    uintptr_t handle;
    struct lg_thread *found;
};

static void
find_handle(struct lg_thread *t, void *ctx)
{
    struct handle_search *s = ctx;
    /* Newest first: a pthread_t is reused only after its thread was joined. */
    if (!s->found && t->handle == s->handle && !t->joiner)
        s->found = t;
}

void
lg_thread_joined(struct lg_thread *t, uintptr_t handle, uintptr_t site)
{
    uint32_t epoch = atomic_fetch_add_explicit(&sync_epoch, 1, memory_order_relaxed) + 1;
    struct handle_search s = { handle, NULL };
    lg_threads_each(find_handle, &s);
    if (s.found && s.found != t) {
        s.found->join_epoch = epoch;
        s.found->join_site = site;
        s.found->joiner = t->num;
    }
}

static void
append_why(char *why, size_t len, const char *fmt, uint32_t x, uint32_t y)
{
    if (why && len)
        snprintf(why, len, fmt, x, y);
}

/*
 * Prove that every acquisition behind label a (thread X, epochs up to
 * a->epoch_last) happened before every one behind b (thread Y, from
 * b->epoch): either X created the line of threads Y descends from after
 * its last acquisition, or X was joined - by Y before its first one, or
 * by one of Y's ancestors before it created the next of Y's line. The
 * epochs come from one clock that every creation and join moves, read by
 * the thread that took the lock, so "before" on it is real order within
 * that thread. Anything else is taken to be able to overlap.
 */
bool
lg_labels_ordered(const struct lg_edge_label *a, const struct lg_edge_label *b, char *why,
                  size_t whylen)
{
    if (a->thread == b->thread)
        return false;
    struct lg_thread *x = lg_thread_by_num(a->thread), *y = lg_thread_by_num(b->thread);
    if (!x || !y)
        return false;
    if (x->joiner == y->num && x->join_epoch && b->epoch >= x->join_epoch) {
        append_why(why, whylen, "T%u joined T%u before taking its order", y->num, x->num);
        return true;
    }
    struct lg_thread *c = y;
    for (int hops = 0; c && c->creator && hops < 64; hops++) {
        struct lg_thread *p = lg_thread_by_num(c->creator);
        if (!p)
            break;
        if (p == x && a->epoch_last < c->create_epoch) {
            append_why(why, whylen, "T%u took its order before creating T%u", x->num, c->num);
            return true;
        }
        if (x->joiner == p->num && x->join_epoch && x->join_epoch < c->create_epoch) {
            append_why(why, whylen, "T%u was joined by T%u", x->num, p->num);
            if (why && whylen) {
                size_t used = strlen(why);
                snprintf(why + used, whylen - used, " before T%u created T%u", p->num, c->num);
            }
            return true;
        }
        c = p;
    }
    return false;
}

