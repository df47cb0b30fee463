/* The blocking twin of live_crumbs_trylock: eight greedy threads take one
 * mutex in a loop, and a polite thread takes it with pthread_mutex_lock,
 * pausing 100 us after each meal, for 3 s. A glibc mutex lets a thread that
 * just unlocked take it straight back, so a greedy thread that wins keeps
 * winning until it is preempted; the polite one turns each win into one
 * meal. It waits most of the time and gets a few crumbs: starvation.
 * EXPECT: starvation */
#define POLITE_BLOCKS
#include "live_crumbs_trylock.c"
