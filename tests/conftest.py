"""Shared fixtures: one synthesis per test run, one moto server for the emulator tests.

Synthesis pays the jsii start-up once (a session fixture); the emulator tests share one moto
server on a free loopback port, and the local environment is synthesized against that port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hrsaas.emulator import server as emulator
from hrsaas.toolenv import PYTHON, ROOT, tool_env

PORT = emulator.free_port()
ENDPOINT = f"http://127.0.0.1:{PORT}"


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(state_dir: Path) -> Iterator[None]:
    """Every test sees the test emulator's endpoint and its own state folder, never the
    developer's ``make deploy`` state."""
    saved = {k: os.environ.get(k) for k in ("HRSAAS_EMULATOR_ENDPOINT", "HRSAAS_STATE_DIR")}
    os.environ["HRSAAS_EMULATOR_ENDPOINT"] = ENDPOINT
    os.environ["HRSAAS_STATE_DIR"] = str(state_dir)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def synthesize(outdir: Path, extra_env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    env = tool_env({"CDKTF_OUTDIR": str(outdir), **(extra_env or {})})
    return subprocess.run([str(PYTHON), str(ROOT / "main.py")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory, _isolated_environment: None) -> Path:
    """cdktf.out of every environment, synthesized once for the whole run."""
    outdir = tmp_path_factory.mktemp("cdktf.out")
    result = synthesize(outdir)
    assert result.returncode == 0, result.stdout + result.stderr
    return outdir


class Stack:
    """A synthesized stack's JSON with helpers to find resources by type."""

    def __init__(self, path: Path):
        self.path = path
        self.json = json.loads(path.read_text())

    def resources(self, kind: str) -> dict[str, dict]:
        return self.json.get("resource", {}).get(kind, {})

    def data(self, kind: str) -> dict[str, dict]:
        return self.json.get("data", {}).get(kind, {})

    def one(self, kind: str) -> dict:
        found = self.resources(kind)
        assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
        return next(iter(found.values()))

    def by_tag(self, kind: str, name: str) -> tuple[str, dict]:
        """(address, body) of the ``kind`` resource whose Name tag is ``name``."""
        found = [(f"{kind}.{rid}", body) for rid, body in self.resources(kind).items()
                 if body.get("tags", {}).get("Name") == name]
        assert len(found) == 1, f"{kind} named {name}: {[a for a, _ in found]}"
        return found[0]

    def deref(self, reference: str) -> tuple[str, dict]:
        """``${aws_x.id.attr}`` → (``aws_x.id``, the resource body)."""
        kind, rid = reference.removeprefix("${").split(".")[:2]
        return f"{kind}.{rid}", self.resources(kind)[rid]

    def policy_document(self, reference: str) -> dict:
        """The aws_iam_policy_document data source a ``${data….json}`` reference names."""
        name = reference.split(".")[2]
        return self.data("aws_iam_policy_document")[name]


@pytest.fixture(scope="session")
def stack(synth_dir: Path):
    cache: dict[str, Stack] = {}

    def load(stack_id: str) -> Stack:
        if stack_id not in cache:
            cache[stack_id] = Stack(synth_dir / "stacks" / stack_id / "cdk.tf.json")
        return cache[stack_id]

    return load


@pytest.fixture(scope="session")
def moto(_isolated_environment: None, state_dir: Path) -> Iterator[str]:
    """A moto server of this test run, stopped by PID at the end."""
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH: run `make setup` (it says what is missing)")
    server = emulator.start(ENDPOINT, state_dir / "moto.log")
    yield ENDPOINT
    server.stop()
