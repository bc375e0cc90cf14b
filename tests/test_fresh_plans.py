"""Planning an environment with nothing applied, on the emulator: before anything exists — no
state bucket, no upstream state — every local stack plans.

Moved out of tests/test_roundtrip.py (where it ran before the deploy, on the same server) to a
moto server of its own, so that its fourteen plans run beside the round trip instead of before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from hrsaas.emulator import PLAN_ONLY_LAYERS
from hrsaas.runner.stacks import Runner
from hrsaas.topology import LAYERS
from tests.own_emulator import OwnEmulator, own_emulator

pytestmark = pytest.mark.emulator

# hrsaas/emulator/gaps.py PLAN_ONLY_LAYERS: what moto still cannot apply is only planned.
PLANNED_ONLY = [f"local-{layer}" for layer in LAYERS if layer in PLAN_ONLY_LAYERS]
APPLIED = [f"local-{layer}" for layer in LAYERS if layer not in PLAN_ONLY_LAYERS]


@pytest.fixture(scope="module")
def empty(synth_dir, tmp_path_factory) -> Iterator[tuple[OwnEmulator, Runner]]:
    tmp = tmp_path_factory.mktemp("fresh")
    with own_emulator(tmp, tmp / "cdktf.out", synth_dir) as moto:
        yield moto, Runner("local", tmp / "cdktf.out", quiet=True)


def test_an_environment_with_nothing_applied_still_plans(empty, tmp_path):
    """Reads of layers without state are unknown values (hrsaas/runner/speculative.py), the
    backend is local until the state bucket exists."""
    moto, runner = empty
    s3 = boto3.client("s3", endpoint_url=moto.endpoint, region_name="ap-northeast-2",
                      aws_access_key_id="test", aws_secret_access_key="test")
    assert not [b for b in s3.list_buckets()["Buckets"] if "tfstate" in b["Name"]]
    plans = tmp_path / "fresh-plans"
    codes = runner.plan(save=True, detailed=True, plans_dir=plans)
    assert codes == dict.fromkeys(APPLIED + PLANNED_ONLY, 2)
    for stack in codes:
        meta = json.loads((plans / "local" / f"{stack}.meta").read_text())
        shown = json.loads((plans / "local" / f"{stack}.json").read_text())
        actions = {tuple(c["change"]["actions"]) for c in shown["resource_changes"]}
        assert actions <= {("create",), ("read",)}, (stack, actions)
        if stack == "local-bootstrap":  # its own state is local: nothing to read
            assert meta == {"stack": stack, "speculative_reads": [], "local_backend": False,
                            "planned_inputs": {}}
            continue
        assert meta["local_backend"] is True
    compute = json.loads((plans / "local" / "local-compute.meta").read_text())
    assert {"network", "security", "data", "registry", "edge", "messaging"} <= set(
        compute["speculative_reads"])
    # Planning created nothing.
    assert not [b for b in s3.list_buckets()["Buckets"] if "tfstate" in b["Name"]]
