"""AWS Backup for the environment's data (guide §16): a vault, a daily plan with retention, a
copy of every recovery point into a vault in a second region (the guide's cross-region backup
for a region failure), and the selection of what holds data."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws

BACKUP_POLICIES = ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores",
                   "AWSBackupServiceRolePolicyForS3Backup",
                   "AWSBackupServiceRolePolicyForS3Restore")


class BackupPlanProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{2,50}$")
    account_id: str = Field(pattern=r"^\d{12}$")
    schedule: str = "cron(0 18 * * ? *)"
    retention_days: int = Field(35, ge=1)
    resources: list[str] = Field(min_length=1)
    """ARNs of what holds data: the database, the file bucket."""
    kms_key_arn: str | None = None
    """Vault key; None = AWS Backup's AWS-managed key (RDS recovery points keep their own)."""
    copy_provider: Any = None
    """Provider of the second region; None = no cross-region copy."""
    copy_retention_days: int = Field(35, ge=1)
    copy_kms_key_arn: str | None = None
    force_destroy: bool = False
    """Let Terraform delete vaults that still hold recovery points (emulator only)."""


class BackupPlan(Construct):
    def __init__(self, scope: Construct, id_: str, props: BackupPlanProps):
        super().__init__(scope, id_)
        p = props
        self.vault = aws.backup_vault.BackupVault(
            self, "vault", name=p.name, kms_key_arn=p.kms_key_arn,
            force_destroy=p.force_destroy)
        rule: dict[str, Any] = {
            "rule_name": "daily", "target_vault_name": self.vault.name,
            "schedule": p.schedule, "start_window": 60, "completion_window": 300,
            "lifecycle": {"delete_after": p.retention_days},
        }
        self.copy_vault = None
        if p.copy_provider is not None:
            self.copy_vault = aws.backup_vault.BackupVault(
                self, "copy-vault", name=f"{p.name}-copy", kms_key_arn=p.copy_kms_key_arn,
                force_destroy=p.force_destroy, provider=p.copy_provider)
            rule["copy_action"] = [{"destination_vault_arn": self.copy_vault.arn,
                                    "lifecycle": {"delete_after": p.copy_retention_days}}]
        self.plan = aws.backup_plan.BackupPlan(self, "plan", name=p.name, rule=[])
        # Raw JSON: the rule's multi-word keys would be lost by jsii inside a list.
        self.plan.add_override("rule", [rule])
        self.role = aws.iam_role.IamRole(
            self, "role", name=f"{p.name}-backup",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": "backup.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": p.account_id}}}]}))
        for policy in BACKUP_POLICIES:
            kind = "service-role/" if "S3" not in policy else ""
            aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self, policy, role=self.role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{kind}{policy}")
        self.selection = aws.backup_selection.BackupSelection(
            self, "selection", name=f"{p.name}-data", plan_id=self.plan.id,
            iam_role_arn=self.role.arn, resources=p.resources)
