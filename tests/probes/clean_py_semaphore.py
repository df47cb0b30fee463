# threading.Semaphore and BoundedSemaphore (built on a Condition and a
# Lock), threading.Event, and threading.Barrier, used by six workers that
# also take a shared Lock. Nothing to report.
# EXPECT: none
import threading

slots = threading.Semaphore(2)
bounded = threading.BoundedSemaphore(3)
go = threading.Event()
meet = threading.Barrier(6)
count_lock = threading.Lock()
count = 0


def worker():
    global count
    go.wait()
    for _ in range(100):
        with slots:
            with bounded:
                with count_lock:
                    count += 1
    meet.wait()


threads = [threading.Thread(target=worker) for _ in range(6)]
for t in threads:
    t.start()
go.set()
for t in threads:
    t.join()
assert count == 600, count
