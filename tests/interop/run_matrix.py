#!/usr/bin/python3
"""Runs interop test cases between one server and one client program.

    run_matrix.py --server 'CMD ARGS' --client 'CMD ARGS {port}' [--cases all]

Both templates are split like a shell would (no shell runs them) and may use
the placeholders {host}, {port} (in the server's: 0) and {case}; when the
client's template has no {case}, `--test_case=<case>` is appended.

The server must print `LISTENING <port>` on stdout once it serves.  Then the
client runs once per case, each run bounded by --case-timeout, and must print
`PASS <case>` and exit 0.  Finally the server gets SIGTERM and must exit with
status 0 within --stop-timeout (so a crash, a hang at shutdown, or a leak
reported by valgrind --error-exitcode fails the run).  Exit status: 0 if all
of that held, 1 if not, 2 on bad usage.

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

TAIL_LINES = 15


def log(line):
    print(line, flush=True)


def tail(text, n=TAIL_LINES, prefix="  | "):
    lines = text.rstrip("\n").splitlines()
    if not lines:
        return ""
    skipped = len(lines) - n
    out = lines[-n:]
    if skipped > 0:
        out.insert(0, "... (%d lines before)" % skipped)
    return "\n".join(prefix + line for line in out)


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
    wrappers = ("env", "sh", "bash", "valgrind", "libtool", "timeout", "exec")
    for arg in argv:
        base = os.path.basename(arg)
        if arg.startswith("-") or "=" in arg or base in wrappers or base.startswith("python"):
            continue
        return base
    return os.path.basename(argv[0]) if argv else "?"


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


def run_client(argv, timeout):
    """Returns (exit status or None on timeout, stdout, stderr)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            universal_newlines=True, errors="replace")
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    except subprocess.TimeoutExpired:
        kill_group(proc)
        out, err = proc.communicate()
        return None, out, err
    except BaseException:
        kill_group(proc)
        raise


def case_verdict(case, status, out, timeout):
    """Returns None if the case passed, else why it failed."""
    lines = out.splitlines()
    if status is None:
        return "client timed out after %.0f s" % timeout
    fail = [line for line in lines if line.startswith("FAIL %s" % case)]
    if fail:
        return fail[0][len("FAIL %s" % case):].lstrip(": ") or "client said FAIL"
    if ("PASS %s" % case) not in lines:
        return "client printed no PASS line (%s)" % describe_exit(status)
    if status != 0:
        return "client said PASS but ended with %s" % describe_exit(status)
    return None


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
                        help="seconds for one client run")
    parser.add_argument("--stop-timeout", type=float, default=10.0,
                        help="seconds for the server to exit after SIGTERM")
    parser.add_argument("--name", default=None, help="label for the log")
    args = parser.parse_args()
    try:
        cases = interop_cases.expand(c.strip() for c in args.cases.split(",") if c.strip())
    except ValueError as e:
        parser.error(str(e))
    if "{port}" not in args.client:
        parser.error("the client template needs {port}")

    server_argv = expand(args.server, host=args.host, port=0)
    name = args.name or "%s vs %s" % (program_label(shlex.split(args.client)),
                                      program_label(server_argv))
    started = time.monotonic()
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

        for case in cases:
            argv = expand(args.client, host=args.host, port=port, case=case)
            if "{case}" not in args.client:
                argv.append("--test_case=%s" % case)
            t0 = time.monotonic()
            try:
                status, out, err = run_client(argv, args.case_timeout)
                why = case_verdict(case, status, out, args.case_timeout)
            except OSError as e:
                out, err, why = "", "", "cannot start client %s: %s" % (argv[0], e)
            took = time.monotonic() - t0
            if why is None:
                passed.append(case)
                log("PASS %s (%.2f s)" % (case, took))
            else:
                failed.append(case)
                log("FAIL %s: %s (%.2f s)" % (case, why, took))
                if err.strip():
                    log("  client stderr:\n" + tail(err))
            if not server.alive():
                failed.append("server")
                log("FAIL %s: server died during %s (%s)"
                    % (name, case, describe_exit(server.proc.returncode)))
                break
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
    n_failed = len([c for c in failed if c != "server"])
    not_run = len(cases) - len(passed) - n_failed
    log("%s: %d passed, %d failed%s, server %s (%.1f s)"
        % (name, len(passed), n_failed, ", %d not run" % not_run if not_run else "",
           stop_status, time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
