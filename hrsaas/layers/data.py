"""data: RDS PostgreSQL 15 (guide §5)."""

from __future__ import annotations

import dataclasses

from modules.postgres import Postgres, PostgresProps

from ..config import Environment
from ..tf import Construct
from .base import LayerStack
from .network import NetworkOutputs
from .outputs import LayerOutputs, output
from .security import SecurityOutputs


@dataclasses.dataclass(frozen=True)
class DataOutputs(LayerOutputs):
    db_host: str = output("RDS endpoint address (DB_HOST)")
    db_port: float = output("RDS port (DB_PORT)")
    db_instance_id: str = output("RDS instance identifier")
    db_resource_id: str = output("RDS resource ID (IAM database authentication)")
    db_instance_arn: str = output("RDS instance ARN (the backup plan selects it)")
    replica_ids: list[str] = output("read replica identifiers (replica-lag alarms)")


class DataStack(LayerStack):
    layer = "data"

    def __init__(self, scope: Construct, env: Environment, *, network: LayerStack,
                 security: LayerStack):
        super().__init__(scope, env)
        net = NetworkOutputs.read(self, network, (
            "private_data_subnet_ids", "rds_security_group_id"))
        cmk = env.capabilities.customer_managed_keys
        sec = SecurityOutputs.read(self, security, (
            "db_secret_arn", "db_secret_generation",
            *(("rds_kms_key_arn", "logs_kms_key_arn") if cmk else ())))
        db = env.database
        postgres = Postgres(self, "postgres", PostgresProps(
            identifier=self.names.resource("db"),
            account_id=env.account_id,
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage_gib=db.allocated_storage_gib,
            max_allocated_storage_gib=db.max_allocated_storage_gib,
            multi_az=env.capabilities.multi_az,
            subnet_ids=net.private_data_subnet_ids,
            security_group_id=net.rds_security_group_id,
            kms_key_arn=sec.rds_kms_key_arn,
            username=db.username,
            password_secret_arn=sec.db_secret_arn,
            password_generation=sec.db_secret_generation,
            backup_retention_days=db.backup_retention_days,
            backup_window=db.backup_window,
            maintenance_window=db.maintenance_window,
            deletion_protection=env.capabilities.deletion_protection,
            final_snapshot=db.final_snapshot,
            max_connections=db.max_connections,
            work_mem_mib=db.work_mem_mib,
            log_min_duration_statement_ms=db.log_min_duration_statement_ms,
            performance_insights_retention_days=db.performance_insights_retention_days,
            monitoring_interval_seconds=db.monitoring_interval_seconds,
            log_exports=db.log_exports,
            log_retention_days=env.logs.retention_days,
            logs_kms_key_arn=sec.logs_kms_key_arn,
            read_replicas=db.read_replicas,
            read_replica_class=db.read_replica_class,
        ))
        self.outputs = DataOutputs(
            db_host=postgres.address, db_port=postgres.port,
            db_instance_id=postgres.instance.identifier,
            db_resource_id=postgres.instance.resource_id,
            db_instance_arn=postgres.instance.arn,
            replica_ids=[r.identifier for r in postgres.replicas],
        ).export(self)
