"""messaging: the guide's SNS topics, SQS queues, DLQs and subscriptions (§8), derived from the
service catalog's ``publishes`` and ``subscribes``."""

from __future__ import annotations

import dataclasses

from modules.messaging import Messaging, MessagingProps

from ..config import Environment
from ..emulator import supports_redrive_allow_policy
from ..tf import Construct
from .base import LayerStack
from .outputs import LayerOutputs, output
from .security import SecurityOutputs


@dataclasses.dataclass(frozen=True)
class MessagingOutputs(LayerOutputs):
    topic_arns: dict[str, str] = output("topic name → ARN")
    queue_urls: dict[str, str] = output("service → its queue URL")
    dlq_names: list[str] = output("every DLQ (for the observability alarms)")
    service_policies: dict[str, str] = output(
        "service → IAM policy JSON: publish to its topics, consume its queue")


class MessagingStack(LayerStack):
    layer = "messaging"

    def __init__(self, scope: Construct, env: Environment, *, security: LayerStack):
        super().__init__(scope, env)
        key = None
        if env.capabilities.customer_managed_keys:
            key = SecurityOutputs.read(self, security, ("messaging_kms_key_arn",)
                                       ).messaging_kms_key_arn
        services = env.deployed_services()
        msg = env.messaging
        bus = Messaging(self, "messaging", MessagingProps(
            topics=env.catalog.topics,
            subscriptions={s.name: s.subscribes for s in services if s.subscribes},
            publishers={s.name: s.publishes for s in services if s.publishes},
            kms_key_arn=key,
            account_id=env.account_id,
            visibility_timeout_seconds=msg.visibility_timeout_seconds,
            max_receive_count=msg.max_receive_count,
            queue_retention_seconds=msg.queue_retention_seconds,
            dlq_retention_seconds=msg.dlq_retention_seconds,
            redrive_allow_policy=supports_redrive_allow_policy(env),
        ))
        self.outputs = MessagingOutputs(
            topic_arns={name: t.arn for name, t in bus.topics.items()},
            queue_urls={svc: q.url for svc, q in bus.queues.items()},
            dlq_names=[q.name for q in bus.dlqs.values()],
            service_policies=bus.service_policies,
        ).export(self)
