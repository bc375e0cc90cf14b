"""The guide's four security groups with exactly its ingress and least-privilege egress.

| group      | ingress                      | egress                                        |
|------------|------------------------------|-----------------------------------------------|
| sg-alb     | 80, 443 from 0.0.0.0/0       | app port range to sg-ecs                      |
| sg-ecs     | app port range from sg-alb   | 5432 to sg-rds, 6379 to sg-redis, 443 to the  |
|            |                              | endpoint SG and S3, 443 to the internet (NAT) |
| sg-rds     | 5432 from sg-ecs             | none                                          |
| sg-redis   | 6379 from sg-ecs             | none                                          |

AWS forbids group names starting with ``sg-``, so the guide's names are the ``Name`` tags.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from hrsaas.tf import Construct, aws


class SecurityGroupsProps(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    vpc_id: str
    alb_ingress_ports: tuple[int, ...]
    alb_ingress_cidr: str
    app_port_range: tuple[int, int]
    database_port: int
    cache_port: int
    app_internet_egress_ports: tuple[int, ...] = (443,)
    """Outbound to the internet through NAT (third-party APIs); AWS APIs use the endpoints."""


class SecurityGroups(Construct):
    def __init__(self, scope: Construct, id_: str, props: SecurityGroupsProps):
        super().__init__(scope, id_)
        self._vpc_id = props.vpc_id
        self._name = props.name
        self.alb = self._group("alb", "Application Load Balancer: HTTP/HTTPS from the internet")
        self.ecs = self._group("ecs", "ECS Fargate tasks: service ports from the ALB only")
        self.rds = self._group("rds", "RDS PostgreSQL: 5432 from ECS tasks only")
        self.redis = self._group("redis", "ElastiCache Redis: 6379 from ECS tasks only")

        low, high = props.app_port_range
        for port in props.alb_ingress_ports:
            self._ingress(self.alb, f"alb-{port}", port, port, f"HTTP(S) {port} from anywhere",
                          cidr=props.alb_ingress_cidr)
        self._egress(self.alb, "alb-to-ecs", low, high, "to ECS service ports", peer=self.ecs)

        self._ingress(self.ecs, "ecs-from-alb", low, high, "service ports from the ALB",
                      peer=self.alb)
        self._egress(self.ecs, "ecs-to-rds", props.database_port, props.database_port,
                     "PostgreSQL", peer=self.rds)
        self._egress(self.ecs, "ecs-to-redis", props.cache_port, props.cache_port,
                     "Redis (TLS)", peer=self.redis)
        for port in props.app_internet_egress_ports:
            self._egress(self.ecs, f"ecs-internet-{port}", port, port,
                         "outbound HTTPS through NAT to third-party APIs", cidr="0.0.0.0/0")

        self._ingress(self.rds, "rds-from-ecs", props.database_port, props.database_port,
                      "PostgreSQL from ECS tasks", peer=self.ecs)
        self._ingress(self.redis, "redis-from-ecs", props.cache_port, props.cache_port,
                      "Redis from ECS tasks", peer=self.ecs)

    def _group(self, key: str, description: str) -> aws.security_group.SecurityGroup:
        # No inline rules: Terraform then also removes AWS's default allow-all egress.
        # name_prefix: a replacement (create before destroy) needs a name the old group does
        # not hold; the guide's names (sg-alb, ...) are the Name tags.
        group = aws.security_group.SecurityGroup(
            self, f"sg-{key}", name_prefix=f"{self._name}-{key}-", description=description,
            vpc_id=self._vpc_id, tags={"Name": f"sg-{key}"},
            lifecycle={"create_before_destroy": True},
        )
        # `description` forces a new group, and a replacement can never finish in one apply:
        # the old group stays attached to the database, cache, ALB and task ENIs of other
        # stacks (DependencyViolation after the 15-minute delete timeout). A description is
        # cosmetic; changing one is a deliberate, staged replacement.
        group.add_override("lifecycle.ignore_changes", ["description"])
        return group

    def _ingress(self, group, id_: str, from_port: int, to_port: int, description: str,
                 **peer) -> None:
        self._rule(aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule, group, id_,
                   from_port, to_port, description, **peer)

    def _egress(self, group, id_: str, from_port: int, to_port: int, description: str,
                **peer) -> None:
        self._rule(aws.vpc_security_group_egress_rule.VpcSecurityGroupEgressRule, group, id_,
                   from_port, to_port, description, **peer)

    def allow_egress(self, group, id_: str, port: int, description: str, **peer) -> None:
        """One more egress rule, for constructs that own the peer (endpoint SG, S3 prefix list).
        ``peer``: ``peer=<security group>``, ``cidr=…`` or ``prefix_list_id=…``."""
        self._egress(group, id_, port, port, description, **peer)

    def _rule(self, cls, group, id_: str, from_port: int, to_port: int, description: str, *,
              peer=None, cidr: str | None = None, prefix_list_id: str | None = None) -> None:
        cls(self, id_, security_group_id=group.id, ip_protocol="tcp", from_port=from_port,
            to_port=to_port, description=description,
            referenced_security_group_id=peer.id if peer is not None else None,
            cidr_ipv4=cidr, prefix_list_id=prefix_list_id)
