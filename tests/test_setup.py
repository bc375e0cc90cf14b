"""`make setup` stops with a clear message — what is missing and how to provide it — when
terraform or the provider mirror is absent, before writing anything."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

from hrsaas.toolenv import ROOT


def run_setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_missing_terraform_is_named_with_the_fix(tmp_path: Path):
    # A PATH with bash and the basics but no terraform.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "sed", "sha256sum", "cut", "mkdir", "dirname", "find", "head",
                 "date"):
        for folder in ("/usr/bin", "/bin"):
            if (Path(folder) / tool).exists():
                (bin_dir / tool).symlink_to(Path(folder) / tool)
                break
    result = run_setup({**os.environ, "PATH": str(bin_dir)})
    assert result.returncode == 1
    assert "terraform is not on PATH" in result.stderr and "Install Terraform" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_provider_mirror_is_named_with_the_fix(tmp_path: Path):
    before = (ROOT / ".terraformrc").read_text() if (ROOT / ".terraformrc").exists() else None
    result = run_setup({**os.environ, "HRSAAS_TF_MIRROR": str(tmp_path / "no-mirror")})
    assert result.returncode == 1
    assert "provider mirror with hashicorp/aws 5.100.0 was not found" in result.stderr
    assert "HRSAAS_TF_MIRROR" in result.stderr
    after = (ROOT / ".terraformrc").read_text() if (ROOT / ".terraformrc").exists() else None
    assert after == before, "a failed set-up must not rewrite the terraform CLI config"


def test_setup_leaves_bytecode_for_every_environment():
    """With PYTHONDONTWRITEBYTECODE=1 (common in containers and CI images) Python never caches
    a compiled module, so each checkov run, pytest worker and moto server compiled its imports
    from source again: `make setup` compiles them once (scripts/setup.sh, "bytecode")."""
    sites = {env: next((ROOT / env / "lib").glob("python3*/site-packages"))
             for env in (".venv", ".tools/checkov")}
    sources = [sites[".tools/checkov"] / "checkov" / "main.py",
               sites[".tools/checkov"] / "checkov" / "terraform" / "runner.py",
               sites[".venv"] / "moto" / "server.py", sites[".venv"] / "botocore" / "client.py",
               sites[".venv"] / "cdktf" / "__init__.py", sites[".venv"] / "_pytest" / "main.py",
               ROOT / "hrsaas" / "cli.py", ROOT / "hrsaas" / "runner" / "stacks.py"]
    assert all(source.is_file() for source in sources), sources
    missing = [str(source) for source in sources
               if not Path(importlib.util.cache_from_source(str(source))).is_file()]
    assert not missing, f"no bytecode (run `make setup`): {missing}"
