/*
 * lockgraph.h - the little that a program may call in lockgraph.
 *
 * Nothing here is needed to check a program: preload liblockgraph.so (or
 * run it under the `lockgraph` launcher) and every pthread lock is checked.
 * This header is for programs that want to say more.
 */
#ifndef LOCKGRAPH_H
#define LOCKGRAPH_H

#ifdef __cplusplus
extern "C" {
#endif

#define LOCKGRAPH_VERSION "0.1.0"

/*
 * Mark progress: "this thread just did useful work". The liveness monitor
 * otherwise counts a successful acquisition of a lock the thread was
 * retrying as progress; a program whose threads make progress without
 * taking locks (say, lock-free retries) calls this where the work is done,
 * so that the thread is never reported as livelocked or starving.
 * Thread-safe, async-signal-safe, costs one relaxed store.
 *
 * To call it without depending on lockgraph, declare it weak:
 *   __attribute__((weak)) void lg_progress(void);
 *   if (lg_progress) lg_progress();
 */
void lg_progress(void);

#ifdef __cplusplus
}
#endif

#endif /* LOCKGRAPH_H */
