/* Two locks taken in both orders, then quick_exit(0), the way a program
 * that must not run its atexit handlers or static destructors ends (a
 * server's fast shutdown; C++ programs whose globals' destructors race
 * with detached threads). quick_exit skips exit()'s handlers and every
 * destructor, and lockgraph's end with them: the report was printed, but
 * the process exited 0, the closing line was not said, and a CI gate that
 * reads the exit status passed. The program's own at_quick_exit handler
 * runs first and takes the locks once more, in the order that was
 * already reported, which lockgraph must still be watching. An argument
 * is the status to end with (0 by default), for the output tests.
 * EXPECT: lock-order-inversion */
#include "probe.h"

#include <stdlib.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void again(void) {
    CHECK(pthread_mutex_lock(&a));
    CHECK(pthread_mutex_lock(&b));
    CHECK(pthread_mutex_unlock(&b));
    CHECK(pthread_mutex_unlock(&a));
    printf("inversion_then_quick_exit: at_quick_exit handler ran\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    CHECK(at_quick_exit(again));
    inversion();
    quick_exit(argc > 1 ? atoi(argv[1]) : 0);
}
