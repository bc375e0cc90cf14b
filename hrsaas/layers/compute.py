"""compute: the ECS cluster and the catalog's services (guide §4, §7, §14).

Every service this environment runs (``Environment.deployed_services``) gets the same shape from
its catalog row — nothing here is written once per service. Each service's target group and
path rule go on the HTTPS listener of the API's ALB, which is the edge layer's (why: its
docstring). The services' autoscaling is the scaling layer's (hrsaas/layers/scaling.py).
"""

from __future__ import annotations

import dataclasses
import json

from modules.ecs_cluster import EcsCluster, EcsClusterProps
from modules.ecs_service import CapacityShare, EcsService, EcsServiceProps

from ..config import Environment, Service
from ..tf import Construct, Fn, Token, aws
from .base import LayerStack
from .cache import CacheOutputs
from .data import DataOutputs
from .edge import EdgeOutputs
from .messaging import MessagingOutputs
from .network import NetworkOutputs
from .outputs import LayerOutputs, output
from .registry import RegistryOutputs
from .security import SecurityOutputs

# SPEC §4: the guide's priority decides where tasks run. High-priority services never run on
# Spot; medium ones keep their first task on demand and spread the rest; low ones run on Spot
# beyond their first task. A user-facing service (one with ALB paths) keeps that first task on
# demand even at low priority: on Spot alone, a one-task service is down at every reclaim.
CAPACITY_BY_PRIORITY: dict[str, tuple[CapacityShare, ...]] = {
    "high": (CapacityShare(provider="FARGATE", base=0, weight=1),),
    "medium": (CapacityShare(provider="FARGATE", base=1, weight=1),
               CapacityShare(provider="FARGATE_SPOT", base=0, weight=1)),
    "low": (CapacityShare(provider="FARGATE", base=1, weight=0),
            CapacityShare(provider="FARGATE_SPOT", base=0, weight=1)),
}
# Low priority without user traffic (no ALB paths): Spot only, a reclaim delays work only.
SPOT_ONLY = (CapacityShare(provider="FARGATE_SPOT", base=0, weight=1),)


def capacity_of(svc: Service) -> tuple[CapacityShare, ...]:
    if svc.priority == "low" and not svc.paths:
        return SPOT_ONLY
    return CAPACITY_BY_PRIORITY[svc.priority]

# Guide §4: the five secrets every task reads — variable → (secret, JSON key).
SECRET_REFERENCES: dict[str, tuple[str, str]] = {
    "DB_USERNAME": ("db", "username"),
    "DB_PASSWORD": ("db", "password"),
    "REDIS_PASSWORD": ("redis", "password"),
    "JWT_SECRET": ("jwt", "secret"),
    "ENCRYPTION_KEY": ("encryption", "key"),
}

FILE_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectVersion")


@dataclasses.dataclass(frozen=True)
class ComputeOutputs(LayerOutputs):
    cluster_name: str = output("ECS cluster")
    service_names: list[str] = output("the ECS services, in deploy-stage order")
    target_group_arn_suffixes: dict[str, str] = output(
        "service → target group ARN suffix (CloudWatch dimension)")
    released_images: dict[str, str] = output(
        "service → \"true\" once its image parameter names a released image, else \"false\" "
        "(the service exists with no task until then)")


def listener_priority(svc: Service) -> int:
    """Stable per service whatever the env deploys: the port is unique in the catalog."""
    return svc.port


class ComputeStack(LayerStack):
    layer = "compute"

    def __init__(self, scope: Construct, env: Environment, *, network: LayerStack,
                 security: LayerStack, data: LayerStack, cache: LayerStack,
                 messaging: LayerStack, registry: LayerStack, edge: LayerStack):
        super().__init__(scope, env)
        cmk = env.capabilities.customer_managed_keys
        services = env.deployed_services()
        net = NetworkOutputs.read(self, network, (
            "vpc_id", "private_app_subnet_ids", "ecs_security_group_id"))
        sec = SecurityOutputs.read(self, security, (
            "db_secret_arn", "redis_secret_arn", "jwt_secret_arn", "encryption_secret_arn",
            *(("secrets_kms_key_arn", "logs_kms_key_arn", "files_kms_key_arn") if cmk else ())))
        db = DataOutputs.read(self, data, ("db_host",))
        redis = CacheOutputs.read(self, cache, ("redis_host",))
        bus = None
        if any(s.publishes or s.subscribes for s in services):
            bus = MessagingOutputs.read(self, messaging, ("service_policies",))
        images = RegistryOutputs.read(self, registry, ("repository_arns", "image_parameters"))
        site = EdgeOutputs.read(self, edge, (
            "https_listener_arn", "file_bucket_name", "file_bucket_arn"))

        cluster_name = self.names.cluster(env.ecs_cluster_name)
        after_role = []
        if env.compute.create_ecs_service_linked_role:
            # ECS creates it on first use, but asynchronously: on a fresh account the first
            # CreateService can fail until it exists. Created here, before the cluster.
            after_role.append(aws.iam_service_linked_role.IamServiceLinkedRole(
                self, "ecs-service-linked-role", aws_service_name="ecs.amazonaws.com",
                description="ECS manages the services' ENIs and load balancer targets"))
        cluster = EcsCluster(self, "cluster", EcsClusterProps(
            name=cluster_name, container_insights=env.compute.container_insights,
            after=after_role))

        common_env = {
            "SPRING_PROFILES_ACTIVE": "aws",
            "DB_HOST": db.db_host,
            "DB_PORT": str(env.network.database_port),
            "REDIS_HOST": redis.redis_host,
            "REDIS_PORT": str(env.network.cache_port),
            "SPRING_DATA_REDIS_SSL_ENABLED": "true",
            "AWS_REGION": env.region,
            "JAVA_OPTS": env.catalog.java_opts,
        }
        secrets = {var: sec.value_from(secret, key)
                   for var, (secret, key) in SECRET_REFERENCES.items()}
        secret_arns = [getattr(sec, f"{name}_secret_arn")
                       for name in sorted({s for s, _ in SECRET_REFERENCES.values()})]
        health, target = env.catalog.container_health_check, env.catalog.target_health_check
        compute = env.compute

        deployed: dict[str, EcsService] = {}
        previous_stage: list[EcsService] = []
        for stage in sorted({s.stage for s in services}):
            this_stage = []
            for svc in (s for s in services if s.stage == stage):
                extra_env, policies = {}, {}
                if svc.publishes or svc.subscribes:
                    policies["messaging"] = Token.as_string(
                        Fn.lookup(bus.service_policies, svc.name))
                if svc.file_bucket:
                    extra_env["FILE_BUCKET"] = site.file_bucket_name
                    policies["file-bucket"] = self._file_policy(
                        site.file_bucket_arn, sec.files_kms_key_arn)
                parameter = aws.data_aws_ssm_parameter.DataAwsSsmParameter(
                    self, f"{svc.name}-image",
                    name=Token.as_string(Fn.lookup(images.image_parameters, svc.name)))
                service = EcsService(self, svc.name, EcsServiceProps(
                    name=svc.service_name, iam_prefix=f"{self.names.resource()}-",
                    account_id=env.account_id, region=env.region,
                    cluster_arn=cluster.arn, cluster_name=cluster_name,
                    cpu_units=svc.cpu_units, memory_mib=svc.memory_mib, port=svc.port,
                    image=parameter.insecure_value,
                    environment={**common_env, "SERVER_PORT": str(svc.port), **extra_env},
                    secrets=secrets,
                    health_path=env.catalog.health_path,
                    health_interval_seconds=health.interval_seconds,
                    health_timeout_seconds=health.timeout_seconds,
                    health_start_period_seconds=health.start_period_seconds,
                    health_retries=health.retries,
                    log_group_name=f"/ecs/{cluster_name}/{svc.service_name}",
                    log_retention_days=env.logs.retention_days,
                    logs_kms_key_arn=sec.logs_kms_key_arn,
                    repository_arn=Token.as_string(
                        Fn.lookup(images.repository_arns, svc.name)),
                    secret_arns=secret_arns,
                    secrets_kms_key_arn=sec.secrets_kms_key_arn,
                    task_policies=policies,
                    vpc_id=net.vpc_id, subnet_ids=net.private_app_subnet_ids,
                    security_group_id=net.ecs_security_group_id,
                    listener_arn=site.https_listener_arn,
                    listener_priority=listener_priority(svc), paths=svc.paths,
                    target_group_name=svc.target_group_name,
                    healthy_threshold=target.healthy_threshold,
                    unhealthy_threshold=target.unhealthy_threshold,
                    target_timeout_seconds=target.timeout_seconds,
                    target_interval_seconds=target.interval_seconds,
                    health_matcher=target.matcher,
                    min_tasks=svc.min_tasks,
                    capacity=capacity_of(svc),
                    deployment_maximum_percent=env.services.deployment_maximum_percent,
                    health_check_grace_seconds=compute.health_check_grace_seconds,
                    wait_for_steady_state=compute.wait_for_steady_state,
                    # Guide §14: a stage starts after the previous one is up. The capacity
                    # providers come first too: a service naming FARGATE_SPOT fails to create
                    # (and races on destroy) unless its cluster already has that provider.
                    after=[cluster.capacity_providers, *(s.service for s in previous_stage)],
                    tags={"DeployStage": str(stage), "Priority": svc.priority},
                ))
                deployed[svc.name] = service
                this_stage.append(service)
            previous_stage = this_stage

        self.services = deployed
        self.outputs = ComputeOutputs(
            cluster_name=cluster.name,
            service_names=[s.service_name for s in services],
            target_group_arn_suffixes={n: s.target_group.arn_suffix
                                       for n, s in deployed.items()},
            released_images={n: Token.as_string(Fn.conditional(s.released, "true", "false"))
                             for n, s in deployed.items()},
        ).export(self)

    @staticmethod
    def _file_policy(bucket_arn: str, kms_key_arn: str | None) -> str:
        statements = [
            {"Sid": "ListFileBucket", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": bucket_arn},
            {"Sid": "ReadWriteFiles", "Effect": "Allow", "Action": list(FILE_ACTIONS),
             "Resource": f"{bucket_arn}/*"},
        ]
        if kms_key_arn:
            statements.append({"Sid": "UseFilesKey", "Effect": "Allow",
                               "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                               "Resource": kms_key_arn})
        return json.dumps({"Version": "2012-10-17", "Statement": statements})
