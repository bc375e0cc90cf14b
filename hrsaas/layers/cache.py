"""cache: ElastiCache Redis 7 (guide §6)."""

from __future__ import annotations

import dataclasses

from modules.redis import Redis, RedisProps

from ..config import Environment
from ..tf import Construct
from .base import LayerStack
from .network import NetworkOutputs
from .outputs import LayerOutputs, output
from .security import SecurityOutputs


@dataclasses.dataclass(frozen=True)
class CacheOutputs(LayerOutputs):
    redis_host: str = output("primary (or cluster configuration) endpoint (REDIS_HOST)")
    redis_port: float = output("Redis port (REDIS_PORT)")
    redis_reader_host: str = output("reader endpoint")


class CacheStack(LayerStack):
    layer = "cache"

    def __init__(self, scope: Construct, env: Environment, *, network: LayerStack,
                 security: LayerStack):
        super().__init__(scope, env)
        net = NetworkOutputs.read(self, network, (
            "private_data_subnet_ids", "redis_security_group_id"))
        cmk = env.capabilities.customer_managed_keys
        # Not hr-saas/redis: the AUTH token is set by the deploy runner after this layer
        # applies (hrsaas/runner/redis_auth.py), so this layer neither reads nor stores it.
        sec = SecurityOutputs.read(self, security, (
            ("cache_kms_key_arn", "logs_kms_key_arn") if cmk else ()))
        cache = env.cache
        redis = Redis(self, "redis", RedisProps(
            replication_group_id=self.names.resource("cache"),
            engine_version=cache.engine_version,
            node_type=cache.node_type,
            replicas=cache.replicas,
            cluster_mode=cache.cluster_mode,
            shards=cache.shards,
            multi_az=env.capabilities.multi_az,
            subnet_ids=net.private_data_subnet_ids,
            security_group_id=net.redis_security_group_id,
            kms_key_arn=sec.cache_kms_key_arn,
            snapshot_retention_days=cache.snapshot_retention_days,
            snapshot_window=cache.snapshot_window,
            maintenance_window=cache.maintenance_window,
            slow_log_retention_days=env.logs.retention_days,
            logs_kms_key_arn=sec.logs_kms_key_arn,
        ))
        self.outputs = CacheOutputs(
            redis_host=redis.primary_endpoint, redis_port=redis.group.port,
            redis_reader_host=redis.reader_endpoint,
        ).export(self)
