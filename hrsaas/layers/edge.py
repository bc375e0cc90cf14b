"""edge: the SPA frontend on S3 + CloudFront, the file bucket, ACM in two regions, Route 53
(guide §9, §12).

The zone is the dns layer's (hrsaas/layers/dns.py). The ALB's alias ``api.<domain>`` is
written by the compute layer, which owns the ALB: it reads
this layer's zone ID and regional certificate (edge → compute, no cycle).
"""

from __future__ import annotations

import dataclasses

from modules.cdn_site import CdnSite, CdnSiteProps
from modules.certificate import Certificate, CertificateProps
from modules.secure_bucket import SecureBucket, SecureBucketProps

from ..config import Environment
from ..emulator import enforces_tls_in_policies
from ..tf import Construct, aws
from .base import LayerStack
from .dns import DnsOutputs
from .outputs import LayerOutputs, output
from .security import SecurityOutputs


@dataclasses.dataclass(frozen=True)
class EdgeOutputs(LayerOutputs):
    zone_id: str = output("Route 53 hosted zone of the domain")
    regional_certificate_arn: str = output("validated ACM certificate in the region (the ALB)")
    distribution_id: str = output("CloudFront distribution")
    distribution_domain_name: str = output("CloudFront domain name")
    frontend_bucket: str = output("the SPA bucket (hr-saas-frontend-<env>)")
    file_bucket_name: str = output("file-service's bucket")
    file_bucket_arn: str = output("file-service's bucket ARN (its task role grant)")
    log_bucket_name: str = output("access-log bucket (CloudFront; the ALB's too)")


# Elastic Load Balancing's log-delivery account per region (regions opened before August 2022;
# newer regions deliver as the service principal below).
ELB_LOG_ACCOUNTS = {
    "ap-northeast-2": "600734575887",
    "ap-northeast-1": "582318560864",
    "us-east-1": "127311923021",
    "us-west-2": "797873946194",
    "eu-central-1": "054676820928",
}
ALB_LOG_PREFIX = "alb"


def alb_log_writer(region: str, account_id: str, bucket: str) -> dict:
    """The statement that lets the region's ALBs write access logs under ``alb/``."""
    if region in ELB_LOG_ACCOUNTS:
        principal = {"type": "AWS",
                     "identifiers": [f"arn:aws:iam::{ELB_LOG_ACCOUNTS[region]}:root"]}
    else:
        principal = {"type": "Service",
                     "identifiers": ["logdelivery.elasticloadbalancing.amazonaws.com"]}
    return {
        "sid": "AlbAccessLogs",
        "actions": ["s3:PutObject"],
        "principals": [principal],
        "resources": [f"arn:aws:s3:::{bucket}/{ALB_LOG_PREFIX}/AWSLogs/{account_id}/*"],
    }


class EdgeStack(LayerStack):
    layer = "edge"

    def __init__(self, scope: Construct, env: Environment, *, security: LayerStack,
                 dns: LayerStack):
        super().__init__(scope, env)
        edge = env.edge
        us_east_1 = aws.provider.AwsProvider(self, "aws-us-east-1", alias="us_east_1",
                                             **self.provider_args("us-east-1"))
        files_key = None
        if env.capabilities.customer_managed_keys:
            files_key = SecurityOutputs.read(self, security, ("files_kms_key_arn",)
                                             ).files_kms_key_arn
        # The zone is the dns layer's: a first deploy stops after it until the domain is
        # delegated, so the certificates below never wait on DNS that cannot answer.
        zone_id = DnsOutputs.read(self, dns, ("zone_id",)).zone_id
        names = edge.certificate_names()
        cloudfront_cert = Certificate(self, "cloudfront-certificate", CertificateProps(
            domain_name=names[0], subject_alternative_names=names[1:], zone_id=zone_id,
            provider=us_east_1))
        regional_cert = Certificate(self, "regional-certificate", CertificateProps(
            domain_name=names[0], subject_alternative_names=names[1:], zone_id=zone_id,
            validated_by=cloudfront_cert))
        tls = enforces_tls_in_policies(env)
        site = CdnSite(self, "frontend", CdnSiteProps(
            name=self.names.resource(), region=env.region, account_id=env.account_id,
            log_retention_days=env.logs.retention_days,
            bucket_name=self.names.env_suffixed("frontend"),
            log_bucket_name=self.names.global_bucket("logs"),
            aliases=edge.frontend_aliases, certificate_arn=cloudfront_cert.arn,
            price_class=edge.price_class, minimum_tls=edge.minimum_tls, waf=edge.waf,
            us_east_1=us_east_1, force_destroy=env.is_emulated, deny_insecure_transport=tls,
            wait_for_deployment=not env.is_emulated,
            log_writers=(alb_log_writer(env.region, env.account_id,
                                        self.names.global_bucket("logs")),),
        ))
        for alias in edge.frontend_aliases:
            for record_type in ("A", "AAAA"):
                aws.route53_record.Route53Record(
                    self, f"{alias}-{record_type}", zone_id=zone_id, name=alias,
                    type=record_type, alias={
                        "name": site.domain_name, "zone_id": site.hosted_zone_id,
                        "evaluate_target_health": False})
        files = SecureBucket(self, "files", SecureBucketProps(
            bucket_name=self.names.global_bucket("files"),
            kms_key_arn=files_key, force_destroy=env.is_emulated,
            noncurrent_version_retention_days=edge.file_version_retention_days,
            deny_insecure_transport=tls, access_log_bucket=site.logs.name_when_ready,
        ))
        self.outputs = EdgeOutputs(
            zone_id=zone_id,
            regional_certificate_arn=regional_cert.arn,
            distribution_id=site.distribution.id,
            distribution_domain_name=site.domain_name,
            frontend_bucket=site.bucket.name,
            file_bucket_name=files.name,
            file_bucket_arn=files.arn,
            log_bucket_name=site.logs.name,
        ).export(self)
