/*
 * perturb.c - schedule perturbation, the runtime side: a table of the
 * threads it perturbs, the holds (waiting, spinning a little and sleeping
 * on a futex), the clock and the budget. What to do at each call comes
 * from perturb_core.c; perturb.h has the strategy and its argument.
 *
 * A hold never takes a lock: the table is read with relaxed atomics, held
 * threads sleep on one futex word (`pt_epoch`) that every completed call
 * bumps, and look again at least every PT_POLL_NS for what they cannot be
 * woken by (a thread that blocked: lockgraph's wait state is written by
 * check.c). Every hold has a deadline, so no program can hang on one.
 *
 * The holds are written against the table, not against what the kernel
 * happens to run: a thread the table says is running counts as running
 * even while the kernel has it off its core. That is what keeps the order
 * on a machine with more threads than cores, where a thread woken from a
 * hold may wait milliseconds for a core, or preempt the thread that woke it.
 * So a higher thread whose call ends a lower thread's step hold waits
 * ("hands over") until that thread has run up to its next hold or wait, and
 * threads released from their start together wait for each other.
 */
#include "rt.h"

#include "perturb.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

bool lg_perturb_on;

/* Threads perturbed at once; the others run unperturbed (said once). */
#define PT_SLOTS 256
#define PT_WORDS (PT_SLOTS / 64)
/* How often a held thread looks again, at most. */
#define PT_POLL_NS 100000ull
/* How long a new hold spins before it sleeps: a higher thread's next call
 * is often that close, and a futex wake-up takes longer. */
#define PT_SPIN_NS 20000ull
/* Holds shorter than this are not worth a futex round trip. */
#define PT_MIN_HOLD_NS 10000ull
/* After a release, how long a thread that is waking on it counts as "about
 * to run" while it has not run yet. */
#define PT_WAKE_NS 2000000ull
/* Children released together wait this long, at most, for each other; a
 * hand-over waits this long, at most, for the threads it released. */
#define PT_BATCH_NS 2000000ull
#define PT_HANDOVER_NS 2000000ull

/*
 * PENDING: created, not started. STARTING: held at its start. LAUNCHING:
 * released from its start with its siblings, about to run. RUNNING: runs
 * the program (or is blocked in it, as check.c's wait state says). HELD: in
 * a hold. HANDING: waiting for the threads its last call released to run.
 * A LAUNCHING or HANDING thread is runnable, and counts as running for the
 * threads it outranks.
 */
enum pt_state {
    PT_FREE, PT_PENDING, PT_STARTING, PT_LAUNCHING, PT_RUNNING, PT_HELD, PT_HANDING, PT_EXITED
};

struct pt_slot {
    atomic_int state;                   /* enum pt_state */
    atomic_uint num;                    /* T<num> */
    atomic_uint_fast64_t rank;          /* lg_pt_rank() */
    atomic_uint_fast64_t steps;         /* calls completed */
    atomic_uint_fast64_t holds;         /* holds completed */
    atomic_uint_fast64_t waits_for[PT_WORDS]; /* in a step hold: for these slots */
    _Atomic(struct lg_thread *) thread; /* its record, once started */
    atomic_int creator;                 /* the creator's slot, -1 unknown */
    atomic_uint depth;
    atomic_uint children_waiting;       /* its children held at their start */
    /* The owner's alone: */
    struct lg_pt_thread pt;
    uintptr_t noyield[8];               /* locks it read-locked or trylocked */
    unsigned nnoyield;
};

static struct pt_slot pt_slots[PT_SLOTS];
static atomic_int pt_used;               /* slots ever claimed: the scan's end */
static LG_TLS int pt_self = -1;
static LG_TLS bool pt_in_hook;           /* a signal handler inside a hold */
static struct lg_pt_config pt_cfg;
static uint64_t pt_start_ns;
static atomic_uint pt_epoch;             /* bumped by every completed call */
static atomic_int pt_sleepers;           /* threads asleep on pt_epoch */
static atomic_uint_fast64_t pt_holds, pt_spurious, pt_change_seq, pt_budget_short;
/* The budget's clock: the time during which at least one thread was held
 * (its intervals merged, so overlapping holds count once). */
static lg_mutex pt_clock_lock = LG_MUTEX_INIT;
static atomic_uint_fast64_t pt_dry_until; /* no budget before then: skip the lock */
static unsigned pt_nheld;      /* holds under way */
static uint64_t pt_held_since; /* when the last of them began after none */
static uint64_t pt_held_ns;    /* closed intervals */
static atomic_bool pt_said_full;
/* What was released lately (unlocked, signalled, posted), and when: a
 * thread blocked on one of them since before is waking, and runnable. */
#define PT_RELEASED 16
static struct {
    atomic_uintptr_t obj;
    atomic_uint_fast64_t ns;
} pt_released[PT_RELEASED];
static atomic_uint pt_released_next;

/* ---- futex and time ----------------------------------------------------- */

static void
pt_futex_wait(atomic_uint *word, unsigned expect, uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expect, &ts, NULL, 0);
}

/* Something a held thread may be waiting for changed. Only sleepers need
 * telling, so the shared word is written only while someone sleeps. A
 * sleeper counts itself before it looks a last time (see pt_hold()); a
 * change it missed in between (x86 may read the count before its own
 * store is seen) only lets it sleep until its next look, PT_POLL_NS at
 * most: a fence on every call of the program would cost more. */
static void
pt_bump(void)
{
    if (atomic_load_explicit(&pt_sleepers, memory_order_relaxed) > 0) {
        atomic_fetch_add_explicit(&pt_epoch, 1, memory_order_seq_cst);
        syscall(SYS_futex, &pt_epoch, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    }
}

/*
 * The budget. While any thread is held the program may make no progress at
 * all (the others may be waiting for it, or handing over to it), and while
 * none is it runs as it would unperturbed, but for the cost of the calls
 * into this file; so if the time with some thread held stays within
 * perturb_budget percent of the time with none, the run takes at most
 * (1 + perturb_budget/100) times as long as it would with that cost.
 */
static uint64_t
pt_perturbed_ns(uint64_t now)
{
    return pt_held_ns + (pt_nheld ? now - pt_held_since : 0);
}

/* A hold of at most *bound_ns begins: false when the budget has nothing
 * left worth holding for (*bound_ns shrinks to what it has, and *cut says
 * so). */
static bool
pt_budget_take(uint64_t now, uint64_t *bound_ns, bool *cut)
{
    /* A thread at every lock call of a busy program asks; once the budget
     * is dry, it would ask under the lock a million times in vain. */
    if (now < atomic_load_explicit(&pt_dry_until, memory_order_relaxed))
        return false;
    lg_mutex_lock(&pt_clock_lock);
    uint64_t left = lg_pt_budget_left(&pt_cfg, now - pt_start_ns, pt_perturbed_ns(now));
    *cut = left < *bound_ns;
    if (*cut)
        *bound_ns = left;
    bool go = *bound_ns >= PT_MIN_HOLD_NS;
    if (go && pt_nheld++ == 0)
        pt_held_since = now;
    if (!go && !pt_nheld) {
        /* The budget grows by budget_pct/(100 + budget_pct) of each
         * nanosecond with nobody held: this long until a hold is worth it. */
        uint64_t pct = pt_cfg.budget_pct ? pt_cfg.budget_pct : 1;
        atomic_store_explicit(&pt_dry_until, now + PT_MIN_HOLD_NS * (100 + pct) / pct,
                              memory_order_relaxed);
    }
    lg_mutex_unlock(&pt_clock_lock);
    return go;
}

static void
pt_budget_give(uint64_t now)
{
    lg_mutex_lock(&pt_clock_lock);
    if (--pt_nheld == 0)
        pt_held_ns += now - pt_held_since;
    lg_mutex_unlock(&pt_clock_lock);
}

/* ---- the table ------------------------------------------------------------ */

static int
pt_claim(uint32_t num, int creator, uint32_t depth)
{
    for (int i = 0; i < PT_SLOTS; i++) {
        int st = atomic_load_explicit(&pt_slots[i].state, memory_order_relaxed);
        if ((st != PT_FREE && st != PT_EXITED)
            || !atomic_compare_exchange_strong(&pt_slots[i].state, &st, PT_PENDING))
            continue;
        struct pt_slot *s = &pt_slots[i];
        atomic_store_explicit(&s->num, num, memory_order_relaxed);
        atomic_store_explicit(&s->thread, NULL, memory_order_relaxed);
        atomic_store_explicit(&s->creator, creator, memory_order_relaxed);
        atomic_store_explicit(&s->depth, depth, memory_order_relaxed);
        atomic_store_explicit(&s->children_waiting, 0, memory_order_relaxed);
        for (int w = 0; w < PT_WORDS; w++)
            atomic_store_explicit(&s->waits_for[w], 0, memory_order_relaxed);
        atomic_store_explicit(&s->rank, lg_pt_rank(depth, num, false, 0), memory_order_relaxed);
        int used = atomic_load_explicit(&pt_used, memory_order_relaxed);
        while (used < i + 1 && !atomic_compare_exchange_weak(&pt_used, &used, i + 1))
            ;
        return i;
    }
    lg_warn_once(&pt_said_full, "perturbation: more than %d threads at once; the threads "
                 "beyond them run unperturbed", PT_SLOTS);
    return -1;
}

static int
pt_find(uint32_t num)
{
    int used = atomic_load_explicit(&pt_used, memory_order_acquire);
    for (int i = 0; i < used; i++)
        if (atomic_load_explicit(&pt_slots[i].state, memory_order_acquire) == PT_PENDING
            && atomic_load_explicit(&pt_slots[i].num, memory_order_relaxed) == num)
            return i;
    return -1;
}

/* Runs the program: not in a hold, not starting, and not blocked in a
 * lock, a wait or a join (check.c's wait state). */
static bool
pt_running(int i)
{
    if (atomic_load_explicit(&pt_slots[i].state, memory_order_acquire) != PT_RUNNING)
        return false;
    struct lg_thread *t = atomic_load_explicit(&pt_slots[i].thread, memory_order_relaxed);
    return !t || atomic_load_explicit(&t->wait_kind, memory_order_relaxed) == LG_WAIT_NONE;
}

static void
pt_note_release(uintptr_t obj)
{
    /* Only a release somebody is blocked on can wake anybody; the others
     * (nearly all, in a program whose locks are not contended) need no
     * clock. */
    int used = atomic_load_explicit(&pt_used, memory_order_acquire);
    bool blocked = false;
    for (int i = 0; i < used && !blocked; i++) {
        struct lg_thread *t = atomic_load_explicit(&pt_slots[i].thread, memory_order_relaxed);
        blocked = t && atomic_load_explicit(&t->wait_kind, memory_order_relaxed) != LG_WAIT_NONE
                  && atomic_load_explicit(&t->wait_object, memory_order_relaxed) == obj;
    }
    if (!blocked)
        return;
    unsigned k = atomic_fetch_add_explicit(&pt_released_next, 1, memory_order_relaxed)
                 % PT_RELEASED;
    atomic_store_explicit(&pt_released[k].obj, 0, memory_order_relaxed);
    atomic_store_explicit(&pt_released[k].ns, lg_now_ns(), memory_order_relaxed);
    atomic_store_explicit(&pt_released[k].obj, obj, memory_order_release);
}

/* Blocked in a wait for something released since it began to wait, less
 * than PT_WAKE_NS ago: the kernel has made it runnable, or is about to. */
static bool
pt_waking(int i)
{
    if (atomic_load_explicit(&pt_slots[i].state, memory_order_acquire) != PT_RUNNING)
        return false;
    struct lg_thread *t = atomic_load_explicit(&pt_slots[i].thread, memory_order_relaxed);
    if (!t || atomic_load_explicit(&t->wait_kind, memory_order_relaxed) == LG_WAIT_NONE)
        return false;
    uintptr_t obj = atomic_load_explicit(&t->wait_object, memory_order_relaxed);
    uint64_t since = atomic_load_explicit(&t->wait_since_ns, memory_order_relaxed), now = 0;
    for (unsigned k = 0; k < PT_RELEASED; k++) {
        if (atomic_load_explicit(&pt_released[k].obj, memory_order_acquire) != obj)
            continue;
        uint64_t at = atomic_load_explicit(&pt_released[k].ns, memory_order_relaxed);
        if (!now)
            now = lg_now_ns();
        if (at >= since && now - at < PT_WAKE_NS)
            return true;
    }
    return false;
}

/* Runs, or is about to: what a lower thread makes way for. */
static bool
pt_active(int i)
{
    int st = atomic_load_explicit(&pt_slots[i].state, memory_order_acquire);
    return st == PT_LAUNCHING || st == PT_HANDING || pt_running(i) || pt_waking(i);
}

static bool
pt_in(const uint64_t *set, int i)
{
    return (set[i / 64] >> (i % 64)) & 1;
}

/* The higher-ranked threads: how many are active (put into `fill` if
 * given), and the steps of those in `set` (if given). */
struct pt_scan {
    unsigned active;
    uint64_t steps;
};

static struct pt_scan
pt_scan_higher(int me, const uint64_t *set, uint64_t *fill)
{
    struct pt_scan sc = { 0, 0 };
    uint64_t mine = atomic_load_explicit(&pt_slots[me].rank, memory_order_relaxed);
    int used = atomic_load_explicit(&pt_used, memory_order_acquire);
    for (int i = 0; i < used; i++) {
        if (i == me || atomic_load_explicit(&pt_slots[i].rank, memory_order_relaxed) <= mine)
            continue;
        if (set && pt_in(set, i))
            sc.steps += atomic_load_explicit(&pt_slots[i].steps, memory_order_relaxed);
        if (pt_active(i)) {
            sc.active++;
            if (fill) {
                fill[i / 64] |= 1ull << (i % 64);
                sc.steps += atomic_load_explicit(&pt_slots[i].steps, memory_order_relaxed);
            }
        }
    }
    return sc;
}

/* The creator runs, or has created another thread that is yet to start:
 * threads created together start together. */
static bool
pt_start_waits(int me, int creator)
{
    if (pt_active(creator))
        return true;
    int used = atomic_load_explicit(&pt_used, memory_order_acquire);
    for (int i = 0; i < used; i++)
        if (i != me && atomic_load_explicit(&pt_slots[i].state, memory_order_acquire) == PT_PENDING
            && atomic_load_explicit(&pt_slots[i].creator, memory_order_relaxed) == creator)
            return true;
    return false;
}

/* A sibling that ranks below the caller is still on its way out of the
 * start: the lowest-ranked go first, so that each gets as far as its first
 * synchronisation call before those that outrank it (its natural head
 * start), even when it has to wait for a core. */
static bool
pt_lower_sibling_launching(int me, int creator)
{
    uint64_t mine = atomic_load_explicit(&pt_slots[me].rank, memory_order_relaxed);
    int used = atomic_load_explicit(&pt_used, memory_order_acquire);
    for (int i = 0; i < used; i++)
        if (i != me && atomic_load_explicit(&pt_slots[i].state, memory_order_acquire) == PT_LAUNCHING
            && atomic_load_explicit(&pt_slots[i].creator, memory_order_relaxed) == creator
            && atomic_load_explicit(&pt_slots[i].rank, memory_order_relaxed) < mine)
            return true;
    return false;
}

/* Another thread runs, or waits for `mutex` (0: none). */
static bool
pt_any_other_active(int me, uintptr_t mutex)
{
    int used = atomic_load_explicit(&pt_used, memory_order_acquire);
    for (int i = 0; i < used; i++) {
        if (i == me)
            continue;
        if (pt_active(i))
            return true;
        struct lg_thread *t = atomic_load_explicit(&pt_slots[i].thread, memory_order_relaxed);
        if (mutex && t && atomic_load_explicit(&pt_slots[i].state, memory_order_acquire) == PT_RUNNING
            && atomic_load_explicit(&t->wait_kind, memory_order_relaxed) == LG_WAIT_LOCK
            && atomic_load_explicit(&t->wait_object, memory_order_relaxed) == mutex)
            return true;
    }
    return false;
}

/* ---- holds ------------------------------------------------------------------ */

enum pt_why { PT_WHY_STEP, PT_WHY_YIELD, PT_WHY_START, PT_WHY_BATCH, PT_WHY_LAUNCH,
              PT_WHY_HANDOVER, PT_WHY_SLEEP };

/* HANDOVER: at most this many released threads are waited for. */
#define PT_HANDOVER_MAX 16

struct pt_hold {
    enum pt_why why;
    uint64_t set[PT_WORDS];    /* STEP: the higher threads active at the start */
    uint64_t steps;            /* STEP: their steps then */
    unsigned nreleased;        /* HANDOVER: the threads released, */
    int released[PT_HANDOVER_MAX];
    uint64_t holds[PT_HANDOVER_MAX]; /* and their holds then */
    int creator;               /* START, BATCH */
};

/* Whether the hold's reason still stands. */
static bool
pt_still(int me, struct pt_hold *h)
{
    switch (h->why) {
    case PT_WHY_STEP: {
        struct pt_scan sc = pt_scan_higher(me, h->set, NULL);
        return sc.active > 0 && sc.steps == h->steps;
    }
    case PT_WHY_YIELD:
        return pt_scan_higher(me, NULL, NULL).active > 0;
    case PT_WHY_START:
        return pt_start_waits(me, h->creator);
    case PT_WHY_BATCH:
        return atomic_load_explicit(&pt_slots[h->creator].children_waiting,
                                    memory_order_acquire) > 0;
    case PT_WHY_LAUNCH:
        return pt_lower_sibling_launching(me, h->creator);
    case PT_WHY_HANDOVER:
        /* Until each thread it released has left that hold and stopped
         * running (reached its next hold or wait). */
        for (unsigned k = 0; k < h->nreleased; k++) {
            int i = h->released[k];
            if (atomic_load_explicit(&pt_slots[i].holds, memory_order_acquire) == h->holds[k]
                || pt_running(i))
                return true;
        }
        return false;
    case PT_WHY_SLEEP:
        return true;
    }
    return false;
}

/* Hold the calling thread, in `held_state`, while the reason stands, for
 * at most bound_ns and what the budget has left. Returns how long it held. */
static uint64_t
pt_hold(int me, struct pt_hold *h, uint64_t bound_ns, int held_state)
{
    uint64_t now = lg_now_ns();
    bool cut;
    if (!pt_budget_take(now, &bound_ns, &cut))
        return 0;
    struct pt_slot *s = &pt_slots[me];
    int was = atomic_exchange_explicit(&s->state, held_state, memory_order_acq_rel);
    pt_bump(); /* a thread that stopped running may end another's hold */
    uint64_t until = now + bound_ns, t = now;
    while (t < until && pt_still(me, h)) {
        if (t - now < PT_SPIN_NS) {
            for (int k = 0; k < 64; k++)
                __builtin_ia32_pause();
        } else {
            /* Counted as a sleeper before the last look: a change made
             * after that look bumps the epoch, and the wait returns. */
            uint64_t nap = until - t < PT_POLL_NS ? until - t : PT_POLL_NS;
            atomic_fetch_add_explicit(&pt_sleepers, 1, memory_order_seq_cst);
            unsigned epoch = atomic_load_explicit(&pt_epoch, memory_order_seq_cst);
            if (pt_still(me, h))
                pt_futex_wait(&pt_epoch, epoch, nap);
            atomic_fetch_sub_explicit(&pt_sleepers, 1, memory_order_relaxed);
        }
        t = lg_now_ns();
    }
    atomic_fetch_add_explicit(&s->holds, 1, memory_order_release);
    atomic_store_explicit(&s->state, was, memory_order_release);
    pt_budget_give(t);
    uint64_t took = t - now;
    if (cut && t >= until)
        atomic_fetch_add_explicit(&pt_budget_short, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pt_holds, 1, memory_order_relaxed);
    return took;
}

/* ---- the decisions, applied ------------------------------------------------ */

static struct pt_slot *
pt_me(void)
{
    return pt_self >= 0 && !pt_in_hook ? &pt_slots[pt_self] : NULL;
}

static struct lg_pt_decision
pt_decide(struct pt_slot *s, enum lg_pt_op op, unsigned flags)
{
    struct lg_pt_decision d = lg_pt_decide(&s->pt, &pt_cfg, op, flags);
    if (d.change_now) {
        uint64_t seq = atomic_fetch_add_explicit(&pt_change_seq, 1, memory_order_relaxed) + 1;
        atomic_store_explicit(&s->rank, lg_pt_rank(s->pt.depth, s->pt.num, true, seq),
                              memory_order_relaxed);
        pt_bump();
    }
    return d;
}

/* Before an acquisition: held for the next step of a higher thread that is
 * active. The set is published, so that the one that steps hands over. */
static void
pt_step_hold(int me, uint64_t bound_ns)
{
    struct pt_hold h = { .why = PT_WHY_STEP };
    struct pt_scan sc = pt_scan_higher(me, NULL, h.set);
    if (sc.active == 0)
        return;
    h.steps = sc.steps;
    struct pt_slot *s = &pt_slots[me];
    for (int w = 0; w < PT_WORDS; w++)
        atomic_store_explicit(&s->waits_for[w], h.set[w], memory_order_release);
    pt_hold(me, &h, bound_ns, PT_HELD);
    for (int w = 0; w < PT_WORDS; w++)
        atomic_store_explicit(&s->waits_for[w], 0, memory_order_release);
}

/* After a call of the calling thread: the lower threads that were held for
 * its next step are released by it; it waits until they have run as far as
 * they can (their next hold or wait), so that one step of theirs follows
 * each of its own whatever cores the kernel gives out. */
static void
pt_handover(int me)
{
    struct pt_hold h;
    h.why = PT_WHY_HANDOVER;
    h.nreleased = 0;
    int used = atomic_load_explicit(&pt_used, memory_order_acquire);
    for (int i = 0; i < used && h.nreleased < PT_HANDOVER_MAX; i++) {
        if (i == me || atomic_load_explicit(&pt_slots[i].state, memory_order_acquire) != PT_HELD
            || !((atomic_load_explicit(&pt_slots[i].waits_for[me / 64], memory_order_acquire)
                  >> (me % 64)) & 1))
            continue;
        h.released[h.nreleased] = i;
        h.holds[h.nreleased++] = atomic_load_explicit(&pt_slots[i].holds, memory_order_acquire);
    }
    if (h.nreleased)
        pt_hold(me, &h, PT_HANDOVER_NS, PT_HANDING);
}

static void
pt_yield_hold(int me, uint64_t bound_ns)
{
    if (pt_scan_higher(me, NULL, NULL).active == 0)
        return;
    struct pt_hold h = { .why = PT_WHY_YIELD };
    pt_hold(me, &h, bound_ns, PT_HELD);
}

static bool
pt_noyield_take(struct pt_slot *s, uintptr_t obj)
{
    for (unsigned i = 0; i < s->nnoyield; i++)
        if (s->noyield[i] == obj) {
            s->noyield[i] = s->noyield[--s->nnoyield];
            return true;
        }
    return false;
}

void
lg_perturb_before_slow(struct lg_thread *t, enum lg_pt_op op, uintptr_t obj)
{
    (void)t;
    (void)obj;
    struct pt_slot *s = pt_me();
    if (!s)
        return;
    pt_in_hook = true;
    struct lg_pt_decision d = pt_decide(s, op, 0);
    if (d.hold == LG_PT_STEP)
        pt_step_hold(pt_self, d.bound_ns);
    pt_in_hook = false;
}

void
lg_perturb_after_slow(struct lg_thread *t, enum lg_pt_op op, uintptr_t obj, int err)
{
    struct pt_slot *s = pt_me();
    if (!s)
        return;
    pt_in_hook = true;
    atomic_store_explicit(&s->steps, atomic_load_explicit(&s->steps, memory_order_relaxed) + 1,
                          memory_order_release);
    pt_bump();
    pt_handover(pt_self);
    unsigned flags = 0;
    switch (op) {
    case LG_PT_RDLOCK:
    case LG_PT_TRYLOCK:
        /* Its unlock is not a hand-over: no yield after it. A full list
         * only means a yield that could have been skipped. */
        if (err == 0 && s->nnoyield < sizeof s->noyield / sizeof s->noyield[0])
            s->noyield[s->nnoyield++] = obj;
        break;
    case LG_PT_UNLOCK:
        flags = pt_noyield_take(s, obj) ? LG_PT_F_NOYIELD : 0;
        goto release;
    case LG_PT_SIGNAL:
    case LG_PT_BROADCAST:
        flags = t->nheld > 0 ? LG_PT_F_HOLDING : 0;
        goto release;
    case LG_PT_SEM_POST:
    release: {
        if (err == 0)
            pt_note_release(obj);
        struct lg_pt_decision d = pt_decide(s, op, flags);
        if (d.hold == LG_PT_YIELD && err == 0)
            pt_yield_hold(pt_self, d.bound_ns);
        break;
    }
    default:
        break;
    }
    pt_in_hook = false;
}

bool
lg_perturb_spurious_slow(struct lg_thread *t, uintptr_t cond, uintptr_t mutex)
{
    (void)t;
    (void)cond;
    struct pt_slot *s = pt_me();
    if (!s)
        return false;
    pt_in_hook = true;
    bool woke = false;
    struct lg_pt_decision d = pt_decide(s, LG_PT_COND_WAIT, 0);
    if (d.spurious) {
        /* A pause first, the mutex still held (a thread slow to reach its
         * wait): one that was just leaving has gone when it ends. Then a
         * wake-up only if somebody could still signal: a thread running, or
         * one waiting for this mutex (it runs once the caller lets it go). */
        struct pt_hold h = { .why = PT_WHY_SLEEP };
        if (pt_hold(pt_self, &h, d.spurious_ns, PT_HELD) > 0 && pt_any_other_active(pt_self, mutex)) {
            woke = true;
            atomic_fetch_add_explicit(&pt_spurious, 1, memory_order_relaxed);
        }
    }
    pt_in_hook = false;
    return woke;
}


void
lg_perturb_created_slow(struct lg_thread *t, uint32_t child_num)
{
    (void)t;
    int me = pt_self;
    uint32_t depth = me >= 0 ? atomic_load_explicit(&pt_slots[me].depth, memory_order_relaxed) + 1 : 1;
    pt_claim(child_num, me, depth);
}

void
lg_perturb_create_failed_slow(uint32_t child_num)
{
    int i = pt_find(child_num);
    if (i >= 0)
        atomic_store_explicit(&pt_slots[i].state, PT_EXITED, memory_order_release);
}

void
lg_perturb_start_slow(struct lg_thread *t)
{
    int me = pt_find(t->num);
    if (me < 0)
        return;
    struct pt_slot *s = &pt_slots[me];
    pt_self = me;
    lg_pt_thread_init(&s->pt, &pt_cfg, t->num, atomic_load_explicit(&s->depth, memory_order_relaxed));
    s->nnoyield = 0;
    atomic_store_explicit(&s->steps, 0, memory_order_relaxed);
    atomic_store_explicit(&s->thread, t, memory_order_relaxed);
    atomic_store_explicit(&s->state, PT_STARTING, memory_order_release);
    pt_in_hook = true;
    struct lg_pt_decision d = pt_decide(s, LG_PT_START, 0);
    int creator = atomic_load_explicit(&s->creator, memory_order_relaxed);
    if (d.hold == LG_PT_START_LATE && creator >= 0) {
        struct pt_slot *c = &pt_slots[creator];
        /* Counted as waiting before it looks, so that a sibling starting
         * meanwhile sees it and waits for it. */
        bool batch = atomic_fetch_add_explicit(&c->children_waiting, 1, memory_order_acq_rel) > 0;
        if (pt_start_waits(me, creator)) {
            struct pt_hold h = { .why = PT_WHY_START, .creator = creator };
            pt_hold(me, &h, d.bound_ns, PT_STARTING);
            batch = true;
        }
        /* Go with the siblings that waited: each leaves its start when it
         * sees the creator stop (one poll apart), waits until all have left
         * theirs, then sets off right after those it outranks, so that they
         * set off within microseconds of each other, lowest first. */
        if (batch)
            atomic_store_explicit(&s->state, PT_LAUNCHING, memory_order_release);
        atomic_fetch_sub_explicit(&c->children_waiting, 1, memory_order_acq_rel);
        if (batch) {
            struct pt_hold h = { .why = PT_WHY_BATCH, .creator = creator };
            pt_hold(me, &h, PT_BATCH_NS, PT_LAUNCHING);
            h.why = PT_WHY_LAUNCH;
            pt_hold(me, &h, PT_BATCH_NS, PT_LAUNCHING);
        }
    }
    atomic_store_explicit(&s->state, PT_RUNNING, memory_order_release);
    pt_bump();
    pt_in_hook = false;
}

void
lg_perturb_exit_slow(struct lg_thread *t)
{
    (void)t;
    if (pt_self < 0)
        return;
    struct pt_slot *s = &pt_slots[pt_self];
    atomic_store_explicit(&s->steps, atomic_load_explicit(&s->steps, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&s->state, PT_EXITED, memory_order_release);
    pt_self = -1;
    pt_bump();
}

/* ---- start, exit, fork ------------------------------------------------------ */

void
lg_perturb_init(void)
{
    if (!lg_opt.perturb)
        return;
    lg_mutex_spin = 0; /* see rt.h */
    if (lg_opt.perturb_seed == 0) {
        uint64_t entropy = 0;
        if (getrandom(&entropy, sizeof entropy, GRND_NONBLOCK) != (ssize_t)sizeof entropy)
            entropy = lg_now_ns() ^ ((uint64_t)getpid() << 32);
        lg_opt.perturb_seed = (long)lg_pt_seed_from(entropy);
    }
    lg_pt_config_init(&pt_cfg, (uint64_t)lg_opt.perturb_seed, lg_opt.perturb_budget,
                      lg_opt.perturb_max_ms, lg_opt.perturb_spurious);
    pt_start_ns = lg_now_ns();
    struct lg_thread *t = lg_self_peek();
    int me = pt_claim(t ? t->num : 1, -1, 0);
    if (me >= 0) {
        struct pt_slot *s = &pt_slots[me];
        lg_pt_thread_init(&s->pt, &pt_cfg, t ? t->num : 1, 0);
        atomic_store_explicit(&s->thread, t, memory_order_relaxed);
        atomic_store_explicit(&s->state, PT_RUNNING, memory_order_release);
        pt_self = me;
    }
    lg_perturb_on = true;
    if (lg_opt.verbosity >= 1)
        lg_note("perturbation on: seed %ld (replay: perturb_seed=%ld), budget %ld%%, holds up "
                "to %ld ms, %ld%% of condition waits may wake spuriously",
                lg_opt.perturb_seed, lg_opt.perturb_seed, lg_opt.perturb_budget,
                lg_opt.perturb_max_ms, lg_opt.perturb_spurious);
}

void
lg_perturb_finish(void)
{
    if (!lg_perturb_on || lg_opt.verbosity < 1)
        return;
    uint64_t now = lg_now_ns(), run = now - pt_start_ns;
    lg_mutex_lock(&pt_clock_lock);
    uint64_t used = pt_perturbed_ns(now);
    lg_mutex_unlock(&pt_clock_lock);
    lg_note("perturbation: seed %ld; %llu holds, some thread held for %.1f ms (%.0f%% of "
            "%.1f ms), %llu spurious wake-ups, %llu holds cut short by the budget",
            lg_opt.perturb_seed, (unsigned long long)atomic_load(&pt_holds), (double)used / 1e6,
            run ? 100.0 * (double)used / (double)run : 0.0, (double)run / 1e6,
            (unsigned long long)atomic_load(&pt_spurious),
            (unsigned long long)atomic_load(&pt_budget_short));
}

void
lg_perturb_atfork_child(void)
{
    if (!lg_perturb_on)
        return;
    int used = atomic_load_explicit(&pt_used, memory_order_relaxed);
    for (int i = 0; i < used; i++)
        if (i != pt_self) {
            atomic_store_explicit(&pt_slots[i].state, PT_FREE, memory_order_relaxed);
            atomic_store_explicit(&pt_slots[i].children_waiting, 0, memory_order_relaxed);
        }
    atomic_store_explicit(&pt_sleepers, 0, memory_order_relaxed);
    lg_mutex_reset(&pt_clock_lock);
    if (pt_nheld) /* the holds under way were the other threads' */
        pt_held_ns += lg_now_ns() - pt_held_since;
    pt_nheld = 0;
}
