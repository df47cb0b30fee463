/*
 * live.c - liveness decisions from per-tick samples; see live.h for the
 * definitions this file implements.
 *
 * Livelock state is one episode per thread: the lock it retries, since
 * when, and what its counters said when the monitor first saw the episode
 * (so that back-offs are counted over the window the monitor actually
 * watched, never more). A new lock, or a new start time, is a new episode;
 * so is progress on the old one.
 *
 * Starvation state is one track per thread: what its counters said at the
 * previous tick, and at most one window on one lock that it wants, with
 * the time it wanted the lock and everyone's grants of it since the window
 * began. Both are sums of per-tick differences, so a counter that starts
 * again from zero (a grant slot taken over by another lock) costs one
 * tick's worth, never a wrong total.
 */
#include "live.h"

#include <errno.h>
#include <string.h>

struct grant_snap {
    uint32_t thread;
    uint64_t grants;
};

struct episode {
    uint32_t thread;
    uint64_t lock, since_ns;
    uint64_t backoffs0, progress0;
    bool reported;           /* as a livelock */
    uint64_t seen_tick;
};

/* What a thread wanted a lock: the time, and the lock's grants to other
 * threads meanwhile (bypasses); in all as of a tick, or between two. A
 * track keeps the totals of the previous tick for each lock the thread is
 * known to want or to have been granted. */
#define WANT_SLOTS (LG_LIVE_GRANT_SLOTS + 2)
struct want {
    uint64_t lock;
    uint64_t ns, bypass;
};

struct track {
    uint32_t thread;
    uint64_t seen_tick;
    /* The previous sample. */
    uint64_t prev_ns, failed_trys, trying_lock, trying_since;
    struct {
        uint64_t lock, grants;
    } grants[LG_LIVE_GRANT_SLOTS];
    struct want want[WANT_SLOTS];
    /* The starvation window: on lock w_lock (0: none) since w_start; the
     * time the thread wanted it, the grants to others meanwhile, its own. */
    uint64_t w_lock, w_start, w_wanted, w_bypass, w_own;
    struct grant_snap *w_acc; /* the other threads' grants in the window */
    uint32_t w_nacc, w_cap;
    bool w_reported;          /* this starvation episode was reported */
    bool w_told;              /* on_window heard of this window undecided */
};

struct lg_live {
    const struct lg_alloc *alloc;
    struct lg_live_config cfg;
    struct episode *ep;
    uint32_t nep, cap;
    struct track *tr;
    uint32_t ntr, trcap;
    /* Per tick scratch: each sample's track, and its grants since the
     * previous tick per grant slot. */
    uint32_t *tr_of;
    uint64_t *dgrants;
    uint32_t scratch_cap;
    void (*on_window)(const struct lg_live_window *w, void *ctx);
    void *on_window_ctx;
    uint64_t tick;
    bool stall_reported;
    uint64_t last_exit_ns;   /* the newest thread exit heard of */
    /* Verdict members handed out by the last tick. */
    struct lg_live_member *members;
    uint32_t members_cap;
};

int
lg_live_new(struct lg_live **out, const struct lg_alloc *alloc, const struct lg_live_config *cfg)
{
    struct lg_live *lv = lg_alloc(alloc, sizeof *lv);
    if (!lv)
        return -ENOMEM;
    lv->alloc = alloc;
    lv->cfg = *cfg;
    *out = lv;
    return 0;
}

void
lg_live_thread_gone(struct lg_live *lv, uint64_t when_ns)
{
    if (when_ns > lv->last_exit_ns)
        lv->last_exit_ns = when_ns;
}

void
lg_live_on_window(struct lg_live *lv, void (*fn)(const struct lg_live_window *w, void *ctx),
                  void *ctx)
{
    lv->on_window = fn;
    lv->on_window_ctx = ctx;
}

static void
drop_episode(struct lg_live *lv, uint32_t i)
{
    lv->ep[i] = lv->ep[--lv->nep];
}

static void
drop_track(struct lg_live *lv, uint32_t i)
{
    lg_free(lv->alloc, lv->tr[i].w_acc, lv->tr[i].w_cap * sizeof *lv->tr[i].w_acc);
    lv->tr[i] = lv->tr[--lv->ntr];
}

void
lg_live_free(struct lg_live *lv)
{
    if (!lv)
        return;
    while (lv->ntr)
        drop_track(lv, 0);
    lg_free(lv->alloc, lv->ep, lv->cap * sizeof *lv->ep);
    lg_free(lv->alloc, lv->tr, lv->trcap * sizeof *lv->tr);
    lg_free(lv->alloc, lv->tr_of, lv->scratch_cap * sizeof *lv->tr_of);
    lg_free(lv->alloc, lv->dgrants,
            (size_t)lv->scratch_cap * LG_LIVE_GRANT_SLOTS * sizeof *lv->dgrants);
    lg_free(lv->alloc, lv->members, lv->members_cap * sizeof *lv->members);
    lg_free(lv->alloc, lv, sizeof *lv);
}

double
lg_live_jain(const uint64_t *x, uint32_t n)
{
    double sum = 0, sq = 0;
    for (uint32_t i = 0; i < n; i++) {
        sum += (double)x[i];
        sq += (double)x[i] * (double)x[i];
    }
    return n == 0 || sq == 0 ? 1.0 : sum * sum / ((double)n * sq);
}

static struct episode *
episode_of(struct lg_live *lv, uint32_t thread)
{
    for (uint32_t i = 0; i < lv->nep; i++)
        if (lv->ep[i].thread == thread)
            return &lv->ep[i];
    return NULL;
}

/* The lock a sample is after, and since when. A thread that keeps retrying
 * a lock is after that lock even while it waits a moment for another one
 * (between two retries); otherwise it is after the lock it is blocked on. */
static bool
target_of(const struct lg_live_sample *s, uint64_t *lock, uint64_t *since)
{
    if (s->trying_lock) {
        *lock = s->trying_lock;
        *since = s->trying_since_ns;
        if (s->block == LG_LIVE_LOCK && s->block_lock == s->trying_lock
            && s->block_since_ns < *since)
            *since = s->block_since_ns;
        return true;
    }
    if (s->block == LG_LIVE_LOCK && s->block_lock) {
        *lock = s->block_lock;
        *since = s->block_since_ns;
        return true;
    }
    return false;
}

static int
start_episode(struct lg_live *lv, const struct lg_live_sample *s, uint64_t lock, uint64_t since)
{
    if (lv->nep == lv->cap) {
        uint32_t cap = lv->cap ? lv->cap * 2 : 16;
        struct episode *grown = lg_grow(lv->alloc, lv->ep, lv->cap * sizeof *grown,
                                        cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        lv->ep = grown;
        lv->cap = cap;
    }
    struct episode *e = &lv->ep[lv->nep++];
    memset(e, 0, sizeof *e);
    e->thread = s->thread;
    e->lock = lock;
    e->since_ns = since;
    e->backoffs0 = s->backoffs;
    e->progress0 = s->progress;
    return 0;
}

static struct lg_live_member *
members_alloc(struct lg_live *lv, uint32_t *used, uint32_t n)
{
    if (*used + n > lv->members_cap)
        return NULL; /* sized before the tick; see lg_live_tick */
    struct lg_live_member *m = &lv->members[*used];
    memset(m, 0, n * sizeof *m);
    *used += n;
    return m;
}

/*
 * Livelock groups: among threads that have retried one lock for
 * livelock_ms while running, backing off and making no progress, follow
 * "fails on a lock held by" edges. A thread whose chain comes back to
 * itself is in a group with every thread on that loop: they keep each other
 * from going on. Each loop is reported once, from its lowest thread.
 */
static int
find_livelocks(struct lg_live *lv, uint64_t now, const struct lg_live_sample *s, uint32_t n,
               bool *eligible, struct lg_live_verdict *out, uint32_t max, uint32_t *nout,
               uint32_t *used)
{
    for (uint32_t i = 0; i < n; i++) {
        struct episode *e = episode_of(lv, s[i].thread);
        /* Caught in a short wait (a barrier between two retries) is still
         * running; blocked for a good part of the window is not. */
        bool running = s[i].block == LG_LIVE_RUNNING
                       || now - s[i].block_since_ns < lv->cfg.livelock_ns / 4;
        eligible[i] = e && !e->reported && running && s[i].trying_lock
                      && e->lock == s[i].trying_lock && now - e->since_ns >= lv->cfg.livelock_ns
                      && s[i].backoffs - e->backoffs0 >= lv->cfg.min_backoffs
                      && s[i].progress == e->progress0 && s[i].trying_blocker != 0
                      && s[i].trying_blocker != s[i].thread;
    }
    for (uint32_t i = 0; i < n && *nout < max; i++) {
        if (!eligible[i])
            continue;
        /* Walk at most n steps; a loop through i closes on i. */
        uint32_t cur = i, len = 0;
        bool loop = false;
        for (uint32_t step = 0; step < n; step++) {
            uint32_t next = n;
            for (uint32_t j = 0; j < n; j++)
                if (s[j].thread == s[cur].trying_blocker)
                    next = j;
            if (next == n || !eligible[next])
                break;
            len++;
            if (next == i) {
                loop = true;
                break;
            }
            if (s[next].thread < s[i].thread)
                break; /* the loop's lowest thread reports it */
            cur = next;
        }
        if (!loop || len < 2)
            continue;
        struct lg_live_member *m = members_alloc(lv, used, len);
        if (!m)
            return -ENOMEM;
        struct lg_live_verdict *v = &out[(*nout)++];
        memset(v, 0, sizeof *v);
        v->kind = LG_LIVE_LIVELOCK;
        v->members = m;
        cur = i;
        uint64_t shortest = UINT64_MAX;
        for (uint32_t k = 0; k < len; k++) {
            struct episode *e = episode_of(lv, s[cur].thread);
            m[k].thread = s[cur].thread;
            m[k].lock = e->lock;
            m[k].since_ns = e->since_ns;
            m[k].backoffs = s[cur].backoffs - e->backoffs0;
            m[k].blocker = s[cur].trying_blocker;
            if (now - e->since_ns < shortest)
                shortest = now - e->since_ns;
            e->reported = true;
            uint32_t next = cur;
            for (uint32_t j = 0; j < n; j++)
                if (s[j].thread == s[cur].trying_blocker)
                    next = j;
            cur = next;
        }
        v->n = len;
        v->window_ns = shortest;
    }
    return 0;
}

/*
 * Is sample i in a retry loop: it retries a lock held by a thread that
 * retries a lock held by ... i? Then nobody in the loop gets on, and the
 * threads that "got the lock" meanwhile are its fellow retriers taking
 * their own first locks: a livelock in the making, which the livelock check
 * names once every member has retried for livelock_ms, not starvation.
 */
static bool
in_retry_loop(const struct lg_live_sample *s, uint32_t n, uint32_t i)
{
    uint32_t cur = i;
    for (uint32_t step = 0; step < n; step++) {
        if (!s[cur].trying_lock || !s[cur].trying_blocker)
            return false;
        uint32_t next = n;
        for (uint32_t j = 0; j < n; j++)
            if (s[j].thread == s[cur].trying_blocker)
                next = j;
        if (next == n)
            return false;
        if (next == i)
            return true;
        cur = next;
    }
    return false;
}

/* ---- starvation --------------------------------------------------------- */

static uint32_t
slot_of(const struct lg_live_sample *s, uint64_t lock)
{
    for (uint32_t k = 0; k < LG_LIVE_GRANT_SLOTS; k++)
        if (s->grants[k].lock == lock)
            return k;
    return LG_LIVE_GRANT_SLOTS;
}

/*
 * What the thread of sample s had wanted `lock` by now, in all: the time,
 * and the lock's grants to other threads meanwhile. That is its waits and
 * retry episodes that are over, plus the one under way. A retry episode
 * under way counts only while it is alive: the thread failed a try since
 * the previous tick (while `trying` stays on one lock, every failed try is
 * on that lock), or the episode began since then, or the thread is blocked
 * on the same lock. An episode with no new failure is an attempt given up;
 * counting it would make a thread that tried once want the lock for ever.
 * `prev` is the thread's previous sample (NULL: none).
 */
static struct want
want_cum(const struct lg_live_sample *s, const struct track *prev, uint64_t lock, uint64_t now)
{
    uint32_t k = slot_of(s, lock);
    struct want w = { lock, 0, 0 };
    if (k < LG_LIVE_GRANT_SLOTS) {
        w.ns = s->grants[k].want_ns;
        w.bypass = s->grants[k].bypass;
    }
    uint64_t since = UINT64_MAX;
    bool blocked = s->block == LG_LIVE_LOCK && s->block_lock == lock;
    if (blocked) {
        since = s->block_since_ns;
        w.bypass += s->block_bypass;
    }
    if (s->trying_lock == lock) {
        bool alive = blocked || !prev || s->failed_trys != prev->failed_trys
                     || s->trying_lock != prev->trying_lock
                     || s->trying_since_ns != prev->trying_since;
        if (alive) {
            if (s->trying_since_ns < since)
                since = s->trying_since_ns;
            w.bypass += s->trying_bypass;
        }
    }
    if (since != UINT64_MAX && now > since)
        w.ns += now - since;
    return w;
}

/* What the thread wanted `lock` between the previous tick and now. A
 * counter that started again (a slot taken over), or an episode that ended
 * after the previous tick had stopped counting it (it was given up), could
 * make a difference negative, or more than the tick could hold: the time
 * is clamped to the tick, the bypasses to the grants others got in it. */
static struct want
wanted_since_prev(const struct lg_live_sample *s, const struct track *t, uint64_t lock,
                  uint64_t now, uint64_t others)
{
    struct want prev = { lock, 0, 0 };
    for (uint32_t k = 0; k < WANT_SLOTS; k++)
        if (t->want[k].lock == lock)
            prev = t->want[k];
    struct want cum = want_cum(s, t, lock, now), d = { lock, 0, 0 };
    uint64_t tick = now > t->prev_ns ? now - t->prev_ns : 0;
    d.ns = cum.ns > prev.ns ? cum.ns - prev.ns : 0;
    d.ns = d.ns < tick ? d.ns : tick;
    d.bypass = cum.bypass > prev.bypass ? cum.bypass - prev.bypass : 0;
    d.bypass = d.bypass < others ? d.bypass : others;
    return d;
}

/* The grants of `lock` to threads other than sample i since the previous
 * tick. */
static uint64_t
others_grants(const struct lg_live *lv, const struct lg_live_sample *s, uint32_t n, uint32_t i,
              uint64_t lock)
{
    uint64_t sum = 0;
    for (uint32_t j = 0; j < n; j++) {
        uint32_t k = slot_of(&s[j], lock);
        if (j != i && k < LG_LIVE_GRANT_SLOTS)
            sum += lv->dgrants[j * LG_LIVE_GRANT_SLOTS + k];
    }
    return sum;
}

/* The other threads' grants of the window's lock, per thread. */
static int
acc_add(struct lg_live *lv, struct track *t, uint32_t thread, uint64_t grants)
{
    for (uint32_t k = 0; k < t->w_nacc; k++)
        if (t->w_acc[k].thread == thread) {
            t->w_acc[k].grants += grants;
            return 0;
        }
    if (t->w_nacc == t->w_cap) {
        uint32_t cap = t->w_cap ? t->w_cap * 2 : 8;
        struct grant_snap *grown = lg_grow(lv->alloc, t->w_acc, t->w_cap * sizeof *grown,
                                           cap * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        t->w_acc = grown;
        t->w_cap = cap;
    }
    t->w_acc[t->w_nacc++] = (struct grant_snap){ thread, grants };
    return 0;
}

static void
window_start(struct track *t, uint64_t lock, uint64_t start)
{
    t->w_lock = lock;
    t->w_start = start;
    t->w_wanted = t->w_bypass = t->w_own = 0;
    t->w_nacc = 0;
    t->w_told = false;
}

/* Judge a window at least starvation_ms long. Returns 1 when the thread
 * starves in it, 0 when it does not (the window is over), -1 when it
 * cannot tell yet (too few grants to others: the window goes on). */
static int
judge(const struct lg_live *lv, const struct track *t, uint64_t now, struct lg_live_window *w)
{
    memset(w, 0, sizeof *w);
    w->thread = t->thread;
    w->lock = t->w_lock;
    w->window_ns = now - t->w_start;
    w->wanted_ns = t->w_wanted;
    w->bypasses = t->w_bypass;
    w->own_grants = t->w_own;
    w->grantees = 1;
    for (uint32_t k = 0; k < t->w_nacc; k++) {
        w->other_grants += t->w_acc[k].grants;
        w->grantees += t->w_acc[k].grants > 0;
    }
    /* The grants made while it wanted the lock: its own, and the others'
     * that passed it. A fair share of them is total / grantees. */
    uint64_t total = w->own_grants + w->bypasses;
    w->share = total ? (double)w->own_grants * w->grantees / (double)total : 1.0;
    /* Under starvation_share percent of that: own * grantees * 100 <
     * share * total. None at all is under any share. */
    bool small = w->own_grants == 0
                 || (double)w->own_grants * w->grantees * 100.0
                        < (double)lv->cfg.starvation_share * (double)total;
    bool wanted = w->wanted_ns * LG_LIVE_WANT_FRACTION_DEN
                  >= w->window_ns * LG_LIVE_WANT_FRACTION_NUM;
    if (!small || !wanted)
        return 0;
    if (w->bypasses < lv->cfg.starvation_grants)
        return -1;
    w->starving = true;
    return 1;
}

static int
starvation_verdict(struct lg_live *lv, const struct track *t, const struct lg_live_window *w,
                   const struct lg_live_sample *s, struct lg_live_verdict *out, uint32_t *nout,
                   uint32_t *used)
{
    uint32_t k = 1;
    for (uint32_t j = 0; j < t->w_nacc; j++)
        k += t->w_acc[j].grants > 0;
    struct lg_live_member *m = members_alloc(lv, used, k);
    if (!m)
        return -ENOMEM;
    m[0].thread = t->thread;
    m[0].lock = t->w_lock;
    m[0].since_ns = t->w_start;
    m[0].block = s->block;
    m[0].grants = t->w_own;
    double sum = (double)t->w_own, sq = (double)t->w_own * (double)t->w_own;
    k = 1;
    for (uint32_t j = 0; j < t->w_nacc; j++) {
        uint64_t g = t->w_acc[j].grants;
        if (!g)
            continue;
        m[k].thread = t->w_acc[j].thread;
        m[k].lock = t->w_lock;
        m[k].grants = g;
        sum += (double)g;
        sq += (double)g * (double)g;
        k++;
    }
    struct lg_live_verdict *v = &out[(*nout)++];
    memset(v, 0, sizeof *v);
    v->kind = LG_LIVE_STARVATION;
    v->lock = t->w_lock;
    v->window_ns = w->window_ns;
    v->wanted_ns = w->wanted_ns;
    v->bypasses = w->bypasses;
    v->lock_grants = w->other_grants;
    v->share = w->share;
    v->jain = sq == 0 ? 1.0 : sum * sum / ((double)k * sq);
    v->n = k;
    v->members = m;
    return 0;
}

/*
 * Starvation (live.h): for each thread, carry its window on, or start one
 * on the lock it wanted most since the previous tick; add what it wanted,
 * the bypasses, and what everyone was granted meanwhile; judge the window
 * once it is starvation_ms long. A window ends when it is judged (one that
 * cannot be told yet goes on), not when the thread pauses: a thread the OS
 * keeps off the CPU for a tick has not stopped trying.
 */
static int
find_starvation(struct lg_live *lv, uint64_t now, const struct lg_live_sample *s, uint32_t n,
                struct lg_live_verdict *out, uint32_t max, uint32_t *nout, uint32_t *used)
{
    for (uint32_t i = 0; i < n; i++) {
        struct track *t = &lv->tr[lv->tr_of[i]];
        if (t->seen_tick == 0)
            continue; /* first sight: nothing to tell a tick from */
        /* A retry loop is the livelock check's (in_retry_loop): while the
         * thread is in one, no window runs, and one that ran ends. Time in
         * the loop would otherwise be judged as starvation the moment the
         * loop broke up, as when one of its threads exits first. */
        if (in_retry_loop(s, n, i)) {
            t->w_lock = 0;
            continue;
        }
        struct want wanted = { 0, 0, 0 };
        if (t->w_lock) {
            wanted = wanted_since_prev(&s[i], t, t->w_lock, now,
                                       others_grants(lv, s, n, i, t->w_lock));
        } else {
            uint64_t cand[LG_LIVE_GRANT_SLOTS + 2];
            for (uint32_t k = 0; k < LG_LIVE_GRANT_SLOTS; k++)
                cand[k] = s[i].grants[k].lock;
            cand[LG_LIVE_GRANT_SLOTS] = s[i].block == LG_LIVE_LOCK ? s[i].block_lock : 0;
            cand[LG_LIVE_GRANT_SLOTS + 1] = s[i].trying_lock;
            for (uint32_t k = 0; k < LG_LIVE_GRANT_SLOTS + 2; k++) {
                struct want w = { 0, 0, 0 };
                if (cand[k])
                    w = wanted_since_prev(&s[i], t, cand[k], now,
                                          others_grants(lv, s, n, i, cand[k]));
                if (w.ns > wanted.ns)
                    wanted = w;
            }
            if (!wanted.lock)
                continue;
            window_start(t, wanted.lock, t->prev_ns);
        }
        /* This tick's share of the window. */
        t->w_wanted += wanted.ns;
        t->w_bypass += wanted.bypass;
        for (uint32_t j = 0; j < n; j++) {
            uint32_t k = slot_of(&s[j], t->w_lock);
            uint64_t g = k < LG_LIVE_GRANT_SLOTS ? lv->dgrants[j * LG_LIVE_GRANT_SLOTS + k] : 0;
            if (j == i)
                t->w_own += g;
            else if (g && acc_add(lv, t, s[j].thread, g) != 0)
                return -ENOMEM;
        }
        /* Nobody has passed the thread yet: what it waited so far was for a
         * holder that kept the lock (a slow holder is not starvation), so
         * the window starts now. Otherwise a burst of grants right after a
         * long hold would be judged as if it had lasted all that time. */
        if (t->w_bypass == 0 && t->w_nacc == 0) {
            window_start(t, t->w_lock, now);
            continue;
        }
        if (now < t->w_start || now - t->w_start < lv->cfg.starvation_ns)
            continue;
        /* A livelock reported on this lock is not also starvation. */
        struct episode *e = episode_of(lv, s[i].thread);
        if (e && e->reported && e->lock == t->w_lock) {
            t->w_reported = true;
            continue;
        }
        struct lg_live_window w;
        int r = judge(lv, t, now, &w);
        if (lv->on_window && (r >= 0 || !t->w_told)) /* undecided: said once */
            lv->on_window(&w, lv->on_window_ctx);
        if (r < 0) {
            t->w_told = true;
            continue;
        }
        if (r > 0 && !t->w_reported) {
            if (*nout >= max)
                continue; /* no room this tick: judged again at the next */
            if (starvation_verdict(lv, t, &w, &s[i], out, nout, used) != 0)
                return -ENOMEM;
            t->w_reported = true;
        } else if (r == 0) {
            t->w_reported = false; /* not starving now: a later starvation is new */
        }
        t->w_lock = 0; /* the next tick starts the next window, on the lock
                        * it wants most then */
    }
    return 0;
}

/* Each sample's track (created on first sight), and its grants per slot
 * since the previous tick. */
static int
tracks_before(struct lg_live *lv, const struct lg_live_sample *s, uint32_t n)
{
    if (n > lv->scratch_cap) {
        uint32_t cap = n < 64 ? 64 : n;
        lg_free(lv->alloc, lv->tr_of, lv->scratch_cap * sizeof *lv->tr_of);
        lg_free(lv->alloc, lv->dgrants,
                (size_t)lv->scratch_cap * LG_LIVE_GRANT_SLOTS * sizeof *lv->dgrants);
        lv->tr_of = lg_alloc(lv->alloc, cap * sizeof *lv->tr_of);
        lv->dgrants = lg_alloc(lv->alloc, (size_t)cap * LG_LIVE_GRANT_SLOTS * sizeof *lv->dgrants);
        lv->scratch_cap = cap;
        if (!lv->tr_of || !lv->dgrants) {
            lg_free(lv->alloc, lv->tr_of, cap * sizeof *lv->tr_of);
            lg_free(lv->alloc, lv->dgrants, (size_t)cap * LG_LIVE_GRANT_SLOTS * sizeof *lv->dgrants);
            lv->tr_of = NULL;
            lv->dgrants = NULL;
            lv->scratch_cap = 0;
            return -ENOMEM;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = 0;
        while (k < lv->ntr && lv->tr[k].thread != s[i].thread)
            k++;
        if (k == lv->ntr) {
            if (lv->ntr == lv->trcap) {
                uint32_t cap = lv->trcap ? lv->trcap * 2 : 16;
                struct track *grown = lg_grow(lv->alloc, lv->tr, lv->trcap * sizeof *grown,
                                              cap * sizeof *grown);
                if (!grown)
                    return -ENOMEM;
                lv->tr = grown;
                lv->trcap = cap;
            }
            memset(&lv->tr[lv->ntr++], 0, sizeof *lv->tr);
            lv->tr[k].thread = s[i].thread;
        }
        lv->tr_of[i] = k;
        const struct track *t = &lv->tr[k];
        for (uint32_t g = 0; g < LG_LIVE_GRANT_SLOTS; g++) {
            uint64_t now = s[i].grants[g].grants, d;
            if (t->seen_tick == 0)
                d = lv->tick > 1 ? now : 0; /* a thread new since the last tick */
            else if (t->grants[g].lock != s[i].grants[g].lock || now < t->grants[g].grants)
                d = now; /* the slot started again from zero */
            else
                d = now - t->grants[g].grants;
            lv->dgrants[i * LG_LIVE_GRANT_SLOTS + g] = s[i].grants[g].lock ? d : 0;
        }
    }
    return 0;
}

/* Remember this tick's samples for the next, and forget threads that are
 * gone. */
static void
tracks_after(struct lg_live *lv, uint64_t now, const struct lg_live_sample *s, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        struct track *t = &lv->tr[lv->tr_of[i]];
        const struct track *prev = t->seen_tick ? t : NULL;
        struct want want[WANT_SLOTS];
        memset(want, 0, sizeof want);
        for (uint32_t k = 0; k < LG_LIVE_GRANT_SLOTS; k++)
            want[k].lock = s[i].grants[k].lock;
        want[LG_LIVE_GRANT_SLOTS].lock = s[i].block == LG_LIVE_LOCK ? s[i].block_lock : 0;
        want[LG_LIVE_GRANT_SLOTS + 1].lock = s[i].trying_lock;
        for (uint32_t k = 0; k < WANT_SLOTS; k++)
            if (want[k].lock)
                want[k] = want_cum(&s[i], prev, want[k].lock, now);
        memcpy(t->want, want, sizeof want);
        for (uint32_t k = 0; k < LG_LIVE_GRANT_SLOTS; k++) {
            t->grants[k].lock = s[i].grants[k].lock;
            t->grants[k].grants = s[i].grants[k].grants;
        }
        t->prev_ns = now;
        t->failed_trys = s[i].failed_trys;
        t->trying_lock = s[i].trying_lock;
        t->trying_since = s[i].trying_since_ns;
        t->seen_tick = lv->tick;
    }
    for (uint32_t i = 0; i < lv->ntr;)
        if (lv->tr[i].seen_tick != lv->tick)
            drop_track(lv, i);
        else
            i++;
}

static int
find_stall(struct lg_live *lv, uint64_t now, const struct lg_live_sample *s, uint32_t n,
           struct lg_live_verdict *out, uint32_t max, uint32_t *nout, uint32_t *used)
{
    /* The exiting thread was running until it exited. */
    bool all = n > 0 && now >= lv->last_exit_ns && now - lv->last_exit_ns >= lv->cfg.stall_ns;
    for (uint32_t i = 0; i < n && all; i++)
        all = s[i].block != LG_LIVE_RUNNING && now - s[i].block_since_ns >= lv->cfg.stall_ns;
    if (!all) {
        lv->stall_reported = false; /* somebody runs: a later stall is new */
        return 0;
    }
    if (lv->stall_reported || *nout >= max)
        return 0;
    struct lg_live_member *m = members_alloc(lv, used, n);
    if (!m)
        return -ENOMEM;
    uint64_t shortest = now - lv->last_exit_ns;
    for (uint32_t i = 0; i < n; i++) {
        m[i].thread = s[i].thread;
        m[i].block = s[i].block;
        m[i].lock = s[i].block == LG_LIVE_LOCK ? s[i].block_lock : 0;
        m[i].since_ns = s[i].block_since_ns;
        m[i].lost_wakeup = s[i].block == LG_LIVE_COND || s[i].block == LG_LIVE_SEM;
        if (now - s[i].block_since_ns < shortest)
            shortest = now - s[i].block_since_ns;
    }
    struct lg_live_verdict *v = &out[(*nout)++];
    memset(v, 0, sizeof *v);
    v->kind = LG_LIVE_STALL;
    v->window_ns = shortest;
    v->n = n;
    v->members = m;
    lv->stall_reported = true;
    return 0;
}

void
lg_live_stall_withheld(struct lg_live *lv)
{
    lv->stall_reported = false;
}

int
lg_live_tick(struct lg_live *lv, uint64_t now, const struct lg_live_sample *s, uint32_t n,
             struct lg_live_verdict *out, uint32_t max)
{
    lv->tick++;
    /* Episodes: keep, renew or start one per thread that waits or retries. */
    for (uint32_t i = 0; i < n; i++) {
        uint64_t lock, since;
        struct episode *e = episode_of(lv, s[i].thread);
        if (!target_of(&s[i], &lock, &since)) {
            if (e)
                drop_episode(lv, (uint32_t)(e - lv->ep));
            continue;
        }
        if (e && (e->lock != lock || e->since_ns != since || s[i].progress != e->progress0)) {
            drop_episode(lv, (uint32_t)(e - lv->ep));
            e = NULL;
        }
        if (!e && start_episode(lv, &s[i], lock, since) != 0)
            return -ENOMEM;
        e = episode_of(lv, s[i].thread);
        if (e)
            e->seen_tick = lv->tick;
    }
    for (uint32_t i = 0; i < lv->nep;) /* threads that are gone or idle */
        if (lv->ep[i].seen_tick != lv->tick)
            drop_episode(lv, i);
        else
            i++;

    /* Room for every member any verdict of this tick can have. */
    uint32_t need = (max + 1) * (n + 1);
    if (need > lv->members_cap) {
        lg_free(lv->alloc, lv->members, lv->members_cap * sizeof *lv->members);
        lv->members = lg_alloc(lv->alloc, need * sizeof *lv->members);
        lv->members_cap = lv->members ? need : 0;
        if (!lv->members)
            return -ENOMEM;
    }
    bool eligible_small[64];
    bool *eligible = n <= 64 ? eligible_small : lg_alloc(lv->alloc, n * sizeof *eligible);
    if (!eligible)
        return -ENOMEM;
    uint32_t nout = 0, used = 0;
    int err = tracks_before(lv, s, n);
    if (!err)
        err = find_livelocks(lv, now, s, n, eligible, out, max, &nout, &used);
    if (!err)
        err = find_starvation(lv, now, s, n, out, max, &nout, &used);
    if (!err)
        err = find_stall(lv, now, s, n, out, max, &nout, &used);
    if (!err)
        tracks_after(lv, now, s, n);
    if (eligible != eligible_small)
        lg_free(lv->alloc, eligible, n * sizeof *eligible);
    return err ? err : (int)nout;
}
