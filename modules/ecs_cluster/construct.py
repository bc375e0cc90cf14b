"""The ECS cluster (guide §4): Fargate only, Container Insights, FARGATE and FARGATE_SPOT
capacity providers (each service chooses its strategy from its priority)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws


class EcsClusterProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    """Cluster name, e.g. ``hr-saas-production``."""
    container_insights: Literal["enabled", "enhanced"] = "enabled"
    tags: dict[str, str] = {}
    after: list = []
    """Resources the cluster is created after (ECS's service-linked role)."""


class EcsCluster(Construct):
    def __init__(self, scope: Construct, id_: str, props: EcsClusterProps):
        super().__init__(scope, id_)
        ecs = aws.ecs_cluster
        self.cluster = ecs.EcsCluster(
            self, "cluster", name=props.name,
            setting=[ecs.EcsClusterSetting(name="containerInsights",
                                           value=props.container_insights)],
            tags={"Name": props.name, **props.tags},
            depends_on=props.after or None,
        )
        providers = aws.ecs_cluster_capacity_providers
        # The default strategy only applies to tasks started without one; every service of
        # this project sets its own (hrsaas/layers/compute.py: capacity_strategy).
        self.capacity_providers = providers.EcsClusterCapacityProviders(
            self, "capacity-providers", cluster_name=self.cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategy=[
                providers.EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider="FARGATE", base=0, weight=1)],
        )
        self.name = self.cluster.name
        self.arn = self.cluster.arn
