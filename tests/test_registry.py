"""ECR (guide §10): the 12 repositories, scan on push, encryption, lifecycle, immutable tags."""

from __future__ import annotations

import json

import pytest

GUIDE_REPOSITORIES = {f"hr-saas/{name}-service" for name in (
    "auth", "tenant", "organization", "employee", "attendance", "approval", "mdm",
    "notification", "file", "appointment", "certificate", "recruitment")}


@pytest.mark.parametrize("env", ["mvp", "prod"])
def test_repositories(stack, env):
    s = stack(f"{env}-registry")
    repos = {r["name"]: (rid, r) for rid, r in s.resources("aws_ecr_repository").items()}
    assert set(repos) == GUIDE_REPOSITORIES
    policies = {s.deref(p["repository"])[1]["name"]: json.loads(p["policy"])
                for p in s.resources("aws_ecr_lifecycle_policy").values()}
    for name, (_, repo) in repos.items():
        assert repo["image_tag_mutability"] == "IMMUTABLE"
        assert repo["image_scanning_configuration"] == {"scan_on_push": True}
        assert repo["encryption_configuration"] == [{"encryption_type": "KMS"}]
        assert repo["force_delete"] is False
        rules = {r["selection"]["tagStatus"]: r for r in policies[name]["rules"]}
        assert rules["untagged"]["selection"] == {
            "tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
            "countNumber": 30}
        assert rules["tagged"]["selection"]["countType"] == "imageCountMoreThan"
        assert rules["tagged"]["selection"]["countNumber"] == 10
        assert all(r["action"] == {"type": "expire"} for r in rules.values())
    assert set(s.json["output"]) == {"repository_urls", "repository_arns", "image_parameters"}
