"""Plan, deploy and destroy one environment's stacks in dependency order with Terraform.

    hrsaas deploy  --env local     # the main job (starts the emulator)
    hrsaas plan    --env prod      # saved plan + JSON + text per stack
    hrsaas plan    --env prod --only prod-network   # one stack (CI matrix)
    hrsaas destroy --env local

The order comes from cdktf.out/manifest.json (the dependencies the layers declare through their
typed outputs). A failed stack stops the run: the stacks that depend on it are not applied, the
command exits non-zero and names the stack and its first error; running again resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from hrsaas.config import ConfigError, load_environment
from hrsaas.emulator import PLAN_ONLY_LAYERS
from hrsaas.naming import Names
from hrsaas.runner.guard import allowed_from_env, destructive_changes, explain

from ..emulator import server as emulator
from ..toolenv import PYTHON, ROOT, tool_env
from . import delegation, release, speculative

OUTDIR = ROOT / "cdktf.out"
PLANS = ROOT / "plans"
EMULATOR_TIMEOUT = 900  # seconds per terraform call on the emulator: nothing may hang


class StackFailed(Exception):
    def __init__(self, stack: str, action: str, first_error: str, remaining: list[str]):
        self.stack, self.action, self.first_error, self.remaining = (
            stack, action, first_error, remaining)
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


def stack_order(env_name: str, outdir: Path = OUTDIR) -> list[str]:
    """The env's stack IDs, each after every stack it depends on."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks = {name: spec.get("dependencies", []) for name, spec in manifest["stacks"].items()
              if name.startswith(f"{env_name}-")}
    if not stacks:
        raise SystemExit(f"no stacks for environment {env_name!r} in {outdir}/manifest.json")
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise SystemExit(f"dependency cycle through {name}")
        visiting.add(name)
        for dep in stacks[name]:
            visit(dep)
        visiting.discard(name)
        order.append(name)

    for name in stacks:  # manifest order is construction order: stable
        visit(name)
    return order


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
            return text
    tail = [line for line in clean.splitlines() if line.strip()]
    return tail[-1] if tail else "(no output)"


def terraform(stack_dir: Path, *args: str, timeout: float | None, log: Path | None = None,
              interactive: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = ["terraform", f"-chdir={stack_dir}", *args]
    if interactive:
        return subprocess.run(cmd, env=tool_env(), text=True, timeout=timeout)
    started = time.monotonic()
    result = subprocess.run(cmd, env=tool_env(), text=True, timeout=timeout,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as fh:
            fh.write(f"$ terraform {' '.join(args)}  ({time.monotonic() - started:.1f}s, "
                     f"exit {result.returncode})\n{result.stdout}\n")
    return result


class Runner:
    def __init__(self, env_name: str, outdir: Path = OUTDIR, *, auto_approve: bool = False,
                 quiet: bool = False):
        self.env = load_environment(env_name)
        self.outdir = outdir
        self.emulated = self.env.is_emulated
        self.auto_approve = auto_approve or self.emulated
        self.timeout = EMULATOR_TIMEOUT if self.emulated else None
        self.log = Path(os.environ.get("HRSAAS_STATE_DIR") or ROOT / ".state"
                        ) / env_name / "terraform.log"
        self.quiet = quiet

    def say(self, message: str) -> None:
        if not self.quiet:
            print(message, flush=True)

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def plan_only(self, stack: str) -> str | None:
        """Why the emulator cannot apply this stack (None: it can, or this is a real env)."""
        return PLAN_ONLY_LAYERS.get(stack.split("-", 1)[1]) if self.emulated else None

    def run(self, stack: str, action: str, *args: str, ok: tuple[int, ...] = (0,),
            remaining: list[str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
        try:
            result = terraform(cwd or self.stack_dir(stack), *args, timeout=self.timeout,
                               log=self.log)
        except subprocess.TimeoutExpired:
            raise StackFailed(stack, action, f"terraform {args[0]} timed out after "
                              f"{self.timeout}s (see {self.log})", remaining or []) from None
        if result.returncode not in ok:
            raise StackFailed(stack, action, first_error(result.stdout), remaining or [])
        return result

    def init(self, stack: str, remaining: list[str], cwd: Path | None = None) -> None:
        self.run(stack, "init", "init", "-input=false", "-reconfigure", "-no-color",
                 remaining=remaining, cwd=cwd)

    def _select(self, only: list[str] | None) -> list[str]:
        order = stack_order(self.env.name, self.outdir)
        if only:
            unknown = sorted(set(only) - set(order))
            if unknown:
                raise StackFailed(unknown[0], "selection", f"no such stack in {self.env.name}: "
                                  f"{', '.join(unknown)} (stacks: {', '.join(order)})", [])
            order = [s for s in order if s in only]
        return order

    def deploy(self, only: list[str] | None = None) -> dict[str, dict]:
        """Apply every stack (or ``only`` these, in dependency order) and return their
        non-sensitive outputs."""
        order = self._select(only)
        outputs: dict[str, dict] = {}
        for i, stack in enumerate(order):
            rest = order[i + 1:]
            if self.applied_elsewhere(stack):
                self.say(f"skipped {stack}: applied by a person with its local state "
                         "(docs/runbooks/state.md); the state bucket it creates exists")
                continue
            started = time.monotonic()
            self.init(stack, rest)
            reason = self.plan_only(stack)
            if reason:
                result = self.run(stack, "plan", "plan", "-input=false", "-no-color",
                                  "-lock-timeout=60s", remaining=rest)
                self.say(f"planned {stack} only ({_plan_summary(result.stdout)}): {reason}")
                continue
            saved = None
            if self.env.capabilities.protect_stateful:
                saved = self.guarded_plan(stack, rest)
            if self.auto_approve:
                # With the guard, apply exactly the plan it checked.
                self.run(stack, "apply", "apply", "-input=false", "-no-color",
                         *([saved] if saved else ["-auto-approve"]), remaining=rest)
            else:
                result = terraform(self.stack_dir(stack), "apply", timeout=None,
                                   interactive=True)
                if result.returncode != 0:
                    raise StackFailed(stack, "apply", "apply not confirmed or failed", rest)
            out = self.run(stack, "output", "output", "-json", "-no-color")
            outputs[stack] = {k: v["value"] for k, v in json.loads(out.stdout or "{}").items()
                              if not v.get("sensitive")}
            self.say(f"applied {stack} in {time.monotonic() - started:.0f}s")
            if stack.endswith("-dns") and rest:
                self.check_delegation(stack, outputs[stack], rest)
        return outputs

    def check_delegation(self, stack: str, out: dict, remaining: list[str],
                         resolver=None) -> None:
        """Stop before anything waits on DNS while the created zone is not delegated yet
        (hrsaas/runner/delegation.py); an existing zone or the emulator has nothing to wait
        for."""
        servers = out.get("name_servers") or []
        if self.emulated or not servers or delegation.skipped():
            return
        result = delegation.check(out["domain"], servers,
                                  **({"resolver": resolver} if resolver else {}))
        if not result.ok:
            command = (f"make deploy ENV={self.env.name} CONFIRM={self.env.name}")
            raise StackFailed(stack, "delegation check", result.explain(stack, command),
                              remaining)
        self.say(f"{stack}: {out['domain']} is delegated to the zone")

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
                 remaining=remaining)
        shown = self.run(stack, "plan", "show", "-json", f"{target}.tfplan")
        found = destructive_changes(json.loads(shown.stdout), allowed_from_env())
        if found:
            raise StackFailed(stack, "plan guard", explain([str(f) for f in found]), remaining)
        return f"{target}.tfplan"

    def destroy(self) -> None:
        order = list(reversed(stack_order(self.env.name, self.outdir)))
        for i, stack in enumerate(order):
            if self.plan_only(stack):
                continue
            started = time.monotonic()
            self.init(stack, order[i + 1:])
            if self.emulated:
                self._purge_buckets(stack)
            args = ["destroy", "-input=false", "-no-color"]
            if self.auto_approve:
                args.append("-auto-approve")
            self.run(stack, "destroy", *args, remaining=order[i + 1:])
            self.say(f"destroyed {stack} in {time.monotonic() - started:.0f}s")

    def _purge_buckets(self, stack: str) -> None:
        shown = self.run(stack, "destroy", "show", "-json", "-no-color")
        state = json.loads(shown.stdout or "{}")
        for resource in state.get("values", {}).get("root_module", {}).get("resources", []):
            if resource["type"] == "aws_s3_bucket":
                bucket = resource["values"]["bucket"]
                emulator.purge_bucket(self.env.emulator.endpoint, bucket)

    def plan(self, *, save: bool = True, detailed: bool = False, plans_dir: Path = PLANS,
             only: list[str] | None = None) -> dict[str, int]:
        """Plan every stack (or ``only`` these, still in dependency order); return stack → exit
        code (0 no changes, 2 changes with ``detailed``). With ``save``:
        ``<plans_dir>/<env>/<stack>.tfplan``, its ``show -json``, its text and ``.meta`` (JSON:
        which upstream reads were speculative); a failed stack leaves ``<stack>.error.txt``.

        A stack whose upstream layers have no state yet is planned speculatively
        (hrsaas/runner/speculative.py): unknown values where their outputs will be."""
        codes: dict[str, int] = {}
        order = self._select(only)
        target = plans_dir / self.env.name
        states = StateStore(self.env)
        for i, stack in enumerate(order):
            remaining = order[i + 1:]
            if self.applied_elsewhere(stack, states):
                self.say(f"skipped {stack}: applied by a person with its local state")
                continue
            if save:
                target.mkdir(parents=True, exist_ok=True)
                for stale in target.glob(f"{stack}.*"):
                    stale.unlink()
            try:
                workdir, meta = self._plan_dir(stack, states, target / ".work" / stack)
                self.init(stack, remaining, cwd=workdir)
                args = ["plan", "-input=false", "-no-color", "-lock-timeout=60s"]
                if detailed:
                    args.append("-detailed-exitcode")
                if save:
                    args.append(f"-out={(target / stack).resolve()}.tfplan")
                result = self.run(stack, "plan", *args, ok=(0, 2) if detailed else (0,),
                                  remaining=remaining, cwd=workdir)
                codes[stack] = result.returncode
                if save:
                    shown = self.run(stack, "show", "show", "-json",
                                     f"{(target / stack).resolve()}.tfplan", cwd=workdir)
                    (target / f"{stack}.json").write_text(shown.stdout)
                    (target / f"{stack}.txt").write_text(result.stdout)
                    (target / f"{stack}.meta").write_text(json.dumps(meta, indent=2))
                    if self.env.capabilities.protect_stateful:
                        found = destructive_changes(json.loads(shown.stdout),
                                                    allowed_from_env())
                        if found:
                            raise StackFailed(stack, "plan guard",
                                              explain([str(f) for f in found]), remaining)
            except StackFailed as exc:
                if save:
                    (target / f"{stack}.error.txt").write_text(
                        f"{exc.action} failed: {exc.first_error}\n")
                raise
            note = ""
            if meta["speculative_reads"] or meta["local_backend"]:
                note = " (speculative: " + ", ".join(
                    [*(f"{r} not applied yet" for r in meta["speculative_reads"]),
                     *(["no state bucket yet"] if meta["local_backend"] else [])]) + ")"
            self.say(f"planned {stack}: " + ("no changes" if result.returncode == 0 and detailed
                                              else _plan_summary(result.stdout)) + note)
        return codes

    def _plan_dir(self, stack: str, states: StateStore, work: Path) -> tuple[Path, dict]:
        """Where to plan ``stack``: its synthesized directory, or a speculative copy when
        upstream state (or the state bucket itself) does not exist yet."""
        directory = self.stack_dir(stack)
        spec = json.loads((directory / "cdk.tf.json").read_text())
        backend = spec.get("terraform", {}).get("backend", {})
        local_backend = "s3" in backend and not states.bucket_exists(backend["s3"]["bucket"])
        if local_backend:
            missing = sorted(spec.get("data", {}).get("terraform_remote_state", {}))
        else:
            missing = speculative.missing_producers(spec, states.exists)
        meta = {"stack": stack, "speculative_reads": [m.removeprefix("remote-")
                                                      for m in missing],
                "local_backend": local_backend}
        if not missing and not local_backend:
            return directory, meta
        producers = {
            name: json.loads((self.stack_dir(f"{self.env.name}-{name.removeprefix('remote-')}")
                              / "cdk.tf.json").read_text())
            for name in missing}
        copy = speculative.speculative_stack(
            spec, producers, local_backend=work.resolve() / "terraform.tfstate"
            if local_backend else None)
        return speculative.write_speculative_copy(directory, work, copy), meta


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


def _plan_summary(text: str) -> str:
    match = re.search(r"Plan: .*|No changes\..*", text)
    return match.group(0) if match else "planned"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
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
    parser.add_argument("--plans-dir", type=Path, default=PLANS,
                        help="plan: where plans/<env>/ goes")
    args = parser.parse_args(argv)
    try:
        env = load_environment(args.env)
    except ConfigError as exc:
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
    runner = Runner(env.name, args.outdir, auto_approve=args.auto_approve)
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
            runner.plan(plans_dir=args.plans_dir, only=args.only)
            print(f"plans written to {args.plans_dir / env.name}/")
        else:
            for stack in stack_order(env.name, args.outdir):
                runner.init(stack, [])
                print(stack, runner.run(stack, "output", "output", "-json").stdout)
    except StackFailed as exc:
        print(f"\nFAILED: {exc.action} of stack {exc.stack}: {exc.first_error}", file=sys.stderr)
        if exc.remaining:
            print(f"not attempted (they depend on it or come after it): "
                  f"{', '.join(exc.remaining)}", file=sys.stderr)
        print(f"full terraform output: {runner.log}. Fix the cause and run the same command "
              "again: it resumes from the state.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
