"""AWS Budgets: subscribers of a notification and budget tags (moto 5.2.5 lacks them).

What moto is missing, added as the AWS Budgets API reference documents it
(https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_Operations_AWS_Budgets.html)
and botocore's ``budgets/2016-10-20`` model shapes it:

- ``DescribeSubscribersForNotification`` (``AccountId``, ``BudgetName``, ``Notification``):
  the subscribers of one notification of a budget, as ``Subscribers`` of
  ``{SubscriptionType, Address}``. A budget that does not exist, or a notification it does not
  have, is a ``NotFoundException``. (The AWS provider reads every notification's subscribers
  after each create and on every refresh of an ``aws_budgets_budget``.)
- ``ListTagsForResource``, ``TagResource``, ``UntagResource`` on a budget's ARN
  (``arn:aws:budgets::<account>:budget/<name>``; ``ResourceTags`` of ``{Key, Value}``,
  ``ResourceTagKeys``); ``CreateBudget`` applies its ``ResourceTags``, ``DeleteBudget`` drops
  them. An ARN of no budget is a ``NotFoundException``.

Notifications are matched on their four identifying fields (type, comparison, threshold,
threshold type); the threshold is a number on the wire (``80`` and ``80.0`` are one threshold).

Upstream, the backend methods belong to ``BudgetsBackend`` and the response methods to
``BudgetsResponse``.
"""

from __future__ import annotations

import json
from typing import Any

from moto.budgets.exceptions import NotFoundException
from moto.budgets.models import BudgetsBackend
from moto.budgets.responses import BudgetsResponse
from moto.utilities.tagging_service import TaggingService

_MARK = "_hrsaas_budgets"


def _tagger(backend: Any) -> TaggingService:
    tagger = backend.__dict__.get("_hrsaas_tags")
    if tagger is None:
        tagger = backend.__dict__["_hrsaas_tags"] = TaggingService(
            tag_name="ResourceTags", key_name="Key", value_name="Value")
    return tagger


def _notification_key(notification: dict[str, Any]) -> tuple[Any, ...]:
    return (notification.get("NotificationType"), notification.get("ComparisonOperator"),
            float(notification.get("Threshold", 0)),
            notification.get("ThresholdType", "PERCENTAGE"))


def _budget_of_arn(backend: Any, arn: str) -> tuple[str, str]:
    prefix, _, name = (arn or "").partition(":budget/")
    account = prefix.rsplit(":", 1)[-1]
    if not name or name not in backend.budgets.get(account, {}):
        raise NotFoundException(f"Unable to find resource {arn}")
    return account, name


# --- backend ---------------------------------------------------------------------------------

def describe_subscribers_for_notification(self: Any, account_id: str, budget_name: str,
                                          notification: dict[str, Any]) -> list[dict]:
    budget = self.budgets[account_id].get(budget_name)
    if budget is None:
        raise NotFoundException(
            f"Unable to get subscribers - the budget {budget_name} doesn't exist.")
    wanted = _notification_key(notification or {})
    for item in budget.notifications:
        if _notification_key(item.details) == wanted:
            return list(item.subscribers)
    raise NotFoundException(
        f"Unable to get subscribers - the notification doesn't exist for budget {budget_name}.")


def _wrap_create(original: Any) -> Any:
    def create_budget(self: Any, account_id: str, budget: dict[str, Any],
                      notifications: list[dict[str, Any]],
                      tags: list[dict[str, str]] | None = None) -> None:
        original(self, account_id=account_id, budget=budget, notifications=notifications)
        if tags:
            _tagger(self).tag_resource(_arn(account_id, budget["BudgetName"]), tags)

    create_budget.__wrapped__ = original  # type: ignore[attr-defined]
    return create_budget


def _wrap_delete(original: Any) -> Any:
    def delete_budget(self: Any, account_id: str, budget_name: str) -> None:
        original(self, account_id=account_id, budget_name=budget_name)
        _tagger(self).delete_all_tags_for_resource(_arn(account_id, budget_name))

    delete_budget.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_budget


def _arn(account_id: str, name: str) -> str:
    return f"arn:aws:budgets::{account_id}:budget/{name}"


def list_tags_for_resource(self: Any, arn: str) -> list[dict[str, str]]:
    account, name = _budget_of_arn(self, arn)
    return _tagger(self).list_tags_for_resource(_arn(account, name))["ResourceTags"]


def tag_resource(self: Any, arn: str, tags: list[dict[str, str]]) -> None:
    account, name = _budget_of_arn(self, arn)
    _tagger(self).tag_resource(_arn(account, name), tags or [])


def untag_resource(self: Any, arn: str, keys: list[str]) -> None:
    account, name = _budget_of_arn(self, arn)
    _tagger(self).untag_resource_using_names(_arn(account, name), keys or [])


# --- responses -------------------------------------------------------------------------------

def _response_describe_subscribers(self: Any) -> str:
    subscribers = self.backend.describe_subscribers_for_notification(
        self._get_param("AccountId"), self._get_param("BudgetName"),
        self._get_param("Notification"))
    return json.dumps({"Subscribers": subscribers})


def _response_create_budget(self: Any) -> str:
    self.backend.create_budget(
        account_id=self._get_param("AccountId"), budget=self._get_param("Budget"),
        notifications=self._get_param("NotificationsWithSubscribers", []),
        tags=self._get_param("ResourceTags"))
    return json.dumps({})


def _response_list_tags(self: Any) -> str:
    return json.dumps({"ResourceTags": self.backend.list_tags_for_resource(
        self._get_param("ResourceARN"))})


def _response_tag(self: Any) -> str:
    self.backend.tag_resource(self._get_param("ResourceARN"),
                              self._get_param("ResourceTags"))
    return json.dumps({})


def _response_untag(self: Any) -> str:
    self.backend.untag_resource(self._get_param("ResourceARN"),
                                self._get_param("ResourceTagKeys"))
    return json.dumps({})


def install() -> None:
    Backend, Response = BudgetsBackend, BudgetsResponse
    if getattr(Backend, _MARK, False):
        return
    Backend.describe_subscribers_for_notification = describe_subscribers_for_notification
    Backend.create_budget = _wrap_create(Backend.create_budget)
    Backend.delete_budget = _wrap_delete(Backend.delete_budget)
    Backend.list_tags_for_resource = list_tags_for_resource
    Backend.tag_resource = tag_resource
    Backend.untag_resource = untag_resource
    Response.describe_subscribers_for_notification = _response_describe_subscribers
    Response.create_budget = _response_create_budget
    Response.list_tags_for_resource = _response_list_tags
    Response.tag_resource = _response_tag
    Response.untag_resource = _response_untag
    setattr(Backend, _MARK, True)
