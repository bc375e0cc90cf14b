"""GuardDuty and IAM Access Analyzer with their findings routed by severity to SNS topics
through EventBridge."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws


class ThreatDetectionProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    """Prefix of the rules and the analyzer, e.g. ``hr-saas-prod``."""
    critical_topic_arn: str
    """Receives GuardDuty findings from ``critical_severity``."""
    warning_topic_arn: str
    """Receives GuardDuty findings from ``warning_severity`` below ``critical_severity``, and
    active IAM Access Analyzer findings."""
    warning_severity: float = Field(4, ge=1, le=10)
    critical_severity: float = Field(7, ge=1, le=10)
    publishing_frequency: Literal["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"] = (
        "FIFTEEN_MINUTES")
    """How often GuardDuty publishes updates of existing findings (new ones: at once)."""


class ThreatDetection(Construct):
    def __init__(self, scope: Construct, id_: str, props: ThreatDetectionProps):
        super().__init__(scope, id_)
        self.props = props
        self.detector = aws.guardduty_detector.GuarddutyDetector(
            self, "detector", enable=True,
            finding_publishing_frequency=props.publishing_frequency)
        # The account's analyzer: findings name resources shared outside the account.
        self.analyzer = aws.accessanalyzer_analyzer.AccessanalyzerAnalyzer(
            self, "analyzer", analyzer_name=f"{props.name}-account", type="ACCOUNT")

        guardduty = {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}
        self.rules: dict[str, aws.cloudwatch_event_rule.CloudwatchEventRule] = {}
        self._route("guardduty-critical", props.critical_topic_arn,
                    f"GuardDuty findings of severity {props.critical_severity} and above",
                    {**guardduty, "detail": {"severity": [
                        {"numeric": [">=", props.critical_severity]}]}})
        self._route("guardduty-warning", props.warning_topic_arn,
                    f"GuardDuty findings of severity {props.warning_severity} to "
                    f"{props.critical_severity}",
                    {**guardduty, "detail": {"severity": [
                        {"numeric": [">=", props.warning_severity,
                                     "<", props.critical_severity]}]}})
        self._route("access-analyzer", props.warning_topic_arn,
                    "IAM Access Analyzer: a resource is shared outside the account",
                    {"source": ["aws.access-analyzer"],
                     "detail-type": ["Access Analyzer Finding"],
                     "detail": {"status": ["ACTIVE"]}})

    def _route(self, key: str, topic_arn: str, description: str, pattern: dict) -> None:
        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self, key, name=f"{self.props.name}-{key}", description=description,
            event_pattern=json.dumps(pattern))
        aws.cloudwatch_event_target.CloudwatchEventTarget(
            self, f"{key}-target", rule=rule.name, target_id="alarm-topic", arn=topic_arn)
        self.rules[key] = rule
