"""``terraform validate`` over synthesized stacks: what the AWS provider's schema knows (argument
names, types, enum values, conflicting arguments) and checkov does not check.

    hrsaas scan                      # runs it after checkov over every real environment


Validating 24 stacks one by one costs a provider start-up each (about 2 s). Here every stack is
a local module of one throw-away root: one ``terraform init -backend=false`` (offline mirror and
plugin cache), one ``validate``, one provider schema load. Diagnostics come back per module and
are reported per stack. The emulator's stacks are left out by default: they are applied for real
on every test run, which validates them more strictly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..toolenv import tool_env

PROVIDER = {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}
# Expected for every stack of this project: not findings.
IGNORED_WARNINGS = (
    "Backend configuration ignored",  # a module's backend block (each stack is a module here)
    "Deprecated Parameter",  # dynamodb_table: kept beside use_lockfile during the transition
)


@dataclass(frozen=True)
class Diagnostic:
    stack: str
    severity: str
    summary: str
    detail: str
    address: str = ""

    def __str__(self) -> str:
        where = f" ({self.address})" if self.address else ""
        return f"{self.stack}{where}: {self.severity}: {self.summary}: {self.detail}"


def validate(stacks_dir: Path, stacks: list[str] | None = None, timeout: float = 600
             ) -> list[Diagnostic]:
    """Error and unexpected warning diagnostics of ``terraform validate``, per stack."""
    names = stacks if stacks is not None else sorted(
        p.name for p in stacks_dir.iterdir() if (p / "cdk.tf.json").is_file())
    if not names:
        raise SystemExit(f"no synthesized stacks in {stacks_dir}: run `hrsaas synth` first")
    with tempfile.TemporaryDirectory(prefix="hrsaas-validate-") as tmp:
        root = Path(tmp)
        for name in names:
            (root / name).mkdir()
            shutil.copy(stacks_dir / name / "cdk.tf.json", root / name / "cdk.tf.json")
        (root / "main.tf.json").write_text(json.dumps({
            "terraform": {"required_providers": PROVIDER},
            "module": {name: {"source": f"./{name}"} for name in names},
        }))
        env = tool_env()
        init = subprocess.run(["terraform", "init", "-backend=false", "-input=false",
                               "-no-color"], cwd=root, env=env, capture_output=True,
                              text=True, timeout=timeout)
        if init.returncode != 0:
            return [Diagnostic("(all)", "error", "terraform init failed",
                               (init.stderr or init.stdout).strip()[-2000:])]
        result = subprocess.run(["terraform", "validate", "-json", "-no-color"], cwd=root,
                                env=env, capture_output=True, text=True, timeout=timeout)
        report = json.loads(result.stdout)
    found = []
    for diag in report.get("diagnostics", []):
        if diag["severity"] == "warning" and diag["summary"] in IGNORED_WARNINGS:
            continue
        filename = diag.get("range", {}).get("filename", "")
        address = diag.get("address", "")
        stack = next((n for n in names if filename.startswith(f"{n}/")
                      or address.startswith(f"module.{n}.")), "(all)")
        found.append(Diagnostic(stack, diag["severity"], diag["summary"],
                                " ".join(diag.get("detail", "").split()),
                                address.removeprefix(f"module.{stack}.")))
    return found


def main(stacks_dir: Path, environments: list[str] | None = None) -> int:
    """Print the verdict, then each finding; 0 = valid, 1 = findings."""
    names = sorted(p.name for p in stacks_dir.iterdir() if (p / "cdk.tf.json").is_file()
                   and (environments is None or p.name.rsplit("-", 1)[0] in environments))
    found = validate(stacks_dir, names)
    verdict = "PASSED" if not found else "FAILED"
    print(f"terraform validate: {verdict} — {len(names)} stacks, {len(found)} finding(s)")
    for diag in found:
        print(f"  - {diag}")
    return 0 if not found else 1
