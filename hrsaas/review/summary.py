"""Render every plan of a run into one Markdown comment for the pull request.

    hrsaas summary                  # plans/ → reports/plan-summary.md
    hrsaas summary plans --scan reports/plans/scan_summary.json
    hrsaas summary plans/prod --out summary.md --limit 65536
    hrsaas summary --run-url "$RUN_URL"   # in CI: link the run's artifacts
    hrsaas summary --sha "$HEAD_SHA" --base-suppressions base-suppressions.toml
    hrsaas summary --sha "$HEAD_SHA" --plans-result failure   # the plan job saved nothing

Reads the layout ``hrsaas plan --env <env>`` writes: ``plans/<env>/`` holds per
stack ``<stack>.tfplan``, ``<stack>.json`` (``terraform show -json``) and ``<stack>.txt`` (the
plan text); a stack whose plan failed has ``<stack>.error.txt`` (its first error) instead of the
JSON. A folder of one environment (``plans/prod``) works too. Stacks are listed in the order
the plans run (the dependency order of ``cdktf.out/manifest.json``, ``--outdir``), else
alphabetically. The optional ``--scan`` file is the checkov gate's verdict over the plans
(``hrsaas.gate.checkov --framework terraform_plan``); stacks it does not name show "not scanned".

The comment, in this order: a hidden marker (a workflow finds and updates its sticky comment by
it), the commit and the run (``--sha``/``--run-url``, else GitHub's ``GITHUB_SHA`` and run
variables), the verdict, the plans the destroy guard refused with every refused address (red:
the runner saved their JSON, then wrote ``<stack>.error.txt`` with ``plan guard failed: …``),
every DESTROY and REPLACE (what a reviewer must not miss), the consumers whose inputs change
(their ``.meta`` ``planned_inputs``: hrsaas/runner/speculative.py), the checkov suppressions the
change adds (``--base-suppressions``: hrsaas/review/suppressions.py), one table per
environment (add / change / destroy / replace, checkov, status), the checkov failures, and each
stack's plan text folded in ``<details>``. A run whose plan job saved no plan
(``--plans-result failure|cancelled|skipped|unchanged``) gets a comment saying so for its commit,
so the sticky comment never keeps an older commit's result.

It stays under GitHub's comment limit (65,536 characters): the plan texts are cut first, the
largest first (state refresh progress before any change), with a note that the full plans are
in the workflow's artifacts. The destroy/replace list and the tables are never dropped; only a
list too long for any comment keeps the rows that fit and counts the rest.

Exit 0 when the summary is written, whatever the plans contain (it is a report, not a gate);
exit 2 when the plans folder holds no plan (and no ``--plans-result`` says why) or a suppression
file cannot be read.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrsaas.runner.guard import change_kind

from ..cost import render_cost_section
from ..runner.stacks import OUTDIR, PLANS, stack_order
from ..toolenv import ROOT
from .suppressions import SuppressionsError
from .suppressions import read_file as read_suppressions
from .suppressions import section as suppressions_section

MARKER = "<!-- hr-saas-plan-summary -->"
GITHUB_LIMIT = 65536  # characters of one issue or pull-request comment
DEFAULT_OUT = ROOT / "reports" / "plan-summary.md"
SUPPRESSIONS = ROOT / "checkov" / "suppressions.toml"
KINDS = ("add", "change", "destroy", "replace")


# Terraform's action_reason, in words a reviewer reads without the docs.
REASONS = {
    "replace_because_tainted": "tainted",
    "replace_by_request": "-replace requested",
    "replace_by_triggers": "replace_triggered_by",
    "delete_because_no_resource_config": "removed from the configuration",
    "delete_because_no_module": "its module was removed",
    "delete_because_wrong_repetition": "count/for_each changed",
    "delete_because_count_index": "count index gone",
    "delete_because_each_key": "for_each key gone",
    "delete_because_no_move_target": "moved block without target",
}

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Terraform's progress lines before the plan itself ("<address>: Refreshing state... [id=…]").
PROGRESS = re.compile(r"^\S.*?: (Refreshing state\.\.\.|Reading\.\.\.|Still reading\.\.\.|"
                      r"Read complete after )")
CELL_ERROR_CHARS = 160  # a failed stack's first error, in its table cell


@dataclass(frozen=True)
class Destructive:
    """One destroy or replace: what reviewers must see."""

    env: str
    stack: str
    address: str
    action: str  # "destroy" or "replace"
    why: str


@dataclass
class StackPlan:
    """What the comment shows of one stack's plan."""

    env: str
    stack: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    destructive: list[Destructive] = field(default_factory=list)
    outputs_only: bool = False  # no resource changes, but output values change
    speculative: list[str] = field(default_factory=list)  # upstream layers read as unknown
    no_state_bucket: bool = False  # planned from an empty local state (no bucket yet)
    text: str = ""  # the plan text (or, for a failed plan, whatever text there is)
    error: str | None = None  # the first error of a failed plan
    refused: list[str] = field(default_factory=list)  # what the destroy guard refused
    changed_inputs: dict[str, list[str]] = field(default_factory=dict)  # producer → outputs

    @property
    def guard_refused(self) -> bool:
        """The plan itself succeeded, but the destroy guard (hrsaas/runner/guard.py) refused
        it: it would destroy or replace stateful resources."""
        return bool(self.refused)

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def changed(self) -> bool:
        return any(self.counts.values())

    @property
    def status(self) -> str:
        if self.guard_refused:
            what = _plural(len(self.refused), "stateful resource")
            return f"❌ refused by the destroy guard: {what} would be destroyed or replaced"
        if self.error is not None:
            return f"failed: {self.error}"
        if self.changed:
            status = "changes"
        else:
            status = "changes (outputs only)" if self.outputs_only else "no changes"
        return status + (f" · {self.caveat}" if self.caveat else "")

    @property
    def caveat(self) -> str:
        """Why the plan's values are partly unknown (hrsaas/runner/speculative.py), or ''."""
        reasons = [f"{', '.join(self.speculative)} not applied yet"] if self.speculative else []
        reasons += ["no state bucket yet"] if self.no_state_bucket else []
        reasons += [f"{', '.join(self.changed_inputs)} outputs change in this plan"
                    ] if self.changed_inputs else []
        return f"speculative: {'; '.join(reasons)}" if reasons else ""


# --- reading ------------------------------------------------------------------------------


def count_changes(plan: dict[str, Any], env: str, stack: str
                  ) -> tuple[dict[str, int], list[Destructive]]:
    """Counts per kind and every destroy/replace of one ``terraform show -json`` plan."""
    counts = dict.fromkeys(KINDS, 0)
    found: list[Destructive] = []
    for rc in plan.get("resource_changes") or []:
        change = rc.get("change") or {}
        kind = change_kind(change.get("actions") or ())
        if kind is None:  # no-op, read, forget
            continue
        counts[kind] += 1
        if kind in ("destroy", "replace"):
            why = _why(rc.get("action_reason"), change.get("replace_paths"))
            found.append(Destructive(env, stack, str(rc.get("address", "?")), kind, why))
    return counts, found


def _why(reason: str | None, replace_paths: list[list[str | int]] | None) -> str:
    if replace_paths and reason in (None, "replace_because_cannot_update"):
        return "forces replacement: " + ", ".join(_path(p) for p in replace_paths)
    if reason is None:
        return ""
    return REASONS.get(reason, reason)


def _path(steps: Iterable[str | int]) -> str:
    """``["ingress", 0, "cidr"]`` → ``ingress[0].cidr``."""
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _stack_names(folder: Path) -> set[str]:
    """The stacks of one environment's folder (hidden work folders aside)."""
    names = set()
    for path in folder.iterdir():
        if not path.is_file():
            continue
        if path.name.endswith(".error.txt"):
            names.add(path.name.removesuffix(".error.txt"))
        elif path.suffix in (".json", ".txt", ".tfplan"):
            names.add(path.stem)
    return names


def load_stack(folder: Path, env: str, stack: str) -> StackPlan:
    """One stack's plan from its files; a missing or unreadable JSON is a failed plan."""
    plan = StackPlan(env, stack)
    text_file, error_file = folder / f"{stack}.txt", folder / f"{stack}.error.txt"
    json_file = folder / f"{stack}.json"
    if text_file.is_file():
        plan.text = text_file.read_text(errors="replace")
    if error_file.is_file():
        error = error_file.read_text(errors="replace").strip()
        # hrsaas.runner.stacks writes "<action> failed: <first error>"; "plan failed" says nothing
        # the status does not (an init or plan-guard failure keeps its action).
        plan.error = _one_line(error).removeprefix("plan failed: ") or "(no error message)"
        plan.text = plan.text or error
        plan.refused = refused_addresses(error)
        if not plan.refused:
            return plan
        # A guard refusal: the plan itself succeeded and its JSON was saved before the guard
        # read it (hrsaas.runner.stacks), so the counts and the destroy list are real.
        if not json_file.is_file():
            plan.destructive = [Destructive(env, stack, address, action, "refused by the "
                                            "destroy guard") for address, action in
                                _refusals(error)]
            return plan
    if not json_file.is_file():
        plan.error = f"no plan JSON ({stack}.json)"
        return plan
    try:
        shown = json.loads(json_file.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        plan.error = f"unreadable plan JSON ({stack}.json): {exc}"
        return plan
    if shown.get("errored") and plan.error is None:
        plan.error = "the saved plan is marked as errored"
    plan.counts, plan.destructive = count_changes(shown, env, stack)
    plan.outputs_only = any(
        tuple((oc or {}).get("actions") or ()) not in ((), ("no-op",))
        for oc in (shown.get("output_changes") or {}).values())
    meta_file = folder / f"{stack}.meta"  # hrsaas.runner.stacks: which reads were speculative
    if meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text())
        except ValueError:
            meta = {}
        plan.speculative = [str(s) for s in meta.get("speculative_reads") or []]
        plan.no_state_bucket = bool(meta.get("local_backend"))
        plan.changed_inputs = {str(k): [str(o) for o in v] for k, v in
                               (meta.get("planned_inputs") or {}).items() if v}
    return plan


# hrsaas.runner.guard.explain: "refusing the plan: …" then one "  - <address> (<what>) would be
# destroyed|replaced" line per resource (hrsaas.runner.guard.Destruction.__str__).
GUARD_PREFIX = "plan guard failed:"
GUARD_LINE = re.compile(r"^\s*-\s+(?:\S+: )?(\S+) \(.*\) would be (destroyed|replaced)\s*$")


def _refusals(error: str) -> list[tuple[str, str]]:
    """(address, "destroy"|"replace") of each resource a guard refusal names."""
    if not error.startswith(GUARD_PREFIX):
        return []
    found = []
    for line in ANSI.sub("", error).splitlines():
        match = GUARD_LINE.match(line)
        if match:
            found.append((match.group(1), "destroy" if match.group(2) == "destroyed"
                          else "replace"))
    return found


def refused_addresses(error: str) -> list[str]:
    """The addresses in a ``<stack>.error.txt`` the destroy guard wrote (else [])."""
    return [address for address, _ in _refusals(error)]


def stack_rank(env: str, outdir: Path | None) -> dict[str, int]:
    """Position of each of the env's stacks in the order the plans run (the manifest's
    dependency order); empty when there is no manifest or it does not know the env."""
    if outdir is None:
        return {}
    try:
        return {name: i for i, name in enumerate(stack_order(env, outdir))}
    except (SystemExit, OSError, ValueError, KeyError):
        return {}


def load_plans(plans_dir: Path, outdir: Path | None = OUTDIR) -> list[StackPlan]:
    """Every stack's plan under ``plans_dir`` (``<env>/<stack>.*``, or one env's folder), by
    environment name, then in manifest order (stacks it does not know last, alphabetically)."""
    if not plans_dir.is_dir():
        return []
    folders = sorted(p for p in plans_dir.iterdir()
                     if p.is_dir() and not p.name.startswith(".") and _stack_names(p))
    if not folders and _stack_names(plans_dir):  # the folder of one environment
        folders = [plans_dir]
    plans: list[StackPlan] = []
    for folder in folders:
        env = folder.name
        rank = stack_rank(env, outdir)
        names = sorted(_stack_names(folder), key=lambda s: (rank.get(s, len(rank)), s))
        plans += [load_stack(folder, env, stack) for stack in names]
    return plans


def load_scan(path: Path) -> dict[str, Any]:
    """The checkov gate's scan_summary.json."""
    scan = json.loads(path.read_text())
    if not isinstance(scan, dict) or not isinstance(scan.get("stacks", {}), dict):
        raise ValueError(f"{path}: not a scan summary (no 'stacks' object)")
    return scan


# --- rendering ----------------------------------------------------------------------------


def _one_line(text: str) -> str:
    lines = [line.strip() for line in ANSI.sub("", text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _cell(text: str, limit: int | None = None) -> str:
    """Text safe inside a Markdown table cell."""
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _totals(plans: Sequence[StackPlan]) -> dict[str, int]:
    return {kind: sum(p.counts[kind] for p in plans) for kind in KINDS}


def checkov_cell(stack: str, scan: dict[str, Any] | None) -> str:
    counts = (scan or {}).get("stacks", {}).get(stack)
    if not counts:
        return "not scanned"
    failed, passed = int(counts.get("failed", 0)), int(counts.get("passed", 0))
    suppressed = int(counts.get("suppressed", 0))
    if failed:
        return f"❌ {failed} failed"
    return f"✅ {passed} passed" + (f" ({suppressed} suppressed)" if suppressed else "")


def _scan_verdict(scan: dict[str, Any] | None) -> str:
    if scan is None:
        return "checkov: not scanned"
    if scan.get("ok"):
        return "checkov: ✅ passed"
    failures, problems = len(scan.get("failures") or []), len(scan.get("problems") or [])
    stale = len(scan.get("stale") or [])
    parts = [_plural(failures, "failure") if failures else "",
             _plural(stale, "stale suppression") if stale else "",
             _plural(problems, "problem") if problems else ""]
    return "checkov: ❌ failed" + (f" ({', '.join(p for p in parts if p)})" if any(parts) else "")


def verdict(plans: Sequence[StackPlan], scan: dict[str, Any] | None) -> str:
    """The one line under the heading."""
    refused = [p for p in plans if p.guard_refused]
    failed = [p for p in plans if p.failed and not p.guard_refused]
    totals = _totals(plans)
    envs = {p.env for p in plans}
    scan_failed = scan is not None and not scan.get("ok")
    if refused:
        icon, head = "❌", (f"the destroy guard refused {_plural(len(refused), 'plan')}: "
                            f"{sum(len(p.refused) for p in refused)} stateful resource(s) "
                            "would be destroyed or replaced")
        head += f"; {_plural(len(failed), 'other plan')} failed" if failed else ""
    elif failed:
        icon, head = "❌", f"{_plural(len(failed), 'plan')} failed"
    elif totals["destroy"] or totals["replace"]:
        icon, head = "⚠️", (f"{totals['destroy']} to destroy and {totals['replace']} to replace: "
                            "review them below")
    elif any(p.changed or p.outputs_only for p in plans):
        icon, head = "✅", "changes to apply, nothing destroyed or replaced"
    else:
        icon, head = "✅", "no changes"
    if scan_failed:
        icon = "❌"
    counted = ", ".join(f"{totals[k]} to {k}" for k in KINDS)
    return (f"{icon} **{head}** · {_plural(len(plans), 'stack')} in "
            f"{_plural(len(envs), 'environment')}: {counted} · {_scan_verdict(scan)}")


def guard_section(plans: Sequence[StackPlan]) -> str:
    """The plans the destroy guard refused, with every refused address: first in the comment
    (after the verdict), red, never cut. Empty when the guard refused nothing."""
    refused = [p for p in plans if p.guard_refused]
    if not refused:
        return ""
    count = sum(len(p.refused) for p in refused)
    lines = [f"### ❌ Refused by the destroy guard ({count})", "",
             "These plans would destroy or replace stateful resources "
             "(`capabilities.protect_stateful`): nothing is applied until the change keeps "
             "them, or each address is allowed deliberately after a snapshot "
             "(an entry in `envs/base/allow-destroy.toml`, reviewed in its own PR; "
             "docs/runbooks/deploy.md).", "",
             "| resource | env | stack |", "|---|---|---|"]
    lines += [f"| {_cell(_code(address))} | {p.env} | {p.stack} |"
              for p in refused for address in p.refused]
    return "\n".join(lines)


def inputs_section(plans: Sequence[StackPlan]) -> str:
    """Consumers whose inputs change: a producer planned in the same run changes (or cannot
    yet know) outputs they read, so their plans read those outputs as unknown
    (hrsaas/runner/speculative.py). Empty when no consumer's inputs change."""
    affected = [p for p in plans if p.changed_inputs]
    if not affected:
        return ""
    lines = [f"### 🔗 Consumers whose inputs change ({len(affected)})", "",
             "Their plans read these producer outputs as *known after apply*: the values "
             "change with this plan, so what the consumer does with them is settled at apply.",
             "", "| consumer | env | producer outputs that change |", "|---|---|---|"]
    for p in affected:
        reads = "; ".join(f"{producer}: {', '.join(outputs)}"
                          for producer, outputs in p.changed_inputs.items())
        lines.append(f"| {p.stack} | {p.env} | {_cell(reads)} |")
    return "\n".join(lines)


def run_line(sha: str | None, run_url: str | None) -> str:
    """Which commit these plans are of, and the run that made them ('' when neither is
    known: a local run)."""
    parts = [f"Plans of commit {_code(sha[:12])}"] if sha else []
    if run_url:
        parts.append(f"[workflow run]({run_url})")
    return " · ".join(parts)


def destructive_section(plans: Sequence[StackPlan], max_rows: int | None = None) -> str:
    """Every destroy and replace, first after the verdict. ``max_rows`` only ever applies when
    the list alone would break the comment limit: the rest is then counted, not hidden."""
    found = [r for p in plans for r in p.destructive]
    failed = [p.stack for p in plans if p.failed and not p.guard_refused]
    lines = [f"### {'⚠️' if found else '✅'} Destroy and replace ({len(found)})", ""]
    if not found:
        lines.append("Nothing is destroyed or replaced.")
    else:
        lines += ["| action | resource | env | stack | why |", "|---|---|---|---|---|"]
        shown = found if max_rows is None else found[:max_rows]
        for r in shown:
            action = "**DESTROY**" if r.action == "destroy" else "**REPLACE**"
            lines.append(f"| {action} | {_cell(_code(r.address))} | {r.env} | {r.stack} | "
                         f"{_cell(r.why)} |")
        if len(shown) < len(found):
            rest = found[len(shown):]
            lines += ["", f"…and {len(rest)} more ({sum(r.action == 'destroy' for r in rest)} "
                          f"destroy, {sum(r.action == 'replace' for r in rest)} replace) that "
                          "do not fit in one comment: the full plans are in the workflow "
                          "artifacts."]
    if failed:
        lines += ["", f"Not known for the failed plan(s) of {', '.join(failed)}: what they "
                      "would destroy or replace shows once they plan."]
    return "\n".join(lines)


def tables(plans: Sequence[StackPlan], scan: dict[str, Any] | None) -> str:
    """One table per environment, stacks in the order the plans were loaded."""
    blocks = []
    for env in dict.fromkeys(p.env for p in plans):
        rows = ["| stack | add | change | destroy | replace | checkov | status |",
                "|---|---:|---:|---:|---:|---|---|"]
        for p in (p for p in plans if p.env == env):
            counts = ["–"] * 4 if p.failed and not p.changed else [str(p.counts[k])
                                                                   for k in KINDS]
            status = ("failed: " + _cell(p.error or "", CELL_ERROR_CHARS)
                      if p.failed and not p.guard_refused else p.status)
            rows.append(f"| {p.stack} | {' | '.join(counts)} | "
                        f"{checkov_cell(p.stack, scan)} | {status} |")
        blocks.append(f"### {env}\n\n" + "\n".join(rows))
    return "\n\n".join(blocks)


def scan_failures(scan: dict[str, Any] | None, max_rows: int = 50) -> str:
    """The checkov failures no suppression covers (empty when there are none)."""
    failures = (scan or {}).get("failures") or []
    if not failures:
        return ""
    lines = [f"### ❌ checkov failures ({len(failures)})", "",
             "| stack | check | resource |", "|---|---|---|"]
    for f in failures[:max_rows]:
        lines.append(f"| {_cell(str(f.get('stack', '?')))} | {_cell(str(f.get('check_id', '?')))}"
                     f" | {_cell(_code(str(f.get('resource', '?'))))} |")
    if len(failures) > max_rows:
        lines += ["", f"…and {len(failures) - max_rows} more in the scan reports."]
    return "\n".join(lines)


def neutralise_fences(text: str) -> str:
    """Plan text that cannot close the ```text fence around it: a zero-width space between
    backticks breaks every run of three or more, and ANSI colour codes are dropped."""
    text = ANSI.sub("", text)
    return re.sub(r"`{3,}", lambda m: "\u200b".join(m.group()), text)


def _summary_line(p: StackPlan) -> str:
    if p.guard_refused:
        state = "refused by the destroy guard"
    elif p.failed:
        state = "plan failed"
    elif p.changed:
        state = ", ".join(f"{p.counts[k]} to {k}" for k in KINDS if p.counts[k])
        state += f" ({p.caveat})" if p.caveat else ""
    else:
        state = p.status
    return html.escape(f"{p.stack}: {state}")


def details(p: StackPlan, text: str) -> str:
    return (f"<details><summary>{_summary_line(p)}</summary>\n\n```text\n{text}\n```\n\n"
            "</details>")


def truncate_text(text: str, cap: int) -> str:
    """``text`` in at most ``cap`` characters (about: the markers are estimated). The state
    refresh progress goes first (it says nothing about the change), then the end is cut at a
    line boundary; markers say what is missing and where the full plan is."""
    if len(text) <= cap:
        return text
    lines = text.splitlines()
    kept = [line for line in lines if not PROGRESS.match(line)]
    head: list[str] = []
    if len(kept) < len(lines):
        head.append(f"… {len(lines) - len(kept)} lines of state refresh not shown (the full "
                    "plan is in the workflow artifacts)")
    condensed = "\n".join(head + kept)
    if len(condensed) <= cap:
        return condensed
    marker = "… {} more lines not shown: the full plan is in the workflow artifacts"
    room = cap - len(marker.format(len(kept))) - 1
    body = condensed[: max(room, 0)]
    body = body[: body.rfind("\n")] if "\n" in body else ""  # whole lines only
    shown = body.count("\n") + 1 - len(head) if body else 0
    return (f"{body}\n" if body else "") + marker.format(len(kept) - max(shown, 0))


def fit_caps(lengths: Sequence[int], budget: int) -> int | None:
    """The largest cap with sum(min(length, cap)) <= budget: the largest texts are cut first
    and to the same size, smaller ones stay whole. None: everything fits uncut."""
    if sum(lengths) <= budget:
        return None
    remaining, count = budget, len(lengths)
    for length in sorted(lengths):
        if length * count > remaining:
            return max(remaining // count, 0)
        remaining -= length
        count -= 1
    return max(remaining, 0)  # not reached: the sum was over budget


def render(plans: Sequence[StackPlan], scan: dict[str, Any] | None = None,
           limit: int = GITHUB_LIMIT, run_url: str | None = None, cost: str = "", *,
           sha: str | None = None, suppressions: str = "", incomplete: str | None = None
           ) -> str:
    """The whole comment, at most ``limit`` characters (unless the destroy/replace list and
    the tables alone are longer: they are never dropped). ``cost`` (hrsaas/cost/'s section)
    goes right after the tables, so cutting plan texts never drops it. ``sha`` and
    ``run_url`` name the commit and the run under the heading; ``suppressions`` is the
    section of checkov suppressions the change adds (hrsaas/review/suppressions.py);
    ``incomplete`` is how the run's plan job ended when it did not succeed."""
    where = f"[the workflow artifacts]({run_url})" if run_url else "the workflow artifacts"
    head_parts = [MARKER, "## Terraform plan summary",
                  *[line for line in (run_line(sha, run_url),) if line], verdict(plans, scan)]
    if incomplete:
        head_parts.append(f"> ❌ The plan job of this run ended **{incomplete}**: stacks "
                          "without a row below were not planned for this commit.")
    head_parts += [s for s in (guard_section(plans),) if s]
    head = "\n\n".join(head_parts)
    middle = [s for s in (inputs_section(plans), suppressions) if s]
    failures = scan_failures(scan)
    texts = [neutralise_fences(p.text).strip("\n") or "(no plan text)" for p in plans]

    def compose(listing: str, bodies: list[str] | None, note: str) -> str:
        parts = [head, listing, *middle, tables(plans, scan)]
        parts += [cost] if cost else []
        parts += [failures] if failures else []
        if bodies is not None:
            parts.append("### Plans" + (f"\n\n{note}" if note else ""))
            parts += [details(p, body) for p, body in zip(plans, bodies, strict=True)]
        elif note:
            parts.append(f"### Plans\n\n{note}")
        return "\n\n".join(parts) + "\n"

    listing = destructive_section(plans)
    full = compose(listing, texts, "")
    if len(full) <= limit:
        return full

    # 1. Cut the plan texts, the largest first, until the comment fits.
    note = (f"> ✂️ Plan texts are cut to fit GitHub's {limit:,}-character comment limit (the "
            f"largest first): the full plans are in {where}.")
    empty = compose(listing, [""] * len(plans), note)
    budget = limit - len(empty)
    for _ in range(4):  # the cut markers' length is estimated: correct by what is left over
        cap = fit_caps([len(t) for t in texts], budget)
        if cap is None or cap <= 0:
            break
        out = compose(listing, [truncate_text(t, cap) for t in texts], note)
        if len(out) <= limit:
            return out
        budget -= len(out) - limit
    # 2. No room for any plan text: the blocks go, the note stays.
    note = (f"> ✂️ The plan texts do not fit in GitHub's {limit:,}-character comment limit: "
            f"the full plans are in {where}.")
    out = compose(listing, None, note)
    if len(out) <= limit:
        return out
    # 3. The destroy/replace list alone is too long: keep as many rows as fit, count the rest.
    rows = sum(len(p.destructive) for p in plans)
    low, high = 0, rows
    while low < high:  # the most rows that still fit
        mid = (low + high + 1) // 2
        if len(compose(destructive_section(plans, mid), None, note)) <= limit:
            low = mid
        else:
            high = mid - 1
    return compose(destructive_section(plans, low), None, note)


# --- command line -------------------------------------------------------------------------


# How a run's plan job can end (GitHub's ``needs.<job>.result``), and "unchanged": the
# selection (``hrsaas ci --changed``) found no stack to plan.
PLAN_RESULTS = ("success", "failure", "cancelled", "skipped", "unchanged")


def render_not_planned(result: str, sha: str | None, run_url: str | None) -> str:
    """The comment of a run that saved no plan: it replaces the previous run's comment, so a
    reviewer never reads an older commit's plans as this one's."""
    commit = _code(sha[:12]) if sha else "this commit"
    if result == "unchanged":
        line = (f"✅ **Nothing to plan for {commit}**: no stack's synthesized Terraform differs "
                "from the base branch, so no plan was made.")
    else:
        words = {"failure": "failed", "cancelled": "were cancelled",
                 "skipped": "were skipped", "success": "saved no plan"}.get(result, result)
        line = (f"❌ **The plans for {commit} {words}**: there is no plan result for this "
                "commit. The result of an earlier commit is not shown, because it no longer "
                "describes this change" + (f"; see the [workflow run]({run_url})." if run_url
                                           else "."))
    head = [MARKER, "## Terraform plan summary", run_line(sha, run_url)]
    return "\n\n".join([part for part in head if part] + [line]) + "\n"


def github_run_url(environ: dict[str, str] | None = None) -> str | None:
    """The Actions run's URL from GitHub's default variables, when all three are set."""
    env = os.environ if environ is None else environ
    parts = [env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0].rstrip('/')}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas summary", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plans_dir", nargs="?", type=Path, default=PLANS,
                        help="plans/ (one folder per environment) or one environment's folder")
    parser.add_argument("--scan", type=Path, default=None,
                        help="the checkov verdict over the plans (reports/plans/scan_summary.json)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the Markdown file")
    parser.add_argument("--limit", type=int, default=GITHUB_LIMIT,
                        help="maximum characters of the comment (GitHub: 65536)")
    parser.add_argument("--outdir", type=Path, default=OUTDIR,
                        help="the synthesized cdktf.out whose manifest orders the stacks")
    parser.add_argument("--run-url", default=None,
                        help="the Actions run's URL, linked under the heading and for 'the "
                        "workflow artifacts' (default: from GITHUB_SERVER_URL, "
                        "GITHUB_REPOSITORY and GITHUB_RUN_ID when set)")
    parser.add_argument("--sha", default=None,
                        help="the commit the plans are of (default: GITHUB_SHA; on a pull "
                        "request pass the head commit, github.event.pull_request.head.sha)")
    parser.add_argument("--plans-result", choices=PLAN_RESULTS, default=None,
                        help="how the run's plan job ended (needs.<job>.result; 'unchanged': "
                        "no stack was selected). Not 'success' and no plan saved: the comment "
                        "says the plans for --sha failed/were skipped instead of exiting 2")
    parser.add_argument("--suppressions", type=Path, default=SUPPRESSIONS,
                        help="the change's checkov/suppressions.toml")
    parser.add_argument("--base-suppressions", type=Path, default=None,
                        help="the base branch's checkov/suppressions.toml (e.g. from `git show "
                        "origin/main:checkov/suppressions.toml`; a path that does not exist "
                        "means the file is new): the comment lists the suppressions added")
    parser.add_argument("--no-cost", action="store_true",
                        help="leave out the cost section (hrsaas/cost/'s plan diff)")
    args = parser.parse_args(argv)
    sha = args.sha or os.environ.get("GITHUB_SHA") or None
    run_url = args.run_url or github_run_url()

    plans = load_plans(args.plans_dir, args.outdir)
    if not plans and args.plans_result not in (None, "success"):
        text = render_not_planned(args.plans_result, sha, run_url)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"no plans ({args.plans_result}): notice for {sha or 'this commit'} written to "
              f"{args.out}")
        return 0
    if not plans:
        print(f"no plans in {args.plans_dir}: expected <env>/<stack>.json (or .error.txt) as "
              "`make plan ENV=<env>` writes them (in CI, pass --plans-result with the plan "
              "job's result to write the comment that says none were made)", file=sys.stderr)
        return 2
    added = ""
    if args.base_suppressions is not None:
        try:
            added = suppressions_section(
                read_suppressions(args.suppressions, missing_ok=False),
                read_suppressions(args.base_suppressions, missing_ok=True))
        except SuppressionsError as exc:
            print(f"{exc}", file=sys.stderr)
            return 2
    scan = None
    if args.scan is not None:
        try:
            scan = load_scan(args.scan)
        except (OSError, ValueError) as exc:
            # A missing verdict must not hide the plans: the table says "not scanned".
            print(f"warning: no checkov verdict read from {args.scan} ({exc}); every stack "
                  "shows 'not scanned'", file=sys.stderr)
    cost = "" if args.no_cost else render_cost_section(args.plans_dir)
    incomplete = args.plans_result if args.plans_result not in (None, "success",
                                                                "unchanged") else None
    text = render(plans, scan, args.limit, run_url, cost=cost, sha=sha, suppressions=added,
                  incomplete=incomplete)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if len(text) > args.limit:
        print(f"warning: {len(text)} characters, over the limit of {args.limit}: the "
              "verdict and the tables alone are that long", file=sys.stderr)
    print(f"plan summary of {_plural(len(plans), 'stack')} written to {args.out} "
          f"({len(text):,} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
