"""The repository's GitHub settings as code (``.github/settings/github.toml``).

    hrsaas github-settings                 print every API call that sets them (dry run)
    hrsaas github-settings --apply         make them (GH_TOKEN: a token of a repository admin)
    hrsaas github-settings --repository owner/name   another repository than ci.github_repository

What it sets: the OIDC subject template (the `sub` the bootstrap layer's trust policies match),
the deployment environments (main only; prod's reviewers and wait timer) and the ruleset of
main (reviews, code owners, the CI check, the merge queue). Each call is idempotent (PUT, or a
lookup followed by a create or an update), so running it again changes nothing.

This module is also the one place that knows how GitHub assembles a customized ``sub``: the
bootstrap layer builds its trust policies with :func:`oidc_subject` from the same claim keys,
so the two cannot drift apart. Free of cdktf (the CLI starts without jsii).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hrsaas.toolenv import ROOT

SETTINGS_FILE = ROOT / ".github" / "settings" / "github.toml"
API = "https://api.github.com"
API_VERSION = "2022-11-28"

# Claim keys the subject builder knows how to render. GitHub supports more; a key outside this
# list would give subjects this module cannot predict, so it is refused (add it here first).
SUPPORTED_CLAIM_KEYS = ("repo", "context", "ref", "job_workflow_ref")
# Without these the apply roles cannot be bound to the repository, the job's environment and
# the workflow file (job_workflow_ref also carries the ref: `<repo>/<path>@<ref>`).
REQUIRED_CLAIM_KEYS = ("repo", "context", "job_workflow_ref")


class SettingsError(ValueError):
    """A problem in the settings file: the message names the field and the fix."""


def oidc_subject(claim_keys: tuple[str, ...] | list[str], *, repository: str, context: str,
                 ref: str, workflow: str) -> str:
    """The ``sub`` GitHub issues under a customized template (docs.github.com, "Customizing the
    subject claims"): ``key:value`` per claim key, in the template's order, joined by ``:``;
    ``repo`` renders as ``repo:<owner>/<name>`` and ``context`` as the default format's part
    after the repository — ``environment:<name>`` for a job with an environment,
    ``pull_request`` for pull-request events, else ``ref:<ref>``. ``job_workflow_ref`` is
    ``<owner>/<name>/<workflow path>@<ref>`` for a workflow of this repository.

    ``ref``/``workflow`` may hold IAM wildcards (``refs/pull/*/merge``) for StringLike.
    """
    values = {"repo": repository, "ref": ref,
              "job_workflow_ref": f"{repository}/{workflow}@{ref}"}
    parts = []
    for key in claim_keys:
        if key == "context":
            parts.append(context)
        elif key in values:
            # GitHub escapes ':' inside a claim's value; ours never contain one, so a value
            # that does is a mistake worth stopping on rather than a subject that never matches.
            if ":" in values[key]:
                raise ValueError(f"claim {key}={values[key]!r} contains ':'")
            parts.append(f"{key}:{values[key]}")
        else:
            raise ValueError(f"claim key {key!r} is not one of {SUPPORTED_CLAIM_KEYS}")
    return ":".join(parts)


def context_of(*, environment: str | None = None, pull_request: bool = False,
               ref: str = "") -> str:
    """The ``context`` part of a sub: what GitHub puts after ``repo:<owner>/<name>:``."""
    if environment:
        return f"environment:{environment}"
    if pull_request:
        return "pull_request"
    return f"ref:{ref}"


@dataclass(frozen=True)
class Environment:
    name: str
    deployment_branches: tuple[str, ...]
    reviewers: tuple[dict[str, str], ...] = ()
    prevent_self_review: bool = False
    wait_timer_minutes: int = 0


@dataclass(frozen=True)
class Ruleset:
    name: str
    branch: str
    required_checks: tuple[str, ...]
    required_approving_review_count: int = 1
    require_code_owner_review: bool = True
    dismiss_stale_reviews_on_push: bool = True
    merge_queue: bool = True
    merge_method: str = "SQUASH"
    merge_queue_group_size: int = 1


@dataclass(frozen=True)
class Settings:
    claim_keys: tuple[str, ...]
    deploy_workflow: str
    main_plan_workflows: tuple[str, ...]
    pull_request_workflow: str
    main_branch: str
    environments: dict[str, Environment] = field(default_factory=dict)
    rulesets: dict[str, Ruleset] = field(default_factory=dict)

    @property
    def main_ref(self) -> str:
        return f"refs/heads/{self.main_branch}"

    def apply_subject(self, repository: str, environment: str) -> str:
        """The one sub an apply role trusts: the deploy workflow, on main, in the environment."""
        return oidc_subject(self.claim_keys, repository=repository,
                            context=context_of(environment=environment), ref=self.main_ref,
                            workflow=self.deploy_workflow)

    def main_plan_subjects(self, repository: str) -> list[str]:
        """Exact subs of the plan jobs that run on main without an environment (drift)."""
        return [oidc_subject(self.claim_keys, repository=repository,
                             context=context_of(ref=self.main_ref), ref=self.main_ref,
                             workflow=workflow) for workflow in self.main_plan_workflows]

    def pull_request_plan_patterns(self, repository: str) -> list[str]:
        """StringLike patterns of pull-request and merge-queue plan jobs (the PR number and the
        queue's branch vary). ``*`` never reaches the repository or the context, so no branch
        push, tag or environment job matches them."""
        pr_ref = "refs/pull/*/merge"
        queue_ref = f"refs/heads/gh-readonly-queue/{self.main_branch}/*"
        return [
            oidc_subject(self.claim_keys, repository=repository,
                         context=context_of(pull_request=True), ref=pr_ref,
                         workflow=self.pull_request_workflow),
            oidc_subject(self.claim_keys, repository=repository,
                         context=context_of(ref=queue_ref), ref=queue_ref,
                         workflow=self.pull_request_workflow),
        ]


def _require(table: dict, key: str, kind: type, where: str, fix: str) -> Any:
    if key not in table:
        raise SettingsError(f"{where}.{key} is missing. Fix: {fix}")
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SettingsError(f"{where}.{key} = {value!r} is not a {kind.__name__}. Fix: {fix}")
    return value


def _workflow(value: str, where: str) -> str:
    if not (value.startswith(".github/workflows/") and value.endswith((".yml", ".yaml"))):
        raise SettingsError(f"{where} = {value!r} is not a workflow file path. Fix: write the "
                            "path from the repository root, e.g. '.github/workflows/deploy.yml'")
    return value


def load_settings(path: Path = SETTINGS_FILE) -> Settings:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such file. Fix: restore .github/settings/github.toml "
                            "from git") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    oidc = _require(data, "oidc", dict, "github.toml", "add an [oidc] table")
    keys = tuple(_require(oidc, "include_claim_keys", list, "oidc",
                          f"list claim keys, e.g. {list(SUPPORTED_CLAIM_KEYS)}"))
    unknown = [k for k in keys if k not in SUPPORTED_CLAIM_KEYS]
    if unknown:
        raise SettingsError(f"oidc.include_claim_keys: {unknown} not supported. Fix: use only "
                            f"{list(SUPPORTED_CLAIM_KEYS)} (the trust policies are built from "
                            "them; teach hrsaas/devtools/github_settings.py a new key first)")
    missing = [k for k in REQUIRED_CLAIM_KEYS if k not in keys]
    if missing or keys[0] != "repo" or len(set(keys)) != len(keys):
        raise SettingsError(f"oidc.include_claim_keys = {list(keys)}: must start with 'repo', "
                            f"name each key once and include {list(REQUIRED_CLAIM_KEYS)}. Fix: "
                            "e.g. ['repo', 'context', 'ref', 'job_workflow_ref'] — without "
                            "them an apply role cannot be bound to main and the deploy workflow")
    wf = _require(data, "workflows", dict, "github.toml", "add a [workflows] table")
    main_plans = _require(wf, "main_plans", list, "workflows", "list workflow paths")
    settings = Settings(
        claim_keys=keys,
        deploy_workflow=_workflow(_require(wf, "deploy", str, "workflows",
                                           "the deploy workflow's path"), "workflows.deploy"),
        main_plan_workflows=tuple(_workflow(w, "workflows.main_plans") for w in main_plans),
        pull_request_workflow=_workflow(_require(wf, "pull_requests", str, "workflows",
                                                 "the PR plan workflow's path"),
                                        "workflows.pull_requests"),
        main_branch=_require(wf, "main_branch", str, "workflows", "e.g. 'main'"),
        environments={}, rulesets={},
    )
    for name, env in _require(data, "environments", dict, "github.toml",
                              "add [environments.<name>] tables").items():
        where = f"environments.{name}"
        branches = tuple(_require(env, "deployment_branches", list, where,
                                  f"deployment_branches = ['{settings.main_branch}']"))
        reviewers = tuple(env.get("reviewers", ()))
        for reviewer in reviewers:
            if reviewer.get("type") not in ("Team", "User") or not (
                    reviewer.get("slug") or reviewer.get("login")):
                raise SettingsError(f"{where}.reviewers: {reviewer!r}. Fix: "
                                    "{ type = 'Team', slug = '<team>' } or "
                                    "{ type = 'User', login = '<user>' }")
        settings.environments[name] = Environment(
            name=name, deployment_branches=branches, reviewers=reviewers,
            prevent_self_review=bool(env.get("prevent_self_review", False)),
            wait_timer_minutes=int(env.get("wait_timer_minutes", 0)))
    for name, rs in data.get("rulesets", {}).items():
        where = f"rulesets.{name}"
        settings.rulesets[name] = Ruleset(
            name=name, branch=_require(rs, "branch", str, where, "e.g. 'main'"),
            required_checks=tuple(_require(rs, "required_checks", list, where,
                                           "the CI job names that must pass")),
            required_approving_review_count=int(rs.get("required_approving_review_count", 1)),
            require_code_owner_review=bool(rs.get("require_code_owner_review", True)),
            dismiss_stale_reviews_on_push=bool(rs.get("dismiss_stale_reviews_on_push", True)),
            merge_queue=bool(rs.get("merge_queue", True)),
            merge_method=str(rs.get("merge_method", "SQUASH")),
            merge_queue_group_size=int(rs.get("merge_queue_group_size", 1)))
    return settings


# --- the API calls ----------------------------------------------------------------------------

@dataclass
class Call:
    method: str
    path: str
    body: dict | None = None
    why: str = ""

    def show(self) -> str:
        text = f"{self.method} {self.path}"
        if self.why:
            text += f"    # {self.why}"
        if self.body is not None:
            text += "\n" + "\n".join("    " + line
                                     for line in json.dumps(self.body, indent=2).splitlines())
        return text


def oidc_call(settings: Settings, repository: str) -> Call:
    return Call("PUT", f"/repos/{repository}/actions/oidc/customization/sub",
                {"use_default": False, "include_claim_keys": list(settings.claim_keys)},
                "the OIDC sub template the bootstrap layer's trust policies match")


def environment_body(env: Environment, reviewer_ids: list[dict] | None) -> dict:
    body: dict[str, Any] = {
        "wait_timer": env.wait_timer_minutes,
        "prevent_self_review": env.prevent_self_review,
        # Custom branch policies (the names below), not "any protected branch".
        "deployment_branch_policy": {"protected_branches": False,
                                     "custom_branch_policies": True},
    }
    body["reviewers"] = reviewer_ids if reviewer_ids is not None else [
        {"type": r["type"], "id": f"<id of {r.get('slug') or r.get('login')}>"}
        for r in env.reviewers]
    return body


def ruleset_body(rs: Ruleset) -> dict:
    rules: list[dict] = [
        {"type": "deletion"},
        {"type": "non_fast_forward"},
        {"type": "pull_request", "parameters": {
            "required_approving_review_count": rs.required_approving_review_count,
            "require_code_owner_review": rs.require_code_owner_review,
            "dismiss_stale_reviews_on_push": rs.dismiss_stale_reviews_on_push,
            "require_last_push_approval": False,
            "required_review_thread_resolution": False}},
        {"type": "required_status_checks", "parameters": {
            "strict_required_status_checks_policy": False,
            "required_status_checks": [{"context": c} for c in rs.required_checks]}},
    ]
    if rs.merge_queue:
        rules.append({"type": "merge_queue", "parameters": {
            "merge_method": rs.merge_method, "grouping_strategy": "ALLGREEN",
            "max_entries_to_build": rs.merge_queue_group_size, "min_entries_to_merge": 1,
            "max_entries_to_merge": rs.merge_queue_group_size,
            "min_entries_to_merge_wait_minutes": 0, "check_response_timeout_minutes": 60}})
    return {"name": rs.name, "target": "branch", "enforcement": "active",
            "conditions": {"ref_name": {"include": [f"refs/heads/{rs.branch}"],
                                        "exclude": []}},
            "rules": rules}


def planned_calls(settings: Settings, repository: str) -> list[Call]:
    """Every call of a run, as the dry run shows them (lookups included)."""
    owner = repository.split("/")[0]
    calls = [oidc_call(settings, repository)]
    for env in settings.environments.values():
        for r in env.reviewers:
            if r["type"] == "Team":
                calls.append(Call("GET", f"/orgs/{owner}/teams/{r['slug']}",
                                  why=f"the id of reviewer team {r['slug']}"))
            else:
                calls.append(Call("GET", f"/users/{r['login']}",
                                  why=f"the id of reviewer {r['login']}"))
        base = f"/repos/{repository}/environments/{env.name}"
        calls.append(Call("PUT", base, environment_body(env, None),
                          f"environment {env.name}"))
        calls.append(Call("GET", f"{base}/deployment-branch-policies",
                          why="the branch policies it has"))
        for branch in env.deployment_branches:
            calls.append(Call("POST", f"{base}/deployment-branch-policies",
                              {"name": branch, "type": "branch"},
                              f"deploy from {branch} only (skipped when present)"))
    for rs in settings.rulesets.values():
        calls.append(Call("GET", f"/repos/{repository}/rulesets",
                          why=f"does ruleset {rs.name!r} exist"))
        calls.append(Call("POST|PUT", f"/repos/{repository}/rulesets[/<id>]", ruleset_body(rs),
                          f"ruleset {rs.name!r}: create, or update the existing one"))
    return calls


class GitHubError(RuntimeError):
    pass


class GitHub:
    def __init__(self, token: str, api: str = API):
        self.token, self.api = token, api.rstrip("/")

    def __call__(self, method: str, path: str, body: dict | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.api + path, data=data, method=method,
            headers={"Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION,
                     "Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("message", detail)
            except (ValueError, AttributeError):
                pass
            hint = {401: "GH_TOKEN is invalid or expired",
                    403: "the token lacks the permission (repository administration: write; "
                         "for team reviewers also organization members: read)",
                    404: "the repository, team or user does not exist, or the token cannot "
                         "see it (a fine-grained token must include this repository)",
                    422: "GitHub refused the value: check the settings file"}.get(
                        exc.code, "see the message")
            raise GitHubError(f"{method} {path}: HTTP {exc.code}: {detail}. Fix: {hint}"
                              ) from None
        except urllib.error.URLError as exc:
            raise GitHubError(f"{method} {path}: cannot reach {self.api} ({exc.reason})"
                              ) from None
        return json.loads(raw) if raw else None


def apply(settings: Settings, repository: str, gh: GitHub, echo=print) -> None:
    owner = repository.split("/")[0]
    call = oidc_call(settings, repository)
    gh(call.method, call.path, call.body)
    echo(f"ok   {call.method} {call.path}")
    for env in settings.environments.values():
        ids = []
        for r in env.reviewers:
            path = (f"/orgs/{owner}/teams/{r['slug']}" if r["type"] == "Team"
                    else f"/users/{r['login']}")
            ids.append({"type": r["type"], "id": gh("GET", path)["id"]})
        base = f"/repos/{repository}/environments/{env.name}"
        gh("PUT", base, environment_body(env, ids))
        echo(f"ok   PUT {base}")
        present = {p["name"] for p in (gh("GET", f"{base}/deployment-branch-policies")
                                       or {}).get("branch_policies", [])}
        for branch in env.deployment_branches:
            if branch in present:
                echo(f"same {base}/deployment-branch-policies {branch}")
                continue
            gh("POST", f"{base}/deployment-branch-policies", {"name": branch, "type": "branch"})
            echo(f"ok   POST {base}/deployment-branch-policies {branch}")
        extra = present - set(env.deployment_branches)
        if extra:
            echo(f"note {env.name} also allows {sorted(extra)}: remove them in the settings "
                 "if they are not wanted (this script adds, it does not delete)")
    for rs in settings.rulesets.values():
        existing = {r["name"]: r["id"] for r in gh("GET", f"/repos/{repository}/rulesets") or []}
        if rs.name in existing:
            path = f"/repos/{repository}/rulesets/{existing[rs.name]}"
            gh("PUT", path, ruleset_body(rs))
            echo(f"ok   PUT {path}")
        else:
            gh("POST", f"/repos/{repository}/rulesets", ruleset_body(rs))
            echo(f"ok   POST /repos/{repository}/rulesets ({rs.name})")


def default_repository(settings: Settings) -> str:
    """ci.github_repository of the environments the settings name (they must agree)."""
    from hrsaas.config import load_environment

    repos = {load_environment(name).ci.github_repository for name in settings.environments}
    if len(repos) != 1:
        raise SettingsError(f"environments {sorted(settings.environments)} name different "
                            f"repositories {sorted(repos)}. Fix: pass --repository")
    return repos.pop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="hrsaas github-settings",
        description="Show (default) or apply (--apply) the repository's GitHub settings from "
                    ".github/settings/github.toml: the OIDC sub template, the environments "
                    "(main only, prod reviewers) and main's ruleset with the merge queue.",
        epilog="examples:\n  hrsaas github-settings\n"
               "  GH_TOKEN=... hrsaas github-settings --apply",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apply", action="store_true",
                        help="make the calls (token from GH_TOKEN); default: print them")
    parser.add_argument("--repository", help="owner/name (default: ci.github_repository)")
    parser.add_argument("--settings", type=Path, default=SETTINGS_FILE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.settings)
        repository = args.repository or default_repository(settings)
    except SettingsError as exc:
        print(f"github-settings: {exc}", file=sys.stderr)
        return 2
    if "/" not in repository:
        print(f"github-settings: --repository {repository!r} is not owner/name", file=sys.stderr)
        return 2
    if not args.apply:
        print(f"# dry run: the calls that set {repository}'s GitHub settings "
              f"(--apply makes them)")
        for call in planned_calls(settings, repository):
            print(call.show())
        return 0
    token = os.environ.get("GH_TOKEN", "")
    if not token:
        print("github-settings: GH_TOKEN is not set. Fix: export GH_TOKEN=<token of a "
              "repository admin> (e.g. `GH_TOKEN=$(gh auth token)`)", file=sys.stderr)
        return 2
    try:
        apply(settings, repository, GitHub(token, os.environ.get("GITHUB_API_URL", API)))
    except GitHubError as exc:
        print(f"github-settings: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
