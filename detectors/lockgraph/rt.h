/*
 * rt.h - lockgraph's runtime: what the interposers, and the files behind
 * them, share. Nothing here is public.
 *
 * Layering (each file only calls downwards; files on one line do not call
 * each other):
 *   intercept_c11.c, intercept_sem.c   C11 <threads.h> and POSIX semaphores,
 *                through the pthread interposers' own paths (intercept.h)
 *   intercept.c, intercept_sync.c   the interposed functions (intercept.h:
 *                what they share with init.c)
 *   init.c       start (at lockgraph's constructor, or at a thread creation
 *                before it), exit and fork
 *   resolve.c    the real functions behind the interposers
 *   perturb.c    schedule perturbation: holds and spurious wake-ups (perturb.h)
 *   check.c      what an acquisition/release means: self-deadlock, edges,
 *                wait-for cycles, misuse, abandoned locks
 *   liveness.c   the monitor thread: starvation, livelock, stall
 *   report_rt.c  turning runtime state into struct lg_report and writing it
 *   locks.c      lock records by address (and the graph's lock);
 *   threads.c    thread records
 *   stack.c      stack capture, the stack depot, symbolisation
 *   mem.c        the mmap allocator and lg_mutex, the internal lock
 *   abi.c        what glibc's lock objects say (abi.h);
 *   diag.c       lockgraph's own messages (lg_die, lg_note, lg_warn_once)
 *                and its output files (lg_out_*)
 *   graph.c, report*.c, options.c, live.c  know nothing of the runtime
 *
 * Internal locks, in the only order they may be taken:
 *   report_lock -> graph_lock -> thread_lock -> lock-table shard -> depot_lock
 *   -> mem_lock; report_lock -> object lock (locks.c: conds, barriers)
 *   -> mem_lock; a thread's pend_lock (check.c) -> graph_lock, and
 *   under graph_lock and thread_lock other threads' pend_locks are only
 *   tried.
 * All are lg_mutex (a futex word), never a pthread mutex, so the checker's
 * own locking is invisible to itself and to the program. The way out
 * (lg_exit_now) only tries them, for a bounded time (report_rt.c).
 */
#ifndef LG_RT_H
#define LG_RT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "abi.h"
#include "alloc.h"
#include "graph.h"
#include "options.h"
#include "report.h"

/* Symbols the program must see: the interposers and lockgraph.h. Every
 * other symbol of the library is hidden. */
#define LG_EXPORT __attribute__((visibility("default")))
#define LG_TLS __thread __attribute__((tls_model("initial-exec")))
#define LG_LIKELY(x) __builtin_expect(!!(x), 1)
#define LG_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- diag.c: the bottom; every file may call it ------------------------ */

/* An impossible failure of the checker itself: say where, then abort. */
_Noreturn void lg_die(const char *file, int line, const char *what);
#define LG_DIE(what) lg_die(__FILE__, __LINE__, (what))
/* Say once that a bounded table ran out (lockdep's "BUG: MAX_... too low"),
 * then carry on: the program must keep running. */
void lg_warn_once(atomic_bool *said, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A message from lockgraph itself (not a report), to the log. */
void lg_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Text for the log: the log= file, or standard error (also when the log
 * cannot be written). */
void lg_log_write(const char *data, size_t len);
/* Keep a copy of standard error, for when the program closes fd 2 before
 * lockgraph's last words (at start); drop it in a fork child. */
void lg_diag_keep_stderr(void);
void lg_diag_atfork_child(void);
/* At the end: if text to standard error was dropped, wait once more (up
 * to output_timeout_ms) for its reader, and say how much was lost. */
void lg_diag_last_words(void);

/* lockgraph's output files, one per option. Writes are checked (the first
 * failure of each output is said on standard error), never block on a
 * reader longer than output_timeout_ms, and go to the file lockgraph
 * opened even if the program closed or reused its descriptor (diag.c). */
enum lg_out_id { LG_OUT_LOG, LG_OUT_JSON, LG_OUT_SARIF, LG_OUT_DOT, LG_NOUTS };
/* Open the output now rather than at its first write. 0, also for a FIFO
 * without a reader (said; tried again at each write), or -errno for a path
 * that cannot be opened, which is left to the caller to say. */
int lg_out_open(enum lg_out_id id);
/* Append; 0 or -errno (-EBADF: not open, or dropped). */
int lg_out_write(enum lg_out_id id, const char *data, size_t len);
/* Replace the whole content of a regular file (truncate, then write); a
 * FIFO or a device just gets the data. 0 or -errno. */
int lg_out_replace(enum lg_out_id id, const char *data, size_t len);
/* Whether the output is a regular file (can be rewritten whole later). */
bool lg_out_rewritable(enum lg_out_id id);

/* The settings every file reads (defined in diag.c). */
extern struct lg_options lg_opt;
extern atomic_bool lg_active; /* false before init, after exit began, or when disabled */

/* Monotonic time in nanoseconds. */
static inline uint64_t
lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- mem.c -------------------------------------------------------------- */

/* A futex lock: 0 free, 1 locked, 2 locked with waiters. */
typedef struct {
    atomic_int word;
} lg_mutex;
#define LG_MUTEX_INIT { 0 }
void lg_mutex_lock(lg_mutex *m);
/* How many pauses a contended lg_mutex_lock spins before it sleeps (200;
 * perturbation sets 0: there the holds decide which thread runs, and a
 * waiter spinning on a 2-core machine takes the core from the thread a
 * hold lets go: double_checked_init's perturbed symptom rate fell from
 * 15-18 of 20 to 4-10 of 20 with the spin). Set before any thread. */
extern int lg_mutex_spin;
void lg_mutex_unlock(lg_mutex *m);
void lg_mutex_reset(lg_mutex *m); /* in a fork child: whoever held it is gone */
/* Take m if it is free (0 -> 1, as lg_mutex_lock's uncontended path);
 * false if somebody holds it. For exit paths that must not wait forever. */
static inline bool
lg_mutex_trylock(lg_mutex *m)
{
    int free_word = 0;
    return atomic_compare_exchange_strong_explicit(&m->word, &free_word, 1,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* Non-zero while lockgraph itself is at work on this thread: every
 * interposed call it makes then goes straight to the real function
 * (intercept.h's enter() and leave() set and clear it). */
extern LG_TLS int lg_busy;

/*
 * Cancellation. lockgraph's own work must never be where the program's
 * thread is cancelled: a report writes, opens, reads and waits for
 * addr2line (all cancellation points), inside calls such as
 * pthread_mutex_lock that natively are none, and a thread cancelled there
 * would die holding an internal lock and the program's. So the first
 * internal lock a thread takes disables cancellation
 * (pthread_setcancelstate) and makes it deferred (pthread_setcanceltype:
 * glibc 2.36 does not hold off an asynchronous cancel by the state alone),
 * so that no cancel acts while an internal lock is held. The caller's state comes back
 * once the thread holds no internal lock and is no longer busy: at the
 * last lg_mutex_unlock() outside lockgraph's work, or at leave(), which
 * calls lg_cancel_restore() when lg_cancel_saved says there is a state to
 * restore. A pending cancel then acts at the program's next cancellation
 * point, as it would natively.
 */
extern LG_TLS bool lg_cancel_saved;
void lg_cancel_restore(void);

void *lg_mem_alloc(size_t size); /* zeroed; NULL when the system is out of memory */
void lg_mem_free(void *p, size_t size);
size_t lg_mem_mapped(void); /* bytes lockgraph has mapped now (its whole footprint) */
#define LG_MEM_CHUNK ((size_t)2 << 20) /* the unit small blocks are mapped in */
extern const struct lg_alloc lg_mem; /* the same, as an injectable allocator */
void lg_mem_atfork_prepare(void);
void lg_mem_atfork_parent(void);
void lg_mem_atfork_child(void);

struct lg_lock;

/* ---- stack.c ------------------------------------------------------------ */

typedef uint32_t lg_stack_id; /* 0: none */

/* Capture the caller's stack, skipping `skip` innermost frames, into the
 * depot (deduplicated). Returns 0 when the depot is full. */
lg_stack_id lg_stack_capture(int skip);
/* A one-frame stack from a single return address. */
lg_stack_id lg_stack_from_pc(uintptr_t pc);
/* Symbolised frames of a stack, valid until exit (cached). */
struct lg_stack lg_stack_get(lg_stack_id id);
/* The name of a global lock: "name", "name[i]" in an array of objects of
 * elem_size bytes, or "name+offset"; NULL when not a global. */
const char *lg_symbolize_data(uintptr_t addr, size_t elem_size);
void lg_stack_init(void);
void lg_stack_atfork_prepare(void);
void lg_stack_atfork_parent(void);
void lg_stack_atfork_child(void);

/* ---- threads.c ---------------------------------------------------------- */

enum lg_mode { LG_EXCL = 0, LG_SHARED = 1 };

/* One lock this thread holds, innermost last. */
struct lg_held {
    struct lg_lock *lock;
    uintptr_t addr;     /* the lock's address: the unlock fast path's key */
    uint64_t uid;       /* the lock's identity when taken */
    uint64_t chain;     /* hash of this entry and every one below it */
    lg_held_id hid;     /* the graph's held set of this entry and every one
                         * below it, once computed (0: not yet; a stale id is
                         * recognised with lg_graph_held_live()) */
    uintptr_t site;     /* return address of the acquiring call */
    uint8_t mode;       /* enum lg_mode */
    bool trylock;       /* taken by a trylock: no edge into it */
    bool spin;          /* a spinlock: its owner is recorded */
    lg_stack_id stack;  /* the acquisition's whole stack, 0 unless held_stacks=1 */
};

/* Where a held lock was taken, for a report or an edge's evidence: the
 * whole stack when held_stacks=1 recorded it, else its call site alone. */
static inline lg_stack_id
lg_held_stack(const struct lg_held *h)
{
    return h->stack ? h->stack : lg_stack_from_pc(h->site);
}

/* What a thread is blocked in, for deadlock and stall reports. */
enum lg_wait_kind {
    LG_WAIT_NONE = 0,
    LG_WAIT_LOCK,       /* mutex, rwlock, spinlock acquisition */
    LG_WAIT_COND,       /* pthread_cond_wait (untimed) */
    LG_WAIT_JOIN,       /* pthread_join */
    LG_WAIT_BARRIER,    /* pthread_barrier_wait */
    LG_WAIT_SEM,        /* sem_wait (untimed) */
    LG_WAIT_COND_DESTROY, /* pthread_cond_destroy, waiting for waiters to leave */
};

struct lg_thread {
    uint32_t num;              /* T<num>; 1 is the first thread seen (main) */
    pid_t tid;
    uintptr_t handle;          /* its pthread_t */
    atomic_bool alive;
    uint32_t creator;          /* T<num> of the creating thread, 0 unknown */
    lg_stack_id created_at;
    /* The lowest address of its stack, about (0: unknown, as for the main
     * thread): a report on a thread with little stack left is built on
     * one of lockgraph's own (report_rt.c). */
    uintptr_t stack_low;
    /* The epoch at which this thread was created (threads.c keeps the
     * thread order, past the record's life, in a table by number). */
    uint32_t create_epoch;
    /* The stack captured for the last new lock chain (check.c's add_edges),
     * and what identifies the activation it was taken in. */
    uintptr_t cap_site, cap_frame;
    uint64_t cap_chain;
    uint32_t cap_depth;
    lg_stack_id cap_stack;

    /* Held locks. Only the thread itself writes them; other threads read
     * them only when this thread is blocked for good (deadlock report). */
    struct lg_held *held;
    uint32_t nheld, held_cap;
    /* Chains noted, not stored yet (below): changed under pend_lock, read
     * without it by the thread itself. */
    atomic_uint npend;

    /* Chains (held stack + new lock) whose edges are already in the graph:
     * an open-addressing set of hashes, private to the thread. */
    uint64_t *chains;
    uint32_t nchains, chain_cap;

    /* Last locks looked up by address: 64 sets of two (lg_cache_get). */
    struct lg_cache_entry {
        uintptr_t addr;
        struct lg_lock *lock;
        uint64_t uid;
    } cache[64][2];

    /* Blocking state, written by the thread, read by the checker's other
     * threads (deadlock search, liveness monitor). */
    _Atomic(struct lg_lock *) waiting_for;
    atomic_uint_fast64_t waiting_uid;
    atomic_int wait_kind;         /* enum lg_wait_kind */
    atomic_uintptr_t wait_object; /* the cond/barrier/sem/thread waited on */
    atomic_uint_fast64_t wait_since_ns;
    atomic_uint wait_stack;       /* lg_stack_id, captured once blocked a while */
    uint8_t wait_mode;
    atomic_bool wait_timed;       /* the wait has a deadline: it ends by itself */
    /* The object waited on is process-shared: a thread of another process,
     * which lockgraph cannot see, may end the wait. */
    atomic_bool wait_external;
    uint64_t dl_sig, dl_since_ns; /* the wait-for cycle seen last, and since when */
    /* When a lock wait last polled (every slice, lg_wait_poll): a thread
     * that a signal handler's siglongjmp took out of the wait never ends
     * it, and stops polling. */
    atomic_uint_fast64_t wait_polled_ns;
    uint64_t cond_gen;            /* lg_cond_enter's *gen for the wait under way */
    uint8_t exit_rounds;          /* destructor rounds its exit was put off (init.c) */

    atomic_uintptr_t wait_site;   /* return address of the blocking call */

    /* Liveness counters (liveness.c), written by the thread only, read by
     * the monitor without locks. */
    atomic_uint_fast64_t failed_trys;   /* trylocks that failed */
    atomic_uint_fast64_t backoffs;      /* releases after a failed try */
    bool failed_since_release;
    atomic_uint_fast64_t progress_marks;/* lg_progress() calls */
    _Atomic(struct lg_lock *) trying;   /* lock it keeps retrying, NULL none */
    atomic_uint_fast64_t trying_uid;
    atomic_uint_fast64_t trying_since_ns;
    atomic_uint trying_stack;
    atomic_long trying_blocker_tid;     /* who held it at the last failure */
    /* Per lock, for the locks used last (direct mapped by uid): grants,
     * and, over the lock waits and retry episodes that are over, the time
     * spent wanting it and its grants to other threads meanwhile (the
     * monitor adds the wait or episode under way). Only for watched locks. */
    struct {
        atomic_uint_fast64_t uid, grants, want_ns, bypass;
    } lock_grants[16];
    /* The lock's grant count when the retry episode, and the lock wait,
     * under way began (wait_counted: the wait is this thread's own, not
     * part of a retry episode on the same lock). */
    atomic_uint_fast64_t trying_grants0, wait_grants0;
    atomic_bool wait_counted;

    /* New chains whose graph work waits until the thread has released its
     * last lock (check.c: lg_pend_flush). pend_lock serialises the owner
     * with a thread that flushes them for it at exit. evid: the edges
     * (pairs of graph nodes) the graph has this thread's evidence for, an
     * open-addressing set of hashes, private to the thread. */
    lg_mutex pend_lock;
    unsigned char *pend;
    size_t pend_bytes, pend_used;
    uint64_t *evid;
    uint32_t nevid, evid_cap;

    bool chained;              /* it recorded a lock chain: graph edges may
                                * carry its number, so reports may name it
                                * after it is gone (threads.c's archive) */
    struct lg_thread *next, *prev; /* registry list, newest first */
};

/* This thread's record, created on first use. NULL while lockgraph cannot
 * run (out of memory), and once the thread's record is retired (it is on
 * its way out: lockgraph no longer follows it). */
extern LG_TLS struct lg_thread *lg_tls_self;
struct lg_thread *lg_self_slow(void);
static inline struct lg_thread *
lg_self(void)
{
    struct lg_thread *t = lg_tls_self;
    return LG_LIKELY(t != NULL) ? t : lg_self_slow();
}
static inline struct lg_thread *
lg_self_peek(void)
{
    return lg_tls_self;
}
/*
 * The record's part of a thread's way out (check.c's lg_thread_exit()
 * first reports what the thread abandoned), on the thread itself: the
 * record is retired, to serve a thread created later, and the thread is no
 * longer followed. What a report may still need of it (number, tid,
 * creator, creation stack) stays in a small archive if it recorded a lock
 * chain (only then can graph edges name it). Memory is thus bounded by the
 * threads alive at once, plus 16 bytes per chained thread that ever was.
 */
void lg_thread_exiting(struct lg_thread *t);
/* Walk the registry (live records: threads alive, or exiting and not yet
 * retired) under the registry lock. */
void lg_threads_each(void (*fn)(struct lg_thread *t, void *ctx), void *ctx);
/* A copy of what T<num>'s record says, or said when it was retired (then
 * only num, tid, creator, created_at; alive false); NULL if lockgraph
 * kept nothing of it. A snapshot taken under the registry lock, so that a
 * record recycled meanwhile is never read as the old thread's; it lasts
 * until the 8th call after (report_rt.c, under report_lock, reads it at
 * once). */
struct lg_thread *lg_thread_by_num(uint32_t num);
/* A live record. It may be retired and recycled as soon as its thread has
 * exited, so a caller that reads it later must expect another thread's
 * state there (the deadlock search looks it up again at every poll and
 * wants the same cycle for deadlock_ms). */
struct lg_thread *lg_thread_by_tid(long tid);
/* Numbers in creation order: pthread_create() takes the next one and the
 * new thread, before anything else, promises it to its record. */
uint32_t lg_thread_number_next(void);
void lg_thread_number_promise(uint32_t num);
uint32_t lg_threads_alive(void);
uint32_t lg_threads_seen(void); /* thread records ever made */
/* When the last thread exited (lg_now_ns()), 0 before any did. Read it
 * after sampling the threads: an exit is stored before the thread stops
 * counting as alive. */
uint64_t lg_threads_last_exit_ns(void);
/* Run fn() once, when the process first needs a thread of lockgraph's:
 * at its next thread creation (lg_thread_creating), or at the next watched
 * wait (lg_wait_begin) of its one thread, unless that is a lock wait while
 * it holds a lock. init.c starts the liveness monitor that way, in the
 * process and again in a fork child: a program that never runs a second
 * thread keeps glibc's single-threaded paths (malloc's among them), a
 * child that execs at once never starts a thread, and a single thread
 * that waits for ever is still reported. A lock wait with a lock held is
 * left out: the thread may be inside an allocator that locks (jemalloc),
 * whose lock creating a thread would need. */
void lg_threads_at_next_wait_or_create(void (*fn)(void));
void lg_thread_wait_begins(const struct lg_thread *t, bool lock_wait);
/* The pthread key whose destructor tells lockgraph a thread is exiting. */
void lg_threads_set_exit_key(unsigned key);
void lg_threads_atfork_prepare(void);
void lg_threads_atfork_parent(void);
void lg_threads_atfork_child(void);

/* The hash of a held-stack entry: the lock and mode, over everything below. */
static inline uint64_t
lg_chain_hash(uint64_t below, uint64_t uid, enum lg_mode mode)
{
    uint64_t h = below ^ (uid * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)mode << 63);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return h | 1; /* 0 marks an empty slot */
}

/* The chain this thread would have after taking l in `mode`. */
static inline uint64_t
lg_chain_for(const struct lg_thread *t, uint64_t uid, enum lg_mode mode)
{
    return lg_chain_hash(t->nheld ? t->held[t->nheld - 1].chain : 0, uid, mode);
}

/* ---- locks.c ------------------------------------------------------------ */

enum lg_lock_type {
    LG_MUTEX_NORMAL,
    LG_MUTEX_RECURSIVE,
    LG_MUTEX_ERRORCHECK,
    LG_RWLOCK,
    LG_SPINLOCK,
    /* A POSIX semaphore that behaves as a binary lock (intercept_sem.c says
     * when): set up by sem_init to 1, never posted above 1, each post by the
     * thread that took it. Its owner is lockgraph's belief (`owner`), which
     * counts only while the semaphore's value agrees (0: taken). The moment
     * it behaves otherwise it is a signal, and its record is forgotten. */
    LG_SEMAPHORE,
};

struct lg_lock {
    atomic_uintptr_t addr;     /* read without locks: see locks.c */
    atomic_uint_fast64_t uid;  /* identity: new for every init/first sight,
                                * 0 while the record is free */
    uint64_t id;               /* L<id> in reports */
    uint8_t type;              /* enum lg_lock_type */
    bool robust;
    /* Set up PTHREAD_PROCESS_SHARED: threads of other processes take and
     * release it too, unseen (lockgraph sees this process only). */
    bool pshared;
    /* Some thread waited for this lock or failed to get it: from then on
     * its grants are counted, for the liveness monitor. Other locks cost
     * the lock path nothing. */
    atomic_bool watched;
    /* A semaphore lock: posted by the thread that took it at least once, so
     * seen to behave as a lock (check.c holds back a cycle through one
     * that was not, yet). */
    atomic_bool sem_proven;
    lg_node_id node;           /* graph node, 0 until the lock is in an edge;
                                * written under graph_lock, atomically: a
                                * thread noting a new chain reads it
                                * without (lg_lock_node_peek) */
    uintptr_t init_site;       /* return address of init, or of first use */

    /* The owner of a spinlock or a semaphore lock (neither says who holds
     * it). Mutexes and rwlocks carry their owner's tid themselves:
     * lg_lock_owner_tid(). */
    _Atomic(struct lg_thread *) owner;
    /* rwlocks: acquisitions lockgraph saw minus releases (glibc's reader
     * count can be corrupted by a bad unlock; this one cannot). */
    atomic_int holders;

    struct lg_lock *_Atomic next; /* hash chain; records are never unmapped */
    struct lg_lock *free_next;    /* free list of recycled records */

    /* Threads now waiting for it or retrying it, and, while there are any,
     * its grants (a relaxed store by the new holder: exclusive grants are
     * serialised by the lock itself; concurrent read grants may be
     * undercounted). A waiter's bypasses are the difference between two
     * readings. Never reset: a recycled record keeps counting up. They are
     * written while threads wait, so they sit 64 bytes or more past what
     * every acquisition reads (addr to watched): never on the same cache
     * line, however the record is aligned. */
    char apart[20];
    atomic_uint waiters;
    atomic_uint_fast64_t grants;
};
_Static_assert(offsetof(struct lg_lock, waiters) >= offsetof(struct lg_lock, watched) + 64,
               "a lock record's waiters share a cache line with what lookups read");
_Static_assert(sizeof(struct lg_lock) <= 128, "a lock record outgrew its 128-byte block");

/* The lock-order graph, and the lock that serialises it (locks.c owns
 * them: it maps locks to graph nodes). */
extern lg_mutex lg_graph_lock;
extern struct lg_graph *lg_graph;

void lg_locks_init(void);
/* What a lock's record keeps besides its type (the `flags` below): a
 * robust mutex, a process-shared lock. */
enum { LG_LOCK_ROBUST = 1, LG_LOCK_PSHARED = 2 };
/* The record for the lock at addr, created if it is the first time
 * lockgraph sees it (a statically initialised lock). NULL if out of memory.
 * `t` may be NULL (no per-thread cache then). */
struct lg_lock *lg_lock_get(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type,
                            unsigned flags, uintptr_t site);
/* The record if one exists, without creating it: the thread's cache
 * first, then the table. */
struct lg_lock *lg_lock_find_slow(struct lg_thread *t, uintptr_t addr);
static inline unsigned
lg_cache_slot(uintptr_t addr)
{
    return (unsigned)((addr >> 4) ^ (addr >> 10)) & 63;
}
/*
 * The cached record of the lock at addr, and the identity it was cached
 * with (*uid); NULL when not cached, or cached under an identity that has
 * ended. Two ways per set: an array of locks maps to all but a few sets
 * (64 mutexes 64 bytes apart land in 58-64 of the 64, by where the array
 * sits), and with one way two locks that a thread takes together evicted
 * each other at every turn, each time through the full path (1.75% of the
 * lock-heavy benchmark's acquisitions in one layout). The newest entry is
 * way 0, so the fast path's probe usually ends there.
 */
static inline __attribute__((always_inline)) struct lg_lock *
lg_cache_get(const struct lg_thread *t, uintptr_t addr, uint64_t *uid)
{
    const struct lg_cache_entry *set = t->cache[lg_cache_slot(addr)];
    for (int way = 0; way < 2; way++) {
        struct lg_lock *l = set[way].lock;
        /* Same identity (uid) means the same lock, at the same address. */
        if (LG_LIKELY(l && set[way].addr == addr
                      && atomic_load_explicit(&l->uid, memory_order_relaxed) == set[way].uid)) {
            *uid = set[way].uid;
            return l;
        }
    }
    return NULL;
}
static inline struct lg_lock *
lg_lock_find(struct lg_thread *t, uintptr_t addr)
{
    uint64_t uid;
    struct lg_lock *l = LG_LIKELY(t != NULL) ? lg_cache_get(t, addr, &uid) : NULL;
    return LG_LIKELY(l != NULL) ? l : lg_lock_find_slow(t, addr);
}
/* A lock (re)initialised at addr: a new identity, whatever was there. */
struct lg_lock *lg_lock_init(struct lg_thread *t, uintptr_t addr, enum lg_lock_type type,
                             unsigned flags, uintptr_t site);
/* The lock is destroyed: the identity `uid` ends, and so does its graph
 * node. Nothing happens if the record no longer has that identity (a stale
 * pointer to a record already recycled). */
void lg_lock_forget(struct lg_lock *l, uint64_t uid);
/* The lock object was set up anew behind lockgraph's back (the real lock
 * word contradicts what lockgraph believed of it): the record stays, with a
 * new identity and no graph node. False if the record no longer had `uid`. */
bool lg_lock_renew(struct lg_lock *l, uint64_t uid);
/* Memory [lo, hi) is gone (munmap, dlclose, mmap over it): forget every
 * lock, condition-variable and barrier record in it. Cheap when the range
 * held none. Returns how many lock records went. */
uint64_t lg_locks_forget_range(uintptr_t lo, uintptr_t hi);
/* The same for a heap block free() gives back: per 256-byte line, and only
 * the buckets of the block's own addresses, so that a free of a block near no
 * lock costs one read of a small table (lg_locks_block_may_hold), and one
 * near locks a few buckets. */
bool lg_locks_block_may_hold(uintptr_t lo, uintptr_t hi);
uint64_t lg_locks_forget_block(uintptr_t lo, uintptr_t hi);

/* Where a lock at addr was last destroyed (0: not among the last few). */
void lg_lock_note_destroyed(uintptr_t addr, uintptr_t site);
uintptr_t lg_lock_destroyed_at(uintptr_t addr);

/* Condition variables while waited on, barriers from init to destroy. */
struct lg_obj_info {
    bool known;         /* lockgraph has a record (barrier: saw its init) */
    uint64_t id;        /* C<id> / B<id> in reports */
    uintptr_t mutex;    /* cond: the mutex its waiters use */
    uint32_t inside;    /* threads inside a wait on it */
    uint32_t count;     /* barrier: its count */
    uintptr_t init_site;
};
/* A wait on cond c with mutex m begins; false (and *other) when threads
 * already wait on c with another mutex. An untimed wait is counted as
 * blocked until a signal or broadcast on c follows its start: *gen is what
 * lg_cond_leave is given back (0: not counted). */
bool lg_cond_enter(uintptr_t c, uintptr_t m, bool untimed, uint64_t *gen, uintptr_t *other);
void lg_cond_leave(uintptr_t c, uint64_t gen);
/* A signal or broadcast on c: the waits counted as blocked are not any more
 * (a signal wakes at least one waiter; which one is unknown, so none stays
 * certain). One relaxed load when no untimed wait is counted anywhere. */
void lg_cond_woken(uintptr_t c);
/* Untimed waits on c that no signal or broadcast has followed: threads
 * certainly blocked on c, for pthread_cond_destroy. */
uint32_t lg_cond_blocked(uintptr_t c);
/* Barrier b is set up with count (what lockgraph knew of it before), or
 * destroyed (what it knew), or waited at. */
struct lg_obj_info lg_barrier_init_rec(uintptr_t b, unsigned count, uintptr_t site);
struct lg_obj_info lg_barrier_destroy_rec(uintptr_t b);
void lg_barrier_enter(uintptr_t b, unsigned count);
void lg_barrier_leave(uintptr_t b);
struct lg_obj_info lg_barrier_info(uintptr_t b);
static inline uintptr_t
lg_lock_addr(const struct lg_lock *l)
{
    return atomic_load_explicit(&l->addr, memory_order_relaxed);
}
static inline uint64_t
lg_lock_uid(const struct lg_lock *l)
{
    return atomic_load_explicit(&l->uid, memory_order_relaxed);
}
/* Under lg_graph_lock: the graph node of a lock (created on first use),
 * and the lock of a node (NULL once it is gone). */
lg_node_id lg_lock_node(struct lg_lock *l);
/* Without the lock: the node the lock has now, 0 if none (a node is never
 * reused, so a stale one is recognised by the graph). */
static inline lg_node_id
lg_lock_node_peek(const struct lg_lock *l)
{
    return __atomic_load_n(&l->node, __ATOMIC_RELAXED);
}
struct lg_lock *lg_lock_by_node(lg_node_id node);
const char *lg_lock_type_name(const struct lg_lock *l);
/* The owner's tid, as the lock object says (a mutex, an rwlock's writer)
 * or as lockgraph saw it (a spinlock, which does not say); 0 none. */
long lg_lock_owner_tid(const struct lg_lock *l);
/* The size of the pthread object behind a lock. */
size_t lg_lock_object_size(const struct lg_lock *l);
uint64_t lg_locks_live(void);
uint64_t lg_locks_seen(void); /* lock identities (L<id>) handed out so far */
void lg_locks_each(void (*fn)(struct lg_lock *l, void *ctx), void *ctx);
void lg_locks_atfork_prepare(void);
void lg_locks_atfork_parent(void);
void lg_locks_atfork_child(void);

/* ---- held stacks and chains (threads.c; inline: the per-acquire path) -- */

bool lg_held_grow(struct lg_thread *t);
/* Forget the chains already recorded (the thread's epoch moved on). */
void lg_chains_reset(struct lg_thread *t);

/* Thread order. The epoch is a clock that moves at every thread creation
 * and join; edge labels carry it, so that a cycle whose orders were taken
 * by threads that could not overlap (created after one exited and was
 * joined, say) is told from one this run could have deadlocked on. */
uint32_t lg_epoch_now(void);
/* t is about to create a thread: the epoch the child is born at. */
uint32_t lg_thread_creating(struct lg_thread *t);
/* The new thread t learned its creator: it becomes one of its children. */
void lg_thread_link_child(struct lg_thread *t);
/* t joined the thread whose pthread_t is `handle`, at `site`. */
void lg_thread_joined(struct lg_thread *t, uintptr_t handle, uintptr_t site);
/* Whether every acquisition behind label a happened before every one
 * behind label b, by thread creation and join; the reason when it did. */
bool lg_labels_ordered(const struct lg_edge_label *a, const struct lg_edge_label *b,
                       char *why, size_t whylen);
void lg_held_remove(struct lg_thread *t, uint32_t i);
bool lg_chain_insert(struct lg_thread *t, uint64_t chain);

/* The innermost entry for lock l (with its current identity), or NULL. */
static inline struct lg_held *
lg_held_find(struct lg_thread *t, const struct lg_lock *l)
{
    uint64_t uid = atomic_load_explicit(&l->uid, memory_order_relaxed);
    for (uint32_t i = t->nheld; i-- > 0;)
        if (t->held[i].lock == l && t->held[i].uid == uid)
            return &t->held[i];
    return NULL;
}

/* Push l; `chain` is lg_chain_for() of it. False when out of memory. */
static inline __attribute__((always_inline)) bool
lg_held_push(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode, bool trylock,
             uintptr_t site, uint64_t chain)
{
    if (LG_UNLIKELY(t->nheld == t->held_cap) && !lg_held_grow(t))
        return false;
    struct lg_held *e = &t->held[t->nheld++];
    /* One initializer: the flags and the zeroes go in as few stores as
     * the compiler can merge (7 instructions fewer than field by field). */
    *e = (struct lg_held){ .lock = l, .addr = atomic_load_explicit(&l->addr, memory_order_relaxed),
                           .uid = atomic_load_explicit(&l->uid, memory_order_relaxed),
                           .chain = chain, .site = site, .mode = (uint8_t)mode,
                           .trylock = trylock, .spin = l->type == LG_SPINLOCK };
    /* Off by default: a capture costs far more than the rest of the push. */
    if (LG_UNLIKELY(lg_opt.held_stacks))
        e->stack = lg_stack_capture(0);
    return true;
}

/* Drop the entries whose lock lost its identity under this thread (it was
 * destroyed, or a semaphore lock it took was posted by another thread and
 * became a signal): they order nothing, and only this thread can remove
 * them. */
static inline void
lg_held_drop_stale(struct lg_thread *t)
{
    for (uint32_t i = t->nheld; i-- > 0;)
        if (t->held[i].uid != atomic_load_explicit(&t->held[i].lock->uid, memory_order_relaxed))
            lg_held_remove(t, i);
}

/* Remove the innermost entry for lock l (usually the top); false if not
 * held. */
static inline bool
lg_held_pop(struct lg_thread *t, struct lg_lock *l, struct lg_held *out)
{
    uint64_t uid = atomic_load_explicit(&l->uid, memory_order_relaxed);
    if (LG_LIKELY(t->nheld && t->held[t->nheld - 1].lock == l
                  && t->held[t->nheld - 1].uid == uid)) {
        if (out)
            *out = t->held[t->nheld - 1];
        t->nheld--;
        return true;
    }
    struct lg_held *e = lg_held_find(t, l);
    if (!e)
        return false;
    if (out)
        *out = *e;
    lg_held_remove(t, (uint32_t)(e - t->held));
    return true;
}

/* Whether this thread already recorded the chain: the first few slots of
 * its probe sequence (the set is at most half full, so that is nearly
 * always enough; a miss here only means "take the full path"). */
static inline bool
lg_chain_known(const struct lg_thread *t, uint64_t chain)
{
    if (LG_UNLIKELY(t->chain_cap == 0))
        return false;
    uint32_t mask = t->chain_cap - 1, j = (uint32_t)(chain >> 32) & mask;
    for (int probe = 0; probe < 4; probe++, j = (j + 1) & mask) {
        if (t->chains[j] == chain)
            return true;
        if (t->chains[j] == 0)
            return false;
    }
    return false;
}

/* Whether the chain's edges are already in the graph; adds it when not
 * (and returns false then). */
static inline bool
lg_chain_seen(struct lg_thread *t, uint64_t chain)
{
    return lg_chain_known(t, chain) || !lg_chain_insert(t, chain);
}

/* The thread's grant slot for lock `uid`: a small direct-mapped table
 * private to the thread (only it writes it: plain relaxed stores). A lock
 * that takes over a slot starts from zero there. */
static inline unsigned
lg_grant_slot(struct lg_thread *t, uint64_t uid)
{
    unsigned slot = (unsigned)(uid ^ (uid >> 7)) & 15;
    if (LG_UNLIKELY(atomic_load_explicit(&t->lock_grants[slot].uid, memory_order_relaxed)
                    != uid)) {
        atomic_store_explicit(&t->lock_grants[slot].grants, 0, memory_order_relaxed);
        atomic_store_explicit(&t->lock_grants[slot].want_ns, 0, memory_order_relaxed);
        atomic_store_explicit(&t->lock_grants[slot].bypass, 0, memory_order_relaxed);
        atomic_store_explicit(&t->lock_grants[slot].uid, uid, memory_order_relaxed);
    }
    return slot;
}

/* Add to one of this thread's own counters (only it writes them). */
static inline void
lg_add_own(atomic_uint_fast64_t *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* The thread starts wanting l (a lock wait, or a retry episode): it counts
 * among l's waiters, and l's grants from now on are bypasses of it. Returns
 * l's grant count now. */
static inline uint64_t
lg_want_begin(struct lg_lock *l)
{
    if (!lg_opt.liveness)
        return 0; /* nobody judges starvation: no counting (begin, leave
                   * and end all skip, for the whole process) */
    atomic_fetch_add_explicit(&l->waiters, 1, memory_order_relaxed);
    return atomic_load_explicit(&l->grants, memory_order_relaxed);
}

/* It no longer counts among l's waiters (never below zero: the record may
 * have been recycled under a stale pointer). */
static inline void
lg_want_leave(struct lg_lock *l)
{
    if (!lg_opt.liveness)
        return;
    unsigned n = atomic_load_explicit(&l->waiters, memory_order_relaxed);
    while (n && !atomic_compare_exchange_weak_explicit(&l->waiters, &n, n - 1,
                                                       memory_order_relaxed,
                                                       memory_order_relaxed))
        ;
}

/* The thread stops wanting the lock of `slot` (l), which it wanted since
 * since_ns, when l had been granted grants0 times: add the time, and l's
 * grants to others meanwhile, to the slot (the liveness monitor's share
 * rule), and leave l's waiters. */
static inline void
lg_want_end(struct lg_thread *t, unsigned slot, struct lg_lock *l, uint64_t since_ns,
            uint64_t grants0)
{
    if (!lg_opt.liveness)
        return;
    uint64_t now = lg_now_ns();
    uint64_t grants = atomic_load_explicit(&l->grants, memory_order_relaxed);
    lg_add_own(&t->lock_grants[slot].want_ns, now > since_ns ? now - since_ns : 0);
    lg_add_own(&t->lock_grants[slot].bypass, grants > grants0 ? grants - grants0 : 0);
    lg_want_leave(l);
}

/* What a successful acquisition records: the held stack, a spinlock's
 * owner, the thread's grant count for the lock (the liveness monitor reads
 * it), and the end of a retry episode on this lock. Inline, always (clang
 * kept it out of line, a call and 7 saved registers on every lock): it is
 * half of every lock operation. */
static inline __attribute__((always_inline)) void
lg_acquired(struct lg_thread *t, struct lg_lock *l, uint64_t uid, enum lg_mode mode,
            bool trylock, uintptr_t site, uint64_t chain)
{
    lg_held_push(t, l, mode, trylock, site, chain);
    if (LG_UNLIKELY(l->type == LG_SPINLOCK))
        atomic_store_explicit(&l->owner, t, memory_order_relaxed);
    if (LG_LIKELY(!atomic_load_explicit(&l->watched, memory_order_relaxed)))
        return; /* nobody ever waited for it: no grants to count */
    unsigned slot = lg_grant_slot(t, uid);
    lg_add_own(&t->lock_grants[slot].grants, 1);
    /* A watched lock is the only kind a retry episode can be about. Its
     * end (rare: it followed a failed try) adds the episode to what the
     * thread wanted the lock, before the episode stops showing. */
    if (LG_UNLIKELY(atomic_load_explicit(&t->trying, memory_order_relaxed) == l)) {
        lg_want_end(t, slot, l, atomic_load_explicit(&t->trying_since_ns, memory_order_relaxed),
                    atomic_load_explicit(&t->trying_grants0, memory_order_relaxed));
        atomic_store_explicit(&t->trying, NULL, memory_order_release);
    }
    /* A grant that passes the threads waiting for l: one relaxed store,
     * made only while somebody waits. */
    if (atomic_load_explicit(&l->waiters, memory_order_relaxed))
        lg_add_own(&l->grants, 1);
}

/* ---- check.c ------------------------------------------------------------ */


enum lg_acquire_how { LG_BLOCKING, LG_TRY, LG_TIMED };

/* Before an acquisition: the self-deadlock check (a blocking one that can
 * never succeed is reported and the process exits) and the lock-order
 * edges. Returns the chain the thread will have once it holds the lock,
 * for lg_after_acquire(). */
uint64_t lg_before_acquire(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode,
                           enum lg_acquire_how how, uintptr_t site);
/* After a successful acquisition (0, or EOWNERDEAD for robust mutexes). */
void lg_after_acquire(struct lg_thread *t, struct lg_lock *l, enum lg_mode mode,
                      enum lg_acquire_how how, uintptr_t site, uint64_t chain);
/* After a failed trylock/timed attempt (for the liveness monitor). */
void lg_after_failed_try(struct lg_thread *t, struct lg_lock *l, uintptr_t site);
/* Before a release: misuse checks, and the held stack. `real_owner_tid` is
 * what the lock object itself says (0: not locked, -1: unknown). */
void lg_before_release(struct lg_thread *t, struct lg_lock *l, uintptr_t addr,
                       long real_owner_tid, bool real_locked, uintptr_t site);
/* Before destroy: the destroy-locked check. After a destroy that worked:
 * the identity ends (a new lock at the same address is another lock). */
void lg_before_destroy(struct lg_thread *t, struct lg_lock *l, uintptr_t addr,
                       bool real_locked, long real_owner_tid, uintptr_t site);
void lg_after_destroy(struct lg_thread *t, struct lg_lock *l, uint64_t uid);
/* Semaphore locks (intercept_sem.c): set once the program has set one up,
 * so that only then is a closed cycle checked for one; and the first post
 * of one by the thread that took it (l->sem_proven just set), which
 * reports the cycles held back until that semaphore was seen to be a lock
 * (check.c). */
extern atomic_bool lg_sem_locks_seen;
void lg_sem_proven(struct lg_thread *self);
/* At the end: say (verbosity=1) how many cycles were still held back. */
void lg_sem_held_back_at_exit(void);
/* A mutex lockgraph has no record of is about to be used by `call`: false
 * (and an invalid-mutex report) when its memory is no mutex at all. */
bool lg_check_mutex(struct lg_thread *t, uintptr_t m, const char *call, uintptr_t site);
/* Around a condition-variable wait: cond-misuse checks (the mutex is not
 * held by the waiter, is no mutex, or differs from other waiters'). */
void lg_before_cond_wait(struct lg_thread *t, uintptr_t c, uintptr_t m, struct lg_lock *l,
                         bool untimed, uintptr_t site);
void lg_after_cond_wait(struct lg_thread *t, uintptr_t c, uintptr_t m);
/* Barriers: barrier-misuse checks of init (count 0, again while in use or
 * without destroy) and destroy (while threads wait); the record of init. */
void lg_before_barrier_init(struct lg_thread *t, uintptr_t b, unsigned count, uintptr_t site);
void lg_after_barrier_init(struct lg_thread *t, uintptr_t b, unsigned count, uintptr_t site);
void lg_before_barrier_destroy(struct lg_thread *t, uintptr_t b, uintptr_t site);
/* pthread_cond_destroy of c: a cond-misuse report when threads are
 * certainly blocked on it (glibc's destroy then waits for them to leave);
 * true then, and the destroy is a watched wait. */
bool lg_before_cond_destroy(struct lg_thread *t, uintptr_t c, uintptr_t site);
/* On the thread's way out (return, pthread_exit, cancellation): report the
 * locks it abandoned, then retire its record. */
void lg_thread_exit(struct lg_thread *t);

/* Blocking: the interposers wait in slices and call this between them, so
 * that a blocked thread finds the wait-for cycle it is part of. */
void lg_wait_begin(struct lg_thread *t, enum lg_wait_kind kind, struct lg_lock *l,
                   uintptr_t object, enum lg_mode mode, uintptr_t site);

/* New chains noted for later (check.c): stored in the graph by
 * lg_pend_flush() (with `wait`, or only if the graph lock is free: the
 * interposers call it so once a release leaves the thread holding
 * nothing), and every thread's at the program's exit (lg_pend_flush_all).
 * A retired record's buffers go with it (threads.c). */
void lg_pend_flush(struct lg_thread *t, bool wait);
void lg_pend_flush_all(void);
/* The liveness monitor's part: every thread's noted chains, so that one
 * left by a thread that went on to block where lockgraph does not see (a
 * read, a sleep) is stored within a tick, not at exit. */
void lg_pend_sweep(void);
/* In a fork child, after the other threads' records went (with their
 * noted chains, which are the parent's): the count of threads with some. */
void lg_pend_atfork_child(void);
/* The wait just begun has a deadline (timedlock, clocklock): it is neither
 * part of a deadlock nor of a stall, since it ends by itself. */
void lg_wait_set_timed(struct lg_thread *t);
void lg_wait_poll(struct lg_thread *t);

/* The graph's configuration (thread order, the run_cycles_only option). */
struct lg_graph_config lg_graph_config_runtime(void);
void lg_wait_end(struct lg_thread *t);
long lg_wait_slice_ms(void);

/* ---- report_rt.c -------------------------------------------------------- */

/* Build and emit a report from the runtime's state. Each returns true when
 * the report was written (false: suppressed or a duplicate). */
/* `at`: the stack of the acquisition that closed the cycle, 0 when it is
 * the reporting thread's stack now. */
bool lg_report_inversion(struct lg_thread *t, const struct lg_cycle *cycle, lg_stack_id at);
/* What the call that re-takes a held lock does: waits for ever (the
 * program is then stopped), times out (ETIMEDOUT), or is refused by glibc
 * (EDEADLK: an rwlock the thread holds for writing). In the last two the
 * program is let go on. */
enum lg_self_outcome { LG_SELF_FOREVER, LG_SELF_TIMES_OUT, LG_SELF_REFUSED };
bool lg_report_self_deadlock(struct lg_thread *t, struct lg_lock *l, const struct lg_held *held,
                             enum lg_self_outcome outcome, uintptr_t site);
bool lg_report_deadlock(struct lg_thread *const *threads, uint32_t n);
bool lg_report_abandoned(struct lg_thread *t);
bool lg_report_misuse(struct lg_thread *t, const char *kind, struct lg_lock *l,
                      uintptr_t addr, long owner_tid, uintptr_t site);
/* A misuse whose summary the caller wrote; `type` names an object that has
 * no lock record (NULL: l's type). */
bool lg_report_misuse_text(struct lg_thread *t, const char *kind, struct lg_lock *l,
                           uintptr_t addr, const char *type, long owner_tid, uintptr_t site,
                           const char *summary);
/* A liveness verdict (live.h); lock_of finds a lock record by uid. */
struct lg_live_verdict;
bool lg_report_liveness(const struct lg_live_verdict *v,
                        struct lg_lock *(*lock_of)(uint64_t uid, void *ctx), void *ctx);
/* Reports so far. */
uint64_t lg_reports_count(void);
/* The process lockgraph's outputs belong to is this one (not a vfork
 * child running in its memory, nor a fork child). */
bool lg_reporting_own_process(void);
/* exec: the environment entry that carries the reports made so far over
 * to the new program (LG_EXEC_STATE_VAR=pid:count), into buf; false when
 * there are none. The new program's lockgraph adopts the count, and its
 * SARIF log keeps the results the file has (lg_reporting_init). */
#define LG_EXEC_STATE_VAR "LOCKGRAPH_EXEC_REPORTS"
bool lg_reporting_exec_state(char *buf, size_t len);
/* Exit now with exitcode (after a fatal report), flushing stdio. */
_Noreturn void lg_exit_now(void);
void lg_reporting_init(void);
void lg_reporting_finish(void); /* at exit: DOT, summary, exit status */
/* The same at quick_exit(status): the program's streams are not flushed
 * (quick_exit does not flush them), and the SARIF log gets the status. */
void lg_reporting_quick_exit(int status);
void lg_reporting_atfork_prepare(void);
void lg_reporting_atfork_parent(void);
void lg_reporting_atfork_child(void);
/* Evidence behind an edge label's payload: where the held lock was taken
 * and the stack that took the new one. */
uint64_t lg_evidence_add(uintptr_t held_site, lg_stack_id stack);

/* ---- liveness.c --------------------------------------------------------- */

/* The monitor's loop (never returns). init.c runs it on a thread of its
 * own that lockgraph never tracks, with each_tick() called every tick
 * (check.c's lg_pend_sweep, which this file cannot call itself). */
void lg_liveness_run(void (*each_tick)(void));
/* The program is ending with `status` (its _exit, or exit) from its
 * SIGALRM handler, with a failure: if the monitor held a stall back
 * because a signal handler could end it, it reports the stall now and ends
 * the process, if the stall still stands (waits up to 2 s for its
 * answer). */
void lg_liveness_exiting(int status);
/* End the monitor's thread, and wait until its task is gone: true if one
 * ran and has gone (the caller then keeps it from starting again). */
bool lg_liveness_stop(void);

#endif /* LG_RT_H */
