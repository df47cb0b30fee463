/* Three reports of two kinds in one run (two inversions, one unlock of an
 * unlocked mutex): what the output tests (tests/test_outputs.py) use to see
 * that a failing output is said once, not once per report. With the
 * argument "say-done", a line on standard output (flushed) says that the
 * reports are made and the program is about to return.
 * EXPECT: lock-order-inversion,unlock-unlocked */
#include "probe.h"
#include <string.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
int
main(int argc, char **argv)
{
    inversion();
    inversion();
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    pthread_mutex_unlock(&m);
    if (argc > 1 && strcmp(argv[1], "say-done") == 0) {
        puts("reported");
        fflush(stdout);
    }
    return 0;
}
