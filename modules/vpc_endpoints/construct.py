"""The guide's VPC endpoints: interface endpoints (private DNS, their own SG admitting 443 from
the app tier) in the private-app subnets, gateway endpoints on the private route tables."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hrsaas.tf import Construct, aws


class VpcEndpointsProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    region: str
    vpc_id: str
    interface_services: tuple[str, ...] = Field(
        description="short service names: ecr.dkr, ecr.api, logs, secretsmanager, sqs, sns")
    gateway_services: tuple[str, ...] = ("s3",)
    subnet_ids: list[str]
    """Where the interface endpoints' network interfaces live (private-app, one per AZ)."""
    route_table_ids: list[str]
    """Private route tables that get the gateway endpoints' routes."""
    client_security_group_id: str
    """The only group admitted to the interface endpoints (sg-ecs)."""


class VpcEndpoints(Construct):
    def __init__(self, scope: Construct, id_: str, props: VpcEndpointsProps):
        super().__init__(scope, id_)
        self.security_group = aws.security_group.SecurityGroup(
            # name_prefix: replaced create-before-destroy, the new group needs its own name.
            self, "sg-vpce", name_prefix=f"{props.name}-vpce-",
            description="Interface VPC endpoints: HTTPS from ECS tasks only",
            vpc_id=props.vpc_id, tags={"Name": "sg-vpce"},
            lifecycle={"create_before_destroy": True},
        )
        # As for modules/security_groups: a description change must not replace a group the
        # endpoints' ENIs hold.
        self.security_group.add_override("lifecycle.ignore_changes", ["description"])
        aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            self, "vpce-from-ecs", security_group_id=self.security_group.id, ip_protocol="tcp",
            from_port=443, to_port=443, description="HTTPS from ECS tasks",
            referenced_security_group_id=props.client_security_group_id,
        )
        self.interface: dict[str, aws.vpc_endpoint.VpcEndpoint] = {}
        for service in props.interface_services:
            self.interface[service] = aws.vpc_endpoint.VpcEndpoint(
                self, f"interface-{service}", vpc_id=props.vpc_id,
                service_name=f"com.amazonaws.{props.region}.{service}",
                vpc_endpoint_type="Interface", private_dns_enabled=True,
                subnet_ids=props.subnet_ids, security_group_ids=[self.security_group.id],
                tags={"Name": f"{props.name}-{service}"},
            )
        self.gateway: dict[str, aws.vpc_endpoint.VpcEndpoint] = {}
        for service in props.gateway_services:
            self.gateway[service] = aws.vpc_endpoint.VpcEndpoint(
                self, f"gateway-{service}", vpc_id=props.vpc_id,
                service_name=f"com.amazonaws.{props.region}.{service}",
                vpc_endpoint_type="Gateway", route_table_ids=props.route_table_ids,
                tags={"Name": f"{props.name}-{service}"},
            )
