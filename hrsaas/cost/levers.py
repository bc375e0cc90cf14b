"""Priced design levers (``hrsaas cost --env prod --levers``): what each lever saves against the
current design, with its trade-off in one line, and the finance owner's question — can the
guide's production capability (its sizes, Multi-AZ and replica) run within the guide's own
§13 total? — answered with the cheapest combination of the levers that keep that capability.

A lever re-prices the resources it touches from the estimate's own resources, price table and
assumptions (no second list of what runs): Fargate Spot and a Compute Savings Plan change the
price of an ECS service's tasks, reservations and Valkey the price of database instances and
cache nodes, one AZ the interface endpoints' hours, the Infrequent Access class the log
groups' ingestion, Container Insights off the cluster's metrics and logs. Levers on the same
resource combine as AWS bills them: a Savings Plan covers only the tasks left on demand by
Spot, Valkey reservations are Valkey's reserved rate.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .estimate import Estimate, compare_guide, estimate, guide_total
from .fmt import md, signed, usd
from .load import OUTDIR
from .model import CATEGORIES, COST_DIR, GUIDE_FILE, NotPriced, Priced, load_toml
from .pricing import (
    CACHE_ENGINES,
    Ctx,
    Pool,
    _subnet_count,
    cache_nodes,
    running_number,
    task_definition,
)


@dataclass(frozen=True)
class Lever:
    key: str
    title: str
    trade_off: str
    keeps_capability: bool  # keeps the guide's sizes, Multi-AZ and replica
    why: str  # why it keeps (or does not keep) the guide's capability
    # Breaks the capability only where the environment is Multi-AZ (an mvp-shaped environment
    # has one NAT gateway and a single-AZ data tier: one AZ of endpoints loses nothing more).
    multi_az_only: bool = False


LEVERS: tuple[Lever, ...] = (
    Lever("spot", "Fargate Spot for medium and low priority services",
          "a reclaim (2-minute notice) stops a task until ECS replaces it: a one-task medium or "
          "low service is briefly down; high-priority services stay on demand",
          True, "the guide's own cost principle (§1: Fargate Spot); task sizes and counts "
          "unchanged"),
    Lever("fargate_savings_plan", "Compute Savings Plan for Fargate (1 year, no upfront)",
          "a 1-year commitment to an hourly spend: unused commitment is still billed",
          True, "a billing commitment: nothing runs differently"),
    Lever("rds_reserved", "1-year reserved RDS instances (no upfront)",
          "locks the instance class and region for a year (size-flexible within the family)",
          True, "the guide's own cost principle (§1: reserved instances); same class, Multi-AZ"),
    Lever("cache_reserved", "1-year reserved ElastiCache nodes (no upfront)",
          "locks the node type and engine family for a year",
          True, "the guide's own cost principle (§1: reserved instances); same nodes"),
    Lever("valkey", "ElastiCache for Valkey instead of Redis OSS",
          "an engine change (in place, Redis OSS 7 compatible); test the client library "
          "against Valkey first",
          True, "same node type, primary + replica and failover"),
    Lever("endpoints_one_az", "Interface endpoints in one AZ",
          "an outage of that AZ cuts image pulls, logs and secrets for the tasks of every AZ; "
          "cross-AZ traffic to the endpoints is billed",
          False, "only in a single-AZ environment (mvp: one NAT gateway, a single-AZ data "
          "tier); in a Multi-AZ one it gives up the private network path's Multi-AZ",
          multi_az_only=True),
    Lever("logs_infrequent_access", "Log groups in the Infrequent Access class",
          "no metric or subscription filters, no Live Tail; Logs Insights queries only; the "
          "class is set at creation (the log groups are replaced, their history with them)",
          True, "logs are kept and queryable; nothing in the guide reads them live"),
    Lever("container_insights_off", "Container Insights off",
          "no task-level metrics or performance logs: the running-task alarms of the "
          "observability layer read Container Insights and lose their data (the ALB's "
          "healthy-host count and AWS/ECS service CPU/memory stay, free)",
          True, "sizes, Multi-AZ and replica unchanged; the guide does not ask for it"),
)
BY_KEY = {lever.key: lever for lever in LEVERS}
# The priorities whose services the Spot lever moves (the catalog's `priority`, a tag on the
# ECS service).
SPOT_PRIORITIES = ("medium", "low")


# --- one resource under a set of levers -----------------------------------------------------------


def _categories(item: Priced) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    if item.status == "priced":
        for c in item.components:
            out[c.category] += c.usd
    return out


def _component(item: Priced, what: str) -> float:
    return sum(c.usd for c in item.components if c.what == what)


def _ecs_service(ctx: Ctx, item: Priced, levers: Collection[str]) -> dict[str, float]:
    out = _categories(item)
    r = item.resource
    td = task_definition(ctx.pool, r)
    tasks, _ = running_number(r, "desired_count")
    if td is None or tasks is None:
        return out
    arch = (td.block("runtime_platform").get("cpu_architecture") or "X86_64").upper()
    vcpu, gib = (td.number("cpu") or 0.0) / 1024, (td.number("memory") or 0.0) / 1024

    def per_task(cpu_key: str, mem_key: str) -> float:
        return (vcpu * ctx.prices.region(r.region, "fargate", cpu_key, arch)
                + gib * ctx.prices.region(r.region, "fargate", mem_key, arch)) * ctx.hours

    tags = r.get("tags") or {}
    priority = tags.get("Priority") if isinstance(tags, dict) else None
    spot = tasks if "spot" in levers and priority in SPOT_PRIORITIES else 0.0
    on_demand = tasks - spot
    od_rate = (per_task("savings_plan_1y_vcpu_hour", "savings_plan_1y_gib_hour")
               if "fargate_savings_plan" in levers else per_task("vcpu_hour", "gib_hour"))
    new = on_demand * od_rate + (spot * per_task("spot_vcpu_hour", "spot_gib_hour")
                                 if spot else 0.0)
    out["fargate"] += new - _component(item, "tasks")
    return out


def _db_instance(item: Priced, levers: Collection[str]) -> dict[str, float]:
    out = _categories(item)
    if "rds_reserved" in levers:
        reserved = [a.usd for a in item.alternatives if a.kind == "reserved"]
        if reserved:
            out["rds"] += reserved[0] - item.usd
    return out


def _cache(ctx: Ctx, item: Priced, levers: Collection[str]) -> dict[str, float]:
    out = _categories(item)
    r = item.resource
    if not ({"valkey", "cache_reserved"} & set(levers)):
        return out
    engine, nodes, _ = cache_nodes(r)
    engine = "valkey" if "valkey" in levers else engine
    key = "node_ri_1y_hour" if "cache_reserved" in levers else "node_hour"
    hourly = ctx.prices.region(r.region, "elasticache", CACHE_ENGINES[engine] + key,
                               r.get("node_type"))
    out["elasticache"] += nodes * hourly * ctx.hours - _component(item, "nodes")
    return out


def _endpoint(ctx: Ctx, item: Priced, levers: Collection[str]) -> dict[str, float]:
    out = _categories(item)
    if "endpoints_one_az" in levers:
        azs, _ = _subnet_count(ctx, item.resource, "subnet_ids")
        if azs > 1:
            out["vpc_endpoints"] -= _component(item, "endpoint hours") * (azs - 1) / azs
    return out


def _filtered(ctx: Ctx, item: Priced) -> bool:
    """Whether a metric or subscription filter reads the log group (the Infrequent Access
    class supports neither)."""
    r = item.resource
    bare = r.address.split("[")[0]
    for rtype in ("aws_cloudwatch_log_metric_filter", "aws_cloudwatch_log_subscription_filter"):
        for f in ctx.pool.of_type(rtype):
            if bare in f.refs.get("log_group_name", ()) or (
                    r.get("name") and f.get("log_group_name") == r.get("name")):
                return True
    return False


def _log_group(ctx: Ctx, item: Priced, levers: Collection[str]) -> dict[str, float]:
    out = _categories(item)
    klass = item.resource.get("log_group_class") or "STANDARD"
    if "logs_infrequent_access" in levers and klass == "STANDARD" and not _filtered(ctx, item):
        for c in item.components:
            if c.what == "ingestion":
                out[c.category] -= c.usd * 0.5  # Infrequent Access ingests at half the rate
    return out


def _cluster(item: Priced, levers: Collection[str]) -> dict[str, float]:
    out = _categories(item)
    if "container_insights_off" in levers:
        for c in item.components:
            if c.what.startswith("Container Insights"):
                out[c.category] -= c.usd
    return out


def _under(ctx: Ctx, item: Priced, levers: Collection[str]) -> dict[str, float]:
    """The item's monthly price per category with ``levers`` applied."""
    if item.status != "priced" or not levers:
        return _categories(item)
    rtype = item.resource.type
    if rtype == "aws_ecs_service":
        return _ecs_service(ctx, item, levers)
    if rtype == "aws_db_instance":
        return _db_instance(item, levers)
    if rtype == "aws_elasticache_replication_group":
        return _cache(ctx, item, levers)
    if rtype == "aws_vpc_endpoint":
        return _endpoint(ctx, item, levers)
    if rtype == "aws_cloudwatch_log_group":
        return _log_group(ctx, item, levers)
    if rtype == "aws_ecs_cluster":
        return _cluster(item, levers)
    return _categories(item)


# --- the estimate under levers --------------------------------------------------------------------


class LeverError(ValueError):
    """An unknown lever, or a lever the price table cannot price."""


def _ctx(est: Estimate) -> Ctx:
    return Ctx(est.prices, est.assume, Pool([i.resource for i in est.items]))


def categories_with(est: Estimate, levers: Collection[str]) -> dict[str, float]:
    """Cost category → monthly total with ``levers`` applied together."""
    unknown = sorted(set(levers) - set(BY_KEY))
    if unknown:
        raise LeverError(f"unknown lever(s) {', '.join(unknown)}: the levers are "
                         f"{', '.join(BY_KEY)}")
    ctx = _ctx(est)
    out: dict[str, float] = defaultdict(float)
    for item in est.items:
        try:
            for category, value in _under(ctx, item, levers).items():
                out[category] += value
        except NotPriced as exc:
            raise LeverError(f"{item.resource.address}: {exc}") from exc
    return dict(out)


def total_with(est: Estimate, levers: Collection[str]) -> float:
    """The monthly total with ``levers`` applied together."""
    return sum(categories_with(est, levers).values())


@dataclass(frozen=True)
class PricedLever:
    lever: Lever
    saving: float  # USD/month against the current design (this lever alone)
    total: float  # the design's total with this lever alone


def multi_az(est: Estimate) -> bool:
    """Whether the environment runs its data tier in two AZs (a Multi-AZ database or a cache
    with automatic failover)."""
    return any(i.resource.get("multi_az") is True for i in est.items
               if i.resource.type == "aws_db_instance") or any(
        i.resource.get("automatic_failover_enabled") is True for i in est.items
        if i.resource.type == "aws_elasticache_replication_group")


def keeps_capability(lever: Lever, est: Estimate) -> bool:
    """Whether the lever keeps the guide's capability in this environment."""
    return lever.keeps_capability or (lever.multi_az_only and not multi_az(est))


def price_levers(est: Estimate) -> list[PricedLever]:
    """Each lever alone against the current design, in ``LEVERS`` order."""
    return [PricedLever(lever, est.total - (t := total_with(est, {lever.key})), t)
            for lever in LEVERS]


def cheapest(est: Estimate, allowed: Sequence[str], categories: Collection[str] | None = None
             ) -> tuple[tuple[str, ...], float]:
    """The combination of ``allowed`` levers with the lowest total (of ``categories`` only, when
    given), found by trying every combination; ties go to the fewer levers."""
    best: tuple[tuple[str, ...], float] | None = None
    for size in range(len(allowed) + 1):
        for combo in itertools.combinations(allowed, size):
            cats = categories_with(est, combo)
            value = sum(v for c, v in cats.items() if categories is None or c in categories)
            if best is None or value < best[1] - 0.005:
                best = (combo, value)
    assert best is not None
    return best


# --- the guide's total: can its capability run within it? -----------------------------------------


@dataclass(frozen=True)
class GuideLine:
    resource: str
    guide_usd: float | None  # None: a line of ours the guide does not have
    now_usd: float
    after_usd: float  # with the combination


@dataclass(frozen=True)
class GuideAnswer:
    guide_total: float
    combination: tuple[str, ...]
    design_now: float
    design_after: float  # the whole design with the combination
    lines: list[GuideLine]

    @property
    def guide_lines_after(self) -> float:
        """The guide's own lines (its sizes, Multi-AZ and replica) with the combination."""
        return sum(line.after_usd for line in self.lines if line.guide_usd is not None)

    @property
    def fits(self) -> bool:
        """Whether the whole design runs within the guide's total with the combination."""
        return self.design_after <= self.guide_total + 0.005

    @property
    def guide_lines_fit(self) -> bool:
        """Whether the lines the guide's table prices fit its total with the combination."""
        return self.guide_lines_after <= self.guide_total + 0.005

    @property
    def unpriced_by_guide(self) -> float:
        """The lines the guide's table does not have, with the combination."""
        return sum(line.after_usd for line in self.lines if line.guide_usd is None)

    @property
    def over(self) -> list[GuideLine]:
        """The lines above the guide's figure with the combination (a line the guide does not
        have is over by all of it), largest excess first."""
        return sorted((line for line in self.lines
                       if line.after_usd > (line.guide_usd or 0.0) + 0.005),
                      key=lambda line: (line.guide_usd or 0.0) - line.after_usd)


def guide_answer(est: Estimate) -> GuideAnswer | None:
    """The cheapest capability-keeping combination, priced line by line against the env's
    §13 column; None when the env has no guide column."""
    total = guide_total(est)
    title, rows = compare_guide(est)
    if total is None or not rows:
        return None
    allowed = [lever.key for lever in LEVERS if keeps_capability(lever, est)]
    combination, _ = cheapest(est, allowed)
    now, after = est.categories(), categories_with(est, combination)
    column = load_toml(GUIDE_FILE)["columns"][str(est.assume("guide_column"))]
    lines, covered = [], set()
    for line in column["lines"]:
        cats = line.get("categories", [])
        covered.update(cats)
        lines.append(GuideLine(line["resource"], float(line["usd"]),
                               sum(now.get(c, 0.0) for c in cats),
                               sum(after.get(c, 0.0) for c in cats)))
    for cat in CATEGORIES:
        if cat not in covered and now.get(cat, 0.0) > 0.005:
            lines.append(GuideLine(CATEGORIES[cat], None, now[cat], after.get(cat, 0.0)))
    return GuideAnswer(total, combination, est.total, sum(after.values()), lines)


# --- reports --------------------------------------------------------------------------------------


def _titles(keys: Sequence[str]) -> str:
    return "; ".join(BY_KEY[k].title for k in keys) if keys else "none"


def render_levers_markdown(est: Estimate) -> str:
    """The levers table and the answer to the guide-total question, as Markdown."""
    out = [f"### Priced design levers: `{est.env}`", "",
           f"Against the current design, **{usd(est.total)} / month** on demand. Each lever "
           "alone:", "",
           "| lever | saves / month | total with it | keeps the guide's capability | "
           "trade-off |", "|---|---:|---:|---|---|"]
    for p in price_levers(est):
        keeps = ("yes" if keeps_capability(p.lever, est) else "**no**") + f": {p.lever.why}"
        out.append(f"| {p.lever.title} | {usd(p.saving)} | {usd(p.total)} | {md(keeps)} | "
                   f"{md(p.lever.trade_off)} |")
    out.append("")
    answer = guide_answer(est)
    if answer is None:
        return "\n".join(out + [f"_The guide (§13) has no cost table for `{est.env}`._", ""])
    out += _answer_markdown(answer)
    return "\n".join(out)


def _why_not(a: GuideAnswer) -> str:
    """The answer in one paragraph, with its numbers."""
    head = "**Yes.**" if a.fits else "**No.**"
    guide_part = (f"the lines the guide's table prices come to {usd(a.guide_lines_after)} "
                  f"({signed(a.guide_lines_after - a.guide_total)} against its "
                  f"~{usd(a.guide_total)}")
    guide_part += ": they fit)" if a.guide_lines_fit else ": even they do not fit)"
    return (f"{head} With the cheapest combination of the levers that keep the guide's "
            f"capability (its sizes, Multi-AZ and replica) — {_titles(a.combination)} — "
            f"{guide_part}, and the whole design costs **{usd(a.design_after)}** a month "
            f"({signed(a.design_after - a.guide_total)}; now {usd(a.design_now)}). The lines "
            f"the table does not have add {usd(a.unpriced_by_guide)} by themselves.")


def _answer_markdown(a: GuideAnswer) -> list[str]:
    out = [f"#### Can the guide's capability run within its ~{usd(a.guide_total)} a month?",
           "", _why_not(a), ""]
    over = a.over
    if over and not a.fits:
        out += ["Why not, in numbers — the lines above the guide's figures with the "
                "combination: " + ", ".join(
                    f"{line.resource} {signed(line.after_usd - (line.guide_usd or 0.0))}"
                    + ("" if line.guide_usd is not None else " (not in the guide)")
                    for line in over) + ".", ""]
    out += ["| line | guide | now | with the combination | vs the guide |",
            "|---|---:|---:|---:|---:|"]
    for line in a.lines:
        if line.guide_usd is None:
            out.append(f"| {line.resource} _(not in the guide)_ | – | {usd(line.now_usd)} | "
                       f"{usd(line.after_usd)} | +{usd(line.after_usd)} |")
        else:
            out.append(f"| {line.resource} | ~{usd(line.guide_usd)} | {usd(line.now_usd)} | "
                       f"{usd(line.after_usd)} | {signed(line.after_usd - line.guide_usd)} |")
    guide_now = sum(line.now_usd for line in a.lines if line.guide_usd is not None)
    out += [f"| **the guide's lines** | **~{usd(a.guide_total)}** | {usd(guide_now)} | "
            f"**{usd(a.guide_lines_after)}** | **{signed(a.guide_lines_after - a.guide_total)}** "
            "|",
            f"| **the whole design** | **~{usd(a.guide_total)}** | {usd(a.design_now)} | "
            f"**{usd(a.design_after)}** | **{signed(a.design_after - a.guide_total)}** |", ""]
    return out


def render_levers_text(est: Estimate) -> str:
    """The same as text: one line per lever, then the answer."""
    lines = [f"Priced design levers of {est.env} (USD/month; current design "
             f"{usd(est.total)} on demand):"]
    priced = price_levers(est)
    width = max(len(usd(p.saving)) for p in priced)
    for p in priced:
        keeps = "keeps the guide's capability" if keeps_capability(p.lever, est) else \
            "does NOT keep the guide's capability"
        lines += [f"  −{usd(p.saving):>{width}}  {p.lever.title} → {usd(p.total)}",
                  f"   {'':>{width}}  trade-off: {p.lever.trade_off}",
                  f"   {'':>{width}}  {keeps}: {p.lever.why}"]
    answer = guide_answer(est)
    if answer is None:
        return "\n".join(lines + [f"The guide (§13) has no cost table for {est.env}."]) + "\n"
    lines += ["", f"Can the guide's capability run within its ~{usd(answer.guide_total)}? "
              f"{'yes' if answer.fits else 'no'}.",
              f"  cheapest capability-keeping combination: {_titles(answer.combination)}",
              f"  the guide's lines with it: {usd(answer.guide_lines_after)} "
              f"({signed(answer.guide_lines_after - answer.guide_total)} vs the guide)",
              f"  the lines the guide does not have: {usd(answer.unpriced_by_guide)}",
              f"  the whole design with it: {usd(answer.design_after)} "
              f"({signed(answer.design_after - answer.guide_total)}; now "
              f"{usd(answer.design_now)})"]
    for line in answer.over:
        guide = f"~{usd(line.guide_usd)}" if line.guide_usd is not None else "not in the guide"
        lines.append(f"  over: {line.resource} {usd(line.after_usd)} vs {guide} "
                     f"({signed(line.after_usd - (line.guide_usd or 0.0))})")
    return "\n".join(lines) + "\n"


def levers_to_json(est: Estimate) -> dict[str, Any]:
    answer = guide_answer(est)
    return {
        "env": est.env, "total_usd": round(est.total, 2),
        "levers": [{"key": p.lever.key, "title": p.lever.title,
                    "saving_usd": round(p.saving, 2), "total_usd": round(p.total, 2),
                    "keeps_capability": keeps_capability(p.lever, est), "why": p.lever.why,
                    "trade_off": p.lever.trade_off} for p in price_levers(est)],
        "guide": None if answer is None else {
            "total_usd": answer.guide_total, "combination": list(answer.combination),
            "guide_lines_usd": round(answer.guide_lines_after, 2),
            "design_usd": round(answer.design_after, 2), "fits": answer.fits,
            "guide_lines_fit": answer.guide_lines_fit,
            "lines": [{"resource": line.resource, "guide_usd": line.guide_usd,
                       "now_usd": round(line.now_usd, 2), "after_usd": round(line.after_usd, 2)}
                      for line in answer.lines]},
    }


__all__ = ["BY_KEY", "LEVERS", "GuideAnswer", "Lever", "LeverError", "PricedLever", "cheapest",
           "categories_with", "guide_answer", "keeps_capability", "levers_to_json", "multi_az",
           "price_levers", "render_levers_markdown", "render_levers_text", "total_with"]


# --- docs/cost.md ---------------------------------------------------------------------------------

DOCS_ENVS = ("prod", "mvp")


def write_docs(outdir: Path | None = None, docs: Path | None = None) -> list[str]:
    """Rewrite the generated levers blocks of docs/cost.md (``<!-- levers:<env>:start -->``
    … ``end``) from the estimate of ``outdir``; returns the environments rewritten.
    tests/test_cost_levers.py fails while a block differs from the command's output."""
    path = Path(docs) if docs else COST_DIR.parent / "docs" / "cost.md"
    text = path.read_text()
    done = []
    for env in DOCS_ENVS:
        start, end = f"<!-- levers:{env}:start -->", f"<!-- levers:{env}:end -->"
        pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise LeverError(f"{path} has no {start} … {end} block")
        block = render_levers_markdown(estimate(env, Path(outdir) if outdir else OUTDIR))
        text = pattern.sub(lambda _m, b=block, s=start, e=end: f"{s}\n{b}{e}", text)
        done.append(env)
    path.write_text(text)
    return done

