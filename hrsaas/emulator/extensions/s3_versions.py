"""S3: deleting object versions from a bucket whose versioning is suspended.

AWS (S3 User Guide, "Deleting object versions from a versioning-suspended bucket"; API reference
``DeleteObject``/``DeleteObjects``): once a bucket has been versioned it keeps its versions when
versioning is suspended, and a delete that names a ``VersionId`` permanently removes that one
version — an object version or a delete marker — and nothing else. The response's
``x-amz-delete-marker`` (``DeleteMarker`` in ``DeleteObjects``) says whether the removed version
was a delete marker.

moto 5.2.5 treats a suspended bucket as never versioned: ``DeleteObject`` with a ``VersionId``
drops *every* version of the key, and when one of them is a delete marker it crashes
(``'FakeDeleteMarker' object has no attribute 'dispose'``, an ``InternalError`` for the caller).
That is exactly what a Terraform destroy does: ``aws_s3_bucket_versioning`` is destroyed first
(versioning becomes ``Suspended``), then the bucket's ``force_destroy`` lists every version and
delete marker and deletes them by ``VersionId`` — so a versioned bucket with a delete marker
(every released state lock leaves one in the state bucket) could not be destroyed: the runner
had to empty every bucket itself before each destroy.

This extension:

* deletes exactly the named version from a suspended bucket (``DeleteObject`` answers with
  ``x-amz-delete-marker: true`` when that version was a delete marker);
* lets a delete marker be disposed of like an object version (it holds no data), so moto's own
  clean-up paths cannot crash on one.

A delete *without* ``VersionId`` on a suspended bucket (AWS: removes the ``null`` version and adds
a ``null`` delete marker) is left as moto has it; the project's destroys always name versions.
Upstream, this belongs in ``moto/s3/models.py`` (``S3Backend.delete_object``,
``FakeDeleteMarker``).
"""

from __future__ import annotations

import functools
from typing import Any

_MARK = "_hrsaas_s3_versions"


def delete_version(backend: Any, bucket: Any, key_name: str, version_id: str,
                   bypass: bool) -> tuple[bool, dict[str, Any]]:
    """Remove one version of ``key_name`` from ``bucket``; moto's ``delete_object`` result."""
    from moto.s3 import notifications
    from moto.s3.exceptions import AccessDeniedByLock
    from moto.s3.models import FakeDeleteMarker, FakeKey

    versions = bucket.keys.getlist(key_name)
    if not versions:
        return False, {}  # moto's answer for an unknown key (a 204 for the caller, as on AWS)
    meta: dict[str, Any] = {"version-id": version_id}
    target = next((v for v in versions if str(v.version_id) == str(version_id)), None)
    if target is None:
        return True, meta  # AWS: deleting a version that does not exist succeeds
    if isinstance(target, FakeKey) and target.is_locked(governance_bypass=bypass):
        raise AccessDeniedByLock
    if isinstance(target, FakeDeleteMarker):
        meta["delete-marker"] = "true"
    remaining = [v for v in versions if v is not target]
    bucket.keys.setlist(key_name, remaining)  # disposes of the removed version
    if not remaining:
        bucket.keys.pop(key_name)
        notifications.send_event(backend.account_id,
                                 notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_EVENT,
                                 bucket, target)
    return True, meta


def install() -> None:
    from moto.s3.models import FakeDeleteMarker, S3Backend

    if getattr(S3Backend, _MARK, False):
        return

    def dispose(self: Any, garbage: bool = False) -> None:
        """A delete marker has no stored data to release."""

    original = S3Backend.delete_object

    @functools.wraps(original)
    def delete_object(self: Any, bucket_name: str, key_name: str,
                      version_id: str | None = None, bypass: bool = False
                      ) -> tuple[bool, dict[str, Any]]:
        bucket = self.get_bucket(bucket_name)
        if version_id is None or getattr(bucket, "versioning_status", None) != "Suspended":
            return original(self, bucket_name, key_name, version_id, bypass)
        return delete_version(self, bucket, key_name, version_id, bypass)

    FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]
    S3Backend.delete_object = delete_object  # type: ignore[method-assign]
    setattr(S3Backend, _MARK, True)
