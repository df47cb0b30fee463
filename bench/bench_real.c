/*
 * bench_real.c - the realistic benchmark: locks around real work.
 *
 * A small request pipeline. `producers` threads build requests (a formatted
 * key, a `payload`-byte body of random bytes, lookup or write) and push them
 * into a bounded queue (mutex + two condition variables, high/low water
 * marks). `consumers` threads pop them, do the work a server would do
 * outside any lock (hash the key, checksum every byte of the body), then
 * apply the request to a hash table: the table's rwlock for reading, then
 * the bucket's mutex (always in that order), a chain walk with string
 * compares, a lookup or an insert-or-update. Every `snapshot` requests a
 * consumer takes the table's rwlock for writing and totals every bucket
 * (under its mutex too), as a stats or resize pass would.
 *
 * So each request costs four lock acquisitions (queue push, queue pop,
 * table read lock, bucket lock) plus the occasional condition wait, around
 * a few microseconds of work. Nothing is reported by a correct detector.
 * It prints its parameters, its own elapsed time and the work per request,
 * checks that no write was lost, and exits 1 if one was.
 */
#include "bench.h"

#include <inttypes.h>

#define KEY_MAX 24

enum op { OP_LOOKUP, OP_WRITE };

struct request {
    enum op op;
    char key[KEY_MAX];
    size_t len;
    unsigned char body[]; /* payload bytes */
};

/* A bounded FIFO of requests. Producers wait while it is full until it has
 * drained to half; that hysteresis keeps a full queue from waking a
 * producer for every single request popped. */
struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    struct request **ring; /* the rest is guarded by lock */
    size_t cap, head, count;
    unsigned waiting_producers, waiting_consumers;
    bool closed;
};

struct node {
    struct node *next;
    uint64_t hash;
    uint64_t writes, digest_sum;
    char key[KEY_MAX];
};

struct bucket {
    _Alignas(64) pthread_mutex_t lock;
    struct node *head; /* guarded by lock */
};

/* Lock order: table.resize (read, or write alone), then one bucket. */
struct table {
    pthread_rwlock_t resize;
    struct bucket *buckets;
    size_t nbuckets;
};

static struct {
    unsigned long producers, consumers, items, payload, keys, buckets, queue, writes, snapshot,
        seed;
} cfg = { 2, 2, 40000, 1024, 4096, 64, 64, 25, 4096, 1 };

/* Per thread, summed by main after the joins. */
struct thread_stats {
    uint64_t requests, writes, hits, digest_sum, acquisitions, snapshots;
    uint64_t snapshot_max; /* most writes a snapshot of this thread saw */
};

static struct queue q;
static struct table tab;
static pthread_barrier_t start;
static struct thread_stats *stats; /* producers first, then consumers */
static struct bench_span *spans;    /* the same */

/* ---- the queue ---------------------------------------------------------- */

static void
queue_push(struct request *r, uint64_t *acquisitions)
{
    BENCH_CHECK(pthread_mutex_lock(&q.lock));
    ++*acquisitions;
    if (q.count == q.cap) {
        q.waiting_producers++;
        while (q.count > q.cap / 2) {
            BENCH_CHECK(pthread_cond_wait(&q.not_full, &q.lock));
            ++*acquisitions;
        }
        q.waiting_producers--;
    }
    q.ring[(q.head + q.count++) % q.cap] = r;
    /* Signalled with the lock held: Helgrind calls anything else dubious. */
    if (q.waiting_consumers)
        BENCH_CHECK(pthread_cond_signal(&q.not_empty));
    BENCH_CHECK(pthread_mutex_unlock(&q.lock));
}

/* The next request, or NULL once the queue is closed and empty. */
static struct request *
queue_pop(uint64_t *acquisitions)
{
    BENCH_CHECK(pthread_mutex_lock(&q.lock));
    ++*acquisitions;
    if (q.count == 0 && !q.closed) {
        q.waiting_consumers++;
        while (q.count == 0 && !q.closed) {
            BENCH_CHECK(pthread_cond_wait(&q.not_empty, &q.lock));
            ++*acquisitions;
        }
        q.waiting_consumers--;
    }
    struct request *r = NULL;
    if (q.count) {
        r = q.ring[q.head];
        q.head = (q.head + 1) % q.cap;
        q.count--;
        if (q.waiting_producers && q.count == q.cap / 2)
            BENCH_CHECK(pthread_cond_broadcast(&q.not_full));
    }
    BENCH_CHECK(pthread_mutex_unlock(&q.lock));
    return r;
}

static void
queue_close(void)
{
    BENCH_CHECK(pthread_mutex_lock(&q.lock));
    q.closed = true;
    BENCH_CHECK(pthread_cond_broadcast(&q.not_empty));
    BENCH_CHECK(pthread_mutex_unlock(&q.lock));
}

/* ---- the work ----------------------------------------------------------- */

static uint64_t
hash_key(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

/* Byte at a time on purpose: it stands for parsing or validating a body,
 * work that touches every byte and that the compiler cannot vectorise. */
static uint64_t
digest(const unsigned char *p, size_t n)
{
    uint64_t h = 0x84222325cbf29ce4ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h ^ (h >> 31);
}

static void *
producer(void *arg)
{
    struct thread_stats *st = arg;
    uintptr_t index = (uintptr_t)(st - stats);
    uint64_t rng = bench_seed(cfg.seed, index);
    unsigned long n = cfg.items / cfg.producers + (index < cfg.items % cfg.producers);
    bench_span_start(&start, &spans[index]);
    for (unsigned long i = 0; i < n; i++) {
        struct request *r = malloc(sizeof *r + cfg.payload);
        if (!r)
            bench_die(__FILE__, __LINE__, "malloc", ENOMEM);
        /* The smaller of two draws: a few keys are hot, as in real traffic. */
        uint64_t a = bench_rand(&rng) % cfg.keys, b = bench_rand(&rng) % cfg.keys;
        int len = snprintf(r->key, sizeof r->key, "user:%08" PRIx64, (a < b ? a : b) * 2654435761u);
        r->len = (size_t)len;
        r->op = bench_rand(&rng) % 100 < cfg.writes ? OP_WRITE : OP_LOOKUP;
        for (size_t off = 0; off < cfg.payload; off += 8) {
            uint64_t w = bench_rand(&rng);
            memcpy(r->body + off, &w, cfg.payload - off < 8 ? cfg.payload - off : 8);
        }
        queue_push(r, &st->acquisitions);
    }
    bench_span_end(&spans[index]);
    return NULL;
}

/* ---- the table ---------------------------------------------------------- */

static void
table_apply(const struct request *r, uint64_t hash, uint64_t dig, struct thread_stats *st)
{
    BENCH_CHECK(pthread_rwlock_rdlock(&tab.resize));
    struct bucket *b = &tab.buckets[hash % tab.nbuckets];
    BENCH_CHECK(pthread_mutex_lock(&b->lock));
    st->acquisitions += 2;
    struct node *n = b->head;
    while (n && (n->hash != hash || strcmp(n->key, r->key)))
        n = n->next;
    if (r->op == OP_LOOKUP) {
        st->hits += n != NULL;
    } else {
        if (!n) {
            n = bench_alloc(sizeof *n);
            n->hash = hash;
            memcpy(n->key, r->key, sizeof n->key);
            n->next = b->head;
            b->head = n;
        }
        n->writes++;
        n->digest_sum += dig;
        st->writes++;
        st->digest_sum += dig;
    }
    BENCH_CHECK(pthread_mutex_unlock(&b->lock));
    BENCH_CHECK(pthread_rwlock_unlock(&tab.resize));
}

/*
 * Count every write so far under the write lock. The write lock alone
 * excludes every reader, but Helgrind orders what a read-lock holder writes
 * only after earlier writes, not after a write-lock holder's reads, and
 * reports a race that cannot happen (now and then, when nothing else
 * orders the two threads). Taking each bucket's mutex as well, in the
 * usual order, gives it that order; snapshots are rare, so it costs little.
 * main checks that no snapshot saw more writes than were made, which also
 * keeps the walk from being optimised away.
 */
static void
table_snapshot(struct thread_stats *st)
{
    uint64_t writes = 0;
    BENCH_CHECK(pthread_rwlock_wrlock(&tab.resize));
    st->acquisitions++;
    for (size_t i = 0; i < tab.nbuckets; i++) {
        struct bucket *b = &tab.buckets[i];
        BENCH_CHECK(pthread_mutex_lock(&b->lock));
        st->acquisitions++;
        for (const struct node *n = b->head; n; n = n->next)
            writes += n->writes;
        BENCH_CHECK(pthread_mutex_unlock(&b->lock));
    }
    BENCH_CHECK(pthread_rwlock_unlock(&tab.resize));
    st->snapshots++;
    if (writes > st->snapshot_max)
        st->snapshot_max = writes;
}

static void *
consumer(void *arg)
{
    struct thread_stats *st = arg;
    struct bench_span *span = &spans[st - stats];
    bench_span_start(&start, span);
    for (struct request *r; (r = queue_pop(&st->acquisitions)) != NULL; free(r)) {
        uint64_t hash = hash_key(r->key, r->len);
        uint64_t dig = digest(r->body, cfg.payload);
        table_apply(r, hash, dig, st);
        st->requests++;
        if (cfg.snapshot && st->requests % cfg.snapshot == 0)
            table_snapshot(st);
    }
    bench_span_end(span);
    return NULL;
}

int
main(int argc, char **argv)
{
    const struct bench_param params[] = {
        { "producers", &cfg.producers, 1, 1024, NULL, "threads building requests" },
        { "consumers", &cfg.consumers, 1, 1024, NULL, "threads applying them to the table" },
        { "items", &cfg.items, 1, 1000000000, NULL, "requests in all" },
        { "payload", &cfg.payload, 0, 1u << 20, NULL, "body bytes per request (the work)" },
        { "keys", &cfg.keys, 1, UINT32_MAX, NULL, "distinct keys" },
        { "buckets", &cfg.buckets, 1, 1u << 24, NULL, "hash buckets, one mutex each" },
        { "queue", &cfg.queue, 2, 1u << 20, NULL, "queue capacity" },
        { "writes", &cfg.writes, 0, 100, NULL, "percent of requests that write" },
        { "snapshot", &cfg.snapshot, 0, UINT32_MAX, NULL,
          "requests per consumer between write-locked totals (0: none)" },
        { "seed", &cfg.seed, 0, UINT32_MAX, NULL, "random seed" },
    };
    const size_t nparams = sizeof params / sizeof params[0];
    bench_parse(argc, argv,
                "Realistic benchmark: producers -> bounded queue -> consumers -> hash table\n"
                "with per-bucket mutexes under a table rwlock, real work per request.",
                params, nparams);
    bench_print_params("bench_real", params, nparams);

    q.cap = cfg.queue;
    q.ring = bench_alloc(q.cap * sizeof *q.ring);
    BENCH_CHECK(pthread_mutex_init(&q.lock, NULL));
    BENCH_CHECK(pthread_cond_init(&q.not_full, NULL));
    BENCH_CHECK(pthread_cond_init(&q.not_empty, NULL));
    tab.nbuckets = cfg.buckets;
    tab.buckets = aligned_alloc(_Alignof(struct bucket), tab.nbuckets * sizeof *tab.buckets);
    if (!tab.buckets)
        bench_die(__FILE__, __LINE__, "aligned_alloc", ENOMEM);
    memset(tab.buckets, 0, tab.nbuckets * sizeof *tab.buckets);
    for (size_t i = 0; i < tab.nbuckets; i++)
        BENCH_CHECK(pthread_mutex_init(&tab.buckets[i].lock, NULL));
    BENCH_CHECK(pthread_rwlock_init(&tab.resize, NULL));

    unsigned long nthreads = cfg.producers + cfg.consumers;
    pthread_t *tids = bench_alloc(nthreads * sizeof *tids);
    stats = bench_alloc(nthreads * sizeof *stats);
    spans = bench_alloc(nthreads * sizeof *spans);
    BENCH_CHECK(pthread_barrier_init(&start, NULL, (unsigned)nthreads));
    for (unsigned long i = 0; i < cfg.producers; i++)
        BENCH_CHECK(pthread_create(&tids[i], NULL, producer, &stats[i]));
    for (unsigned long i = cfg.producers; i < nthreads; i++)
        BENCH_CHECK(pthread_create(&tids[i], NULL, consumer, &stats[i]));

    for (unsigned long i = 0; i < cfg.producers; i++)
        BENCH_CHECK(pthread_join(tids[i], NULL));
    queue_close();
    for (unsigned long i = cfg.producers; i < nthreads; i++)
        BENCH_CHECK(pthread_join(tids[i], NULL));
    double elapsed = bench_span_elapsed(spans, nthreads);

    /* What the threads say they did against what the table holds. */
    struct thread_stats sum = { 0 };
    for (unsigned long i = 0; i < nthreads; i++) {
        sum.requests += stats[i].requests;
        sum.writes += stats[i].writes;
        sum.hits += stats[i].hits;
        sum.digest_sum += stats[i].digest_sum;
        sum.acquisitions += stats[i].acquisitions;
        sum.snapshots += stats[i].snapshots;
        if (stats[i].snapshot_max > sum.snapshot_max)
            sum.snapshot_max = stats[i].snapshot_max;
    }
    uint64_t writes = 0, digests = 0, nodes = 0;
    for (size_t i = 0; i < tab.nbuckets; i++) {
        for (struct node *n = tab.buckets[i].head, *next; n; n = next) {
            next = n->next;
            writes += n->writes;
            digests += n->digest_sum;
            nodes++;
            free(n);
        }
        BENCH_CHECK(pthread_mutex_destroy(&tab.buckets[i].lock));
    }
    BENCH_CHECK(pthread_rwlock_destroy(&tab.resize));
    BENCH_CHECK(pthread_mutex_destroy(&q.lock));
    BENCH_CHECK(pthread_cond_destroy(&q.not_full));
    BENCH_CHECK(pthread_cond_destroy(&q.not_empty));
    BENCH_CHECK(pthread_barrier_destroy(&start));
    free(tab.buckets);
    free(q.ring);
    free(tids);
    free(stats);
    free(spans);

    printf("bench_real elapsed %.6f s, %lu requests, %.0f ns per request; "
           "%" PRIu64 " keys written, %" PRIu64 " lookup hits, %" PRIu64 " snapshots; "
           "%.2f lock acquisitions per request\n",
           elapsed, cfg.items, elapsed * 1e9 / (double)cfg.items, nodes, sum.hits,
           sum.snapshots, (double)sum.acquisitions / (double)cfg.items);
    if (sum.snapshot_max > sum.writes) {
        printf("bench_real: a snapshot saw %" PRIu64 " writes of %" PRIu64 " made\n",
               sum.snapshot_max, sum.writes);
        return 1;
    }
    if (sum.requests != cfg.items || writes != sum.writes || digests != sum.digest_sum) {
        printf("bench_real: the table holds %" PRIu64 " writes (digest sum %" PRIx64
               ") of %" PRIu64 " (%" PRIx64 ") from %" PRIu64 " of %lu requests: "
               "a lock did not exclude\n",
               writes, digests, sum.writes, sum.digest_sum, sum.requests, cfg.items);
        return 1;
    }
    return 0;
}
