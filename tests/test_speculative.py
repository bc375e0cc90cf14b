"""Speculative plans (hrsaas/runner/speculative.py): a stack whose upstream is not applied yet still
plans, with unknown values of the right shape where the upstream's outputs will go."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

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


# --- planned outputs of producers planned in the same run -----------------------------------

def test_planned_changes_reads_terraforms_output_changes(tmp_path):
    """A real plan (terraform_data and outputs, local state): the outputs it updates, adds or
    cannot know yet are changes, a no-op output is not; an updated map names its keys."""
    env = tool_env()

    def run(*args):
        result = subprocess.run(["terraform", *args], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def config(version, outputs):
        (tmp_path / "main.tf.json").write_text(json.dumps({
            "resource": {"terraform_data": {"x": {"input": version}}},
            "output": {k: {"value": v} for k, v in outputs.items()}}))

    same = {"kept": "same", "ids": {"auth": "a", "tenant": "t"}}
    config("v1", {**same, "name": "old", "arns": {"auth": "a1", "tenant": "t1"}})
    run("init", "-input=false", "-no-color")
    run("apply", "-auto-approve", "-input=false", "-no-color")
    config("v2", {**same, "name": "new", "arns": {"auth": "a1", "tenant": "t2"},
                  "added": "x", "pending": "${terraform_data.x.output}"})
    run("plan", "-input=false", "-no-color", "-out=p.tfplan")
    shown = json.loads(run("show", "-json", "p.tfplan"))
    assert speculative.planned_changes(shown) == {
        "name": None, "arns": {"tenant"}, "added": None, "pending": None}


def test_only_the_reads_of_changing_outputs_become_unknown(synth_dir):
    compute = load(synth_dir, "mvp-compute")
    producers = {n: load(synth_dir, f"mvp-{n.removeprefix('remote-')}")
                 for n in ("remote-network", "remote-registry")}
    planned = {"remote-network": (producers["remote-network"], {"vpc_id": None}),
               "remote-registry": (producers["remote-registry"],
                                   {"repository_arns": {"auth"}})}
    assert speculative.inputs_that_change(compute, "remote-registry",
                                          planned["remote-registry"][1]) == [
        "repository_arns.auth"]
    spec = speculative.speculative_stack(compute, {}, planned=planned)
    text = json.dumps(spec)
    assert "${local.remote-network.vpc_id}" in text
    assert "local.remote-registry.repository_arns.auth" in text
    # The unchanged reads keep reading the state: the remote state reads stay.
    assert "data.terraform_remote_state.remote-network.outputs.private_app_subnet_ids" in text
    assert "data.terraform_remote_state.remote-registry.outputs.repository_arns.tenant" in text
    assert "data.terraform_remote_state.remote-network.outputs.vpc_id" not in text
    assert set(spec["data"]["terraform_remote_state"]) == set(
        compute["data"]["terraform_remote_state"])
    assert spec["locals"]["remote-network"] == {"vpc_id": speculative.UNKNOWN}
    assert set(spec["locals"]["remote-registry"]["repository_arns"]) >= {"auth", "tenant"}


class AllApplied:
    """Every state exists (a StateStore without AWS)."""

    def bucket_exists(self, bucket):
        return True

    def exists(self, bucket, key):
        return True


def test_plan_dir_uses_this_runs_producer_plan_and_ignores_an_older_one(synth_dir, tmp_path):
    plans = tmp_path / "plans" / "mvp"
    plans.mkdir(parents=True)
    # The database's security group is replaced; the data subnets stay.
    shown = {"output_changes": {
        "rds_security_group_id": {"actions": ["update"], "before": "sg-1", "after_unknown": True},
        "private_data_subnet_ids": {"actions": ["no-op"], "before": ["a"], "after": ["a"],
                                    "after_unknown": False}}}
    (plans / "mvp-network.json").write_text(json.dumps(shown))

    def stack_dir(name):
        return synth_dir / "stacks" / name

    work = plans / ".work" / "mvp-data"
    directory, meta = speculative.plan_dir("mvp-data", "mvp", stack_dir, AllApplied(), work)
    assert meta["planned_inputs"] == {"network": ["rds_security_group_id"]}
    assert meta["speculative_reads"] == [] and directory == work
    copy = (directory / "cdk.tf.json").read_text()
    assert "${local.remote-network.rds_security_group_id}" in copy
    assert "remote-network.outputs.private_data_subnet_ids" in copy
    # The cache reads the data subnets and its own group only: its synthesized directory.
    directory, meta = speculative.plan_dir("mvp-cache", "mvp", stack_dir, AllApplied(),
                                           plans / ".work" / "mvp-cache")
    assert directory == stack_dir("mvp-cache") and meta["planned_inputs"] == {}
    # A plan older than the producer's synthesized JSON is an earlier run's: not used.
    synthesized = stack_dir("mvp-network") / "cdk.tf.json"
    old = synthesized.stat().st_mtime - 60
    os.utime(plans / "mvp-network.json", (old, old))
    directory, meta = speculative.plan_dir("mvp-data", "mvp", stack_dir, AllApplied(), work)
    assert meta["planned_inputs"] == {} and directory == stack_dir("mvp-data")


# --- on the emulator: a producer's planned outputs reach its consumers' plans ---------------


def _stack(template: dict, bucket: str, layer: str, body: dict, reads: tuple[str, ...] = ()
           ) -> dict:
    """A stack of the runner's layout: the backend and remote-state reads of the synthesized
    local stacks (the emulator's endpoints), pointed at this test's bucket."""
    backend = {**template["terraform"]["backend"]["s3"], "bucket": bucket,
               "dynamodb_table": bucket, "key": f"local/{layer}/terraform.tfstate"}
    read = next(iter(template["data"]["terraform_remote_state"].values()))
    spec = {"terraform": {"backend": {"s3": backend}}, **body}
    if reads:
        spec["data"] = {"terraform_remote_state": {f"remote-{name}": {
            "backend": "s3", "config": {**read["config"], "bucket": bucket,
                                        "dynamodb_table": bucket,
                                        "key": f"local/{name}/terraform.tfstate"}}
            for name in reads}}
    return spec


@pytest.mark.emulator
@pytest.mark.timeout(600)
def test_a_changed_producer_output_shows_in_its_consumers_plans(own_moto, tmp_path):
    """alpha (producer) changes its output ``name`` and adds ``added``; beta reads ``name``,
    gamma starts reading ``added``. Planned against the state only, beta says "No changes"
    and gamma fails with "Unsupported attribute"; planned along the graph with alpha's saved
    plan, both show their change as known after apply and the summary names them."""
    import boto3

    from hrsaas.review.summary import load_plans, render
    from hrsaas.runner.stacks import Runner, StackFailed, terraform

    bucket = f"h3-cross-stack-{tmp_path.name[-8:].lower().replace('_', '-')}"
    kwargs = {"endpoint_url": own_moto.endpoint, "region_name": "ap-northeast-2",
              "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    boto3.client("s3", **kwargs).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    boto3.client("dynamodb", **kwargs).create_table(
        TableName=bucket, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])
    template = load(own_moto.outdir, "local-data")  # its provider and backend: this server
    outdir = tmp_path / "cdktf.out"

    def write(layer, body, reads=()):
        folder = outdir / "stacks" / f"local-{layer}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cdk.tf.json").write_text(json.dumps(_stack(template, bucket, layer, body,
                                                              reads)))
        return folder

    def use(value):
        return {"resource": {"terraform_data": {"use": {"input": value}}}}

    def alpha(outputs):
        return {"//": {speculative.SHAPES: dict.fromkeys(outputs, "string")},
                "output": {k: {"value": v} for k, v in outputs.items()},
                "resource": {"terraform_data": {"x": {"input": "v1"}}}}

    (outdir).mkdir()
    (outdir / "manifest.json").write_text(json.dumps({"version": "0.21.0", "stacks": {
        f"local-{name}": {"dependencies": deps} for name, deps in
        (("alpha", []), ("beta", ["local-alpha"]), ("gamma", ["local-alpha"]))}}))
    # The applied version.
    folders = [write("alpha", alpha({"name": "old"})),
               write("beta", use("${data.terraform_remote_state.remote-alpha.outputs.name}"),
                     ("alpha",)),
               write("gamma", use("static"), ("alpha",))]
    for folder in folders:
        for args in (("init", "-input=false", "-no-color"),
                     ("apply", "-auto-approve", "-input=false", "-no-color")):
            result = terraform(folder, *args, timeout=300)
            assert result.returncode == 0, result.stdout
    # The change under review.
    write("alpha", alpha({"name": "new", "added": "fresh"}))
    write("gamma", use("${data.terraform_remote_state.remote-alpha.outputs.added}"), ("alpha",))

    class PlannedOutputs(Runner):
        """The runner asking speculative.plan_dir where to plan (Runner._plan_dir's
        delegation; ``state_only``: a plans folder without the producer's plan)."""

        state_only: Path | None = None

        def _plan_dir(self, stack, states, work):
            return speculative.plan_dir(stack, self.env.name, self.stack_dir, states, work,
                                        self.state_only)

    # Against the state only (alpha not planned in the same run): silent or failing.
    control = PlannedOutputs("local", outdir, quiet=True)
    control.state_only = tmp_path / "no-plans"
    control.state_only.mkdir()
    control.plan(plans_dir=tmp_path / "control", only=["local-beta"])
    beta = json.loads((tmp_path / "control" / "local" / "local-beta.json").read_text())
    assert not [rc for rc in beta.get("resource_changes", [])
                if rc["change"]["actions"] != ["no-op"]]
    with pytest.raises(StackFailed):
        control.plan(plans_dir=tmp_path / "control", only=["local-gamma"])
    assert "Unsupported attribute" in (
        tmp_path / "control" / "local" / "local-gamma.error.txt").read_text()

    # Along the graph: alpha's plan is saved first, its changing outputs are unknown below.
    plans = tmp_path / "plans"
    PlannedOutputs("local", outdir, quiet=True).plan(plans_dir=plans)
    for consumer, output in (("local-beta", "name"), ("local-gamma", "added")):
        shown = json.loads((plans / "local" / f"{consumer}.json").read_text())
        [change] = [rc for rc in shown["resource_changes"] if rc["address"] ==
                    "terraform_data.use"]
        assert change["change"]["actions"] == ["update"], consumer
        assert change["change"]["after_unknown"]["input"] is True, consumer
        assert "(known after apply)" in (plans / "local" / f"{consumer}.txt").read_text()
        meta = json.loads((plans / "local" / f"{consumer}.meta").read_text())
        assert meta["planned_inputs"] == {"alpha": [output]}, consumer
    comment = render(load_plans(plans, outdir))
    assert "### 🔗 Consumers whose inputs change (2)" in comment
    assert "| local-beta | local | alpha: name |" in comment
    assert "| local-gamma | local | alpha: added |" in comment
