/* A library with a worker thread of its own, started by its constructor
 * and joined by its destructor, as libraries with a background thread do.
 * Told to stop, the worker takes the library's two mutexes in the order
 * opposite to dtor_join_lib_use()'s, then exits; the destructor joins it.
 * That happens while the process exits, after lockgraph's own destructor
 * (the loader runs a preloaded library's first). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER, second = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t told = PTHREAD_COND_INITIALIZER;
static bool stopping;
static pthread_t worker;
static bool started;

static void *
work(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    while (!stopping)
        pthread_cond_wait(&told, &m);
    pthread_mutex_unlock(&m);
    pthread_mutex_lock(&second); /* on its way out: second, then first */
    pthread_mutex_lock(&first);
    pthread_mutex_unlock(&first);
    pthread_mutex_unlock(&second);
    return NULL;
}

__attribute__((constructor)) static void
start_worker(void)
{
    started = pthread_create(&worker, NULL, work, NULL) == 0;
}

__attribute__((destructor)) static void
stop_worker(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&m);
    stopping = true;
    pthread_cond_signal(&told);
    pthread_mutex_unlock(&m);
    pthread_join(worker, NULL);
}

void dtor_join_lib_use(void);
void
dtor_join_lib_use(void)
{
    pthread_mutex_lock(&first);
    pthread_mutex_lock(&second);
    pthread_mutex_unlock(&second);
    pthread_mutex_unlock(&first);
}
