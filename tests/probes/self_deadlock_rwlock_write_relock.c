/* A thread that holds an rwlock for writing asks for it again: for writing,
 * for reading, and with a deadline. POSIX leaves the result undefined;
 * glibc refuses each call with EDEADLK (TSan reports a double lock, DRD
 * "recursive writer locking not allowed"). Reported as a self-deadlock, but
 * every call must get glibc's answer and the program go on; a trywrlock
 * (EBUSY) is no misuse. The first report is the write re-lock, in main.
 * EXPECT: self-deadlock
 * REPORT: takes L1 \(rwlock rw\), which it already holds for writing; glibc refuses the call \(EDEADLK\).* at main$
 */
#include "probe.h"
#include <errno.h>
#include "soon.h"
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static void expect(int got, int want, const char *what) {
    if (got != want) {
        fprintf(stderr, "%s returned %d, not %d\n", what, got, want);
        exit(3);
    }
}
int main(void) {
    CHECK(pthread_rwlock_wrlock(&rw));
    expect(pthread_rwlock_wrlock(&rw), EDEADLK, "wrlock");
    expect(pthread_rwlock_rdlock(&rw), EDEADLK, "rdlock");
    struct timespec until = soon_ms(20);
    expect(pthread_rwlock_timedwrlock(&rw, &until), EDEADLK, "timedwrlock");
    expect(pthread_rwlock_trywrlock(&rw), EBUSY, "trywrlock");
    CHECK(pthread_rwlock_unlock(&rw));
    /* Still a lock that works, and nothing is left held. */
    CHECK(pthread_rwlock_rdlock(&rw));
    CHECK(pthread_rwlock_unlock(&rw));
    return 0;
}
