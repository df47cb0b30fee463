/* A program lockgraph cannot check when it is built statically or with a
 * sanitizer (tests/test_launcher.py builds it those ways): two threads take
 * one mutex, then it says hello. */
#include <pthread.h>
#include <stdio.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int count;
static void *work(void *x) {
    (void)x;
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&m);
        count++;
        pthread_mutex_unlock(&m);
    }
    return NULL;
}
int main(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, work, NULL) != 0)
        return 3;
    work(NULL);
    pthread_join(t, NULL);
    printf("hello: %d\n", count);
    return 0;
}
