"""The CI identity as code (bootstrap layer): GitHub OIDC provider, plan and apply roles."""

from __future__ import annotations

import json

import pytest

from hrsaas.config import load_environment

ISSUER = "token.actions.githubusercontent.com"


def roles(s) -> dict[str, tuple[str, dict]]:
    return {body["name"]: (rid, body) for rid, body in s.resources("aws_iam_role").items()}


def attached(s, rid: str) -> set[str]:
    return {a["policy_arn"] for a in s.resources("aws_iam_role_policy_attachment").values()
            if a["role"] == f"${{aws_iam_role.{rid}.name}}"}


@pytest.mark.parametrize("env", ["local", "mvp", "prod"])
def test_trust_is_bound_to_repository_audience_and_environment(stack, env):
    s = stack(f"{env}-bootstrap")
    repo = load_environment(env).ci.github_repository
    provider = s.one("aws_iam_openid_connect_provider")
    assert provider["url"] == f"https://{ISSUER}"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    found = roles(s)
    assert set(found) == {f"hr-saas-{env}-ci-plan", f"hr-saas-{env}-ci-apply",
                          f"hr-saas-{env}-ci-publish"}
    publishers = load_environment(env).ci.publisher_repositories
    expected_subjects = {
        "plan": [f"repo:{repo}:pull_request", f"repo:{repo}:ref:refs/heads/main"],
        "apply": [f"repo:{repo}:environment:{env}"],
        "publish": [f"repo:{app}:environment:{env}" for app in publishers],
    }
    for kind, subjects in expected_subjects.items():
        _, role = found[f"hr-saas-{env}-ci-{kind}"]
        [statement] = json.loads(role["assume_role_policy"])["Statement"]
        assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert statement["Principal"]["Federated"].startswith(
            "${aws_iam_openid_connect_provider.")
        assert statement["Condition"] == {"StringEquals": {
            f"{ISSUER}:aud": "sts.amazonaws.com", f"{ISSUER}:sub": subjects}}
        assert not any("*" in sub for sub in subjects)


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_the_plan_role_reads_everything_and_writes_only_the_state_lock(stack, env):
    s = stack(f"{env}-bootstrap")
    rid, _ = roles(s)[f"hr-saas-{env}-ci-plan"]
    assert attached(s, rid) == {"arn:aws:iam::aws:policy/ReadOnlyAccess"}
    [policy] = [p for p in s.resources("aws_iam_role_policy").values()
                if p["role"] == f"${{aws_iam_role.{rid}.id}}"]
    account = load_environment(env).account_id
    bucket = f"arn:aws:s3:::hr-saas-{env}-tfstate-{account}"
    writes, secrets = {}, []
    for st in json.loads(policy["policy"])["Statement"]:
        if "secretsmanager:GetSecretValue" in st["Action"]:
            secrets.append(st["Resource"])
        assert st["Effect"] == "Allow"
        actions = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
        for action in actions:
            verb = action.split(":")[1]
            if not verb.startswith(("Get", "List", "Describe", "Decrypt", "GenerateDataKey")):
                writes[action] = st["Resource"]
    # The one secret a plan opens; JWT and encryption keys stay out of plan jobs.
    assert secrets == [f"arn:aws:secretsmanager:ap-northeast-2:{account}:secret:hr-saas/db-*"]
    # The only writes: the S3 lockfiles and the DynamoDB lock items.
    assert writes == {
        "s3:PutObject": f"{bucket}/*.tflock", "s3:DeleteObject": f"{bucket}/*.tflock",
        "dynamodb:PutItem": f"arn:aws:dynamodb:ap-northeast-2:{account}:table/hr-saas-{env}-tflock",
        "dynamodb:DeleteItem":
            f"arn:aws:dynamodb:ap-northeast-2:{account}:table/hr-saas-{env}-tflock",
    }


def test_the_apply_role_is_the_only_writer(stack):
    s = stack("prod-bootstrap")
    rid, _ = roles(s)["hr-saas-prod-ci-apply"]
    assert attached(s, rid) == {"arn:aws:iam::aws:policy/AdministratorAccess"}
    outputs = s.json["output"]
    assert {"ci_plan_role_arn", "ci_apply_role_arn"} <= set(outputs)
