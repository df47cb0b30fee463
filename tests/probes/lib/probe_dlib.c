/* A library with two static mutexes, for the dlopen/dlclose probes: each
 * load has fresh ones, possibly at the address of the last load's. */
#include <pthread.h>
#include <stdint.h>
static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER, second = PTHREAD_MUTEX_INITIALIZER;
uintptr_t probe_dlib_where(void);
void probe_dlib_nest(int reverse);
void probe_dlib_take_first(void);
uintptr_t probe_dlib_where(void) { return (uintptr_t)&first; }
void probe_dlib_nest(int reverse) {
    pthread_mutex_t *outer = reverse ? &second : &first, *inner = reverse ? &first : &second;
    pthread_mutex_lock(outer);
    pthread_mutex_lock(inner);
    pthread_mutex_unlock(inner);
    pthread_mutex_unlock(outer);
}
void probe_dlib_take_first(void) { pthread_mutex_lock(&first); }
