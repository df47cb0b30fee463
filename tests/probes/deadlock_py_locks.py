# Two Python threads really deadlock: each holds one threading.Lock and
# waits for the other (a Barrier makes sure both hold theirs first), while
# the main thread waits in join(). lockgraph reports the inversion, then the
# deadlock, and stops the interpreter (exit 66) instead of letting it hang.
# EXPECT: deadlock,lock-order-inversion
import threading

a = threading.Lock()
b = threading.Lock()
both = threading.Barrier(2)


def hold_then(first, second):
    with first:
        both.wait()
        with second:
            pass


threads = [threading.Thread(target=hold_then, args=pair) for pair in ((a, b), (b, a))]
for t in threads:
    t.start()
for t in threads:
    t.join()
