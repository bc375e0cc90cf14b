"""SQS: the ``RedriveAllowPolicy`` queue attribute, and redrive policies read back as AWS writes
them (moto 5.2.5 drops the first and re-serializes the second).

moto stores a ``RedriveAllowPolicy`` it is given but never returns it (and rejects it as an
unknown name in ``GetQueueAttributes``), so the AWS provider's
``aws_sqs_queue_redrive_allow_policy`` waits for it forever. This adds what the SQS API
reference documents for ``SetQueueAttributes``/``CreateQueue``/``GetQueueAttributes``
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html):

- ``RedriveAllowPolicy`` is a JSON object with ``redrivePermission`` — ``allowAll`` (the
  default: any source queue of the account and Region), ``denyAll`` or ``byQueue`` — and, only
  with ``byQueue``, ``sourceQueueArns`` (1 to 10 queue ARNs). Anything else is an
  ``InvalidAttributeValue``. An empty value removes the policy. ``GetQueueAttributes`` returns
  it (``All`` or by name) once set, as compact JSON.
- The policy is enforced where the docs put it, on the *source* queue: a ``RedrivePolicy`` whose
  ``deadLetterTargetArn`` names a queue that denies all sources, or allows only other queues, is
  refused with ``InvalidParameterValue``.
- ``SetQueueAttributes`` changes only the attributes it is given: moto reset the queue's access
  ``Policy`` whenever a request did not repeat it (setting a redrive-allow policy on a queue
  with an access policy would have dropped the access policy).
- ``RedrivePolicy`` reads back as compact JSON (``{"deadLetterTargetArn":"…",
  "maxReceiveCount":3}``), as AWS returns it; moto's ``json.dumps`` spacing showed as
  whitespace drift in every plan of a queue with a dead-letter queue.

Upstream, this belongs in ``moto/sqs/models.py`` (``Queue.BASE_ATTRIBUTES``,
``Queue._set_attributes``, ``Queue.attributes``).
"""

from __future__ import annotations

import json
from typing import Any

from moto.sqs.exceptions import InvalidParameterValue, SQSException
from moto.sqs.models import Queue, sqs_backends

PERMISSIONS = ("allowAll", "denyAll", "byQueue")
MAX_SOURCE_QUEUES = 10
ATTRIBUTE = "RedriveAllowPolicy"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _invalid(reason: str) -> SQSException:
    return SQSException("InvalidAttributeValue",
                        f"Invalid value for the parameter {ATTRIBUTE}. Reason: {reason}")


def parse_redrive_allow_policy(value: Any) -> dict[str, Any] | None:
    """The policy as a dict, None for an empty value (which removes it); raises
    ``InvalidAttributeValue`` for anything the API reference does not allow."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, str):
        try:
            policy = json.loads(value)
        except ValueError:
            raise _invalid("the policy is not valid JSON") from None
    else:
        policy = value
    if policy == {}:
        return None
    if not isinstance(policy, dict):
        raise _invalid("the policy must be a JSON object")
    unknown = sorted(set(policy) - {"redrivePermission", "sourceQueueArns"})
    if unknown:
        raise _invalid(f"unknown field(s) {', '.join(unknown)}")
    permission = policy.get("redrivePermission")
    if permission not in PERMISSIONS:
        raise _invalid(f"redrivePermission must be one of {', '.join(PERMISSIONS)}")
    sources = policy.get("sourceQueueArns")
    if permission == "byQueue":
        if not isinstance(sources, list) or not sources or not all(
                isinstance(arn, str) and arn.startswith("arn:") for arn in sources):
            raise _invalid("byQueue needs sourceQueueArns: a list of 1 to "
                           f"{MAX_SOURCE_QUEUES} queue ARNs")
        if len(sources) > MAX_SOURCE_QUEUES:
            raise _invalid(f"at most {MAX_SOURCE_QUEUES} sourceQueueArns; use allowAll to "
                           "allow more source queues")
    elif sources is not None:
        raise _invalid("sourceQueueArns is allowed only when redrivePermission is byQueue")
    return policy


def _allows(dlq: Any, source_arn: str) -> bool:
    policy = getattr(dlq, "redrive_allow_policy", None)
    if not policy or policy["redrivePermission"] == "allowAll":
        return True
    if policy["redrivePermission"] == "denyAll":
        return False
    return source_arn in policy.get("sourceQueueArns", [])


def _check_source_allowed(queue: Any, redrive_policy: Any) -> None:
    if Queue._is_empty_redrive_policy(redrive_policy):
        return
    try:
        target = (json.loads(redrive_policy) if isinstance(redrive_policy, str)
                  else redrive_policy).get("deadLetterTargetArn")
    except (ValueError, AttributeError):
        return  # moto's own validation reports it
    backend = sqs_backends[queue.account_id][queue.region]
    dlq = next((q for q in backend.queues.values() if q.queue_arn == target), None)
    if dlq is not None and not _allows(dlq, queue.queue_arn):
        shown = _compact(redrive_policy) if isinstance(redrive_policy, dict) else redrive_policy
        raise InvalidParameterValue(
            f"Value {shown} for parameter RedrivePolicy is invalid. Reason: the dead-letter queue "
            f"{dlq.queue_arn} does not allow {queue.queue_arn} as a source queue (its "
            f"RedriveAllowPolicy).")


def _wrap_set_attributes(original: Any) -> Any:
    def _set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        attributes = dict(attributes)
        if ATTRIBUTE in attributes:
            attributes[ATTRIBUTE] = parse_redrive_allow_policy(attributes[ATTRIBUTE])
        if attributes.get("RedrivePolicy") is not None:
            _check_source_allowed(self, attributes["RedrivePolicy"])
        if "Policy" not in attributes and hasattr(self, "policy"):
            # moto resets the access policy on every SetQueueAttributes without one; AWS
            # changes only the attributes in the request.
            attributes["Policy"] = self.policy
        original(self, attributes, now)

    _set_attributes.__wrapped__ = original  # type: ignore[attr-defined]
    return _set_attributes


def _wrap_attributes(original: property) -> property:
    def attributes(self: Any) -> dict[str, Any]:
        result = original.fget(self)  # type: ignore[misc]
        if result.get(ATTRIBUTE) is None:
            result.pop(ATTRIBUTE, None)
        else:
            result[ATTRIBUTE] = _compact(self.redrive_allow_policy)
        if self.redrive_policy:
            result["RedrivePolicy"] = _compact(self.redrive_policy)
        return result

    return property(attributes)


def install() -> None:
    if getattr(Queue, "_hrsaas_redrive_allow", False):
        return
    Queue.redrive_allow_policy = None  # every queue has it; set queues override it
    if ATTRIBUTE not in Queue.BASE_ATTRIBUTES:
        Queue.BASE_ATTRIBUTES.append(ATTRIBUTE)
    Queue._set_attributes = _wrap_set_attributes(Queue._set_attributes)
    Queue.attributes = _wrap_attributes(Queue.attributes)
    Queue._hrsaas_redrive_allow = True
