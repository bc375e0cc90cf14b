"""The deploy's closing summary of services waiting for their first image."""

from __future__ import annotations

from hrsaas.config import load_environment
from hrsaas.naming import Names
from hrsaas.runner.release import explain, waiting_services


def test_waiting_services_come_from_the_compute_outputs():
    outputs = {"mvp-network": {"vpc_id": "vpc-1"},
               "mvp-compute": {"released_images": {"auth": "true", "tenant": "false",
                                                   "mdm": "false"}}}
    assert waiting_services(outputs) == ["mdm", "tenant"]
    assert waiting_services({"mvp-network": {}}) == []


def test_the_summary_names_the_services_and_the_one_command():
    text = explain(Names.of(load_environment("mvp")), ["mdm", "tenant"])
    assert "mdm-service, tenant-service" in text
    assert "aws ssm put-parameter --overwrite --name /hr-saas/mvp/images/<name>-service" in text
    assert "hrsaas deploy --env mvp --confirm mvp --only mvp-compute --only mvp-scaling" in text
    assert "hr-saas-mvp-ci-publish" in text
    assert explain(Names.of(load_environment("mvp")), []) == ""
