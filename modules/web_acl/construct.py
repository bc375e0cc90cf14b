"""A WAFv2 web ACL with AWS managed rule groups and its logging, for CloudFront (scope
``CLOUDFRONT``, created in us-east-1) or a regional resource such as the ALB (``REGIONAL``)."""

from __future__ import annotations

import re
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
    large_body_paths: tuple[str, ...] = ()
    """Path patterns (``/api/v1/files/*``) that accept request bodies over the common rule
    set's 8 KB limit (file uploads). Elsewhere such bodies stay blocked."""

# The common rule set's body-size rule and the label it leaves when it only counts.
BODY_SIZE_RULE = "SizeRestrictions_BODY"
BODY_SIZE_LABEL = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"


def _path_regex(patterns: tuple[str, ...]) -> str:
    """``/api/v1/files/*`` → ``^/api/v1/files/`` (ALB path patterns: ``*`` at the end)."""
    prefixes = [re.escape(p.removesuffix("*")).replace("\\/", "/") for p in patterns]
    return "^(" + "|".join(prefixes) + ")"


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
        rules: list[dict[str, Any]] = []
        for index, group in enumerate(props.rule_groups):
            statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
            if group == "AWSManagedRulesCommonRuleSet" and props.large_body_paths:
                # Count (label) instead of block; the rule below blocks what is not an upload.
                statement["rule_action_override"] = [
                    {"name": BODY_SIZE_RULE, "action_to_use": {"count": {}}}]
            rules.append({
                "name": group, "priority": index, "override_action": {"none": {}},
                "statement": {"managed_rule_group_statement": statement},
                "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": group,
                                      "sampled_requests_enabled": True},
            })
        if props.large_body_paths:
            name = "BlockLargeBodiesOutsideUploads"
            rules.append({
                "name": name, "priority": len(rules), "action": {"block": {}},
                "statement": {"and_statement": {"statement": [
                    {"label_match_statement": {"scope": "LABEL", "key": BODY_SIZE_LABEL}},
                    {"not_statement": {"statement": [{"regex_match_statement": {
                        "regex_string": _path_regex(props.large_body_paths),
                        "field_to_match": {"uri_path": {}},
                        "text_transformation": [{"priority": 0, "type": "NONE"}],
                    }}]}},
                ]}},
                "visibility_config": {"cloudwatch_metrics_enabled": True, "metric_name": name,
                                      "sampled_requests_enabled": True},
            })
        self.acl.add_override("rule", rules)
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
