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

**Planned outputs.** A producer planned in the same run (its ``terraform show -json`` saved as
``plans/<env>/<producer>.json`` before the consumer is planned: the runner plans producers
first) may change outputs whose state still holds the old value, or add outputs the state does
not have yet. The consumer would plan against the state: a silent "no changes", or
"Unsupported attribute". So each read of an output whose planned value differs from its state,
or is unknown, is an unknown of its shape too (``planned_changes``); reads of unchanged outputs
keep reading the state. For a map output (a value per service) only the keys that change are
unknown, where the consumer reads single keys. ``.meta`` records them as ``planned_inputs``
(the plan summary names those consumers). A producer's plan older than its synthesized JSON is
from an earlier run and is ignored.

The copy lives under ``plans/<env>/.work/<stack>``; the synthesized stack is never modified, so
nothing can apply a speculative plan by accident (``make deploy`` plans again from cdktf.out).
The runner asks ``plan_dir`` where to plan each stack.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

SHAPES = "hrsaas_output_shapes"  # hrsaas/layers/outputs.py OUTPUT_SHAPES
UNKNOWN = "${timestamp()}"  # a string Terraform only knows at apply time

StateExists = Callable[[str, str], bool]  # (bucket, key) → does the state object exist?
# What changes of one producer's outputs: output → None (the whole value) or the map keys.
OutputChanges = dict[str, "set[str] | None"]


class States(Protocol):
    """hrsaas/runner/stacks.py StateStore: which state objects exist."""

    def bucket_exists(self, bucket: str) -> bool: ...

    def exists(self, bucket: str, key: str) -> bool: ...


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


def _any_true(mask: Any) -> bool:
    """Terraform's ``after_unknown``: true, or a structure with a true somewhere."""
    if isinstance(mask, dict):
        return any(_any_true(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_any_true(v) for v in mask)
    return mask is True


def planned_changes(plan: dict) -> OutputChanges:
    """The outputs of a ``terraform show -json`` plan whose planned value is not the state's:
    created, updated, deleted, or unknown until apply. A map updated with known values names
    its changed keys; anything else changes as a whole (None)."""
    found: OutputChanges = {}
    for name, change in (plan.get("output_changes") or {}).items():
        actions = tuple(change.get("actions") or ())
        unknown = change.get("after_unknown")
        if actions in ((), ("no-op",)) and not _any_true(unknown):
            continue
        before, after = change.get("before"), change.get("after")
        keys: set[str] | None = None
        if actions == ("update",) and isinstance(before, dict) and isinstance(after, dict) \
                and unknown is not True:
            masks = unknown if isinstance(unknown, dict) else {}
            keys = {k for k in {*before, *after, *masks}
                    if before.get(k) != after.get(k) or _any_true(masks.get(k))} or None
        found[name] = keys
    return found


def _reference(name: str) -> re.Pattern[str]:
    """``data.terraform_remote_state.<name>.outputs.<output>[.<key>]`` in an expression."""
    return re.compile(rf"data\.terraform_remote_state\.{re.escape(name)}\.outputs\."
                      r"([A-Za-z0-9_-]+)(?:\.([A-Za-z_][A-Za-z0-9_-]*))?(?![A-Za-z0-9_-])")


def _affected(changes: OutputChanges, output: str, key: str | None) -> bool:
    if output not in changes:
        return False
    keys = changes[output]
    return keys is None or key is None or key in keys


def inputs_that_change(stack_json: dict, name: str, changes: OutputChanges) -> list[str]:
    """What the consumer reads of producer ``name`` that ``changes`` covers, as
    ``output`` or ``output.key``, sorted."""
    text = json.dumps(stack_json)
    return sorted({m.group(1) + (f".{m.group(2)}" if m.group(2) else "")
                   for m in _reference(name).finditer(text)
                   if _affected(changes, m.group(1), m.group(2))})


def producer_plan(plans: Path, producer: str, synthesized: Path) -> dict | None:
    """The producer's saved plan JSON of this run, or None: none saved, unreadable, or older
    than the producer's synthesized JSON (an earlier run's plan of other code)."""
    path = plans / f"{producer}.json"
    try:
        if path.stat().st_mtime < synthesized.stat().st_mtime:
            return None
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def speculative_stack(stack_json: dict, producers: dict[str, dict], *,
                      local_backend: Path | None = None,
                      planned: dict[str, tuple[dict, OutputChanges]] | None = None) -> dict:
    """A copy of ``stack_json`` whose reads of ``producers`` (read name → producer's
    synthesized JSON) are unknown values of the right shape; and whose reads of the outputs
    ``planned`` names (read name → (producer's synthesized JSON, its ``planned_changes``)) are
    unknown too, the other reads of those producers staying on their state."""
    text = json.dumps(stack_json)
    planned_locals: dict[str, dict[str, Any]] = {}
    for name, (producer, changes) in (planned or {}).items():
        if name in producers:
            continue  # no state at all: every read is unknown below
        shapes = producer.get("//", {}).get(SHAPES) or {}

        def swap(m: re.Match[str], name: str = name, changes: OutputChanges = changes) -> str:
            if not _affected(changes, m.group(1), m.group(2)):
                return m.group(0)
            return f"local.{name}.{m.group(1)}" + (f".{m.group(2)}" if m.group(2) else "")

        new_text = _reference(name).sub(swap, text)
        if new_text != text:
            planned_locals[name] = {f: unknown_value(shapes.get(f, "string")) for f in changes}
            text = new_text
    for name in producers:
        text = text.replace(f"data.terraform_remote_state.{name}.outputs.", f"local.{name}.")
    spec = json.loads(text)
    if planned_locals:
        spec.setdefault("locals", {}).update(planned_locals)
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


def plan_dir(stack: str, env: str, stack_dir: Callable[[str], Path], states: States,
             work: Path, plans: Path | None = None) -> tuple[Path, dict]:
    """Where to plan ``stack`` (``<env>-<layer>``), and its ``.meta``: the synthesized
    directory ``stack_dir(stack)``, or a speculative copy in ``work`` when upstream state (or
    the state bucket itself) does not exist yet, or when a producer's saved plan in ``plans``
    (default: ``work``'s ``plans/<env>/``, as the runner lays it out) changes outputs the
    stack reads. hrsaas/runner/stacks.py ``Runner._plan_dir`` calls this."""
    directory = stack_dir(stack)
    synthesized = directory / "cdk.tf.json"
    spec = json.loads(synthesized.read_text())
    backend = spec.get("terraform", {}).get("backend", {})
    reads = spec.get("data", {}).get("terraform_remote_state", {})
    local_backend = "s3" in backend and not states.bucket_exists(backend["s3"]["bucket"])
    missing = sorted(reads) if local_backend else missing_producers(spec, states.exists)

    def producer_dir(name: str) -> Path:
        return stack_dir(f"{env}-{name.removeprefix('remote-')}")

    plans = plans if plans is not None else work.parent.parent
    planned: dict[str, tuple[dict, OutputChanges]] = {}
    inputs: dict[str, list[str]] = {}
    for name in sorted(set(reads) - set(missing)):
        producer = producer_dir(name)
        shown = producer_plan(plans, producer.name, producer / "cdk.tf.json")
        changes = planned_changes(shown) if shown else {}
        read = inputs_that_change(spec, name, changes) if changes else []
        if read:
            planned[name] = (json.loads((producer / "cdk.tf.json").read_text()), changes)
            inputs[name.removeprefix("remote-")] = read
    meta = {"stack": stack, "speculative_reads": [m.removeprefix("remote-") for m in missing],
            "local_backend": local_backend, "planned_inputs": inputs}
    if not missing and not local_backend and not planned:
        return directory, meta
    producers = {name: json.loads((producer_dir(name) / "cdk.tf.json").read_text())
                 for name in missing}
    copy = speculative_stack(spec, producers, planned=planned,
                             local_backend=work.resolve() / "terraform.tfstate"
                             if local_backend else None)
    return write_speculative_copy(directory, work, copy), meta
