"""The project's emulator extensions (hrsaas/emulator/extensions/): each gap they close, tested
through boto3 against a moto server started by the project launcher — the same server
`make deploy ENV=local` and the round trip use — for the behaviour the AWS API reference
documents: create/describe/delete, the documented errors, idempotency."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from hrsaas.emulator import server

pytestmark = pytest.mark.emulator

REGION = "ap-northeast-2"
ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def moto_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gaps") / "moto.log"


@pytest.fixture(scope="module")
def endpoint(moto_log: Path) -> Iterator[str]:
    """A moto server of this module, started by the project launcher, stopped by PID."""
    emulator = server.start(f"http://127.0.0.1:{server.free_port()}", moto_log)
    assert emulator.process is not None
    try:
        yield emulator.endpoint
    finally:
        emulator.stop()


def client(endpoint: str, service: str):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_the_launcher_installs_every_extension(endpoint, moto_log):
    installed = moto_log.read_text().splitlines()[0]
    for name in ("application_autoscaling", "backup", "elasticache", "s3_versions", "sqs"):
        assert name in installed, installed


# --- Application Auto Scaling: tags on scalable targets ----------------------------------------

@pytest.fixture(scope="module")
def ecs_service(endpoint) -> str:
    """An ECS service to scale (moto checks that it exists): its resource ID."""
    ecs = client(endpoint, "ecs")
    ecs.create_cluster(clusterName="gaps")
    task = ecs.register_task_definition(family="gaps", containerDefinitions=[
        {"name": "app", "image": "nginx", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    for name in ("one", "two"):
        ecs.create_service(cluster="gaps", serviceName=name, taskDefinition=task,
                           desiredCount=1)
    return "service/gaps/one"


def register(aas, resource_id: str, **extra) -> str:
    return aas.register_scalable_target(
        ServiceNamespace="ecs", ResourceId=resource_id,
        ScalableDimension="ecs:service:DesiredCount", MinCapacity=1, MaxCapacity=4,
        **extra)["ScalableTargetARN"]


def test_scalable_target_tags_on_register_list_tag_untag(endpoint, ecs_service):
    aas = client(endpoint, "application-autoscaling")
    arn = register(aas, ecs_service, Tags={"Environment": "local", "Layer": "scaling"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "Environment": "local", "Layer": "scaling"}
    aas.tag_resource(ResourceARN=arn, Tags={"Layer": "compute", "Owner": "hr"})
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "Environment": "local", "Layer": "compute", "Owner": "hr"}
    aas.untag_resource(ResourceARN=arn, TagKeys=["Owner", "not-there"])
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {
        "Environment": "local", "Layer": "compute"}
    # Registering again updates the target; Tags apply on creation only (API reference).
    assert register(aas, ecs_service, Tags={"Other": "x"}) == arn
    assert "Other" not in aas.list_tags_for_resource(ResourceARN=arn)["Tags"]
    # Deregistering drops the target and its tags.
    aas.deregister_scalable_target(ServiceNamespace="ecs", ResourceId=ecs_service,
                                   ScalableDimension="ecs:service:DesiredCount")
    with pytest.raises(ClientError) as gone:
        aas.list_tags_for_resource(ResourceARN=arn)
    assert error_code(gone) == "ResourceNotFoundException"


def test_scalable_target_tagging_errors(endpoint, ecs_service):
    aas = client(endpoint, "application-autoscaling")
    arn = register(aas, "service/gaps/two")
    missing = f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/0abc"
    for call in (lambda: aas.list_tags_for_resource(ResourceARN=missing),
                 lambda: aas.tag_resource(ResourceARN=missing, Tags={"a": "b"}),
                 lambda: aas.untag_resource(ResourceARN=missing, TagKeys=["a"])):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as not_a_target:  # only scalable targets are taggable
        aas.list_tags_for_resource(ResourceARN=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/x")
    assert error_code(not_a_target) == "ValidationException"
    with pytest.raises(ClientError) as reserved:
        aas.tag_resource(ResourceARN=arn, Tags={"aws:owner": "me"})
    assert error_code(reserved) == "ValidationException"
    with pytest.raises(ClientError) as too_many:
        aas.tag_resource(ResourceARN=arn, Tags={f"k{i}": "v" for i in range(51)})
    assert error_code(too_many) == "TooManyTagsException"
    assert aas.list_tags_for_resource(ResourceARN=arn)["Tags"] == {}


# --- AWS Backup: selections, recovery points, tag reads ------------------------------------------

@pytest.fixture()
def backup_plan(endpoint) -> Iterator[tuple[str, str]]:
    """(plan ID, vault name) of a fresh plan."""
    backup = client(endpoint, "backup")
    vault = unique("vault")
    backup.create_backup_vault(BackupVaultName=vault, BackupVaultTags={"Layer": "backup"})
    plan = backup.create_backup_plan(BackupPlan={
        "BackupPlanName": unique("plan"),
        "Rules": [{"RuleName": "daily", "TargetBackupVaultName": vault,
                   "ScheduleExpression": "cron(0 18 * * ? *)"}]})["BackupPlanId"]
    yield plan, vault


def selection(name: str = "data", **extra) -> dict:
    return {"SelectionName": name, "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup",
            "Resources": [f"arn:aws:rds:{REGION}:{ACCOUNT}:db:hr-saas", "arn:aws:s3:::files"],
            **extra}


def test_backup_selection_create_get_list_delete(endpoint, backup_plan):
    backup = client(endpoint, "backup")
    plan, _ = backup_plan
    created = backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection())
    assert created["BackupPlanId"] == plan and created["SelectionId"]
    got = backup.get_backup_selection(BackupPlanId=plan, SelectionId=created["SelectionId"])
    assert got["BackupSelection"] == {
        **selection(), "ListOfTags": [], "NotResources": [],
        "Conditions": {"StringEquals": [], "StringNotEquals": [], "StringLike": [],
                       "StringNotLike": []}}
    listed = backup.list_backup_selections(BackupPlanId=plan)["BackupSelectionsList"]
    assert [(s["SelectionId"], s["SelectionName"]) for s in listed] == [
        (created["SelectionId"], "data")]
    backup.delete_backup_selection(BackupPlanId=plan, SelectionId=created["SelectionId"])
    assert backup.list_backup_selections(BackupPlanId=plan)["BackupSelectionsList"] == []
    with pytest.raises(ClientError) as gone:
        backup.get_backup_selection(BackupPlanId=plan, SelectionId=created["SelectionId"])
    assert error_code(gone) == "ResourceNotFoundException"


def test_backup_selection_is_idempotent_by_creator_request_id(endpoint, backup_plan):
    backup = client(endpoint, "backup")
    plan, _ = backup_plan
    first = backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection(),
                                           CreatorRequestId="retry-1")
    again = backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection(),
                                           CreatorRequestId="retry-1")
    assert again["SelectionId"] == first["SelectionId"]
    assert len(backup.list_backup_selections(BackupPlanId=plan)["BackupSelectionsList"]) == 1
    # Without the token, the same name is a second selection: refused.
    with pytest.raises(ClientError) as exists:
        backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection())
    assert error_code(exists) == "AlreadyExistsException"


def test_backup_selections_are_paginated(endpoint, backup_plan):
    backup = client(endpoint, "backup")
    plan, _ = backup_plan
    created = {backup.create_backup_selection(
        BackupPlanId=plan, BackupSelection=selection(f"s{i}"))["SelectionId"] for i in range(5)}
    pages = list(backup.get_paginator("list_backup_selections").paginate(
        BackupPlanId=plan, PaginationConfig={"PageSize": 2}))
    assert [len(p["BackupSelectionsList"]) for p in pages] == [2, 2, 1]
    assert {s["SelectionId"] for p in pages for s in p["BackupSelectionsList"]} == created


def test_backup_selection_errors(endpoint, backup_plan):
    backup = client(endpoint, "backup")
    plan, _ = backup_plan
    with pytest.raises(ClientError) as empty:
        backup.create_backup_selection(BackupPlanId=plan, BackupSelection={
            "SelectionName": "nothing", "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup"})
    assert error_code(empty) == "InvalidParameterValueException"
    assert "Either 'ListOfTags' or 'Resources'" in str(empty.value)
    with pytest.raises(ClientError) as bad_name:
        backup.create_backup_selection(BackupPlanId=plan,
                                       BackupSelection=selection("no spaces allowed"))
    assert error_code(bad_name) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as no_plan:
        backup.get_backup_selection(BackupPlanId="no-such-plan", SelectionId="x")
    assert error_code(no_plan) == "InvalidParameterValueException"
    assert "Cannot find Backup plan" in str(no_plan.value)  # what the provider treats as gone
    with pytest.raises(ClientError) as no_plan_create:
        backup.create_backup_selection(BackupPlanId="no-such-plan", BackupSelection=selection())
    assert error_code(no_plan_create) == "InvalidParameterValueException"


def test_a_plan_with_selections_cannot_be_deleted(endpoint, backup_plan):
    backup = client(endpoint, "backup")
    plan, _ = backup_plan
    created = backup.create_backup_selection(BackupPlanId=plan, BackupSelection=selection())
    with pytest.raises(ClientError) as refused:
        backup.delete_backup_plan(BackupPlanId=plan)
    assert error_code(refused) == "InvalidRequestException"
    assert "selections must be deleted prior to backup plan deletion" in str(refused.value)
    backup.delete_backup_selection(BackupPlanId=plan, SelectionId=created["SelectionId"])
    assert backup.delete_backup_plan(BackupPlanId=plan)["BackupPlanId"] == plan


def test_backup_recovery_points_and_tags_of_a_vault(endpoint, backup_plan):
    backup = client(endpoint, "backup")
    _, vault = backup_plan
    assert backup.list_recovery_points_by_backup_vault(
        BackupVaultName=vault)["RecoveryPoints"] == []  # moto runs no backup jobs
    with pytest.raises(ClientError) as missing:
        backup.list_recovery_points_by_backup_vault(BackupVaultName="no-such-vault")
    assert error_code(missing) == "ResourceNotFoundException"
    arn = backup.describe_backup_vault(BackupVaultName=vault)["BackupVaultArn"]
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"Layer": "backup"}


def test_backup_tags_read_without_the_trailing_slash(endpoint, backup_plan):
    """The Go SDK (the AWS provider) calls GET /tags/{arn} without the model's trailing slash;
    moto answered it with no tags, which showed as tags_all drift on every vault and plan."""
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    _, vault = backup_plan
    arn = client(endpoint, "backup").describe_backup_vault(
        BackupVaultName=vault)["BackupVaultArn"]
    request = AWSRequest(method="GET", url=f"{endpoint}/tags/{arn}")
    SigV4Auth(Credentials("test", "test"), "backup", REGION).add_auth(request)
    with urllib.request.urlopen(urllib.request.Request(
            request.url, headers=dict(request.headers))) as answer:
        assert json.loads(answer.read())["Tags"] == {"Layer": "backup"}


# --- SQS: redrive-allow policy, compact redrive policy ------------------------------------------

def queue(sqs, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    return url, arn


def test_redrive_allow_policy_is_kept_and_returned(endpoint):
    sqs = client(endpoint, "sqs")
    dlq_url, _ = queue(sqs, unique("dlq"))
    _, source_arn = queue(sqs, unique("source"))
    policy = {"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]}
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={
        "RedriveAllowPolicy": json.dumps(policy, indent=2)})
    for names in (["RedriveAllowPolicy"], ["All"]):
        attributes = sqs.get_queue_attributes(QueueUrl=dlq_url,
                                              AttributeNames=names)["Attributes"]
        assert attributes["RedriveAllowPolicy"] == json.dumps(policy, separators=(",", ":"))
    # Setting the same policy again is a no-op; an empty value removes it.
    sqs.set_queue_attributes(QueueUrl=dlq_url,
                             Attributes={"RedriveAllowPolicy": json.dumps(policy)})
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": ""})
    assert "RedriveAllowPolicy" not in sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    # At creation too.
    url, _ = queue(sqs, unique("born-with"), RedriveAllowPolicy='{"redrivePermission":"denyAll"}')
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedriveAllowPolicy"])[
        "Attributes"] == {"RedriveAllowPolicy": '{"redrivePermission":"denyAll"}'}


@pytest.mark.parametrize("policy", [
    "not json",
    '{"redrivePermission":"everyone"}',
    '{"redrivePermission":"byQueue"}',
    '{"redrivePermission":"byQueue","sourceQueueArns":[]}',
    '{"redrivePermission":"allowAll","sourceQueueArns":["arn:aws:sqs:ap-northeast-2:1:q"]}',
    json.dumps({"redrivePermission": "byQueue",
                "sourceQueueArns": [f"arn:aws:sqs:{REGION}:{ACCOUNT}:q{i}" for i in range(11)]}),
])
def test_an_invalid_redrive_allow_policy_is_refused(endpoint, policy):
    sqs = client(endpoint, "sqs")
    url, _ = queue(sqs, unique("dlq"))
    with pytest.raises(ClientError) as refused:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": policy})
    assert error_code(refused) == "InvalidAttributeValue"


def test_the_dead_letter_queue_decides_which_sources_may_use_it(endpoint):
    sqs = client(endpoint, "sqs")
    dlq_url, dlq_arn = queue(sqs, unique("dlq"))
    allowed_name, other_name = unique("allowed"), unique("other")
    allowed_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{allowed_name}"
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={"RedriveAllowPolicy": json.dumps(
        {"redrivePermission": "byQueue", "sourceQueueArns": [allowed_arn]})})
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    url, _ = queue(sqs, allowed_name, RedrivePolicy=redrive)
    # Read back as AWS writes it: compact, maxReceiveCount a number.
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])[
        "Attributes"]["RedrivePolicy"] == (
        f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":3}}')
    with pytest.raises(ClientError) as refused:
        queue(sqs, other_name, RedrivePolicy=redrive)
    assert error_code(refused) == "InvalidParameterValue"
    sqs.set_queue_attributes(QueueUrl=dlq_url, Attributes={
        "RedriveAllowPolicy": '{"redrivePermission":"denyAll"}'})
    other_url, _ = queue(sqs, other_name)
    with pytest.raises(ClientError) as denied:
        sqs.set_queue_attributes(QueueUrl=other_url, Attributes={"RedrivePolicy": redrive})
    assert error_code(denied) == "InvalidParameterValue"


def test_setting_one_attribute_keeps_the_access_policy(endpoint):
    sqs = client(endpoint, "sqs")
    url, arn = queue(sqs, unique("with-policy"))
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": arn}]})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "RedriveAllowPolicy": '{"redrivePermission":"allowAll"}', "VisibilityTimeout": "60"})
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["Policy"]) == json.loads(policy)
    assert attributes["VisibilityTimeout"] == "60"


# --- ElastiCache: parameter groups, subnet groups, replication groups ----------------------------

@pytest.fixture(scope="module")
def subnets(endpoint) -> tuple[list[str], str]:
    ec2 = client(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    ids = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.7.{i}.0/24",
                             AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
           for i, zone in ((1, "a"), (2, "c"))]
    group = ec2.create_security_group(GroupName="redis", Description="redis",
                                      VpcId=vpc)["GroupId"]
    return ids, group


def test_parameter_group_lifecycle(endpoint):
    cache = client(endpoint, "elasticache")
    name = unique("Params")  # AWS stores names lower-cased
    created = cache.create_cache_parameter_group(
        CacheParameterGroupName=name, CacheParameterGroupFamily="redis7",
        Description="hr-saas redis7", Tags=[{"Key": "Layer", "Value": "cache"}])
    group = created["CacheParameterGroup"]
    assert group["CacheParameterGroupName"] == name.lower()
    assert group["CacheParameterGroupFamily"] == "redis7"
    assert group["ARN"] == f"arn:aws:elasticache:{REGION}:{ACCOUNT}:parametergroup:{name.lower()}"
    assert cache.describe_cache_parameter_groups(CacheParameterGroupName=name)[
        "CacheParameterGroups"] == [group | {"IsGlobal": False}]
    names = {g["CacheParameterGroupName"]
             for g in cache.describe_cache_parameter_groups()["CacheParameterGroups"]}
    assert {name.lower(), "default.redis7", "default.redis7.cluster.on"} <= names
    assert cache.list_tags_for_resource(ResourceName=group["ARN"])["TagList"] == [
        {"Key": "Layer", "Value": "cache"}]

    cache.modify_cache_parameter_group(CacheParameterGroupName=name, ParameterNameValues=[
        {"ParameterName": "cluster-enabled", "ParameterValue": "no"},
        {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}])
    user = cache.describe_cache_parameters(CacheParameterGroupName=name, Source="user")
    assert {(p["ParameterName"], p["ParameterValue"], p["Source"])
            for p in user["Parameters"]} == {("cluster-enabled", "no", "user"),
                                             ("maxmemory-policy", "allkeys-lru", "user")}
    cache.reset_cache_parameter_group(CacheParameterGroupName=name, ParameterNameValues=[
        {"ParameterName": "maxmemory-policy"}])
    assert [p["ParameterName"] for p in cache.describe_cache_parameters(
        CacheParameterGroupName=name)["Parameters"]] == ["cluster-enabled"]
    cache.reset_cache_parameter_group(CacheParameterGroupName=name, ResetAllParameters=True,
                                      ParameterNameValues=[])
    assert cache.describe_cache_parameters(CacheParameterGroupName=name)["Parameters"] == []

    cache.delete_cache_parameter_group(CacheParameterGroupName=name)
    with pytest.raises(ClientError) as gone:
        cache.describe_cache_parameter_groups(CacheParameterGroupName=name)
    assert error_code(gone) == "CacheParameterGroupNotFound"


def test_parameter_groups_are_paginated(endpoint):
    cache = client(endpoint, "elasticache")
    for _ in range(25):
        cache.create_cache_parameter_group(CacheParameterGroupName=unique("page"),
                                           CacheParameterGroupFamily="redis7", Description="x")
    everything = cache.describe_cache_parameter_groups()["CacheParameterGroups"]
    first = cache.describe_cache_parameter_groups(MaxRecords=20)
    assert len(first["CacheParameterGroups"]) == 20 and first["Marker"]
    pages = list(cache.get_paginator("describe_cache_parameter_groups").paginate(
        PaginationConfig={"PageSize": 20}))
    assert [g for p in pages for g in p["CacheParameterGroups"]] == everything


def test_parameter_group_errors(endpoint):
    cache = client(endpoint, "elasticache")
    name = unique("params")
    cache.create_cache_parameter_group(CacheParameterGroupName=name,
                                       CacheParameterGroupFamily="redis7", Description="x")
    cases = [
        (lambda: cache.create_cache_parameter_group(
            CacheParameterGroupName=name, CacheParameterGroupFamily="redis7", Description="x"),
         "CacheParameterGroupAlreadyExists"),
        (lambda: cache.create_cache_parameter_group(
            CacheParameterGroupName=unique("p"), CacheParameterGroupFamily="redis99",
            Description="x"), "InvalidParameterValue"),
        (lambda: cache.create_cache_parameter_group(
            CacheParameterGroupName="bad--name", CacheParameterGroupFamily="redis7",
            Description="x"), "InvalidParameterValue"),
        (lambda: cache.modify_cache_parameter_group(
            CacheParameterGroupName="default.redis7", ParameterNameValues=[
                {"ParameterName": "timeout", "ParameterValue": "10"}]),
         "InvalidCacheParameterGroupState"),
        (lambda: cache.modify_cache_parameter_group(
            CacheParameterGroupName=name, ParameterNameValues=[
                {"ParameterName": f"p{i}", "ParameterValue": "1"} for i in range(21)]),
         "InvalidParameterValue"),
        (lambda: cache.reset_cache_parameter_group(
            CacheParameterGroupName=name, ResetAllParameters=True,
            ParameterNameValues=[{"ParameterName": "timeout"}]), "InvalidParameterCombination"),
        (lambda: cache.delete_cache_parameter_group(CacheParameterGroupName="default.redis7"),
         "InvalidCacheParameterGroupState"),
        (lambda: cache.delete_cache_parameter_group(CacheParameterGroupName=unique("none")),
         "CacheParameterGroupNotFound"),
        (lambda: cache.describe_cache_parameters(CacheParameterGroupName=unique("none")),
         "CacheParameterGroupNotFound"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == code


def create_group(cache, subnets, **extra) -> tuple[str, str, str]:
    """A replication group shaped like the cache layer's: (its ID, parameter group, subnet
    group)."""
    subnet_ids, security_group = subnets
    group_id = unique("rg")
    params, subnet_group = f"{group_id}-redis7", f"{group_id}-subnets"
    cache.create_cache_subnet_group(CacheSubnetGroupName=subnet_group,
                                    CacheSubnetGroupDescription="private-data subnets",
                                    SubnetIds=subnet_ids)
    cache.create_cache_parameter_group(CacheParameterGroupName=params,
                                       CacheParameterGroupFamily="redis7", Description="x")
    cache.modify_cache_parameter_group(CacheParameterGroupName=params, ParameterNameValues=[
        {"ParameterName": "cluster-enabled", "ParameterValue": "no"}])
    cache.create_replication_group(
        ReplicationGroupId=group_id, ReplicationGroupDescription="hr-saas cache",
        Engine="redis", EngineVersion="7.1", CacheNodeType="cache.t3.micro", Port=6379,
        CacheParameterGroupName=params, CacheSubnetGroupName=subnet_group,
        SecurityGroupIds=[security_group], TransitEncryptionEnabled=True,
        TransitEncryptionMode="required", AtRestEncryptionEnabled=True,
        AuthToken="0123456789abcdef0123456789abcdef", SnapshotRetentionLimit=1,
        SnapshotWindow="16:00-17:00", PreferredMaintenanceWindow="sun:19:30-sun:20:30",
        AutoMinorVersionUpgrade=True, **extra)
    return group_id, params, subnet_group


def test_replication_group_members_are_cache_clusters(endpoint, subnets):
    cache = client(endpoint, "elasticache")
    group_id, params, subnet_group = create_group(cache, subnets, NumCacheClusters=2,
                                                  AutomaticFailoverEnabled=True,
                                                  MultiAZEnabled=True)
    [group] = cache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"]
    assert group["MemberClusters"] == [f"{group_id}-001", f"{group_id}-002"]
    [node_group] = group["NodeGroups"]
    assert node_group["PrimaryEndpoint"]["Port"] == 6379
    assert node_group["ReaderEndpoint"]["Address"].startswith("replica.")
    assert [m["CurrentRole"] for m in node_group["NodeGroupMembers"]] == ["primary", "replica"]
    # What the provider reads of the group from its first member (DescribeCacheClusters).
    [member] = cache.describe_cache_clusters(CacheClusterId=f"{group_id}-001",
                                             ShowCacheNodeInfo=True)["CacheClusters"]
    assert member["ReplicationGroupId"] == group_id
    assert member["EngineVersion"] == "7.1.0"
    assert member["CacheParameterGroup"]["CacheParameterGroupName"] == params
    assert member["CacheSubnetGroupName"] == subnet_group
    assert member["SecurityGroups"] == [{"SecurityGroupId": subnets[1], "Status": "active"}]
    assert member["PreferredMaintenanceWindow"] == "sun:19:30-sun:20:30"
    assert member["AtRestEncryptionEnabled"] and member["TransitEncryptionEnabled"]
    assert member["TransitEncryptionMode"] == "required" and member["AuthTokenEnabled"]
    assert member["CacheNodes"][0]["Endpoint"]["Port"] == 6379
    [brief] = cache.describe_cache_clusters(CacheClusterId=f"{group_id}-002")["CacheClusters"]
    assert "CacheNodes" not in brief  # only with ShowCacheNodeInfo
    standalone = cache.describe_cache_clusters(ShowCacheClustersNotInReplicationGroups=True)
    assert not [c for c in standalone["CacheClusters"] if c.get("ReplicationGroupId")]

    # In use: the subnet group and the parameter group cannot be deleted.
    with pytest.raises(ClientError) as subnet_in_use:
        cache.delete_cache_subnet_group(CacheSubnetGroupName=subnet_group)
    assert error_code(subnet_in_use) == "CacheSubnetGroupInUse"
    with pytest.raises(ClientError) as params_in_use:
        cache.delete_cache_parameter_group(CacheParameterGroupName=params)
    assert error_code(params_in_use) == "InvalidCacheParameterGroupState"

    # Deleting answers "deleting"; then the group and its clusters are gone.
    deleting = cache.delete_replication_group(ReplicationGroupId=group_id)
    assert deleting["ReplicationGroup"]["Status"] == "deleting"
    with pytest.raises(ClientError) as gone:
        cache.describe_replication_groups(ReplicationGroupId=group_id)
    assert error_code(gone) == "ReplicationGroupNotFoundFault"
    with pytest.raises(ClientError) as member_gone:
        cache.describe_cache_clusters(CacheClusterId=f"{group_id}-001")
    assert error_code(member_gone) == "CacheClusterNotFound"
    cache.delete_cache_subnet_group(CacheSubnetGroupName=subnet_group)
    cache.delete_cache_parameter_group(CacheParameterGroupName=params)
    with pytest.raises(ClientError) as subnet_gone:
        cache.delete_cache_subnet_group(CacheSubnetGroupName=subnet_group)
    assert error_code(subnet_gone) == "CacheSubnetGroupNotFoundFault"


def test_replication_group_checks_what_it_references(endpoint, subnets):
    cache = client(endpoint, "elasticache")
    base = {"ReplicationGroupDescription": "x", "Engine": "redis", "EngineVersion": "7.1",
            "CacheNodeType": "cache.t3.micro", "NumCacheClusters": 1}
    with pytest.raises(ClientError) as no_params:
        cache.create_replication_group(ReplicationGroupId=unique("rg"),
                                       CacheParameterGroupName=unique("none"), **base)
    assert error_code(no_params) == "CacheParameterGroupNotFound"
    with pytest.raises(ClientError) as no_subnets:
        cache.create_replication_group(ReplicationGroupId=unique("rg"),
                                       CacheSubnetGroupName=unique("none"), **base)
    assert error_code(no_subnets) == "CacheSubnetGroupNotFoundFault"
    old = unique("redis6")
    cache.create_cache_parameter_group(CacheParameterGroupName=old,
                                       CacheParameterGroupFamily="redis6.x", Description="x")
    with pytest.raises(ClientError) as wrong_family:
        cache.create_replication_group(ReplicationGroupId=unique("rg"),
                                       CacheParameterGroupName=old, **base)
    assert error_code(wrong_family) == "InvalidParameterCombination"
    # Without a parameter group: the engine's default group.
    group_id = unique("rg")
    cache.create_replication_group(ReplicationGroupId=group_id, **base)
    [member] = cache.describe_cache_clusters(CacheClusterId=f"{group_id}-001")["CacheClusters"]
    assert member["CacheParameterGroup"]["CacheParameterGroupName"] == "default.redis7"
    cache.delete_replication_group(ReplicationGroupId=group_id)


def test_replication_group_modify_reaches_the_members(endpoint, subnets):
    cache = client(endpoint, "elasticache")
    group_id, params, subnet_group = create_group(cache, subnets, NumCacheClusters=1)
    other = unique("other-redis7")
    cache.create_cache_parameter_group(CacheParameterGroupName=other,
                                       CacheParameterGroupFamily="redis7", Description="x")
    with pytest.raises(ClientError) as nothing:
        cache.modify_replication_group(ReplicationGroupId=group_id, ApplyImmediately=True)
    assert error_code(nothing) == "InvalidParameterCombination"
    assert "No modifications were requested" in str(nothing.value)
    cache.modify_replication_group(
        ReplicationGroupId=group_id, ApplyImmediately=True, CacheParameterGroupName=other,
        PreferredMaintenanceWindow="mon:01:00-mon:02:00", SnapshotWindow="03:00-04:00",
        AuthToken="fedcba9876543210fedcba9876543210", AuthTokenUpdateStrategy="ROTATE")
    [group] = cache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"]
    assert group["SnapshotWindow"] == "03:00-04:00" and group["AuthTokenEnabled"]
    [member] = cache.describe_cache_clusters(CacheClusterId=f"{group_id}-001")["CacheClusters"]
    assert member["CacheParameterGroup"]["CacheParameterGroupName"] == other
    assert member["PreferredMaintenanceWindow"] == "mon:01:00-mon:02:00"
    # The final snapshot is taken before the group goes.
    snapshot = unique("final")
    cache.delete_replication_group(ReplicationGroupId=group_id,
                                   FinalSnapshotIdentifier=snapshot)
    assert cache.describe_snapshots(SnapshotName=snapshot)["Snapshots"][0][
        "ReplicationGroupId"] == group_id


def test_cache_subnet_group_modify(endpoint, subnets):
    cache = client(endpoint, "elasticache")
    name = unique("subnets")
    cache.create_cache_subnet_group(CacheSubnetGroupName=name,
                                    CacheSubnetGroupDescription="one",
                                    SubnetIds=subnets[0][:1])
    modified = cache.modify_cache_subnet_group(CacheSubnetGroupName=name,
                                               CacheSubnetGroupDescription="two",
                                               SubnetIds=subnets[0])["CacheSubnetGroup"]
    assert modified["CacheSubnetGroupDescription"] == "two"
    assert sorted(s["SubnetIdentifier"] for s in modified["Subnets"]) == sorted(subnets[0])
    with pytest.raises(ClientError) as missing:
        cache.modify_cache_subnet_group(CacheSubnetGroupName=unique("none"),
                                        CacheSubnetGroupDescription="x")
    assert error_code(missing) == "CacheSubnetGroupNotFoundFault"
    cache.delete_cache_subnet_group(CacheSubnetGroupName=name)


# --- S3: a versioning-suspended bucket with delete markers can be emptied (s3_versions) --------

def test_the_served_emulator_empties_a_suspended_bucket_with_delete_markers(endpoint):
    """What a Terraform destroy of the state bucket does through the server: versioning is
    suspended, then force_destroy deletes every version and delete marker by ID (moto alone
    answered 500 and the bucket could not be destroyed)."""
    s3 = client(endpoint, "s3")
    bucket = unique("tfstate")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for _ in range(2):  # each released lock leaves a delete marker
        s3.put_object(Bucket=bucket, Key="local/data/terraform.tfstate.tflock", Body=b"lock")
        s3.delete_object(Bucket=bucket, Key="local/data/terraform.tfstate.tflock")
    s3.put_object(Bucket=bucket, Key="local/data/terraform.tfstate", Body=b"{}")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    listed = s3.list_object_versions(Bucket=bucket)
    assert len(listed["DeleteMarkers"]) == 2
    objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
               for v in listed["Versions"] + listed["DeleteMarkers"]]
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert "Errors" not in answer and len(answer["Deleted"]) == 5
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
