"""REST-JSON handlers of IAM Access Analyzer (botocore ``accessanalyzer/2019-11-01``)."""

from __future__ import annotations

import json
from urllib.parse import unquote

from moto.core.responses import BaseResponse

from .models import AccessAnalyzerBackend, accessanalyzer_backends


class AccessAnalyzerResponse(BaseResponse):
    def __init__(self) -> None:
        super().__init__(service_name="accessanalyzer")

    @property
    def backend(self) -> AccessAnalyzerBackend:
        return accessanalyzer_backends[self.current_account][self.region]

    def _tail(self, marker: str) -> str:
        return unquote(self.parsed_url.path.split(marker, 1)[1])

    def create_analyzer(self) -> str:
        body = json.loads(self.body or "{}")
        arn = self.backend.create_analyzer(body.get("analyzerName"), body.get("type"),
                                           body.get("tags"), body.get("configuration"))
        return json.dumps({"arn": arn})

    def get_analyzer(self) -> str:
        return json.dumps({"analyzer": self.backend.get_analyzer(self._tail("/analyzer/"))})

    def list_analyzers(self) -> str:
        kind = self.querystring.get("type", [None])[0]
        return json.dumps({"analyzers": self.backend.list_analyzers(kind)})

    def delete_analyzer(self) -> str:
        self.backend.delete_analyzer(self._tail("/analyzer/"))
        return "{}"

    def list_tags_for_resource(self) -> str:
        return json.dumps({"tags": self.backend.list_tags_for_resource(self._tail("/tags/"))})

    def tag_resource(self) -> str:
        self.backend.tag_resource(self._tail("/tags/"),
                                  json.loads(self.body or "{}").get("tags") or {})
        return "{}"

    def untag_resource(self) -> str:
        self.backend.untag_resource(self._tail("/tags/"), self.querystring.get("tagKeys", []))
        return "{}"
