#!/usr/bin/env python3
"""Tests of where lockgraph's output goes and what happens when it cannot
get there: write failures said once on standard error, outputs that are
FIFOs (or a standard error nobody reads) never blocking the program, a file
size limit never killing it, the DOT picture written when lockgraph
ends the program itself, a closing line that counts every report,
suppressions files read whole and checked, SARIF shaped for code scanning,
C++ names demangled, full stacks for held locks (held_stacks=1), and
reports made before an exec counted by the new program.

Each check runs a probe program (tests/probes) with liblockgraph.so
preloaded. Every run has a timeout; a program that hangs is killed and the
check fails.

usage: test_outputs.py --lib liblockgraph.so --probes DIR --source DIR [--only NAME]
"""
import argparse
import fcntl
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

FAILURES = []


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)
        if detail:
            print("     " + detail.replace("\n", "\n     ")[-4000:])


class Run:
    def __init__(self, rc, out, err, seconds, timed_out):
        self.rc, self.out, self.err = rc, out, err
        self.seconds, self.timed_out = seconds, timed_out

    def __str__(self):
        return (f"exit status {self.rc}{' (killed: timed out)' if self.timed_out else ''}, "
                f"{self.seconds:.1f} s\n---- stderr ----\n{self.err}")


def start(a, program, options="", cwd=None, args=(), stdin=subprocess.DEVNULL, env=None,
          stderr=subprocess.PIPE, preexec_fn=None):
    env = dict(os.environ, LD_PRELOAD=a.lib, LOCKGRAPH_OPTIONS=options, **(env or {}))
    return subprocess.Popen([os.path.join(a.probes, program), *args], env=env, cwd=cwd,
                            stdin=stdin, stdout=subprocess.PIPE, stderr=stderr,
                            preexec_fn=preexec_fn, start_new_session=True)


def run(a, program, options="", timeout=30, cwd=None, args=(), proc=None, env=None):
    """Run a probe under lockgraph in its own process group (or wait for the
    one started); kill the group when it does not finish in time."""
    start_time = time.monotonic()
    p = proc or start(a, program, options, cwd, args, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    return Run(p.returncode, out.decode("utf-8", "replace"),
               (err or b"").decode("utf-8", "replace"), time.monotonic() - start_time,
               timed_out)


def drain(fd):
    """Whatever a non-blocking read end holds now (its writers may be gone)."""
    got = b""
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            got += chunk
    except BlockingIOError:
        pass
    return got


def warnings(r, needle):
    """lockgraph's warning lines on stderr that mention needle."""
    return [l for l in r.err.splitlines() if "lockgraph: warning" in l and needle in l]


OUTPUTS = ("log", "json", "sarif", "dot")


# ---- writes that fail ---------------------------------------------------------

def test_write_failures(a, tmp):
    for opt in OUTPUTS:
        r = run(a, "out_many_reports", opt + "=/dev/full")
        said = warnings(r, "'/dev/full'")
        check(r.rc == 66 and len(said) == 1 and "ENOSPC" in said[0] and opt in said[0],
              f"{opt}=/dev/full: the failure is said once on stderr, with the file and errno",
              str(r))
    r = run(a, "out_many_reports", "log=/dev/full")
    check(r.err.count("SUMMARY: lockgraph:") == 3,
          "log=/dev/full: the reports go to standard error instead of being lost", str(r))


def test_exit_keeps_unclosed_files(a, tmp):
    path = os.path.join(tmp, "unclosed.txt")
    r = run(a, "out_unclosed_file", args=(path,))
    text = read(path)
    check(r.rc == 66 and text == "line the program never flushed\n",
          "exit status 66 after a report: a file the program never closed still gets its "
          "buffered line", f"{r}\nfile: {text!r}")


def test_exit_runs_library_destructors(a, tmp):
    r = run(a, "inversion_in_library_constructor")
    check(r.rc == 66 and "ctor_threads_lib: destructor ran" in r.out,
          "exit status 66 after a report: the destructors of the program's own libraries "
          "still run", f"{r}\n---- stdout ----\n{r.out}")


def test_log_refused_to_a_child(a, tmp):
    """log= in a directory only root may enter; the program's child switches
    to nobody and execs: it cannot open the log, and goes on with its text on
    standard error (it was ended with status 2, and the program with it)."""
    if os.geteuid() != 0:
        print("skip log_refused_to_a_child: needs root to switch a child to nobody")
        return
    os.chmod(tmp, 0o700)
    log = os.path.join(tmp, "x.log")
    r = run(a, "out_droppriv_child", f"log={log}")
    check(r.rc == 0 and "helper exit status 0" in r.out and "cannot open log file" in r.err,
          "log= a file a privilege-dropping child may not open: the child runs, and says "
          "where its reports go", str(r))


def test_note_on_runtime_locks(a, tmp):
    r = run(a, "out_runtime_own_locks", "summary=1")
    note = [l for l in r.err.splitlines() if "this program runs libtbb.so" in l]
    check(r.rc == 0 and len(note) == 1 and "does not see" in note[0]
          and "0 reports; 1 lock, 3 threads checked" in r.err,
          "a program that runs a runtime with locks of its own: the closing line says that "
          "lockgraph does not see them", str(r))


def test_file_size_limit(a, tmp):
    """RLIMIT_FSIZE below what lockgraph writes: the write past it fails with
    EFBIG instead of raising SIGXFSZ, whose default action killed the
    program (exit by signal 25, the program's own output lost)."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))

    for where in ("stderr", "log"):
        path = os.path.join(tmp, where + ".txt")
        with open(path, "w") as err:
            opts = f"log={path}" if where == "log" else ""
            r = run(a, "out_many_reports", proc=start(
                a, "out_many_reports", opts, preexec_fn=limit,
                stderr=subprocess.DEVNULL if where == "log" else err))
        size = os.path.getsize(path)
        check(r.rc == 66 and size <= 2000,
              f"RLIMIT_FSIZE of 2000 bytes, reports to {where}: the program is not killed by "
              "SIGXFSZ (exit 66), and the file stops at the limit",
              f"{r}\n{where} file {size} bytes")


def test_stderr_pipe_nobody_reads(a, tmp):
    """Standard error is a pipe of one page that nobody reads while the
    program runs (a parent that drains it only at the end): lockgraph's
    writes to it wait output_timeout_ms, then its text is dropped. They
    waited for ever, and the program, which writes nothing there itself,
    hung."""
    rfd, wfd = os.pipe()
    fcntl.fcntl(wfd, 1031, 4096)  # F_SETPIPE_SZ: one page
    p = start(a, "out_many_reports", "output_timeout_ms=300", stderr=wfd)
    os.close(wfd)
    r = run(a, "out_many_reports", timeout=20, proc=p)
    os.set_blocking(rfd, False)
    got = drain(rfd)
    os.close(rfd)
    check(not r.timed_out and r.rc == 66 and 0 < len(got) <= 4096,
          "standard error a full pipe nobody reads: the program is not held up (its text to "
          "stderr is dropped after output_timeout_ms)", f"{r}\n{len(got)} bytes in the pipe")


def test_stderr_pipe_read_at_exit(a, tmp):
    """Standard error is a pipe of one page that its reader drains only once
    the program is done with its work (as a parent that reads at the end
    does). The text dropped while nobody read was never said to be lost, and
    the closing line, written while the pipe was still full, was dropped
    without a wait. At the end the reader gets one more output_timeout_ms:
    the note of what was dropped and the closing line get through."""
    rfd, wfd = os.pipe()
    fcntl.fcntl(wfd, 1031, 4096)  # F_SETPIPE_SZ: one page
    p = start(a, "out_many_reports", "output_timeout_ms=3000:summary=1", args=("say-done",),
              stderr=wfd)
    os.close(wfd)
    # The reports are made (and what did not fit dropped) once the program
    # says so; its exit comes right after. The pipe stays full a while
    # longer, then is read to its end.
    done = b""
    deadline = time.monotonic() + 20
    while not done.endswith(b"\n") and time.monotonic() < deadline:
        if select.select([p.stdout], [], [], 1)[0]:
            chunk = os.read(p.stdout.fileno(), 256)
            if not chunk:
                break
            done += chunk
    time.sleep(0.5)
    got = b""
    while time.monotonic() < deadline:
        if not select.select([rfd], [], [], 1)[0]:
            continue
        chunk = os.read(rfd, 1 << 16)
        if not chunk:
            break
        got += chunk
    os.close(rfd)
    r = run(a, "out_many_reports", timeout=20, proc=p)
    text = got.decode("utf-8", "replace")
    said = [l for l in text.splitlines() if l.startswith("==")]
    last = CLOSING.match(said[-1]) if said else None
    check(done == b"reported\n" and not r.timed_out and r.rc == 66
          and "bytes of its output to standard error were dropped" in text
          and last is not None and last.group(1) == "3",
          "standard error a full pipe read only after the program's work: what was dropped is "
          "said, and the closing line gets through", f"{r}\n---- the pipe ----\n{text}")


# ---- FIFOs --------------------------------------------------------------------

def test_fifo_without_reader(a, tmp):
    for opt in OUTPUTS:
        fifo = os.path.join(tmp, opt + ".fifo")
        os.mkfifo(fifo)
        r = run(a, "out_many_reports", f"{opt}={fifo}", timeout=20)
        said = warnings(r, fifo)
        check(not r.timed_out and r.rc == 66 and len(said) == 1 and "ENXIO" in said[0],
              f"{opt}= a FIFO without a reader: the program is not held up, and it is said once",
              str(r))


def test_fifo_reader_that_never_reads(a, tmp):
    """A reader that opened the FIFO and never reads: a pipe of one page
    fills with the first report; the write gives up after
    output_timeout_ms."""
    for opt in ("log", "json", "sarif"):
        fifo = os.path.join(tmp, opt + ".fifo")
        os.mkfifo(fifo)
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        fcntl.fcntl(rfd, 1031, 4096)  # F_SETPIPE_SZ: one page
        r = run(a, "out_many_reports", f"{opt}={fifo}:output_timeout_ms=300", timeout=20)
        os.close(rfd)
        said = warnings(r, fifo)
        check(not r.timed_out and r.rc == 66 and len(said) == 1 and "300 ms" in said[0],
              f"{opt}= a FIFO whose reader never reads: the write waits 300 ms, then the output "
              "is dropped (said once)", str(r))


def test_fifo_reader_that_leaves(a, tmp):
    """The reader closes the FIFO after lockgraph opened it: the write gets
    EPIPE, and the program must not die of SIGPIPE."""
    fifo = os.path.join(tmp, "log.fifo")
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    p = start(a, "out_wait_stdin", f"log={fifo}", stdin=subprocess.PIPE)
    deadline = time.monotonic() + 20
    opened = False
    while not opened and time.monotonic() < deadline and p.poll() is None:
        try:
            opened = any(os.path.realpath(os.path.join(f"/proc/{p.pid}/fd", fd)) == fifo
                         for fd in os.listdir(f"/proc/{p.pid}/fd"))
        except OSError:
            pass
        time.sleep(0.01)
    os.close(rfd)
    p.stdin.close()
    p.stdin = None
    r = run(a, "out_wait_stdin", proc=p, timeout=20)
    said = warnings(r, fifo)
    check(opened and r.rc == 66 and len(said) == 1 and "EPIPE" in said[0]
          and "SUMMARY: lockgraph" in r.err,
          "log= a FIFO whose reader left: EPIPE is said, the text goes to stderr, and the "
          "program is not killed by SIGPIPE", str(r))


def test_fifo_sarif_reader(a, tmp):
    """A reader of a SARIF FIFO gets one whole log at the end, not a log per
    report one after the other. (The read end is open before the program
    starts and big enough for everything, and is read once the program has
    ended: nothing here depends on timing.)"""
    fifo = os.path.join(tmp, "sarif.fifo")
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(rfd, 1031, 1 << 20)  # F_SETPIPE_SZ
    r = run(a, "out_many_reports", f"sarif={fifo}", timeout=20)
    got = drain(rfd)
    os.close(rfd)
    doc = None
    try:
        doc = json.loads(got)
    except ValueError:
        pass
    check(r.rc == 66 and doc is not None and len(doc["runs"][0]["results"]) == 3,
          "sarif= a FIFO with a reader: one valid SARIF log with every result",
          f"{r}\n---- read ----\n{got[:2000]}")


# ---- descriptors the program takes over ---------------------------------------

def test_fd_takeover(a, tmp):
    log, js = os.path.join(tmp, "r.log"), os.path.join(tmp, "r.json")
    r = run(a, "out_fd_takeover", f"log={log}:json={js}")
    text = read(log)
    check(r.rc == 66 and text.count("SUMMARY: lockgraph:") == 2 and len(json_lines(js)) == 2
          and len(warnings(r, "closed or reused")) == 2,
          "a program that closes fds >= 3 and opens its own file: reports stay in lockgraph's "
          "files (log and JSON reopened, said once each)", f"{r}\n---- log ----\n{text}")


def test_rotated_output(a, tmp):
    js, log = os.path.join(tmp, "r.json"), os.path.join(tmp, "r.log")
    for path, opt, count in ((js, "json", lambda p: len(json_lines(p))),
                             (log, "log", lambda p: read(p).count("SUMMARY: lockgraph:"))):
        r = run(a, "out_rotate", f"{opt}={path}", env={"OUT_ROTATE": path})
        check(r.rc == 66 and count(path + ".1") == 1 and count(path) == 1
              and len(warnings(r, "renamed or deleted")) == 1,
              f"{opt}= renamed away between reports (log rotation): the next report goes to "
              "a new file at the path (said once)", f"{r}\n---- {path} ----\n{read(path)}")


# ---- DOT when lockgraph ends the program --------------------------------------

def test_dot_when_lockgraph_stops_the_program(a, tmp):
    cases = [("self_deadlock_static", "", False), ("inversion_two_locks", "halt_on_error=1", True),
             ("deadlock_real", "", True), ("live_lost_wakeup_stall", "stall_ms=500", False),
             ("inversion_then_quick_exit", "", True)]
    for program, opts, red in cases:
        dot = os.path.join(tmp, program + ".dot")
        r = run(a, program, ":".join(o for o in (opts, "dot=" + dot) if o))
        text = read(dot)
        check(r.rc == 66 and text.startswith("digraph") and text.endswith("}\n")
              and (not red or "red" in text),
              "dot= is written when lockgraph stops the program ("
              + " ".join(x for x in (program, opts) if x) + ")",
              f"{r}\n---- dot ----\n{text}")



# ---- the closing line counts every report -----------------------------------

CLOSING = re.compile(r"^==\d+== lockgraph: (\d+) reports?; \d+ locks?, \d+ threads? checked")


def test_closing_line_counts_every_report(a, tmp):
    """summary=1's closing line is the last thing lockgraph says, and its
    count takes in every report: those after which lockgraph ends the
    program, and one still being written when the program exits."""
    cases = [("deadlock_real", "", 2), ("inversion_two_locks", "halt_on_error=1", 1),
             ("out_report_during_exit", "", 1), ("inversion_then_quick_exit", "", 1)]
    for program, opts, want in cases:
        r = run(a, program, ":".join(o for o in (opts, "summary=1") if o))
        said = [l for l in r.err.splitlines() if l.startswith("==") and l.strip("=0123456789 ")]
        last = CLOSING.match(said[-1]) if said else None
        reports = sum(1 for l in said if "SUMMARY: lockgraph:" in l)
        check(r.rc == 66 and reports == want and last is not None and int(last.group(1)) == want,
              f"{program}{' ' + opts if opts else ''}: the closing line comes last and counts "
              f"{want} report(s)", str(r))


def test_closing_line_after_stderr_closed(a, tmp):
    """A program that fcloses stderr (xz, sort), then has a report: the
    report and the closing line still reach the stderr it was started with."""
    r = run(a, "out_closes_stderr", "summary=1")
    said = [l for l in r.err.splitlines() if l.startswith("==")]
    last = CLOSING.match(said[-1]) if said else None
    check(r.rc == 66 and r.err.count("SUMMARY: lockgraph:") == 1 and last is not None
          and last.group(1) == "1",
          "a program that closed its stderr: the report and the closing line still get to it",
          str(r))


def test_exec_keeps_reports(a, tmp):
    """A program that reports an inversion, then execs (five ways): the new
    program's exit status, closing line and SARIF log still count the
    report made before. They said 0, "0 reports" and no result (execveat
    until it was interposed too)."""
    for how in ("execl", "execvp", "execve", "fexecve", "execveat"):
        sarif = os.path.join(tmp, how + ".sarif")
        r = run(a, "inversion_then_exec", f"summary=1:sarif={sarif}", args=(how,))
        said = [l for l in r.err.splitlines() if l.startswith("==")]
        last = CLOSING.match(said[-1]) if said else None
        try:
            doc = sarif_doc(sarif)
            results = doc["runs"][0]["results"]
            rules = [x.get("ruleId") for x in results]
            code = doc["runs"][0]["invocations"][0].get("exitCode")
        except (OSError, ValueError, KeyError, IndexError) as e:
            rules, code = [f"unreadable: {e}"], None
        check(r.rc == 66 and last is not None and last.group(1) == "1"
              and rules == ["lock-order-inversion"] and code == 66,
              f"a report before {how}(): the new program's exit status, closing line and "
              "SARIF log count it", f"{r}\nSARIF rules {rules}, exitCode {code}")


def test_stderr_left_to_a_daemon(a, tmp):
    """The copy of stderr is not held open in a fork child that detaches: the
    stderr pipe ends when the parent exits, with the daemon still running."""
    p = start(a, "out_closes_stderr", "summary=1", args=("daemon",))
    r = run(a, "out_closes_stderr", proc=p, timeout=20)
    pid = int(r.out.strip()) if r.out.strip().isdigit() else 0
    alive = False
    if pid:
        try:
            os.kill(pid, 0)
            alive = True
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    check(not r.timed_out and r.rc == 0 and alive,
          "a fork child that detaches (setsid, fd 0-2 on /dev/null): lockgraph's copy of stderr "
          "does not keep the parent's stderr pipe open", f"{r}\nchild {pid} alive={alive}")


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def json_lines(path):
    return [json.loads(l) for l in read(path).splitlines() if l.strip()]


# ---- suppressions -----------------------------------------------------------

def test_suppressions(a, tmp):
    supp = os.path.join(tmp, "typo.supp")
    with open(supp, "w") as f:
        f.write("# a typo in the kind\nlock-order-inverson:inversion_two_locks.c\n")
    r = run(a, "inversion_two_locks", "suppressions=" + supp)
    check(r.rc == 2 and "typo.supp:2" in r.err and "'lock-order-inverson'" in r.err
          and "lock-order-inversion" in r.err.replace("'lock-order-inverson'", "")
          and "stall" in r.err,
          "suppressions: a misspelled kind is an error naming it, its line and the known kinds",
          str(r))

    # A valid suppression after 64 KiB of comments still applies.
    big = os.path.join(tmp, "big.supp")
    with open(big, "w") as f:
        while f.tell() < 70000:
            f.write("# " + "x" * 76 + "\n")
        f.write("lock-order-inversion:inversion_two_locks.c\n")
    r = run(a, "inversion_two_locks", "suppressions=" + big)
    check(r.rc == 0 and "lock-order-inversion" not in r.err,
          "suppressions: a file over 64 KiB is read whole (its last line applies)", str(r))

    # A line that crosses the 64 KiB mark is one line, not two.
    cross = os.path.join(tmp, "cross.supp")
    line = "lock-order-inversion:inversion_two_locks.c\n"
    with open(cross, "w") as f:
        f.write("#" * (65536 - 10 - 1) + "\n")
        f.write(line)
    r = run(a, "inversion_two_locks", "suppressions=" + cross)
    check(r.rc == 0 and "cross.supp" not in r.err,
          "suppressions: a line across the 64 KiB mark is read as it is", str(r))


# ---- SARIF for code scanning -------------------------------------------------

def sarif_doc(path):
    try:
        return json.loads(read(path))
    except ValueError:
        return {}


def test_sarif_for_code_scanning(a, tmp):
    src = os.path.realpath(a.source)
    sarif = os.path.join(tmp, "r.sarif")
    r = run(a, "inversion_two_locks", "sarif=" + sarif, cwd=src)
    doc = sarif_doc(sarif)
    run0 = (doc.get("runs") or [{}])[0]
    inv = (run0.get("invocations") or [{}])[0]
    loc = {}
    if run0.get("results"):
        loc = run0["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    check(r.rc == 66 and loc.get("uri") == "tests/probes/inversion_two_locks.c"
          and loc.get("uriBaseId") == "%SRCROOT%"
          and run0.get("originalUriBaseIds", {}).get("%SRCROOT%", {}).get("uri")
          == "file://" + src + "/",
          "SARIF: a source under the current directory is relative to %SRCROOT%, which is given",
          f"{r}\n---- sarif ----\n{read(sarif)[:3000]}")
    check(inv.get("exitCode") == 66 and inv.get("executionSuccessful") is True
          and "inversion_two_locks" in inv.get("commandLine", ""),
          "SARIF: the invocation has the exit code (66) and executionSuccessful", str(inv))

    r = run(a, "inversion_two_locks", f"sarif={sarif}:sarif_root=tests", cwd=src)
    doc = sarif_doc(sarif)
    uri = ""
    if doc.get("runs") and doc["runs"][0].get("results"):
        uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
            "artifactLocation"]["uri"]
    check(uri == "probes/inversion_two_locks.c"
          and doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
          == "file://" + src + "/tests/",
          "SARIF: sarif_root= (relative to the current directory) sets %SRCROOT%", read(sarif)[:3000])

    r = run(a, "inversion_two_locks", "sarif=" + sarif, cwd=tmp)
    doc = sarif_doc(sarif)
    loc = {}
    if doc.get("runs") and doc["runs"][0].get("results"):
        loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    check(loc.get("uri") == "file://" + os.path.join(src, "tests/probes/inversion_two_locks.c")
          and "uriBaseId" not in loc,
          "SARIF: run from elsewhere, a source outside the root is an absolute file:// URI",
          str(loc))

    for program, opts, args, status in (("clean_gate_lock", "", (), 0),
                                        ("inversion_two_locks", "exitcode=0", (), 0),
                                        ("self_deadlock_static", "", (), 66),
                                        ("inversion_then_quick_exit", "", ("3",), 66),
                                        ("inversion_then_quick_exit", "exitcode=0", ("3",), 3)):
        r = run(a, program, ":".join(o for o in (opts, "sarif=" + sarif) if o), args=args)
        doc = sarif_doc(sarif)
        inv = ((doc.get("runs") or [{}])[0].get("invocations") or [{}])[0]
        check(r.rc == status and inv.get("exitCode") == status
              and inv.get("executionSuccessful") is True and inv.get("endTimeUtc"),
              f"SARIF: {program} {' '.join(x for x in (opts,) + args if x)}: the invocation's exitCode is the process's status "
              f"({status})", f"{r}\n{inv}")


# ---- C++ names ------------------------------------------------------------------

def test_cxx_names(a, tmp):
    js, sarif = os.path.join(tmp, "r.json"), os.path.join(tmp, "r.sarif")
    r = run(a, "out_cxx_names", f"json={js}:sarif={sarif}")
    method = "kitchen::Shelf<int>::move_to(kitchen::Shelf<int>&)"
    check(r.rc == 66 and method in r.err and "L1 kitchen::pantry_lock (mutex)" in r.err
          and "_ZN" not in r.err,
          "C++: the text report names kitchen::Shelf<int>::move_to(...) and "
          "kitchen::pantry_lock, nothing mangled", str(r))
    recs = json_lines(js)
    funcs = {f.get("function") for rec in recs for row in rec.get("rows", [])
             for k in ("held_at", "wanted_at") for f in (row.get(k) or [])}
    names = {l.get("name") for rec in recs for l in rec.get("locks", [])}
    check(method in funcs and "kitchen::pantry_lock" in names
          and not any(n and n.startswith("_Z") for n in funcs | names),
          "C++: JSON frames and lock names are demangled", f"{funcs} {names}")
    text = read(sarif)
    check(json.dumps(method) in text and "_ZN" not in text,
          "C++: SARIF logical locations are demangled", text[:2000])


# ---- full stacks for held locks ---------------------------------------------

def held_at_functions(path):
    return [[f.get("function") for f in (row.get("held_at") or [])]
            for rec in json_lines(path) for row in rec.get("rows", [])]


def test_held_stacks(a, tmp):
    cases = [("out_held_stacks", "", ["open_till"], True,
              "held_stacks=0 (default): a held lock's stack is its call site alone"),
             ("out_held_stacks", "held_stacks=1", ["open_till", "serve", "cashier"], False,
              "held_stacks=1: the abandoned lock's whole acquiring stack"),
             ("self_deadlock_static", "held_stacks=1", ["add_potato", "main"], False,
              "held_stacks=1: a self-deadlock shows where the held lock was first taken, "
              "in full")]
    for i, (program, opts, want, exact, what) in enumerate(cases):
        js = os.path.join(tmp, f"r{i}.json")
        r = run(a, program, ":".join(o for o in (opts, "json=" + js) if o))
        got = held_at_functions(js)
        ok = len(got) == 1 and (got[0] == want if exact else got[0][:len(want)] == want)
        check(r.rc == 66 and ok, what, f"{got}\n{r}")


def test_fork_child_outlives_parent(a, tmp):
    sarif, dot, js = (os.path.join(tmp, n) for n in ("r.sarif", "g.dot", "r.json"))
    r = run(a, "out_fork_outlives", f"sarif={sarif}:dot={dot}:json={js}")
    doc = sarif_doc(sarif)
    run0 = (doc.get("runs") or [{}])[0]
    inv = (run0.get("invocations") or [{}])[0]
    kinds = [rec["kind"] for rec in json_lines(js)]
    text = read(dot)
    check(r.rc == 66 and len(run0.get("results", [])) == 1 and inv.get("exitCode") == 66
          and kinds == ["lock-order-inversion"] * 2 and text.count("->") == 2,
          "a fork child that outlives its parent: SARIF and DOT are the parent's, the JSON has "
          "both processes' reports",
          f"{r}\nresults={len(run0.get('results', []))} {inv}\njson={kinds}\n{text}")


TESTS = {
    "suppressions": test_suppressions,
    "write_failures": test_write_failures,
    "exit_keeps_unclosed_files": test_exit_keeps_unclosed_files,
    "exit_runs_library_destructors": test_exit_runs_library_destructors,
    "log_refused_to_a_child": test_log_refused_to_a_child,
    "note_on_runtime_locks": test_note_on_runtime_locks,
    "file_size_limit": test_file_size_limit,
    "stderr_pipe_nobody_reads": test_stderr_pipe_nobody_reads,
    "stderr_pipe_read_at_exit": test_stderr_pipe_read_at_exit,
    "fifo_without_reader": test_fifo_without_reader,
    "fifo_reader_that_never_reads": test_fifo_reader_that_never_reads,
    "fifo_reader_that_leaves": test_fifo_reader_that_leaves,
    "fifo_sarif_reader": test_fifo_sarif_reader,
    "fd_takeover": test_fd_takeover,
    "rotated_output": test_rotated_output,
    "dot_when_lockgraph_stops_the_program": test_dot_when_lockgraph_stops_the_program,
    "closing_line_counts_every_report": test_closing_line_counts_every_report,
    "closing_line_after_stderr_closed": test_closing_line_after_stderr_closed,
    "stderr_left_to_a_daemon": test_stderr_left_to_a_daemon,
    "sarif_for_code_scanning": test_sarif_for_code_scanning,
    "cxx_names": test_cxx_names,
    "held_stacks": test_held_stacks,
    "fork_child_outlives_parent": test_fork_child_outlives_parent,
    "exec_keeps_reports": test_exec_keeps_reports,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True)
    ap.add_argument("--probes", required=True, help="the directory of built probes")
    ap.add_argument("--source", required=True, help="the source tree the probes were built from")
    ap.add_argument("--only", action="append", help="run only these tests")
    a = ap.parse_args()
    a.lib, a.probes = os.path.abspath(a.lib), os.path.abspath(a.probes)
    for name, fn in TESTS.items():
        if a.only and name not in a.only:
            continue
        with tempfile.TemporaryDirectory(prefix="lockgraph-outputs-") as tmp:
            fn(a, tmp)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed")
        return 1
    print("all output checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
