"""observability: alarms and a dashboard for everything the environment runs (issue:
operations; guide §4 health checks, §15 scaling, §16 recovery), and the environment's cost
budget (issue 19).

The alarm set is derived, never listed: every deployed service of the catalog, every target
group, every queue and DLQ of its subscribers, the database and its replicas, every cache node,
the ALB and CloudFront. Severity follows the catalog's priority (high → critical); the data
tier, the ALB and CloudFront are critical, queues warn. Thresholds are `[observability]` config.

The monthly AWS Budgets cost budget and Cost Anomaly Detection alert on the same two topics
(``add_cost_budget``). The amount is the estimate of every stack of the environment, priced
from their synthesized JSON exactly as ``make cost`` prices it, times 1 +
``budget.margin_percent`` / 100 (``hrsaas/cost/budget.py``): so it is added after every stack is
built, in the same process, and a change that moves the estimate moves the budget in the same
plan. It lives beside the topics, not in a layer after this one, so the deploy does not wait for
one more stack at its end.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from modules.alarms import Alarms, AlarmsProps
from modules.cost_budget import CostBudget, CostBudgetProps
from modules.messaging import queue_names
from modules.threat_detection import finding_routes

from ..config import Environment
from ..cost.budget import budget_amount
from ..tf import Construct, Fn, Token, aws
from .base import LayerStack
from .compute import ComputeOutputs
from .data import DataOutputs
from .edge import EdgeOutputs
from .security import SecurityOutputs

GIB = 1024 ** 3


SEVERITY = {"high": "critical", "medium": "warning", "low": "warning"}


def cache_nodes(env: Environment, group_id: str) -> list[tuple[str, bool]]:
    """(CacheClusterId, is_replica) of every node, as ElastiCache names them."""
    cache = env.cache
    if cache.cluster_mode:
        return [(f"{group_id}-{shard:04d}-{node:03d}", node > 1)
                for shard in range(1, cache.shards + 1)
                for node in range(1, cache.replicas + 2)]
    return [(f"{group_id}-{node:03d}", node > 1) for node in range(1, cache.replicas + 2)]


class ObservabilityStack(LayerStack):
    layer = "observability"

    def __init__(self, scope: Construct, env: Environment, *, security: LayerStack,
                 data: LayerStack, edge: LayerStack, compute: LayerStack):
        super().__init__(scope, env)
        obs, name = env.observability, self.names.resource()
        key = None
        if env.capabilities.customer_managed_keys:
            key = SecurityOutputs.read(self, security, ("messaging_kms_key_arn",)
                                       ).messaging_kms_key_arn
        app = ComputeOutputs.read(self, compute, ("cluster_name", "target_group_arn_suffixes"))
        db = DataOutputs.read(self, data, ("db_instance_id",))
        cdn = EdgeOutputs.read(self, edge, ("distribution_id", "alb_arn_suffix"))
        emails = {"critical": obs.critical_emails, "warning": obs.warning_emails}
        alarms = Alarms(self, "alarms", AlarmsProps(
            name=name, account_id=env.account_id, emails=emails, kms_key_arn=key,
            evaluation_minutes=obs.evaluation_minutes))
        self.alarms = alarms
        services = env.deployed_services()
        alb = {"LoadBalancer": cdn.alb_arn_suffix}

        # --- the audit layer's GuardDuty and Access Analyzer findings ----------------------
        # Routed here, beside their topics, so audit depends on no later layer. "findings-" keeps
        # the rule names apart from those the audit layer created before: where an environment
        # moves them, the two states never own one rule, in whichever order they apply.
        for route in finding_routes(env.audit.warning_severity, env.audit.critical_severity):
            alarms.events(f"findings-{route.key}", route.severity, route.description,
                          route.pattern)

        # --- the ALB (guide §7) -----------------------------------------------------------
        elb = "AWS/ApplicationELB"
        alarms.expression(
            "alb-5xx-rate", "critical", f"ALB 5xx above {obs.alb_5xx_percent} % of requests",
            expression="100 * (FILL(elb5xx, 0) + FILL(target5xx, 0)) / requests",
            metrics={"elb5xx": (elb, "HTTPCode_ELB_5XX_Count", alb, "Sum"),
                     "target5xx": (elb, "HTTPCode_Target_5XX_Count", alb, "Sum"),
                     "requests": (elb, "RequestCount", alb, "Sum")},
            comparison="GreaterThanThreshold", threshold=obs.alb_5xx_percent)
        alarms.threshold(
            "alb-response-time", "critical",
            f"p95 target response time above {obs.alb_response_seconds} s",
            namespace=elb, metric="TargetResponseTime", dimensions=alb, statistic="p95",
            comparison="GreaterThanThreshold", threshold=obs.alb_response_seconds,
            missing="notBreaching")

        # --- per service: target health, CPU/memory near the ceiling, tasks below desired --
        for svc in services:
            severity = SEVERITY[svc.priority]
            ecs = {"ClusterName": app.cluster_name, "ServiceName": svc.service_name}
            tg = Token.as_string(Fn.lookup(app.target_group_arn_suffixes, svc.name))
            alarms.threshold(
                f"{svc.service_name}-unhealthy-hosts", severity,
                f"{svc.target_group_name} has unhealthy targets ({svc.service_name})",
                namespace=elb, metric="UnHealthyHostCount",
                dimensions={"TargetGroup": tg, **alb}, statistic="Maximum",
                comparison="GreaterThanThreshold", threshold=0, missing="notBreaching")
            for short, metric, limit, target in (
                    ("cpu", "CPUUtilization", obs.ecs_cpu_percent,
                     env.compute.cpu_target_percent),
                    ("memory", "MemoryUtilization", obs.ecs_memory_percent,
                     env.compute.memory_target_percent)):
                alarms.threshold(
                    f"{svc.service_name}-{short}-high", severity,
                    f"{svc.service_name} {short} above {limit} % (scaling target {target} %, "
                    f"max {svc.max_tasks} tasks)",
                    namespace="AWS/ECS", metric=metric, dimensions=ecs,
                    comparison="GreaterThanThreshold", threshold=limit)
            insights = "ECS/ContainerInsights"
            alarms.expression(
                f"{svc.service_name}-below-desired", severity,
                f"{svc.service_name} runs fewer tasks than desired",
                expression="desired - running",
                metrics={"desired": (insights, "DesiredTaskCount", ecs, "Average"),
                         "running": (insights, "RunningTaskCount", ecs, "Average")},
                comparison="GreaterThanThreshold", threshold=0, missing="breaching")

        # --- the database (guide §5) --------------------------------------------------------
        database = env.database
        rds = {"DBInstanceIdentifier": db.db_instance_id}
        alarms.threshold("db-cpu-high", "critical",
                         f"database CPU above {obs.rds_cpu_percent} %", namespace="AWS/RDS",
                         metric="CPUUtilization", dimensions=rds,
                         comparison="GreaterThanThreshold", threshold=obs.rds_cpu_percent)
        alarms.threshold(
            "db-free-storage-low", "critical",
            f"database free storage below {obs.rds_free_storage_percent} % of "
            f"{database.allocated_storage_gib} GiB (autoscaling ceiling "
            f"{database.max_allocated_storage_gib} GiB)",
            namespace="AWS/RDS", metric="FreeStorageSpace", dimensions=rds,
            comparison="LessThanThreshold",
            threshold=database.allocated_storage_gib * GIB * obs.rds_free_storage_percent / 100)
        alarms.threshold(
            "db-freeable-memory-low", "critical",
            f"database freeable memory below {obs.rds_freeable_memory_mib} MiB",
            namespace="AWS/RDS", metric="FreeableMemory", dimensions=rds,
            comparison="LessThanThreshold", threshold=obs.rds_freeable_memory_mib * 1024 ** 2)
        connections = database.max_connections * obs.rds_connections_percent / 100
        alarms.threshold(
            "db-connections-high", "critical",
            f"database connections above {obs.rds_connections_percent} % of max_connections "
            f"{database.max_connections}", namespace="AWS/RDS", metric="DatabaseConnections",
            dimensions=rds, comparison="GreaterThanThreshold", threshold=connections)
        for n in range(1, database.read_replicas + 1):
            replica = f"{self.names.resource('db')}-replica-{n}"
            alarms.threshold(
                f"db-replica-{n}-lag", "critical",
                f"{replica} lags more than {obs.rds_replica_lag_seconds} s",
                namespace="AWS/RDS", metric="ReplicaLag",
                dimensions={"DBInstanceIdentifier": replica},
                comparison="GreaterThanThreshold", threshold=obs.rds_replica_lag_seconds)

        # --- the cache (guide §6): every node, replication lag on replicas ------------------
        group_id = self.names.resource("cache")
        for node, _ in cache_nodes(env, group_id):
            dims = {"CacheClusterId": node}
            # Alarm keys get the environment's prefix from the alarms module; the node ID
            # already has it, so the key is the node ID without it (cache-001-cpu-high).
            key = "cache" + node.removeprefix(group_id)
            cache = "AWS/ElastiCache"
            alarms.threshold(f"{key}-cpu-high", "critical",
                             f"{node} engine CPU above {obs.redis_cpu_percent} %",
                             namespace=cache, metric="EngineCPUUtilization", dimensions=dims,
                             comparison="GreaterThanThreshold", threshold=obs.redis_cpu_percent)
            alarms.threshold(f"{key}-memory-high", "critical",
                             f"{node} memory above {obs.redis_memory_percent} %",
                             namespace=cache, metric="DatabaseMemoryUsagePercentage",
                             dimensions=dims, comparison="GreaterThanThreshold",
                             threshold=obs.redis_memory_percent)
            alarms.threshold(f"{key}-evictions", "critical", f"{node} evicts keys",
                             namespace=cache, metric="Evictions", dimensions=dims,
                             statistic="Sum", comparison="GreaterThanThreshold", threshold=0,
                             missing="notBreaching")
            # Every node of a group with replicas: after a failover the old primary is the
            # replica. The primary reports no ReplicationLag, so missing data is not a breach.
            if env.cache.replicas > 0:
                alarms.threshold(
                    f"{key}-replication-lag", "critical",
                    f"{node} lags more than {obs.redis_replication_lag_seconds} s",
                    namespace=cache, metric="ReplicationLag", dimensions=dims,
                    comparison="GreaterThanThreshold",
                    threshold=obs.redis_replication_lag_seconds, missing="notBreaching")

        # --- queues (guide §8): dead letters and stuck messages ----------------------------
        for svc in services:
            if not svc.subscribes:
                continue
            queue, dlq = queue_names(svc.service_name)
            alarms.threshold(f"{dlq}-messages", "warning",
                             f"{dlq} holds dead letters: {svc.service_name} failed a message "
                             f"{env.messaging.max_receive_count} times",
                             namespace="AWS/SQS", metric="ApproximateNumberOfMessagesVisible",
                             dimensions={"QueueName": dlq}, statistic="Maximum",
                             comparison="GreaterThanThreshold", threshold=0,
                             missing="notBreaching")
            alarms.threshold(f"{queue}-oldest-message", "warning",
                             f"{queue}'s oldest message is older than "
                             f"{obs.queue_oldest_message_seconds} s",
                             namespace="AWS/SQS", metric="ApproximateAgeOfOldestMessage",
                             dimensions={"QueueName": queue}, statistic="Maximum",
                             comparison="GreaterThanThreshold",
                             threshold=obs.queue_oldest_message_seconds,
                             missing="notBreaching")

        # --- CloudFront: its metrics exist only in us-east-1, so do its alarm and topics ----
        us_east_1 = aws.provider.AwsProvider(self, "aws-us-east-1", alias="us_east_1",
                                             **self.provider_args("us-east-1"))
        global_alarms = Alarms(self, "global-alarms", AlarmsProps(
            name=f"{name}-global", account_id=env.account_id, emails=emails,
            evaluation_minutes=obs.evaluation_minutes, provider=us_east_1))
        global_alarms.threshold(
            "cloudfront-5xx-rate", "critical",
            f"CloudFront 5xx above {obs.cloudfront_5xx_percent} % of requests",
            namespace="AWS/CloudFront", metric="5xxErrorRate",
            dimensions={"DistributionId": cdn.distribution_id, "Region": "Global"},
            comparison="GreaterThanThreshold", threshold=obs.cloudfront_5xx_percent,
            missing="notBreaching")
        self.global_alarms = global_alarms

        aws.cloudwatch_dashboard.CloudwatchDashboard(
            self, "dashboard", dashboard_name=name,
            dashboard_body=json.dumps(self._dashboard(env, app, cdn.alb_arn_suffix, rds)))

    def add_cost_budget(self, priced: Sequence[LayerStack]) -> CostBudget:
        """The cost budget of ``priced`` (every stack of the environment, this one included, as
        built so far): forecast and actual alerts at ``budget.warning_percent`` and
        ``critical_percent`` on the warning and critical topics, anomalies on the warning one."""
        env, cfg = self.env, self.env.budget
        # The stacks' Terraform JSON as synth will write it (nothing in them references another
        # stack's tokens, so resolving them early changes nothing in them).
        amount = budget_amount(env.name, {s.node.id: s.to_terraform() for s in priced},
                               margin_percent=cfg.margin_percent)
        topics = {severity: topic.arn for severity, topic in self.alarms.topics.items()}
        return CostBudget(self, "budget", CostBudgetProps(
            name=self.names.resource(), amount_usd=amount,
            thresholds={topics["warning"]: cfg.warning_percent,
                        topics["critical"]: cfg.critical_percent},
            anomaly_topic_arn=topics["warning"],
            anomaly_threshold_usd=cfg.anomaly_threshold_usd,
            anomaly_monitor_arn=cfg.anomaly_monitor_arn,
            after=list(self.alarms.topic_policies.values())))

    def _dashboard(self, env: Environment, app: ComputeOutputs, alb_arn_suffix: str,
                   rds: dict) -> dict:
        region = env.region

        def widget(title: str, metrics: list, x: int, y: int, stat: str = "Average") -> dict:
            return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                    "properties": {"title": title, "region": region, "stat": stat,
                                   "period": 60, "metrics": metrics}}

        services = [s.service_name for s in env.deployed_services()]
        elb = "AWS/ApplicationELB"
        return {"widgets": [
            widget("ALB requests and 5xx", [
                [elb, "RequestCount", "LoadBalancer", alb_arn_suffix],
                [elb, "HTTPCode_ELB_5XX_Count", "LoadBalancer", alb_arn_suffix],
                [elb, "HTTPCode_Target_5XX_Count", "LoadBalancer", alb_arn_suffix],
            ], 0, 0, "Sum"),
            widget("ALB p95 response time", [
                [elb, "TargetResponseTime", "LoadBalancer", alb_arn_suffix]], 12, 0, "p95"),
            widget("ECS CPU by service", [
                ["AWS/ECS", "CPUUtilization", "ClusterName", app.cluster_name,
                 "ServiceName", s] for s in services], 0, 6),
            widget("ECS memory by service", [
                ["AWS/ECS", "MemoryUtilization", "ClusterName", app.cluster_name,
                 "ServiceName", s] for s in services], 12, 6),
            widget("Database CPU and connections", [
                ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier",
                 rds["DBInstanceIdentifier"]],
                ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier",
                 rds["DBInstanceIdentifier"]]], 0, 12),
            widget("Dead letters", [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName",
                 queue_names(s.service_name)[1]]
                for s in env.deployed_services() if s.subscribes], 12, 12, "Maximum"),
        ]}
