"""tests/own_emulator.py's ``local_copy`` is what a real synthesis for that server writes.

Every test with a moto server of its own applies a rewritten copy of the session synthesis's
`local` stacks instead of paying a jsii synthesis per server; this proves the copy equals a real
``HRSAAS_ENVS=local`` synthesis for another endpoint and another state folder, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.own_emulator import local_copy


def test_the_rewritten_copy_is_byte_identical_to_a_real_synthesis(synth_dir: Path,
                                                                  variant_synth: dict,
                                                                  tmp_path: Path):
    # The run's second synthesis: `local` for another endpoint and state folder.
    env = {k: variant_synth[k] for k in ("HRSAAS_EMULATOR_ENDPOINT", "HRSAAS_STATE_DIR")}
    real = Path(variant_synth["out"])  # local, mvp and a few more environments
    copied = tmp_path / "copied"
    local_copy(synth_dir, copied, env)

    stacks = sorted(p.name for p in (real / "stacks").iterdir() if p.name.startswith("local-"))
    assert stacks
    assert sorted(p.name for p in (copied / "stacks").iterdir()) == stacks
    for name in stacks:
        assert sorted(p.name for p in (copied / "stacks" / name).iterdir()) == sorted(
            p.name for p in (real / "stacks" / name).iterdir()), name
        text = (copied / "stacks" / name / "cdk.tf.json").read_text()
        assert text == (real / "stacks" / name / "cdk.tf.json").read_text(), name
    # The runner reads the manifest as JSON; cdktf's own layout of it is not reproduced.
    manifest = json.loads((real / "manifest.json").read_text())
    manifest["stacks"] = {k: v for k, v in manifest["stacks"].items() if k in stacks}
    assert json.loads((copied / "manifest.json").read_text()) == manifest
    # The values really changed (a copy of the session's would not be for this server).
    bootstrap = (copied / "stacks" / "local-bootstrap" / "cdk.tf.json").read_text()
    assert env["HRSAAS_STATE_DIR"] + "/local/bootstrap.tfstate" in bootstrap
    network = (copied / "stacks" / "local-network" / "cdk.tf.json").read_text()
    assert env["HRSAAS_EMULATOR_ENDPOINT"] in network
