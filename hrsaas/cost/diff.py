"""The cost diff of a pull request's plans: for every ``resource_changes`` entry of the
``terraform show -json`` files ``hrsaas plan`` writes (``plans/<env>/<stack>.json``), the
``before`` (what the state holds) and the ``after`` (what the plan leaves) are priced with the
estimate's pricers, each side as one pool. ``render_cost_section(plans_dir)`` is the Markdown
section the plan-summary comment appends; ``hrsaas cost diff`` prints it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runner.guard import NO_CHANGE, change_kind
from ..toolenv import ROOT
from ..topology import layer_rank
from .fmt import md, rel, signed, usd, whole
from .load import Change, load_plan
from .model import ASSUMPTIONS_FILE, Assumptions, Prices, Resource, to_number
from .pricing import price_all

PLANS = ROOT / "plans"


# --- the diff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mover:
    """A resource whose monthly price the plan moves."""

    stack: str
    address: str
    type: str
    action: str
    before_usd: float
    after_usd: float

    @property
    def delta(self) -> float:
        return self.after_usd - self.before_usd


@dataclass
class EnvDiff:
    """One environment's plans: the monthly total before and after, and what moves it."""

    env: str
    before_usd: float = 0.0
    after_usd: float = 0.0
    movers: list[Mover] = field(default_factory=list)
    not_priced: list[tuple[str, str, str]] = field(default_factory=list)  # stack, address, why
    missing: list[str] = field(default_factory=list)  # stacks without a plan JSON
    planned: int = 0  # stacks with one
    # The monthly cost budget (aws_budgets_budget limit_amount, derived from the estimate by
    # hrsaas/cost/budget.py) as the state holds it and as the plan leaves it; None: none.
    budget_before: float | None = None
    budget_after: float | None = None

    @property
    def delta(self) -> float:
        return self.after_usd - self.before_usd


def _action(actions: Sequence[str]) -> str:
    if set(actions) <= NO_CHANGE:
        return "unchanged"
    return change_kind(actions) or "/".join(actions)


def monthly_budget(resources: Sequence[Resource]) -> float | None:
    """The sum of the monthly COST budgets' ``limit_amount`` among ``resources``, None when
    there is none (or its amount is only known at apply)."""
    amounts = [to_number(r.get("limit_amount")) for r in resources
               if r.type == "aws_budgets_budget" and (r.get("budget_type") or "COST") == "COST"
               and (r.get("time_unit") or "MONTHLY") == "MONTHLY"]
    known = [a for a in amounts if a is not None]
    return sum(known) if known else None


def _plan_folders(plans_dir: Path) -> list[tuple[str, Path]]:
    """(env, folder) of every environment with plans under ``plans_dir`` (or of the one
    environment whose folder it is)."""
    if not plans_dir.is_dir():
        return []

    def has_plans(folder: Path) -> bool:
        return any(folder.glob(f"{folder.name}-*.json")) or any(
            folder.glob(f"{folder.name}-*.error.txt"))

    folders = sorted(p for p in plans_dir.iterdir() if p.is_dir() and has_plans(p))
    if not folders and has_plans(plans_dir):  # the folder of one environment
        folders = [plans_dir]
    return [(folder.name, folder) for folder in folders]


def diff_env(env: str, folder: Path, prices: Prices | None = None,
             assume: Assumptions | None = None) -> EnvDiff:
    """Before and after of every plan of one environment, priced as two pools."""
    prices = prices or Prices.load()
    assume = assume or Assumptions.load(env)
    region = str(assume("default_region"))
    changes: list[Change] = []
    result = EnvDiff(env)
    stacks = {p.stem for p in folder.glob(f"{env}-*.json")}
    stacks |= {p.name.removesuffix(".error.txt") for p in folder.glob(f"{env}-*.error.txt")}
    stacks |= {p.stem for p in folder.glob(f"{env}-*.tfplan")}
    for stack in sorted(stacks, key=lambda s: (layer_rank(s.removeprefix(f"{env}-")), s)):
        path = folder / f"{stack}.json"
        try:
            shown = json.loads(path.read_text())
        except (OSError, ValueError):
            result.missing.append(stack)
            continue
        changes += load_plan(shown, stack, stack.removeprefix(f"{env}-"), region)
        result.planned += 1
    before = price_all([c.before for c in changes if c.before], prices, assume)
    after = price_all([c.after for c in changes if c.after], prices, assume)
    by_before = {p.resource.key: p for p in before}
    by_after = {p.resource.key: p for p in after}
    result.before_usd = sum(p.usd for p in before)
    result.after_usd = sum(p.usd for p in after)
    result.budget_before = monthly_budget([c.before for c in changes if c.before])
    result.budget_after = monthly_budget([c.after for c in changes if c.after])
    for change in changes:
        key = (change.stack, change.address)
        b, a = by_before.get(key), by_after.get(key)
        for side in (a, b):
            if side is not None and side.status == "not priced":
                result.not_priced.append((change.stack, change.address, side.reason))
                break
        mover = Mover(change.stack, change.address, change.type, _action(change.actions),
                      b.usd if b else 0.0, a.usd if a else 0.0)
        if abs(mover.delta) >= 0.005:
            result.movers.append(mover)
    result.movers.sort(key=lambda m: (-abs(m.delta), m.stack, m.address))
    return result


def cost_diff(plans_dir: Path = PLANS) -> list[EnvDiff]:
    """The diff of every environment with plans under ``plans_dir``."""
    return [diff_env(env, folder) for env, folder in _plan_folders(plans_dir)]


# --- the Markdown section -------------------------------------------------------------------------


def _percent(delta: float, before: float) -> str:
    return f" ({delta / before * 100:+.1f} %)" if before >= 0.01 and abs(delta) >= 0.005 else ""


def _budget_cell(d: EnvDiff) -> str:
    """The budget column: ``$1,996`` unchanged, ``$1,996 → $2,010 (+$14.00)`` when the plan
    moves it, ``new: $1,996`` when it creates it, ``–`` without a budget."""
    before, after = d.budget_before, d.budget_after
    if before is None and after is None:
        return "–"
    if before is None:
        return f"new: {whole(after)}"
    if after is None:
        return f"{whole(before)} → removed"
    if abs(after - before) < 0.005:
        return whole(after)
    return f"{whole(before)} → **{whole(after)}** ({signed(after - before)})"


def render_diff(diffs: Sequence[EnvDiff], max_rows: int = 15) -> str:
    prices = Prices.load()
    meta = prices.meta
    out = ["### 💰 Monthly cost (estimate)", ""]
    if not diffs:
        return "\n".join(out + ["_No plan JSON found: no cost diff._", ""])
    out += ["| env | before | after | change | monthly budget |", "|---|---:|---:|---:|---:|"]
    for d in diffs:
        if not d.planned:
            out.append(f"| {d.env} | – | – | no plan JSON | – |")
            continue
        out.append(f"| {d.env} | {usd(d.before_usd)} | {usd(d.after_usd)} | "
                   f"**{signed(d.delta)}**{_percent(d.delta, d.before_usd)} | "
                   f"{_budget_cell(d)} |")
    movers = sorted(((d.env, m) for d in diffs for m in d.movers),
                    key=lambda em: (-abs(em[1].delta), em[0], em[1].address))
    if movers:
        out += ["", "What moves it (largest first):", "",
                "| env | resource | action | before | after | change |",
                "|---|---|---|---:|---:|---:|"]
        for env, m in movers[:max_rows]:
            action = m.action if m.action != "unchanged" else "unchanged (a related change)"
            out.append(f"| {env} | `{m.address}` ({m.stack}) | {action} | {usd(m.before_usd)} "
                       f"| {usd(m.after_usd)} | {signed(m.delta)} |")
        if len(movers) > max_rows:
            rest = sum(m.delta for _, m in movers[max_rows:])
            out.append(f"| | … {len(movers) - max_rows} more | | | | {signed(rest)} |")
    else:
        out += ["", "No resource changes the monthly estimate."]
    not_priced = [(d.env, *n) for d in diffs for n in d.not_priced]
    if not_priced:
        out += ["", f"**Not priced** ({len(not_priced)}, left out of the totals):", ""]
        out += [f"- {env} `{address}` ({stack}): {md(why)}"
                for env, stack, address, why in not_priced[:max_rows]]
        if len(not_priced) > max_rows:
            out.append(f"- … {len(not_priced) - max_rows} more")
    missing = [f"{d.env}: {', '.join(d.missing)}" for d in diffs if d.missing]
    if missing:
        out += ["", f"Stacks without a plan JSON (not counted): {'; '.join(missing)}."]
    out += ["", f"> On-demand list prices from `{rel(prices.path)}` "
            f"({meta.get('prices_as_of', '')}; {meta.get('status', '')}), usage from "
            f"`{rel(ASSUMPTIONS_FILE)}`. Before = what "
            "the state holds, after = what the plan leaves; the monthly budget is the estimate "
            "plus the environment's `budget.margin_percent`, rounded up (it moves with the "
            "estimate in the same plan); `hrsaas cost --env <env>` "
            "prints every line (`--format markdown` adds the guide comparison).", ""]
    return "\n".join(out)


def render_cost_section(plans_dir: Path = PLANS, max_rows: int = 15) -> str:
    """The Markdown section the plan-summary comment appends. A broken price table or plan is
    reported inside the section: the comment is never lost to it."""
    try:
        return render_diff(cost_diff(Path(plans_dir)), max_rows)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return (f"### 💰 Monthly cost (estimate)\n\n_The cost diff failed: "
                f"{md(type(exc).__name__ + ': ' + str(exc))}._\n")


def diff_to_json(diffs: Sequence[EnvDiff]) -> list[dict[str, Any]]:
    """What ``hrsaas cost diff --format json`` prints."""
    return [{
        "env": d.env, "before_usd": round(d.before_usd, 2),
        "after_usd": round(d.after_usd, 2), "delta_usd": round(d.delta, 2),
        "movers": [{"stack": m.stack, "address": m.address, "type": m.type,
                    "action": m.action, "before_usd": round(m.before_usd, 4),
                    "after_usd": round(m.after_usd, 4)} for m in d.movers],
        "budget_before_usd": d.budget_before, "budget_after_usd": d.budget_after,
        "not_priced": [{"stack": s, "address": a, "reason": w} for s, a, w in d.not_priced],
        "missing": d.missing,
    } for d in diffs]
