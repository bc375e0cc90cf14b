"""The AWS facts validation checks against, from ``aws_facts.toml`` (sources and date there)."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FACTS_FILE = Path(__file__).with_name("aws_facts.toml")


@dataclass(frozen=True)
class AwsFacts:
    raw: dict[str, Any]

    @property
    def written(self) -> str:
        return self.raw["written"]

    # --- RDS ---------------------------------------------------------------------------------
    def rds_classes(self) -> frozenset[str]:
        return _expand(self.raw["rds"]["instance_classes"])

    def rds_families(self) -> list[str]:
        return list(self.raw["rds"]["instance_classes"])

    def rds_sizes(self, family: str) -> list[str]:
        return list(self.raw["rds"]["instance_classes"].get(family, ()))

    @property
    def rds_engine_versions(self) -> list[str]:
        return list(self.raw["rds"]["engine_versions"])

    @property
    def rds_window_minutes(self) -> int:
        return int(self.raw["rds"]["windows"]["minimum_minutes"])

    @property
    def performance_insights_retention(self) -> list[int]:
        return list(self.raw["rds"]["performance_insights"]["retention_days"])

    @property
    def postgres_ports(self) -> tuple[int, int]:
        low, high = self.raw["rds"]["ports"]["postgres"]
        return int(low), int(high)

    # --- ElastiCache -------------------------------------------------------------------------
    def cache_node_types(self) -> frozenset[str]:
        return _expand(self.raw["elasticache"]["node_types"])

    def cache_families(self) -> list[str]:
        return list(self.raw["elasticache"]["node_types"])

    def cache_sizes(self, family: str) -> list[str]:
        return list(self.raw["elasticache"]["node_types"].get(family, ()))

    @property
    def cache_engine_versions(self) -> list[str]:
        return list(self.raw["elasticache"]["engine_versions"])

    @property
    def cache_window_minutes(self) -> int:
        return int(self.raw["elasticache"]["windows"]["minimum_minutes"])

    # --- EC2 / VPC ---------------------------------------------------------------------------
    @property
    def vpc_prefix(self) -> tuple[int, int]:
        low, high = self.raw["ec2"]["vpc_prefix"]
        return int(low), int(high)

    @property
    def subnet_prefix(self) -> tuple[int, int]:
        low, high = self.raw["ec2"]["subnet_prefix"]
        return int(low), int(high)

    def availability_zones(self, region: str) -> list[str] | None:
        """The region's AZ names, None when the facts do not list the region."""
        zones = self.raw["ec2"]["availability_zones"].get(region)
        return None if zones is None else list(zones)

    @property
    def regions(self) -> list[str]:
        return list(self.raw["ec2"]["availability_zones"])

    def endpoint_services(self, kind: str) -> list[str]:
        return list(self.raw["ec2"]["endpoints"][kind])

    # --- ELB / ECS ---------------------------------------------------------------------------
    @property
    def rule_priority(self) -> tuple[int, int]:
        low, high = self.raw["elbv2"]["rule_priority"]
        return int(low), int(high)

    @property
    def path_pattern_max_length(self) -> int:
        return int(self.raw["elbv2"]["path_pattern_max_length"])

    @property
    def path_pattern_characters(self) -> str:
        return self.raw["elbv2"]["path_pattern_characters"]

    def limit(self, name: str) -> int:
        return int(self.raw["limits"][name])


def _expand(families: dict[str, list[str]]) -> frozenset[str]:
    return frozenset(f"{family}.{size}" for family, sizes in families.items() for size in sizes)


@functools.cache
def aws_facts() -> AwsFacts:
    with FACTS_FILE.open("rb") as fh:
        return AwsFacts(tomllib.load(fh))
