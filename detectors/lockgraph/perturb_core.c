/*
 * perturb_core.c - the perturbation strategy's decisions (perturb.h has the
 * argument). Pure: no pthreads, no clocks, no malloc; the runtime
 * (perturb.c) asks, measures and holds.
 */
#include "perturb.h"

#define NS_PER_MS 1000000ull

/* How often a hold is skipped: one in SKIP_ONE_IN. */
#define SKIP_ONE_IN 16u
/* A quarter of the threads get a change point, at a call in this range. */
#define CHANGE_ONE_IN 4u
#define CHANGE_FIRST 8u
#define CHANGE_LAST 65536u
/* The allowance every run has before the budget's percentage is worth
 * anything: a scenario's whole run is a few milliseconds, and the holds it
 * needs (a start, a step or two, one yield) take well under a millisecond
 * each. */
#define GRACE_NS (20 * NS_PER_MS)
/* The hold before a spurious wake-up: long enough for a thread that was
 * just exiting to be gone (so a waiter nobody can wake stays asleep), short
 * next to work another thread is still doing. */
#define SPURIOUS_MIN_NS 100000ull
#define SPURIOUS_MAX_NS 1600000ull

/* splitmix64's finaliser: a bijection that mixes every input bit into every
 * output bit. */
static uint64_t
mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void
lg_pt_config_init(struct lg_pt_config *c, uint64_t seed, long budget_pct, long hold_max_ms,
                  long spurious_pct)
{
    c->seed = seed ? seed : 1;
    c->hold_max_ns = (uint64_t)(hold_max_ms > 0 ? hold_max_ms : 1) * NS_PER_MS;
    c->budget_pct = budget_pct > 0 ? (uint32_t)budget_pct : 0;
    c->grace_ns = GRACE_NS;
    c->spurious_pct = spurious_pct < 0 ? 0 : spurious_pct > 100 ? 100 : (uint32_t)spurious_pct;
    c->spurious_min_ns = SPURIOUS_MIN_NS;
    c->spurious_max_ns = SPURIOUS_MAX_NS;
}

uint64_t
lg_pt_seed_from(uint64_t entropy)
{
    uint64_t s = mix(entropy) & 0xFFFFFFFFull;
    return s ? s : 1;
}

uint64_t
lg_pt_draw(struct lg_pt_thread *pt)
{
    /* A counter-based stream: value i is mix(key + i * golden), so a
     * thread's values depend on nothing but its key and how many it drew. */
    return mix(pt->key + ++pt->draws * 0x9E3779B97F4A7C15ull);
}

uint64_t
lg_pt_log_uniform(uint32_t bits, uint64_t lo, uint64_t hi)
{
    if (lo == 0)
        lo = 1;
    if (hi <= lo)
        return lo;
    unsigned octaves = 0;
    while (octaves < 63 && (lo << (octaves + 1)) <= hi && (lo << (octaves + 1)) > lo)
        octaves++;
    if (octaves == 0) /* less than a doubling: uniform */
        return lo + (uint64_t)bits % (hi - lo + 1);
    /* High bits pick the octave, the rest the place within it. */
    unsigned o = (unsigned)(((uint64_t)(bits >> 16) * octaves) >> 16);
    uint64_t base = lo << o, width = base; /* [base, 2 * base) */
    uint64_t v = base + ((width * (bits & 0xFFFFu)) >> 16);
    return v > hi ? hi : v;
}

void
lg_pt_thread_init(struct lg_pt_thread *pt, const struct lg_pt_config *c, uint32_t num,
                  uint32_t depth)
{
    pt->key = mix(c->seed * 0xD6E8FEB86659FD93ull ^ mix((uint64_t)num + 1));
    pt->draws = 0;
    pt->calls = 0;
    pt->num = num;
    pt->depth = depth;
    pt->changed = false;
    uint64_t r = lg_pt_draw(pt);
    pt->change_at = (r >> 32) % CHANGE_ONE_IN == 0
                        ? lg_pt_log_uniform((uint32_t)r, CHANGE_FIRST, CHANGE_LAST)
                        : 0;
}

/* The hold each call may get (perturb.h's strategy). */
static enum lg_pt_hold
hold_for(enum lg_pt_op op, unsigned flags)
{
    switch (op) {
    case LG_PT_LOCK:
    case LG_PT_TRYLOCK:
    case LG_PT_SEM_WAIT:
    case LG_PT_BARRIER:
    case LG_PT_JOIN:
        return LG_PT_STEP;
    case LG_PT_UNLOCK:
        return flags & LG_PT_F_NOYIELD ? LG_PT_NONE : LG_PT_YIELD;
    case LG_PT_SIGNAL:
    case LG_PT_BROADCAST:
        return flags & LG_PT_F_HOLDING ? LG_PT_NONE : LG_PT_YIELD;
    case LG_PT_SEM_POST:
        return LG_PT_YIELD;
    case LG_PT_START:
        return LG_PT_START_LATE;
    case LG_PT_RDLOCK:
    case LG_PT_COND_WAIT:
    case LG_PT_NOPS:
        break;
    }
    return LG_PT_NONE;
}

struct lg_pt_decision
lg_pt_decide(struct lg_pt_thread *pt, const struct lg_pt_config *c, enum lg_pt_op op,
             unsigned flags)
{
    struct lg_pt_decision d = { LG_PT_NONE, 0, false, 0, false };
    /* One draw, split into fields, whatever is decided: the stream stays
     * aligned with the thread's calls. Bits 0-3: skip; 4-35: the hold's
     * bound (or a wait's spurious hold); 56-63: spurious or not. */
    uint64_t r = lg_pt_draw(pt);
    pt->calls++;
    if (pt->change_at && !pt->changed && pt->calls >= pt->change_at) {
        pt->changed = true;
        d.change_now = true;
    }
    /* Skipping a late start would only give the native order, which a
     * native run tests anyway: starts are never skipped. */
    if (op != LG_PT_START && (r & 0xF) % SKIP_ONE_IN == 0)
        return d;
    if (op == LG_PT_COND_WAIT) {
        if ((r >> 56) * 100 < (uint64_t)c->spurious_pct * 256) {
            d.spurious = true;
            d.spurious_ns = lg_pt_log_uniform((uint32_t)(r >> 4), c->spurious_min_ns,
                                              c->spurious_max_ns);
        }
        return d;
    }
    d.hold = hold_for(op, flags);
    if (d.hold != LG_PT_NONE)
        d.bound_ns = lg_pt_log_uniform((uint32_t)(r >> 4), c->hold_max_ns / 32, c->hold_max_ns);
    return d;
}

uint64_t
lg_pt_rank(uint32_t depth, uint32_t num, bool changed, uint64_t change_seq)
{
    const uint64_t base = 1ull << 63;
    if (changed)
        return base - 1 - (change_seq & ((1ull << 62) - 1));
    uint64_t d = depth > 0x7FFF ? 0x7FFF : depth;
    return base | ((0x7FFFull - d) << 32) | num;
}

uint64_t
lg_pt_budget_left(const struct lg_pt_config *c, uint64_t elapsed_ns, uint64_t used_ns)
{
    /* used <= pct% of (elapsed - used)  <=>  used <= elapsed * pct / (100 + pct):
     * the unperturbed time grows as the program runs, the perturbed time is
     * capped at a share of it. */
    unsigned __int128 share = (unsigned __int128)elapsed_ns * c->budget_pct / (100 + c->budget_pct);
    uint64_t allowed = (uint64_t)share > c->grace_ns ? (uint64_t)share : c->grace_ns;
    return used_ns >= allowed ? 0 : allowed - used_ns;
}
