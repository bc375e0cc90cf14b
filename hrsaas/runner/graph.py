"""The stack graph of one run and the scheduler that walks it (``terragrunt run-all`` parity).

Pure: no terraform, no AWS, no printing. The runner (``hrsaas.runner.stacks``) builds a
``Graph`` from ``cdktf.out/manifest.json`` and hands ``run`` one function per action (apply a
stack, plan it, destroy it); this module decides *when* each stack runs:

* a stack starts only after every stack it depends on has finished successfully;
* up to ``parallelism`` stacks run at the same time (threads: the work is waiting on terraform
  subprocesses); among the stacks that are ready, the one with the longest chain of stacks
  waiting behind it goes first, then manifest order;
* a failed stack stops only the stacks that (transitively) depend on it — they are *skipped*,
  naming the failure they wait for — and everything else still runs;
* destroy walks ``graph.reversed()``: a stack is destroyed only after every stack that depends
  on it is gone, and a failed destroy keeps what it depends on.

``run`` returns a ``RunResult``: per stack its status (the work's own word — applied, planned,
destroyed … — or failed / skipped / not attempted), the first error, the elapsed time; and the
closing table the command prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

FAILED = "failed"
SKIPPED = "skipped"
NOT_ATTEMPTED = "not attempted"
UNSUCCESSFUL = (FAILED, SKIPPED, NOT_ATTEMPTED)


class CycleError(ValueError):
    """The dependencies loop: ``cycle`` lists the loop, its first stack again at the end."""

    def __init__(self, cycle: list[str]):
        self.cycle = cycle
        super().__init__("dependency cycle: " + " -> ".join(cycle))


class UnknownDependency(ValueError):
    def __init__(self, stack: str, dependency: str):
        self.stack, self.dependency = stack, dependency
        super().__init__(f"{stack} depends on {dependency}, which is not in the graph")


def topological_order(dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    """Every node after all of its dependencies; ties keep the mapping's order (the manifest's
    order is construction order: stable). Raises ``CycleError`` / ``UnknownDependency``."""
    deps = {node: list(ds) for node, ds in dependencies.items()}
    order: list[str] = []
    placed: set[str] = set()
    path: list[str] = []  # the nodes being visited, outermost first

    def visit(node: str) -> None:
        if node in placed:
            return
        if node in path:
            raise CycleError([*path[path.index(node):], node])
        path.append(node)
        for dep in deps[node]:
            if dep not in deps:
                raise UnknownDependency(node, dep)
            visit(dep)
        path.pop()
        placed.add(node)
        order.append(node)

    for node in deps:
        visit(node)
    return order


@dataclass(frozen=True)
class Graph:
    """Nodes (stack IDs) in topological order and, per node, the nodes it waits for."""

    order: tuple[str, ...]
    deps: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_dependencies(cls, dependencies: Mapping[str, Iterable[str]]) -> Graph:
        order = topological_order(dependencies)
        return cls(tuple(order), {n: tuple(dict.fromkeys(dependencies[n])) for n in order})

    def select(self, keep: Iterable[str]) -> Graph:
        """The subgraph of ``keep``: dependencies outside it count as already satisfied
        (``--only``: the caller chose not to run them)."""
        kept = set(keep)
        unknown = kept - set(self.order)
        if unknown:
            raise KeyError(sorted(unknown))
        return Graph(tuple(n for n in self.order if n in kept),
                     {n: tuple(d for d in self.deps[n] if d in kept)
                      for n in self.order if n in kept})

    def reversed(self) -> Graph:
        """Every edge turned round: for destroy, a node waits for everything that depended on
        it."""
        return Graph(tuple(reversed(self.order)),
                     {n: tuple(self.dependents(n)) for n in reversed(self.order)})

    def dependents(self, node: str) -> list[str]:
        """The nodes that wait for ``node`` directly, in order."""
        return [n for n in self.order if node in self.deps[n]]

    def downstream(self, node: str) -> list[str]:
        """Every node that waits for ``node``, directly or through others, in order."""
        found: set[str] = set()
        frontier = [node]
        while frontier:
            for dependent in self.dependents(frontier.pop()):
                if dependent not in found:
                    found.add(dependent)
                    frontier.append(dependent)
        return [n for n in self.order if n in found]

    def heights(self) -> dict[str, int]:
        """Per node, the length of the longest chain of nodes waiting behind it (0: none)."""
        height: dict[str, int] = {}
        for node in reversed(self.order):  # dependents come later in the order
            height[node] = max((height[d] + 1 for d in self.dependents(node)), default=0)
        return height


# --- running ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a stack's work returns when it succeeds: its status word and a short detail."""

    status: str
    detail: str = ""


@dataclass
class StackResult:
    stack: str
    status: str  # the work's Outcome.status, or FAILED / SKIPPED / NOT_ATTEMPTED
    detail: str = ""  # the Outcome's detail, the first error, or why it was skipped
    seconds: float | None = None  # None: it never ran
    error: BaseException | None = None  # what the work raised (FAILED)
    blocked_by: str | None = None  # SKIPPED: the failed stack it (transitively) waits for

    @property
    def ok(self) -> bool:
        return self.status not in UNSUCCESSFUL


@dataclass(frozen=True)
class Event:
    """``start``: the stack's work was handed to a worker; ``end``: it returned or raised
    (``result`` says which); ``skip``: it will not run because ``result.blocked_by`` failed;
    ``not attempted``: the run was interrupted before it started."""

    kind: str
    stack: str
    result: StackResult | None = None


@dataclass
class RunResult:
    action: str
    results: dict[str, StackResult]  # every stack of the graph, in its order
    seconds: float
    parallelism: int
    interrupted: bool = False
    events: list[Event] = field(default_factory=list)  # in the order they happened

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(r.ok for r in self.results.values())

    def with_status(self, *statuses: str) -> list[StackResult]:
        return [r for r in self.results.values() if r.status in statuses]

    @property
    def failed(self) -> list[StackResult]:
        return self.with_status(FAILED)

    def summary(self) -> str:
        """``9 applied, 3 planned, 1 failed in 4m12s``: counts in order of first appearance."""
        counts: dict[str, int] = {}
        for result in self.results.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        parts = ", ".join(f"{n} {status}" for status, n in counts.items())
        return f"{self.action}: {parts or 'no stacks'} in {duration(self.seconds)}" + (
            " (interrupted)" if self.interrupted else "")

    def table(self) -> str:
        """The closing table: one row per stack — result, elapsed time, detail."""
        header = ("stack", "result", "time", "detail")
        rows = [(r.stack, r.status, duration(r.seconds) if r.seconds is not None else "-",
                 r.detail) for r in self.results.values()]
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]

        def line(row: tuple[str, ...]) -> str:
            return (f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  "
                    f"{row[3]}").rstrip()

        width = sum(widths) + 6 + max(len(row[3]) for row in [header, *rows])
        return "\n".join([line(header), "-" * min(width, 100), *map(line, rows),
                          self.summary()])


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes}m{rest:02d}s"


def first_line_of(error: BaseException) -> str:
    """The first line of the error's own first error (``StackFailed.first_error``), else of
    its type and text: one line for the table (the command prints the whole text after it)."""
    text = str(getattr(error, "first_error", None) or f"{type(error).__name__}: {error}")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


Work = Callable[[str], Outcome]


def run(graph: Graph, work: Work, *, parallelism: int = 1, action: str = "run",
        on_event: Callable[[Event], None] | None = None,
        on_interrupt: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.monotonic) -> RunResult:
    """Run ``work(stack)`` for every stack of ``graph`` in dependency order, at most
    ``parallelism`` at a time. ``work`` returns an ``Outcome`` (success) or raises (failure:
    its dependents are skipped). ``on_event`` is called from this (the calling) thread only.
    Ctrl-C stops starting stacks, lets the running ones end (terraform got the signal too) and
    returns with ``interrupted``; ``on_interrupt`` is called first (the runner passes on the
    interrupt to the terraform processes, which run in process groups of their own)."""
    if parallelism < 1:
        raise ValueError(f"parallelism must be at least 1, not {parallelism}")
    events: list[Event] = []

    def emit(event: Event) -> None:
        events.append(event)
        if on_event is not None:
            on_event(event)

    index = {node: i for i, node in enumerate(graph.order)}
    height = graph.heights()
    waiting_for = {node: set(graph.deps[node]) for node in graph.order}
    results: dict[str, StackResult] = {}
    ready = [node for node in graph.order if not waiting_for[node]]
    running: dict[Future[Outcome], tuple[str, float]] = {}
    started = clock()
    interrupted = False

    def finish(future: Future[Outcome]) -> None:
        stack, began = running.pop(future)
        elapsed = clock() - began
        error = future.exception()
        if error is None:
            outcome = future.result()
            result = StackResult(stack, outcome.status, outcome.detail, elapsed)
        else:
            result = StackResult(stack, FAILED, first_line_of(error), elapsed, error=error)
        results[stack] = result
        emit(Event("end", stack, result))
        if result.ok:
            for dependent in graph.dependents(stack):
                waiting_for[dependent].discard(stack)
                if not waiting_for[dependent] and dependent not in results:
                    ready.append(dependent)
            return
        for dependent in graph.downstream(stack):
            if dependent not in results:
                results[dependent] = StackResult(dependent, SKIPPED, f"{stack} failed",
                                                 blocked_by=stack)
                emit(Event("skip", dependent, results[dependent]))

    pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="stack")
    try:
        while ready or running:
            ready.sort(key=lambda node: (-height[node], index[node]))
            while ready and len(running) < parallelism:
                stack = ready.pop(0)
                emit(Event("start", stack))
                running[pool.submit(work, stack)] = (stack, clock())
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: index[running[f][0]]):
                finish(future)
    except KeyboardInterrupt:
        interrupted = True
        if on_interrupt is not None:
            on_interrupt()
        try:
            while running:  # their terraform received the same Ctrl-C: wait for it to stop
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in sorted(done, key=lambda f: index[running[f][0]]):
                    finish(future)
        except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
            for stack, began in list(running.values()):
                results[stack] = StackResult(stack, FAILED, "interrupted while running",
                                             clock() - began)
            running.clear()
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
    for node in graph.order:
        if node not in results:
            results[node] = StackResult(node, NOT_ATTEMPTED,
                                        "the run was interrupted" if interrupted else "")
            emit(Event("not attempted", node, results[node]))
    return RunResult(action, {node: results[node] for node in graph.order}, clock() - started,
                     parallelism, interrupted, events)
