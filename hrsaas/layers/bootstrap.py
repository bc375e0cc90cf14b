"""bootstrap: the remote-state bucket and lock table every other layer's backend uses, and the
CI identity (GitHub OIDC provider, plan and apply roles) the pipeline deploys with. The state
bucket's lifecycle is the audit layer's (hrsaas/layers/audit.py).

The one layer applied with local state (``.state/<env>/bootstrap.tfstate``): its backend
cannot live in the bucket it creates. See docs/runbooks/state.md for keeping that file safe.
"""

from __future__ import annotations

import dataclasses

from modules.github_oidc import GithubOidc, GithubOidcProps
from modules.kms_key import KmsKey, KmsKeyProps
from modules.secure_bucket import SecureBucket, SecureBucketProps
from modules.state_lock_table import StateLockTable, StateLockTableProps

from ..config import Environment
from ..devtools.github_settings import load_settings
from ..emulator import enforces_tls_in_policies
from ..tf import Construct
from ..topology import LAYERS
from .base import LayerStack
from .outputs import LayerOutputs, output


@dataclasses.dataclass(frozen=True)
class BootstrapOutputs(LayerOutputs):
    state_bucket: str = output("S3 bucket holding every other layer's state")
    lock_table: str = output("DynamoDB table for state locking")
    ci_plan_role_arn: str = output("role pull-request plans assume through GitHub OIDC")
    ci_apply_role_arn: str = output("role deployments assume from the env's GitHub environment")
    ci_publish_role_arn: str = output(
        "role the application repositories publish images with (none: no publisher configured)")


class BootstrapStack(LayerStack):
    layer = "bootstrap"
    uses_local_state = True

    def __init__(self, scope: Construct, env: Environment):
        super().__init__(scope, env)
        key_arn = None
        if env.capabilities.customer_managed_keys:
            key_arn = KmsKey(self, "state-key", KmsKeyProps(
                alias=f"alias/{self.names.resource('tfstate')}",
                description=f"Terraform state of {env.project} {env.name}",
                account_id=env.account_id, region=env.region,
                via_services=("s3", "dynamodb"),
            )).arn
        # Its lifecycle (how long old state versions are kept) is the audit layer's: a
        # retention rule needs no hand-applied local state, changes through the pipeline like
        # every other layer, and the provider's lifecycle wait (a minute) no longer holds
        # back every other stack of a first deploy.
        bucket = SecureBucket(self, "state-bucket", SecureBucketProps(
            bucket_name=self.names.state_bucket(),
            kms_key_arn=key_arn,
            lifecycle_elsewhere=True,
            force_destroy=env.state.force_destroy,
            deny_insecure_transport=enforces_tls_in_policies(env),
        ))
        # A bootstrap state applied before the lifecycle moved holds it at this address: forget
        # it without deleting it (audit writes the same rule over it), so no apply order of the
        # two stacks leaves the bucket without its rule. A no-op where the address is not in
        # the state (every new environment).
        self.add_override("removed", [{
            "from": "aws_s3_bucket_lifecycle_configuration.state-bucket_lifecycle_C2B75840",
            "lifecycle": {"destroy": False}}])
        table = StateLockTable(self, "lock-table", StateLockTableProps(
            table_name=self.names.lock_table(), kms_key_arn=key_arn,
            deletion_protection=env.capabilities.deletion_protection,
        ))
        # The CI identity lives here: it must exist before any pipeline can run, and this is
        # the layer a person applies with their own credentials. Its subjects follow the
        # repository's OIDC sub template in .github/settings/github.toml (one source: the
        # same file `hrsaas github-settings` applies to GitHub).
        github = load_settings()
        remote = [layer for layer in LAYERS if layer != "bootstrap"]
        ci = GithubOidc(self, "ci", GithubOidcProps(
            repository=env.ci.github_repository, environment=env.name,
            plan_role_name=self.names.ci_role("plan"),
            apply_role_name=self.names.ci_role("apply"),
            subject_claim_keys=github.claim_keys, deploy_workflow=github.deploy_workflow,
            main_plan_workflows=github.main_plan_workflows,
            pull_request_workflow=github.pull_request_workflow,
            main_branch=github.main_branch,
            provider_arn=env.ci.oidc_provider_arn, account_id=env.account_id,
            region=env.region, state_bucket=self.names.state_bucket(),
            lock_table=self.names.lock_table(), state_key_arn=key_arn,
            # Every state: none holds a secret (the Redis AUTH token is set by the deploy
            # runner, never by Terraform: docs/secrets.md).
            plan_state_keys=tuple(self.names.state_key(layer) for layer in remote),
            publish_role_name=self.names.ci_role("publish"),
            publisher_repositories=env.ci.publisher_repositories,
            image_repositories_prefix=f"{env.project}/",
            image_parameters_path=self.names.image_parameter("").rstrip("/"),
        ))
        self.outputs = BootstrapOutputs(
            state_bucket=bucket.name, lock_table=table.name,
            ci_plan_role_arn=ci.plan_role_arn, ci_apply_role_arn=ci.apply_role_arn,
            ci_publish_role_arn=ci.publish_role_arn,
        ).export(self)
