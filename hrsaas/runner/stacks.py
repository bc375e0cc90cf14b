"""Plan, deploy and destroy one environment's stacks with Terraform, following their dependency
graph, several at a time (``terragrunt run-all`` parity).

    hrsaas deploy  --env local                  # the main job (starts the emulator)
    hrsaas deploy  --env local --parallelism 1  # one stack at a time
    hrsaas plan    --env prod                   # saved plan + JSON + text per stack
    hrsaas plan    --env prod --only prod-network   # one stack (CI matrix)
    hrsaas destroy --env local                  # reverse dependency order
    hrsaas outputs --env local --no-synth

The graph comes from
cdktf.out/manifest.json: the dependencies the layers declare through their typed outputs, and
bootstrap under every stack (every backend lives in its bucket). A stack starts when every stack
it depends on has finished, with at most ``--parallelism`` running at once
(hrsaas/runner/graph.py); destroy walks the graph backwards. A failed stack stops only the
stacks that depend on it — the others finish — and the command exits 1 with a closing table of
every stack (applied / planned / failed with its first error / skipped because of which failed
upstream / not attempted, and its time). Each stack is initialised once per run, from the shared
plugin cache. Running the same command again resumes from the state.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from hrsaas.config import ConfigError, load_environment
from hrsaas.naming import Names
from hrsaas.runner.guard import (
    AllowListError,
    allowed,
    destructive_changes,
    explain,
    load_allow_list,
)

from .. import emulator as emulator_gaps  # PLAN_ONLY_LAYERS, read when a run asks for it
from ..emulator import server as emulator
from ..toolenv import PYTHON, ROOT, tool_env
from . import delegation, redis_auth, release, signals, speculative
from . import graph as schedule
from .graph import NOT_ATTEMPTED, SKIPPED, Graph, Outcome, RunResult
from .progress import Reporter

OUTDIR = ROOT / "cdktf.out"
PLANS = ROOT / "plans"
EMULATOR_TIMEOUT = 900  # seconds per terraform call on the emulator: nothing may hang
# How long a deploy waits for another run's state lock before it gives up (a deploy of the
# same env in CI is serialized by its concurrency group; this covers a person's run, a drift
# plan of an older version that still locks). Plans in CI run with -lock=false instead.
LOCK_TIMEOUT = "300s"
EMULATOR_LOCK_TIMEOUT = "10s"
_LOG_LOCK = threading.Lock()  # parallel stacks append to one terraform.log


def default_parallelism(emulated: bool, cpus: int | None = None) -> int:
    """How many stacks run at once when ``--parallelism`` is not given.

    Emulator: 4 (2 on a single core). A local deploy spends most of its time in the provider's
    own fixed waits (an S3 lifecycle configuration's 55 s consistency check, RDS's 80 s, the
    ALB's 60 s, SQS's 25 s a queue: docs/performance.md) while the machine is idle, so stacks
    overlap well beyond the core count: on the 2-core machine a local deploy took 524 s at 2 and
    441 s at 4, which was its critical path; more would only queue. (Today's path: bootstrap →
    security → network → edge → compute → observability, docs/performance.md.) Plans and
    destroys are CPU-bound (each terraform run starts the ~700 MB provider and loads its
    schema) and gain less. An overloaded emulator once answered a lock PutItem so slowly that
    the SDK retried it and Terraform was refused its own lock: the runner clears exactly that
    case on the emulator (``own_lock``).

    Real AWS: 4. The time goes into AWS-side waits (RDS, CloudFront, NAT gateways), not local
    CPU; four covers the widest part of the layer graph (the stacks that need only security)
    while keeping the API calls of one deploy (each terraform run makes up to 10 at a time)
    well inside the account's rate limits.
    """
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(4, 2 * cpus)) if emulated else 4


class StackFailed(Exception):
    """A stack's terraform failed (``action`` said what it was doing). Raised by a run after
    every stack it could run has finished: ``remaining`` are the stacks it did not run (skipped
    or not attempted), ``result`` the whole run (hrsaas/runner/graph.py ``RunResult``)."""

    def __init__(self, stack: str, action: str, first_error: str, remaining: list[str], *,
                 result: RunResult | None = None):
        self.stack, self.action, self.first_error, self.remaining = (
            stack, action, first_error, remaining)
        self.result = result
        super().__init__(f"{action} of {stack} failed: {first_error}")


def synth(envs: list[str], outdir: Path = OUTDIR, extra_env: dict[str, str] | None = None
          ) -> None:
    env = tool_env({"HRSAAS_ENVS": ",".join(envs), "CDKTF_OUTDIR": str(outdir),
                    **(extra_env or {})})
    result = subprocess.run([str(PYTHON), str(ROOT / "main.py")], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.stderr.write(_strip_jsii_banner(result.stdout))
        raise SystemExit(result.returncode)


def _strip_jsii_banner(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("b'!!"))


def stack_graph(env_name: str, outdir: Path = OUTDIR) -> Graph:
    """The env's stacks and their dependencies, from the manifest."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = {name: spec.get("dependencies", []) for name, spec in manifest["stacks"].items()
              if name.startswith(f"{env_name}-")}
    if not stacks:
        raise SystemExit(f"no stacks for environment {env_name!r} in {outdir}/manifest.json")
    try:
        return Graph.from_dependencies(stacks)
    except ValueError as exc:  # a cycle, or a dependency on a stack of no manifest entry
        raise SystemExit(f"{outdir}/manifest.json: {exc}") from None


def stack_order(env_name: str, outdir: Path = OUTDIR) -> list[str]:
    """The env's stack IDs, each after every stack it depends on."""
    return list(stack_graph(env_name, outdir).order)


def first_error(output: str) -> str:
    """The first ``Error:`` line; for a failed pre/postcondition also its message (the last
    paragraph of the error block, which Terraform wraps over several lines: the ``Error:``
    line itself only says which condition failed)."""
    clean = re.sub(r"\x1b\[[0-9;]*m", "", output)
    lines = clean.splitlines()
    for i, line in enumerate(lines):
        text = line.strip(" │╷╵")
        if text.startswith("Error:"):
            if "condition failed" in text:
                block = []
                for following in lines[i + 1:]:
                    if following.startswith("╵"):
                        break
                    block.append(following.strip(" │"))
                while block and not block[-1]:
                    block.pop()
                paragraph: list[str] = []
                while block and block[-1]:
                    paragraph.insert(0, block.pop())
                message = " ".join(paragraph)
                if message:
                    return f"{text}: {message}"
            if "state lock" in text:
                # Who holds it and since when (the ID is what `force-unlock` needs), or why the
                # lock table or lock file refused, rather than the bare headline.
                block = []
                for following in lines[i + 1:]:
                    if following.startswith("╵"):
                        break
                    block.append(following)
                message = re.search(r"^[\s│]*(Error message:.*?)\s*$", "\n".join(block), re.M)
                details = [" ".join(message[1].split())[:300]] if message else []
                details += [f"{key}: {value[:300]}" for key, value
                            in lock_info("\n".join(block)).items() if key in LOCK_FIELDS]
                if details:
                    return f"{text} ({'; '.join(details)})"
            return text
    tail = [line for line in clean.splitlines() if line.strip()]
    return tail[-1] if tail else "(no output)"


LOCK_FIELDS = ("ID", "Path", "Operation", "Who", "Created")  # what a lock error names


def lock_info(output: str) -> dict[str, str]:
    """The fields of the ``Lock Info:`` block Terraform prints when it cannot take a state
    lock (ID, Path, Operation, Who, Version, Created, Info); empty when there is none."""
    _, found, block = re.sub(r"\x1b\[[0-9;]*m", "", output).partition("Lock Info:")
    if not found:
        return {}
    return dict(re.findall(r"^[\s│]*(ID|Path|Operation|Who|Version|Created|Info):[ \t]+(\S.*?)\s*$",
                           block, re.M))


def own_lock(output: str, started: datetime.datetime) -> str | None:
    """The ID of the lock a failed command reports as held, when that lock is the command's
    own: written by this user on this host after the command started.

    Seen on the emulator under load: Terraform's DynamoDB ``PutItem`` for the lock succeeds on
    the server (moto logs a 200), the SDK nevertheless retries it, and the retry fails the
    condition on the item the first attempt wrote — the command then waits out its
    ``-lock-timeout`` on its own lock and leaves it behind."""
    fields = lock_info(output)
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    match = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)? ([+-]\d{4})",
                     fields.get("Created", ""))
    if not match or fields.get("Who") != who or not fields.get("ID"):
        return None
    created = datetime.datetime.strptime(
        f"{match[1]}{(match[2] or '.0')[:7]} {match[3]}", "%Y-%m-%d %H:%M:%S.%f %z")
    return fields["ID"] if created >= started - datetime.timedelta(seconds=1) else None


def terraform(stack_dir: Path, *args: str, timeout: float | None, log: Path | None = None,
              interactive: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = ["terraform", f"-chdir={stack_dir}", *args]
    if interactive:
        return subprocess.run(cmd, env=tool_env(), text=True, timeout=timeout)
    started = time.monotonic()
    # Its own process group, tracked: a stopped run forwards one SIGINT and waits
    # (hrsaas/runner/signals.py), so terraform releases its lock.
    proc = signals.start(cmd, env=tool_env(), text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = signals.communicate(proc, timeout)
    result = subprocess.CompletedProcess(cmd, proc.returncode, out)
    if log is not None:
        # One block per command, written whole: parallel stacks interleave by command only.
        block = (f"[{stack_dir.name}] $ terraform {' '.join(args)}  "
                 f"({time.monotonic() - started:.1f}s, exit {result.returncode})\n"
                 f"{result.stdout}\n")
        with _LOG_LOCK:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as fh:
                fh.write(block)
    return result


class Runner:
    def __init__(self, env_name: str, outdir: Path = OUTDIR, *, auto_approve: bool = False,
                 quiet: bool = False, parallelism: int | None = None,
                 live: bool | None = None):
        """``parallelism``: stacks at once (default: ``default_parallelism``); ``live``: the
        terminal status line (default: when stdout is a terminal; never when ``quiet``)."""
        self.env = load_environment(env_name)
        self.outdir = outdir
        self.emulated = self.env.is_emulated
        self.auto_approve = auto_approve or self.emulated
        self.timeout = EMULATOR_TIMEOUT if self.emulated else None
        self.log = Path(os.environ.get("HRSAAS_STATE_DIR") or ROOT / ".state"
                        ) / env_name / "terraform.log"
        self.quiet = quiet
        self.live = live
        if parallelism is not None and parallelism < 1:
            raise ValueError(f"parallelism must be at least 1, not {parallelism}")
        self.parallelism = parallelism or default_parallelism(self.emulated)
        # On the emulator a state lock is never held for long by anyone else (one machine, one
        # person); what does hold one is the command's own lock after the SDK's retry
        # (``own_lock``), which is cleared only once the wait has run out: keep it short.
        self.lock_timeout = EMULATOR_LOCK_TIMEOUT if self.emulated else LOCK_TIMEOUT
        self.plan_lock_timeout = EMULATOR_LOCK_TIMEOUT if self.emulated else "60s"
        self.last_result: RunResult | None = None  # the table of the latest deploy/plan/destroy
        self.resolver: Callable[[str], set[str]] | None = None  # DNS lookups (tests: a fake)
        self._reporter: Reporter | None = None
        # Working directories this runner initialised: path → fingerprint of what `init` reads
        # (backend, providers, modules). A run inits each stack once; later runs of the same
        # runner reuse the initialisation while that configuration is unchanged.
        self._initialised: dict[Path, str] = {}
        self._init_lock = threading.Lock()
        self._cache_warm = threading.Event()

    def say(self, message: str, stack: str | None = None) -> None:
        if self._reporter is not None:
            self._reporter.say(message, stack)
        elif not self.quiet:
            print(f"[{stack}] {message}" if stack else message, flush=True)

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def plan_only(self, stack: str) -> str | None:
        """Why the emulator cannot apply this stack (None: it can, or this is a real env)."""
        if not self.emulated:
            return None
        return emulator_gaps.PLAN_ONLY_LAYERS.get(stack.split("-", 1)[1])

    def run(self, stack: str, action: str, *args: str, ok: tuple[int, ...] = (0,),
            remaining: list[str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
        workdir = cwd or self.stack_dir(stack)
        try:
            started = datetime.datetime.now(datetime.UTC)
            result = terraform(workdir, *args, timeout=self.timeout, log=self.log)
            lock_id = (own_lock(result.stdout, started)
                       if self.emulated and result.returncode not in ok else None)
            if lock_id:
                # The emulator only (own_lock): clear the command's own lock and run it once
                # more. A real environment's lock is never cleared for you: the error names
                # who holds it (first_error) and `terraform force-unlock` is a person's call.
                self.say(f"cleared its own state lock {lock_id} (an emulator retry); "
                         f"running terraform {args[0]} again", stack)
                terraform(workdir, "force-unlock", "-force", lock_id, timeout=self.timeout,
                          log=self.log)
                result = terraform(workdir, *args, timeout=self.timeout, log=self.log)
        except subprocess.TimeoutExpired:
            raise StackFailed(stack, action, f"terraform {args[0]} timed out after "
                              f"{self.timeout}s (see {self.log})", remaining or []) from None
        except signals.Stopping as exc:  # interrupted between two terraform calls
            raise StackFailed(stack, action, str(exc), remaining or []) from None
        if result.returncode not in ok:
            raise StackFailed(stack, action, first_error(result.stdout), remaining or [])
        return result

    # -- terraform init: once per stack and run, from the shared plugin cache -----------------
    def init(self, stack: str, remaining: list[str], cwd: Path | None = None) -> None:
        """``terraform init`` in the stack's directory (or ``cwd``), always.

        Providers come from the plugin cache ``.terraformrc`` names (``plugin_cache_dir``,
        written by scripts/setup.sh): a symlink per stack, not a copy of the 700 MB provider;
        ``TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE`` (hrsaas/toolenv.py) lets a stack
        without a lock file use it. Terraform does not promise that concurrent inits can fill
        the cache safely, so inits run one at a time until one has succeeded (the cache holds
        the provider from then on and inits only link it)."""
        workdir = cwd or self.stack_dir(stack)
        args = ("init", "-input=false", "-reconfigure", "-no-color")
        if self._cache_warm.is_set():
            self.run(stack, "init", *args, remaining=remaining, cwd=cwd)
        else:
            with self._init_lock:
                self.run(stack, "init", *args, remaining=remaining, cwd=cwd)
                self._cache_warm.set()
        self._initialised[workdir.resolve()] = _init_fingerprint(workdir)

    def ensure_init(self, stack: str, cwd: Path | None = None) -> bool:
        """Init unless this runner already did for the same configuration (and its
        ``.terraform`` is still there). True when it ran ``terraform init``."""
        workdir = cwd or self.stack_dir(stack)
        known = self._initialised.get(workdir.resolve())
        if known is not None and (workdir / ".terraform").is_dir() and \
                known == _init_fingerprint(workdir):
            return False
        self.init(stack, [], cwd=cwd)
        return True

    # -- the graph and its runs ----------------------------------------------------------------
    def graph(self, only: list[str] | None = None) -> Graph:
        """The env's stack graph, or the subgraph of ``only`` (dependencies outside it are
        taken as applied)."""
        full = stack_graph(self.env.name, self.outdir)
        if not only:
            return full
        unknown = sorted(set(only) - set(full.order))
        if unknown:
            raise StackFailed(unknown[0], "selection", f"no such stack in {self.env.name}: "
                              f"{', '.join(unknown)} (stacks: {', '.join(full.order)})", [])
        return full.select(only)

    def _execute(self, action: str, verb: str, graph: Graph, work: Callable[[str], Outcome],
                 parallelism: int | None, *, interactive: bool = False) -> RunResult:
        """Run ``work`` over ``graph``; raise ``StackFailed`` (every stack that could run has
        finished) or ``KeyboardInterrupt``, else return the run's result."""
        width = 1 if interactive else (parallelism or self.parallelism)

        def guarded(stack: str) -> Outcome:
            try:
                return work(stack)
            except StackFailed:
                raise
            except Exception as exc:  # a bug must not look like a terraform error: log it
                with _LOG_LOCK:
                    self.log.parent.mkdir(parents=True, exist_ok=True)
                    with self.log.open("a") as fh:
                        fh.write(f"[{stack}] {action} raised:\n{traceback.format_exc()}\n")
                raise StackFailed(stack, action, f"{type(exc).__name__}: {exc} "
                                  f"(traceback in {self.log})", []) from exc

        signals.reset()  # a new run of a long-lived process (tests) starts terraform again
        reporter = Reporter(verb, len(graph.order), quiet=self.quiet,
                            live=False if interactive else self.live)
        self._reporter = reporter
        try:
            with reporter:
                result = schedule.run(graph, guarded, parallelism=width, action=action,
                                      on_event=reporter.event,
                                      on_interrupt=signals.interrupt_children)
        finally:
            self._reporter = None
        self.last_result = result
        if result.interrupted:
            raise KeyboardInterrupt
        if result.failed:
            first = result.failed[0]
            error = first.error
            remaining = [r.stack for r in result.with_status(SKIPPED, NOT_ATTEMPTED)]
            raise StackFailed(first.stack, getattr(error, "action", action),
                              getattr(error, "first_error", first.detail), remaining,
                              result=result) from error
        return result

    # -- deploy --------------------------------------------------------------------------------
    def deploy(self, only: list[str] | None = None, *, parallelism: int | None = None
               ) -> dict[str, dict]:
        """Apply every stack (or ``only`` these) along the dependency graph and return their
        non-sensitive outputs, in dependency order. Raises ``StackFailed`` when a stack failed,
        after every stack that does not depend on it has been applied."""
        graph = self.graph(only)
        outputs: dict[str, dict] = {}

        def work(stack: str) -> Outcome:
            if self.applied_elsewhere(stack):
                return Outcome("applied elsewhere", "applied by a person with its local state "
                               "(docs/runbooks/state.md); the state bucket it creates exists")
            self.ensure_init(stack)
            reason = self.plan_only(stack)
            if reason:
                result = self.run(stack, "plan", "plan", "-input=false", "-no-color",
                                  f"-lock-timeout={self.plan_lock_timeout}")
                self.say(f"plan only on the emulator: {reason}", stack)
                return Outcome("planned", f"{_counts(result.stdout)}; plan only on the "
                               "emulator")
            saved = None
            if self.env.capabilities.protect_stateful:
                saved = self.guarded_plan(stack, [])
            if self.auto_approve:
                # With the guard, apply exactly the plan it checked.
                result = self.run(stack, "apply", "apply", "-input=false", "-no-color",
                                  f"-lock-timeout={self.lock_timeout}",
                                  *([saved] if saved else ["-auto-approve"]))
                detail = _counts(result.stdout)
            else:
                answered = terraform(self.stack_dir(stack), "apply", timeout=None,
                                     interactive=True)
                if answered.returncode != 0:
                    raise StackFailed(stack, "apply", "apply not confirmed or failed", [])
                detail = ""
            out = self.run(stack, "output", "output", "-json", "-no-color")
            outputs[stack] = {k: v["value"] for k, v in json.loads(out.stdout or "{}").items()
                              if not v.get("sensitive")}
            self.check_delegation(stack, outputs[stack])
            self.after_apply(stack)
            return Outcome("applied", detail)

        self._execute("deploy", "deploying", graph, work, parallelism,
                      interactive=not self.auto_approve)
        return {stack: outputs[stack] for stack in graph.order if stack in outputs}

    def after_apply(self, stack: str) -> None:
        """What a stack needs besides terraform once it is applied (or had nothing to apply):
        the cache stack's Redis AUTH token (hrsaas/runner/redis_auth.py, docs/secrets.md)."""
        try:
            done = redis_auth.after_apply(self.env, stack)
        except redis_auth.RedisAuthError as exc:
            raise StackFailed(stack, "redis-auth", str(exc), []) from None
        if done:
            self.say(f"Redis AUTH token: {done}", stack)

    def check_delegation(self, stack: str, outputs: dict) -> None:
        """After the dns layer of a real environment created its zone: stop (as a failure of
        that stack, so only what waits on DNS is skipped) until public DNS delegates the domain
        to the zone's name servers (hrsaas/runner/delegation.py)."""
        if self.emulated or stack.split("-", 1)[1] != "dns" or delegation.skipped():
            return
        servers = outputs.get("name_servers") or []
        if not servers:  # an existing, already delegated zone (edge.hosted_zone_id)
            return
        found = delegation.check(outputs["domain"], servers,
                                 resolver=self.resolver or delegation.public_name_servers)
        if not found.ok:
            command = f"make deploy ENV={self.env.name} CONFIRM={self.env.name}"
            raise StackFailed(stack, "delegation check", found.explain(stack, command), [])
        self.say(f"{found.domain} is delegated to its zone", stack)

    def applied_elsewhere(self, stack: str, states: StateStore | None = None) -> bool:
        """A real env's local-state stack (bootstrap) whose state file is not on this machine
        (a CI runner) although the state bucket it creates exists: a person applied it."""
        spec = json.loads((self.stack_dir(stack) / "cdk.tf.json").read_text())
        local = spec.get("terraform", {}).get("backend", {}).get("local")
        if self.emulated or local is None or Path(local["path"]).exists():
            return False
        return (states or StateStore(self.env)).bucket_exists(Names.of(self.env).state_bucket())

    def guarded_plan(self, stack: str, remaining: list[str]) -> str:
        """Plan, and refuse before anything is applied if stateful resources would go."""
        target = self.outdir / "guard" / stack
        target.parent.mkdir(parents=True, exist_ok=True)
        self.run(stack, "plan", "plan", "-input=false", "-no-color", f"-out={target}.tfplan",
                 f"-lock-timeout={self.lock_timeout}", remaining=remaining)
        shown = self.run(stack, "plan", "show", "-json", f"{target}.tfplan")
        found = destructive_changes(json.loads(shown.stdout), allowed(self.env.name, stack))
        if found:
            raise StackFailed(stack, "plan guard", explain([str(f) for f in found]), remaining)
        return f"{target}.tfplan"

    # -- destroy -------------------------------------------------------------------------------
    def destroy(self, *, parallelism: int | None = None) -> None:
        """Destroy every stack in reverse dependency order: a stack goes only after every
        stack that depends on it is gone; a failed destroy keeps what it depends on."""
        graph = self.graph().reversed()

        def work(stack: str) -> Outcome:
            reason = self.plan_only(stack)
            if reason:
                return Outcome("nothing to destroy", "plan only on the emulator")
            self.ensure_init(stack)
            args = ["destroy", "-input=false", "-no-color"]
            if self.auto_approve:
                args.append("-auto-approve")
            result = self.run(stack, "destroy", *args)
            if redis_auth.after_destroy(self.env, stack):
                self.say("Redis AUTH record removed", stack)
            return Outcome("destroyed", _counts(result.stdout))

        self._execute("destroy", "destroying", graph, work, parallelism)

    # -- plan ----------------------------------------------------------------------------------
    def plan(self, *, save: bool = True, detailed: bool = False, plans_dir: Path = PLANS,
             only: list[str] | None = None, parallelism: int | None = None,
             lock: bool = True, refresh_secrets: bool = True) -> dict[str, int]:
        """Plan every stack (or ``only`` these) along the dependency graph; return stack → exit
        code (0 no changes, 2 changes with ``detailed``), in dependency order. With ``save``:
        ``<plans_dir>/<env>/<stack>.tfplan``, its ``show -json``, its text and ``.meta`` (JSON:
        which upstream reads were speculative); a failed stack leaves ``<stack>.error.txt``
        and the stacks that depend on it are skipped.

        A stack whose upstream layers have no state yet is planned speculatively
        (hrsaas/runner/speculative.py): unknown values where their outputs will go.

        ``lock=False``: ``-lock=false`` (CI's pull-request and drift plans: a plan never writes
        state, a saved plan applied later is refused as stale if the state changed meanwhile,
        and a cancelled plan job can leave no lock behind).

        ``refresh_secrets=False``: stacks that manage secret versions plan with
        ``-refresh=false`` (CI's plan role: refreshing an ``aws_secretsmanager_secret_version``
        calls GetSecretValue, the value the plan role must never read). Their drift is then not
        seen by that plan; the deploy's plan (apply role) refreshes them."""
        graph = self.graph(only)
        codes: dict[str, int] = {}
        target = plans_dir / self.env.name
        states = StateStore(self.env)
        if save:
            target.mkdir(parents=True, exist_ok=True)

        def work(stack: str) -> Outcome:
            if self.applied_elsewhere(stack, states):
                return Outcome("applied elsewhere", "applied by a person with its local state")
            if save:
                for stale in target.glob(f"{stack}.*"):
                    stale.unlink()
            try:
                return plan_one(stack)
            except StackFailed as exc:
                if save:
                    (target / f"{stack}.error.txt").write_text(
                        f"{exc.action} failed: {exc.first_error}\n")
                raise

        def plan_one(stack: str) -> Outcome:
            workdir, meta = self._plan_dir(stack, states, target / ".work" / stack)
            self.ensure_init(stack, cwd=workdir)
            args = ["plan", "-input=false", "-no-color",
                    f"-lock-timeout={self.plan_lock_timeout}" if lock else "-lock=false"]
            unrefreshed = not refresh_secrets and manages_secret_values(workdir)
            if unrefreshed:
                args.append("-refresh=false")
            if detailed:
                args.append("-detailed-exitcode")
            if save:
                args.append(f"-out={(target / stack).resolve()}.tfplan")
            result = self.run(stack, "plan", *args, ok=(0, 2) if detailed else (0,),
                              cwd=workdir)
            codes[stack] = result.returncode
            if save:
                shown = self.run(stack, "show", "show", "-json",
                                 f"{(target / stack).resolve()}.tfplan", cwd=workdir)
                (target / f"{stack}.json").write_text(shown.stdout)
                (target / f"{stack}.txt").write_text(result.stdout)
                (target / f"{stack}.meta").write_text(json.dumps(meta, indent=2))
                if self.env.capabilities.protect_stateful:
                    found = destructive_changes(json.loads(shown.stdout),
                                                allowed(self.env.name, stack))
                    if found:
                        raise StackFailed(stack, "plan guard",
                                          explain([str(f) for f in found]), [])
            note = "; not refreshed (secret versions)" if unrefreshed else ""
            if meta["speculative_reads"] or meta["local_backend"]:
                note += "; speculative: " + ", ".join(
                    [*(f"{r} not applied yet" for r in meta["speculative_reads"]),
                     *(["no state bucket yet"] if meta["local_backend"] else [])])
            counts = "no changes" if result.returncode == 0 and detailed else _counts(
                result.stdout)
            return Outcome("planned", counts + note)

        self._execute("plan", "planning", graph, work, parallelism)
        return {stack: codes[stack] for stack in graph.order if stack in codes}

    def _plan_dir(self, stack: str, states: StateStore, work: Path) -> tuple[Path, dict]:
        """Where to plan ``stack``: its synthesized directory, or a speculative copy when
        upstream state (or the state bucket itself) does not exist yet, or when a producer
        planned earlier in this run changes outputs it reads (hrsaas/runner/speculative.py)."""
        return speculative.plan_dir(stack, self.env.name, self.stack_dir, states, work)

    # -- outputs -------------------------------------------------------------------------------
    def outputs(self) -> dict[str, str]:
        """Every stack's ``terraform output -json`` text, in dependency order."""
        shown: dict[str, str] = {}
        for stack in stack_order(self.env.name, self.outdir):
            self.ensure_init(stack)
            shown[stack] = self.run(stack, "output", "output", "-json").stdout
        return shown


# Resources whose refresh reads a secret's value (the provider's Read calls GetSecretValue).
SECRET_VALUE_TYPES = ("aws_secretsmanager_secret_version",)


def manages_secret_values(workdir: Path) -> bool:
    """Whether the stack in ``workdir`` manages a resource whose refresh reads a secret value."""
    try:
        resources = json.loads((workdir / "cdk.tf.json").read_text()).get("resource") or {}
    except (OSError, ValueError):
        return False
    return any(kind in resources for kind in SECRET_VALUE_TYPES)


def _init_fingerprint(workdir: Path) -> str:
    """What ``terraform init`` depends on in a stack: its backend and provider requirements
    (the ``terraform`` block) and its module sources."""
    try:
        spec = json.loads((workdir / "cdk.tf.json").read_text())
    except (OSError, ValueError):
        return ""
    relevant = {"terraform": spec.get("terraform"),
                "module": {name: body.get("source") for name, body
                           in (spec.get("module") or {}).items()}}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


class StateStore:
    """Which state objects exist in the environment's state bucket (boto3, the caller's
    credentials; the emulator's endpoint for an emulated environment)."""

    def __init__(self, env) -> None:
        import boto3  # only planning needs it

        kwargs: dict[str, str] = {"region_name": env.region}
        if env.is_emulated:
            kwargs.update(endpoint_url=env.emulator.endpoint, aws_access_key_id="test",
                          aws_secret_access_key="test")
        self.s3 = boto3.client("s3", **kwargs)

    @staticmethod
    def _missing(exc: Exception) -> bool:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        return code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound")

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.s3.head_bucket(Bucket=bucket)
        except Exception as exc:
            if self._missing(exc):
                return False
            raise
        return True

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except Exception as exc:
            if self._missing(exc):
                return False
            raise
        return True


def _counts(text: str) -> str:
    """Terraform's closing line, short: ``Apply complete! Resources: 5 added, 0 changed, 0
    destroyed.`` → ``5 added``; ``Plan: 3 to add, 1 to change, 0 to destroy.`` → ``3 to add, 1
    to change``; nothing to do → ``no changes``."""
    clean = re.sub(r"\x1b\[[0-9;]*m", "", text)
    if re.search(r"^No changes\.", clean, re.M):
        return "no changes"
    match = (re.search(r"^Plan: (.*?)\.?$", clean, re.M)
             or re.search(r"(?:Apply|Destroy) complete! Resources: (.*?)\.?$", clean, re.M))
    if match is None:
        return "done"
    parts = [p.strip() for p in match.group(1).split(",")]
    changed = [p for p in parts if not p.startswith("0 ")]
    return ", ".join(changed) if changed else "no changes"


def ensure_emulator(env_name: str) -> None:
    env = load_environment(env_name)
    if env.emulator is None:
        return
    emu = emulator.start(env.emulator.endpoint, ROOT / ".state" / env_name / "moto.log",
                         detach=True)
    if emu.process is not None:
        print(f"started moto server on {env.emulator.endpoint} (pid {emu.process.pid}); "
              f"stop it with `make emulator-stop`")


def preflight(env, action: str, confirm: str | None) -> str | None:
    """Real environments: an explicit confirmation, and credentials of the env's own account,
    before anything runs. Returns the problem, or None."""
    if env.is_emulated or action not in ("deploy", "destroy"):
        return None
    if confirm != env.name:
        return (f"{action} of the real environment {env.name!r} needs an explicit confirmation: "
                f"run `make {action} ENV={env.name} CONFIRM={env.name}` "
                f"(or --confirm {env.name})")
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        identity = boto3.client("sts", region_name=env.region).get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        return (f"cannot verify the AWS account before {action}: {exc}. Provide credentials "
                f"for account {env.account_id} (AWS_PROFILE, or OIDC in CI)")
    if identity["Account"] != env.account_id:
        return (f"the credentials belong to account {identity['Account']}, but {env.name} is "
                f"account {env.account_id} (envs/{env.name}.toml): switch credentials")
    return None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of stacks >= 1, not {text!r}")
    return value


def _report_failure(runner: Runner, exc: StackFailed) -> None:
    """After the table: each failed stack with its first error and the stacks it held back."""
    result = exc.result
    failures = [(r.stack, getattr(r.error, "action", result.action),
                 getattr(r.error, "first_error", r.detail))
                for r in result.failed] if result else [(exc.stack, exc.action,
                                                         exc.first_error)]
    print(file=sys.stderr)
    for stack, action, error in failures:
        print(f"FAILED: {action} of stack {stack}: {error}", file=sys.stderr)
        held = [r.stack for r in result.with_status(SKIPPED) if r.blocked_by == stack
                ] if result else exc.remaining
        if held:
            print(f"skipped (they depend on it): {', '.join(held)}", file=sys.stderr)
    if result is not None and result.failed:
        print(f"full terraform output: {runner.log}. Fix the cause and run the same command "
              "again: it resumes from the state.", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["deploy", "destroy", "plan", "outputs"])
    parser.add_argument("--env", default=os.environ.get("ENV", "local"))
    parser.add_argument("--no-synth", action="store_true", help="use the existing cdktf.out")
    parser.add_argument("--outdir", type=Path, default=OUTDIR, help="the synthesized cdktf.out")
    parser.add_argument("--auto-approve", action="store_true",
                        help="real environments: apply/destroy without the interactive prompt")
    parser.add_argument("--confirm", default=os.environ.get("CONFIRM") or None,
                        help="the environment's name: required to deploy/destroy a real one")
    parser.add_argument("--only", action="append", metavar="STACK",
                        help="plan/deploy: only this stack (repeatable; dependency order is "
                        "kept)")
    parser.add_argument("--parallelism", type=_positive, metavar="N",
                        help="deploy/plan/destroy: at most N stacks at once (default: 2 on the "
                        "emulator, 1 on a single core; 4 on AWS; a deploy that asks for "
                        "confirmation runs one at a time)")
    parser.add_argument("--plans-dir", type=Path, default=PLANS,
                        help="plan: where plans/<env>/ goes")
    parser.add_argument("--no-lock", action="store_true",
                        help="plan: do not lock the state (-lock=false; CI's PR and drift plans)")
    parser.add_argument("--no-secret-refresh", action="store_true",
                        help="plan: -refresh=false for stacks that manage secret versions "
                        "(refreshing one reads its value; CI's plan role may not)")
    args = parser.parse_args(argv)
    try:
        env = load_environment(args.env)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        load_allow_list()  # a malformed allow-list is bad input, before anything runs
    except AllowListError as exc:
        print(exc, file=sys.stderr)
        return 2
    problem = preflight(env, args.action, args.confirm)
    if problem:
        print(f"stopped before anything ran: {problem}", file=sys.stderr)
        return 2
    if not args.no_synth:
        synth([env.name], args.outdir)
    if env.is_emulated and args.action in ("deploy", "destroy", "plan"):
        ensure_emulator(env.name)
    runner = Runner(env.name, args.outdir, auto_approve=args.auto_approve,
                    parallelism=args.parallelism)
    signals.install()  # a cancelled job stops terraform gracefully (no lock left)
    try:
        if args.action == "deploy":
            outputs = runner.deploy(only=args.only)
            print(json.dumps(outputs, indent=2))
            summary = release.explain(Names.of(env), release.waiting_services(outputs))
            if summary:
                print(f"\n{summary}")
        elif args.action == "destroy":
            runner.destroy()
        elif args.action == "plan":
            runner.plan(plans_dir=args.plans_dir, only=args.only, lock=not args.no_lock,
                        refresh_secrets=not args.no_secret_refresh)
            print(f"plans written to {args.plans_dir / env.name}/")
        else:
            for stack, text in runner.outputs().items():
                print(stack, text)
    except StackFailed as exc:
        if runner.last_result is not None and exc.result is runner.last_result:
            print("\n" + runner.last_result.table(), flush=True)
        _report_failure(runner, exc)
        return 1
    except KeyboardInterrupt:
        if runner.last_result is not None:
            print("\n" + runner.last_result.table(), flush=True)
        print("interrupted: the stacks above that did not finish left their state as "
              "terraform stopped; run the same command again to resume "
              "(docs/runbooks/state.md if a lock is left)", file=sys.stderr)
        return 130
    if runner.last_result is not None:
        print("\n" + runner.last_result.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
