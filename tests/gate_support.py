"""Shared by the gate's test files (tests/test_gate*.py): the gate run as a user runs it, and
the fixtures' paths. Three files, so the four checkov runs spread over the test workers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hrsaas.gate import checkov as scan
from hrsaas.toolenv import HRSAAS, ROOT, tool_env

FIXTURES = ROOT / "tests" / "fixtures" / "gate"
SUPPRESSIONS = FIXTURES / "suppressions"
EMPTY = SUPPRESSIONS / "empty.toml"


def run_gate(*args: object, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """The gate as a user runs it (`hrsaas scan <stacks> …`): the console script, a process."""
    return subprocess.run([str(HRSAAS), "scan", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900,
                          env=tool_env(env) if env else None)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def load_run(reports: Path) -> scan.CheckovRun:
    return scan.parse_checkov_json(json.loads((reports / "results_json.json").read_text()))


def write_suppressions(path: Path, entries: list[dict]) -> Path:
    blocks = []
    for entry in entries:
        blocks.append("[[suppression]]\n" + "".join(
            f"{key} = {json.dumps(value)}\n" for key, value in entry.items()))
    path.write_text("\n".join(blocks))
    return path

