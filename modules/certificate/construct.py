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
        # One validation record per distinct name: the apex and its wildcard share one.
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
                ttl=60, allow_overwrite=True,
            ))
        self.validation = aws.acm_certificate_validation.AcmCertificateValidation(
            self, "validation", certificate_arn=self.certificate.arn,
            validation_record_fqdns=[r.fqdn for r in records], **extra,
        )
        # Consumers use the validated ARN, so nothing attaches an unvalidated certificate.
        self.arn = self.validation.certificate_arn
