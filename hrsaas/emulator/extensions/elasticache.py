"""ElastiCache: parameter groups, member clusters of replication groups, deletes that finish
(moto 5.2.5 has no parameter groups, no member clusters and deletes that never complete).

Added as the ElastiCache API reference documents it
(https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/) and botocore's
``elasticache/2015-02-02`` model shapes it:

Parameter groups
  ``CreateCacheParameterGroup`` (name lower-cased as AWS stores it; 1-255 letters, digits and
  hyphens, starting with a letter, no trailing or double hyphen; a known family; tags),
  ``DescribeCacheParameterGroups`` (one by name or all, the ``default.<family>`` groups
  included, paginated by ``MaxRecords`` 20-100 and ``Marker``),
  ``ModifyCacheParameterGroup`` (1 to 20 name/value pairs),
  ``ResetCacheParameterGroup`` (named parameters, or ``ResetAllParameters`` — not both),
  ``DeleteCacheParameterGroup`` and ``DescribeCacheParameters``. Errors:
  ``CacheParameterGroupNotFound``, ``CacheParameterGroupAlreadyExists``,
  ``InvalidCacheParameterGroupState`` (a default group cannot be modified or deleted, a group a
  cache cluster uses cannot be deleted), ``InvalidParameterValue``/
  ``InvalidParameterCombination``. moto has no catalogue of engine parameters, so
  ``DescribeCacheParameters`` lists the parameters set on the group (``Source`` ``user``) and
  no engine defaults, and any parameter name is accepted.
Subnet groups
  ``DeleteCacheSubnetGroup`` (``CacheSubnetGroupNotFoundFault``; ``CacheSubnetGroupInUse`` while
  a cache cluster uses it) and ``ModifyCacheSubnetGroup`` (description, subnets).
Replication groups
  ``CreateReplicationGroup`` now creates the member cache clusters (``DescribeCacheClusters``
  finds them, with their parameter group, security groups, encryption and auth settings and —
  with ``ShowCacheNodeInfo`` — their nodes), checks that the parameter group and subnet group
  exist and that the parameter group's family matches the engine version, creates
  ``NumCacheClusters`` members (moto counted only ``ReplicasPerNodeGroup``), reports the
  engine version as the full version AWS reports (``7.1`` → ``7.1.0``) and gives cluster-mode-
  disabled groups their reader endpoint. ``DeleteReplicationGroup`` answers ``deleting`` and the
  group and its clusters are gone afterwards (moto kept them ``deleting`` forever), with the
  ``FinalSnapshotIdentifier`` snapshot taken and ``RetainPrimaryCluster`` honoured.
  ``ModifyReplicationGroup`` applies every setting the API takes (maintenance and snapshot
  windows, parameter group, security groups, engine version, auth token and its update
  strategy, transit encryption, log delivery, user groups, …) to the group and its clusters, and
  answers "No modifications were requested" (``InvalidParameterCombination``) for an empty one.
Cache clusters
  ``DeleteCacheCluster`` removes the cluster (moto left it ``deleting`` forever, which also kept
  its subnet group in use); ``DescribeCacheClusters`` honours ``ShowCacheNodeInfo`` and
  ``ShowCacheClustersNotInReplicationGroups``.
Tags
  ``ListTagsForResource`` accepts parameter-group ARNs (moto's ARN pattern lacked them).

Upstream, the models and backend methods belong in ``moto/elasticache/models.py``, the
response methods in ``responses.py`` and the errors in ``exceptions.py``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from moto.core.responses import ActionResult, EmptyResult, PaginatedResult
from moto.core.utils import utcnow
from moto.elasticache.exceptions import (
    CacheClusterNotFound,
    CacheSubnetGroupNotFound,
    ElastiCacheException,
    InvalidParameterCombinationException,
    InvalidParameterValueException,
    ReplicationGroupNotFound,
)
from moto.elasticache.models import (
    CacheCluster,
    CacheSubnetGroup,
    ElastiCacheBackend,
    ReplicationGroup,
)
from moto.elasticache.responses import ElastiCacheResponse
from moto.utilities.utils import get_partition

FAMILIES = ("memcached1.4", "memcached1.5", "memcached1.6", "redis2.6", "redis2.8", "redis3.2",
            "redis4.0", "redis5.0", "redis6.x", "redis7", "valkey7", "valkey8")
CLUSTER_ON_FAMILIES = ("redis3.2", "redis4.0", "redis5.0", "redis6.x", "redis7", "valkey7",
                       "valkey8")
MAX_PARAMETERS_PER_CALL = 20
MAX_PARAMETER_GROUPS = 150
GROUP_NAME = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,254}(?<!-)$")
LATEST = {"redis": "7.1.0", "valkey": "8.0.1", "memcached": "1.6.22"}


class CacheParameterGroupNotFound(ElastiCacheException):
    code = "CacheParameterGroupNotFound"

    def __init__(self, name: str):
        super().__init__(f"CacheParameterGroup {name} not found.")


class CacheParameterGroupAlreadyExists(ElastiCacheException):
    code = "CacheParameterGroupAlreadyExists"

    def __init__(self, name: str):
        super().__init__(f"Parameter group {name} already exists.")


class CacheParameterGroupQuotaExceeded(ElastiCacheException):
    code = "CacheParameterGroupQuotaExceeded"

    def __init__(self) -> None:
        super().__init__(f"You have reached the limit of {MAX_PARAMETER_GROUPS} cache "
                         "parameter groups.")


class InvalidCacheParameterGroupState(ElastiCacheException):
    code = "InvalidCacheParameterGroupState"


class CacheSubnetGroupInUse(ElastiCacheException):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name: str):
        super().__init__(f"Cache subnet group {name} is currently in use by a cache cluster.")


class CacheParameterGroup:
    def __init__(self, account_id: str, region: str, name: str, family: str,
                 description: str, is_default: bool = False):
        self.cache_parameter_group_name = name
        self.cache_parameter_group_family = family
        self.description = description
        self.is_global = False
        self.is_default = is_default
        self.arn = (f"arn:{get_partition(region)}:elasticache:{region}:{account_id}:"
                    f"parametergroup:{name}")
        self.parameters: dict[str, str] = {}

    def describe_parameters(self, source: str | None) -> list[dict[str, Any]]:
        if source not in (None, "user"):
            return []  # no catalogue of system or engine-default parameters
        return [{"ParameterName": name, "ParameterValue": value, "Source": "user",
                 "DataType": "string", "IsModifiable": True, "ChangeType": "requires-reboot",
                 "Description": f"{name} (set on this parameter group)"}
                for name, value in sorted(self.parameters.items())]


def family_of(engine: str, version: str) -> str:
    """The parameter-group family of an engine version (``redis`` ``7.1`` → ``redis7``)."""
    parts = version.split(".")
    major = int(parts[0]) if parts[0].isdigit() else 0
    if engine == "valkey":
        return f"valkey{major}"
    if engine == "memcached":
        return "memcached1.4" if version.startswith("1.4") else (
            "memcached1.5" if version.startswith("1.5") else "memcached1.6")
    if major >= 7:
        return f"redis{major}"
    if major == 6:
        return "redis6.x"
    return f"redis{'.'.join(parts[:2])}"


def full_version(engine: str, version: str | None) -> str:
    if not version:
        return LATEST.get(engine, LATEST["redis"])
    parts = version.split(".")
    if parts[-1] == "x":
        return f"{parts[0]}.0.0" if engine != "memcached" else version
    return ".".join(parts + ["0"] * (3 - len(parts)))


# --- backend: parameter groups ----------------------------------------------------------------

def _parameter_groups(backend: Any) -> dict[str, CacheParameterGroup]:
    """The backend's parameter groups by name, the default groups included (created on first
    use: backends may predate ``install()``)."""
    groups = backend.__dict__.get("_parameter_groups")
    if groups is None:
        groups = backend.__dict__["_parameter_groups"] = {}
        for family in FAMILIES:
            names = [f"default.{family}"]
            if family in CLUSTER_ON_FAMILIES:
                names.append(f"default.{family}.cluster.on")
            for name in names:
                group = CacheParameterGroup(
                    backend.account_id, backend.region_name, name, family,
                    f"Default parameter group for {family}", is_default=True)
                if name.endswith(".cluster.on"):
                    group.parameters["cluster-enabled"] = "yes"
                groups[name] = group
    return groups


def _group(backend: Any, name: str) -> CacheParameterGroup:
    group = _parameter_groups(backend).get((name or "").lower())
    if group is None:
        raise CacheParameterGroupNotFound(name)
    return group


def _clusters_using(backend: Any, attribute: str, value: str) -> list[str]:
    return [c.cache_cluster_id for c in backend.cache_clusters.values()
            if getattr(c, attribute, None) == value]


def create_cache_parameter_group(self: Any, name: str, family: str, description: str,
                                 tags: list[dict[str, str]] | None) -> CacheParameterGroup:
    if not name or not family or description is None:
        raise InvalidParameterValueException(
            "CacheParameterGroupName, CacheParameterGroupFamily and Description are required.")
    lowered = name.lower()
    if not GROUP_NAME.match(lowered):
        raise InvalidParameterValueException(
            f"Invalid parameter group name {name}: 1 to 255 letters, digits or hyphens; it "
            "must begin with a letter and cannot end with a hyphen or contain two consecutive "
            "hyphens.")
    if family not in FAMILIES:
        raise InvalidParameterValueException(
            f"The parameter CacheParameterGroupFamily {family} is not a valid family; "
            f"valid families: {', '.join(FAMILIES)}.")
    groups = _parameter_groups(self)
    if lowered in groups:
        raise CacheParameterGroupAlreadyExists(lowered)
    if len([g for g in groups.values() if not g.is_default]) >= MAX_PARAMETER_GROUPS:
        raise CacheParameterGroupQuotaExceeded()
    group = CacheParameterGroup(self.account_id, self.region_name, lowered, family, description)
    groups[lowered] = group
    if tags:
        self.tagging_service.tag_resource(group.arn, tags)
    return group


def describe_cache_parameter_groups(self: Any, name: str | None) -> list[CacheParameterGroup]:
    if name:
        return [_group(self, name)]
    return sorted(_parameter_groups(self).values(), key=lambda g: g.cache_parameter_group_name)


def modify_cache_parameter_group(self: Any, name: str,
                                 parameters: list[dict[str, str]]) -> CacheParameterGroup:
    group = _group(self, name)
    if group.is_default:
        raise InvalidCacheParameterGroupState(
            f"Default parameter group {group.cache_parameter_group_name} cannot be modified.")
    if not parameters:
        raise InvalidParameterValueException(
            "At least one parameter name and value must be provided.")
    if len(parameters) > MAX_PARAMETERS_PER_CALL:
        raise InvalidParameterValueException(
            f"A maximum of {MAX_PARAMETERS_PER_CALL} parameters may be modified per request.")
    for parameter in parameters:
        if not parameter.get("ParameterName") or parameter.get("ParameterValue") is None:
            raise InvalidParameterValueException(
                "Each parameter needs a ParameterName and a ParameterValue.")
    for parameter in parameters:
        group.parameters[parameter["ParameterName"]] = str(parameter["ParameterValue"])
    return group


def reset_cache_parameter_group(self: Any, name: str, reset_all: bool | None,
                                parameters: list[dict[str, str]]) -> CacheParameterGroup:
    group = _group(self, name)
    if group.is_default:
        raise InvalidCacheParameterGroupState(
            f"Default parameter group {group.cache_parameter_group_name} cannot be modified.")
    if reset_all and parameters:
        raise InvalidParameterCombinationException(
            "ResetAllParameters cannot be combined with ParameterNameValues.")
    if reset_all:
        group.parameters.clear()
        return group
    if not parameters:
        raise InvalidParameterValueException(
            "Specify ParameterNameValues or set ResetAllParameters.")
    for parameter in parameters:
        group.parameters.pop(parameter.get("ParameterName", ""), None)
    return group


def delete_cache_parameter_group(self: Any, name: str) -> None:
    group = _group(self, name)
    if group.is_default:
        raise InvalidCacheParameterGroupState(
            f"Default parameter group {group.cache_parameter_group_name} cannot be deleted.")
    if _clusters_using(self, "cache_parameter_group_name", group.cache_parameter_group_name):
        raise InvalidCacheParameterGroupState(
            "One or more cache clusters are still members of this parameter group "
            f"{group.cache_parameter_group_name}, so the group cannot be deleted.")
    del _parameter_groups(self)[group.cache_parameter_group_name]
    self.tagging_service.delete_all_tags_for_resource(group.arn)


def describe_cache_parameters(self: Any, name: str, source: str | None) -> list[dict]:
    if source not in (None, "user", "system", "engine-default"):
        raise InvalidParameterValueException(
            f"Invalid Source {source}: one of user, system, engine-default.")
    return _group(self, name).describe_parameters(source)


# --- backend: subnet groups --------------------------------------------------------------------

def delete_cache_subnet_group(self: Any, name: str) -> None:
    group = self.cache_subnet_groups.get(name)
    if group is None:
        raise CacheSubnetGroupNotFound(name)
    if _clusters_using(self, "cache_subnet_group_name", name):
        raise CacheSubnetGroupInUse(name)
    del self.cache_subnet_groups[name]
    self.tagging_service.delete_all_tags_for_resource(group.arn)


def modify_cache_subnet_group(self: Any, name: str, description: str | None,
                              subnet_ids: list[str] | None) -> Any:
    group = self.cache_subnet_groups.get(name)
    if group is None:
        raise CacheSubnetGroupNotFound(name)
    if subnet_ids:
        fresh = CacheSubnetGroup(self.account_id, self.region_name, name,
                                 description or group.cache_subnet_group_description,
                                 subnet_ids, None)
        fresh.tags = group.tags
        self.cache_subnet_groups[name] = group = fresh
    elif description is not None:
        group.cache_subnet_group_description = description
    return group


# --- backend: replication groups and their member clusters ------------------------------------

def _security_groups(ids: list[str] | None) -> list[dict[str, str]]:
    return [{"SecurityGroupId": i, "Status": "active"} for i in ids or []]


def _member_cluster(backend: Any, group: Any, member: dict[str, Any]) -> CacheCluster:
    cluster = CacheCluster(
        account_id=backend.account_id, region_name=backend.region_name,
        cache_cluster_id=member["cache_cluster_id"], cache_node_type=group.cache_node_type,
        replication_group_id=group.replication_group_id, az_mode="single-az",
        preferred_availability_zone=member.get("preferred_availability_zone"),
        num_cache_nodes=1, engine=group.engine, engine_version=group.engine_version,
        cache_parameter_group_name=group.cache_parameter_group_name,
        cache_subnet_group_name=group.cache_subnet_group_name,
        transit_encryption_enabled=group.transit_encryption_enabled,
        network_type=group.network_type, ip_discovery=group.ip_discovery, snapshot_name=None,
        preferred_maintenance_window=group.preferred_maintenance_window, port=group.port,
        notification_topic_arn=group.notification_topic_arn,
        auto_minor_version_upgrade=group.auto_minor_version_upgrade,
        snapshot_retention_limit=group.snapshot_retention_limit,
        snapshot_window=group.snapshot_window, auth_token=None, outpost_mode=None,
        preferred_outpost_arn=None, preferred_availability_zones=None,
        cache_security_group_names=group.cache_security_group_names,
        security_group_ids=group.security_group_ids, tags=None, snapshot_arns=None,
        preferred_outpost_arns=None, log_delivery_configurations=[],
        cache_node_ids_to_remove=None, cache_node_ids_to_reboot=None,
    )
    address = (member.get("read_endpoint") or {}).get("address") or (
        f"{member['cache_cluster_id']}.{group.replication_group_id}.cache.amazonaws.com")
    cluster.node_endpoint = {"Address": address, "Port": group.port}
    _sync_member(cluster, group)
    return cluster


def _sync_member(cluster: Any, group: Any) -> None:
    """What a member cluster reports of its replication group's settings."""
    cluster.cache_node_type = group.cache_node_type
    cluster.engine = group.engine
    cluster.engine_version = group.engine_version
    cluster.cache_parameter_group_name = group.cache_parameter_group_name
    cluster.security_group_ids = list(group.security_group_ids or [])
    cluster.preferred_maintenance_window = group.preferred_maintenance_window
    cluster.snapshot_window = group.snapshot_window
    cluster.snapshot_retention_limit = group.snapshot_retention_limit
    cluster.auto_minor_version_upgrade = group.auto_minor_version_upgrade
    cluster.notification_topic_arn = group.notification_topic_arn
    cluster.at_rest_encryption_enabled = group.at_rest_encryption_enabled
    cluster.transit_encryption_enabled = group.transit_encryption_enabled
    cluster.transit_encryption_mode = group.transit_encryption_mode
    cluster.auth_token_enabled = group.auth_token_enabled
    cluster.auth_token_last_modified_date = group.auth_token_last_modified_date
    cluster.replication_group_log_delivery_enabled = bool(group.log_delivery_configurations)
    cluster.log_delivery_configurations = copy.deepcopy(group.log_delivery_configurations)
    cluster.network_type = group.network_type
    cluster.ip_discovery = group.ip_discovery


def _members(backend: Any, group: Any) -> list[Any]:
    return [backend.cache_clusters[c] for c in group.member_clusters
            if c in backend.cache_clusters]


def _wrap_create_replication_group(original: Any) -> Any:
    def create_replication_group(self: Any, **kwargs: Any) -> Any:
        engine = (kwargs.get("engine") or "redis").lower()
        version = full_version(engine, kwargs.get("engine_version"))
        cluster_on = kwargs.get("cluster_mode") == "enabled" or (
            (kwargs.get("num_node_groups") or 1) > 1)
        family = family_of(engine, version)
        name = kwargs.get("cache_parameter_group_name")
        if name:
            group = _group(self, name)
            if group.cache_parameter_group_family != family:
                raise InvalidParameterCombinationException(
                    f"The parameter group family {group.cache_parameter_group_family} of "
                    f"{group.cache_parameter_group_name} does not match engine {engine} "
                    f"{version} ({family}).")
            kwargs["cache_parameter_group_name"] = group.cache_parameter_group_name
        else:
            kwargs["cache_parameter_group_name"] = (
                f"default.{family}{'.cluster.on' if cluster_on else ''}")
        subnet_group = kwargs.get("cache_subnet_group_name")
        if subnet_group and subnet_group not in self.cache_subnet_groups:
            raise CacheSubnetGroupNotFound(subnet_group)
        kwargs["engine_version"] = version
        group = original(self, **kwargs)
        group.engine = engine
        group.notification_topic_arn = kwargs.get("notification_topic_arn")
        for node_group in group.node_groups:
            if "primary_endpoint" in node_group and "reader_endpoint" not in node_group:
                node_group["reader_endpoint"] = {
                    "address": node_group["reader_endpoint_address"], "port": group.port}
            for member in node_group["node_group_members"]:
                cluster = _member_cluster(self, group, member)
                self.cache_clusters[cluster.cache_cluster_id] = cluster
        return group

    create_replication_group.__wrapped__ = original  # type: ignore[attr-defined]
    return create_replication_group


def _set_node_members_clusters_disabled(self: Any, member_clusters: list[str],
                                        replication_group_id: str,
                                        replication_group_domain: str,
                                        node_group: dict[str, Any],
                                        preferred_cache_cluster_azs: list[str],
                                        num_cache_clusters: int,
                                        replicas_per_node_group: int) -> None:
    """moto's member layout, with the member count AWS uses: ``NumCacheClusters`` (moto counted
    ``ReplicasPerNodeGroup`` only and made one member of ``NumCacheClusters=2``)."""
    count = max(num_cache_clusters or 1, (replicas_per_node_group or 0) + 1)
    azs = list(preferred_cache_cluster_azs or [])
    for index in range(count):
        cluster_id = f"{replication_group_id}-{index + 1:0>3}"
        az = azs[index] if index < len(azs) else (azs[-1] if azs else (
            "us-east-1a" if index == 0 else "us-east-1b"))
        node_group["node_group_members"].append({
            "cache_cluster_id": cluster_id, "cache_node_id": "0001",
            "read_endpoint": {"address": f"{cluster_id}.{replication_group_domain}",
                              "port": self.port},
            "preferred_availability_zone": az,
            "current_role": "primary" if index == 0 else "replica",
        })
        member_clusters.append(cluster_id)


def _wrap_delete_replication_group(original: Any) -> Any:
    def delete_replication_group(self: Any, replication_group_id: str,
                                 retain_primary_cluster: bool | None,
                                 final_snapshot_identifier: str | None = None) -> Any:
        group = self.replication_groups.get(replication_group_id)
        if group is None:
            raise ReplicationGroupNotFound(replication_group_id)
        if final_snapshot_identifier:
            self.create_snapshot(snapshot_name=final_snapshot_identifier,
                                 replication_group_id=replication_group_id,
                                 cache_cluster_id=None, kms_key_id=None, tags=None)
        primary = next((m["cache_cluster_id"] for ng in group.node_groups
                        for m in ng["node_group_members"]
                        if m.get("current_role") == "primary"), None)
        for cluster_id in list(group.member_clusters):
            cluster = self.cache_clusters.get(cluster_id)
            if cluster is None:
                continue
            if retain_primary_cluster and cluster_id == primary:
                cluster.replication_group_id = None  # a standalone cluster from now on
                continue
            del self.cache_clusters[cluster_id]
            self.tagging_service.delete_all_tags_for_resource(cluster.arn)
        answer = copy.copy(group)
        answer.status = "deleting"
        del self.replication_groups[replication_group_id]
        self.tagging_service.delete_all_tags_for_resource(group.arn)
        return answer

    delete_replication_group.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_replication_group


MODIFIABLE = ("replication_group_description", "automatic_failover_enabled",
              "multi_az_enabled", "snapshot_retention_limit", "cache_node_type", "engine",
              "engine_version", "preferred_maintenance_window", "snapshot_window",
              "cache_parameter_group_name", "security_group_ids", "cache_security_group_names",
              "auto_minor_version_upgrade", "notification_topic_arn", "auth_token",
              "transit_encryption_enabled", "transit_encryption_mode",
              "log_delivery_configurations", "user_group_ids_to_add",
              "user_group_ids_to_remove", "remove_user_groups", "ip_discovery", "cluster_mode",
              "primary_cluster_id", "snapshotting_cluster_id")


def modify_replication_group_settings(self: Any, replication_group_id: str,
                                      **changes: Any) -> Any:
    group = self.replication_groups.get(replication_group_id)
    if group is None:
        raise ReplicationGroupNotFound(replication_group_id)
    changes = {k: v for k, v in changes.items() if k in MODIFIABLE and v is not None}
    strategy = changes.pop("auth_token_update_strategy", None)
    if not changes and not strategy:
        raise InvalidParameterCombinationException("No modifications were requested.")
    if "replication_group_description" in changes:
        group.description = changes["replication_group_description"]
    if "automatic_failover_enabled" in changes:
        group.automatic_failover = "enabled" if changes["automatic_failover_enabled"] else (
            "disabled")
    if "multi_az_enabled" in changes:
        group.multi_az = "enabled" if changes["multi_az_enabled"] else "disabled"
    if "cache_parameter_group_name" in changes:
        parameter_group = _group(self, changes["cache_parameter_group_name"])
        changes["cache_parameter_group_name"] = parameter_group.cache_parameter_group_name
    if "engine_version" in changes:
        changes["engine_version"] = full_version(
            changes.get("engine") or group.engine, changes["engine_version"])
    for key in ("snapshot_retention_limit", "cache_node_type", "engine", "engine_version",
                "preferred_maintenance_window", "snapshot_window", "cache_parameter_group_name",
                "security_group_ids", "cache_security_group_names", "auto_minor_version_upgrade",
                "notification_topic_arn", "transit_encryption_enabled",
                "transit_encryption_mode", "ip_discovery", "cluster_mode",
                "snapshotting_cluster_id"):
        if key in changes:
            setattr(group, key, changes[key])
    if "auth_token" in changes or strategy:
        if (strategy or "ROTATE") == "DELETE":
            group.auth_token_enabled = False
        elif "auth_token" in changes:
            group.auth_token_enabled = True
        group.auth_token_last_modified_date = utcnow()
    if "log_delivery_configurations" in changes:
        current = {c["LogType"]: c for c in group.log_delivery_configurations}
        for request in changes["log_delivery_configurations"]:
            if request.get("Enabled") is False or not request.get("DestinationType"):
                current.pop(request.get("LogType"), None)
            else:
                current[request["LogType"]] = {**request, "status": "active",
                                               "message": "Log delivery configuration is "
                                                          "active."}
        group.log_delivery_configurations = list(current.values())
    if changes.get("remove_user_groups"):
        group.user_group_ids = []
    for added in changes.get("user_group_ids_to_add") or []:
        if added not in group.user_group_ids:
            group.user_group_ids.append(added)
    for removed in changes.get("user_group_ids_to_remove") or []:
        if removed in group.user_group_ids:
            group.user_group_ids.remove(removed)
    for cluster in _members(self, group):
        _sync_member(cluster, group)
    return group


def _wrap_delete_cache_cluster(original: Any) -> Any:
    def delete_cache_cluster(self: Any, cache_cluster_id: str) -> Any:
        cluster = self.cache_clusters.get(cache_cluster_id)
        if cluster is None:
            raise CacheClusterNotFound(cache_cluster_id)
        answer = copy.copy(cluster)
        answer.cache_cluster_status = "deleting"
        del self.cache_clusters[cache_cluster_id]
        self.tagging_service.delete_all_tags_for_resource(cluster.arn)
        group = self.replication_groups.get(getattr(cluster, "replication_group_id", None) or "")
        if group is not None and cache_cluster_id in group.member_clusters:
            group.member_clusters.remove(cache_cluster_id)
            for node_group in group.node_groups:
                node_group["node_group_members"] = [
                    m for m in node_group["node_group_members"]
                    if m["cache_cluster_id"] != cache_cluster_id]
        return answer

    delete_cache_cluster.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_cache_cluster


def _wrap_list_tags_for_resource(original: Any) -> Any:
    parameter_group_arn = re.compile(r"^arn:[^:]+:elasticache:[^:]*:[0-9]*:parametergroup:(.+)$")

    def list_tags_for_resource(self: Any, arn: str) -> Any:
        match = parameter_group_arn.match(arn or "")
        if match:
            _group(self, match[1])
            return self.tagging_service.list_tags_for_resource(arn)
        return original(self, arn)

    list_tags_for_resource.__wrapped__ = original  # type: ignore[attr-defined]
    return list_tags_for_resource


# --- CacheCluster: the members AWS's shape has and moto's model lacks -------------------------

def _cache_parameter_group(self: Any) -> dict[str, Any] | None:
    name = getattr(self, "cache_parameter_group_name", None)
    if not name:
        return None
    return {"CacheParameterGroupName": name, "ParameterApplyStatus": "in-sync",
            "CacheNodeIdsToReboot": []}


def _security_group_memberships(self: Any) -> list[dict[str, str]]:
    return _security_groups(getattr(self, "security_group_ids", None))


def _cache_nodes(self: Any) -> list[dict[str, Any]]:
    endpoint = getattr(self, "node_endpoint", None) or {
        "Address": f"{self.cache_cluster_id}.0001.cache.amazonaws.com", "Port": self.port}
    count = getattr(self, "num_cache_nodes", 1) or 1
    return [{"CacheNodeId": f"{i:0>4}", "CacheNodeStatus": "available",
             "CacheNodeCreateTime": self.cache_cluster_create_time,
             "Endpoint": endpoint if count == 1 else {
                 "Address": endpoint["Address"].replace(".0001.", f".{i:0>4}."),
                 "Port": endpoint["Port"]},
             "ParameterGroupStatus": "in-sync",
             "CustomerAvailabilityZone": self.preferred_availability_zone or "us-east-1a"}
            for i in range(1, count + 1)]


class _WithoutNodes:
    """A cluster as ``DescribeCacheClusters`` shows it without ``ShowCacheNodeInfo``."""

    def __init__(self, cluster: Any):
        self._cluster = cluster

    def __getattr__(self, name: str) -> Any:
        if name in ("cache_nodes", "CacheNodes"):
            raise AttributeError(name)
        return getattr(self._cluster, name)


# --- responses ---------------------------------------------------------------------------------

def _r_create_cache_parameter_group(self: Any) -> ActionResult:
    group = self.elasticache_backend.create_cache_parameter_group(
        name=self._get_param("CacheParameterGroupName"),
        family=self._get_param("CacheParameterGroupFamily"),
        description=self._get_param("Description"), tags=self._get_param("Tags", []))
    return ActionResult({"CacheParameterGroup": group})


def _page(response: Any, items: list[Any], key: str) -> ActionResult:
    """``MaxRecords`` (20 to 100, default 100) and ``Marker``, as the Describe actions take
    them."""
    size = response._get_int_param("MaxRecords") or 100
    if not 20 <= size <= 100:
        raise InvalidParameterValueException("MaxRecords must be between 20 and 100.")
    marker = response._get_param("Marker")
    start = int(marker) if marker and marker.isdigit() else 0
    result: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        result["Marker"] = str(start + size)
    return ActionResult(result)


def _r_describe_cache_parameter_groups(self: Any) -> ActionResult:
    groups = self.elasticache_backend.describe_cache_parameter_groups(
        self._get_param("CacheParameterGroupName"))
    return _page(self, groups, "CacheParameterGroups")


def _r_modify_cache_parameter_group(self: Any) -> ActionResult:
    group = self.elasticache_backend.modify_cache_parameter_group(
        self._get_param("CacheParameterGroupName"), self._get_param("ParameterNameValues", []))
    return ActionResult({"CacheParameterGroupName": group.cache_parameter_group_name})


def _r_reset_cache_parameter_group(self: Any) -> ActionResult:
    group = self.elasticache_backend.reset_cache_parameter_group(
        self._get_param("CacheParameterGroupName"), self._get_bool_param("ResetAllParameters"),
        self._get_param("ParameterNameValues", []))
    return ActionResult({"CacheParameterGroupName": group.cache_parameter_group_name})


def _r_delete_cache_parameter_group(self: Any) -> ActionResult:
    self.elasticache_backend.delete_cache_parameter_group(
        self._get_param("CacheParameterGroupName"))
    return EmptyResult()


def _r_describe_cache_parameters(self: Any) -> ActionResult:
    parameters = self.elasticache_backend.describe_cache_parameters(
        self._get_param("CacheParameterGroupName"), self._get_param("Source"))
    return _page(self, parameters, "Parameters")


def _r_delete_cache_subnet_group(self: Any) -> ActionResult:
    self.elasticache_backend.delete_cache_subnet_group(self._get_param("CacheSubnetGroupName"))
    return EmptyResult()


def _r_modify_cache_subnet_group(self: Any) -> ActionResult:
    group = self.elasticache_backend.modify_cache_subnet_group(
        self._get_param("CacheSubnetGroupName"), self._get_param("CacheSubnetGroupDescription"),
        self._get_param("SubnetIds"))
    return ActionResult({"CacheSubnetGroup": group})


def _r_delete_replication_group(self: Any) -> ActionResult:
    group = self.elasticache_backend.delete_replication_group(
        replication_group_id=self._get_param("ReplicationGroupId"),
        retain_primary_cluster=self._get_bool_param("RetainPrimaryCluster"),
        final_snapshot_identifier=self._get_param("FinalSnapshotIdentifier"))
    return ActionResult({"ReplicationGroup": group})


def _r_modify_replication_group(self: Any) -> ActionResult:
    names = {
        "ReplicationGroupDescription": "replication_group_description",
        "CacheNodeType": "cache_node_type", "Engine": "engine",
        "EngineVersion": "engine_version",
        "PreferredMaintenanceWindow": "preferred_maintenance_window",
        "SnapshotWindow": "snapshot_window", "CacheParameterGroupName":
        "cache_parameter_group_name", "SecurityGroupIds": "security_group_ids",
        "CacheSecurityGroupNames": "cache_security_group_names",
        "NotificationTopicArn": "notification_topic_arn", "AuthToken": "auth_token",
        "AuthTokenUpdateStrategy": "auth_token_update_strategy",
        "TransitEncryptionMode": "transit_encryption_mode",
        "LogDeliveryConfigurations": "log_delivery_configurations",
        "UserGroupIdsToAdd": "user_group_ids_to_add",
        "UserGroupIdsToRemove": "user_group_ids_to_remove", "IpDiscovery": "ip_discovery",
        "ClusterMode": "cluster_mode", "PrimaryClusterId": "primary_cluster_id",
        "SnapshottingClusterId": "snapshotting_cluster_id",
    }
    changes = {attr: self._get_param(param) for param, attr in names.items()}
    for param, attr in (("AutomaticFailoverEnabled", "automatic_failover_enabled"),
                        ("MultiAZEnabled", "multi_az_enabled"),
                        ("AutoMinorVersionUpgrade", "auto_minor_version_upgrade"),
                        ("TransitEncryptionEnabled", "transit_encryption_enabled"),
                        ("RemoveUserGroups", "remove_user_groups")):
        changes[attr] = self._get_bool_param(param)
    changes["snapshot_retention_limit"] = self._get_int_param("SnapshotRetentionLimit")
    group = self.elasticache_backend.modify_replication_group_settings(
        self._get_param("ReplicationGroupId"), **changes)
    return ActionResult({"ReplicationGroup": group})


def _r_describe_cache_clusters(self: Any) -> ActionResult:
    clusters = self.elasticache_backend.describe_cache_clusters(
        cache_cluster_id=self._get_param("CacheClusterId"))
    if self._get_bool_param("ShowCacheClustersNotInReplicationGroups"):
        clusters = [c for c in clusters if not getattr(c, "replication_group_id", None)]
    if not self._get_bool_param("ShowCacheNodeInfo"):
        clusters = [_WithoutNodes(c) for c in clusters]
    return PaginatedResult({"CacheClusters": clusters})


def install() -> None:
    Backend, Response = ElastiCacheBackend, ElastiCacheResponse
    if getattr(Backend, "_hrsaas_elasticache", False):
        return
    Backend.create_cache_parameter_group = create_cache_parameter_group
    Backend.describe_cache_parameter_groups = describe_cache_parameter_groups
    Backend.modify_cache_parameter_group = modify_cache_parameter_group
    Backend.reset_cache_parameter_group = reset_cache_parameter_group
    Backend.delete_cache_parameter_group = delete_cache_parameter_group
    Backend.describe_cache_parameters = describe_cache_parameters
    Backend.delete_cache_subnet_group = delete_cache_subnet_group
    Backend.modify_cache_subnet_group = modify_cache_subnet_group
    Backend.modify_replication_group_settings = modify_replication_group_settings
    Backend.create_replication_group = _wrap_create_replication_group(
        Backend.create_replication_group)
    Backend.delete_replication_group = _wrap_delete_replication_group(
        Backend.delete_replication_group)
    Backend.delete_cache_cluster = _wrap_delete_cache_cluster(Backend.delete_cache_cluster)
    Backend.list_tags_for_resource = _wrap_list_tags_for_resource(
        Backend.list_tags_for_resource)
    ReplicationGroup._set_node_members_clusters_disabled = _set_node_members_clusters_disabled
    CacheCluster.cache_parameter_group = property(_cache_parameter_group)
    CacheCluster.security_groups = property(_security_group_memberships)
    CacheCluster.cache_nodes = property(_cache_nodes)
    Response.create_cache_parameter_group = _r_create_cache_parameter_group
    Response.describe_cache_parameter_groups = _r_describe_cache_parameter_groups
    Response.modify_cache_parameter_group = _r_modify_cache_parameter_group
    Response.reset_cache_parameter_group = _r_reset_cache_parameter_group
    Response.delete_cache_parameter_group = _r_delete_cache_parameter_group
    Response.describe_cache_parameters = _r_describe_cache_parameters
    Response.delete_cache_subnet_group = _r_delete_cache_subnet_group
    Response.modify_cache_subnet_group = _r_modify_cache_subnet_group
    Response.delete_replication_group = _r_delete_replication_group
    Response.modify_replication_group = _r_modify_replication_group
    Response.describe_cache_clusters = _r_describe_cache_clusters
    Backend._hrsaas_elasticache = True
