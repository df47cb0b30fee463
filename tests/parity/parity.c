/*
 * parity.c - every call lockgraph interposes, with valid and invalid
 * arguments, on free and held objects of every kind, and what it returned.
 *
 * tests/test_parity.py runs this natively and with liblockgraph.so
 * preloaded (reports to a file, exitcode=0) and requires the same output:
 * lockgraph must never change what a call returns, nor what it does to the
 * object (each line also says whether the object is held afterwards, as
 * another thread's trylock sees it).
 *
 * Every case uses fresh objects; a case that corrupts one (an unlock of an
 * unlocked rwlock) never touches it again. Nothing here depends on timing:
 * an object "held by another thread" is held until this thread says so, and
 * a timed wait that must time out waits on an object nobody releases.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* ---- output --------------------------------------------------------------- */

static const char *
err_name(int e)
{
    static char other[32];
    switch (e) {
    case 0: return "0";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case EDEADLK: return "EDEADLK";
    case EPERM: return "EPERM";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
    case EAGAIN: return "EAGAIN";
    case EINTR: return "EINTR";
    case ESRCH: return "ESRCH";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case PTHREAD_BARRIER_SERIAL_THREAD: return "PTHREAD_BARRIER_SERIAL_THREAD";
    default: snprintf(other, sizeof other, "%d", e); return other;
    }
}

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void
die(const char *what, int err)
{
    fprintf(stderr, "parity: %s: %s\n", what, err_name(err));
    exit(3);
}

#define MUST(call)                                                            \
    do {                                                                      \
        int must_err_ = (call);                                               \
        if (must_err_ != 0)                                                   \
            die(#call, must_err_);                                            \
    } while (0)

/* ---- deadlines ----------------------------------------------------------- */

static struct timespec
in_ms(clockid_t clock, long ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The bad deadlines: tv_nsec out of range, on a deadline that is otherwise
 * in the future. */
static struct timespec
bad_ns(clockid_t clock, long nsec)
{
    struct timespec ts = in_ms(clock, 50);
    ts.tv_nsec = nsec;
    return ts;
}

static const struct timespec past = { 1, 0 };

/* The clocks and deadlines every timed or clocked lock is called with (a
 * timed lock, which has no clock, only with the CLOCK_REALTIME ones). */
struct deadline {
    const char *what;
    clockid_t clock;
    struct timespec ts;
    bool null; /* pass NULL instead of ts */
};
#define NDEADLINES 10

static void
deadlines(struct deadline *d)
{
    const struct deadline all[NDEADLINES] = {
        { "realtime +50 ms", CLOCK_REALTIME, in_ms(CLOCK_REALTIME, 50), false },
        { "monotonic +50 ms", CLOCK_MONOTONIC, in_ms(CLOCK_MONOTONIC, 50), false },
        { "tv_nsec -1", CLOCK_REALTIME, bad_ns(CLOCK_REALTIME, -1), false },
        { "tv_nsec 1e9", CLOCK_REALTIME, bad_ns(CLOCK_REALTIME, 1000000000L), false },
        { "in the past", CLOCK_REALTIME, past, false },
        { "NULL", CLOCK_REALTIME, past, true },
        { "clock PROCESS_CPUTIME", CLOCK_PROCESS_CPUTIME_ID, in_ms(CLOCK_REALTIME, 50), false },
        { "clock REALTIME_COARSE", CLOCK_REALTIME_COARSE, in_ms(CLOCK_REALTIME, 50), false },
        { "clock -1", (clockid_t)-1, in_ms(CLOCK_REALTIME, 50), false },
        { "clock 12345", (clockid_t)12345, in_ms(CLOCK_REALTIME, 50), false },
    };
    memcpy(d, all, sizeof all);
}

/* ---- the objects --------------------------------------------------------- */

enum mkind { M_NORMAL, M_ERRORCHECK, M_RECURSIVE, M_ROBUST, M_ROBUST_ERRORCHECK, M_PI, M_NKINDS };
static const char *const mkind_name[] = { "normal", "errorcheck", "recursive", "robust",
                                          "robust-errorcheck", "prio-inherit" };

static pthread_mutex_t *
mutex_new(enum mkind k)
{
    pthread_mutex_t *m = calloc(1, sizeof *m);
    pthread_mutexattr_t a;
    MUST(pthread_mutexattr_init(&a));
    if (k == M_ERRORCHECK || k == M_ROBUST_ERRORCHECK)
        MUST(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK));
    if (k == M_RECURSIVE)
        MUST(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE));
    if (k == M_ROBUST || k == M_ROBUST_ERRORCHECK)
        MUST(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST));
    if (k == M_PI)
        MUST(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT));
    MUST(pthread_mutex_init(m, &a));
    pthread_mutexattr_destroy(&a);
    return m;
}

static pthread_rwlock_t *
rwlock_new(bool prefer_writer)
{
    pthread_rwlock_t *rw = calloc(1, sizeof *rw);
    pthread_rwlockattr_t a;
    MUST(pthread_rwlockattr_init(&a));
    if (prefer_writer)
        MUST(pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP));
    MUST(pthread_rwlock_init(rw, &a));
    pthread_rwlockattr_destroy(&a);
    return rw;
}

/* ---- another thread, to hold an object or to look at it ------------------- */

enum op { OP_LOCK, OP_RDLOCK, OP_WRLOCK, OP_SPIN, OP_LOCK_AND_DIE };

struct other {
    pthread_t th;
    enum op op;
    void *obj;
    sem_t ready, release;
};

static int
take(enum op op, void *obj)
{
    switch (op) {
    case OP_LOCK:
    case OP_LOCK_AND_DIE: return pthread_mutex_lock(obj);
    case OP_RDLOCK: return pthread_rwlock_rdlock(obj);
    case OP_WRLOCK: return pthread_rwlock_wrlock(obj);
    case OP_SPIN: return pthread_spin_lock(obj);
    }
    return EINVAL;
}

static void *
other_main(void *p)
{
    struct other *o = p;
    int err = take(o->op, o->obj);
    if (err != 0 && err != EOWNERDEAD)
        die("the other thread's lock", err);
    if (o->op == OP_LOCK_AND_DIE)
        return NULL; /* a robust mutex whose owner is gone */
    sem_post(&o->ready);
    while (sem_wait(&o->release) != 0)
        ;
    switch (o->op) {
    case OP_LOCK: pthread_mutex_unlock(o->obj); break;
    case OP_RDLOCK:
    case OP_WRLOCK: pthread_rwlock_unlock(o->obj); break;
    case OP_SPIN: pthread_spin_unlock(o->obj); break;
    default: break;
    }
    return NULL;
}

/* Another thread takes obj and holds it until other_end(). */
static struct other *
other_holds(enum op op, void *obj)
{
    struct other *o = calloc(1, sizeof *o);
    o->op = op;
    o->obj = obj;
    sem_init(&o->ready, 0, 0);
    sem_init(&o->release, 0, 0);
    MUST(pthread_create(&o->th, NULL, other_main, o));
    if (op == OP_LOCK_AND_DIE) {
        MUST(pthread_join(o->th, NULL));
        free(o);
        return NULL;
    }
    while (sem_wait(&o->ready) != 0)
        ;
    return o;
}

static void
other_end(struct other *o)
{
    sem_post(&o->release);
    MUST(pthread_join(o->th, NULL));
    sem_destroy(&o->ready);
    sem_destroy(&o->release);
    free(o);
}

static void *
release_later_main(void *p)
{
    struct timespec nap = { 0, 30 * 1000000L };
    nanosleep(&nap, NULL);
    other_end(p);
    return NULL;
}

/* The other thread lets go 30 ms from now, from a third thread, while this
 * one blocks on the object; join_releaser() after. */
static pthread_t
release_later(struct other *o)
{
    pthread_t th;
    MUST(pthread_create(&th, NULL, release_later_main, o));
    return th;
}

static void
join_releaser(pthread_t th)
{
    MUST(pthread_join(th, NULL));
}

struct peek {
    enum op op;
    void *obj;
    int err;
};

static void *
peek_main(void *p)
{
    struct peek *k = p;
    switch (k->op) {
    case OP_LOCK:
        k->err = pthread_mutex_trylock(k->obj);
        if (k->err == 0 || k->err == EOWNERDEAD) {
            if (k->err == EOWNERDEAD)
                pthread_mutex_consistent(k->obj);
            pthread_mutex_unlock(k->obj);
        }
        break;
    case OP_RDLOCK:
        k->err = pthread_rwlock_tryrdlock(k->obj);
        if (k->err == 0)
            pthread_rwlock_unlock(k->obj);
        break;
    case OP_WRLOCK:
        k->err = pthread_rwlock_trywrlock(k->obj);
        if (k->err == 0)
            pthread_rwlock_unlock(k->obj);
        break;
    case OP_SPIN:
        k->err = pthread_spin_trylock(k->obj);
        if (k->err == 0)
            pthread_spin_unlock(k->obj);
        break;
    default: break;
    }
    return NULL;
}

/* What another thread's try says of obj now: "free" or "held". */
static const char *
state(enum op op, void *obj)
{
    struct peek k = { op, obj, 0 };
    pthread_t th;
    MUST(pthread_create(&th, NULL, peek_main, &k));
    MUST(pthread_join(th, NULL));
    return k.err == 0 ? "free" : k.err == EBUSY ? "held" : err_name(k.err);
}

/* ---- mutexes -------------------------------------------------------------- */

/* A timed or clocked mutex lock: which function, on which clock, until. */
static int
mutex_timed(pthread_mutex_t *m, int clocked, clockid_t clock, const struct timespec *ts)
{
    return clocked ? pthread_mutex_clocklock(m, clock, ts) : pthread_mutex_timedlock(m, ts);
}

static void
mutex_cases(enum mkind k)
{
    const char *kn = mkind_name[k];
    pthread_mutex_t *m;
    struct other *o;
    struct timespec ts;
    int r, r2, r3;

    m = mutex_new(k);
    r = pthread_mutex_lock(m);
    say("mutex %s: lock free -> %s, %s", kn, err_name(r), state(OP_LOCK, m));
    r = pthread_mutex_unlock(m);
    say("mutex %s: unlock own -> %s, %s", kn, err_name(r), state(OP_LOCK, m));
    r = pthread_mutex_unlock(m);
    say("mutex %s: unlock unlocked -> %s", kn, err_name(r));
    free(m);

    m = mutex_new(k);
    r = pthread_mutex_trylock(m);
    r2 = pthread_mutex_trylock(m);
    say("mutex %s: trylock free -> %s, trylock again -> %s, %s", kn, err_name(r), err_name(r2),
        state(OP_LOCK, m));
    if (r2 == 0)
        pthread_mutex_unlock(m);
    r = pthread_mutex_unlock(m);
    say("mutex %s: then unlock -> %s, %s", kn, err_name(r), state(OP_LOCK, m));
    free(m);

    /* Relocking a held mutex: a normal (or robust normal, or PI) mutex would
     * block for ever, so only the kinds that answer are asked blocking; a
     * timed relock of the others times out. */
    m = mutex_new(k);
    MUST(pthread_mutex_lock(m));
    if (k == M_ERRORCHECK || k == M_RECURSIVE || k == M_ROBUST_ERRORCHECK) {
        r = pthread_mutex_lock(m);
        say("mutex %s: lock again -> %s", kn, err_name(r));
        if (r == 0)
            pthread_mutex_unlock(m);
    }
    ts = in_ms(CLOCK_REALTIME, 30);
    r = pthread_mutex_timedlock(m, &ts);
    say("mutex %s: timedlock held by self, 30 ms -> %s", kn, err_name(r));
    if (r == 0)
        pthread_mutex_unlock(m);
    ts = in_ms(CLOCK_MONOTONIC, 30);
    r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &ts);
    say("mutex %s: clocklock monotonic held by self, 30 ms -> %s", kn, err_name(r));
    if (r == 0)
        pthread_mutex_unlock(m);
    r = pthread_mutex_destroy(m);
    r2 = pthread_mutex_unlock(m);
    say("mutex %s: destroy held by self -> %s, then unlock -> %s", kn, err_name(r),
        err_name(r2));
    free(m);
    m = mutex_new(k);
    r = pthread_mutex_destroy(m);
    say("mutex %s: destroy free -> %s", kn, err_name(r));
    free(m);

    /* Blocking on a mutex another thread holds, until it lets go. */
    m = mutex_new(k);
    o = other_holds(OP_LOCK, m);
    pthread_t rel = release_later(o);
    r = pthread_mutex_lock(m);
    say("mutex %s: lock held by another until it lets go -> %s, %s", kn, err_name(r),
        state(OP_LOCK, m));
    join_releaser(rel);
    if (r == 0)
        pthread_mutex_unlock(m);
    free(m);

    /* Timed and clocked locks of a free mutex, good and bad arguments. */
    for (int clocked = 0; clocked < 2; clocked++) {
        const char *fn = clocked ? "clocklock" : "timedlock";
        struct deadline args[NDEADLINES];
        deadlines(args);
        for (size_t i = 0; i < NDEADLINES; i++) {
            if (!clocked && (args[i].clock != CLOCK_REALTIME))
                continue; /* timedlock has no clock */
            m = mutex_new(k);
            r = mutex_timed(m, clocked, args[i].clock, args[i].null ? NULL : &args[i].ts);
            say("mutex %s: %s free, %s -> %s, %s", kn, fn, args[i].what, err_name(r),
                state(OP_LOCK, m));
            if (r == 0 || r == EOWNERDEAD)
                pthread_mutex_unlock(m);
            free(m);

            if (args[i].null)
                continue; /* NULL on a held mutex: glibc dereferences it */
            m = mutex_new(k);
            o = other_holds(OP_LOCK, m);
            struct timespec t2 = args[i].ts;
            if (strstr(args[i].what, "+50 ms"))
                t2 = in_ms(args[i].clock, 50); /* still ahead: it must time out */
            r = mutex_timed(m, clocked, args[i].clock, &t2);
            say("mutex %s: %s held by another, %s -> %s", kn, fn, args[i].what, err_name(r));
            other_end(o);
            say("mutex %s:   and then %s", kn, state(OP_LOCK, m));
            free(m);
        }
    }

    /* Held by another thread. */
    m = mutex_new(k);
    o = other_holds(OP_LOCK, m);
    r = pthread_mutex_trylock(m);
    r2 = pthread_mutex_unlock(m);
    r3 = pthread_mutex_destroy(m);
    say("mutex %s: held by another: trylock -> %s, unlock -> %s, destroy -> %s", kn,
        err_name(r), err_name(r2), err_name(r3));
    other_end(o);
    free(m);

    /* The owner died holding it. */
    if (k == M_ROBUST || k == M_ROBUST_ERRORCHECK) {
        for (int how = 0; how < 3; how++) {
            static const char *const hown[] = { "lock", "trylock", "timedlock" };
            m = mutex_new(k);
            other_holds(OP_LOCK_AND_DIE, m);
            ts = in_ms(CLOCK_REALTIME, 50);
            r = how == 0 ? pthread_mutex_lock(m) : how == 1 ? pthread_mutex_trylock(m)
                                                           : pthread_mutex_timedlock(m, &ts);
            r2 = pthread_mutex_consistent(m);
            r3 = pthread_mutex_unlock(m);
            int r4 = pthread_mutex_lock(m);
            say("mutex %s: owner died: %s -> %s, consistent -> %s, unlock -> %s, lock -> %s", kn,
                hown[how], err_name(r), err_name(r2), err_name(r3), err_name(r4));
            if (r4 == 0)
                pthread_mutex_unlock(m);
            free(m);
        }
        m = mutex_new(k);
        other_holds(OP_LOCK_AND_DIE, m);
        r = pthread_mutex_lock(m);
        r2 = pthread_mutex_unlock(m); /* not made consistent */
        r3 = pthread_mutex_lock(m);
        int r4 = pthread_mutex_trylock(m);
        ts = in_ms(CLOCK_REALTIME, 50);
        int r5 = pthread_mutex_timedlock(m, &ts);
        say("mutex %s: owner died, not made consistent: lock -> %s, unlock -> %s, lock -> %s, "
            "trylock -> %s, timedlock -> %s", kn, err_name(r), err_name(r2), err_name(r3),
            err_name(r4), err_name(r5));
        free(m);
    }

    if (k == M_RECURSIVE) {
        m = mutex_new(k);
        r = pthread_mutex_lock(m);
        r2 = pthread_mutex_trylock(m);
        ts = in_ms(CLOCK_REALTIME, 50);
        r3 = pthread_mutex_timedlock(m, &ts);
        say("mutex %s: lock, trylock, timedlock -> %s %s %s, %s", kn, err_name(r), err_name(r2),
            err_name(r3), state(OP_LOCK, m));
        for (int i = 0; i < 4; i++) {
            r = pthread_mutex_unlock(m);
            say("mutex %s: unlock %d -> %s, %s", kn, i + 1, err_name(r), state(OP_LOCK, m));
        }
        free(m);
    }
}

/* ---- reader-writer locks ---------------------------------------------------- */

static int
rw_timed(pthread_rwlock_t *rw, bool wr, bool clocked, clockid_t clock, const struct timespec *ts)
{
    if (clocked)
        return wr ? pthread_rwlock_clockwrlock(rw, clock, ts) : pthread_rwlock_clockrdlock(rw, clock, ts);
    return wr ? pthread_rwlock_timedwrlock(rw, ts) : pthread_rwlock_timedrdlock(rw, ts);
}

static void
rwlock_cases(bool prefer_writer)
{
    const char *kn = prefer_writer ? "prefer-writer" : "default";
    pthread_rwlock_t *rw;
    struct other *o;
    struct timespec ts;
    int r, r2, r3;

    rw = rwlock_new(prefer_writer);
    r = pthread_rwlock_rdlock(rw);
    r2 = pthread_rwlock_rdlock(rw);
    say("rwlock %s: rdlock, rdlock -> %s %s, %s", kn, err_name(r), err_name(r2),
        state(OP_WRLOCK, rw));
    r = pthread_rwlock_trywrlock(rw);
    r2 = pthread_rwlock_tryrdlock(rw);
    say("rwlock %s: read by self: trywrlock -> %s, tryrdlock -> %s", kn, err_name(r),
        err_name(r2));
    if (r2 == 0)
        pthread_rwlock_unlock(rw);
    ts = in_ms(CLOCK_REALTIME, 30);
    r = pthread_rwlock_timedwrlock(rw, &ts);
    say("rwlock %s: read by self: timedwrlock 30 ms -> %s", kn, err_name(r));
    r = pthread_rwlock_unlock(rw);
    r2 = pthread_rwlock_unlock(rw);
    say("rwlock %s: unlock, unlock -> %s %s, %s", kn, err_name(r), err_name(r2),
        state(OP_WRLOCK, rw));
    r = pthread_rwlock_wrlock(rw);
    say("rwlock %s: wrlock free -> %s, %s", kn, err_name(r), state(OP_RDLOCK, rw));
    r = pthread_rwlock_wrlock(rw);
    r2 = pthread_rwlock_rdlock(rw);
    r3 = pthread_rwlock_trywrlock(rw);
    int r4 = pthread_rwlock_tryrdlock(rw);
    say("rwlock %s: written by self: wrlock -> %s, rdlock -> %s, trywrlock -> %s, "
        "tryrdlock -> %s", kn, err_name(r), err_name(r2), err_name(r3), err_name(r4));
    ts = in_ms(CLOCK_REALTIME, 30);
    r = pthread_rwlock_timedwrlock(rw, &ts);
    r2 = pthread_rwlock_timedrdlock(rw, &ts);
    say("rwlock %s: written by self: timedwrlock -> %s, timedrdlock -> %s", kn, err_name(r),
        err_name(r2));
    ts = bad_ns(CLOCK_REALTIME, -1);
    r = pthread_rwlock_timedwrlock(rw, &ts);
    r2 = pthread_rwlock_clockrdlock(rw, CLOCK_PROCESS_CPUTIME_ID, &ts);
    say("rwlock %s: written by self: timedwrlock tv_nsec -1 -> %s, clockrdlock bad clock -> %s",
        kn, err_name(r), err_name(r2));
    r = pthread_rwlock_destroy(rw);
    say("rwlock %s: destroy written by self -> %s", kn, err_name(r));
    r = pthread_rwlock_unlock(rw);
    say("rwlock %s: unlock -> %s, %s", kn, err_name(r), state(OP_WRLOCK, rw));
    r = pthread_rwlock_destroy(rw);
    say("rwlock %s: destroy free -> %s", kn, err_name(r));
    free(rw);

    /* Timed and clocked, good and bad arguments, free and held. */
    for (int clocked = 0; clocked < 2; clocked++) {
        for (int wr = 0; wr < 2; wr++) {
            const char *fn = clocked ? (wr ? "clockwrlock" : "clockrdlock")
                                     : (wr ? "timedwrlock" : "timedrdlock");
            struct deadline args[NDEADLINES];
            deadlines(args);
            for (size_t i = 0; i < NDEADLINES; i++) {
                if (!clocked && args[i].clock != CLOCK_REALTIME)
                    continue;
                rw = rwlock_new(prefer_writer);
                r = rw_timed(rw, wr, clocked, args[i].clock, args[i].null ? NULL : &args[i].ts);
                say("rwlock %s: %s free, %s -> %s, %s", kn, fn, args[i].what, err_name(r),
                    state(OP_WRLOCK, rw));
                if (r == 0)
                    pthread_rwlock_unlock(rw);
                free(rw);
                if (args[i].null)
                    continue; /* NULL on a held rwlock waits for ever */
                for (int other_wr = 0; other_wr < 2; other_wr++) {
                    if (!wr && !other_wr)
                        continue; /* readers share: nothing to wait for */
                    rw = rwlock_new(prefer_writer);
                    o = other_holds(other_wr ? OP_WRLOCK : OP_RDLOCK, rw);
                    struct timespec t2 = args[i].ts;
                    if (strstr(args[i].what, "+50 ms"))
                        t2 = in_ms(args[i].clock, 50);
                    r = rw_timed(rw, wr, clocked, args[i].clock, &t2);
                    say("rwlock %s: %s %s by another, %s -> %s", kn, fn,
                        other_wr ? "written" : "read", args[i].what, err_name(r));
                    if (r == 0)
                        pthread_rwlock_unlock(rw);
                    other_end(o);
                    free(rw);
                }
            }
        }
    }

    /* Held by others: tries, and (written) a destroy. */
    for (int other_wr = 1; other_wr >= 0; other_wr--) {
        const char *how = other_wr ? "written" : "read";
        rw = rwlock_new(prefer_writer);
        o = other_holds(other_wr ? OP_WRLOCK : OP_RDLOCK, rw);
        r = pthread_rwlock_tryrdlock(rw);
        r2 = pthread_rwlock_trywrlock(rw);
        say("rwlock %s: %s by another: tryrdlock -> %s, trywrlock -> %s", kn, how,
            err_name(r), err_name(r2));
        if (r == 0)
            pthread_rwlock_unlock(rw);
        if (other_wr) {
            r = pthread_rwlock_destroy(rw);
            say("rwlock %s: destroy written by another -> %s", kn, err_name(r));
        }
        other_end(o);
        free(rw);
    }

    /* Blocking until the other lets go. */
    for (int wr = 0; wr < 2; wr++) {
        rw = rwlock_new(prefer_writer);
        o = other_holds(wr ? OP_RDLOCK : OP_WRLOCK, rw);
        pthread_t rel = release_later(o);
        r = wr ? pthread_rwlock_wrlock(rw) : pthread_rwlock_rdlock(rw);
        say("rwlock %s: %s %s by another until it lets go -> %s, %s", kn,
            wr ? "wrlock" : "rdlock", wr ? "read" : "written", err_name(r),
            state(OP_WRLOCK, rw));
        join_releaser(rel);
        if (r == 0)
            pthread_rwlock_unlock(rw);
        free(rw);
    }

    rw = rwlock_new(prefer_writer);
    r = pthread_rwlock_unlock(rw); /* corrupts it: never used again */
    say("rwlock %s: unlock unlocked -> %s", kn, err_name(r));
    free(rw);
}

/* ---- spinlocks -------------------------------------------------------------- */

/* A spinlock is a volatile int: passed as the objects above are, as a
 * void *, it goes through this. */
#define OBJ(s) ((void *)(uintptr_t)(s))

static void
spin_cases(void)
{
    pthread_spinlock_t *s = calloc(1, sizeof *s);
    int r, r2;
    r = pthread_spin_init(s, PTHREAD_PROCESS_PRIVATE);
    r2 = pthread_spin_lock(s);
    say("spin: init -> %s, lock -> %s, %s", err_name(r), err_name(r2), state(OP_SPIN, OBJ(s)));
    r = pthread_spin_trylock(s);
    say("spin: trylock held by self -> %s", err_name(r));
    r = pthread_spin_destroy(s);
    say("spin: destroy held -> %s", err_name(r));
    r = pthread_spin_unlock(s);
    r2 = pthread_spin_trylock(s);
    say("spin: unlock -> %s, trylock free -> %s, %s", err_name(r), err_name(r2), state(OP_SPIN, OBJ(s)));
    r = pthread_spin_unlock(s);
    r2 = pthread_spin_unlock(s);
    say("spin: unlock, unlock unlocked -> %s %s, %s", err_name(r), err_name(r2), state(OP_SPIN, OBJ(s)));
    r = pthread_spin_destroy(s);
    r2 = pthread_spin_init(s, 12345);
    say("spin: destroy -> %s, init with pshared 12345 -> %s", err_name(r), err_name(r2));
    struct other *o = other_holds(OP_SPIN, OBJ(s));
    r = pthread_spin_trylock(s);
    say("spin: trylock held by another -> %s", err_name(r));
    other_end(o);
    say("spin: then %s", state(OP_SPIN, OBJ(s)));
    o = other_holds(OP_SPIN, OBJ(s));
    pthread_t rel = release_later(o);
    r = pthread_spin_lock(s);
    say("spin: lock held by another until it lets go -> %s, %s", err_name(r), state(OP_SPIN, OBJ(s)));
    join_releaser(rel);
    if (r == 0)
        pthread_spin_unlock(s);
    free(OBJ(s));
}

/* ---- condition variables ------------------------------------------------------- */

struct signaller {
    pthread_mutex_t *m;
    pthread_cond_t *c;
    int *flag;
};

static void *
signaller_main(void *p)
{
    struct signaller *s = p;
    pthread_mutex_lock(s->m);
    *s->flag = 1;
    pthread_cond_signal(s->c);
    pthread_mutex_unlock(s->m);
    return NULL;
}

static void
cond_cases(void)
{
    struct {
        const char *what;
        int kind; /* 1 timedwait, 2 clockwait */
        clockid_t clock;
        struct timespec ts;
    } args[] = {
        { "realtime +30 ms", 1, CLOCK_REALTIME, in_ms(CLOCK_REALTIME, 30) },
        { "in the past", 1, CLOCK_REALTIME, past },
        { "tv_nsec -1", 1, CLOCK_REALTIME, bad_ns(CLOCK_REALTIME, -1) },
        { "tv_nsec 1e9", 1, CLOCK_REALTIME, bad_ns(CLOCK_REALTIME, 1000000000L) },
        { "monotonic +30 ms", 2, CLOCK_MONOTONIC, in_ms(CLOCK_MONOTONIC, 30) },
        { "tv_nsec -1", 2, CLOCK_MONOTONIC, bad_ns(CLOCK_MONOTONIC, -1) },
        { "clock PROCESS_CPUTIME", 2, CLOCK_PROCESS_CPUTIME_ID, in_ms(CLOCK_MONOTONIC, 30) },
        { "clock -1", 2, (clockid_t)-1, in_ms(CLOCK_MONOTONIC, 30) },
    };
    for (int k = 0; k < 2; k++) {
        enum mkind mk = k ? M_ERRORCHECK : M_NORMAL;
        for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
            pthread_mutex_t *m = mutex_new(mk);
            pthread_cond_t c = PTHREAD_COND_INITIALIZER;
            struct timespec ts = args[i].ts;
            if (strstr(args[i].what, "+30 ms"))
                ts = in_ms(args[i].clock, 30);
            MUST(pthread_mutex_lock(m));
            int r = args[i].kind == 1 ? pthread_cond_timedwait(&c, m, &ts)
                                      : pthread_cond_clockwait(&c, m, args[i].clock, &ts);
            say("cond with %s mutex: %s %s -> %s, mutex %s", mkind_name[mk],
                args[i].kind == 1 ? "timedwait" : "clockwait", args[i].what, err_name(r),
                state(OP_LOCK, m));
            int u = pthread_mutex_unlock(m);
            say("cond with %s mutex:   then unlock -> %s", mkind_name[mk], err_name(u));
            free(m);
        }
    }
    /* Waiting with an error-checking mutex one does not hold. */
    pthread_mutex_t *m = mutex_new(M_ERRORCHECK);
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    struct timespec ts = in_ms(CLOCK_REALTIME, 30);
    int r = pthread_cond_wait(&c, m);
    int r2 = pthread_cond_timedwait(&c, m, &ts);
    say("cond with errorcheck mutex not held: wait -> %s, timedwait -> %s", err_name(r),
        err_name(r2));
    struct other *o = other_holds(OP_LOCK, m);
    r = pthread_cond_wait(&c, m);
    ts = in_ms(CLOCK_REALTIME, 30);
    r2 = pthread_cond_timedwait(&c, m, &ts);
    say("cond with errorcheck mutex held by another: wait -> %s, timedwait -> %s", err_name(r),
        err_name(r2));
    other_end(o);
    free(m);

    /* A wait that is signalled. */
    for (int k = 0; k < 2; k++) {
        pthread_mutex_t *mm = mutex_new(k ? M_ERRORCHECK : M_NORMAL);
        pthread_cond_t cc = PTHREAD_COND_INITIALIZER;
        int flag = 0, last = 0;
        struct signaller s = { mm, &cc, &flag };
        pthread_t th;
        MUST(pthread_mutex_lock(mm));
        MUST(pthread_create(&th, NULL, signaller_main, &s));
        while (!flag && last == 0)
            last = pthread_cond_wait(&cc, mm);
        say("cond with %s mutex: wait until signalled -> %s, mutex %s", mkind_name[k ? 1 : 0],
            err_name(last), state(OP_LOCK, mm));
        MUST(pthread_mutex_unlock(mm));
        MUST(pthread_join(th, NULL));
        free(mm);
    }
}

/* ---- threads, barriers, semaphores ------------------------------------------ */

static void *
returns_arg(void *p)
{
    return p;
}

static sem_t detached_go;

static void *
detached_main(void *p)
{
    (void)p;
    while (sem_wait(&detached_go) != 0)
        ;
    return NULL;
}

static void *
barrier_main(void *p)
{
    return (void *)(intptr_t)pthread_barrier_wait(p);
}

static void
on_signal(int sig)
{
    (void)sig;
}

struct poker {
    pthread_t target;
    atomic_bool done;
};

static void *
poker_main(void *p)
{
    struct poker *k = p;
    while (!atomic_load(&k->done)) {
        pthread_kill(k->target, SIGUSR1);
        struct timespec nap = { 0, 5 * 1000000L };
        nanosleep(&nap, NULL);
    }
    return NULL;
}

static void
thread_cases(void)
{
    pthread_t th;
    void *ret = NULL;
    int r = pthread_create(&th, NULL, returns_arg, (void *)0x1234);
    int r2 = pthread_join(th, &ret);
    say("thread: create -> %s, join -> %s, value %p", err_name(r), err_name(r2), ret);
    r = pthread_join(pthread_self(), NULL);
    say("thread: join self -> %s", err_name(r));

    pthread_attr_t a;
    MUST(pthread_attr_init(&a));
    MUST(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED));
    sem_init(&detached_go, 0, 0);
    r = pthread_create(&th, &a, detached_main, NULL);
    r2 = pthread_join(th, NULL); /* still running: its handle is valid */
    say("thread: create detached -> %s, join it -> %s", err_name(r), err_name(r2));
    sem_post(&detached_go);
    pthread_attr_destroy(&a);

    pthread_barrier_t b;
    MUST(pthread_barrier_init(&b, NULL, 1));
    r = pthread_barrier_wait(&b);
    say("barrier of 1: wait -> %s", err_name(r));
    pthread_barrier_destroy(&b);
    MUST(pthread_barrier_init(&b, NULL, 2));
    MUST(pthread_create(&th, NULL, barrier_main, &b));
    r = pthread_barrier_wait(&b);
    MUST(pthread_join(th, &ret));
    r2 = (int)(intptr_t)ret;
    say("barrier of 2: one serial, one 0 -> %s", (r == 0) != (r2 == 0) ? "yes" : "no");
    pthread_barrier_destroy(&b);

    sem_t s;
    sem_init(&s, 0, 1);
    errno = 0;
    r = sem_wait(&s);
    say("sem: wait on 1 -> %d, errno %s", r, err_name(errno));

    /* Interrupted by a signal whose handler does not restart. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGUSR1, &sa, NULL);
    struct poker k = { pthread_self(), false };
    MUST(pthread_create(&th, NULL, poker_main, &k));
    errno = 0;
    r = sem_wait(&s);
    int e = errno;
    atomic_store(&k.done, true);
    MUST(pthread_join(th, NULL));
    say("sem: wait on 0, interrupted by a signal -> %d, errno %s", r, err_name(e));
    sem_destroy(&s);
}

/* Execs that fail: each returns -1 with glibc's errno and the program goes
 * on (under lockgraph, after earlier reports, the environment it passes is
 * a copy with one entry more: the call must answer the same). */
static void
exec_cases(void)
{
    extern char **environ;
    char *argv[] = { "racebed-parity-exec", NULL };
    const char *missing = "/nonexistent-racebed/x", *nocmd = "no-such-command-racebed";
    int r;
    errno = 0;
    r = execve(missing, argv, environ);
    say("exec: execve of a missing file -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execve("/", argv, environ);
    say("exec: execve of a directory -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execv(missing, argv);
    say("exec: execv of a missing file -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execvp(nocmd, argv);
    say("exec: execvp of a missing command -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execvpe(nocmd, argv, environ);
    say("exec: execvpe of a missing command -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execl(missing, argv[0], "a", (char *)NULL);
    say("exec: execl of a missing file -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execlp(nocmd, argv[0], (char *)NULL);
    say("exec: execlp of a missing command -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execle(missing, argv[0], (char *)NULL, environ);
    say("exec: execle of a missing file -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = fexecve(-1, argv, environ);
    say("exec: fexecve of fd -1 -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execveat(AT_FDCWD, missing, argv, environ, 0);
    say("exec: execveat of a missing file -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execveat(-1, "x", argv, environ, 0);
    say("exec: execveat relative to fd -1 -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = execveat(AT_FDCWD, "/", argv, environ, -1);
    say("exec: execveat with bad flags -> %d, errno %s", r, err_name(errno));
}

/* prctl: lockgraph's passes every call on (and stands aside in a thread
 * that enters seccomp strict mode, which this does not). */
static void
prctl_cases(void)
{
    errno = 0;
    int r = prctl(PR_GET_DUMPABLE);
    say("prctl: PR_GET_DUMPABLE -> %d, errno %s", r, err_name(errno));
    errno = 0;
    r = prctl(PR_GET_SECCOMP);
    say("prctl: PR_GET_SECCOMP -> %d, errno %s", r, err_name(errno));
    char name[16] = "";
    errno = 0;
    r = prctl(PR_GET_NAME, name);
    say("prctl: PR_GET_NAME -> %d, errno %s, '%s'", r, err_name(errno), name);
    errno = 0;
    r = prctl(-1, 0UL, 0UL, 0UL, 0UL);
    say("prctl: option -1 -> %d, errno %s", r, err_name(errno));
}

int
main(void)
{
    for (enum mkind k = 0; k < M_NKINDS; k++)
        mutex_cases(k);
    rwlock_cases(false);
    rwlock_cases(true);
    spin_cases();
    cond_cases();
    thread_cases();
    exec_cases();
    prctl_cases();
    say("done");
    return 0;
}
