"""A monthly AWS Budgets cost budget alerting on forecast and actual spend, and a Cost Anomaly
Detection monitor with an immediate SNS subscription."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws


class CostBudgetProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,90}$")
    """Budget, monitor and subscription name, e.g. ``hr-saas-prod``."""
    amount_usd: float = Field(gt=0)
    """The monthly budget (the estimate plus the margin)."""
    thresholds: dict[str, float] = Field(min_length=1)
    """Topic ARN → percent of the budget: each gets a FORECASTED and an ACTUAL alert."""
    anomaly_topic_arn: str
    """Receives every anomaly whose total impact reaches ``anomaly_threshold_usd``."""
    anomaly_threshold_usd: float = Field(50, gt=0)
    anomaly_monitor_arn: str | None = None
    """An existing per-service monitor (AWS allows one per account); None = create it."""
    after: list = []
    """Resources created first: the topics' policies, where they are in the same stack (Budgets
    and Cost Anomaly Detection publish only where the policy lets them)."""


class CostBudget(Construct):
    def __init__(self, scope: Construct, id_: str, props: CostBudgetProps):
        super().__init__(scope, id_)
        self.budget = aws.budgets_budget.BudgetsBudget(
            self, "budget", name=props.name, budget_type="COST", time_unit="MONTHLY",
            limit_amount=f"{props.amount_usd:.2f}", limit_unit="USD",
            depends_on=props.after or None)
        # Raw JSON: jsii would drop the multi-word keys of plain dicts nested in a list.
        self.budget.add_override("notification", [
            {"comparison_operator": "GREATER_THAN", "threshold": percent,
             "threshold_type": "PERCENTAGE", "notification_type": kind,
             "subscriber_sns_topic_arns": [topic]}
            for topic, percent in props.thresholds.items()
            for kind in ("FORECASTED", "ACTUAL")])

        monitor_arn = props.anomaly_monitor_arn
        self.monitor = None
        if monitor_arn is None:
            self.monitor = aws.ce_anomaly_monitor.CeAnomalyMonitor(
                self, "anomaly-monitor", name=props.name, monitor_type="DIMENSIONAL",
                monitor_dimension="SERVICE")
            monitor_arn = self.monitor.arn
        self.subscription = aws.ce_anomaly_subscription.CeAnomalySubscription(
            self, "anomaly-subscription", name=props.name, frequency="IMMEDIATE",
            monitor_arn_list=[monitor_arn],
            subscriber=[{"type": "SNS", "address": props.anomaly_topic_arn}],
            depends_on=props.after or None)
        self.subscription.add_override("threshold_expression", {"dimension": {
            "key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "match_options": ["GREATER_THAN_OR_EQUAL"],
            "values": [f"{props.anomaly_threshold_usd:g}"]}})
