"""What the GitHub workflows plan, with which role — and what a plan says about drift.

    hrsaas ci --format github >> "$GITHUB_OUTPUT"   # matrix=<json>: per stack
    hrsaas ci --envs prod --per env                  # per environment
    hrsaas ci env prod --format github               # one env's region, roles
    hrsaas ci drift plans/prod --summary "$GITHUB_STEP_SUMMARY"
    hrsaas ci redact plans/prod/prod-data.json      # before uploading it
    hrsaas ci hashes --outdir base/cdktf.out > base-hashes.json   # on the base commit
    hrsaas ci --per env --changed-from base-hashes.json --format github >> "$GITHUB_OUTPUT"

**Matrix.** One entry per stack of every real (non-emulated) environment — ``env``, ``stack``,
``region``, ``account_id``, ``plan_role_arn``, ``apply_role_arn`` — environments in file order,
stacks in dependency order. The order is ``hrsaas.runner.stacks.stack_order`` over a synthesized
``cdktf.out`` (the CI check job synthesizes anyway): it is the order ``make plan``/``make
deploy`` use, built from the dependencies the layers declare, so the matrix cannot disagree with
a deploy — a hand-kept layer list could. Stacks with a local backend (bootstrap: its state is on
the machine of the person who applies it) are left out unless ``--include-local-state``: CI
cannot read their state, so their plan would show everything as new and always look drifted.

**Changed stacks** (``--changed-from BASE``): only the stacks whose synthesized Terraform differs
from the base commit's, plus every stack that depends on one of them (transitively, by the
``dependencies`` of this ``cdktf.out/manifest.json``: a consumer reads its producers' outputs,
so it is re-planned when they may change). ``BASE`` is the base commit's synthesized
``cdktf.out`` or the file ``hrsaas ci hashes`` wrote from it. A stack the base does not have is
changed. What Terraform ignores or what differs between two checkouts of the same code is
normalised away before comparing: ``//`` metadata (construct paths, cdktf's version, output
shapes) and the folder of a local backend's state file. With ``--per env`` each entry also
carries ``stacks`` (space-separated, dependency order) for ``hrsaas plan --env <env> --only …``;
environments with nothing selected are left out, and ``--format github`` adds ``count=<n>``
(the selected stacks) so a workflow can skip planning when it is 0 (an empty matrix is an
error on GitHub).

**Drift** (``drift DIR``): exit 0 when no saved plan in ``DIR`` would change anything (every
``resource_changes`` action is ``no-op`` or ``read``), 1 when one would (the addresses are
printed, and appended as Markdown to ``--summary``), 2 when it cannot tell (no plan, or a stack
whose plan failed).

**Redact** (``redact FILE…``): ``terraform show -json`` prints sensitive values in plain text;
this replaces every value Terraform marks sensitive with ``"(sensitive)"`` in place, keeping the
shape (booleans and nulls stay), so the JSON can be uploaded as an artifact and still scanned.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hrsaas.config import ConfigError, Environment, load_environments
from hrsaas.naming import Names
from hrsaas.runner.guard import NO_CHANGE

from ..runner.stacks import OUTDIR, stack_order

ROLE_KINDS = ("plan", "apply")
REDACTED = "(sensitive)"


class MatrixError(Exception):
    """What the matrix cannot be computed for (exit 2), said with the fix."""


# --- the matrix ----------------------------------------------------------------------------


def ci_role_name(env: Environment, kind: str) -> str:
    """The naming rule lives in hrsaas.naming only: this just asks it."""
    return Names.of(env).ci_role(kind)


def role_arn(env: Environment, kind: str) -> str:
    return f"arn:aws:iam::{env.account_id}:role/{ci_role_name(env, kind)}"


def env_entry(env: Environment) -> dict[str, str]:
    return {"env": env.name, "region": env.region, "account_id": env.account_id,
            **{f"{kind}_role_arn": role_arn(env, kind) for kind in ROLE_KINDS}}


def real_environments(names: Sequence[str] | None = None) -> list[Environment]:
    """The named environments (default: all), refusing emulated ones when named explicitly."""
    envs = load_environments(list(names) if names else None)
    emulated = [e.name for e in envs if e.is_emulated]
    if names and emulated:
        raise MatrixError(f"{', '.join(emulated)}: emulated environment(s) are never planned or "
                         "applied against AWS by the workflows (`make test` covers them)")
    return [e for e in envs if not e.is_emulated]


def has_remote_state(outdir: Path, stack: str) -> bool:
    spec = json.loads((outdir / "stacks" / stack / "cdk.tf.json").read_text())
    return "local" not in spec.get("terraform", {}).get("backend", {})


def plan_matrix(envs: Sequence[Environment], outdir: Path = OUTDIR, *, per: str = "stack",
                include_local_state: bool = False, selected: set[str] | None = None
                ) -> dict[str, list[dict[str, str]]]:
    """``{"include": [...]}`` for ``strategy.matrix``: per stack (needs a synthesized
    ``outdir``) or per environment. ``selected`` (``select_stacks``): only those stacks, and
    per environment only the environments with one, each with its ``stacks``."""
    include: list[dict[str, str]] = []
    for env in envs:
        entry = env_entry(env)
        if per == "env" and selected is None:
            include.append(entry)
            continue
        stacks = [stack for stack in stack_order(env.name, outdir)
                  if (include_local_state or has_remote_state(outdir, stack))
                  and (selected is None or stack in selected)]
        if per == "env":
            if stacks:
                include.append({**entry, "stacks": " ".join(stacks)})
            continue
        include += [{"env": env.name, "stack": stack, **entry} for stack in stacks]
    return {"include": include}


def selected_count(matrix: dict[str, list[dict[str, str]]]) -> int:
    return sum(len(e["stacks"].split()) if "stacks" in e else 1 for e in matrix["include"])


# --- changed stacks ------------------------------------------------------------------------

HASHES_FORMAT = 1


def normalise(spec: Any) -> Any:
    """A synthesized stack without what cannot change a plan or differs between checkouts:
    every ``//`` key (Terraform ignores them: cdktf metadata, construct paths, output shapes)
    and a local backend's absolute folder (the checkout's or HRSAAS_STATE_DIR's path)."""
    if isinstance(spec, dict):
        clean = {k: normalise(v) for k, v in spec.items() if k != "//"}
        local = (clean.get("terraform") or {}).get("backend", {}).get("local") \
            if isinstance(clean.get("terraform"), dict) else None
        if isinstance(local, dict) and isinstance(local.get("path"), str):
            local["path"] = "/".join(Path(local["path"]).parts[-2:])  # <env>/<layer>.tfstate
        return clean
    if isinstance(spec, list):
        return [normalise(v) for v in spec]
    return spec


def stack_hash(path: Path) -> str:
    spec = json.loads(path.read_text())
    canonical = json.dumps(normalise(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def stack_hashes(outdir: Path) -> dict[str, str]:
    """stack → hash of its normalised ``cdk.tf.json``, for every stack of the manifest."""
    manifest = _manifest(outdir)
    return {name: stack_hash(outdir / spec.get("synthesizedStackPath",
                                               f"stacks/{name}/cdk.tf.json"))
            for name, spec in sorted(manifest["stacks"].items())}


def _manifest(outdir: Path) -> dict[str, Any]:
    path = outdir / "manifest.json"
    if not path.is_file():
        raise MatrixError(f"{path} does not exist: synthesize first (`hrsaas synth --outdir "
                          f"{outdir}`)")
    return json.loads(path.read_text())


def base_hashes(base: Path) -> dict[str, str]:
    """The base commit's hashes: from its ``cdktf.out`` folder or a ``hashes`` file."""
    if base.is_dir():
        return stack_hashes(base)
    if not base.is_file():
        raise MatrixError(f"--changed-from {base}: no such folder or file (the base commit's "
                          "cdktf.out, or the output of `hrsaas ci hashes` on it)")
    try:
        data = json.loads(base.read_text())
    except ValueError as exc:
        raise MatrixError(f"--changed-from {base}: not JSON ({exc}); write it with "
                          "`hrsaas ci hashes --outdir <base cdktf.out>`") from None
    if not isinstance(data, dict) or data.get("format") != HASHES_FORMAT \
            or not isinstance(data.get("stacks"), dict):
        raise MatrixError(f"--changed-from {base}: not a hashes file of format {HASHES_FORMAT} "
                          "(write it with `hrsaas ci hashes --outdir <base cdktf.out>`)")
    return {str(k): str(v) for k, v in data["stacks"].items()}


def consumers(outdir: Path) -> dict[str, set[str]]:
    """stack → the stacks that depend on it directly (the manifest's ``dependencies``)."""
    found: dict[str, set[str]] = {}
    for name, spec in _manifest(outdir)["stacks"].items():
        found.setdefault(name, set())
        for dependency in spec.get("dependencies", []):
            found.setdefault(dependency, set()).add(name)
    return found


def changed_stacks(outdir: Path, base: dict[str, str]) -> set[str]:
    """Stacks whose normalised JSON differs from ``base`` (or that ``base`` does not have)."""
    return {name for name, digest in stack_hashes(outdir).items() if base.get(name) != digest}


def select_stacks(outdir: Path, base: dict[str, str]) -> set[str]:
    """The changed stacks and, transitively, every stack that depends on one of them."""
    edges = consumers(outdir)
    selected, queue = set(), sorted(changed_stacks(outdir, base))
    while queue:
        stack = queue.pop()
        if stack not in selected:
            selected.add(stack)
            queue.extend(edges.get(stack, ()))
    return selected


# --- drift ---------------------------------------------------------------------------------


def changed_resources(plan: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(address, actions) of every resource the plan would change."""
    return [(rc["address"], rc["change"]["actions"]) for rc in plan.get("resource_changes", [])
            if not set(rc["change"]["actions"]) <= NO_CHANGE]


def drift_report(plans_dir: Path) -> tuple[int, str]:
    """(exit code, Markdown report) for the saved plans of one environment."""
    env = plans_dir.name
    plans = sorted(plans_dir.glob("*.json"))
    failed = {p.name.removesuffix(".error.txt"): p.read_text().strip()
              for p in sorted(plans_dir.glob("*.error.txt"))}
    drifted = {p.stem: found for p in plans
               if (found := changed_resources(json.loads(p.read_text())))}
    lines = [f"## Drift in {env}", ""]
    if drifted:
        count = sum(len(found) for found in drifted.values())
        lines += [f"{count} resource(s) in {len(drifted)} of {len(plans)} planned stack(s) "
                  "differ from the code (a plan would change them):", "",
                  "| stack | address | actions |", "|---|---|---|"]
        lines += [f"| {stack} | `{address}` | {', '.join(actions)} |"
                  for stack, found in drifted.items() for address, actions in found]
    elif plans:
        lines.append(f"No drift: {len(plans)} planned stack(s) match the code.")
    else:
        lines.append(f"No saved plan in {plans_dir}: nothing was compared.")
    if failed:
        lines += ["", "Could not plan (drift unknown there):", ""]
        lines += [f"- {stack}: {error}" for stack, error in failed.items()]
    code = 1 if drifted else 2 if failed or not plans else 0
    return code, "\n".join(lines) + "\n"


# --- redaction -----------------------------------------------------------------------------


def _blank(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return value if value is None or isinstance(value, bool) else REDACTED


def _mask(value: Any, sensitive: Any) -> Any:
    """``value`` with what the sensitivity mask (Terraform's ``*_sensitive`` shape) marks."""
    if sensitive is True:
        return _blank(value)
    if isinstance(sensitive, dict) and isinstance(value, dict):
        return {k: _mask(v, sensitive.get(k, False)) for k, v in value.items()}
    if isinstance(sensitive, list) and isinstance(value, list):
        return [_mask(v, sensitive[i] if i < len(sensitive) else False)
                for i, v in enumerate(value)]
    return value


def _redact_change(change: dict[str, Any]) -> None:
    for side in ("before", "after"):
        if side in change:
            change[side] = _mask(change[side], change.get(f"{side}_sensitive", False))


def _redact_values(values: dict[str, Any] | None) -> None:
    """A state/planned-values representation: outputs, and modules' resources."""
    if not values:
        return
    for output in values.get("outputs", {}).values():
        if output.get("sensitive") and "value" in output:
            output["value"] = _blank(output["value"])
    modules = [values.get("root_module") or {}]
    while modules:
        module = modules.pop()
        for resource in module.get("resources", []):
            if "values" in resource:
                resource["values"] = _mask(resource["values"],
                                           resource.get("sensitive_values", {}))
        modules.extend(module.get("child_modules", []))


def redact_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """Replace every sensitive value of a ``terraform show -json`` plan, in place."""
    for rc in [*plan.get("resource_changes", []), *plan.get("resource_drift", [])]:
        _redact_change(rc.get("change", {}))
    for change in plan.get("output_changes", {}).values():
        _redact_change(change)
    _redact_values(plan.get("planned_values"))
    _redact_values((plan.get("prior_state") or {}).get("values"))
    declared = plan.get("configuration", {}).get("root_module", {}).get("variables", {})
    for name, variable in plan.get("variables", {}).items():
        if declared.get(name, {}).get("sensitive") and "value" in variable:
            variable["value"] = _blank(variable["value"])
    return plan


# --- command line --------------------------------------------------------------------------


def _write(entry: dict[str, Any], fmt: str, key: str | None = None) -> None:
    if fmt == "json":
        print(json.dumps(entry, indent=2))
    elif key:  # one output holding compact JSON
        print(f"{key}={json.dumps(entry, separators=(',', ':'))}")
    else:  # one output per field
        for name, value in entry.items():
            print(f"{name}={value}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in ("env", "drift", "redact", "hashes") \
        else "matrix"
    parser = argparse.ArgumentParser(prog=f"hrsaas ci {command}",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    if command in ("matrix", "env"):
        parser.add_argument("--format", choices=["json", "github"], default="json",
                            help="github: key=value lines for $GITHUB_OUTPUT")
    if command == "matrix":
        parser.add_argument("--envs", default="",
                            help="comma-separated environments (default: every real one)")
        parser.add_argument("--per", choices=["stack", "env"], default="stack")
        parser.add_argument("--outdir", type=Path, default=OUTDIR,
                            help="the synthesized cdktf.out (per stack)")
        parser.add_argument("--include-local-state", action="store_true",
                            help="also stacks with a local backend (bootstrap)")
        parser.add_argument("--changed-from", type=Path, default=None, metavar="BASE",
                            help="only stacks whose synthesized JSON differs from BASE (the "
                            "base commit's cdktf.out, or `hrsaas ci hashes` of it) and their "
                            "consumers")
    elif command == "hashes":
        parser.add_argument("--outdir", type=Path, default=OUTDIR,
                            help="the synthesized cdktf.out to fingerprint")
    elif command == "env":
        parser.add_argument("name")
    elif command == "drift":
        parser.add_argument("plans_dir", type=Path, help="plans/<env>")
        parser.add_argument("--summary", type=Path, help="append the Markdown report here")
    else:
        parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        if command == "matrix":
            envs = real_environments([n for n in args.envs.split(",") if n])
            selected = None if args.changed_from is None else select_stacks(
                args.outdir, base_hashes(args.changed_from))
            matrix = plan_matrix(envs, args.outdir, per=args.per,
                                 include_local_state=args.include_local_state,
                                 selected=selected)
            _write(matrix, args.format, key="matrix")
            if selected is not None:
                count = selected_count(matrix)
                if args.format == "github":
                    print(f"count={count}")
                print(f"{count} stack(s) selected: changed since {args.changed_from}, or "
                      "depending on a changed stack", file=sys.stderr)
        elif command == "hashes":
            print(json.dumps({"format": HASHES_FORMAT, "stacks": stack_hashes(args.outdir)},
                             indent=2))
        elif command == "env":
            [env] = real_environments([args.name])
            _write(env_entry(env), args.format)
    except (ConfigError, MatrixError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if command == "drift":
        code, report = drift_report(args.plans_dir)
        print(report, end="")
        if args.summary:
            with args.summary.open("a") as fh:
                fh.write(report)
        return code
    if command == "redact":
        for path in args.files:
            path.write_text(json.dumps(redact_plan(json.loads(path.read_text()))))
            print(f"redacted sensitive values in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
