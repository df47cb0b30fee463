/* One thread takes A then B, later B then A. Lock order is a property of
 * the code: a second thread running either path would deadlock with it, so
 * this is reported, as Helgrind, TSan and lockdep report it, and the report
 * says one thread took both orders (cycle_class single-thread).
 * EXPECT: lock-order-inversion */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
int main(void) {
    pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a);
    pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b);
    return 0;
}
