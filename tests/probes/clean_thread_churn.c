/* 20000 short threads, one after another, each nesting two locks (so that
 * graph edges carry its number): a thread-per-request server in small.
 * lockgraph's memory must stay bounded by the threads alive at once (plus
 * 16 bytes for each exited thread the graph may name): the probe fails if
 * its peak RSS passes 16 MiB. Measured on the dev build (2-core VM, git
 * 9897a5d plus the allocator of the commit after it): 1.7 MiB natively,
 * 6.9 MiB under lockgraph (4.2 MiB before that allocator: its 2 MiB
 * huge-page chunks); 62 MiB before thread records were recycled, when
 * lockgraph kept 3 KiB per thread ever created.
 * EXPECT: none */
#include "probe.h"
#include <sys/resource.h>
#define THREADS 20000
#define BOUND_KIB (16 * 1024)
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *request(void *x) {
    (void)x;
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    return NULL;
}
int main(void) {
    for (int i = 0; i < THREADS; i++)
        run_thread(request, NULL);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("clean_thread_churn: %d threads, peak RSS %ld KiB (bound %d KiB)\n", THREADS,
           ru.ru_maxrss, BOUND_KIB);
    return ru.ru_maxrss > BOUND_KIB ? 1 : 0;
}
