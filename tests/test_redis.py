#!/usr/bin/env python3
"""A real multithreaded server under lockgraph: redis-server (Debian's, linked
with jemalloc) runs under the `lockgraph` launcher on a free port of
127.0.0.1 while redis-benchmark sends it a short load. The server must
answer every request, draw no report, shut down when told (exit status 0),
and lockgraph must have been active in it (verbosity=1: "checking pid").

usage: test_redis.py --launcher lockgraph
Exits 77 (skipped) when redis-server or redis-benchmark is not installed
(ci/deps installs them).
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# Every wait below is bounded; the bounds are generous against the ~1 s the
# whole test takes on a quiet 2-core machine, so that load cannot trip them.
START_S = 30
BENCH_S = 120
STOP_S = 30


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(port, command):
    """Send one inline command, return the first reply line (or None)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(command.encode() + b"\r\n")
            return s.recv(256).decode(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--launcher", required=True)
    a = ap.parse_args()
    server, bench = shutil.which("redis-server"), shutil.which("redis-benchmark")
    if not server or not bench:
        print("skipped: redis-server / redis-benchmark not installed (ci/deps installs them)")
        return 77
    problems = []
    with tempfile.TemporaryDirectory(prefix="lg-redis-") as tmp:
        js, log = os.path.join(tmp, "r.json"), os.path.join(tmp, "lockgraph.log")
        port = free_port()
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        env.pop("LOCKGRAPH_OPTIONS", None)
        cmd = [os.path.abspath(a.launcher), "--json=" + js, "--log=" + log, "--verbosity=1", "--",
               server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", "--dir", tmp]
        srv = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True, cwd=tmp)
        try:
            deadline = time.monotonic() + START_S
            while ask(port, "PING") != "+PONG":
                if srv.poll() is not None or time.monotonic() > deadline:
                    problems.append(f"the server did not answer PING within {START_S} s")
                    break
                time.sleep(0.05)
            if not problems:
                b = subprocess.run([bench, "-h", "127.0.0.1", "-p", str(port), "-n", "20000",
                                    "-c", "8", "-q", "-t", "set,get,incr,lpush,lpop"],
                                   capture_output=True, text=True, timeout=BENCH_S, env=env)
                out = b.stdout + b.stderr
                answered = [l.strip() for l in out.replace("\r", "\n").splitlines()
                            if "requests per second" in l]
                print("\n".join(answered) or out[-2000:])
                if b.returncode != 0 or len(answered) < 5:
                    problems.append(f"redis-benchmark: exit {b.returncode}, "
                                    f"{len(answered)} of 5 tests answered")
                if ask(port, "INCR lockgraph-check") is None:
                    problems.append("the server stopped answering after the benchmark")
                ask(port, "SHUTDOWN NOSAVE")
            try:
                srv.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                problems.append(f"the server hung: still running {STOP_S} s after SHUTDOWN")
        finally:
            if srv.poll() is None:
                os.killpg(srv.pid, signal.SIGKILL)
            srv_out = srv.communicate()[0]
        if srv.returncode not in (0, None) and not problems:
            problems.append(f"the server exited with status {srv.returncode}")
        reports = open(js).read().strip() if os.path.exists(js) else ""
        logtext = open(log).read() if os.path.exists(log) else ""
        if reports:
            problems.append("lockgraph reported: " + reports[:3000])
        if "lockgraph: checking pid" not in logtext:
            problems.append("lockgraph did not say it was checking the server")
    for p in problems:
        print("FAIL " + p)
    if problems:
        print("---- server output ----\n" + srv_out[-4000:])
        print("---- lockgraph log ----\n" + logtext[-4000:])
        return 1
    print("ok   redis-server under lockgraph answered redis-benchmark, reported nothing, "
          "and shut down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
