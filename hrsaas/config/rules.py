"""Rules that relate several fields. Each returns every problem it finds, never just the first."""

from __future__ import annotations

import functools
import ipaddress
import re
import typing
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel

from .aws_rules import AWS_RULES
from .budget import connection_budget
from .errors import Problem
from .facts import aws_facts
from .fargate import FARGATE_SIZES, describe_valid_memory, is_valid_fargate_size
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
    for key, svc in env.catalog.services.items():
        if svc.cpu_units not in FARGATE_SIZES:
            yield Problem(
                files.catalog, f"services.{key}.vcpu", svc.vcpu,
                "not a Fargate vCPU size", describe_valid_memory(svc.cpu_units),
            )
        elif not is_valid_fargate_size(svc.cpu_units, svc.memory_mib):
            yield Problem(
                files.catalog, f"services.{key}.memory_gib", svc.memory_gib,
                f"not a valid Fargate task size with {svc.vcpu:g} vCPU",
                describe_valid_memory(svc.cpu_units),
            )


def task_counts(env: Environment, files: Files) -> Iterator[Problem]:
    for key, svc in env.catalog.services.items():
        if svc.min_tasks > svc.max_tasks:
            yield Problem(
                files.catalog, f"services.{key}.min_tasks", svc.min_tasks,
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
    for key, svc in env.catalog.services.items():
        owners[("port", svc.port)].append(key)
        owners[("target_group", svc.target_group_name)].append(key)
        for path in svc.paths:
            owners[("paths", path)].append(key)
    for (kind, value), names in owners.items():
        names = list(dict.fromkeys(names))  # a duplicate within one service: unique_lists
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
    for key, svc in env.catalog.services.items():
        if len(svc.paths) > MAX_PATHS_PER_RULE:
            yield Problem(
                files.catalog, f"services.{key}.paths", list(svc.paths),
                f"{len(svc.paths)} path patterns, but an ALB listener rule matches at most "
                f"{MAX_PATHS_PER_RULE}",
                "use a wildcard that covers several paths (e.g. '/api/v1/x/*'), or at most "
                f"{MAX_PATHS_PER_RULE} patterns",
            )
        name = svc.target_group_name
        if not TARGET_GROUP_NAME.match(name) or name.startswith("internal-"):
            derived = svc.target_group is None
            yield Problem(
                files.catalog, f"services.{key}.target_group", name,
                "not a valid target group name" + (" (tg-<name>, derived from the service's "
                                                   "name)" if derived else ""),
                ("set target_group: " if derived else "use ")
                + "1-32 letters, digits and hyphens, not starting or ending with a hyphen",
            )


def ports_in_app_range(env: Environment, files: Files) -> Iterator[Problem]:
    low, high = env.network.app_port_range
    if low > high:
        yield Problem(
            files.env, "network.app_port_range", [low, high],
            "the range is reversed", "write it as [low, high]",
        )
    for key, svc in env.catalog.services.items():
        if not low <= svc.port <= high:
            yield Problem(
                files.catalog, f"services.{key}.port", svc.port,
                f"outside sg-ecs' ingress range {low}-{high}, so the ALB could not reach it",
                f"choose a free port in {low}-{high} or widen network.app_port_range",
            )


def topics_known(env: Environment, files: Files) -> Iterator[Problem]:
    topics = set(env.catalog.topics)
    for key, svc in env.catalog.services.items():
        for kind in ("publishes", "subscribes"):
            for topic in getattr(svc, kind):
                if topic not in topics:
                    yield Problem(
                        files.catalog, f"services.{key}.{kind}", topic,
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


def unique_lists(env: Environment, files: Files) -> Iterator[Problem]:
    """No list may name the same thing twice: topics, subscriptions, AZs, endpoints, ports,
    paths, e-mail subscribers… (each becomes a resource whose ID is the value)."""
    yield from _duplicates(env, "", files.env, skip=("catalog",))
    yield from _duplicates(env.catalog, "", files.catalog)


def _duplicates(model: Any, prefix: str, file: str, skip: tuple[str, ...] = ()
                ) -> Iterator[Problem]:
    for name, field in type(model).model_fields.items():
        if name in skip:
            continue
        value = getattr(model, name, None)
        path = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            yield from _duplicates(value, f"{path}.", file)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, BaseModel):
                    yield from _duplicates(item, f"{path}.{key}.", file)
        elif isinstance(value, tuple) and _is_open_tuple(field.annotation):
            seen: set[Any] = set()
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _duplicates(item, f"{path}[{i}].", file)
                    continue
                try:
                    if item in seen:
                        yield Problem(file, f"{path}[{i}]", item,
                                      f"{item!r} is listed twice in {name}",
                                      "list each value once")
                    seen.add(item)
                except TypeError:
                    continue


def _is_open_tuple(annotation: Any) -> bool:
    """``tuple[X, ...]`` (a list in TOML), not a fixed pair like app_port_range."""
    for candidate in (annotation, *typing.get_args(annotation)):
        args = typing.get_args(candidate)
        if typing.get_origin(candidate) is tuple and len(args) == 2 and args[1] is Ellipsis:
            return True
    return False


def catalog_services(env: Environment, files: Files) -> Iterator[Problem]:
    services = env.catalog.services
    if not services:
        yield Problem(files.catalog, "services", {},
                      "the service catalog is empty: there is nothing to deploy",
                      "add the services as [services.<name>] tables (guide §4)")
    owners: dict[str, list[str]] = defaultdict(list)
    for key, svc in services.items():
        owners[svc.name].append(key)
    for name, keys in owners.items():
        for key in keys:
            if len(keys) > 1 and key != name:  # the one whose table is not named so
                yield Problem(
                    files.catalog, f"services.{key}.name", name,
                    f"two services are named {name!r} ([services.{'], [services.'.join(keys)}])"
                    ": every resource of a service is named after it",
                    f"remove name from [services.{key}] (the table name is the service's name)")


def high_priority_keeps_running(env: Environment, files: Files) -> Iterator[Problem]:
    """A protected (production) environment never scales a high-priority service to zero."""
    if not env.capabilities.protect_stateful:
        return
    override = env.services.task_count
    keys = {svc.name: key for key, svc in env.catalog.services.items()}
    for svc in env.deployed_services():
        if svc.priority == "high" and svc.min_tasks < 1:
            key = keys.get(svc.name, svc.name)
            field = ("services.task_count.min_tasks" if override is not None
                     else f"services.{key}.min_tasks")
            yield Problem(
                files.env if override is not None else files.catalog, field, svc.min_tasks,
                f"{key} is a high-priority service and this environment protects its state "
                "(capabilities.protect_stateful): with min_tasks 0 it can scale to no task",
                "keep at least one task (the guide runs high-priority services with 2)")


def health_checks(env: Environment, files: Files) -> Iterator[Problem]:
    for table, check in (("target_health_check", env.catalog.target_health_check),
                         ("container_health_check", env.catalog.container_health_check)):
        if check.timeout_seconds >= check.interval_seconds:
            yield Problem(
                files.catalog, f"{table}.timeout_seconds", check.timeout_seconds,
                f"not below the interval ({check.interval_seconds} s): a check must time out "
                "before the next one starts (the ALB refuses it for target groups)",
                f"use a timeout below {check.interval_seconds} s (the guide: 10 s of 30 s)")


def path_patterns(env: Environment, files: Files) -> Iterator[Problem]:
    """ALB path patterns: valid characters and length, a valid rule priority (the port), and
    no pattern that shadows another service's: rules are evaluated by priority, lowest first,
    so a broader pattern with a lower number answers every request of the narrower one."""
    facts = aws_facts()
    low, high = facts.rule_priority
    allowed = facts.path_pattern_characters
    rules = []
    for key, svc in env.catalog.services.items():
        priority = listener_priority(svc)
        if not low <= priority <= high:
            yield Problem(files.catalog, f"services.{key}.port", svc.port,
                          f"the port is the service's ALB rule priority, and priorities are "
                          f"{low}-{high}", f"choose a port in {low}-{high}")
        for path in svc.paths:
            bad = sorted({c for c in path if not (c.isascii() and (c.isalnum() or c in allowed))})
            if bad or len(path) > facts.path_pattern_max_length:
                yield Problem(
                    files.catalog, f"services.{key}.paths", path,
                    f"not a valid ALB path pattern (at most {facts.path_pattern_max_length} "
                    f"characters of A-Z a-z 0-9 and {allowed.replace('A-Za-z0-9', '')}"
                    + (f"; not {''.join(bad)!r}" if bad else "") + ")",
                    "write a path such as '/api/v1/auth/*' (* and ? are the wildcards)")
            rules.append((priority, key, path))
    shadowed: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for p1, k1, path1 in rules:
        for p2, k2, path2 in rules:
            if k1 != k2 and path1 != path2 and p1 < p2 and glob_covers(path1, path2):
                shadowed[(k1, path1, p1)].append(f"{k2}'s {path2!r} (priority {p2})")
    for (key, path, priority), victims in shadowed.items():
        yield Problem(
            files.catalog, f"services.{key}.paths", path,
            f"shadows {len(victims)} rule(s) of other services: {key}'s rule has priority "
            f"{priority} (its port), so the ALB evaluates it first, and it matches every "
            f"request of {', '.join(victims)}",
            f"narrow {key}'s pattern to its own prefix (e.g. '/api/v1/{key}/*')")


def listener_priority(svc: Any) -> int:
    """The ALB rule priority of a service: its port (hrsaas/layers/compute.py)."""
    return int(svc.port)


def glob_covers(broad: str, narrow: str) -> bool:
    """True when every path ``narrow`` matches is also matched by ``broad`` (ALB wildcards:
    ``*`` any characters, ``?`` one character)."""

    @functools.cache
    def covers(i: int, j: int) -> bool:
        if i == len(broad):
            return j == len(narrow)
        if broad[i] == "*":
            return covers(i + 1, j) or (j < len(narrow) and covers(i, j + 1))
        if j == len(narrow) or narrow[j] == "*":
            return False
        if broad[i] == "?":
            return covers(i + 1, j + 1)
        return narrow[j] != "?" and broad[i] == narrow[j] and covers(i + 1, j + 1)

    return covers(0, 0)


def alarm_subscribers(env: Environment, files: Files) -> Iterator[Problem]:
    """A protected (production) environment's alarms must reach someone."""
    obs = env.observability
    if env.capabilities.protect_stateful and not obs.critical_emails:
        yield Problem(files.env, "observability.critical_emails", list(obs.critical_emails),
                      "this environment protects its state (capabilities.protect_stateful) but "
                      "its critical alarms notify nobody",
                      "add the on-call addresses to [observability] critical_emails (and "
                      "warning_emails)")


RULES: tuple[Rule, ...] = (
    fargate_sizes,
    task_counts,
    unique_routes,
    alb_routing,
    ports_in_app_range,
    topics_known,
    subnets,
    connection_budget_holds,
    data_tier,
    edge_names,
    operations,
    emulator_isolation,
    unique_lists,
    catalog_services,
    high_priority_keeps_running,
    health_checks,
    path_patterns,
    alarm_subscribers,
    *AWS_RULES,
)


def check(env: Environment, files: Files) -> list[Problem]:
    return [problem for rule in RULES for problem in rule(env, files)]
