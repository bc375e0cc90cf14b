"""A test module's own moto server, for modules that must not share the session's (they break
locks, kill applies or apply mutated stacks)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from hrsaas.emulator import server as emulator
from hrsaas.runner.stacks import synth

ENV_VARS = ("HRSAAS_EMULATOR_ENDPOINT", "HRSAAS_STATE_DIR")


@dataclass(frozen=True)
class OwnEmulator:
    endpoint: str
    server: emulator.Emulator
    env: dict[str, str]  # what points the `local` environment at this server


@contextmanager
def own_emulator(tmp: Path, outdir: Path) -> Iterator[OwnEmulator]:
    """Start moto on a free loopback port and synthesize `local` against it into ``outdir``
    (bootstrap's local state under ``tmp/state``); the two variables that point `local` there
    are set while the block runs. On exit the server stops — everything applied lived only in
    it — and the variables are restored."""
    if shutil.which("terraform") is None:
        pytest.fail("terraform is not on PATH: run `make setup` (it says what is missing)")
    endpoint = f"http://127.0.0.1:{emulator.free_port()}"
    env = {"HRSAAS_EMULATOR_ENDPOINT": endpoint, "HRSAAS_STATE_DIR": str(tmp / "state")}
    saved = {key: os.environ.get(key) for key in ENV_VARS}
    os.environ.update(env)
    server = None
    try:
        server = emulator.start(endpoint, tmp / "moto.log")
        assert server.process is not None, f"another server answers on {endpoint}"
        try:
            synth(["local"], outdir, env)
        except SystemExit as exc:
            pytest.fail(f"synthesis of local failed (exit {exc.code})")
        yield OwnEmulator(endpoint, server, env)
    finally:
        if server is not None:
            server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
