"""boto3-level tests of the emulator extensions (``hrsaas/emulator/extensions``): each checks the
documented AWS behaviour the extension adds to moto, in-process (``mock_aws``), so they run in the
unit tier without terraform or a server. Written so they could move upstream with the extension
(moto's own tests are shaped the same way)."""

from __future__ import annotations

import pkgutil
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from hrsaas.emulator import extensions, launch, server
from hrsaas.emulator.extensions import rds_certificates

REGION = "ap-northeast-2"


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    rds_certificates.install()
    rds_certificates.install()  # idempotent: the launcher and a test may both install it


@pytest.fixture
def rds() -> Iterator[object]:
    with mock_aws():
        yield boto3.client("rds", region_name=REGION, aws_access_key_id="test",
                           aws_secret_access_key="test")


def create_instance(rds, name: str, **extra) -> dict:
    return rds.create_db_instance(
        DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
        EngineVersion="15", AllocatedStorage=20, MasterUsername="admin_user",
        MasterUserPassword="not-a-real-password-1", **extra)["DBInstance"]


def ca_of(rds, name: str) -> str:
    [instance] = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
    return instance["CACertificateIdentifier"]


# --- RDS: the default CA for new launches (rds_certificates) -----------------------------------


def test_a_new_instance_without_a_ca_gets_the_regions_default(rds):
    created = create_instance(rds, "db-default")
    assert created["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert ca_of(rds, "db-default") == "rds-ca-rsa2048-g1"


def test_an_explicit_ca_is_kept(rds):
    create_instance(rds, "db-explicit", CACertificateIdentifier="rds-ca-ecc384-g1")
    assert ca_of(rds, "db-explicit") == "rds-ca-ecc384-g1"


def test_describe_certificates_names_the_default_for_new_launches(rds):
    answer = rds.describe_certificates()
    assert answer["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    ids = [c["CertificateIdentifier"] for c in answer["Certificates"]]
    assert ids == ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"]
    for cert in answer["Certificates"]:
        assert cert["CertificateType"] == "CA"
        arn = f"arn:aws:rds:{REGION}::cert:{cert['CertificateIdentifier']}"
        assert cert["CertificateArn"] == arn
        assert cert["CustomerOverride"] is False


def test_describe_certificates_selects_one_and_refuses_an_unknown_one(rds):
    [cert] = rds.describe_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")["Certificates"]
    assert cert["CertificateIdentifier"] == "rds-ca-rsa4096-g1"
    with pytest.raises(ClientError) as caught:
        rds.describe_certificates(CertificateIdentifier="rds-ca-2015")
    assert caught.value.response["Error"]["Code"] == "CertificateNotFound"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_an_account_override_becomes_the_default_until_it_is_removed(rds):
    cert = rds.modify_certificates(CertificateIdentifier="rds-ca-rsa4096-g1")["Certificate"]
    assert cert["CertificateIdentifier"] == "rds-ca-rsa4096-g1"
    assert cert["CustomerOverride"] is True
    assert rds.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa4096-g1"
    create_instance(rds, "db-overridden")
    assert ca_of(rds, "db-overridden") == "rds-ca-rsa4096-g1"

    removed = rds.modify_certificates(RemoveCustomerOverride=True)["Certificate"]
    assert removed["CertificateIdentifier"] == "rds-ca-rsa4096-g1"
    assert removed["CustomerOverride"] is False
    assert rds.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"
    create_instance(rds, "db-after")
    assert ca_of(rds, "db-after") == "rds-ca-rsa2048-g1"
    # Instances keep the CA they were created with.
    assert ca_of(rds, "db-overridden") == "rds-ca-rsa4096-g1"


def test_the_override_is_per_region(rds):
    rds.modify_certificates(CertificateIdentifier="rds-ca-ecc384-g1")
    other = boto3.client("rds", region_name="us-east-1", aws_access_key_id="test",
                         aws_secret_access_key="test")
    assert other.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"


def test_modify_certificates_refuses_an_unknown_ca(rds):
    with pytest.raises(ClientError) as caught:
        rds.modify_certificates(CertificateIdentifier="rds-ca-nope")
    assert caught.value.response["Error"]["Code"] == "CertificateNotFound"
    assert rds.describe_certificates()["DefaultCertificateForNewLaunches"] == "rds-ca-rsa2048-g1"


def test_the_launcher_loads_every_extension_of_this_file():
    """The launcher installs every public module of the extensions package."""
    names = {i.name for i in pkgutil.iter_modules(extensions.__path__)}
    assert {"rds_certificates"} <= names
    assert callable(launch.installed_extensions)


@pytest.mark.emulator
def test_the_launched_emulator_serves_the_extension(tmp_path):
    """The server `make deploy` starts (hrsaas.emulator.launch, own port, stopped by PID)
    answers with the extension installed."""
    endpoint = f"http://127.0.0.1:{server.free_port()}"
    emulator = server.start(endpoint, tmp_path / "moto.log")
    assert emulator.process is not None, f"another server answers on {endpoint}"
    try:
        client = boto3.client("rds", region_name=REGION, endpoint_url=endpoint,
                              aws_access_key_id="test", aws_secret_access_key="test")
        assert client.describe_certificates()["DefaultCertificateForNewLaunches"] == \
            "rds-ca-rsa2048-g1"
        assert create_instance(client, "db-served")["CACertificateIdentifier"] == \
            "rds-ca-rsa2048-g1"
    finally:
        emulator.stop()
    assert "rds_certificates" in (tmp_path / "moto.log").read_text()


# --- Budgets: notification subscribers and tags (budgets) -------------------------------------

from hrsaas.emulator.extensions import accessanalyzer, budgets, cost_explorer  # noqa: E402

ACCOUNT = "123456789012"
NOTIFICATION = {"NotificationType": "FORECASTED", "ComparisonOperator": "GREATER_THAN",
                "Threshold": 80.0, "ThresholdType": "PERCENTAGE"}
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms-warning"


@pytest.fixture
def budgets_client() -> Iterator[object]:
    budgets.install()
    budgets.install()  # idempotent
    with mock_aws():
        client = boto3.client("budgets", region_name="us-east-1", aws_access_key_id="test",
                              aws_secret_access_key="test")
        client.create_budget(
            AccountId=ACCOUNT,
            Budget={"BudgetName": "monthly", "BudgetType": "COST", "TimeUnit": "MONTHLY",
                    "BudgetLimit": {"Amount": "600", "Unit": "USD"}},
            NotificationsWithSubscribers=[{"Notification": NOTIFICATION, "Subscribers": [
                {"SubscriptionType": "SNS", "Address": TOPIC}]}],
            ResourceTags=[{"Key": "Environment", "Value": "local"}])
        yield client


def test_budget_notification_subscribers_are_described(budgets_client):
    # The threshold is a number on the wire: 80 and 80.0 name one notification.
    found = budgets_client.describe_subscribers_for_notification(
        AccountId=ACCOUNT, BudgetName="monthly", Notification={**NOTIFICATION, "Threshold": 80})
    assert found["Subscribers"] == [{"SubscriptionType": "SNS", "Address": TOPIC}]


def test_budget_subscribers_of_an_unknown_notification_or_budget_are_not_found(budgets_client):
    for budget, notification in (("monthly", {**NOTIFICATION, "NotificationType": "ACTUAL"}),
                                 ("missing", NOTIFICATION)):
        with pytest.raises(ClientError) as caught:
            budgets_client.describe_subscribers_for_notification(
                AccountId=ACCOUNT, BudgetName=budget, Notification=notification)
        assert caught.value.response["Error"]["Code"] == "NotFoundException"


def test_budget_tags_on_create_tag_untag_and_delete(budgets_client):
    arn = f"arn:aws:budgets::{ACCOUNT}:budget/monthly"
    assert budgets_client.list_tags_for_resource(ResourceARN=arn)["ResourceTags"] == [
        {"Key": "Environment", "Value": "local"}]
    budgets_client.tag_resource(ResourceARN=arn, ResourceTags=[{"Key": "Layer", "Value": "b"}])
    budgets_client.untag_resource(ResourceARN=arn, ResourceTagKeys=["Environment"])
    assert budgets_client.list_tags_for_resource(ResourceARN=arn)["ResourceTags"] == [
        {"Key": "Layer", "Value": "b"}]
    budgets_client.delete_budget(AccountId=ACCOUNT, BudgetName="monthly")
    with pytest.raises(ClientError) as caught:
        budgets_client.list_tags_for_resource(ResourceARN=arn)
    assert caught.value.response["Error"]["Code"] == "NotFoundException"


# --- Cost Explorer: anomaly monitors and subscriptions (cost_explorer) -------------------------

@pytest.fixture
def ce() -> Iterator[object]:
    cost_explorer.install()
    cost_explorer.install()
    with mock_aws():
        yield boto3.client("ce", region_name="us-east-1", aws_access_key_id="test",
                           aws_secret_access_key="test")


def create_monitor(ce) -> str:
    return ce.create_anomaly_monitor(
        AnomalyMonitor={"MonitorName": "services", "MonitorType": "DIMENSIONAL",
                        "MonitorDimension": "SERVICE"},
        ResourceTags=[{"Key": "Environment", "Value": "local"}])["MonitorArn"]


def test_anomaly_monitor_create_get_update_delete(ce):
    arn = create_monitor(ce)
    assert arn.startswith(f"arn:aws:ce::{ACCOUNT}:anomalymonitor/")
    [monitor] = ce.get_anomaly_monitors(MonitorArnList=[arn])["AnomalyMonitors"]
    assert (monitor["MonitorName"], monitor["MonitorDimension"]) == ("services", "SERVICE")
    assert ce.list_tags_for_resource(ResourceArn=arn)["ResourceTags"] == [
        {"Key": "Environment", "Value": "local"}]
    ce.update_anomaly_monitor(MonitorArn=arn, MonitorName="renamed")
    assert ce.get_anomaly_monitors()["AnomalyMonitors"][0]["MonitorName"] == "renamed"
    ce.delete_anomaly_monitor(MonitorArn=arn)
    with pytest.raises(ClientError) as caught:
        ce.get_anomaly_monitors(MonitorArnList=[arn])
    assert caught.value.response["Error"]["Code"] == "UnknownMonitorException"


def test_one_dimensional_monitor_per_dimension(ce):
    create_monitor(ce)
    with pytest.raises(ClientError) as caught:
        create_monitor(ce)
    assert caught.value.response["Error"]["Code"] == "ServiceQuotaExceededException"


def test_anomaly_subscription_create_get_update_delete(ce):
    monitor = create_monitor(ce)
    expression = {"Dimensions": {"Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE", "Values": ["50"],
                                 "MatchOptions": ["GREATER_THAN_OR_EQUAL"]}}
    arn = ce.create_anomaly_subscription(AnomalySubscription={
        "SubscriptionName": "alerts", "MonitorArnList": [monitor], "Frequency": "IMMEDIATE",
        "Subscribers": [{"Type": "SNS", "Address": TOPIC}],
        "ThresholdExpression": expression})["SubscriptionArn"]
    [found] = ce.get_anomaly_subscriptions(SubscriptionArnList=[arn])["AnomalySubscriptions"]
    assert found["MonitorArnList"] == [monitor] and found["ThresholdExpression"] == expression
    assert found["AccountId"] == ACCOUNT
    assert ce.get_anomaly_subscriptions(MonitorArn=monitor)["AnomalySubscriptions"] == [found]
    ce.update_anomaly_subscription(SubscriptionArn=arn, SubscriptionName="renamed")
    [found] = ce.get_anomaly_subscriptions(SubscriptionArnList=[arn])["AnomalySubscriptions"]
    assert found["SubscriptionName"] == "renamed" and found["Frequency"] == "IMMEDIATE"
    ce.delete_anomaly_subscription(SubscriptionArn=arn)
    with pytest.raises(ClientError) as caught:
        ce.get_anomaly_subscriptions(SubscriptionArnList=[arn])
    assert caught.value.response["Error"]["Code"] == "UnknownSubscriptionException"


def test_anomaly_subscription_errors(ce):
    monitor = create_monitor(ce)
    subscription = {"SubscriptionName": "alerts", "MonitorArnList": [monitor],
                    "Subscribers": [{"Type": "SNS", "Address": TOPIC}]}
    cases = (({**subscription, "Frequency": "DAILY"}, "ValidationException"),
             ({**subscription, "Frequency": "IMMEDIATE",
               "MonitorArnList": [monitor + "0"]}, "UnknownMonitorException"))
    for body, code in cases:
        with pytest.raises(ClientError) as caught:
            ce.create_anomaly_subscription(AnomalySubscription=body)
        assert caught.value.response["Error"]["Code"] == code


# --- IAM Access Analyzer: a service moto lacks (accessanalyzer) ---------------------------------

@pytest.fixture
def analyzer_client() -> Iterator[object]:
    """moto finds a service by its URL pattern and module: the extension registers both, which
    only a server consults (the in-process mock keeps its own list), so this runs a server."""
    from moto.server import ThreadedMotoServer

    accessanalyzer.install()
    accessanalyzer.install()
    port = server.free_port()
    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto_server.start()
    try:
        yield boto3.client("accessanalyzer", region_name=REGION,
                           endpoint_url=f"http://127.0.0.1:{port}",
                           aws_access_key_id="test", aws_secret_access_key="test")
    finally:
        moto_server.stop()


def test_account_analyzer_create_get_tags_delete(analyzer_client):
    c = analyzer_client
    arn = c.create_analyzer(analyzerName="account", type="ACCOUNT", tags={"Env": "local"})["arn"]
    assert arn == f"arn:aws:access-analyzer:{REGION}:{ACCOUNT}:analyzer/account"
    analyzer = c.get_analyzer(analyzerName="account")["analyzer"]
    assert (analyzer["status"], analyzer["type"], analyzer["tags"]) == (
        "ACTIVE", "ACCOUNT", {"Env": "local"})
    c.tag_resource(resourceArn=arn, tags={"Layer": "audit"})
    c.untag_resource(resourceArn=arn, tagKeys=["Env"])
    assert c.list_tags_for_resource(resourceArn=arn)["tags"] == {"Layer": "audit"}
    assert [a["name"] for a in c.list_analyzers(type="ACCOUNT")["analyzers"]] == ["account"]
    c.delete_analyzer(analyzerName="account")
    with pytest.raises(ClientError) as caught:
        c.get_analyzer(analyzerName="account")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_analyzer_errors(analyzer_client):
    c = analyzer_client
    c.create_analyzer(analyzerName="one", type="ACCOUNT")
    for kwargs, code in (({"analyzerName": "one", "type": "ACCOUNT"}, "ConflictException"),
                         ({"analyzerName": "two", "type": "ACCOUNT"},
                          "ServiceQuotaExceededException"),
                         ({"analyzerName": "3bad", "type": "ACCOUNT"}, "ValidationException")):
        with pytest.raises(ClientError) as caught:
            c.create_analyzer(**kwargs)
        assert caught.value.response["Error"]["Code"] == code


# --- S3: deleting versions from a versioning-suspended bucket (s3_versions) --------------------

from hrsaas.emulator.extensions import s3_versions  # noqa: E402


@pytest.fixture
def suspended() -> Iterator[tuple[object, dict[str, str]]]:
    """A bucket that was versioned, with two versions of one key and a delete marker on top, then
    suspended — what a Terraform destroy leaves for the bucket's force_destroy."""
    s3_versions.install()
    s3_versions.install()  # idempotent
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
        s3.create_bucket(Bucket="state")
        s3.put_bucket_versioning(Bucket="state", VersioningConfiguration={"Status": "Enabled"})
        ids = {"first": s3.put_object(Bucket="state", Key="lock", Body=b"1")["VersionId"],
               "second": s3.put_object(Bucket="state", Key="lock", Body=b"2")["VersionId"],
               "marker": s3.delete_object(Bucket="state", Key="lock")["VersionId"]}
        s3.put_bucket_versioning(Bucket="state",
                                 VersioningConfiguration={"Status": "Suspended"})
        yield s3, ids


def version_ids(s3) -> set[str]:
    listed = s3.list_object_versions(Bucket="state")
    return {v["VersionId"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])}


def test_a_suspended_bucket_deletes_only_the_named_version(suspended):
    s3, ids = suspended
    answer = s3.delete_object(Bucket="state", Key="lock", VersionId=ids["first"])
    assert answer["VersionId"] == ids["first"]
    assert "DeleteMarker" not in answer  # an object version, not a marker
    assert version_ids(s3) == {ids["second"], ids["marker"]}


def test_deleting_a_delete_marker_by_version_says_so_and_uncovers_the_object(suspended):
    s3, ids = suspended
    answer = s3.delete_object(Bucket="state", Key="lock", VersionId=ids["marker"])
    assert answer["DeleteMarker"] is True
    assert version_ids(s3) == {ids["first"], ids["second"]}
    assert s3.get_object(Bucket="state", Key="lock")["Body"].read() == b"2"


def test_force_destroy_of_a_suspended_bucket_with_a_delete_marker(suspended):
    """What the provider's force_destroy does: delete every listed version and marker by ID,
    then the bucket. moto alone failed with an InternalError on the marker."""
    s3, ids = suspended
    listed = s3.list_object_versions(Bucket="state")
    objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
               for v in listed["Versions"] + listed["DeleteMarkers"]]
    answer = s3.delete_objects(Bucket="state", Delete={"Objects": objects})
    assert "Errors" not in answer
    assert {d["VersionId"] for d in answer["Deleted"]} == set(ids.values())
    assert version_ids(s3) == set()
    s3.delete_bucket(Bucket="state")
    assert "state" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_an_enabled_bucket_keeps_moto_behaviour(suspended):
    """Only suspended buckets take the extension's path; a versioned one deletes by version as
    before (and a delete without a version adds a marker)."""
    s3, ids = suspended
    s3.put_bucket_versioning(Bucket="state", VersioningConfiguration={"Status": "Enabled"})
    s3.delete_object(Bucket="state", Key="lock", VersionId=ids["first"])
    assert version_ids(s3) == {ids["second"], ids["marker"]}
    marker = s3.delete_object(Bucket="state", Key="lock")
    assert marker["DeleteMarker"] is True and marker["VersionId"] not in ids.values()
