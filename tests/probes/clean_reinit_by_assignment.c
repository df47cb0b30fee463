/* A helper leaves a stack mutex locked when it returns (a leak, not a
 * deadlock); a later call reuses the same stack slot and sets up a fresh
 * mutex there by assignment (= PTHREAD_MUTEX_INITIALIZER), which it locks.
 * The real lock word is free: lockgraph's belief "this thread holds it" is
 * stale and must not become a self-deadlock, nor stop the program.
 * EXPECT: none */
#include "probe.h"
#include <stdint.h>
static uintptr_t slots[2];
static __attribute__((noinline)) void leave_locked(int call) {
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    slots[call] = (uintptr_t)&fresh;
    CHECK(pthread_mutex_lock(&fresh)); /* abandoned with the frame */
    __asm__ volatile("" ::"r"(&fresh) : "memory");
}
int main(void) {
    leave_locked(0);
    leave_locked(1);
    if (slots[0] != slots[1]) {
        fprintf(stderr, "the two frames differ: the probe proves nothing\n");
        return 3;
    }
    return 0;
}
