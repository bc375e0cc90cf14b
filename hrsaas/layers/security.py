"""security: KMS keys and the guide's four secrets (§11).

Customer-managed keys exist where the environment asks for them (prod); elsewhere AWS-managed
or service-owned keys encrypt the same resources (the guide's MVP "KMS 기본 키"). Secret values
are generated at apply time and kept out of the repository, the plans and the state.
"""

from __future__ import annotations

import dataclasses

from modules.generated_secret import GeneratedSecret, GeneratedSecretProps, SecretField
from modules.kms_key import KmsKey, KmsKeyProps, ServiceGrant

from ..config import Environment
from ..tf import Construct
from .base import LayerStack
from .outputs import LayerOutputs, output

# Which services use each customer-managed key (kms:ViaService).
KEYS = {
    "rds": ("RDS PostgreSQL storage, snapshots and Performance Insights", ("rds",)),
    "secrets": ("Secrets Manager secrets", ("secretsmanager",)),
    "cache": ("ElastiCache Redis at rest", ("elasticache",)),
    "messaging": ("SNS topics and SQS queues", ("sns", "sqs")),
    "files": ("the file-storage bucket", ("s3",)),
    "backup": ("the AWS Backup vault", ("backup",)),
}
# Services that use a key themselves, not on a caller's behalf: SNS encrypts what it delivers
# to the encrypted queues; CloudWatch, EventBridge, Budgets and Cost Anomaly Detection publish
# to the encrypted alarm topics. Each is held to this account (aws:SourceAccount) except
# EventBridge: for EventBridge publishing to an encrypted topic, KMS key policies with
# aws:SourceAccount or aws:SourceArn are not supported (SNS developer guide, key management) —
# every GuardDuty finding would fail to deliver. The topic policy still holds EventBridge to
# this account's rules.
KEY_SERVICE_PRINCIPALS = {"messaging": ("sns.amazonaws.com", "cloudwatch.amazonaws.com",
                                         "events.amazonaws.com", "budgets.amazonaws.com",
                                         "costalerts.amazonaws.com")}
UNCONDITIONED_KEY_SERVICES = frozenset({"events.amazonaws.com"})


@dataclasses.dataclass(frozen=True)
class SecurityOutputs(LayerOutputs):
    logs_kms_key_arn: str | None = output("CMK for CloudWatch log groups (customer_managed_keys)")
    rds_kms_key_arn: str | None = output("CMK for RDS (customer_managed_keys)")
    secrets_kms_key_arn: str | None = output("CMK for Secrets Manager (customer_managed_keys)")
    cache_kms_key_arn: str | None = output("CMK for ElastiCache (customer_managed_keys)")
    messaging_kms_key_arn: str | None = output("CMK for SNS and SQS (customer_managed_keys)")
    files_kms_key_arn: str | None = output("CMK for the file bucket (customer_managed_keys)")
    backup_kms_key_arn: str | None = output("CMK for the backup vault (customer_managed_keys)")
    db_secret_arn: str = output("hr-saas/db: username, password")
    db_secret_generation: float = output("generation of hr-saas/db's values (password_wo_version)")
    redis_secret_arn: str = output("hr-saas/redis: password (the Redis AUTH token)")
    jwt_secret_arn: str = output("hr-saas/jwt: secret")
    encryption_secret_arn: str = output("hr-saas/encryption: key (AES-GCM, personal data)")

    def value_from(self, secret: str, key: str) -> str:
        """ECS ``valueFrom`` for one JSON key, e.g. ``value_from("db", "password")``."""
        return f"{getattr(self, f'{secret}_secret_arn')}:{key}::"


class SecurityStack(LayerStack):
    layer = "security"

    def __init__(self, scope: Construct, env: Environment):
        super().__init__(scope, env)
        region, account = env.region, env.account_id
        keys: dict[str, str | None] = dict.fromkeys(("logs", *KEYS))
        if env.capabilities.customer_managed_keys:
            keys["logs"] = KmsKey(self, "logs-key", KmsKeyProps(
                alias=f"alias/{self.names.resource('logs')}",
                description=f"CloudWatch Logs of {env.project} {env.name}",
                account_id=account, region=region,
                services=(ServiceGrant(
                    principal=f"logs.{region}.amazonaws.com",
                    conditions=({
                        "test": "ArnLike",
                        "variable": "kms:EncryptionContext:aws:logs:arn",
                        "values": [f"arn:aws:logs:{region}:{account}:log-group:*"],
                    },),
                ),),
            )).arn
            for purpose, (what, via) in KEYS.items():
                keys[purpose] = KmsKey(self, f"{purpose}-key", KmsKeyProps(
                    alias=f"alias/{self.names.resource(purpose)}",
                    description=f"{what} of {env.project} {env.name}",
                    account_id=account, region=region, via_services=via,
                    services=tuple(ServiceGrant(principal=p, conditions=() if (
                        p in UNCONDITIONED_KEY_SERVICES) else ({
                            "test": "StringEquals", "variable": "aws:SourceAccount",
                            "values": [account]},))
                        for p in KEY_SERVICE_PRINCIPALS.get(purpose, ())),
                )).arn

        def secret(id_: str, name: str, description: str, *fields: SecretField
                   ) -> GeneratedSecret:
            return GeneratedSecret(self, id_, GeneratedSecretProps(
                name=name, description=description, fields=fields,
                kms_key_arn=keys["secrets"],
                recovery_window_days=env.secrets.recovery_window_days,
            ))

        # Guide §11: names and JSON keys exactly as the applications read them.
        db = secret("db-secret", "hr-saas/db", "PostgreSQL master credentials",
                    SecretField(key="username", value=env.database.username),
                    SecretField(key="password", length=32))
        redis = secret("redis-secret", "hr-saas/redis", "Redis AUTH token",
                       SecretField(key="password", length=64))
        jwt = secret("jwt-secret", "hr-saas/jwt", "JWT signing key",
                     SecretField(key="secret", length=64))
        encryption = secret("encryption-secret", "hr-saas/encryption",
                            "AES-GCM key for personal data (Base64, 256 bits)",
                            SecretField(key="key", length=64, encoding="base64sha256"))
        self.outputs = SecurityOutputs(
            logs_kms_key_arn=keys["logs"],
            rds_kms_key_arn=keys["rds"],
            secrets_kms_key_arn=keys["secrets"],
            cache_kms_key_arn=keys["cache"],
            messaging_kms_key_arn=keys["messaging"],
            files_kms_key_arn=keys["files"],
            backup_kms_key_arn=keys["backup"],
            db_secret_arn=db.arn,
            db_secret_generation=db.generation,
            redis_secret_arn=redis.arn,
            jwt_secret_arn=jwt.arn,
            encryption_secret_arn=encryption.arn,
        ).export(self)
