"""LayerStack: one Terraform stack per (environment, layer) with its provider and backend."""

from __future__ import annotations

from typing import Any, ClassVar

from ..config import Environment
from ..naming import Names
from ..tf import Construct, LocalBackend, S3Backend, TerraformStack, aws

# Every AWS API the layers call: on the emulator each one must point at loopback.
EMULATED_SERVICES = (
    "accessanalyzer", "acm", "applicationautoscaling", "backup", "budgets", "ce", "cloudfront",
    "cloudtrail", "cloudwatch", "configservice", "dynamodb", "ec2", "ecr", "ecs", "elasticache",
    "elbv2", "events", "guardduty", "iam", "kms", "logs", "rds", "route53", "s3",
    "secretsmanager", "sns", "sqs", "ssm", "sts", "wafv2",
)
# The emulator's fixed, fake credentials. Real environments carry none: credentials come from
# the caller (OIDC in CI, a profile locally).
EMULATOR_CREDENTIALS = {"access_key": "test", "secret_key": "test"}


def backend_config(env: Environment, layer: str) -> dict[str, Any]:
    """S3 backend arguments for a layer: used by the backend and by every remote-state read."""
    names = Names.of(env)
    config: dict[str, Any] = {
        "bucket": names.state_bucket(),
        "key": names.state_key(layer),
        "region": env.region,
        "encrypt": True,
        "dynamodb_table": names.lock_table(),
        "allowed_account_ids": [env.account_id],
    }
    if env.capabilities.customer_managed_keys:
        # Without kms_key_id the backend asks S3 for AES256 on every write, overriding the
        # bucket's default key: state (which holds the Redis AUTH token) would never be under
        # the environment's CMK. The alias ARN is known before bootstrap creates the key.
        config["kms_key_id"] = (f"arn:aws:kms:{env.region}:{env.account_id}:alias/"
                                f"{names.resource('tfstate')}")
    if env.emulator is not None:
        url = env.emulator.endpoint
        config.update(
            EMULATOR_CREDENTIALS,
            endpoints={"s3": url, "dynamodb": url, "sts": url, "iam": url},
            skip_credentials_validation=True,
            skip_metadata_api_check=True,
            skip_requesting_account_id=False,
            use_path_style=True,
        )
    return config


class LayerStack(TerraformStack):
    """Base of every layer: provider with region, account guard and default tags; backend.

    Subclasses set ``layer`` and build their resources in ``__init__`` after calling super().
    ``bootstrap`` is the one layer with local state: it creates the state bucket and lock table.
    """

    layer: ClassVar[str]
    uses_local_state: ClassVar[bool] = False

    def __init__(self, scope: Construct, env: Environment):
        self.env = env
        self.names = Names.of(env)
        super().__init__(scope, self.names.stack_id(self.layer))
        self.provider = aws.provider.AwsProvider(self, "aws", **self.provider_args(env.region))
        if self.uses_local_state:
            path = self.names.local_state_path(self.layer)
            LocalBackend(self, path=str(path))
        else:
            S3Backend(self, **backend_config(env, self.layer))
            # cdktf 0.21's S3Backend predates Terraform 1.10's native S3 lockfile.
            self.add_override("terraform.backend.s3.use_lockfile", True)

    def provider_args(self, region: str) -> dict[str, Any]:
        env = self.env
        args: dict[str, Any] = {
            "region": region,
            "allowed_account_ids": [env.account_id],
            "default_tags": [{"tags": self.default_tags()}],
        }
        if env.emulator is not None:
            url = env.emulator.endpoint
            args.update(
                EMULATOR_CREDENTIALS,
                endpoints=[{service: url for service in EMULATED_SERVICES}],
                skip_credentials_validation=True,
                skip_metadata_api_check="true",
                skip_requesting_account_id=False,
                s3_use_path_style=True,
                # An API the emulator lacks would otherwise be retried for ~9 minutes.
                max_retries=2,
            )
        return args

    def default_tags(self) -> dict[str, str]:
        return {
            "Project": self.env.project,
            "Environment": self.env.name,
            "Layer": self.layer,
            "ManagedBy": "terraform-cdktf",
            "Repository": self.env.repository,
        }
