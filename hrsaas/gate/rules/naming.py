"""Which resource types carry a name AWS keeps unique, in which scope, and whether the provider
can generate one (a ``*_prefix`` argument). Shared by the naming rules (HRS001-HRS003).

Scopes: ``global`` — one namespace for all of AWS (S3 bucket names, CloudFront alternate domain
names); ``account`` — IAM and CloudFront names, one per account across regions; ``region`` —
everything else, per account and region. Types whose names are unique only inside a parent
(an ECS service in its cluster, an inline policy on its role) or not at all (Route 53 zones,
ACM certificates) are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Named:
    attribute: str
    scope: str  # global | account | region
    prefix: str = ""  # the provider's generated-name argument, "" when there is none
    namespace: str = ""  # types sharing one namespace (default: the type itself)


NAMED: dict[str, Named] = {
    "aws_s3_bucket": Named("bucket", "global", "bucket_prefix"),
    "aws_cloudfront_distribution": Named("aliases", "global", namespace="cloudfront-cname"),
    "aws_iam_role": Named("name", "account", "name_prefix"),
    "aws_iam_policy": Named("name", "account", "name_prefix"),
    "aws_iam_user": Named("name", "account"),
    "aws_iam_instance_profile": Named("name", "account", "name_prefix"),
    "aws_iam_openid_connect_provider": Named("url", "account"),
    "aws_iam_service_linked_role": Named("aws_service_name", "account"),
    "aws_cloudfront_origin_access_control": Named("name", "account"),
    "aws_cloudfront_cache_policy": Named("name", "account"),
    "aws_cloudfront_response_headers_policy": Named("name", "account"),
    "aws_lb": Named("name", "region", "name_prefix"),
    "aws_lb_target_group": Named("name", "region", "name_prefix"),
    "aws_security_group": Named("name", "region", "name_prefix"),  # per VPC, in fact
    "aws_sqs_queue": Named("name", "region", "name_prefix"),
    "aws_sns_topic": Named("name", "region", "name_prefix"),
    "aws_cloudwatch_log_group": Named("name", "region", "name_prefix"),
    "aws_cloudwatch_metric_alarm": Named("alarm_name", "region"),
    "aws_cloudwatch_dashboard": Named("dashboard_name", "region"),
    "aws_cloudwatch_event_rule": Named("name", "region", "name_prefix"),
    "aws_db_instance": Named("identifier", "region", "identifier_prefix"),
    "aws_db_parameter_group": Named("name", "region", "name_prefix"),
    "aws_db_subnet_group": Named("name", "region", "name_prefix"),
    "aws_db_option_group": Named("name", "region", "name_prefix"),
    "aws_elasticache_replication_group": Named("replication_group_id", "region"),
    "aws_elasticache_parameter_group": Named("name", "region"),
    "aws_elasticache_subnet_group": Named("name", "region"),
    "aws_ecr_repository": Named("name", "region"),
    "aws_ecs_cluster": Named("name", "region"),
    "aws_secretsmanager_secret": Named("name", "region", "name_prefix"),
    "aws_ssm_parameter": Named("name", "region"),
    "aws_kms_alias": Named("name", "region", "name_prefix"),
    "aws_dynamodb_table": Named("name", "region"),
    "aws_backup_vault": Named("name", "region"),
    "aws_backup_plan": Named("name", "region"),
    "aws_wafv2_web_acl": Named("name", "region"),
    "aws_launch_template": Named("name", "region", "name_prefix"),
}

# Terraform's generated names are the prefix plus 26 characters (a timestamp and a counter);
# ELB names take a prefix of at most 6 (the provider's own limit).
GENERATED_SUFFIX = 26
ELB_PREFIX_LIMIT = 6


def claimed(body: dict, named: Named) -> list[str]:
    """The names a resource claims (CloudFront: every alias)."""
    value = body.get(named.attribute)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []
