"""Every stack: provider, backend, state layout, tags; the bootstrap layer's secure state store."""

from __future__ import annotations

import json

import pytest

from hrsaas.config import environment_names, load_environment
from hrsaas.layers import LAYERS
from hrsaas.naming import Names

ENVS = environment_names()
STACKS = [f"{env}-{layer}" for env in ENVS for layer in LAYERS]
ACCOUNTS = {"local": "123456789012", "mvp": "111111111111", "prod": "222222222222"}


def test_synth_writes_every_env_and_layer(synth_dir):
    written = sorted(p.name for p in (synth_dir / "stacks").iterdir())
    assert written == sorted(STACKS)


@pytest.mark.parametrize("stack_id", STACKS)
def test_provider_and_backend(stack, stack_id):
    env_name, layer = stack_id.split("-", 1)
    s = stack(stack_id)
    providers = s.json["provider"]["aws"]
    (provider,) = [p for p in providers if "alias" not in p]
    assert provider["region"] == "ap-northeast-2"
    # A us-east-1 alias exists only where CloudFront needs it (its certificate, WAF and
    # alarms); a second region only where prod copies its backups.
    aliases = {"edge": [("us_east_1", "us-east-1")],
               "observability": [("us_east_1", "us-east-1")]}
    if env_name == "prod":
        aliases["backup"] = [("copy_region", "ap-northeast-1")]
    assert [(p["alias"], p["region"]) for p in providers if "alias" in p] == (
        aliases.get(layer, []))
    for p in providers:
        assert p["allowed_account_ids"] == [ACCOUNTS[env_name]]
        assert p["default_tags"] == [{"tags": {
            "Project": "hr-saas", "Environment": env_name, "Layer": layer,
            "ManagedBy": "terraform-cdktf", "Repository": "hr-saas-infra"}}]
    assert "required_version" not in s.json["terraform"], "checkov cannot parse it (PLATFORM.md)"
    backend = s.json["terraform"]["backend"]
    if layer == "bootstrap":
        assert set(backend) == {"local"}
        assert backend["local"]["path"].endswith(f"/{env_name}/bootstrap.tfstate")
        return
    s3 = backend["s3"]
    assert s3["bucket"] == f"hr-saas-{env_name}-tfstate-{ACCOUNTS[env_name]}"
    assert s3["key"] == f"{env_name}/{layer}/terraform.tfstate"
    assert s3["encrypt"] is True and s3["use_lockfile"] is True
    assert s3["dynamodb_table"] == f"hr-saas-{env_name}-tflock"
    assert s3["allowed_account_ids"] == [ACCOUNTS[env_name]]
    emulated = load_environment(env_name).is_emulated
    for config in (provider, s3):
        assert ("access_key" in config) == emulated, "credentials only for the emulator"
    if emulated:
        urls = list(provider["endpoints"][0].values()) + list(s3["endpoints"].values())
        assert all(u.startswith("http://127.0.0.1:") for u in urls)
        assert provider["max_retries"] == 2


def test_naming_is_one_function():
    names = Names("hr-saas", "prod", "222222222222")
    assert names.stack_id("network") == "prod-network"
    assert names.state_key("network") == "prod/network/terraform.tfstate"
    assert names.resource("flow-logs") == "hr-saas-prod-flow-logs"
    assert names.env_suffixed("frontend") == "hr-saas-frontend-prod"


@pytest.mark.parametrize("stack_id,upstream", [
    ("prod-network", {"security"}), ("prod-data", {"security", "network"}),
    ("prod-cache", {"security", "network"})])
def test_layers_read_each_other_only_through_remote_state(stack, stack_id, upstream):
    s = stack(stack_id)
    remotes = s.json["data"]["terraform_remote_state"].values()
    assert {r["config"]["key"] for r in remotes} == {
        f"prod/{layer}/terraform.tfstate" for layer in upstream}
    assert {r["config"]["bucket"] for r in remotes} == {"hr-saas-prod-tfstate-222222222222"}


def test_dependency_order_in_the_manifest(synth_dir):
    manifest = json.loads((synth_dir / "manifest.json").read_text())["stacks"]
    for env in ENVS:
        assert manifest[f"{env}-bootstrap"]["dependencies"] == []
        assert manifest[f"{env}-security"]["dependencies"] == [f"{env}-bootstrap"]
        assert sorted(manifest[f"{env}-network"]["dependencies"]) == [
            f"{env}-bootstrap", f"{env}-security"]
        for layer in ("data", "cache"):
            assert sorted(manifest[f"{env}-{layer}"]["dependencies"]) == [
                f"{env}-bootstrap", f"{env}-network", f"{env}-security"]
        for layer in ("messaging", "registry", "dns"):
            assert sorted(manifest[f"{env}-{layer}"]["dependencies"]) == [
                f"{env}-bootstrap", f"{env}-security"]
        # The ALB is the edge layer's: it runs beside data, not after it.
        assert sorted(manifest[f"{env}-edge"]["dependencies"]) == [
            f"{env}-bootstrap", f"{env}-dns", f"{env}-network", f"{env}-security"]


@pytest.mark.parametrize("env_name", ["mvp", "prod"])
def test_bootstrap_state_store_is_secure(stack, env_name):
    s = stack(f"{env_name}-bootstrap")
    bucket = s.one("aws_s3_bucket")
    assert bucket["bucket"] == f"hr-saas-{env_name}-tfstate-{ACCOUNTS[env_name]}"
    assert bucket["force_destroy"] is False
    pab = s.one("aws_s3_bucket_public_access_block")
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy",
                                         "ignore_public_acls", "restrict_public_buckets"))
    assert s.one("aws_s3_bucket_ownership_controls")["rule"] == {
        "object_ownership": "BucketOwnerEnforced"}
    assert s.one("aws_s3_bucket_versioning")["versioning_configuration"] == {
        "status": "Enabled"}
    (rule,) = s.one("aws_s3_bucket_server_side_encryption_configuration")["rule"]
    sse = rule["apply_server_side_encryption_by_default"]
    assert sse["sse_algorithm"] == "aws:kms"
    if env_name == "prod":
        assert sse["kms_master_key_id"].startswith("${aws_kms_key.")
        assert s.one("aws_kms_key")["enable_key_rotation"] is True
    else:
        assert "kms_master_key_id" not in sse  # the AWS-managed aws/s3 key
    # The retention of old state versions is the audit layer's (next test).
    assert not s.resources("aws_s3_bucket_lifecycle_configuration")
    statements = s.policy_document(s.one("aws_s3_bucket_policy")["policy"])["statement"]
    assert statements[0]["effect"] == "Deny"
    assert statements[0]["condition"] == [
        {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}]
    table = s.one("aws_dynamodb_table")
    assert table["name"] == f"hr-saas-{env_name}-tflock" and table["hash_key"] == "LockID"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"]["enabled"] is True
    assert table["deletion_protection_enabled"] is True


@pytest.mark.parametrize("env_name", ["local", "mvp", "prod"])
def test_the_state_buckets_retention_is_the_audit_layers(stack, synth_dir, env_name):
    """Bootstrap's apply (by hand, local state) holds no lifecycle wait: audit, which deploys
    after bootstrap, expires the state bucket's old versions with SecureBucket's one rule."""
    s = stack(f"{env_name}-audit")
    state_bucket = stack(f"{env_name}-bootstrap").one("aws_s3_bucket")["bucket"]
    [retention] = [body for body in s.resources("aws_s3_bucket_lifecycle_configuration").values()
                   if body["bucket"] == state_bucket]
    (rule,) = retention["rule"]
    assert rule["status"] == "Enabled" and rule["filter"] == [{"prefix": ""}]
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": 90}]
    assert rule["abort_incomplete_multipart_upload"] == [{"days_after_initiation": 7}]
    assert "expiration" not in rule  # current state versions are never expired
    manifest = json.loads((synth_dir / "manifest.json").read_text())["stacks"]
    assert f"{env_name}-bootstrap" in manifest[f"{env_name}-audit"]["dependencies"]


def test_no_nested_block_lost_its_keys(synth_dir):
    """jsii drops multi-word keys of plain dicts nested in lists; an emptied block is the
    symptom. No synthesized list may hold an empty object."""
    def walk(node, path):
        if isinstance(node, list):
            for i, item in enumerate(node):
                assert item != {}, f"empty block at {path}[{i}]"
                walk(item, f"{path}[{i}]")
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}")

    for path in (synth_dir / "stacks").glob("*/cdk.tf.json"):
        walk(json.loads(path.read_text()), path.parent.name)


def test_a_failed_condition_reports_its_message_not_just_its_kind():
    from hrsaas.runner.stacks import first_error

    # Terraform's own layout: the Error line names the kind, the wrapped last paragraph says why.
    output = (
        "│ Error: Resource precondition failed\n│ \n"
        '│   on cdk.tf.json line 1034, in resource "aws_ecs_task_definition" "x":\n'
        "│ 1034:       }\n│     ├────────────────\n"
        '│     │ data.aws_ssm_parameter.employee-image.insecure_value is "r:latest"\n│ \n'
        "│ employee-service has no released image (or a moving tag): publish a\n"
        "│ <git-sha> tag or digest to its image parameter first (docs/images.md).\n╵\n")
    assert first_error(output) == (
        "Error: Resource precondition failed: employee-service has no released image (or a "
        "moving tag): publish a <git-sha> tag or digest to its image parameter first "
        "(docs/images.md).")
    assert first_error("│ Error: creating S3 Bucket: AccessDenied\n╵\n") == (
        "Error: creating S3 Bucket: AccessDenied")


def test_a_lock_error_says_who_holds_the_lock():
    """The lock ID is what `terraform force-unlock` needs, and who/when says whether to."""
    from hrsaas.runner.stacks import first_error, lock_info

    output = (  # Terraform's layout for a held lock (-no-color)
        "│ Error: Error acquiring the state lock\n│ \n"
        "│ Error message: operation error DynamoDB: PutItem, https response error\n"
        "│ StatusCode: 400, ConditionalCheckFailedException: The conditional request failed\n"
        "│ Lock Info:\n│   ID:        0f1e2d3c-aaaa-bbbb-cccc-1234567890ab\n"
        "│   Path:      hr-saas-local-state/local/compute/terraform.tfstate\n"
        "│   Operation: OperationTypeApply\n│   Who:       ci@runner\n"
        "│   Version:   1.9.8\n│   Created:   2026-12-04 06:00:00 +0000 UTC\n│   Info:\n│ \n"
        "│ Terraform acquires a state lock to protect the state from being written\n╵\n")
    error = first_error(output)
    assert error.startswith("Error: Error acquiring the state lock (Error message: operation")
    for field in ("ID: 0f1e2d3c-aaaa-bbbb-cccc-1234567890ab", "Operation: OperationTypeApply",
                  "Who: ci@runner", "Path: hr-saas-local-state/local/compute/terraform.tfstate",
                  "Created: 2026-12-04 06:00:00 +0000 UTC"):
        assert field in error
    assert "Version" not in error and "Terraform acquires" not in error
    info = lock_info(output)  # the one parser: this message, own_lock and the reliability tests
    assert info["ID"] == "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab" and info["Version"] == "1.9.8"
    assert "Info" not in info  # an empty field is not a value
    assert lock_info("│ Error: creating S3 Bucket: AccessDenied\n╵\n") == {}


def test_bootstrap_runs_first_and_is_destroyed_last(synth_dir):
    """Every backend lives in bootstrap's bucket: every stack depends on bootstrap in the
    manifest, so the runner's graph (hrsaas/runner/graph.py) starts it alone and destroys it
    after everything else."""
    from hrsaas.runner.stacks import stack_graph

    manifest = json.loads((synth_dir / "manifest.json").read_text())["stacks"]
    for env in ENVS:
        graph = stack_graph(env, synth_dir)
        assert set(graph.order) == {f"{env}-{layer}" for layer in LAYERS}
        for stack in graph.order:
            if stack != f"{env}-bootstrap":
                assert f"{env}-bootstrap" in manifest[stack]["dependencies"], stack
        assert graph.order[0] == f"{env}-bootstrap"
        assert graph.downstream(f"{env}-bootstrap") == list(graph.order[1:])
        assert graph.reversed().order[-1] == f"{env}-bootstrap"
