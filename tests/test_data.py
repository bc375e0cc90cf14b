"""security, data and cache layers against the guide's §5, §6, §11 for mvp and prod."""

from __future__ import annotations

import json
import re

import pytest

GIB = 1024 ** 3
# Instance memory (DBInstanceClassMemory is a little less on RDS; the ratio is what matters).
INSTANCE_MEMORY = {"db.t3.medium": 4 * GIB, "db.r6g.large": 16 * GIB}
EXPECTED = {
    "mvp": dict(instance_class="db.t3.medium", allocated_storage=50, max_allocated_storage=200,
                multi_az=False, backup_retention_period=7, max_connections="250",
                node_type="cache.t3.micro", nodes=1, failover=False),
    "prod": dict(instance_class="db.r6g.large", allocated_storage=200,
                 max_allocated_storage=1000, multi_az=True, backup_retention_period=35,
                 max_connections="1000", node_type="cache.r6g.large", nodes=2, failover=True),
}
SECRETS = {"hr-saas/db": {"username", "password"}, "hr-saas/redis": {"password"},
           "hr-saas/jwt": {"secret"}, "hr-saas/encryption": {"key"}}


def rds_formula(value: str, memory_bytes: int) -> float:
    """Evaluate an RDS ``{DBInstanceClassMemory…}`` formula."""
    match = re.fullmatch(r"\{DBInstanceClassMemory(?:\*(\d+))?/(\d+)\}", value)
    assert match, f"not an RDS memory formula: {value}"
    return memory_bytes * int(match.group(1) or 1) / int(match.group(2))


def pages_as_share_of_memory(value: str, instance_class: str) -> float:
    """shared_buffers / effective_cache_size are in 8 KB pages on RDS."""
    memory = INSTANCE_MEMORY[instance_class]
    return rds_formula(value, memory) * 8192 / memory


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_rds_instance(stack, env):
    s, want = stack(f"{env}-data"), EXPECTED[env]
    db = s.one("aws_db_instance")
    for key in ("instance_class", "allocated_storage", "max_allocated_storage", "multi_az",
                "backup_retention_period"):
        assert db[key] == want[key], key
    assert db["engine"] == "postgres" and db["engine_version"] == "15"
    assert db["storage_type"] == "gp3" and db["storage_encrypted"] is True
    assert db["publicly_accessible"] is False
    assert db["deletion_protection"] is True and db["skip_final_snapshot"] is False
    assert db["final_snapshot_identifier"] == f"hr-saas-{env}-db-final"
    assert db["copy_tags_to_snapshot"] and db["iam_database_authentication_enabled"]
    assert db["auto_minor_version_upgrade"] and not db["allow_major_version_upgrade"]
    assert db["performance_insights_enabled"] and db["monitoring_interval"] == 60
    assert db["enabled_cloudwatch_logs_exports"] == ["postgresql", "upgrade"]
    assert db["maintenance_window"] and db["backup_window"]
    remote = "${data.terraform_remote_state.remote-"
    assert db["vpc_security_group_ids"] == [
        f"{remote}network.outputs.rds_security_group_id}}"]
    _, subnets = s.deref(db["db_subnet_group_name"])
    assert subnets["subnet_ids"] == f"{remote}network.outputs.private_data_subnet_ids}}"
    if env == "prod":
        assert db["kms_key_id"] == f"{remote}security.outputs.rds_kms_key_arn}}"
    else:
        assert "kms_key_id" not in db  # the AWS-managed aws/rds key ("KMS 기본 키")
    # The master password is write-only, read from hr-saas/db as an ephemeral value.
    assert "password" not in db and db["password_wo"].startswith(
        "${jsondecode(ephemeral.aws_secretsmanager_secret_version.")
    assert db["password_wo_version"] == f"{remote}security.outputs.db_secret_generation}}"
    _, role = s.deref(db["monitoring_role_arn"])
    assert s.one("aws_iam_role_policy_attachment")["policy_arn"].endswith(
        "AmazonRDSEnhancedMonitoringRole")
    assert role["name"] == f"hr-saas-{env}-db-monitoring"


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_parameter_group_in_rds_units(stack, env):
    s, want = stack(f"{env}-data"), EXPECTED[env]
    group = s.one("aws_db_parameter_group")
    assert group["family"] == "postgres15"
    assert group["lifecycle"]["create_before_destroy"] is True and "name_prefix" in group
    params = {p["name"]: p["value"] for p in group["parameter"]}
    assert params["max_connections"] == want["max_connections"]
    assert params["work_mem"] == "16384"  # kB: 16 MB
    assert params["log_min_duration_statement"] == "1000"
    assert params["rds.force_ssl"] == "1"
    shared = pages_as_share_of_memory(params["shared_buffers"], want["instance_class"])
    cache = pages_as_share_of_memory(params["effective_cache_size"], want["instance_class"])
    assert shared == pytest.approx(0.25) and cache == pytest.approx(0.75)


def test_the_guides_formula_taken_literally_would_fail():
    """The guide writes {DBInstanceClassMemory/4}: in 8 KB pages that is 8192× too large."""
    literal = pages_as_share_of_memory("{DBInstanceClassMemory/4}", "db.r6g.large")
    assert literal == pytest.approx(0.25 * 8192)
    assert literal != pytest.approx(0.25)


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_redis(stack, env):
    s, want = stack(f"{env}-cache"), EXPECTED[env]
    rg = s.one("aws_elasticache_replication_group")
    assert rg["engine"] == "redis" and rg["engine_version"] == "7.1"
    assert rg["node_type"] == want["node_type"]
    assert rg["num_cache_clusters"] == want["nodes"]
    assert rg["automatic_failover_enabled"] is want["failover"]
    assert rg["multi_az_enabled"] is want["failover"]
    assert rg["transit_encryption_enabled"] is True and rg["at_rest_encryption_enabled"] == "true"
    assert rg["port"] == 6379 and rg["snapshot_retention_limit"] >= 1
    # A bootstrap token only; the deploy runner sets hr-saas/redis's (docs/secrets.md).
    assert rg["auth_token"] == "${uuid()}"
    assert rg["lifecycle"]["ignore_changes"] == ["auth_token", "auth_token_update_strategy"]
    assert rg["log_delivery_configuration"][0]["log_type"] == "slow-log"
    _, params = s.deref(rg["parameter_group_name"])
    assert params["family"] == "redis7"
    assert params["parameter"] == [{"name": "cluster-enabled", "value": "no"}]
    assert rg["security_group_ids"] == [
        "${data.terraform_remote_state.remote-network.outputs.redis_security_group_id}"]
    if env == "prod":
        assert rg["kms_key_id"].endswith("outputs.cache_kms_key_arn}")


SENSITIVE_ARGUMENTS = ("secret_string", "secret_string_wo", "password", "password_wo",
                       "auth_token")


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_secrets_are_generated_and_never_written(stack, synth_dir, env):
    s = stack(f"{env}-security")
    names = {f"aws_secretsmanager_secret.{rid}": v["name"]
             for rid, v in s.resources("aws_secretsmanager_secret").items()}
    assert set(names.values()) == set(SECRETS)
    for version in s.resources("aws_secretsmanager_secret_version").values():
        assert "secret_string" not in version
        name = names[s.deref(version["secret_id"])[0]]
        body = version["secret_string_wo"]
        assert set(re.findall(r"(\w+) = ", body)) == SECRETS[name], name
        assert "ephemeral.aws_secretsmanager_random_password." in body
    secrets = s.resources("aws_secretsmanager_secret").values()
    recovery = {"mvp": 7, "prod": 30}[env]
    assert all(v["recovery_window_in_days"] == recovery for v in secrets)
    if env == "prod":
        assert all(v["kms_key_id"].startswith("${aws_kms_key.") for v in secrets)
    generators = s.json["ephemeral"]["aws_secretsmanager_random_password"]
    assert all(g["password_length"] >= 32 for g in generators.values())
    # Every sensitive argument anywhere is an expression, never a literal value.
    for path in synth_dir.glob(f"stacks/{env}-*/cdk.tf.json"):
        for kind in json.loads(path.read_text()).get("resource", {}).values():
            for body in kind.values():
                for arg in SENSITIVE_ARGUMENTS:
                    if arg in body:
                        assert body[arg].startswith("${"), (path.parent.name, arg)


def test_security_outputs_give_ecs_value_from(stack):
    from hrsaas.layers.security import SecurityOutputs

    outputs = SecurityOutputs(
        logs_kms_key_arn=None, rds_kms_key_arn=None, secrets_kms_key_arn=None,
        cache_kms_key_arn=None, messaging_kms_key_arn=None, files_kms_key_arn=None,
        backup_kms_key_arn=None, db_secret_arn="arn:db",
        db_secret_generation=1, redis_secret_arn="arn:redis", jwt_secret_arn="arn:jwt",
        encryption_secret_arn="arn:enc")
    assert outputs.value_from("db", "password") == "arn:db:password::"
    assert outputs.value_from("encryption", "key") == "arn:enc:key::"
    assert set(stack("prod-security").json["output"]) >= {
        "db_secret_arn", "redis_secret_arn", "jwt_secret_arn", "encryption_secret_arn"}


def test_prod_keys_rotate_and_admit_only_their_services(stack):
    s = stack("prod-security")
    keys = s.resources("aws_kms_key")
    assert len(keys) == 7 and all(k["enable_key_rotation"] for k in keys.values())
    vias = {}
    for key in keys.values():
        statements = s.policy_document(key["policy"])["statement"]
        admin = statements[0]
        assert not any(a in admin["actions"] for a in ("kms:Decrypt", "kms:*", "kms:CreateGrant"))
        for st in statements[1:]:
            for cond in st.get("condition", []):
                if cond["variable"] == "kms:ViaService":
                    vias[key["description"].split(" of ")[0]] = cond["values"]
    assert vias == {
        "RDS PostgreSQL storage, snapshots and Performance Insights":
            ["rds.ap-northeast-2.amazonaws.com"],
        "Secrets Manager secrets": ["secretsmanager.ap-northeast-2.amazonaws.com"],
        "ElastiCache Redis at rest": ["elasticache.ap-northeast-2.amazonaws.com"],
        "SNS topics and SQS queues": ["sns.ap-northeast-2.amazonaws.com",
                                      "sqs.ap-northeast-2.amazonaws.com"],
        "the file-storage bucket": ["s3.ap-northeast-2.amazonaws.com"],
        "the AWS Backup vault": ["backup.ap-northeast-2.amazonaws.com"],
    }
    assert stack("mvp-security").resources("aws_kms_key") == {}
