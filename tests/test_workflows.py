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
        if job.get("if", "").endswith("github.event_name == 'merge_group'"):
            continue  # the merge queue's own job: no fork reaches it
        if assumes_aws_role(job) or "pull-requests" in job.get("permissions", {}):
            assert "head.repo.full_name == github.repository" in job["if"], name


def test_prod_deploys_after_mvp_behind_its_environment_one_at_a_time() -> None:
    deploy = jobs("deploy.yml")
    real = [e.name for e in load_environments() if not e.is_emulated]
    assert sorted(deploy) == sorted(["synth", "prod-plan", *real])
    for env in real:
        assert deploy[env]["environment"] == env
        assert deploy[env]["concurrency"] == {"group": f"deploy-{env}",
                                              "cancel-in-progress": False}
        assert deploy[env]["if"] == "github.ref == 'refs/heads/main'"
        assert assumes_aws_role(deploy[env])
    assert deploy["mvp"]["needs"] == "synth"
    assert deploy["prod-plan"]["needs"] == ["synth", "mvp"]
    assert deploy["prod"]["needs"] == ["mvp", "prod-plan"]
    assert "environment" not in deploy["prod-plan"], "the plan exists before the approval"


def test_drift_covers_every_real_environment() -> None:
    real = [e.name for e in load_environments() if not e.is_emulated]
    assert jobs("drift.yml")["drift"]["strategy"]["matrix"]["env"] == real


# --- deploy job hygiene, apply exactly what was reviewed, lock discipline ---------------------

def run_text(job: dict) -> str:
    """The job's shell commands, without their comment lines."""
    lines = "\n".join(step.get("run", "") for step in job.get("steps", [])).splitlines()
    return "\n".join(line for line in lines if not line.strip().startswith("#"))


def test_jobs_holding_a_role_run_no_synthesis_npm_or_checkov() -> None:
    """A job that can mint an OIDC token runs only the runner and terraform: npm, uv, checkov
    and the jsii synthesis run where there is no id-token (the synth/check jobs)."""
    for workflow in ("ci.yml", "deploy.yml"):
        for name, job in jobs(workflow).items():
            if "id-token" not in job.get("permissions", {}):
                continue
            text = run_text(job)
            for forbidden in ("make setup", "make synth", "make scan", "npm ", "hrsaas synth",
                              "checkov", "main.py"):
                assert forbidden not in text, f"{workflow}: {name} runs {forbidden!r}"
            assert not any(step.get("uses", "").startswith("actions/setup-node@")
                           for step in job["steps"]), f"{workflow}: {name} installs node"
            assert "--require-hashes -r requirements.lock" in text, name
    synth = jobs("deploy.yml")["synth"]
    assert "id-token" not in synth["permissions"] and "make scan" in run_text(synth)
    uploads = [s for s in synth["steps"] if s.get("uses", "").startswith(
        "actions/upload-artifact@")]
    assert [s["with"]["name"] for s in uploads] == ["cdktf-out"]


def test_the_role_session_outlasts_every_job_that_assumes_it() -> None:
    for workflow in ("deploy.yml",):
        for name, job in jobs(workflow).items():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@") \
                        and "apply_role_arn" in step["with"]["role-to-assume"]:
                    seconds = step["with"]["role-duration-seconds"]
                    assert job["timeout-minutes"] * 60 < seconds, (workflow, name)


def test_prod_applies_the_saved_plans_it_rendered_for_the_approvers() -> None:
    deploy = jobs("deploy.yml")
    plan, prod = deploy["prod-plan"], deploy["prod"]
    plan_text, prod_text = run_text(plan), run_text(prod)
    assert "plan --env prod --no-synth --no-lock" in plan_text
    assert "apply-plan --env prod --check" in plan_text
    assert "plan-fingerprints --from-comment" in plan_text
    assert "$GITHUB_STEP_SUMMARY" in plan_text and plan["permissions"]["pull-requests"] == "write"
    assert "apply-plan --env prod --confirm prod" in prod_text
    assert " deploy " not in prod_text, "prod never plans again: it applies the reviewed files"
    handed = [s for s in plan["steps"] if s.get("with", {}).get("name") == "prod-plans"]
    assert handed and "plans/prod/" in handed[0]["with"]["path"]
    received = [s for s in prod["steps"] if s.get("with", {}).get("name") == "prod-plans"]
    assert received, "the apply job downloads the plan job's saved plans"
    for job in (deploy["mvp"], prod):
        kept = [s for s in job["steps"] if "errored" in s.get("with", {}).get("name", "")]
        assert kept and kept[0]["if"] == "failure()"
        assert "errored.tfstate" in kept[0]["with"]["path"]


def test_pr_plans_start_after_check_not_after_the_test_suite() -> None:
    ci = jobs("ci.yml")
    assert ci["plan"]["needs"] == "check"
    assert "make test" in run_text(ci["test"]) and "make test" not in run_text(ci["check"])
    assert "needs" not in ci["test"]
    cached = [s["with"]["path"] for s in ci["check"]["steps"]
              if s.get("uses", "").startswith("actions/cache@")]
    assert any(".venv" in path and "node_modules" in path for path in cached)
    assert any("tf-mirror" in path for path in cached)


def test_the_merge_queue_replans_and_compares_with_the_review() -> None:
    spec = load(ROOT / ".github" / "workflows" / "ci.yml")
    assert "merge_group" in spec[True]  # PyYAML reads the `on` key as True
    ci = spec["jobs"]
    assert "merge_group" in ci["plan"]["if"]
    assert "plan-fingerprints plans --against" in run_text(ci["queue"])


def test_ci_plans_never_lock_and_uploads_may_be_replaced_by_a_rerun() -> None:
    assert "--no-lock" in run_text(jobs("ci.yml")["plan"])
    assert "--no-lock" in run_text(jobs("drift.yml")["drift"])
    for workflow in WORKFLOWS:
        for name, job in load(workflow)["jobs"].items():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/upload-artifact@"):
                    assert step["with"].get("overwrite") is True, (workflow.name, name)
                run = step.get("run", "")
                # (drift's loop of -lock=false plans holds no lock to leave behind)
                if re.search(r"hrsaas (plan|deploy) --env|hrsaas apply-plan --env \S+ --confirm",
                             run) and workflow.name != "drift.yml":
                    # exec: the runner receives a cancel's signals and forwards them.
                    assert "exec .venv/bin/hrsaas" in run, (workflow.name, name)


def test_plan_sarif_and_drift_issues() -> None:
    comment = jobs("ci.yml")["comment"]
    sarif = [s for s in comment["steps"] if s.get("uses", "").startswith(
        "github/codeql-action/upload-sarif@")]
    assert sarif and sarif[0]["with"]["category"] == "checkov-plans"
    assert comment["permissions"]["security-events"] == "write"
    drift = jobs("drift.yml")["drift"]
    assert drift["permissions"]["issues"] == "write"
    script = next(s["with"]["script"] for s in drift["steps"]
                  if s.get("uses", "").startswith("actions/github-script@"))
    assert "issues.create" in script and "issues.update" in script


def test_drift_plans_in_a_job_that_installs_and_synthesizes_nothing() -> None:
    """drift.yml as deploy.yml: setup and the jsii synthesis run in a job without an OIDC
    token; the job holding the plan role's token runs terraform plans only — it restores the
    synth job's tools (the same cache key and paths) instead of installing any."""
    drift = jobs("drift.yml")
    holding = {name: job for name, job in drift.items()
               if job.get("permissions", {}).get("id-token") == "write"}
    assert set(holding) == {"drift"}
    for name, job in holding.items():
        text = run_text(job)
        for forbidden in ("make ", "setup.sh", "npm", "npx", "pip ", "pip3", "uv ",
                          "hrsaas synth", "main.py", "cdktf ", "checkov"):
            assert forbidden not in text, f"drift.yml: {name} runs {forbidden!r}"
        assert not any(step.get("uses", "").startswith(("actions/setup-node@", "actions/cache@"))
                       for step in job["steps"]), f"drift.yml: {name} installs or saves tools"
        assert job["needs"] == "synth"
        assert "--no-synth --no-lock" in text
    synth = drift["synth"]
    assert "id-token" not in synth["permissions"]
    assert "make setup" in run_text(synth) and "make synth" in run_text(synth)
    [upload] = [s for s in synth["steps"] if s.get("uses", "").startswith(
        "actions/upload-artifact@")]
    [download] = [s for s in drift["drift"]["steps"] if s.get("uses", "").startswith(
        "actions/download-artifact@")]
    assert upload["with"]["name"] == download["with"]["name"]
    assert upload["with"]["path"].rstrip("/") == download["with"]["path"].rstrip("/")
    # The restored tools are exactly the ones the synth job cached (same paths and key), built
    # on the interpreter the drift job sets up again.
    [saved] = [s["with"] for s in synth["steps"] if s.get("uses", "").startswith(
        "actions/cache@") and ".venv" in s["with"]["path"]]
    [mirror] = [s["with"] for s in synth["steps"] if s.get("uses", "").startswith(
        "actions/cache@") and "tf-mirror" in s["with"]["path"]]
    restored = [s["with"] for s in drift["drift"]["steps"] if s.get("uses", "").startswith(
        "actions/cache/restore@")]
    assert [(r["path"], r["key"]) for r in restored] == [
        (saved["path"], saved["key"]), (mirror["path"], mirror["key"])]
    assert all(r["fail-on-cache-miss"] is True for r in restored)
    assert "providers mirror" not in text
    [python] = [s for s in drift["drift"]["steps"] if s.get("uses", "").startswith(
        "actions/setup-python@")]
    assert python["with"]["python-version"] == "${{ needs.synth.outputs.python-version }}"
    assert synth["outputs"]["python-version"] == "${{ steps.python.outputs.python-version }}"
