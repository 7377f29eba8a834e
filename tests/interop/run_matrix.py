#!/usr/bin/python3
"""Runs interop test cases between one server and one client program.

    run_matrix.py --server 'CMD ARGS' --client 'CMD ARGS {port}' [--cases all]

Both templates are split like a shell would (no shell runs them) and may use
the placeholders {host}, {port} (in the server's: 0) and {case}.

The server must print `LISTENING <port>` on stdout once it serves.  Then the
client runs all the cases in one process: `--test_case=<case>,<case>,...` is
appended, and the client must run them in that order, printing `PASS <case>`
or `FAIL <case>: <why>` for each, and exit 0 exactly when all passed.  Each
case is bounded by --case-timeout (counted from the previous verdict): a
client that hangs or dies is killed, the case it was running fails, and a new
client process runs the rest.  With --one-process-per-case (or a client
template that uses {case}) every case gets its own client process.

Cases a pairing cannot run -- the compression cases need features not every
implementation's API has -- are skipped with the reason printed (`SKIP
<case>: <why>`; see interop_cases.plan).  The implementations come from the
programs' names (interop_* is cgrpc, grpcio_* grpcio, grpcjs_* grpc-js) or
from --client-impl and --server-impl; an unknown one skips nothing.  Finally
the server gets SIGTERM and must exit with status 0 within --stop-timeout
(so a crash, a hang at shutdown, or a leak reported by valgrind
--error-exitcode fails the run).  Exit status: 0 if all of that held (skips
included), 1 if not, 2 on bad usage.

Standard library only: the driver needs no grpcio.
"""

import argparse
import os
import selectors
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import interop_cases  # noqa: E402

# How much of a peer's stderr a failure shows: its first and last lines
# (valgrind's first error is usually the one that matters).
HEAD_LINES = 25
TAIL_LINES = 15


def log(line):
    print(line, flush=True)


def tail(text, prefix="  | "):
    lines = text.rstrip("\n").splitlines()
    if len(lines) > HEAD_LINES + TAIL_LINES:
        lines = (lines[:HEAD_LINES]
                 + ["... (%d lines)" % (len(lines) - HEAD_LINES - TAIL_LINES)]
                 + lines[-TAIL_LINES:])
    return "\n".join(prefix + line for line in lines)


def expand(template, **values):
    args = shlex.split(template)
    out = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace("{%s}" % key, str(value))
        out.append(arg)
    return out


def program_label(argv):
    """The program's name in a command line, past interpreters and wrappers."""
    wrappers = ("env", "sh", "bash", "valgrind", "libtool", "timeout", "exec", "node", "nodejs")
    for arg in argv:
        base = os.path.basename(arg)
        if arg.startswith("-") or "=" in arg or base in wrappers or base.startswith("python"):
            continue
        return base
    return os.path.basename(argv[0]) if argv else "?"


# Test programs by name prefix, and the implementation they run on.
IMPLEMENTATIONS = (("interop_", "cgrpc"), ("grpcio_", "grpcio"), ("grpcjs_", "grpcjs"))


def implementation(label):
    """The implementation of a test program (by program_label), or None."""
    for prefix, impl in IMPLEMENTATIONS:
        if label.startswith(prefix):
            return impl
    return None


def kill_group(proc):
    """SIGKILL a process started with start_new_session, and its children."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def describe_exit(status):
    if status is None:
        return "still running"
    if status < 0:
        try:
            return "killed by %s" % signal.Signals(-status).name
        except ValueError:
            return "killed by signal %d" % -status
    return "exit status %d" % status


class Server:
    """The server process: started, awaited until it listens, stopped."""

    def __init__(self, argv):
        self.argv = argv
        self.stderr = tempfile.TemporaryFile(mode="w+", prefix="interop-server-")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr, start_new_session=True)
        self.extra_stdout = []
        self.port = None

    def wait_listening(self, timeout):
        """Returns the port, or raises RuntimeError."""
        deadline = time.monotonic() + timeout
        buf = b""
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("no LISTENING line within %.0f s" % timeout)
                if not sel.select(left):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    self.proc.wait(timeout=5)
                    raise RuntimeError("server ended before listening (%s)"
                                       % describe_exit(self.proc.returncode))
                buf += chunk
        finally:
            sel.close()
        first, _, rest = buf.partition(b"\n")
        words = first.decode("utf-8", "replace").split()
        if len(words) != 2 or words[0] != "LISTENING" or not words[1].isdigit():
            raise RuntimeError("first line is %r, want 'LISTENING <port>'" % first)
        self.port = int(words[1])
        if rest:
            self.extra_stdout.append(rest.decode("utf-8", "replace"))
        threading.Thread(target=self._drain, daemon=True).start()
        return self.port

    def _drain(self):
        for chunk in iter(lambda: os.read(self.proc.stdout.fileno(), 4096), b""):
            self.extra_stdout.append(chunk.decode("utf-8", "replace"))

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout):
        """SIGTERM, then wait.  Returns the exit status (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(self.proc)
                return None
        # Children it may have left behind (it should have none) go too.
        kill_group(self.proc)
        return self.proc.returncode

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read()


class ClientRun:
    """One client process running a list of cases; reports verdicts as they come."""

    def __init__(self, argv):
        self.stderr = tempfile.TemporaryFile(mode="w+", prefix="interop-client-")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr, start_new_session=True)
        self.buf = b""
        self.eof = False
        self.stray = []  # stdout lines that are no verdicts

    def next_verdict(self, cases, timeout):
        """Waits up to timeout seconds for the next PASS/FAIL line about one of
        cases.  Returns (case, why or None), or None at end of output or on
        timeout (then self.eof tells which)."""
        deadline = time.monotonic() + timeout
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            while True:
                while b"\n" in self.buf:
                    raw, _, self.buf = self.buf.partition(b"\n")
                    verdict = parse_verdict(raw.decode("utf-8", "replace"), cases)
                    if verdict is not None:
                        return verdict
                    self.stray.append(raw.decode("utf-8", "replace"))
                if self.eof:
                    if self.buf:
                        raw, self.buf = self.buf, b""
                        verdict = parse_verdict(raw.decode("utf-8", "replace"), cases)
                        if verdict is not None:
                            return verdict
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if not sel.select(left):
                    continue
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if chunk:
                    self.buf += chunk
                else:
                    self.eof = True
        finally:
            sel.close()

    def finish(self, timeout):
        """Waits for the exit (killing it after timeout).  Returns the exit status or None."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(self.proc)
            return None
        kill_group(self.proc)  # anything it left behind
        return self.proc.returncode

    def kill(self):
        kill_group(self.proc)

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read()


def parse_verdict(line, cases):
    """(case, None) for `PASS <case>`, (case, why) for `FAIL <case>: <why>`,
    None for any other line."""
    words = line.rstrip("\r").split(" ", 1)
    if len(words) != 2 or words[0] not in ("PASS", "FAIL"):
        return None
    if words[0] == "PASS":
        return (words[1], None) if words[1] in cases else None
    name, _, why = words[1].partition(":")
    if name not in cases:
        return None
    return name, why.strip() or "client said FAIL"


def run_batch(client, batch, server, name, args, passed, failed, notes):
    """Collects the verdicts of one client process on the cases of batch,
    appending to passed and failed (notes: what the client cannot check, by
    case, added to its verdict).  Returns the cases left for another process
    (those after a case on which the client hung or died)."""
    pending = list(batch)
    batch_failed = False
    try:
        while pending:
            t0 = time.monotonic()
            verdict = client.next_verdict(pending, args.case_timeout)
            took = time.monotonic() - t0
            ended = verdict is None
            if ended:
                # It hung, or ended, on the first case without a verdict.
                if client.eof:
                    why = ("client ended without a verdict (%s)"
                           % describe_exit(client.finish(args.stop_timeout)))
                else:
                    client.kill()
                    why = "client timed out after %.0f s (killed)" % args.case_timeout
                verdict = (pending[0], why)
            case, why = verdict
            pending.remove(case)
            note = "; " + notes[case] if notes.get(case) else ""
            if why is None:
                passed.append(case)
                log("PASS %s (%.2f s%s)" % (case, took, note))
            else:
                failed.append(case)
                batch_failed = True
                log("FAIL %s: %s (%.2f s%s)" % (case, why, took, note))
            if not server.alive():
                failed.append("server")
                log("FAIL %s: server died during %s (%s)"
                    % (name, case, describe_exit(server.proc.returncode)))
                return []
            if ended:
                return pending
        # Every case has its verdict: the exit status must agree.
        status = client.finish(args.stop_timeout)
        if status is None:
            failed.append("client")
            batch_failed = True
            log("FAIL %s: client did not exit within %.0f s of its last verdict (killed)"
                % (name, args.stop_timeout))
        elif (status == 0) == batch_failed:
            failed.append("client")
            batch_failed = True
            log("FAIL %s: client ended with %s after %s" % (
                name, describe_exit(status),
                "a failure" if any(c in failed for c in batch) else "passing every case"))
        return []
    finally:
        client.kill()
        if batch_failed:
            err = client.stderr_text()
            if err.strip():
                log("  client stderr:\n" + tail(err))
            if client.stray:
                log("  client stdout (not verdicts):\n" + tail("\n".join(client.stray)))


def _terminated(signum, frame):
    # Unwind (stopping the peers in the finally clauses) instead of dying at
    # once: they run in sessions of their own, out of reach of a killpg.
    log("run_matrix: stopped by %s" % signal.Signals(signum).name)
    raise SystemExit(128 + signum)


def main():
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _terminated)
    parser = argparse.ArgumentParser(
        description="Run interop cases between a server and a client.",
        epilog="Templates may use {host}, {port} and {case}.")
    parser.add_argument("--server", required=True, help="server command template")
    parser.add_argument("--client", required=True, help="client command template")
    parser.add_argument("--cases", default="all",
                        help="comma-separated cases or groups (%s); default all"
                        % ", ".join(sorted(interop_cases.GROUPS)))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ready-timeout", type=float, default=15.0,
                        help="seconds for the server to print LISTENING")
    parser.add_argument("--case-timeout", type=float, default=15.0,
                        help="seconds for one case (from the previous verdict)")
    parser.add_argument("--one-process-per-case", action="store_true",
                        help="start a client process for every case")
    parser.add_argument("--stop-timeout", type=float, default=10.0,
                        help="seconds for the server to exit after SIGTERM")
    parser.add_argument("--name", default=None, help="label for the log")
    impls = sorted(set(impl for _, impl in IMPLEMENTATIONS))
    parser.add_argument("--client-impl", choices=impls + ["other"], default=None,
                        help="the client's implementation (default: from its name)")
    parser.add_argument("--server-impl", choices=impls + ["other"], default=None,
                        help="the server's implementation (default: from its name)")
    args = parser.parse_args()
    try:
        cases = interop_cases.expand(c.strip() for c in args.cases.split(",") if c.strip())
    except ValueError as e:
        parser.error(str(e))
    if "{port}" not in args.client:
        parser.error("the client template needs {port}")

    server_argv = expand(args.server, host=args.host, port=0)
    client_label = program_label(shlex.split(args.client))
    server_label = program_label(server_argv)
    name = args.name or "%s vs %s" % (client_label, server_label)
    started = time.monotonic()

    # What this pairing cannot run, or checks only in part.
    client_impl = args.client_impl or implementation(client_label)
    server_impl = args.server_impl or implementation(server_label)
    skipped = []
    notes = {}
    for case in cases:
        skip, notes[case] = interop_cases.plan(case, client_impl, server_impl)
        if skip is not None:
            skipped.append(case)
            log("SKIP %s: %s" % (case, skip))
    cases = [case for case in cases if case not in skipped]

    failed = []
    passed = []
    try:
        server = Server(server_argv)
    except OSError as e:
        log("FAIL %s: cannot start server %s: %s" % (name, server_argv[0], e))
        return 1
    try:
        try:
            port = server.wait_listening(args.ready_timeout)
        except RuntimeError as e:
            log("FAIL %s: server: %s" % (name, e))
            if server.stderr_text().strip():
                log("  server stderr:\n" + tail(server.stderr_text()))
            return 1
        log("%s: server listening on %s:%d" % (name, args.host, port))

        per_case = args.one_process_per_case or "{case}" in args.client
        remaining = list(cases)
        while remaining and "server" not in failed:
            batch = remaining[:1] if per_case else remaining
            argv = expand(args.client, host=args.host, port=port, case=batch[0])
            if "{case}" not in args.client:
                argv.append("--test_case=%s" % ",".join(batch))
            remaining = remaining[len(batch):]
            try:
                client = ClientRun(argv)
            except OSError as e:
                for case in batch:
                    failed.append(case)
                    log("FAIL %s: cannot start client %s: %s" % (case, argv[0], e))
                continue
            remaining = (run_batch(client, batch, server, name, args, passed, failed, notes)
                         + remaining)
    finally:
        server_status = server.stop(args.stop_timeout)
        stop_status = describe_exit(server_status) if server_status is not None else (
            "did not exit within %.0f s of SIGTERM (killed)" % args.stop_timeout)

    if server_status != 0 and "server" not in failed:
        failed.append("server")
        log("FAIL %s: server %s" % (name, stop_status))
    if failed:
        server_err = server.stderr_text()
        if server_err.strip():
            log("  server stderr:\n" + tail(server_err))
        extra = "".join(server.extra_stdout)
        if extra.strip():
            log("  server stdout after LISTENING:\n" + tail(extra))
    n_failed = len([c for c in failed if c not in ("server", "client")])
    not_run = len(cases) - len(passed) - n_failed
    log("%s: %d passed, %d failed%s%s, server %s (%.1f s)"
        % (name, len(passed), n_failed, ", %d not run" % not_run if not_run else "",
           ", %d skipped" % len(skipped) if skipped else "", stop_status,
           time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
