# A lost wakeup in Python: notify() comes before the consumer waits, with no
# predicate, and the main thread waits in join(). The consumer blocks on a
# waiter Lock it holds itself (how Condition.wait works): a wait for a
# signal, not a self-deadlock. Every thread is blocked, so lockgraph reports
# the stall and stops the interpreter instead of letting it hang.
# EXPECT: stall
# OPTIONS: stall_ms=500
import threading

cond = threading.Condition()
notified = threading.Event()


def consumer():
    notified.wait()  # the notify is already gone
    with cond:
        cond.wait()


t = threading.Thread(target=consumer)
t.start()
with cond:
    cond.notify()
notified.set()
t.join()
