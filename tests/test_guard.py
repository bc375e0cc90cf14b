"""Guard rails: stateful resources are protected where the environment asks, and real
environments need a confirmation and their own account before anything runs."""

from __future__ import annotations

import subprocess

import pytest

from hrsaas.config import load_environment
from hrsaas.runner.guard import STATEFUL_TYPES, destructive_changes, explain, is_stateful
from hrsaas.runner.stacks import preflight
from hrsaas.toolenv import HRSAAS, ROOT, tool_env


@pytest.mark.parametrize("env", ["prod", "mvp"])
def test_prevent_destroy_on_stateful_resources_where_asked(stack, synth_dir, env):
    protected = load_environment(env).capabilities.protect_stateful
    assert protected is (env == "prod")
    seen = set()
    for path in synth_dir.glob(f"stacks/{env}-*/cdk.tf.json"):
        s = stack(path.parent.name)
        for kind in STATEFUL_TYPES:
            for body in s.resources(kind).values():
                if not is_stateful(kind, body.get("name")):
                    continue  # a service's own log group goes with the service
                seen.add(kind)
                assert body.get("lifecycle", {}).get("prevent_destroy", False) is protected, \
                    (path.parent.name, kind)
    assert {"aws_db_instance", "aws_elasticache_replication_group", "aws_s3_bucket",
            "aws_dynamodb_table", "aws_secretsmanager_secret", "aws_route53_zone",
            "aws_backup_vault", "aws_ecr_repository", "aws_cloudwatch_log_group"} <= seen


def _change(address: str, kind: str, actions: list[str]) -> dict:
    return {"address": address, "type": kind, "change": {"actions": actions}}


def test_guard_flags_destroy_and_replace_of_stateful_resources_only():
    plan = {"resource_changes": [
        _change("aws_db_instance.db", "aws_db_instance", ["delete"]),
        _change("aws_elasticache_replication_group.rg", "aws_elasticache_replication_group",
                ["delete", "create"]),
        _change("aws_s3_bucket.b", "aws_s3_bucket", ["update"]),
        _change("aws_security_group.sg", "aws_security_group", ["delete"]),
        _change("aws_route53_zone.z", "aws_route53_zone", ["delete", "create"]),
        {**_change("aws_cloudwatch_log_group.svc", "aws_cloudwatch_log_group", ["delete"]),
         "change": {"actions": ["delete"], "before": {"name": "/ecs/c/auth-service"}}},
        {**_change("aws_cloudwatch_log_group.flow", "aws_cloudwatch_log_group", ["delete"]),
         "change": {"actions": ["delete"], "before": {"name": "/vpc/hr-saas-prod/flow-logs"}}},
    ]}
    found = destructive_changes(plan)
    assert [str(f) for f in found] == [
        "aws_db_instance.db (the PostgreSQL database) would be destroyed",
        "aws_elasticache_replication_group.rg (the Redis cache) would be replaced",
        "aws_route53_zone.z (the DNS zone (a new zone has new name servers: the domain is "
        "offline until the registrar is updated)) would be replaced",
        "aws_cloudwatch_log_group.flow (an audit log group (flow logs, WAF or CloudTrail logs))"
        " would be destroyed",
    ]
    assert [f.address for f in destructive_changes(plan, {"aws_db_instance.db"})] == [
        "aws_elasticache_replication_group.rg", "aws_route53_zone.z",
        "aws_cloudwatch_log_group.flow"]
    assert "HRSAAS_ALLOW_DESTROY" in explain([str(f) for f in found])


NO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                  "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                  "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": ""}


def test_real_environments_need_a_confirmation(monkeypatch):
    prod = load_environment("prod")
    assert "CONFIRM=prod" in preflight(prod, "deploy", None)
    assert "CONFIRM=prod" in preflight(prod, "destroy", "mvp")
    assert preflight(prod, "plan", None) is None
    assert preflight(load_environment("local"), "deploy", None) is None


def test_unreachable_credentials_stop_before_anything_runs(tmp_path):
    env = tool_env(NO_CREDENTIALS)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        env.pop(key)
    result = subprocess.run(
        [str(HRSAAS), "deploy", "--env", "mvp", "--confirm", "mvp"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "stopped before anything ran: cannot verify the AWS account" in result.stderr
    assert "account 111111111111" in result.stderr and "Traceback" not in result.stderr


# --- the reviewed path for a deliberate destroy: envs/base/allow-destroy.toml ---------------

def test_the_allow_list_file_lets_exactly_its_entries_go(tmp_path, monkeypatch):
    from hrsaas.runner.guard import ALLOW_FILE, allowed, load_allow_list

    monkeypatch.delenv("HRSAAS_ALLOW_DESTROY", raising=False)
    # The shipped file allows nothing: a destroy always needs a reviewed entry.
    assert ALLOW_FILE.is_file() and load_allow_list() == []
    listed = tmp_path / "allow-destroy.toml"
    listed.write_text('[[destroy]]\nenv = "prod"\nstack = "prod-data"\n'
                      'address = "aws_db_instance.db"\nreason = "engine change (#12)"\n'
                      'backup = "snap-1"\n')
    assert allowed("prod", "prod-data", listed) == {"aws_db_instance.db"}
    assert allowed("prod", "prod-cache", listed) == set()  # per stack, not global
    assert allowed("mvp", "prod-data", listed) == set()
    plan = {"resource_changes": [
        _change("aws_db_instance.db", "aws_db_instance", ["delete"]),
        _change("aws_kms_key.k", "aws_kms_key", ["delete"])]}
    assert [f.address for f in destructive_changes(plan, allowed("prod", "prod-data", listed))
            ] == ["aws_kms_key.k"]
    monkeypatch.setenv("HRSAAS_ALLOW_DESTROY", "aws_kms_key.k")
    assert allowed("prod", "prod-data", listed) == {"aws_db_instance.db", "aws_kms_key.k"}


@pytest.mark.parametrize("body, message", [
    ('[[destroy]]\nenv = "prod"\nstack = "prod-data"\nreason = "x"\n',
     "destroy entry 1: `address` is missing: the resource address as the plan names it"),
    ('[[destroy]]\nenv = "prod"\nstack = "prod-data"\naddress = "a.b"\nreason = ""\n',
     "destroy entry 1: `reason` is '': say why"),
    ('[[destroy]]\nenv = "prod"\nstack = "mvp-data"\naddress = "a.b"\nreason = "r"\n',
     "stack 'mvp-data' is not a stack of env 'prod'"),
    ('[[destroy]]\nenv = "prod"\nstack = "prod-data"\naddress = "a.b"\nreason = "r"\n'
     'snapshot = "s"\n', "unknown field(s) snapshot: the fields are env, stack, address"),
    ('destroy = "aws_db_instance.db"\n', "write each entry as [[destroy]]"),
])
def test_a_malformed_allow_list_names_the_entry_the_field_and_the_fix(tmp_path, body, message):
    from hrsaas.runner.guard import AllowListError, load_allow_list

    listed = tmp_path / "allow-destroy.toml"
    listed.write_text(body)
    with pytest.raises(AllowListError) as caught:
        load_allow_list(listed)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(listed))
