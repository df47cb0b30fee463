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

/* Records by number (numbers are dense, from 1) and live records by their
 * pthread_t (open addressing; a pthread_t is reused only after a join),
 * under thread_lock: reports, thread order and joins find a record in O(1)
 * however many threads the program ever had. */
static struct lg_thread **by_num;
static uint32_t by_num_cap;
static struct handle_slot {
    uintptr_t handle;
    struct lg_thread *t;
} *by_handle;
static uint32_t by_handle_cap, by_handle_n;
static atomic_bool said_index_memory;

static uint32_t
handle_home(uintptr_t h, uint32_t cap)
{
    return (uint32_t)(((uint64_t)h * 0x9E3779B97F4A7C15ull) >> 40) & (cap - 1);
}

static void
handle_put(struct handle_slot *tab, uint32_t cap, uintptr_t h, struct lg_thread *t)
{
    uint32_t i = handle_home(h, cap);
    while (tab[i].handle && tab[i].handle != h)
        i = (i + 1) & (cap - 1);
    tab[i].handle = h;
    tab[i].t = t;
}

/* Index t by number and by handle (thread_lock held). */
static void
index_thread(struct lg_thread *t)
{
    if (t->num >= by_num_cap) {
        uint32_t cap = by_num_cap ? by_num_cap : 1024;
        while (cap <= t->num)
            cap *= 2;
        struct lg_thread **grown = lg_grow(&lg_mem, by_num, by_num_cap * sizeof *by_num,
                                           cap * sizeof *by_num);
        if (grown) {
            by_num = grown;
            by_num_cap = cap;
        }
    }
    if (t->num < by_num_cap)
        by_num[t->num] = t;
    if ((by_handle_n + 1) * 2 > by_handle_cap) {
        uint32_t cap = by_handle_cap ? by_handle_cap * 2 : 256;
        struct handle_slot *fresh = lg_mem_alloc(cap * sizeof *fresh);
        if (fresh) {
            for (uint32_t i = 0; i < by_handle_cap; i++)
                if (by_handle[i].handle)
                    handle_put(fresh, cap, by_handle[i].handle, by_handle[i].t);
            lg_mem_free(by_handle, by_handle_cap * sizeof *by_handle);
            by_handle = fresh;
            by_handle_cap = cap;
        }
    }
    if ((by_handle_n + 1) * 2 <= by_handle_cap) {
        handle_put(by_handle, by_handle_cap, t->handle, t);
        by_handle_n++;
    } else {
        lg_warn_once(&said_index_memory, "out of memory for the thread index: joins are "
                     "not used to order lock-order cycles");
    }
}

/* Take the record of the thread whose pthread_t is h out of the handle
 * index (it was joined: h may be reused). Backward-shift deletion. */
static struct lg_thread *
unindex_handle(uintptr_t h)
{
    if (!by_handle_cap)
        return NULL;
    uint32_t mask = by_handle_cap - 1, i = handle_home(h, by_handle_cap);
    while (by_handle[i].handle && by_handle[i].handle != h)
        i = (i + 1) & mask;
    if (!by_handle[i].handle)
        return NULL;
    struct lg_thread *t = by_handle[i].t;
    for (uint32_t j = i;;) {
        j = (j + 1) & mask;
        if (!by_handle[j].handle)
            break;
        uint32_t k = handle_home(by_handle[j].handle, by_handle_cap);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        by_handle[i] = by_handle[j];
        i = j;
    }
    by_handle[i].handle = 0;
    by_handle[i].t = NULL;
    by_handle_n--;
    return t;
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
    index_thread(t);
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
    lg_mutex_lock(&thread_lock);
    struct lg_thread *found = num < by_num_cap ? by_num[num] : NULL;
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

void
lg_thread_link_child(struct lg_thread *t)
{
    lg_mutex_lock(&thread_lock);
    struct lg_thread *p = t->creator < by_num_cap ? by_num[t->creator] : NULL;
    if (p && p != t) {
        t->next_sibling = p->first_child;
        p->first_child = t;
    }
    lg_mutex_unlock(&thread_lock);
}

void
lg_thread_joined(struct lg_thread *t, uintptr_t handle, uintptr_t site)
{
    uint32_t epoch = atomic_fetch_add_explicit(&sync_epoch, 1, memory_order_relaxed) + 1;
    lg_mutex_lock(&thread_lock);
    struct lg_thread *joined = unindex_handle(handle);
    if (joined && joined != t) {
        joined->join_epoch = epoch;
        joined->join_site = site;
        joined->joiner = t->num;
    }
    lg_mutex_unlock(&thread_lock);
}

/*
 * Prove that every acquisition behind label a (thread X, epochs up to
 * a->epoch_last) happened before every one behind b (thread Y, from
 * b->epoch), by thread creation and join alone. The epoch is one clock that
 * every creation and join moves; a thread reads it at each of its
 * acquisitions, so within one thread "before" on it is program order. The
 * proof is a walk over happens-before: from "X after its last acquisition",
 * a thread it creates later is after it (all of it), and the thread that
 * joins it is after it from the join on; and so on. Y reached at an epoch
 * no later than its first acquisition means b came after a. The walk keeps
 * the earliest epoch each thread is reached at, under thread_lock (which
 * also guards the children lists and join records it reads).
 */
struct hb_walk {
    struct lg_thread **queue;
    uint32_t n, cap;
    struct lg_thread *target;
    uint32_t target_epoch;
    uint32_t stamp;
    bool found, failed;
};

/* `to` is after the source from epoch `reach` on (reached from `from`). */
static void
hb_visit(struct hb_walk *w, struct lg_thread *from, struct lg_thread *to, uint32_t reach,
         bool by_join)
{
    if (!to || (to->hb_stamp == w->stamp && to->hb_reach <= reach))
        return;
    to->hb_stamp = w->stamp;
    to->hb_reach = reach;
    to->hb_parent = from;
    to->hb_by_join = by_join;
    if (to == w->target && reach <= w->target_epoch) {
        w->found = true;
        return;
    }
    if (w->n == w->cap) {
        struct lg_thread **grown = lg_grow(&lg_mem, w->queue, w->cap * sizeof *w->queue,
                                           2 * w->cap * sizeof *w->queue);
        if (!grown) {
            w->failed = true;
            return;
        }
        w->queue = grown;
        w->cap *= 2;
    }
    w->queue[w->n++] = to;
}

bool
lg_labels_ordered(const struct lg_edge_label *a, const struct lg_edge_label *b, char *why,
                  size_t whylen)
{
    static uint32_t stamp;
    if (why && whylen)
        why[0] = 0;
    if (a->thread == b->thread)
        return false;
    lg_mutex_lock(&thread_lock);
    struct lg_thread *x = a->thread < by_num_cap ? by_num[a->thread] : NULL;
    struct hb_walk w = {
        .target = b->thread < by_num_cap ? by_num[b->thread] : NULL,
        .target_epoch = b->epoch,
        .cap = 64,
    };
    if (x && w.target)
        w.queue = lg_mem_alloc(w.cap * sizeof *w.queue);
    if (!w.queue) {
        lg_mutex_unlock(&thread_lock);
        return false;
    }
    if (++stamp == 0) {
        for (struct lg_thread *t = all_threads; t; t = t->next)
            t->hb_stamp = 0;
        stamp = 1;
    }
    w.stamp = stamp;
    x->hb_stamp = stamp;
    x->hb_reach = a->epoch_last + 1;
    x->hb_parent = NULL;
    w.queue[w.n++] = x;
    for (uint32_t qi = 0; qi < w.n && !w.found && !w.failed; qi++) {
        struct lg_thread *t = w.queue[qi];
        /* After t from hb_reach on: the threads it created then, and (from
         * its join on) the thread that joined it. */
        for (struct lg_thread *c = t->first_child; c && !w.found && !w.failed; c = c->next_sibling)
            if (c->create_epoch >= t->hb_reach)
                hb_visit(&w, t, c, 0, false);
        if (!w.found && !w.failed && t->joiner && t->joiner < by_num_cap)
            hb_visit(&w, t, by_num[t->joiner], t->join_epoch, true);
    }
    if (w.found && why && whylen) {
        /* The chain from X to Y, told forwards: "T2 created T4, then T4 was
         * joined by T1". */
        struct lg_thread *chain[16];
        uint32_t k = 0;
        for (struct lg_thread *t = w.target; t && k < 16; t = t->hb_parent)
            chain[k++] = t;
        size_t used = 0;
        for (uint32_t i = k - 1; i > 0 && used + 1 < whylen; i--) {
            const struct lg_thread *from = chain[i], *to = chain[i - 1];
            int n = to->hb_by_join
                        ? snprintf(why + used, whylen - used, "%sT%u was joined by T%u",
                                   used ? ", then " : "", from->num, to->num)
                        : snprintf(why + used, whylen - used, "%sT%u created T%u",
                                   used ? ", then " : "", from->num, to->num);
            if (n < 0)
                break;
            used += (size_t)n;
        }
    }
    lg_mem_free(w.queue, w.cap * sizeof *w.queue);
    lg_mutex_unlock(&thread_lock);
    return w.found;
}

