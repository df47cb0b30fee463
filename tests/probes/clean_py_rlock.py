# threading.RLock re-taken by its owner, with other locks inside it always
# in one order, by several threads; a Condition on the RLock. Re-taking an
# RLock is no self-deadlock and its levels order nothing. Nothing to report.
# EXPECT: none
import threading

outer = threading.RLock()
inner = threading.Lock()
ready = threading.Condition(outer)
done = 0


def nested(depth):
    with outer:
        if depth:
            nested(depth - 1)
        else:
            with inner:
                pass


def worker():
    global done
    for _ in range(50):
        nested(3)
    with ready:
        done += 1
        ready.notify_all()


threads = [threading.Thread(target=worker) for _ in range(3)]
for t in threads:
    t.start()
with ready:
    while done < 3:
        ready.wait()
for t in threads:
    t.join()
