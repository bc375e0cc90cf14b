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
