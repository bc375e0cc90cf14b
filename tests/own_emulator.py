"""A test's own moto server, for tests that apply (they break locks, kill applies, apply mutated
stacks, or prove that a destroy leaves nothing): no other test shares the server.

The `local` stacks for the server are the session synthesis's, with its endpoint and state
folder rewritten (``local_copy``) instead of a second jsii synthesis per server:
tests/test_own_emulator.py proves the copy byte-identical to a real synthesis for that server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from hrsaas.emulator import server as emulator

ENV_VARS = ("HRSAAS_EMULATOR_ENDPOINT", "HRSAAS_STATE_DIR")
SYNTHESIZED_FOR = "synthesized-for.json"  # tests/conftest.py writes it next to the synthesis


@dataclass(frozen=True)
class OwnEmulator:
    endpoint: str
    server: emulator.Emulator
    env: dict[str, str]  # what points the `local` environment at this server
    outdir: Path  # the `local` stacks for this server


def local_copy(synthesized: Path, outdir: Path, env: dict[str, str]) -> None:
    """Write into ``outdir`` what ``HRSAAS_ENVS=local`` synthesizes with ``env`` (endpoint and
    state folder), from the full synthesis ``synthesized`` made for other values: its `local`
    stacks with those two values replaced, and a manifest of just those stacks.

    The two values enter the stacks only as JSON strings: the endpoint as the whole provider /
    backend endpoint URL, the state folder as the prefix of bootstrap's local backend path.
    Both are replaced as whole strings (the endpoint not followed by another port digit), so a
    port that is a prefix of another, or a path inside another, cannot be half-replaced."""
    made_for = json.loads((synthesized.parent / SYNTHESIZED_FOR).read_text())
    old_endpoint = made_for["HRSAAS_EMULATOR_ENDPOINT"]
    old_state = made_for["HRSAAS_STATE_DIR"]
    endpoint = re.compile(re.escape(json.dumps(old_endpoint)[:-1]) + r'(?=["/])')
    state = re.compile(re.escape(json.dumps(old_state)[:-1]) + r'(?=/)')
    new_endpoint = json.dumps(env["HRSAAS_EMULATOR_ENDPOINT"])[1:-1]
    new_state = json.dumps(env["HRSAAS_STATE_DIR"])[1:-1]
    manifest = json.loads((synthesized / "manifest.json").read_text())
    manifest["stacks"] = {name: spec for name, spec in manifest["stacks"].items()
                          if name.startswith("local-")}
    assert manifest["stacks"], f"no local stacks in {synthesized}"
    for name in manifest["stacks"]:
        source = synthesized / "stacks" / name
        target = outdir / "stacks" / name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".terraform*"))
        text = (source / "cdk.tf.json").read_text()
        text = endpoint.sub(lambda _: '"' + new_endpoint, text)
        text = state.sub(lambda _: '"' + new_state, text)
        (target / "cdk.tf.json").write_text(text)
    (outdir / "manifest.json").write_text(json.dumps(manifest, indent=2))


@contextmanager
def own_emulator(tmp: Path, outdir: Path, synthesized: Path) -> Iterator[OwnEmulator]:
    """Start moto on a free loopback port and write `local` for it into ``outdir``
    (``local_copy`` of the session synthesis ``synthesized``; bootstrap's local state under
    ``tmp/state``); the two variables that point `local` there are set while the block runs.
    On exit the server stops — everything applied lived only in it — and the variables are
    restored."""
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH: run `make setup` (it says what is missing)")
    endpoint = f"http://127.0.0.1:{emulator.free_port()}"
    env = {"HRSAAS_EMULATOR_ENDPOINT": endpoint, "HRSAAS_STATE_DIR": str(tmp / "state")}
    saved = {key: os.environ.get(key) for key in ENV_VARS}
    os.environ.update(env)
    server = None
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        server = emulator.start(endpoint, tmp / "moto.log")
        assert server.process is not None, f"another server answers on {endpoint}"
        local_copy(synthesized, outdir, env)
        yield OwnEmulator(endpoint, server, env, outdir)
    finally:
        if server is not None:
            server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
