"""bank: two clerks move money between two accounts. One pays Alice's money
to Bob, the other Bob's to Alice, and each transfer locks the account it
takes from, then the account it pays into: the two clerks take the two locks
in opposite orders. If each holds its first lock at once, neither can ever
get its second. The default run lets the clerks take turns, so nothing hangs
(the deadlock is only possible); --hang starts them together.
"""
import sys
import threading

TRANSFERS = 100


class Account:
    def __init__(self, number, owner, balance):
        self.number = number
        self.owner = owner
        self.balance = balance
        self.lock = threading.Lock()


def transfer(src, dst, amount, meeting):
    with src.lock:
        meet(meeting)
        with dst.lock:
            src.balance -= amount
            dst.balance += amount


def meet(meeting):
    """With --hang, wait until both clerks hold their first lock. If the other
    clerk can never get here (it waits for this clerk's lock), go on after a
    second."""
    if meeting is not None:
        try:
            meeting.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass


def clerk(src, dst, meeting):
    for _ in range(TRANSFERS):
        transfer(src, dst, 1, meeting)
        meeting = None  # meet once, on the first transfer


def main():
    hang = "--hang" in sys.argv[1:]
    alice = Account(1, "Alice", 100)
    bob = Account(2, "Bob", 100)
    meeting = threading.Barrier(2) if hang else None
    clerks = [threading.Thread(target=clerk, args=(a, b, meeting), daemon=True)
              for a, b in ((alice, bob), (bob, alice))]
    for c in clerks:
        c.start()
        if not hang:
            c.join()  # take turns
    for c in clerks:
        c.join()
    print(f"bank: {2 * TRANSFERS} transfers, Alice {alice.balance}, Bob {bob.balance}")


if __name__ == "__main__":
    main()
