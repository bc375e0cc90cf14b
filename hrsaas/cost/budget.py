"""The amount of an environment's AWS Budgets monthly cost budget: the estimate of its
synthesized stacks (the same pricers, price table and assumptions as ``hrsaas cost``) plus the
margin the environment file sets (``[budget] margin_percent``), rounded up to whole dollars.

The observability layer (``add_cost_budget`` in hrsaas/layers/observability.py, called once
every stack is built) calls ``budget_amount`` while the app synthesizes, with the stacks' JSON
in memory, so a change that moves the estimate moves the budget in the same plan (docs/cost.md,
"The budget"). Nothing here imports cdktf.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..config import load_environment
from .estimate import Estimate, estimate_stacks
from .model import Assumptions, Prices


class BudgetError(ValueError):
    """The budget cannot be derived: no margin configured, or nothing priced."""


def configured_margin(env_name: str) -> float:
    """``budget.margin_percent`` of the environment's file (envs/<env>.toml over
    envs/base/defaults.toml). A clear error when the setting is not there."""
    env = load_environment(env_name)
    budget = getattr(env, "budget", None)
    margin = getattr(budget, "margin_percent", None)
    if margin is None:
        raise BudgetError(
            f"budget.margin_percent is not set for environment {env_name!r}: add "
            "`[budget]` with `margin_percent = <percent above the estimate>` to "
            f"envs/{env_name}.toml or envs/base/defaults.toml")
    return float(margin)


def with_margin(total_usd: float, margin_percent: float) -> int:
    """``total × (1 + margin/100)`` rounded up to whole dollars. The product is rounded to the
    cent first, so that float noise (600.0000000001) does not add a dollar."""
    if margin_percent < 0:
        raise BudgetError(f"budget.margin_percent = {margin_percent}: a margin below the "
                          "estimate alerts every month; use 0 or more")
    return math.ceil(round(total_usd * (100 + margin_percent) / 100, 2))


def budget_estimate(env_name: str, stacks: Mapping[str, Mapping[str, Any]],
                    prices: Prices | None = None, assume: Assumptions | None = None
                    ) -> Estimate:
    """The estimate the budget is derived from: ``stacks`` (stack ID → cdk.tf.json-shaped
    dict) priced exactly as ``hrsaas cost`` prices the same stacks from cdktf.out."""
    est = estimate_stacks(env_name, stacks, prices, assume)
    if not est.items:
        raise BudgetError(f"no stack of environment {env_name!r} among the "
                          f"{len(stacks)} stack(s) given: nothing to derive a budget from")
    return est


def budget_amount(env_name: str, stacks: Mapping[str, Mapping[str, Any]],
                  margin_percent: float | None = None, prices: Prices | None = None,
                  assume: Assumptions | None = None) -> float:
    """The monthly budget in whole US dollars: the estimate of ``stacks`` plus the margin
    (``margin_percent``, else ``budget.margin_percent`` of the environment's file), rounded up.
    Resources the estimate cannot price are left out of it, as in ``hrsaas cost``."""
    est = budget_estimate(env_name, stacks, prices, assume)
    margin = configured_margin(env_name) if margin_percent is None else float(margin_percent)
    return float(with_margin(est.total, margin))
