/* A stall through a semaphore in a program that bounds its own run with
 * a watchdog whose SIGALRM handler says so and calls abort(), as many test
 * harnesses do to get a core file (the program: watchdog_stall.h). The
 * handler might have posted the semaphore, so the stall is held back
 * while it can; when the handler ends the program with SIGABRT instead,
 * the stall must still be reported (exit 66), not lost with the process
 * (adversarial round h5, F5).
 * EXPECT: stall
 * OPTIONS: stall_ms=300 */
#define WATCHDOG_LINE "live_stall_until_watchdog_abort: watchdog fired\n"
#define WATCHDOG_END() abort()
#include "watchdog_stall.h"
