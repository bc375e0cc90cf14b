"""VPC flow logs to an encrypted CloudWatch log group with retention."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hrsaas.tf import Construct, aws


class FlowLogsProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    vpc_id: str
    account_id: str
    retention_days: int
    traffic_type: str = "ALL"
    kms_key_arn: str | None = None
    """Customer-managed key; None = CloudWatch Logs' own service-managed encryption."""


class FlowLogs(Construct):
    def __init__(self, scope: Construct, id_: str, props: FlowLogsProps):
        super().__init__(scope, id_)
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self, "log-group", name=f"/vpc/{props.name}/flow-logs",
            retention_in_days=props.retention_days, kms_key_id=props.kms_key_arn,
        )
        trust = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
            self, "trust", statement=[{
                "actions": ["sts:AssumeRole"],
                "principals": [{"type": "Service",
                                "identifiers": ["vpc-flow-logs.amazonaws.com"]}],
                # Confused-deputy guard: only flow logs of this account may assume the role.
                "condition": [{"test": "StringEquals", "variable": "aws:SourceAccount",
                               "values": [props.account_id]}],
            }],
        )
        self.role = aws.iam_role.IamRole(
            self, "role", name=f"{props.name}-flow-logs", assume_role_policy=trust.json
        )
        write = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
            self, "write", statement=[{
                "actions": ["logs:CreateLogStream", "logs:PutLogEvents",
                            "logs:DescribeLogStreams"],
                "resources": [f"{self.log_group.arn}:*"],
            }],
        )
        aws.iam_role_policy.IamRolePolicy(
            self, "write-policy", name="write-flow-logs", role=self.role.id, policy=write.json
        )
        self.flow_log = aws.flow_log.FlowLog(
            self, "flow-log", vpc_id=props.vpc_id, traffic_type=props.traffic_type,
            log_destination_type="cloud-watch-logs", log_destination=self.log_group.arn,
            iam_role_arn=self.role.arn, max_aggregation_interval=60,
            tags={"Name": f"{props.name}-flow-logs"},
        )
