"""Apply exactly the plans a person reviewed: saved plans, their fingerprints, the apply step.

    hrsaas plan-fingerprints plans --comment            # the hidden block for the PR comment
    hrsaas plan-fingerprints --from-comment body.md --out reviewed.json
    hrsaas plan-fingerprints plans --against reviewed.json   # merge queue: still the same?
    hrsaas apply-plan --env prod --plans-dir plans --reviewed reviewed.json --confirm prod
    hrsaas apply-plan --env prod --plans-dir plans --reviewed reviewed.json --check

The flow (dflook/terraform-github-actions' terraform-apply is the model): a plan job saves each
stack's plan (``hrsaas plan --no-lock``: ``<stack>.tfplan`` and its ``show -json``) and renders
them where the approver sees them; the apply job, after the approval, applies **those files**.
It refuses, saying why, when

* a plan **differs from the one reviewed on the pull request**: each plan has a fingerprint —
  the SHA-256 of what it would do, normalized: per changed resource its address, actions and the
  attributes that change (sensitive values masked, as the reviewer saw them), and the changed
  outputs; refreshed attributes that do not change do not count, so a plan made later of the
  same change has the same fingerprint. The PR comment carries the fingerprints in a hidden
  block; a stack with changes that the reviewed plans do not show, or show differently, is
  refused (dflook compares a hash of the plan text the same way). All of this is checked for
  every stack **before anything is applied**;
* a plan is **stale**: Terraform itself refuses a saved plan whose state changed after it was
  made ("Saved plan is stale"); that stack stops with the reason, its dependents are skipped;
* a producer applied in this run **changed outputs** the stack reads: its saved plan read the
  old values, so it is held back rather than applied with them (and not compared with the
  review, which showed those inputs as unknown); the next run plans it against the new ones;
* the plan was speculative (upstream layers not applied yet), failed, or is missing, or the
  destroy guard refuses it (the allow-list file, hrsaas/runner/guard.py).

Stacks whose plan changes nothing are not applied. Stacks run along the dependency graph as in
``hrsaas deploy``; each apply waits for the state lock (``-lock-timeout``). A failed apply whose
state Terraform could not save leaves ``errored.tfstate``: it is copied next to the plan as
``<stack>.errored.tfstate`` (docs/runbooks/state.md says how to push it).
Exit codes: 0 applied (or nothing to do), 1 refused or failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError, load_environment
from . import signals
from .graph import Outcome
from .guard import AllowListError, allowed, destructive_changes, load_allow_list
from .stacks import (
    OUTDIR,
    PLANS,
    Runner,
    StackFailed,
    _counts,
    _report_failure,
    first_error,
    preflight,
    terraform,
)

COMMENT_MARKER = "hr-saas-plan-fingerprints"
COMMENT_BLOCK = re.compile(r"<!--\s*" + COMMENT_MARKER + r"\s+(\{.*?\})\s*-->", re.S)
REMOTE_READ = re.compile(r"data\.terraform_remote_state\.remote-([\w-]+)\.outputs\.(\w+)")
NO_CHANGE = (["no-op"], ["read"])  # a data source read at apply time changes nothing


# --- fingerprints --------------------------------------------------------------------------


def _masked(plan: dict) -> dict:
    """The plan as a reviewer sees it: sensitive values masked (hrsaas ci redact's rule)."""
    from ..review.ci_matrix import redact_plan

    return redact_plan(copy.deepcopy(plan))


def _changed_attributes(change: dict) -> dict[str, Any]:
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return {"before": before, "after": after}
    keys = sorted(set(before) | set(after) | set(unknown))
    return {k: [before.get(k), after.get(k), unknown.get(k, False)] for k in keys
            if before.get(k) != after.get(k) or unknown.get(k)}


def normalized(plan: dict) -> dict[str, Any]:
    """What a plan would do, without what does not change."""
    plan = _masked(plan)
    resources = []
    for rc in plan.get("resource_changes", []):
        change = rc.get("change", {})
        actions = change.get("actions", [])
        if actions in NO_CHANGE:
            continue
        entry: dict[str, Any] = {"address": rc["address"], "actions": actions}
        if "delete" not in actions or "create" in actions:
            entry["changes"] = _changed_attributes(change)
        if change.get("replace_paths"):
            entry["replace_paths"] = change["replace_paths"]
        resources.append(entry)
    outputs = {name: {"actions": c.get("actions"), "before": c.get("before"),
                      "after": c.get("after"), "after_unknown": c.get("after_unknown", False)}
               for name, c in sorted((plan.get("output_changes") or {}).items())
               if c.get("actions") != ["no-op"]}
    return {"resources": sorted(resources, key=lambda r: r["address"]), "outputs": outputs}


def fingerprint(plan: dict) -> str:
    text = json.dumps(normalized(plan), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def has_changes(plan: dict) -> bool:
    shape = normalized(plan)
    return bool(shape["resources"] or shape["outputs"])


def changed_outputs(plan: dict) -> set[str]:
    return set(normalized(plan)["outputs"])


def plan_files(plans_dir: Path) -> dict[str, Path]:
    """stack → its ``show -json`` file, in ``plans_dir`` or its ``<env>/`` folders."""
    found = {}
    for path in sorted([*plans_dir.glob("*.json"), *plans_dir.glob("*/*.json")]):
        if path.parent.name == ".work" or path.name == "reviewed.json":
            continue
        found[path.stem] = path
    return found


def fingerprints(plans_dir: Path) -> dict[str, str]:
    return {stack: fingerprint(json.loads(path.read_text()))
            for stack, path in plan_files(plans_dir).items()}


def comment_block(prints: dict[str, str], commit: str | None = None) -> str:
    """The hidden block a PR comment carries (invisible in the rendered comment)."""
    body = {"commit": commit, "plans": prints}
    return f"<!-- {COMMENT_MARKER} {json.dumps(body, sort_keys=True)} -->"


def from_comment(text: str) -> dict[str, Any]:
    """``{"commit": …, "plans": {stack: fingerprint}}`` from a comment's hidden block."""
    match = COMMENT_BLOCK.search(text)
    if match is None:
        raise ValueError(f"no <!-- {COMMENT_MARKER} … --> block in the comment: the PR's plans "
                         "were made by an older workflow, or failed; push again to re-plan")
    return json.loads(match.group(1))


def compare(current: dict[str, dict], reviewed: dict[str, str]) -> list[str]:
    """Why plans (stack → plan JSON) are not the reviewed ones (stack → fingerprint)."""
    problems = []
    for stack, plan in current.items():
        if not has_changes(plan):
            continue
        mine = fingerprint(plan)
        if stack not in reviewed:
            problems.append(f"{stack}: its plan changes resources, but the plans reviewed on "
                            "the pull request did not plan this stack")
        elif reviewed[stack] != mine:
            problems.append(f"{stack}: the plan differs from the one reviewed on the pull "
                            f"request (reviewed {reviewed[stack][:19]}…, now {mine[:19]}…): "
                            "the state or main changed since the review")
    return problems


# --- the apply step ------------------------------------------------------------------------


@dataclass
class SavedPlan:
    stack: str
    tfplan: Path
    plan: dict


def _reads(stack_dir: Path) -> dict[str, set[str]]:
    """Producer layer → the outputs this stack reads from it."""
    found: dict[str, set[str]] = {}
    for layer, output in REMOTE_READ.findall((stack_dir / "cdk.tf.json").read_text()):
        found.setdefault(layer, set()).add(output)
    return found


class Refused(Exception):
    """Plans that must not be applied (nothing was): one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def check(runner: Runner, plans_dir: Path, reviewed: dict[str, str] | None,
          only: list[str] | None = None) -> list[SavedPlan]:
    """Every stack's saved plan, checked before anything is applied; raises ``Refused``."""
    env = runner.env
    folder = plans_dir / env.name
    graph = runner.graph(only)
    problems: list[str] = []
    saved: list[SavedPlan] = []
    for stack in graph.order:
        tfplan, shown = folder / f"{stack}.tfplan", folder / f"{stack}.json"
        error = folder / f"{stack}.error.txt"
        if error.exists():
            problems.append(f"{stack}: its plan failed: {error.read_text().strip()}")
            continue
        if not tfplan.exists() or not shown.exists():
            spec = json.loads((runner.stack_dir(stack) / "cdk.tf.json").read_text())
            if "local" in spec.get("terraform", {}).get("backend", {}) and not only:
                continue  # bootstrap: a person applies it with its local state
            problems.append(f"{stack}: no saved plan ({tfplan} and {shown.name}): plan it with "
                            f"`hrsaas plan --env {env.name}` first")
            continue
        meta_file = folder / f"{stack}.meta"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        if meta.get("speculative_reads") or meta.get("local_backend"):
            problems.append(f"{stack}: its plan is speculative (planned before "
                            f"{', '.join(meta.get('speculative_reads') or ['the state bucket'])}"
                            " existed) and cannot be applied: deploy the upstream layers first")
            continue
        plan = json.loads(shown.read_text())
        if env.capabilities.protect_stateful:
            found = destructive_changes(plan, allowed(env.name, stack))
            problems += [f"{stack}: refused by the destroy guard: {item}" for item in found]
        saved.append(SavedPlan(stack, tfplan, plan))
    if reviewed is not None:
        # A consumer of outputs that a producer of this run changes: the PR showed those inputs
        # as unknown, so its plan cannot match; it is held back after the producer's apply
        # (apply_saved) and planned again by the next run, whose plans the approvers review.
        held = held_consumers(runner, {s.stack: s.plan for s in saved})
        problems += compare({s.stack: s.plan for s in saved if s.stack not in held}, reviewed)
    if problems:
        raise Refused(problems)
    return saved


def held_consumers(runner: Runner, plans: dict[str, dict]) -> dict[str, str]:
    """Stacks that read outputs another planned stack changes → why (producer: outputs)."""
    graph, env, held = runner.graph(), runner.env.name, {}
    for stack in plans:
        for layer, outputs in _reads(runner.stack_dir(stack)).items():
            producer = f"{env}-{layer}"
            if producer in plans and producer in graph.deps.get(stack, ()) and \
                    (changed := sorted(outputs & changed_outputs(plans[producer]))):
                held[stack] = f"{producer} changes outputs this stack reads ({', '.join(changed)})"
    return held


def apply_saved(runner: Runner, plans_dir: Path, reviewed: dict[str, str] | None,
                only: list[str] | None = None, parallelism: int | None = None) -> None:
    """Check every saved plan, then apply them along the graph (``StackFailed`` on failure)."""
    saved = {s.stack: s for s in check(runner, plans_dir, reviewed, only)}
    graph = runner.graph(only).select(list(saved))
    full = runner.graph()
    applied: set[str] = set()
    env = runner.env.name

    def work(stack: str) -> Outcome:
        item = saved[stack]
        if not has_changes(item.plan):
            runner.after_apply(stack)  # a rotated secret changes the security stack only
            return Outcome("no changes", "nothing to apply")
        stack_dir = runner.stack_dir(stack)
        for layer, outputs in _reads(stack_dir).items():
            producer = f"{env}-{layer}"
            if producer in applied and producer in full.deps.get(stack, ()) and \
                    (changed := sorted(outputs & changed_outputs(saved[producer].plan))):
                raise StackFailed(stack, "apply", (
                    f"{producer} changed outputs this stack reads ({', '.join(changed)}): its "
                    "saved plan read the old values, so it was not applied. Plan again (re-run "
                    "the deploy workflow) and review the new plan"), [])
        runner.ensure_init(stack)
        errored = stack_dir / "errored.tfstate"
        errored.unlink(missing_ok=True)
        try:
            result = terraform(stack_dir, "apply", "-input=false", "-no-color",
                               f"-lock-timeout={runner.lock_timeout}",
                               str(item.tfplan.resolve()), timeout=runner.timeout,
                               log=runner.log)
        except signals.Stopping as exc:
            raise StackFailed(stack, "apply", str(exc), []) from None
        if result.returncode != 0:
            text = result.stdout
            if "Saved plan is stale" in text:
                reason = ("the saved plan is stale: the state of this stack changed after it "
                          "was planned (another apply or a state edit), so Terraform refused "
                          "it and nothing was applied. Plan again (re-run the deploy workflow) "
                          "and review the new plan")
            else:
                reason = first_error(text)
            if errored.exists():
                kept = plans_dir / env / f"{stack}.errored.tfstate"
                shutil.copy2(errored, kept)
                reason += (f" — Terraform could not save the state: it is in {kept}; push it "
                           "before anything else runs (docs/runbooks/state.md)")
            raise StackFailed(stack, "apply", reason, [])
        applied.add(stack)
        runner.after_apply(stack)
        return Outcome("applied", _counts(result.stdout))

    runner._execute("apply-plan", "applying", graph, work, parallelism)


# --- command line --------------------------------------------------------------------------


def _load_reviewed(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    data = json.loads(path.read_text())
    return data.get("plans", data) if isinstance(data, dict) else {}


def fingerprints_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hrsaas plan-fingerprints", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plans_dir", nargs="?", type=Path, default=PLANS,
                        help="plans/ or plans/<env>/ (the show -json files)")
    parser.add_argument("--comment", action="store_true",
                        help="print the hidden block for the PR comment")
    parser.add_argument("--commit", default=None, help="the commit the plans are of")
    parser.add_argument("--from-comment", type=Path, metavar="FILE",
                        help="read the block from a comment body instead of plans")
    parser.add_argument("--against", type=Path, metavar="REVIEWED",
                        help="exit 1 unless the plans match these reviewed fingerprints")
    parser.add_argument("--out", type=Path, help="write the fingerprints (JSON) here")
    args = parser.parse_args(argv)
    if args.from_comment:
        try:
            data = from_comment(args.from_comment.read_text())
        except (OSError, ValueError) as exc:
            print(f"{args.from_comment}: {exc}", file=sys.stderr)
            return 2
    else:
        files = plan_files(args.plans_dir)
        if not files:
            print(f"no plans in {args.plans_dir}: expected <env>/<stack>.json", file=sys.stderr)
            return 2
        data = {"commit": args.commit, "plans": fingerprints(args.plans_dir)}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    if args.against:
        current = {s: json.loads(p.read_text()) for s, p in plan_files(args.plans_dir).items()}
        problems = compare(current, _load_reviewed(args.against) or {})
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"{len(current)} plan(s) match the reviewed plans")
        return 0
    if args.comment:
        print(comment_block(data["plans"], data.get("commit")))
    elif not args.out:
        print(json.dumps(data, indent=2, sort_keys=True))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas apply-plan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True)
    parser.add_argument("--plans-dir", type=Path, default=PLANS,
                        help="holds <env>/<stack>.{tfplan,json,meta} (hrsaas plan)")
    parser.add_argument("--outdir", type=Path, default=OUTDIR,
                        help="the synthesized cdktf.out the plans were made from")
    parser.add_argument("--reviewed", type=Path,
                        help="the fingerprints reviewed on the pull request (JSON; "
                        "hrsaas plan-fingerprints --from-comment); without it, the plans "
                        "themselves are what was approved")
    parser.add_argument("--only", action="append", metavar="STACK",
                        help="only this stack's plan (repeatable)")
    parser.add_argument("--confirm", default=None,
                        help="the environment's name: required for a real one")
    parser.add_argument("--check", action="store_true",
                        help="only check the plans (nothing is applied; no credentials)")
    parser.add_argument("--parallelism", type=int, default=None, metavar="N")
    args = parser.parse_args(argv)
    try:
        env = load_environment(args.env)
        load_allow_list()
        reviewed = _load_reviewed(args.reviewed)
    except (ConfigError, AllowListError) as exc:
        print(exc, file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"--reviewed {args.reviewed}: {exc}", file=sys.stderr)
        return 2
    if not args.check:
        problem = preflight(env, "deploy", args.confirm)
        if problem:
            print(f"stopped before anything ran: {problem}", file=sys.stderr)
            return 2
    runner = Runner(env.name, args.outdir, auto_approve=True, parallelism=args.parallelism)
    if reviewed is None:
        print("no reviewed fingerprints given: applying the saved plans as they are")
    try:
        if args.check:
            saved = check(runner, args.plans_dir, reviewed, args.only)
            changing = [s.stack for s in saved if has_changes(s.plan)]
            print(f"{len(saved)} saved plan(s) can be applied"
                  + (f"; {len(changing)} change something: {', '.join(changing)}"
                     if changing else "; none changes anything"))
            return 0
        signals.install()  # a cancelled job stops terraform gracefully (no lock left)
        apply_saved(runner, args.plans_dir, reviewed, args.only, args.parallelism)
    except Refused as exc:
        print("refusing to apply; nothing was applied:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    except StackFailed as exc:
        if runner.last_result is not None and exc.result is runner.last_result:
            print("\n" + runner.last_result.table(), flush=True)
        _report_failure(runner, exc)
        return 1
    except KeyboardInterrupt:
        if runner.last_result is not None:
            print("\n" + runner.last_result.table(), flush=True)
        print("interrupted: terraform was stopped gracefully; run the workflow again "
              "(docs/runbooks/state.md if a lock is left)", file=sys.stderr)
        return 130
    if runner.last_result is not None:
        print("\n" + runner.last_result.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
