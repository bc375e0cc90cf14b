"""IAM Access Analyzer analyzers and their tags (see ``extensions/accessanalyzer.py``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.utilities.tagging_service import TaggingService

ANALYZER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,254}$")
TYPES = ("ACCOUNT", "ORGANIZATION", "ACCOUNT_UNUSED_ACCESS", "ORGANIZATION_UNUSED_ACCESS")


class AccessAnalyzerError(JsonRESTError):
    def __init__(self, code: str, message: str, status: int):
        super().__init__(code, message)
        self.code = status


def _not_found(what: str) -> AccessAnalyzerError:
    return AccessAnalyzerError("ResourceNotFoundException", f"{what} not found", 404)


def _validation(message: str) -> AccessAnalyzerError:
    return AccessAnalyzerError("ValidationException", message, 400)


class AccessAnalyzerBackend(BaseBackend):
    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self.analyzers: dict[str, dict[str, Any]] = {}
        self.tagger = TaggingService(tag_name="tags")

    def _arn(self, name: str) -> str:
        return (f"arn:{self.partition}:access-analyzer:{self.region_name}:{self.account_id}:"
                f"analyzer/{name}")

    def create_analyzer(self, name: str, kind: str, tags: dict[str, str] | None,
                        configuration: dict[str, Any] | None) -> str:
        if not name or not ANALYZER_NAME.match(name):
            raise _validation(f"Invalid analyzer name: {name!r}")
        if kind not in TYPES:
            raise _validation(f"Invalid analyzer type: {kind!r}")
        if name in self.analyzers:
            raise AccessAnalyzerError("ConflictException",
                                      f"Analyzer {name} already exists", 409)
        if kind == "ACCOUNT" and any(a["type"] == "ACCOUNT" for a in self.analyzers.values()):
            # One account analyzer per account and Region (IAM Access Analyzer quotas).
            raise AccessAnalyzerError("ServiceQuotaExceededException",
                                      "Only one account analyzer is allowed per Region", 402)
        arn = self._arn(name)
        self.analyzers[name] = {
            "arn": arn, "name": name, "type": kind, "status": "ACTIVE",
            "createdAt": datetime.now(UTC).isoformat(),
            **({"configuration": configuration} if configuration else {})}
        if tags:
            self.tagger.tag_resource(arn, self.tagger.convert_dict_to_tags_input(tags))
        return arn

    def get_analyzer(self, name: str) -> dict[str, Any]:
        analyzer = self.analyzers.get(name)
        if analyzer is None:
            raise _not_found(f"Analyzer {name}")
        return {**analyzer, "tags": self.tagger.get_tag_dict_for_resource(analyzer["arn"])}

    def list_analyzers(self, kind: str | None) -> list[dict[str, Any]]:
        return [self.get_analyzer(n) for n, a in self.analyzers.items()
                if kind is None or a["type"] == kind]

    def delete_analyzer(self, name: str) -> None:
        analyzer = self.analyzers.pop(name, None)
        if analyzer is None:
            raise _not_found(f"Analyzer {name}")
        self.tagger.delete_all_tags_for_resource(analyzer["arn"])

    def _resource(self, arn: str) -> str:
        if not any(a["arn"] == arn for a in self.analyzers.values()):
            raise _not_found(f"Resource {arn}")
        return arn

    def list_tags_for_resource(self, arn: str) -> dict[str, str]:
        return self.tagger.get_tag_dict_for_resource(self._resource(arn))

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        self.tagger.tag_resource(self._resource(arn),
                                 self.tagger.convert_dict_to_tags_input(tags or {}))

    def untag_resource(self, arn: str, keys: list[str]) -> None:
        self.tagger.untag_resource_using_names(self._resource(arn), list(keys or []))


accessanalyzer_backends = BackendDict(AccessAnalyzerBackend, "accessanalyzer")
