#!/usr/bin/python3
"""bench_gil: Python threads handing the GIL to each other.

`--threads` threads each put `--items` integers into one queue.Queue, all
at once. In CPython 3.11 (Debian 12's python3) that is two kinds of
synchronisation, both of which lockgraph sees: the queue's
threading.Condition (a POSIX semaphore used as a lock, and a wait on
another), and the interpreter's GIL, a pthread mutex and condition variable
that a thread waiting for the GIL waits on with a 5 ms timeout before it
asks the holder to let go. So a detector's cost per condition wait and per
semaphore is what is measured, the case that made a threaded Python
program 1.7 times slower under lockgraph when each condition wait looked up
names in libpython's symbol table (git ec3a1de).

It prints its parameters on its first line and its own elapsed time on its
last, checks that every item arrived and exits 1 if not. It has no bug: a
detector that reports anything here has produced a false positive.
"""
import argparse
import platform
import queue
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=4, help="threads putting at once [4]")
    ap.add_argument("--items", type=int, default=20000, help="items each thread puts [20000]")
    a = ap.parse_args()
    if not 1 <= a.threads <= 1024 or not 1 <= a.items <= 10**8:
        ap.error("--threads must be 1..1024 and --items 1..100000000")
    print("bench_gil threads=%d items=%d python=%s" % (a.threads, a.items,
                                                        platform.python_version()), flush=True)
    q = queue.Queue()
    start = threading.Barrier(a.threads + 1)

    def put_all():
        start.wait()
        for i in range(a.items):
            q.put(i)

    threads = [threading.Thread(target=put_all) for _ in range(a.threads)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    total = a.threads * a.items
    if q.qsize() != total:
        print("bench_gil: %d items arrived, %d were put" % (q.qsize(), total), file=sys.stderr)
        return 1
    print("bench_gil elapsed %.6f s, %d puts, %.1f us per put" % (elapsed, total,
                                                                 elapsed / total * 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
