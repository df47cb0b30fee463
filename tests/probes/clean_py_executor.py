# concurrent.futures.ThreadPoolExecutor: map, submit, as_completed and
# shutdown, with tasks that take a shared Lock and an RLock in one order.
# Nothing to report.
# EXPECT: none
import concurrent.futures
import threading

table = threading.RLock()
row = threading.Lock()
cells = {}


def work(i):
    with table:
        with row:
            cells[i] = i * 2
    return i


with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    assert sorted(pool.map(work, range(200))) == list(range(200))
    futures = [pool.submit(work, i) for i in range(200, 300)]
    assert sorted(f.result() for f in concurrent.futures.as_completed(futures)) == list(range(200, 300))
assert len(cells) == 300
