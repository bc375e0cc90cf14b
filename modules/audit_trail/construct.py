"""A multi-region CloudTrail with log-file validation into a bucket of its own, optionally with
S3 Object Lock, CloudWatch Logs delivery and an AWS Config recorder writing to the same bucket."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws
from modules.secure_bucket import SecureBucket, SecureBucketProps


class AuditTrailProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,128}$")
    """Trail name and prefix of the roles, e.g. ``hr-saas-prod-audit``."""
    bucket_name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    account_id: str = Field(pattern=r"^\d{12}$")
    region: str
    kms_key_arn: str | None = None
    """CMK of the log files (trail SSE-KMS and bucket default); None = SSE-S3: CloudTrail cannot
    use an AWS-managed key."""
    retention_days: int = Field(365, ge=1, le=36500)
    """Log files expire after this many days (and are locked until then with object_lock)."""
    object_lock: Literal["off", "GOVERNANCE", "COMPLIANCE"] = "off"
    """S3 Object Lock default retention; on only when the bucket is created (changing it
    replaces the bucket)."""
    cloudwatch_logs: bool = False
    """Also deliver to the log group ``/aws/cloudtrail/<name>``."""
    log_retention_days: int = 365
    logs_kms_key_arn: str | None = None
    """CMK of the log group (its policy must admit CloudWatch Logs); None = service-owned key."""
    aws_config: bool = False
    """An AWS Config recorder (every supported resource, global types included) delivering to
    the same bucket under ``config/``."""
    force_destroy: bool = False
    """Let Terraform empty the bucket on destroy (emulator only)."""
    deny_insecure_transport: bool = True
    """The bucket's TLS-only deny (off only on the emulator)."""


class AuditTrail(Construct):
    def __init__(self, scope: Construct, id_: str, props: AuditTrailProps):
        super().__init__(scope, id_)
        account, region = props.account_id, props.region
        trail_arn = f"arn:aws:cloudtrail:{region}:{account}:trail/{props.name}"
        from_this_trail = [{"test": "StringEquals", "variable": "aws:SourceArn",
                            "values": [trail_arn]}]
        cloudtrail = [{"type": "Service", "identifiers": ["cloudtrail.amazonaws.com"]}]
        bucket_arn = f"arn:aws:s3:::{props.bucket_name}"
        # CloudTrail's documented bucket policy, narrowed to this trail (aws:SourceArn).
        statements = [{
            "sid": "CloudTrailAclCheck", "effect": "Allow", "principals": cloudtrail,
            "actions": ["s3:GetBucketAcl"], "resources": [bucket_arn],
            "condition": from_this_trail,
        }, {
            "sid": "CloudTrailWrite", "effect": "Allow", "principals": cloudtrail,
            "actions": ["s3:PutObject"],
            "resources": [f"{bucket_arn}/AWSLogs/{account}/*"],
            "condition": [*from_this_trail, {"test": "StringEquals", "variable": "s3:x-amz-acl",
                                             "values": ["bucket-owner-full-control"]}],
        }]
        self.bucket = SecureBucket(self, "bucket", SecureBucketProps(
            bucket_name=props.bucket_name, kms_key_arn=props.kms_key_arn,
            sse_s3=props.kms_key_arn is None,
            # Expired log files become noncurrent; a day later they are gone (a locked version
            # cannot be deleted before its retention ends, which expiration respects).
            current_version_expiration_days=props.retention_days,
            noncurrent_version_retention_days=1,
            force_destroy=props.force_destroy, extra_policy_statements=tuple(statements),
            deny_insecure_transport=props.deny_insecure_transport))
        ready = [self.bucket.ready]
        if props.object_lock != "off":
            # Object Lock is a property of the bucket chosen at creation (S3 CreateBucket
            # x-amz-bucket-object-lock-enabled); the default retention is set after it.
            self.bucket.bucket.add_override("object_lock_enabled", True)
            lock = aws.s3_bucket_object_lock_configuration.S3BucketObjectLockConfigurationA(
                self, "object-lock", bucket=self.bucket.bucket.id, depends_on=ready)
            lock.add_override("rule", {"default_retention": {
                "mode": props.object_lock, "days": props.retention_days}})
            ready = [lock]

        logs: dict[str, str] = {}
        self.log_group = None
        if props.cloudwatch_logs:
            self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
                self, "log-group", name=f"/aws/cloudtrail/{props.name}",
                retention_in_days=props.log_retention_days, kms_key_id=props.logs_kms_key_arn)
            role = aws.iam_role.IamRole(
                self, "logs-role", name=f"{props.name}-cloudwatch",
                assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    # SourceAccount, not SourceArn: AWS documents SourceArn for CloudTrail's
                    # resource policies only, and a role CloudTrail cannot assume fails
                    # CreateTrail (InvalidCloudWatchLogsRoleArnException).
                    "Condition": {"StringEquals": {"aws:SourceAccount": props.account_id}}}]}))
            # Only this trail's log group: create its streams and write to them.
            policy = aws.iam_role_policy.IamRolePolicy(
                self, "logs-policy", name="deliver", role=role.id,
                policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{self.log_group.arn}:log-stream:*"}]}))
            logs = {"cloud_watch_logs_group_arn": f"{self.log_group.arn}:*",
                    "cloud_watch_logs_role_arn": role.arn}
            ready.append(policy)

        self.trail = aws.cloudtrail.Cloudtrail(
            self, "trail", name=props.name, s3_bucket_name=self.bucket.bucket.id,
            is_multi_region_trail=True, include_global_service_events=True,
            enable_log_file_validation=True, enable_logging=True,
            kms_key_id=props.kms_key_arn, depends_on=ready, **logs)

        self.recorder = None
        if props.aws_config:
            self._config_recorder(props, bucket_arn)

    def _config_recorder(self, props: AuditTrailProps, bucket_arn: str) -> None:
        name = f"{props.name}-config"
        role = aws.iam_role.IamRole(
            self, "config-role", name=name,
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": props.account_id}}}]}))
        # AWS's managed policy for a Config recorder (read-only Describe/List/Get of every
        # supported resource type) and delivery into this bucket's config/ prefix only.
        managed = aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self, "config-read", role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AWS_ConfigRole")
        delivery = aws.iam_role_policy.IamRolePolicy(
            self, "config-delivery", name="deliver", role=role.id,
            policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "s3:GetBucketAcl", "Resource": bucket_arn,
            }, {
                "Effect": "Allow", "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/config/AWSLogs/{props.account_id}/*",
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            }, *([{
                # The bucket encrypts with the trail key: Config's role writes through S3 with
                # it (the key policy lets account principals use it via S3 only). Without this
                # PutDeliveryChannel fails with InsufficientDeliveryPolicyException.
                "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": props.kms_key_arn,
            }] if props.kms_key_arn else [])]}))
        self.recorder = aws.config_configuration_recorder.ConfigConfigurationRecorder(
            self, "config-recorder", name=name, role_arn=role.arn,
            depends_on=[managed, delivery])
        self.recorder.add_override("recording_group", {
            "all_supported": True, "include_global_resource_types": True})
        channel = aws.config_delivery_channel.ConfigDeliveryChannel(
            self, "config-delivery-channel", name=name, s3_bucket_name=self.bucket.bucket.id,
            s3_key_prefix="config", s3_kms_key_arn=props.kms_key_arn,
            depends_on=[self.recorder, self.bucket.ready])
        aws.config_configuration_recorder_status.ConfigConfigurationRecorderStatus(
            self, "config-recorder-status", name=self.recorder.name, is_enabled=True,
            depends_on=[channel])
