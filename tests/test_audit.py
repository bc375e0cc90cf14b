"""The audit layer and the cost budget (issue 19): the trail, its bucket and key, GuardDuty and
its findings' routes to the alarm topics (observability's), the budget derived from the estimate
and its alerts, and their configuration."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from hrsaas.config import ConfigError, load_environment, load_environments
from hrsaas.cost.estimate import estimate_stacks
from hrsaas.emulator import PLAN_ONLY_LAYERS

ENVS_DIR = Path(__file__).resolve().parents[1] / "envs"
ENVS = {env.name: env for env in load_environments()}
ACCOUNT = {"mvp": "111111111111", "prod": "222222222222"}


def topic(env: str, severity: str) -> str:
    return f"arn:aws:sns:ap-northeast-2:{ACCOUNT[env]}:hr-saas-{env}-alarms-{severity}"


# --- the trail --------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_trail_is_multi_region_validated_and_writes_to_its_own_bucket(stack, env):
    s = stack(f"{env}-audit")
    trail = s.one("aws_cloudtrail")
    assert trail["name"] == f"hr-saas-{env}-audit"
    assert trail["is_multi_region_trail"] is True
    assert trail["include_global_service_events"] is True
    assert trail["enable_log_file_validation"] is True
    _, bucket = s.deref(trail["s3_bucket_name"])
    assert bucket["bucket"] == f"hr-saas-audit-{env}-{ACCOUNT[env]}"
    # CloudTrail checks its bucket policy when the trail is created: it must come first.
    assert any(d.startswith("aws_s3_bucket_") for d in trail["depends_on"])
    [policy] = s.resources("aws_s3_bucket_policy").values()
    document = s.policy_document(policy["policy"])
    writes = [st for st in document["statement"] if st.get("sid") == "CloudTrailWrite"]
    assert writes and writes[0]["resources"] == [
        f"arn:aws:s3:::{bucket['bucket']}/AWSLogs/{ACCOUNT[env]}/*"]
    source = {c["variable"]: c["values"] for c in writes[0]["condition"]}
    assert source["aws:SourceArn"] == [
        f"arn:aws:cloudtrail:ap-northeast-2:{ACCOUNT[env]}:trail/hr-saas-{env}-audit"]


def test_prod_trail_uses_its_cmk_object_lock_and_cloudwatch_logs(stack):
    s = stack("prod-audit")
    trail = s.one("aws_cloudtrail")
    key_address, key = s.deref(trail["kms_key_id"])
    assert key["enable_key_rotation"] is True
    document = s.policy_document(key["policy"])
    cloudtrail = [st for st in document["statement"]
                  if st["principals"][0]["identifiers"] == ["cloudtrail.amazonaws.com"]]
    assert cloudtrail[0]["condition"][0]["values"] == [
        "arn:aws:cloudtrail:ap-northeast-2:222222222222:trail/hr-saas-prod-audit"]
    [encryption] = s.resources("aws_s3_bucket_server_side_encryption_configuration").values()
    default = encryption["rule"][0]["apply_server_side_encryption_by_default"]
    assert default["kms_master_key_id"] == trail["kms_key_id"]
    # Object Lock is chosen when the bucket is created, the retention is the trail's.
    bucket = s.one("aws_s3_bucket")
    assert bucket["object_lock_enabled"] is True
    lock = s.one("aws_s3_bucket_object_lock_configuration")["rule"]["default_retention"]
    assert lock == {"mode": "GOVERNANCE", "days": 731}
    # CloudWatch Logs delivery into an audit log group under the logs CMK.
    group = s.one("aws_cloudwatch_log_group")
    assert group["name"] == "/aws/cloudtrail/hr-saas-prod-audit"
    assert "logs_kms_key_arn" in group["kms_key_id"]
    assert trail["cloud_watch_logs_group_arn"].endswith(".arn}:*")
    # Stateful in prod: Terraform refuses to destroy them (and the plan guard does first).
    for kind in ("aws_s3_bucket", "aws_kms_key", "aws_cloudwatch_log_group"):
        assert s.one(kind)["lifecycle"]["prevent_destroy"] is True, kind
    assert key_address.startswith("aws_kms_key.")


def test_mvp_trail_uses_sse_s3_and_no_lock_logs_or_config(stack):
    s = stack("mvp-audit")
    assert "kms_key_id" not in s.one("aws_cloudtrail")
    [encryption] = s.resources("aws_s3_bucket_server_side_encryption_configuration").values()
    assert encryption["rule"][0]["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "AES256"}
    assert "object_lock_enabled" not in s.one("aws_s3_bucket")
    for kind in ("aws_s3_bucket_object_lock_configuration", "aws_cloudwatch_log_group",
                 "aws_config_configuration_recorder", "aws_kms_key"):
        assert s.resources(kind) == {}, kind


def test_prod_records_aws_config_into_the_trail_bucket(stack):
    s = stack("prod-audit")
    recorder = s.one("aws_config_configuration_recorder")
    assert recorder["recording_group"] == {"all_supported": True,
                                           "include_global_resource_types": True}
    channel = s.one("aws_config_delivery_channel")
    assert channel["s3_bucket_name"] == s.one("aws_cloudtrail")["s3_bucket_name"]
    assert channel["s3_key_prefix"] == "config"
    status = s.one("aws_config_configuration_recorder_status")
    assert status["is_enabled"] is True
    assert any("aws_config_delivery_channel." in d for d in status["depends_on"])
    # The bucket encrypts with the trail key: Config's role may use exactly that key (through
    # S3, as the key policy allows), or PutDeliveryChannel is refused.
    assert channel["s3_kms_key_arn"] == s.one("aws_cloudtrail")["kms_key_id"]
    [delivery] = [p for p in s.resources("aws_iam_role_policy").values()
                  if p["role"].startswith("${aws_iam_role.trail_config-role")]
    kms = [st for st in json.loads(delivery["policy"])["Statement"]
           if any(a.startswith("kms:") for a in st["Action"])]
    assert kms == [{"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                    "Resource": channel["s3_kms_key_arn"]}]


def test_the_trail_may_deliver_to_cloudwatch_logs(stack):
    """CloudTrail assumes the delivery role with the account as its source (the documented
    form for a role); a SourceArn-only trust could fail CreateTrail."""
    s = stack("prod-audit")
    role = next(r for r in s.resources("aws_iam_role").values()
                if r["name"].endswith("-cloudwatch"))
    [statement] = json.loads(role["assume_role_policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {
        "aws:SourceAccount": load_environment("prod").account_id}}


# --- threat detection -------------------------------------------------------------------------

@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_guardduty_findings_reach_the_alarm_topics_by_severity(stack, env):
    """The detectors are audit's, the routes observability's, beside the topics they target."""
    audit, obs = stack(f"{env}-audit"), stack(f"{env}-observability")
    assert audit.one("aws_guardduty_detector")["enable"] is True
    assert audit.one("aws_accessanalyzer_analyzer")["type"] == "ACCOUNT"
    assert not audit.resources("aws_cloudwatch_event_rule")
    rules = obs.resources("aws_cloudwatch_event_rule")
    routed = {}
    for target in obs.resources("aws_cloudwatch_event_target").values():
        _, rule = obs.deref(target["rule"])
        _, topic_body = obs.deref(target["arn"])
        arn = f"arn:aws:sns:ap-northeast-2:{ACCOUNT[env]}:{topic_body['name']}"
        routed[rule["name"]] = (json.loads(rule["event_pattern"]), arn)
    assert len(routed) == len(rules) == 3
    critical, to_critical = routed[f"hr-saas-{env}-findings-guardduty-critical"]
    warning, to_warning = routed[f"hr-saas-{env}-findings-guardduty-warning"]
    assert critical["source"] == ["aws.guardduty"] == warning["source"]
    assert critical["detail"]["severity"] == [{"numeric": [">=", 7]}]
    assert warning["detail"]["severity"] == [{"numeric": [">=", 4, "<", 7]}]
    assert (to_critical, to_warning) == (topic(env, "critical"), topic(env, "warning"))
    analyzer, to = routed[f"hr-saas-{env}-findings-access-analyzer"]
    assert analyzer["source"] == ["aws.access-analyzer"] and to == topic(env, "warning")
    assert analyzer["detail"] == {"status": ["ACTIVE"]}


def test_audit_waits_for_no_layer_after_security(synth_dir):
    """Off the deploy's critical path: audit applies beside network, data and compute."""
    manifest = json.loads((synth_dir / "manifest.json").read_text())
    for env in ("local", "mvp", "prod"):
        assert sorted(manifest["stacks"][f"{env}-audit"]["dependencies"]) == [
            f"{env}-bootstrap", f"{env}-security"]


def test_alarm_topics_are_the_ones_observability_creates(stack):
    """The names the alarms, the finding routes and the budget alert on (docs/runbooks/dr.md)."""
    names = {body["name"] for body in stack("prod-observability")
             .resources("aws_sns_topic").values()}
    for severity in ("critical", "warning"):
        assert topic("prod", severity).rsplit(":", 1)[1] in names


# --- the budget -------------------------------------------------------------------------------

BUDGET_TYPES = ("aws_budgets_budget", "aws_ce_anomaly_monitor", "aws_ce_anomaly_subscription")


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_budget_is_the_estimate_of_every_stack_plus_the_margin(synth_dir, stack, env):
    """Priced as built before the budget was added: every stack, observability without the
    budget's own resources (which AWS does not charge for)."""
    stacks = {p.name: json.loads((p / "cdk.tf.json").read_text())
              for p in sorted((synth_dir / "stacks").glob(f"{env}-*"))}
    assert f"{env}-audit" in stacks and len(stacks) == 14
    observability = stacks[f"{env}-observability"]["resource"]
    assert all(kind in observability for kind in BUDGET_TYPES)
    for kind in BUDGET_TYPES:
        observability.pop(kind)
    total = estimate_stacks(env, stacks).total
    margin = ENVS[env].budget.margin_percent
    assert margin == 20
    budget = stack(f"{env}-observability").one("aws_budgets_budget")
    assert budget["budget_type"] == "COST" and budget["time_unit"] == "MONTHLY"
    assert budget["limit_unit"] == "USD"
    assert float(budget["limit_amount"]) == math.ceil(round(total * 1.2, 2))
    assert float(budget["limit_amount"]) > total > 0


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_budget_alerts_forecast_and_actual_to_warning_and_critical(stack, env):
    s = stack(f"{env}-observability")
    budget = s.one("aws_budgets_budget")
    alerts = {(n["notification_type"], n["threshold"],
               tuple(s.deref(t)[1]["name"] for t in n["subscriber_sns_topic_arns"]))
              for n in budget["notification"]}
    assert alerts == {(kind, percent, (topic(env, severity).rsplit(":", 1)[1],))
                      for kind in ("FORECASTED", "ACTUAL")
                      for percent, severity in ((80, "warning"), (100, "critical"))}
    # Budgets and Cost Anomaly Detection publish only once the topics' policies let them.
    policies = {f"aws_sns_topic_policy.{rid}" for rid in s.resources("aws_sns_topic_policy")
                if rid.startswith("alarms_")}  # the regional topics (us-east-1 has its own)
    assert len(policies) == 2
    assert set(budget["depends_on"]) == policies
    assert set(s.one("aws_ce_anomaly_subscription")["depends_on"]) == policies
    assert {(n["comparison_operator"], n["threshold_type"]) for n in budget["notification"]} == {
        ("GREATER_THAN", "PERCENTAGE")}


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_anomaly_subscription_watches_the_monitor_into_the_warning_topic(stack, env):
    s = stack(f"{env}-observability")
    monitor = s.one("aws_ce_anomaly_monitor")
    assert (monitor["monitor_type"], monitor["monitor_dimension"]) == ("DIMENSIONAL", "SERVICE")
    subscription = s.one("aws_ce_anomaly_subscription")
    [monitor_ref] = subscription["monitor_arn_list"]
    assert s.deref(monitor_ref)[1] is monitor
    assert subscription["frequency"] == "IMMEDIATE"  # the only frequency SNS subscribers get
    [subscriber] = subscription["subscriber"]
    assert subscriber["type"] == "SNS"
    assert s.deref(subscriber["address"])[1]["name"] == topic(env, "warning").rsplit(":", 1)[1]
    assert subscription["threshold_expression"]["dimension"] == {
        "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "match_options": ["GREATER_THAN_OR_EQUAL"],
        "values": ["50"]}


def test_no_layer_waits_for_observability_and_plan_only_layers_say_why(synth_dir):
    from hrsaas.topology import LAYERS
    # The cost budget is observability's: no stack of its own waits at the end of a deploy.
    assert "budget" not in LAYERS
    manifest = json.loads((synth_dir / "manifest.json").read_text())["stacks"]
    assert not [s for s, body in manifest.items()
                if any(d.endswith("-observability") for d in body["dependencies"])]
    assert all(reason.strip() for reason in PLAN_ONLY_LAYERS.values())


# --- configuration ----------------------------------------------------------------------------

@pytest.fixture
def envs_copy(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.delenv("HRSAAS_EMULATOR_ENDPOINT", raising=False)
    target = tmp_path / "envs"
    shutil.copytree(ENVS_DIR, target)
    return target


BAD = [
    ("[budget]\nwarning_percent = 100\ncritical_percent = 90\n", "budget.critical_percent",
     "not above budget.warning_percent"),
    ("[budget]\nmargin_percent = -5\n", "budget.margin_percent", "below the minimum 0"),
    ("[audit]\nwarning_severity = 8\n", "audit.critical_severity",
     "not above audit.warning_severity"),
    ('[audit]\nobject_lock = "yes"\n', "audit.object_lock", "GOVERNANCE"),
    ('[audit]\naws_config = "no"\n', "audit.aws_config", ""),
    ('[budget]\nanomaly_monitor_arn = "monitor-1"\n', "budget.anomaly_monitor_arn",
     "Cost Anomaly Detection monitor"),
]


@pytest.mark.parametrize("content,field,fragment", BAD, ids=[b[1] + ": " + b[0] for b in BAD])
def test_bad_audit_and_budget_settings_name_the_field_and_the_fix(envs_copy, content, field,
                                                                  fragment):
    (envs_copy / "staging.toml").write_text('extends = "mvp"\n' + content)
    with pytest.raises(ConfigError) as err:
        load_environment("staging", envs_copy)
    problems = [p for p in err.value.problems if p.field == field]
    assert problems, str(err.value)
    assert fragment in problems[0].message + problems[0].fix, str(err.value)
    assert problems[0].fix and "^" not in problems[0].message + problems[0].fix
