"""edge: what the internet reaches — the SPA frontend on S3 + CloudFront, the API's ALB (its
listeners, WAF and ``api.<domain>``), the file bucket, ACM in two regions, Route 53 records
(guide §7, §9, §12).

The zone is the dns layer's (hrsaas/layers/dns.py). The ALB lives here, not with the services
(compute), for three reasons: its certificate, access-log bucket and DNS record are this
layer's, so replacing the regional certificate is one apply instead of three staged changes
across two stacks; a service release (a compute apply) never holds the load balancer in its
plan; and the ALB's provisioning (a minute on the emulator, minutes on AWS) runs beside the data
layer's database instead of after it. compute adds each service's target group and listener rule
to the HTTPS listener this layer exports.
"""

from __future__ import annotations

import dataclasses

from modules.alb import Alb, AlbProps
from modules.cdn_site import CdnSite, CdnSiteProps
from modules.certificate import Certificate, CertificateProps
from modules.secure_bucket import SecureBucket, SecureBucketProps
from modules.web_acl import WebAcl, WebAclProps

from ..config import Environment
from ..emulator import enforces_tls_in_policies
from ..tf import Construct, aws
from .base import LayerStack
from .dns import DnsOutputs
from .network import NetworkOutputs
from .outputs import LayerOutputs, output
from .security import SecurityOutputs


@dataclasses.dataclass(frozen=True)
class EdgeOutputs(LayerOutputs):
    zone_id: str = output("Route 53 hosted zone of the domain")
    distribution_id: str = output("CloudFront distribution")
    distribution_domain_name: str = output("CloudFront domain name")
    frontend_bucket: str = output("the SPA bucket (hr-saas-frontend-<env>)")
    file_bucket_name: str = output("file-service's bucket")
    file_bucket_arn: str = output("file-service's bucket ARN (its task role grant)")
    log_bucket_name: str = output("access-log bucket (CloudFront; the ALB's too)")
    alb_arn_suffix: str = output("ALB ARN suffix (CloudWatch dimension)")
    alb_dns_name: str = output("the ALB's DNS name")
    https_listener_arn: str = output("the ALB's HTTPS listener (compute adds the services' rules)")
    api_url: str = output("https://<api_name>")


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
                 network: LayerStack, dns: LayerStack):
        super().__init__(scope, env)
        edge = env.edge
        net = NetworkOutputs.read(self, network, ("public_subnet_ids", "alb_security_group_id"))
        us_east_1 = aws.provider.AwsProvider(self, "aws-us-east-1", alias="us_east_1",
                                             **self.provider_args("us-east-1"))
        files_key = logs_key = None
        if env.capabilities.customer_managed_keys:
            keys = SecurityOutputs.read(self, security, ("files_kms_key_arn", "logs_kms_key_arn"))
            files_key, logs_key = keys.files_kms_key_arn, keys.logs_kms_key_arn
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
            deny_insecure_transport=tls, access_log_bucket=site.logs.name_when_writable,
        ))
        alb = self._api_load_balancer(env, net, regional_cert.arn, zone_id,
                                      site.logs.name_when_writable, logs_key)
        self.outputs = EdgeOutputs(
            zone_id=zone_id,
            distribution_id=site.distribution.id,
            distribution_domain_name=site.domain_name,
            frontend_bucket=site.bucket.name,
            file_bucket_name=files.name,
            file_bucket_arn=files.arn,
            log_bucket_name=site.logs.name,
            alb_arn_suffix=alb.lb.arn_suffix,
            alb_dns_name=alb.dns_name,
            https_listener_arn=alb.https_listener_arn,
            api_url=f"https://{edge.api_name}",
        ).export(self)

    def _api_load_balancer(self, env: Environment, net: NetworkOutputs, certificate_arn: str,
                           zone_id: str, log_bucket: str, logs_key: str | None) -> Alb:
        """The API's ALB (guide §7), its regional WAF where the environment has one, and
        ``api.<domain>``. The access logs need the log bucket's policy, not its lifecycle."""
        compute = env.compute
        alb = Alb(self, "alb", AlbProps(
            name=self.names.resource(), subnet_ids=net.public_subnet_ids,
            security_group_id=net.alb_security_group_id,
            certificate_arn=certificate_arn, tls_policy=compute.tls_policy,
            access_log_bucket=log_bucket, access_log_prefix=ALB_LOG_PREFIX,
            deletion_protection=env.capabilities.deletion_protection,
            idle_timeout_seconds=compute.alb_idle_timeout_seconds))
        if compute.waf:
            WebAcl(self, "api-waf", WebAclProps(
                name=f"{self.names.resource()}-api", scope="REGIONAL",
                log_retention_days=env.logs.retention_days, logs_kms_key_arn=logs_key,
                associate_with=alb.arn,
                # File uploads exceed the common rule set's 8 KB body limit.
                large_body_paths=tuple(p for s in env.deployed_services() if s.file_bucket
                                       for p in s.paths)))
        # Guide §12: api.<domain> → the ALB. A only: the VPC (guide §3) is IPv4-only, so the ALB
        # has no IPv6 address an AAAA alias could answer with.
        aws.route53_record.Route53Record(
            self, "api-A", zone_id=zone_id, name=env.edge.api_name, type="A",
            alias={"name": alb.dns_name, "zone_id": alb.zone_id,
                   "evaluate_target_health": True})
        return alb
