"""The guide's SNS topics and SQS queues (§8), derived from who publishes and who subscribes.

Each subscribing service gets ``<name>-service-queue`` with ``<name>-service-dlq``; each of its
topics delivers to it raw (Spring Cloud AWS reads the bare payload). Queue policies admit only
the topics that feed them; topics and queues refuse plain HTTP.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from hrsaas.tf import Construct, Fn, Token, aws

CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                   "sqs:GetQueueAttributes", "sqs:GetQueueUrl")


def queue_names(service_name: str) -> tuple[str, str]:
    """(queue, DLQ) of a subscribing service: ``<name>-service-queue``, ``<name>-service-dlq``."""
    return f"{service_name}-queue", f"{service_name}-dlq"


class MessagingProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    topics: tuple[str, ...]
    """Every topic (guide §8), created whether or not a subscriber runs in this environment."""
    subscriptions: dict[str, tuple[str, ...]]
    """service → the topics its queue subscribes to (only services this environment runs)."""
    publishers: dict[str, tuple[str, ...]]
    """service → the topics it may publish to (only services this environment runs)."""
    kms_key_arn: str | None = None
    """CMK for topics and queues; None = SSE-SQS queues and the AWS-managed ``aws/sns`` key."""
    account_id: str
    visibility_timeout_seconds: int = 60
    max_receive_count: int = 3
    queue_retention_seconds: int = 345600
    dlq_retention_seconds: int = 1209600
    redrive_allow_policy: bool = True
    """A DLQ accepts dead letters only from its own queue."""
    deny_insecure_transport: bool = True


class Messaging(Construct):
    def __init__(self, scope: Construct, id_: str, props: MessagingProps):
        super().__init__(scope, id_)
        self.topics: dict[str, aws.sns_topic.SnsTopic] = {}
        root = f"arn:aws:iam::{props.account_id}:root"
        for name in props.topics:
            topic = aws.sns_topic.SnsTopic(
                self, f"topic-{name}", name=name,
                kms_master_key_id=props.kms_key_arn or "alias/aws/sns",
                tags={"Name": name},
            )
            statements = [{
                "sid": "AccountUses",
                "actions": ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes",
                            "sns:ListSubscriptionsByTopic"],
                "principals": [{"type": "AWS", "identifiers": [root]}],
                "resources": [topic.arn],
                # Explicit: principals of this account only, never another account's.
                "condition": [{"test": "StringEquals", "variable": "aws:PrincipalAccount",
                               "values": [props.account_id]}],
            }]
            if props.deny_insecure_transport:
                statements.append(_deny_plain_http("sns:Publish", topic.arn))
            doc = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
                self, f"topic-{name}-policy-document", statement=statements)
            aws.sns_topic_policy.SnsTopicPolicy(self, f"topic-{name}-policy", arn=topic.arn,
                                                policy=doc.json)
            self.topics[name] = topic

        encryption = ({"kms_master_key_id": props.kms_key_arn,
                       "kms_data_key_reuse_period_seconds": 300}
                      if props.kms_key_arn else {"sqs_managed_sse_enabled": True})
        self.queues: dict[str, aws.sqs_queue.SqsQueue] = {}
        self.dlqs: dict[str, aws.sqs_queue.SqsQueue] = {}
        for service, topics in sorted(props.subscriptions.items()):
            base = f"{service}-service"
            tags = {"Service": base}
            queue_name, dlq_name = queue_names(base)
            dlq = aws.sqs_queue.SqsQueue(
                self, f"{base}-dlq", name=dlq_name,
                message_retention_seconds=props.dlq_retention_seconds,
                tags={"Name": dlq_name, **tags}, **encryption)
            queue = aws.sqs_queue.SqsQueue(
                self, f"{base}-queue", name=queue_name,
                visibility_timeout_seconds=props.visibility_timeout_seconds,
                message_retention_seconds=props.queue_retention_seconds,
                redrive_policy=Token.as_string(Fn.jsonencode({
                    "deadLetterTargetArn": dlq.arn,
                    "maxReceiveCount": props.max_receive_count})),
                tags={"Name": queue_name, **tags}, **encryption)
            if props.redrive_allow_policy:
                aws.sqs_queue_redrive_allow_policy.SqsQueueRedriveAllowPolicy(
                    self, f"{base}-dlq-redrive-allow", queue_url=dlq.url,
                    redrive_allow_policy=json.dumps({"redrivePermission": "byQueue",
                                                     "sourceQueueArns": [queue.arn]}))
            topic_arns = [self.topics[t].arn for t in topics]
            statements = [{
                "sid": "SubscribedTopicsOnly",
                "actions": ["sqs:SendMessage"],
                "principals": [{"type": "Service", "identifiers": ["sns.amazonaws.com"]}],
                "resources": [queue.arn],
                "condition": [{"test": "ArnEquals", "variable": "aws:SourceArn",
                               "values": topic_arns}],
            }]
            if props.deny_insecure_transport:
                statements.append(_deny_plain_http("sqs:*", queue.arn))
            doc = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
                self, f"{base}-queue-policy-document", statement=statements)
            policy = aws.sqs_queue_policy.SqsQueuePolicy(
                self, f"{base}-queue-policy", queue_url=queue.url, policy=doc.json)
            for topic in topics:
                aws.sns_topic_subscription.SnsTopicSubscription(
                    self, f"{topic}-to-{base}", topic_arn=self.topics[topic].arn,
                    protocol="sqs", endpoint=queue.arn, raw_message_delivery=True,
                    depends_on=[policy])
            self.queues[service] = queue
            self.dlqs[service] = dlq

        # What each service may do, as IAM policy documents the compute layer attaches.
        self.service_policies: dict[str, str] = {}
        for service in sorted(set(props.publishers) | set(props.subscriptions)):
            statements = []
            published = props.publishers.get(service, ())
            if published:
                statements.append({"sid": "PublishOwnTopics", "actions": ["sns:Publish"],
                                   "resources": [self.topics[t].arn for t in published]})
            if service in self.queues:
                statements.append({"sid": "ConsumeOwnQueue", "actions": list(CONSUME_ACTIONS),
                                   "resources": [self.queues[service].arn]})
            if props.kms_key_arn and statements:
                statements.append({"sid": "UseMessagingKey",
                                   "actions": ["kms:GenerateDataKey", "kms:Decrypt"],
                                   "resources": [props.kms_key_arn]})
            if statements:
                doc = aws.data_aws_iam_policy_document.DataAwsIamPolicyDocument(
                    self, f"{service}-grants", statement=statements)
                self.service_policies[service] = doc.json


def _deny_plain_http(action: str, resource: str) -> dict:
    return {
        "sid": "DenyInsecureTransport",
        "effect": "Deny",
        "actions": [action],
        "principals": [{"type": "*", "identifiers": ["*"]}],
        "resources": [resource],
        "condition": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}],
    }
