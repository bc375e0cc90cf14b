"""security: KMS keys (and, with the data layer, the secrets).

Customer-managed keys exist where the environment asks for them (prod); elsewhere AWS-managed
or service-owned keys encrypt the same resources (the guide's MVP "KMS 기본 키").
"""

from __future__ import annotations

import dataclasses

from modules.kms_key import KmsKey, KmsKeyProps, ServiceGrant

from ..config import Environment
from ..tf import Construct
from .base import LayerStack
from .outputs import LayerOutputs, output


@dataclasses.dataclass(frozen=True)
class SecurityOutputs(LayerOutputs):
    logs_kms_key_arn: str | None = output(
        "customer-managed key for CloudWatch log groups (only with customer_managed_keys)")


class SecurityStack(LayerStack):
    layer = "security"

    def __init__(self, scope: Construct, env: Environment):
        super().__init__(scope, env)
        logs_key = None
        if env.capabilities.customer_managed_keys:
            region, account = env.region, env.account_id
            logs_key = KmsKey(self, "logs-key", KmsKeyProps(
                alias=f"alias/{self.names.resource('logs')}",
                description=f"CloudWatch Logs of {env.project} {env.name}",
                account_id=account,
                services=(ServiceGrant(
                    principal=f"logs.{region}.amazonaws.com",
                    conditions=({
                        "test": "ArnLike",
                        "variable": "kms:EncryptionContext:aws:logs:arn",
                        "values": [f"arn:aws:logs:{region}:{account}:log-group:*"],
                    },),
                ),),
            )).arn
        self.outputs = SecurityOutputs(logs_kms_key_arn=logs_key).export(self)
