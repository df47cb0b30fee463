/*
 * rb.h - shared support for racebed's scenario programs.
 *
 * Every program in buggy/ and fixed/ uses these helpers so that the pair
 * files stay short and `diff buggy/x.c fixed/x.c` shows only the fix:
 * argument parsing (--hang, --help), the one-line outcome, bounded
 * rendezvous points that force an interleaving, and fairness arithmetic.
 *
 * Conventions: functions that can fail for a reason the caller may handle
 * return 0 or a positive errno (as pthreads does); calls that must not fail
 * go through RB_CHECK, which prints where and aborts.
 */
#ifndef RB_H
#define RB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Abort with file:line and the failing call when a pthread-style call that
 * must not fail returns non-zero. */
#define RB_CHECK(call)                                                        \
    do {                                                                      \
        int rb_check_err_ = (call);                                           \
        if (rb_check_err_ != 0)                                               \
            rb_die(__FILE__, __LINE__, #call, rb_check_err_);                 \
    } while (0)

_Noreturn void rb_die(const char *file, int line, const char *what, int err);

/* ---- arguments ---------------------------------------------------------- */

enum rb_flags {
    RB_ALLOW_HANG = 1u << 0, /* the program has a real-hang demonstration */
    RB_LATENT = 1u << 1,     /* the program has a latent mode (--latent) */
};

struct rb_args {
    const char *name; /* program name, used as the prefix of every line */
    bool hang;        /* --hang: reproduce the real hang instead of a bounded run */
    bool latent;      /* --latent: nothing forces the interleaving */
};

/*
 * Parse the arguments every scenario accepts: --hang (only when `flags` has
 * RB_ALLOW_HANG), --latent (only with RB_LATENT) and --help. `about` is
 * printed by --help. An unknown argument prints a clear error and exits
 * with status 2; --help exits 0.
 *
 * --latent switches the scaffolding off: meeting points and cues become
 * no-ops (rb_meet() and rb_cue_wait() return false at once, rb_cue_give()
 * does nothing), so the program runs as it would without them and its bug
 * shows only when the schedule happens to expose it - a latent bug, as real
 * ones are. Call it before any thread starts.
 */
struct rb_args rb_start(int argc, char **argv, unsigned flags, const char *about);

/* False in a --latent run: for scaffolding that is neither a meeting point
 * nor a cue (a wait whose only purpose is to force the order). */
bool rb_forcing(void);

/* ---- outcome ------------------------------------------------------------ */

/*
 * Print the program's one outcome line. rb_symptom() says the bug showed
 * ("<name>: SYMPTOM: ...") and returns 1; rb_ok() says it did not
 * ("<name>: OK: ...") and returns 0. Return their value from main. The
 * harness matches these two prefixes, so scenarios must not print them
 * any other way.
 */
int rb_symptom(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rb_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- forcing interleavings ---------------------------------------------- */

/*
 * A rendezvous point for `parties` threads that cannot hang.
 *
 * rb_meet() waits until all parties have reached the point, which forces
 * the interleaving a buggy program needs (both shoppers have read the
 * notepad before either writes). In a fixed program the other party is
 * usually blocked by the fix itself (waiting for the lock this thread
 * holds), so it can never arrive: the first wait that lasts
 * RB_MEET_TIMEOUT_MS switches the meeting point off for the rest of the run,
 * and from then on rb_meet() returns at once. That timeout changes only how
 * long a fixed program runs, never what a buggy program shows.
 *
 * Keep it to one party waiting when a meeting point times out: when several
 * time out together, Debian 12's glibc can call pthread_cond_broadcast from
 * inside pthread_cond_timedwait before re-taking the mutex, and Helgrind
 * then reports a broadcast without the lock, now and then.
 *
 * Returns true when the parties met, false when the point is (now) off.
 */
#define RB_MEET_TIMEOUT_MS 2000

/*
 * The margin of that timeout is measured, not guessed: with RB_MEET_STATS=
 * <file> in the environment, a program appends one line at exit with the
 * longest wait at a meeting point or cue that did meet (and how many timed
 * out). `racebed matrix` collects them into build/matrix/matrix.md; the
 * longest met wait of a buggy program must stay far below the timeout, or
 * the forced interleaving could be given up in a slow run. It was 1000 ms
 * until a buggy program's wait was seen to meet after 993 ms (livelock, no
 * detector, 2-core VM at load ~7); the longest met waits, and so the margin
 * of these 2000 ms, are in docs/harness.md (Limits).
 */

struct rb_meet {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned parties;
    unsigned arrived;
    unsigned long generation;
    atomic_bool off;
};

#define RB_MEET_INITIALIZER(n)                                                \
    { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, (n), 0, 0, false }

bool rb_meet(struct rb_meet *m);

/* Switch the meeting point off now and release whoever waits at it: a
 * thread that leaves for good calls it, so the others do not wait
 * RB_MEET_TIMEOUT_MS for a party that will never come. */
void rb_meet_off(struct rb_meet *m);

/*
 * A one-shot cue that orders two threads without telling the detectors.
 *
 * rb_meet() is a mutex and a condition variable, and every detector sees
 * them: what one party did before the meeting point happens-before what the
 * others do after it, so a pair of accesses on either side of it is never a
 * race to a detector. That suits bugs whose racing accesses both come after
 * the meeting point. Some bugs need the racing accesses themselves in a
 * fixed order (the caller reads a result before the task writes it); a cue
 * forces that order with nothing a detector counts as synchronisation, so
 * the race it reports is the program's own.
 *
 * rb_cue_give() is one relaxed atomic read-modify-write; rb_cue_wait()
 * polls with relaxed loads and short sleeps (a futex wake would be seen by
 * DRD as a write). ThreadSanitizer does not synchronise on relaxed atomics,
 * and Helgrind and DRD treat an atomic read-modify-write as a read, so the
 * cue itself is never reported. The order is real; no happens-before edge
 * is created.
 *
 * Like rb_meet(), a cue cannot hang: rb_cue_wait() gives up after
 * RB_MEET_TIMEOUT_MS (in a fixed program the fix itself may hold the giver
 * back) and returns false. It returns true once the cue has been given.
 */
struct rb_cue {
    atomic_uint given;
};

#define RB_CUE_INITIALIZER { 0 }

void rb_cue_give(struct rb_cue *c);
bool rb_cue_wait(struct rb_cue *c);

/*
 * Bound a run whose symptom is a hang (a lost wakeup, a deadlock through a
 * semaphore): the program waits the way the bug makes it wait, untimed, and
 * if it is still running after `ms` the watchdog prints the outcome line
 * (formatted now, so the signal handler only writes it) and exits 1.
 * A checker that reports hangs, like lockgraph's stall report, sees the
 * real untimed wait and ends the run first; --hang runs skip the watchdog.
 */
void rb_watchdog(long ms, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- threads and time --------------------------------------------------- */

void rb_spawn(pthread_t *t, void *(*fn)(void *), void *arg);
void rb_join(pthread_t t);

/* Monotonic clock in nanoseconds, for bounded runs and measurements. */
uint64_t rb_now_ns(void);

/* An absolute CLOCK_REALTIME deadline `ms` from now, as the timed pthread
 * calls (pthread_mutex_timedlock, sem_timedwait) expect. */
struct timespec rb_deadline(long ms);

/* ---- fairness ----------------------------------------------------------- */

/*
 * Jain's fairness index of n shares: (sum x)^2 / (n * sum x^2). It is 1.0
 * when every share is equal and 1/n when one party gets everything. By
 * convention it is 1.0 when n == 0 or every share is 0 (nobody was
 * treated worse than anybody else).
 */
double rb_jain_index(const unsigned long *x, size_t n);

/*
 * The smallest share of the total, as a fraction of the fair share
 * (total / n): 1.0 is a perfectly fair split, 0.0 means some party got
 * nothing. 1.0 when the total is 0.
 */
double rb_min_fair_fraction(const unsigned long *x, size_t n);

/*
 * Print one line per party ("<label> <i>: <x> (<pct>%)") and Jain's index,
 * then the outcome line: a symptom when the smallest share is below
 * `min_fraction` of the fair share. Returns what rb_symptom()/rb_ok() return.
 */
int rb_report_shares(const char *label, const unsigned long *x, size_t n,
                     double min_fraction);

/* ---- queue order -------------------------------------------------------- */

/*
 * Who was served out of turn: the outcome check for fairness scenarios.
 *
 * A share of meals measures what the scheduler did (a fair diner kept off
 * the CPU eats less); overtaking measures what the lock guarantees. Every
 * party takes a number when it starts to wait (rb_queue_arrive(), one
 * atomic fetch-and-add, so the order is fixed at that instant) and, once it
 * holds the resource, says so with rb_queue_served(), which counts one
 * overtake against every party still waiting with a smaller number. A FIFO
 * (ticket) lock that serves in number order overtakes nobody, whatever the
 * scheduler does; a lock that lets a newcomer barge in overtakes a starving
 * party again and again.
 *
 * rb_queue_served() must be called while the resource is held exclusively
 * (the counts it keeps are protected by the resource itself). The waiting
 * marks are atomics written with read-modify-writes, which Helgrind and DRD
 * treat as reads and which ThreadSanitizer sees as atomics, so the accounting
 * itself is never reported. rb_queue_leave() withdraws a party that gives
 * up waiting (the run is over) without being served.
 */
#define RB_QUEUE_MAX 16
#define RB_QUEUE_NONE UINT64_MAX

struct rb_queue {
    atomic_uint_fast64_t next;                      /* the next number */
    atomic_uint_fast64_t waiting[RB_QUEUE_MAX];     /* a party's number, or NONE */
    /* Under the resource: */
    uint64_t counted_for[RB_QUEUE_MAX];             /* the wait the count is for */
    unsigned long overtaken[RB_QUEUE_MAX];          /* overtakes in that wait */
    unsigned long worst[RB_QUEUE_MAX];              /* most overtakes in one wait */
    unsigned long served[RB_QUEUE_MAX];             /* times served */
};

/* Every waiting mark NONE; call before any party arrives. */
void rb_queue_init(struct rb_queue *q);

/* Party `who` starts to wait: returns its number (0, 1, 2, ... in order). */
uint64_t rb_queue_arrive(struct rb_queue *q, unsigned who);

/* Party `who` holds the resource now: every party still waiting with a
 * smaller number has been overtaken once more; `who` waits no longer. */
void rb_queue_served(struct rb_queue *q, unsigned who);

/* Party `who` stops waiting without being served. */
void rb_queue_leave(struct rb_queue *q, unsigned who);

/*
 * Print one line per party ("<label> <i>: served <n>, overtaken at most <k>
 * times in one wait") and the outcome line: a symptom when some party was
 * overtaken more than `bound` times in one wait (a FIFO lock's bound is 0).
 * Call once every party has stopped. Returns what rb_symptom()/rb_ok() return.
 */
int rb_queue_report(const struct rb_queue *q, const char *label, unsigned parties,
                    unsigned long bound);

#endif /* RB_H */
