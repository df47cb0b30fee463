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
 *
 * Thread order (the class of a lock-order cycle) needs, for every thread
 * ever created, who created it and when, and who joined it and when: a
 * happens-before chain may run through a thread that took no lock. That is
 * a table by number of 40-byte entries (struct order), which also finds a
 * live record by number in O(1), and an index of live pthread_t values for
 * joins.
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

/* Per thread number, under thread_lock. Indexes are thread numbers (0:
 * none). */
struct order {
    struct lg_thread *live;       /* its record while it runs */
    uint32_t creator, create_epoch;
    uint32_t joiner, join_epoch;  /* 0: not joined */
    uint32_t first_child, next_sibling;
    uint32_t archived;            /* index + 1 in the archive, 0: none */
    uint32_t hb_stamp, hb_reach, hb_parent; /* lg_labels_ordered()'s walk */
    bool hb_by_join;
};
static struct order *orders;
static uint32_t orders_cap;
static atomic_bool said_order_memory;

/* The entry for num, grown into existence (thread_lock held); NULL when
 * out of memory. */
static struct order *
order_of(uint32_t num)
{
    if (num == 0)
        return NULL;
    if (num >= orders_cap) {
        uint32_t cap = orders_cap ? orders_cap : 1024;
        while (cap <= num)
            cap *= 2;
        struct order *grown = lg_grow(&lg_mem, orders, orders_cap * sizeof *orders,
                                      cap * sizeof *orders);
        if (!grown) {
            lg_warn_once(&said_order_memory, "out of memory for the thread-order table: "
                         "lock-order cycles may be called concurrent although thread "
                         "creation or join ordered them");
            return NULL;
        }
        orders = grown;
        orders_cap = cap;
    }
    return &orders[num];
}

/* Live threads by pthread_t (open addressing, backward-shift deletion), to
 * find whom a join joined: an entry leaves at the join, or when its value is
 * taken by a new thread (a detached thread's, after it exited). */
static struct handle_slot {
    uintptr_t handle;
    uint32_t num;
} *by_handle;
static uint32_t by_handle_cap, by_handle_n;

static uint32_t
handle_home(uintptr_t h, uint32_t cap)
{
    return (uint32_t)(((uint64_t)h * 0x9E3779B97F4A7C15ull) >> 40) & (cap - 1);
}

static bool
handle_put(struct handle_slot *tab, uint32_t cap, uintptr_t h, uint32_t num)
{
    uint32_t i = handle_home(h, cap);
    while (tab[i].handle && tab[i].handle != h)
        i = (i + 1) & (cap - 1);
    bool fresh = !tab[i].handle;
    tab[i].handle = h;
    tab[i].num = num;
    return fresh;
}

static void
index_handle(uintptr_t h, uint32_t num)
{
    if ((by_handle_n + 1) * 2 > by_handle_cap) {
        uint32_t cap = by_handle_cap ? by_handle_cap * 2 : 256;
        struct handle_slot *fresh = lg_mem_alloc(cap * sizeof *fresh);
        if (!fresh) {
            lg_warn_once(&said_order_memory, "out of memory for the thread-order table: "
                         "lock-order cycles may be called concurrent although thread "
                         "creation or join ordered them");
            return;
        }
        for (uint32_t i = 0; i < by_handle_cap; i++)
            if (by_handle[i].handle)
                handle_put(fresh, cap, by_handle[i].handle, by_handle[i].num);
        lg_mem_free(by_handle, by_handle_cap * sizeof *by_handle);
        by_handle = fresh;
        by_handle_cap = cap;
    }
    by_handle_n += handle_put(by_handle, by_handle_cap, h, num);
}

static uint32_t
unindex_handle(uintptr_t h)
{
    if (!by_handle_cap)
        return 0;
    uint32_t mask = by_handle_cap - 1, i = handle_home(h, by_handle_cap);
    while (by_handle[i].handle && by_handle[i].handle != h)
        i = (i + 1) & mask;
    if (!by_handle[i].handle)
        return 0;
    uint32_t num = by_handle[i].num;
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
    by_handle[i].num = 0;
    by_handle_n--;
    return num;
}

static void (*_Atomic at_next_wait)(void);

void
lg_threads_at_next_wait_or_create(void (*fn)(void))
{
    atomic_store_explicit(&at_next_wait, fn, memory_order_release);
}

static void
run_at_next_wait(void)
{
    void (*fn)(void) = atomic_exchange_explicit(&at_next_wait, NULL, memory_order_acquire);
    if (fn)
        fn();
}

void
lg_thread_wait_begins(const struct lg_thread *t, bool lock_wait)
{
    if (LG_LIKELY(atomic_load_explicit(&at_next_wait, memory_order_relaxed) == NULL)
        || (lock_wait && t->nheld != 0))
        return;
    run_at_next_wait();
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
    struct order *o = order_of(t->num);
    if (o)
        o->live = t;
    index_handle(t->handle, t->num);
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
    if (t->num < orders_cap && orders[t->num].live == t)
        orders[t->num].live = NULL;
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
        if (narchived < archive_cap) {
            archive[narchived++] = (struct archived){ t->num, t->creator, t->tid, t->created_at };
            if (t->num < orders_cap)
                orders[t->num].archived = (uint32_t)narchived;
        }
        else
            lg_warn_once(&said_archive_memory, "out of memory for the records of exited "
                         "threads: reports may name them without their tid and creation "
                         "stack");
    }
    lg_mem_free(t->chains, t->chain_cap * sizeof *t->chains);
    t->chains = NULL;
    t->chain_cap = t->nchains = 0;
    /* Chains it noted and did not store: only a fork child's other threads
     * (their own exit stores them first). */
    if (t->pend)
        lg_mem_free(t->pend, t->pend_bytes);
    t->pend = NULL;
    t->pend_used = 0;
    atomic_store_explicit(&t->npend, 0, memory_order_relaxed);
    if (t->evid)
        lg_mem_free(t->evid, t->evid_cap * sizeof *t->evid);
    t->evid = NULL;
    t->evid_cap = t->nevid = 0;
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
    const struct order *o = num && num < orders_cap ? &orders[num] : NULL;
    const struct lg_thread *t = o ? o->live : NULL;
    if (t) {
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
        atomic_store_explicit(&g->wait_object, atomic_load_explicit(&t->wait_object,
                                                                     memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&g->wait_kind, atomic_load_explicit(&t->wait_kind,
                                                                   memory_order_relaxed),
                              memory_order_relaxed);
    } else if (o && o->archived) {
        const struct archived *a = &archive[o->archived - 1];
        found = true;
        memset(g, 0, sizeof *g);
        g->num = a->num;
        g->tid = a->tid;
        g->creator = a->creator;
        g->created_at = a->created_at;
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

/*
 * In a fork child, the forking thread's entries for process-shared locks:
 * the lock is in memory the child shares with its parent, so it is the
 * parent's thread that holds it, not the child's (a private lock the child
 * holds, in its own copy). Kept, they would order the child's next locks
 * after it and call its next take a self-deadlock.
 */
static void
drop_pshared_held(struct lg_thread *t)
{
    for (uint32_t i = t->nheld; i-- > 0;) {
        struct lg_lock *l = t->held[i].lock;
        if (!l->pshared || t->held[i].uid != atomic_load_explicit(&l->uid, memory_order_relaxed))
            continue;
        struct lg_thread *self = t;
        if (t->held[i].spin)
            atomic_compare_exchange_strong_explicit(&l->owner, &self, NULL, memory_order_relaxed,
                                                    memory_order_relaxed);
        else if (l->type == LG_RWLOCK)
            atomic_fetch_sub_explicit(&l->holders, 1, memory_order_relaxed);
        lg_held_remove(t, i);
    }
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
            drop_pshared_held(t);
            alive++;
        } else {
            atomic_store_explicit(&t->alive, false, memory_order_relaxed);
            retire(t);
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
    if (LG_UNLIKELY(atomic_load_explicit(&at_next_wait, memory_order_relaxed) != NULL))
        run_at_next_wait(); /* the program is about to create a thread anyway */
    return atomic_fetch_add_explicit(&sync_epoch, 1, memory_order_relaxed) + 1;
}

void
lg_thread_link_child(struct lg_thread *t)
{
    lg_mutex_lock(&thread_lock);
    struct order *o = order_of(t->num), *p = order_of(t->creator);
    if (o && p && t->creator != t->num) {
        o->creator = t->creator;
        o->create_epoch = t->create_epoch;
        o->next_sibling = p->first_child;
        p->first_child = t->num;
    }
    lg_mutex_unlock(&thread_lock);
}

void
lg_thread_joined(struct lg_thread *t, uintptr_t handle, uintptr_t site)
{
    (void)site;
    uint32_t epoch = atomic_fetch_add_explicit(&sync_epoch, 1, memory_order_relaxed) + 1;
    lg_mutex_lock(&thread_lock);
    uint32_t num = unindex_handle(handle);
    struct order *o = num && num != t->num && num < orders_cap ? &orders[num] : NULL;
    if (o) {
        o->join_epoch = epoch;
        o->joiner = t->num;
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
 * the earliest epoch each thread is reached at, in the order table, under
 * thread_lock.
 */
struct hb_walk {
    uint32_t *queue;
    uint32_t n, cap;
    uint32_t target, target_epoch, stamp;
    bool found, failed;
};

/* Thread `to` is after the source from epoch `reach` on (reached from
 * `from`). */
static void
hb_visit(struct hb_walk *w, uint32_t from, uint32_t to, uint32_t reach, bool by_join)
{
    if (!to || to >= orders_cap)
        return;
    struct order *o = &orders[to];
    if (o->hb_stamp == w->stamp && o->hb_reach <= reach)
        return;
    o->hb_stamp = w->stamp;
    o->hb_reach = reach;
    o->hb_parent = from;
    o->hb_by_join = by_join;
    if (to == w->target && reach <= w->target_epoch) {
        w->found = true;
        return;
    }
    if (w->n == w->cap) {
        uint32_t *grown = lg_grow(&lg_mem, w->queue, w->cap * sizeof *w->queue,
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
    if (a->thread == b->thread || !a->thread || !b->thread)
        return false;
    lg_mutex_lock(&thread_lock);
    struct hb_walk w = { .target = b->thread, .target_epoch = b->epoch, .cap = 64 };
    if (a->thread < orders_cap && b->thread < orders_cap)
        w.queue = lg_mem_alloc(w.cap * sizeof *w.queue);
    if (!w.queue) {
        lg_mutex_unlock(&thread_lock);
        return false;
    }
    if (++stamp == 0) {
        for (uint32_t i = 0; i < orders_cap; i++)
            orders[i].hb_stamp = 0;
        stamp = 1;
    }
    w.stamp = stamp;
    struct order *x = &orders[a->thread];
    x->hb_stamp = stamp;
    x->hb_reach = a->epoch_last + 1;
    x->hb_parent = 0;
    w.queue[w.n++] = a->thread;
    for (uint32_t qi = 0; qi < w.n && !w.found && !w.failed; qi++) {
        uint32_t t = w.queue[qi];
        const struct order *o = &orders[t];
        /* After t from hb_reach on: the threads it created then, and (from
         * its join on) the thread that joined it. */
        for (uint32_t c = o->first_child; c && c < orders_cap && !w.found && !w.failed;
             c = orders[c].next_sibling)
            if (orders[c].create_epoch >= o->hb_reach)
                hb_visit(&w, t, c, 0, false);
        if (!w.found && !w.failed && o->joiner)
            hb_visit(&w, t, o->joiner, o->join_epoch, true);
    }
    if (w.found && why && whylen) {
        /* The chain from X to Y, told forwards: "T2 created T4, then T4 was
         * joined by T1". */
        uint32_t chain[16], k = 0;
        for (uint32_t t = w.target; t && k < 16; t = orders[t].hb_parent)
            chain[k++] = t;
        size_t used = 0;
        for (uint32_t i = k - 1; i > 0 && used + 1 < whylen; i--) {
            uint32_t from = chain[i], to = chain[i - 1];
            int n = orders[to].hb_by_join
                        ? snprintf(why + used, whylen - used, "%sT%u was joined by T%u",
                                   used ? ", then " : "", from, to)
                        : snprintf(why + used, whylen - used, "%sT%u created T%u",
                                   used ? ", then " : "", from, to);
            if (n < 0)
                break;
            used += (size_t)n;
        }
    }
    lg_mem_free(w.queue, w.cap * sizeof *w.queue);
    lg_mutex_unlock(&thread_lock);
    return w.found;
}
