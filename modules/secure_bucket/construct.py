"""A private S3 bucket with the secure defaults kept in one place."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws


class SecureBucketProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    bucket_name: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    kms_key_arn: str | None = None
    """SSE-KMS with this key; None = SSE-KMS with the AWS-managed key ``aws/s3``."""
    sse_s3: bool = False
    """SSE-S3 (AES256) instead of KMS — what CloudFront-served buckets need without key grants."""
    versioning: bool = True
    noncurrent_version_retention_days: int = Field(90, ge=1)
    current_version_expiration_days: int | None = Field(None, ge=1)
    """Expire objects this many days after creation (log buckets); None = keep them."""
    force_destroy: bool = False
    """Default: a bucket with objects is never deleted by Terraform."""
    extra_policy_statements: tuple[dict, ...] = ()
    """IAM policy-document statements added to the TLS-only bucket policy."""
    object_ownership: Literal["BucketOwnerEnforced", "BucketOwnerPreferred"] = (
        "BucketOwnerEnforced")
    """ACLs off. ``BucketOwnerPreferred`` only for log buckets written through ACLs
    (CloudFront standard logging)."""
    access_log_bucket: str | None = None
    """Bucket receiving S3 server access logs (under ``s3/``; each record names its bucket);
    None = none (the log bucket itself: logging it into itself would loop)."""
    deny_insecure_transport: bool = True
    """The TLS-only deny. Off only on the emulator, where moto ignores the condition and the
    statement denies every request (hrsaas/layers/emulator.py)."""
    lifecycle_after_policy: bool = False
    """Apply the lifecycle after the policy instead of before it. For a log bucket, whose
    writers (an ALB's access logs, S3 server access logs) need only the policy: they need not
    wait for the provider's lifecycle wait (its rules must read back the same ten times in a
    row, about a minute on AWS and the emulator alike). Not for a bucket whose policy waits on
    something slow itself (the frontend's names its CloudFront distribution)."""
    lifecycle_elsewhere: bool = False
    """Leave the lifecycle out: another stack applies it with ``SecureBucket.lifecycle`` (the
    same rule). For the state bucket, whose lifecycle the audit layer applies: bootstrap, the
    stack a person applies by hand with local state, then holds only what the backends need,
    and no other stack waits for the provider's lifecycle wait in bootstrap's apply."""


class SecureBucket(Construct):
    """Versioned, encrypted, private bucket: all four public-access blocks, bucket-owner-enforced
    ownership, a TLS-only policy, and a lifecycle that expires old versions and aborts stale
    multipart uploads."""

    def __init__(self, scope: Construct, id_: str, props: SecureBucketProps):
        super().__init__(scope, id_)
        self.bucket = aws.s3_bucket.S3Bucket(
            self, "bucket", bucket=props.bucket_name, force_destroy=props.force_destroy
        )
        bucket_id = self.bucket.id
        if props.sse_s3:
            sse = {"sse_algorithm": "AES256"}
        else:
            sse = {"sse_algorithm": "aws:kms"}
            if props.kms_key_arn:
                sse["kms_master_key_id"] = props.kms_key_arn
        tls_only = {
            "sid": "DenyInsecureTransport",
            "effect": "Deny",
            "actions": ["s3:*"],
            "principals": [{"type": "*", "identifiers": ["*"]}],
            "resources": [self.bucket.arn, f"{self.bucket.arn}/*"],
            "condition": [{"test": "Bool", "variable": "aws:SecureTransport",
                           "values": ["false"]}],
        }
        statements = [tls_only] if props.deny_insecure_transport else []
        statements += props.extra_policy_statements
        # Nested blocks inside lists must be the typed structs: a plain dict there loses every
        # multi-word key on its way through jsii (tests/test_synth_integrity.py guards this).
        sse_mod = aws.s3_bucket_server_side_encryption_configuration
        lifecycle = aws.s3_bucket_lifecycle_configuration
        parts = [
            (aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock, "public-access-block",
             dict(block_public_acls=True, block_public_policy=True, ignore_public_acls=True,
                  restrict_public_buckets=True)),
            (aws.s3_bucket_ownership_controls.S3BucketOwnershipControls, "ownership",
             dict(rule={"object_ownership": props.object_ownership})),
            (aws.s3_bucket_versioning.S3BucketVersioningA, "versioning",
             dict(versioning_configuration={
                 "status": "Enabled" if props.versioning else "Suspended"})),
            (sse_mod.S3BucketServerSideEncryptionConfigurationA, "encryption",
             dict(rule=[sse_mod.S3BucketServerSideEncryptionConfigurationRuleA(
                 apply_server_side_encryption_by_default=sse_mod
                 .S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                     **sse),
                 bucket_key_enabled=not props.sse_s3)])),
        ]
        life = (lifecycle.S3BucketLifecycleConfiguration, "lifecycle",
                dict(rule=lifecycle_rules(props.noncurrent_version_retention_days,
                                          props.current_version_expiration_days)))
        if not (props.lifecycle_after_policy or props.lifecycle_elsewhere):
            parts.append(life)
        if statements:
            document = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
                self, "policy-document", statement=statements)
            parts.append((aws.s3_bucket_policy.S3BucketPolicy, "policy",
                          dict(policy=document.json)))
        if props.access_log_bucket is not None:
            parts.append((aws.s3_bucket_logging.S3BucketLoggingA, "access-logs",
                          dict(target_bucket=props.access_log_bucket,
                               target_prefix="s3/")))
        if props.lifecycle_after_policy and not props.lifecycle_elsewhere:
            parts.append(life)
        # S3 rejects concurrent configuration calls on one bucket (OperationAborted on AWS,
        # garbled requests on the emulator), so each part waits for the one before it.
        previous = self.bucket
        built = {}
        for cls, id_part, args in parts:
            previous = cls(self, id_part, bucket=bucket_id, depends_on=[previous], **args)
            built[id_part] = previous
        self.arn = self.bucket.arn
        self.name = self.bucket.bucket
        # The name, through the last configuration part: whoever uses it (e.g. as an access-log
        # target, which S3 checks against the policy) waits until the bucket is fully set up.
        self.name_when_ready = previous.bucket
        # The name once the policy is in place: enough for a writer the policy admits (an ALB's
        # access logs: ELB writes a test object at once). Before the lifecycle only with
        # ``lifecycle_after_policy``.
        self.name_when_writable = built["policy"].bucket if "policy" in built else self.name
        self.ready = previous
        """The last configuration part: depend on it to use the bucket fully set up."""

    @staticmethod
    def lifecycle(scope: Construct, id_: str, *, bucket: str,
                  noncurrent_version_retention_days: int,
                  ) -> aws.s3_bucket_lifecycle_configuration.S3BucketLifecycleConfiguration:
        """The lifecycle of a bucket built with ``lifecycle_elsewhere``, in another stack: the
        same rule as every SecureBucket's. That stack must deploy after the bucket's and never
        beside another configuration change of it (S3 aborts concurrent configuration calls
        on one bucket)."""
        module = aws.s3_bucket_lifecycle_configuration
        return module.S3BucketLifecycleConfiguration(
            scope, id_, bucket=bucket,
            rule=lifecycle_rules(noncurrent_version_retention_days, None))


def lifecycle_rules(noncurrent_days: int, current_days: int | None) -> list:
    """The one rule every SecureBucket's lifecycle holds: noncurrent versions expire after
    ``noncurrent_days``, stale multipart uploads are aborted after 7 days, and (log buckets)
    objects expire ``current_days`` after creation."""
    lifecycle = aws.s3_bucket_lifecycle_configuration
    return [lifecycle.S3BucketLifecycleConfigurationRule(
        id="expire-noncurrent-versions",
        status="Enabled",
        filter=[lifecycle.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
        noncurrent_version_expiration=[
            lifecycle.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                noncurrent_days=noncurrent_days)],
        abort_incomplete_multipart_upload=[
            lifecycle.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                days_after_initiation=7)],
        expiration=[lifecycle.S3BucketLifecycleConfigurationRuleExpiration(days=current_days)]
        if current_days else None,
    )]
