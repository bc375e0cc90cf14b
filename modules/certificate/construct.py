"""An ACM certificate validated through Route 53 DNS records, with the validation wait."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hrsaas.tf import Construct, TerraformResourceLifecycle, aws


class CertificateProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    domain_name: str
    subject_alternative_names: tuple[str, ...] = ()
    zone_id: str
    provider: object | None = None
    """An aliased AwsProvider (us-east-1 for CloudFront); None = the stack's default region."""
    validated_by: object | None = None
    """Another ``Certificate`` for the same names (in another region) whose DNS records
    validate this one too: ACM gives the same validation record for the same name in one
    account, so the records have one owner and neither certificate's replacement removes the
    other's (no ``allow_overwrite``)."""


class Certificate(Construct):
    def __init__(self, scope: Construct, id_: str, props: CertificateProps):
        super().__init__(scope, id_)
        extra = {"provider": props.provider} if props.provider is not None else {}
        self.certificate = aws.acm_certificate.AcmCertificate(
            self, "certificate", domain_name=props.domain_name,
            subject_alternative_names=list(props.subject_alternative_names),
            validation_method="DNS", key_algorithm="RSA_2048",
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True), **extra,
        )
        if props.validated_by is None:
            self.records = self._validation_records(props)
        else:
            self.records = props.validated_by.records
        validation_fqdns = [r.fqdn for r in self.records]
        self.validation = aws.acm_certificate_validation.AcmCertificateValidation(
            self, "validation", certificate_arn=self.certificate.arn,
            validation_record_fqdns=validation_fqdns, **extra,
        )
        if props.validated_by is not None:
            # If ACM ever asked this certificate for other records, the wait could only time
            # out: say so before anything waits.
            own = f"aws_acm_certificate.{self.certificate.friendly_unique_id}"
            other = f"aws_acm_certificate.{props.validated_by.certificate.friendly_unique_id}"
            self.validation.add_override("lifecycle.precondition", [{
                "condition": (
                    f"${{toset([for o in {own}.domain_validation_options : "
                    f"o.resource_record_value]) == toset([for o in "
                    f"{other}.domain_validation_options : o.resource_record_value])}}"),
                "error_message": "ACM asks this certificate for validation records other than "
                                 "the ones its sibling certificate created; give it its own "
                                 "records (modules/certificate).",
            }])
        # Consumers use the validated ARN, so nothing attaches an unvalidated certificate.
        self.arn = self.validation.certificate_arn

    def _validation_records(self, props: CertificateProps) -> list:
        """One validation record per distinct name: the apex and its wildcard share one."""
        address = f"aws_acm_certificate.{self.certificate.friendly_unique_id}"
        records = []
        for index, name in enumerate(dict.fromkeys(
                n.removeprefix("*.") for n in (props.domain_name,
                                               *props.subject_alternative_names))):
            option = (f'[for o in {address}.domain_validation_options : o '
                      f'if o.domain_name == "{name}"][0]')
            records.append(aws.route53_record.Route53Record(
                self, f"validation-{index}", zone_id=props.zone_id,
                name=f"${{{option}.resource_record_name}}",
                type=f"${{{option}.resource_record_type}}",
                records=[f"${{{option}.resource_record_value}}"],
                ttl=60,
            ))
        return records
