"""GuardDuty and IAM Access Analyzer, and the EventBridge patterns of their findings by
severity (``finding_routes``: the observability layer routes them to its alarm topics)."""

from __future__ import annotations

from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws


class ThreatDetectionProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    """Prefix of the analyzer, e.g. ``hr-saas-prod``."""
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


class FindingRoute(NamedTuple):
    key: str
    severity: Literal["critical", "warning"]
    description: str
    pattern: dict


def finding_routes(warning_severity: float = 4,
                   critical_severity: float = 7) -> tuple[FindingRoute, ...]:
    """The EventBridge patterns of ThreatDetection's findings and the alarm severity each
    reaches. GuardDuty findings from ``critical_severity`` are critical, from
    ``warning_severity`` below that a warning (the bands never overlap: one finding alerts
    once); active Access Analyzer findings are a warning."""
    guardduty = {"source": ["aws.guardduty"], "detail-type": ["GuardDuty Finding"]}
    return (
        FindingRoute("guardduty-critical", "critical",
                     f"GuardDuty findings of severity {critical_severity} and above",
                     {**guardduty, "detail": {"severity": [
                         {"numeric": [">=", critical_severity]}]}}),
        FindingRoute("guardduty-warning", "warning",
                     f"GuardDuty findings of severity {warning_severity} to "
                     f"{critical_severity}",
                     {**guardduty, "detail": {"severity": [
                         {"numeric": [">=", warning_severity, "<", critical_severity]}]}}),
        FindingRoute("access-analyzer", "warning",
                     "IAM Access Analyzer: a resource is shared outside the account",
                     {"source": ["aws.access-analyzer"],
                      "detail-type": ["Access Analyzer Finding"],
                      "detail": {"status": ["ACTIVE"]}}),
    )
