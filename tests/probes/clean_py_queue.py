# queue.Queue with four workers: put, get, task_done and join, then one
# None each to stop. A Queue is a Lock and three Conditions on it. Nothing
# to report.
# EXPECT: none
import queue
import threading

tasks = queue.Queue()
results = queue.Queue(maxsize=8)
total = 0


def worker():
    while True:
        item = tasks.get()
        if item is None:
            tasks.task_done()
            return
        results.put(item * item)
        tasks.task_done()


def collector(n):
    global total
    for _ in range(n):
        total += results.get()


N = 400
workers = [threading.Thread(target=worker) for _ in range(4)]
coll = threading.Thread(target=collector, args=(N,))
for t in workers + [coll]:
    t.start()
for i in range(N):
    tasks.put(i)
tasks.join()
for _ in workers:
    tasks.put(None)
for t in workers + [coll]:
    t.join()
assert total == sum(i * i for i in range(N)), total
