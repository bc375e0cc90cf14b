"""The internet-facing Application Load Balancer of the API (guide §7): HTTP 80 redirects to
HTTPS, HTTPS 443 terminates TLS with the regional ACM certificate and answers a fixed 404 unless
a service's listener rule matches; invalid header fields are dropped; access logs go to the
environment's log bucket."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws


class AlbProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$")
    """Load balancer name (at most 32 characters)."""
    subnet_ids: list[str] | str
    """The public subnets, one per AZ (a list, or a token of one)."""
    security_group_id: str
    """``sg-alb``: 80 and 443 from the internet."""
    certificate_arn: str
    """Validated ACM certificate in the ALB's region."""
    tls_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    access_log_bucket: str
    """Bucket whose policy lets the region's ELB log delivery write under ``access_log_prefix``."""
    access_log_prefix: str = "alb"
    deletion_protection: bool = True
    idle_timeout_seconds: int = Field(60, ge=1, le=4000)
    tags: dict[str, str] = {}


class Alb(Construct):
    def __init__(self, scope: Construct, id_: str, props: AlbProps):
        super().__init__(scope, id_)
        listener = aws.lb_listener
        self.lb = aws.lb.Lb(
            self, "alb", name=props.name, internal=False, load_balancer_type="application",
            subnets=props.subnet_ids, security_groups=[props.security_group_id],
            # Requests with header names that are not valid HTTP never reach the services
            # (request smuggling through malformed headers).
            drop_invalid_header_fields=True,
            enable_deletion_protection=props.deletion_protection,
            idle_timeout=props.idle_timeout_seconds,
            access_logs={"bucket": props.access_log_bucket, "prefix": props.access_log_prefix,
                         "enabled": True},
            tags={"Name": props.name, **props.tags},
        )
        self.http = listener.LbListener(
            self, "http", load_balancer_arn=self.lb.arn, port=80, protocol="HTTP",
            default_action=[listener.LbListenerDefaultAction(
                type="redirect",
                redirect=listener.LbListenerDefaultActionRedirect(
                    protocol="HTTPS", port="443", status_code="HTTP_301"))],
        )
        self.https = listener.LbListener(
            self, "https", load_balancer_arn=self.lb.arn, port=443, protocol="HTTPS",
            ssl_policy=props.tls_policy, certificate_arn=props.certificate_arn,
            # Only the services' path rules forward; everything else is a 404 from the ALB.
            default_action=[listener.LbListenerDefaultAction(
                type="fixed-response",
                fixed_response=listener.LbListenerDefaultActionFixedResponse(
                    content_type="application/json", status_code="404",
                    message_body='{"status":404,"error":"Not Found"}'))],
        )
        self.arn = self.lb.arn
        self.dns_name = self.lb.dns_name
        self.zone_id = self.lb.zone_id
        self.https_listener_arn = self.https.arn
