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

static uint32_t
bucket_of(uintptr_t addr)
{
    uint64_t h = (uint64_t)addr * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 40) & (NBUCKETS - 1);
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
    unsigned i = lg_cache_slot(addr);
    t->cache[i].addr = addr;
    t->cache[i].lock = l;
    t->cache[i].uid = atomic_load_explicit(&l->uid, memory_order_relaxed);
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
create_locked(uint32_t b, uintptr_t addr, enum lg_lock_type type, bool robust, uintptr_t site)
{
    struct lg_lock *l = new_record();
    if (!l)
        return NULL;
    /* node is already LG_NODE_NONE: fresh memory is zero, and forget()
     * cleared it under the graph lock, the only lock it is used under. */
    atomic_store_explicit(&l->addr, addr, memory_order_relaxed);
    l->type = (uint8_t)type;
    l->robust = robust;
    l->init_site = site;
    l->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    atomic_store_explicit(&l->owner, NULL, memory_order_relaxed);
    atomic_store_explicit(&l->watched, false, memory_order_relaxed);
    atomic_store_explicit(&l->next, atomic_load_explicit(&buckets[b], memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&l->uid, atomic_fetch_add_explicit(&next_uid, 1, memory_order_relaxed),
                          memory_order_release);
    atomic_store_explicit(&buckets[b], l, memory_order_release);
    atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return l;
}

struct lg_lock *
lg_lock_get(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type, bool robust,
            uintptr_t site)
{
    struct lg_lock *l = lg_lock_find(t, addr);
    if (LG_LIKELY(l != NULL))
        return l;
    if (!table_ready())
        return NULL;
    uint32_t b = bucket_of(addr);
    lg_mutex_lock(&shard[b % NSHARDS]);
    l = bucket_search(b, addr);
    if (!l)
        l = create_locked(b, addr, type, robust, site);
    lg_mutex_unlock(&shard[b % NSHARDS]);
    if (l)
        cache_put(t, addr, l);
    return l;
}

struct lg_lock *
lg_lock_init(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type, bool robust,
             uintptr_t site)
{
    struct lg_lock *old = lg_lock_find(t, addr);
    if (old) /* re-init without destroy: a new lock all the same */
        lg_lock_forget(old, lg_lock_uid(old));
    if (!table_ready())
        return NULL;
    uint32_t b = bucket_of(addr);
    lg_mutex_lock(&shard[b % NSHARDS]);
    struct lg_lock *l = create_locked(b, addr, type, robust, site);
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
static struct node_entry *node_map;
static size_t node_map_cap, node_map_used; /* used counts tombstones too */
#define TOMBSTONE ((struct lg_lock *)1)

static size_t
node_slot(lg_node_id node, size_t cap)
{
    return (size_t)((node * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

static bool
node_map_put(lg_node_id node, struct lg_lock *l)
{
    if ((node_map_used + 1) * 2 > node_map_cap) {
        size_t cap = node_map_cap ? node_map_cap * 2 : 1024;
        void *fresh = lg_mem_alloc(cap * sizeof *node_map);
        if (!fresh)
            return false;
        struct node_entry *old = node_map;
        size_t old_cap = node_map_cap;
        node_map = fresh;
        node_map_cap = cap;
        node_map_used = 0;
        for (size_t i = 0; i < old_cap; i++) {
            if (old[i].lock && old[i].lock != TOMBSTONE)
                node_map_put(old[i].node, old[i].lock);
        }
        lg_mem_free(old, old_cap * sizeof *node_map);
    }
    size_t i = node_slot(node, node_map_cap);
    while (node_map[i].lock && node_map[i].lock != TOMBSTONE)
        i = (i + 1) & (node_map_cap - 1);
    if (!node_map[i].lock)
        node_map_used++;
    node_map[i].node = node;
    node_map[i].lock = l;
    return true;
}

static size_t
node_map_find(lg_node_id node)
{
    if (!node_map_cap)
        return SIZE_MAX;
    for (size_t i = node_slot(node, node_map_cap);; i = (i + 1) & (node_map_cap - 1)) {
        if (!node_map[i].lock)
            return SIZE_MAX;
        if (node_map[i].lock != TOMBSTONE && node_map[i].node == node)
            return i;
    }
}

struct lg_lock *
lg_lock_by_node(lg_node_id node)
{
    size_t i = node_map_find(node);
    return i == SIZE_MAX ? NULL : node_map[i].lock;
}

lg_node_id
lg_lock_node(struct lg_lock *l)
{
    if (l->node != LG_NODE_NONE)
        return l->node;
    lg_node_id node;
    if (lg_graph_node_add(lg_graph, &node) != 0)
        return LG_NODE_NONE;
    if (!node_map_put(node, l)) {
        lg_graph_node_remove(lg_graph, node);
        return LG_NODE_NONE;
    }
    l->node = node;
    return node;
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
    if (l->node != LG_NODE_NONE) {
        size_t i = node_map_find(l->node);
        if (i != SIZE_MAX)
            node_map[i].lock = TOMBSTONE;
        lg_graph_node_remove(lg_graph, l->node);
        l->node = LG_NODE_NONE;
    }
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
    lg_mutex_unlock(&shard[b % NSHARDS]);
    lg_mutex_unlock(&lg_graph_lock);

    /* The record keeps its `next`, so a reader standing on it can still
     * walk on; the free list has its own link. */
    lg_mutex_lock(&free_lock);
    l->free_next = free_recs;
    free_recs = l;
    lg_mutex_unlock(&free_lock);
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

void
lg_locks_atfork_prepare(void)
{
    for (int i = 0; i < NSHARDS; i++)
        lg_mutex_lock(&shard[i]);
    lg_mutex_lock(&free_lock);
}

void
lg_locks_atfork_parent(void)
{
    lg_mutex_unlock(&free_lock);
    for (int i = NSHARDS - 1; i >= 0; i--)
        lg_mutex_unlock(&shard[i]);
}

void
lg_locks_atfork_child(void)
{
    lg_mutex_reset(&free_lock);
    for (int i = 0; i < NSHARDS; i++)
        lg_mutex_reset(&shard[i]);
}
