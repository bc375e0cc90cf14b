"""Rules that relate several fields. Each returns every problem it finds, never just the first."""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

from .budget import connection_budget
from .errors import Problem
from .fargate import describe_valid_memory, is_valid_fargate_size
from .models import Environment

# moto's fixed account: only an emulated environment may use it, and it must use it.
EMULATOR_ACCOUNT_ID = "123456789012"

Rule = Callable[[Environment, "Files"], Iterator[Problem]]


class Files:
    """Which file each part of the configuration came from, for messages."""

    def __init__(self, env_file: str, catalog_file: str):
        self.env = env_file
        self.catalog = catalog_file


def fargate_sizes(env: Environment, files: Files) -> Iterator[Problem]:
    for svc in env.catalog.services.values():
        if not is_valid_fargate_size(svc.cpu_units, svc.memory_mib):
            yield Problem(
                files.catalog, f"services.{svc.name}.memory_gib",
                {"vcpu": svc.vcpu, "memory_gib": svc.memory_gib},
                "not a valid Fargate task size", describe_valid_memory(svc.cpu_units),
            )


def task_counts(env: Environment, files: Files) -> Iterator[Problem]:
    for svc in env.catalog.services.values():
        if svc.min_tasks > svc.max_tasks:
            yield Problem(
                files.catalog, f"services.{svc.name}.min_tasks", svc.min_tasks,
                f"min_tasks is greater than max_tasks ({svc.max_tasks})",
                "set min_tasks <= max_tasks",
            )
    override = env.services.task_count
    if override is not None and override.min_tasks > override.max_tasks:
        yield Problem(
            files.env, "services.task_count.min_tasks", override.min_tasks,
            f"min_tasks is greater than max_tasks ({override.max_tasks})",
            "set min_tasks <= max_tasks",
        )


def unique_routes(env: Environment, files: Files) -> Iterator[Problem]:
    owners: dict[tuple[str, object], list[str]] = defaultdict(list)
    for svc in env.catalog.services.values():
        owners[("port", svc.port)].append(svc.name)
        owners[("target_group", svc.target_group_name)].append(svc.name)
        for path in svc.paths:
            owners[("paths", path)].append(svc.name)
    for (kind, value), names in owners.items():
        if len(names) > 1:
            yield Problem(
                files.catalog, f"services.{names[1]}.{kind}", value,
                f"{kind} {value!r} is claimed by {', '.join(names)}",
                f"give each service its own {kind.replace('_', ' ')}",
            )


# An ALB listener rule matches at most five values across its conditions.
MAX_PATHS_PER_RULE = 5
TARGET_GROUP_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")


def alb_routing(env: Environment, files: Files) -> Iterator[Problem]:
    for svc in env.catalog.services.values():
        if len(svc.paths) > MAX_PATHS_PER_RULE:
            yield Problem(
                files.catalog, f"services.{svc.name}.paths", list(svc.paths),
                f"{len(svc.paths)} path patterns, but an ALB listener rule matches at most "
                f"{MAX_PATHS_PER_RULE}",
                "use a wildcard that covers several paths (e.g. '/api/v1/x/*'), or at most "
                f"{MAX_PATHS_PER_RULE} patterns",
            )
        name = svc.target_group_name
        if not TARGET_GROUP_NAME.match(name) or name.startswith("internal-"):
            yield Problem(
                files.catalog, f"services.{svc.name}.target_group", name,
                "not a valid target group name",
                "use 1-32 letters, digits and hyphens, not starting or ending with a hyphen",
            )


def ports_in_app_range(env: Environment, files: Files) -> Iterator[Problem]:
    low, high = env.network.app_port_range
    if low > high:
        yield Problem(
            files.env, "network.app_port_range", [low, high],
            "the range is reversed", "write it as [low, high]",
        )
    for svc in env.catalog.services.values():
        if not low <= svc.port <= high:
            yield Problem(
                files.catalog, f"services.{svc.name}.port", svc.port,
                f"outside sg-ecs' ingress range {low}-{high}, so the ALB could not reach it",
                f"choose a free port in {low}-{high} or widen network.app_port_range",
            )


def topics_known(env: Environment, files: Files) -> Iterator[Problem]:
    topics = set(env.catalog.topics)
    for svc in env.catalog.services.values():
        for kind in ("publishes", "subscribes"):
            for topic in getattr(svc, kind):
                if topic not in topics:
                    yield Problem(
                        files.catalog, f"services.{svc.name}.{kind}", topic,
                        "unknown topic", f"use one of {sorted(topics)} or add it to topics",
                    )


def subnets(env: Environment, files: Files) -> Iterator[Problem]:
    net = env.network
    vpc = ipaddress.IPv4Network(net.vpc_cidr)
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    names: set[str] = set()
    for i, subnet in enumerate(net.subnets):
        field = f"network.subnets[{i}]"
        cidr = ipaddress.IPv4Network(subnet.cidr)
        if subnet.name in names:
            yield Problem(files.env, f"{field}.name", subnet.name, "duplicate subnet name",
                          "give every subnet a unique name")
        names.add(subnet.name)
        if not cidr.subnet_of(vpc):
            yield Problem(files.env, f"{field}.cidr", subnet.cidr,
                          f"outside the VPC CIDR {net.vpc_cidr}",
                          f"choose a range inside {net.vpc_cidr}")
        for other_name, other in seen:
            if cidr.overlaps(other):
                yield Problem(files.env, f"{field}.cidr", subnet.cidr,
                              f"overlaps subnet {other_name} ({other})",
                              "choose a range that no other subnet uses")
        seen.append((subnet.name, cidr))
        if subnet.az not in env.azs:
            yield Problem(files.env, f"{field}.az", subnet.az,
                          f"not one of the environment's AZs {list(env.azs)}",
                          "use one of azs or add it there")
    for tier in ("public", "private_app", "private_data"):
        azs = {s.az for s in net.tier(tier)}
        missing = [az for az in env.azs if az not in azs]
        if missing:
            yield Problem(files.env, "network.subnets", tier,
                          f"no {tier} subnet in {missing}",
                          f"add a {tier} subnet in each of {list(env.azs)}")
    if net.nat_gateways > len(net.tier("public")):
        yield Problem(files.env, "network.nat_gateways", net.nat_gateways,
                      f"more NAT gateways than public subnets ({len(net.tier('public'))})",
                      "use at most one NAT gateway per public subnet")
    if env.capabilities.multi_az and len(env.azs) < 2:
        yield Problem(files.env, "capabilities.multi_az", True,
                      "Multi-AZ needs at least two AZs", "list two AZs in azs")


def azs_in_region(env: Environment, files: Files) -> Iterator[Problem]:
    for az in env.azs:
        if not az.startswith(env.region) or len(az) != len(env.region) + 1:
            yield Problem(files.env, "azs", az, f"not an AZ of region {env.region}",
                          f"use {env.region}a, {env.region}c, …")


def connection_budget_holds(env: Environment, files: Files) -> Iterator[Problem]:
    db = env.database
    if db.reserved_connections >= db.max_connections:
        yield Problem(files.env, "database.reserved_connections", db.reserved_connections,
                      f"not below max_connections ({db.max_connections})",
                      "reserve fewer connections or raise max_connections")
        return
    budget = connection_budget(env)
    if not budget.holds:
        need = budget.worst_case + db.reserved_connections
        yield Problem(
            files.env, "database.max_connections", db.max_connections,
            f"the connection budget does not hold: worst case {budget.worst_case} connections "
            f"(Σ pool × tasks during a rolling deploy) > {budget.available} available "
            f"(max_connections - reserved_connections {db.reserved_connections})",
            f"raise database.max_connections to at least {need}, lower pools or max_tasks in "
            "the catalog, lower services.deployment_maximum_percent, or put RDS Proxy in front "
            "— and write the decision down in the environment file",
        )


def emulator_isolation(env: Environment, files: Files) -> Iterator[Problem]:
    if env.emulator is None:
        if env.account_id == EMULATOR_ACCOUNT_ID:
            yield Problem(files.env, "account_id", env.account_id,
                          "this is the emulator's fake account, not a real one",
                          "set the environment's real 12-digit AWS account ID")
        return
    url = urlparse(env.emulator.endpoint)
    host = url.hostname or ""
    loopback = host == "localhost"
    try:
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if url.scheme not in ("http", "https") or not loopback or url.port is None:
        yield Problem(files.env, "emulator.endpoint", env.emulator.endpoint,
                      "the emulator must be a loopback URL with a port",
                      "use http://127.0.0.1:<port> (or HRSAAS_EMULATOR_ENDPOINT)")
    if env.account_id != EMULATOR_ACCOUNT_ID:
        yield Problem(files.env, "account_id", env.account_id,
                      "an emulated environment must use the emulator's fake account",
                      f"set account_id = \"{EMULATOR_ACCOUNT_ID}\"")


def data_tier(env: Environment, files: Files) -> Iterator[Problem]:
    db, cache = env.database, env.cache
    if db.max_allocated_storage_gib < db.allocated_storage_gib:
        yield Problem(files.env, "database.max_allocated_storage_gib",
                      db.max_allocated_storage_gib,
                      f"below allocated_storage_gib ({db.allocated_storage_gib})",
                      "set the autoscaling ceiling at or above the allocated storage")
    if env.capabilities.multi_az and cache.replicas < 1:
        yield Problem(files.env, "cache.replicas", cache.replicas,
                      "Multi-AZ needs a replica to fail over to (automatic failover)",
                      "set cache.replicas = 1 or more, or turn capabilities.multi_az off")
    if not cache.cluster_mode and cache.shards != 1:
        yield Problem(files.env, "cache.shards", cache.shards,
                      "shards need cluster mode", "set cache.cluster_mode = true or shards = 1")
    msg = env.messaging
    if msg.dlq_retention_seconds <= msg.queue_retention_seconds:
        yield Problem(files.env, "messaging.dlq_retention_seconds", msg.dlq_retention_seconds,
                      f"not longer than the queues' retention ({msg.queue_retention_seconds})",
                      "keep dead letters longer than live messages (e.g. 1209600 = 14 days)")
    window = env.secrets.recovery_window_days
    if window == 0 and not env.is_emulated:
        yield Problem(files.env, "secrets.recovery_window_days", window,
                      "0 deletes secrets at once, without recovery",
                      "use 7-30 days (0 is for the emulator only)")
    elif 0 < window < 7:
        yield Problem(files.env, "secrets.recovery_window_days", window,
                      "Secrets Manager accepts 0 or 7-30 days", "use 7-30 days")


def operations(env: Environment, files: Files) -> Iterator[Problem]:
    backup, db = env.backup, env.database
    if backup.copy_region == env.region:
        yield Problem(files.env, "backup.copy_region", backup.copy_region,
                      "the copy is in the same region as the source: a region failure loses both",
                      f"choose another region than {env.region} (e.g. ap-northeast-1)")
    if backup.copy_region and backup.copy_retention_days < backup.retention_days:
        yield Problem(files.env, "backup.copy_retention_days", backup.copy_retention_days,
                      f"the disaster-recovery copy expires before the source "
                      f"({backup.retention_days} days)",
                      "keep the copy at least as long as backup.retention_days")
    if db.read_replicas and db.monitoring_interval_seconds == 0:
        yield Problem(files.env, "database.read_replicas", db.read_replicas,
                      "replica lag is watched through enhanced monitoring, which is off",
                      "set database.monitoring_interval_seconds (e.g. 60)")
    obs = env.observability
    if obs.ecs_cpu_percent <= env.compute.cpu_target_percent:
        yield Problem(files.env, "observability.ecs_cpu_percent", obs.ecs_cpu_percent,
                      f"not above the scaling target ({env.compute.cpu_target_percent} %): the "
                      "alarm would fire whenever autoscaling works as intended",
                      "alarm above compute.cpu_target_percent (e.g. 90)")
    if obs.ecs_memory_percent <= env.compute.memory_target_percent:
        yield Problem(files.env, "observability.ecs_memory_percent", obs.ecs_memory_percent,
                      f"not above the scaling target ({env.compute.memory_target_percent} %)",
                      "alarm above compute.memory_target_percent (e.g. 90)")


def edge_names(env: Environment, files: Files) -> Iterator[Problem]:
    edge = env.edge
    names = ", ".join(edge.certificate_names())
    for i, alias in enumerate(edge.frontend_aliases):
        if not edge.covers(alias):
            yield Problem(files.env, f"edge.frontend_aliases[{i}]", alias,
                          f"not covered by the certificate's names ({names})",
                          f"use {edge.domain} or a single label under it")
    if not edge.covers(edge.api_name):
        yield Problem(files.env, "edge.api_name", edge.api_name,
                      f"not covered by the certificate's names ({names})",
                      f"use a single label under {edge.domain}, e.g. api.{edge.domain}")


RULES: tuple[Rule, ...] = (
    fargate_sizes,
    task_counts,
    unique_routes,
    alb_routing,
    ports_in_app_range,
    topics_known,
    subnets,
    azs_in_region,
    connection_budget_holds,
    data_tier,
    edge_names,
    operations,
    emulator_isolation,
)


def check(env: Environment, files: Files) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(env, files)]
