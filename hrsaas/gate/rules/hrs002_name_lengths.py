"""HRS002: names fit AWS's length limits (IAM roles 64, target groups 32, load balancers 32,
...), including the generated names of ``name_prefix``.

The limits are the project's AWS facts (hrsaas/config/aws_facts.toml ``[limits]``), the same
numbers configuration validation checks the names it builds against; this rule checks every
name that reaches the synthesized JSON, whoever built it. A name with interpolations is checked
on its fixed characters (already too long is too long).
"""

from __future__ import annotations

from ...config.facts import aws_facts
from .base import Result, Stacks, constant_part, literal
from .naming import ELB_PREFIX_LIMIT, GENERATED_SUFFIX

ID = "HRS002"
TITLE = "Names fit AWS's length limits (IAM 64, target group 32, ALB 32, ...)"
SEVERITY = "HIGH"
AWS = """IAM role names are at most 64 characters, target group and load balancer names 32, S3
bucket names 63, RDS identifiers 63, ElastiCache replication group IDs 40, SQS queue names 80,
SNS topic names 256. A generated name is the prefix plus 26 characters (ELB prefixes at most 6).
A longer name fails at create time (ValidationError) unless the provider's schema catches it."""
DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"

# type → (name attribute, prefix attribute, the aws_facts limit)
LIMITS: dict[str, tuple[str, str, str]] = {
    "aws_iam_role": ("name", "name_prefix", "iam_role_name"),
    "aws_lb_target_group": ("name", "name_prefix", "target_group_name"),
    "aws_lb": ("name", "name_prefix", "load_balancer_name"),
    "aws_s3_bucket": ("bucket", "bucket_prefix", "s3_bucket_name"),
    "aws_db_instance": ("identifier", "identifier_prefix", "rds_instance_identifier"),
    "aws_elasticache_replication_group": ("replication_group_id", "",
                                          "elasticache_replication_group_id"),
    "aws_sqs_queue": ("name", "name_prefix", "sqs_queue_name"),
    "aws_sns_topic": ("name", "name_prefix", "sns_topic_name"),
    "aws_ecs_service": ("name", "", "ecs_service_name"),
    "aws_ecs_cluster": ("name", "", "ecs_cluster_name"),
}


def check(stacks: Stacks) -> Result:
    result = Result()
    facts = aws_facts()
    for r in stacks.resources(*LIMITS):
        name_attr, prefix_attr, fact = LIMITS[r.type]
        limit = facts.limit(fact)
        elb = r.type in ("aws_lb", "aws_lb_target_group")
        prefix_limit = ELB_PREFIX_LIMIT if elb else limit - GENERATED_SUFFIX
        for attr, allowed in ((name_attr, limit), (prefix_attr, prefix_limit)):
            value = r.body.get(attr) if attr else None
            if not isinstance(value, str):
                continue
            fixed = value if literal(value) else constant_part(value)
            if not literal(value) and len(fixed) <= allowed:
                continue  # the computed part decides: not knowable here
            result.checked += 1
            if len(fixed) > allowed:
                what = attr
                if attr == prefix_attr and not elb:
                    what = f"{attr} (AWS adds {GENERATED_SUFFIX} characters)"
                result.findings.append(r.finding(
                    ID, f"{what} {value!r} is {len(fixed)} characters; AWS allows {allowed}",
                    f"shorten it by {len(fixed) - allowed} character(s) (the project or "
                    "environment name, or the construct's name part)"))
    return result
