# Two Python threads, one after the other, take two threading.Locks in
# opposite orders: the potential deadlock, reported although it never
# happens. CPython 3.11's Lock is a POSIX semaphore (sem_init to 1,
# sem_trywait/sem_wait, sem_post), which lockgraph follows as a lock.
# EXPECT: lock-order-inversion
import threading

a = threading.Lock()
b = threading.Lock()


def ab():
    with a:
        with b:
            pass


def ba():
    with b:
        with a:
            pass


for body in (ab, ba):
    t = threading.Thread(target=body)
    t.start()
    t.join()
