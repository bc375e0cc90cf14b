"""The DynamoDB table Terraform's S3 backend locks with (kept beside the S3 lockfile)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hrsaas.tf import Construct, aws


class StateLockTableProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    table_name: str
    kms_key_arn: str | None = None
    """SSE with this customer-managed key; None = the AWS-managed key ``aws/dynamodb``."""
    deletion_protection: bool = True


class StateLockTable(Construct):
    def __init__(self, scope: Construct, id_: str, props: StateLockTableProps):
        super().__init__(scope, id_)
        sse: dict = {"enabled": True}
        if props.kms_key_arn:
            sse["kms_key_arn"] = props.kms_key_arn
        self.table = aws.dynamodb_table.DynamodbTable(
            self, "table",
            name=props.table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key="LockID",
            attribute=[{"name": "LockID", "type": "S"}],
            point_in_time_recovery={"enabled": True},
            server_side_encryption=sse,
            deletion_protection_enabled=props.deletion_protection,
        )
        self.name = self.table.name
        self.arn = self.table.arn
