"""The one command line (`hrsaas`, the console script `make setup` installs) and the Makefile
aliases over it, exercised the way a user runs them: through the entry point, as a process."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from hrsaas.emulator import server
from hrsaas.toolenv import HRSAAS, ROOT, tool_env

# What the product promises a newcomer (README, `hrsaas --help`).
SUBCOMMANDS = ("synth", "scan", "plan", "deploy", "destroy", "outputs", "cost", "summary",
               "bench", "emulator", "ci", "guard", "docs", "apply-plan", "plan-fingerprints",
               "redis-auth")


def hrsaas(*args: str, env: dict[str, str] | None = None, timeout: float = 300
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HRSAAS), *args], cwd=ROOT, env=tool_env(env),
                          capture_output=True, text=True, timeout=timeout)


def test_the_console_script_is_installed_by_setup() -> None:
    assert HRSAAS.is_file() and os.access(HRSAAS, os.X_OK), "run `make setup`"
    first = HRSAAS.read_text().splitlines()[0]
    assert first == f"#!{ROOT}/.venv/bin/python", first


def test_help_lists_every_subcommand_with_its_purpose() -> None:
    result = hrsaas("--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.split("Commands:", 1)[1]
    listed = dict(re.findall(r"^  ([a-z-]+)\s+(\S.*)$", commands, re.M))
    assert set(SUBCOMMANDS) <= set(listed), sorted(set(SUBCOMMANDS) - set(listed))
    assert all(len(purpose) > 10 for purpose in listed.values()), listed


@pytest.mark.parametrize("command", [c for c in SUBCOMMANDS if c != "emulator"])
def test_each_subcommand_has_help_with_its_own_name(command: str) -> None:
    result = hrsaas(command, "--help")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"hrsaas {command}" in result.stdout, result.stdout[:400]
    assert "python -m" not in result.stdout, "users never need python -m"


def test_emulator_help_lists_start_stop_status() -> None:
    result = hrsaas("emulator", "--help")
    assert result.returncode == 0
    for sub in ("start", "stop", "status"):
        assert re.search(rf"^  {sub}\s", result.stdout, re.M), result.stdout


def test_bad_arguments_exit_2_with_the_subsystems_message() -> None:
    result = hrsaas("deploy", "--parallelism-typo")
    assert result.returncode == 2
    assert "unrecognized arguments: --parallelism-typo" in result.stderr


def test_synth_of_an_unknown_environment_names_the_known_ones(tmp_path: Path) -> None:
    result = hrsaas("synth", "--env", "nosuch", "--outdir", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "nosuch" in result.stderr and "mvp" in result.stderr and "prod" in result.stderr
    assert not (tmp_path / "out").exists(), "a refused synth writes nothing"


def test_emulator_start_status_stop(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{server.free_port()}"
    env = {"HRSAAS_EMULATOR_ENDPOINT": endpoint, "HRSAAS_STATE_DIR": str(tmp_path)}
    assert hrsaas("emulator", "status", env=env).returncode == 1
    try:
        started = hrsaas("emulator", "start", env=env, timeout=120)
        assert started.returncode == 0, started.stdout + started.stderr
        assert "started" in started.stdout and endpoint in started.stdout
        status = hrsaas("emulator", "status", env=env)
        assert status.returncode == 0 and "answers" in status.stdout, status.stdout
        again = hrsaas("emulator", "start", env=env)
        assert "already running" in again.stdout
    finally:
        stopped = hrsaas("emulator", "stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout
    for _ in range(50):
        if not server.is_up(endpoint, timeout=0.5):
            break
    assert not server.is_up(endpoint, timeout=0.5)


# --- the Makefile: one-line aliases, every target in `make help` ------------------------------

MAKEFILE = (ROOT / "Makefile").read_text()
TARGETS = re.findall(r"^([a-z][a-z-]*):", MAKEFILE, re.M)


def test_make_help_lists_every_target() -> None:
    result = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    listed = re.findall(r"^  make (\S+)\s+\S", result.stdout, re.M)
    assert sorted(listed) == sorted(TARGETS)
    for required in ("setup", "synth", "scan", "test", "deploy", "destroy", "plan"):
        assert required in listed


def test_make_targets_call_real_subcommands() -> None:
    calls = re.findall(r"\$\(HRSAAS\) ([a-z-]+)", MAKEFILE)
    assert calls, "the Makefile targets are aliases of hrsaas"
    assert set(calls) <= set(SUBCOMMANDS), sorted(set(calls) - set(SUBCOMMANDS))
    assert "python -m hrsaas" not in MAKEFILE and "scripts." not in MAKEFILE


def test_workflows_call_the_cli_never_module_paths() -> None:
    for workflow in (ROOT / ".github" / "workflows").glob("*.yml"):
        text = workflow.read_text()
        assert "python -m hrsaas" not in text and "scripts." not in text, workflow.name
        for command in re.findall(r"\.venv/bin/hrsaas ([a-z-]+)", text):
            assert command in SUBCOMMANDS, (workflow.name, command)
