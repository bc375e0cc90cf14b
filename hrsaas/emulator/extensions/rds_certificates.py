"""RDS: a new DB instance gets the Region's default certificate authority (CA), as in AWS.

AWS (RDS User Guide, "Using SSL/TLS to encrypt a connection to a DB instance"; API reference
``DescribeCertificates``/``ModifyCertificates``): a DB instance created without
``CACertificateIdentifier`` gets the *default CA for new launches* — the account's override set
with ``ModifyCertificates``, or else the Region's system default, ``rds-ca-rsa2048-g1``.
``DescribeCertificates`` lists the CAs and names that default in
``DefaultCertificateForNewLaunches``.

moto 5.2.5 gives every new instance ``rds-ca-default``, an identifier AWS never returns, and has
neither operation. The AWS provider creates an instance without ``CACertificateIdentifier`` and
compares the CA of the created instance with ``ca_cert_identifier``: on moto they always differ,
so every ``aws_db_instance`` that names its CA gets a ``ModifyDBInstance`` after creation and a
second wait for ``available`` (80 s: a fixed one-minute delay and three polls 10 s apart).

This extension:

* gives an instance created without ``CACertificateIdentifier`` the default for new launches
  (an explicit one is kept, as before);
* adds ``DescribeCertificates`` (``CertificateIdentifier`` selects one; an unknown one is
  ``CertificateNotFound``) and ``ModifyCertificates`` (set or, with ``RemoveCustomerOverride``,
  remove the account's override in the Region), following botocore's ``rds`` service model.

The catalogue holds the CAs RDS offers for new instances; validity dates and thumbprints are left
out (they differ per Region and the model has them optional).
"""

from __future__ import annotations

import functools
from typing import Any

SYSTEM_DEFAULT_CA = "rds-ca-rsa2048-g1"
# The CAs RDS offers for new DB instances (RDS User Guide, "Certificate authorities").
CERTIFICATE_AUTHORITIES = ("rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1")

_OVERRIDE = "_hrsaas_default_ca_override"  # per backend: per account and Region, as in AWS
_MARK = "_hrsaas_rds_certificates"


def default_for_new_launches(backend: Any) -> str:
    return getattr(backend, _OVERRIDE, None) or SYSTEM_DEFAULT_CA


def _certificate(backend: Any, identifier: str) -> dict[str, Any]:
    override = getattr(backend, _OVERRIDE, None)
    return {
        "CertificateIdentifier": identifier,
        "CertificateType": "CA",
        "CertificateArn": f"arn:{backend.partition}:rds:{backend.region_name}::cert:{identifier}",
        "CustomerOverride": override == identifier,
    }


def install() -> None:
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import RDSBackend
    from moto.rds.responses import RDSResponse

    if getattr(RDSBackend, _MARK, False):
        return

    class CertificateNotFoundFault(RDSClientError):
        def __init__(self, identifier: str):
            super().__init__("CertificateNotFound", f"Certificate {identifier} not found.")

    def check(identifier: str) -> None:
        if identifier not in CERTIFICATE_AUTHORITIES:
            raise CertificateNotFoundFault(identifier)

    original_create = RDSBackend.create_db_instance

    @functools.wraps(original_create)
    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        if not db_kwargs.get("ca_certificate_identifier"):
            db_kwargs["ca_certificate_identifier"] = default_for_new_launches(self)
        return original_create(self, db_kwargs)

    def describe_certificates(self: Any) -> ActionResult:
        identifier = self._get_param("CertificateIdentifier")
        if identifier:
            check(identifier)
        wanted = [identifier] if identifier else list(CERTIFICATE_AUTHORITIES)
        return ActionResult({
            "DefaultCertificateForNewLaunches": default_for_new_launches(self.backend),
            "Certificates": [_certificate(self.backend, i) for i in wanted],
        })

    def modify_certificates(self: Any) -> ActionResult:
        identifier = self._get_param("CertificateIdentifier")
        remove = str(self._get_param("RemoveCustomerOverride", False)).lower() == "true"
        if remove:
            current = getattr(self.backend, _OVERRIDE, None)
            setattr(self.backend, _OVERRIDE, None)
            shown = identifier or current or SYSTEM_DEFAULT_CA
            check(shown)
            return ActionResult({"Certificate": _certificate(self.backend, shown)})
        if not identifier:
            raise RDSClientError("InvalidParameterCombination",
                                 "Specify CertificateIdentifier or RemoveCustomerOverride.")
        check(identifier)
        setattr(self.backend, _OVERRIDE, identifier)
        return ActionResult({"Certificate": _certificate(self.backend, identifier)})

    RDSBackend.create_db_instance = create_db_instance  # type: ignore[method-assign]
    RDSResponse.describe_certificates = describe_certificates  # type: ignore[attr-defined]
    RDSResponse.modify_certificates = modify_certificates  # type: ignore[attr-defined]
    setattr(RDSBackend, _MARK, True)
