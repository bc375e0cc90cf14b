"""Cost Explorer: Cost Anomaly Detection monitors and subscriptions (moto 5.2.5 has none).

Added as the Cost Explorer API reference documents them
(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_Operations_AWS_Cost_Explorer_Service.html)
and botocore's ``ce/2017-10-25`` model shapes them:

- ``CreateAnomalyMonitor`` (``AnomalyMonitor``, ``ResourceTags``) → ``MonitorArn``
  ``arn:aws:ce::<account>:anomalymonitor/<uuid>``. A ``DIMENSIONAL`` monitor needs
  ``MonitorDimension`` and a ``CUSTOM`` one ``MonitorSpecification``
  (``ValidationException``); AWS allows one ``DIMENSIONAL`` monitor per dimension
  (``ServiceQuotaExceededException``, as AWS answers "Limit exceeded on dimensional spend
  monitor creation").
- ``GetAnomalyMonitors`` (``MonitorArnList``; empty = all), ``UpdateAnomalyMonitor``
  (``MonitorName``), ``DeleteAnomalyMonitor``; an unknown ARN is an
  ``UnknownMonitorException``.
- ``CreateAnomalySubscription`` (``AnomalySubscription``, ``ResourceTags``) →
  ``SubscriptionArn`` ``arn:aws:ce::<account>:anomalysubscription/<uuid>``: every monitor it
  names must exist (``UnknownMonitorException``); an ``SNS`` subscriber requires the
  ``IMMEDIATE`` frequency (``ValidationException``), and the other frequencies e-mail only.
- ``GetAnomalySubscriptions`` (``SubscriptionArnList``, ``MonitorArn``),
  ``UpdateAnomalySubscription`` (the fields given replace the stored ones),
  ``DeleteAnomalySubscription``; an unknown ARN is an ``UnknownSubscriptionException``.
- Tags of monitors and subscriptions through moto's existing ``TagResource``,
  ``UntagResource`` and ``ListTagsForResource`` (its tagger, shared with cost categories).

Upstream, the backend methods belong to ``CostExplorerBackend`` and the responses to
``CostExplorerResponse``.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.ce.models import CostExplorerBackend
from moto.ce.responses import CostExplorerResponse
from moto.core.exceptions import JsonRESTError

_MARK = "_hrsaas_anomaly_detection"


class _Error(JsonRESTError):
    code = 400


def _unknown_monitor(arn: str) -> _Error:
    return _Error("UnknownMonitorException", f"No anomaly monitor found with ARN {arn}")


def _unknown_subscription(arn: str) -> _Error:
    return _Error("UnknownSubscriptionException",
                  f"No anomaly subscription found with ARN {arn}")


def _store(backend: Any, kind: str) -> dict[str, dict[str, Any]]:
    return backend.__dict__.setdefault(f"_hrsaas_{kind}", {})


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


# --- monitors --------------------------------------------------------------------------------

def create_anomaly_monitor(self: Any, monitor: dict[str, Any],
                           tags: list[dict[str, str]] | None) -> str:
    kind = monitor.get("MonitorType")
    if kind == "DIMENSIONAL" and not monitor.get("MonitorDimension"):
        raise _Error("ValidationException", "A DIMENSIONAL monitor needs MonitorDimension")
    if kind == "CUSTOM" and not monitor.get("MonitorSpecification"):
        raise _Error("ValidationException", "A CUSTOM monitor needs MonitorSpecification")
    monitors = _store(self, "monitors")
    if kind == "DIMENSIONAL" and any(
            m["MonitorType"] == "DIMENSIONAL"
            and m.get("MonitorDimension") == monitor.get("MonitorDimension")
            for m in monitors.values()):
        raise _Error("ServiceQuotaExceededException",
                     "Limit exceeded on dimensional spend monitor creation")
    arn = f"arn:aws:ce::{self.account_id}:anomalymonitor/{uuid.uuid4()}"
    monitors[arn] = {**monitor, "MonitorArn": arn, "CreationDate": _today(),
                     "LastUpdatedDate": _today(), "DimensionalValueCount": 0}
    if tags:
        self.tagger.tag_resource(arn, tags)
    return arn


def get_anomaly_monitors(self: Any, arns: list[str] | None) -> list[dict[str, Any]]:
    monitors = _store(self, "monitors")
    for arn in arns or ():
        if arn not in monitors:
            raise _unknown_monitor(arn)
    return [monitors[a] for a in (arns or list(monitors))]


def update_anomaly_monitor(self: Any, arn: str, name: str | None) -> str:
    monitor = _store(self, "monitors").get(arn)
    if monitor is None:
        raise _unknown_monitor(arn)
    if name:
        monitor.update(MonitorName=name, LastUpdatedDate=_today())
    return arn


def delete_anomaly_monitor(self: Any, arn: str) -> None:
    if _store(self, "monitors").pop(arn, None) is None:
        raise _unknown_monitor(arn)
    self.tagger.delete_all_tags_for_resource(arn)


# --- subscriptions ---------------------------------------------------------------------------

def _validate_subscription(self: Any, subscription: dict[str, Any]) -> None:
    for arn in subscription.get("MonitorArnList") or ():
        if arn not in _store(self, "monitors"):
            raise _unknown_monitor(arn)
    sns = any(s.get("Type") == "SNS" for s in subscription.get("Subscribers") or ())
    if sns and subscription.get("Frequency") != "IMMEDIATE":
        raise _Error("ValidationException",
                     "SNS subscribers are only supported with the IMMEDIATE frequency")


def create_anomaly_subscription(self: Any, subscription: dict[str, Any],
                                tags: list[dict[str, str]] | None) -> str:
    _validate_subscription(self, subscription)
    arn = f"arn:aws:ce::{self.account_id}:anomalysubscription/{uuid.uuid4()}"
    _store(self, "subscriptions")[arn] = {
        **subscription, "SubscriptionArn": arn,
        "AccountId": subscription.get("AccountId") or self.account_id}
    if tags:
        self.tagger.tag_resource(arn, tags)
    return arn


def get_anomaly_subscriptions(self: Any, arns: list[str] | None,
                              monitor_arn: str | None) -> list[dict[str, Any]]:
    subscriptions = _store(self, "subscriptions")
    for arn in arns or ():
        if arn not in subscriptions:
            raise _unknown_subscription(arn)
    found = [subscriptions[a] for a in (arns or list(subscriptions))]
    if monitor_arn:
        found = [s for s in found if monitor_arn in s.get("MonitorArnList", ())]
    return found


def update_anomaly_subscription(self: Any, arn: str, changes: dict[str, Any]) -> str:
    subscription = _store(self, "subscriptions").get(arn)
    if subscription is None:
        raise _unknown_subscription(arn)
    updated = {**subscription, **{k: v for k, v in changes.items() if v is not None}}
    _validate_subscription(self, updated)
    subscription.update(updated)
    return arn


def delete_anomaly_subscription(self: Any, arn: str) -> None:
    if _store(self, "subscriptions").pop(arn, None) is None:
        raise _unknown_subscription(arn)
    self.tagger.delete_all_tags_for_resource(arn)


# --- responses -------------------------------------------------------------------------------

def _params(self: Any) -> dict[str, Any]:
    return json.loads(self.body or "{}")


def _r_create_monitor(self: Any) -> str:
    p = _params(self)
    arn = self.ce_backend.create_anomaly_monitor(p.get("AnomalyMonitor") or {},
                                                 p.get("ResourceTags"))
    return json.dumps({"MonitorArn": arn})


def _r_get_monitors(self: Any) -> str:
    monitors = self.ce_backend.get_anomaly_monitors(_params(self).get("MonitorArnList"))
    return json.dumps({"AnomalyMonitors": monitors})


def _r_update_monitor(self: Any) -> str:
    p = _params(self)
    arn = self.ce_backend.update_anomaly_monitor(p.get("MonitorArn"), p.get("MonitorName"))
    return json.dumps({"MonitorArn": arn})


def _r_delete_monitor(self: Any) -> str:
    self.ce_backend.delete_anomaly_monitor(_params(self).get("MonitorArn"))
    return json.dumps({})


def _r_create_subscription(self: Any) -> str:
    p = _params(self)
    arn = self.ce_backend.create_anomaly_subscription(p.get("AnomalySubscription") or {},
                                                      p.get("ResourceTags"))
    return json.dumps({"SubscriptionArn": arn})


def _r_get_subscriptions(self: Any) -> str:
    p = _params(self)
    found = self.ce_backend.get_anomaly_subscriptions(p.get("SubscriptionArnList"),
                                                      p.get("MonitorArn"))
    return json.dumps({"AnomalySubscriptions": found})


def _r_update_subscription(self: Any) -> str:
    p = _params(self)
    arn = p.pop("SubscriptionArn", None)
    # UpdateAnomalySubscription names the monitors MonitorArnList, like the stored shape.
    arn = self.ce_backend.update_anomaly_subscription(arn, p)
    return json.dumps({"SubscriptionArn": arn})


def _r_delete_subscription(self: Any) -> str:
    self.ce_backend.delete_anomaly_subscription(_params(self).get("SubscriptionArn"))
    return json.dumps({})


def install() -> None:
    Backend, Response = CostExplorerBackend, CostExplorerResponse
    if getattr(Backend, _MARK, False):
        return
    for function in (create_anomaly_monitor, get_anomaly_monitors, update_anomaly_monitor,
                     delete_anomaly_monitor, create_anomaly_subscription,
                     get_anomaly_subscriptions, update_anomaly_subscription,
                     delete_anomaly_subscription):
        setattr(Backend, function.__name__, function)
    Response.create_anomaly_monitor = _r_create_monitor
    Response.get_anomaly_monitors = _r_get_monitors
    Response.update_anomaly_monitor = _r_update_monitor
    Response.delete_anomaly_monitor = _r_delete_monitor
    Response.create_anomaly_subscription = _r_create_subscription
    Response.get_anomaly_subscriptions = _r_get_subscriptions
    Response.update_anomaly_subscription = _r_update_subscription
    Response.delete_anomaly_subscription = _r_delete_subscription
    setattr(Backend, _MARK, True)
