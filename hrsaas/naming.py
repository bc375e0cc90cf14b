"""The one naming function: stack IDs, state keys and resource names all come from here."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .config import Environment

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Names:
    project: str
    env: str
    account_id: str

    @classmethod
    def of(cls, env: Environment) -> Names:
        return cls(env.project, env.name, env.account_id)

    # -- stacks and state -------------------------------------------------------------------
    def stack_id(self, layer: str) -> str:
        """``<env>-<layer>``: ``cdktf deploy 'prod-*'`` selects one environment."""
        return f"{self.env}-{layer}"

    def state_key(self, layer: str) -> str:
        return f"{self.env}/{layer}/terraform.tfstate"

    def state_bucket(self) -> str:
        # Globally unique: the account ID keeps two customers (or two forks) from colliding.
        return self.resource("tfstate", self.account_id)

    def lock_table(self) -> str:
        return self.resource("tflock")

    def local_state_path(self, layer: str) -> Path:
        """Where the one layer with local state (bootstrap) keeps it, outside cdktf.out/."""
        base = Path(os.environ.get("HRSAAS_STATE_DIR") or ROOT / ".state")
        return base / self.env / f"{layer}.tfstate"

    # -- resources --------------------------------------------------------------------------
    def resource(self, *parts: str) -> str:
        """``hr-saas-<env>-<parts…>`` for names that must be unique within an account."""
        return "-".join((self.project, self.env, *parts))

    def env_suffixed(self, *parts: str) -> str:
        """``hr-saas-<parts…>-<env>``: the guide's pattern, for the one bucket whose name the
        guide fixes (``hr-saas-frontend-{env}``)."""
        return "-".join((self.project, *parts, self.env))

    def global_bucket(self, *parts: str) -> str:
        """``hr-saas-<parts…>-<env>-<account>`` for every other bucket: S3 names are unique
        across all of AWS, and the account keeps another customer (or a fork, or a name
        released after a destroy) from taking ours."""
        return "-".join((self.project, *parts, self.env, self.account_id))

    def image_parameter(self, service_name: str) -> str:
        """SSM parameter holding the image a service runs (docs/images.md: CI writes it)."""
        return f"/{self.project}/{self.env}/images/{service_name}"

    def cluster(self, override: str | None = None) -> str:
        """The ECS cluster: the environment's ``ecs_cluster_name`` or ``<project>-<env>``."""
        return override or self.resource()

    def ci_role(self, kind: str) -> str:
        """The role GitHub Actions assumes through OIDC: ``plan`` (read-only), ``apply`` or
        ``publish`` (the application repositories' image publishing)."""
        if kind not in ("plan", "apply", "publish"):
            raise ValueError(f"ci role kind must be 'plan', 'apply' or 'publish', not {kind!r}")
        return self.resource("ci", kind)
