"""Application Auto Scaling: tags on scalable targets (moto 5.2.5 has no tagging API).

moto answers ``ListTagsForResource`` with an HTTP 500 (the action is not implemented), and the
AWS provider lists the tags of every ``aws_appautoscaling_target`` it creates or reads, so the
target ends up tainted. This adds what the API reference documents
(https://docs.aws.amazon.com/autoscaling/application/APIReference/):

- ``TagResource`` — adds or overwrites tags on a scalable target; at most 50 tags per target
  (``TooManyTagsException``); keys starting with ``aws:`` are reserved (``ValidationException``).
- ``UntagResource`` — removes the given keys; keys the target does not have are ignored.
- ``ListTagsForResource`` — the target's tags as a map (``Tags``).
- ``RegisterScalableTarget`` ``Tags`` — tags a target when it is created; "to tag an existing
  scalable target, use the TagResource operation", so an update leaves the tags alone.
- ``DeregisterScalableTarget`` drops the target's tags with it.

Only scalable targets are taggable: an ARN that is not a scalable-target ARN is a
``ValidationException``; a well-formed ARN of a target that does not exist (or no longer
exists) is a ``ResourceNotFoundException`` — the shapes of botocore's
``application-autoscaling/2016-02-06`` model.

Upstream, the backend methods belong to ``ApplicationAutoscalingBackend`` (with a
``TaggingService`` created in ``__init__``) and the response methods to
``ApplicationAutoScalingResponse``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core.exceptions import JsonRESTError
from moto.utilities.tagging_service import TaggingService

MAX_TAGS = 50
TARGET_ARN = re.compile(
    r"^arn:.+:application-autoscaling:.+:[0-9]+:scalable-target/[a-zA-Z0-9-]+$")


class ResourceNotFoundException(JsonRESTError):
    def __init__(self, arn: str) -> None:
        super().__init__("ResourceNotFoundException", f"No scalable target found for ARN: {arn}")


class TooManyTagsException(JsonRESTError):
    def __init__(self, arn: str) -> None:
        super().__init__("TooManyTagsException",
                         f"The scalable target {arn} would have more than {MAX_TAGS} tags")


# --- backend ---------------------------------------------------------------------------------

def _tagger(backend: Any) -> Any:
    """The backend's tag store (created on first use: backends may predate ``install()``)."""
    tagger = backend.__dict__.get("_target_tags")
    if tagger is None:
        tagger = backend.__dict__["_target_tags"] = TaggingService()
    return tagger


def _target_by_arn(backend: Any, arn: str) -> Any:
    if not arn or not TARGET_ARN.match(arn):
        raise AWSValidationException(
            f"1 validation error detected: Value '{arn}' at 'resourceARN' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {TARGET_ARN.pattern}")
    for by_resource in backend.targets.values():
        for target in by_resource.values():
            if target.arn == arn:
                return target
    raise ResourceNotFoundException(arn)


def _validate_tags(arn: str, current: dict[str, str], tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if key.lower().startswith("aws:"):
            raise AWSValidationException(f"Tag keys starting with 'aws:' are reserved: {key}")
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise AWSValidationException(
                f"Tag {key!r}: keys are 1-128 characters, values at most 256")
    if len({**current, **tags}) > MAX_TAGS:
        raise TooManyTagsException(arn)


def tag_resource(self: Any, resource_arn: str, tags: dict[str, str]) -> None:
    target = _target_by_arn(self, resource_arn)
    tagger = _tagger(self)
    _validate_tags(target.arn, tagger.get_tag_dict_for_resource(target.arn), tags or {})
    tagger.tag_resource(target.arn, [{"Key": k, "Value": v} for k, v in (tags or {}).items()])


def untag_resource(self: Any, resource_arn: str, tag_keys: list[str]) -> None:
    target = _target_by_arn(self, resource_arn)
    _tagger(self).untag_resource_using_names(target.arn, list(tag_keys or []))


def list_tags_for_resource(self: Any, resource_arn: str) -> dict[str, str]:
    target = _target_by_arn(self, resource_arn)
    return _tagger(self).get_tag_dict_for_resource(target.arn)


def _wrap_register(original: Any) -> Any:
    def register_scalable_target(self: Any, namespace: str, r_id: str, dimension: str,
                                 *args: Any, tags: dict[str, str] | None = None,
                                 **kwargs: Any) -> Any:
        existed = self._scalable_target_exists(r_id, dimension)
        if tags and not existed:
            _validate_tags("(new scalable target)", {}, tags)
        target = original(self, namespace, r_id, dimension, *args, **kwargs)
        if tags and not existed:  # Tags apply on creation only (API reference)
            _tagger(self).tag_resource(target.arn,
                                       [{"Key": k, "Value": v} for k, v in tags.items()])
        return target

    register_scalable_target.__wrapped__ = original  # type: ignore[attr-defined]
    return register_scalable_target


def _wrap_deregister(original: Any) -> Any:
    def deregister_scalable_target(self: Any, namespace: str, r_id: str,
                                   dimension: str) -> None:
        target = self.targets.get(dimension, {}).get(r_id)
        original(self, namespace, r_id, dimension)
        if target is not None:
            _tagger(self).delete_all_tags_for_resource(target.arn)

    deregister_scalable_target.__wrapped__ = original  # type: ignore[attr-defined]
    return deregister_scalable_target


# --- responses -------------------------------------------------------------------------------

def _response_tag_resource(self: Any) -> str:
    self.applicationautoscaling_backend.tag_resource(
        self._get_param("ResourceARN"), self._get_param("Tags") or {})
    return json.dumps({})


def _response_untag_resource(self: Any) -> str:
    self.applicationautoscaling_backend.untag_resource(
        self._get_param("ResourceARN"), self._get_param("TagKeys") or [])
    return json.dumps({})


def _response_list_tags_for_resource(self: Any) -> str:
    tags = self.applicationautoscaling_backend.list_tags_for_resource(
        self._get_param("ResourceARN"))
    return json.dumps({"Tags": tags})


def _response_register_scalable_target(self: Any) -> str:
    self._validate_params()
    target = self.applicationautoscaling_backend.register_scalable_target(
        self._get_param("ServiceNamespace"),
        self._get_param("ResourceId"),
        self._get_param("ScalableDimension"),
        min_capacity=self._get_int_param("MinCapacity"),
        max_capacity=self._get_int_param("MaxCapacity"),
        role_arn=self._get_param("RoleARN"),
        suspended_state=self._get_param("SuspendedState"),
        tags=self._get_param("Tags"),
    )
    return json.dumps({"ScalableTargetARN": target.arn})


def install() -> None:
    Backend, Response = ApplicationAutoscalingBackend, ApplicationAutoScalingResponse
    if getattr(Backend, "_hrsaas_tagging", False):
        return
    Backend.tag_resource = tag_resource
    Backend.untag_resource = untag_resource
    Backend.list_tags_for_resource = list_tags_for_resource
    Backend.register_scalable_target = _wrap_register(Backend.register_scalable_target)
    Backend.deregister_scalable_target = _wrap_deregister(Backend.deregister_scalable_target)
    Response.tag_resource = _response_tag_resource
    Response.untag_resource = _response_untag_resource
    Response.list_tags_for_resource = _response_list_tags_for_resource
    Response.register_scalable_target = _response_register_scalable_target
    Backend._hrsaas_tagging = True
