"""Every GitHub Actions workflow passes actionlint (the offline binary from the dev group), pins
its actions to commits, asks for least privilege, and deploys prod only after mvp."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from hrsaas.config import load_environments
from hrsaas.toolenv import ROOT

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


# --- structure (PyYAML 6.0.4, locked in requirements.lock through moto[server]) ---------

SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses:\s*(\S+)\s+#\s*v\d+\.\d+\.\d+\s*$")
# Actions left on a tag, each with the reason (none: every action has a verified commit).
TAG_PINNED: dict[str, str] = {}


def load(workflow: Path) -> dict:
    return yaml.safe_load(workflow.read_text())


def jobs(name: str) -> dict[str, dict]:
    return load(ROOT / ".github" / "workflows" / name)["jobs"]


def uses(workflow: Path) -> list[str]:
    found = []
    for job in load(workflow)["jobs"].values():
        found += [job["uses"]] if "uses" in job else []
        found += [step["uses"] for step in job.get("steps", []) if "uses" in step]
    return found


def assumes_aws_role(job: dict) -> bool:
    return any(step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
               for step in job.get("steps", []))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(workflow: Path) -> None:
    for ref in uses(workflow):
        if ref.startswith("./") or ref in TAG_PINNED:
            continue
        assert SHA_PIN.match(ref), f"{workflow.name}: {ref} is not pinned to a 40-hex commit"
    for line in workflow.read_text().splitlines():
        if re.match(r"^\s*(-\s*)?uses:", line) and "@" in line and "./" not in line:
            ref = line.split("uses:", 1)[1].split("#")[0].strip()
            assert ref in TAG_PINNED or VERSION_COMMENT.search(line), (
                f"{workflow.name}: `{line.strip()}` needs a `# vX.Y.Z` comment")


def test_each_action_is_pinned_to_one_commit_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for workflow in WORKFLOWS:
        for ref in uses(workflow):
            if "@" in ref and not ref.startswith("./"):
                action, sha = ref.rsplit("@", 1)
                pins.setdefault(action, set()).add(sha)
    assert {a: s for a, s in pins.items() if len(s) > 1} == {}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_bounded_jobs(workflow: Path) -> None:
    spec = load(workflow)
    assert spec["permissions"] == {"contents": "read"}, "jobs widen only what they need"
    for name, job in spec["jobs"].items():
        assert "timeout-minutes" in job, f"{workflow.name}: job {name} has no timeout"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{workflow.name}: {name}"
    assert "secrets." not in workflow.read_text(), "OIDC only: no stored secrets"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_jobs_that_assume_aws_roles_may_request_an_oidc_token(workflow: Path) -> None:
    spec = load(workflow)
    for name, job in spec["jobs"].items():
        if assumes_aws_role(job):
            assert job["permissions"].get("id-token") == "write", f"{workflow.name}: {name}"
        else:
            assert "id-token" not in job.get("permissions", {}), f"{workflow.name}: {name}"


def test_pull_request_jobs_with_oidc_skip_forks() -> None:
    for name, job in jobs("ci.yml").items():
        if assumes_aws_role(job) or "pull-requests" in job.get("permissions", {}):
            assert "head.repo.full_name == github.repository" in job["if"], name


def test_prod_deploys_after_mvp_behind_its_environment_one_at_a_time() -> None:
    deploy = jobs("deploy.yml")
    real = [e.name for e in load_environments() if not e.is_emulated]
    assert sorted(deploy) == sorted(real)
    for env in real:
        assert deploy[env]["environment"] == env
        assert deploy[env]["concurrency"] == {"group": f"deploy-{env}",
                                              "cancel-in-progress": False}
        assert deploy[env]["if"] == "github.ref == 'refs/heads/main'"
        assert assumes_aws_role(deploy[env])
    assert deploy["prod"]["needs"] == "mvp"
    assert "needs" not in deploy["mvp"]


def test_drift_covers_every_real_environment() -> None:
    real = [e.name for e in load_environments() if not e.is_emulated]
    assert jobs("drift.yml")["drift"]["strategy"]["matrix"]["env"] == real
