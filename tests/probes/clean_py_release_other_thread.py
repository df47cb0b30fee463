# A threading.Lock taken by one thread and released by another, which
# Python allows: from then on it is a signal, not a lock. While it looked
# like one it was taken under `m`; afterwards it is taken before `m`, which
# would be an inversion if it were still a lock. Nothing to report.
# EXPECT: none
import threading

m = threading.Lock()
handed = threading.Lock()


def take_under_m():
    with m:
        handed.acquire()  # m -> handed, and the thread ends holding it


def take_before_m():
    with handed:
        with m:
            pass


t = threading.Thread(target=take_under_m)
t.start()
t.join()
handed.release()  # by the main thread, which never took it
t = threading.Thread(target=take_before_m)
t.start()
t.join()
