"""registry: one ECR repository per service of the catalog (guide §10), ``hr-saas/<name>-service``.

Every catalog service gets its repository in every environment, deployed there or not: CI can
build and push an image before the environment runs the service.
"""

from __future__ import annotations

import dataclasses

from modules.ecr_repository import EcrRepository, EcrRepositoryProps

from ..config import Environment
from ..tf import Construct
from .base import LayerStack
from .outputs import LayerOutputs, output


@dataclasses.dataclass(frozen=True)
class RegistryOutputs(LayerOutputs):
    repository_urls: dict[str, str] = output("service → repository URL")
    repository_arns: dict[str, str] = output("service → repository ARN (image pull grants)")


class RegistryStack(LayerStack):
    layer = "registry"

    def __init__(self, scope: Construct, env: Environment):
        super().__init__(scope, env)
        repos = {}
        for svc in env.catalog.services.values():
            repos[svc.name] = EcrRepository(self, svc.name, EcrRepositoryProps(
                name=f"{env.project}/{svc.service_name}",
                force_delete=env.is_emulated,
                tags={"Service": svc.service_name},
            ))
        self.outputs = RegistryOutputs(
            repository_urls={n: r.url for n, r in repos.items()},
            repository_arns={n: r.arn for n, r in repos.items()},
        ).export(self)
