/*
 * liveness.c - the monitor thread behind starvation, livelock and stall
 * reports. live.c decides; this file samples.
 *
 * The monitor wakes every few tens of milliseconds, copies each live
 * thread's liveness fields (written on the fast path by the thread itself,
 * read here without locks), and hands the copies to live.c. It takes no
 * lock on any path the program's threads use, and it never calls a
 * function lockgraph interposes, so it is invisible to itself.
 */
#include "rt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "live.h"
#include "lockgraph.h"

/* lg_progress(): see lockgraph.h. */
LG_EXPORT void
lg_progress(void)
{
    struct lg_thread *t = lg_self_peek();
    if (t)
        atomic_store_explicit(&t->progress_marks,
                              atomic_load_explicit(&t->progress_marks, memory_order_relaxed) + 1,
                              memory_order_relaxed);
}

/* What the monitor needs of a sampled thread besides its sample. */
struct who {
    pid_t tid;
    uintptr_t handle; /* its pthread_t */
    uintptr_t joins;  /* the pthread_t it is joining, 0 none */
};

struct sampling {
    struct lg_live_sample *samples;
    struct lg_lock **locks; /* the lock each sample waits for or retries */
    struct who *who;
    uint32_t n, cap;
    bool failed;
};

static uint8_t
block_of(int kind)
{
    switch (kind) {
    case LG_WAIT_LOCK: return LG_LIVE_LOCK;
    case LG_WAIT_COND: return LG_LIVE_COND;
    case LG_WAIT_JOIN: return LG_LIVE_JOIN;
    case LG_WAIT_BARRIER: return LG_LIVE_BARRIER;
    case LG_WAIT_SEM: return LG_LIVE_SEM;
    case LG_WAIT_COND_DESTROY: return LG_LIVE_COND_DESTROY;
    default: return LG_LIVE_RUNNING;
    }
}

/* Grants of lock l (identity uid) since it had been granted grants0 times;
 * 0 once the record is another lock's. */
static uint64_t
bypassed(struct lg_lock *l, uint64_t uid, uint64_t grants0)
{
    uint64_t now = atomic_load_explicit(&l->grants, memory_order_relaxed);
    return lg_lock_uid(l) == uid && now > grants0 ? now - grants0 : 0;
}

/* A lock wait that has not polled for far longer than its slices (at most
 * 100 ms each; lg_wait_slice_ms): the thread left the call without
 * lockgraph seeing (a signal handler's siglongjmp), and is running. */
#define STALE_WAIT_NS 3000000000ull

static bool
wait_stale(struct lg_thread *t, uint64_t now)
{
    uint64_t polled = atomic_load_explicit(&t->wait_polled_ns, memory_order_relaxed);
    return atomic_load_explicit(&t->wait_kind, memory_order_relaxed) == LG_WAIT_LOCK
           && now > polled && now - polled > STALE_WAIT_NS;
}

static void
sample_thread(struct lg_thread *t, void *ctx)
{
    struct sampling *sm = ctx;
    if (!atomic_load_explicit(&t->alive, memory_order_acquire) || sm->failed)
        return;
    if (sm->n == sm->cap) {
        uint32_t cap = sm->cap ? sm->cap * 2 : 64;
        struct lg_live_sample *s = lg_grow(&lg_mem, sm->samples, sm->cap * sizeof *s,
                                           cap * sizeof *s);
        if (s)
            sm->samples = s;
        struct lg_lock **l = s ? lg_grow(&lg_mem, sm->locks, sm->cap * sizeof *l,
                                         cap * sizeof *l) : NULL;
        if (l)
            sm->locks = l;
        struct who *who = l ? lg_grow(&lg_mem, sm->who, sm->cap * sizeof *who,
                                      cap * sizeof *who) : NULL;
        if (!who) {
            sm->failed = true; /* whatever grew stays, with the old capacity */
            return;
        }
        sm->who = who;
        sm->cap = cap;
    }
    struct lg_live_sample *s = &sm->samples[sm->n];
    memset(s, 0, sizeof *s);
    s->thread = t->num;
    s->block = block_of(atomic_load_explicit(&t->wait_kind, memory_order_acquire));
    if (atomic_load_explicit(&t->wait_timed, memory_order_relaxed)
        || atomic_load_explicit(&t->wait_external, memory_order_relaxed)
        || wait_stale(t, lg_now_ns()))
        s->block = LG_LIVE_RUNNING; /* a timed wait ends by itself; another
                                     * process may end a process-shared one;
                                     * a stale one was left by siglongjmp */
    s->block_since_ns = atomic_load_explicit(&t->wait_since_ns, memory_order_relaxed);
    struct lg_lock *target = NULL;
    if (s->block == LG_LIVE_LOCK) {
        target = atomic_load_explicit(&t->waiting_for, memory_order_relaxed);
        s->block_lock = atomic_load_explicit(&t->waiting_uid, memory_order_relaxed);
        if (target && atomic_load_explicit(&t->wait_counted, memory_order_relaxed))
            s->block_bypass = bypassed(target, s->block_lock,
                                       atomic_load_explicit(&t->wait_grants0,
                                                            memory_order_relaxed));
    }
    struct lg_lock *trying = atomic_load_explicit(&t->trying, memory_order_acquire);
    if (trying) {
        s->trying_lock = atomic_load_explicit(&t->trying_uid, memory_order_relaxed);
        s->trying_since_ns = atomic_load_explicit(&t->trying_since_ns, memory_order_relaxed);
        s->trying_bypass = bypassed(trying, s->trying_lock,
                                    atomic_load_explicit(&t->trying_grants0,
                                                         memory_order_relaxed));
        /* A tid for now; turned into a thread number once all are sampled. */
        s->trying_blocker = (uint32_t)atomic_load_explicit(&t->trying_blocker_tid,
                                                           memory_order_relaxed);
        if (!target)
            target = trying;
    }
    s->backoffs = atomic_load_explicit(&t->backoffs, memory_order_relaxed);
    s->failed_trys = atomic_load_explicit(&t->failed_trys, memory_order_relaxed);
    s->progress = atomic_load_explicit(&t->progress_marks, memory_order_relaxed);
    for (int i = 0; i < LG_LIVE_GRANT_SLOTS && i < 16; i++) {
        s->grants[i].lock = atomic_load_explicit(&t->lock_grants[i].uid, memory_order_relaxed);
        s->grants[i].grants = atomic_load_explicit(&t->lock_grants[i].grants, memory_order_relaxed);
        s->grants[i].want_ns = atomic_load_explicit(&t->lock_grants[i].want_ns,
                                                    memory_order_relaxed);
        s->grants[i].bypass = atomic_load_explicit(&t->lock_grants[i].bypass,
                                                   memory_order_relaxed);
    }
    sm->locks[sm->n] = target;
    sm->who[sm->n].tid = t->tid;
    sm->who[sm->n].handle = t->handle;
    sm->who[sm->n].joins = s->block == LG_LIVE_JOIN
                               ? atomic_load_explicit(&t->wait_object, memory_order_relaxed)
                               : 0;
    sm->n++;
}

/* After sampling: joins of threads that are gone as running (the join
 * returns as soon as the joiner is scheduled, or the thread is still
 * running its way out, past lockgraph's view), and blockers as thread
 * numbers. */
static void
finish_samples(struct sampling *sm)
{
    for (uint32_t i = 0; i < sm->n; i++) {
        struct lg_live_sample *s = &sm->samples[i];
        if (s->block == LG_LIVE_JOIN) {
            bool joinee_alive = false;
            for (uint32_t j = 0; j < sm->n && !joinee_alive; j++)
                joinee_alive = j != i && sm->who[j].handle == sm->who[i].joins;
            if (!joinee_alive)
                s->block = LG_LIVE_RUNNING;
        }
        uint32_t num = 0;
        for (uint32_t j = 0; j < sm->n && s->trying_blocker; j++)
            if ((uint32_t)sm->who[j].tid == s->trying_blocker)
                num = sm->samples[j].thread;
        s->trying_blocker = num;
    }
}

static struct lg_lock *
lock_of(uint64_t uid, void *ctx)
{
    struct sampling *sm = ctx;
    for (uint32_t i = 0; i < sm->n; i++)
        if (sm->locks[i] && atomic_load_explicit(&sm->locks[i]->uid, memory_order_relaxed) == uid)
            return sm->locks[i];
    return NULL;
}

/* verbosity=2: every starvation window judged, starving or not (what the
 * thresholds' margins in docs/lockgraph-liveness.md were measured with). */
static void
note_window(const struct lg_live_window *w, void *ctx)
{
    (void)ctx;
    lg_note("T%u: starvation window on lock %llu: %.0f ms, wanted %.0f%% of it, got %llu "
            "grants (%.3f%% of a fair share among %u), passed %llu times, others got %llu: %s",
            w->thread, (unsigned long long)w->lock, (double)w->window_ns / 1e6,
            w->window_ns ? 100.0 * (double)w->wanted_ns / (double)w->window_ns : 0.0,
            (unsigned long long)w->own_grants, 100.0 * w->share, w->grantees,
            (unsigned long long)w->bypasses, (unsigned long long)w->other_grants,
            w->starving ? "starving" : "not starving");
}

/* ---- what the samples cannot show ------------------------------------------ */

/* getdents64 records, read without the program's malloc. */
struct dirent64_rec {
    uint64_t ino;
    int64_t off;
    unsigned short reclen;
    unsigned char type;
    char name[];
};

/* Calls stop(tid, ctx) for each task of this process but the caller,
 * until it returns true: 1 if one did, 0 if none, -1 if /proc could not
 * tell. Read with getdents64, without the program's malloc. */
static int
any_other_task(bool (*stop)(long tid, void *ctx), void *ctx)
{
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long self = (long)syscall(SYS_gettid);
    _Alignas(8) char buf[4096];
    bool found = false;
    long n;
    while (!found && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
        for (long at = 0; at < n && !found;) {
            const struct dirent64_rec *d = (const void *)(buf + at);
            at += d->reclen;
            long tid = strtol(d->name, NULL, 10);
            found = tid > 0 && tid != self && stop(tid, ctx);
        }
    close(fd);
    return found ? 1 : n < 0 ? -1 : 0;
}

/* Whether task tid has not exited yet: its state in /proc is not zombie
 * or dead (a main thread that called pthread_exit stays a zombie until the
 * whole process ends). A task that is gone already is not running. */
static bool
still_running(long tid, void *ctx)
{
    (void)ctx;
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    const char *paren = strrchr(buf, ')'); /* after the command, which may hold ')' */
    char state = paren && paren[1] == ' ' ? paren[2] : '?';
    return state != 'Z' && state != 'X' && state != 'x';
}

/* A thread of this process that lockgraph never saw (a glibc helper thread,
 * such as a SIGEV_THREAD timer's; one made by a raw clone), and that has
 * not exited (a main thread that ended with pthread_exit is a zombie): it
 * may end any wait. The monitor itself is no such thread. */
static bool
not_seen(long tid, void *ctx)
{
    return !lg_thread_by_tid(tid) && still_running(tid, ctx);
}

static bool
unseen_thread(void)
{
    return any_other_task(not_seen, NULL) == 1;
}

/*
 * The program's last thread has exited, and the monitor is all that is
 * left. Without lockgraph, glibc's last exiting thread calls exit(0) (a
 * main that ended with pthread_exit leaves the process to its other
 * threads, and it ends with the last of them); the monitor, created by
 * pthread_create like them, kept the process alive for ever. It does that
 * exit instead: atexit handlers and stdio flushing run, then lockgraph's
 * own end (closing line, exit status when something was reported).
 */
static void
exit_if_last(void)
{
    if (lg_threads_alive() == 0 && any_other_task(still_running, NULL) == 0)
        exit(0);
}

/*
 * A signal whose handler may post a semaphore (sem_post is
 * async-signal-safe, and the one wake-up a handler may make): a daemon's
 * main thread waits on one that its SIGTERM handler posts, with its
 * workers idle; an alarm's handler posts one. Not counted: SIGINT (a
 * person's Ctrl-C; every Python interpreter has a handler for it), the
 * signals of a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
 * SIGABRT) or of a write or a limit (SIGPIPE, SIGXCPU, SIGXFSZ), and the
 * CPU-time timers (SIGVTALRM, SIGPROF), none of which comes while every
 * thread is blocked. The signal number, or 0.
 */
static int
handled_signal(void)
{
    for (int sig = 1; sig < NSIG; sig++) {
        switch (sig) {
        case SIGKILL: case SIGSTOP: case SIGINT: case SIGSEGV: case SIGBUS: case SIGFPE:
        case SIGILL: case SIGTRAP: case SIGSYS: case SIGABRT: case SIGPIPE: case SIGXCPU:
        case SIGXFSZ: case SIGVTALRM: case SIGPROF:
            continue;
        }
        struct sigaction sa;
        /* glibc's own signals (cancellation, setxid) answer EINVAL. */
        if (sigaction(sig, NULL, &sa) != 0)
            continue;
        if ((sa.sa_flags & SA_SIGINFO) ? sa.sa_sigaction != NULL
                                       : sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)
            return sig;
    }
    return 0;
}

static bool
waits_on_semaphore(const struct lg_live_verdict *v)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (v->members[i].block == LG_LIVE_SEM)
            return true;
    return false;
}

/*
 * A stall held back because a signal handler may post its semaphore, for
 * the program's _exit (lg_liveness_exiting): a watchdog alarm whose
 * handler ends the program instead (racebed's own programs bound their
 * runs that way, and so do many tests) must not take the stall's report
 * with it. Only while the real-time timer (alarm, setitimer) is armed,
 * and only for an exit from the SIGALRM handler with a failure status
 * (lg_liveness_exiting): a daemon whose SIGTERM handler calls exit while
 * its threads idle is ending as it should.
 * signal_stall: the last tick held one back, with the timer armed.
 * exit_asked: a thread is exiting and waits for the monitor's answer,
 * exit_answered; exit_taken: the monitor is reporting the stall.
 */
static atomic_bool signal_stall, exit_asked, exit_answered, exit_taken;
static atomic_long monitor_pid;

/* The monitor's task, while it runs (0: none), and a request that it end
 * (lg_liveness_stop). */
static atomic_long monitor_tid;
static atomic_bool stop_asked;

/*
 * Why a stall verdict must wait: what may still end one of its waits that
 * no sample shows, or NULL. *by_signal: the reason is a signal handler.
 */
static const char *
stall_may_end(const struct lg_live_verdict *v, bool *by_signal, char *why, size_t len)
{
    *by_signal = false;
    if (unseen_thread())
        return "a thread lockgraph did not see start (a library's helper thread) is running";
    int sig;
    if (waits_on_semaphore(v) && (sig = handled_signal()) != 0) {
        *by_signal = true;
        snprintf(why, len, "the program's handler of signal %d (%s) may post the semaphore "
                 "waited for", sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
        return why;
    }
    return NULL;
}

/*
 * End the monitor's thread and wait until its task is gone (at most 1 s):
 * the program needs the process's thread count back (a pthread_create at
 * RLIMIT_NPROC, an unshare or setns that wants a single thread). true if
 * a monitor was running and has gone.
 */
bool
lg_liveness_stop(void)
{
    const struct timespec ms = { 0, 1000000 };
    /* Asked for at once, before its first instruction, as a thread
     * creation at the limit does (the monitor started just before it). */
    atomic_store_explicit(&stop_asked, true, memory_order_release);
    long tid = 0;
    for (int i = 0; i < 1000 && !(tid = atomic_load_explicit(&monitor_tid, memory_order_acquire));
         i++)
        nanosleep(&ms, NULL);
    if (tid == 0)
        return false;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld", tid);
    struct stat st;
    for (int i = 0; i < 1000; i++) {
        /* The task leaves /proc once the kernel has released it, and
         * with it its place in the counts. */
        if (atomic_load_explicit(&monitor_tid, memory_order_acquire) == 0 && stat(path, &st) != 0)
            return true;
        nanosleep(&ms, NULL);
    }
    return atomic_load_explicit(&monitor_tid, memory_order_acquire) == 0;
}

/*
 * The program ends (_exit, or exit from a signal handler) while the last
 * tick held a stall back for a signal handler, with the real-time timer
 * armed: the monitor is asked to
 * look once more, and reports the stall and ends the process itself if it
 * still stands (the program's exit status is then lockgraph's). It answers
 * at its next tick; after 2 s without one the program's exit goes on.
 */
void
lg_liveness_exiting(int status)
{
    if (!atomic_load_explicit(&signal_stall, memory_order_acquire)
        || atomic_load_explicit(&monitor_pid, memory_order_relaxed) != (long)getpid())
        return;
    /* A watchdog: the alarm's own handler (SIGALRM is blocked while it
     * runs) ending the program with a failure. A daemon whose SIGTERM
     * handler ends it, or whose alarm marks an idle timeout and ends it
     * with 0, while its threads idle and a periodic timer ticks, is ending
     * as it means to: it was reported as a stall, and its status became
     * lockgraph's (adversarial round h5, F1). */
    sigset_t now;
    if (status == 0 || pthread_sigmask(SIG_BLOCK, NULL, &now) != 0 || !sigismember(&now, SIGALRM))
        return;
    /* (Nothing is written before the pid check above: a vfork child runs
     * in its parent's memory.) */
    atomic_store_explicit(&exit_answered, false, memory_order_relaxed);
    atomic_store_explicit(&exit_asked, true, memory_order_release);
    const struct timespec ms = { 0, 1000000 };
    /* Once the monitor has taken the stall, it ends the process: writing
     * the report may take longer than 2 s on a loaded machine. */
    for (int i = 0; !atomic_load_explicit(&exit_answered, memory_order_acquire)
                    && (i < 2000 || (atomic_load_explicit(&exit_taken, memory_order_relaxed)
                                     && i < 60000));
         i++)
        nanosleep(&ms, NULL);
}

static long
tick_ms(void)
{
    long shortest = lg_opt.starvation_ms;
    if (lg_opt.livelock_ms < shortest)
        shortest = lg_opt.livelock_ms;
    if (lg_opt.stall_ms < shortest)
        shortest = lg_opt.stall_ms;
    shortest /= 5;
    return shortest < 5 ? 5 : shortest > 100 ? 100 : shortest;
}

void
lg_liveness_run(void (*each_tick)(void))
{
    struct lg_live_config cfg = {
        .starvation_ns = (uint64_t)lg_opt.starvation_ms * 1000000u,
        .livelock_ns = (uint64_t)lg_opt.livelock_ms * 1000000u,
        .stall_ns = (uint64_t)lg_opt.stall_ms * 1000000u,
        .starvation_grants = (uint64_t)lg_opt.starvation_grants,
        .starvation_share = (uint32_t)lg_opt.starvation_share,
        .min_backoffs = 3,
    };
    struct lg_live *lv;
    atomic_store_explicit(&monitor_pid, (long)getpid(), memory_order_relaxed);
    atomic_store_explicit(&monitor_tid, (long)syscall(SYS_gettid), memory_order_release);
    if (lg_live_new(&lv, &lg_mem, &cfg) != 0) {
        atomic_store_explicit(&monitor_tid, 0, memory_order_release);
        return;
    }
    if (lg_opt.verbosity >= 2)
        lg_live_on_window(lv, note_window, NULL);
    struct sampling sm = { 0 };
    struct timespec nap = { 0, tick_ms() * 1000000L };
    static atomic_bool said_memory, said_withheld;
    for (;;) {
        int slept;
        while ((slept = nanosleep(&nap, &nap)) != 0 && errno == EINTR)
            ;
        if (slept != 0) {
            /* A seccomp filter that refuses nanosleep made the monitor spin
             * on a core for as long as the program ran. */
            lg_note("the liveness monitor cannot sleep (nanosleep: %s): it ends, and with it "
                    "the starvation, livelock and stall reports", strerror(errno));
            atomic_store_explicit(&monitor_pid, 0, memory_order_relaxed);
            atomic_store_explicit(&monitor_tid, 0, memory_order_release);
            return;
        }
        nap.tv_nsec = tick_ms() * 1000000L;
        if (atomic_load_explicit(&stop_asked, memory_order_acquire)) {
            atomic_store_explicit(&monitor_pid, 0, memory_order_relaxed);
            atomic_store_explicit(&signal_stall, false, memory_order_relaxed);
            atomic_store_explicit(&monitor_tid, 0, memory_order_release);
            return; /* its thread ends (its memory stays lockgraph's) */
        }
        exit_if_last();
        if (!atomic_load_explicit(&lg_active, memory_order_acquire))
            continue;
        if (each_tick)
            each_tick();
        sm.n = 0;
        sm.failed = false;
        lg_threads_each(sample_thread, &sm);
        finish_samples(&sm);
        lg_live_thread_gone(lv, lg_threads_last_exit_ns());
        struct lg_live_verdict v[8];
        int n = sm.failed ? -ENOMEM : lg_live_tick(lv, lg_now_ns(), sm.samples, sm.n, v, 8);
        if (n < 0) {
            lg_warn_once(&said_memory, "out of memory in the liveness monitor: this tick "
                         "is skipped");
            continue;
        }
        bool asked = atomic_load_explicit(&exit_asked, memory_order_acquire), held = false;
        for (int i = 0; i < n; i++) {
            char text[160];
            bool by_signal = false;
            const char *why = v[i].kind == LG_LIVE_STALL
                                  ? stall_may_end(&v[i], &by_signal, text, sizeof text)
                                  : NULL;
            if (why && by_signal && asked) {
                atomic_store_explicit(&exit_taken, true, memory_order_relaxed);
                lg_note("the program is exiting while every thread is blocked: the stall "
                        "below lasted until then");
                why = NULL;
            }
            if (why) {
                struct itimerval it;
                held |= by_signal && getitimer(ITIMER_REAL, &it) == 0
                        && (it.it_value.tv_sec != 0 || it.it_value.tv_usec != 0);
                lg_live_stall_withheld(lv);
                if (lg_opt.verbosity >= 1 && !atomic_exchange(&said_withheld, true))
                    lg_note("every thread seen is blocked, but %s: no stall is reported "
                            "while it is (said once)", why);
                continue;
            }
            bool written = lg_report_liveness(&v[i], lock_of, &sm);
            if (written && v[i].kind == LG_LIVE_STALL)
                lg_exit_now();
        }
        atomic_store_explicit(&signal_stall, held, memory_order_release);
        if (asked) {
            atomic_store_explicit(&exit_asked, false, memory_order_relaxed);
            atomic_store_explicit(&exit_answered, true, memory_order_release);
        }
    }
}
