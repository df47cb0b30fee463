/* A library the program is linked against (DT_NEEDED), whose constructor
 * starts threads, as libraries that set up a worker pool at load time do.
 * The loader runs it before a preloaded library's constructor. Its two
 * workers run one after the other (the second is created after the first
 * is joined), and take the library's two mutexes in opposite orders. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t cache = PTHREAD_MUTEX_INITIALIZER, index_lock = PTHREAD_MUTEX_INITIALIZER;
static int ready;

static void *
fill(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&cache);
    pthread_mutex_lock(&index_lock);
    ready++;
    pthread_mutex_unlock(&index_lock);
    pthread_mutex_unlock(&cache);
    return NULL;
}

static void *
reindex(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&index_lock);
    pthread_mutex_lock(&cache);
    ready++;
    pthread_mutex_unlock(&cache);
    pthread_mutex_unlock(&index_lock);
    return NULL;
}

__attribute__((constructor)) static void
start_pool(void)
{
    void *(*work[2])(void *) = { fill, reindex };
    for (int i = 0; i < 2; i++) {
        pthread_t th;
        int err = pthread_create(&th, NULL, work[i], NULL);
        if (err != 0 || pthread_join(th, NULL) != 0) {
            fprintf(stderr, "ctor_threads_lib: thread %d: error %d\n", i, err);
            exit(3);
        }
    }
}

int ctor_threads_ready(void);
int ctor_threads_ready(void) { return ready; }

/* Said when the library is unloaded at exit: lockgraph must not end the
 * process before the destructors of the program's libraries have run
 * (test_outputs.py: exit_runs_library_destructors). */
__attribute__((destructor)) static void
unloaded(void)
{
    static const char line[] = "ctor_threads_lib: destructor ran\n";
    ssize_t ignored = write(STDOUT_FILENO, line, sizeof line - 1);
    (void)ignored;
}
