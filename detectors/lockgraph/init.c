/*
 * init.c - lockgraph's start (options, tables, the liveness monitor), its
 * exit, and fork: every internal lock is taken before fork() and released
 * (parent) or reset (child) after it.
 */
#include "intercept.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- start, fork, exit ---------------------------------------------------- */

static pthread_key_t exit_key;

static void
thread_exit(void *p)
{
    int was = lg_busy;
    lg_busy = 1;
    lg_thread_exit(p);
    lg_perturb_exit(p);
    lg_busy = was;
}

/* The liveness monitor: a detached thread that lockgraph never tracks
 * (lg_busy for good), started at init and again in a fork child. */
static void *
monitor_main(void *unused)
{
    (void)unused;
    lg_busy = 1;
    lg_liveness_run();
    return NULL;
}

static void
start_monitor(void)
{
    if (!lg_opt.liveness)
        return;
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (REAL(pthread_create)(&th, &attr, monitor_main, NULL) != 0)
        lg_note("cannot start the liveness monitor: no starvation, livelock or stall "
                "reports in this run");
    pthread_attr_destroy(&attr);
}

static void
fork_prepare(void)
{
    lg_busy = 1;
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
    lg_busy = 0;
}

static void
fork_child(void)
{
    lg_mem_atfork_child();
    lg_stack_atfork_child();
    lg_locks_atfork_child();
    lg_threads_atfork_child();
    lg_mutex_reset(&lg_graph_lock);
    lg_reporting_atfork_child();
    lg_perturb_atfork_child();
    /* The monitor thread is not copied by fork, and a child should not start
     * threads before it execs: liveness checks end in the child. */
    lg_busy = 0;
}

__attribute__((constructor)) static void
lg_start(void)
{
    lg_busy = 1;
    lg_resolve();
    lg_options_defaults(&lg_opt);
    const char *env = getenv("LOCKGRAPH_OPTIONS");
    char err[256];
    if (env && lg_options_parse(&lg_opt, env, &lg_mem, err, sizeof err) != 0) {
        fprintf(stderr, "lockgraph: LOCKGRAPH_OPTIONS: %s (LOCKGRAPH_OPTIONS=help=1 lists "
                        "every option)\n", err);
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
    if (lg_graph_new(&lg_graph, &lg_mem, NULL) != 0)
        LG_DIE("no memory for the lock-order graph");
    lg_locks_init();
    lg_stack_init();
    lg_reporting_init();
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        LG_DIE("pthread_key_create");
    lg_threads_set_exit_key(exit_key);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    if (!lg_self())
        LG_DIE("no memory for the main thread's record");
    atomic_store_explicit(&lg_active, true, memory_order_release);
    if (lg_opt.verbosity >= 1)
        lg_note("checking pid %ld", (long)getpid());
    lg_perturb_init();
    start_monitor();
    lg_busy = 0;
}

__attribute__((destructor)) static void
lg_stop(void)
{
    lg_busy = 1;
    lg_perturb_finish();
    lg_reporting_finish();
    atomic_store_explicit(&lg_active, false, memory_order_relaxed);
}
