"""Compute (guide §4, §7, §12, §14, §15): the ECS cluster and the services, and the API's ALB
(the edge layer's, where its certificate, log bucket and zone are), checked against the guide's
own tables for mvp and prod."""

from __future__ import annotations

import json
import re

import pytest

from hrsaas.config import load_environment

# Guide §4: service → (vCPU, memory GB, min tasks, max tasks, priority).
GUIDE_TASKS = {
    "auth": (0.5, 1, 2, 4, "high"),
    "tenant": (0.5, 1, 1, 2, "medium"),
    "organization": (0.5, 1, 2, 4, "high"),
    "employee": (0.5, 1, 2, 4, "high"),
    "attendance": (0.5, 1, 2, 4, "high"),
    "approval": (0.5, 1, 2, 4, "high"),
    "mdm": (0.5, 1, 1, 2, "medium"),
    "notification": (0.5, 1, 1, 2, "medium"),
    "file": (0.5, 1, 1, 2, "low"),
    "appointment": (0.5, 1, 1, 2, "medium"),
    "certificate": (0.25, 0.5, 1, 2, "low"),
    "recruitment": (0.25, 0.5, 1, 2, "low"),
}
# Guide §7: target group → (path patterns, service, port).
GUIDE_ROUTES = {
    "tg-auth": (["/api/v1/auth/*"], "auth", 8081),
    "tg-tenant": (["/api/v1/tenants/*"], "tenant", 8082),
    "tg-org": (["/api/v1/departments/*", "/api/v1/positions/*", "/api/v1/grades/*"],
               "organization", 8083),
    "tg-employee": (["/api/v1/employees/*", "/api/v1/transfers/*"], "employee", 8084),
    "tg-attendance": (["/api/v1/attendances/*", "/api/v1/leaves/*", "/api/v1/overtimes/*"],
                      "attendance", 8085),
    "tg-approval": (["/api/v1/approvals/*"], "approval", 8086),
    "tg-mdm": (["/api/v1/mdm/*", "/api/v1/menus/*"], "mdm", 8087),
    "tg-notification": (["/api/v1/notifications/*"], "notification", 8088),
    "tg-file": (["/api/v1/files/*"], "file", 8089),
    "tg-appointment": (["/api/v1/appointments/*"], "appointment", 8091),
    "tg-certificate": (["/api/v1/certificates/*"], "certificate", 8092),
    "tg-recruitment": (["/api/v1/jobs/*", "/api/v1/applications/*"], "recruitment", 8093),
}
# Guide §14: deploy stages.
GUIDE_STAGES = {"auth": 1, "tenant": 1, "mdm": 2, "organization": 3, "employee": 3,
                "attendance": 4, "approval": 4, "notification": 5, "file": 5,
                "appointment": 6, "certificate": 6, "recruitment": 6}
# Guide §4 (Dockerfile).
GUIDE_JAVA_OPTS = ("-XX:+UseContainerSupport -XX:MaxRAMPercentage=75.0 "
                   "-XX:InitialRAMPercentage=50.0 -XX:+UseG1GC -XX:+UseStringDeduplication "
                   "-Djava.security.egd=file:/dev/./urandom")
# Guide §4: the five secret references — variable → (secret output, JSON key).
GUIDE_SECRETS = {"DB_USERNAME": ("db", "username"), "DB_PASSWORD": ("db", "password"),
                 "REDIS_PASSWORD": ("redis", "password"), "JWT_SECRET": ("jwt", "secret"),
                 "ENCRYPTION_KEY": ("encryption", "key")}
REMOTE = "${data.terraform_remote_state.remote-%s.outputs.%s}"
ENVS = ["mvp", "prod"]


def expected_services(env: str) -> set[str]:
    # mvp runs deploy stages 1–4 (SPEC §2: seven services), prod all twelve.
    return {n for n, stage in GUIDE_STAGES.items() if env == "prod" or stage <= 4}


def released_count(value: str, source: str) -> int:
    """``${<image released> ? N : 0}`` → N: the count once the image is released (zero while
    the image parameter holds the placeholder)."""
    match = re.fullmatch(r"\$\{(.+) \? (\d+) : 0\}", value)
    assert match and source in match[1], value
    return int(match[2])


def by_name(s, kind: str, key: str = "name") -> dict[str, tuple[str, dict]]:
    return {body[key]: (rid, body) for rid, body in s.resources(kind).items()}


def containers(s) -> dict[str, dict]:
    out = {}
    for body in s.resources("aws_ecs_task_definition").values():
        [container] = json.loads(body["container_definitions"])
        out[body["family"]] = (body, container)
    return out


@pytest.mark.parametrize("env", ENVS)
def test_cluster(stack, env):
    s = stack(f"{env}-compute")
    cluster = s.one("aws_ecs_cluster")
    assert cluster["name"] == {"mvp": "hr-saas-mvp", "prod": "hr-saas-production"}[env]
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]
    providers = s.one("aws_ecs_cluster_capacity_providers")
    assert sorted(providers["capacity_providers"]) == ["FARGATE", "FARGATE_SPOT"]


@pytest.mark.parametrize("env", ENVS)
def test_task_definitions_follow_the_guide(stack, env):
    s = stack(f"{env}-compute")
    defs = containers(s)
    assert set(defs) == {f"{n}-service" for n in expected_services(env)}
    for family, (td, c) in defs.items():
        name = family.removesuffix("-service")
        vcpu, mem_gb, *_ = GUIDE_TASKS[name]
        port = next(p for _, svc, p in GUIDE_ROUTES.values() if svc == name)
        assert td["cpu"] == str(int(vcpu * 1024)) and td["memory"] == str(int(mem_gb * 1024))
        assert td["requires_compatibilities"] == ["FARGATE"] and td["network_mode"] == "awsvpc"
        assert td["runtime_platform"] == {"cpu_architecture": "ARM64",
                                          "operating_system_family": "LINUX"}
        assert c["portMappings"][0]["containerPort"] == port
        envs = {e["name"]: e["value"] for e in c["environment"]}
        expected_env = {
            "SPRING_PROFILES_ACTIVE": "aws", "DB_HOST": REMOTE % ("data", "db_host"),
            "DB_PORT": "5432", "REDIS_HOST": REMOTE % ("cache", "redis_host"),
            "REDIS_PORT": "6379", "SPRING_DATA_REDIS_SSL_ENABLED": "true",
            "AWS_REGION": "ap-northeast-2", "SERVER_PORT": str(port),
            "JAVA_OPTS": GUIDE_JAVA_OPTS,
        }
        if name == "file":
            expected_env["FILE_BUCKET"] = REMOTE % ("edge", "file_bucket_name")
        assert envs == expected_env
        secrets = {e["name"]: e["valueFrom"] for e in c["secrets"]}
        assert secrets == {
            var: REMOTE % ("security", f"{secret}_secret_arn") + f":{key}::"
            for var, (secret, key) in GUIDE_SECRETS.items()}
        assert c["healthCheck"] == {
            "command": ["CMD-SHELL", f"wget --quiet --tries=1 --spider "
                        f"http://localhost:{port}/actuator/health || exit 1"],
            "interval": 30, "timeout": 10, "startPeriod": 60, "retries": 3}
        assert c["readonlyRootFilesystem"] is True
        assert c["mountPoints"] == [{"sourceVolume": "tmp", "containerPath": "/tmp",
                                     "readOnly": False}]
        assert td["volume"] == [{"name": "tmp"}]
        logs = c["logConfiguration"]
        assert logs["logDriver"] == "awslogs"
        group = by_name(s, "aws_cloudwatch_log_group")[logs["options"]["awslogs-group"]][1]
        assert group["retention_in_days"] == {"mvp": 90, "prod": 365}[env]
        if env == "prod":
            assert group["kms_key_id"] == REMOTE % ("security", "logs_kms_key_arn")
        # The image comes from the parameter CI writes, never a moving tag.
        assert c["image"] == f"${{data.aws_ssm_parameter.{name}-image.insecure_value}}"
        [pre] = td["lifecycle"]["precondition"]
        assert '":latest"' in pre["condition"] and "no released image" in pre["error_message"]
        # The placeholder is not refused: the service exists and runs no task until released.
        assert '":unreleased"' not in pre["condition"]


@pytest.mark.parametrize("env", ENVS)
def test_alb_listeners_and_routes(stack, env):
    site = stack(f"{env}-edge")
    lb = site.one("aws_lb")
    assert lb["internal"] is False and lb["load_balancer_type"] == "application"
    assert lb["subnets"] == REMOTE % ("network", "public_subnet_ids")
    assert lb["security_groups"] == [REMOTE % ("network", "alb_security_group_id")]
    assert lb["drop_invalid_header_fields"] is True
    assert lb["enable_deletion_protection"] is True
    # The log bucket's name through its policy (ELB writes a test object at once), not through
    # its lifecycle, which the provider waits about a minute for.
    log_target = lb["access_logs"].pop("bucket")
    address, policy = site.deref(log_target)
    assert address.startswith("aws_s3_bucket_policy.frontend_logs_")
    account = load_environment(env).account_id
    assert site.deref(policy["bucket"])[1]["bucket"] == f"hr-saas-logs-{env}-{account}"
    assert lb["access_logs"] == {"prefix": "alb", "enabled": True}
    [lifecycle] = [body for rid, body in site.resources(
        "aws_s3_bucket_lifecycle_configuration").items() if rid.startswith("frontend_logs_")]
    assert lifecycle["depends_on"] == [address]
    assert "lifecycle" not in json.dumps(policy["depends_on"])
    listeners = {x["port"]: x for x in site.resources("aws_lb_listener").values()}
    assert set(listeners) == {80, 443}
    assert listeners[80]["protocol"] == "HTTP"
    assert listeners[80]["default_action"] == [{"type": "redirect", "redirect": {
        "port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}}]
    https = listeners[443]
    assert https["protocol"] == "HTTPS"
    assert https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    # The certificate is this stack's own: replacing it is one apply, not a staged change.
    assert https["certificate_arn"].startswith(
        "${aws_acm_certificate_validation.regional-certificate_")
    assert https["default_action"][0]["type"] == "fixed-response"
    assert https["default_action"][0]["fixed_response"]["status_code"] == "404"
    assert not stack(f"{env}-compute").resources("aws_lb")

    s = stack(f"{env}-compute")
    groups = by_name(s, "aws_lb_target_group")
    expected = {tg: r for tg, r in GUIDE_ROUTES.items() if r[1] in expected_services(env)}
    assert set(groups) == set(expected)
    rules = {s.deref(r["action"][0]["target_group_arn"])[1]["name"]: r
             for r in s.resources("aws_lb_listener_rule").values()}
    priorities = [r["priority"] for r in rules.values()]
    assert len(set(priorities)) == len(priorities)
    for tg, (paths, _, port) in expected.items():
        _, group = groups[tg]
        assert (group["port"], group["protocol"], group["target_type"]) == (port, "HTTP", "ip")
        hc = group["health_check"]
        assert (hc["path"], hc["protocol"], hc["healthy_threshold"], hc["unhealthy_threshold"],
                hc["timeout"], hc["interval"]) == ("/actuator/health", "HTTP", 3, 2, 10, 30)
        rule = rules[tg]
        assert rule["listener_arn"] == REMOTE % ("edge", "https_listener_arn")
        assert rule["action"][0]["type"] == "forward"
        assert rule["condition"] == [{"path_pattern": {"values": paths}}]


@pytest.mark.parametrize("env", ENVS)
def test_services_and_placement(stack, env):
    s = stack(f"{env}-compute")
    services = by_name(s, "aws_ecs_service")
    assert set(services) == {f"{n}-service" for n in expected_services(env)}
    address_of = {body["name"]: f"aws_ecs_service.{rid}"
                  for rid, body in s.resources("aws_ecs_service").items()}
    for svc_name, (_, svc) in services.items():
        name = svc_name.removesuffix("-service")
        _, _, lo, _, priority = GUIDE_TASKS[name]
        if env == "mvp":
            lo = 1  # SPEC §2: one task each
        net = svc["network_configuration"]
        assert net == {"subnets": REMOTE % ("network", "private_app_subnet_ids"),
                       "security_groups": [REMOTE % ("network", "ecs_security_group_id")],
                       "assign_public_ip": False}
        assert svc["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
        assert svc["health_check_grace_period_seconds"] == 120
        assert released_count(svc["desired_count"], f"{name}-image") == lo
        assert svc["wait_for_steady_state"] is True
        assert svc["lifecycle"]["ignore_changes"] == ["desired_count"]
        # A release the circuit breaker rolled back fails the apply (provider #20858): the
        # service's read-back must name this release's task definition.
        [post] = svc["lifecycle"]["postcondition"]
        task_definition, _ = s.deref(svc["task_definition"])
        assert post["condition"] == f"${{(self.task_definition == {task_definition}.arn)}}"
        assert "rolled back" in post["error_message"]
        providers = {c["capacity_provider"] for c in svc["capacity_provider_strategy"]}
        assert providers == {"high": {"FARGATE"}, "medium": {"FARGATE", "FARGATE_SPOT"},
                             "low": {"FARGATE", "FARGATE_SPOT"}}[priority]
        if priority != "high":
            # Every service here takes user traffic: its first task never runs on Spot alone.
            base = {c["capacity_provider"]: c["base"] for c in svc["capacity_provider_strategy"]}
            assert base["FARGATE"] >= 1
        if priority == "low":  # beyond that first task, low priority runs on Spot only
            weight = {c["capacity_provider"]: c["weight"]
                      for c in svc["capacity_provider_strategy"]}
            assert weight == {"FARGATE": 0, "FARGATE_SPOT": 1}
        [lb] = svc["load_balancer"]
        assert (lb["container_name"], s.deref(lb["target_group_arn"])[1]["port"]) == (
            svc_name, next(p for _, n, p in GUIDE_ROUTES.values() if n == name))
        # Guide §14: a stage starts after every deployed service of the stage before it.
        earlier = [n for n in expected_services(env) if GUIDE_STAGES[n] < GUIDE_STAGES[name]]
        if earlier:
            previous = max(GUIDE_STAGES[n] for n in earlier)
            wanted = {address_of[f"{n}-service"] for n in earlier
                      if GUIDE_STAGES[n] == previous}
            assert wanted <= set(svc["depends_on"]), svc_name


@pytest.mark.parametrize("env", ENVS)
def test_autoscaling_follows_the_guide(stack, env):
    s = stack(f"{env}-scaling")
    cluster = REMOTE % ("compute", "cluster_name")
    targets = {t["resource_id"].split("/")[-1]: (rid, t)
               for rid, t in s.resources("aws_appautoscaling_target").items()}
    assert set(targets) == {f"{n}-service" for n in expected_services(env)}
    policies: dict[str, dict] = {}
    for p in s.resources("aws_appautoscaling_policy").values():
        assert p["policy_type"] == "TargetTrackingScaling"
        spec = p["target_tracking_scaling_policy_configuration"]
        metric = spec["predefined_metric_specification"]["predefined_metric_type"]
        policies.setdefault(p["resource_id"].split(".")[1], {})[metric] = spec
    for svc_name, (rid, target) in targets.items():
        _, _, lo, hi, _ = GUIDE_TASKS[svc_name.removesuffix("-service")]
        if env == "mvp":
            lo, hi = 1, 1  # SPEC §2: one task each
        assert target["resource_id"] == f"service/{cluster}/{svc_name}"
        assert target["scalable_dimension"] == "ecs:service:DesiredCount"
        assert (released_count(target["min_capacity"], "released_images"),
                released_count(target["max_capacity"], "released_images")) == (lo, hi)
        tracked = policies[rid]
        # Guide §15: CPU 70 %, memory 80 %.
        assert tracked["ECSServiceAverageCPUUtilization"]["target_value"] == 70
        assert tracked["ECSServiceAverageMemoryUtilization"]["target_value"] == 80


def role_policies(s, role_address: str) -> dict[str, dict | str]:
    out = {}
    for body in s.resources("aws_iam_role_policy").values():
        if body["role"] == f"${{{role_address}.id}}":
            doc = body["policy"]
            out[body["name"]] = json.loads(doc) if doc.startswith("{") else doc
    return out


@pytest.mark.parametrize("env", ENVS)
def test_roles_grant_only_what_the_catalog_says(stack, env):
    s = stack(f"{env}-compute")
    catalog = load_environment(env).catalog.services
    roles = by_name(s, "aws_iam_role")
    secret_arns = sorted(REMOTE % ("security", f"{n}_secret_arn")
                         for n in ("db", "redis", "jwt", "encryption"))
    for name in expected_services(env):
        svc = f"{name}-service"
        trust = json.loads(roles[f"hr-saas-{env}-{svc}-task"][1]["assume_role_policy"])
        assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Statement"][0]["Condition"]["StringEquals"] == {
            "aws:SourceAccount": load_environment(env).account_id}

        execution = role_policies(s, f"aws_iam_role.{roles[f'hr-saas-{env}-{svc}-execution'][0]}")
        [doc] = execution.values()
        stmts = {st["Sid"]: st for st in doc["Statement"]}
        assert sorted(stmts["ReadOwnSecrets"]["Resource"]) == secret_arns
        assert stmts["PullOwnImage"]["Resource"] == (
            f"${{data.terraform_remote_state.remote-registry.outputs.repository_arns.{name}}}")
        assert stmts["WriteOwnLogs"]["Resource"].endswith(".arn}:*")
        assert stmts["EcrLogin"]["Action"] == "ecr:GetAuthorizationToken"
        assert ("DecryptSecrets" in stmts) == (env == "prod")
        assert all(st["Effect"] == "Allow" for st in stmts.values())

        task = role_policies(s, f"aws_iam_role.{roles[f'hr-saas-{env}-{svc}-task'][0]}")
        row = catalog[name]
        expected = set()
        if row.publishes or row.subscribes:
            expected.add("messaging")
        if row.file_bucket:
            expected.add("file-bucket")
        assert set(task) == expected, svc
        if "messaging" in task:
            assert task["messaging"] == (
                f"${{data.terraform_remote_state.remote-messaging.outputs.service_policies."
                f"{name}}}")
        if "file-bucket" in task:
            bucket = REMOTE % ("edge", "file_bucket_arn")
            resources = {r for st in task["file-bucket"]["Statement"]
                         for r in ([st["Resource"]] if isinstance(st["Resource"], str)
                                   else st["Resource"])}
            allowed = {bucket, f"{bucket}/*"}
            if env == "prod":
                allowed.add(REMOTE % ("security", "files_kms_key_arn"))
            assert resources == allowed


@pytest.mark.parametrize("env", ENVS)
def test_api_alias_points_at_the_alb(stack, env):
    s = stack(f"{env}-edge")
    api = {"prod": "api.hr.example.com", "mvp": "api.mvp.hr.example.com"}[env]
    [record] = [r for r in s.resources("aws_route53_record").values() if r["name"] == api]
    assert record["type"] == "A"
    assert record["zone_id"] == REMOTE % ("dns", "zone_id")
    [alb] = s.resources("aws_lb")
    assert record["alias"]["name"] == f"${{aws_lb.{alb}.dns_name}}"
    assert record["alias"]["zone_id"] == f"${{aws_lb.{alb}.zone_id}}"


def test_waf_guards_the_api_in_prod_only(stack):
    prod = stack("prod-edge")
    [acl] = [a for a in prod.resources("aws_wafv2_web_acl").values() if a["scope"] == "REGIONAL"]
    assert acl["scope"] == "REGIONAL"
    assert {r["statement"]["managed_rule_group_statement"]["name"] for r in acl["rule"]
            if "managed_rule_group_statement" in r["statement"]} >= {
        "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"}
    association = prod.one("aws_wafv2_web_acl_association")
    [alb] = prod.resources("aws_lb")
    assert association["resource_arn"] == f"${{aws_lb.{alb}.arn}}"
    assert not stack("mvp-edge").resources("aws_wafv2_web_acl")


def test_the_alb_may_write_its_access_logs(stack):
    s = stack("prod-edge")
    policy = next(p for p in s.data("aws_iam_policy_document").values()
                  if any(st.get("sid") == "AlbAccessLogs" for st in p["statement"]))
    [statement] = [st for st in policy["statement"] if st.get("sid") == "AlbAccessLogs"]
    # Seoul's Elastic Load Balancing account (AWS documentation), only under alb/AWSLogs/<acct>.
    assert statement["principals"] == [{"type": "AWS",
                                        "identifiers": ["arn:aws:iam::600734575887:root"]}]
    assert statement["resources"] == [
        "arn:aws:s3:::hr-saas-logs-prod-222222222222/alb/AWSLogs/222222222222/*"]


@pytest.mark.parametrize("env", ["local", "mvp", "prod"])
def test_every_catalog_service_has_an_image_parameter(stack, env):
    s = stack(f"{env}-registry")
    params = by_name(s, "aws_ssm_parameter")
    assert set(params) == {f"/hr-saas/{env}/images/{n}-service" for n in GUIDE_TASKS}
    for _, body in params.values():
        assert body["type"] == "String"
        assert body["insecure_value"].endswith(":unreleased")
        assert body["lifecycle"]["ignore_changes"] == ["insecure_value", "value"]


@pytest.mark.parametrize("env", ["local", "mvp"])
def test_compute_reads_the_cache_layers_state(stack, env):
    # The emulator applies the cache layer too (its gaps are closed by the project's emulator
    # extensions, hrsaas/emulator/extensions/elasticache.py): local reads the real Redis
    # endpoint from the cache layer's state, like every real environment.
    s = stack(f"{env}-compute")
    assert s.data("terraform_remote_state")["remote-cache"]["config"]["key"] == (
        f"{env}/cache/terraform.tfstate")
    _, c = next(iter(containers(s).values()))
    assert {e["name"]: e["value"] for e in c["environment"]}["REDIS_HOST"] == (
        "${data.terraform_remote_state.remote-cache.outputs.redis_host}")
