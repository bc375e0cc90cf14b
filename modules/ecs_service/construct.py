"""One Spring Boot service on ECS Fargate behind the ALB (guide §4, §7): its log group, execution
and task roles, task definition, target group and listener rule, and the ECS service. Its
autoscaling is ``modules/service_autoscaling`` (the scaling layer)."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, Fn, Op, TerraformSelf, Token, aws


class CapacityShare(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(pattern=r"^FARGATE(_SPOT)?$")
    base: int = Field(0, ge=0, le=100000)
    """Tasks placed on this provider before weights apply."""
    weight: int = Field(1, ge=0, le=1000)


class EcsServiceProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,254}$")
    """ECS service, task family and container name, e.g. ``auth-service``."""
    iam_prefix: str = Field("", pattern=r"^[A-Za-z0-9+=,.@_-]{0,20}$")
    """Prefix of the two role names (IAM names are account-wide), e.g. ``hr-saas-prod-``."""
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str
    cluster_arn: str
    cluster_name: str
    cpu_units: int = Field(ge=256)
    memory_mib: int = Field(ge=512)
    port: int = Field(ge=1, le=65535)
    image: str
    """Image reference: ``<repository URL>:<git-sha>`` or ``…@sha256:<digest>``."""
    placeholder_tag: str = ":unreleased"
    """The tag the registry seeds an image parameter with before the first release: while the
    image ends in it, the service exists with no task (docs/images.md)."""
    environment: dict[str, str]
    secrets: dict[str, str]
    """Variable name → Secrets Manager ``valueFrom`` (``<secret ARN>:<json key>::``)."""
    health_path: str = "/actuator/health"
    health_interval_seconds: int = 30
    health_timeout_seconds: int = 10
    health_start_period_seconds: int = 60
    health_retries: int = 3
    log_group_name: str
    log_retention_days: int
    logs_kms_key_arn: str | None = None
    repository_arn: str
    secret_arns: list[str]
    """The secrets the task definition references: all the execution role may read."""
    secrets_kms_key_arn: str | None = None
    task_policies: dict[str, str] = {}
    """Policy name → IAM policy JSON for the task role (what the catalog grants)."""
    vpc_id: str
    subnet_ids: list[str] | str
    security_group_id: str
    listener_arn: str
    listener_priority: int = Field(ge=1, le=50000)
    paths: tuple[str, ...] = Field(min_length=1, max_length=5)
    target_group_name: str = Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
    healthy_threshold: int = 3
    unhealthy_threshold: int = 2
    target_timeout_seconds: int = 10
    target_interval_seconds: int = 30
    health_matcher: str = "200"
    deregistration_delay_seconds: int = Field(30, ge=0, le=3600)
    min_tasks: int = Field(ge=0)
    """The desired count at creation; the scaling layer owns it afterwards."""
    capacity: tuple[CapacityShare, ...] = Field(min_length=1)
    deployment_maximum_percent: int = 200
    health_check_grace_seconds: int = 120
    wait_for_steady_state: bool = True
    after: list = []
    """Resources this service starts after (the services of the previous deploy stage)."""
    tags: dict[str, str] = {}


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class EcsService(Construct):
    def __init__(self, scope: Construct, id_: str, props: EcsServiceProps):
        super().__init__(scope, id_)
        p = props
        tags = {"Service": p.name, **p.tags}
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self, "logs", name=p.log_group_name, retention_in_days=p.log_retention_days,
            kms_key_id=p.logs_kms_key_arn, tags=tags)

        # Both roles are assumable by ECS tasks of this account only (confused deputy).
        trust = _policy({
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": p.account_id},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ecs:{p.region}:{p.account_id}:*"},
            },
        })
        role = aws.iam_role
        self.execution_role = role.IamRole(
            self, "execution-role", name=f"{p.iam_prefix}{p.name}-execution",
            assume_role_policy=trust,
            description=f"ECS pulls {p.name}'s image, writes its logs, reads its secrets",
            tags=tags)
        execution = [
            # GetAuthorizationToken has no resource-level permissions.
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken",
             "Resource": "*"},
            {"Sid": "PullOwnImage", "Effect": "Allow",
             "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                        "ecr:BatchGetImage"],
             "Resource": p.repository_arn},
            {"Sid": "WriteOwnLogs", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": f"{self.log_group.arn}:*"},
            {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": list(dict.fromkeys(p.secret_arns))},
        ]
        if p.secrets_kms_key_arn:
            execution.append({
                "Sid": "DecryptSecrets", "Effect": "Allow", "Action": "kms:Decrypt",
                "Resource": p.secrets_kms_key_arn,
                "Condition": {"StringEquals": {
                    "kms:ViaService": f"secretsmanager.{p.region}.amazonaws.com"}}})
        self.execution_policy = aws.iam_role_policy.IamRolePolicy(
            self, "execution-policy", name="pull-log-secrets", role=self.execution_role.id,
            policy=_policy(*execution))

        self.task_role = role.IamRole(
            self, "task-role", name=f"{p.iam_prefix}{p.name}-task", assume_role_policy=trust,
            description=f"what {p.name} itself may call (from the service catalog)", tags=tags)
        for policy_name, document in sorted(p.task_policies.items()):
            aws.iam_role_policy.IamRolePolicy(
                self, f"task-policy-{policy_name}", name=policy_name, role=self.task_role.id,
                policy=document)

        container = {
            "name": p.name,
            "image": p.image,
            "essential": True,
            "portMappings": [{"name": p.name, "containerPort": p.port, "hostPort": p.port,
                              "protocol": "tcp", "appProtocol": "http"}],
            "environment": [{"name": k, "value": v} for k, v in sorted(p.environment.items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(p.secrets.items())],
            # The Dockerfile's HEALTHCHECK (guide §4); the port is literal, not ${SERVER_PORT},
            # which Terraform would read as an interpolation.
            "healthCheck": {
                "command": ["CMD-SHELL", f"wget --quiet --tries=1 --spider "
                            f"http://localhost:{p.port}{p.health_path} || exit 1"],
                "interval": p.health_interval_seconds, "timeout": p.health_timeout_seconds,
                "startPeriod": p.health_start_period_seconds, "retries": p.health_retries,
            },
            # Nothing writes to the image's filesystem; Spring Boot (Tomcat's work directory,
            # multipart uploads) and the JVM write to /tmp, a task-scoped volume.
            "readonlyRootFilesystem": True,
            "mountPoints": [{"sourceVolume": "tmp", "containerPath": "/tmp", "readOnly": False}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": p.log_group_name, "awslogs-region": p.region,
                "awslogs-stream-prefix": "ecs"}},
        }
        td = aws.ecs_task_definition
        self.task_definition = td.EcsTaskDefinition(
            self, "task-definition", family=p.name, network_mode="awsvpc",
            requires_compatibilities=["FARGATE"], cpu=str(p.cpu_units),
            memory=str(p.memory_mib), execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            runtime_platform=td.EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture="ARM64"),
            volume=[td.EcsTaskDefinitionVolume(name="tmp")],
            container_definitions=json.dumps([container]),
            tags=tags)
        # Raw JSON: `error_message` would lose its key inside a jsii list of plain dicts.
        self.task_definition.add_override("lifecycle.precondition", [{
            "condition": Op.not_(Fn.endswith(p.image, ":latest")),
            "error_message": (
                f"{p.name} has no released image: ':latest' is a moving tag; publish a "
                f"<git-sha> tag or digest to its image parameter (docs/images.md)."),
        }])
        # A service whose image is still the placeholder exists, and runs no task until its
        # first release (the scaling layer keeps it at zero the same way).
        self.released = Op.not_(Fn.endswith(p.image, p.placeholder_tag))

        self.target_group = aws.lb_target_group.LbTargetGroup(
            self, "target-group", name=p.target_group_name, port=p.port, protocol="HTTP",
            target_type="ip", vpc_id=p.vpc_id,
            deregistration_delay=str(p.deregistration_delay_seconds),
            health_check={
                "enabled": True, "path": p.health_path, "protocol": "HTTP",
                "port": "traffic-port", "matcher": p.health_matcher,
                "healthy_threshold": p.healthy_threshold,
                "unhealthy_threshold": p.unhealthy_threshold,
                "timeout": p.target_timeout_seconds, "interval": p.target_interval_seconds,
            },
            tags={"Name": p.target_group_name, **tags})
        rule = aws.lb_listener_rule
        self.listener_rule = rule.LbListenerRule(
            self, "listener-rule", listener_arn=p.listener_arn, priority=p.listener_priority,
            action=[rule.LbListenerRuleAction(type="forward",
                                              target_group_arn=self.target_group.arn)],
            condition=[rule.LbListenerRuleCondition(
                path_pattern=rule.LbListenerRuleConditionPathPattern(values=list(p.paths)))],
            tags=tags)

        svc = aws.ecs_service
        self.service = svc.EcsService(
            self, "service", name=p.name, cluster=p.cluster_arn,
            task_definition=self.task_definition.arn,
            desired_count=Token.as_number(Fn.conditional(self.released, p.min_tasks, 0)),
            capacity_provider_strategy=[svc.EcsServiceCapacityProviderStrategy(
                capacity_provider=c.provider, base=c.base, weight=c.weight) for c in p.capacity],
            platform_version="LATEST",
            network_configuration=svc.EcsServiceNetworkConfiguration(
                subnets=p.subnet_ids, security_groups=[p.security_group_id],
                assign_public_ip=False),
            load_balancer=[svc.EcsServiceLoadBalancer(
                target_group_arn=self.target_group.arn, container_name=p.name,
                container_port=p.port)],
            deployment_circuit_breaker=svc.EcsServiceDeploymentCircuitBreaker(
                enable=True, rollback=True),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=p.deployment_maximum_percent,
            health_check_grace_period_seconds=p.health_check_grace_seconds,
            wait_for_steady_state=p.wait_for_steady_state,
            enable_ecs_managed_tags=True, propagate_tags="SERVICE",
            # After an AZ outage ECS moves tasks back until both AZs carry their share.
            availability_zone_rebalancing="ENABLED",
            # The task definition names its log group and role only as strings and an ARN: a
            # first task started before they exist fails (ResourceInitializationError).
            depends_on=[self.listener_rule, self.log_group, self.execution_policy, *p.after],
            tags=tags)
        # Autoscaling owns the running count once the service exists.
        self.service.add_override("lifecycle.ignore_changes", ["desired_count"])
        if p.wait_for_steady_state:
            # When the circuit breaker rolls a bad release back, the service reaches a steady
            # state on the OLD task definition and the provider reports success
            # (hashicorp/terraform-provider-aws#20858). Its read-back then names the old
            # revision: fail the apply there, so a rolled-back release never looks deployed.
            self.service.add_override("lifecycle.postcondition", [{
                "condition": Op.eq(TerraformSelf.get_string("task_definition"),
                                   self.task_definition.arn),
                "error_message": (
                    f"{p.name} was rolled back by its deployment circuit breaker: it runs its "
                    "previous task definition, not this release's. Read the stopped tasks' "
                    "reason (aws ecs describe-tasks) and the log group, fix the image or its "
                    "configuration, release again (docs/images.md)."),
            }])
