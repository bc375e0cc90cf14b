"""The SPA frontend (guide §9): a private S3 bucket served only through CloudFront.

Origin access **control** (OAC) replaces the guide's origin access identity (OAI): AWS has
deprecated OAI, OAC signs requests with SigV4, works with SSE-KMS and all regions, and the
bucket policy names the one distribution (``AWS:SourceArn``) instead of an identity.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hrsaas.tf import Construct, aws
from modules.secure_bucket import SecureBucket, SecureBucketProps
from modules.web_acl import WebAcl, WebAclProps

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS managed cache policy
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"   # AWS managed SecurityHeadersPolicy


class CdnSiteProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    bucket_name: str
    """The guide's ``hr-saas-frontend-{env}``."""
    log_bucket_name: str
    aliases: tuple[str, ...]
    certificate_arn: str
    """A validated us-east-1 certificate covering every alias."""
    price_class: str = "PriceClass_200"
    minimum_tls: str = "TLSv1.2_2021"
    waf: bool = False
    log_retention_days: int = 365
    """Days the access logs (log bucket) and WAF logs are kept."""
    us_east_1: object | None = None
    """The us-east-1 provider (WAF for CloudFront lives there)."""
    name: str
    region: str
    account_id: str
    force_destroy: bool = False
    deny_insecure_transport: bool = True
    log_writers: tuple[dict, ...] = ()
    """Further statements for the log bucket's policy (e.g. the ALB's log delivery)."""
    wait_for_deployment: bool = True
    """Whether apply waits until the distribution is Deployed. Only the emulator turns it off:
    moto reports Deployed at once, and the provider still sleeps 30 s before its first poll."""


class CdnSite(Construct):
    def __init__(self, scope: Construct, id_: str, props: CdnSiteProps):
        super().__init__(scope, id_)
        # CloudFront standard logging writes through ACLs: the one bucket that keeps them on.
        self.logs = SecureBucket(self, "logs", SecureBucketProps(
            bucket_name=props.log_bucket_name, sse_s3=True,
            object_ownership="BucketOwnerPreferred", force_destroy=props.force_destroy,
            deny_insecure_transport=props.deny_insecure_transport,
            noncurrent_version_retention_days=30,
            # Access logs (CloudFront, ALB, S3) are kept as long as the env keeps its logs.
            current_version_expiration_days=props.log_retention_days,
            # Its writers (the ALB, the other buckets' S3 access logs) need only the policy.
            lifecycle_after_policy=True,
            extra_policy_statements=({
                "sid": "S3ServerAccessLogs",
                "actions": ["s3:PutObject"],
                "principals": [{"type": "Service", "identifiers": ["logging.s3.amazonaws.com"]}],
                "resources": [f"arn:aws:s3:::{props.log_bucket_name}/s3/*"],
                "condition": [{"test": "StringEquals", "variable": "aws:SourceAccount",
                               "values": [props.account_id]}],
            }, *props.log_writers),
        ))
        self.oac = aws.cloudfront_origin_access_control.CloudfrontOriginAccessControl(
            self, "oac", name=props.bucket_name, origin_access_control_origin_type="s3",
            signing_behavior="always", signing_protocol="sigv4",
            description="CloudFront reads the frontend bucket (SigV4)",
        )
        web_acl = None
        if props.waf:
            web_acl = WebAcl(self, "waf", WebAclProps(
                name=f"{props.name}-frontend", scope="CLOUDFRONT", provider=props.us_east_1,
                log_retention_days=props.log_retention_days))
        origin_id = "frontend-s3"
        self.distribution = aws.cloudfront_distribution.CloudfrontDistribution(
            self, "distribution",
            enabled=True, is_ipv6_enabled=True, http_version="http2and3",
            wait_for_deployment=props.wait_for_deployment,
            comment=f"{props.name} frontend", default_root_object="index.html",
            aliases=list(props.aliases), price_class=props.price_class,
            origin=[aws.cloudfront_distribution.CloudfrontDistributionOrigin(
                # The bucket's regional name is known before the bucket exists: the bucket
                # policy below then names this distribution without a dependency cycle.
                origin_id=origin_id,
                domain_name=f"{props.bucket_name}.s3.{props.region}.amazonaws.com",
                origin_access_control_id=self.oac.id)],
            default_cache_behavior={
                "target_origin_id": origin_id,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": ["GET", "HEAD", "OPTIONS"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": CACHING_OPTIMIZED,
                "response_headers_policy_id": SECURITY_HEADERS,
            },
            # SPA routing: S3 answers 403 (not 404) for a missing key under OAC.
            custom_error_response=[
                aws.cloudfront_distribution.CloudfrontDistributionCustomErrorResponse(
                    error_code=code, response_code=200, response_page_path="/index.html",
                    error_caching_min_ttl=10) for code in (403, 404)],
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"acm_certificate_arn": props.certificate_arn,
                                "ssl_support_method": "sni-only",
                                "minimum_protocol_version": props.minimum_tls},
            logging_config={"bucket": self.logs.bucket.bucket_domain_name,
                            "prefix": "cloudfront/", "include_cookies": False},
            web_acl_id=web_acl.arn if web_acl is not None else None,
            tags={"Name": f"{props.name}-frontend"},
            # CloudFront checks at creation that the log bucket takes ACL writes: a new bucket
            # has ACLs off until its ownership controls (and the rest of its set-up) apply.
            depends_on=[self.logs.ready],
        )
        self.bucket = SecureBucket(self, "bucket", SecureBucketProps(
            bucket_name=props.bucket_name, sse_s3=True, force_destroy=props.force_destroy,
            deny_insecure_transport=props.deny_insecure_transport,
            access_log_bucket=self.logs.name_when_writable,
            extra_policy_statements=({
                "sid": "CloudFrontReadsThroughOAC",
                "actions": ["s3:GetObject"],
                "principals": [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}],
                "resources": [f"arn:aws:s3:::{props.bucket_name}/*"],
                "condition": [{"test": "StringEquals", "variable": "AWS:SourceArn",
                               "values": [self.distribution.arn]}],
            },),
        ))
        self.domain_name = self.distribution.domain_name
        self.hosted_zone_id = self.distribution.hosted_zone_id
