"""The layers of one environment, wired through typed outputs, in dependency order."""

from __future__ import annotations

from ..config import Environment
from ..emulator import ignore_emulator_drift
from ..runner.guard import is_stateful
from ..tf import App
from ..topology import LAYERS
from .audit import AuditStack
from .backup import BackupStack
from .base import LayerStack, backend_config
from .bootstrap import BootstrapOutputs, BootstrapStack
from .cache import CacheOutputs, CacheStack
from .compute import ComputeOutputs, ComputeStack
from .data import DataOutputs, DataStack
from .dns import DnsOutputs, DnsStack
from .edge import EdgeOutputs, EdgeStack
from .messaging import MessagingOutputs, MessagingStack
from .network import NetworkOutputs, NetworkStack
from .observability import ObservabilityStack
from .registry import RegistryOutputs, RegistryStack
from .scaling import ScalingStack
from .security import SecurityOutputs, SecurityStack


def prevent_destroy_of_stateful(stack: LayerStack) -> None:
    """Terraform's own refusal, behind the plan guard (hrsaas/runner/guard.py)."""
    for construct in stack.node.find_all():
        kind = getattr(construct, "terraform_resource_type", None)
        if kind and is_stateful(kind, getattr(construct, "name_input", None)):
            construct.add_override("lifecycle.prevent_destroy", True)


def build_environment(app: App, env: Environment) -> list[LayerStack]:
    """Every layer stack of ``env`` (main.py reads like the architecture diagram)."""
    bootstrap = BootstrapStack(app, env)
    security = SecurityStack(app, env)
    network = NetworkStack(app, env, security=security)
    data = DataStack(app, env, network=network, security=security)
    cache = CacheStack(app, env, network=network, security=security)
    messaging = MessagingStack(app, env, security=security)
    registry = RegistryStack(app, env)
    dns = DnsStack(app, env)
    edge = EdgeStack(app, env, security=security, network=network, dns=dns)
    compute = ComputeStack(app, env, network=network, security=security, data=data, cache=cache,
                           messaging=messaging, registry=registry, edge=edge)
    scaling = ScalingStack(app, env, compute=compute)
    observability = ObservabilityStack(app, env, security=security, data=data, edge=edge,
                                       compute=compute)
    backup = BackupStack(app, env, security=security, data=data, edge=edge)
    audit = AuditStack(app, env, security=security)
    stacks: list[LayerStack] = [bootstrap, security, network, data, cache, messaging, registry,
                                dns, edge, compute, scaling, observability, backup, audit]
    for stack in stacks[1:]:
        # Every remote-state backend lives in the bootstrap layer's bucket.
        stack.add_dependency(bootstrap)
    # Layers read security's keys where the environment has customer-managed keys: keep one
    # layer order in every environment, so a failed security layer stops them everywhere.
    for stack in stacks[2:]:
        stack.add_dependency(security)
    if env.capabilities.protect_stateful:
        for stack in stacks:
            prevent_destroy_of_stateful(stack)
    if env.is_emulated:
        for stack in stacks:
            ignore_emulator_drift(stack)
    # Last: its amount is the estimate of every stack, as built (hrsaas/cost/budget.py).
    observability.add_cost_budget(priced=stacks)
    return stacks


__all__ = [
    "LAYERS",
    "BootstrapOutputs",
    "BootstrapStack",
    "CacheOutputs",
    "AuditStack",
    "BackupStack",
    "CacheStack",
    "ComputeOutputs",
    "ComputeStack",
    "DataOutputs",
    "DataStack",
    "DnsOutputs",
    "DnsStack",
    "EdgeOutputs",
    "EdgeStack",
    "LayerStack",
    "MessagingOutputs",
    "MessagingStack",
    "NetworkOutputs",
    "NetworkStack",
    "ObservabilityStack",
    "RegistryOutputs",
    "RegistryStack",
    "ScalingStack",
    "SecurityOutputs",
    "SecurityStack",
    "backend_config",
    "build_environment",
]
