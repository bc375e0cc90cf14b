"""Operations (guide §4, §15, §16): the alarm set derived from the catalog, the backup plan with
its cross-region copy in prod, and the scaling knobs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrsaas.config import load_environment
from hrsaas.layers.observability import cache_nodes

ENVS = ["mvp", "prod"]


def alarms_of(s) -> dict[str, dict]:
    return {a["alarm_name"]: a for a in s.resources("aws_cloudwatch_metric_alarm").values()}


def topic_severity(s, alarm: dict) -> str:
    _, topic = s.deref(alarm["alarm_actions"][0])
    return topic["tags"]["Severity"]


@pytest.mark.parametrize("env_name", ENVS)
def test_every_service_queue_target_group_and_data_node_has_its_alarms(stack, env_name):
    env = load_environment(env_name)
    s = stack(f"{env_name}-observability")
    found = alarms_of(s)
    p = f"hr-saas-{env_name}"
    expected = {f"{p}-alb-5xx-rate", f"{p}-alb-response-time", f"{p}-db-cpu-high",
                f"{p}-global-cloudfront-5xx-rate",
                f"{p}-db-free-storage-low", f"{p}-db-freeable-memory-low",
                f"{p}-db-connections-high"}
    # Each finding route's failed deliveries (modules/alarms events()).
    expected |= {f"{p}-findings-{route}-undelivered"
                 for route in ("guardduty-critical", "guardduty-warning", "access-analyzer")}
    services = env.deployed_services()
    for svc in services:
        expected |= {f"{p}-{svc.service_name}-{what}" for what in (
            "unhealthy-hosts", "cpu-high", "memory-high", "below-desired")}
        if svc.subscribes:
            expected |= {f"{p}-{svc.service_name}-dlq-messages",
                         f"{p}-{svc.service_name}-queue-oldest-message"}
    for node, _ in cache_nodes(env, f"{p}-cache"):
        # The node ID already carries the environment's prefix: it appears once in the name.
        expected |= {f"{node}-{what}" for what in ("cpu-high", "memory-high", "evictions")}
        if env.cache.replicas:  # every node: a failover swaps the roles
            expected.add(f"{node}-replication-lag")
    expected |= {f"{p}-db-replica-{n}-lag" for n in range(1, env.database.read_replicas + 1)}
    assert set(found) == expected
    assert not [name for name in found if name.count(p) > 1], "a doubled name prefix"
    # Every target group is watched: one unhealthy-hosts alarm per deployed service's group.
    groups = {a["dimensions"]["TargetGroup"] for a in found.values()
              if a.get("metric_name") == "UnHealthyHostCount"}
    assert groups == {"${data.terraform_remote_state.remote-compute.outputs."
                      f"target_group_arn_suffixes.{svc.name}}}" for svc in services}
    # Severity follows the catalog's priority.
    for svc in services:
        alarm = found[f"{p}-{svc.service_name}-cpu-high"]
        assert topic_severity(s, alarm) == ("critical" if svc.priority == "high"
                                            else "warning"), svc.name
        assert alarm["threshold"] == env.observability.ecs_cpu_percent
    assert topic_severity(s, found[f"{p}-db-cpu-high"]) == "critical"
    # Connections against this env's max_connections.
    assert found[f"{p}-db-connections-high"]["threshold"] == (
        env.database.max_connections * env.observability.rds_connections_percent / 100)
    if env_name == "prod":  # primary + replica: the replica's lag is watched
        assert f"{p}-cache-002-replication-lag" in found


@pytest.mark.parametrize("env_name", ENVS)
def test_alarm_topics_and_dashboard(stack, env_name):
    s = stack(f"{env_name}-observability")
    topics = {t["name"]: t for t in s.resources("aws_sns_topic").values()}
    p = f"hr-saas-{env_name}"
    assert set(topics) == {f"{p}-alarms-critical", f"{p}-alarms-warning",
                           f"{p}-global-alarms-critical", f"{p}-global-alarms-warning"}
    for name in (f"{p}-global-alarms-critical", f"{p}-global-alarms-warning"):
        assert topics[name]["provider"] == "aws.us_east_1"
    if env_name == "prod":
        assert topics[f"{p}-alarms-critical"]["kms_master_key_id"] == (
            "${data.terraform_remote_state.remote-security.outputs.messaging_kms_key_arn}")
    for policy in s.resources("aws_sns_topic_policy").values():
        # Only this account's alerting services publish: CloudWatch alarms, EventBridge
        # (GuardDuty and Access Analyzer findings, routed in this layer), Budgets and Cost
        # Anomaly Detection (the cost budget, in this layer).
        statements = json.loads(policy["policy"])["Statement"]
        assert {st["Principal"]["Service"] for st in statements} == {
            "cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com",
            "costalerts.amazonaws.com"}
        for statement in statements:
            assert statement["Action"] == "sns:Publish"
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == (
                load_environment(env_name).account_id)
    dashboard = json.loads(s.one("aws_cloudwatch_dashboard")["dashboard_body"])
    assert len(dashboard["widgets"]) >= 5


def test_every_publisher_of_the_encrypted_alarm_topics_may_use_their_key(stack):
    """prod's alarm topics are under the messaging key: each service that publishes to them
    needs the key too. KMS does not see aws:SourceAccount when EventBridge publishes to an
    encrypted topic (SNS developer guide), so that grant alone is unconditioned."""
    account = load_environment("prod").account_id
    s = stack("prod-security")
    [doc] = [d for rid, d in s.data("aws_iam_policy_document").items()
             if rid.startswith("messaging-key")]
    grants = {st["principals"][0]["identifiers"][0]: st for st in doc["statement"]
              if st["principals"][0]["type"] == "Service"}
    publishers = {"cloudwatch.amazonaws.com", "events.amazonaws.com",
                  "budgets.amazonaws.com", "costalerts.amazonaws.com"}
    assert publishers <= set(grants)
    for principal in publishers:
        assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(grants[principal]["actions"])
    assert not grants.pop("events.amazonaws.com").get("condition")
    for statement in grants.values():
        assert statement["condition"] == [{"test": "StringEquals",
                                           "variable": "aws:SourceAccount",
                                           "values": [account]}]


@pytest.mark.parametrize("env_name", ENVS)
def test_a_finding_route_that_cannot_deliver_raises_an_alarm(stack, env_name):
    s = stack(f"{env_name}-observability")
    rules = {r["name"] for r in s.resources("aws_cloudwatch_event_rule").values()}
    watched = {a["dimensions"]["RuleName"]: a
               for a in s.resources("aws_cloudwatch_metric_alarm").values()
               if a.get("namespace") == "AWS/Events"}
    assert set(watched) == rules and len(rules) == 3
    for alarm in watched.values():
        assert alarm["metric_name"] == "FailedInvocations" and alarm["statistic"] == "Sum"
        assert (alarm["evaluation_periods"], alarm["datapoints_to_alarm"]) == (1, 1)
        assert alarm["comparison_operator"] == "GreaterThanThreshold"
        assert alarm["threshold"] == 0 and alarm["alarm_actions"]


def test_cloudfront_is_watched_from_us_east_1(stack):
    s = stack("prod-observability")
    cdn = [a for a in s.resources("aws_cloudwatch_metric_alarm").values()
           if a.get("namespace") == "AWS/CloudFront"]
    assert len(cdn) == 1 and cdn[0]["provider"] == "aws.us_east_1"
    assert cdn[0]["dimensions"]["Region"] == "Global"


@pytest.mark.parametrize("env_name", ENVS)
def test_backup_plan_and_the_cross_region_copy_in_prod(stack, env_name):
    env = load_environment(env_name)
    s = stack(f"{env_name}-backup")
    [rule] = s.one("aws_backup_plan")["rule"]
    assert rule["schedule"] == env.backup.schedule
    assert rule["lifecycle"] == {"delete_after": env.backup.retention_days}
    selection = s.one("aws_backup_selection")
    assert sorted(selection["resources"]) == sorted([
        "${data.terraform_remote_state.remote-data.outputs.db_instance_arn}",
        "${data.terraform_remote_state.remote-edge.outputs.file_bucket_arn}"])
    vaults = {v["name"]: v for v in s.resources("aws_backup_vault").values()}
    if env_name == "prod":
        [copy] = rule["copy_action"]
        copy_vault = vaults[f"hr-saas-{env_name}-copy"]
        assert copy_vault["provider"] == "aws.copy_region"
        providers = {p.get("alias"): p for p in s.json["provider"]["aws"]}
        assert providers["copy_region"]["region"] == "ap-northeast-1" != env.region
        assert copy["destination_vault_arn"].startswith("${aws_backup_vault.backup_copy-vault")
        assert copy["lifecycle"] == {"delete_after": env.backup.copy_retention_days}
        assert vaults[f"hr-saas-{env_name}"]["kms_key_arn"] == (
            "${data.terraform_remote_state.remote-security.outputs.backup_kms_key_arn}")
        # The copies are re-encrypted with the copy vault's key: a CMK of the copy region,
        # usable only through AWS Backup and RDS there.
        key_id, key = s.deref(copy_vault["kms_key_arn"])
        assert key_id.startswith("aws_kms_key.") and key["provider"] == "aws.copy_region"
        assert key["enable_key_rotation"] is True
        policy = s.policy_document(key["policy"])
        via = [c for st in policy["statement"] for c in st.get("condition", [])
               if c["variable"] == "kms:ViaService"]
        assert via and all(set(c["values"]) == {"backup.ap-northeast-1.amazonaws.com",
                                                 "rds.ap-northeast-1.amazonaws.com"}
                           for c in via)
    else:
        assert "copy_action" not in rule and set(vaults) == {f"hr-saas-{env_name}"}


def test_read_replicas_are_a_knob_with_their_alarm(variant_synth):
    """envs `replicas` (tests/conftest.py ``VARIANTS``): mvp with two read replicas of a
    larger class and up to three tasks a service."""
    out = Path(variant_synth["out"])
    data = json.loads((out / "stacks/replicas-data/cdk.tf.json").read_text())
    replicas = [r for r in data["resource"]["aws_db_instance"].values()
                if "replicate_source_db" in r]
    assert sorted(r["identifier"] for r in replicas) == [
        "hr-saas-replicas-db-replica-1", "hr-saas-replicas-db-replica-2"]
    assert {r["instance_class"] for r in replicas} == {"db.t3.large"}
    obs = json.loads((out / "stacks/replicas-observability/cdk.tf.json").read_text())
    names = {a["alarm_name"] for a in obs["resource"]["aws_cloudwatch_metric_alarm"].values()}
    assert {"hr-saas-replicas-db-replica-1-lag", "hr-saas-replicas-db-replica-2-lag"} <= names
    scaling = json.loads((out / "stacks/replicas-scaling/cdk.tf.json").read_text())
    # "<released> ? 3 : 0": three tasks once the service's image is released
    assert {t["max_capacity"].rsplit("?", 1)[1] for t in
            scaling["resource"]["aws_appautoscaling_target"].values()} == {" 3 : 0}"}
