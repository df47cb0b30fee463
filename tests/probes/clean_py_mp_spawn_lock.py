# multiprocessing with the "spawn" start method (the default on macOS and
# Windows, and "forkserver", Python 3.14's default on Linux, works alike):
# the parent holds a multiprocessing.Lock, a named POSIX semaphore shared
# between the processes, while a child started afresh waits for it in
# "with lock:". The child's only thread is blocked longer than stall_ms,
# but the parent lets go: no stall. Before the fix the child was stopped
# with a stall report (exit 66), and the parent saw it fail.
# EXPECT: none
# OPTIONS: stall_ms=200
import multiprocessing as mp
import sys
import time


def child(lock, started):
    started.set()
    with lock:
        pass


if __name__ == "__main__":
    mp.set_start_method("spawn")
    lock = mp.Lock()
    started = mp.Event()
    lock.acquire()
    p = mp.Process(target=child, args=(lock, started))
    p.start()
    if not started.wait(60):
        sys.exit("the child did not start")
    time.sleep(1.0)
    lock.release()
    p.join(60)
    print(f"clean_py_mp_spawn_lock: the child exited with {p.exitcode}")
    sys.exit(0 if p.exitcode == 0 else 1)
