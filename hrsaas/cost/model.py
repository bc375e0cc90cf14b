"""What the estimate works on: a resource (from a synthesized stack or one side of a plan's
change), what its pricer says about it (``Priced``), and the two tables every price comes from —
``cost/prices.toml`` (``Prices``) and ``cost/assumptions.toml`` (``Assumptions``)."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config.loader import merge
from ..toolenv import ROOT
from .fmt import rel

COST_DIR = ROOT / "cost"
PRICES_FILE = COST_DIR / "prices.toml"
ASSUMPTIONS_FILE = COST_DIR / "assumptions.toml"
GUIDE_FILE = COST_DIR / "guide.toml"

# The cost categories of every component, and their names in reports and in cost/guide.toml.
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
    # the audit layer (account baseline and cost guard)
    "cloudtrail": "CloudTrail",
    "guardduty": "GuardDuty",
    "access_analyzer": "IAM Access Analyzer",
    "config": "AWS Config",
    "budgets": "AWS Budgets + Cost Anomaly Detection",
    "eventbridge": "EventBridge",
}

# Free resource types and the category whose line they belong to: the guide comparison lists
# such a line at $0.00 when the env has one (a finance owner sees the budget and the anomaly
# monitor cost nothing, rather than not seeing them).
FREE_LINES = {
    "aws_cloudtrail": "cloudtrail",
    "aws_accessanalyzer_analyzer": "access_analyzer",
    "aws_budgets_budget": "budgets",
    "aws_ce_anomaly_monitor": "budgets",
    "aws_ce_anomaly_subscription": "budgets",
    "aws_cloudwatch_event_rule": "eventbridge",
}

# Alternative prices a resource can show: what the total becomes with each kind applied.
ALTERNATIVES = {
    "max": "at the autoscaling maximum",
    "spot": "with the FARGATE_SPOT share of each capacity-provider strategy",
    "reserved": "with 1-year reservations (RDS, ElastiCache; no upfront)",
}

# What a resource's ``${aws_x.name…}`` references: the type and the name of another resource.
REF = re.compile(r"(?<![\w.])(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)")
# A condition between two numbers, ``${released ? 2 : 0}`` (the condition may hold ``?``).
_CONDITIONAL = re.compile(r"^\$\{(.+)\?\s*(-?\d+(?:\.\d+)?)\s*:\s*(-?\d+(?:\.\d+)?)\s*\}$", re.S)
_ARN_REGION = re.compile(r"^arn:aws[\w-]*:[\w-]+:([a-z]{2}(?:-[a-z]+)+-\d):")


# --- attribute values -----------------------------------------------------------------------------


def is_expr(value: Any) -> bool:
    """A Terraform expression (``${…}``): known only at plan or apply."""
    return isinstance(value, str) and "${" in value


def to_number(value: Any) -> float | None:
    """A number, also from its string form; None for booleans, expressions and text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and not is_expr(value):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def conditional_numbers(value: Any) -> tuple[float, float] | None:
    """The two numbers of a Terraform condition between numbers (``${cond ? 2 : 0}``)."""
    match = _CONDITIONAL.match(value) if isinstance(value, str) else None
    return (float(match[2]), float(match[3])) if match else None


def as_block(value: Any) -> dict[str, Any]:
    """A nested block: an object in synthesized JSON, a one-element list in plan JSON."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return {}



def arn_region(value: Any) -> str | None:
    """The region of an ARN (``arn:aws:backup:ap-northeast-1:…`` → ``ap-northeast-1``)."""
    match = _ARN_REGION.match(value) if isinstance(value, str) else None
    return match[1] if match else None


# --- resources and what their pricers say ---------------------------------------------------------


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
        if value is None or name in self.unknown or is_expr(value):
            return default
        return value

    def number(self, name: str, default: float | None = None) -> float | None:
        value = to_number(self.get(name))
        return default if value is None else value

    def block(self, name: str) -> dict[str, Any]:
        """A nested block: an object in synthesized JSON, a one-element list in plan JSON."""
        return as_block(self.get(name))

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
    """One line of a resource's price: what, how much a month, and the formula that says how."""

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
    """A resource with its price: the components and alternatives its pricer added, or why it
    is free or not priced."""

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
        if kind not in ALTERNATIVES:
            raise ValueError(f"unknown alternative {kind!r}")
        self.alternatives.append(Alternative(kind, usd, label))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def free(self, reason: str) -> None:
        self.status, self.reason = "free", reason


# --- the price table and the usage assumptions ----------------------------------------------------


def load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class Prices:
    """The on-demand list prices of ``cost/prices.toml``: per region and service, ``[global]``
    services, ``[free]`` types with their reason. A missing price raises ``NotPriced``."""

    table: Mapping[str, Any]
    path: Path = PRICES_FILE

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> Prices:
        return cls(load_toml(path), path)

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
        return rel(self.path)


@dataclass(frozen=True)
class Assumptions:
    """The usage figures of ``cost/assumptions.toml``: ``[default]`` under ``[env.<name>]``.
    ``assume("nat", "processed_gib_per_gateway")`` reads one; a missing one raises
    ``NotPriced``."""

    env: str
    values: Mapping[str, Any]
    path: Path = ASSUMPTIONS_FILE

    @classmethod
    def load(cls, env: str, path: Path = ASSUMPTIONS_FILE,
             overrides: Mapping[str, Any] | None = None) -> Assumptions:
        raw = load_toml(path)
        merged = merge(raw.get("default", {}), raw.get("env", {}).get(env, {}))
        return cls(env, merge(merged, overrides or {}), path)

    @property
    def hours(self) -> float:
        return float(self.values["hours_per_month"])

    def __call__(self, *keys: str) -> Any:
        node: Any = self.values
        for key in keys:
            if not isinstance(node, Mapping) or key not in node:
                raise NotPriced(f"assumption {'.'.join(keys)} is not in {rel(self.path)}")
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
        raise NotPriced(f"no {table} pattern of {rel(self.path)} matches {name!r}")

