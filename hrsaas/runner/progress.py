"""What a run prints while it goes: one line per stack when it starts and when it ends, each
prefixed with the stack's name, so parallel stacks stay readable in a CI log::

    [local-security] deploying
    [local-security] applied in 14.2s (9 added)
    [local-network] deploying
    [local-messaging] deploying
    [local-messaging] FAILED after 3.1s: Error: invalid queue name: …
    [local-compute] skipped: local-messaging failed

On a terminal a status line under them is redrawn every second (which stacks are running, for
how long, how many are done) with plain ANSI escapes; anywhere else (CI logs, pipes) only the
lines. ``quiet`` prints nothing (the tests' runners).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from .graph import FAILED, Event, duration

CLEAR_LINE = "\r\x1b[2K"


def is_live(stream: TextIO) -> bool:
    """A terminal that understands ANSI escapes (not a pipe, not ``TERM=dumb``)."""
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except (AttributeError, ValueError):
        return False


class Reporter:
    def __init__(self, verb: str, total: int, *, stream: TextIO | None = None,
                 quiet: bool = False, live: bool | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.verb, self.total, self.quiet, self.clock = verb, total, quiet, clock
        self.stream = stream if stream is not None else sys.stdout
        self.live = (not quiet) and (is_live(self.stream) if live is None else live)
        self.running: dict[str, float] = {}  # stack → when it started
        self.done = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._status_shown = False

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> Reporter:
        if self.live:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(2)
        with self._lock:
            self._clear_status()
            self._flush()

    # -- lines --------------------------------------------------------------------------------
    def say(self, text: str, stack: str | None = None) -> None:
        """One line (``[stack] text`` when a stack is named); thread-safe."""
        if self.quiet:
            return
        line = f"[{stack}] {text}" if stack else text
        with self._lock:
            self._clear_status()
            self.stream.write(line + "\n")
            self._draw_status()
            self._flush()

    def event(self, event: Event) -> None:
        """A scheduler event (hrsaas/runner/graph.py) as its line."""
        result = event.result
        if event.kind == "start":
            self.running[event.stack] = self.clock()
            self.say(self.verb, event.stack)
            return
        self.running.pop(event.stack, None)
        self.done += 1
        if result is None:
            return
        if event.kind == "end" and result.status == FAILED:
            self.say(f"FAILED after {duration(result.seconds)}: {result.detail}", event.stack)
        elif event.kind == "end":
            self.say(f"{result.status} in {duration(result.seconds)}"
                     + (f" ({result.detail})" if result.detail else ""), event.stack)
        else:  # skip / not attempted
            self.say(f"{result.status}: {result.detail}" if result.detail else result.status,
                     event.stack)

    # -- the live status line -----------------------------------------------------------------
    def status(self) -> str:
        now = self.clock()
        running = ", ".join(f"{stack} {duration(now - began)}"
                            for stack, began in list(self.running.items()))
        return (f"  {self.done}/{self.total} done"
                + (f" - {self.verb}: {running}" if running else ""))

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                self._clear_status()
                self._draw_status()
                self._flush()

    def _draw_status(self) -> None:
        if not self.live or self._stop.is_set():
            return
        width = shutil.get_terminal_size((100, 20)).columns - 1
        self.stream.write(self.status()[:width])
        self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self.stream.write(CLEAR_LINE)
            self._status_shown = False

    def _flush(self) -> None:
        try:
            self.stream.flush()
        except (AttributeError, ValueError):
            pass
