"""GitHub settings as code (.github/settings/github.toml, `hrsaas github-settings`) and
CODEOWNERS: what they contain, that the trust policies are built from the same OIDC template,
the dry run, and a real run of --apply against a local HTTP server speaking GitHub's API."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from hrsaas.config import load_environment
from hrsaas.devtools import github_settings as gs
from hrsaas.toolenv import ROOT
from tests.entry import invoke

ISSUER = "token.actions.githubusercontent.com"


@pytest.fixture(scope="module")
def settings() -> gs.Settings:
    return gs.load_settings()


def test_only_main_deploys_and_prod_waits_for_its_reviewers(settings):
    assert set(settings.environments) == {"mvp", "prod"}
    for env in settings.environments.values():
        assert env.deployment_branches == ("main",), env.name
    prod = settings.environments["prod"]
    assert prod.reviewers and all(r["type"] in ("Team", "User") for r in prod.reviewers)
    assert prod.prevent_self_review
    assert settings.main_branch == "main"
    assert settings.deploy_workflow == ".github/workflows/deploy.yml"
    # Every workflow the settings name exists.
    for workflow in (settings.deploy_workflow, settings.pull_request_workflow,
                     *settings.main_plan_workflows):
        assert (ROOT / workflow).is_file(), workflow


def test_mains_ruleset_requires_review_code_owners_the_ci_check_and_the_merge_queue(settings):
    rs = settings.rulesets["main"]
    body = gs.ruleset_body(rs)
    assert body["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
    assert body["enforcement"] == "active"
    rules = {r["type"]: r.get("parameters", {}) for r in body["rules"]}
    assert {"deletion", "non_fast_forward", "pull_request", "required_status_checks",
            "merge_queue"} <= set(rules)
    assert rules["pull_request"]["require_code_owner_review"] is True
    assert rules["pull_request"]["required_approving_review_count"] >= 1
    # One pull request per queue group: its plans are compared with the ones reviewed on it.
    assert rules["merge_queue"]["max_entries_to_merge"] == 1
    checks = [c["context"] for c in rules["required_status_checks"]["required_status_checks"]]
    assert checks == list(rs.required_checks) and checks
    # Required checks are job names of ci.yml (a renamed job would block every merge).
    ci = (ROOT / ".github/workflows/ci.yml").read_text()
    names = set(re.findall(r"^    name: (.+)$", ci, re.M)) | set(
        re.findall(r"^  ([a-z][a-z0-9_-]*):$", ci, re.M))
    assert set(checks) <= names, (checks, sorted(names))


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_the_trust_policies_match_the_template_github_gets(stack, settings, env):
    """One source of truth: the synthesized apply subject is, key by key, the template of the
    settings file with main, the deploy workflow and the environment filled in."""
    s = stack(f"{env}-bootstrap")
    repo = load_environment(env).ci.github_repository
    [apply_role] = [r for r in s.resources("aws_iam_role").values()
                    if r["name"] == f"hr-saas-{env}-ci-apply"]
    [statement] = json.loads(apply_role["assume_role_policy"])["Statement"]
    [sub] = statement["Condition"]["StringEquals"][f"{ISSUER}:sub"]
    assert sub == settings.apply_subject(repo, env)
    # Read back in GitHub's key order (context renders as environment:<env>).
    expected = {"repo": f"repo:{repo}", "context": f"environment:{env}",
                "ref": "ref:refs/heads/main",
                "job_workflow_ref": f"job_workflow_ref:{repo}/{settings.deploy_workflow}"
                                    "@refs/heads/main"}
    assert sub == ":".join(expected[k] for k in settings.claim_keys)


def test_the_subject_template_is_validated(tmp_path):
    text = (ROOT / ".github/settings/github.toml").read_text()
    bad = tmp_path / "github.toml"
    bad.write_text(text.replace('["repo", "context", "ref", "job_workflow_ref"]',
                                '["repo", "context"]'))
    with pytest.raises(gs.SettingsError, match=r"oidc.include_claim_keys.*job_workflow_ref"):
        gs.load_settings(bad)
    bad.write_text(text.replace('"job_workflow_ref"]', '"job_workflow_ref", "actor"]'))
    with pytest.raises(gs.SettingsError, match=r"\['actor'\] not supported"):
        gs.load_settings(bad)
    bad.write_text(text.replace('deploy = ".github/workflows/deploy.yml"', 'deploy = "deploy"'))
    with pytest.raises(gs.SettingsError, match="workflows.deploy = 'deploy'.*Fix"):
        gs.load_settings(bad)


def test_the_dry_run_prints_every_call(capsys):
    assert invoke("github-settings") == 0
    out = capsys.readouterr().out
    repo = load_environment("prod").ci.github_repository
    assert out.startswith(f"# dry run: the calls that set {repo}'s GitHub settings")
    calls = re.findall(r"^(GET|PUT|POST|POST\|PUT) (\S+)", out, re.M)
    assert calls[0] == ("PUT", f"/repos/{repo}/actions/oidc/customization/sub")
    assert ('"include_claim_keys": [\n        "repo",\n        "context",\n        "ref",\n'
            '        "job_workflow_ref"\n      ]') in out
    for env in ("mvp", "prod"):
        assert ("PUT", f"/repos/{repo}/environments/{env}") in calls
        assert ("POST", f"/repos/{repo}/environments/{env}/deployment-branch-policies") in calls
    assert ("GET", f"/orgs/{repo.split('/')[0]}/teams/hr-saas-prod-approvers") in calls
    assert ("POST|PUT", f"/repos/{repo}/rulesets[/<id>]") in calls
    assert '"type": "merge_queue"' in out


class FakeGitHub(BaseHTTPRequestHandler):
    """Just enough of GitHub's REST API: records each request, answers from ``routes``."""
    calls: list[tuple[str, str, dict | None]] = []
    routes: dict[tuple[str, str], tuple[int, object]] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        assert self.headers["Authorization"] == "Bearer test-token"
        assert self.headers["X-GitHub-Api-Version"] == gs.API_VERSION
        type(self).calls.append((self.command, self.path, body))
        status, answer = type(self).routes.get((self.command, self.path), (200, {}))
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def github(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeGitHub.calls, FakeGitHub.routes = [], {}
    monkeypatch.setenv("GH_TOKEN", "test-token")
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{server.server_port}")
    yield FakeGitHub
    server.shutdown()
    server.server_close()


def test_apply_sets_everything_and_runs_again_without_duplicates(github, capsys):
    repo = "example-org/hr-saas-infra"
    base = f"/repos/{repo}/environments"
    github.routes = {
        ("GET", "/orgs/example-org/teams/hr-saas-prod-approvers"): (200, {"id": 4242}),
        ("GET", f"{base}/mvp/deployment-branch-policies"): (200, {"branch_policies": []}),
        # prod already has main (a second run): not posted again.
        ("GET", f"{base}/prod/deployment-branch-policies"):
            (200, {"branch_policies": [{"name": "main"}]}),
        ("GET", f"/repos/{repo}/rulesets"): (200, [{"name": "main", "id": 7}]),
    }
    assert invoke("github-settings", "--apply", "--repository", repo) == 0
    made = [(m, p) for m, p, _ in github.calls if m != "GET"]
    assert made == [
        ("PUT", f"/repos/{repo}/actions/oidc/customization/sub"),
        ("PUT", f"{base}/mvp"), ("POST", f"{base}/mvp/deployment-branch-policies"),
        ("PUT", f"{base}/prod"),
        ("PUT", f"/repos/{repo}/rulesets/7"),
    ]
    bodies = {(m, p): b for m, p, b in github.calls}
    assert bodies[("PUT", f"/repos/{repo}/actions/oidc/customization/sub")] == {
        "use_default": False, "include_claim_keys": ["repo", "context", "ref",
                                                     "job_workflow_ref"]}
    prod = bodies[("PUT", f"{base}/prod")]
    assert prod["reviewers"] == [{"type": "Team", "id": 4242}]
    assert prod["prevent_self_review"] is True
    assert prod["deployment_branch_policy"] == {"protected_branches": False,
                                                "custom_branch_policies": True}
    assert bodies[("POST", f"{base}/mvp/deployment-branch-policies")] == {
        "name": "main", "type": "branch"}
    assert "same" in capsys.readouterr().out


def test_apply_explains_a_refusal(github, capsys):
    repo = "example-org/hr-saas-infra"
    github.routes = {("PUT", f"/repos/{repo}/actions/oidc/customization/sub"):
                     (403, {"message": "Resource not accessible by integration"})}
    assert invoke("github-settings", "--apply", "--repository", repo) == 1
    err = capsys.readouterr().err
    assert "HTTP 403: Resource not accessible by integration" in err
    assert "Fix: the token lacks the permission" in err


def test_apply_needs_a_token(monkeypatch, capsys):
    monkeypatch.delenv("GH_TOKEN", raising=False)
    assert invoke("github-settings", "--apply") == 2
    assert "GH_TOKEN is not set" in capsys.readouterr().err


# --- CODEOWNERS --------------------------------------------------------------------------------

def owners_of(path: str, codeowners: Path = ROOT / ".github" / "CODEOWNERS") -> list[str]:
    """GitHub's rule: the last matching line wins. Patterns here are anchored paths (``/x``)
    and directories (``/x/``); anything else fails, so the matcher stays honest."""
    owners: list[str] = []
    for line in codeowners.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pattern, *who = line.split()
        assert pattern.startswith("/") and "*" not in pattern, f"extend owners_of: {pattern}"
        target = pattern.lstrip("/")
        if path == target or (target.endswith("/") and path.startswith(target)):
            owners = who
    return owners


@pytest.mark.parametrize("path", [
    ".github/workflows/ci.yml", ".github/workflows/deploy.yml", ".github/workflows/drift.yml",
    "modules/github_oidc/construct.py", "modules/github_oidc/README.md",
    "checkov/suppressions.toml", "envs/prod.toml", ".github/settings/github.toml",
    ".github/CODEOWNERS", "hrsaas/devtools/github_settings.py", "hrsaas/layers/bootstrap.py",
])
def test_codeowners_cover_what_decides_who_can_change_production(path):
    assert (ROOT / path).exists(), path
    owners = owners_of(path)
    assert owners and all(re.fullmatch(r"@[\w.-]+(/[\w.-]+)?", o) for o in owners), owners


def test_codeowners_do_not_gate_everything():
    # Ordinary changes need an ordinary review, not the platform team's.
    assert owners_of("hrsaas/layers/compute.py") == []
    assert owners_of("envs/mvp.toml") == []
