"""A Secrets Manager secret whose JSON values are generated at apply time and never stored.

Values come from Terraform *ephemeral* ``aws_secretsmanager_random_password`` resources and are
written through the write-only ``secret_string_wo`` argument (Terraform ≥ 1.11): they exist in
Secrets Manager only — not in the repository, the synthesized JSON, the plan or the state.
Bump ``version`` to generate new values (rotation by redeploy).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, TerraformStack, aws


class SecretField(BaseModel):
    """One key of the secret's JSON: a fixed value, or a generated one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    value: str | None = None
    """A fixed, non-secret value (e.g. the database user name); None = generate one."""
    length: int = Field(32, ge=16, le=4096)
    """Characters generated (letters and digits only: safe in URLs, Redis AUTH and JDBC)."""
    encoding: Literal["raw", "base64sha256"] = "raw"
    """``base64sha256``: the Base64 SHA-256 of the generated text — a 256-bit key (AES-GCM)."""


class GeneratedSecretProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9/_+=.@-]+$")
    """Secret name (the guide's ``hr-saas/db``)."""
    description: str
    fields: tuple[SecretField, ...] = Field(min_length=1)
    kms_key_arn: str | None = None
    """Customer-managed key; None = the AWS-managed key ``aws/secretsmanager``."""
    recovery_window_days: int = Field(30, ge=0, le=30)
    version: int = Field(1, ge=1)
    """Generation of the values: change it to write newly generated values."""


class GeneratedSecret(Construct):
    def __init__(self, scope: Construct, id_: str, props: GeneratedSecretProps):
        super().__init__(scope, id_)
        self.secret = aws.secretsmanager_secret.SecretsmanagerSecret(
            self, "secret", name=props.name, description=props.description,
            kms_key_id=props.kms_key_arn,
            recovery_window_in_days=props.recovery_window_days,
        )
        stack = TerraformStack.of(self)
        slug = re.sub(r"[^A-Za-z0-9_-]", "-", props.name)
        parts = []
        for field in props.fields:
            if field.value is not None:
                parts.append(f"{field.key} = {_hcl_string(field.value)}")
                continue
            ephemeral = f"{slug}-{field.key}"
            # cdktf 0.21 has no ephemeral-resource binding: the block is written verbatim.
            stack.add_override(f"ephemeral.aws_secretsmanager_random_password.{ephemeral}", {
                "password_length": field.length,
                "exclude_punctuation": True,
                "include_space": False,
            })
            value = f"ephemeral.aws_secretsmanager_random_password.{ephemeral}.random_password"
            if field.encoding == "base64sha256":
                value = f"base64sha256({value})"
            parts.append(f"{field.key} = {value}")
        self.version = aws.secretsmanager_secret_version.SecretsmanagerSecretVersion(
            self, "version", secret_id=self.secret.id,
            secret_string_wo="${jsonencode({" + ", ".join(parts) + "})}",
            secret_string_wo_version=props.version,
        )
        self.arn = self.secret.arn
        self.name = self.secret.name
        self.generation = props.version


def _hcl_string(value: str) -> str:
    if re.search(r'["\\$%{}]', value):
        raise ValueError(f"fixed secret values must be plain text, got {value!r}")
    return f'"{value}"'


def value_from(secret_arn: str, key: str) -> str:
    """The ECS ``valueFrom`` of one JSON key of a secret (``<arn>:<key>::``)."""
    return f"{secret_arn}:{key}::"
