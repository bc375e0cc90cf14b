"""What the local emulator (moto) cannot do, declared once and applied only to emulated envs.

Real environments never get these: the gaps and the drift below are moto's, not AWS's
(PLATFORM.md). Kept free of cdktf imports: the deploy scripts read it too.

Gaps the project closes itself are not listed here: they are emulator extensions
(``hrsaas/emulator/extensions/``, installed by the launcher) — ElastiCache parameter groups,
replication-group member clusters and deletes, Application Auto Scaling tags, AWS Backup
selections, SQS redrive-allow policies and compact redrive-policy JSON, IAM Access Analyzer,
Budgets notification subscribers and tags, Cost Anomaly Detection monitors and subscriptions,
the default RDS CA for new instances, and version deletes from versioning-suspended S3 buckets
(so ``force_destroy`` empties a bucket with delete markers).
"""

from __future__ import annotations

from typing import Any

# resource type → attributes that moto reports differently from what was applied.
EMULATOR_ONLY_DRIFT: dict[str, tuple[str, ...]] = {
    # moto drops the description of rules that reference another security group.
    "aws_vpc_security_group_ingress_rule": ("description",),
    "aws_vpc_security_group_egress_rule": ("description",),
    # moto returns the parameter set of its own defaults, not what was applied.
    "aws_db_parameter_group": ("parameter",),
    # moto fills CloudFront blocks with its own defaults (forwarded_values, origin settings).
    "aws_cloudfront_distribution": ("origin", "default_cache_behavior", "viewer_certificate"),
    # moto does not return an ECS service's capacity-provider strategy (a forced replacement),
    # its AZ rebalancing, managed tags or health-check grace period.
    "aws_ecs_service": ("capacity_provider_strategy", "availability_zone_rebalancing",
                        "enable_ecs_managed_tags", "health_check_grace_period_seconds"),
    # moto does not keep Performance Insights settings.
    "aws_db_instance": ("performance_insights_enabled", "performance_insights_retention_period",
                        "performance_insights_kms_key_id"),
}

# Layers the emulator cannot apply, with the reason. `make deploy ENV=local` plans them (the
# plan must succeed) and applies everything else. Empty: cache, scaling, backup, audit and
# the cost budget apply since the extensions elasticache, application_autoscaling, backup,
# accessanalyzer, budgets and cost_explorer close their gaps.
PLAN_ONLY_LAYERS: dict[str, str] = {}


def ignore_emulator_drift(stack: Any) -> None:
    """Add ``ignore_changes`` for moto's drift to every resource of the stack."""
    for construct in stack.node.find_all():
        kind = getattr(construct, "terraform_resource_type", None)
        attrs = EMULATOR_ONLY_DRIFT.get(kind or "")
        if attrs and hasattr(construct, "add_override"):
            # Keep what the construct ignores itself (e.g. an ECS service's desired_count).
            own = (getattr(construct, "_raw_overrides", None) or {}).get(
                "lifecycle", {}).get("ignore_changes", [])
            construct.add_override("lifecycle.ignore_changes",
                                   [*own, *(a for a in attrs if a not in own)])


def supports_redrive_allow_policy(env: Any) -> bool:
    """Every environment gets its DLQs' redrive-allow policies: the emulator keeps and returns
    them since the ``sqs`` extension (moto alone dropped them and the provider waited forever)."""
    return True


def enforces_tls_in_policies(env: Any) -> bool:
    """moto evaluates policy conditions only partly: a condition on a key it does not know (like
    ``aws:SecureTransport``) counts as met, so a TLS-only Deny denies every request there. The
    emulator gets bucket policies without that statement; real environments always have it."""
    return not env.is_emulated
