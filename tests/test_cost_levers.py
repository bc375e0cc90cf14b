"""Priced design levers (hrsaas/cost/levers.py, ``hrsaas cost --levers``) and the prices of the
audit layer's resource types: hand-computed cases on a small table of round numbers written
here (so they check the arithmetic, not cost/prices.toml), then the real prod and mvp
estimates (every lever saves, the combination is the cheapest, the docs show the output)."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from hrsaas import cost
from hrsaas.cost import levers, load
from hrsaas.toolenv import ROOT
from tests.entry import invoke

SEOUL = "ap-northeast-2"
H = 730

PRICES = cost.Prices({
    "meta": {"source": "test", "prices_as_of": "test", "status": "test"},
    "free": {"aws_ecs_task_definition": "priced through its services"},
    "instance_vcpus": {"db.r6g.large": 2},
    "regions": {SEOUL: {
        "vpc": {"interface_endpoint_az_hour": 0.01, "interface_endpoint_gib": 0.01},
        "fargate": {"vcpu_hour": {"ARM64": 0.04}, "gib_hour": {"ARM64": 0.004},
                    "spot_vcpu_hour": {"ARM64": 0.012}, "spot_gib_hour": {"ARM64": 0.0012},
                    "savings_plan_1y_vcpu_hour": {"ARM64": 0.03},
                    "savings_plan_1y_gib_hour": {"ARM64": 0.003}},
        "rds": {"multi_az_factor": 2, "gp3_gib_month": 0.12,
                "postgres_hour": {"db.r6g.large": 0.25},
                "postgres_ri_1y_hour": {"db.r6g.large": 0.16}},
        "elasticache": {"node_hour": {"cache.r6g.large": 0.25},
                        "node_ri_1y_hour": {"cache.r6g.large": 0.18},
                        "valkey_node_hour": {"cache.r6g.large": 0.2},
                        "valkey_node_ri_1y_hour": {"cache.r6g.large": 0.144}},
        "cloudwatch": {"logs_ingest_gib": 0.5, "logs_storage_gib_month": 0.03,
                       "metric_month": 0.3},
        "guardduty": {"management_events_million": 4.0, "flow_dns_gib": 1.0,
                      "s3_data_events_million": 0.8, "runtime_vcpu_month": 1.5,
                      "rds_vcpu_month": 1.0},
        "config": {"configuration_item_continuous": 0.003, "configuration_item_periodic": 0.012,
                   "rule_evaluation": 0.001},
        "accessanalyzer": {"unused_access_principal_month": 0.2},
        "eventbridge": {"custom_events_million": 1.0},
        "s3": {"standard_gib_month": 0.025, "put_1k": 0.005, "get_1k": 0.0004},
    }},
    "global": {"cloudtrail": {"management_copy_100k": 2.0, "data_events_100k": 0.1,
                              "insights_100k": 0.35},
               "budgets": {"free_action_budgets": 2, "action_budget_day": 0.1}},
})


def assumptions(env: str = "mvp", **overrides) -> cost.Assumptions:
    return cost.Assumptions.load(env, overrides=overrides)


def resource(rtype: str, values: dict, name: str = "r", stack: str = "t-compute"
             ) -> cost.Resource:
    return cost.Resource(stack, stack.split("-", 1)[1], f"{rtype}.{name}", rtype, values, SEOUL,
                         frozenset(), load.synth_refs(values))


def estimate(resources: list[cost.Resource], env: str = "mvp", **overrides) -> cost.Estimate:
    assume = assumptions(env, **overrides)
    return cost.Estimate(env, cost.price_all(resources, PRICES, assume), PRICES, assume)


def service(name: str, priority: str, tasks: int) -> list[cost.Resource]:
    """A 1 vCPU / 2 GB ARM64 service: (1 × $0.04 + 2 × $0.004) × 730 h = $35.04 a task."""
    td = {"family": name, "cpu": "1024", "memory": "2048",
          "runtime_platform": {"cpu_architecture": "ARM64"}}
    svc = {"name": name, "desired_count": tasks, "tags": {"Priority": priority},
           "task_definition": f"${{aws_ecs_task_definition.{name}.arn}}"}
    return [resource("aws_ecs_task_definition", td, name),
            resource("aws_ecs_service", svc, name)]


SERVICES = [*service("auth", "high", 2), *service("mdm", "medium", 2), *service("file", "low", 1)]
DB = {"engine": "postgres", "identifier": "db", "instance_class": "db.r6g.large",
      "multi_az": True, "allocated_storage": 100, "storage_type": "gp3",
      "backup_retention_period": 0}
CACHE = {"engine": "redis", "node_type": "cache.r6g.large", "num_cache_clusters": 2,
         "automatic_failover_enabled": True, "snapshot_retention_limit": 0}


# --- each lever, by hand -------------------------------------------------------------------------


def test_spot_moves_medium_and_low_services_and_the_savings_plan_covers_what_stays_on_demand():
    est = estimate(SERVICES)
    per_task, spot, plan = 0.048 * H, 0.0144 * H, 0.036 * H  # 35.04, 10.512, 26.28 a month
    assert est.total == pytest.approx(5 * per_task)  # 175.20
    # Spot: mdm's 2 tasks and file's 1, not auth's (high): 3 × (35.04 − 10.512)
    assert est.total - levers.total_with(est, {"spot"}) == pytest.approx(3 * 24.528)
    # Savings Plan alone: all 5 tasks at the plan's rate: 5 × (35.04 − 26.28)
    assert est.total - levers.total_with(est, {"fargate_savings_plan"}) == pytest.approx(43.8)
    # Together the plan covers only auth's 2 on-demand tasks: 2 × 26.28 + 3 × 10.512
    assert levers.total_with(est, {"spot", "fargate_savings_plan"}) == pytest.approx(
        2 * plan + 3 * spot)
    assert levers.total_with(est, {"spot", "fargate_savings_plan"}) == pytest.approx(84.096)


def test_rds_reservation_prices_both_az_instances_at_the_reserved_rate():
    est = estimate([resource("aws_db_instance", DB, "db", "t-data")])
    # $0.25/h × 2 (Multi-AZ) × 730 + 100 GiB × $0.12 × 2 = 365 + 24
    assert est.total == pytest.approx(389.0)
    # reserved: $0.16/h × 2 × 730 = 233.6; storage unchanged
    assert levers.total_with(est, {"rds_reserved"}) == pytest.approx(233.6 + 24.0)


def test_valkey_and_cache_reservations_combine_at_valkeys_reserved_rate():
    est = estimate([resource("aws_elasticache_replication_group", CACHE, "redis", "t-cache")])
    assert est.total == pytest.approx(2 * 0.25 * H)  # 365
    assert levers.total_with(est, {"valkey"}) == pytest.approx(2 * 0.2 * H)  # 292
    assert levers.total_with(est, {"cache_reserved"}) == pytest.approx(2 * 0.18 * H)  # 262.8
    assert levers.total_with(est, {"valkey", "cache_reserved"}) == pytest.approx(
        2 * 0.144 * H)  # 210.24
    # The pricer itself prices a Valkey group at Valkey's rates (the lever's other half).
    valkey = estimate([resource("aws_elasticache_replication_group",
                                {**CACHE, "engine": "valkey"}, "v", "t-cache")])
    assert valkey.total == pytest.approx(292.0)


def test_endpoints_in_one_az_halve_the_hours_of_a_two_az_endpoint():
    endpoint = resource("aws_vpc_endpoint", {"vpc_endpoint_type": "Interface",
                                             "subnet_ids": ["a", "c"]}, "logs", "t-network")
    est = estimate([endpoint], vpc_endpoint={"processed_gib_per_endpoint": 10})
    # 2 AZs × $0.01 × 730 + 10 GB × $0.01 = 14.6 + 0.1 → 1 AZ: 7.3 + 0.1
    assert est.total == pytest.approx(14.7)
    assert levers.total_with(est, {"endpoints_one_az"}) == pytest.approx(7.4)


def test_infrequent_access_halves_ingestion_except_where_a_filter_reads_the_group():
    groups = [resource("aws_cloudwatch_log_group", {"name": "/ecs/a", "retention_in_days": 0},
                       "a", "t-compute"),
              resource("aws_cloudwatch_log_group", {"name": "/ecs/b", "retention_in_days": 0},
                       "b", "t-compute"),
              resource("aws_cloudwatch_log_metric_filter",
                       {"log_group_name": "${aws_cloudwatch_log_group.b.name}"}, "f",
                       "t-compute")]
    est = estimate(groups, logs={"groups": {"/ecs/*": {"ingest_gib": 10}},
                                 "stored_fraction": 0, "never_expire_months": 12})
    # each: 10 GB × $0.5 = $5 ingestion; storage 0 (stored_fraction 0); the filter's metric
    # $0.30
    assert est.total == pytest.approx(10.3)
    # a is halved ($2.50), b keeps its metric filter and the STANDARD class
    assert levers.total_with(est, {"logs_infrequent_access"}) == pytest.approx(7.8)


def test_container_insights_off_removes_the_clusters_metrics_and_logs():
    cluster = resource("aws_ecs_cluster", {"name": "c", "setting": [
        {"name": "containerInsights", "value": "enabled"}]}, "cluster")
    est = estimate([cluster, *service("auth", "high", 1)],
                   ecs={"container_insights_metrics_per_cluster": 10,
                        "container_insights_metrics_per_service": 10,
                        "container_insights_log_gib_per_service": 2})
    # (10 + 10 × 1 service) × $0.3 + 2 GB × $0.5 = 6 + 1, plus the task 35.04
    assert est.total == pytest.approx(7.0 + 35.04)
    assert levers.total_with(est, {"container_insights_off"}) == pytest.approx(35.04)


def test_unknown_lever_is_refused_by_name():
    with pytest.raises(levers.LeverError, match="unknown lever.*reserved_everything"):
        levers.total_with(estimate(SERVICES), {"reserved_everything"})


# --- the guide's total ----------------------------------------------------------------------------


def test_cheapest_capability_keeping_combination_against_the_guide_total():
    endpoint = resource("aws_vpc_endpoint", {"vpc_endpoint_type": "Interface",
                                             "subnet_ids": ["a", "c"]}, "logs", "t-network")
    db = resource("aws_db_instance", DB, "db", "t-data")
    # Ten times the hours: the Multi-AZ database alone exceeds the guide's prod total.
    est = estimate([db, endpoint], "prod", hours_per_month=7300,
                   vpc_endpoint={"processed_gib_per_endpoint": 10})
    # RDS 0.25 × 2 × 7300 + 24 = 3674; endpoint 2 × 0.01 × 7300 + 0.1 = 146.1
    assert est.total == pytest.approx(3674 + 146.1)
    answer = levers.guide_answer(est)
    # Multi-AZ (the database): endpoints in one AZ do not keep the capability; of the rest
    # only the reservation changes anything, and ties go to the fewer levers.
    assert answer.combination == ("rds_reserved",)
    assert answer.guide_total == 923
    reserved_rds = 0.16 * 2 * 7300 + 24  # 2360
    assert answer.guide_lines_after == pytest.approx(reserved_rds)
    assert answer.design_after == pytest.approx(reserved_rds + 146.1)
    assert not answer.fits and not answer.guide_lines_fit
    assert [(line.resource, round(line.after_usd - (line.guide_usd or 0), 2))
            for line in answer.over] == [("RDS PostgreSQL", round(reserved_rds - 300, 2)),
                                         ("VPC interface endpoints", 146.1)]
    text = levers.render_levers_markdown(est)
    assert "**No.**" in text and "RDS PostgreSQL +$2,060.00" in text

    # A single-AZ environment (mvp's shape) may put its endpoints in one AZ.
    single = estimate([resource("aws_db_instance", {**DB, "multi_az": False}, "db", "t-data"),
                       endpoint], "mvp", vpc_endpoint={"processed_gib_per_endpoint": 10})
    answer = levers.guide_answer(single)
    assert answer.combination == ("rds_reserved", "endpoints_one_az")
    # 0.16 × 730 + 12 + 7.3 + 0.1 = 116.8 + 19.4: within the MVP's ~$210
    assert answer.design_after == pytest.approx(136.2) and answer.fits


# --- the audit layer's resource types, by hand ----------------------------------------------------


def _priced(resources: list[cost.Resource], env: str = "mvp", **overrides
            ) -> dict[str, cost.Priced]:
    return {p.resource.address: p for p in estimate(resources, env, **overrides).items}


def test_cloudtrail_first_copy_is_free_further_copies_data_events_and_insights_are_not():
    trails = [
        resource("aws_cloudtrail", {"name": "main", "is_multi_region_trail": True}, "a",
                 "t-audit"),
        resource("aws_cloudtrail", {"name": "second", "event_selector": [
            {"read_write_type": "All", "include_management_events": True,
             "data_resource": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]}],
            "insight_selector": [{"insight_type": "ApiCallRateInsight"}]}, "b", "t-audit"),
    ]
    items = _priced(trails, cloudtrail={"management_events_million": 2,
                                        "data_events_million": 3, "first_copy": True})
    first, second = items["aws_cloudtrail.a"], items["aws_cloudtrail.b"]
    assert first.status == "free" and "first copy" in first.reason
    by_what = {c.what: c.usd for c in second.components}
    # 2 M events × 10 (per 100k) × $2; 3 M data events × 10 × $0.1; 1 insight × 2 M × 10 × 0.35
    assert by_what == pytest.approx({"management events (an additional copy)": 40.0,
                                     "data events": 3.0, "Insights": 7.0})
    assert {c.category for c in second.components} == {"cloudtrail"}
    # An organization trail already records management events: this one is a paid copy.
    items = _priced(trails[:1], cloudtrail={"management_events_million": 2,
                                            "data_events_million": 0, "first_copy": False})
    assert items["aws_cloudtrail.a"].usd == pytest.approx(40.0)


def test_guardduty_detector_and_features():
    detector = resource("aws_guardduty_detector", {"enable": True}, "d", "t-audit")
    features = [resource("aws_guardduty_detector_feature",
                         {"detector_id": "${aws_guardduty_detector.d.id}", "name": name,
                          "status": status}, name.lower(), "t-audit")
                for name, status in (("S3_DATA_EVENTS", "ENABLED"),
                                     ("RUNTIME_MONITORING", "ENABLED"),
                                     ("RDS_LOGIN_EVENTS", "ENABLED"),
                                     ("EKS_AUDIT_LOGS", "ENABLED"),
                                     ("LAMBDA_NETWORK_LOGS", "DISABLED"))]
    items = _priced([detector, *features, *SERVICES,
                     resource("aws_db_instance", DB, "db", "t-data")],
                    cloudtrail={"management_events_million": 2},
                    guardduty={"flow_dns_gib": 10, "s3_data_events_million": 5})
    # 2 M × $4 + 10 GB × $1
    assert items["aws_guardduty_detector.d"].usd == pytest.approx(18.0)
    assert items["aws_guardduty_detector_feature.s3_data_events"].usd == pytest.approx(4.0)
    # 5 tasks × 1 vCPU × $1.5
    assert items["aws_guardduty_detector_feature.runtime_monitoring"].usd == pytest.approx(7.5)
    # db.r6g.large: 2 vCPU × $1
    assert items["aws_guardduty_detector_feature.rds_login_events"].usd == pytest.approx(2.0)
    assert items["aws_guardduty_detector_feature.eks_audit_logs"].status == "free"
    assert items["aws_guardduty_detector_feature.lambda_network_logs"].status == "free"
    unknown = _priced([resource("aws_guardduty_detector_feature", {"name": "NEW_PLAN"}, "n")])
    assert unknown["aws_guardduty_detector_feature.n"].status == "not priced"


def test_access_analyzer_config_budgets_and_eventbridge():
    roles = [resource("aws_iam_role", {"name": f"r{i}"}, f"r{i}", "t-security")
             for i in range(5)]
    budget = resource("aws_budgets_budget", {"name": "b", "limit_amount": "600",
                                             "budget_type": "COST", "time_unit": "MONTHLY"},
                      "b", "t-budget")
    rules = [resource("aws_cloudwatch_event_rule", {"event_pattern": pattern}, name, "t-audit")
             for name, pattern in (("gd", '{"source": ["aws.guardduty"]}'),
                                   ("app", '{"source": ["hr-saas.payroll"]}'))]
    items = _priced([
        *roles,
        resource("aws_accessanalyzer_analyzer", {"type": "ACCOUNT"}, "ext", "t-audit"),
        resource("aws_accessanalyzer_analyzer", {"type": "ACCOUNT_UNUSED_ACCESS"}, "unused",
                 "t-audit"),
        resource("aws_config_configuration_recorder", {"name": "rec"}, "rec", "t-audit"),
        resource("aws_config_configuration_recorder", {
            "name": "daily", "recording_mode": {"recording_frequency": "DAILY"}}, "daily",
            "t-audit"),
        resource("aws_config_config_rule", {"name": "rule"}, "rule", "t-audit"),
        budget, *rules,
    ], access_analyzer={"principals_outside_project": 15},
        config={"configuration_items": 2000, "evaluations_per_rule": 3000},
        eventbridge={"custom_events_million": 2})
    assert items["aws_accessanalyzer_analyzer.ext"].status == "free"
    # (5 roles + 15 others) × $0.2
    assert items["aws_accessanalyzer_analyzer.unused"].usd == pytest.approx(4.0)
    assert items["aws_config_configuration_recorder.rec"].usd == pytest.approx(6.0)  # 2000 × 0.003
    assert items["aws_config_configuration_recorder.daily"].usd == pytest.approx(24.0)
    assert items["aws_config_config_rule.rule"].usd == pytest.approx(3.0)  # 3000 × $0.001
    assert items["aws_budgets_budget.b"].status == "free"
    assert items["aws_cloudwatch_event_rule.gd"].status == "free"
    assert items["aws_cloudwatch_event_rule.app"].usd == pytest.approx(2.0)  # 2 M × $1


def test_action_enabled_budgets_beyond_two_are_billed_per_day():
    budgets, actions = [], []
    for i in range(3):
        budgets.append(resource("aws_budgets_budget", {"name": f"b{i}"}, f"b{i}", "t-budget"))
        actions.append(resource("aws_budgets_budget_action", {
            "budget_name": f"${{aws_budgets_budget.b{i}.name}}"}, f"a{i}", "t-budget"))
    items = _priced([*budgets, *actions])
    assert [items[f"aws_budgets_budget.b{i}"].status for i in range(3)] == [
        "free", "free", "priced"]
    # $0.10/day × 730/24 days
    assert items["aws_budgets_budget.b2"].usd == pytest.approx(0.1 * 730 / 24)


# --- the real estimates ---------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_levers_of_the_real_design(synth_dir, env):
    est = cost.estimate(env, synth_dir)
    assert levers.total_with(est, ()) == pytest.approx(est.total)
    priced = levers.price_levers(est)
    assert [p.lever.key for p in priced] == [lever.key for lever in levers.LEVERS]
    # Every lever applies to this design and saves something; none moves the data tier's
    # sizes (the database and cache resources stay as they are).
    assert all(p.saving > 0.5 for p in priced), [(p.lever.key, p.saving) for p in priced
                                                 if p.saving <= 0.5]
    answer = levers.guide_answer(est)
    allowed = [lv.key for lv in levers.LEVERS if levers.keeps_capability(lv, est)]
    assert ("endpoints_one_az" in allowed) is (env == "mvp")  # prod is Multi-AZ
    # The cheapest: no subset of the allowed levers costs less than the combination.
    best = levers.total_with(est, answer.combination)
    for size in range(len(allowed) + 1):
        for combo in itertools.combinations(allowed, size):
            assert levers.total_with(est, combo) >= best - 0.005
    assert answer.design_after == pytest.approx(best)
    assert sum(line.after_usd for line in answer.lines) == pytest.approx(best)


def test_command_line_levers(synth_dir, capsys):
    assert invoke("cost", "--env", "prod", "--outdir", str(synth_dir), "--levers") == 0
    text = capsys.readouterr().out
    assert text.startswith("Priced design levers of prod")
    assert all(lever.title in text for lever in levers.LEVERS)
    assert "Can the guide's capability run within its ~$923.00?" in text
    assert invoke("cost", "--env", "prod", "--outdir", str(synth_dir), "--levers",
                     "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["guide"]["total_usd"] == 923 and len(report["levers"]) == len(levers.LEVERS)


# --- the docs show the output ---------------------------------------------------------------------

START, END = "<!-- levers:{env}:start -->", "<!-- levers:{env}:end -->"


def generated_block(text: str, env: str) -> str:
    match = re.search(re.escape(START.format(env=env)) + r"\n(.*?)" + re.escape(
        END.format(env=env)), text, re.S)
    assert match, f"docs/cost.md has no {START.format(env=env)} … {END.format(env=env)} block"
    return match[1]


AMOUNT = re.compile(r"([−+±]?)\$([0-9,]+\.[0-9]{2})")


def _shape(text: str) -> tuple[str, list[float]]:
    """The text with every amount replaced by ``$N``, and the amounts."""
    amounts = [(-1 if m[1] == "−" else 1) * float(m[2].replace(",", ""))
               for m in AMOUNT.finditer(text)]
    return AMOUNT.sub("$N", text), amounts


@pytest.mark.parametrize("env", ["prod", "mvp"])
def test_docs_show_the_levers_as_the_command_prints_them(synth_dir, env):
    """docs/cost.md holds `hrsaas cost --env <env> --levers --format markdown` between its
    markers: the same text, lines and verdict, every amount within 1 % or $2 of the command's
    (a small change elsewhere in the design does not force a docs edit; a lever, a line or a
    verdict that moves does). Regenerate with `hrsaas cost write-docs`."""
    docs = (ROOT / "docs" / "cost.md").read_text()
    stated_text, stated = _shape(generated_block(docs, env))
    actual_text, actual = _shape(levers.render_levers_markdown(cost.estimate(env, synth_dir)))
    stale = ("docs/cost.md's levers block is stale: run `hrsaas cost write-docs --outdir "
             "<synthesized cdktf.out>`")
    assert stated_text == actual_text, stale
    off = [(s, a) for s, a in zip(stated, actual, strict=True)
           if abs(s - a) > max(2.0, 0.01 * abs(a))]
    assert not off, f"{stale}: (docs, now) {off}"


def _dollars(text: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"~\$([0-9,]+)", text)]


def test_readme_cost_section_states_the_current_figures(synth_dir):
    """The README's cost table and its ~$923 answer round the command's figures (within 2 %, so
    that a small change elsewhere does not force a README edit, a stale table does fail)."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Cost\n", 1)[1].split("\n## ", 1)[0]
    close = lambda stated, actual: abs(stated - actual) <= 0.02 * actual  # noqa: E731
    for env in ("mvp", "prod"):
        est = cost.estimate(env, synth_dir)
        answer = levers.guide_answer(est)
        [row] = [line for line in section.splitlines() if line.startswith(f"| {env} |")]
        total, guide, reserved, combined = _dollars(row)
        assert guide == answer.guide_total
        for stated, actual in ((total, est.total), (reserved, est.with_alternative("reserved")),
                               (combined, answer.design_after)):
            assert close(stated, actual), (env, row, actual)
    answer = levers.guide_answer(cost.estimate("prod", synth_dir))
    paragraph = section.split("**Levers and the guide's ~$923.**", 1)[1].split("\n\n", 1)[0]
    stated = _dollars(paragraph)
    for actual in (answer.guide_lines_after, answer.design_after, answer.unpriced_by_guide):
        assert any(close(s, actual) for s in stated), (actual, stated)
    assert ("**No:**" in paragraph) is (not answer.fits)


def test_write_docs_regenerates_a_stale_block(synth_dir, tmp_path):
    real = (ROOT / "docs" / "cost.md").read_text()
    stale = re.sub(r"(<!-- levers:prod:start -->\n).*?(<!-- levers:prod:end -->)",
                   r"\1stale\n\2", real, flags=re.S)
    copy = tmp_path / "cost.md"
    copy.write_text(stale)
    assert levers.write_docs(synth_dir, copy) == ["prod", "mvp"]
    assert generated_block(copy.read_text(), "prod") == levers.render_levers_markdown(
        cost.estimate("prod", synth_dir))
    copy.write_text("no markers\n")
    with pytest.raises(levers.LeverError, match="no <!-- levers:prod:start -->"):
        levers.write_docs(synth_dir, copy)
