"""Every GitHub Actions workflow passes actionlint (the offline binary from the dev group)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.toolenv import ROOT

ACTIONLINT = ROOT / ".venv" / "bin" / "actionlint"
WORKFLOWS = sorted(p for p in (ROOT / ".github" / "workflows").glob("*")
                   if p.suffix in (".yml", ".yaml"))


def test_workflows_exist() -> None:
    assert WORKFLOWS, "no workflow in .github/workflows"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint(workflow: Path) -> None:
    assert ACTIONLINT.exists(), f"{ACTIONLINT} is missing: run `make setup`"
    result = subprocess.run([str(ACTIONLINT), "-no-color", str(workflow.relative_to(ROOT))],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
