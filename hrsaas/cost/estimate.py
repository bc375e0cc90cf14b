"""Offline monthly cost estimate of an environment, and the cost diff of a pull request's plans.

    python -m hrsaas.cost.estimate --env mvp                        # per layer and resource (text)
    python -m hrsaas.cost.estimate --env prod --format markdown     # + the comparison with guide §13
    python -m hrsaas.cost.estimate --env prod --format json --outdir /tmp/cdktf.out
    python -m hrsaas.cost.estimate --env prod --compare-guide       # only the line-by-line comparison
    python -m hrsaas.cost.estimate diff --plans plans/              # Markdown: before/after per env

The estimate is computed from what is synthesized (``<outdir>/stacks/<env>-*/cdk.tf.json``),
never from a second list of resources: every ``resource`` is priced by its type and attributes
with the rates of ``cost/prices.toml`` (on-demand list prices, with their source and date) and
the usage figures of ``cost/assumptions.toml`` (traffic, storage, requests; per-env overrides),
which are printed beside every line. Types in the price table's ``[free]`` list cost nothing
by themselves; anything else without a pricer — or whose class or region is missing from the
table — is reported "not priced", never counted as zero.

The diff prices the ``before`` and ``after`` of every ``resource_changes`` entry of the
``terraform show -json`` files that ``make plan`` writes (``plans/<env>/<stack>.json``) with the
same pricing function (plan and synthesized JSON use the same attribute names), and
``render_cost_section(plans_dir)`` renders the Markdown section the plan-summary comment appends.

Exit status: 0; 1 with ``--strict`` when something is not priced; 2 when there is nothing to
price (no synthesized stacks of the env, no plans).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import re
import sys
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrsaas.config.loader import merge
from hrsaas.runner.guard import NO_CHANGE, change_kind

from ..toolenv import ROOT
from ..topology import layer_rank as _layer_rank

COST_DIR = ROOT / "cost"
PRICES_FILE = COST_DIR / "prices.toml"
ASSUMPTIONS_FILE = COST_DIR / "assumptions.toml"
GUIDE_FILE = COST_DIR / "guide.toml"
OUTDIR = ROOT / "cdktf.out"
PLANS = ROOT / "plans"


CATEGORIES = {
    "fargate": "ECS Fargate",
    "rds": "RDS PostgreSQL",
    "elasticache": "ElastiCache Redis",
    "alb": "ALB",
    "s3_cloudfront": "S3 + CloudFront",
    "nat": "NAT Gateway",
    "ecr": "ECR",
    "secrets": "Secrets Manager",
    "cloudwatch": "CloudWatch",
    "vpc_endpoints": "VPC interface endpoints",
    "public_ipv4": "Public IPv4 addresses",
    "data_transfer": "Internet egress (ALB)",
    "waf": "WAF",
    "kms": "KMS",
    "route53": "Route 53",
    "messaging": "SNS + SQS",
    "dynamodb": "DynamoDB",
    "backup": "AWS Backup",
    "ssm": "SSM Parameter Store",
}

# Alternative prices a resource can show: what the total becomes with each kind applied.
ALTERNATIVES = {
    "max": "at the autoscaling maximum",
    "spot": "with the FARGATE_SPOT share of each capacity-provider strategy",
    "reserved": "with 1-year reservations (RDS, ElastiCache; no upfront)",
}

_META_ARGUMENTS = ("//", "lifecycle", "depends_on", "provider", "count", "for_each")
_REF = re.compile(r"(?<![\w.])(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)")
_HANGUL = re.compile("[\uac00-\ud7a3]")
_ARN_REGION = re.compile(r"^arn:aws[\w-]*:[\w-]+:([a-z]{2}(?:-[a-z]+)+-\d):")


# --- model -------------------------------------------------------------------------------------


class NotPriced(Exception):
    """The resource cannot be priced: its type, class or region is missing from the table, or
    an attribute the price depends on is unknown."""


@dataclass(frozen=True)
class Resource:
    """One resource instance, from a synthesized stack or one side of a plan's change."""

    stack: str
    layer: str
    address: str
    type: str
    values: Mapping[str, Any]
    region: str
    unknown: frozenset[str] = frozenset()
    """Top-level attributes known only after apply (plan JSON's ``after_unknown``)."""
    refs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Attribute → addresses (``aws_x.name``) of the same stack it references."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.stack, self.address)

    def get(self, name: str, default: Any = None) -> Any:
        """The attribute's value, or ``default`` when absent, null or only known at apply."""
        value = self.values.get(name)
        if value is None or name in self.unknown or _is_expr(value):
            return default
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        value = _number(self.get(name))
        return default if value is None else value

    def block(self, name: str) -> dict[str, Any]:
        """A nested block: an object in synthesized JSON, a one-element list in plan JSON."""
        return _block(self.get(name))

    def blocks(self, name: str) -> list[dict[str, Any]]:
        value = self.get(name)
        if isinstance(value, dict):
            return [value]
        return [v for v in value or [] if isinstance(v, dict)]

    @property
    def label(self) -> str:
        tags = self.get("tags") or {}
        for value in (tags.get("Name") if isinstance(tags, dict) else None, self.get("name"),
                      self.get("identifier"), self.get("bucket"), self.get("family"),
                      self.get("replication_group_id"), self.get("alarm_name"),
                      self.get("dashboard_name"), self.get("domain_name"),
                      self.get("description")):
            if isinstance(value, str) and value:
                return value
        return ""


@dataclass(frozen=True)
class Component:
    what: str
    usd: float
    formula: str
    category: str


@dataclass(frozen=True)
class Alternative:
    kind: str  # a key of ALTERNATIVES
    usd: float  # this resource's monthly price under the alternative
    label: str


@dataclass
class Priced:
    resource: Resource
    status: str = "priced"  # priced | free | not priced
    reason: str = ""  # why free, or why not priced
    components: list[Component] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def usd(self) -> float:
        return sum(c.usd for c in self.components) if self.status == "priced" else 0.0

    # What a pricer calls.
    def add(self, what: str, usd: float, formula: str, category: str) -> None:
        if category not in CATEGORIES:
            raise ValueError(f"unknown cost category {category!r}")
        self.components.append(Component(what, usd, formula, category))

    def alt(self, kind: str, usd: float, label: str) -> None:
        self.alternatives.append(Alternative(kind, usd, label))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def free(self, reason: str) -> None:
        self.status, self.reason = "free", reason


# --- configuration -----------------------------------------------------------------------------


def _load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Prices:
    table: Mapping[str, Any]
    path: Path = PRICES_FILE

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> Prices:
        return cls(_load_toml(path), path)

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.table.get("meta", {})

    @property
    def free(self) -> Mapping[str, str]:
        return self.table.get("free", {})

    def region(self, region: str, service: str, key: str, sub: str | None = None) -> float:
        regions = self.table.get("regions", {})
        if region not in regions:
            raise NotPriced(f"no prices for region {region} in {self._where()}")
        if service not in regions[region]:
            raise NotPriced(f"no {service} prices for {region} in {self._where()}")
        return self._pick(regions[region][service], f"regions.{region}.{service}", key, sub)

    def has(self, region: str, service: str, key: str, sub: str | None = None) -> bool:
        try:
            self.region(region, service, key, sub)
        except NotPriced:
            return False
        return True

    def world(self, service: str, key: str, sub: str | None = None) -> float:
        return self._pick(self.table.get("global", {}).get(service, {}), f"global.{service}",
                          key, sub)

    def _pick(self, table: Mapping[str, Any], where: str, key: str, sub: str | None) -> float:
        value = table.get(key)
        if sub is not None:
            value = value.get(sub) if isinstance(value, Mapping) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            name = f"{key}[{sub!r}]" if sub is not None else key
            raise NotPriced(f"{where}.{name} is not in {self._where()}")
        return float(value)

    def _where(self) -> str:
        return _rel(self.path)


@dataclass(frozen=True)
class Assumptions:
    env: str
    values: Mapping[str, Any]
    path: Path = ASSUMPTIONS_FILE

    @classmethod
    def load(cls, env: str, path: Path = ASSUMPTIONS_FILE,
             overrides: Mapping[str, Any] | None = None) -> Assumptions:
        raw = _load_toml(path)
        merged = merge(raw.get("default", {}), raw.get("env", {}).get(env, {}))
        return cls(env, merge(merged, overrides or {}), path)

    @property
    def hours(self) -> float:
        return float(self.values["hours_per_month"])

    def __call__(self, *keys: str) -> Any:
        node: Any = self.values
        for key in keys:
            if not isinstance(node, Mapping) or key not in node:
                raise NotPriced(f"assumption {'.'.join(keys)} is not in {_rel(self.path)}")
            node = node[key]
        return node

    def match(self, table: str, name: str) -> tuple[str, Mapping[str, Any]]:
        """The first pattern of the ``table`` (e.g. ``s3.buckets``) matching ``name``; ``*``
        is tried last, wherever the merge put it."""
        patterns = self(*table.split("."))
        ordered = [p for p in patterns if p != "*"] + (["*"] if "*" in patterns else [])
        for pattern in ordered:
            if fnmatch.fnmatchcase(name, pattern):
                return pattern, patterns[pattern]
        raise NotPriced(f"no {table} pattern of {_rel(self.path)} matches {name!r}")


# --- loading: synthesized stacks ---------------------------------------------------------------


def _is_expr(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and not _is_expr(value):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _block(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return {}


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _synth_refs(values: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    refs: dict[str, tuple[str, ...]] = {}
    for attr, value in values.items():
        found = {f"{m[0]}.{m[1]}" for text in _strings(value) if "${" in text
                 for m in _REF.findall(text)}
        if found:
            refs[attr] = tuple(sorted(found))
    return refs


def _provider_regions(stack_json: Mapping[str, Any], default: str) -> dict[str | None, str]:
    regions: dict[str | None, str] = {}
    providers = stack_json.get("provider", {}).get("aws", [])
    for provider in providers if isinstance(providers, list) else [providers]:
        region = provider.get("region")
        if isinstance(region, str) and not _is_expr(region):
            regions[provider.get("alias")] = region
    regions.setdefault(None, default)
    return regions


def _default_tags(stack_json: Mapping[str, Any]) -> dict[str, str]:
    providers = stack_json.get("provider", {}).get("aws", [])
    for provider in providers if isinstance(providers, list) else [providers]:
        if provider.get("alias") is None:
            return _block(provider.get("default_tags")).get("tags", {}) or {}
    return {}


def env_stacks(outdir: Path, env: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack ID, layer, stack JSON) of every synthesized stack of ``env``, in layer order. The
    provider's default tags say which environment and layer a stack is (``mvp-…`` alone would
    also match an environment called ``mvp-eu``)."""
    found = []
    for path in sorted((outdir / "stacks").glob(f"{env}-*/cdk.tf.json")):
        stack_json = json.loads(path.read_text())
        tags = _default_tags(stack_json)
        stack = path.parent.name
        if tags.get("Environment", env) != env:
            continue
        found.append((stack, tags.get("Layer") or stack.removeprefix(f"{env}-"), stack_json))
    return sorted(found, key=lambda s: (_layer_rank(s[1]), s[0]))


def load_synthesized(outdir: Path, env: str, default_region: str = "ap-northeast-2"
                     ) -> list[Resource]:
    """Every managed resource of the env's synthesized stacks (``count`` expanded)."""
    resources: list[Resource] = []
    for stack, layer, stack_json in env_stacks(outdir, env):
        regions = _provider_regions(stack_json, default_region)
        for rtype, bodies in stack_json.get("resource", {}).items():
            for name, body in bodies.items():
                values = {k: v for k, v in body.items() if k not in _META_ARGUMENTS}
                alias = body.get("provider", "").removeprefix("aws.") or None
                region = regions.get(alias, regions[None])
                refs = _synth_refs(values)
                count = _number(body.get("count"))
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


# --- loading: plan JSON (terraform show -json) -------------------------------------------------


@dataclass(frozen=True)
class Change:
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
                match = _REF.match(ref)
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
            where = region or _arn_region(values.get("arn")) or stack_region
            sides.append(Resource(stack, layer, address, rtype, values, where, hidden, refs))
        changes.append(Change(stack, address, rtype, tuple(change.get("actions") or ()),
                              sides[0], sides[1]))
    return changes


# --- pricing -----------------------------------------------------------------------------------


class Pool:
    """The resources priced together (one environment, or one side of its plans): pricers look
    up related resources here — a service's task definition, a cluster's services."""

    def __init__(self, resources: Iterable[Resource]):
        self.resources = list(resources)
        self.by_key = {r.key: r for r in self.resources}
        self.by_type: dict[str, list[Resource]] = defaultdict(list)
        for r in self.resources:
            self.by_type[r.type].append(r)

    def of_type(self, rtype: str) -> list[Resource]:
        return self.by_type.get(rtype, [])

    def referenced(self, r: Resource, attr: str, rtype: str) -> list[Resource]:
        out = []
        for address in r.refs.get(attr, ()):
            if address.startswith(f"{rtype}."):
                out += [x for x in self.of_type(rtype) if x.stack == r.stack
                        and re.sub(r"\[\d+\]$", "", x.address) == address]
        return out

    def references_to(self, rtype: str, attr: str, target: Resource) -> list[Resource]:
        """Resources of ``rtype`` whose ``attr`` references ``target``."""
        bare = re.sub(r"\[\d+\]$", "", target.address)
        return [x for x in self.of_type(rtype)
                if x.stack == target.stack and bare in x.refs.get(attr, ())]


@dataclass
class Ctx:
    prices: Prices
    assume: Assumptions
    pool: Pool

    @property
    def hours(self) -> float:
        return self.assume.hours


Pricer = Callable[[Ctx, Resource, Priced], None]
PRICERS: dict[str, Pricer] = {}


def pricer(*types: str) -> Callable[[Pricer], Pricer]:
    def register(fn: Pricer) -> Pricer:
        for rtype in types:
            PRICERS[rtype] = fn
        return fn
    return register


def price_resource(ctx: Ctx, r: Resource) -> Priced:
    out = Priced(r)
    if r.unknown & {"count", "for_each"}:
        out.status, out.reason = "not priced", "count/for_each is only known at plan time"
    elif r.type in PRICERS:
        try:
            PRICERS[r.type](ctx, r, out)
        except NotPriced as exc:
            out.status, out.reason = "not priced", str(exc)
            out.components.clear()
            out.alternatives.clear()
    elif r.type in ctx.prices.free:
        out.free(ctx.prices.free[r.type])
    else:
        out.status = "not priced"
        out.reason = (f"no pricer for {r.type} and not in [free] of "
                      f"{_rel(ctx.prices.path)}")
    return out


def price_all(resources: Sequence[Resource], prices: Prices, assume: Assumptions
              ) -> list[Priced]:
    ctx = Ctx(prices, assume, Pool(resources))
    return [price_resource(ctx, r) for r in resources]


def _g(x: float) -> str:
    """A number as a person writes it: 730, 0.5, 0.03725."""
    return f"{x:,.6g}" if abs(x) >= 1000 else f"{x:.6g}"


def _usd(x: float) -> str:
    return f"${x:,.2f}"


def _rate(x: float) -> str:
    return f"${x:.6g}"


# network --------------------------------------------------------------------------------------


@pricer("aws_nat_gateway")
def _nat_gateway(ctx: Ctx, r: Resource, out: Priced) -> None:
    hour = ctx.prices.region(r.region, "vpc", "nat_gateway_hour")
    per_gib = ctx.prices.region(r.region, "vpc", "nat_gateway_gib")
    gib = float(ctx.assume("nat", "processed_gib_per_gateway"))
    out.add("gateway hours", hour * ctx.hours, f"{_rate(hour)}/h × {_g(ctx.hours)} h", "nat")
    out.add("data processed", gib * per_gib,
            f"{_g(gib)} GB (nat.processed_gib_per_gateway) × {_rate(per_gib)}/GB", "nat")


@pricer("aws_eip")
def _eip(ctx: Ctx, r: Resource, out: Priced) -> None:
    hour = ctx.prices.region(r.region, "vpc", "public_ipv4_hour")
    out.add("public IPv4 address", hour * ctx.hours,
            f"1 address × {_rate(hour)}/h × {_g(ctx.hours)} h", "public_ipv4")


def _subnet_count(ctx: Ctx, r: Resource, *attrs: str) -> tuple[int, str]:
    for attr in attrs:
        value = r.values.get(attr)
        if isinstance(value, list) and value and attr not in r.unknown:
            return len(value), f"{len(value)} {attr}"
    azs = int(ctx.assume("azs_when_unknown"))
    return azs, f"{azs} AZs (azs_when_unknown: subnets known at apply)"


@pricer("aws_vpc_endpoint")
def _vpc_endpoint(ctx: Ctx, r: Resource, out: Priced) -> None:
    kind = r.get("vpc_endpoint_type") or "Gateway"
    if kind == "Gateway":
        out.free("gateway endpoints (S3, DynamoDB) have no charge")
        return
    if kind != "Interface":
        raise NotPriced(f"vpc_endpoint_type {kind}: only Interface and Gateway are priced")
    hour = ctx.prices.region(r.region, "vpc", "interface_endpoint_az_hour")
    per_gib = ctx.prices.region(r.region, "vpc", "interface_endpoint_gib")
    azs, why = _subnet_count(ctx, r, "subnet_ids")
    gib = float(ctx.assume("vpc_endpoint", "processed_gib_per_endpoint"))
    out.add("endpoint hours", azs * hour * ctx.hours,
            f"{why} × {_rate(hour)}/AZ-h × {_g(ctx.hours)} h", "vpc_endpoints")
    out.add("data processed", gib * per_gib,
            f"{_g(gib)} GB (vpc_endpoint.processed_gib_per_endpoint) × {_rate(per_gib)}/GB",
            "vpc_endpoints")


# compute --------------------------------------------------------------------------------------


def task_definition(pool: Pool, service: Resource) -> Resource | None:
    """The service's task definition: by reference, by the family in its ARN, else the task
    definition whose family is the service's name."""
    found = pool.referenced(service, "task_definition", "aws_ecs_task_definition")
    if found:
        return found[0]
    td = service.get("task_definition")
    family = td.rsplit("/", 1)[-1].split(":")[0] if isinstance(td, str) else service.get("name")
    matches = [t for t in pool.of_type("aws_ecs_task_definition") if t.get("family") == family]
    matches.sort(key=lambda t: t.stack != service.stack)
    return matches[0] if matches else None


def scaling_range(pool: Pool, service: Resource) -> tuple[float, float] | None:
    """(min, max) tasks of the Application Auto Scaling target of an ECS service (its
    resource_id ends with the service's name; the cluster part may be a remote-state read)."""
    name = service.get("name")
    for target in pool.of_type("aws_appautoscaling_target"):
        rid = target.values.get("resource_id")
        if (isinstance(rid, str) and name and rid.endswith(f"/{name}")
                and target.values.get("service_namespace") == "ecs"):
            low, high = target.number("min_capacity"), target.number("max_capacity")
            if low is not None and high is not None:
                return low, high
    return None


def spot_share(strategy: Sequence[Mapping[str, Any]], tasks: float) -> float:
    """Tasks a capacity-provider strategy places on FARGATE_SPOT: bases first, the rest by
    weight (ECS's own rule)."""
    items = [(s.get("capacity_provider"), _number(s.get("base")) or 0.0,
              _number(s.get("weight")) or 0.0) for s in strategy]
    placed: dict[Any, float] = defaultdict(float)
    remaining = tasks
    for provider, base, _ in items:
        take = min(base, remaining)
        placed[provider] += take
        remaining -= take
    total = sum(weight for _, _, weight in items)
    for provider, _, weight in items:
        if total > 0:
            placed[provider] += remaining * weight / total
    return placed.get("FARGATE_SPOT", 0.0)


def _strategy(pool: Pool, service: Resource) -> list[Mapping[str, Any]]:
    own = service.blocks("capacity_provider_strategy")
    if own or service.get("launch_type"):
        return own
    for cps in pool.of_type("aws_ecs_cluster_capacity_providers"):
        if cps.stack == service.stack:
            return cps.blocks("default_capacity_provider_strategy")
    return []


@pricer("aws_ecs_service")
def _ecs_service(ctx: Ctx, r: Resource, out: Priced) -> None:
    launch = r.get("launch_type")
    if launch in ("EC2", "EXTERNAL"):
        raise NotPriced(f"launch_type {launch}: the instances are what costs")
    td = task_definition(ctx.pool, r)
    if td is None:
        raise NotPriced("its task definition is not among the resources priced")
    cpu, memory = td.number("cpu"), td.number("memory")
    if cpu is None or memory is None:
        raise NotPriced(f"{td.address} has no task-level cpu/memory")
    if "desired_count" in r.unknown:
        raise NotPriced("desired_count is only known at apply")
    tasks = r.number("desired_count", 0.0) or 0.0
    arch = (td.block("runtime_platform").get("cpu_architecture") or "X86_64").upper()
    vcpu, gib = cpu / 1024, memory / 1024
    p_cpu = ctx.prices.region(r.region, "fargate", "vcpu_hour", arch)
    p_mem = ctx.prices.region(r.region, "fargate", "gib_hour", arch)
    per_task = (vcpu * p_cpu + gib * p_mem) * ctx.hours
    out.add("tasks", tasks * per_task,
            f"{_g(tasks)} task(s) × ({_g(vcpu)} vCPU × {_rate(p_cpu)} + {_g(gib)} GB × "
            f"{_rate(p_mem)}) /h × {_g(ctx.hours)} h [Fargate {arch}, {td.get('family')}]",
            "fargate")
    extra = (_number(td.block("ephemeral_storage").get("size_in_gib")) or 20.0) - 20.0
    if extra > 0:
        p_disk = ctx.prices.region(r.region, "fargate", "ephemeral_gib_hour")
        out.add("ephemeral storage beyond 20 GiB", tasks * extra * p_disk * ctx.hours,
                f"{_g(tasks)} × {_g(extra)} GiB × {_rate(p_disk)}/GiB-h × {_g(ctx.hours)} h",
                "fargate")
    scaling = scaling_range(ctx.pool, r)
    if scaling is not None:
        low, high = scaling
        out.note(f"autoscaling {_g(low)}–{_g(high)} tasks: {_usd(low * per_task)}–"
                 f"{_usd(high * per_task)}")
        if high != tasks:
            out.alt("max", out.usd + (high - tasks) * per_task,
                    f"at {_g(high)} tasks (autoscaling max)")
    strategy = _strategy(ctx.pool, r)
    spot = spot_share(strategy, tasks)
    if spot > 0:
        s_cpu = ctx.prices.region(r.region, "fargate", "spot_vcpu_hour", arch)
        s_mem = ctx.prices.region(r.region, "fargate", "spot_gib_hour", arch)
        per_spot = (vcpu * s_cpu + gib * s_mem) * ctx.hours
        out.alt("spot", out.usd - spot * (per_task - per_spot),
                f"{_g(spot)} of {_g(tasks)} task(s) on FARGATE_SPOT per its capacity-provider "
                f"strategy ({_rate(s_cpu)}/vCPU-h, {_rate(s_mem)}/GB-h)")


@pricer("aws_ecs_cluster")
def _ecs_cluster(ctx: Ctx, r: Resource, out: Priced) -> None:
    settings = r.blocks("setting")
    insights = next((s.get("value") for s in settings if s.get("name") == "containerInsights"),
                    "disabled")
    if insights == "disabled":
        out.free("clusters have no charge (Container Insights off)")
        return
    if insights != "enabled":
        raise NotPriced(f"Container Insights {insights!r}: per-task/container metrics are not "
                        "modelled")
    services = ctx.pool.references_to("aws_ecs_service", "cluster", r) or [
        s for s in ctx.pool.of_type("aws_ecs_service") if s.stack == r.stack]
    per_cluster = float(ctx.assume("ecs", "container_insights_metrics_per_cluster"))
    per_service = float(ctx.assume("ecs", "container_insights_metrics_per_service"))
    metrics = per_cluster + per_service * len(services)
    p_metric = ctx.prices.region(r.region, "cloudwatch", "metric_month")
    out.add("Container Insights metrics", metrics * p_metric,
            f"({_g(per_cluster)} + {_g(per_service)} × {len(services)} services) metrics "
            f"(ecs.container_insights_metrics_per_*) × {_rate(p_metric)}/metric-month",
            "cloudwatch")
    gib = float(ctx.assume("ecs", "container_insights_log_gib_per_service")) * len(services)
    p_log = ctx.prices.region(r.region, "cloudwatch", "logs_ingest_gib")
    out.add("Container Insights performance logs", gib * p_log,
            f"{_g(gib)} GB (ecs.container_insights_log_gib_per_service × {len(services)}) × "
            f"{_rate(p_log)}/GB", "cloudwatch")


@pricer("aws_appautoscaling_policy")
def _scaling_policy(ctx: Ctx, r: Resource, out: Priced) -> None:
    kind = r.get("policy_type") or "StepScaling"
    if kind != "TargetTrackingScaling":
        out.free(f"{kind}: its alarms are resources of their own")
        return
    price = ctx.prices.region(r.region, "cloudwatch", "alarm_metric_month")
    out.add("target-tracking alarms", 2 * price,
            f"2 alarms (high, low) AWS creates × {_rate(price)}/alarm-month", "cloudwatch")


@pricer("aws_lb")
def _lb(ctx: Ctx, r: Resource, out: Priced) -> None:
    kind = r.get("load_balancer_type") or "application"
    if kind != "application":
        raise NotPriced(f"load_balancer_type {kind}: only ALB prices are in the table")
    hour = ctx.prices.region(r.region, "elb", "alb_hour")
    lcu_hour = ctx.prices.region(r.region, "elb", "alb_lcu_hour")
    lcu = float(ctx.assume("alb", "average_lcu"))
    out.add("load balancer hours", hour * ctx.hours, f"{_rate(hour)}/h × {_g(ctx.hours)} h",
            "alb")
    out.add("LCUs", lcu * lcu_hour * ctx.hours,
            f"{_g(lcu)} LCU (alb.average_lcu) × {_rate(lcu_hour)}/LCU-h × {_g(ctx.hours)} h",
            "alb")
    if r.get("internal") is True:
        return
    azs, why = _subnet_count(ctx, r, "subnets", "subnet_mapping")
    ipv4 = ctx.prices.region(r.region, "vpc", "public_ipv4_hour")
    out.add("public IPv4 addresses", azs * ipv4 * ctx.hours,
            f"{why} × 1 address × {_rate(ipv4)}/h × {_g(ctx.hours)} h", "public_ipv4")
    egress = float(ctx.assume("alb", "internet_egress_gib"))
    p_out = ctx.prices.region(r.region, "vpc", "internet_egress_gib")
    out.add("data transfer out to the internet", egress * p_out,
            f"{_g(egress)} GB (alb.internet_egress_gib) × {_rate(p_out)}/GB", "data_transfer")


# data -----------------------------------------------------------------------------------------


def replica_source(pool: Pool, r: Resource) -> Resource | None:
    """The primary a read replica replicates (by reference, else by identifier or ARN)."""
    if not r.values.get("replicate_source_db"):
        return None
    found = pool.referenced(r, "replicate_source_db", "aws_db_instance")
    if found:
        return found[0]
    source = str(r.get("replicate_source_db") or "").rsplit(":", 1)[-1]
    matches = [d for d in pool.of_type("aws_db_instance") if d.get("identifier") == source]
    return matches[0] if matches else None


@pricer("aws_db_instance")
def _db_instance(ctx: Ctx, r: Resource, out: Priced) -> None:
    source = replica_source(ctx.pool, r)
    if r.values.get("replicate_source_db") and source is None:
        raise NotPriced("the primary this read replica replicates is not among the resources "
                        "priced")
    inherited = source.values if source is not None else {}
    engine = r.get("engine") or (source.get("engine") if source else None) or ""
    if engine != "postgres":
        raise NotPriced(f"engine {engine!r}: only RDS for PostgreSQL prices are in the table")
    cls = r.get("instance_class")
    if not cls:
        raise NotPriced("instance_class is only known at apply")
    hourly = ctx.prices.region(r.region, "rds", "postgres_hour", cls)
    multi = r.get("multi_az") is True
    factor = ctx.prices.region(r.region, "rds", "multi_az_factor") if multi else 1.0
    az = f" × {_g(factor)} (Multi-AZ)" if multi else " (Single-AZ)"
    instance = hourly * factor * ctx.hours
    out.add("instance hours", instance,
            f"{cls} {_rate(hourly)}/h{az} × {_g(ctx.hours)} h", "rds")

    gib = r.number("allocated_storage")
    if gib is None and source is not None:  # a replica starts with its primary's storage
        gib = _number(inherited.get("allocated_storage"))
        out.note(f"read replica of {source.get('identifier') or source.address}: its storage")
    if gib is None:
        raise NotPriced("allocated_storage is only known at apply")
    storage = r.get("storage_type") or ("io1" if r.get("iops") else "gp2")
    if storage not in ("gp2", "gp3"):
        raise NotPriced(f"storage_type {storage}: only gp2/gp3 are in the table")
    p_gib = ctx.prices.region(r.region, "rds", f"{storage}_gib_month")
    out.add(f"{storage} storage", gib * p_gib * factor,
            f"{_g(gib)} GiB × {_rate(p_gib)}/GiB-month{az}", "rds")
    if storage == "gp3":
        big = gib >= 400
        for attr, base, key, unit in (("iops", 12000 if big else 3000, "gp3_iops_month", "IOPS"),
                                      ("storage_throughput", 500 if big else 125,
                                       "gp3_mibps_month", "MiB/s")):
            extra = (r.number(attr) or 0.0) - base
            if extra > 0:
                price = ctx.prices.region(r.region, "rds", key)
                out.add(f"gp3 {unit} beyond the baseline", extra * price * factor,
                        f"{_g(extra)} {unit} over {_g(base)} × {_rate(price)}/month{az}", "rds")

    retention = r.number("backup_retention_period", 0.0) or 0.0
    if retention > 0:
        change = float(ctx.assume("rds", "backup_daily_change_fraction"))
        billable = gib * change * retention
        p_backup = ctx.prices.region(r.region, "rds", "backup_gib_month")
        out.add("backup storage beyond the free allowance", billable * p_backup,
                f"{_g(gib)} GiB × {_g(change)}/day (rds.backup_daily_change_fraction) × "
                f"{_g(retention)} days kept × {_rate(p_backup)}/GB-month (the first 100 % of "
                "the storage is free)", "rds")

    pi_days = r.number("performance_insights_retention_period", 7.0) or 7.0
    if r.get("performance_insights_enabled") is True and pi_days > 7:
        vcpus = ctx.prices.table.get("instance_vcpus", {}).get(cls)
        if not vcpus:
            raise NotPriced(f"vCPUs of {cls} are not in [instance_vcpus] of "
                            f"{_rel(ctx.prices.path)}")
        months = math.ceil(pi_days / 31)
        first = ctx.prices.region(r.region, "rds", "pi_first_month_vcpu")
        more = ctx.prices.region(r.region, "rds", "pi_additional_month_vcpu")
        n = vcpus * factor
        out.add("Performance Insights retention", n * (first + (months - 1) * more),
                f"{_g(n)} vCPU × ({_rate(first)} + {months - 1} × {_rate(more)}) for "
                f"{_g(pi_days)} days ({months} months; 7 days are free)", "rds")

    interval = r.number("monitoring_interval", 0.0) or 0.0
    if interval > 0:
        gib_60 = float(ctx.assume("rds", "enhanced_monitoring_gib_at_60s"))
        logs = gib_60 * 60 / interval * (factor if multi else 1)
        p_log = ctx.prices.region(r.region, "cloudwatch", "logs_ingest_gib")
        out.add("Enhanced Monitoring logs", logs * p_log,
                f"{_g(logs)} GB (rds.enhanced_monitoring_gib_at_60s × 60/{_g(interval)} s) × "
                f"{_rate(p_log)}/GB", "cloudwatch")

    if cls.startswith("db.t"):
        surplus = float(ctx.assume("rds", "cpu_credit_surplus_vcpu_hours"))
        credit = ctx.prices.region(r.region, "rds", "cpu_credit_vcpu_hour")
        if surplus > 0:
            out.add("CPU credits (unlimited mode)", surplus * credit,
                    f"{_g(surplus)} vCPU-h (rds.cpu_credit_surplus_vcpu_hours) × "
                    f"{_rate(credit)}", "rds")
        else:
            out.note(f"T-class in unlimited mode: sustained CPU above the baseline costs "
                     f"{_rate(credit)}/vCPU-h (rds.cpu_credit_surplus_vcpu_hours = 0)")

    if ctx.prices.has(r.region, "rds", "postgres_ri_1y_hour", cls):
        ri = ctx.prices.region(r.region, "rds", "postgres_ri_1y_hour", cls)
        out.alt("reserved", out.usd - instance + ri * factor * ctx.hours,
                f"1-year reservation, no upfront: {_rate(ri)}/h{az}")


@pricer("aws_elasticache_replication_group")
def _replication_group(ctx: Ctx, r: Resource, out: Priced) -> None:
    engine = r.get("engine") or "redis"
    if engine != "redis":
        raise NotPriced(f"engine {engine}: only Redis OSS node prices are in the table")
    node = r.get("node_type")
    if not node:
        raise NotPriced("node_type is only known at apply")
    hourly = ctx.prices.region(r.region, "elasticache", "node_hour", node)
    clusters = r.number("num_cache_clusters")
    if clusters is not None:
        nodes, shape = clusters, f"{_g(clusters)} node(s) (num_cache_clusters)"
    else:
        shards = r.number("num_node_groups", 1.0) or 1.0
        replicas = r.number("replicas_per_node_group", 0.0) or 0.0
        nodes = shards * (replicas + 1)
        shape = f"{_g(shards)} shard(s) × ({_g(replicas)} replica(s) + 1)"
    out.add("nodes", nodes * hourly * ctx.hours,
            f"{shape} × {node} {_rate(hourly)}/h × {_g(ctx.hours)} h", "elasticache")
    kept = r.number("snapshot_retention_limit", 0.0) or 0.0
    if kept > 1:
        data = float(ctx.assume("elasticache", "dataset_gib"))
        price = ctx.prices.region(r.region, "elasticache", "snapshot_gib_month")
        out.add("snapshots beyond the free one", (kept - 1) * data * price,
                f"{_g(kept - 1)} snapshots × {_g(data)} GB (elasticache.dataset_gib) × "
                f"{_rate(price)}/GB-month", "elasticache")
    if ctx.prices.has(r.region, "elasticache", "node_ri_1y_hour", node):
        ri = ctx.prices.region(r.region, "elasticache", "node_ri_1y_hour", node)
        out.alt("reserved", out.usd - nodes * (hourly - ri) * ctx.hours,
                f"1-year reserved nodes, no upfront: {_rate(ri)}/h")


# storage, edge --------------------------------------------------------------------------------


def _bucket_usage(ctx: Ctx, name: str) -> tuple[str, Mapping[str, Any]]:
    return ctx.assume.match("s3.buckets", name)


@pricer("aws_s3_bucket")
def _s3_bucket(ctx: Ctx, r: Resource, out: Priced) -> None:
    name = r.get("bucket") or r.get("bucket_prefix") or r.address
    pattern, usage = _bucket_usage(ctx, name)
    gib = float(usage.get("storage_gib", 0))
    puts, gets = float(usage.get("put_thousands", 0)), float(usage.get("get_thousands", 0))
    p_gib = ctx.prices.region(r.region, "s3", "standard_gib_month")
    p_put = ctx.prices.region(r.region, "s3", "put_1k")
    p_get = ctx.prices.region(r.region, "s3", "get_1k")
    where = f's3.buckets."{pattern}"'
    out.add("storage (Standard)", gib * p_gib,
            f"{_g(gib)} GB ({where}.storage_gib) × {_rate(p_gib)}/GB-month", "s3_cloudfront")
    out.add("requests", puts * p_put + gets * p_get,
            f"{_g(puts)}k PUT × {_rate(p_put)} + {_g(gets)}k GET × {_rate(p_get)} per 1,000 "
            f"({where})", "s3_cloudfront")


@pricer("aws_cloudfront_distribution")
def _cloudfront(ctx: Ctx, r: Resource, out: Priced) -> None:
    area = str(ctx.assume("cloudfront", "viewer_area"))
    gib = float(ctx.assume("cloudfront", "egress_gib"))
    requests = float(ctx.assume("cloudfront", "https_requests_million"))
    p_gib = ctx.prices.world("cloudfront", "egress_gib", area)
    p_req = ctx.prices.world("cloudfront", "https_10k", area)
    out.add("data transfer out to viewers", gib * p_gib,
            f"{_g(gib)} GB (cloudfront.egress_gib) × {_rate(p_gib)}/GB ({area})",
            "s3_cloudfront")
    out.add("HTTPS requests", requests * 100 * p_req,
            f"{_g(requests)} M (cloudfront.https_requests_million) × {_rate(p_req)}/10,000",
            "s3_cloudfront")


@pricer("aws_ecr_repository")
def _ecr_repository(ctx: Ctx, r: Resource, out: Priced) -> None:
    gib = float(ctx.assume("ecr", "stored_gib_per_repository"))
    price = ctx.prices.region(r.region, "ecr", "storage_gib_month")
    out.add("image storage", gib * price,
            f"{_g(gib)} GB (ecr.stored_gib_per_repository) × {_rate(price)}/GB-month", "ecr")


@pricer("aws_dynamodb_table")
def _dynamodb(ctx: Ctx, r: Resource, out: Priced) -> None:
    mode = r.get("billing_mode") or "PROVISIONED"
    if mode == "PAY_PER_REQUEST":
        writes = float(ctx.assume("dynamodb", "write_million"))
        reads = float(ctx.assume("dynamodb", "read_million"))
        p_w = ctx.prices.region(r.region, "dynamodb", "write_million")
        p_r = ctx.prices.region(r.region, "dynamodb", "read_million")
        out.add("on-demand requests", writes * p_w + reads * p_r,
                f"{_g(writes)} M writes × {_rate(p_w)} + {_g(reads)} M reads × {_rate(p_r)} "
                "(dynamodb.*_million)", "dynamodb")
    else:
        wcu, rcu = r.number("write_capacity", 0.0) or 0.0, r.number("read_capacity", 0.0) or 0.0
        p_w = ctx.prices.region(r.region, "dynamodb", "wcu_hour")
        p_r = ctx.prices.region(r.region, "dynamodb", "rcu_hour")
        out.add("provisioned capacity", (wcu * p_w + rcu * p_r) * ctx.hours,
                f"({_g(wcu)} WCU × {_rate(p_w)} + {_g(rcu)} RCU × {_rate(p_r)}) /h × "
                f"{_g(ctx.hours)} h", "dynamodb")
    gib = float(ctx.assume("dynamodb", "storage_gib"))
    p_gib = ctx.prices.region(r.region, "dynamodb", "storage_gib_month")
    out.add("storage", gib * p_gib,
            f"{_g(gib)} GB (dynamodb.storage_gib) × {_rate(p_gib)}/GB-month", "dynamodb")
    if r.block("point_in_time_recovery").get("enabled") is True:
        p_pitr = ctx.prices.region(r.region, "dynamodb", "pitr_gib_month")
        out.add("point-in-time recovery", gib * p_pitr,
                f"{_g(gib)} GB × {_rate(p_pitr)}/GB-month", "dynamodb")


# security, messaging, registry ----------------------------------------------------------------


@pricer("aws_kms_key")
def _kms_key(ctx: Ctx, r: Resource, out: Priced) -> None:
    key = ctx.prices.region(r.region, "kms", "key_month")
    out.add("customer managed key", key, f"{_rate(key)}/key-month", "kms")
    if r.get("enable_key_rotation") is True:
        rotations = min(int(ctx.assume("kms", "rotations_billed")), 2)
        price = ctx.prices.region(r.region, "kms", "rotation_month")
        if rotations:
            out.add("rotated key versions", rotations * price,
                    f"{rotations} rotation(s) (kms.rotations_billed) × {_rate(price)}/month",
                    "kms")
        else:
            out.note(f"yearly rotation adds {_rate(price)}/month after each of the first two "
                     "rotations")
    requests = float(ctx.assume("kms", "requests_10k_per_key"))
    p_req = ctx.prices.region(r.region, "kms", "requests_10k")
    out.add("requests", requests * p_req,
            f"{_g(requests * 10_000)} requests (kms.requests_10k_per_key) × {_rate(p_req)}/10,000",
            "kms")


@pricer("aws_secretsmanager_secret")
def _secret(ctx: Ctx, r: Resource, out: Priced) -> None:
    price = ctx.prices.region(r.region, "secretsmanager", "secret_month")
    calls = float(ctx.assume("secretsmanager", "api_calls_10k_per_secret"))
    p_api = ctx.prices.region(r.region, "secretsmanager", "api_10k")
    out.add("secret", price, f"{_rate(price)}/secret-month", "secrets")
    out.add("API calls", calls * p_api,
            f"{_g(calls * 10_000)} calls (secretsmanager.api_calls_10k_per_secret) × "
            f"{_rate(p_api)}/10,000", "secrets")


@pricer("aws_sqs_queue")
def _sqs_queue(ctx: Ctx, r: Resource, out: Priced) -> None:
    if r.get("fifo_queue") is True:
        raise NotPriced("FIFO queue prices are not in the table")
    name = r.get("name") or r.get("name_prefix") or r.address
    pattern, usage = ctx.assume.match("sqs.queues", name)
    requests = float(usage.get("requests_million", 0))
    price = ctx.prices.region(r.region, "sqs", "requests_million")
    out.add("requests", requests * price,
            f'{_g(requests)} M (sqs.queues."{pattern}".requests_million) × {_rate(price)}/M',
            "messaging")


@pricer("aws_sns_topic")
def _sns_topic(ctx: Ctx, r: Resource, out: Priced) -> None:
    name = r.get("name") or r.get("name_prefix") or r.address
    pattern, usage = ctx.assume.match("sns.topics", name)
    publishes = float(usage.get("publishes_million", 0))
    price = ctx.prices.region(r.region, "sns", "publishes_million")
    out.add("publishes", publishes * price,
            f'{_g(publishes)} M (sns.topics."{pattern}".publishes_million) × {_rate(price)}/M',
            "messaging")


@pricer("aws_ssm_parameter")
def _ssm_parameter(ctx: Ctx, r: Resource, out: Priced) -> None:
    tier = r.get("tier") or "Standard"
    if tier != "Advanced":
        out.free(f"{tier} parameters have no charge (standard throughput)")
        return
    price = ctx.prices.region(r.region, "ssm", "advanced_parameter_month")
    out.add("advanced parameter", price, f"{_rate(price)}/parameter-month", "ssm")


@pricer("aws_route53_zone")
def _route53_zone(ctx: Ctx, r: Resource, out: Priced) -> None:
    zone = ctx.prices.world("route53", "hosted_zone_month")
    queries = float(ctx.assume("route53", "queries_million_per_zone"))
    p_q = ctx.prices.world("route53", "queries_million")
    out.add("hosted zone", zone, f"{_rate(zone)}/zone-month", "route53")
    out.add("queries", queries * p_q,
            f"{_g(queries)} M (route53.queries_million_per_zone) × {_rate(p_q)}/M", "route53")


@pricer("aws_wafv2_web_acl")
def _web_acl(ctx: Ctx, r: Resource, out: Priced) -> None:
    rules = r.blocks("rule")
    paid = set(ctx.prices.table.get("global", {}).get("waf", {}).get("paid_rule_groups", []))
    for rule in rules:
        statement = _block(rule.get("statement"))
        group = _block(statement.get("managed_rule_group_statement")).get("name")
        if group in paid:
            raise NotPriced(f"managed rule group {group} has a subscription fee not in the table")
    acl = ctx.prices.world("waf", "web_acl_month")
    per_rule = ctx.prices.world("waf", "rule_month")
    requests = float(ctx.assume("waf", "requests_million"))
    p_req = ctx.prices.world("waf", "requests_million")
    out.add("web ACL", acl, f"{_rate(acl)}/web-ACL-month", "waf")
    out.add("rules", len(rules) * per_rule,
            f"{len(rules)} rules/rule groups × {_rate(per_rule)}/month", "waf")
    out.add("requests", requests * p_req,
            f"{_g(requests)} M (waf.requests_million) × {_rate(p_req)}/M", "waf")


# observability, backup ------------------------------------------------------------------------


@pricer("aws_cloudwatch_log_group")
def _log_group(ctx: Ctx, r: Resource, out: Priced) -> None:
    name = r.get("name") or r.get("name_prefix") or r.address
    pattern, usage = ctx.assume.match("logs.groups", name)
    gib = float(usage.get("ingest_gib", 0))
    vended = bool(usage.get("vended", False))
    p_in = ctx.prices.region(r.region, "cloudwatch",
                             "vended_logs_ingest_gib" if vended else "logs_ingest_gib")
    klass = r.get("log_group_class") or "STANDARD"
    if klass not in ("STANDARD", "INFREQUENT_ACCESS"):
        raise NotPriced(f"log_group_class {klass} is not in the table")
    factor = 0.5 if klass == "INFREQUENT_ACCESS" else 1.0
    where = f'logs.groups."{pattern}"'
    out.add("ingestion", gib * p_in * factor,
            f"{_g(gib)} GB ({where}.ingest_gib) × {_rate(p_in)}/GB"
            + (" × 0.5 (infrequent access)" if factor != 1 else "")
            + (" (vended logs)" if vended else ""), "cloudwatch")
    days = r.number("retention_in_days", 0.0) or 0.0
    months = days / (365 / 12) if days > 0 else float(ctx.assume("logs", "never_expire_months"))
    ratio = float(ctx.assume("logs", "stored_fraction"))
    stored = gib * ratio * months
    p_store = ctx.prices.region(r.region, "cloudwatch", "logs_storage_gib_month")
    out.add("storage", stored * p_store,
            f"{_g(gib)} GB × {_g(ratio)} compressed (logs.stored_fraction) × "
            f"{months:.1f} months kept ({_g(days) + ' days' if days else 'never expires'}) × "
            f"{_rate(p_store)}/GB-month", "cloudwatch")


@pricer("aws_cloudwatch_metric_alarm")
def _metric_alarm(ctx: Ctx, r: Resource, out: Priced) -> None:
    queries = r.blocks("metric_query")
    metrics = sum(1 for q in queries if _block(q.get("metric"))) if queries else 1
    periods = [_number(_block(q.get("metric")).get("period")) for q in queries] + [
        r.number("period")]
    high_res = any(p is not None and p < 60 for p in periods)
    anomaly = any("ANOMALY_DETECTION_BAND" in str(q.get("expression") or "") for q in queries)
    key = "alarm_high_res_metric_month" if high_res else "alarm_metric_month"
    price = ctx.prices.region(r.region, "cloudwatch", key)
    n = metrics * (3 if anomaly else 1)
    out.add("alarm", n * price,
            f"{n} metric(s) evaluated × {_rate(price)}/alarm-metric-month"
            + (" (high resolution)" if high_res else "")
            + (" (anomaly detection: ×3)" if anomaly else ""), "cloudwatch")


@pricer("aws_cloudwatch_dashboard")
def _dashboard(ctx: Ctx, r: Resource, out: Priced) -> None:
    price = ctx.prices.region(r.region, "cloudwatch", "dashboard_month")
    out.add("dashboard", price, f"{_rate(price)}/dashboard-month (the first 3 of an account "
            "are free)", "cloudwatch")


def _arn_region(value: Any) -> str | None:
    match = _ARN_REGION.match(value) if isinstance(value, str) else None
    return match[1] if match else None


def _protected_sizes(ctx: Ctx, plan: Resource) -> list[tuple[str, str, float, str]]:
    """(kind, what, GB, why) of everything the plan's selections back up."""
    selections = ctx.pool.references_to("aws_backup_selection", "plan_id", plan) or [
        s for s in ctx.pool.of_type("aws_backup_selection") if s.stack == plan.stack]
    out = []
    for selection in selections:
        items = selection.values.get("resources")
        if not isinstance(items, list) or "resources" in selection.unknown:
            raise NotPriced(f"{selection.address}: the resources it selects are only known at "
                            "apply")
        for item in items:
            text = str(item)
            if ":rds:" in text or "db_instance" in text:
                ident = text.rsplit(":", 1)[-1] if text.startswith("arn:") else None
                dbs = [d for d in ctx.pool.of_type("aws_db_instance")
                       if d.get("identifier") == ident or (
                           ident is None and not d.values.get("replicate_source_db"))]
                if len(dbs) != 1:
                    raise NotPriced(f"backup of {text!r}: {len(dbs)} matching database(s)")
                gib = dbs[0].number("allocated_storage")
                if gib is None:
                    raise NotPriced("the backed-up database's allocated_storage is unknown")
                used = float(ctx.assume("backup", "rds_used_fraction"))
                out.append(("rds", dbs[0].get("identifier") or dbs[0].address, gib * used,
                            f"{_g(gib)} GiB × {_g(used)} used (backup.rds_used_fraction)"))
            elif ":s3:" in text or "bucket" in text:
                name = text.split(":::", 1)[1] if text.startswith("arn:") else str(
                    ctx.assume("backup", "s3_bucket"))
                pattern, usage = _bucket_usage(ctx, name)
                gib = float(usage.get("storage_gib", 0))
                out.append(("s3", f"bucket {name}", gib,
                            f'{_g(gib)} GB (s3.buckets."{pattern}".storage_gib)'))
            else:
                raise NotPriced(f"backup of {text!r}: only RDS and S3 are priced")
    return out


def _copy_region(ctx: Ctx, plan: Resource, copy: Mapping[str, Any]) -> str:
    dest = copy.get("destination_vault_arn")
    if region := _arn_region(dest):
        return region
    if _is_expr(dest):
        for m in _REF.findall(dest):
            vault = ctx.pool.by_key.get((plan.stack, f"{m[0]}.{m[1]}"))
            if vault is not None:
                return vault.region
    vaults = {v.region for v in ctx.pool.referenced(plan, "rule", "aws_backup_vault")
              if v.region != plan.region}
    if len(vaults) == 1:
        return vaults.pop()
    raise NotPriced("the copy's destination region is only known at apply")


@pricer("aws_backup_plan")
def _backup_plan(ctx: Ctx, r: Resource, out: Priced) -> None:
    protected = _protected_sizes(ctx, r)
    change = float(ctx.assume("backup", "daily_change_fraction"))
    for rule in r.blocks("rule"):
        lifecycle = _block(rule.get("lifecycle"))
        if _number(lifecycle.get("cold_storage_after")):
            raise NotPriced("cold-storage transitions are not in the table")
        days = _number(lifecycle.get("delete_after")) or 0.0
        schedule = str(rule.get("schedule") or "")
        if not re.fullmatch(r"cron\(\S+ \S+ \* \* \? \*\)", schedule):
            out.note(f"rule {rule.get('rule_name')}: schedule {schedule!r} priced as daily")
        copies = [(_copy_region(ctx, r, c), _number(_block(c.get("lifecycle")).get(
            "delete_after")) or days) for c in rule.get("copy_action") or []
            if isinstance(c, Mapping)]
        for kind, what, gib, why in protected:
            key = "rds_snapshot_gib_month" if kind == "rds" else "s3_warm_gib_month"
            for region, kept, label in [(r.region, days, "recovery points")] + [
                    (region, kept, f"copies in {region}") for region, kept in copies]:
                chain = gib * (1 + change * kept)
                price = ctx.prices.region(region, "backup", key)
                out.add(f"{what}: {label}", chain * price,
                        f"({why}) × (1 + {_g(change)}/day (backup.daily_change_fraction) × "
                        f"{_g(kept)} days kept) × {_rate(price)}/GB-month", "backup")
            for region, _ in copies:
                moved = gib * change * 365 / 12
                price = ctx.prices.region(r.region, "vpc", "inter_region_gib")
                out.add(f"{what}: copy transfer to {region}", moved * price,
                        f"{_g(gib)} GB × {_g(change)}/day × 30.4 days × {_rate(price)}/GB "
                        "(incremental copies)", "backup")


# --- the estimate ------------------------------------------------------------------------------


@dataclass
class Estimate:
    env: str
    items: list[Priced]
    prices: Prices
    assume: Assumptions

    @property
    def total(self) -> float:
        return sum(i.usd for i in self.items)

    @property
    def not_priced(self) -> list[Priced]:
        return [i for i in self.items if i.status == "not priced"]

    @property
    def free(self) -> list[Priced]:
        return [i for i in self.items if i.status == "free"]

    @property
    def priced(self) -> list[Priced]:
        return [i for i in self.items if i.status == "priced"]

    def layers(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for item in sorted(self.items, key=lambda i: _layer_rank(i.resource.layer)):
            out[item.resource.layer] = out.get(item.resource.layer, 0.0) + item.usd
        return out

    def categories(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for item in self.priced:
            for c in item.components:
                out[c.category] += c.usd
        return dict(out)

    def with_alternative(self, kind: str) -> float:
        total = self.total
        for item in self.priced:
            for alt in item.alternatives:
                if alt.kind == kind:
                    total += alt.usd - item.usd
        return total


def estimate(env: str, outdir: Path = OUTDIR, prices: Prices | None = None,
             assume: Assumptions | None = None) -> Estimate:
    prices = prices or Prices.load()
    assume = assume or Assumptions.load(env)
    resources = load_synthesized(outdir, env, str(assume("default_region")))
    if not resources:
        raise FileNotFoundError(
            f"no synthesized stacks of {env!r} in {outdir}/stacks: run `make synth` "
            "(or CDKTF_OUTDIR=<dir> python main.py) first")
    return Estimate(env, price_all(resources, prices, assume), prices, assume)


# --- the guide's §13 tables --------------------------------------------------------------------


@dataclass(frozen=True)
class GuideRow:
    resource: str
    spec: str
    spec_ko: str
    guide_usd: float | None  # None: a category of ours the guide has no line for
    ours_usd: float
    why: str


def compare_guide(est: Estimate, guide_path: Path = GUIDE_FILE) -> tuple[str, list[GuideRow]]:
    """(the guide column's title, one row per guide line and per category of ours that no
    guide line covers). The env's ``guide_column`` assumption names the column."""
    guide = _load_toml(guide_path)
    column_name = str(est.assume.values.get("guide_column") or "")
    column = guide.get("columns", {}).get(column_name)
    if column is None:
        return "", []
    ours = est.categories()
    rows, covered = [], set()
    for line in column.get("lines", []):
        cats = line.get("categories", [])
        covered.update(cats)
        rows.append(GuideRow(line["resource"], line.get("spec", ""), line.get("spec_ko", ""),
                             float(line["usd"]), sum(ours.get(c, 0.0) for c in cats),
                             line.get("why", "")))
    extra_why = guide.get("not_in_guide", {})
    for cat in CATEGORIES:
        if cat not in covered and ours.get(cat, 0.0) > 0:
            rows.append(GuideRow(CATEGORIES[cat], "", "", None, ours[cat],
                                 extra_why.get(cat, "not in the guide's table")))
    title = f"{column.get('title', column_name)} — {column.get('title_ko', '')}".rstrip(" —")
    return title, rows


# --- rendering: the estimate -------------------------------------------------------------------


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _header(est: Estimate) -> list[str]:
    meta = est.prices.meta
    return [
        f"prices: {_rel(est.prices.path)} — {meta.get('source', '')}, "
        f"{meta.get('prices_as_of', '')}; {meta.get('status', '')}",
        f"assumptions: {_rel(est.assume.path)} [default] + [env.{est.env}]; "
        f"{_g(est.assume.hours)} h/month",
    ]


def _free_summary(items: Sequence[Priced]) -> str:
    counts = Counter(i.resource.type for i in items)
    return ", ".join(f"{t} ×{n}" for t, n in sorted(counts.items()))


def _alternative_lines(est: Estimate) -> list[tuple[str, float]]:
    out = []
    for kind, label in ALTERNATIVES.items():
        if any(a.kind == kind for i in est.priced for a in i.alternatives):
            out.append((label, est.with_alternative(kind)))
    return out


def render_text(est: Estimate) -> str:
    lines = [f"Monthly cost estimate of {est.env} (USD, on-demand): {_usd(est.total)}",
             *_header(est)]
    if est.not_priced:
        lines.append(f"NOT PRICED: {len(est.not_priced)} resource(s), left out of the total")
    for label, total in _alternative_lines(est):
        lines.append(f"  {label}: {_usd(total)}")
    by_layer: dict[str, list[Priced]] = defaultdict(list)
    for item in est.items:
        by_layer[item.resource.layer].append(item)
    for layer, total in est.layers().items():
        items = by_layer[layer]
        lines += ["", f"== {layer}  {_usd(total)}"]
        for item in sorted((i for i in items if i.status != "free"), key=lambda i: -i.usd):
            r = item.resource
            name = f"  {r.address}" + (f" ({r.label})" if r.label else "")
            if item.status == "not priced":
                lines.append(f"{name}  NOT PRICED: {item.reason}")
                continue
            lines.append(f"{name}  {_usd(item.usd)}")
            for c in item.components:
                lines.append(f"      {c.what:<38} {_usd(c.usd):>10}   {c.formula}")
            for note in item.notes:
                lines.append(f"      note: {note}")
            for alt in item.alternatives:
                lines.append(f"      alternative: {alt.label} → {_usd(alt.usd)}")
        free = [i for i in items if i.status == "free"]
        if free:
            lines.append(f"  free: {len(free)} resource(s) — {_free_summary(free)}")
    return "\n".join(lines) + "\n\n" + render_guide_text(est)


def render_guide_text(est: Estimate) -> str:
    title, rows = compare_guide(est)
    if not rows:
        return f"The guide (§13) has no cost table for {est.env}.\n"
    lines = [f"Compared with the guide §13 ({title}):",
             f"  {'line':<30} {'guide':>9} {'ours':>10} {'difference':>11}  why"]
    for row in rows:
        name = row.resource + ("" if row.guide_usd is not None else " (not in the guide)")
        guide = f"~{_usd(row.guide_usd)}" if row.guide_usd is not None else "—"
        delta = row.ours_usd - (row.guide_usd or 0.0)
        lines.append(f"  {name:<30} {guide:>9} {_usd(row.ours_usd):>10} {_signed(delta):>11}  "
                     f"{row.why}")
    guide_total = _guide_total(est)
    lines.append(f"  {'total':<30} {'~' + _usd(guide_total):>9} {_usd(est.total):>10} "
                 f"{_signed(est.total - guide_total):>11}")
    return "\n".join(lines) + "\n"


def _guide_total(est: Estimate, guide_path: Path = GUIDE_FILE) -> float:
    column = _load_toml(guide_path)["columns"][str(est.assume.values["guide_column"])]
    return float(column["total_usd"])


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_guide_markdown(est: Estimate) -> str:
    title, rows = compare_guide(est)
    if not rows:
        return f"_The guide (§13) has no cost table for `{est.env}`._\n"
    out = [f"### Compared with the guide §13: {title}", "",
           "| guide line | guide spec (원문: Korean original) | guide | ours | difference "
           "| why |",
           "|---|---|---:|---:|---:|---|"]
    for row in rows:
        if row.guide_usd is None:
            out.append(f"| {row.resource} _(not in the guide)_ | – | – | {_usd(row.ours_usd)} "
                       f"| +{_usd(row.ours_usd)} | {_md(row.why)} |")
            continue
        spec = f"{row.spec} ({row.spec_ko})" if _HANGUL.search(row.spec_ko) else row.spec
        delta = row.ours_usd - row.guide_usd
        out.append(f"| {row.resource} | {_md(spec)} | ~{_usd(row.guide_usd)} | "
                   f"{_usd(row.ours_usd)} | {_signed(delta)} | {_md(row.why)} |")
    guide_total = _guide_total(est)
    out.append(f"| **total** (합계) | | **~{_usd(guide_total)}** | **{_usd(est.total)}** | "
               f"**{_signed(est.total - guide_total)}** | |")
    return "\n".join(out) + "\n"


def render_markdown(est: Estimate) -> str:
    out = [f"## Cost estimate: `{est.env}`", "",
           f"**{_usd(est.total)} / month** (USD, on-demand) — {len(est.priced)} priced, "
           f"{len(est.free)} free, {len(est.not_priced)} not priced.", ""]
    out += [f"> {line}  " for line in _header(est)] + [""]
    alternatives = _alternative_lines(est)
    if alternatives:
        out += [f"- {label}: **{_usd(total)}**" for label, total in alternatives] + [""]
    if est.not_priced:
        out += ["**Not priced** (left out of the total):", ""]
        out += [f"- `{i.resource.stack}` `{i.resource.address}`: {_md(i.reason)}"
                for i in est.not_priced] + [""]
    out += ["| layer | monthly |", "|---|---:|"]
    out += [f"| {layer} | {_usd(total)} |" for layer, total in est.layers().items()]
    out += [f"| **total** | **{_usd(est.total)}** |", ""]
    cats = sorted(est.categories().items(), key=lambda kv: -kv[1])
    out += ["| category | monthly |", "|---|---:|"]
    out += [f"| {CATEGORIES[c]} | {_usd(v)} |" for c, v in cats] + [""]
    out.append(render_guide_markdown(est))
    out += ["### Per resource", ""]
    by_layer: dict[str, list[Priced]] = defaultdict(list)
    for item in est.items:
        by_layer[item.resource.layer].append(item)
    for layer, total in est.layers().items():
        items = by_layer[layer]
        out += [f"<details><summary>{layer} — {_usd(total)}</summary>", "",
                "| resource | monthly | how |", "|---|---:|---|"]
        for item in sorted((i for i in items if i.status == "priced"), key=lambda i: -i.usd):
            how = "<br>".join([f"{c.what}: {_usd(c.usd)} = {c.formula}" for c in item.components]
                              + [f"note: {n}" for n in item.notes]
                              + [f"alternative: {a.label} → {_usd(a.usd)}"
                                 for a in item.alternatives])
            label = f" ({item.resource.label})" if item.resource.label else ""
            out.append(f"| `{item.resource.address}`{_md(label)} | {_usd(item.usd)} | "
                       f"{_md(how)} |")
        for item in (i for i in items if i.status == "not priced"):
            out.append(f"| `{item.resource.address}` | **not priced** | {_md(item.reason)} |")
        free = [i for i in items if i.status == "free"]
        if free:
            out.append(f"| free: {len(free)} | $0.00 | {_free_summary(free)} |")
        out += ["", "</details>", ""]
    return "\n".join(out)


def to_json(est: Estimate) -> dict[str, Any]:
    title, rows = compare_guide(est)
    return {
        "env": est.env,
        "currency": "USD",
        "hours_per_month": est.assume.hours,
        "total_usd": round(est.total, 2),
        "alternatives": {kind: round(est.with_alternative(kind), 2) for kind in ALTERNATIVES},
        "prices": dict(est.prices.meta),
        "layers": {k: round(v, 2) for k, v in est.layers().items()},
        "categories": {k: round(v, 2) for k, v in est.categories().items()},
        "resources": [{
            "stack": i.resource.stack, "address": i.resource.address, "type": i.resource.type,
            "region": i.resource.region, "status": i.status, "reason": i.reason,
            "usd": round(i.usd, 4),
            "components": [{"what": c.what, "usd": round(c.usd, 4), "formula": c.formula,
                            "category": c.category} for c in i.components],
            "alternatives": [{"kind": a.kind, "usd": round(a.usd, 4), "label": a.label}
                             for a in i.alternatives],
            "notes": i.notes,
        } for i in est.items],
        "guide": {"column": title, "rows": [{
            "resource": r.resource, "spec": r.spec, "spec_ko": r.spec_ko,
            "guide_usd": r.guide_usd, "ours_usd": round(r.ours_usd, 2), "why": r.why,
        } for r in rows]},
    }


# --- the pull-request diff ---------------------------------------------------------------------


@dataclass(frozen=True)
class Mover:
    stack: str
    address: str
    type: str
    action: str
    before_usd: float
    after_usd: float

    @property
    def delta(self) -> float:
        return self.after_usd - self.before_usd


@dataclass
class EnvDiff:
    env: str
    before_usd: float = 0.0
    after_usd: float = 0.0
    movers: list[Mover] = field(default_factory=list)
    not_priced: list[tuple[str, str, str]] = field(default_factory=list)  # stack, address, why
    missing: list[str] = field(default_factory=list)  # stacks without a plan JSON
    planned: int = 0  # stacks with one

    @property
    def delta(self) -> float:
        return self.after_usd - self.before_usd


def _action(actions: Sequence[str]) -> str:
    if set(actions) <= NO_CHANGE:
        return "unchanged"
    return change_kind(actions) or "/".join(actions)


def _plan_folders(plans_dir: Path) -> list[tuple[str, Path]]:
    if not plans_dir.is_dir():
        return []
    def has_plans(folder: Path) -> bool:
        return any(folder.glob(f"{folder.name}-*.json")) or any(
            folder.glob(f"{folder.name}-*.error.txt"))

    folders = sorted(p for p in plans_dir.iterdir() if p.is_dir() and has_plans(p))
    if not folders and has_plans(plans_dir):  # the folder of one environment
        folders = [plans_dir]
    return [(folder.name, folder) for folder in folders]


def diff_env(env: str, folder: Path, prices: Prices | None = None,
             assume: Assumptions | None = None) -> EnvDiff:
    """Before and after of every plan of one environment, priced as two pools."""
    prices = prices or Prices.load()
    assume = assume or Assumptions.load(env)
    region = str(assume("default_region"))
    changes: list[Change] = []
    result = EnvDiff(env)
    stacks = {p.stem for p in folder.glob(f"{env}-*.json")}
    stacks |= {p.name.removesuffix(".error.txt") for p in folder.glob(f"{env}-*.error.txt")}
    stacks |= {p.stem for p in folder.glob(f"{env}-*.tfplan")}
    for stack in sorted(stacks, key=lambda s: (_layer_rank(s.removeprefix(f"{env}-")), s)):
        path = folder / f"{stack}.json"
        try:
            shown = json.loads(path.read_text())
        except (OSError, ValueError):
            result.missing.append(stack)
            continue
        changes += load_plan(shown, stack, stack.removeprefix(f"{env}-"), region)
        result.planned += 1
    before = price_all([c.before for c in changes if c.before], prices, assume)
    after = price_all([c.after for c in changes if c.after], prices, assume)
    by_before = {p.resource.key: p for p in before}
    by_after = {p.resource.key: p for p in after}
    result.before_usd = sum(p.usd for p in before)
    result.after_usd = sum(p.usd for p in after)
    for change in changes:
        key = (change.stack, change.address)
        b, a = by_before.get(key), by_after.get(key)
        for side in (a, b):
            if side is not None and side.status == "not priced":
                result.not_priced.append((change.stack, change.address, side.reason))
                break
        mover = Mover(change.stack, change.address, change.type, _action(change.actions),
                      b.usd if b else 0.0, a.usd if a else 0.0)
        if abs(mover.delta) >= 0.005:
            result.movers.append(mover)
    result.movers.sort(key=lambda m: (-abs(m.delta), m.stack, m.address))
    return result


def cost_diff(plans_dir: Path = PLANS) -> list[EnvDiff]:
    return [diff_env(env, folder) for env, folder in _plan_folders(plans_dir)]


def _signed(x: float) -> str:
    if abs(x) < 0.005:
        return "±$0.00"
    return f"+{_usd(x)}" if x > 0 else f"−{_usd(-x)}"


def _percent(delta: float, before: float) -> str:
    return f" ({delta / before * 100:+.1f} %)" if before >= 0.01 and abs(delta) >= 0.005 else ""


def render_diff(diffs: Sequence[EnvDiff], max_rows: int = 15) -> str:
    prices = Prices.load()
    meta = prices.meta
    out = ["### 💰 Monthly cost (estimate)", ""]
    if not diffs:
        return "\n".join(out + ["_No plan JSON found: no cost diff._", ""])
    out += ["| env | before | after | change |", "|---|---:|---:|---:|"]
    for d in diffs:
        if not d.planned:
            out.append(f"| {d.env} | – | – | no plan JSON |")
            continue
        out.append(f"| {d.env} | {_usd(d.before_usd)} | {_usd(d.after_usd)} | "
                   f"**{_signed(d.delta)}**{_percent(d.delta, d.before_usd)} |")
    movers = sorted(((d.env, m) for d in diffs for m in d.movers),
                    key=lambda em: (-abs(em[1].delta), em[0], em[1].address))
    if movers:
        out += ["", "What moves it (largest first):", "",
                "| env | resource | action | before | after | change |",
                "|---|---|---|---:|---:|---:|"]
        for env, m in movers[:max_rows]:
            action = m.action if m.action != "unchanged" else "unchanged (a related change)"
            out.append(f"| {env} | `{m.address}` ({m.stack}) | {action} | {_usd(m.before_usd)} "
                       f"| {_usd(m.after_usd)} | {_signed(m.delta)} |")
        if len(movers) > max_rows:
            rest = sum(m.delta for _, m in movers[max_rows:])
            out.append(f"| | … {len(movers) - max_rows} more | | | | {_signed(rest)} |")
    else:
        out += ["", "No resource changes the monthly estimate."]
    not_priced = [(d.env, *n) for d in diffs for n in d.not_priced]
    if not_priced:
        out += ["", f"**Not priced** ({len(not_priced)}, left out of the totals):", ""]
        out += [f"- {env} `{address}` ({stack}): {_md(why)}"
                for env, stack, address, why in not_priced[:max_rows]]
        if len(not_priced) > max_rows:
            out.append(f"- … {len(not_priced) - max_rows} more")
    missing = [f"{d.env}: {', '.join(d.missing)}" for d in diffs if d.missing]
    if missing:
        out += ["", f"Stacks without a plan JSON (not counted): {'; '.join(missing)}."]
    out += ["", f"> On-demand list prices from `{_rel(prices.path)}` "
            f"({meta.get('prices_as_of', '')}; {meta.get('status', '')}), usage from "
            f"`{_rel(ASSUMPTIONS_FILE)}`. Before = what "
            "the state holds, after = what the plan leaves; `python -m hrsaas.cost.estimate --env <env>` "
            "prints every line and the guide comparison.", ""]
    return "\n".join(out)


def render_cost_section(plans_dir: Path = PLANS, max_rows: int = 15) -> str:
    """The Markdown section the plan-summary comment appends. A broken price table or plan is
    reported inside the section: the comment is never lost to it."""
    try:
        return render_diff(cost_diff(Path(plans_dir)), max_rows)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return (f"### 💰 Monthly cost (estimate)\n\n_The cost diff failed: "
                f"{_md(type(exc).__name__ + ': ' + str(exc))}._\n")


# --- command line ------------------------------------------------------------------------------


def _estimate_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m hrsaas.cost.estimate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True, action="append",
                        help="environment (repeat for several)")
    parser.add_argument("--outdir", type=Path, default=OUTDIR, help="the synthesized cdktf.out")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    parser.add_argument("--compare-guide", action="store_true",
                        help="only the line-by-line comparison with the guide's §13 tables")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a resource is not priced")
    args = parser.parse_args(argv)
    reports, missing = [], 0
    for env in args.env:
        try:
            est = estimate(env, args.outdir)
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 2
        missing += len(est.not_priced)
        if args.format == "json":
            reports.append(to_json(est))
        elif args.compare_guide:
            reports.append(render_guide_markdown(est) if args.format == "markdown"
                           else render_guide_text(est))
        else:
            reports.append(render_markdown(est) if args.format == "markdown" else
                           render_text(est))
    if args.format == "json":
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2,
                         ensure_ascii=False))
    else:
        print("\n".join(reports), end="")
    if missing:
        print(f"{missing} resource(s) not priced: see the report", file=sys.stderr)
    return 1 if missing and args.strict else 0


def _diff_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m hrsaas.cost.estimate diff",
                                     description="the cost diff of saved plans (Markdown)")
    parser.add_argument("--plans", type=Path, default=PLANS,
                        help="plans/ (one folder per environment) or one environment's folder")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.add_argument("--max-rows", type=int, default=15)
    args = parser.parse_args(argv)
    diffs = cost_diff(args.plans)
    if not diffs:
        print(f"no plans in {args.plans}: expected <env>/<env>-<layer>.json as `make plan` "
              "writes them", file=sys.stderr)
        return 2
    if args.format == "json":
        text = json.dumps([{
            "env": d.env, "before_usd": round(d.before_usd, 2),
            "after_usd": round(d.after_usd, 2), "delta_usd": round(d.delta, 2),
            "movers": [{"stack": m.stack, "address": m.address, "type": m.type,
                        "action": m.action, "before_usd": round(m.before_usd, 4),
                        "after_usd": round(m.after_usd, 4)} for m in d.movers],
            "not_priced": [{"stack": s, "address": a, "reason": w} for s, a, w in d.not_priced],
            "missing": d.missing,
        } for d in diffs], indent=2) + "\n"
    else:
        text = render_diff(diffs, args.max_rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"cost diff written to {args.out}")
    else:
        print(text, end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diff"]:
        return _diff_main(argv[1:])
    if argv[:1] == ["estimate"]:
        argv = argv[1:]
    return _estimate_main(argv)


if __name__ == "__main__":
    sys.exit(main())
