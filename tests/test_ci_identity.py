"""The CI identity as code (bootstrap layer): GitHub OIDC provider, plan, apply and publish roles.

The trust and permission policies are evaluated, not pattern-matched: a small evaluator of the
IAM condition operators they use decides whether a GitHub token (its ``sub``, as GitHub
assembles it under the repository's template) may assume a role, and whether a role's policy
allows an action on a resource. Anything the evaluator does not know fails the test, so a new
operator or element cannot slip past it.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase

import pytest

from hrsaas.config import load_environment
from hrsaas.devtools.github_settings import load_settings
from hrsaas.topology import LAYERS

ISSUER = "token.actions.githubusercontent.com"
AUD = "sts.amazonaws.com"
REGION = "ap-northeast-2"


# --- GitHub: the sub of a job ----------------------------------------------------------------

def github_sub(repo: str, *, event: str, ref: str, workflow: str,
               environment: str | None = None, workflow_repo: str | None = None) -> str:
    """The ``sub`` GitHub issues under the template ["repo", "context", "ref",
    "job_workflow_ref"] (docs.github.com, OIDC reference, "Customizing the subject claims"):
    context = ``environment:<env>`` when the job names an environment, else ``pull_request``
    for pull-request events, else ``ref:<ref>``. Written from the documentation, independently
    of hrsaas/devtools/github_settings.py."""
    if environment:
        context = f"environment:{environment}"
    elif event in ("pull_request", "pull_request_target"):
        context = "pull_request"
    else:
        context = f"ref:{ref}"
    return (f"repo:{repo}:{context}:ref:{ref}:job_workflow_ref:"
            f"{workflow_repo or repo}/{workflow}@{ref}")


def test_the_subjects_below_follow_the_repositorys_template():
    # The subs this file builds assume this template; the settings file is what GitHub gets.
    assert load_settings().claim_keys == ("repo", "context", "ref", "job_workflow_ref")


# --- IAM: a small evaluator --------------------------------------------------------------------

def like(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM wildcards: ``*`` any run of characters (``:`` and ``/`` included), ``?`` one."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, 0 if case else re.IGNORECASE) is not None


def condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            values = expected if isinstance(expected, list) else [expected]
            actual = context.get(key)
            if operator == "StringEquals":
                ok = actual is not None and actual in values
            elif operator == "StringLike":
                ok = actual is not None and any(like(v, actual) for v in values)
            elif operator == "StringNotEquals":
                # A missing key satisfies StringNotEquals (IAM's rule).
                ok = actual is None or actual not in values
            else:
                raise AssertionError(f"the evaluator does not know {operator}: extend it")
            if not ok:
                return False
    return True


def statements(document: str | dict) -> list[dict]:
    doc = json.loads(document) if isinstance(document, str) else document
    found = doc["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def can_assume(trust: str, sub: str, aud: str = AUD) -> bool:
    context = {f"{ISSUER}:sub": sub, f"{ISSUER}:aud": aud}
    allowed = False
    for st in statements(trust):
        assert set(st) <= {"Sid", "Effect", "Action", "Principal", "Condition"}, st
        assert as_list(st["Action"]) == ["sts:AssumeRoleWithWebIdentity"], st
        assert set(st["Principal"]) == {"Federated"}, st
        if condition_holds(st.get("Condition", {}), context):
            if st["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def allows(policy: str, action: str, resource: str, context: dict | None = None) -> bool:
    """Identity-policy evaluation: an explicit Deny wins, else any Allow."""
    context = context or {}
    allowed = False
    for st in statements(policy):
        assert set(st) <= {"Sid", "Effect", "Action", "Resource", "NotResource",
                           "Condition"}, f"the evaluator does not know {set(st)}"
        if not any(like(a, action, case=False) for a in as_list(st["Action"])):
            continue
        if "Resource" in st:
            hit = any(like(r, resource) for r in as_list(st["Resource"]))
        else:
            hit = not any(like(r, resource) for r in as_list(st["NotResource"]))
        if not hit or not condition_holds(st.get("Condition", {}), context):
            continue
        if st["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def test_the_evaluator_itself():
    trust = json.dumps({"Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "x"},
        "Condition": {"StringEquals": {f"{ISSUER}:aud": AUD},
                      "StringLike": {f"{ISSUER}:sub": "repo:o/r:ref:refs/heads/*"}}}]})
    assert can_assume(trust, "repo:o/r:ref:refs/heads/x")
    assert not can_assume(trust, "repo:o/r:ref:refs/heads/x", aud="other")
    assert not can_assume(trust, "repo:o/r2:ref:refs/heads/x")
    policy = json.dumps({"Statement": [
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::b/k"}]})
    assert allows(policy, "s3:GetObject", "arn:aws:s3:::b/k")
    assert not allows(policy, "s3:GetObject", "arn:aws:s3:::b/other")
    assert allows(policy, "S3:getbucketpolicy", "arn:aws:s3:::b")
    with pytest.raises(AssertionError, match="ForAnyValue:StringLike"):
        condition_holds({"ForAnyValue:StringLike": {"k": "v"}}, {})


# --- the synthesized roles ---------------------------------------------------------------------

def roles(s) -> dict[str, tuple[str, dict]]:
    return {body["name"]: (rid, body) for rid, body in s.resources("aws_iam_role").items()}


def attached(s, rid: str) -> set[str]:
    return {a["policy_arn"] for a in s.resources("aws_iam_role_policy_attachment").values()
            if a["role"] == f"${{aws_iam_role.{rid}.name}}"}


def inline(s, rid: str) -> str:
    [policy] = [p for p in s.resources("aws_iam_role_policy").values()
                if p["role"] == f"${{aws_iam_role.{rid}.id}}"]
    return policy["policy"]


def trust_of(s, env: str, kind: str) -> str:
    return roles(s)[f"hr-saas-{env}-ci-{kind}"][1]["assume_role_policy"]


@pytest.mark.parametrize("env", ["local", "mvp", "prod"])
def test_the_roles_and_the_oidc_provider(stack, env):
    s = stack(f"{env}-bootstrap")
    provider = s.one("aws_iam_openid_connect_provider")
    assert provider["url"] == f"https://{ISSUER}"
    assert provider["client_id_list"] == [AUD]
    assert set(roles(s)) == {f"hr-saas-{env}-ci-plan", f"hr-saas-{env}-ci-apply",
                             f"hr-saas-{env}-ci-publish"}
    for kind in ("plan", "apply", "publish"):
        for st in statements(trust_of(s, env, kind)):
            assert st["Principal"]["Federated"].startswith("${aws_iam_openid_connect_provider.")
            # Every statement checks the audience exactly.
            assert st["Condition"]["StringEquals"][f"{ISSUER}:aud"] == AUD


DEPLOY = ".github/workflows/deploy.yml"
CI = ".github/workflows/ci.yml"


def apply_cases(repo: str, env: str) -> dict[str, tuple[str, bool]]:
    """Jobs that name the environment, and whether they may assume its apply role."""
    other = "prod" if env == "mvp" else "mvp"
    main = "refs/heads/main"
    return {
        "main's deploy workflow (push or workflow_dispatch)":
            (github_sub(repo, event="push", ref=main, workflow=DEPLOY, environment=env), True),
        "the deploy workflow on another branch":
            (github_sub(repo, event="workflow_dispatch", ref="refs/heads/feature",
                        workflow=DEPLOY, environment=env), False),
        "a branch named like main's path":
            (github_sub(repo, event="push", ref="refs/heads/x/refs/heads/main",
                        workflow=DEPLOY, environment=env), False),
        "a tag":
            (github_sub(repo, event="push", ref="refs/tags/v1.0.0", workflow=DEPLOY,
                        environment=env), False),
        "a pull request's workflow naming the environment":
            (github_sub(repo, event="pull_request", ref="refs/pull/7/merge", workflow=CI,
                        environment=env), False),
        "a pull request's own deploy.yml naming the environment":
            (github_sub(repo, event="pull_request", ref="refs/pull/7/merge", workflow=DEPLOY,
                        environment=env), False),
        "pull_request_target (main's ref) from another workflow":
            (github_sub(repo, event="pull_request_target", ref=main,
                        workflow=".github/workflows/pr-target.yml", environment=env), False),
        "another workflow on main naming the environment":
            (github_sub(repo, event="push", ref=main, workflow=".github/workflows/ci.yml",
                        environment=env), False),
        "a reusable workflow of another repository called from main":
            (github_sub(repo, event="push", ref=main, workflow=DEPLOY, environment=env,
                        workflow_repo="attacker/tools"), False),
        "main's deploy workflow without the environment":
            (github_sub(repo, event="push", ref=main, workflow=DEPLOY), False),
        "main's deploy workflow in the other environment":
            (github_sub(repo, event="push", ref=main, workflow=DEPLOY, environment=other),
             False),
        "another repository (a fork, a look-alike)":
            (github_sub(f"{repo}-fork", event="push", ref=main, workflow=DEPLOY,
                        environment=env), False),
        "another owner, same name":
            (github_sub("attacker/" + repo.split("/")[1], event="push", ref=main,
                        workflow=DEPLOY, environment=env), False),
        "GitHub's default template (the settings not applied)":
            (f"repo:{repo}:environment:{env}", False),
    }


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_only_mains_deploy_workflow_in_the_environment_reaches_the_apply_role(stack, env):
    trust = trust_of(stack(f"{env}-bootstrap"), env, "apply")
    repo = load_environment(env).ci.github_repository
    outcome = {case: can_assume(trust, sub) for case, (sub, _) in apply_cases(repo, env).items()}
    assert outcome == {case: ok for case, (_, ok) in apply_cases(repo, env).items()}
    # Exact subjects only: StringEquals, no wildcard a branch or workflow could satisfy.
    [st] = statements(trust)
    assert set(st["Condition"]) == {"StringEquals"}
    assert not any("*" in sub or "?" in sub
                   for sub in as_list(st["Condition"]["StringEquals"][f"{ISSUER}:sub"]))
    # The wrong audience is refused even from main's deploy workflow.
    main_deploy = apply_cases(repo, env)["main's deploy workflow (push or workflow_dispatch)"][0]
    assert not can_assume(trust, main_deploy, aud=f"https://github.com/{repo.split('/')[0]}")


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_plan_roles_trust_pull_requests_merge_queue_and_mains_drift(stack, env):
    trust = trust_of(stack(f"{env}-bootstrap"), env, "plan")
    repo = load_environment(env).ci.github_repository
    main = "refs/heads/main"
    queue = "refs/heads/gh-readonly-queue/main/pr-7-0123abcd"
    cases = {
        "a pull request's plan": (github_sub(repo, event="pull_request",
                                             ref="refs/pull/7/merge", workflow=CI), True),
        "a merge-queue group's plan": (github_sub(repo, event="merge_group", ref=queue,
                                                  workflow=CI), True),
        "main's drift": (github_sub(repo, event="schedule", ref=main,
                                    workflow=".github/workflows/drift.yml"), True),
        "main's deploy plan job": (github_sub(repo, event="push", ref=main, workflow=DEPLOY),
                                   True),
        "a push to a branch": (github_sub(repo, event="push", ref="refs/heads/feature",
                                          workflow=CI), False),
        "a tag": (github_sub(repo, event="push", ref="refs/tags/v1", workflow=CI), False),
        "a job in an environment": (github_sub(repo, event="push", ref=main, workflow=DEPLOY,
                                               environment=env), False),
        "another workflow on main": (github_sub(repo, event="push", ref=main,
                                                workflow=".github/workflows/other.yml"), False),
        "another repository's pull request": (github_sub(
            "attacker/" + repo.split("/")[1], event="pull_request", ref="refs/pull/7/merge",
            workflow=CI), False),
    }
    assert {c: can_assume(trust, sub) for c, (sub, _) in cases.items()} == {
        c: ok for c, (_, ok) in cases.items()}


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_the_publish_role_keeps_the_application_repositories_default_template(stack, env):
    """Decision: the application repositories keep GitHub's default sub template
    (`repo:<app>:environment:<env>`); their environment's main-only deployment rule binds
    publishing to main (README). A repository that adopts this repository's template must be
    configured here first: its customized subs are refused."""
    trust = trust_of(stack(f"{env}-bootstrap"), env, "publish")
    [app] = load_environment(env).ci.publisher_repositories
    assert can_assume(trust, f"repo:{app}:environment:{env}")
    assert not can_assume(trust, f"repo:{app}:environment:{'prod' if env == 'mvp' else 'mvp'}")
    assert not can_assume(trust, f"repo:{app}:ref:refs/heads/main")
    assert not can_assume(trust, f"repo:{app}:pull_request")
    assert not can_assume(trust, github_sub(app, event="push", ref="refs/heads/main",
                                            workflow=DEPLOY, environment=env))
    infra = load_environment(env).ci.github_repository
    assert not can_assume(trust, f"repo:{infra}:environment:{env}")


# --- the plan role's permissions ---------------------------------------------------------------

# Reads of contents (secret values, objects, items, logs, messages, images, query results,
# sessions). Independent of the construct's own deny list: the policy must refuse each.
DATA_READS = (
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
    "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent",
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
    "dynamodb:PartiQLSelect", "dynamodb:GetRecords",
    "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults",
    "logs:StartLiveTail", "logs:Unmask",
    "sqs:ReceiveMessage",
    "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParameterHistory",
    "ssm:GetParametersByPath", "ssm:StartSession",
    "kms:Decrypt", "kms:GenerateDataKey",
    "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:GetAuthorizationToken",
    "ecs:ExecuteCommand", "rds:DownloadDBLogFilePortion", "rds:DownloadCompleteDBLogFile",
    "rds-db:connect", "rds-data:ExecuteStatement", "elasticache:Connect",
    "cloudtrail:LookupEvents", "wafv2:GetSampledRequests", "lambda:GetFunction",
)
ANY = "arn:aws:service:ap-northeast-2:000000000000:anything/at-all"


def plan_policy(stack, env: str) -> tuple[str, str, str]:
    s = stack(f"{env}-bootstrap")
    rid, _ = roles(s)[f"hr-saas-{env}-ci-plan"]
    # Nothing managed (ReadOnlyAccess reads every object, item and secret).
    assert attached(s, rid) == set()
    account = load_environment(env).account_id
    return inline(s, rid), account, f"arn:aws:s3:::hr-saas-{env}-tfstate-{account}"


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_plan_roles_read_no_secret_value_and_no_data(stack, env):
    policy, account, bucket = plan_policy(stack, env)
    table = f"arn:aws:dynamodb:{REGION}:{account}:table/hr-saas-{env}-tflock"
    for name in ("hr-saas/db", "hr-saas/redis", "hr-saas/jwt", "hr-saas/encryption"):
        arn = f"arn:aws:secretsmanager:{REGION}:{account}:secret:{name}-AbCdEf"
        assert not allows(policy, "secretsmanager:GetSecretValue", arn)
        assert allows(policy, "secretsmanager:DescribeSecret", arn)
    for action in DATA_READS:
        assert not allows(policy, action, ANY), action
    # No allowed action pattern reaches a data read, whatever the resource (s3:Get*, *, ...).
    for st in statements(policy):
        if st["Effect"] != "Allow":
            continue
        for pattern in as_list(st["Action"]):
            assert pattern != "*" and not pattern.endswith(":*"), pattern
            reached = [a for a in DATA_READS if fnmatchcase(a.lower(), pattern.lower())]
            allowed_here = {"s3:GetObject", "dynamodb:GetItem", "kms:Decrypt",
                            "ssm:GetParameter", "ssm:GetParameters"}
            assert set(reached) <= allowed_here, (pattern, reached)
    # Those five only where a plan needs them: its state, the state digest, the state key
    # through S3, the image parameters.
    assert allows(policy, "s3:GetObject", f"{bucket}/{env}/network/terraform.tfstate")
    assert not allows(policy, "s3:GetObject", f"arn:aws:s3:::hr-saas-{env}-files-{account}/x")
    assert not allows(policy, "s3:GetObject", f"{bucket}/{env}/network/terraform.tfstate.tflock")
    assert allows(policy, "dynamodb:GetItem", table)
    assert not allows(policy, "dynamodb:GetItem", table.replace("tflock", "other"))
    via_s3 = {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    key = f"arn:aws:kms:{REGION}:{account}:key/1234"
    assert not allows(policy, "kms:Decrypt", key)
    assert not allows(policy, "kms:Decrypt", key,
                      {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"})
    assert not allows(policy, "kms:Decrypt", key, via_s3)
    # prod's state CMK (the bootstrap stack's key), and only through S3.
    state_keys = [f"${{aws_kms_key.{rid}.arn}}"
                  for rid in stack(f"{env}-bootstrap").resources("aws_kms_key")]
    assert len(state_keys) == (env == "prod")
    for state_key in state_keys:
        assert allows(policy, "kms:Decrypt", state_key, via_s3)
        assert not allows(policy, "kms:Decrypt", state_key)
    params = f"arn:aws:ssm:{REGION}:{account}:parameter"
    assert allows(policy, "ssm:GetParameter", f"{params}/hr-saas/{env}/images/auth-service")
    assert not allows(policy, "ssm:GetParameter", f"{params}/hr-saas/{env}/other")
    assert not allows(policy, "ssm:GetParameter", f"{params}/hr-saas/prod-x/images/a")


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_plan_roles_read_exactly_the_state_without_secrets_and_write_nothing(stack, env):
    policy, _, bucket = plan_policy(stack, env)
    readable = {layer for layer in LAYERS
                if allows(policy, "s3:GetObject", f"{bucket}/{env}/{layer}/terraform.tfstate")}
    # Every remote-state layer (bootstrap's state is local), cache and compute included: no
    # state holds a secret (the Redis AUTH token is set outside Terraform,
    # hrsaas/runner/redis_auth.py), so PR and drift plans of every layer run with this role.
    assert readable == set(LAYERS) - {"bootstrap"}
    assert not [st for st in statements(policy) if st["Effect"] == "Deny"
                and "s3:GetObject" in as_list(st["Action"]) and "Resource" in st
                and any(r.endswith("/terraform.tfstate") for r in as_list(st["Resource"]))]
    # Reading the cache state does not open the secret it no longer holds.
    assert not allows(policy, "secretsmanager:GetSecretValue",
                      f"arn:aws:secretsmanager:{REGION}:000000000000:secret:hr-saas/redis-AbCdEf")
    # Plans run with -lock=false: no lockfile, no lock item, nothing else written.
    for st in statements(policy):
        if st["Effect"] == "Allow":
            for action in as_list(st["Action"]):
                verb = action.split(":")[1]
                assert verb.startswith(("Get", "List", "Describe", "View", "Decrypt")), action
    for action in ("s3:PutObject", "s3:DeleteObject", "dynamodb:PutItem",
                   "dynamodb:DeleteItem", "iam:PassRole", "sts:AssumeRole"):
        assert not allows(policy, action, f"{bucket}/{env}/network/terraform.tfstate.tflock")
        assert not allows(policy, action, ANY)


# What a plan refreshes, by type: the service whose metadata reads the plan role must hold.
SERVICE_OF_TYPE = (
    ("aws_accessanalyzer_", "access-analyzer"), ("aws_acm_", "acm"),
    ("aws_appautoscaling_", "application-autoscaling"), ("aws_backup_", "backup"),
    ("aws_budgets_", "budgets"), ("aws_ce_", "ce"), ("aws_cloudfront_", "cloudfront"),
    ("aws_cloudtrail", "cloudtrail"), ("aws_cloudwatch_event_", "events"),
    ("aws_cloudwatch_log_", "logs"), ("aws_cloudwatch_", "cloudwatch"),
    ("aws_config_", "config"), ("aws_db_", "rds"), ("aws_dynamodb_", "dynamodb"),
    ("aws_ecr_", "ecr"), ("aws_ecs_", "ecs"), ("aws_elasticache_", "elasticache"),
    ("aws_lb", "elasticloadbalancing"), ("aws_guardduty_", "guardduty"), ("aws_iam_", "iam"),
    ("aws_kms_", "kms"), ("aws_route53_", "route53"), ("aws_s3_", "s3"),
    ("aws_secretsmanager_", "secretsmanager"), ("aws_sns_", "sns"), ("aws_sqs_", "sqs"),
    ("aws_ssm_", "ssm"), ("aws_wafv2_", "wafv2"),
    *((p, "ec2") for p in ("aws_default_security_group", "aws_eip", "aws_flow_log",
                           "aws_internet_gateway", "aws_nat_gateway", "aws_route",
                           "aws_security_group", "aws_subnet", "aws_vpc")),
)
# Types whose refresh reads a secret value: a plan role cannot refresh them, by design.
# aws_secretsmanager_secret_version's read calls GetSecretValue even for write-only values
# (provider 5.100, secret_version.go): the security layer is planned with -refresh=false by
# the plan role, or by the apply role. No other layer has one: the cache layer no longer reads
# hr-saas/redis (the deploy runner sets the token, hrsaas/runner/redis_auth.py).
SECRET_READING = {("resource", "aws_secretsmanager_secret_version"),
                  ("data", "aws_secretsmanager_secret_version")}


def synthesized_types(stack, env: str) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for layer in LAYERS:
        body = stack(f"{env}-{layer}").json
        for kind in ("resource", "data"):
            for t in body.get(kind, {}):
                found.setdefault((kind, t), set()).add(layer)
    return found


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_every_type_a_plan_refreshes_is_readable_by_the_plan_role(stack, env):
    from modules.github_oidc.construct import PLAN_METADATA_READS

    policy, _, _ = plan_policy(stack, env)
    found = synthesized_types(stack, env)
    missing = []
    for (kind, t), layers in sorted(found.items()):
        if t in ("aws_iam_policy_document", "terraform_remote_state"):
            continue  # computed locally / the state reads checked above
        service = next((svc for prefix, svc in SERVICE_OF_TYPE if t.startswith(prefix)), None)
        if service is None or service not in PLAN_METADATA_READS:
            missing.append(f"{kind} {t} ({', '.join(sorted(layers))})")
            continue
        # The role holds that service's reads (evaluated, not just listed).
        assert any(allows(policy, action.replace("*", "Anything"), ANY)
                   for action in PLAN_METADATA_READS[service]), service
    assert not missing, ("types without plan-role reads: add them to PLAN_METADATA_READS in "
                         f"modules/github_oidc/construct.py: {missing}")
    secret_layers = {layer for key in SECRET_READING for layer in found.get(key, ())}
    assert secret_layers == {"security"}


def test_the_apply_role_is_the_only_writer(stack):
    s = stack("prod-bootstrap")
    rid, _ = roles(s)["hr-saas-prod-ci-apply"]
    assert attached(s, rid) == {"arn:aws:iam::aws:policy/AdministratorAccess"}
    outputs = s.json["output"]
    assert {"ci_plan_role_arn", "ci_apply_role_arn"} <= set(outputs)
