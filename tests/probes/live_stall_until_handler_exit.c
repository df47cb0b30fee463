/* As live_stall_until_watchdog_exit, but the watchdog's handler calls
 * exit(1), which is not async-signal-safe but common: the stall must be
 * reported from there too (lockgraph's exit path), not lost (the program:
 * watchdog_stall.h).
 * EXPECT: stall
 * OPTIONS: stall_ms=300 */
#define WATCHDOG_LINE "live_stall_until_handler_exit: watchdog fired\n"
#define WATCHDOG_END() exit(1) /* not async-signal-safe, but common */
#include "watchdog_stall.h"
