/* rb.c - shared support for racebed's scenario programs; see rb.h. */
#include "rb.h"

#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *rb_name = "scenario";
static bool rb_latent; /* --latent: the scaffolding is off (set before any thread) */

/* RB_MEET_STATS (see rb.h): read-modify-writes only, which Helgrind and DRD
 * take for reads, so the bookkeeping is never a race of its own. */
static atomic_uint_fast64_t longest_met_ns, meet_timeouts, cue_timeouts;
static const char *stats_path;

static void
note_met(uint64_t waited_ns)
{
    uint_fast64_t seen = atomic_load_explicit(&longest_met_ns, memory_order_relaxed);
    while (waited_ns > seen
           && !atomic_compare_exchange_weak_explicit(&longest_met_ns, &seen, waited_ns,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed))
        ;
}

static void
write_stats(void)
{
    FILE *f = fopen(stats_path, "a");
    if (f == NULL)
        return;
    fprintf(f, "%s longest_met_ms=%.1f meet_timeouts=%lu cue_timeouts=%lu\n", rb_name,
            (double)atomic_fetch_add(&longest_met_ns, 0) / 1e6,
            (unsigned long)atomic_fetch_add(&meet_timeouts, 0),
            (unsigned long)atomic_fetch_add(&cue_timeouts, 0));
    fclose(f);
}

_Noreturn void
rb_die(const char *file, int line, const char *what, int err)
{
    fprintf(stderr, "%s: %s:%d: %s failed: %s\n", rb_name, file, line, what,
            strerror(err));
    fflush(NULL);
    abort();
}

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

struct rb_args
rb_start(int argc, char **argv, unsigned flags, const char *about)
{
    struct rb_args args = { .name = rb_name, .hang = false, .latent = false };

    if (argc > 0 && argv[0] && argv[0][0])
        rb_name = args.name = base_name(argv[0]);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s%s%s\n\n%s\n", rb_name,
                   (flags & RB_ALLOW_HANG) ? " [--hang]" : "",
                   (flags & RB_LATENT) ? " [--latent]" : "", about);
            if (flags & RB_ALLOW_HANG)
                printf("\n  --hang   reproduce the real hang (the default run is "
                       "bounded and never hangs)\n");
            if (flags & RB_LATENT)
                printf("%s  --latent do not force the interleaving: the bug shows only "
                       "when the schedule\n           happens to expose it (lockgraph "
                       "--perturb makes that common)\n",
                       (flags & RB_ALLOW_HANG) ? "" : "\n");
            exit(0);
        }
        if ((flags & RB_ALLOW_HANG) && strcmp(argv[i], "--hang") == 0) {
            args.hang = true;
            continue;
        }
        if ((flags & RB_LATENT) && strcmp(argv[i], "--latent") == 0) {
            args.latent = rb_latent = true;
            continue;
        }
        fprintf(stderr, "%s: unknown argument '%s' (accepted: %s%s--help)\n",
                rb_name, argv[i], (flags & RB_ALLOW_HANG) ? "--hang, " : "",
                (flags & RB_LATENT) ? "--latent, " : "");
        exit(2);
    }
    /* The outcome line must reach the harness even when a detector later
     * kills the process, so stdout is not buffered. */
    setvbuf(stdout, NULL, _IONBF, 0);
    stats_path = getenv("RB_MEET_STATS");
    if (stats_path != NULL && stats_path[0] != '\0')
        atexit(write_stats);
    return args;
}

static void
outcome(const char *tag, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    printf("%s: %s: %s\n", rb_name, tag, line);
}

int
rb_symptom(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    outcome("SYMPTOM", fmt, ap);
    va_end(ap);
    return 1;
}

int
rb_ok(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    outcome("OK", fmt, ap);
    va_end(ap);
    return 0;
}

bool
rb_forcing(void)
{
    return !rb_latent;
}

bool
rb_meet(struct rb_meet *m)
{
    if (rb_latent)
        return false;
    /* `off` is read under the mutex only: Helgrind and DRD do not model C11
     * atomics, and would take an unlocked check for a race of racebed's own. */
    RB_CHECK(pthread_mutex_lock(&m->mu));
    if (atomic_load_explicit(&m->off, memory_order_relaxed)) {
        RB_CHECK(pthread_mutex_unlock(&m->mu));
        return false;
    }
    unsigned long gen = m->generation;
    bool met = true;
    if (++m->arrived == m->parties) {
        m->arrived = 0;
        m->generation++;
        RB_CHECK(pthread_cond_broadcast(&m->cv));
    } else {
        uint64_t start = rb_now_ns();
        struct timespec until = rb_deadline(RB_MEET_TIMEOUT_MS);
        while (m->generation == gen
               && !atomic_load_explicit(&m->off, memory_order_relaxed)) {
            int err = pthread_cond_timedwait(&m->cv, &m->mu, &until);
            if (err == ETIMEDOUT && m->generation == gen) {
                /* The other parties cannot get here: the program's own
                 * synchronisation holds them back. Stop forcing. */
                atomic_store_explicit(&m->off, true, memory_order_release);
                RB_CHECK(pthread_cond_broadcast(&m->cv));
                atomic_fetch_add_explicit(&meet_timeouts, 1, memory_order_relaxed);
                break;
            }
            if (err != 0 && err != ETIMEDOUT)
                rb_die(__FILE__, __LINE__, "pthread_cond_timedwait", err);
        }
        met = m->generation != gen;
        if (met)
            note_met(rb_now_ns() - start);
    }
    RB_CHECK(pthread_mutex_unlock(&m->mu));
    return met;
}

/* How often rb_cue_wait() looks; short next to any wait it stands in for. */
#define RB_CUE_POLL_NS 100000L

void
rb_cue_give(struct rb_cue *c)
{
    if (rb_latent)
        return;
    /* A read-modify-write, never a plain store: Helgrind and DRD model it as
     * a read, so it cannot conflict with the waiter's loads. Relaxed, so
     * ThreadSanitizer sees no release either. */
    atomic_fetch_add_explicit(&c->given, 1, memory_order_relaxed);
}

bool
rb_cue_wait(struct rb_cue *c)
{
    if (rb_latent)
        return false;
    uint64_t start = rb_now_ns(), until = start + RB_MEET_TIMEOUT_MS * 1000000ull;
    const struct timespec poll = { 0, RB_CUE_POLL_NS };
    while (atomic_load_explicit(&c->given, memory_order_relaxed) == 0) {
        if (rb_now_ns() >= until) {
            atomic_fetch_add_explicit(&cue_timeouts, 1, memory_order_relaxed);
            return false;
        }
        nanosleep(&poll, NULL);
    }
    note_met(rb_now_ns() - start);
    return true;
}

static char watchdog_line[600];
static size_t watchdog_len;

static void
watchdog_fired(int sig)
{
    (void)sig;
    /* Only async-signal-safe calls here: the line was formatted in advance. */
    ssize_t ignored = write(STDOUT_FILENO, watchdog_line, watchdog_len);
    (void)ignored;
    _exit(1);
}

void
rb_watchdog(long ms, const char *fmt, ...)
{
    char what[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int n = snprintf(watchdog_line, sizeof watchdog_line, "%s: SYMPTOM: %s\n", rb_name, what);
    watchdog_len = n < 0 ? 0 : (size_t)n < sizeof watchdog_line ? (size_t)n : sizeof watchdog_line - 1;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = watchdog_fired;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        rb_die(__FILE__, __LINE__, "sigaction(SIGALRM)", errno);
    struct itimerval when = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };
    if (setitimer(ITIMER_REAL, &when, NULL) != 0)
        rb_die(__FILE__, __LINE__, "setitimer", errno);
}

void
rb_meet_off(struct rb_meet *m)
{
    RB_CHECK(pthread_mutex_lock(&m->mu));
    atomic_store_explicit(&m->off, true, memory_order_release);
    RB_CHECK(pthread_cond_broadcast(&m->cv));
    RB_CHECK(pthread_mutex_unlock(&m->mu));
}

void
rb_spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
    RB_CHECK(pthread_create(t, NULL, fn, arg));
}

void
rb_join(pthread_t t)
{
    RB_CHECK(pthread_join(t, NULL));
}

uint64_t
rb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct timespec
rb_deadline(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

double
rb_jain_index(const unsigned long *x, size_t n)
{
    double sum = 0, sum_sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += (double)x[i];
        sum_sq += (double)x[i] * (double)x[i];
    }
    if (n == 0 || sum_sq == 0)
        return 1.0;
    return sum * sum / ((double)n * sum_sq);
}

double
rb_min_fair_fraction(const unsigned long *x, size_t n)
{
    unsigned long total = 0, least = 0;
    for (size_t i = 0; i < n; i++) {
        total += x[i];
        if (i == 0 || x[i] < least)
            least = x[i];
    }
    if (n == 0 || total == 0)
        return 1.0;
    return (double)least * (double)n / (double)total;
}

int
rb_report_shares(const char *label, const unsigned long *x, size_t n,
                 double min_fraction)
{
    unsigned long total = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        total += x[i];
        if (x[i] < x[worst])
            worst = i;
    }
    for (size_t i = 0; i < n; i++)
        printf("  %s %zu: %lu (%.1f%%)\n", label, i, x[i],
               total ? 100.0 * (double)x[i] / (double)total : 0.0);
    double jain = rb_jain_index(x, n);
    double frac = rb_min_fair_fraction(x, n);
    printf("  Jain's fairness index: %.3f (1.000 = perfectly fair)\n", jain);
    if (frac < min_fraction)
        return rb_symptom("%s %zu got %lu of %lu (%.1f%% of its fair share, "
                          "threshold %.0f%%); Jain's index %.3f",
                          label, worst, n ? x[worst] : 0, total, 100.0 * frac,
                          100.0 * min_fraction, jain);
    return rb_ok("every %s got at least %.0f%% of its fair share (worst: %.1f%%); "
                 "Jain's index %.3f",
                 label, 100.0 * min_fraction, 100.0 * frac, jain);
}

/* Set a party's own waiting mark and return the old one. Only the party
 * writes its mark, so it can add the difference: a locked add, which
 * Helgrind and DRD take for a read (an exchange or a store they take for a
 * write, and report against the other parties' loads). */
static uint64_t
set_mark(atomic_uint_fast64_t *mark, uint64_t to)
{
    uint64_t was = atomic_load_explicit(mark, memory_order_relaxed);
    atomic_fetch_add_explicit(mark, to - was, memory_order_relaxed);
    return was;
}

void
rb_queue_init(struct rb_queue *q)
{
    atomic_init(&q->next, 0);
    for (unsigned i = 0; i < RB_QUEUE_MAX; i++) {
        atomic_init(&q->waiting[i], RB_QUEUE_NONE);
        q->counted_for[i] = RB_QUEUE_NONE;
        q->overtaken[i] = q->worst[i] = q->served[i] = 0;
    }
}

uint64_t
rb_queue_arrive(struct rb_queue *q, unsigned who)
{
    if (who >= RB_QUEUE_MAX)
        rb_die(__FILE__, __LINE__, "rb_queue_arrive: party out of range", EINVAL);
    uint64_t mine = atomic_fetch_add_explicit(&q->next, 1, memory_order_relaxed);
    set_mark(&q->waiting[who], mine);
    return mine;
}

void
rb_queue_served(struct rb_queue *q, unsigned who)
{
    if (who >= RB_QUEUE_MAX)
        rb_die(__FILE__, __LINE__, "rb_queue_served: party out of range", EINVAL);
    uint64_t mine = set_mark(&q->waiting[who], RB_QUEUE_NONE);
    for (unsigned i = 0; i < RB_QUEUE_MAX; i++) {
        uint64_t theirs = atomic_load_explicit(&q->waiting[i], memory_order_relaxed);
        if (i == who || theirs == RB_QUEUE_NONE || theirs >= mine)
            continue;
        if (q->counted_for[i] != theirs) { /* a new wait of theirs */
            q->counted_for[i] = theirs;
            q->overtaken[i] = 0;
        }
        if (++q->overtaken[i] > q->worst[i])
            q->worst[i] = q->overtaken[i];
    }
    q->served[who]++;
}

void
rb_queue_leave(struct rb_queue *q, unsigned who)
{
    if (who < RB_QUEUE_MAX)
        set_mark(&q->waiting[who], RB_QUEUE_NONE);
}

int
rb_queue_report(const struct rb_queue *q, const char *label, unsigned parties,
                unsigned long bound)
{
    unsigned worst = 0;
    for (unsigned i = 0; i < parties && i < RB_QUEUE_MAX; i++) {
        printf("  %s %u: served %lu, overtaken at most %lu times in one wait\n", label, i,
               q->served[i], q->worst[i]);
        if (q->worst[i] > q->worst[worst])
            worst = i;
    }
    if (parties > 0 && q->worst[worst] > bound)
        return rb_symptom("%s %u was overtaken %lu times in one wait (a FIFO lock allows "
                          "%lu); it was served %lu time(s)", label, worst, q->worst[worst],
                          bound, q->served[worst]);
    return rb_ok("no %s was overtaken more than %lu times in one wait (most: %lu)", label,
                 bound, parties > 0 ? q->worst[worst] : 0);
}
