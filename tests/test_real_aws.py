"""What real AWS refuses or does that the emulator hides, checked on the synthesized JSON of the
real environments (issue: first real deploy). Each test names the AWS behaviour it stands for."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest

from hrsaas.config import load_environment
from hrsaas.topology import LAYERS

ENVS = ["mvp", "prod"]

# Types whose provider resource has name_prefix: with create_before_destroy they must use it.
NAME_PREFIX_TYPES = {"aws_security_group", "aws_db_parameter_group", "aws_iam_role",
                     "aws_lb_target_group", "aws_launch_template", "aws_db_option_group",
                     "aws_db_subnet_group"}


def env_stacks(stack, env: str):
    for layer in LAYERS:
        yield layer, stack(f"{env}-{layer}")


@pytest.mark.parametrize("env", ENVS)
def test_ecs_services_depend_on_the_clusters_capacity_providers(stack, env):
    """CreateService with a FARGATE_SPOT strategy fails unless the cluster already has that
    provider; on destroy, the providers must outlive the services. Only depends_on orders it."""
    s = stack(f"{env}-compute")
    (providers,) = s.resources("aws_ecs_cluster_capacity_providers")
    address = f"aws_ecs_cluster_capacity_providers.{providers}"
    services = s.resources("aws_ecs_service")
    assert services
    for rid, svc in services.items():
        assert address in svc.get("depends_on", []), rid


@pytest.mark.parametrize("env", ENVS)
def test_replacements_never_collide_with_their_own_name(stack, env):
    """create_before_destroy creates the new resource while the old one still holds its name:
    a fixed name fails with a duplicate (security groups, parameter groups)."""
    checked = 0
    for layer, s in env_stacks(stack, env):
        for kind, resources in s.json.get("resource", {}).items():
            for rid, body in resources.items():
                if not body.get("lifecycle", {}).get("create_before_destroy"):
                    continue
                checked += 1
                where = f"{env}-{layer}: {kind}.{rid}"
                if kind in NAME_PREFIX_TYPES:
                    assert "name" not in body and body.get("name_prefix"), where
                elif kind == "aws_elasticache_parameter_group":
                    # no name_prefix: the name carries a digest of what forces a replacement
                    assert re.search(r"-[0-9a-f]{8}$", body["name"]), where
    assert checked >= 5


def test_elasticache_parameter_group_name_changes_with_what_replaces_it(stack):
    from modules.redis.construct import parameter_group_name

    name = parameter_group_name("g", "redis7", "hr-saas redis7", False)
    assert name == parameter_group_name("g", "redis7", "hr-saas redis7", False)
    assert name != parameter_group_name("g", "redis7", "hr-saas redis7", True)
    assert name != parameter_group_name("g", "redis7", "other", False)
    [group] = stack("prod-cache").resources("aws_elasticache_parameter_group").values()
    assert group["name"] == parameter_group_name("hr-saas-prod-cache", "redis7",
                                                 group["description"], False)


@pytest.mark.parametrize("env", ENVS)
def test_each_certificate_validation_record_has_one_owner(stack, env):
    """ACM asks the same validation record of both certificates (same names, one account).
    Two resources writing it with allow_overwrite means destroying either breaks the other's
    renewal: one record resource per name, and both validations wait on those."""
    s = stack(f"{env}-edge")
    records = {rid: r for rid, r in s.resources("aws_route53_record").items()
               if "domain_validation_options" in json.dumps(r.get("name", ""))}
    assert not [rid for rid, r in records.items() if r.get("allow_overwrite")]
    names = load_environment(env).edge.certificate_names()
    assert len(records) == len({n.removeprefix("*.") for n in names})
    validations = s.resources("aws_acm_certificate_validation")
    assert len(validations) == 2
    fqdns = {json.dumps(sorted(v["validation_record_fqdns"])) for v in validations.values()}
    assert len(fqdns) == 1, "both certificates wait on the same records"
    assert all(f"aws_route53_record.{rid}.fqdn" in next(iter(fqdns)) for rid in records)


def test_file_uploads_pass_the_prod_api_waf(stack):
    """The common rule set blocks request bodies over 8 KB (SizeRestrictions_BODY): on the API
    that blocks every upload. It only counts there; a rule after it blocks large bodies
    everywhere except file-service's paths."""
    acls = {a["scope"]: a for a in stack("prod-edge").resources("aws_wafv2_web_acl").values()}
    acl = acls["REGIONAL"]
    rules = {r["name"]: r for r in acl["rule"]}
    common = rules["AWSManagedRulesCommonRuleSet"]["statement"]["managed_rule_group_statement"]
    assert common["rule_action_override"] == [
        {"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}]
    block = rules["BlockLargeBodiesOutsideUploads"]
    assert block["action"] == {"block": {}}
    assert block["priority"] > rules["AWSManagedRulesCommonRuleSet"]["priority"]
    label, negated = block["statement"]["and_statement"]["statement"]
    assert label["label_match_statement"]["key"] == \
        "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
    regex = negated["not_statement"]["statement"][0]["regex_match_statement"]["regex_string"]
    assert re.match(regex, "/api/v1/files/upload") and not re.match(regex, "/api/v1/auth/login")
    # The frontend's ACL (CloudFront) serves no uploads: it keeps the rule set as it is.
    edge_acl = acls["CLOUDFRONT"]
    assert all("rule_action_override" not in r["statement"]["managed_rule_group_statement"]
               for r in edge_acl["rule"])


@pytest.mark.parametrize("env", ENVS)
def test_state_is_written_with_the_environments_key(stack, env):
    """`encrypt = true` alone makes the backend ask S3 for AES256, overriding the bucket's
    default CMK: with customer-managed keys, every backend and remote-state read names it."""
    cmk = load_environment(env).capabilities.customer_managed_keys
    alias = f"arn:aws:kms:ap-northeast-2:{load_environment(env).account_id}:alias/" \
            f"hr-saas-{env}-tfstate"
    for layer, s in env_stacks(stack, env):
        if layer == "bootstrap":
            continue
        backend = s.json["terraform"]["backend"]["s3"]
        assert backend.get("kms_key_id") == (alias if cmk else None), layer
        for read in s.data("terraform_remote_state").values():
            assert read["config"].get("kms_key_id") == (alias if cmk else None), layer
    if cmk:  # the alias the backends name is the one bootstrap creates
        aliases = {k["name"] for k in stack(f"{env}-bootstrap").resources("aws_kms_alias")
                   .values()}
        assert "alias/" + alias.split(":alias/")[1] in aliases


def test_stateful_types_are_protected_in_prod(stack):
    """Recreating the zone changes its name servers (the domain goes dark until the registrar
    changes); a vault, a repository or an audit log group takes its history with it."""
    for kind in ("aws_route53_zone", "aws_backup_vault", "aws_ecr_repository"):
        found = [body for _, s in env_stacks(stack, "prod")
                 for body in s.resources(kind).values()]
        assert found, kind
        assert all(b.get("lifecycle", {}).get("prevent_destroy") for b in found), kind
    audit = [b for _, s in env_stacks(stack, "prod")
             for b in s.resources("aws_cloudwatch_log_group").values()
             if b["name"].startswith(("/vpc/", "aws-waf-logs-"))]
    assert len(audit) >= 3 and all(b["lifecycle"]["prevent_destroy"] for b in audit)
    service_logs = [b for b in stack("prod-compute").resources(
        "aws_cloudwatch_log_group").values() if b["name"].startswith("/ecs/")]
    assert service_logs and not any(b.get("lifecycle", {}).get("prevent_destroy")
                                    for b in service_logs)


def _window(text: str, day: datetime) -> tuple[datetime, datetime]:
    start, end = (datetime.strptime(t, "%H:%M").time() for t in text.split("-"))
    begin = datetime.combine(day, start)
    finish = datetime.combine(day, end)
    return begin, finish if finish > begin else finish + timedelta(days=1)


@pytest.mark.parametrize("env", ENVS)
def test_aws_backup_starts_clear_of_the_databases_windows(stack, env):
    """AWS Backup does not start a job of an RDS instance inside, or within an hour before, its
    automated-backup or maintenance window: a job scheduled there is skipped or late."""
    [plan] = stack(f"{env}-backup").resources("aws_backup_plan").values()
    [db] = [d for d in stack(f"{env}-data").resources("aws_db_instance").values()
            if "replicate_source_db" not in d]
    for rule in plan["rule"]:
        minute, hour = re.match(r"cron\((\d+) (\d+) \* \* \? \*\)", rule["schedule"]).groups()
        for offset in range(7):  # every day of a week: the maintenance window is weekly
            day = datetime(2026, 1, 4) + timedelta(days=offset)  # 2026-01-04 is a Sunday
            start = day.replace(hour=int(hour), minute=int(minute))
            job = (start, start + timedelta(minutes=rule["start_window"]))
            windows = [_window(db["backup_window"], day)]
            mday, mrange = db["maintenance_window"].split(":", 1)
            if mday == day.strftime("%a").lower():
                windows.append(_window(mrange.replace("sun:", "").replace(
                    f"{mday}:", ""), day))
            for begin, end in windows:
                forbidden = (begin - timedelta(hours=1), end)
                assert job[1] <= forbidden[0] or job[0] >= forbidden[1], (
                    rule["schedule"], db["backup_window"], db["maintenance_window"])


def _expired(policy: dict, images: list[tuple[str, tuple[str, ...]]]) -> set[str]:
    """ECR's lifecycle evaluation: rules by priority; an image is considered only by the first
    rule whose tag selection it matches; count rules keep the newest N of what they match.
    ``images`` are (digest, tags), oldest first."""
    from fnmatch import fnmatchcase

    claimed: set[str] = set()
    expired: set[str] = set()
    for rule in sorted(policy["rules"], key=lambda r: r["rulePriority"]):
        sel = rule["selection"]
        matched = []
        for digest, tags in images:
            if digest in claimed:
                continue
            if sel["tagStatus"] == "untagged" and not tags or \
                    sel["tagStatus"] == "tagged" and any(
                        fnmatchcase(t, p) for t in tags for p in sel["tagPatternList"]):
                matched.append(digest)
        claimed |= set(matched)
        if sel["countType"] == "imageCountMoreThan":
            expired |= set(matched[:max(0, len(matched) - sel["countNumber"])])
    return expired


def test_ecr_lifecycle_keeps_released_and_deployed_images(stack):
    """The guide keeps the 10 newest tagged images: after 10 builds, the image prod runs (or
    the release it rolls back to) would be expired under it."""
    s = stack("prod-registry")
    policy = json.loads(next(iter(s.resources("aws_ecr_lifecycle_policy").values()))["policy"])
    images = [("running", ("3f9c2ab", "deployed-prod-20261201T0900Z")),
              ("release", ("0a1b2c3", "v1.4.0"))]
    images += [(f"build{i}", (f"{i:07x}",)) for i in range(30)]
    expired = _expired(policy, images)
    assert "running" not in expired and "release" not in expired
    assert len(expired) == 20, "builds beyond the guide's 10 newest still expire"


@pytest.mark.parametrize("env", ENVS)
def test_bucket_names_are_ours_across_all_of_aws(stack, env):
    """S3 names are global: every bucket the guide does not name carries the account, so
    another account (or a name released after a destroy) cannot take it."""
    account = load_environment(env).account_id
    buckets = [b["bucket"] for _, s in env_stacks(stack, env)
               for b in s.resources("aws_s3_bucket").values()]
    assert len(buckets) >= 4
    for name in buckets:
        assert name == f"hr-saas-frontend-{env}" or name.endswith(f"-{account}"), name


@pytest.mark.parametrize("env", ENVS)
def test_a_service_without_a_released_image_exists_with_no_task(stack, env):
    """The first deploy must complete every layer before the application repositories have
    published anything: unreleased services get zero tasks (creation count and autoscaling
    bounds), released ones the catalog's."""
    compute, scaling = stack(f"{env}-compute"), stack(f"{env}-scaling")
    released = compute.json["output"]["released_images"]["value"]
    services = compute.resources("aws_ecs_service")
    assert set(released) and len(released) == len(services)
    for name, expression in released.items():
        assert expression == (f'${{!endswith(data.aws_ssm_parameter.{name}-image.insecure_value,'
                              f' ":unreleased") ? "true" : "false"}}')
    for svc in services.values():
        assert re.fullmatch(r'\$\{!endswith\(data\.aws_ssm_parameter\.[a-z]+-image\.'
                            r'insecure_value, ":unreleased"\) \? \d+ : 0\}', svc["desired_count"])
        for pre in svc.get("lifecycle", {}).get("precondition", []):
            assert "unreleased" not in pre["condition"]
    for target in scaling.resources("aws_appautoscaling_target").values():
        name = target["resource_id"].split("/")[-1].removesuffix("-service")
        for bound in ("min_capacity", "max_capacity"):
            assert re.fullmatch(
                r'\$\{\(data\.terraform_remote_state\.remote-compute\.outputs\.released_images\.'
                + name + r' == "true"\) \? \d+ : 0\}', target[bound]), target[bound]


@pytest.mark.parametrize("env", ENVS)
def test_orderings_the_first_apply_needs_reach_depends_on(stack, env):
    """What AWS checks at creation time and nothing references: CloudFront checks the log
    bucket takes ACL writes (its ownership controls), a service's first task needs its log
    group and its execution role's policy."""
    edge = stack(f"{env}-edge")
    [dist] = edge.resources("aws_cloudfront_distribution").values()
    [logs_id] = [rid for rid, b in edge.resources("aws_s3_bucket").items()
                 if b["bucket"].startswith("hr-saas-logs-")]
    # the last configuration part of the log bucket, which follows its ownership controls
    waits = [edge.deref("${" + dep + ".id}")[1] for dep in dist["depends_on"]]
    assert any(w.get("bucket") == f"${{aws_s3_bucket.{logs_id}.id}}" for w in waits)
    compute = stack(f"{env}-compute")
    for rid, svc in compute.resources("aws_ecs_service").items():
        kinds = {dep.split(".")[0] for dep in svc["depends_on"]}
        assert {"aws_cloudwatch_log_group", "aws_iam_role_policy"} <= kinds, rid


@pytest.mark.parametrize("env", ENVS)
def test_rds_monitoring_role_trusts_rds_only_for_this_account(stack, env):
    data = stack(f"{env}-data")
    trust = next(d for rid, d in data.data("aws_iam_policy_document").items()
                 if "monitoring-trust" in rid)
    [statement] = trust["statement"]
    assert statement["condition"] == [{"test": "StringEquals", "variable": "aws:SourceAccount",
                                       "values": [load_environment(env).account_id]}]


def test_every_cache_node_is_watched_for_replication_lag_after_a_failover(stack):
    alarms = {a["alarm_name"] for a in stack("prod-observability").resources(
        "aws_cloudwatch_metric_alarm").values()}
    assert {"hr-saas-prod-cache-001-replication-lag",
            "hr-saas-prod-cache-002-replication-lag"} <= alarms


@pytest.mark.parametrize("env", ENVS)
def test_ecs_service_linked_role_exists_before_the_cluster(stack, env):
    """ECS creates its service-linked role asynchronously on first use: on a fresh account the
    first CreateService fails intermittently unless the role is created first."""
    s = stack(f"{env}-compute")
    [(rid, role)] = s.resources("aws_iam_service_linked_role").items()
    assert role["aws_service_name"] == "ecs.amazonaws.com"
    [cluster] = s.resources("aws_ecs_cluster").values()
    assert f"aws_iam_service_linked_role.{rid}" in cluster["depends_on"]


@pytest.mark.parametrize("env", ENVS)
def test_the_publisher_may_push_images_and_name_them_and_nothing_else(stack, env):
    """The application repositories' CI: push to the project's repositories, write this
    environment's image parameters. No state, no deploy, no other parameter or repository."""
    config = load_environment(env)
    s = stack(f"{env}-bootstrap")
    roles = {r["name"]: (rid, r) for rid, r in s.resources("aws_iam_role").items()}
    rid, role = roles[f"hr-saas-{env}-ci-publish"]
    trust = json.loads(role["assume_role_policy"])["Statement"][0]
    assert trust["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"] == [
        f"repo:{repo}:environment:{env}" for repo in config.ci.publisher_repositories]
    assert not [p for p in s.resources("aws_iam_role_policy_attachment").values()
                if p["role"].endswith(f"{rid}.name}}")], "no managed policy on the publisher"
    [policy] = [p for p in s.resources("aws_iam_role_policy").values()
                if p["role"] == f"${{aws_iam_role.{rid}.id}}"]
    statements = json.loads(policy["policy"])["Statement"]
    by_resource = {}
    for st in statements:
        by_resource.setdefault(st["Resource"], set()).update(
            [st["Action"]] if isinstance(st["Action"], str) else st["Action"])
    account = config.account_id
    assert by_resource == {
        "*": {"ecr:GetAuthorizationToken"},
        f"arn:aws:ecr:ap-northeast-2:{account}:repository/hr-saas/*": {
            "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage",
            "ecr:BatchGetImage", "ecr:DescribeImages"},
        f"arn:aws:ssm:ap-northeast-2:{account}:parameter/hr-saas/{env}/images/*": {
            "ssm:GetParameter", "ssm:PutParameter"},
    }
    assert "ci_publish_role_arn" in s.json["output"]
