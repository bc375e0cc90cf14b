"""A stopped run stops Terraform gracefully: SIGINT/SIGTERM go on to the terraform children,
and the run waits for them, so no state lock is left behind.

Why: GitHub cancels a job by signalling the step's process — SIGINT, then SIGTERM about 7.5 s
later, then SIGKILL — not its children. Python's default SIGTERM ends the runner at once and
leaves terraform running unsupervised until the job is killed under it (the S3 lock object and
the DynamoDB lock item stay); ``subprocess.run`` even SIGKILLs its child on Ctrl-C. So:

* every non-interactive terraform runs in a process group of its own (a terminal's Ctrl-C must
  not reach it besides the forwarded one: a **second** interrupt makes Terraform exit at once,
  "data loss may have occurred");
* the first SIGINT or SIGTERM the runner receives is passed on to each running terraform as one
  SIGINT — Terraform's graceful stop: it finishes or cancels the calls in flight, writes the
  state and releases the lock — and raises ``KeyboardInterrupt`` in the runner, which stops
  starting stacks and waits for the running ones (hrsaas/runner/graph.py);
* later signals never interrupt a terraform twice, and no new terraform starts once the run
  is stopping.

Interactive applies (the confirmation prompt) keep the terminal's process group: Ctrl-C
reaches them directly.
"""

from __future__ import annotations

import signal
import subprocess
import threading

_lock = threading.Lock()
_children: dict[int, subprocess.Popen] = {}  # pid → running terraform
_interrupted: set[int] = set()  # pids that already got their one SIGINT
_stopping = threading.Event()


class Stopping(RuntimeError):
    """The run is stopping: a new terraform was not started."""


def stopping() -> bool:
    return _stopping.is_set()


def start(cmd: list[str], **kwargs) -> subprocess.Popen:
    """Popen ``cmd`` in its own process group and track it (until ``finished``)."""
    with _lock:
        if _stopping.is_set():
            raise Stopping(f"not starting `{' '.join(cmd[:3])} …`: the run was interrupted")
        proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
        _children[proc.pid] = proc
    return proc


def finished(proc: subprocess.Popen) -> None:
    with _lock:
        _children.pop(proc.pid, None)
        _interrupted.discard(proc.pid)


def interrupt_children() -> list[int]:
    """One SIGINT to each running terraform that has not had one; returns their pids."""
    sent = []
    with _lock:
        _stopping.set()
        for pid, proc in _children.items():
            if pid in _interrupted or proc.poll() is not None:
                continue
            try:
                proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                continue
            _interrupted.add(pid)
            sent.append(pid)
    return sent


def communicate(proc: subprocess.Popen, timeout: float | None) -> str:
    """``proc``'s output. Interrupted (``KeyboardInterrupt`` in this thread): forward the
    interrupt and wait for terraform to finish its graceful stop, then re-raise. Timed out:
    kill it (as ``subprocess.run`` does) and re-raise."""
    try:
        out, _ = proc.communicate(timeout=timeout)
        return out or ""
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    except KeyboardInterrupt:
        interrupt_children()
        while True:
            try:
                proc.communicate()
                break
            except KeyboardInterrupt:  # later signals: keep waiting, never signal twice
                continue
        raise
    finally:
        finished(proc)


def _handler(signum: int, frame: object) -> None:
    first = not _stopping.is_set()
    interrupt_children()
    if first:
        raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def install() -> None:
    """Handle SIGINT and SIGTERM in this (the main) thread as described above."""
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def reset() -> None:
    """Forget a previous interruption (a test, or a long-lived process running again)."""
    with _lock:
        _stopping.clear()
        _interrupted.clear()
