"""`terraform validate` of every synthesized stack of the real environments: the provider's
schema (argument names, types, enums, conflicts) checked without an account (fast tier)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hrsaas.gate.terraform_validate import validate
from hrsaas.topology import LAYERS

REAL = [f"{env}-{layer}" for env in ("mvp", "prod") for layer in LAYERS]


def test_every_real_stack_is_valid_for_the_provider(synth_dir: Path):
    found = validate(synth_dir / "stacks", REAL)
    assert found == [], "\n".join(map(str, found))


def test_a_schema_error_is_reported_against_its_stack(synth_dir: Path, tmp_path: Path):
    stacks = tmp_path / "stacks"
    for name in ("mvp-network", "mvp-registry"):
        shutil.copytree(synth_dir / "stacks" / name, stacks / name)
    broken = stacks / "mvp-registry" / "cdk.tf.json"
    body = json.loads(broken.read_text())
    repo = next(iter(body["resource"]["aws_ecr_repository"].values()))
    repo["image_tag_mutability"] = "SOMETIMES"  # not one of the provider's values
    broken.write_text(json.dumps(body))
    found = validate(stacks)
    assert {d.stack for d in found} == {"mvp-registry"}
    text = "\n".join(map(str, found))
    assert "SOMETIMES" in text and "aws_ecr_repository." in text, text
    assert all(d.severity == "error" for d in found)


def test_provider_blocks_are_validated_once_per_shape_and_errors_name_their_stacks(
        synth_dir: Path, tmp_path: Path, monkeypatch):
    """The stacks' provider blocks are shared by shape at the validate root (one provider process
    each, not one per stack): the aliased block (edge's us-east-1 provider) still reaches its
    module, and a wrong argument in one stack's block is reported against that stack only."""
    from hrsaas.gate import terraform_validate

    stacks = tmp_path / "stacks"
    for name in ("mvp-network", "mvp-registry", "mvp-edge", "prod-edge"):
        shutil.copytree(synth_dir / "stacks" / name, stacks / name)
    broken = stacks / "mvp-edge" / "cdk.tf.json"
    body = json.loads(broken.read_text())
    aliased = next(c for c in body["provider"]["aws"] if c.get("alias"))
    aliased["regionn"] = aliased["region"]  # a misspelt argument
    broken.write_text(json.dumps(body))
    real_run, providers = terraform_validate.subprocess.run, []

    def spy(cmd, **kwargs):
        if "validate" in cmd:
            providers.extend(p.name for p in Path(kwargs["cwd"]).glob("provider-*.tf.json"))
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(terraform_validate.subprocess, "run", spy)
    found = validate(stacks)
    # four stacks, six blocks, three shapes: the default (all four), prod-edge's us_east_1,
    # and mvp-edge's us_east_1 with its extra argument
    assert sorted(providers) == [f"provider-s{i}.tf.json" for i in range(3)], providers
    assert [d.stack for d in found] == ["mvp-edge"], "\n".join(map(str, found))
    assert '"regionn"' in str(found[0]) and found[0].severity == "error"
