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
};

struct rb_args {
    const char *name; /* program name, used as the prefix of every line */
    bool hang;        /* --hang: reproduce the real hang instead of a bounded run */
};

/*
 * Parse the arguments every scenario accepts: --hang (only when `flags` has
 * RB_ALLOW_HANG) and --help. `about` is printed by --help. An unknown
 * argument prints a clear error and exits with status 2; --help exits 0.
 */
struct rb_args rb_start(int argc, char **argv, unsigned flags, const char *about);

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
 * Returns true when the parties met, false when the point is (now) off.
 */
#define RB_MEET_TIMEOUT_MS 1000

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

#endif /* RB_H */
