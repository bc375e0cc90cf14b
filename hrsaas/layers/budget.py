"""budget: the monthly AWS Budgets cost budget and Cost Anomaly Detection (issue 19).

The amount is the estimate of every other layer of the environment, priced from their
synthesized JSON exactly as ``make cost`` prices it, times 1 + ``budget.margin_percent`` / 100
(``hrsaas/cost/budget.py``). So the layer is built last, from the other stacks as built in
the same process: a change that moves the estimate moves the budget in the same plan.
Forecast and actual alerts at ``budget.warning_percent`` and ``critical_percent`` go to the
observability layer's warning and critical topics; anomalies go to the warning topic.
"""

from __future__ import annotations

from collections.abc import Sequence

from modules.cost_budget import CostBudget, CostBudgetProps

from ..config import Environment
from ..cost.budget import budget_amount
from ..tf import Construct
from .base import LayerStack
from .observability import alarm_topic_arns


class BudgetStack(LayerStack):
    layer = "budget"

    def __init__(self, scope: Construct, env: Environment, *, observability: LayerStack,
                 priced: Sequence[LayerStack]):
        super().__init__(scope, env)
        cfg = env.budget
        # The other stacks' Terraform JSON as synth will write it (nothing here references
        # another stack's tokens, so resolving them early changes nothing in them).
        self.amount = budget_amount(env.name, {s.node.id: s.to_terraform() for s in priced},
                                    margin_percent=cfg.margin_percent)
        topics = alarm_topic_arns(self, observability)
        self.budget = CostBudget(self, "budget", CostBudgetProps(
            name=self.names.resource(), amount_usd=self.amount,
            thresholds={topics["warning"]: cfg.warning_percent,
                        topics["critical"]: cfg.critical_percent},
            anomaly_topic_arn=topics["warning"],
            anomaly_threshold_usd=cfg.anomaly_threshold_usd,
            anomaly_monitor_arn=cfg.anomaly_monitor_arn))
