"""The state bucket's lifecycle moved from bootstrap to audit (hrsaas/layers/audit.py). A
bootstrap state applied before the move must forget its copy without deleting it: otherwise
whichever of the two stacks applies last decides whether the bucket keeps its retention rule."""

from __future__ import annotations

import json

import pytest

OLD_ADDRESS = "aws_s3_bucket_lifecycle_configuration.state-bucket_lifecycle_C2B75840"


@pytest.mark.emulator
@pytest.mark.timeout(600)
def test_a_bootstrap_applied_before_the_move_keeps_the_rule_it_forgets(own_moto):
    import boto3

    from hrsaas.runner.stacks import terraform

    folder = own_moto.outdir / "stacks" / "local-bootstrap"
    current = json.loads((folder / "cdk.tf.json").read_text())
    assert current["removed"] == [{"from": OLD_ADDRESS, "lifecycle": {"destroy": False}}]
    # The stack as it was before the move: the same bucket with its lifecycle at the address
    # the construct gave it, after the bucket's last configuration part.
    old = json.loads(json.dumps(current))
    del old["removed"]
    [bucket] = old["resource"]["aws_s3_bucket"]
    [encryption] = old["resource"]["aws_s3_bucket_server_side_encryption_configuration"]
    old["resource"]["aws_s3_bucket_lifecycle_configuration"] = {
        OLD_ADDRESS.split(".")[1]: {
            "bucket": f"${{aws_s3_bucket.{bucket}.id}}",
            "depends_on": [f"aws_s3_bucket_server_side_encryption_configuration.{encryption}"],
            "rule": [{"id": "expire-noncurrent-versions", "status": "Enabled",
                      "filter": [{"prefix": ""}],
                      "noncurrent_version_expiration": [{"noncurrent_days": 90}],
                      "abort_incomplete_multipart_upload": [{"days_after_initiation": 7}]}]}}
    (folder / "cdk.tf.json").write_text(json.dumps(old))

    def apply():
        for args in (("init", "-input=false", "-no-color"),
                     ("apply", "-auto-approve", "-input=false", "-no-color")):
            result = terraform(folder, *args, timeout=300)
            assert result.returncode == 0, result.stdout
        return result.stdout

    apply()
    (folder / "cdk.tf.json").write_text(json.dumps(current))
    out = apply()
    assert "will no longer be managed by Terraform" in out, out
    assert "0 destroyed" in out, out
    state = terraform(folder, "state", "list", timeout=120)
    assert state.returncode == 0 and OLD_ADDRESS not in state.stdout.split(), state.stdout
    s3 = boto3.client("s3", endpoint_url=own_moto.endpoint, region_name="ap-northeast-2",
                      aws_access_key_id="test", aws_secret_access_key="test")
    name = current["resource"]["aws_s3_bucket"][bucket]["bucket"]
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
