#!/usr/bin/env python3
"""CPU hogs that oversubscribe the machine, for stress runs.

`racebed matrix --stress` and `ci/run --stress` start twice as many busy
processes as there are cores while the tests run, so that every timing
assumption is tested on a machine that is busier than any CI runner. The
hogs stop whatever happens: they are stopped on the way out (Ctrl-C and
SIGTERM included), and each hog also checks, between short bursts, that the
process that started it is still there, so even a SIGKILL of the parent
leaves no hog behind for longer than a burst (about 50 ms of work).

As a command: `ci/hogs.py [--per-core N] -- COMMAND [ARGS...]` runs COMMAND
with the hogs running and exits with its status.
"""
import os
import signal
import subprocess
import sys

# A hog spins in bursts of ~50 ms and leaves once its parent is gone
# (getppid() changes when the parent dies: the orphan is re-parented).
HOG = ("import os,sys\n"
       "parent=int(sys.argv[1])\n"
       "while os.getppid()==parent:\n"
       "    for _ in range(200000): pass\n")


class Hogs:
    """A context manager: `with Hogs(): ...` runs the block oversubscribed."""

    def __init__(self, per_core=2):
        self.count = per_core * (os.cpu_count() or 1)
        self.procs = []

    def start(self):
        me = str(os.getpid())
        for _ in range(self.count):
            self.procs.append(subprocess.Popen(
                [sys.executable, "-c", HOG, me], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))  # Ctrl-C is ours to handle, not theirs
        return self

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(signum)


def main(argv):
    per_core = 2
    if argv[:1] == ["--per-core"]:
        per_core, argv = int(argv[1]), argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: ci/hogs.py [--per-core N] -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    hogs = Hogs(per_core)
    print(f"racebed: stress: {hogs.count} busy processes on {os.cpu_count()} cores "
          "while the command runs", file=sys.stderr, flush=True)
    child = None
    try:
        hogs.start()
        child = subprocess.Popen(argv)
        return child.wait()
    except KeyboardInterrupt:
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        print("\nracebed: interrupted; the stress hogs are stopped", file=sys.stderr)
        return 130
    finally:
        hogs.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
