"""Typed layer outputs: the only way layers exchange values.

A producer declares a dataclass of its outputs and calls ``export``; a consumer calls ``read``
with the producer stack, which generates one ``terraform_remote_state`` read of the producer's
S3 state (from the same ``backend_config`` the producer's backend uses) and records the
dependency, so deploy order follows the data. Field types decide the accessor: ``str``,
``list[str]``, ``float`` or ``dict[str, str]`` (a map). A field whose value is ``None`` is not
exported.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Self, get_type_hints

from ..emulator import PLAN_ONLY_LAYERS
from ..tf import DataTerraformRemoteStateS3, TerraformOutput
from .base import LayerStack, backend_config


@dataclasses.dataclass(frozen=True)
class LayerOutputs:
    def export(self, stack: LayerStack) -> Self:
        hints = get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                TerraformOutput(stack, field.name, value=value,
                                description=field.metadata.get("doc", field.name))
                # The output's shape, for plans of consumers whose producer is not applied
                # yet (hrsaas/runner/speculative.py): Terraform ignores "//" keys.
                kind = _kind(hints[field.name])
                stack.add_override(f"//.{OUTPUT_SHAPES}.{field.name}",
                                   {"map": sorted(value)} if kind == "map" else kind)
        return self

    @classmethod
    def read(cls, consumer: LayerStack, producer: LayerStack,
             fields: tuple[str, ...] | None = None) -> Self:
        """Read the producer's outputs (all, or only ``fields``) in the consumer stack."""
        consumer.add_dependency(producer)
        hints = get_type_hints(cls)
        if producer.env.is_emulated and producer.layer in PLAN_ONLY_LAYERS:
            # The emulator only plans this layer, so its state never exists (and Terraform's
            # remote-state read fails on a missing state, defaults or not): consumers get typed
            # placeholders that can never be mistaken for real values.
            return cls(**{f.name: (_placeholder(_kind(hints[f.name]), producer.layer, f.name)
                                   if fields is None or f.name in fields else None)
                          for f in dataclasses.fields(cls)})
        remote = DataTerraformRemoteStateS3(
            consumer, f"remote-{producer.layer}", **backend_config(producer.env, producer.layer)
        )
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            if fields is not None and field.name not in fields:
                values[field.name] = None
                continue
            getter = {"map": remote.get,  # a map: Fn.lookup(value, key)
                      "list": remote.get_list, "number": remote.get_number,
                      "string": remote.get_string}[_kind(hints[field.name])]
            values[field.name] = getter(field.name)
        return cls(**values)


OUTPUT_SHAPES = "hrsaas_output_shapes"


def _kind(hint: Any) -> str:
    """``map``, ``list``, ``number`` or ``string``: how a field's type travels through state."""
    text = str(hint)
    if "dict" in text:
        return "map"
    if "list" in text:
        return "list"
    if "float" in text or "int" in text:
        return "number"
    return "string"


def _placeholder(kind: str, layer: str, field: str) -> Any:
    if kind in ("map", "list"):
        return {} if kind == "map" else []
    if kind == "number":
        return 0
    return f"{field.replace('_', '-')}.{layer}.plan-only.invalid"  # RFC 2606: never resolves


def output(doc: str) -> Any:
    """A documented output field (its description lands in the Terraform output)."""
    return dataclasses.field(metadata={"doc": doc})
