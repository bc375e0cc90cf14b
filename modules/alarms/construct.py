"""CloudWatch alarms routed by severity: a ``critical`` and a ``warning`` SNS topic with their
e-mail subscribers, and helpers that create threshold and metric-math alarms on them."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws

Severity = Literal["critical", "warning"]
# Services that publish to the alarm topics (each for this account only).
PUBLISHERS = (("CloudWatchAlarms", "cloudwatch.amazonaws.com"),
              ("EventBridgeRules", "events.amazonaws.com"),
              ("Budgets", "budgets.amazonaws.com"),
              ("CostAnomalyDetection", "costalerts.amazonaws.com"))


class AlarmsProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,200}$")
    """Prefix of the topics and alarm names, e.g. ``hr-saas-prod``."""
    account_id: str = Field(pattern=r"^\d{12}$")
    emails: dict[str, tuple[str, ...]] = {}
    """severity → e-mail subscribers (each confirms AWS's subscription mail)."""
    kms_key_arn: str | None = None
    """CMK of the topics; its policy must let cloudwatch.amazonaws.com use it. CloudWatch cannot
    publish to topics under the AWS-managed ``aws/sns`` key, so None = unencrypted."""
    evaluation_minutes: int = Field(5, ge=1, le=60)
    provider: Any = None
    """Another region's provider (CloudFront's metrics live in us-east-1)."""


class Alarms(Construct):
    def __init__(self, scope: Construct, id_: str, props: AlarmsProps):
        super().__init__(scope, id_)
        self.props = props
        self._extra = {"provider": props.provider} if props.provider is not None else {}
        self.topics: dict[str, aws.sns_topic.SnsTopic] = {}
        self.topic_policies: dict[str, Any] = {}
        for severity in ("critical", "warning"):
            topic = aws.sns_topic.SnsTopic(
                self, severity, name=f"{props.name}-alarms-{severity}",
                kms_master_key_id=props.kms_key_arn, tags={"Severity": severity},
                **self._extra)
            # Only this account's alerting services may publish: CloudWatch alarms, EventBridge
            # rules (``events``: e.g. GuardDuty and Access Analyzer findings), AWS Budgets and
            # Cost Anomaly Detection (the cost budget beside the alarms).
            self.topic_policies[severity] = aws.sns_topic_policy.SnsTopicPolicy(
                self, f"{severity}-policy", arn=topic.arn, policy=json.dumps({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Sid": sid, "Effect": "Allow", "Principal": {"Service": principal},
                        "Action": "sns:Publish", "Resource": topic.arn,
                        "Condition": {"StringEquals": {"aws:SourceAccount": props.account_id}},
                    } for sid, principal in PUBLISHERS]}), **self._extra)
            for email in props.emails.get(severity, ()):
                aws.sns_topic_subscription.SnsTopicSubscription(
                    self, f"{severity}-{email}", topic_arn=topic.arn, protocol="email",
                    endpoint=email, **self._extra)
            self.topics[severity] = topic
        self.alarms: dict[str, Any] = {}
        self.rules: dict[str, Any] = {}

    def _alarm(self, key: str, severity: Severity, description: str,
               minutes: int | None = None, **args: Any) -> Any:
        topic = self.topics[severity].arn
        minutes = minutes or self.props.evaluation_minutes
        alarm = aws.cloudwatch_metric_alarm.CloudwatchMetricAlarm(
            self, key, alarm_name=f"{self.props.name}-{key}",
            alarm_description=f"[{severity}] {description}",
            evaluation_periods=minutes, datapoints_to_alarm=minutes,
            alarm_actions=[topic], ok_actions=[topic],
            tags={"Severity": severity}, **args, **self._extra)
        self.alarms[key] = alarm
        return alarm

    def events(self, key: str, severity: Severity, description: str, pattern: dict) -> Any:
        """An EventBridge rule ``<name>-<key>`` that sends the events ``pattern`` matches to the
        ``severity`` topic, and an alarm ``<name>-<key>-undelivered`` when it cannot: a rule
        whose target refuses it (topic policy, key policy) fails silently otherwise, and the
        alarm reaches the same topic through CloudWatch, whose permissions are its own."""
        name = f"{self.props.name}-{key}"
        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self, key, name=name, description=description,
            event_pattern=json.dumps(pattern), **self._extra)
        aws.cloudwatch_event_target.CloudwatchEventTarget(
            self, f"{key}-target", rule=rule.name, target_id="alarm-topic",
            arn=self.topics[severity].arn, **self._extra)
        self.rules[key] = rule
        # One failed delivery is one lost finding: alarm on the first minute with any.
        self._alarm(f"{key}-undelivered", severity,
                    f"EventBridge rule {name} could not deliver to its topic", minutes=1,
                    namespace="AWS/Events", metric_name="FailedInvocations",
                    dimensions={"RuleName": name}, period=60, statistic="Sum",
                    comparison_operator="GreaterThanThreshold", threshold=0,
                    treat_missing_data="notBreaching")
        return rule

    def threshold(self, key: str, severity: Severity, description: str, *, namespace: str,
                  metric: str, dimensions: dict[str, str], comparison: str, threshold: float,
                  statistic: str = "Average", missing: str = "missing") -> Any:
        """Alarm on one metric over 1-minute periods."""
        stat = ({"extended_statistic": statistic} if statistic.startswith("p")
                else {"statistic": statistic})
        return self._alarm(
            key, severity, description, namespace=namespace, metric_name=metric,
            dimensions=dimensions, period=60, comparison_operator=comparison,
            threshold=threshold, treat_missing_data=missing, **stat)

    def expression(self, key: str, severity: Severity, description: str, *, expression: str,
                   metrics: dict[str, tuple[str, str, dict[str, str], str]], comparison: str,
                   threshold: float, missing: str = "notBreaching") -> Any:
        """Alarm on metric math: ``metrics`` maps an id to (namespace, metric, dimensions,
        statistic) and ``expression`` combines them (the alarm's value)."""
        queries = [{"id": "e1", "expression": expression, "label": key, "return_data": True}]
        for metric_id, (namespace, metric, dimensions, stat) in metrics.items():
            queries.append({"id": metric_id, "return_data": False, "metric": {
                "namespace": namespace, "metric_name": metric, "dimensions": dimensions,
                "period": 60, "stat": stat}})
        alarm = self._alarm(key, severity, description, comparison_operator=comparison,
                            threshold=threshold, treat_missing_data=missing)
        # Raw JSON: jsii would drop multi-word keys (return_data, metric_name) of plain dicts
        # nested in a list.
        alarm.add_override("metric_query", queries)
        return alarm
