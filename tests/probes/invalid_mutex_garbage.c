/* Unlocking "mutexes" that are memory full of 0xff bytes: no mutex of any
 * kind looks like that, so it can only be an invalid one (glibc says
 * EINVAL).
 * EXPECT: invalid-mutex */
#include "probe.h"
#include <string.h>
int main(void) {
    union { pthread_mutex_t m; unsigned char bytes[sizeof(pthread_mutex_t)]; } junk;
    memset(junk.bytes, 0xff, sizeof junk.bytes);
    int err = pthread_mutex_unlock(&junk.m);
    return err != 0 ? 0 : 3;
}
