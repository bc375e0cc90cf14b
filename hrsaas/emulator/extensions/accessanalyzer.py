"""IAM Access Analyzer: a service moto 5.2.5 does not have, added for the account analyzer.

Added as the IAM Access Analyzer API reference documents it
(https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_Operations.html) and
botocore's ``accessanalyzer/2019-11-01`` model shapes it (REST-JSON, signing name
``access-analyzer``):

- ``CreateAnalyzer`` (``PUT /analyzer``): ``analyzerName`` starts with a letter, then up to 254
  letters, digits, ``.``, ``-`` or ``_``; ``type`` one of ``ACCOUNT``, ``ORGANIZATION``,
  ``ACCOUNT_UNUSED_ACCESS``, ``ORGANIZATION_UNUSED_ACCESS`` (``ValidationException``); a name
  in use is a ``ConflictException`` (409); one ``ACCOUNT`` analyzer per account and Region
  (``ServiceQuotaExceededException``). The analyzer is ``ACTIVE`` at once (moto analyzes
  nothing, so it has no findings).
- ``GetAnalyzer``, ``ListAnalyzers`` (``type`` filter), ``DeleteAnalyzer``: an unknown name is a
  ``ResourceNotFoundException`` (404), which the AWS provider reads as gone.
- ``ListTagsForResource``, ``TagResource``, ``UntagResource`` on an analyzer's ARN
  ``arn:aws:access-analyzer:<region>:<account>:analyzer/<name>``; ``tags`` on create.

moto finds a service by the signing name of the request and a URL pattern of its backend
index, and imports ``moto.<service>`` for its backends: ``install`` registers the backend
(``_accessanalyzer``, laid out as a moto service) under both. Upstream it would be a new
``moto/accessanalyzer`` package.
"""

from __future__ import annotations

import re
import sys

_SERVICE = "accessanalyzer"


def install() -> None:
    from moto import backend_index

    from . import _accessanalyzer

    sys.modules.setdefault(f"moto.{_SERVICE}", _accessanalyzer)
    if not any(name == _SERVICE for name, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(
            (_SERVICE, re.compile(r"https?://access-analyzer\.(.+)\.amazonaws\.com")))
