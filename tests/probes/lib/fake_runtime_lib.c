/* Built as libtbb.so: a stand-in for a runtime with locks of its own
 * (oneTBB's are futexes and atomics), for the closing line's note
 * (test_outputs.py: note_on_runtime_locks). Its lock is a spin on an
 * atomic flag, which lockgraph cannot see. */
#include <stdatomic.h>
static atomic_flag busy = ATOMIC_FLAG_INIT;
static long count;
void fake_runtime_locked_add(void);
void fake_runtime_locked_add(void) {
    while (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire))
        ;
    count++;
    atomic_flag_clear_explicit(&busy, memory_order_release);
}
