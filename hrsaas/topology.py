"""The layers of an environment and their deploy order: the one definition every part of the
product reads. Free of cdktf, so the CLI, cost and review start without jsii; ``hrsaas.layers``
builds exactly these stacks (a test holds the two together)."""

from __future__ import annotations

LAYERS: tuple[str, ...] = (
    "bootstrap", "security", "network", "data", "cache", "messaging", "registry", "dns",
    "edge", "compute", "scaling", "observability", "backup", "audit",
)


def layer_rank(layer: str) -> tuple[int, str]:
    """Sort key: deploy order, unknown layers last (by name)."""
    return (LAYERS.index(layer) if layer in LAYERS else len(LAYERS), layer)


def stack_id(env: str, layer: str) -> str:
    return f"{env}-{layer}"


def split_stack_id(stack: str) -> tuple[str, str]:
    """``prod-network`` → (``prod``, ``network``); env names never contain a layer name."""
    env, _, layer = stack.rpartition("-")
    return env, layer
