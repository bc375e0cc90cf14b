"""The monthly estimate of an environment: every resource of its synthesized stacks priced
(``estimate(env)``), its totals per layer and category, what the total becomes under each
alternative (autoscaling maximum, Spot shares, reservations), and the comparison with the
guide's §13 cost tables (``compare_guide``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ENVS_DIR, environment_names
from ..topology import layer_rank

# render_cost_section: re-exported for the import path hrsaas/review/summary.py and
# tests/test_plan_summary.py use today (new code imports it from hrsaas.cost).
from .diff import render_cost_section  # noqa: F401
from .fmt import rel
from .load import OUTDIR, load_stacks, load_synthesized
from .model import (
    ALTERNATIVES,
    CATEGORIES,
    FREE_LINES,
    GUIDE_FILE,
    Assumptions,
    Priced,
    Prices,
    Resource,
    load_toml,
)
from .pricing import price_all

# --- nothing to price -----------------------------------------------------------------------------


class NothingToPrice(FileNotFoundError):
    """No synthesized stack of the environment (``hrsaas cost`` exits 2)."""


class UnknownEnvironment(NothingToPrice):
    """No ``envs/<env>.toml``, and nothing synthesized under that name."""


class NotSynthesized(NothingToPrice):
    """The environment exists, its stacks are not synthesized (in that outdir)."""


def _nothing_to_price(env: str, outdir: Path, envs_dir: Path) -> NothingToPrice:
    known = environment_names(envs_dir)
    if env not in known:
        listed = ", ".join(known) if known else "none"
        return UnknownEnvironment(
            f"unknown environment {env!r}: the environments are {listed} "
            f"({rel(envs_dir)}/*.toml; an environment is a file there)")
    where = f"{rel(outdir)}/stacks/{env}-*"
    hint = "" if outdir.resolve() == OUTDIR.resolve() else \
        ", or point --outdir at the cdktf.out that holds them"
    return NotSynthesized(f"environment {env!r} is not synthesized (nothing in {where}): "
                          f"run `hrsaas synth` (or `make synth`) first{hint}")


# --- the estimate ---------------------------------------------------------------------------------


@dataclass
class Estimate:
    """The priced resources of one environment, with its totals."""

    env: str
    items: list[Priced]
    prices: Prices
    assume: Assumptions

    @property
    def total(self) -> float:
        return sum(i.usd for i in self.items)

    @property
    def not_priced(self) -> list[Priced]:
        return [i for i in self.items if i.status == "not priced"]

    @property
    def free(self) -> list[Priced]:
        return [i for i in self.items if i.status == "free"]

    @property
    def priced(self) -> list[Priced]:
        return [i for i in self.items if i.status == "priced"]

    def layers(self) -> dict[str, float]:
        """Layer → monthly total, in deploy order."""
        out: dict[str, float] = {}
        for item in sorted(self.items, key=lambda i: layer_rank(i.resource.layer)):
            out[item.resource.layer] = out.get(item.resource.layer, 0.0) + item.usd
        return out

    def categories(self) -> dict[str, float]:
        """Cost category (``CATEGORIES``) → monthly total."""
        out: dict[str, float] = defaultdict(float)
        for item in self.priced:
            for c in item.components:
                out[c.category] += c.usd
        return dict(out)

    def with_alternative(self, kind: str) -> float:
        """The total with every resource's alternative of ``kind`` (``ALTERNATIVES``) taken."""
        total = self.total
        for item in self.priced:
            for alt in item.alternatives:
                if alt.kind == kind:
                    total += alt.usd - item.usd
        return total

    def alternatives(self) -> list[tuple[str, float]]:
        """(label, total) of each alternative some resource offers, in ``ALTERNATIVES`` order."""
        return [(label, self.with_alternative(kind)) for kind, label in ALTERNATIVES.items()
                if any(a.kind == kind for i in self.priced for a in i.alternatives)]


def estimate(env: str, outdir: Path = OUTDIR, prices: Prices | None = None,
             assume: Assumptions | None = None, envs_dir: Path = ENVS_DIR) -> Estimate:
    """Price every resource of ``env``'s synthesized stacks in ``outdir``. Raises
    ``UnknownEnvironment`` or ``NotSynthesized`` (both ``NothingToPrice``) when there is no
    stack to price."""
    prices = prices or Prices.load()
    assume = assume or Assumptions.load(env)
    resources = load_synthesized(outdir, env, str(assume("default_region")))
    if not resources:
        raise _nothing_to_price(env, outdir, envs_dir)
    return _priced(env, resources, prices, assume)


def estimate_stacks(env: str, stacks: Mapping[str, Mapping[str, Any]],
                    prices: Prices | None = None, assume: Assumptions | None = None
                    ) -> Estimate:
    """The same estimate as ``estimate`` from stacks held in memory (stack ID → the
    cdk.tf.json-shaped dict): what a synthesizing app prices before anything is written (the
    cost budget's amount, hrsaas/cost/budget.py). Stacks of other environments are
    ignored; no stack of ``env`` is an empty estimate."""
    prices = prices or Prices.load()
    assume = assume or Assumptions.load(env)
    return _priced(env, load_stacks(stacks, env, str(assume("default_region"))), prices, assume)


def _priced(env: str, resources: list[Resource], prices: Prices, assume: Assumptions
            ) -> Estimate:
    """The one pricing path of both entry points."""
    return Estimate(env, price_all(resources, prices, assume), prices, assume)


# --- the guide's §13 tables -----------------------------------------------------------------------


@dataclass(frozen=True)
class GuideRow:
    resource: str
    spec: str
    spec_ko: str
    guide_usd: float | None  # None: a category of ours the guide has no line for
    ours_usd: float
    why: str


def _guide_column(est: Estimate, guide_path: Path) -> tuple[str, dict | None, dict]:
    guide = load_toml(guide_path)
    name = str(est.assume.values.get("guide_column") or "")
    return name, guide.get("columns", {}).get(name), guide


def compare_guide(est: Estimate, guide_path: Path = GUIDE_FILE) -> tuple[str, list[GuideRow]]:
    """(the guide column's title, one row per guide line and per category of ours that no
    guide line covers). The env's ``guide_column`` assumption names the column; without one
    the title is empty and there are no rows."""
    column_name, column, guide = _guide_column(est, guide_path)
    if column is None:
        return "", []
    ours = est.categories()
    rows, covered = [], set()
    for line in column.get("lines", []):
        cats = line.get("categories", [])
        covered.update(cats)
        rows.append(GuideRow(line["resource"], line.get("spec", ""), line.get("spec_ko", ""),
                             float(line["usd"]), sum(ours.get(c, 0.0) for c in cats),
                             line.get("why", "")))
    extra_why = guide.get("not_in_guide", {})
    present = {FREE_LINES[i.resource.type] for i in est.items if i.resource.type in FREE_LINES}
    for cat in CATEGORIES:
        if cat not in covered and (ours.get(cat, 0.0) > 0 or cat in present):
            rows.append(GuideRow(CATEGORIES[cat], "", "", None, ours.get(cat, 0.0),
                                 extra_why.get(cat, "not in the guide's table")))
    title = f"{column.get('title', column_name)} — {column.get('title_ko', '')}".rstrip(" —")
    return title, rows


def guide_total(est: Estimate, guide_path: Path = GUIDE_FILE) -> float | None:
    """The guide column's total (``~$923``), None when the env has no guide column."""
    _, column, _ = _guide_column(est, guide_path)
    return None if column is None else float(column["total_usd"])
