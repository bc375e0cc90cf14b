"""Configuration as data: pydantic models for environments and the service catalog.

Models validate single fields (types, ranges, formats); rules that relate several fields live in
``rules.py`` so that every problem of a file is reported at once.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from .errors import FixableError

Priority = Literal["high", "medium", "low"]
SubnetTier = Literal["public", "private_app", "private_data"]

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
SERVICE_NAME = r"^[a-z][a-z0-9]*$"
ENV_NAME = r"^[a-z][a-z0-9]{1,15}$"
ACCOUNT_ID = r"^\d{12}$"
REGION = r"^[a-z]{2}-[a-z]+-\d$"
RDS_CLASS = r"^db\.[a-z0-9]+\.[a-z0-9]+$"
CACHE_NODE_TYPE = r"^cache\.[a-z0-9]+\.[a-z0-9]+$"
TOPIC_NAME = r"^[A-Za-z0-9_-]{1,256}$"
HEALTH_PATH = r"^/[A-Za-z0-9/_.-]*$"
HTTP_MATCHER = r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$"
TLS_POLICY = r"^ELBSecurityPolicy-(TLS13|FS|TLS)-[A-Za-z0-9-]+$"
DB_ENGINE_VERSION = r"^\d+(\.\d+)?$"
CACHE_ENGINE_VERSION = r"^7\.\d+$"
DB_USERNAME = r"^[a-z][a-z0-9_]{0,62}$"
HOSTED_ZONE_ID = r"^Z[A-Z0-9]{1,31}$"
CRON = r"^cron\(.+\)$"
GITHUB_REPOSITORY = r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
OIDC_PROVIDER_ARN = (
    r"^arn:aws:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$")
ECS_CLUSTER_NAME = r"^[A-Za-z0-9_-]{1,255}$"
Port = Annotated[int, Field(ge=1, le=65535)]
TopicName = Annotated[str, Field(pattern=TOPIC_NAME)]
# The retention periods CloudWatch Logs accepts.
RetentionDays = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                        1827, 2192, 2557, 2922, 3288, 3653]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Service(Frozen):
    """One row of the service catalog (guide §4, §5, §7, §8, §14)."""

    name: str = Field(pattern=SERVICE_NAME)
    vcpu: float = Field(gt=0, description="Fargate vCPU per task (0.25, 0.5, 1, 2, 4, 8, 16)")
    memory_gib: float = Field(gt=0, description="Fargate memory per task in GiB")
    min_tasks: int = Field(ge=0)
    max_tasks: int = Field(ge=1)
    priority: Priority
    port: int = Field(ge=1, le=65535)
    paths: tuple[str, ...] = Field(min_length=1)
    stage: int = Field(ge=1, le=6, description="deploy stage (guide §14)")
    pool: int | None = Field(None, ge=1, description="HikariCP pool per task; None = default")
    schemas: tuple[str, ...] = ()
    target_group: str | None = Field(None, description="default: tg-<name>")
    publishes: tuple[TopicName, ...] = ()
    subscribes: tuple[TopicName, ...] = ()
    file_bucket: StrictBool = False

    @property
    def cpu_units(self) -> int:
        return round(self.vcpu * 1024)

    @property
    def memory_mib(self) -> int:
        return round(self.memory_gib * 1024)

    @property
    def service_name(self) -> str:
        """ECS service and ECR repository suffix (guide: ``auth-service``)."""
        return f"{self.name}-service"

    @property
    def target_group_name(self) -> str:
        return self.target_group or f"tg-{self.name}"

    @field_validator("paths")
    @classmethod
    def _paths_are_absolute(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        for path in paths:
            if not path.startswith("/"):
                raise FixableError(f"path {path!r} does not start with '/'",
                                   f"write it as an absolute path, e.g. '/{path.lstrip('*')}'")
        return paths


class ContainerHealthCheck(Frozen):
    """The Dockerfile's HEALTHCHECK (guide §4), repeated in the task definition."""

    interval_seconds: int = Field(30, ge=5, le=300)
    timeout_seconds: int = Field(10, ge=2, le=60)
    start_period_seconds: int = Field(60, ge=0, le=300)
    retries: int = Field(3, ge=1, le=10)


class TargetHealthCheck(Frozen):
    """The ALB target-group health check (guide §7)."""

    healthy_threshold: int = Field(3, ge=2, le=10)
    unhealthy_threshold: int = Field(2, ge=2, le=10)
    timeout_seconds: int = Field(10, ge=2, le=120)
    interval_seconds: int = Field(30, ge=5, le=300)
    matcher: str = Field("200", pattern=HTTP_MATCHER)


class Catalog(Frozen):
    hikari_default_pool: int = Field(10, ge=1)
    health_path: str = Field("/actuator/health", pattern=HEALTH_PATH)
    java_opts: str = Field(min_length=1, description="JAVA_OPTS of every service (guide §4)")
    container_health_check: ContainerHealthCheck = ContainerHealthCheck()
    target_health_check: TargetHealthCheck = TargetHealthCheck()
    topics: tuple[TopicName, ...]
    services: dict[str, Service] = {}


class TaskCount(Frozen):
    min_tasks: int = Field(ge=0)
    max_tasks: int = Field(ge=1)


class ServiceSelection(Frozen):
    max_stage: int = Field(6, ge=1, le=6, description="run the services of stages 1..max_stage")
    task_count: TaskCount | None = Field(None, description="override every service's min/max")
    deployment_maximum_percent: int = Field(200, ge=100, le=400)


class Compute(Frozen):
    """ECS cluster, services and the API's ALB (guide §4, §7, §15); the ALB's settings here are
    built by the edge layer, which owns the load balancer (hrsaas/layers/edge.py)."""

    tls_policy: str = Field("ELBSecurityPolicy-TLS13-1-2-2021-06",
                            pattern=TLS_POLICY,
                            description="the HTTPS listener's policy: TLS 1.3 and 1.2 only")
    container_insights: Literal["enabled", "enhanced"] = "enabled"
    health_check_grace_seconds: int = Field(120, ge=0, le=2147483647,
                                            description="JVM start-up before the ALB counts")
    wait_for_steady_state: StrictBool = Field(
        True, description="apply waits for each stage's services to be stable before the next "
        "stage (guide §14 order)")
    cpu_target_percent: int = Field(70, ge=10, le=95)
    memory_target_percent: int = Field(80, ge=10, le=95)
    scale_out_cooldown_seconds: int = Field(60, ge=0, le=3600)
    scale_in_cooldown_seconds: int = Field(300, ge=0, le=3600)
    alb_idle_timeout_seconds: int = Field(60, ge=1, le=4000)
    waf: StrictBool = Field(False,
                            description="a regional WAF (AWS managed rules) in front of the ALB")
    create_ecs_service_linked_role: StrictBool = Field(
        True, description="create ECS's service-linked role (AWSServiceRoleForECS) before the "
        "cluster: on a fresh account CreateService fails intermittently until it exists. Set "
        "false when the account already has it (`aws iam get-role --role-name "
        "AWSServiceRoleForECS` succeeds)")


class Capabilities(Frozen):
    multi_az: StrictBool = False
    deletion_protection: StrictBool = True
    customer_managed_keys: StrictBool = False
    protect_stateful: StrictBool = Field(
        False, description="refuse plans that destroy or replace stateful resources "
        "(hrsaas/runner/guard.py) and set prevent_destroy on them")


class StateConfig(Frozen):
    noncurrent_version_retention_days: int = Field(90, ge=1)
    force_destroy: StrictBool = False


class Subnet(Frozen):
    name: str = Field(pattern=NAME_PATTERN)
    cidr: str
    az: str
    tier: SubnetTier

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise FixableError(f"{value!r} is not an IPv4 network in CIDR form ({exc})",
                               "write an IPv4 network address and prefix length, e.g. "
                               "10.0.1.0/24 (host bits zero)") from None
        return value


class Network(Frozen):
    vpc_cidr: str
    nat_gateways: int = Field(ge=0, le=2)
    flow_logs_retention_days: RetentionDays = 365
    flow_logs_traffic: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"
    alb_ingress_ports: tuple[Port, ...] = (80, 443)
    alb_ingress_cidr: str = "0.0.0.0/0"
    app_port_range: tuple[Port, Port] = (8081, 8093)
    database_port: Port = 5432
    cache_port: Port = 6379
    interface_endpoints: tuple[str, ...]
    gateway_endpoints: tuple[str, ...]
    subnets: tuple[Subnet, ...]

    @field_validator("vpc_cidr", "alb_ingress_cidr")
    @classmethod
    def _vpc_cidr(cls, value: str) -> str:
        return Subnet._cidr(value)

    def tier(self, tier: SubnetTier) -> tuple[Subnet, ...]:
        return tuple(s for s in self.subnets if s.tier == tier)


WINDOW = r"^(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}-(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}$"
DAILY_WINDOW = r"^\d{2}:\d{2}-\d{2}:\d{2}$"


class Database(Frozen):
    """RDS PostgreSQL (guide §5). Windows are UTC (02:00–03:00 KST = 17:00–18:00 UTC)."""

    engine_version: str = Field("15", pattern=DB_ENGINE_VERSION,
                                description="major version: minor upgrades are automatic")
    instance_class: str = Field(pattern=RDS_CLASS)
    allocated_storage_gib: int = Field(ge=20, le=65536)
    max_allocated_storage_gib: int = Field(ge=20, le=65536,
                                           description="storage autoscaling ceiling (gp3)")
    backup_retention_days: int = Field(ge=1, le=35)
    backup_window: str = Field("17:00-18:00", pattern=DAILY_WINDOW)
    maintenance_window: str = Field("sun:18:30-sun:19:30", pattern=WINDOW)
    max_connections: int = Field(ge=10, le=262143)
    reserved_connections: int = Field(50, ge=3)
    work_mem_mib: int = Field(16, ge=1, le=2048)
    log_min_duration_statement_ms: int = Field(1000, ge=-1)
    username: str = Field("hr_saas_admin", pattern=DB_USERNAME)
    final_snapshot: StrictBool = Field(True, description="take a final snapshot on deletion")
    performance_insights_retention_days: int = Field(7, ge=7, le=731)
    monitoring_interval_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = 60
    log_exports: tuple[Literal["postgresql", "upgrade", "iam-db-auth-error"], ...] = (
        "postgresql", "upgrade")
    read_replicas: int = Field(0, ge=0, le=5,
                               description="read replicas for reporting queries (guide §15)")
    read_replica_class: str | None = Field(None, pattern=RDS_CLASS,
                                           description="None = the primary's class")


class Cache(Frozen):
    """ElastiCache Redis (guide §6)."""

    engine_version: str = Field("7.1", pattern=CACHE_ENGINE_VERSION)
    node_type: str = Field(pattern=CACHE_NODE_TYPE)
    replicas: int = Field(0, ge=0, le=5, description="replicas per shard")
    cluster_mode: StrictBool = Field(False, description="shard with cluster mode (guide §15)")
    shards: int = Field(1, ge=1, le=500, description="node groups when cluster_mode is on")
    snapshot_retention_days: int = Field(1, ge=0, le=35)
    snapshot_window: str = Field("16:00-17:00", pattern=DAILY_WINDOW)
    maintenance_window: str = Field("sun:19:30-sun:20:30", pattern=WINDOW)


class Secrets(Frozen):
    """Secrets Manager (guide §11)."""

    recovery_window_days: int = Field(30, ge=0, le=30,
                                      description="0 = delete at once (emulator only)")


class Messaging(Frozen):
    """SNS/SQS (guide §8): each subscribing service gets ``<name>-service-queue`` + its DLQ."""

    visibility_timeout_seconds: int = Field(60, ge=0, le=43200)
    max_receive_count: int = Field(3, ge=1, le=1000)
    queue_retention_seconds: int = Field(345600, ge=60, le=1209600)
    dlq_retention_seconds: int = Field(1209600, ge=60, le=1209600)


DOMAIN = r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class Edge(Frozen):
    """Frontend (S3 + CloudFront), file storage, ACM and Route 53 (guide §9, §12)."""

    domain: str = Field(pattern=DOMAIN, max_length=253,
                        description="the product's domain (hr.example.com)")
    hosted_zone_id: str | None = Field(None, pattern=HOSTED_ZONE_ID,
                                       description="use this existing zone; None = create it")
    frontend_aliases: tuple[str, ...] = Field(min_length=1,
                                              description="names CloudFront answers to")
    api_name: str = Field(pattern=DOMAIN, description="the ALB's name (api.hr.example.com)")
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_200"
    waf: StrictBool = False
    minimum_tls: Literal["TLSv1.2_2021", "TLSv1.2_2019"] = "TLSv1.2_2021"
    file_version_retention_days: int = Field(90, ge=1)

    def certificate_names(self) -> tuple[str, ...]:
        """The apex and the wildcard: a wildcard does not cover the apex CloudFront serves."""
        return (self.domain, f"*.{self.domain}")

    def covers(self, name: str) -> bool:
        if name == self.domain:
            return True
        head, _, rest = name.partition(".")
        return rest == self.domain and bool(head) and "*" not in head


class Logs(Frozen):
    """Application and service log groups (RDS, Redis, later ECS)."""

    retention_days: RetentionDays = 365


EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Observability(Frozen):
    """Alarms and the dashboard (issue: operations). Thresholds are percent unless named."""

    critical_emails: tuple[str, ...] = Field(
        (), description="subscribers of the critical alarm topic (high-priority services, "
        "database, cache, ALB, CloudFront)")
    warning_emails: tuple[str, ...] = Field(
        (), description="subscribers of the warning topic (medium/low services, queues)")
    evaluation_minutes: int = Field(5, ge=1, le=60, description="periods of 1 minute to alarm")
    alb_5xx_percent: float = Field(5, gt=0, le=100)
    alb_response_seconds: float = Field(2, gt=0, le=60, description="p95 target response")
    ecs_cpu_percent: int = Field(90, ge=1, le=100,
                                 description="near the ceiling: above the scaling target")
    ecs_memory_percent: int = Field(90, ge=1, le=100)
    rds_cpu_percent: int = Field(80, ge=1, le=100)
    rds_free_storage_percent: int = Field(10, ge=1, le=99)
    rds_freeable_memory_mib: int = Field(256, ge=1)
    rds_connections_percent: int = Field(80, ge=1, le=100, description="of max_connections")
    rds_replica_lag_seconds: int = Field(60, ge=1)
    redis_cpu_percent: int = Field(80, ge=1, le=100)
    redis_memory_percent: int = Field(80, ge=1, le=100)
    redis_replication_lag_seconds: int = Field(30, ge=1)
    queue_oldest_message_seconds: int = Field(900, ge=60)
    cloudfront_5xx_percent: float = Field(5, gt=0, le=100)

    @field_validator("critical_emails", "warning_emails")
    @classmethod
    def _emails(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            if not re.match(EMAIL, value):
                raise FixableError(f"{value!r} is not an e-mail address",
                                   "write a full address, e.g. ops@example.com")
        return values


class Backup(Frozen):
    """AWS Backup (guide §16): daily recovery points of the database and the file bucket, and
    a copy in a second region where ``copy_region`` is set (the guide's cross-region backup)."""

    schedule: str = Field("cron(0 20 * * ? *)", pattern=CRON,
                          description="UTC; 03:00 KST, after the RDS backup window")
    retention_days: int = Field(35, ge=1, le=36500)
    copy_region: str | None = Field(None, pattern=REGION)
    copy_retention_days: int = Field(35, ge=1, le=36500)


ANOMALY_MONITOR_ARN = r"^arn:aws:ce::\d{12}:anomalymonitor/[A-Za-z0-9-]+$"


class Audit(Frozen):
    """Account audit and threat detection (audit layer, issue 19): a multi-region CloudTrail
    into a bucket of its own, GuardDuty, IAM Access Analyzer and, where set, AWS Config."""

    trail_retention_days: int = Field(
        365, ge=1, le=36500,
        description="days the trail's log files are kept (and locked, with object_lock)")
    object_lock: Literal["off", "GOVERNANCE", "COMPLIANCE"] = Field(
        "off", description="S3 Object Lock default retention of the trail bucket; set before "
        "the bucket is first created (turning it on later replaces the bucket)")
    cloudwatch_logs: StrictBool = Field(
        False, description="also deliver the trail to a CloudWatch Logs group")
    cloudwatch_logs_retention_days: RetentionDays = 365
    aws_config: StrictBool = Field(
        False, description="AWS Config recorder and delivery channel (priced by make cost)")
    guardduty_publishing_frequency: Literal["FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS"] = (
        "FIFTEEN_MINUTES")
    warning_severity: float = Field(
        4, ge=1, le=10, description="GuardDuty findings from this severity go to the warning "
        "topic (4 = Medium)")
    critical_severity: float = Field(
        7, ge=1, le=10, description="GuardDuty findings from this severity go to the critical "
        "topic (7 = High)")

    @field_validator("critical_severity")
    @classmethod
    def _severity_order(cls, value: float, info: ValidationInfo) -> float:
        warning = info.data.get("warning_severity")
        if warning is not None and value <= warning:
            raise FixableError(
                f"not above audit.warning_severity ({warning}): no finding would reach the "
                "warning topic", "set critical_severity above warning_severity (e.g. 4 and 7)")
        return value


class CostBudget(Frozen):
    """The AWS Budgets monthly cost budget and Cost Anomaly Detection (observability layer,
    issue 19). The amount is the synthesized estimate (make cost) times 1 + margin_percent / 100."""

    margin_percent: float = Field(
        20, ge=0, le=1000, description="headroom over the estimate (usage the estimate "
        "assumes, taxes, price changes)")
    warning_percent: float = Field(
        80, gt=0, le=1000, description="of the budget: forecast and actual alerts to the "
        "warning topic")
    critical_percent: float = Field(
        100, gt=0, le=1000, description="of the budget: forecast and actual alerts to the "
        "critical topic")
    anomaly_threshold_usd: float = Field(
        50, gt=0, description="Cost Anomaly Detection: alert on anomalies whose total impact "
        "reaches this many USD")
    anomaly_monitor_arn: str | None = Field(
        None, pattern=ANOMALY_MONITOR_ARN,
        description="the account's existing per-service anomaly monitor (AWS allows one); "
        "None = create it")

    @field_validator("critical_percent")
    @classmethod
    def _threshold_order(cls, value: float, info: ValidationInfo) -> float:
        warning = info.data.get("warning_percent")
        if warning is not None and value <= warning:
            raise FixableError(
                f"not above budget.warning_percent ({warning}): the critical alert would come "
                "first", "set critical_percent above warning_percent (e.g. 80 and 100)")
        return value


class Ci(Frozen):
    """The CI identity (issue: delivery pipeline): GitHub OIDC and the plan/apply roles."""

    github_repository: str = Field(pattern=GITHUB_REPOSITORY,
                                   description="owner/name whose workflows assume the roles")
    oidc_provider_arn: str | None = Field(
        None,
        pattern=OIDC_PROVIDER_ARN,
        description="the account's existing GitHub OIDC provider; None = create it")
    publisher_repositories: tuple[Annotated[str, Field(pattern=GITHUB_REPOSITORY)], ...] = Field(
        (), description="owner/name of the application repositories whose CI publishes images "
        "(push to ECR, write the image parameters) through the environment's ci-publish role, "
        "from a job in their GitHub environment named like this environment")


class Emulator(Frozen):
    endpoint: str = Field(description="moto server URL; loopback only")


class Environment(Frozen):
    """One deployable environment: everything that differs between mvp, prod and local."""

    name: str = Field(pattern=ENV_NAME)
    project: str = Field(pattern=NAME_PATTERN)
    repository: str
    account_id: str = Field(pattern=ACCOUNT_ID)
    region: str = Field(pattern=REGION)
    azs: tuple[str, ...] = Field(min_length=1)
    ecs_cluster_name: str | None = Field(None, pattern=ECS_CLUSTER_NAME,
                                         description="default: <project>-<env>")
    emulator: Emulator | None = None
    capabilities: Capabilities = Capabilities()
    state: StateConfig = StateConfig()
    network: Network
    database: Database
    cache: Cache
    secrets: Secrets = Secrets()
    messaging: Messaging = Messaging()
    edge: Edge
    logs: Logs = Logs()
    compute: Compute = Compute()
    ci: Ci
    observability: Observability = Observability()
    backup: Backup = Backup()
    audit: Audit = Audit()
    budget: CostBudget = CostBudget()
    services: ServiceSelection = ServiceSelection()
    catalog: Catalog

    @property
    def is_emulated(self) -> bool:
        return self.emulator is not None

    def deployed_services(self) -> tuple[Service, ...]:
        """The catalog rows this environment runs, with its task-count override applied."""
        selected = []
        for svc in self.catalog.services.values():
            if svc.stage > self.services.max_stage:
                continue
            if self.services.task_count is not None:
                svc = svc.model_copy(update=self.services.task_count.model_dump())
            selected.append(svc)
        return tuple(sorted(selected, key=lambda s: (s.stage, s.port)))
