"""Target-tracking autoscaling of one ECS service (guide §15): the catalog's min/max tasks,
average CPU and memory targets."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, Fn, Token, aws

METRICS = (("cpu", "ECSServiceAverageCPUUtilization"),
           ("memory", "ECSServiceAverageMemoryUtilization"))


class ServiceAutoscalingProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cluster_name: str
    service_name: str
    min_tasks: int = Field(ge=0)
    max_tasks: int = Field(ge=1)
    released: Any = True
    """Whether the service has a released image (a Terraform boolean expression): until then
    its capacity is held at zero, so no task starts with the placeholder image."""
    cpu_target_percent: int = Field(70, ge=10, le=95)
    memory_target_percent: int = Field(80, ge=10, le=95)
    scale_out_cooldown_seconds: int = Field(60, ge=0)
    scale_in_cooldown_seconds: int = Field(300, ge=0)
    """Longer than scale-out: a JVM that just started is busy; don't remove capacity hastily."""


class ServiceAutoscaling(Construct):
    def __init__(self, scope: Construct, id_: str, props: ServiceAutoscalingProps):
        super().__init__(scope, id_)
        p = props
        self.target = aws.appautoscaling_target.AppautoscalingTarget(
            self, "target", service_namespace="ecs",
            resource_id=f"service/{p.cluster_name}/{p.service_name}",
            scalable_dimension="ecs:service:DesiredCount",
            min_capacity=_when(p.released, p.min_tasks),
            max_capacity=_when(p.released, p.max_tasks))
        policy = aws.appautoscaling_policy
        targets = {"cpu": p.cpu_target_percent, "memory": p.memory_target_percent}
        self.policies = {}
        for short, metric in METRICS:
            self.policies[short] = policy.AppautoscalingPolicy(
                self, short, name=f"{p.service_name}-{short}-{targets[short]}",
                policy_type="TargetTrackingScaling", service_namespace="ecs",
                resource_id=self.target.resource_id,
                scalable_dimension=self.target.scalable_dimension,
                target_tracking_scaling_policy_configuration=policy.
                AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                    target_value=targets[short],
                    scale_out_cooldown=p.scale_out_cooldown_seconds,
                    scale_in_cooldown=p.scale_in_cooldown_seconds,
                    predefined_metric_specification=policy.
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                        predefined_metric_type=metric)))


def _when(released: Any, tasks: int) -> Any:
    if released is True:
        return tasks
    return Token.as_number(Fn.conditional(released, tasks, 0))
