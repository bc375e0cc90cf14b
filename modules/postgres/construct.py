"""RDS PostgreSQL (guide §5) with the guide's parameter group in RDS's own units."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, TerraformStack, aws

# RDS memory formulas: DBInstanceClassMemory is in bytes, shared_buffers and
# effective_cache_size are in 8 KB pages. The guide's {DBInstanceClassMemory/4} taken literally
# would ask for 8192× a quarter of the memory; 25 % is bytes/4/8192 pages.
PAGE_BYTES = 8192
SHARED_BUFFERS_25_PERCENT = "{DBInstanceClassMemory/32768}"          # bytes / 4 / 8192
EFFECTIVE_CACHE_SIZE_75_PERCENT = "{DBInstanceClassMemory*3/32768}"  # bytes * 3/4 / 8192


# An empty string Terraform knows only when applying (timestamp() is unknown during a plan).
APPLY_TIME_ONLY = "${substr(timestamp(), 0, 0)}"


class PostgresProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    identifier: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    account_id: str = Field(pattern=r"^\d{12}$")
    """The account: the monitoring role trusts RDS only on its behalf (aws:SourceAccount)."""
    engine_version: str
    """Major version only ("15"): minor versions upgrade automatically in the window."""
    instance_class: str
    allocated_storage_gib: int
    max_allocated_storage_gib: int
    """gp3 storage autoscaling ceiling."""
    multi_az: bool
    subnet_ids: list[str]
    """private-data subnets."""
    security_group_id: str
    """sg-rds."""
    kms_key_arn: str | None = None
    """CMK for storage and Performance Insights; None = the AWS-managed ``aws/rds`` key."""
    username: str
    password_secret_arn: str
    """Secret whose JSON ``password`` is the master password (read as an ephemeral value)."""
    password_generation: int | float | str
    """Bumped with the secret's generation: the password is written again when it changes."""
    backup_retention_days: int
    backup_window: str
    maintenance_window: str
    deletion_protection: bool = True
    final_snapshot: bool = True
    max_connections: int
    work_mem_mib: int = 16
    log_min_duration_statement_ms: int = 1000
    performance_insights_retention_days: int = 7
    monitoring_interval_seconds: int = 60
    log_exports: tuple[str, ...] = ("postgresql", "upgrade")
    log_retention_days: int = 365
    logs_kms_key_arn: str | None = None
    read_replicas: int = Field(0, ge=0, le=5)
    """Read replicas for reporting queries (guide §15 read scaling)."""
    read_replica_class: str | None = None
    """Their instance class; None = the primary's."""


class Postgres(Construct):
    def __init__(self, scope: Construct, id_: str, props: PostgresProps):
        super().__init__(scope, id_)
        family = f"postgres{props.engine_version.split('.')[0]}"
        self.subnet_group = aws.db_subnet_group.DbSubnetGroup(
            self, "subnets", name=props.identifier, subnet_ids=props.subnet_ids,
            description="private-data subnets",
        )
        pg = aws.db_parameter_group
        parameters = [
            # static parameters apply at the next reboot, never by surprise
            pg.DbParameterGroupParameter(name="max_connections",
                                         value=str(props.max_connections),
                                         apply_method="pending-reboot"),
            pg.DbParameterGroupParameter(name="shared_buffers", value=SHARED_BUFFERS_25_PERCENT,
                                         apply_method="pending-reboot"),
            pg.DbParameterGroupParameter(name="effective_cache_size",
                                         value=EFFECTIVE_CACHE_SIZE_75_PERCENT),
            pg.DbParameterGroupParameter(name="work_mem", value=str(props.work_mem_mib * 1024)),
            pg.DbParameterGroupParameter(name="log_min_duration_statement",
                                         value=str(props.log_min_duration_statement_ms)),
            pg.DbParameterGroupParameter(name="rds.force_ssl", value="1"),
        ]
        # Named by family with a generated suffix and replaced create-before-destroy: a major
        # upgrade brings a new group without deleting the one the instance still uses.
        self.parameter_group = pg.DbParameterGroup(
            self, "parameters", name_prefix=f"{props.identifier}-{family}-", family=family,
            description=f"hr-saas {family} (guide §5)", parameter=parameters,
            lifecycle={"create_before_destroy": True},
        )
        # Created before the instance, or RDS creates them itself without retention.
        log_groups = []
        for log in props.log_exports:
            log_groups.append(aws.cloudwatch_log_group.CloudwatchLogGroup(
                self, f"log-{log}", name=f"/aws/rds/instance/{props.identifier}/{log}",
                retention_in_days=props.log_retention_days, kms_key_id=props.logs_kms_key_arn,
            ))
        trust = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
            self, "monitoring-trust", statement=[{
                "actions": ["sts:AssumeRole"],
                "principals": [{"type": "Service",
                                "identifiers": ["monitoring.rds.amazonaws.com"]}],
                # Confused deputy: only RDS acting for this account may assume the role.
                "condition": [{"test": "StringEquals", "variable": "aws:SourceAccount",
                               "values": [props.account_id]}],
            }])
        self.monitoring_role = aws.iam_role.IamRole(
            self, "monitoring-role", name=f"{props.identifier}-monitoring",
            assume_role_policy=trust.json,
        )
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "monitoring-policy", role=self.monitoring_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
        )
        # The master password is read as an ephemeral value and written write-only: it never
        # enters the plan or the state. Its secret ID ends in timestamp()'s empty prefix, which
        # is unknown while planning and known when applying: Terraform opens an ephemeral
        # resource with unknown arguments only at apply, so a plan reads no secret (the CI plan
        # role cannot) and password_wo, write-only, shows no change either way. The apply
        # (also of a saved plan) opens it and writes the password when the version changes.
        stack = TerraformStack.of(self)
        ephemeral = f"{props.identifier}-master"
        stack.add_override(f"ephemeral.aws_secretsmanager_secret_version.{ephemeral}",
                           {"secret_id": props.password_secret_arn
                            + APPLY_TIME_ONLY})
        self.instance = aws.db_instance.DbInstance(
            self, "instance",
            identifier=props.identifier,
            engine="postgres",
            engine_version=props.engine_version,
            instance_class=props.instance_class,
            storage_type="gp3",
            allocated_storage=props.allocated_storage_gib,
            max_allocated_storage=props.max_allocated_storage_gib,
            multi_az=props.multi_az,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[props.security_group_id],
            publicly_accessible=False,
            port=5432,
            storage_encrypted=True,
            kms_key_id=props.kms_key_arn,
            username=props.username,
            password_wo=(f"${{jsondecode(ephemeral.aws_secretsmanager_secret_version."
                         f"{ephemeral}.secret_string).password}}"),
            password_wo_version=props.password_generation,
            parameter_group_name=self.parameter_group.name,
            iam_database_authentication_enabled=True,
            backup_retention_period=props.backup_retention_days,
            backup_window=props.backup_window,
            maintenance_window=props.maintenance_window,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            apply_immediately=False,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=props.deletion_protection,
            skip_final_snapshot=not props.final_snapshot,
            final_snapshot_identifier=f"{props.identifier}-final" if props.final_snapshot
            else None,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=props.kms_key_arn,
            performance_insights_retention_period=props.performance_insights_retention_days,
            monitoring_interval=props.monitoring_interval_seconds,
            monitoring_role_arn=self.monitoring_role.arn,
            enabled_cloudwatch_logs_exports=list(props.log_exports),
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags={"Name": props.identifier},
            depends_on=log_groups,
        )
        self.address = self.instance.address
        self.port = self.instance.port
        # Replicas inherit storage, encryption, parameters and credentials from the primary;
        # they keep no backups of their own and can be dropped without a snapshot.
        self.replicas = [aws.db_instance.DbInstance(
            self, f"replica-{n}",
            identifier=f"{props.identifier}-replica-{n}",
            replicate_source_db=self.instance.identifier,
            instance_class=props.read_replica_class or props.instance_class,
            storage_type="gp3",
            max_allocated_storage=props.max_allocated_storage_gib,
            vpc_security_group_ids=[props.security_group_id],
            publicly_accessible=False,
            storage_encrypted=True,
            kms_key_id=props.kms_key_arn,
            parameter_group_name=self.parameter_group.name,
            iam_database_authentication_enabled=True,
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            copy_tags_to_snapshot=True,
            deletion_protection=props.deletion_protection,
            skip_final_snapshot=True,
            backup_retention_period=0,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=props.kms_key_arn,
            performance_insights_retention_period=props.performance_insights_retention_days,
            monitoring_interval=props.monitoring_interval_seconds,
            monitoring_role_arn=self.monitoring_role.arn,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            tags={"Name": f"{props.identifier}-replica-{n}", "Role": "read-replica"},
        ) for n in range(1, props.read_replicas + 1)]
