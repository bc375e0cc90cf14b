"""registry: one ECR repository per service of the catalog (guide §10), ``hr-saas/<name>-service``.

Every catalog service gets its repository in every environment, deployed there or not: CI can
build and push an image before the environment runs the service.
"""

from __future__ import annotations

import dataclasses

from modules.ecr_repository import EcrRepository, EcrRepositoryProps

from ..config import Environment
from ..tf import Construct, aws
from .base import LayerStack
from .outputs import LayerOutputs, output


@dataclasses.dataclass(frozen=True)
class RegistryOutputs(LayerOutputs):
    repository_urls: dict[str, str] = output("service → repository URL")
    repository_arns: dict[str, str] = output("service → repository ARN (image pull grants)")
    image_parameters: dict[str, str] = output(
        "service → SSM parameter with the image reference it runs (CI writes it)")


class RegistryStack(LayerStack):
    layer = "registry"

    def __init__(self, scope: Construct, env: Environment):
        super().__init__(scope, env)
        repos, parameters = {}, {}
        for svc in env.catalog.services.values():
            repos[svc.name] = EcrRepository(self, svc.name, EcrRepositoryProps(
                name=f"{env.project}/{svc.service_name}",
                force_delete=env.is_emulated,
                tags={"Service": svc.service_name},
            ))
            # Who owns the image (docs/images.md): this parameter, written by CI after a push.
            # Terraform creates it once, with a value the compute layer refuses outside the
            # emulator, and never changes it again.
            parameter = aws.ssm_parameter.SsmParameter(
                self, f"{svc.name}-image", name=self.names.image_parameter(svc.service_name),
                type="String", insecure_value=f"{repos[svc.name].url}:unreleased",
                description=f"image reference {svc.service_name} runs (<repository>:<git-sha> "
                            "or @sha256 digest); written by CI",
                tags={"Service": svc.service_name})
            parameter.add_override("lifecycle.ignore_changes", ["insecure_value", "value"])
            parameters[svc.name] = parameter.name
        self.outputs = RegistryOutputs(
            repository_urls={n: r.url for n, r in repos.items()},
            repository_arns={n: r.arn for n, r in repos.items()},
            image_parameters=parameters,
        ).export(self)
