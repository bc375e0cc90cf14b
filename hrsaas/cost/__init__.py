"""The offline monthly cost estimate of an environment, and the cost diff of a pull request's
plans (``hrsaas cost``; docs/cost.md). One job per module, in reading order:

- ``model``: a resource, what its pricer says about it (``Priced``), the price table
  (``Prices``, cost/prices.toml) and the usage assumptions (``Assumptions``,
  cost/assumptions.toml);
- ``load``: resources from the synthesized stacks and from saved plans' JSON;
- ``pricing``: one pricer per resource type (``@pricer("aws_…")``) and ``price_all``;
- ``estimate``: an environment's ``Estimate`` — totals, alternatives, the guide §13 comparison;
  from cdktf.out (``estimate``) or from stacks in memory (``estimate_stacks``);
- ``budget``: the monthly budget amount derived from the estimate plus the env's margin;
- ``levers``: priced design levers and the guide-total question;
- ``diff``: the plans' cost diff and the plan-summary comment's section;
- ``render``: the estimate as text, Markdown or JSON;
- ``cli``: ``hrsaas cost`` (``main(argv)``);
- ``fmt``: how amounts and numbers are written.

Nothing here imports cdktf: the command starts without jsii.
"""

from .budget import BudgetError, budget_amount
from .diff import EnvDiff, cost_diff, diff_env, render_cost_section
from .estimate import (
    Estimate,
    NothingToPrice,
    NotSynthesized,
    UnknownEnvironment,
    compare_guide,
    estimate,
    estimate_stacks,
)
from .levers import LEVERS, guide_answer, price_levers, total_with
from .load import load_plan, load_stacks, load_synthesized
from .model import Assumptions, NotPriced, Priced, Prices, Resource
from .pricing import PRICERS, price_all, pricer
from .render import render_markdown, render_text, to_json

__all__ = [
    "LEVERS", "PRICERS", "Assumptions", "BudgetError", "EnvDiff", "Estimate", "NotPriced",
    "NotSynthesized", "NothingToPrice", "Prices", "Priced", "Resource", "UnknownEnvironment",
    "budget_amount", "compare_guide", "cost_diff", "diff_env", "estimate", "estimate_stacks",
    "guide_answer", "load_plan", "load_stacks", "load_synthesized", "price_all", "price_levers",
    "pricer", "render_cost_section", "render_markdown", "render_text", "to_json", "total_with",
]
