/*
 * locks.c - a record for every lock the program uses, found by address.
 *
 * The per-acquire path looks a lock up first in the thread's own small
 * cache, then in a global hash table whose readers take no lock: records are
 * pushed at the head of a bucket with a release store and are never
 * unmapped (a destroyed lock's record is recycled), so a reader can always
 * follow a pointer it loaded. A reader that races with a recycle may miss
 * its record; it then takes the shard lock and looks again, so the answer
 * is always right. Identity is the record's uid: a new one for every init
 * (or first sight of a static lock), 0 while the record is free, so a cached
 * pointer to a recycled record is recognised as stale.
 */
#include "rt.h"

#include <errno.h>
#include <semaphore.h>
#include <string.h>

#define NBUCKETS (1u << 18)
#define NSHARDS 64

lg_mutex lg_graph_lock = LG_MUTEX_INIT;
struct lg_graph *lg_graph;

static struct lg_lock *_Atomic *buckets;
static lg_mutex shard[NSHARDS];
static lg_mutex free_lock = LG_MUTEX_INIT;
static struct lg_lock *free_recs;
static atomic_uint_fast64_t next_uid = 1, next_id = 1;
static atomic_uint_fast64_t live;
static atomic_bool said_no_memory;

/*
 * Which parts of the address space hold lock records, so that an unmapped
 * range (munmap, dlclose, mmap over it) costs nothing when it held no lock:
 * a counter per 1 MiB chunk, in a small table indexed by a hash of the
 * chunk. Two chunks may share a counter; a non-zero one then only means
 * "look": the walk that follows checks the addresses themselves.
 */
#define CHUNK_SHIFT 20
#define CHUNK_BITS 12
#define NCHUNK_COUNTERS (1u << CHUNK_BITS)
static atomic_uint chunk_locks[NCHUNK_COUNTERS];

/* A table slot for key, of a table of 1 << bits. */
static unsigned
hashed(uintptr_t key, unsigned bits)
{
    return (unsigned)((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

/* Might [lo, hi) hold a lock record? */
static bool
range_may_hold(uintptr_t lo, uintptr_t hi)
{
    if (hi <= lo)
        return false;
    uintptr_t first = lo >> CHUNK_SHIFT, last = (hi - 1) >> CHUNK_SHIFT;
    if (last - first >= NCHUNK_COUNTERS) { /* a huge range: any counter will do */
        for (unsigned i = 0; i < NCHUNK_COUNTERS; i++)
            if (atomic_load_explicit(&chunk_locks[i], memory_order_relaxed))
                return true;
        return false;
    }
    for (uintptr_t c = first; c <= last; c++)
        if (atomic_load_explicit(&chunk_locks[hashed(c, CHUNK_BITS)], memory_order_relaxed))
            return true;
    return false;
}

/*
 * The same, finer, for heap blocks that free() gives back: a counter per
 * 256-byte line, in a table indexed by a hash of the line (64 KiB: it
 * stays in cache, where free() reads it). Lock records and
 * condition-variable and barrier records both count. Per 4 KiB page, a
 * program whose heap objects hold mutexes paid about 28 ns on every free
 * of a small block beside them (a bucket walk); per line, only the blocks
 * that share a line with a lock do.
 */
#define LINE_SHIFT 8
#define LINE_BITS 14
#define NLINE_COUNTERS (1u << LINE_BITS)
static atomic_uint line_marks[NLINE_COUNTERS];

static void
line_count(uintptr_t addr, int delta)
{
    atomic_fetch_add_explicit(&line_marks[hashed(addr >> LINE_SHIFT, LINE_BITS)], (unsigned)delta,
                              memory_order_relaxed);
}

/* A lock record at addr comes (+1) or goes (-1): both tables count it. */
static void
record_count(uintptr_t addr, int delta)
{
    atomic_fetch_add_explicit(&chunk_locks[hashed(addr >> CHUNK_SHIFT, CHUNK_BITS)], (unsigned)delta,
                              memory_order_relaxed);
    line_count(addr, delta);
}

/* Might the line hold a record? */
static bool
line_marked(uintptr_t line)
{
    return atomic_load_explicit(&line_marks[hashed(line, LINE_BITS)], memory_order_relaxed) != 0;
}

/* Blocks bigger than this many lines (1 MiB: 4096 reads of line_marks,
 * a few microseconds, less than the munmap behind such a free) are looked
 * at 1 MiB at a time, as munmap's ranges are, for lock records only; a
 * size that is not a block's at all (a free of a bad pointer) costs no more
 * than 4096 reads more. */
#define BLOCK_LINES_MAX 4096

bool
lg_locks_block_may_hold(uintptr_t lo, uintptr_t hi)
{
    if (((hi - lo) >> LINE_SHIFT) > BLOCK_LINES_MAX)
        return range_may_hold(lo, hi);
    for (uintptr_t line = lo >> LINE_SHIFT; line <= (hi - 1) >> LINE_SHIFT; line++)
        if (line_marked(line))
            return true;
    return false;
}

/*
 * Locks near each other in memory (an array of them, the fields of one
 * object) get buckets near each other: a program walking thousands of
 * locks touches few pages of the table, not one page (and one TLB miss)
 * per lock. The address's 16-byte granule, folded so that the higher bits
 * spread what lies NBUCKETS granules apart.
 */
static uint32_t
bucket_of(uintptr_t addr)
{
    uint64_t g = (uint64_t)addr >> 4;
    return (uint32_t)(g ^ (g >> 18) ^ (g >> 36)) & (NBUCKETS - 1);
}

void
lg_locks_init(void)
{
    /* 2 MiB of address space; pages are touched only as buckets fill. */
    buckets = lg_mem_alloc(NBUCKETS * sizeof *buckets);
    if (!buckets)
        LG_DIE("no memory for the lock table");
}

static bool
table_ready(void)
{
    return LG_LIKELY(buckets != NULL);
}

static struct lg_lock *
bucket_search(uint32_t b, uintptr_t addr)
{
    for (struct lg_lock *l = atomic_load_explicit(&buckets[b], memory_order_acquire); l;
         l = atomic_load_explicit(&l->next, memory_order_acquire))
        if (lg_lock_addr(l) == addr && atomic_load_explicit(&l->uid, memory_order_acquire) != 0)
            return l;
    return NULL;
}

static void
cache_put(struct lg_thread *t, uintptr_t addr, struct lg_lock *l)
{
    if (!t)
        return;
    /* The newest in way 0; the one it displaces in way 1, unless it was
     * this address's own stale entry. An address is in one way at most. */
    struct lg_cache_entry *set = t->cache[lg_cache_slot(addr)];
    if (set[0].addr != addr)
        set[1] = set[0];
    set[0] = (struct lg_cache_entry){ addr, l, atomic_load_explicit(&l->uid, memory_order_relaxed) };
}

struct lg_lock *
lg_lock_find_slow(struct lg_thread *t, uintptr_t addr)
{
    if (!table_ready())
        return NULL;
    uint32_t b = bucket_of(addr);
    struct lg_lock *l = bucket_search(b, addr);
    if (!l) {
        /* A concurrent recycle can hide a record from the lock-free walk. */
        lg_mutex_lock(&shard[b % NSHARDS]);
        l = bucket_search(b, addr);
        lg_mutex_unlock(&shard[b % NSHARDS]);
    }
    if (l)
        cache_put(t, addr, l);
    return l;
}

static struct lg_lock *
new_record(void)
{
    struct lg_lock *l = NULL;
    lg_mutex_lock(&free_lock);
    if (free_recs) {
        l = free_recs;
        free_recs = l->free_next;
    }
    lg_mutex_unlock(&free_lock);
    if (!l)
        l = lg_mem_alloc(sizeof *l);
    if (!l)
        lg_warn_once(&said_no_memory, "out of memory for lock records: locks created "
                     "from now on are not checked");
    return l;
}

/* Make a record for addr and link it, under the bucket's shard lock. */
static struct lg_lock *
create_locked(uint32_t b, uintptr_t addr, enum lg_lock_type type, unsigned flags,
              uintptr_t site)
{
    struct lg_lock *l = new_record();
    if (!l)
        return NULL;
    /* node is already LG_NODE_NONE: fresh memory is zero, and forget()
     * cleared it under the graph lock, the only lock it is used under. */
    atomic_store_explicit(&l->addr, addr, memory_order_relaxed);
    l->type = (uint8_t)type;
    l->robust = (flags & LG_LOCK_ROBUST) != 0;
    l->pshared = (flags & LG_LOCK_PSHARED) != 0;
    l->init_site = site;
    l->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
    atomic_store_explicit(&l->watched, false, memory_order_relaxed);
    atomic_store_explicit(&l->sem_proven, false, memory_order_relaxed);
    atomic_store_explicit(&l->holders, 0, memory_order_relaxed);
    record_count(addr, 1);
    atomic_store_explicit(&l->next, atomic_load_explicit(&buckets[b], memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&l->uid, atomic_fetch_add_explicit(&next_uid, 1, memory_order_relaxed),
                          memory_order_release);
    atomic_store_explicit(&buckets[b], l, memory_order_release);
    atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return l;
}

struct lg_lock *
lg_lock_get(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type, unsigned flags,
            uintptr_t site)
{
    struct lg_lock *l = lg_lock_find(t, addr);
    if (LG_LIKELY(l != NULL)) {
        /* A semaphore's memory, freed without sem_destroy, now holds a lock
         * set up statically (or the other way round): another lock. */
        if (LG_LIKELY((l->type == LG_SEMAPHORE) == (type == LG_SEMAPHORE)))
            return l;
        return lg_lock_init(t, addr, type, flags, site);
    }
    if (!table_ready())
        return NULL;
    uint32_t b = bucket_of(addr);
    lg_mutex_lock(&shard[b % NSHARDS]);
    l = bucket_search(b, addr);
    if (!l)
        l = create_locked(b, addr, type, flags, site);
    lg_mutex_unlock(&shard[b % NSHARDS]);
    if (l)
        cache_put(t, addr, l);
    return l;
}

struct lg_lock *
lg_lock_init(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type, unsigned flags,
             uintptr_t site)
{
    struct lg_lock *old = lg_lock_find(t, addr);
    if (old) /* re-init without destroy: a new lock all the same */
        lg_lock_forget(old, lg_lock_uid(old));
    if (!table_ready())
        return NULL;
    uint32_t b = bucket_of(addr);
    lg_mutex_lock(&shard[b % NSHARDS]);
    struct lg_lock *l = create_locked(b, addr, type, flags, site);
    lg_mutex_unlock(&shard[b % NSHARDS]);
    if (l)
        cache_put(t, addr, l);
    return l;
}

/* ---- node <-> lock, under lg_graph_lock --------------------------------- */

struct node_entry {
    lg_node_id node;
    struct lg_lock *lock;
};
/* By the node's slot (graph.h: lg_node_slot), which is dense: nodes made
 * one after another fill neighbouring entries, and a lookup is one load. */
static struct node_entry *node_map;
static size_t node_map_cap;

static bool
node_map_put(lg_node_id node, struct lg_lock *l)
{
    size_t i = lg_node_slot(node);
    if (i >= node_map_cap) {
        size_t cap = node_map_cap ? node_map_cap : 1024;
        while (cap <= i)
            cap *= 2;
        struct node_entry *fresh = lg_mem_alloc(cap * sizeof *fresh);
        if (!fresh)
            return false;
        if (node_map) {
            memcpy(fresh, node_map, node_map_cap * sizeof *fresh);
            lg_mem_free(node_map, node_map_cap * sizeof *node_map);
        }
        node_map = fresh;
        node_map_cap = cap;
    }
    node_map[i] = (struct node_entry){ node, l };
    return true;
}

static struct node_entry *
node_map_find(lg_node_id node)
{
    size_t i = lg_node_slot(node);
    return node != LG_NODE_NONE && i < node_map_cap && node_map[i].node == node ? &node_map[i]
                                                                               : NULL;
}

struct lg_lock *
lg_lock_by_node(lg_node_id node)
{
    struct node_entry *e = node_map_find(node);
    return e ? e->lock : NULL;
}

lg_node_id
lg_lock_node(struct lg_lock *l)
{
    if (l->node != LG_NODE_NONE)
        return l->node;
    /* Forgotten since the caller looked it up (a semaphore another thread
     * posted): a node now would outlive the record. */
    if (lg_lock_uid(l) == 0)
        return LG_NODE_NONE;
    lg_node_id node;
    if (lg_graph_node_add(lg_graph, &node) != 0)
        return LG_NODE_NONE;
    if (!node_map_put(node, l)) {
        lg_graph_node_remove(lg_graph, node);
        return LG_NODE_NONE;
    }
    __atomic_store_n(&l->node, node, __ATOMIC_RELAXED);
    return node;
}

/* The graph node of a lock goes, under both locks (the caller's). */
static void
drop_node(struct lg_lock *l)
{
    if (l->node == LG_NODE_NONE)
        return;
    struct node_entry *e = node_map_find(l->node);
    if (e)
        *e = (struct node_entry){ LG_NODE_NONE, NULL };
    lg_graph_node_remove(lg_graph, l->node);
    __atomic_store_n(&l->node, LG_NODE_NONE, __ATOMIC_RELAXED);
}

void
lg_lock_forget(struct lg_lock *l, uint64_t uid)
{
    /* Both locks, in their order: the identity check, the graph node and
     * the bucket change together, so two threads forgetting the same lock
     * (or one with a stale pointer) cannot free a record twice. */
    uint32_t b = bucket_of(lg_lock_addr(l));
    lg_mutex_lock(&lg_graph_lock);
    lg_mutex_lock(&shard[b % NSHARDS]);
    if (uid == 0 || lg_lock_uid(l) != uid) {
        lg_mutex_unlock(&shard[b % NSHARDS]);
        lg_mutex_unlock(&lg_graph_lock);
        return;
    }
    drop_node(l);
    struct lg_lock *_Atomic *link = &buckets[b];
    for (struct lg_lock *cur; (cur = atomic_load_explicit(link, memory_order_relaxed));
         link = &cur->next) {
        if (cur == l) {
            atomic_store_explicit(link, atomic_load_explicit(&l->next, memory_order_relaxed),
                                  memory_order_release);
            break;
        }
    }
    atomic_store_explicit(&l->uid, 0, memory_order_release);
    atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    record_count(lg_lock_addr(l), -1);
    lg_mutex_unlock(&shard[b % NSHARDS]);
    lg_mutex_unlock(&lg_graph_lock);

    /* The record keeps its `next`, so a reader standing on it can still
     * walk on; the free list has its own link. */
    lg_mutex_lock(&free_lock);
    l->free_next = free_recs;
    free_recs = l;
    lg_mutex_unlock(&free_lock);
}

bool
lg_lock_renew(struct lg_lock *l, uint64_t uid)
{
    uint32_t b = bucket_of(lg_lock_addr(l));
    lg_mutex_lock(&lg_graph_lock);
    lg_mutex_lock(&shard[b % NSHARDS]);
    bool same = uid != 0 && lg_lock_uid(l) == uid;
    if (same) {
        drop_node(l);
        l->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
        atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
        atomic_store_explicit(&l->holders, 0, memory_order_relaxed);
        atomic_store_explicit(&l->uid, atomic_fetch_add_explicit(&next_uid, 1,
                                                                 memory_order_relaxed),
                              memory_order_release);
    }
    lg_mutex_unlock(&shard[b % NSHARDS]);
    lg_mutex_unlock(&lg_graph_lock);
    return same;
}

static void objs_forget_range(uintptr_t lo, uintptr_t hi);
static void objs_forget_block(uintptr_t lo, uintptr_t hi);

/* Where the last few destroyed locks were destroyed, direct mapped: only
 * for the text of an invalid-mutex report, so a lost race costs a detail. */
static struct {
    atomic_uintptr_t addr, site;
} destroyed[256];

void
lg_lock_note_destroyed(uintptr_t addr, uintptr_t site)
{
    unsigned i = (unsigned)(addr >> 4) & 255;
    atomic_store_explicit(&destroyed[i].addr, 0, memory_order_relaxed);
    atomic_store_explicit(&destroyed[i].site, site, memory_order_relaxed);
    atomic_store_explicit(&destroyed[i].addr, addr, memory_order_release);
}

uintptr_t
lg_lock_destroyed_at(uintptr_t addr)
{
    unsigned i = (unsigned)(addr >> 4) & 255;
    if (atomic_load_explicit(&destroyed[i].addr, memory_order_acquire) != addr)
        return 0;
    return atomic_load_explicit(&destroyed[i].site, memory_order_relaxed);
}

/* Forget bucket b's records in [lo, hi). Records are never unmapped, so
 * the walk needs no lock; forget() checks the identity again under its
 * locks, and a forgotten record keeps its `next`. */
static uint64_t
bucket_forget(uint32_t b, uintptr_t lo, uintptr_t hi)
{
    uint64_t n = 0;
    for (struct lg_lock *l = atomic_load_explicit(&buckets[b], memory_order_acquire); l;
         l = atomic_load_explicit(&l->next, memory_order_acquire)) {
        uintptr_t a = lg_lock_addr(l);
        uint64_t uid = lg_lock_uid(l);
        if (uid != 0 && a >= lo && a < hi) {
            lg_lock_forget(l, uid);
            n++;
        }
    }
    return n;
}

uint64_t
lg_locks_forget_range(uintptr_t lo, uintptr_t hi)
{
    uint64_t n = 0;
    if (!table_ready())
        return 0;
    objs_forget_range(lo, hi);
    if (!range_may_hold(lo, hi))
        return 0;
    /* Rare: the range held a lock (or shares a counter with one that
     * does). */
    for (uint32_t b = 0; b < NBUCKETS; b++)
        n += bucket_forget(b, lo, hi);
    return n;
}

uint64_t
lg_locks_forget_block(uintptr_t lo, uintptr_t hi)
{
    uint64_t n = 0;
    if (!table_ready() || hi <= lo)
        return 0;
    if (((hi - lo) >> LINE_SHIFT) > BLOCK_LINES_MAX)
        return lg_locks_forget_range(lo, hi);
    for (uintptr_t line = lo >> LINE_SHIFT; line <= (hi - 1) >> LINE_SHIFT; line++) {
        if (!line_marked(line))
            continue;
        uintptr_t from = line << LINE_SHIFT, to = from + ((uintptr_t)1 << LINE_SHIFT);
        from = from < lo ? lo : from;
        to = to > hi ? hi : to;
        /* The buckets of its 16-byte granules (near each other: bucket_of). */
        for (uintptr_t g = from & ~(uintptr_t)15; g < to; g += 16)
            n += bucket_forget(bucket_of(g), from, to);
        objs_forget_block(from, to);
    }
    return n;
}

const char *
lg_lock_type_name(const struct lg_lock *l)
{
    switch (l->type) {
    case LG_MUTEX_NORMAL: return l->robust ? "robust mutex" : "mutex";
    case LG_MUTEX_RECURSIVE: return l->robust ? "robust recursive mutex" : "recursive mutex";
    case LG_MUTEX_ERRORCHECK: return l->robust ? "robust error-checking mutex" : "error-checking mutex";
    case LG_RWLOCK: return "rwlock";
    case LG_SPINLOCK: return "spinlock";
    case LG_SEMAPHORE: return "binary semaphore";
    }
    return "lock";
}

long
lg_lock_owner_tid(const struct lg_lock *l)
{
    uintptr_t obj = lg_lock_addr(l);
    switch (l->type) {
    case LG_RWLOCK:
        return lg_abi_rwlock_writer(obj);
    case LG_SPINLOCK: {
        struct lg_thread *o = atomic_load_explicit(&l->owner, memory_order_relaxed);
        return o ? o->tid : 0;
    }
    case LG_SEMAPHORE: {
        /* lockgraph's belief, as long as the semaphore agrees: a value
         * above 0 means nobody holds it, whatever lockgraph last saw. A
         * dead owner holds nothing (its tid may be a new thread's). */
        struct lg_thread *o = atomic_load_explicit(&l->owner, memory_order_relaxed);
        int value;
        if (!o || !atomic_load_explicit(&o->alive, memory_order_relaxed)
            || sem_getvalue((sem_t *)obj, &value) != 0 || value != 0)
            return 0;
        return o->tid;
    }
    default:
        return lg_abi_mutex_owner(obj);
    }
}

size_t
lg_lock_object_size(const struct lg_lock *l)
{
    switch (l->type) {
    case LG_RWLOCK: return lg_abi_rwlock_size();
    case LG_SPINLOCK: return lg_abi_spin_size();
    case LG_SEMAPHORE: return sizeof(sem_t);
    default: return lg_abi_mutex_size();
    }
}

uint64_t
lg_locks_live(void)
{
    return atomic_load_explicit(&live, memory_order_relaxed);
}

uint64_t
lg_locks_seen(void)
{
    return atomic_load_explicit(&next_id, memory_order_relaxed) - 1;
}

void
lg_locks_each(void (*fn)(struct lg_lock *l, void *ctx), void *ctx)
{
    if (!buckets)
        return;
    for (uint32_t b = 0; b < NBUCKETS; b++)
        for (struct lg_lock *l = atomic_load_explicit(&buckets[b], memory_order_acquire); l;
             l = atomic_load_explicit(&l->next, memory_order_acquire))
            if (atomic_load_explicit(&l->uid, memory_order_acquire) != 0)
                fn(l, ctx);
}


/* ---- condition variables and barriers ----------------------------------- */

/*
 * What lockgraph knows of a condition variable while threads wait on it
 * (the mutex they use) and of a barrier from its init to its destroy (its
 * count, how many threads are inside pthread_barrier_wait). Far fewer
 * objects and calls than locks, and every call already blocks or sleeps:
 * one table under one lock, records on a free list.
 */
enum obj_kind { OBJ_COND = 1, OBJ_BARRIER = 2 };

struct obj {
    uintptr_t addr;
    uint8_t kind;
    uint64_t id;
    uintptr_t mutex;     /* cond: the mutex of its waiters */
    uint32_t inside;     /* threads inside a wait on it */
    uint32_t blocked;    /* cond: untimed waits begun since the last wake-up */
    uint64_t gen;        /* cond: signals and broadcasts seen, plus 1 */
    uint32_t count;      /* barrier: its count */
    uintptr_t init_site; /* barrier: where it was set up, 0 unknown */
    struct obj *next;
};

#define NOBJ_BUCKETS 1024u
static struct obj *obj_buckets[NOBJ_BUCKETS];
static struct obj *obj_free;
static lg_mutex obj_lock = LG_MUTEX_INIT;
static uint32_t obj_live;
static uint64_t obj_next_id = 1;
/* The sum of every cond record's `blocked`: signal and broadcast look no
 * further while it is 0. Written under obj_lock. */
static atomic_uint cond_blocked_total;

static void
cond_unblock(struct obj *o, uint32_t n)
{
    o->blocked -= n;
    atomic_fetch_sub_explicit(&cond_blocked_total, n, memory_order_relaxed);
}

static struct obj **
obj_slot(uintptr_t addr, uint8_t kind)
{
    struct obj **link = &obj_buckets[bucket_of(addr) & (NOBJ_BUCKETS - 1)];
    while (*link && !((*link)->addr == addr && (*link)->kind == kind))
        link = &(*link)->next;
    return link;
}

/* The record of (addr, kind), created if `create`; NULL if none (or out of
 * memory). Under obj_lock. */
static struct obj *
obj_get(uintptr_t addr, uint8_t kind, bool create)
{
    struct obj **link = obj_slot(addr, kind);
    if (*link || !create)
        return *link;
    struct obj *o = obj_free;
    if (o)
        obj_free = o->next;
    else if (!(o = lg_mem_alloc(sizeof *o)))
        return NULL;
    *o = (struct obj){ .addr = addr, .kind = kind, .id = obj_next_id++ };
    *link = o;
    obj_live++;
    line_count(addr, 1);
    return o;
}

/* Unlink *link's record onto the free list. */
static void
obj_release(struct obj **link)
{
    struct obj *o = *link;
    if (o->blocked)
        cond_unblock(o, o->blocked);
    *link = o->next;
    o->next = obj_free;
    obj_free = o;
    obj_live--;
    line_count(o->addr, -1);
}

static void
obj_drop(uintptr_t addr, uint8_t kind)
{
    struct obj **link = obj_slot(addr, kind);
    if (*link)
        obj_release(link);
}

static struct lg_obj_info
obj_info(const struct obj *o)
{
    if (!o)
        return (struct lg_obj_info){ 0 };
    return (struct lg_obj_info){ .known = true, .id = o->id, .mutex = o->mutex,
                                 .inside = o->inside, .count = o->count,
                                 .init_site = o->init_site };
}

bool
lg_cond_enter(uintptr_t c, uintptr_t m, bool untimed, uint64_t *gen, uintptr_t *other)
{
    bool same = true;
    *gen = 0;
    lg_mutex_lock(&obj_lock);
    struct obj *o = obj_get(c, OBJ_COND, true);
    if (o) {
        if (o->inside && o->mutex != m) {
            same = false;
            *other = o->mutex;
        } else {
            o->mutex = m;
        }
        o->inside++;
        if (!o->gen)
            o->gen = 1;
        if (untimed) {
            *gen = o->gen;
            o->blocked++;
            atomic_fetch_add_explicit(&cond_blocked_total, 1, memory_order_relaxed);
        }
    }
    lg_mutex_unlock(&obj_lock);
    return same;
}

void
lg_cond_leave(uintptr_t c, uint64_t gen)
{
    lg_mutex_lock(&obj_lock);
    struct obj *o = obj_get(c, OBJ_COND, false);
    if (o && gen && gen == o->gen && o->blocked) /* it woke by itself */
        cond_unblock(o, 1);
    if (o && o->inside > 1)
        o->inside--;
    else if (o) /* the binding to a mutex ends with the last waiter */
        obj_drop(c, OBJ_COND);
    lg_mutex_unlock(&obj_lock);
}

void
lg_cond_woken(uintptr_t c)
{
    if (!atomic_load_explicit(&cond_blocked_total, memory_order_relaxed))
        return;
    lg_mutex_lock(&obj_lock);
    struct obj *o = obj_get(c, OBJ_COND, false);
    if (o) {
        o->gen++;
        if (o->blocked)
            cond_unblock(o, o->blocked);
    }
    lg_mutex_unlock(&obj_lock);
}

uint32_t
lg_cond_blocked(uintptr_t c)
{
    lg_mutex_lock(&obj_lock);
    struct obj *o = obj_get(c, OBJ_COND, false);
    uint32_t n = o ? o->blocked : 0;
    lg_mutex_unlock(&obj_lock);
    return n;
}

struct lg_obj_info
lg_barrier_init_rec(uintptr_t b, unsigned count, uintptr_t site)
{
    lg_mutex_lock(&obj_lock);
    struct obj *o = obj_get(b, OBJ_BARRIER, true);
    struct lg_obj_info before = obj_info(o);
    before.known = o && o->init_site != 0;
    if (o) {
        o->count = count;
        o->init_site = site;
    }
    lg_mutex_unlock(&obj_lock);
    return before;
}

struct lg_obj_info
lg_barrier_destroy_rec(uintptr_t b)
{
    lg_mutex_lock(&obj_lock);
    struct lg_obj_info before = obj_info(obj_get(b, OBJ_BARRIER, false));
    obj_drop(b, OBJ_BARRIER);
    lg_mutex_unlock(&obj_lock);
    return before;
}

void
lg_barrier_enter(uintptr_t b, unsigned count)
{
    lg_mutex_lock(&obj_lock);
    struct obj *o = obj_get(b, OBJ_BARRIER, true);
    if (o) {
        if (!o->count) /* set up before lockgraph saw it */
            o->count = count;
        o->inside++;
    }
    lg_mutex_unlock(&obj_lock);
}

void
lg_barrier_leave(uintptr_t b)
{
    lg_mutex_lock(&obj_lock);
    struct obj *o = obj_get(b, OBJ_BARRIER, false);
    if (o && o->inside)
        o->inside--;
    lg_mutex_unlock(&obj_lock);
}

struct lg_obj_info
lg_barrier_info(uintptr_t b)
{
    lg_mutex_lock(&obj_lock);
    struct lg_obj_info info = obj_info(obj_get(b, OBJ_BARRIER, false));
    lg_mutex_unlock(&obj_lock);
    return info;
}

/* Forget one bucket's records in [lo, hi) (under obj_lock). */
static void
obj_bucket_forget(struct obj **link, uintptr_t lo, uintptr_t hi)
{
    while (*link) {
        if ((*link)->addr >= lo && (*link)->addr < hi)
            obj_release(link);
        else
            link = &(*link)->next;
    }
}

static void
objs_forget_range(uintptr_t lo, uintptr_t hi)
{
    lg_mutex_lock(&obj_lock);
    for (uint32_t i = 0; obj_live && i < NOBJ_BUCKETS; i++)
        obj_bucket_forget(&obj_buckets[i], lo, hi);
    lg_mutex_unlock(&obj_lock);
}

/* The same for a small range: only the buckets its granules hash to. */
static void
objs_forget_block(uintptr_t lo, uintptr_t hi)
{
    lg_mutex_lock(&obj_lock);
    for (uintptr_t g = lo & ~(uintptr_t)15; obj_live && g < hi; g += 16)
        obj_bucket_forget(&obj_buckets[bucket_of(g) & (NOBJ_BUCKETS - 1)], lo, hi);
    lg_mutex_unlock(&obj_lock);
}

void
lg_locks_atfork_prepare(void)
{
    for (int i = 0; i < NSHARDS; i++)
        lg_mutex_lock(&shard[i]);
    lg_mutex_lock(&free_lock);
    lg_mutex_lock(&obj_lock);
}

void
lg_locks_atfork_parent(void)
{
    lg_mutex_unlock(&obj_lock);
    lg_mutex_unlock(&free_lock);
    for (int i = NSHARDS - 1; i >= 0; i--)
        lg_mutex_unlock(&shard[i]);
}

void
lg_locks_atfork_child(void)
{
    lg_mutex_reset(&obj_lock);
    lg_mutex_reset(&free_lock);
    for (int i = 0; i < NSHARDS; i++)
        lg_mutex_reset(&shard[i]);
}
