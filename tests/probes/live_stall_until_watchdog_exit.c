/* A stall through a semaphore in a program that bounds its own run with
 * a watchdog: a SIGALRM handler that says so and calls _exit(1), as
 * racebed's own scenarios do (the program: watchdog_stall.h). The handler
 * might have posted the semaphore, so the stall is held back while it
 * can; when the handler ends the program instead, the stall must still be
 * reported (exit 66), not lost with the process.
 * EXPECT: stall
 * OPTIONS: stall_ms=300 */
#define WATCHDOG_LINE "live_stall_until_watchdog_exit: watchdog fired\n"
#define WATCHDOG_END() _exit(1)
#include "watchdog_stall.h"
