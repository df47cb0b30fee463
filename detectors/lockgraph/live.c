/*
 * live.c - liveness decisions from per-tick samples; see live.h for the
 * definitions this file implements.
 *
 * State is one episode per thread: the lock it waits for or retries, since
 * when, and what the counters said when the monitor first saw the episode
 * (so that grants and back-offs are counted over the window the monitor
 * actually watched, never more). A new lock, or a new start time, is a new
 * episode; so is progress on the old one.
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
    uint64_t lock_grants0, backoffs0, progress0;
    struct grant_snap *snap; /* every thread's grants of `lock` at first sight */
    uint32_t nsnap;
    bool reported;           /* as starvation or livelock */
    bool livelocked;
    uint64_t seen_tick;
};

struct lg_live {
    const struct lg_alloc *alloc;
    struct lg_live_config cfg;
    struct episode *ep;
    uint32_t nep, cap;
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

static void
drop_episode(struct lg_live *lv, uint32_t i)
{
    lg_free(lv->alloc, lv->ep[i].snap, lv->ep[i].nsnap * sizeof *lv->ep[i].snap);
    lv->ep[i] = lv->ep[--lv->nep];
}

void
lg_live_free(struct lg_live *lv)
{
    if (!lv)
        return;
    while (lv->nep)
        drop_episode(lv, 0);
    lg_free(lv->alloc, lv->ep, lv->cap * sizeof *lv->ep);
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

static uint64_t
grants_of(const struct lg_live_sample *s, uint64_t lock)
{
    for (int i = 0; i < LG_LIVE_GRANT_SLOTS; i++)
        if (s->grants[i].lock == lock)
            return s->grants[i].grants;
    return 0;
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
start_episode(struct lg_live *lv, const struct lg_live_sample *s, uint64_t lock, uint64_t since,
              const struct lg_live_sample *all, uint32_t n)
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
    struct episode *e = &lv->ep[lv->nep];
    memset(e, 0, sizeof *e);
    e->snap = lg_alloc(lv->alloc, (n ? n : 1) * sizeof *e->snap);
    if (!e->snap)
        return -ENOMEM;
    lv->nep++;
    e->thread = s->thread;
    e->lock = lock;
    e->since_ns = since;
    e->lock_grants0 = s->lock_grants;
    e->backoffs0 = s->backoffs;
    e->progress0 = s->progress;
    for (uint32_t i = 0; i < n; i++)
        e->snap[e->nsnap++] = (struct grant_snap){ all[i].thread, grants_of(&all[i], lock) };
    return 0;
}

static uint64_t
grants_since(const struct episode *e, const struct lg_live_sample *s)
{
    uint64_t before = 0;
    for (uint32_t i = 0; i < e->nsnap; i++)
        if (e->snap[i].thread == s->thread)
            before = e->snap[i].grants;
    uint64_t now = grants_of(s, e->lock);
    return now > before ? now - before : 0;
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
            e->reported = e->livelocked = true;
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

static int
find_starvation(struct lg_live *lv, uint64_t now, const struct lg_live_sample *s, uint32_t n,
                struct lg_live_verdict *out, uint32_t max, uint32_t *nout, uint32_t *used)
{
    for (uint32_t i = 0; i < n && *nout < max; i++) {
        struct episode *e = episode_of(lv, s[i].thread);
        if (!e || e->reported || now - e->since_ns < lv->cfg.starvation_ns
            || in_retry_loop(s, n, i))
            continue;
        uint64_t granted = s[i].lock_grants - e->lock_grants0;
        if (s[i].lock_grants < e->lock_grants0 || granted < lv->cfg.starvation_grants)
            continue;
        /* Who got the lock meanwhile: the starved thread first (with 0). */
        uint32_t k = 1;
        for (uint32_t j = 0; j < n; j++)
            if (j != i && grants_since(e, &s[j]) > 0)
                k++;
        struct lg_live_member *m = members_alloc(lv, used, k);
        if (!m)
            return -ENOMEM;
        uint64_t shares[k];
        m[0].thread = s[i].thread;
        m[0].lock = e->lock;
        m[0].since_ns = e->since_ns;
        m[0].block = s[i].block;
        shares[0] = 0;
        k = 1;
        for (uint32_t j = 0; j < n; j++) {
            uint64_t g = j != i ? grants_since(e, &s[j]) : 0;
            if (!g)
                continue;
            m[k].thread = s[j].thread;
            m[k].lock = e->lock;
            m[k].grants = g;
            shares[k++] = g;
        }
        struct lg_live_verdict *v = &out[(*nout)++];
        memset(v, 0, sizeof *v);
        v->kind = LG_LIVE_STARVATION;
        v->lock = e->lock;
        v->window_ns = now - e->since_ns;
        v->lock_grants = granted;
        v->jain = lg_live_jain(shares, k);
        v->n = k;
        v->members = m;
        e->reported = true;
    }
    return 0;
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
        if (!e && start_episode(lv, &s[i], lock, since, s, n) != 0)
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
    int err = find_livelocks(lv, now, s, n, eligible, out, max, &nout, &used);
    if (!err)
        err = find_starvation(lv, now, s, n, out, max, &nout, &used);
    if (!err)
        err = find_stall(lv, now, s, n, out, max, &nout, &used);
    if (eligible != eligible_small)
        lg_free(lv->alloc, eligible, n * sizeof *eligible);
    return err ? err : (int)nout;
}
