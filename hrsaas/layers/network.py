"""network: the guide's §3 — VPC, subnets, NAT, route tables, security groups, endpoints,
flow logs."""

from __future__ import annotations

import dataclasses

from modules.flow_logs import FlowLogs, FlowLogsProps
from modules.security_groups import SecurityGroups, SecurityGroupsProps
from modules.vpc import Vpc, VpcProps
from modules.vpc_endpoints import VpcEndpoints, VpcEndpointsProps

from ..config import Environment
from ..tf import Construct
from .base import LayerStack
from .outputs import LayerOutputs, output
from .security import SecurityOutputs


@dataclasses.dataclass(frozen=True)
class NetworkOutputs(LayerOutputs):
    vpc_id: str = output("VPC ID")
    vpc_cidr: str = output("VPC CIDR block")
    public_subnet_ids: list[str] = output("public subnets (ALB, NAT), one per AZ")
    private_app_subnet_ids: list[str] = output("private-app subnets (ECS tasks), one per AZ")
    private_data_subnet_ids: list[str] = output("private-data subnets (RDS, Redis)")
    alb_security_group_id: str = output("sg-alb")
    ecs_security_group_id: str = output("sg-ecs")
    rds_security_group_id: str = output("sg-rds")
    redis_security_group_id: str = output("sg-redis")
    vpce_security_group_id: str = output("security group of the interface endpoints")


class NetworkStack(LayerStack):
    layer = "network"

    def __init__(self, scope: Construct, env: Environment, *, security: LayerStack):
        super().__init__(scope, env)
        net = env.network
        name = self.names.resource()
        logs_key = None
        if env.capabilities.customer_managed_keys:
            logs_key = SecurityOutputs.read(self, security, ("logs_kms_key_arn",)
                                            ).logs_kms_key_arn

        vpc = Vpc(self, "vpc", VpcProps(
            name=name, cidr=net.vpc_cidr, azs=env.azs, subnets=net.subnets,
            nat_gateways=net.nat_gateways,
        ))
        groups = SecurityGroups(self, "security-groups", SecurityGroupsProps(
            name=name, vpc_id=vpc.vpc.id, alb_ingress_ports=net.alb_ingress_ports,
            alb_ingress_cidr=net.alb_ingress_cidr, app_port_range=net.app_port_range,
            database_port=net.database_port, cache_port=net.cache_port,
        ))
        private_route_tables = [rt.id for rt in (
            vpc.private_app_route_tables + vpc.private_data_route_tables)]
        endpoints = VpcEndpoints(self, "endpoints", VpcEndpointsProps(
            name=name, region=env.region, vpc_id=vpc.vpc.id,
            interface_services=net.interface_endpoints, gateway_services=net.gateway_endpoints,
            subnet_ids=vpc.private_app_subnet_ids, route_table_ids=private_route_tables,
            client_security_group_id=groups.ecs.id,
        ))
        groups.allow_egress(groups.ecs, "ecs-to-vpce", 443, "AWS APIs via interface endpoints",
                            peer=endpoints.security_group)
        if "s3" in endpoints.gateway:
            groups.allow_egress(groups.ecs, "ecs-to-s3", 443, "S3 via the gateway endpoint",
                                prefix_list_id=endpoints.gateway["s3"].prefix_list_id)
        FlowLogs(self, "flow-logs", FlowLogsProps(
            name=name, vpc_id=vpc.vpc.id, account_id=env.account_id,
            retention_days=net.flow_logs_retention_days, traffic_type=net.flow_logs_traffic,
            kms_key_arn=logs_key,
        ))
        self.outputs = NetworkOutputs(
            vpc_id=vpc.vpc.id,
            vpc_cidr=vpc.vpc.cidr_block,
            public_subnet_ids=vpc.public_subnet_ids,
            private_app_subnet_ids=vpc.private_app_subnet_ids,
            private_data_subnet_ids=vpc.private_data_subnet_ids,
            alb_security_group_id=groups.alb.id,
            ecs_security_group_id=groups.ecs.id,
            rds_security_group_id=groups.rds.id,
            redis_security_group_id=groups.redis.id,
            vpce_security_group_id=endpoints.security_group.id,
        ).export(self)
