"""backup: AWS Backup of the database and the file bucket, with the guide's cross-region copy
in prod (§16 "리전 장애: Cross-Region 백업에서 복원"). RDS's own automated backups (point-in-time
recovery within the retention) stay on in the data layer; this adds daily recovery points that
survive the instance and, where configured, a second region."""

from __future__ import annotations

from modules.backup_plan import BackupPlan, BackupPlanProps
from modules.kms_key import KmsKey, KmsKeyProps

from ..config import Environment
from ..tf import Construct, aws
from .base import LayerStack
from .data import DataOutputs
from .edge import EdgeOutputs
from .security import SecurityOutputs


class BackupStack(LayerStack):
    layer = "backup"

    def __init__(self, scope: Construct, env: Environment, *, security: LayerStack,
                 data: LayerStack, edge: LayerStack):
        super().__init__(scope, env)
        cfg = env.backup
        key = None
        if env.capabilities.customer_managed_keys:
            key = SecurityOutputs.read(self, security, ("backup_kms_key_arn",)
                                       ).backup_kms_key_arn
        db = DataOutputs.read(self, data, ("db_instance_arn",))
        files = EdgeOutputs.read(self, edge, ("file_bucket_arn",))
        copy_provider = None
        if cfg.copy_region:
            copy_provider = aws.provider.AwsProvider(
                self, "aws-copy-region", alias="copy_region",
                **self.provider_args(cfg.copy_region))
        copy_key = None
        if copy_provider is not None and env.capabilities.customer_managed_keys:
            # A copy is re-encrypted with the destination vault's key, which must live in the
            # copy region; without one the vault falls back to the AWS-managed aws/backup key.
            copy_key = KmsKey(self, "backup-copy-key", KmsKeyProps(
                alias=f"alias/{self.names.resource('backup-copy')}",
                description=f"the cross-region backup copies of {env.project} {env.name}",
                account_id=env.account_id, region=cfg.copy_region,
                via_services=("backup", "rds"), provider=copy_provider,
            )).arn
        self.plan = BackupPlan(self, "backup", BackupPlanProps(
            name=self.names.resource(), account_id=env.account_id, schedule=cfg.schedule,
            retention_days=cfg.retention_days,
            resources=[db.db_instance_arn, files.file_bucket_arn],
            kms_key_arn=key,
            copy_provider=copy_provider, copy_retention_days=cfg.copy_retention_days,
            copy_kms_key_arn=copy_key,
            force_destroy=env.is_emulated,
        ))
