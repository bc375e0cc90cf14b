"""tests/own_emulator.py's ``local_copy`` is what a real synthesis for that server writes.

Every test with a moto server of its own applies a rewritten copy of the session synthesis's
`local` stacks instead of paying a jsii synthesis per server; this proves the copy equals a real
``HRSAAS_ENVS=local`` synthesis for another endpoint and another state folder, byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

from hrsaas.emulator import server as emulator
from tests.conftest import synthesize
from tests.own_emulator import local_copy


def test_the_rewritten_copy_is_byte_identical_to_a_real_synthesis(synth_dir: Path,
                                                                  tmp_path: Path):
    env = {"HRSAAS_EMULATOR_ENDPOINT": f"http://127.0.0.1:{emulator.free_port()}",
           "HRSAAS_STATE_DIR": str(tmp_path / "elsewhere" / "state")}
    real = tmp_path / "real"
    result = synthesize(real, {"HRSAAS_ENVS": "local", **env})
    assert result.returncode == 0, result.stdout + result.stderr
    copied = tmp_path / "copied"
    local_copy(synth_dir, copied, env)

    stacks = sorted(p.name for p in (real / "stacks").iterdir())
    assert stacks and all(s.startswith("local-") for s in stacks)
    assert sorted(p.name for p in (copied / "stacks").iterdir()) == stacks
    for name in stacks:
        assert sorted(p.name for p in (copied / "stacks" / name).iterdir()) == sorted(
            p.name for p in (real / "stacks" / name).iterdir()), name
        text = (copied / "stacks" / name / "cdk.tf.json").read_text()
        assert text == (real / "stacks" / name / "cdk.tf.json").read_text(), name
    # The runner reads the manifest as JSON; cdktf's own layout of it is not reproduced.
    assert json.loads((copied / "manifest.json").read_text()) == json.loads(
        (real / "manifest.json").read_text())
    # The values really changed (a copy of the session's would not be for this server).
    bootstrap = (copied / "stacks" / "local-bootstrap" / "cdk.tf.json").read_text()
    assert env["HRSAAS_STATE_DIR"] + "/local/bootstrap.tfstate" in bootstrap
    network = (copied / "stacks" / "local-network" / "cdk.tf.json").read_text()
    assert env["HRSAAS_EMULATOR_ENDPOINT"] in network
