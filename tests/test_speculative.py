"""Speculative plans (hrsaas/runner/speculative.py): a stack whose upstream is not applied yet still
plans, with unknown values of the right shape where the upstream's outputs will go."""

from __future__ import annotations

import json
import subprocess

from hrsaas.runner import speculative
from hrsaas.toolenv import tool_env


def load(synth_dir, stack_id):
    return json.loads((synth_dir / "stacks" / stack_id / "cdk.tf.json").read_text())


def test_every_remote_read_becomes_an_unknown_of_its_shape(synth_dir):
    compute = load(synth_dir, "mvp-compute")
    reads = sorted(compute["data"]["terraform_remote_state"])
    producers = {name: load(synth_dir, f"mvp-{name.removeprefix('remote-')}") for name in reads}
    spec = speculative.speculative_stack(compute, producers)
    text = json.dumps(spec)
    assert "terraform_remote_state" not in text
    assert "data" not in spec or "terraform_remote_state" not in spec["data"]
    # Shapes come from the producers' synthesized outputs, not from a list kept here.
    registry = producers["remote-registry"]["output"]
    assert set(spec["locals"]["remote-registry"]) == set(registry)
    assert set(spec["locals"]["remote-registry"]["repository_arns"]) == {
        "appointment", "approval", "attendance", "auth", "certificate", "employee", "file",
        "mdm", "notification", "organization", "recruitment", "tenant"}
    assert spec["locals"]["remote-network"]["private_app_subnet_ids"] == (
        '${split(",", timestamp())}')
    assert spec["locals"]["remote-data"]["db_port"] == "${length(timestamp())}"
    assert "${local.remote-data.db_host}" in text
    # The synthesized stack itself is untouched.
    assert compute["data"]["terraform_remote_state"]


def test_a_missing_state_bucket_plans_against_a_local_backend(synth_dir, tmp_path):
    network = load(synth_dir, "prod-network")
    reads = network["data"]["terraform_remote_state"]
    assert speculative.missing_producers(network, lambda bucket, key: False) == sorted(reads)
    assert speculative.missing_producers(network, lambda bucket, key: True) == []
    producers = {n: load(synth_dir, f"prod-{n.removeprefix('remote-')}") for n in reads}
    spec = speculative.speculative_stack(network, producers,
                                         local_backend=tmp_path / "terraform.tfstate")
    assert spec["terraform"]["backend"] == {"local": {"path": str(tmp_path / "terraform.tfstate")}}


def test_the_speculative_copy_is_valid_terraform(synth_dir, tmp_path):
    """terraform itself validates the rewritten prod compute stack (offline provider mirror)."""
    compute = load(synth_dir, "prod-compute")
    producers = {n: load(synth_dir, f"prod-{n.removeprefix('remote-')}")
                 for n in compute["data"]["terraform_remote_state"]}
    spec = speculative.speculative_stack(compute, producers)
    work = speculative.write_speculative_copy(synth_dir / "stacks" / "prod-compute",
                                              tmp_path / "prod-compute", spec)
    env = tool_env()
    init = subprocess.run(["terraform", "init", "-backend=false", "-input=false", "-no-color"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stdout + init.stderr
    valid = subprocess.run(["terraform", "validate", "-no-color"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=300)
    assert valid.returncode == 0, valid.stdout + valid.stderr
