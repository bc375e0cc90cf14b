"""The offline cost estimate (hrsaas/cost/): hand-computed prices, coverage of every type the
project synthesizes, a config change moving the estimate by exactly its price, the pull-request
diff over plan JSON, the comparison with the guide's §13 tables, what each report format holds
(aligned amounts) and the command line (`hrsaas cost`: unknown or unsynthesized environments).

The hand-computed cases use a small price table of round numbers written here, so that they
check the arithmetic, not the figures of cost/prices.toml (those are checked for shape, source
and coverage instead)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hrsaas import cost
from hrsaas.config.loader import ENVS_DIR, environment_names
from hrsaas.cost import fmt, load, model, render
from hrsaas.runner.stacks import synth
from hrsaas.toolenv import ROOT
from tests.entry import invoke

SEOUL = "ap-northeast-2"
H = 730

# Round numbers, so that every expected value below can be checked by hand.
TEST_PRICES = cost.Prices({
    "meta": {"source": "test", "prices_as_of": "test", "status": "test"},
    "free": {"aws_vpc": "free", "aws_ecs_task_definition": "priced through its services",
             "aws_appautoscaling_target": "shown with its service"},
    "instance_vcpus": {"db.r6g.large": 2},
    "regions": {SEOUL: {
        "vpc": {"nat_gateway_hour": 0.05, "nat_gateway_gib": 0.05,
                "interface_endpoint_az_hour": 0.01, "interface_endpoint_gib": 0.01},
        "fargate": {"vcpu_hour": {"ARM64": 0.04, "X86_64": 0.05},
                    "gib_hour": {"ARM64": 0.004, "X86_64": 0.005},
                    "spot_vcpu_hour": {"ARM64": 0.012}, "spot_gib_hour": {"ARM64": 0.0012}},
        "rds": {"multi_az_factor": 2, "gp3_gib_month": 0.12, "backup_gib_month": 0.1,
                "pi_first_month_vcpu": 1.5, "pi_additional_month_vcpu": 0.06,
                "postgres_hour": {"db.r6g.large": 0.25},
                "postgres_ri_1y_hour": {"db.r6g.large": 0.16}},
        "s3": {"standard_gib_month": 0.025, "put_1k": 0.005, "get_1k": 0.0004},
    }},
})


def assumptions(env: str = "mvp", **overrides) -> cost.Assumptions:
    return cost.Assumptions.load(env, overrides=overrides)


def resource(rtype: str, values: dict, name: str = "r", stack: str = "t-network",
             region: str = SEOUL) -> cost.Resource:
    return cost.Resource(stack, stack.split("-", 1)[1], f"{rtype}.{name}", rtype, values, region,
                         frozenset(), load.synth_refs(values))


def priced(resources: list[cost.Resource], assume: cost.Assumptions,
           prices: cost.Prices = TEST_PRICES) -> dict[str, cost.Priced]:
    return {p.resource.address: p for p in cost.price_all(resources, prices, assume)}


# --- hand-computed cases -----------------------------------------------------------------------


def test_nat_gateway_is_hours_plus_processed_gigabytes():
    [nat] = priced([resource("aws_nat_gateway", {"allocation_id": "${aws_eip.e.allocation_id}"})],
                   assumptions(nat={"processed_gib_per_gateway": 100})).values()
    # $0.05/h × 730 h + 100 GB × $0.05/GB
    assert nat.usd == pytest.approx(36.5 + 5.0)
    assert [c.category for c in nat.components] == ["nat", "nat"]
    assert "nat.processed_gib_per_gateway" in nat.components[1].formula


def test_interface_endpoint_is_billed_per_az_and_gateway_endpoints_are_free():
    subnets = ["${aws_subnet.a.id}", "${aws_subnet.c.id}"]
    items = priced([
        resource("aws_vpc_endpoint", {"vpc_endpoint_type": "Interface", "subnet_ids": subnets,
                                      "service_name": "com.amazonaws.ap-northeast-2.logs"},
                 "logs"),
        resource("aws_vpc_endpoint", {"vpc_endpoint_type": "Interface",
                                      "subnet_ids": "${data.terraform_remote_state.x.ids}"},
                 "unknown-subnets"),
        resource("aws_vpc_endpoint", {"vpc_endpoint_type": "Gateway"}, "s3"),
    ], assumptions(vpc_endpoint={"processed_gib_per_endpoint": 10}))
    # 2 AZs × $0.01/AZ-h × 730 h + 10 GB × $0.01/GB
    assert items["aws_vpc_endpoint.logs"].usd == pytest.approx(14.6 + 0.1)
    # Subnets read from remote state are unknown at synth: azs_when_unknown (2) is assumed.
    assert items["aws_vpc_endpoint.unknown-subnets"].usd == pytest.approx(14.7)
    assert "azs_when_unknown" in items["aws_vpc_endpoint.unknown-subnets"].components[0].formula
    assert items["aws_vpc_endpoint.s3"].status == "free"


def _service(desired: int, strategy: list[dict] | None = None, arch: str | None = "ARM64"):
    td = {"family": "auth-service", "cpu": "512", "memory": "1024"}
    if arch:
        td["runtime_platform"] = {"cpu_architecture": arch, "operating_system_family": "LINUX"}
    service = {"name": "auth-service", "desired_count": desired,
               "task_definition": "${aws_ecs_task_definition.td.arn}"}
    if strategy:
        service["capacity_provider_strategy"] = strategy
    return [resource("aws_ecs_task_definition", td, "td", "t-compute"),
            resource("aws_ecs_service", service, "svc", "t-compute")]


def test_fargate_task_at_half_a_vcpu_and_one_gib_on_arm64():
    items = priced(_service(1), assumptions())
    # (0.5 vCPU × $0.04 + 1 GB × $0.004) × 730 h = $0.024/h × 730 h
    assert items["aws_ecs_service.svc"].usd == pytest.approx(17.52)
    assert items["aws_ecs_task_definition.td"].status == "free"
    assert priced(_service(3), assumptions())["aws_ecs_service.svc"].usd == pytest.approx(
        3 * 17.52)
    # Without a runtime platform the task is X86_64: (0.5 × 0.05 + 1 × 0.005) × 730.
    assert priced(_service(1, arch=None), assumptions())["aws_ecs_service.svc"].usd == \
        pytest.approx(21.9)


def test_a_task_count_known_at_apply_is_priced_running_or_not_at_all():
    [td, service] = _service(1)
    released = "${!endswith(data.aws_ssm_parameter.image.insecure_value, \":unreleased\") ? 2 : 0}"
    conditional = cost.Resource(service.stack, service.layer, service.address, service.type,
                                {**service.values, "desired_count": released}, SEOUL,
                                frozenset(), service.refs)
    svc = priced([td, conditional], assumptions())["aws_ecs_service.svc"]
    # A service without a released image runs no task; the estimate prices what runs.
    assert svc.status == "priced" and svc.usd == pytest.approx(2 * 17.52)
    assert any("priced at 2" in n for n in svc.notes)
    remote = cost.Resource(service.stack, service.layer, service.address, service.type,
                           {**service.values, "desired_count": "${var.tasks}"}, SEOUL,
                           frozenset(), service.refs)
    svc = priced([td, remote], assumptions())["aws_ecs_service.svc"]
    assert svc.status == "not priced" and "desired_count" in svc.reason  # never zero


def test_fargate_spot_share_and_autoscaling_range_are_alternatives():
    strategy = [{"capacity_provider": "FARGATE", "base": 1, "weight": 1},
                {"capacity_provider": "FARGATE_SPOT", "base": 0, "weight": 1}]
    target = resource("aws_appautoscaling_target", {
        "service_namespace": "ecs", "scalable_dimension": "ecs:service:DesiredCount",
        "resource_id": "service/${data.terraform_remote_state.c.outputs.cluster}/auth-service",
        "min_capacity": 3, "max_capacity": 6}, "target", "t-scaling")
    items = priced([*_service(3, strategy), target], assumptions())
    svc = items["aws_ecs_service.svc"]
    assert svc.usd == pytest.approx(3 * 17.52)  # the estimate itself is on-demand
    alternatives = {a.kind: a.usd for a in svc.alternatives}
    # base 1 on FARGATE, the other 2 split 1:1 → 1 task on Spot at (0.5×0.012 + 0.0012) × 730
    assert alternatives["spot"] == pytest.approx(2 * 17.52 + 5.256)
    assert alternatives["max"] == pytest.approx(6 * 17.52)
    assert any("autoscaling 3–6 tasks" in n for n in svc.notes)
    assert items["aws_appautoscaling_target.target"].status == "free"


def test_rds_multi_az_bills_instance_and_gp3_storage_twice():
    db = {"engine": "postgres", "instance_class": "db.r6g.large", "multi_az": True,
          "allocated_storage": 100, "storage_type": "gp3", "backup_retention_period": 0,
          "performance_insights_enabled": True, "performance_insights_retention_period": 7,
          "monitoring_interval": 0}
    [item] = priced([resource("aws_db_instance", db, "db", "t-data")], assumptions()).values()
    # $0.25/h × 2 × 730 h + 100 GiB × $0.12 × 2; Performance Insights for 7 days is free
    assert item.usd == pytest.approx(365.0 + 24.0)
    assert {a.kind: a.usd for a in item.alternatives}["reserved"] == pytest.approx(
        24.0 + 0.16 * 2 * 730)

    longer = {**db, "backup_retention_period": 10, "performance_insights_retention_period": 93}
    [item] = priced([resource("aws_db_instance", longer, "db", "t-data")],
                    assumptions(rds={"backup_daily_change_fraction": 0.02})).values()
    by_what = {c.what: c.usd for c in item.components}
    # 100 GiB × 0.02/day × 10 days beyond the free allowance × $0.1/GB-month
    assert by_what["backup storage beyond the free allowance"] == pytest.approx(2.0)
    # 93 days = 3 months: 2 vCPU × 2 AZs × ($1.5 + 2 × $0.06)
    assert by_what["Performance Insights retention"] == pytest.approx(4 * 1.62)


def test_s3_storage_and_requests_come_from_the_bucket_pattern():
    usage = {"hr-saas-files-*": {"storage_gib": 200, "put_thousands": 10, "get_thousands": 100}}
    [item] = priced([resource("aws_s3_bucket", {"bucket": "hr-saas-files-prod"}, "files",
                              "t-edge")], assumptions(s3={"buckets": usage})).values()
    # 200 GB × $0.025 + 10k PUT × $0.005/1k + 100k GET × $0.0004/1k
    assert item.usd == pytest.approx(5.0 + 0.05 + 0.04)
    assert 's3.buckets."hr-saas-files-*"' in item.components[0].formula


def test_unknown_types_and_missing_prices_are_reported_never_zero():
    items = priced([
        resource("aws_fancy_new_thing", {}, "x"),
        resource("aws_vpc", {}, "vpc"),
        resource("aws_db_instance", {"engine": "postgres", "instance_class": "db.x9.huge",
                                     "allocated_storage": 20}, "db", "t-data"),
    ], assumptions())
    fancy, db = items["aws_fancy_new_thing.x"], items["aws_db_instance.db"]
    assert fancy.status == "not priced" and "no pricer for aws_fancy_new_thing" in fancy.reason
    assert db.status == "not priced" and "db.x9.huge" in db.reason
    assert items["aws_vpc.vpc"].status == "free"
    est = cost.Estimate("t", list(items.values()), TEST_PRICES, assumptions())
    assert est.total == 0 and len(est.not_priced) == 2
    assert "NOT PRICED" in cost.render_text(est)
    assert "**Not priced**" in cost.render_markdown(est)


# --- the checked-in tables ---------------------------------------------------------------------


def test_price_table_states_its_source_date_and_that_it_is_unverified():
    text = model.PRICES_FILE.read_text()
    head = text.split("[meta]", 1)[0]
    assert "SOURCE" in head and "2026-11-27" in head
    assert "to be re-checked against the aws pricing api/calculator" in " ".join(
        head.lower().split()).replace("#", "").replace("  ", " ")
    prices = cost.Prices.load()
    assert {"ap-northeast-2", "us-east-1"} <= set(prices.table["regions"])
    overlap = set(prices.free) & set(cost.PRICERS)
    assert not overlap, f"both free and priced: {overlap}"
    # On-demand plus the alternatives the estimate shows.
    for region in ("ap-northeast-2", "us-east-1"):
        assert prices.region(region, "fargate", "spot_vcpu_hour", "ARM64") < prices.region(
            region, "fargate", "vcpu_hour", "ARM64")
        assert prices.region(region, "rds", "postgres_ri_1y_hour", "db.r6g.large") < \
            prices.region(region, "rds", "postgres_hour", "db.r6g.large")
        assert prices.region(region, "elasticache", "node_ri_1y_hour", "cache.r6g.large") < \
            prices.region(region, "elasticache", "node_hour", "cache.r6g.large")


def _synthesized_types(synth_dir: Path, env: str) -> set[str]:
    return {rtype for stack, _, body in load.env_stacks(synth_dir, env)
            for rtype in body.get("resource", {})}


@pytest.mark.parametrize("env", ["local", "mvp", "prod"])
def test_every_synthesized_type_is_priced_or_explicitly_free(synth_dir, env):
    types = _synthesized_types(synth_dir, env)
    assert len(types) > 40
    prices = cost.Prices.load()
    unknown = sorted(t for t in types if t not in cost.PRICERS and t not in prices.free)
    assert not unknown, f"give these a pricer or a [free] entry in cost/prices.toml: {unknown}"
    est = cost.estimate(env, synth_dir)
    assert not est.not_priced, [(i.resource.address, i.reason) for i in est.not_priced]
    # The estimate walks every resource of every stack of the env, nothing else.
    count = sum(len(bodies) for _, _, body in load.env_stacks(synth_dir, env)
                for bodies in body.get("resource", {}).values())
    assert len(est.items) == count
    assert {i.resource.stack for i in est.items} == {
        s for s, _, _ in load.env_stacks(synth_dir, env)}


def test_resources_are_priced_in_their_providers_region(synth_dir):
    est = cost.estimate("prod", synth_dir)
    regions = {i.resource.label: i.resource.region for i in est.items
               if i.resource.type == "aws_cloudwatch_log_group"}
    assert regions["aws-waf-logs-hr-saas-prod-frontend"] == "us-east-1"
    assert regions["/vpc/hr-saas-prod/flow-logs"] == SEOUL


def test_estimate_totals_and_alternatives_are_consistent(synth_dir):
    est = cost.estimate("prod", synth_dir)
    assert est.total == pytest.approx(sum(est.layers().values()))
    assert est.total == pytest.approx(sum(est.categories().values()))
    assert est.with_alternative("reserved") < est.total < est.with_alternative("max")
    # Spot saves only where a service runs more tasks than its strategy keeps on demand.
    assert est.with_alternative("spot") <= est.total
    nat = [i for i in est.items if i.resource.type == "aws_nat_gateway"]
    assert len(nat) == 2  # prod: one per AZ


# --- a config change moves the estimate by its price -------------------------------------------


@pytest.fixture
def envs_copy(tmp_path: Path) -> Path:
    target = tmp_path / "envs"
    shutil.copytree(ENVS_DIR, target)
    return target


def test_one_more_prod_task_adds_one_tasks_monthly_price(synth_dir, envs_copy, tmp_path):
    catalog = envs_copy / "base" / "services.toml"
    text = catalog.read_text()
    old = 'min_tasks = 2\nmax_tasks = 4\npriority = "high"\nport = 8081'
    assert old in text
    catalog.write_text(text.replace(old, old.replace("min_tasks = 2", "min_tasks = 3"), 1))
    outdir = tmp_path / "cdktf.out"
    synth(["prod"], outdir, {"HRSAAS_ENVS_DIR": str(envs_copy)})

    before, after = cost.estimate("prod", synth_dir), cost.estimate("prod", outdir)
    prices = cost.Prices.load()
    one_task = (0.5 * prices.region(SEOUL, "fargate", "vcpu_hour", "ARM64")
                + 1 * prices.region(SEOUL, "fargate", "gib_hour", "ARM64")) * H
    assert after.total - before.total == pytest.approx(one_task)
    services = {i.resource.label: i.usd for i in after.items
                if i.resource.type == "aws_ecs_service"}
    assert services["auth-service"] == pytest.approx(3 * one_task)


# --- the pull-request diff over plan JSON ------------------------------------------------------


def _fake(value, family_of: dict[str, str] | None = None):
    """A synthesized value as the state holds it: references become IDs (or a task
    definition's ARN), a condition between numbers (a released service's task count) its
    running value."""
    if (branches := model.conditional_numbers(value)) is not None:
        return max(branches)
    if isinstance(value, str) and "${" in value:
        match = model.REF.search(value)
        if family_of and match and match[1] == "aws_ecs_task_definition":
            family = family_of[f"{match[1]}.{match[2]}"]
            return f"arn:aws:ecs:{SEOUL}:222222222222:task-definition/{family}:7"
        return f"fake-{abs(hash(value)) % 10**8}"
    if isinstance(value, dict):
        return {k: _fake(v, family_of) for k, v in value.items()}
    if isinstance(value, list):
        return [_fake(v, family_of) for v in value]
    return value


def _has_expr(value) -> bool:
    return "${" in json.dumps(value)


def _references(value) -> list[str]:
    """What Terraform's configuration JSON lists for an expression: ``type.name.attr`` and
    ``type.name`` of each resource it reads."""
    return [ref for m in model.REF.findall(json.dumps(value))
            for ref in (f"{m[0]}.{m[1]}.id", f"{m[0]}.{m[1]}")]


def plan_of(stack_json: dict, edits: dict[str, str | dict], created: dict[str, dict]) -> dict:
    """A ``terraform show -json``-shaped plan of a synthesized stack: every resource applied
    (before = its values with IDs for references), ``edits`` address → "delete" or changed
    attributes, ``created`` address → synthesized values of a new resource."""
    aliases = {p.get("alias"): p["region"] for p in stack_json["provider"]["aws"]}
    family_of = {f"aws_ecs_task_definition.{name}": body["family"] for name, body in
                 stack_json["resource"].get("aws_ecs_task_definition", {}).items()}
    changes, configured = [], []
    bodies = {f"{t}.{n}": b for t, rs in stack_json["resource"].items() for n, b in rs.items()}
    for address, body in [*bodies.items(), *created.items()]:
        rtype, name = address.split(".", 1)
        values = {k: v for k, v in body.items()
                  if k not in ("//", "lifecycle", "depends_on", "provider")}
        provider = body.get("provider", "aws")
        configured.append({
            "address": address, "mode": "managed", "type": rtype, "name": name,
            "provider_config_key": provider,
            "expressions": {k: {"references": _references(v)}
                            for k, v in values.items() if _has_expr(v)}})
        before = _fake(values, family_of)
        if address in created:
            actions, before = ["create"], None
            after = {k: v for k, v in values.items() if not _has_expr(v)}
            unknown = {k: True for k, v in values.items() if _has_expr(v)} | {"id": True}
        elif edits.get(address) == "delete":
            actions, after, unknown = ["delete"], None, {}
        elif address in edits:
            actions, after, unknown = ["update"], {**before, **edits[address]}, {}
        else:
            actions, after, unknown = ["no-op"], copy.deepcopy(before), {}
        changes.append({"address": address, "mode": "managed", "type": rtype, "name": name,
                        "provider_name": "registry.terraform.io/hashicorp/aws",
                        "change": {"actions": actions, "before": before, "after": after,
                                   "after_unknown": unknown}})
    providers = {("aws" if alias is None else f"aws.{alias}"): {
        "name": "aws", "expressions": {"region": {"constant_value": region}}}
        for alias, region in aliases.items()}
    return {"format_version": "1.2", "resource_changes": changes,
            "configuration": {"provider_config": providers,
                              "root_module": {"resources": configured}}}


def test_cost_diff_prices_before_and_after_of_plan_json(synth_dir, tmp_path):
    stacks = {s: body for s, _, body in load.env_stacks(synth_dir, "prod")}
    network, compute = stacks["prod-network"], stacks["prod-compute"]
    [nat_c] = [n for n in network["resource"]["aws_nat_gateway"] if "2c" in n]
    [logs_endpoint] = [n for n in network["resource"]["aws_vpc_endpoint"] if "logs" in n]
    [auth] = [n for n, b in compute["resource"]["aws_ecs_service"].items()
              if b["name"] == "auth-service"]
    new_endpoint = dict(network["resource"]["aws_vpc_endpoint"][logs_endpoint],
                        service_name="com.amazonaws.ap-northeast-2.kms")
    folder = tmp_path / "plans" / "prod"
    folder.mkdir(parents=True)
    (folder / "prod-network.json").write_text(json.dumps(plan_of(
        network, {f"aws_nat_gateway.{nat_c}": "delete"},
        {"aws_vpc_endpoint.endpoints_interface-kms": new_endpoint})))
    (folder / "prod-compute.json").write_text(json.dumps(plan_of(
        compute, {f"aws_ecs_service.{auth}": {"desired_count": 3}}, {})))
    (folder / "prod-cache.error.txt").write_text("Error: no state\n")

    [diff] = cost.cost_diff(tmp_path / "plans")
    prices, assume = cost.Prices.load(), cost.Assumptions.load("prod")
    rate = lambda service, key, sub=None: prices.region(SEOUL, service, key, sub)  # noqa: E731
    nat = (rate("vpc", "nat_gateway_hour") * H
           + rate("vpc", "nat_gateway_gib") * assume("nat", "processed_gib_per_gateway"))
    endpoint = (2 * rate("vpc", "interface_endpoint_az_hour") * H   # 2 AZs: azs_when_unknown
                + rate("vpc", "interface_endpoint_gib")
                * assume("vpc_endpoint", "processed_gib_per_endpoint"))
    task = (0.5 * rate("fargate", "vcpu_hour", "ARM64")
            + rate("fargate", "gib_hour", "ARM64")) * H
    assert [(m.address, m.action) for m in diff.movers] == [
        (f"aws_nat_gateway.{nat_c}", "destroy"),
        ("aws_vpc_endpoint.endpoints_interface-kms", "add"),
        (f"aws_ecs_service.{auth}", "change")]
    assert [m.delta for m in diff.movers] == pytest.approx([-nat, endpoint, task])
    assert diff.delta == pytest.approx(endpoint + task - nat)
    assert diff.missing == ["prod-cache"] and not diff.not_priced

    # Plan JSON and synthesized JSON are priced alike: before = the synthesized estimate of
    # the same stacks (IDs and ARNs where the stacks hold references).
    synthesized = cost.estimate("prod", synth_dir)
    assert diff.before_usd == pytest.approx(sum(
        i.usd for i in synthesized.items if i.resource.stack in ("prod-network", "prod-compute")))

    section = cost.render_cost_section(tmp_path / "plans")
    assert section.startswith("### 💰 Monthly cost (estimate)")
    assert f"| prod | {fmt.usd(diff.before_usd)} | {fmt.usd(diff.after_usd)} |" in section
    rows = [line for line in section.splitlines() if line.startswith("| prod | `")]
    assert [r.split("`")[1] for r in rows] == [m.address for m in diff.movers]
    assert "prod: prod-cache" in section and "UNVERIFIED" in section


def test_cost_section_without_plans_says_so(tmp_path):
    assert "No plan JSON found" in cost.render_cost_section(tmp_path / "nothing")
    assert invoke("cost", "diff", "--plans", str(tmp_path / "nothing")) == 2


# --- the guide's §13 tables --------------------------------------------------------------------


@pytest.mark.parametrize("env,total", [("mvp", 210), ("prod", 923)])
def test_guide_comparison_lists_every_guide_line(synth_dir, env, total):
    guide = tomllib.loads(model.GUIDE_FILE.read_text())["columns"][env]
    assert guide["total_usd"] == total == sum(line["usd"] for line in guide["lines"])
    est = cost.estimate(env, synth_dir)
    title, rows = cost.compare_guide(est)
    assert title
    listed = [(r.resource, r.guide_usd) for r in rows if r.guide_usd is not None]
    assert listed == [(line["resource"], line["usd"]) for line in guide["lines"]]
    assert all(r.why for r in rows)
    # Every dollar of ours is in some row: the guide's lines or "not in the guide".
    assert sum(r.ours_usd for r in rows) == pytest.approx(est.total)
    md = render.render_guide_markdown(est)
    for line in guide["lines"]:
        assert line["resource"] in md
        assert line["spec"] in md
        if render.HANGUL.search(line["spec_ko"]):  # the Korean original beside its translation
            assert line["spec_ko"] in md
    assert f"~${total:,.2f}" in md


def test_local_is_compared_with_the_mvp_column(synth_dir):
    title, rows = cost.compare_guide(cost.estimate("local", synth_dir))
    assert title.startswith("MVP") and rows


# --- command line ------------------------------------------------------------------------------


def test_command_line_formats(synth_dir, capsys):
    assert invoke("cost", "--env", "prod", "--outdir", str(synth_dir), "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["env"] == "prod" and report["hours_per_month"] == H
    assert report["total_usd"] == pytest.approx(cost.estimate("prod", synth_dir).total, abs=0.01)
    assert {r["status"] for r in report["resources"]} == {"priced", "free"}
    assert report["guide"]["total_usd"] == 923 and report["guide"]["rows"]

    # Text: the totals and every resource; the §13 comparison is markdown's (README, docs).
    assert invoke("cost", "--env", "mvp", "--outdir", str(synth_dir)) == 0
    text = capsys.readouterr().out
    assert "== compute" in text and "730 h" in text
    assert "Compared with the guide" not in text and "--compare-guide" in text

    assert invoke("cost", "--env", "mvp", "--outdir", str(synth_dir), "--format", "markdown") == 0
    md = capsys.readouterr().out
    assert "## Cost estimate: `mvp`" in md and "| **total** (합계) |" in md
    assert "### Compared with the guide §13" in md and "| category | monthly |" in md

    assert invoke("cost", "--env", "prod", "--outdir", str(synth_dir), "--compare-guide") == 0
    only = capsys.readouterr().out
    assert only.startswith("Compared with the guide §13") and "== compute" not in only


def test_command_line_is_hrsaas_cost(capsys):
    for argv, prog in ((["--help"], "usage: hrsaas cost"),
                       (["diff", "--help"], "usage: hrsaas cost diff")):
        assert invoke("cost", *argv) == 0
        out = capsys.readouterr().out
        assert out.startswith(prog) and "python -m" not in out
    assert invoke("cost", "--env", "prod", "--format", "yaml") == 2


def test_unknown_environment_names_the_environments_that_exist(synth_dir, capsys):
    assert invoke("cost", "--env", "nosuchenv", "--outdir", str(synth_dir)) == 2
    err = capsys.readouterr().err
    assert "unknown environment 'nosuchenv'" in err
    assert all(name in err for name in environment_names()) and "envs/" in err
    assert "synth" not in err, "the environment does not exist: synthesizing will not help"
    with pytest.raises(cost.UnknownEnvironment):
        cost.estimate("nosuchenv", synth_dir)


def test_environment_without_synthesized_stacks_says_synthesize(tmp_path, envs_copy, capsys):
    assert invoke("cost", "--env", "mvp", "--outdir", str(tmp_path / "empty")) == 2
    err = capsys.readouterr().err
    assert "'mvp' is not synthesized" in err and "hrsaas synth" in err and "make synth" in err
    assert "unknown" not in err
    # An environment is a file: a new envs/<name>.toml is known, only not synthesized yet.
    (envs_copy / "scratch.toml").write_text('extends = "mvp"\n')
    with pytest.raises(cost.NotSynthesized):
        cost.estimate("scratch", tmp_path / "empty", envs_dir=envs_copy)
    with pytest.raises(cost.UnknownEnvironment):
        cost.estimate("scratch", tmp_path / "empty")


def test_cost_starts_without_cdktf():
    code = ("import sys, hrsaas.cost.cli; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'cdktf', 'jsii', "
            "'constructs', 'cdktf_cdktf_provider_aws'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# --- the text report's columns ------------------------------------------------------------------


def _mixed_estimate() -> cost.Estimate:
    """Short and very long names, a component-rich service, a free and a not-priced resource,
    and a category the guide has no line for."""
    long_name = "hr-saas-t-" + "a-very-long-nat-gateway-name-" * 4
    resources = [
        resource("aws_nat_gateway", {"tags": {"Name": long_name}}, "nat"),
        resource("aws_nat_gateway", {}, "n"),
        resource("aws_vpc_endpoint", {"vpc_endpoint_type": "Interface",
                                      "subnet_ids": ["a", "b"]}, "logs"),
        *_service(3),
        resource("aws_fancy_new_thing", {}, "x"),
        resource("aws_vpc", {}, "vpc"),
    ]
    assume = assumptions(nat={"processed_gib_per_gateway": 100})
    return cost.Estimate("mvp", cost.price_all(resources, TEST_PRICES, assume), TEST_PRICES,
                         assume)


def _line_of(lines: list[str], address: str) -> str:
    [line] = [x for x in lines if re.search(re.escape(address) + r"(?![\w-])", x)]
    return line


def test_text_report_puts_every_amount_in_one_column():
    est = _mixed_estimate()
    lines = render.render_text(est).splitlines()
    # The row of every resource: its amount ends at the same offset, whatever its name.
    ends = set()
    for item in est.items:
        if item.status == "free":
            continue
        line = _line_of(lines, item.resource.address)
        amount = fmt.usd(item.usd) if item.status == "priced" else "NOT PRICED"
        ends.add(line.index(amount) + len(amount))
    assert len(ends) == 1, ends
    assert "a-very-long-nat-gateway-name-" * 4 in render.render_text(est)  # never truncated
    # And every row of the tables (layers, totals, resources, components): one amount column.
    amount_first = re.compile(r"^ *(\$[0-9,]+\.[0-9]{2}|NOT PRICED|monthly)  +\S")
    rows = [m.end(1) for m in map(amount_first.match, lines) if m]
    components = sum(len(i.components) for i in est.items)
    assert len(rows) >= components + 2 * len(est.layers()) + 4
    assert set(rows) == ends


def test_guide_comparison_text_aligns_its_columns():
    est = _mixed_estimate()
    title, rows = cost.compare_guide(est)
    assert any(r.guide_usd is None for r in rows)  # "VPC interface endpoints (not in the guide)"
    lines = render.render_guide_text(est).splitlines()
    ends = set()
    for row in rows:
        [line] = [x for x in lines if x.startswith(f"  {row.resource} ")]
        ours = re.search(r"(?<=\s)" + re.escape(fmt.usd(row.ours_usd)) + r"(?=\s)", line)
        ends.add(ours.end())
    assert len(ends) == 1, ends


def test_read_replica_inherits_engine_and_storage_from_its_primary():
    primary = {"engine": "postgres", "identifier": "db", "instance_class": "db.r6g.large",
               "multi_az": True, "allocated_storage": 100, "storage_type": "gp3",
               "backup_retention_period": 0}
    replica = {"identifier": "db-replica-1", "instance_class": "db.r6g.large",
               "replicate_source_db": "${aws_db_instance.primary.identifier}",
               "storage_type": "gp3", "backup_retention_period": 0}
    items = priced([resource("aws_db_instance", primary, "primary", "t-data"),
                    resource("aws_db_instance", replica, "replica", "t-data")], assumptions())
    # Single-AZ: $0.25/h × 730 h + 100 GiB × $0.12
    assert items["aws_db_instance.replica"].usd == pytest.approx(182.5 + 12.0)
    orphan = priced([resource("aws_db_instance", replica, "replica", "t-data")], assumptions())
    assert orphan["aws_db_instance.replica"].status == "not priced"


def test_cost_section_reports_failed_plans_and_broken_json(tmp_path):
    folder = tmp_path / "plans" / "mvp"
    folder.mkdir(parents=True)
    (folder / "mvp-network.error.txt").write_text("Error: boom\n")
    section = cost.render_cost_section(tmp_path / "plans")
    assert "| mvp | – | – | no plan JSON | – |" in section and "mvp: mvp-network" in section
    (folder / "mvp-data.json").write_text('{"resource_changes": [{"change": 1}]}')
    assert "The cost diff failed" in cost.render_cost_section(tmp_path / "plans")
