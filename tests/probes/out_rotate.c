/* Between two reports, the file named by the environment variable
 * OUT_ROTATE (when set) is renamed to <name>.1, as log rotation does:
 * lockgraph's next report must go to a new file at the old name, as it
 * would if it opened the path for each report (tests/test_outputs.py).
 * EXPECT: lock-order-inversion */
#include "probe.h"

#include <stdio.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t c = PTHREAD_MUTEX_INITIALIZER, d = PTHREAD_MUTEX_INITIALIZER;

int
main(void)
{
    struct lock_pair ab = { &a, &b }, ba = { &b, &a }, cd = { &c, &d }, dc = { &d, &c };
    run_thread(take_pair, &ab);
    run_thread(take_pair, &ba);
    const char *name = getenv("OUT_ROTATE");
    if (name) {
        char old[4096];
        snprintf(old, sizeof old, "%s.1", name);
        if (rename(name, old) != 0)
            exit(3);
    }
    run_thread(take_pair, &cd);
    run_thread(take_pair, &dc);
    return 0;
}
