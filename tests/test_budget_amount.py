"""The budget derived from the estimate (hrsaas/cost/budget.py): the amount is the estimate of the
environment's stacks — priced from JSON in memory exactly as ``hrsaas cost`` prices the
same stacks from cdktf.out — times 1 + ``budget.margin_percent`` / 100, rounded up to whole
dollars; and the pull-request cost section shows the budget beside the estimate, before and
after when a plan moves it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from hrsaas import cost
from hrsaas.config import load_environment
from hrsaas.cost import budget, fmt, load


def test_margin_and_rounding_by_hand():
    assert budget.with_margin(500.0, 20) == 600  # 600.0000000001 in floats: not 601
    assert budget.with_margin(500.01, 20) == 601  # 600.012 → up to the next dollar
    assert budget.with_margin(1663.09, 20) == 1996  # 1,995.708
    assert budget.with_margin(100.0, 0) == 100
    with pytest.raises(budget.BudgetError, match="margin_percent"):
        budget.with_margin(100.0, -5)


def _budget_stacks(synth_dir: Path, env: str) -> set[str]:
    """The stacks holding the env's budget (observability's)."""
    return {stack for stack, _, body in load.env_stacks(synth_dir, env)
            if "aws_budgets_budget" in body.get("resource", {})}


def _margin(env: str) -> float:
    settings = getattr(load_environment(env), "budget", None)
    if settings is None:
        pytest.skip("the budget settings (hrsaas/config/models.py) are not in this tree")
    return float(settings.margin_percent)


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_budget_amount_is_the_estimate_of_the_stacks_plus_the_margin(synth_dir, env):
    margin = _margin(env)
    own = _budget_stacks(synth_dir, env)
    assert own == {f"{env}-observability"}
    # The estimate as `hrsaas cost` computes it from cdktf.out: every stack, the budget's own
    # resources included, which are free (the app prices observability before adding them).
    est = cost.estimate(env, synth_dir)
    budget_items = [i for i in est.items if i.resource.type.startswith(("aws_budgets_",
                                                                          "aws_ce_anomaly_"))]
    assert budget_items and all(i.usd == 0 for i in budget_items)
    total = est.total
    expected = math.ceil(round(total * (1 + margin / 100), 2))
    # The same stacks as dicts in memory, as the synthesizing app holds them (and, to prove
    # the filter, another environment's stacks beside them).
    stacks = {s: body for s, _, body in load.env_stacks(synth_dir, env)}
    stacks.update({s: body for s, _, body in load.env_stacks(synth_dir, "local")})
    assert budget.budget_amount(env, stacks) == expected
    assert budget.budget_amount(env, stacks, margin_percent=margin) == expected
    assert budget.configured_margin(env) == margin
    assert expected > total  # a margin above the estimate
    # The synthesized budget carries exactly that amount.
    for stack in own:
        body = json.loads((synth_dir / "stacks" / stack / "cdk.tf.json").read_text())
        for b in body["resource"]["aws_budgets_budget"].values():
            if b.get("budget_type", "COST") == "COST":
                assert float(b["limit_amount"]) == expected, (stack, b["limit_amount"])


def test_no_stack_of_the_environment_is_a_clear_error():
    with pytest.raises(budget.BudgetError, match="no stack of environment 'prod'"):
        budget.budget_amount("prod", {"mvp-network": {"resource": {}}}, margin_percent=20)


def _plan(stack: str, changes: list[dict]) -> dict:
    return {"format_version": "1.2", "resource_changes": changes,
            "configuration": {"provider_config": {"aws": {
                "name": "aws", "expressions": {"region": {"constant_value": "ap-northeast-2"}}}},
                "root_module": {"resources": []}}}


def _change(address: str, actions: list[str], before: dict | None, after: dict | None) -> dict:
    rtype, name = address.split(".", 1)
    return {"address": address, "mode": "managed", "type": rtype, "name": name,
            "change": {"actions": actions, "before": before, "after": after,
                       "after_unknown": {}}}


def test_cost_section_shows_the_budget_beside_the_estimate(tmp_path):
    folder = tmp_path / "plans" / "prod"
    folder.mkdir(parents=True)
    budget_body = {"name": "hr-saas-prod", "budget_type": "COST",
                   "time_unit": "MONTHLY", "limit_unit": "USD"}
    # A plan adds a NAT gateway: the estimate moves, and the budget with it.
    (folder / "prod-network.json").write_text(json.dumps(_plan("prod-network", [
        _change("aws_nat_gateway.c", ["create"], None, {"subnet_id": "subnet-1"})])))
    (folder / "prod-observability.json").write_text(json.dumps(_plan("prod-observability", [
        _change("aws_budgets_budget.budget", ["update"],
                {**budget_body, "limit_amount": "1996"},
                {**budget_body, "limit_amount": "2088"})])))
    [diff] = cost.cost_diff(tmp_path / "plans")
    assert (diff.budget_before, diff.budget_after) == (1996.0, 2088.0)
    section = cost.render_cost_section(tmp_path / "plans")
    assert "| env | before | after | change | monthly budget |" in section
    row = f"| prod | {fmt.usd(diff.before_usd)} | {fmt.usd(diff.after_usd)} |"
    [line] = [x for x in section.splitlines() if x.startswith(row)]
    assert line.endswith("| $1,996 → **$2,088** (+$92.00) |")
    assert "budget.margin_percent" in section

    # Unchanged: the amount alone; created by the plan: "new".
    (folder / "prod-observability.json").write_text(json.dumps(_plan("prod-observability", [
        _change("aws_budgets_budget.budget", ["no-op"],
                {**budget_body, "limit_amount": "1996"},
                {**budget_body, "limit_amount": "1996"})])))
    assert "| $1,996 |" in cost.render_cost_section(tmp_path / "plans")
    (folder / "prod-observability.json").write_text(json.dumps(_plan("prod-observability", [
        _change("aws_budgets_budget.budget", ["create"], None,
                {**budget_body, "limit_amount": "1996"})])))
    assert "| new: $1,996 |" in cost.render_cost_section(tmp_path / "plans")
