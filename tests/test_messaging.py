"""The messaging layer against the guide's §8 tables, for mvp and prod."""

from __future__ import annotations

import pytest

from hrsaas.config import load_environment

# Guide §8: topic → subscribed queues (service names).
GUIDE_SUBSCRIPTIONS = {
    "approval-completed": {"attendance", "appointment", "employee"},
    "approval-submitted": {"notification"},
    "appointment-executed": {"employee"},
    "employee-affiliation-changed": {"organization"},
    "employee-created": {"notification"},
    "leave-requested": {"notification"},
    "notification-send": {"notification"},
}
GUIDE_QUEUES = {"attendance", "appointment", "employee", "organization", "notification"}


def expected_matrix(env: str) -> set[tuple[str, str]]:
    """The guide's matrix restricted to the services the environment runs."""
    running = {s.name for s in load_environment(env).deployed_services()}
    return {(topic, svc) for topic, subs in GUIDE_SUBSCRIPTIONS.items() for svc in subs
            if svc in running}


def subscription_matrix(s) -> set[tuple[str, str]]:
    out = set()
    for sub in s.resources("aws_sns_topic_subscription").values():
        _, topic = s.deref(sub["topic_arn"])
        _, queue = s.deref(sub["endpoint"])
        assert sub["protocol"] == "sqs" and sub["raw_message_delivery"] is True
        out.add((topic["name"], queue["name"].removesuffix("-service-queue")))
    return out


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_topics_and_subscription_matrix(stack, env):
    s = stack(f"{env}-messaging")
    topics = {t["name"] for t in s.resources("aws_sns_topic").values()}
    assert topics == set(GUIDE_SUBSCRIPTIONS)
    assert subscription_matrix(s) == expected_matrix(env)
    if env == "prod":
        assert len(expected_matrix(env)) == 9  # every row of the guide's table


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_queues_and_dead_letter_queues(stack, env):
    s = stack(f"{env}-messaging")
    queues = {q["name"]: (rid, q) for rid, q in s.resources("aws_sqs_queue").items()}
    subscribers = {svc for _, svc in expected_matrix(env)}
    assert set(queues) == {f"{svc}-service-{kind}" for svc in subscribers
                           for kind in ("queue", "dlq")}
    if env == "prod":
        assert subscribers == GUIDE_QUEUES
    for svc in subscribers:
        dlq_id, dlq = queues[f"{svc}-service-dlq"]
        _, queue = queues[f"{svc}-service-queue"]
        assert queue["visibility_timeout_seconds"] == 60
        assert f"aws_sqs_queue.{dlq_id}.arn" in queue["redrive_policy"]
        assert '"maxReceiveCount" = 3' in queue["redrive_policy"]
        assert dlq["message_retention_seconds"] > queue["message_retention_seconds"]
        if env == "prod":
            assert queue["kms_master_key_id"].endswith("outputs.messaging_kms_key_arn}")
        else:
            assert queue["sqs_managed_sse_enabled"] is True
    allow = s.resources("aws_sqs_queue_redrive_allow_policy").values()
    assert len(allow) == len(subscribers)
    for policy in allow:
        assert '"redrivePermission": "byQueue"' in policy["redrive_allow_policy"]


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_queue_policies_admit_only_subscribed_topics_over_tls(stack, env):
    s = stack(f"{env}-messaging")
    topic_refs = {f"${{aws_sns_topic.{rid}.arn}}": t["name"]
                  for rid, t in s.resources("aws_sns_topic").items()}
    for policy in s.resources("aws_sqs_queue_policy").values():
        _, queue = s.deref(policy["queue_url"])
        svc = queue["name"].removesuffix("-service-queue")
        allow, deny = s.policy_document(policy["policy"])["statement"]
        assert allow["principals"] == [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}]
        assert allow["actions"] == ["sqs:SendMessage"]
        (source,) = allow["condition"]
        assert source["test"] == "ArnEquals" and source["variable"] == "aws:SourceArn"
        assert {topic_refs[v] for v in source["values"]} == {
            t for t, sub in expected_matrix(env) if sub == svc}
        assert deny["effect"] == "Deny" and deny["condition"][0]["variable"] == (
            "aws:SecureTransport")
    for topic_policy in s.resources("aws_sns_topic_policy").values():
        statements = s.policy_document(topic_policy["policy"])["statement"]
        assert statements[-1]["effect"] == "Deny"


def test_grants_follow_the_catalog(stack):
    s = stack("prod-messaging")
    catalog = load_environment("prod").catalog.services
    policies = s.json["output"]["service_policies"]["value"]
    for svc, ref in policies.items():
        statements = {st["sid"]: st for st in s.policy_document(ref)["statement"]}
        published = {s.deref(r)[1]["name"] for r in
                     statements.get("PublishOwnTopics", {}).get("resources", [])}
        assert published == set(catalog[svc].publishes)
        consumed = statements.get("ConsumeOwnQueue", {}).get("resources", [])
        assert [s.deref(r)[1]["name"] for r in consumed] == (
            [f"{svc}-service-queue"] if catalog[svc].subscribes else [])
        assert "sqs:SendMessage" not in str(statements) and "sns:*" not in str(statements)
    assert set(policies) == {n for n, c in catalog.items() if c.publishes or c.subscribes}
