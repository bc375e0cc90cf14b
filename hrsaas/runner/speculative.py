"""Plans for stacks whose upstream layers are not applied yet (a fresh account, a new layer).

A consumer reads its producers' outputs through ``terraform_remote_state``, and Terraform fails
on a state that does not exist. For such a plan this module writes a *speculative copy* of the
consumer's synthesized JSON:

* each remote-state read of a producer without state becomes a local value of the same shape
  (from the producer's ``//.hrsaas_output_shapes``, written at synthesis) whose values are
  **unknown** — ``timestamp()`` is only known at apply time — so the plan shows
  "(known after apply)" exactly where the upstream's values will go, and data sources or
  ephemeral resources that depend on them are deferred instead of failing;
* if the environment's state bucket itself does not exist yet, the backend becomes a local one
  (the plan starts from an empty state, as it will).

The copy lives under ``plans/<env>/.work/<stack>``; the synthesized stack is never modified, so
nothing can apply a speculative plan by accident (``make deploy`` plans again from cdktf.out).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

SHAPES = "hrsaas_output_shapes"  # hrsaas/layers/outputs.py OUTPUT_SHAPES
UNKNOWN = "${timestamp()}"  # a string Terraform only knows at apply time

StateExists = Callable[[str, str], bool]  # (bucket, key) → does the state object exist?


def unknown_value(shape: Any) -> Any:
    """An unknown value of the output's shape."""
    if shape == "list":
        return '${split(",", timestamp())}'
    if shape == "number":
        return "${length(timestamp())}"
    if isinstance(shape, dict) and "map" in shape:
        return dict.fromkeys(shape["map"], UNKNOWN)
    return UNKNOWN


def missing_producers(stack_json: dict, state_exists: StateExists) -> list[str]:
    """Names of the remote-state reads (``remote-<layer>``) whose state does not exist."""
    reads = stack_json.get("data", {}).get("terraform_remote_state", {})
    return sorted(name for name, read in reads.items()
                  if not state_exists(read["config"]["bucket"], read["config"]["key"]))


def speculative_stack(stack_json: dict, producers: dict[str, dict], *,
                      local_backend: Path | None = None) -> dict:
    """A copy of ``stack_json`` whose reads of ``producers`` (read name → producer's
    synthesized JSON) are unknown values of the right shape."""
    text = json.dumps(stack_json)
    for name in producers:
        text = text.replace(f"data.terraform_remote_state.{name}.outputs.", f"local.{name}.")
    spec = json.loads(text)
    reads = spec.get("data", {}).get("terraform_remote_state", {})
    for name, producer in producers.items():
        shapes = producer.get("//", {}).get(SHAPES)
        if shapes is None:
            raise ValueError(f"{name}: the producer's synthesized JSON has no //.{SHAPES} "
                             "(synthesize again with this version)")
        del reads[name]
        spec.setdefault("locals", {})[name] = {f: unknown_value(s) for f, s in shapes.items()}
        if f"data.terraform_remote_state.{name}" in json.dumps(spec):
            raise ValueError(f"{name} is referenced in a way this rewrite does not handle "
                             "(a whole-object reference): read single outputs")
    if "data" in spec:
        if not reads:
            spec["data"].pop("terraform_remote_state", None)
        if not spec["data"]:
            del spec["data"]
    if local_backend is not None:
        spec["terraform"]["backend"] = {"local": {"path": str(local_backend)}}
    return spec


def write_speculative_copy(stack_dir: Path, work_dir: Path, spec: dict) -> Path:
    """The stack directory to plan in: the synthesized one's files with ``spec`` as JSON."""
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)
    lock = stack_dir / ".terraform.lock.hcl"
    if lock.exists():
        shutil.copy2(lock, work_dir / lock.name)
    (work_dir / "cdk.tf.json").write_text(json.dumps(spec, indent=2))
    return work_dir
