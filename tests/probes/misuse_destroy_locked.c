/* Destroying a mutex that is still locked.
 * EXPECT: destroy-locked */
#include "probe.h"
int main(void) {
    pthread_mutex_t m;
    CHECK(pthread_mutex_init(&m, NULL));
    pthread_mutex_lock(&m);
    pthread_mutex_destroy(&m);
    return 0;
}
