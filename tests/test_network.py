"""The network layer against the guide's §3 tables, for mvp and prod, from the synthesized JSON."""

from __future__ import annotations

import pytest

# Guide §3, written out once here as the expectation (the product reads it from envs/).
SUBNETS = {
    "public-a": ("10.0.1.0/24", "ap-northeast-2a", "public"),
    "public-c": ("10.0.2.0/24", "ap-northeast-2c", "public"),
    "private-app-a": ("10.0.10.0/24", "ap-northeast-2a", "private_app"),
    "private-app-c": ("10.0.11.0/24", "ap-northeast-2c", "private_app"),
    "private-data-a": ("10.0.20.0/24", "ap-northeast-2a", "private_data"),
    "private-data-c": ("10.0.21.0/24", "ap-northeast-2c", "private_data"),
}
INTERFACE_ENDPOINTS = {"ecr.dkr", "ecr.api", "logs", "secretsmanager", "sqs", "sns"}
NATS = {"mvp": 1, "prod": 2, "local": 1}


@pytest.fixture(params=["mvp", "prod"])
def net(request, stack):
    return request.param, stack(f"{request.param}-network")


def test_vpc_and_subnets(net):
    env, s = net
    vpc_addr, vpc = s.by_tag("aws_vpc", f"hr-saas-{env}")
    assert vpc["cidr_block"] == "10.0.0.0/16"
    assert vpc["enable_dns_support"] and vpc["enable_dns_hostnames"]
    subnets = {body["tags"]["Name"].removeprefix(f"hr-saas-{env}-"): body
               for body in s.resources("aws_subnet").values()}
    assert {name: (b["cidr_block"], b["availability_zone"], b["tags"]["Tier"])
            for name, b in subnets.items()} == SUBNETS
    assert all(b["vpc_id"] == f"${{{vpc_addr}.id}}" for b in subnets.values())
    assert not any(b["map_public_ip_on_launch"] for b in subnets.values())


def _routes_by_table(s):
    routes: dict[str, list[dict]] = {}
    for route in s.resources("aws_route").values():
        table, _ = s.deref(route["route_table_id"])
        routes.setdefault(table, []).append(route)
    return routes


def _tables_of(s):
    """subnet name → route table address, from the associations."""
    out = {}
    for assoc in s.resources("aws_route_table_association").values():
        _, subnet = s.deref(assoc["subnet_id"])
        table, _ = s.deref(assoc["route_table_id"])
        out[subnet["tags"]["Name"].split("-", 3)[-1]] = table
    return out


def test_nat_gateways_and_routes(net):
    env, s = net
    nats = s.resources("aws_nat_gateway")
    assert len(nats) == NATS[env]
    nat_az = {}
    for rid, nat in nats.items():
        _, subnet = s.deref(nat["subnet_id"])
        assert subnet["tags"]["Tier"] == "public"
        nat_az[f"aws_nat_gateway.{rid}"] = subnet["availability_zone"]
    assert len(s.resources("aws_eip")) == NATS[env]

    tables, routes = _tables_of(s), _routes_by_table(s)
    assert set(tables) == set(SUBNETS)
    igw_addr = f"aws_internet_gateway.{next(iter(s.resources('aws_internet_gateway')))}"
    for name, (_, az, tier) in SUBNETS.items():
        table_routes = routes.get(tables[name], [])
        if tier == "public":
            assert [(r["destination_cidr_block"], r["gateway_id"]) for r in table_routes] == [
                ("0.0.0.0/0", f"${{{igw_addr}.id}}")]
        elif tier == "private_app":
            assert len(table_routes) == 1 and "gateway_id" not in table_routes[0]
            nat, _ = s.deref(table_routes[0]["nat_gateway_id"])
            # With two NATs each private-app subnet leaves through the NAT in its own AZ.
            assert nat_az[nat] == (az if NATS[env] == 2 else "ap-northeast-2a")
        else:
            assert table_routes == [], f"{name} must have no route to the internet"


def _rules(s, kind):
    """(group Name tag, port range, peer) for every rule of the kind."""
    out = set()
    for rule in s.resources(kind).values():
        _, group = s.deref(rule["security_group_id"])
        if "referenced_security_group_id" in rule:
            peer = s.deref(rule["referenced_security_group_id"])[1]["tags"]["Name"]
        elif "prefix_list_id" in rule:
            peer = "s3-prefix-list"
        else:
            peer = rule["cidr_ipv4"]
        assert rule["ip_protocol"] == "tcp" and rule["description"]
        out.add((group["tags"]["Name"], rule["from_port"], rule["to_port"], peer))
    return out


def test_security_groups_exactly_as_the_guide(net):
    _, s = net
    groups = {g["tags"]["Name"] for g in s.resources("aws_security_group").values()}
    assert groups == {"sg-alb", "sg-ecs", "sg-rds", "sg-redis", "sg-vpce"}
    assert not any("ingress" in g or "egress" in g
                   for g in s.resources("aws_security_group").values())
    # A replacement could never finish (other stacks' ENIs hold the old group): a prefix so the
    # new group's name is free, and a description change is not a replacement.
    for g in s.resources("aws_security_group").values():
        assert "name" not in g and g["name_prefix"].endswith("-")
        assert g["lifecycle"] == {"create_before_destroy": True,
                                  "ignore_changes": ["description"]}
    assert _rules(s, "aws_vpc_security_group_ingress_rule") == {
        ("sg-alb", 80, 80, "0.0.0.0/0"),
        ("sg-alb", 443, 443, "0.0.0.0/0"),
        ("sg-ecs", 8081, 8093, "sg-alb"),
        ("sg-rds", 5432, 5432, "sg-ecs"),
        ("sg-redis", 6379, 6379, "sg-ecs"),
        ("sg-vpce", 443, 443, "sg-ecs"),
    }
    # Least privilege: data stores and endpoints initiate nothing.
    assert _rules(s, "aws_vpc_security_group_egress_rule") == {
        ("sg-alb", 8081, 8093, "sg-ecs"),
        ("sg-ecs", 5432, 5432, "sg-rds"),
        ("sg-ecs", 6379, 6379, "sg-redis"),
        ("sg-ecs", 443, 443, "sg-vpce"),
        ("sg-ecs", 443, 443, "s3-prefix-list"),
        ("sg-ecs", 443, 443, "0.0.0.0/0"),
    }
    default_sg = s.one("aws_default_security_group")
    assert "ingress" not in default_sg and "egress" not in default_sg


def test_vpc_endpoints(net):
    env, s = net
    endpoints = s.resources("aws_vpc_endpoint").values()
    interface = {e["service_name"].removeprefix("com.amazonaws.ap-northeast-2."): e
                 for e in endpoints if e.get("vpc_endpoint_type") == "Interface"}
    gateway = {e["service_name"].removeprefix("com.amazonaws.ap-northeast-2."): e
               for e in endpoints if e.get("vpc_endpoint_type") == "Gateway"}
    assert set(interface) == INTERFACE_ENDPOINTS and set(gateway) == {"s3"}
    tables = _tables_of(s)
    app_subnets = set()
    for e in interface.values():
        assert e["private_dns_enabled"] is True
        assert [s.deref(g)[1]["tags"]["Name"] for g in e["security_group_ids"]] == ["sg-vpce"]
        app_subnets |= {s.deref(sub)[1]["tags"]["Name"] for sub in e["subnet_ids"]}
    assert app_subnets == {f"hr-saas-{env}-private-app-a", f"hr-saas-{env}-private-app-c"}
    private_tables = {tables[n] for n in SUBNETS if not n.startswith("public")}
    assert {s.deref(t)[0] for t in gateway["s3"]["route_table_ids"]} == private_tables


def test_flow_logs(net):
    env, s = net
    log = s.one("aws_flow_log")
    assert log["traffic_type"] == "ALL" and log["log_destination_type"] == "cloud-watch-logs"
    _, group = s.deref(log["log_destination"])
    assert group["retention_in_days"] == {"mvp": 90, "prod": 365}[env]
    if env == "prod":  # customer-managed key from the security layer's typed output
        assert group["kms_key_id"] == (
            "${data.terraform_remote_state.remote-security.outputs.logs_kms_key_arn}")
    else:
        assert "kms_key_id" not in group
    _, role = s.deref(log["iam_role_arn"])
    trust = s.policy_document(role["assume_role_policy"])["statement"][0]
    assert trust["principals"][0]["identifiers"] == ["vpc-flow-logs.amazonaws.com"]
    write = s.policy_document(s.one("aws_iam_role_policy")["policy"])["statement"]
    assert write[0]["resources"] == [f"${{{s.deref(log['log_destination'])[0]}.arn}}:*"]


def test_typed_outputs_for_the_next_layers(net):
    _, s = net
    assert set(s.json["output"]) == {
        "vpc_id", "vpc_cidr", "public_subnet_ids", "private_app_subnet_ids",
        "private_data_subnet_ids", "alb_security_group_id", "ecs_security_group_id",
        "rds_security_group_id", "redis_security_group_id", "vpce_security_group_id"}
