"""ElastiCache Redis 7 (guide §6): TLS, encryption at rest, AUTH, failover where asked."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, Fn, aws


def parameter_group_name(group_id: str, family: str, description: str, cluster_mode: bool
                         ) -> str:
    """``<group>-<family>-<digest>``: the digest covers every argument whose change replaces
    the group (cluster mode too: switching it needs a new group, never an edit of the used
    one), so the replacement never takes the name of the group it replaces."""
    digest = hashlib.sha256(json.dumps([family, description, cluster_mode]).encode())
    return f"{group_id}-{family}-{digest.hexdigest()[:8]}"


class RedisProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    replication_group_id: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")
    engine_version: str
    node_type: str
    replicas: int = Field(ge=0, le=5)
    """Replicas per shard (0 = a single primary)."""
    cluster_mode: bool = False
    """Cluster mode (sharding) — the guide's horizontal-scaling path."""
    shards: int = Field(1, ge=1)
    multi_az: bool = False
    """Automatic failover to a replica in another AZ (needs ``replicas`` ≥ 1)."""
    subnet_ids: list[str]
    security_group_id: str
    kms_key_arn: str | None = None
    """CMK for data at rest; None = the AWS-managed key."""
    snapshot_retention_days: int = 1
    snapshot_window: str
    maintenance_window: str
    slow_log_retention_days: int = 30
    logs_kms_key_arn: str | None = None
    port: int = 6379


class Redis(Construct):
    def __init__(self, scope: Construct, id_: str, props: RedisProps):
        super().__init__(scope, id_)
        if props.multi_az and props.replicas < 1:
            raise ValueError(f"{props.replication_group_id}: multi_az needs replicas >= 1 "
                             f"(got {props.replicas})")
        family = f"redis{props.engine_version.split('.')[0]}"
        self.subnet_group = aws.elasticache_subnet_group.ElasticacheSubnetGroup(
            self, "subnets", name=props.replication_group_id, subnet_ids=props.subnet_ids,
            description="private-data subnets",
        )
        # ElastiCache parameter groups have no name_prefix, and the group is replaced
        # create-before-destroy (the replication group still uses the old one): the name ends
        # in a digest of every argument that forces a replacement, so a replacement always
        # brings a new name instead of colliding with the group it replaces.
        description = f"hr-saas {family}"
        parameters = [{"name": "cluster-enabled", "value": "yes" if props.cluster_mode else "no"}]
        self.parameter_group = aws.elasticache_parameter_group.ElasticacheParameterGroup(
            self, "parameters", family=family, description=description, parameter=parameters,
            name=parameter_group_name(props.replication_group_id, family, description,
                                      props.cluster_mode),
            lifecycle={"create_before_destroy": True},
        )
        slow_log = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self, "slow-log", name=f"/aws/elasticache/{props.replication_group_id}/slow-log",
            retention_in_days=props.slow_log_retention_days, kms_key_id=props.logs_kms_key_arn,
        )
        # The AUTH token never passes through Terraform (docs/secrets.md, "The Redis AUTH
        # token"): provider 5.100's auth_token is not write-only, so any value given here is
        # stored in state, which the plan roles read. The group is created with a one-time
        # bootstrap token — a fresh uuid(), so AUTH is required from the first second and no
        # secret is read while planning — and the deploy runner (hrsaas/runner/redis_auth.py)
        # then sets the token of hr-saas/redis through ModifyReplicationGroup (ROTATE, then
        # SET), which retires the bootstrap token. ignore_changes: uuid() differs on every
        # plan, and the token the group really has is the runner's, never Terraform's.
        rg = aws.elasticache_replication_group
        sizing: dict = (
            {"num_node_groups": props.shards, "replicas_per_node_group": props.replicas}
            if props.cluster_mode else {"num_cache_clusters": 1 + props.replicas})
        self.group = rg.ElasticacheReplicationGroup(
            self, "group",
            replication_group_id=props.replication_group_id,
            description="hr-saas cache (guide §6)",
            engine="redis",
            engine_version=props.engine_version,
            node_type=props.node_type,
            port=props.port,
            parameter_group_name=self.parameter_group.name,
            subnet_group_name=self.subnet_group.name,
            security_group_ids=[props.security_group_id],
            automatic_failover_enabled=props.multi_az or props.cluster_mode,
            multi_az_enabled=props.multi_az,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            at_rest_encryption_enabled="true",
            kms_key_id=props.kms_key_arn,
            auth_token=Fn.uuid(),
            auth_token_update_strategy="ROTATE",
            snapshot_retention_limit=props.snapshot_retention_days,
            snapshot_window=props.snapshot_window,
            maintenance_window=props.maintenance_window,
            auto_minor_version_upgrade="true",
            apply_immediately=False,
            log_delivery_configuration=[rg.ElasticacheReplicationGroupLogDeliveryConfiguration(
                destination=slow_log.name, destination_type="cloudwatch-logs",
                log_format="json", log_type="slow-log")],
            # auth_token_update_strategy too: the provider sends the stored auth_token whenever
            # either changes (resourceReplicationGroupUpdate), which would put the bootstrap
            # token back on the group — with SET, as its only token.
            lifecycle={"ignore_changes": ["auth_token", "auth_token_update_strategy"]},
            **sizing,
        )
        self.primary_endpoint = (self.group.configuration_endpoint_address
                                 if props.cluster_mode else self.group.primary_endpoint_address)
        self.reader_endpoint = self.group.reader_endpoint_address
