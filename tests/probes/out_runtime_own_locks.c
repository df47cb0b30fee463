/* Two threads that lock through a runtime with locks of its own (a library
 * named libtbb.so, lib/fake_runtime_lib.c) and take one pthread mutex: the
 * closing line must say that the runtime's locks are not seen
 * (test_outputs.py: note_on_runtime_locks). Without the note it said
 * "0 reports; 1 lock, 3 threads checked", as if all were well.
 * EXPECT: none */
#include "probe.h"
void fake_runtime_locked_add(void);
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static void *work(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++)
        fake_runtime_locked_add();
    CHECK(pthread_mutex_lock(&m));
    CHECK(pthread_mutex_unlock(&m));
    return NULL;
}
int main(void) {
    pthread_t a, b;
    CHECK(pthread_create(&a, NULL, work, NULL));
    CHECK(pthread_create(&b, NULL, work, NULL));
    CHECK(pthread_join(a, NULL));
    CHECK(pthread_join(b, NULL));
    return 0;
}
