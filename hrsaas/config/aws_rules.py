"""Rules that know AWS: each checks a value against the facts in ``aws_facts.toml`` (instance
classes, engine versions, AZs, windows, CIDR sizes, endpoint services, cron, name lengths), so
that what AWS would refuse at apply time is refused here, before anything is synthesized."""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .errors import Problem
from .facts import AwsFacts, aws_facts
from .models import Environment

if TYPE_CHECKING:
    from .rules import Files

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK = 7 * 1440


def _closest(value: str, choices: list[str] | frozenset[str], n: int = 3) -> str:
    close = difflib.get_close_matches(value, sorted(choices), n=n, cutoff=0.5)
    return f"did you mean {' or '.join(close)}? " if close else ""


def _class_fix(value: str, prefix: str, families: list[str], sizes: Callable[[str], list[str]],
               known: frozenset[str]) -> str:
    family = value.rsplit(".", 1)[0]
    if family in families:
        return (f"{_closest(value, known)}{family} comes in: "
                f"{', '.join(sizes(family))}")
    return f"{_closest(value, known)}use a {prefix} class of: {', '.join(families)}"


def database(env: Environment, files: Files) -> Iterator[Problem]:
    facts, db = aws_facts(), env.database
    classes = facts.rds_classes()
    for field, value in (("instance_class", db.instance_class),
                         ("read_replica_class", db.read_replica_class)):
        if value is not None and value not in classes:
            yield Problem(files.env, f"database.{field}", value,
                          "not a DB instance class RDS for PostgreSQL offers",
                          _class_fix(value, "db", facts.rds_families(), facts.rds_sizes,
                                     classes))
    if db.engine_version not in facts.rds_engine_versions:
        yield Problem(files.env, "database.engine_version", db.engine_version,
                      "not a PostgreSQL 15 version RDS offers (the guide, §5, runs "
                      "PostgreSQL 15)",
                      f"use \"15\" (minor upgrades are automatic) or one of: "
                      f"{', '.join(facts.rds_engine_versions[1:])}")
    retention = facts.performance_insights_retention
    if db.performance_insights_retention_days not in retention:
        near = min(retention, key=lambda d: abs(d - db.performance_insights_retention_days))
        yield Problem(files.env, "database.performance_insights_retention_days",
                      db.performance_insights_retention_days,
                      "RDS keeps Performance Insights data 7 days, a number of months × 31 "
                      "(31-713) or 731 days",
                      f"use 7, a multiple of 31 up to 713, or 731 (nearest: {near})")
    low, high = facts.postgres_ports
    if not low <= env.network.database_port <= high:
        yield Problem(files.env, "network.database_port", env.network.database_port,
                      f"RDS for PostgreSQL listens on a port in {low}-{high}",
                      "use 5432 (the guide's port)")


def cache(env: Environment, files: Files) -> Iterator[Problem]:
    facts, c = aws_facts(), env.cache
    types = facts.cache_node_types()
    if c.node_type not in types:
        yield Problem(files.env, "cache.node_type", c.node_type,
                      "not an ElastiCache node type",
                      _class_fix(c.node_type, "cache", facts.cache_families(), facts.cache_sizes,
                                 types))
    if c.engine_version not in facts.cache_engine_versions:
        yield Problem(files.env, "cache.engine_version", c.engine_version,
                      "not a Redis 7 version ElastiCache offers",
                      f"use one of: {', '.join(facts.cache_engine_versions)}")


# --- maintenance and backup windows ----------------------------------------------------------

def _daily(text: str) -> tuple[int, int] | None:
    """``hh24:mi-hh24:mi`` → (start, end) minutes of the day; None when malformed."""
    match = re.fullmatch(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", text)
    if not match:
        return None
    h1, m1, h2, m2 = map(int, match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        return None
    return h1 * 60 + m1, h2 * 60 + m2


def _weekly(text: str) -> tuple[int, int] | None:
    """``ddd:hh24:mi-ddd:hh24:mi`` → (start, end) minutes of the week; None when malformed."""
    match = re.fullmatch(r"([a-z]{3}):(\d{2}):(\d{2})-([a-z]{3}):(\d{2}):(\d{2})", text)
    if not match:
        return None
    d1, h1, m1, d2, h2, m2 = match.groups()
    if d1 not in DAYS or d2 not in DAYS:
        return None
    h1, m1, h2, m2 = int(h1), int(m1), int(h2), int(m2)
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        return None
    return DAYS.index(d1) * 1440 + h1 * 60 + m1, DAYS.index(d2) * 1440 + h2 * 60 + m2


def _length(start: int, end: int, period: int) -> int:
    return (end - start) % period


def _intervals(start: int, end: int, period: int) -> list[tuple[int, int]]:
    """The window as half-open intervals within [0, period), split where it wraps."""
    if end > start:
        return [(start, end)]
    return [(start, period), (0, end)]


def _overlap(daily: tuple[int, int], weekly: tuple[int, int]) -> bool:
    week = _intervals(*weekly, WEEK)
    for day in range(7):
        for s, e in _intervals(*daily, 1440):
            s, e = day * 1440 + s, day * 1440 + e
            if any(s < we and ws < e for ws, we in week):
                return True
    return False


def _window_problems(files: Files, table: str, daily_field: str, daily: str, weekly: str,
                     minimum: int, service: str) -> Iterator[Problem]:
    day = _daily(daily)
    if day is None:
        yield Problem(files.env, f"{table}.{daily_field}", daily,
                      "not a daily window hh24:mi-hh24:mi (UTC, hours 00-23, minutes 00-59)",
                      "write it like 17:00-18:00")
    elif _length(*day, 1440) < minimum:
        yield Problem(files.env, f"{table}.{daily_field}", daily,
                      f"{service} needs a window of at least {minimum} minutes "
                      f"(this one is {_length(*day, 1440)})",
                      f"widen it to {minimum} minutes or more")
    week = _weekly(weekly)
    if week is None:
        yield Problem(files.env, f"{table}.maintenance_window", weekly,
                      "not a weekly window ddd:hh24:mi-ddd:hh24:mi (UTC, days mon-sun)",
                      "write it like sun:18:30-sun:19:30")
    elif _length(*week, WEEK) < minimum:
        yield Problem(files.env, f"{table}.maintenance_window", weekly,
                      f"{service} needs a window of at least {minimum} minutes "
                      f"(this one is {_length(*week, WEEK)})",
                      f"widen it to {minimum} minutes or more")
    if day is not None and week is not None and _overlap(day, week):
        yield Problem(files.env, f"{table}.maintenance_window", weekly,
                      f"overlaps the {daily_field.replace('_', ' ')} ({daily}): {service} "
                      "refuses windows that overlap",
                      f"move maintenance after the {daily_field.split('_')[0]} (e.g. 30 "
                      "minutes after it ends)")


def windows(env: Environment, files: Files) -> Iterator[Problem]:
    facts = aws_facts()
    yield from _window_problems(files, "database", "backup_window", env.database.backup_window,
                                env.database.maintenance_window, facts.rds_window_minutes, "RDS")
    yield from _window_problems(files, "cache", "snapshot_window", env.cache.snapshot_window,
                                env.cache.maintenance_window, facts.cache_window_minutes,
                                "ElastiCache")


# --- network ---------------------------------------------------------------------------------

def network(env: Environment, files: Files) -> Iterator[Problem]:
    facts, net = aws_facts(), env.network
    low, high = facts.vpc_prefix
    vpc = ipaddress.IPv4Network(net.vpc_cidr)
    if not low <= vpc.prefixlen <= high:
        yield Problem(files.env, "network.vpc_cidr", net.vpc_cidr,
                      f"a VPC's IPv4 block is between /{low} and /{high} (this is "
                      f"/{vpc.prefixlen})", "use a /16 like the guide's 10.0.0.0/16")
    low, high = facts.subnet_prefix
    for i, subnet in enumerate(net.subnets):
        size = ipaddress.IPv4Network(subnet.cidr).prefixlen
        if not low <= size <= high:
            yield Problem(files.env, f"network.subnets[{i}].cidr", subnet.cidr,
                          f"a subnet's IPv4 block is between /{low} and /{high} (this is "
                          f"/{size}; AWS reserves 5 addresses of each)",
                          "use a /24 like the guide's subnets")
    known = {kind: facts.endpoint_services(kind) for kind in ("interface", "gateway")}
    for kind, values in (("interface", net.interface_endpoints),
                         ("gateway", net.gateway_endpoints)):
        for i, service in enumerate(values):
            if service not in known[kind]:
                other = "gateway" if kind == "interface" else "interface"
                hint = (f"{service} is a {other} endpoint: list it in {other}_endpoints"
                        if service in known[other]
                        else f"{_closest(service, known[kind])}use one of: "
                             f"{', '.join(known[kind])}")
                yield Problem(files.env, f"network.{kind}_endpoints[{i}]", service,
                              f"not {'an' if kind == 'interface' else 'a'} {kind} VPC "
                              "endpoint service "
                              f"(com.amazonaws.{env.region}.{service})", hint)


def availability_zones(env: Environment, files: Files) -> Iterator[Problem]:
    facts = aws_facts()
    zones = facts.availability_zones(env.region)
    if zones is None:
        yield Problem(files.env, "region", env.region,
                      "not a region whose availability zones this project knows",
                      f"{_closest(env.region, facts.regions)}use one of "
                      f"{', '.join(facts.regions)}, or add the region's AZs to "
                      "hrsaas/config/aws_facts.toml")
    else:
        for i, az in enumerate(env.azs):
            if az not in zones:
                where = ("not an AZ of region " + env.region if not az.startswith(env.region)
                         else f"{env.region} has no such AZ")
                yield Problem(files.env, f"azs[{i}]", az, where,
                              f"use AZs of {env.region}: {', '.join(zones)}")
    copy = env.backup.copy_region
    if copy is not None and copy not in facts.regions:
        yield Problem(files.env, "backup.copy_region", copy, "not a region this project knows",
                      f"{_closest(copy, facts.regions)}use one of {', '.join(facts.regions)}")


# --- AWS Backup schedule ---------------------------------------------------------------------

CRON_FIELDS = (
    ("minutes", 0, 59, ()), ("hours", 0, 23, ()), ("day-of-month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                      "NOV", "DEC")),
    ("day-of-week", 1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
    ("year", 1970, 2199, ()),
)


def _cron_problem(expression: str) -> str | None:
    match = re.fullmatch(r"cron\((.*)\)", expression.strip())
    if not match:
        return "not a cron(...) expression"
    fields = match.group(1).split()
    if len(fields) != len(CRON_FIELDS):
        return (f"{len(fields)} fields, but an AWS cron expression has 6: minutes hours "
                "day-of-month month day-of-week year")
    for value, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        if value in ("*", "?"):
            if value == "?" and name not in ("day-of-month", "day-of-week"):
                return f"'?' is only for day-of-month or day-of-week, not {name}"
            continue
        for part in value.split(","):
            base, _, step = part.partition("/")
            if step and not step.isdigit():
                return f"{name} {value!r}: the step after '/' must be a number"
            for bound in base.split("-") if base != "*" else ():
                token = bound.upper().rstrip("LW").split("#")[0] if name != "year" else bound
                if token.upper() in names or (token == "" and bound.upper() in ("L", "W")):
                    continue
                if not token.isdigit() or not low <= int(token) <= high:
                    return f"{name} {value!r} is outside {low}-{high}"
    dom, dow = fields[2], fields[4]
    if (dom == "?") == (dow == "?"):
        return "one of day-of-month and day-of-week must be '?' (and only one)"
    if not fields[0].isdigit():
        return f"minutes {fields[0]!r}: AWS Backup starts a rule at most once an hour"
    return None


def backup_schedule(env: Environment, files: Files) -> Iterator[Problem]:
    problem = _cron_problem(env.backup.schedule)
    if problem:
        yield Problem(files.env, "backup.schedule", env.backup.schedule,
                      f"not a valid AWS Backup schedule: {problem}",
                      "write cron(minutes hours day-of-month month day-of-week year), e.g. "
                      "cron(0 18 * * ? *) for daily at 18:00 UTC")


# --- names derived from the configuration ----------------------------------------------------

def derived_names(env: Environment, files: Files) -> Iterator[Problem]:
    """Names built from the project, the environment and the catalog must fit AWS's limits
    (hrsaas/naming.py builds them; hrsaas/layers/compute.py the ECS service roles)."""
    from ..naming import Names  # naming imports the config package: import when used

    facts = aws_facts()
    names = Names.of(env)
    env_field = ("project", env.project)
    checks: list[tuple[str, str, int, tuple[str, Any], str]] = [
        ("the ALB", names.resource(), facts.limit("load_balancer_name"), env_field, files.env),
        ("the cache replication group", names.resource("cache"),
         facts.limit("elasticache_replication_group_id"), env_field, files.env),
        ("the database", names.resource("db"), facts.limit("rds_instance_identifier"),
         env_field, files.env),
        ("the frontend bucket", names.env_suffixed("frontend"), facts.limit("s3_bucket_name"),
         env_field, files.env),
        ("the log bucket", bucket_name(names, "logs"), facts.limit("s3_bucket_name"),
         env_field, files.env),
        ("the file bucket", bucket_name(names, "files"), facts.limit("s3_bucket_name"),
         env_field, files.env),
        ("the state bucket", names.state_bucket(), facts.limit("s3_bucket_name"), env_field,
         files.env),
        ("the CI apply role", names.ci_role("apply"), facts.limit("iam_role_name"), env_field,
         files.env),
    ]
    prefix = f"{names.resource()}-"
    keys = {svc.name: key for key, svc in env.catalog.services.items()}
    for svc in env.deployed_services():
        key = keys.get(svc.name, svc.name)
        svc_field = ("name", svc.name)
        for role in ("execution", "task"):
            checks.append((f"{key}'s {role} role", f"{prefix}{svc.service_name}-{role}",
                           facts.limit("iam_role_name"), svc_field, files.catalog))
        checks.append((f"{key}'s queue", f"{svc.service_name}-queue",
                       facts.limit("sqs_queue_name"), svc_field, files.catalog))
    seen = set()
    for what, name, limit, (field, value), file in checks:
        if len(name) <= limit:
            continue
        field_name = field if file == files.env else f"services.{keys.get(value, value)}.name"
        if (field_name, what) in seen:
            continue
        seen.add((field_name, what))
        excess = len(name) - limit
        yield Problem(file, field_name, value,
                      f"makes {what} {name!r} {len(name)} characters long; AWS allows {limit}",
                      f"shorten it by {excess} character(s)")
    # modules/ecs_service: the IAM prefix of the service roles is at most 20 characters.
    if len(prefix) > 20 and env.deployed_services():
        yield Problem(files.env, "project", env.project,
                      f"with the environment name {env.name!r} it makes the service roles' "
                      f"prefix {prefix!r} {len(prefix)} characters; the ECS service module "
                      "allows 20",
                      f"shorten the project or the environment name by {len(prefix) - 20} "
                      "character(s)")


def bucket_name(names: Any, purpose: str) -> str:
    """The log and file buckets' names as the edge layer builds them: ``Names.global_bucket``
    (with the account) where naming has it, the guide's ``env_suffixed`` pattern before."""
    build = getattr(names, "global_bucket", None) or names.env_suffixed
    return build(purpose)


AWS_RULES: tuple[Callable[[Environment, Files], Iterator[Problem]], ...] = (
    database, cache, windows, network, availability_zones, backup_schedule, derived_names,
)

__all__ = ["AWS_RULES", "AwsFacts"]
