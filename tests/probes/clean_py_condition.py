# A producer and a consumer share a list under threading.Condition (and a
# second one built on a plain Lock). Each wait() takes a fresh waiter Lock,
# blocks on it a second time, and notify() releases it from the other
# thread: signals, never locks. The consumer also waits through a pause of
# the producer far longer than deadlock_ms. Nothing to report.
# EXPECT: none
# OPTIONS: deadlock_ms=20
import threading
import time

items = []
cond = threading.Condition()
plain = threading.Condition(threading.Lock())
N = 300


def producer():
    time.sleep(0.3)  # the consumer waits all that time
    for i in range(N):
        with cond:
            items.append(i)
            cond.notify()
        with plain:
            plain.notify_all()


def consumer():
    got = 0
    while got < N:
        with cond:
            while not items:
                cond.wait()
            items.pop(0)
            got += 1
    with plain:
        plain.wait(timeout=0.01)


threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not items
