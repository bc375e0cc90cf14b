"""A customer-managed KMS key with rotation, an alias and a least-privilege key policy."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws

KEY_USE_ACTIONS = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
)


class ServiceGrant(BaseModel):
    """One AWS service principal allowed to use the key, under the given conditions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: str
    conditions: tuple[dict, ...] = ()
    """IAM policy-document ``condition`` blocks, e.g. an encryption-context ArnLike."""


class KmsKeyProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alias: str = Field(pattern=r"^alias/[a-zA-Z0-9/_-]+$")
    description: str
    account_id: str
    services: tuple[ServiceGrant, ...] = ()
    deletion_window_days: int = Field(30, ge=7, le=30)


class KmsKey(Construct):
    """The account root administers the key (so IAM policies can grant it and it can never be
    orphaned); only the listed service principals may use it, each under its conditions."""

    def __init__(self, scope: Construct, id_: str, props: KmsKeyProps):
        super().__init__(scope, id_)
        root = f"arn:aws:iam::{props.account_id}:root"
        statements: list[dict] = [{
            "sid": "AccountAdministers",
            "actions": ["kms:*"],
            "principals": [{"type": "AWS", "identifiers": [root]}],
            "resources": ["*"],
        }]
        for grant in props.services:
            statements.append({
                "sid": "Use" + "".join(p.title() for p in grant.principal.split(".")[:1]),
                "actions": list(KEY_USE_ACTIONS),
                "principals": [{"type": "Service", "identifiers": [grant.principal]}],
                "resources": ["*"],
                "condition": list(grant.conditions),
            })
        document = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
            self, "policy", statement=statements
        )
        self.key = aws.kms_key.KmsKey(
            self, "key",
            description=props.description,
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=document.json,
        )
        aws.kms_alias.KmsAlias(self, "alias", name=props.alias, target_key_id=self.key.key_id)
        self.arn = self.key.arn
