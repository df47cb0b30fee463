/*
 * init.c - lockgraph's start (options, tables, the liveness monitor), its
 * exit, and fork: every internal lock is taken before fork() and released
 * (parent) or reset (child) after it.
 */
#include "intercept.h"

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

/* ---- start, fork, exit ---------------------------------------------------- */

static pthread_key_t exit_key;

/*
 * The thread's way out. glibc runs the thread-specific-data destructors in
 * rounds, while any of them sets a value again, up to
 * PTHREAD_DESTRUCTOR_ITERATIONS rounds. A program's own destructor may
 * unlock what the thread held, or take locks; so lockgraph's sets its value
 * again until the last round, and checks for abandoned locks (and retires
 * the record) only then, after the program's destructors of the first
 * rounds: one that unlocked was reported as an abandoned lock.
 */
static void
thread_exit(void *p)
{
    struct lg_thread *self = p;
    if (self && self->exit_rounds + 1 < PTHREAD_DESTRUCTOR_ITERATIONS) {
        self->exit_rounds++;
        pthread_setspecific(exit_key, self);
        return;
    }
    int was = lg_busy;
    lg_busy = 1;
    lg_perturb_exit(p); /* before its record can serve another thread */
    lg_thread_exit(p);
    if (was)
        lg_busy = was;
    else
        leave();
}

/* The liveness monitor: a detached thread that lockgraph never tracks
 * (lg_busy for good), started when the process first needs it, and again
 * in a fork child, where fork() did not copy it: at its first thread
 * creation or watched wait (see lg_threads_at_next_wait_or_create). Until
 * then the program has only its own threads: one that never starts
 * another keeps glibc's single-threaded malloc, and a child that only
 * execs never gets a thread. */
static bool monitor_started;
static atomic_bool monitor_given_way; /* stopped for the program's sake: not again */

/* The status exit() was given (on_exit, registered when the monitor
 * first starts, from within main: glibc registers the handler that runs
 * the destructors after the constructors, so one registered at start would
 * run after the destructors). */
static int exit_status;

static void
note_exit_status(int status, void *unused)
{
    (void)unused;
    exit_status = status;
}

static void *
monitor_main(void *unused)
{
    (void)unused;
    lg_busy = 1;
    lg_liveness_run(lg_pend_sweep);
    return NULL;
}

static void
start_monitor(void)
{
    if (!lg_opt.liveness || atomic_load_explicit(&monitor_given_way, memory_order_relaxed))
        return;
    static bool status_noted;
    if (!status_noted)
        status_noted = on_exit(note_exit_status, NULL) == 0;
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Every signal blocked (glibc keeps its own, for cancellation and
     * setuid, open): a signal sent to the process must go to one of the
     * program's threads, as without lockgraph. A monitor that took it ran
     * the program's handler beside the thread that had blocked it around
     * its own work: bash, which blocks SIGCHLD while it edits its job
     * table, crashed or waited for ever for a child reaped there. The
     * monitor inherits the mask of the thread that creates it. */
    sigset_t all, was;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &was);
    monitor_started = REAL(pthread_create)(&th, &attr, monitor_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &was, NULL);
    if (!monitor_started)
        lg_note("cannot start the liveness monitor: no starvation, livelock or stall "
                "reports in this run");
    pthread_attr_destroy(&attr);
}

/*
 * The monitor's thread counts against the process: a pthread_create at
 * RLIMIT_NPROC failed with EAGAIN where it succeeds natively (and the
 * thread's locks went unchecked), and unshare(CLONE_NEWUSER), which wants
 * a single-threaded process, failed with EINVAL. When such a call fails
 * and the monitor runs, the monitor ends, for good, and the caller tries
 * the call once more: the program gets the answer it would natively.
 * Starvation, livelock and stall checks end with it (said once);
 * deadlocks are still found by the waiting threads themselves.
 */
bool
lg_monitor_give_way(const char *why)
{
    if (!monitor_started || atomic_exchange(&monitor_given_way, true))
        return false;
    if (!lg_liveness_stop())
        return false;
    monitor_started = false;
    lg_note("ended its liveness monitor, whose thread kept %s: no starvation, "
            "livelock or stall reports from now on", why);
    return true;
}

static void
fork_prepare(void)
{
    lg_busy = 1;
    /* The child's graph is the parent's: this thread's noted chains go in
     * first (the other threads' stay the parent's). */
    struct lg_thread *t = lg_self_peek();
    if (t && atomic_load_explicit(&lg_active, memory_order_relaxed))
        lg_pend_flush(t, true);
    lg_reporting_atfork_prepare();
    lg_mutex_lock(&lg_graph_lock);
    lg_threads_atfork_prepare();
    lg_locks_atfork_prepare();
    lg_stack_atfork_prepare();
    lg_mem_atfork_prepare();
}

static void
fork_parent(void)
{
    lg_mem_atfork_parent();
    lg_stack_atfork_parent();
    lg_locks_atfork_parent();
    lg_threads_atfork_parent();
    lg_mutex_unlock(&lg_graph_lock);
    lg_reporting_atfork_parent();
    leave();
}

static void
fork_child(void)
{
    lg_diag_atfork_child();
    lg_mem_atfork_child();
    lg_stack_atfork_child();
    lg_locks_atfork_child();
    lg_threads_atfork_child();
    lg_pend_atfork_child();
    lg_mutex_reset(&lg_graph_lock);
    lg_reporting_atfork_child();
    lg_perturb_atfork_child();
    if (monitor_started) { /* else it is still to start, as in the parent */
        monitor_started = false;
        lg_threads_at_next_wait_or_create(start_monitor);
    }
    leave();
}

/* ---- what lockgraph cannot share a process with --------------------------- */

/* A sanitizer runtime interposes the pthread functions itself, in front of
 * lockgraph's (the program is searched first), and lockgraph would take
 * its frames for the program's: the two cannot work in one process. Its
 * name, if one is loaded. */
static const char *
sanitizer_in_process(void)
{
    static const struct {
        const char *init, *name;
    } runtimes[] = {
        { "__tsan_init", "ThreadSanitizer" },
        { "__asan_init", "AddressSanitizer" },
        { "__msan_init", "MemorySanitizer" },
        { "__hwasan_init", "HWAddressSanitizer" },
    };
    for (size_t i = 0; i < sizeof runtimes / sizeof runtimes[0]; i++)
        if (lg_defined_anywhere(runtimes[i].init))
            return runtimes[i].name;
    return NULL;
}

/* ---- follow_children=0 ----------------------------------------------------- */

/* Whether the LD_PRELOAD entry p[0..n) is lockgraph's own object: the same
 * file, or, for a bare name the loader looked up in its search path, the
 * same file name. */
static bool
names_self(const char *p, size_t n, const char *self, const struct stat *self_st)
{
    char path[PATH_MAX];
    if (n >= sizeof path)
        return false;
    memcpy(path, p, n);
    path[n] = '\0';
    if (!memchr(path, '/', n)) {
        const char *base = strrchr(self, '/');
        return strcmp(path, base ? base + 1 : self) == 0;
    }
    struct stat st;
    return self_st && stat(path, &st) == 0 && st.st_dev == self_st->st_dev
           && st.st_ino == self_st->st_ino;
}

static void
environ_drop(size_t i)
{
    for (; environ[i]; i++)
        environ[i] = environ[i + 1];
}

/*
 * Children inherit LD_PRELOAD without lockgraph, and no LOCKGRAPH_OPTIONS
 * (nor the launcher's LOCKGRAPH_TOP_PID).
 * Done on environ itself, before main() (and before any thread but this
 * one exists): no setenv, which would allocate with the program's malloc;
 * the strings already there are left as they are (whoever holds one keeps
 * a valid string), and only pointers in the array change.
 */
static void
keep_children_out(void)
{
    static const char preload[] = "LD_PRELOAD=", options[] = "LOCKGRAPH_OPTIONS=",
                      top[] = "LOCKGRAPH_TOP_PID=";
    const size_t plen = sizeof preload - 1, olen = sizeof options - 1, tlen = sizeof top - 1;
    const char *self = lg_self_path();
    struct stat self_st;
    bool have_st = self && stat(self, &self_st) == 0;
    for (size_t i = 0; environ && environ[i];) {
        const char *e = environ[i];
        if (strncmp(e, options, olen) == 0 || strncmp(e, top, tlen) == 0) {
            environ_drop(i); /* (this process is the top one anyway) */
            continue;
        }
        if (!self || strncmp(e, preload, plen) != 0) {
            i++;
            continue;
        }
        size_t size = strlen(e) + 1, k = plen;
        char *kept = lg_mem_alloc(size);
        if (!kept) {
            i++; /* no memory: the children are checked too */
            continue;
        }
        memcpy(kept, preload, plen);
        bool dropped = false;
        for (const char *p = e + plen; *p;) {
            size_t n = strcspn(p, " :"); /* the loader's separators */
            if (n && names_self(p, n, self, have_st ? &self_st : NULL)) {
                dropped = true;
            } else if (n) {
                if (k > plen)
                    kept[k++] = ':';
                memcpy(kept + k, p, n);
                k += n;
            }
            p += n;
            while (*p == ' ' || *p == ':')
                p++;
        }
        kept[k] = '\0';
        if (!dropped) {
            lg_mem_free(kept, size);
            i++;
        } else if (k == plen) {
            lg_mem_free(kept, size);
            environ_drop(i);
        } else {
            environ[i] = kept;
            i++;
        }
    }
}


/*
 * The start runs once: from lockgraph's constructor, or earlier, from the
 * first thread creation that comes before it. The loader runs the
 * constructors of the program's own libraries (DT_NEEDED) before a
 * preloaded library's; threads one of them started were never followed,
 * and their inversions were missed with "0 locks" said. Only a thread
 * creation starts it early: a lock call may come from inside an
 * allocator that is initialising (jemalloc's malloc takes its mutexes
 * before any constructor), where lockgraph's start, which may allocate
 * (pthread_atfork), must not run; pthread_create itself allocates.
 */
static atomic_int start_state; /* 0 not begun, 1 under way, 2 done */

static void start(void);
static void quick_exit_finish(void);

/* The start, if nobody began it yet; true when this call ran it. */
static bool
start_once(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&start_state, &expect, 1))
        return false;
    start();
    atomic_store_explicit(&start_state, 2, memory_order_release);
    return true;
}

void
lg_start_early(void)
{
    if (!lg_busy && atomic_load_explicit(&start_state, memory_order_relaxed) == 0
        && start_once() && lg_opt.verbosity >= 1)
        lg_note("started at a thread creation before lockgraph's constructor (a "
                "library's constructor creates threads)");
}

__attribute__((constructor)) static void
lg_start(void)
{
    start_once();
}

static void
start(void)
{
    lg_busy = 1;
    lg_resolve();
    lg_options_defaults(&lg_opt);
    const char *env = getenv("LOCKGRAPH_OPTIONS");
    char err[256];
    if (env && lg_options_parse(&lg_opt, env, &lg_mem, err, sizeof err) != 0) {
        /* An unknown option's error already says where the list is. */
        fprintf(stderr, "lockgraph: LOCKGRAPH_OPTIONS: %s%s\n", err,
                strstr(err, "help=1") ? "" : " (LOCKGRAPH_OPTIONS=help=1 lists every option)");
        _exit(2);
    }
    if (lg_opt.help) {
        struct lg_buf b;
        lg_buf_init(&b, &lg_mem);
        lg_options_help(&b, false);
        fprintf(stderr, "lockgraph options (LOCKGRAPH_OPTIONS=key=value:key=value):\n%s",
                b.data ? b.data : "");
        lg_buf_free(&b);
        _exit(0);
    }
    if (!lg_opt.follow_children)
        keep_children_out();
    const char *shadow = lg_resolve_shadowed_by();
    if (shadow)
        lg_note("%s is loaded before lockgraph and defines the pthread functions: the "
                "program calls them there, and lockgraph sees none of its locks (put "
                "liblockgraph.so first in LD_PRELOAD)", shadow[0] ? shadow : "a library");
    const char *sanitizer = sanitizer_in_process();
    if (sanitizer) {
        /* Off: every interposer goes straight to the real function. */
        lg_note("this program runs %s, whose runtime intercepts pthread calls ahead of "
                "lockgraph: a sanitizer and lockgraph cannot share a process, so lockgraph "
                "is off", sanitizer);
        unsetenv(LG_EXEC_STATE_VAR); /* lockgraph's, not the program's */
        leave();
        return;
    }
    lg_diag_keep_stderr();
    struct lg_graph_config gc = lg_graph_config_runtime();
    if (lg_graph_new(&lg_graph, &lg_mem, &gc) != 0)
        LG_DIE("no memory for the lock-order graph");
    lg_locks_init();
    lg_stack_init();
    lg_reporting_init();
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        LG_DIE("pthread_key_create");
    lg_threads_set_exit_key(exit_key);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    at_quick_exit(quick_exit_finish);
    if (!lg_self())
        LG_DIE("no memory for the main thread's record");
    atomic_store_explicit(&lg_active, true, memory_order_release);
    if (lg_opt.verbosity >= 1)
        lg_note("checking pid %ld", (long)getpid());
    lg_perturb_init();
    lg_threads_at_next_wait_or_create(start_monitor);
    leave();
}

/*
 * The program's own _exit (and _Exit, the same function): a signal
 * handler's, often, as a watchdog's. If the liveness monitor is holding a
 * stall back because a signal handler might end it, it is asked to look
 * again first (lg_liveness_exiting). Nothing else changes: the real
 * _exit follows, with the program's status. lockgraph's own calls
 * (lg_busy) go straight through.
 */
LG_EXPORT void
_exit(int status)
{
    /* Nothing is written before the pid is checked (in there): a vfork
     * child's _exit runs in its parent's memory. */
    if (!lg_busy && atomic_load_explicit(&lg_active, memory_order_relaxed))
        lg_liveness_exiting(status);
    REAL(_exit)(status);
    __builtin_unreachable();
}

LG_EXPORT void
_Exit(int status)
{
    _exit(status);
}

/*
 * abort() from the program's own code: a watchdog's handler ends the run
 * that way as often as with _exit(1). A stall held back because that
 * handler might have ended it must be reported, not lost with the
 * SIGABRT (adversarial round h5, F5): the same question as at _exit,
 * with the status a shell gives a process killed by SIGABRT. glibc's own
 * aborts (a failed assert, a corrupt heap) do not come through here.
 */
LG_EXPORT _Noreturn void
abort(void)
{
    if (!lg_busy && atomic_load_explicit(&lg_active, memory_order_relaxed))
        lg_liveness_exiting(128 + SIGABRT);
    REAL(abort)();
    __builtin_unreachable();
}

/*
 * exec: the process goes on as another program, with the same pid, and
 * lockgraph starts again in it (it inherits LD_PRELOAD). A report made
 * before was lost from the new program's exit status, its closing line
 * ("0 reports") and its SARIF log, which it started afresh (adversarial
 * round h3, F11): a CI gate passed a program that reported an inversion and
 * then exec'd. The count goes over in the environment given to the exec
 * (lg_reporting_exec_state), only when there is one to carry and the new
 * program preloads lockgraph too; it is taken out of the environment again
 * when lockgraph starts there (report_rt.c). The environment passed is a
 * copy with one more entry: the program's own is not changed, so a failed
 * exec leaves nothing behind, and a copy that makes the exec fail (E2BIG)
 * gives way to the program's own environment. Noted chains are stored
 * first: an inversion they close is reported before the program is
 * replaced. A vfork child (its exec runs in its parent's memory) and
 * lockgraph's own calls go straight through.
 */
extern char **environ;

/* Whether the environment preloads lockgraph. */
static bool
env_preloads_lockgraph(char *const envp[])
{
    const char *self = lg_self_path(), *base = self ? strrchr(self, '/') : NULL;
    base = base ? base + 1 : self ? self : "liblockgraph.so";
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0)
            return strstr(envp[i] + 11, base) != NULL;
    return false;
}

struct exec_env {
    char **env;   /* what the exec is given */
    size_t bytes; /* of the copy, when env is one */
    char state[80];
};

static void
exec_env_make(struct exec_env *x, char *const envp[])
{
    x->env = (char **)envp;
    x->bytes = 0;
    if (lg_busy || !atomic_load_explicit(&lg_active, memory_order_relaxed)
        || !lg_reporting_own_process())
        return;
    lg_busy = 1;
    lg_pend_flush_all();
    size_t n = 0, name_len = strlen(LG_EXEC_STATE_VAR);
    while (envp && envp[n])
        n++;
    char **copy;
    if (lg_reporting_exec_state(x->state, sizeof x->state) && env_preloads_lockgraph(envp)
        && (copy = lg_mem_alloc((n + 2) * sizeof *copy)) != NULL) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (strncmp(envp[i], LG_EXEC_STATE_VAR, name_len) != 0 || envp[i][name_len] != '=')
                copy[k++] = envp[i];
        copy[k++] = x->state;
        copy[k] = NULL;
        x->env = copy;
        x->bytes = (n + 2) * sizeof *copy;
    }
    lg_busy = 0;
}

/* The exec failed (with r and errno as the real call left them): the copy
 * goes, errno stays. */
static int
exec_failed(struct exec_env *x, int r)
{
    int e = errno;
    if (x->bytes)
        lg_mem_free(x->env, x->bytes);
    x->bytes = 0;
    errno = e;
    return r;
}

/* E2BIG with the copy: the program's own environment might have fit. */
#define EXEC_WITH(x, envp, call_with_env)                                      \
    do {                                                                       \
        char **env_ = (x)->env;                                                \
        int r_ = call_with_env;                                                \
        if (r_ != 0 && errno == E2BIG && (x)->bytes) {                         \
            env_ = (char **)(envp);                                            \
            r_ = call_with_env;                                                \
        }                                                                      \
        return exec_failed((x), r_);                                           \
    } while (0)

LG_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
    struct exec_env x;
    exec_env_make(&x, envp);
    EXEC_WITH(&x, envp, REAL(execve)(path, argv, env_));
}

LG_EXPORT int
execv(const char *path, char *const argv[])
{
    return execve(path, argv, environ);
}

LG_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
    struct exec_env x;
    exec_env_make(&x, envp);
    EXEC_WITH(&x, envp, REAL(execvpe)(file, argv, env_));
}

LG_EXPORT int
execvp(const char *file, char *const argv[])
{
    return execvpe(file, argv, environ);
}

LG_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
    struct exec_env x;
    exec_env_make(&x, envp);
    EXEC_WITH(&x, envp, REAL(fexecve)(fd, argv, env_));
}

/* glibc 2.34's wrapper of the system call (fexecve does not go through
 * it). Under an older C library, which lacks it, the system call itself. */
static int
real_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    if (REAL(execveat))
        return REAL(execveat)(dirfd, path, argv, envp, flags);
    return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

LG_EXPORT int
execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    struct exec_env x;
    exec_env_make(&x, envp);
    EXEC_WITH(&x, envp, real_execveat(dirfd, path, argv, env_, flags));
}

/* execl, execlp and execle: their arguments into an array on the stack, as
 * glibc's own do, then the vector call; execle's environment follows the
 * terminating NULL. */
enum exec_list { EXEC_L, EXEC_LP, EXEC_LE };

static int
exec_list(enum exec_list kind, const char *file, const char *arg0, va_list ap)
{
    va_list count;
    va_copy(count, ap);
    size_t n = 1; /* the arguments and the terminating NULL */
    for (const char *a = arg0; a; a = va_arg(count, const char *))
        n++;
    va_end(count);
    char *argv[n];
    argv[0] = (char *)arg0;
    for (size_t i = 1; i < n; i++)
        argv[i] = va_arg(ap, char *);
    if (kind == EXEC_L)
        return execv(file, argv);
    if (kind == EXEC_LP)
        return execvp(file, argv);
    char *const *envp = va_arg(ap, char *const *);
    return execve(file, argv, envp);
}

#define EXEC_LIST_CALL(name, kind)                                             \
    LG_EXPORT int name(const char *file, const char *arg0, ...)                \
    {                                                                          \
        va_list ap;                                                            \
        va_start(ap, arg0);                                                    \
        int r = exec_list(kind, file, arg0, ap);                               \
        va_end(ap);                                                            \
        return r;                                                              \
    }
EXEC_LIST_CALL(execl, EXEC_L)
EXEC_LIST_CALL(execlp, EXEC_LP)
EXEC_LIST_CALL(execle, EXEC_LE)

/*
 * seccomp strict mode: after prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) the
 * thread may only read, write, _exit and sigreturn; any other system call
 * kills it. lockgraph's work on its lock calls makes others (fcntl and
 * fstat to write a report, futex on its own locks, mmap for memory), and
 * a sandbox thread that closed an inversion was killed inside lockgraph,
 * holding lockgraph's locks: the program then hung in the next thread's
 * lock call (adversarial round h3, F7). Natively such a thread takes
 * uncontended mutexes without a system call. lockgraph stands aside for
 * good in a thread that enters strict mode (lg_busy stays set: every
 * interposer goes straight to the real call), and says so first at
 * verbosity=1 (afterwards it could not). What it knew of the thread stays,
 * and the thread's noted chains are stored by others. A switch made with
 * syscall(SYS_seccomp, ...) is not seen; filter mode leaves the system
 * calls to the filter, which lockgraph cannot read.
 */
LG_EXPORT int
prctl(int option, ...)
{
    va_list ap;
    va_start(ap, option);
    unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long),
                  a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
    va_end(ap);
    bool strict = option == PR_SET_SECCOMP && a2 == SECCOMP_MODE_STRICT;
    if (strict && !lg_busy && atomic_load_explicit(&lg_active, memory_order_relaxed)
        && lg_opt.verbosity >= 1)
        lg_note("thread %ld asks for seccomp strict mode: lockgraph stops watching it",
                (long)gettid());
    int r = REAL(prctl)(option, a2, a3, a4, a5);
    if (r == 0 && strict)
        lg_busy = 1; /* for good: no system call of lockgraph's may follow */
    return r;
}

/*
 * quick_exit(status) runs the at_quick_exit handlers, then _exits from
 * inside glibc: neither exit()'s handlers nor the destructors run, so
 * lockgraph's end (the closing line, DOT and SARIF, and its exitcode
 * after a report) was skipped, and a program that reported an inversion
 * and ended with quick_exit(0) passed a CI gate (adversarial round h5,
 * F4). The end runs as the last at_quick_exit handler (registered at
 * start, before the program's own), and the program's streams are left
 * unflushed, as quick_exit leaves them.
 */
static int quick_exit_status;

static void end_checking(const int *quick_status);

static void
quick_exit_finish(void)
{
    if (!lg_busy && atomic_load_explicit(&lg_active, memory_order_relaxed))
        end_checking(&quick_exit_status);
}

LG_EXPORT _Noreturn void
quick_exit(int status)
{
    if (!lg_busy && atomic_load_explicit(&lg_active, memory_order_relaxed)) {
        quick_exit_status = status;
        lg_liveness_exiting(status);
    }
    REAL(quick_exit)(status);
    __builtin_unreachable();
}

/*
 * lockgraph's end: after every destructor. The loader runs the destructors
 * of the program's own libraries after a preloaded library's, and a
 * library whose destructor joins its worker thread ran that thread's last
 * lock orders after lockgraph had stopped checking (adversarial round h5,
 * F2: an inversion missed, "0 reports"). The destructor only registers
 * this, with no object's handle (atexit would tie it to lockgraph's own,
 * which glibc runs with lockgraph's destructors), so glibc runs it once
 * all destructors have run; the exit status, when it is lockgraph's, is
 * set there too (lg_reporting_finish).
 */
int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle);

/* The end, either way: at exit (quick_status NULL; the exit status,
 * when it is lockgraph's, is set in lg_reporting_finish) or at quick_exit
 * (the program's status; its streams are left unflushed). */
static void
end_checking(const int *quick_status)
{
    lg_busy = 1;
    lg_perturb_finish();
    if (atomic_load_explicit(&lg_active, memory_order_relaxed)) {
        lg_pend_flush_all();
        lg_sem_held_back_at_exit();
    }
    /* and the closing line, once the count is final */
    if (quick_status)
        lg_reporting_quick_exit(*quick_status);
    else
        lg_reporting_finish();
    atomic_store_explicit(&lg_active, false, memory_order_relaxed);
}

static void
stop_checking(void *unused)
{
    (void)unused;
    end_checking(NULL);
}

__attribute__((destructor)) static void
lg_stop(void)
{
    if (!lg_busy && atomic_load_explicit(&lg_active, memory_order_relaxed))
        lg_liveness_exiting(exit_status); /* exit() from a signal handler, as _exit */
    if (__cxa_atexit(stop_checking, NULL, NULL) != 0)
        stop_checking(NULL);
}
