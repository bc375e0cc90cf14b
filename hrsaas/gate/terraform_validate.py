"""``terraform validate`` over synthesized stacks: what the AWS provider's schema knows (argument
names, types, enum values, conflicting arguments) and checkov does not check.

    hrsaas scan                      # runs it after checkov over every real environment


Validating 30 stacks one by one costs a provider start-up each (about 2 s). Here every stack is
a local module of one throw-away root: one ``terraform init -backend=false`` (offline mirror and
plugin cache), one ``validate``. Terraform still starts one provider process per provider
*configuration* (each validated on its own), and every stack declares its own: 30 stacks took
16.5 s, against 2.5 s with the configurations shared. So the stacks' provider blocks move to the
root, one per distinct shape (its alias and the nesting and types of its arguments; the stacks
differ only in values such as tags and account IDs, which ``validate`` does not judge), and each
module is handed the root configurations of its own shapes. Every argument name and type a stack
uses in a provider block is still validated, once. Diagnostics come back per module and are
reported per stack. The emulator's stacks are left out by default: they are applied for real on
every test run, which validates them more strictly.
"""

from __future__ import annotations

import json
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


def _shape(value: object) -> object:
    """What ``validate`` checks of a value: its keys and types, not the values themselves."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return sorted({json.dumps(_shape(item), sort_keys=True) for item in value})
    return type(value).__name__


def validate(stacks_dir: Path, stacks: list[str] | None = None, timeout: float = 600
             ) -> list[Diagnostic]:
    """Error and unexpected warning diagnostics of ``terraform validate``, per stack."""
    names = stacks if stacks is not None else sorted(
        p.name for p in stacks_dir.iterdir() if (p / "cdk.tf.json").is_file())
    if not names:
        raise SystemExit(f"no synthesized stacks in {stacks_dir}: run `hrsaas synth` first")
    with tempfile.TemporaryDirectory(prefix="hrsaas-validate-") as tmp:
        root = Path(tmp)
        shared: dict[str, tuple[str, dict]] = {}  # shape → (root alias, configuration)
        users: dict[str, list[str]] = {}  # root alias → the stacks handed it
        modules = {}
        for name in names:
            (root / name).mkdir()
            body = json.loads((stacks_dir / name / "cdk.tf.json").read_text())
            handed: dict[str, str] = {}
            for config in body.pop("provider", {}).get("aws", []):
                key = json.dumps([config.get("alias"), _shape(config)], sort_keys=True)
                alias = shared.setdefault(key, (f"s{len(shared)}", config))[0]
                users.setdefault(alias, []).append(name)
                handed["aws" + (f".{config['alias']}" if config.get("alias") else "")] = (
                    f"aws.{alias}")
            aliases = [k for k in handed if k != "aws"]
            if aliases:
                required = body.setdefault("terraform", {}).setdefault(
                    "required_providers", {}).setdefault("aws", dict(PROVIDER["aws"]))
                required["configuration_aliases"] = aliases
            (root / name / "cdk.tf.json").write_text(json.dumps(body))
            modules[name] = {"source": f"./{name}", **({"providers": handed} if handed else {})}
        (root / "main.tf.json").write_text(json.dumps({
            "terraform": {"required_providers": PROVIDER}, "module": modules}))
        for alias, config in shared.values():  # a file each: a diagnostic names its stacks
            (root / f"provider-{alias}.tf.json").write_text(json.dumps(
                {"provider": {"aws": [{**config, "alias": alias}]}}))
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
        if filename.startswith("provider-"):  # a provider block: every stack of its shape
            stack = ", ".join(users[filename.removeprefix("provider-").split(".")[0]])
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
