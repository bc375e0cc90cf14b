"""A customer-managed KMS key with rotation, an alias and a least-privilege key policy."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws

KEY_USE_ACTIONS = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
)
# The account administers the key but cannot use it directly: no Encrypt/Decrypt and no
# CreateGrant here, so IAM policies alone never open the data.
KEY_ADMIN_ACTIONS = (
    "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:Describe*", "kms:Enable*",
    "kms:Disable*", "kms:List*", "kms:Get*", "kms:Put*", "kms:Update*", "kms:Revoke*",
    "kms:RetireGrant", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
)


class ServiceGrant(BaseModel):
    """One AWS service principal allowed to use the key, under the given conditions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: str
    """Service principal, e.g. ``logs.ap-northeast-2.amazonaws.com``."""
    conditions: tuple[dict, ...] = ()
    """IAM policy-document ``condition`` blocks, e.g. an encryption-context ArnLike."""


class KmsKeyProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str = Field(pattern=r"^alias/[a-zA-Z0-9/_-]+$")
    description: str
    """What the key encrypts (shown in the console and in CloudTrail)."""
    account_id: str
    """The account that owns and administers the key."""
    region: str
    """Region of the services in ``via_services``."""
    via_services: tuple[str, ...] = ()
    """Services (``rds``, ``secretsmanager``, ``s3``…) through which principals of the account
    may use the key — and only through them (``kms:ViaService``)."""
    services: tuple[ServiceGrant, ...] = ()
    """Service principals that use the key themselves (e.g. CloudWatch Logs)."""
    deletion_window_days: int = Field(30, ge=7, le=30)
    provider: Any = None
    """Provider of another region (e.g. the backup copy region's); None = the stack's."""


class KmsKey(Construct):
    """The account root administers the key (so it can never be orphaned); principals of the
    account use it only through the listed services; listed service principals use it under
    their conditions. Nobody else."""

    def __init__(self, scope: Construct, id_: str, props: KmsKeyProps):
        super().__init__(scope, id_)
        root = f"arn:aws:iam::{props.account_id}:root"
        account = [{"type": "AWS", "identifiers": [root]}]
        statements: list[dict] = [{
            "sid": "AccountAdministers",
            "actions": list(KEY_ADMIN_ACTIONS),
            "principals": account,
            "resources": ["*"],
        }]
        if props.via_services:
            via = [f"{svc}.{props.region}.amazonaws.com" for svc in props.via_services]
            in_account = {"test": "StringEquals", "variable": "kms:CallerAccount",
                          "values": [props.account_id]}
            statements += [{
                "sid": "UseThroughServices",
                "actions": list(KEY_USE_ACTIONS),
                "principals": account,
                "resources": ["*"],
                "condition": [in_account, {"test": "StringEquals",
                                           "variable": "kms:ViaService", "values": via}],
            }, {
                # RDS, ElastiCache and Secrets Manager hold grants on the key for their resources.
                "sid": "GrantsForServiceResources",
                "actions": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "principals": account,
                "resources": ["*"],
                "condition": [in_account,
                              {"test": "StringEquals", "variable": "kms:ViaService",
                               "values": via},
                              {"test": "Bool", "variable": "kms:GrantIsForAWSResource",
                               "values": ["true"]}],
            }]
        for index, grant in enumerate(props.services):
            statements.append({
                "sid": f"ServiceUses{index}",
                "actions": list(KEY_USE_ACTIONS),
                "principals": [{"type": "Service", "identifiers": [grant.principal]}],
                "resources": ["*"],
                "condition": list(grant.conditions),
            })
        document = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
            self, "policy", statement=statements, provider=props.provider
        )
        self.key = aws.kms_key.KmsKey(
            self, "key",
            description=props.description,
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=document.json,
            provider=props.provider,
        )
        aws.kms_alias.KmsAlias(self, "alias", name=props.alias, target_key_id=self.key.key_id,
                               provider=props.provider)
        self.arn = self.key.arn
