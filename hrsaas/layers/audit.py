"""audit: the account's audit trail and threat detection (issue 19; the guide is silent, and
the platform stores employees' personal data).

A multi-region CloudTrail with log-file validation into a bucket of its own (prod: a
customer-managed key of its own, S3 Object Lock in GOVERNANCE mode, CloudWatch Logs delivery),
AWS Config where the environment asks for it, a GuardDuty detector and an IAM Access Analyzer.
Their findings reach the alarm topics through EventBridge rules of the observability layer
(``finding_routes``), so this layer reads only security's key and deploys beside network, data
and compute instead of after observability (the local deploy's critical path: 74 s shorter).

It also keeps the state bucket's retention: the lifecycle of bootstrap's bucket (noncurrent
versions of every layer's state expire after ``state.noncurrent_version_retention_days``).
Bootstrap is applied by a person with local state; a retention rule belongs with the records
this layer keeps, changes through the pipeline, and its one-minute provider wait runs beside
the other layers instead of before all of them.
"""

from __future__ import annotations

from modules.audit_trail import AuditTrail, AuditTrailProps
from modules.kms_key import KmsKey, KmsKeyProps, ServiceGrant
from modules.secure_bucket import SecureBucket
from modules.threat_detection import ThreatDetection, ThreatDetectionProps

from ..config import Environment
from ..emulator import enforces_tls_in_policies
from ..tf import Construct
from .base import LayerStack
from .security import SecurityOutputs


class AuditStack(LayerStack):
    layer = "audit"

    def __init__(self, scope: Construct, env: Environment, *, security: LayerStack):
        super().__init__(scope, env)
        cfg, region, account = env.audit, env.region, env.account_id
        trail_name = self.names.resource("audit")
        trail_arn = f"arn:aws:cloudtrail:{region}:{account}:trail/{trail_name}"
        trail_key = logs_key = None
        if env.capabilities.customer_managed_keys:
            # A key of its own: CloudTrail uses it for this trail only (aws:SourceArn), and
            # people of the account read the log files only through S3.
            trail_key = KmsKey(self, "trail-key", KmsKeyProps(
                alias=f"alias/{trail_name}",
                description=f"CloudTrail log files of {env.project} {env.name}",
                account_id=account, region=region, via_services=("s3",),
                services=(ServiceGrant(principal="cloudtrail.amazonaws.com", conditions=({
                    "test": "StringEquals", "variable": "aws:SourceArn",
                    "values": [trail_arn]},)),),
            )).arn
            if cfg.cloudwatch_logs:
                logs_key = SecurityOutputs.read(self, security, ("logs_kms_key_arn",)
                                                ).logs_kms_key_arn
        self.trail = AuditTrail(self, "trail", AuditTrailProps(
            name=trail_name, bucket_name=self.names.global_bucket("audit"),
            account_id=account, region=region, kms_key_arn=trail_key,
            retention_days=cfg.trail_retention_days, object_lock=cfg.object_lock,
            cloudwatch_logs=cfg.cloudwatch_logs,
            log_retention_days=cfg.cloudwatch_logs_retention_days, logs_kms_key_arn=logs_key,
            aws_config=cfg.aws_config, force_destroy=env.is_emulated,
            deny_insecure_transport=enforces_tls_in_policies(env)))
        # Bootstrap built the bucket (audit deploys after it) with its lifecycle left out
        # (``lifecycle_elsewhere``): this is the rule's one owner, so no two applies write it.
        self.state_retention = SecureBucket.lifecycle(
            self, "state-retention", bucket=self.names.state_bucket(),
            noncurrent_version_retention_days=env.state.noncurrent_version_retention_days)
        self.detection = ThreatDetection(self, "detection", ThreatDetectionProps(
            name=self.names.resource(),
            publishing_frequency=cfg.guardduty_publishing_frequency))
