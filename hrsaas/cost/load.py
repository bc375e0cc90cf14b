"""Where the resources come from: the synthesized stacks of an environment
(``cdktf.out/stacks/<env>-<layer>/cdk.tf.json``) and the ``resource_changes`` of a saved plan
(``terraform show -json``). Both give ``Resource`` objects with the same attribute names, so one
set of pricers prices both."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..toolenv import ROOT
from ..topology import layer_rank
from .model import REF, Resource, arn_region, as_block, is_expr, to_number

OUTDIR = ROOT / "cdktf.out"

# Keys of a synthesized resource that are Terraform's, not the resource's attributes.
_META_ARGUMENTS = ("//", "lifecycle", "depends_on", "provider", "count", "for_each")


# --- synthesized stacks ---------------------------------------------------------------------------


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def synth_refs(values: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Attribute → the resources (``aws_x.name``) its ``${…}`` expressions reference."""
    refs: dict[str, tuple[str, ...]] = {}
    for attr, value in values.items():
        found = {f"{m[0]}.{m[1]}" for text in _strings(value) if "${" in text
                 for m in REF.findall(text)}
        if found:
            refs[attr] = tuple(sorted(found))
    return refs


def _provider_regions(stack_json: Mapping[str, Any], default: str) -> dict[str | None, str]:
    regions: dict[str | None, str] = {}
    providers = stack_json.get("provider", {}).get("aws", [])
    for provider in providers if isinstance(providers, list) else [providers]:
        region = provider.get("region")
        if isinstance(region, str) and not is_expr(region):
            regions[provider.get("alias")] = region
    regions.setdefault(None, default)
    return regions


def _default_tags(stack_json: Mapping[str, Any]) -> dict[str, str]:
    providers = stack_json.get("provider", {}).get("aws", [])
    for provider in providers if isinstance(providers, list) else [providers]:
        if provider.get("alias") is None:
            return as_block(provider.get("default_tags")).get("tags", {}) or {}
    return {}


def select_stacks(stacks: Mapping[str, Mapping[str, Any]], env: str
                  ) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(stack ID, layer, stack JSON) of the stacks of ``env`` among ``stacks`` (stack ID →
    cdk.tf.json-shaped dict), in layer order. The provider's default tags say which
    environment and layer a stack is (``mvp-…`` alone would also match an environment called
    ``mvp-eu``)."""
    found = []
    for stack, stack_json in stacks.items():
        tags = _default_tags(stack_json)
        if not stack.startswith(f"{env}-") or tags.get("Environment", env) != env:
            continue
        found.append((stack, tags.get("Layer") or stack.removeprefix(f"{env}-"), stack_json))
    return sorted(found, key=lambda s: (layer_rank(s[1]), s[0]))


def env_stacks(outdir: Path, env: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack ID, layer, stack JSON) of every synthesized stack of ``env`` in ``outdir``
    (``stacks/<env>-<layer>/cdk.tf.json``), in layer order."""
    stacks = {path.parent.name: json.loads(path.read_text())
              for path in sorted((outdir / "stacks").glob(f"{env}-*/cdk.tf.json"))}
    return select_stacks(stacks, env)  # type: ignore[return-value]


def load_synthesized(outdir: Path, env: str, default_region: str = "ap-northeast-2"
                     ) -> list[Resource]:
    """Every managed resource of the env's synthesized stacks in ``outdir``."""
    return stack_resources(env_stacks(outdir, env), default_region)


def load_stacks(stacks: Mapping[str, Mapping[str, Any]], env: str,
                default_region: str = "ap-northeast-2") -> list[Resource]:
    """Every managed resource of the env's stacks given in memory (stack ID → the
    cdk.tf.json-shaped dict, as a synthesizing app holds them): the same resources
    ``load_synthesized`` reads from the files."""
    return stack_resources(select_stacks(stacks, env), default_region)


def stack_resources(stacks: Iterable[tuple[str, str, Mapping[str, Any]]],
                    default_region: str = "ap-northeast-2") -> list[Resource]:
    """Every managed resource of (stack ID, layer, stack JSON) triples (``count`` expanded):
    the one reader behind ``load_synthesized`` and ``load_stacks``."""
    resources: list[Resource] = []
    for stack, layer, stack_json in stacks:
        regions = _provider_regions(stack_json, default_region)
        for rtype, bodies in stack_json.get("resource", {}).items():
            for name, body in bodies.items():
                values = {k: v for k, v in body.items() if k not in _META_ARGUMENTS}
                alias = body.get("provider", "").removeprefix("aws.") or None
                region = regions.get(alias, regions[None])
                refs = synth_refs(values)
                count = to_number(body.get("count"))
                # An expression count or a for_each is only known at plan time: not priced.
                unknown = frozenset(k for k in ("count", "for_each") if k in body
                                    and (k == "for_each" or count is None))
                if "count" in body and count is not None:
                    addresses = [f"{rtype}.{name}[{i}]" for i in range(int(count))]
                else:
                    addresses = [f"{rtype}.{name}"]
                resources += [Resource(stack, layer, address, rtype, values, region, unknown,
                                       refs) for address in addresses]
    return resources


# --- plan JSON (terraform show -json) -------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One ``resource_changes`` entry: the resource as the state holds it (``before``, None
    when created) and as the plan leaves it (``after``, None when destroyed)."""

    stack: str
    address: str
    type: str
    actions: tuple[str, ...]
    before: Resource | None
    after: Resource | None


def _config_resources(module: Mapping[str, Any], prefix: str = ""
                      ) -> dict[str, Mapping[str, Any]]:
    out = {f"{prefix}{r['address']}": r for r in module.get("resources", []) if "address" in r}
    for name, call in (module.get("module_calls") or {}).items():
        out.update(_config_resources(call.get("module", {}), f"{prefix}module.{name}."))
    return out


def _expression_refs(expressions: Any) -> tuple[str, ...]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for ref in node.get("references", []) or []:
                match = REF.match(ref)
                if match:
                    found.add(f"{match[1]}.{match[2]}")
            for key, value in node.items():
                if key != "references":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(expressions)
    return tuple(sorted(found))


def load_plan(shown: Mapping[str, Any], stack: str, layer: str,
              default_region: str = "ap-northeast-2") -> list[Change]:
    """The managed resources' changes of one ``terraform show -json`` document."""
    config = shown.get("configuration") or {}
    regions: dict[str, str] = {}
    for key, provider in (config.get("provider_config") or {}).items():
        region = ((provider.get("expressions") or {}).get("region") or {}).get("constant_value")
        if isinstance(region, str):
            regions[key] = region
    stack_region = regions.get("aws", default_region)
    configured = _config_resources(config.get("root_module") or {})
    changes = []
    for rc in shown.get("resource_changes") or []:
        if rc.get("mode", "managed") != "managed" or rc.get("deposed"):
            continue
        change = rc.get("change") or {}
        address, rtype = rc["address"], rc["type"]
        conf = configured.get(re.sub(r"\[[^\]]*\]", "", address), {})
        refs = {attr: found for attr, expr in (conf.get("expressions") or {}).items()
                if (found := _expression_refs(expr))}
        region = regions.get(conf.get("provider_config_key", ""), "")
        after_unknown = change.get("after_unknown") or {}
        unknown = frozenset(k for k, v in after_unknown.items() if v is True) \
            if isinstance(after_unknown, Mapping) else frozenset()
        sides = []
        for values, hidden in ((change.get("before"), frozenset()),
                               (change.get("after"), unknown)):
            if not isinstance(values, Mapping):
                sides.append(None)
                continue
            where = region or arn_region(values.get("arn")) or stack_region
            sides.append(Resource(stack, layer, address, rtype, values, where, hidden, refs))
        changes.append(Change(stack, address, rtype, tuple(change.get("actions") or ()),
                              sides[0], sides[1]))
    return changes
