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


def test_errors_are_reported_against_their_stacks_and_provider_blocks_are_shared_by_shape(
        synth_dir: Path, tmp_path: Path, monkeypatch):
    """One validate run over four stacks with two errors: a resource argument's value the
    provider does not accept (mvp-registry) and a misspelt argument in mvp-edge's aliased
    provider block. The stacks' provider blocks are shared by shape at the validate root (one
    provider process each, not one per stack), so each error still names its own stack."""
    from hrsaas.gate import terraform_validate

    stacks = tmp_path / "stacks"
    for name in ("mvp-network", "mvp-registry", "mvp-edge", "prod-edge"):
        shutil.copytree(synth_dir / "stacks" / name, stacks / name)
    registry = stacks / "mvp-registry" / "cdk.tf.json"
    body = json.loads(registry.read_text())
    repo = next(iter(body["resource"]["aws_ecr_repository"].values()))
    repo["image_tag_mutability"] = "SOMETIMES"  # not one of the provider's values
    registry.write_text(json.dumps(body))
    edge = stacks / "mvp-edge" / "cdk.tf.json"
    body = json.loads(edge.read_text())
    aliased = next(c for c in body["provider"]["aws"] if c.get("alias"))
    aliased["regionn"] = aliased["region"]  # a misspelt argument
    edge.write_text(json.dumps(body))
    real_run, providers = terraform_validate.subprocess.run, []

    def spy(cmd, **kwargs):
        if "validate" in cmd:
            providers.extend(p.name for p in Path(kwargs["cwd"]).glob("provider-*.tf.json"))
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(terraform_validate.subprocess, "run", spy)
    found = validate(stacks)
    # six provider blocks, three shapes: the default (all four stacks), prod-edge's us_east_1,
    # and mvp-edge's us_east_1 with its extra argument
    assert sorted(providers) == [f"provider-s{i}.tf.json" for i in range(3)], providers
    assert {d.stack for d in found} == {"mvp-registry", "mvp-edge"}, "\n".join(map(str, found))
    assert all(d.severity == "error" for d in found)
    text = "\n".join(str(d) for d in found if d.stack == "mvp-registry")
    assert "SOMETIMES" in text and "aws_ecr_repository." in text, text
    edge_errors = [d for d in found if d.stack == "mvp-edge"]
    assert len(edge_errors) == 1 and '"regionn"' in str(edge_errors[0])
