/* Links liblockgraph.so (no preload needed) and marks progress; two threads
 * take two locks in opposite orders, which lockgraph must report. */
#include <lockgraph.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void *
ab(void *x)
{
    (void)x;
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    lg_progress();
    return NULL;
}

static void *
ba(void *x)
{
    (void)x;
    pthread_mutex_lock(&b);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
    return NULL;
}

int
main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, ab, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, ba, NULL);
    pthread_join(t, NULL);
    printf("consumer (lockgraph %s) done\n", LOCKGRAPH_VERSION);
    return 0;
}
