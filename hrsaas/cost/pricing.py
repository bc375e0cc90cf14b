"""The pricers: one function per resource type, registered with ``@pricer("aws_…")``, that reads
the resource's own attributes and adds what it costs a month — each component with its formula,
the price table's rates and the assumptions it used — or says why it is free or not priced.

``price_all(resources, prices, assumptions)`` prices a pool of resources together (a pricer may
look at related ones: a service's task definition, a cluster's services, a backup plan's
selections). A type with neither a pricer nor a ``[free]`` entry in ``cost/prices.toml`` is
"not priced", never zero.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .fmt import num, rate, rel, usd
from .model import (
    CATEGORIES,
    REF,
    Assumptions,
    NotPriced,
    Priced,
    Prices,
    Resource,
    arn_region,
    as_block,
    conditional_numbers,
    is_expr,
    to_number,
)

# --- the registry ---------------------------------------------------------------------------------


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
        """Resources of ``rtype`` that ``r``'s ``attr`` references (same stack)."""
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
    """What a pricer prices with: the price table, the env's assumptions, the pool."""

    prices: Prices
    assume: Assumptions
    pool: Pool

    @property
    def hours(self) -> float:
        return self.assume.hours


Pricer = Callable[[Ctx, Resource, Priced], None]
PRICERS: dict[str, Pricer] = {}


def pricer(*types: str) -> Callable[[Pricer], Pricer]:
    """Register the decorated function as the pricer of ``types``."""
    def register(fn: Pricer) -> Pricer:
        for rtype in types:
            PRICERS[rtype] = fn
        return fn
    return register


def price_resource(ctx: Ctx, r: Resource) -> Priced:
    """One resource: its pricer's verdict, ``[free]``, or "not priced" with the reason."""
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
                      f"{rel(ctx.prices.path)}")
    return out


def price_all(resources: Sequence[Resource], prices: Prices, assume: Assumptions
              ) -> list[Priced]:
    """Every resource, priced as one pool (an environment, or one side of its plans)."""
    ctx = Ctx(prices, assume, Pool(resources))
    return [price_resource(ctx, r) for r in resources]


# --- the pricers, by what they price --------------------------------------------------------------


# network ------------------------------------------------------------------------------------------


@pricer("aws_nat_gateway")
def _nat_gateway(ctx: Ctx, r: Resource, out: Priced) -> None:
    hour = ctx.prices.region(r.region, "vpc", "nat_gateway_hour")
    per_gib = ctx.prices.region(r.region, "vpc", "nat_gateway_gib")
    gib = float(ctx.assume("nat", "processed_gib_per_gateway"))
    out.add("gateway hours", hour * ctx.hours, f"{rate(hour)}/h × {num(ctx.hours)} h", "nat")
    out.add("data processed", gib * per_gib,
            f"{num(gib)} GB (nat.processed_gib_per_gateway) × {rate(per_gib)}/GB", "nat")


@pricer("aws_eip")
def _eip(ctx: Ctx, r: Resource, out: Priced) -> None:
    hour = ctx.prices.region(r.region, "vpc", "public_ipv4_hour")
    out.add("public IPv4 address", hour * ctx.hours,
            f"1 address × {rate(hour)}/h × {num(ctx.hours)} h", "public_ipv4")


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
            f"{why} × {rate(hour)}/AZ-h × {num(ctx.hours)} h", "vpc_endpoints")
    out.add("data processed", gib * per_gib,
            f"{num(gib)} GB (vpc_endpoint.processed_gib_per_endpoint) × {rate(per_gib)}/GB",
            "vpc_endpoints")


# compute ------------------------------------------------------------------------------------------


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


def running_number(r: Resource, attr: str) -> tuple[float | None, str]:
    """The attribute's number, and for a condition known at apply between two numbers the
    larger — what runs — with a note saying so: a service without a released image has
    ``desired_count = ${released ? 2 : 0}`` and is priced at 2 tasks. (None, "") when it is
    only known at apply otherwise."""
    value = r.number(attr)
    if value is not None:
        return value, ""
    branches = conditional_numbers(r.values.get(attr))
    if branches is None or attr in r.unknown:
        return None, ""
    high = max(branches)
    return high, (f"{attr} is {num(branches[0])} or {num(branches[1])} by a condition known at "
                  f"apply (a service runs no task until its image is released): priced at "
                  f"{num(high)}, what runs")


def scaling_range(pool: Pool, service: Resource) -> tuple[float, float] | None:
    """(min, max) tasks of the Application Auto Scaling target of an ECS service (its
    resource_id ends with the service's name; the cluster part may be a remote-state read)."""
    name = service.get("name")
    for target in pool.of_type("aws_appautoscaling_target"):
        rid = target.values.get("resource_id")
        if (isinstance(rid, str) and name and rid.endswith(f"/{name}")
                and target.values.get("service_namespace") == "ecs"):
            low, _ = running_number(target, "min_capacity")
            high, _ = running_number(target, "max_capacity")
            if low is not None and high is not None:
                return low, high
    return None


def spot_share(strategy: Sequence[Mapping[str, Any]], tasks: float) -> float:
    """Tasks a capacity-provider strategy places on FARGATE_SPOT: bases first, the rest by
    weight (ECS's own rule)."""
    items = [(s.get("capacity_provider"), to_number(s.get("base")) or 0.0,
              to_number(s.get("weight")) or 0.0) for s in strategy]
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
    tasks, why = running_number(r, "desired_count")
    if tasks is None:
        if "desired_count" in r.unknown or r.values.get("desired_count") is not None:
            raise NotPriced("desired_count is only known at apply")
        tasks = 0.0  # Terraform's default
    if why:
        out.note(why)
    arch = (td.block("runtime_platform").get("cpu_architecture") or "X86_64").upper()
    vcpu, gib = cpu / 1024, memory / 1024
    p_cpu = ctx.prices.region(r.region, "fargate", "vcpu_hour", arch)
    p_mem = ctx.prices.region(r.region, "fargate", "gib_hour", arch)
    per_task = (vcpu * p_cpu + gib * p_mem) * ctx.hours
    out.add("tasks", tasks * per_task,
            f"{num(tasks)} task(s) × ({num(vcpu)} vCPU × {rate(p_cpu)} + {num(gib)} GB × "
            f"{rate(p_mem)}) /h × {num(ctx.hours)} h [Fargate {arch}, {td.get('family')}]",
            "fargate")
    extra = (to_number(td.block("ephemeral_storage").get("size_in_gib")) or 20.0) - 20.0
    if extra > 0:
        p_disk = ctx.prices.region(r.region, "fargate", "ephemeral_gib_hour")
        out.add("ephemeral storage beyond 20 GiB", tasks * extra * p_disk * ctx.hours,
                f"{num(tasks)} × {num(extra)} GiB × {rate(p_disk)}/GiB-h × {num(ctx.hours)} h",
                "fargate")
    scaling = scaling_range(ctx.pool, r)
    if scaling is not None:
        low, high = scaling
        out.note(f"autoscaling {num(low)}–{num(high)} tasks: {usd(low * per_task)}–"
                 f"{usd(high * per_task)}")
        if high != tasks:
            out.alt("max", out.usd + (high - tasks) * per_task,
                    f"at {num(high)} tasks (autoscaling max)")
    strategy = _strategy(ctx.pool, r)
    spot = spot_share(strategy, tasks)
    if spot > 0:
        s_cpu = ctx.prices.region(r.region, "fargate", "spot_vcpu_hour", arch)
        s_mem = ctx.prices.region(r.region, "fargate", "spot_gib_hour", arch)
        per_spot = (vcpu * s_cpu + gib * s_mem) * ctx.hours
        out.alt("spot", out.usd - spot * (per_task - per_spot),
                f"{num(spot)} of {num(tasks)} task(s) on FARGATE_SPOT per its capacity-provider "
                f"strategy ({rate(s_cpu)}/vCPU-h, {rate(s_mem)}/GB-h)")


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
            f"({num(per_cluster)} + {num(per_service)} × {len(services)} services) metrics "
            f"(ecs.container_insights_metrics_per_*) × {rate(p_metric)}/metric-month",
            "cloudwatch")
    gib = float(ctx.assume("ecs", "container_insights_log_gib_per_service")) * len(services)
    p_log = ctx.prices.region(r.region, "cloudwatch", "logs_ingest_gib")
    out.add("Container Insights performance logs", gib * p_log,
            f"{num(gib)} GB (ecs.container_insights_log_gib_per_service × {len(services)}) × "
            f"{rate(p_log)}/GB", "cloudwatch")


@pricer("aws_appautoscaling_policy")
def _scaling_policy(ctx: Ctx, r: Resource, out: Priced) -> None:
    kind = r.get("policy_type") or "StepScaling"
    if kind != "TargetTrackingScaling":
        out.free(f"{kind}: its alarms are resources of their own")
        return
    price = ctx.prices.region(r.region, "cloudwatch", "alarm_metric_month")
    out.add("target-tracking alarms", 2 * price,
            f"2 alarms (high, low) AWS creates × {rate(price)}/alarm-month", "cloudwatch")


@pricer("aws_lb")
def _lb(ctx: Ctx, r: Resource, out: Priced) -> None:
    kind = r.get("load_balancer_type") or "application"
    if kind != "application":
        raise NotPriced(f"load_balancer_type {kind}: only ALB prices are in the table")
    hour = ctx.prices.region(r.region, "elb", "alb_hour")
    lcu_hour = ctx.prices.region(r.region, "elb", "alb_lcu_hour")
    lcu = float(ctx.assume("alb", "average_lcu"))
    out.add("load balancer hours", hour * ctx.hours, f"{rate(hour)}/h × {num(ctx.hours)} h",
            "alb")
    out.add("LCUs", lcu * lcu_hour * ctx.hours,
            f"{num(lcu)} LCU (alb.average_lcu) × {rate(lcu_hour)}/LCU-h × {num(ctx.hours)} h",
            "alb")
    if r.get("internal") is True:
        return
    azs, why = _subnet_count(ctx, r, "subnets", "subnet_mapping")
    ipv4 = ctx.prices.region(r.region, "vpc", "public_ipv4_hour")
    out.add("public IPv4 addresses", azs * ipv4 * ctx.hours,
            f"{why} × 1 address × {rate(ipv4)}/h × {num(ctx.hours)} h", "public_ipv4")
    egress = float(ctx.assume("alb", "internet_egress_gib"))
    p_out = ctx.prices.region(r.region, "vpc", "internet_egress_gib")
    out.add("data transfer out to the internet", egress * p_out,
            f"{num(egress)} GB (alb.internet_egress_gib) × {rate(p_out)}/GB", "data_transfer")


# data ---------------------------------------------------------------------------------------------


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
    az = f" × {num(factor)} (Multi-AZ)" if multi else " (Single-AZ)"
    instance = hourly * factor * ctx.hours
    out.add("instance hours", instance,
            f"{cls} {rate(hourly)}/h{az} × {num(ctx.hours)} h", "rds")

    gib = r.number("allocated_storage")
    if gib is None and source is not None:  # a replica starts with its primary's storage
        gib = to_number(inherited.get("allocated_storage"))
        out.note(f"read replica of {source.get('identifier') or source.address}: its storage")
    if gib is None:
        raise NotPriced("allocated_storage is only known at apply")
    storage = r.get("storage_type") or ("io1" if r.get("iops") else "gp2")
    if storage not in ("gp2", "gp3"):
        raise NotPriced(f"storage_type {storage}: only gp2/gp3 are in the table")
    p_gib = ctx.prices.region(r.region, "rds", f"{storage}_gib_month")
    out.add(f"{storage} storage", gib * p_gib * factor,
            f"{num(gib)} GiB × {rate(p_gib)}/GiB-month{az}", "rds")
    if storage == "gp3":
        big = gib >= 400
        for attr, base, key, unit in (("iops", 12000 if big else 3000, "gp3_iops_month", "IOPS"),
                                      ("storage_throughput", 500 if big else 125,
                                       "gp3_mibps_month", "MiB/s")):
            extra = (r.number(attr) or 0.0) - base
            if extra > 0:
                price = ctx.prices.region(r.region, "rds", key)
                out.add(f"gp3 {unit} beyond the baseline", extra * price * factor,
                        f"{num(extra)} {unit} over {num(base)} × {rate(price)}/month{az}", "rds")

    retention = r.number("backup_retention_period", 0.0) or 0.0
    if retention > 0:
        change = float(ctx.assume("rds", "backup_daily_change_fraction"))
        billable = gib * change * retention
        p_backup = ctx.prices.region(r.region, "rds", "backup_gib_month")
        out.add("backup storage beyond the free allowance", billable * p_backup,
                f"{num(gib)} GiB × {num(change)}/day (rds.backup_daily_change_fraction) × "
                f"{num(retention)} days kept × {rate(p_backup)}/GB-month (the first 100 % of "
                "the storage is free)", "rds")

    pi_days = r.number("performance_insights_retention_period", 7.0) or 7.0
    if r.get("performance_insights_enabled") is True and pi_days > 7:
        vcpus = ctx.prices.table.get("instance_vcpus", {}).get(cls)
        if not vcpus:
            raise NotPriced(f"vCPUs of {cls} are not in [instance_vcpus] of "
                            f"{rel(ctx.prices.path)}")
        months = math.ceil(pi_days / 31)
        first = ctx.prices.region(r.region, "rds", "pi_first_month_vcpu")
        more = ctx.prices.region(r.region, "rds", "pi_additional_month_vcpu")
        n = vcpus * factor
        out.add("Performance Insights retention", n * (first + (months - 1) * more),
                f"{num(n)} vCPU × ({rate(first)} + {months - 1} × {rate(more)}) for "
                f"{num(pi_days)} days ({months} months; 7 days are free)", "rds")

    interval = r.number("monitoring_interval", 0.0) or 0.0
    if interval > 0:
        gib_60 = float(ctx.assume("rds", "enhanced_monitoring_gib_at_60s"))
        logs = gib_60 * 60 / interval * (factor if multi else 1)
        p_log = ctx.prices.region(r.region, "cloudwatch", "logs_ingest_gib")
        out.add("Enhanced Monitoring logs", logs * p_log,
                f"{num(logs)} GB (rds.enhanced_monitoring_gib_at_60s × 60/{num(interval)} s) × "
                f"{rate(p_log)}/GB", "cloudwatch")

    if cls.startswith("db.t"):
        surplus = float(ctx.assume("rds", "cpu_credit_surplus_vcpu_hours"))
        credit = ctx.prices.region(r.region, "rds", "cpu_credit_vcpu_hour")
        if surplus > 0:
            out.add("CPU credits (unlimited mode)", surplus * credit,
                    f"{num(surplus)} vCPU-h (rds.cpu_credit_surplus_vcpu_hours) × "
                    f"{rate(credit)}", "rds")
        else:
            out.note(f"T-class in unlimited mode: sustained CPU above the baseline costs "
                     f"{rate(credit)}/vCPU-h (rds.cpu_credit_surplus_vcpu_hours = 0)")

    if ctx.prices.has(r.region, "rds", "postgres_ri_1y_hour", cls):
        ri = ctx.prices.region(r.region, "rds", "postgres_ri_1y_hour", cls)
        out.alt("reserved", out.usd - instance + ri * factor * ctx.hours,
                f"1-year reservation, no upfront: {rate(ri)}/h{az}")


# ElastiCache engines and the key prefix of their node prices in cost/prices.toml.
CACHE_ENGINES = {"redis": "", "valkey": "valkey_"}


def cache_nodes(r: Resource) -> tuple[str, float, str]:
    """(engine, nodes, how the count was read) of a replication group."""
    engine = r.get("engine") or "redis"
    if engine not in CACHE_ENGINES:
        raise NotPriced(f"engine {engine}: only Redis OSS and Valkey node prices are in the "
                        "table")
    clusters = r.number("num_cache_clusters")
    if clusters is not None:
        return engine, clusters, f"{num(clusters)} node(s) (num_cache_clusters)"
    shards = r.number("num_node_groups", 1.0) or 1.0
    replicas = r.number("replicas_per_node_group", 0.0) or 0.0
    return engine, shards * (replicas + 1), (f"{num(shards)} shard(s) × ({num(replicas)} "
                                             "replica(s) + 1)")


@pricer("aws_elasticache_replication_group")
def _replication_group(ctx: Ctx, r: Resource, out: Priced) -> None:
    engine, nodes, shape = cache_nodes(r)
    prefix = CACHE_ENGINES[engine]
    node = r.get("node_type")
    if not node:
        raise NotPriced("node_type is only known at apply")
    hourly = ctx.prices.region(r.region, "elasticache", f"{prefix}node_hour", node)
    out.add("nodes", nodes * hourly * ctx.hours,
            f"{shape} × {node} {rate(hourly)}/h ({engine}) × {num(ctx.hours)} h",
            "elasticache")
    kept = r.number("snapshot_retention_limit", 0.0) or 0.0
    if kept > 1:
        data = float(ctx.assume("elasticache", "dataset_gib"))
        price = ctx.prices.region(r.region, "elasticache", "snapshot_gib_month")
        out.add("snapshots beyond the free one", (kept - 1) * data * price,
                f"{num(kept - 1)} snapshots × {num(data)} GB (elasticache.dataset_gib) × "
                f"{rate(price)}/GB-month", "elasticache")
    if ctx.prices.has(r.region, "elasticache", f"{prefix}node_ri_1y_hour", node):
        ri = ctx.prices.region(r.region, "elasticache", f"{prefix}node_ri_1y_hour", node)
        out.alt("reserved", out.usd - nodes * (hourly - ri) * ctx.hours,
                f"1-year reserved nodes, no upfront: {rate(ri)}/h")


# storage, edge ------------------------------------------------------------------------------------


def _usage_category(usage: Mapping[str, Any], default: str, where: str) -> str:
    """The cost category an assumption pattern names (``category = "cloudtrail"``)."""
    category = str(usage.get("category", default))
    if category not in CATEGORIES:
        raise NotPriced(f"{where}.category = {category!r} is not a cost category: use one of "
                        f"{', '.join(CATEGORIES)}")
    return category


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
    # A pattern may name the cost category its buckets belong to (the audit trail's bucket is
    # CloudTrail's cost, not the frontend's).
    category = _usage_category(usage, "s3_cloudfront", where)
    out.add("storage (Standard)", gib * p_gib,
            f"{num(gib)} GB ({where}.storage_gib) × {rate(p_gib)}/GB-month", category)
    out.add("requests", puts * p_put + gets * p_get,
            f"{num(puts)}k PUT × {rate(p_put)} + {num(gets)}k GET × {rate(p_get)} per 1,000 "
            f"({where})", category)


@pricer("aws_cloudfront_distribution")
def _cloudfront(ctx: Ctx, r: Resource, out: Priced) -> None:
    area = str(ctx.assume("cloudfront", "viewer_area"))
    gib = float(ctx.assume("cloudfront", "egress_gib"))
    requests = float(ctx.assume("cloudfront", "https_requests_million"))
    p_gib = ctx.prices.world("cloudfront", "egress_gib", area)
    p_req = ctx.prices.world("cloudfront", "https_10k", area)
    out.add("data transfer out to viewers", gib * p_gib,
            f"{num(gib)} GB (cloudfront.egress_gib) × {rate(p_gib)}/GB ({area})",
            "s3_cloudfront")
    out.add("HTTPS requests", requests * 100 * p_req,
            f"{num(requests)} M (cloudfront.https_requests_million) × {rate(p_req)}/10,000",
            "s3_cloudfront")


@pricer("aws_ecr_repository")
def _ecr_repository(ctx: Ctx, r: Resource, out: Priced) -> None:
    gib = float(ctx.assume("ecr", "stored_gib_per_repository"))
    price = ctx.prices.region(r.region, "ecr", "storage_gib_month")
    out.add("image storage", gib * price,
            f"{num(gib)} GB (ecr.stored_gib_per_repository) × {rate(price)}/GB-month", "ecr")


@pricer("aws_dynamodb_table")
def _dynamodb(ctx: Ctx, r: Resource, out: Priced) -> None:
    mode = r.get("billing_mode") or "PROVISIONED"
    if mode == "PAY_PER_REQUEST":
        writes = float(ctx.assume("dynamodb", "write_million"))
        reads = float(ctx.assume("dynamodb", "read_million"))
        p_w = ctx.prices.region(r.region, "dynamodb", "write_million")
        p_r = ctx.prices.region(r.region, "dynamodb", "read_million")
        out.add("on-demand requests", writes * p_w + reads * p_r,
                f"{num(writes)} M writes × {rate(p_w)} + {num(reads)} M reads × {rate(p_r)} "
                "(dynamodb.*_million)", "dynamodb")
    else:
        wcu, rcu = r.number("write_capacity", 0.0) or 0.0, r.number("read_capacity", 0.0) or 0.0
        p_w = ctx.prices.region(r.region, "dynamodb", "wcu_hour")
        p_r = ctx.prices.region(r.region, "dynamodb", "rcu_hour")
        out.add("provisioned capacity", (wcu * p_w + rcu * p_r) * ctx.hours,
                f"({num(wcu)} WCU × {rate(p_w)} + {num(rcu)} RCU × {rate(p_r)}) /h × "
                f"{num(ctx.hours)} h", "dynamodb")
    gib = float(ctx.assume("dynamodb", "storage_gib"))
    p_gib = ctx.prices.region(r.region, "dynamodb", "storage_gib_month")
    out.add("storage", gib * p_gib,
            f"{num(gib)} GB (dynamodb.storage_gib) × {rate(p_gib)}/GB-month", "dynamodb")
    if r.block("point_in_time_recovery").get("enabled") is True:
        p_pitr = ctx.prices.region(r.region, "dynamodb", "pitr_gib_month")
        out.add("point-in-time recovery", gib * p_pitr,
                f"{num(gib)} GB × {rate(p_pitr)}/GB-month", "dynamodb")


# security, messaging, registry --------------------------------------------------------------------


@pricer("aws_kms_key")
def _kms_key(ctx: Ctx, r: Resource, out: Priced) -> None:
    key = ctx.prices.region(r.region, "kms", "key_month")
    out.add("customer managed key", key, f"{rate(key)}/key-month", "kms")
    if r.get("enable_key_rotation") is True:
        rotations = min(int(ctx.assume("kms", "rotations_billed")), 2)
        price = ctx.prices.region(r.region, "kms", "rotation_month")
        if rotations:
            out.add("rotated key versions", rotations * price,
                    f"{rotations} rotation(s) (kms.rotations_billed) × {rate(price)}/month",
                    "kms")
        else:
            out.note(f"yearly rotation adds {rate(price)}/month after each of the first two "
                     "rotations")
    requests = float(ctx.assume("kms", "requests_10k_per_key"))
    p_req = ctx.prices.region(r.region, "kms", "requests_10k")
    out.add("requests", requests * p_req,
            f"{num(requests * 10_000)} requests (kms.requests_10k_per_key) × {rate(p_req)}/10,000",
            "kms")


@pricer("aws_secretsmanager_secret")
def _secret(ctx: Ctx, r: Resource, out: Priced) -> None:
    price = ctx.prices.region(r.region, "secretsmanager", "secret_month")
    calls = float(ctx.assume("secretsmanager", "api_calls_10k_per_secret"))
    p_api = ctx.prices.region(r.region, "secretsmanager", "api_10k")
    out.add("secret", price, f"{rate(price)}/secret-month", "secrets")
    out.add("API calls", calls * p_api,
            f"{num(calls * 10_000)} calls (secretsmanager.api_calls_10k_per_secret) × "
            f"{rate(p_api)}/10,000", "secrets")


@pricer("aws_sqs_queue")
def _sqs_queue(ctx: Ctx, r: Resource, out: Priced) -> None:
    if r.get("fifo_queue") is True:
        raise NotPriced("FIFO queue prices are not in the table")
    name = r.get("name") or r.get("name_prefix") or r.address
    pattern, usage = ctx.assume.match("sqs.queues", name)
    requests = float(usage.get("requests_million", 0))
    price = ctx.prices.region(r.region, "sqs", "requests_million")
    out.add("requests", requests * price,
            f'{num(requests)} M (sqs.queues."{pattern}".requests_million) × {rate(price)}/M',
            "messaging")


@pricer("aws_sns_topic")
def _sns_topic(ctx: Ctx, r: Resource, out: Priced) -> None:
    name = r.get("name") or r.get("name_prefix") or r.address
    pattern, usage = ctx.assume.match("sns.topics", name)
    publishes = float(usage.get("publishes_million", 0))
    price = ctx.prices.region(r.region, "sns", "publishes_million")
    out.add("publishes", publishes * price,
            f'{num(publishes)} M (sns.topics."{pattern}".publishes_million) × {rate(price)}/M',
            "messaging")


@pricer("aws_ssm_parameter")
def _ssm_parameter(ctx: Ctx, r: Resource, out: Priced) -> None:
    tier = r.get("tier") or "Standard"
    if tier != "Advanced":
        out.free(f"{tier} parameters have no charge (standard throughput)")
        return
    price = ctx.prices.region(r.region, "ssm", "advanced_parameter_month")
    out.add("advanced parameter", price, f"{rate(price)}/parameter-month", "ssm")


@pricer("aws_route53_zone")
def _route53_zone(ctx: Ctx, r: Resource, out: Priced) -> None:
    zone = ctx.prices.world("route53", "hosted_zone_month")
    queries = float(ctx.assume("route53", "queries_million_per_zone"))
    p_q = ctx.prices.world("route53", "queries_million")
    out.add("hosted zone", zone, f"{rate(zone)}/zone-month", "route53")
    out.add("queries", queries * p_q,
            f"{num(queries)} M (route53.queries_million_per_zone) × {rate(p_q)}/M", "route53")


@pricer("aws_wafv2_web_acl")
def _web_acl(ctx: Ctx, r: Resource, out: Priced) -> None:
    rules = r.blocks("rule")
    paid = set(ctx.prices.table.get("global", {}).get("waf", {}).get("paid_rule_groups", []))
    for rule in rules:
        statement = as_block(rule.get("statement"))
        group = as_block(statement.get("managed_rule_group_statement")).get("name")
        if group in paid:
            raise NotPriced(f"managed rule group {group} has a subscription fee not in the table")
    acl = ctx.prices.world("waf", "web_acl_month")
    per_rule = ctx.prices.world("waf", "rule_month")
    requests = float(ctx.assume("waf", "requests_million"))
    p_req = ctx.prices.world("waf", "requests_million")
    out.add("web ACL", acl, f"{rate(acl)}/web-ACL-month", "waf")
    out.add("rules", len(rules) * per_rule,
            f"{len(rules)} rules/rule groups × {rate(per_rule)}/month", "waf")
    out.add("requests", requests * p_req,
            f"{num(requests)} M (waf.requests_million) × {rate(p_req)}/M", "waf")


# observability, backup ----------------------------------------------------------------------------


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
    category = _usage_category(usage, "cloudwatch", where)  # CloudTrail's delivery: its own
    out.add("ingestion", gib * p_in * factor,
            f"{num(gib)} GB ({where}.ingest_gib) × {rate(p_in)}/GB"
            + (" × 0.5 (infrequent access)" if factor != 1 else "")
            + (" (vended logs)" if vended else ""), category)
    days = r.number("retention_in_days", 0.0) or 0.0
    months = days / (365 / 12) if days > 0 else float(ctx.assume("logs", "never_expire_months"))
    ratio = float(ctx.assume("logs", "stored_fraction"))
    stored = gib * ratio * months
    p_store = ctx.prices.region(r.region, "cloudwatch", "logs_storage_gib_month")
    out.add("storage", stored * p_store,
            f"{num(gib)} GB × {num(ratio)} compressed (logs.stored_fraction) × "
            f"{months:.1f} months kept ({num(days) + ' days' if days else 'never expires'}) × "
            f"{rate(p_store)}/GB-month", category)


@pricer("aws_cloudwatch_metric_alarm")
def _metric_alarm(ctx: Ctx, r: Resource, out: Priced) -> None:
    queries = r.blocks("metric_query")
    metrics = sum(1 for q in queries if as_block(q.get("metric"))) if queries else 1
    periods = [to_number(as_block(q.get("metric")).get("period")) for q in queries] + [
        r.number("period")]
    high_res = any(p is not None and p < 60 for p in periods)
    anomaly = any("ANOMALY_DETECTION_BAND" in str(q.get("expression") or "") for q in queries)
    key = "alarm_high_res_metric_month" if high_res else "alarm_metric_month"
    price = ctx.prices.region(r.region, "cloudwatch", key)
    n = metrics * (3 if anomaly else 1)
    out.add("alarm", n * price,
            f"{n} metric(s) evaluated × {rate(price)}/alarm-metric-month"
            + (" (high resolution)" if high_res else "")
            + (" (anomaly detection: ×3)" if anomaly else ""), "cloudwatch")


@pricer("aws_cloudwatch_log_metric_filter")
def _log_metric_filter(ctx: Ctx, r: Resource, out: Priced) -> None:
    metrics = len(r.blocks("metric_transformation")) or 1
    price = ctx.prices.region(r.region, "cloudwatch", "metric_month")
    out.add("custom metric", metrics * price,
            f"{metrics} metric(s) it publishes × {rate(price)}/metric-month", "cloudwatch")


@pricer("aws_cloudwatch_dashboard")
def _dashboard(ctx: Ctx, r: Resource, out: Priced) -> None:
    price = ctx.prices.region(r.region, "cloudwatch", "dashboard_month")
    out.add("dashboard", price, f"{rate(price)}/dashboard-month (the first 3 of an account "
            "are free)", "cloudwatch")



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
                            f"{num(gib)} GiB × {num(used)} used (backup.rds_used_fraction)"))
            elif ":s3:" in text or "bucket" in text:
                name = text.split(":::", 1)[1] if text.startswith("arn:") else str(
                    ctx.assume("backup", "s3_bucket"))
                pattern, usage = _bucket_usage(ctx, name)
                gib = float(usage.get("storage_gib", 0))
                out.append(("s3", f"bucket {name}", gib,
                            f'{num(gib)} GB (s3.buckets."{pattern}".storage_gib)'))
            else:
                raise NotPriced(f"backup of {text!r}: only RDS and S3 are priced")
    return out


def _copy_region(ctx: Ctx, plan: Resource, copy: Mapping[str, Any]) -> str:
    dest = copy.get("destination_vault_arn")
    if region := arn_region(dest):
        return region
    if is_expr(dest):
        for m in REF.findall(dest):
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
        lifecycle = as_block(rule.get("lifecycle"))
        if to_number(lifecycle.get("cold_storage_after")):
            raise NotPriced("cold-storage transitions are not in the table")
        days = to_number(lifecycle.get("delete_after")) or 0.0
        schedule = str(rule.get("schedule") or "")
        if not re.fullmatch(r"cron\(\S+ \S+ \* \* \? \*\)", schedule):
            out.note(f"rule {rule.get('rule_name')}: schedule {schedule!r} priced as daily")
        copies = [(_copy_region(ctx, r, c), to_number(as_block(c.get("lifecycle")).get(
            "delete_after")) or days) for c in rule.get("copy_action") or []
            if isinstance(c, Mapping)]
        for kind, what, gib, why in protected:
            key = "rds_snapshot_gib_month" if kind == "rds" else "s3_warm_gib_month"
            for region, kept, label in [(r.region, days, "recovery points")] + [
                    (region, kept, f"copies in {region}") for region, kept in copies]:
                chain = gib * (1 + change * kept)
                price = ctx.prices.region(region, "backup", key)
                out.add(f"{what}: {label}", chain * price,
                        f"({why}) × (1 + {num(change)}/day (backup.daily_change_fraction) × "
                        f"{num(kept)} days kept) × {rate(price)}/GB-month", "backup")
            for region, _ in copies:
                moved = gib * change * 365 / 12
                price = ctx.prices.region(r.region, "vpc", "inter_region_gib")
                out.add(f"{what}: copy transfer to {region}", moved * price,
                        f"{num(gib)} GB × {num(change)}/day × 30.4 days × {rate(price)}/GB "
                        "(incremental copies)", "backup")


# audit and cost guard (the audit layer) -----------------------------------------------------------


def _million(value: float) -> str:
    return f"{num(value)} M"


def _first_trail(ctx: Ctx, r: Resource) -> bool:
    """Whether ``r`` is the env's first trail recording management events (the one copy of
    management events CloudTrail delivers free), by address order."""
    trails = sorted((t for t in ctx.pool.of_type("aws_cloudtrail") if _records_management(t)),
                    key=lambda t: t.key)
    return bool(trails) and trails[0].key == r.key


def _records_management(r: Resource) -> bool:
    advanced = r.blocks("advanced_event_selector")
    if advanced:
        return any(_selector_category(s) == "Management" for s in advanced)
    selectors = r.blocks("event_selector")
    return not selectors or any(s.get("include_management_events", True) is not False
                                for s in selectors)


def _selector_category(selector: Mapping[str, Any]) -> str | None:
    for field_selector in selector.get("field_selector") or []:
        if isinstance(field_selector, Mapping) and field_selector.get("field") == "eventCategory":
            equals = field_selector.get("equals") or []
            return str(equals[0]) if equals else None
    return None


def _records_data_events(r: Resource) -> bool:
    if any(_selector_category(s) == "Data" for s in r.blocks("advanced_event_selector")):
        return True
    return any(s.get("data_resource") for s in r.blocks("event_selector"))


@pricer("aws_cloudtrail")
def _cloudtrail(ctx: Ctx, r: Resource, out: Priced) -> None:
    events = float(ctx.assume("cloudtrail", "management_events_million"))
    if _records_management(r):
        first = bool(ctx.assume("cloudtrail", "first_copy")) and _first_trail(ctx, r)
        if first:
            out.note(f"management events: the first copy in an account is free "
                     f"({_million(events)} a month, cloudtrail.management_events_million); an "
                     "organization trail recording them already makes this copy "
                     "paid (cloudtrail.first_copy = false)")
        else:
            price = ctx.prices.world("cloudtrail", "management_copy_100k")
            out.add("management events (an additional copy)", events * 10 * price,
                    f"{_million(events)} (cloudtrail.management_events_million) × "
                    f"{rate(price)}/100,000", "cloudtrail")
    if _records_data_events(r):
        data = float(ctx.assume("cloudtrail", "data_events_million"))
        price = ctx.prices.world("cloudtrail", "data_events_100k")
        out.add("data events", data * 10 * price,
                f"{_million(data)} (cloudtrail.data_events_million) × {rate(price)}/100,000",
                "cloudtrail")
    insights = [s.get("insight_type") for s in r.blocks("insight_selector")]
    if insights:
        price = ctx.prices.world("cloudtrail", "insights_100k")
        out.add("Insights", len(insights) * events * 10 * price,
                f"{len(insights)} insight type(s) × {_million(events)} management events "
                f"analyzed × {rate(price)}/100,000", "cloudtrail")
    if r.get("is_multi_region_trail") is True:
        out.note("multi-region: the assumption counts the management events of every region")
    if not out.components:
        out.free("the first copy of management events has no charge (its bucket and its "
                 "CloudWatch Logs delivery are priced on their own)")


# GuardDuty features priced per unit of their own: feature name → (price key, what it measures).
_GUARDDUTY_EVENTS = {"S3_DATA_EVENTS": ("s3_data_events_million", "s3_data_events_million",
                                        "S3 data events")}


def _fargate_vcpus(ctx: Ctx) -> tuple[float, str]:
    """vCPUs of every ECS service's running tasks in the pool (Runtime Monitoring bills them)."""
    total = 0.0
    for service in ctx.pool.of_type("aws_ecs_service"):
        td = task_definition(ctx.pool, service)
        tasks, _ = running_number(service, "desired_count")
        cpu = td.number("cpu") if td is not None else None
        if tasks is None or cpu is None:
            raise NotPriced(f"{service.address}: its task count or cpu is only known at apply")
        total += tasks * cpu / 1024
    return total, f"{num(total)} vCPU of the ECS services' tasks"


def _rds_vcpus(ctx: Ctx) -> tuple[float, str]:
    total = 0.0
    for db in ctx.pool.of_type("aws_db_instance"):
        cls = db.get("instance_class")
        vcpus = ctx.prices.table.get("instance_vcpus", {}).get(cls)
        if not vcpus:
            raise NotPriced(f"vCPUs of {cls} are not in [instance_vcpus] of "
                            f"{rel(ctx.prices.path)}")
        total += vcpus
    return total, f"{num(total)} vCPU of the RDS instances"


def _guardduty_feature(ctx: Ctx, region: str, feature: str, out: Priced) -> None:
    """Add one enabled GuardDuty protection plan's monthly price."""
    if feature in _GUARDDUTY_EVENTS:
        key, assumption, what = _GUARDDUTY_EVENTS[feature]
        amount = float(ctx.assume("guardduty", assumption))
        price = ctx.prices.region(region, "guardduty", key)
        out.add(what, amount * price,
                f"{_million(amount)} (guardduty.{assumption}) × {rate(price)}/M", "guardduty")
    elif feature == "RUNTIME_MONITORING":
        vcpus, why = _fargate_vcpus(ctx)
        price = ctx.prices.region(region, "guardduty", "runtime_vcpu_month")
        out.add("Runtime Monitoring (ECS Fargate)", vcpus * price,
                f"{why} × {rate(price)}/vCPU-month", "guardduty")
    elif feature == "RDS_LOGIN_EVENTS":
        vcpus, why = _rds_vcpus(ctx)
        price = ctx.prices.region(region, "guardduty", "rds_vcpu_month")
        out.add("RDS login activity", vcpus * price,
                f"{why} × {rate(price)}/vCPU-month", "guardduty")
    elif feature == "LAMBDA_NETWORK_LOGS":
        gib = float(ctx.assume("guardduty", "lambda_network_gib"))
        price = ctx.prices.region(region, "guardduty", "flow_dns_gib")
        out.add("Lambda network activity", gib * price,
                f"{num(gib)} GB (guardduty.lambda_network_gib) × {rate(price)}/GB", "guardduty")
    elif feature in ("EKS_AUDIT_LOGS", "EKS_RUNTIME_MONITORING", "EBS_MALWARE_PROTECTION"):
        if ctx.pool.of_type("aws_eks_cluster") or ctx.pool.of_type("aws_instance"):
            raise NotPriced(f"GuardDuty {feature} over EKS/EC2 is not in the table")
        out.note(f"{feature}: $0 — the environment runs no EKS cluster or EC2 instance")
    else:
        raise NotPriced(f"GuardDuty feature {feature} is not in the table")


@pricer("aws_guardduty_detector")
def _guardduty_detector(ctx: Ctx, r: Resource, out: Priced) -> None:
    if r.get("enable") is False:
        out.free("a disabled detector analyzes nothing")
        return
    events = float(ctx.assume("cloudtrail", "management_events_million"))
    p_events = ctx.prices.region(r.region, "guardduty", "management_events_million")
    gib = float(ctx.assume("guardduty", "flow_dns_gib"))
    p_gib = ctx.prices.region(r.region, "guardduty", "flow_dns_gib")
    out.add("CloudTrail management events analyzed", events * p_events,
            f"{_million(events)} (cloudtrail.management_events_million) × {rate(p_events)}/M",
            "guardduty")
    out.add("VPC flow and DNS logs analyzed", gib * p_gib,
            f"{num(gib)} GB (guardduty.flow_dns_gib) × {rate(p_gib)}/GB", "guardduty")
    sources = r.block("datasources")
    if as_block(sources.get("s3_logs")).get("enable") is True:
        _guardduty_feature(ctx, r.region, "S3_DATA_EVENTS", out)
    out.note("the first 30 days of every protection plan are a free trial (not applied)")


@pricer("aws_guardduty_detector_feature")
def _guardduty_detector_feature(ctx: Ctx, r: Resource, out: Priced) -> None:
    if (r.get("status") or "ENABLED") != "ENABLED":
        out.free("a disabled protection plan analyzes nothing")
        return
    name = str(r.get("name") or "")
    _guardduty_feature(ctx, r.region, name, out)
    if not out.components:
        out.free(out.notes[-1] if out.notes else f"{name} analyzes nothing here")


@pricer("aws_accessanalyzer_analyzer")
def _access_analyzer(ctx: Ctx, r: Resource, out: Priced) -> None:
    kind = r.get("type") or "ACCOUNT"
    if kind in ("ACCOUNT", "ORGANIZATION"):
        out.free("external-access analyzers have no charge")
        return
    if kind not in ("ACCOUNT_UNUSED_ACCESS", "ORGANIZATION_UNUSED_ACCESS"):
        raise NotPriced(f"analyzer type {kind} is not in the table")
    ours = sum(len(ctx.pool.of_type(t)) for t in ("aws_iam_role", "aws_iam_user",
                                                  "aws_iam_service_linked_role"))
    others = float(ctx.assume("access_analyzer", "principals_outside_project"))
    price = ctx.prices.region(r.region, "accessanalyzer", "unused_access_principal_month")
    out.add("unused-access analysis", (ours + others) * price,
            f"({ours} IAM roles/users of the environment's stacks + {num(others)} others "
            f"(access_analyzer.principals_outside_project)) × {rate(price)}/principal-month",
            "access_analyzer")


@pricer("aws_config_configuration_recorder")
def _config_recorder(ctx: Ctx, r: Resource, out: Priced) -> None:
    mode = r.block("recording_mode")
    frequency = mode.get("recording_frequency") or "CONTINUOUS"
    if frequency not in ("CONTINUOUS", "DAILY"):
        raise NotPriced(f"recording_frequency {frequency} is not in the table")
    items = float(ctx.assume("config", "configuration_items"))
    key = "configuration_item_continuous" if frequency == "CONTINUOUS" else \
        "configuration_item_periodic"
    price = ctx.prices.region(r.region, "config", key)
    out.add("configuration items recorded", items * price,
            f"{num(items)} items (config.configuration_items) × {rate(price)}/item "
            f"({frequency.lower()} recording)", "config")


@pricer("aws_config_config_rule")
def _config_rule(ctx: Ctx, r: Resource, out: Priced) -> None:
    evaluations = float(ctx.assume("config", "evaluations_per_rule"))
    price = ctx.prices.region(r.region, "config", "rule_evaluation")
    out.add("rule evaluations", evaluations * price,
            f"{num(evaluations)} evaluations (config.evaluations_per_rule) × {rate(price)}",
            "config")


def _action_enabled(ctx: Ctx, budget: Resource) -> bool:
    name = budget.get("name")
    bare = re.sub(r"\[\d+\]$", "", budget.address)
    return any(bare in a.refs.get("budget_name", ()) or (name and a.get("budget_name") == name)
               for a in ctx.pool.of_type("aws_budgets_budget_action"))


@pricer("aws_budgets_budget")
def _budget(ctx: Ctx, r: Resource, out: Priced) -> None:
    if not _action_enabled(ctx, r):
        out.free("budgets without actions have no charge (alerts to SNS/e-mail included)")
        return
    enabled = sorted((b for b in ctx.pool.of_type("aws_budgets_budget")
                      if _action_enabled(ctx, b)), key=lambda b: b.key)
    free = int(ctx.prices.world("budgets", "free_action_budgets"))
    if [b.key for b in enabled].index(r.key) < free:
        out.free(f"the first {free} action-enabled budgets of an account have no charge")
        return
    day = ctx.prices.world("budgets", "action_budget_day")
    days = ctx.hours / 24
    out.add("action-enabled budget", day * days,
            f"{rate(day)}/day × {num(round(days, 1))} days (beyond the first {free})", "budgets")


def _aws_service_events(pattern: Any) -> bool:
    """Whether an EventBridge pattern matches only events AWS services send (``aws.*``)."""
    try:
        parsed = json.loads(pattern) if isinstance(pattern, str) else None
    except ValueError:
        return False
    sources = parsed.get("source") if isinstance(parsed, Mapping) else None
    return bool(sources) and all(isinstance(s, str) and s.startswith("aws.") for s in sources)


@pricer("aws_cloudwatch_event_rule")
def _event_rule(ctx: Ctx, r: Resource, out: Priced) -> None:
    bus = r.get("event_bus_name") or "default"
    if bus == "default" and _aws_service_events(r.get("event_pattern")):
        out.free("AWS service events on the default bus have no charge (the SNS topic it "
                 "targets is priced)")
        return
    events = float(ctx.assume("eventbridge", "custom_events_million"))
    price = ctx.prices.region(r.region, "eventbridge", "custom_events_million")
    out.add("custom events", events * price,
            f"{_million(events)} (eventbridge.custom_events_million) × {rate(price)}/M",
            "eventbridge")
