"""AWS Backup: backup selections, recovery-point listing and tag reads (moto 5.2.5 lacks them).

What moto is missing, added as the AWS Backup API reference documents it
(https://docs.aws.amazon.com/aws-backup/latest/devguide/api-reference.html) and botocore's
``backup/2018-11-15`` model shapes it:

- ``CreateBackupSelection`` (``PUT /backup/plans/{id}/selections/``): assigns resources to a
  plan. ``SelectionName`` is 1-50 of ``[a-zA-Z0-9-_.]`` and unique within the plan
  (``AlreadyExistsException``); ``Resources`` or ``ListOfTags`` must be non-empty
  (``InvalidParameterValueException``: "Invalid backup selection. Either 'ListOfTags' or
  'Resources' section must be non-empty."); ``IamRoleArn`` is required
  (``MissingParameterValueException``); at most 500 resource ARNs (``LimitExceededException``).
  ``CreatorRequestId`` is the idempotency token: a retry with the same token returns the
  selection created the first time.
- ``GetBackupSelection``, ``ListBackupSelections`` (paginated by ``maxResults``/``nextToken``),
  ``DeleteBackupSelection``. A plan that does not exist (or was deleted) is an
  ``InvalidParameterValueException`` "Cannot find Backup plan …" (what AWS answers and the
  provider treats as gone); a selection that does not exist is a
  ``ResourceNotFoundException``. A selection reads back with every list present
  (``Resources``, ``NotResources``, ``ListOfTags`` and the four ``Conditions`` lists), as AWS
  returns it.
- ``DeleteBackupPlan`` refuses a plan that still has selections: ``InvalidRequestException``
  "Related backup plan selections must be deleted prior to backup plan deletion".
- ``ListRecoveryPointsByBackupVault`` (``GET /backup-vaults/{name}/recovery-points/``): the
  vault's recovery points — none, since moto runs no backup jobs — or
  ``ResourceNotFoundException`` for a vault that does not exist. (The provider lists them to
  empty a vault before deleting it with ``force_destroy``.)
- ``ListTags`` (``GET /tags/{resourceArn}/``): moto took the ARN from the second-to-last path
  segment, which only exists with the trailing slash; SDKs that drop it (the Go SDK the AWS
  provider uses) got no tags, and every vault and plan showed ``tags_all`` drift.

Upstream, the backend methods belong to ``BackupBackend`` (selections kept on the ``Plan``),
the response methods to ``BackupResponse`` and the recovery-points path to
``moto/backup/urls.py``.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from moto.backup import urls
from moto.backup.exceptions import (
    AlreadyExistsException,
    BackupClientError,
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse
from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random

SELECTION_NAME = re.compile(r"^[a-zA-Z0-9\-\_\.]{1,50}$")
MAX_RESOURCES = 500
CONDITION_LISTS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
SELECTIONS_PATH = re.compile(
    r"/backup/plans/(?P<plan>[^/]+)/selections(?:/(?P<selection>[^/]*))?/?$")
RECOVERY_POINTS_URL = "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$"


class MissingParameterValueException(BackupClientError):
    def __init__(self, msg: str):
        super().__init__("MissingParameterValueException", msg)


class LimitExceededException(BackupClientError):
    def __init__(self, msg: str):
        super().__init__("LimitExceededException", msg)


class Selection:
    def __init__(self, plan_id: str, body: dict[str, Any], creator_request_id: str | None):
        self.selection_id = str(mock_random.uuid4())
        self.backup_plan_id = plan_id
        self.creation_date = unix_time()
        self.creator_request_id = creator_request_id
        conditions = body.get("Conditions") or {}
        self.body = {
            "SelectionName": body["SelectionName"],
            "IamRoleArn": body["IamRoleArn"],
            "Resources": list(body.get("Resources") or []),
            "ListOfTags": list(body.get("ListOfTags") or []),
            "NotResources": list(body.get("NotResources") or []),
            "Conditions": {k: list(conditions.get(k) or []) for k in CONDITION_LISTS},
        }

    def to_get_dict(self) -> dict[str, Any]:
        out = {"BackupSelection": self.body, "SelectionId": self.selection_id,
               "BackupPlanId": self.backup_plan_id, "CreationDate": self.creation_date}
        if self.creator_request_id:
            out["CreatorRequestId"] = self.creator_request_id
        return out

    def to_list_dict(self) -> dict[str, Any]:
        out = {"SelectionId": self.selection_id, "SelectionName": self.body["SelectionName"],
               "BackupPlanId": self.backup_plan_id, "CreationDate": self.creation_date,
               "IamRoleArn": self.body["IamRoleArn"]}
        if self.creator_request_id:
            out["CreatorRequestId"] = self.creator_request_id
        return out


# --- backend ---------------------------------------------------------------------------------

def _selections(backend: Any, plan_id: str) -> dict[str, Selection]:
    """The plan's selections, by ID (the store is created on first use: backends may predate
    ``install()``)."""
    store = backend.__dict__.setdefault("_selections", {})
    return store.setdefault(plan_id, {})


def _live_plan(backend: Any, plan_id: str) -> Any:
    plan = backend.plans.get(plan_id)
    if plan is None or plan.deletion_date is not None:
        raise InvalidParameterValueException(msg=f"Cannot find Backup plan with ID {plan_id}")
    return plan


def create_backup_selection(self: Any, backup_plan_id: str, backup_selection: dict[str, Any],
                            creator_request_id: str | None) -> Selection:
    _live_plan(self, backup_plan_id)
    selections = _selections(self, backup_plan_id)
    if creator_request_id:
        for existing in selections.values():
            if existing.creator_request_id == creator_request_id:
                return existing  # idempotent retry
    body = backup_selection or {}
    name = body.get("SelectionName")
    if not name:
        raise MissingParameterValueException("SelectionName is required")
    if not body.get("IamRoleArn"):
        raise MissingParameterValueException("IamRoleArn is required")
    if not SELECTION_NAME.match(name):
        raise InvalidParameterValueException(
            msg=f"Invalid selection name {name}: 1 to 50 alphanumeric or '-_.' characters")
    if not body.get("Resources") and not body.get("ListOfTags"):
        raise InvalidParameterValueException(
            msg="Invalid backup selection. Either 'ListOfTags' or 'Resources' section must be "
                "non-empty.")
    if len(body.get("Resources") or []) > MAX_RESOURCES:
        raise LimitExceededException(
            f"A backup selection can have at most {MAX_RESOURCES} resource ARNs")
    if any(s.body["SelectionName"] == name for s in selections.values()):
        raise AlreadyExistsException(msg=f"Backup selection with name {name} already exists "
                                         f"in backup plan {backup_plan_id}")
    selection = Selection(backup_plan_id, body, creator_request_id)
    selections[selection.selection_id] = selection
    return selection


def get_backup_selection(self: Any, backup_plan_id: str, selection_id: str) -> Selection:
    _live_plan(self, backup_plan_id)
    selection = _selections(self, backup_plan_id).get(selection_id)
    if selection is None:
        raise ResourceNotFoundException(
            msg=f"Cannot find selection with ID {selection_id} in backup plan {backup_plan_id}")
    return selection


def delete_backup_selection(self: Any, backup_plan_id: str, selection_id: str) -> None:
    self.get_backup_selection(backup_plan_id, selection_id)
    del _selections(self, backup_plan_id)[selection_id]


def list_backup_selections(self: Any, backup_plan_id: str) -> list[Selection]:
    _live_plan(self, backup_plan_id)
    return list(_selections(self, backup_plan_id).values())


def list_recovery_points_by_backup_vault(self: Any, backup_vault_name: str) -> list[Any]:
    """moto runs no backup jobs, so a vault holds no recovery points."""
    if backup_vault_name not in self.vaults:
        raise ResourceNotFoundException(msg=f"Backup vault {backup_vault_name} not found")
    return []


def _wrap_delete_backup_plan(original: Any) -> Any:
    def delete_backup_plan(self: Any, backup_plan_id: str) -> Any:
        if backup_plan_id in self.plans and _selections(self, backup_plan_id):
            raise InvalidRequestException(
                msg="Related backup plan selections must be deleted prior to backup plan "
                    "deletion")
        return original(self, backup_plan_id)

    delete_backup_plan.__wrapped__ = original  # type: ignore[attr-defined]
    return delete_backup_plan


# --- responses -------------------------------------------------------------------------------

def _ids(response: Any) -> tuple[str, str | None]:
    match = SELECTIONS_PATH.search(unquote(response.path.split("?", 1)[0]))
    if match is None:  # cannot happen for the routed actions
        raise InvalidParameterValueException(msg=f"Malformed path {response.path}")
    return match["plan"], match["selection"] or None


def _response_create_backup_selection(self: Any) -> str:
    plan_id, _ = _ids(self)
    params = json.loads(self.body or "{}")
    selection = self.backup_backend.create_backup_selection(
        backup_plan_id=plan_id, backup_selection=params.get("BackupSelection"),
        creator_request_id=params.get("CreatorRequestId"))
    return json.dumps({"SelectionId": selection.selection_id,
                       "BackupPlanId": selection.backup_plan_id,
                       "CreationDate": selection.creation_date})


def _response_get_backup_selection(self: Any) -> str:
    plan_id, selection_id = _ids(self)
    selection = self.backup_backend.get_backup_selection(plan_id, selection_id or "")
    return json.dumps(selection.to_get_dict())


def _response_delete_backup_selection(self: Any) -> str:
    plan_id, selection_id = _ids(self)
    self.backup_backend.delete_backup_selection(plan_id, selection_id or "")
    return "{}"


def _response_list_backup_selections(self: Any) -> str:
    plan_id, _ = _ids(self)
    selections = self.backup_backend.list_backup_selections(plan_id)
    page, token = _page(self, selections)
    out: dict[str, Any] = {"BackupSelectionsList": [s.to_list_dict() for s in page]}
    if token:
        out["NextToken"] = token
    return json.dumps(out)


def _response_list_recovery_points_by_backup_vault(self: Any) -> str:
    name = unquote(self.path.split("?", 1)[0].rstrip("/").split("/")[-2])
    points = self.backup_backend.list_recovery_points_by_backup_vault(name)
    return json.dumps({"RecoveryPoints": points})


def _response_list_tags(self: Any) -> str:
    # GET /tags/{resourceArn}/ — with or without the trailing slash.
    arn = unquote(self.path.split("?", 1)[0].split("/tags/", 1)[1].rstrip("/"))
    return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=arn)})


def _page(response: Any, items: list[Any]) -> tuple[list[Any], str | None]:
    params = response._get_params()
    start = int(params.get("nextToken") or 0)
    size = int(params.get("maxResults") or 1000)
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def install() -> None:
    if getattr(BackupBackend, "_hrsaas_selections", False):
        return
    BackupBackend.create_backup_selection = create_backup_selection
    BackupBackend.get_backup_selection = get_backup_selection
    BackupBackend.delete_backup_selection = delete_backup_selection
    BackupBackend.list_backup_selections = list_backup_selections
    BackupBackend.list_recovery_points_by_backup_vault = list_recovery_points_by_backup_vault
    BackupBackend.delete_backup_plan = _wrap_delete_backup_plan(BackupBackend.delete_backup_plan)
    BackupResponse.create_backup_selection = _response_create_backup_selection
    BackupResponse.get_backup_selection = _response_get_backup_selection
    BackupResponse.delete_backup_selection = _response_delete_backup_selection
    BackupResponse.list_backup_selections = _response_list_backup_selections
    BackupResponse.list_recovery_points_by_backup_vault = (
        _response_list_recovery_points_by_backup_vault)
    BackupResponse.list_tags = _response_list_tags
    urls.url_paths.setdefault(RECOVERY_POINTS_URL, BackupResponse.dispatch)
    BackupBackend._hrsaas_selections = True
