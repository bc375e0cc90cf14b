"""A WAFv2 web ACL with AWS managed rule groups and its logging, for CloudFront (scope
``CLOUDFRONT``, created in us-east-1) or a regional resource such as the ALB (``REGIONAL``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws

MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet",
                       "AWSManagedRulesKnownBadInputsRuleSet",
                       "AWSManagedRulesAmazonIpReputationList")


class WebAclProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,128}$")
    scope: Literal["CLOUDFRONT", "REGIONAL"]
    rule_groups: tuple[str, ...] = MANAGED_RULE_GROUPS
    """AWS managed rule groups, evaluated in this order."""
    log_retention_days: int = 365
    logs_kms_key_arn: str | None = None
    provider: Any = None
    """The us-east-1 provider for scope CLOUDFRONT."""
    associate_with: str | None = None
    """ARN of a regional resource (the ALB) to protect; CloudFront names the ACL itself."""


class WebAcl(Construct):
    def __init__(self, scope: Construct, id_: str, props: WebAclProps):
        super().__init__(scope, id_)
        extra = {"provider": props.provider} if props.provider is not None else {}
        self.acl = aws.wafv2_web_acl.Wafv2WebAcl(
            self, "acl", name=props.name, scope=props.scope,
            default_action={"allow": {}},
            visibility_config={"cloudwatch_metrics_enabled": True, "metric_name": props.name,
                               "sampled_requests_enabled": True},
            **extra,
        )
        # Nested rule blocks are written in Terraform's own schema (a raw override): jsii would
        # drop the multi-word keys of plain dicts nested in lists.
        self.acl.add_override("rule", [{
            "name": group, "priority": index,
            "override_action": {"none": {}},
            "statement": {"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
            "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": group,
                                  "sampled_requests_enabled": True},
        } for index, group in enumerate(props.rule_groups)])
        # WAF logs must go to a log group named aws-waf-logs-*, in the ACL's region.
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self, "logs", name=f"aws-waf-logs-{props.name}",
            retention_in_days=props.log_retention_days, kms_key_id=props.logs_kms_key_arn,
            **extra)
        aws.wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfiguration(
            self, "logging", resource_arn=self.acl.arn,
            log_destination_configs=[self.log_group.arn], **extra)
        if props.associate_with is not None:
            aws.wafv2_web_acl_association.Wafv2WebAclAssociation(
                self, "association", resource_arn=props.associate_with,
                web_acl_arn=self.acl.arn, **extra)
        self.arn = self.acl.arn
