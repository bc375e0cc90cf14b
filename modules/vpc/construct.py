"""VPC, the guide's six subnets, IGW, NAT gateways, route tables and a locked default SG."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hrsaas.config import Subnet
from hrsaas.tf import Construct, aws


class VpcProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    """Prefix of every Name tag (``hr-saas-<env>``)."""
    cidr: str
    azs: tuple[str, ...]
    subnets: tuple[Subnet, ...]
    nat_gateways: int
    """0: no internet egress from private subnets; 1: one shared NAT (MVP); one per AZ (prod):
    each private-app subnet routes to the NAT in its own AZ."""


class Vpc(Construct):
    def __init__(self, scope: Construct, id_: str, props: VpcProps):
        super().__init__(scope, id_)
        self.vpc = aws.vpc.Vpc(
            self, "vpc", cidr_block=props.cidr, enable_dns_support=True,
            enable_dns_hostnames=True,  # interface endpoints' private DNS needs both
            tags={"Name": props.name},
        )
        # Rules removed from the default SG: nothing can fall back on it (CIS 5.4).
        aws.default_security_group.DefaultSecurityGroup(
            self, "default-sg", vpc_id=self.vpc.id, tags={"Name": f"{props.name}-default"}
        )
        self.subnets: dict[str, aws.subnet.Subnet] = {}
        for spec in props.subnets:
            self.subnets[spec.name] = aws.subnet.Subnet(
                self, f"subnet-{spec.name}", vpc_id=self.vpc.id, cidr_block=spec.cidr,
                availability_zone=spec.az, map_public_ip_on_launch=False,
                tags={"Name": f"{props.name}-{spec.name}", "Tier": spec.tier},
            )
        self.igw = aws.internet_gateway.InternetGateway(
            self, "igw", vpc_id=self.vpc.id, tags={"Name": f"{props.name}-igw"}
        )

        by_tier = {tier: [s for s in props.subnets if s.tier == tier]
                   for tier in ("public", "private_app", "private_data")}
        public_rt = self._route_table("public", props.name)
        aws.route.Route(self, "public-default", route_table_id=public_rt.id,
                        destination_cidr_block="0.0.0.0/0", gateway_id=self.igw.id)
        self._associate(public_rt, "public", by_tier["public"])

        # NAT i lives in the public subnet of AZ i.
        self.nat_by_az: dict[str, aws.nat_gateway.NatGateway] = {}
        for az in props.azs[: props.nat_gateways]:
            public = next(s for s in by_tier["public"] if s.az == az)
            eip = aws.eip.Eip(self, f"nat-eip-{az}", domain="vpc",
                              tags={"Name": f"{props.name}-nat-{az}"})
            self.nat_by_az[az] = aws.nat_gateway.NatGateway(
                self, f"nat-{az}", allocation_id=eip.allocation_id,
                subnet_id=self.subnets[public.name].id,
                tags={"Name": f"{props.name}-nat-{az}"}, depends_on=[self.igw],
            )

        self.private_app_route_tables = []
        for az in props.azs:
            rt = self._route_table(f"private-app-{az}", props.name)
            nat = self.nat_by_az.get(az) or next(iter(self.nat_by_az.values()), None)
            if nat is not None:
                aws.route.Route(self, f"private-app-{az}-default", route_table_id=rt.id,
                                destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)
            self._associate(rt, f"private-app-{az}",
                            [s for s in by_tier["private_app"] if s.az == az])
            self.private_app_route_tables.append(rt)

        # Data subnets: VPC-local routes only, never a route to the internet.
        data_rt = self._route_table("private-data", props.name)
        self._associate(data_rt, "private-data", by_tier["private_data"])
        self.private_data_route_tables = [data_rt]

        self.public_subnet_ids = [self.subnets[s.name].id for s in by_tier["public"]]
        self.private_app_subnet_ids = [self.subnets[s.name].id for s in by_tier["private_app"]]
        self.private_data_subnet_ids = [
            self.subnets[s.name].id for s in by_tier["private_data"]]

    def _route_table(self, key: str, name: str) -> aws.route_table.RouteTable:
        return aws.route_table.RouteTable(self, f"rt-{key}", vpc_id=self.vpc.id,
                                          tags={"Name": f"{name}-{key}"})

    def _associate(self, rt: aws.route_table.RouteTable, key: str, subnets: list[Subnet]
                   ) -> None:
        for spec in subnets:
            aws.route_table_association.RouteTableAssociation(
                self, f"rta-{key}-{spec.name}", route_table_id=rt.id,
                subnet_id=self.subnets[spec.name].id,
            )
