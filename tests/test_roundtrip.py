"""The real thing: the local environment applies on the emulator through terraform, re-plans
with no changes, and destroys leaving nothing behind.

One applied environment for the whole module, on a moto server of its own (nothing else
applies there, so the final check that nothing is left is about this module alone). The tests
between the deploy and the destroy read it, or change it and put it back. Planning with nothing
applied needs an empty emulator: tests/test_fresh_plans.py, on its own server beside this one.
The deploy and the destroy are also the real proof of the graph runner's parallel deploy and
reverse destroy (the graph's rules are tested with a fake terraform in test_runner_graph.py)."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from hrsaas.emulator import PLAN_ONLY_LAYERS
from hrsaas.runner.graph import RunResult
from hrsaas.runner.release import waiting_services
from hrsaas.runner.stacks import Runner, StackFailed, stack_graph, stack_order
from hrsaas.toolenv import PYTHON, ROOT, tool_env
from hrsaas.topology import LAYERS
from tests.own_emulator import OwnEmulator, own_emulator

pytestmark = pytest.mark.emulator

PARALLELISM = 4  # the emulator default on two cores, explicit: the overlap below needs four


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="ap-northeast-2",
                        aws_access_key_id="test", aws_secret_access_key="test")


@dataclass
class Local:
    emulator: OwnEmulator
    outdir: Path  # `local` synthesized for this module's server


@pytest.fixture(scope="module")
def local(synth_dir, tmp_path_factory) -> Iterator[Local]:
    tmp = tmp_path_factory.mktemp("roundtrip")
    with own_emulator(tmp, tmp / "cdktf.out", synth_dir) as moto:
        yield Local(moto, tmp / "cdktf.out")


@pytest.fixture(scope="module")
def moto(local) -> str:
    return local.emulator.endpoint


@pytest.fixture(scope="module")
def local_dir(local) -> Path:
    return local.outdir


@pytest.fixture(scope="module")
def state_dir(local) -> Path:
    return Path(local.emulator.env["HRSAAS_STATE_DIR"])


@pytest.fixture(scope="module")
def runner(local):
    return Runner("local", local.outdir, quiet=True, parallelism=PARALLELISM)


@dataclass
class Deployment:
    outputs: dict[str, dict]
    result: RunResult  # the graph runner's events of the deploy


@pytest.fixture(scope="module")
def deployment(runner) -> Deployment:
    outputs = runner.deploy()
    return Deployment(outputs, runner.last_result)


@pytest.fixture(scope="module")
def deployed(deployment):
    return deployment.outputs


def running_together(result: RunResult) -> int:
    """The most stacks that ran at the same time, from the run's start/end events."""
    running = most = 0
    for event in result.events:
        running += {"start": 1, "end": -1}.get(event.kind, 0)
        most = max(most, running)
    return most


# hrsaas/emulator/gaps.py PLAN_ONLY_LAYERS: what moto still cannot apply is only planned.
PLANNED_ONLY = [f"local-{layer}" for layer in LAYERS if layer in PLAN_ONLY_LAYERS]
APPLIED = [f"local-{layer}" for layer in LAYERS if layer not in PLAN_ONLY_LAYERS]


def test_deploy_applies_every_layer_in_order(deployment, deployed, moto, state_dir,
                                            local_dir):
    assert set(deployed) == set(APPLIED)
    assert list(deployed) == [s for s in stack_order("local", local_dir) if s in APPLIED]
    # The graph runner for real (moved here from test_runner_graph.py's own small graph): no
    # stack starts before every stack it depends on has ended, and stacks whose dependencies
    # are done run side by side, never more than the parallelism.
    graph = stack_graph("local", local_dir)
    events = [(e.kind, e.stack) for e in deployment.result.events]
    for stack in graph.order:
        started = events.index(("start", stack))
        for dependency in graph.deps[stack]:
            assert events.index(("end", dependency)) < started, (stack, dependency, events)
    assert running_together(deployment.result) == PARALLELISM, events
    assert {s: r.status for s, r in deployment.result.results.items()} == {
        **dict.fromkeys(APPLIED, "applied"), **dict.fromkeys(PLANNED_ONLY, "planned")}
    assert (state_dir / "local" / "bootstrap.tfstate").exists()
    repos = client(moto, "ecr").describe_repositories()["repositories"]
    assert {r["repositoryName"] for r in repos} == {
        f"hr-saas/{svc}-service" for svc in deployed["local-registry"]["repository_urls"]}
    assert len(repos) == 12
    vpc_id = deployed["local-network"]["vpc_id"]
    ec2 = client(moto, "ec2")
    (vpc,) = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert sorted(s["CidrBlock"] for s in subnets) == [
        "10.0.1.0/24", "10.0.10.0/24", "10.0.11.0/24", "10.0.2.0/24", "10.0.20.0/24",
        "10.0.21.0/24"]
    # Remote state of every other layer lives in the bootstrap bucket, under the layout's keys.
    bucket = deployed["local-bootstrap"]["state_bucket"]
    keys = {o["Key"] for o in client(moto, "s3").list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"local/security/terraform.tfstate", "local/network/terraform.tfstate"} <= keys
    assert not any(k.endswith(".tflock") for k in keys), "locks are released after apply"


def test_the_services_run_behind_the_alb(deployed, moto):
    out = deployed["local-compute"]
    ecs = client(moto, "ecs")
    cluster = out["cluster_name"]
    assert cluster == "hr-saas-local"
    arns = ecs.list_services(cluster=cluster)["serviceArns"]
    services = ecs.describe_services(cluster=cluster, services=arns)["services"]
    # mvp's selection: deploy stages 1–4, one task each.
    assert sorted(s["serviceName"] for s in services) == sorted(out["service_names"]) == sorted(
        f"{n}-service" for n in ("auth", "tenant", "mdm", "organization", "employee",
                                 "attendance", "approval"))
    [db] = client(moto, "rds").describe_db_instances()["DBInstances"]
    pages = client(moto, "ssm").get_paginator("get_parameters_by_path").paginate(
        Path="/hr-saas/local/images/", Recursive=True)
    parameters = {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}
    assert len(parameters) == 12
    # Deployed the way a first real deploy is: no image released yet, so every service exists
    # with no task, and the deploy names them as waiting.
    assert waiting_services(deployed) == sorted(
        s["serviceName"].removesuffix("-service") for s in services)
    for svc in services:
        assert svc["desiredCount"] == 0
        task = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])
        [container] = task["taskDefinition"]["containerDefinitions"]
        env = {e["name"]: e["value"] for e in container["environment"]}
        # Real values from the other layers' applied state, not placeholders.
        assert env["DB_HOST"] == db["Endpoint"]["Address"]
        assert container["image"] == parameters[f"/hr-saas/local/images/{svc['serviceName']}"]
        assert {s["name"] for s in container["secrets"]} == {
            "DB_USERNAME", "DB_PASSWORD", "REDIS_PASSWORD", "JWT_SECRET", "ENCRYPTION_KEY"}
    elb = client(moto, "elbv2")
    [alb] = elb.describe_load_balancers()["LoadBalancers"]
    # moto leaves Scheme out of its answer for internet-facing ALBs (the synthesized test checks
    # internal = false); an internal one would say so.
    site = deployed["local-edge"]
    assert alb["DNSName"] == site["alb_dns_name"] and alb.get("Scheme") != "internal"
    listeners = elb.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    assert sorted(x["Port"] for x in listeners) == [80, 443]
    https = next(x for x in listeners if x["Port"] == 443)
    # The services' rules (compute) are on the listener the edge layer exports.
    assert https["ListenerArn"] == site["https_listener_arn"]
    rules = elb.describe_rules(ListenerArn=https["ListenerArn"])["Rules"]
    assert len([r for r in rules if not r["IsDefault"]]) == 7
    groups = {g["TargetGroupName"] for g in elb.describe_target_groups()["TargetGroups"]}
    assert groups == {"tg-auth", "tg-tenant", "tg-mdm", "tg-org", "tg-employee",
                      "tg-attendance", "tg-approval"}
    zone = site["zone_id"]
    records = client(moto, "route53").list_resource_record_sets(HostedZoneId=zone)
    [api] = [r for r in records["ResourceRecordSets"]
             if r["Name"].rstrip(".") == "api.mvp.hr.example.com"]
    assert api["Type"] == "A" and api["AliasTarget"]["DNSName"].rstrip(".").endswith(
        alb["DNSName"])


def test_alarms_watch_what_runs(deployed, moto, local_dir):
    cloudwatch = client(moto, "cloudwatch")
    pages = cloudwatch.get_paginator("describe_alarms").paginate()
    live = {a["AlarmName"] for page in pages for a in page["MetricAlarms"]}
    synthesized = json.loads((local_dir / "stacks" / "local-observability" / "cdk.tf.json"
                              ).read_text())["resource"]["aws_cloudwatch_metric_alarm"]
    regional = {a["alarm_name"] for a in synthesized.values() if "provider" not in a}
    # Application Auto Scaling creates (and deletes) the alarms of each target-tracking policy
    # of the scaling layer itself: two per policy, named TargetTracking-<resource>-…
    scaling = {name for name in live if name.startswith("TargetTracking-service/hr-saas-local/")}
    assert len(scaling) == 2 * 2 * len(deployed["local-compute"]["service_names"])
    assert live - scaling == regional
    for service in deployed["local-compute"]["service_names"]:
        assert f"hr-saas-local-{service}-below-desired" in live
    east = boto3.client("cloudwatch", endpoint_url=moto, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")
    assert [a["AlarmName"] for a in east.describe_alarms()["MetricAlarms"]] == [
        "hr-saas-local-global-cloudfront-5xx-rate"]
    assert [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]] == [
        "hr-saas-local"]


def test_a_service_rolls_back_through_its_image_parameter(deployed, runner, moto):
    """Guide §14's rollback, this repository's way (docs/images.md): publish the previous image
    reference to the service's parameter and apply the compute layer."""
    ssm, ecs = client(moto, "ssm"), client(moto, "ecs")
    name = "/hr-saas/local/images/employee-service"
    original = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    repository = original.rsplit(":", 1)[0]
    cluster = deployed["local-compute"]["cluster_name"]

    def running() -> tuple[str, int]:
        [svc] = ecs.describe_services(cluster=cluster, services=["employee-service"])["services"]
        task = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])
        return task["taskDefinition"]["containerDefinitions"][0]["image"], \
            task["taskDefinition"]["revision"]

    _, first_revision = running()
    release = f"{repository}:5d6e7f8"
    scaled = "scaling" not in PLAN_ONLY_LAYERS
    release_stacks = ["local-compute", *(["local-scaling"] if scaled else [])]
    completed = False
    try:
        # Releasing the first image starts the service: a task definition with the image, the
        # service no longer waiting, and (where scaling applies) its autoscaling minimum up.
        ssm.put_parameter(Name=name, Value=release, Overwrite=True)
        outputs = runner.deploy(only=release_stacks)
        assert running()[0] == release
        assert "employee" not in waiting_services(outputs)
        if scaled:
            targets = client(moto, "application-autoscaling").describe_scalable_targets(
                ServiceNamespace="ecs")["ScalableTargets"]
            minimum = {t["ResourceId"].rsplit("/", 1)[1]: t["MinCapacity"] for t in targets}
            assert minimum["employee-service"] == 1 and minimum["auth-service"] == 0
        ssm.put_parameter(Name=name, Value=original, Overwrite=True)  # the rollback
        runner.deploy(only=release_stacks)
        image, revision = running()
        assert image == original and revision > first_revision + 1
        # A moving tag is refused before anything is applied, with the precondition's words.
        ssm.put_parameter(Name=name, Value=f"{repository}:latest", Overwrite=True)
        with pytest.raises(StackFailed, match="employee-service has no released image"):
            runner.deploy(only=["local-compute"])
        assert running()[0] == original
        completed = True
    finally:
        ssm.put_parameter(Name=name, Value=original, Overwrite=True)
        if not completed:  # the re-plan below expects an unreleased service again
            runner.deploy(only=release_stacks)


def test_replan_shows_no_changes_and_saves_plans(deployed, runner, tmp_path_factory):
    plans = tmp_path_factory.mktemp("plans")
    codes = runner.plan(save=True, detailed=True, plans_dir=plans)
    assert codes == {**{s: 0 for s in APPLIED}, **{s: 2 for s in PLANNED_ONLY}}, \
        "drift after apply"
    for stack in deployed:
        shown = json.loads((plans / "local" / f"{stack}.json").read_text())
        changes = [c for c in shown.get("resource_changes", [])
                   if c["change"]["actions"] != ["no-op"]]
        assert changes == [] and (plans / "local" / f"{stack}.tfplan").exists()
        assert "No changes." in (plans / "local" / f"{stack}.txt").read_text()
    # checkov over these real plans: the same gate, suppressions and failure rules.
    reports = tmp_path_factory.mktemp("plan-reports")
    scan = subprocess.run([str(PYTHON), "-m", "hrsaas.gate.checkov", str(plans), "--framework",
                           "terraform_plan", "--reports", str(reports)],
                          cwd=ROOT, env=tool_env(), capture_output=True, text=True, timeout=900)
    assert scan.returncode == 0, scan.stdout[-4000:] + scan.stderr[-2000:]
    verdict = json.loads((reports / "scan_summary.json").read_text())
    assert verdict["ok"] and set(verdict["stacks"]) == set(codes)
    assert all(c["passed"] + c["suppressed"] > 0 for c in verdict["stacks"].values())


def test_messages_reach_exactly_the_subscribed_queues(deployed, moto):
    """Publish to every topic through the emulator: each message arrives on the guide's
    subscribed queues (of the services local runs) and on no other queue."""
    from tests.test_messaging import expected_matrix

    sns, sqs = client(moto, "sns"), client(moto, "sqs")
    queues = deployed["local-messaging"]["queue_urls"]
    for topic, arn in deployed["local-messaging"]["topic_arns"].items():
        sns.publish(TopicArn=arn, Message=json.dumps({"topic": topic}))
    received = set()
    for svc, url in queues.items():
        for _ in range(5):  # drain: long polling may return a subset per call
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", [])
            if not messages:
                break
            for message in messages:
                # raw delivery: the body is the published payload, not an SNS envelope
                received.add((json.loads(message["Body"])["topic"], svc))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert received == expected_matrix("local")


def test_a_message_failing_three_receives_lands_in_the_dlq(deployed, moto):
    sns, sqs = client(moto, "sns"), client(moto, "sqs")
    out = deployed["local-messaging"]
    url = out["queue_urls"]["employee"]
    sns.publish(TopicArn=out["topic_arns"]["appointment-executed"], Message="poison")
    receives = 0
    for _ in range(6):
        messages = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0,
                                       WaitTimeSeconds=1).get("Messages", [])
        receives += len(messages)  # never deleted: the consumer "fails"
    assert receives == 3  # maxReceiveCount
    dlq = sqs.get_queue_url(QueueName="employee-service-dlq")["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in dead] == ["poison"]
    assert "employee-service-dlq" in out["dlq_names"]


def test_generated_secrets_stay_out_of_state(deployed, moto, state_dir):
    sm = client(moto, "secretsmanager")
    values = {}
    for name, key in (("hr-saas/db", "password"), ("hr-saas/jwt", "secret"),
                      ("hr-saas/encryption", "key"), ("hr-saas/redis", "password")):
        values[name] = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])[key]
        assert len(values[name]) >= 32
    assert json.loads(sm.get_secret_value(SecretId="hr-saas/db")["SecretString"])[
        "username"] == "hr_saas_admin"
    s3 = client(moto, "s3")
    bucket = deployed["local-bootstrap"]["state_bucket"]
    states = [("bootstrap", (state_dir / "local" / "bootstrap.tfstate").read_text())]
    for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        states.append((version["Key"], s3.get_object(
            Bucket=bucket, Key=version["Key"],
            VersionId=version["VersionId"])["Body"].read().decode()))
    assert len(states) >= len(APPLIED)
    for name, value in values.items():
        leaked = {key for key, state in states if value in state}
        assert not leaked, f"{name} leaked into state: {sorted(leaked)}"
    # The Redis token is on the group all the same: the deploy runner set it after the cache
    # stack applied (hrsaas/runner/redis_auth.py) and recorded that, without the value.
    record = json.loads(client(moto, "ssm").get_parameter(
        Name="/hr-saas/local/cache/auth-token-applied")["Parameter"]["Value"])
    assert record["phase"] == "required" and record["replication_group_id"] == "hr-saas-local-cache"
    assert values["hr-saas/redis"] not in json.dumps(record)


def test_the_guard_refuses_a_real_plan_that_destroys_the_database(deployed, runner,
                                                                  tmp_path_factory):
    """prod's guard (hrsaas/runner/guard.py) over a real plan from the emulator: destroying the data
    layer would take the database with it."""
    from hrsaas.runner.guard import destructive_changes, explain

    plan = tmp_path_factory.mktemp("guard") / "destroy.tfplan"
    runner.run("local-data", "plan", "plan", "-destroy", "-input=false", "-no-color",
               f"-out={plan}")
    shown = json.loads(runner.run("local-data", "show", "show", "-json", str(plan)).stdout)
    found = destructive_changes(shown)
    assert [f.kind for f in found] == ["aws_db_instance"]
    assert "would be destroyed" in explain([str(f) for f in found])
    assert destructive_changes(shown, {found[0].address}) == []


def test_destroy_leaves_nothing(deployed, runner, moto, local_dir, state_dir):
    runner.destroy()
    # Reverse order for real: a stack goes only after every stack that depends on it is gone,
    # two at a time where the graph allows; bootstrap (the state bucket) last.
    destroyed = runner.last_result
    assert {s: r.status for s, r in destroyed.results.items()} == {
        **dict.fromkeys(APPLIED, "destroyed"), **dict.fromkeys(PLANNED_ONLY, "nothing to destroy")}
    graph = stack_graph("local", local_dir)
    order = [(e.kind, e.stack) for e in destroyed.events]
    for stack in graph.order:
        for dependency in graph.deps[stack]:
            assert order.index(("end", stack)) < order.index(("start", dependency)), (
                stack, dependency, order)
    assert order[-2:] == [("start", "local-bootstrap"), ("end", "local-bootstrap")]
    assert running_together(destroyed) == PARALLELISM, order
    # One runner, one `terraform init` per stack for the deploy, the re-deploys, the re-plan and
    # the destroy (the runner reuses a stack's initialisation while its configuration holds).
    log = (state_dir / "local" / "terraform.log").read_text()
    inits = Counter(re.findall(r"^\[(local-[a-z]+)\] \$ terraform init ", log, re.M))
    assert inits == dict.fromkeys(APPLIED, 1), inits
    ec2 = client(moto, "ec2")
    assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    assert ec2.describe_addresses()["Addresses"] == []
    live_nats = [n for n in ec2.describe_nat_gateways()["NatGateways"]
                 if n["State"] != "deleted"]
    assert live_nats == []
    assert client(moto, "s3").list_buckets()["Buckets"] == []
    assert client(moto, "dynamodb").list_tables()["TableNames"] == []
    assert client(moto, "logs").describe_log_groups()["logGroups"] == []
    roles = [r["RoleName"] for r in client(moto, "iam").list_roles()["Roles"]
             if r["RoleName"].startswith("hr-saas-")]
    assert roles == []
    assert client(moto, "rds").describe_db_instances()["DBInstances"] == []
    assert client(moto, "secretsmanager").list_secrets()["SecretList"] == []
    assert client(moto, "sns").list_topics()["Topics"] == []
    assert client(moto, "sqs").list_queues().get("QueueUrls", []) == []
    assert client(moto, "ecr").describe_repositories()["repositories"] == []
    assert client(moto, "elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert client(moto, "elbv2").describe_target_groups()["TargetGroups"] == []
    ecs = client(moto, "ecs")
    clusters = ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
    assert [c["clusterName"] for c in clusters if c["status"] == "ACTIVE"] == []
    assert client(moto, "ssm").describe_parameters()["Parameters"] == []
    assert client(moto, "cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert client(moto, "cloudwatch").list_dashboards()["DashboardEntries"] == []
    assert client(moto, "route53").list_hosted_zones()["HostedZones"] == []
    assert client(moto, "acm").list_certificates()["CertificateSummaryList"] == []
    assert client(moto, "cloudfront").list_distributions()["DistributionList"].get(
        "Items", []) == []
