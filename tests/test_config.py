"""Configuration as data: every rule rejects bad input with the field, the value and the fix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hrsaas.config import (
    ConfigError,
    Problem,
    connection_budget,
    environment_names,
    load_environment,
    load_environments,
)
from hrsaas.config.facts import FACTS_FILE, aws_facts
from hrsaas.config.loader import ENVS_DIR
from hrsaas.config.provenance import key_lines
from hrsaas.config.rules import glob_covers
from hrsaas.layers import LAYERS
from hrsaas.toolenv import PYTHON, ROOT, tool_env
from tests.conftest import VARIANT_NAMES, VARIANTS


def test_the_three_environments_load():
    envs = {env.name: env for env in load_environments()}
    assert set(envs) == {"local", "mvp", "prod"}
    assert [s.name for s in envs["mvp"].deployed_services()] == [
        "auth", "tenant", "mdm", "organization", "employee", "attendance", "approval"]
    assert all((s.min_tasks, s.max_tasks) == (1, 1) for s in envs["mvp"].deployed_services())
    assert len(envs["prod"].deployed_services()) == 12
    assert envs["prod"].ecs_cluster_name == "hr-saas-production"
    assert envs["local"].is_emulated and not envs["mvp"].is_emulated


def test_catalog_has_the_guides_values():
    catalog = load_environment("prod").catalog.services
    rows = {name: (s.vcpu, s.memory_gib, s.min_tasks, s.max_tasks, s.priority, s.port, s.stage,
                   s.pool) for name, s in catalog.items()}
    # SPEC §4 / guide §4, §5, §14.
    assert rows == {
        "auth": (0.5, 1, 2, 4, "high", 8081, 1, 20),
        "tenant": (0.5, 1, 1, 2, "medium", 8082, 1, 10),
        "organization": (0.5, 1, 2, 4, "high", 8083, 3, 20),
        "employee": (0.5, 1, 2, 4, "high", 8084, 3, 20),
        "attendance": (0.5, 1, 2, 4, "high", 8085, 4, None),
        "approval": (0.5, 1, 2, 4, "high", 8086, 4, None),
        "mdm": (0.5, 1, 1, 2, "medium", 8087, 2, 10),
        "notification": (0.5, 1, 1, 2, "medium", 8088, 5, None),
        "file": (0.5, 1, 1, 2, "low", 8089, 5, None),
        "appointment": (0.5, 1, 1, 2, "medium", 8091, 6, 15),
        "certificate": (0.25, 0.5, 1, 2, "low", 8092, 6, 5),
        "recruitment": (0.25, 0.5, 1, 2, "low", 8093, 6, 5),
    }
    assert catalog["organization"].paths == (
        "/api/v1/departments/*", "/api/v1/positions/*", "/api/v1/grades/*")
    assert catalog["organization"].target_group_name == "tg-org"
    assert catalog["auth"].schemas == ("tenant_common", "hr_audit")
    assert catalog["certificate"].cpu_units == 256 and catalog["certificate"].memory_mib == 512


def test_connection_budget_is_computed_and_resolved():
    prod = connection_budget(load_environment("prod"))
    assert prod.guide_sum == 105  # the guide's one-pool-per-service total
    sized = [r for r in prod.rows if not r.pool_is_default]
    assert sum(r.pool * r.max_tasks for r in sized) == 330  # SPEC §4's worst case
    # Every task opens its pool, unsized services use HikariCP's default, deploys run 2×.
    assert prod.worst_case == 2 * (330 + 10 * (4 + 4 + 2 + 2))
    assert prod.worst_case > 200 - 95, "the guide's max_connections 200 cannot hold this"
    assert prod.holds and prod.max_connections >= prod.worst_case + prod.reserved_connections
    mvp = connection_budget(load_environment("mvp"))
    assert mvp.holds and mvp.worst_case == 2 * (20 + 10 + 10 + 20 + 20 + 10 + 10)
    assert "worst case during rolling deploys" in prod.report()


# --- rejections: one case per rule, grouped per class ------------------------------------------
#
# Every case must end in a ConfigError (never another exception: pytest.raises lets anything
# else through as an error), name the field, carry a fix and be reported against the file
# that set the value.

@pytest.fixture
def envs_copy(tmp_path: Path) -> Path:
    target = tmp_path / "envs"
    shutil.copytree(ENVS_DIR, target)
    return target


@pytest.fixture(autouse=True)
def _no_emulator_override(monkeypatch):
    monkeypatch.delenv("HRSAAS_EMULATOR_ENDPOINT", raising=False)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def _problems(err: pytest.ExceptionInfo[ConfigError], field: str) -> list[Problem]:
    return [p for p in err.value.problems if p.field == field]


AUTH = 'min_tasks = 2\nmax_tasks = 4\npriority = "high"\nport = 8081'
CERTIFICATE = 'vcpu = 0.25\nmemory_gib = 0.5\nmin_tasks = 1\nmax_tasks = 2\npriority = "low"'
TIMEOUTS = "timeout_seconds = 10\ninterval_seconds = 30\nmatcher"

CATALOG_EDITS = [
    # (class, rule, old, new, field, message fragment)
    # -- Fargate, task counts and routing (SPEC §4)
    ("catalog", "fargate memory", CERTIFICATE, CERTIFICATE.replace("0.5", "3"),
     "services.certificate.memory_gib", "not a valid Fargate task size with 0.25 vCPU"),
    ("catalog", "fargate vcpu blamed, not memory", CERTIFICATE,
     CERTIFICATE.replace("0.25", "0.3"), "services.certificate.vcpu", "not a Fargate vCPU size"),
    ("catalog", "min > max", AUTH, AUTH.replace("min_tasks = 2", "min_tasks = 5"),
     "services.auth.min_tasks", "greater than max_tasks"),
    ("catalog", "duplicate port", "port = 8082", "port = 8081", "services.tenant.port",
     "claimed by auth, tenant"),
    ("catalog", "duplicate path", 'paths = ["/api/v1/tenants/*"]', 'paths = ["/api/v1/auth/*"]',
     "services.tenant.paths", "'/api/v1/auth/*' is claimed by auth, tenant"),
    ("catalog", "port outside sg-ecs range", "port = 8093", "port = 9000",
     "services.recruitment.port", "outside sg-ecs' ingress range 8081-8093"),
    ("catalog", "unknown topic", 'subscribes = ["employee-affiliation-changed"]',
     'subscribes = ["no-such-topic"]', "services.organization.subscribes", "unknown topic"),
    ("catalog", "more paths than an ALB rule matches", 'paths = ["/api/v1/auth/*"]',
     'paths = ["/a/*", "/b/*", "/c/*", "/d/*", "/e/*", "/f/*"]', "services.auth.paths",
     "an ALB listener rule matches at most 5"),
    ("catalog", "bad target group name", 'target_group = "tg-org"', 'target_group = "tg_org!"',
     "services.organization.target_group", "not a valid target group name"),
    ("catalog", "a pattern that shadows the others", 'paths = ["/api/v1/auth/*"]',
     'paths = ["/api/*"]', "services.auth.paths",
     "shadows 18 rule(s) of other services: auth's rule has priority 8081"),
    ("catalog", "a path pattern ALB refuses", 'paths = ["/api/v1/auth/*"]',
     'paths = ["/api/v1/auth/<id>"]', "services.auth.paths", "not a valid ALB path pattern"),
    ("catalog", "a high-priority service at zero in prod", AUTH,
     AUTH.replace("min_tasks = 2", "min_tasks = 0"), "services.auth.min_tasks",
     "it can scale to no task"),
    # -- crashes in synth before (construct IDs): now refused
    ("crash", "duplicate topic", '"notification-send",\n]',
     '"notification-send",\n  "notification-send",\n]', "topics[7]", "listed twice in topics"),
    ("crash", "duplicate subscription", 'subscribes = ["employee-affiliation-changed"]',
     'subscribes = ["employee-affiliation-changed", "employee-affiliation-changed"]',
     "services.organization.subscribes[1]", "listed twice in subscribes"),
    ("crash", "two services with one name", "[services.tenant]\n",
     '[services.tenant]\nname = "auth"\n', "services.tenant.name",
     "two services are named 'auth'"),
    # -- AWS facts
    ("aws", "target health check timeout not below interval", TIMEOUTS,
     TIMEOUTS.replace("timeout_seconds = 10", "timeout_seconds = 30"),
     "target_health_check.timeout_seconds", "not below the interval (30 s)"),
    ("aws", "container health check timeout not below interval",
     "interval_seconds = 30\ntimeout_seconds = 10\nstart",
     "interval_seconds = 30\ntimeout_seconds = 45\nstart",
     "container_health_check.timeout_seconds", "not below the interval (30 s)"),
    ("aws", "IAM role name over 64 characters", "[services.recruitment]",
     "[services.recruitmentandonboardingofallstaff]",
     "services.recruitmentandonboardingofallstaff.name",
     "'hr-saas-prod-recruitmentandonboardingofallstaff-service-execution' 65 characters long; "
     "AWS allows 64"),
    ("aws", "SNS topic name AWS refuses", '"notification-send",\n]',
     '"notification send",\n]', "topics[6]", "an SNS topic name is 1-256 letters"),
    # -- messages in words, the right field
    ("words", "unknown field", "file_bucket = true", "file_bucket = true\nbucket_for_files = 1",
     "services.file.bucket_for_files", "unknown setting 'bucket_for_files' in [services.file]"),
    ("words", "priority that is not one", 'priority = "low"\nport = 8093',
     'priority = "urgent"\nport = 8093', "services.recruitment.priority",
     "not one of the allowed values ('high', 'medium' or 'low')"),
    ("words", "service name against the rule", "[services.recruitment]",
     "[services.Recruit-Ment]", "services.Recruit-Ment.name",
     "a service name is lowercase letters and digits, starting with a letter"),
    ("words", "a boolean written as text", "file_bucket = true", 'file_bucket = "yes"',
     "services.file.file_bucket", "must be true or false"),
]


@pytest.mark.parametrize("cls,rule,old,new,field,fragment", CATALOG_EDITS,
                         ids=[f"{c[0]}: {c[1]}" for c in CATALOG_EDITS])
def test_rejects_bad_catalog(envs_copy, cls, rule, old, new, field, fragment):
    catalog = envs_copy / "base" / "services.toml"
    _edit(catalog, old, new)
    with pytest.raises(ConfigError) as err:
        load_environment("prod", envs_copy)
    problems = _problems(err, field)
    assert problems, str(err.value)
    assert fragment in problems[0].message, str(err.value)
    assert problems[0].file == "envs/base/services.toml", str(err.value)
    assert problems[0].line is not None and problems[0].fix, str(err.value)
    assert "^" not in problems[0].message + problems[0].fix, "a regular expression is not a rule"


MVP_NAMES = VARIANT_NAMES.format(name="staging")  # its own names (tests/conftest.py)

ENV_FILES = [
    # (class, rule, file content, field, message fragment)
    # -- network (guide §3)
    ("network", "subnets outside the VPC", 'extends = "mvp"\n[network]\nvpc_cidr = "10.1.0.0/16"\n',
     "network.subnets[0].cidr", "outside the VPC CIDR 10.1.0.0/16"),
    ("network", "bad CIDR", 'extends = "mvp"\n[network]\nvpc_cidr = "10.0.0.0/33"\n',
     "network.vpc_cidr", "not an IPv4 network"),
    ("network", "VPC larger than /16", 'extends = "mvp"\n[network]\nvpc_cidr = "10.0.0.0/8"\n',
     "network.vpc_cidr", "a VPC's IPv4 block is between /16 and /28 (this is /8)"),
    ("network", "ingress CIDR that is not one", 'extends = "mvp"\n[network]\n'
     'alb_ingress_cidr = "0.0.0.0/33"\n', "network.alb_ingress_cidr", "not an IPv4 network"),
    ("network", "port out of range", 'extends = "mvp"\n[network]\n'
     "alb_ingress_ports = [80, 70000]\n",
     "network.alb_ingress_ports[1]", "above the maximum 65535"),
    ("network", "database port RDS refuses", 'extends = "mvp"\n[network]\ndatabase_port = 80\n',
     "network.database_port", "RDS for PostgreSQL listens on a port in 1150-65535"),
    ("network", "unknown VPC endpoint service", 'extends = "mvp"\n[network]\n'
     'interface_endpoints = ["ecr.dkr", "secretmanager"]\n', "network.interface_endpoints[1]",
     "not an interface VPC endpoint service"),
    ("network", "gateway endpoint listed as interface", 'extends = "mvp"\n[network]\n'
     'interface_endpoints = ["dynamodb"]\n', "network.interface_endpoints[0]",
     "not an interface VPC endpoint service"),
    ("network", "too many NAT gateways", 'extends = "mvp"\n[network]\nnat_gateways = 3\n',
     "network.nat_gateways", "above the maximum 2"),
    ("network", "AZ of another region", 'extends = "mvp"\n'
     'azs = ["ap-northeast-2a", "us-east-1c"]\n',
     "azs[1]", "not an AZ of region ap-northeast-2"),
    ("network", "AZ that does not exist", 'extends = "mvp"\n'
     'azs = ["ap-northeast-2a", "ap-northeast-2x"]\n', "azs[1]", "ap-northeast-2 has no such AZ"),
    ("network", "region without known AZs", 'extends = "mvp"\nregion = "ap-northeast-9"\n',
     "region", "not a region whose availability zones this project knows"),
    ("network", "duplicate AZ (a crash in synth before)", 'extends = "mvp"\n'
     'azs = ["ap-northeast-2a", "ap-northeast-2c", "ap-northeast-2a"]\n', "azs[2]",
     "listed twice in azs"),
    ("network", "Multi-AZ with one AZ", 'extends = "prod"\nazs = ["ap-northeast-2a"]\n',
     "capabilities.multi_az", "needs at least two AZs"),
    # -- database (guide §5)
    ("database", "connection budget", 'extends = "mvp"\n[database]\nmax_connections = 150\n',
     "database.max_connections", "connection budget does not hold: worst case 200"),
    ("database", "reserved >= max", 'extends = "mvp"\n[database]\nreserved_connections = 300\n',
     "database.reserved_connections", "not below max_connections"),
    ("database", "RDS class that does not exist", 'extends = "mvp"\n[database]\n'
     'instance_class = "db.t3.mega"\n', "database.instance_class",
     "not a DB instance class RDS for PostgreSQL offers"),
    ("database", "engine version that does not exist", 'extends = "mvp"\n[database]\n'
     'engine_version = "9.6"\n', "database.engine_version", "not a PostgreSQL 15 version"),
    ("database", "replica class that is not an RDS class", 'extends = "mvp"\n[database]\n'
     'read_replicas = 1\nread_replica_class = "t3.large"\n', "database.read_replica_class",
     "an RDS DB instance class is db.<family>.<size>"),
    ("database", "Performance Insights retention", 'extends = "mvp"\n[database]\n'
     "performance_insights_retention_days = 100\n",
     "database.performance_insights_retention_days", "a number of months × 31"),
    ("database", "backup window malformed", 'extends = "mvp"\n[database]\n'
     'backup_window = "25:00-26:00"\n', "database.backup_window", "not a daily window"),
    ("database", "backup window shorter than 30 minutes", 'extends = "mvp"\n[database]\n'
     'backup_window = "17:00-17:15"\n', "database.backup_window", "at least 30 minutes"),
    ("database", "maintenance window in the wrong form", 'extends = "mvp"\n[database]\n'
     'maintenance_window = "sunday 18:30"\n', "database.maintenance_window",
     "a weekly window ddd:hh24:mi-ddd:hh24:mi"),
    ("database", "maintenance window overlapping the backups", 'extends = "mvp"\n[database]\n'
     'maintenance_window = "sun:17:30-sun:18:30"\n', "database.maintenance_window",
     "overlaps the backup window (17:00-18:00)"),
    ("database", "storage ceiling below storage", 'extends = "mvp"\n[database]\n'
     "max_allocated_storage_gib = 20\n", "database.max_allocated_storage_gib",
     "below allocated_storage_gib (50)"),
    ("database", "backup retention out of range", 'extends = "mvp"\n[database]\n'
     "backup_retention_days = 36\n", "database.backup_retention_days", "above the maximum 35"),
    ("database", "too many read replicas", 'extends = "mvp"\n[database]\nread_replicas = 6\n',
     "database.read_replicas", "above the maximum 5"),
    # -- cache (guide §6)
    ("cache", "ElastiCache node type that does not exist", 'extends = "mvp"\n[cache]\n'
     'node_type = "cache.r6g.mega"\n', "cache.node_type", "not an ElastiCache node type"),
    ("cache", "Redis 7 version that does not exist", 'extends = "mvp"\n[cache]\n'
     'engine_version = "7.9"\n', "cache.engine_version", "not a Redis 7 version"),
    ("cache", "snapshot window under an hour", 'extends = "mvp"\n[cache]\n'
     'snapshot_window = "16:00-16:30"\n', "cache.snapshot_window", "at least 60 minutes"),
    ("cache", "Multi-AZ cache that cannot fail over", 'extends = "mvp"\n[capabilities]\n'
     "multi_az = true\n", "cache.replicas", "needs a replica to fail over"),
    ("cache", "shards without cluster mode", 'extends = "mvp"\n[cache]\nshards = 3\n',
     "cache.shards", "shards need cluster mode"),
    # -- operations
    ("operations", "backup cron with five fields", 'extends = "mvp"\n[backup]\n'
     'schedule = "cron(0 18 * * *)"\n', "backup.schedule", "5 fields, but an AWS cron"),
    ("operations", "backup cron without '?'", 'extends = "mvp"\n[backup]\n'
     'schedule = "cron(0 18 * * * *)"\n', "backup.schedule",
     "one of day-of-month and day-of-week must be '?'"),
    ("operations", "backup cron out of range", 'extends = "mvp"\n[backup]\n'
     'schedule = "cron(0 25 * * ? *)"\n', "backup.schedule", "hours '25' is outside 0-23"),
    ("operations", "backup copy in the same region", 'extends = "prod"\n[backup]\n'
     'copy_region = "ap-northeast-2"\n', "backup.copy_region", "same region as the source"),
    ("operations", "backup copy in an unknown region", 'extends = "prod"\n[backup]\n'
     'copy_region = "ap-northeast-9"\n', "backup.copy_region", "not a region this project"),
    ("operations", "backup copy expiring first", 'extends = "prod"\n[backup]\n'
     "copy_retention_days = 7\n", "backup.copy_retention_days", "expires before the source"),
    ("operations", "CPU alarm at the scaling target", 'extends = "mvp"\n[observability]\n'
     "ecs_cpu_percent = 70\n", "observability.ecs_cpu_percent", "not above the scaling target"),
    ("operations", "alarm subscriber that is not an e-mail", 'extends = "mvp"\n'
     '[observability]\ncritical_emails = ["ops-team"]\n', "observability.critical_emails",
     "is not an e-mail address"),
    ("operations", "the same subscriber twice (a crash in synth before)", 'extends = "mvp"\n'
     '[observability]\ncritical_emails = ["ops@example.com", "ops@example.com"]\n',
     "observability.critical_emails[1]", "listed twice"),
    ("operations", "negative threshold", 'extends = "mvp"\n[observability]\n'
     "alb_5xx_percent = -1\n", "observability.alb_5xx_percent", "must be greater than 0"),
    ("operations", "autoscaling target above 95 %", 'extends = "mvp"\n[compute]\n'
     "cpu_target_percent = 150\n", "compute.cpu_target_percent", "above the maximum 95"),
    ("operations", "retention not allowed by CloudWatch", 'extends = "mvp"\n[network]\n'
     "flow_logs_retention_days = 100\n", "network.flow_logs_retention_days",
     "not one of the allowed values"),
    ("operations", "messaging DLQ shorter than queue", 'extends = "mvp"\n[messaging]\n'
     "dlq_retention_seconds = 60\n", "messaging.dlq_retention_seconds",
     "not longer than the queues' retention"),
    ("operations", "task_count min > max", 'extends = "mvp"\n[services]\n'
     "task_count = { min_tasks = 3, max_tasks = 2 }\n", "services.task_count.min_tasks",
     "greater than max_tasks"),
    ("operations", "prod-like env scaling high-priority services to zero", 'extends = "prod"\n'
     "[services]\ntask_count = { min_tasks = 0, max_tasks = 2 }\n",
     "services.task_count.min_tasks", "it can scale to no task"),
    ("operations", "no recovery window in a real env", 'extends = "mvp"\n[secrets]\n'
     "recovery_window_days = 0\n", "secrets.recovery_window_days", "without recovery"),
    # -- accounts and the emulator
    ("accounts", "emulator off loopback", 'extends = "local"\n[emulator]\n'
     'endpoint = "http://10.1.2.3:4566"\n', "emulator.endpoint", "loopback"),
    ("accounts", "emulated env with a real account", 'extends = "local"\n'
     'account_id = "111111111111"\n', "account_id", "emulator's fake account"),
    ("accounts", "real env with the emulator's account", 'extends = "mvp"\n'
     'account_id = "123456789012"\n', "account_id", "not a real one"),
    ("accounts", "bad account id", 'extends = "mvp"\naccount_id = "12345"\n', "account_id",
     "an AWS account ID is exactly 12 digits"),
    # -- edge and names
    ("edge", "alias outside the certificate", 'extends = "mvp"\n[edge]\n'
     'frontend_aliases = ["www.other.org"]\n', "edge.frontend_aliases[0]",
     "not covered by the certificate's names (mvp.hr.example.com, *.mvp.hr.example.com)"),
    ("edge", "api name two levels down", 'extends = "mvp"\n[edge]\n'
     'api_name = "a.b.hr.example.com"\n', "edge.api_name", "not covered by the certificate"),
    ("edge", "domain that is not a domain", 'extends = "mvp"\n[edge]\ndomain = "hr_example"\n',
     "edge.domain", "a lowercase DNS name"),
    ("edge", "TLS policy that is not an ELB policy", 'extends = "mvp"\n[compute]\n'
     'tls_policy = "TLSv1.0"\n', "compute.tls_policy", "an ELB security policy name"),
    ("edge", "cluster name ECS refuses", 'extends = "mvp"\necs_cluster_name = "hr saas"\n',
     "ecs_cluster_name", "an ECS cluster name is 1-255 letters"),
    # -- booleans are booleans
    ("strict", "deletion_protection = \"no\" (was coerced to false)", 'extends = "mvp"\n'
     '[capabilities]\ndeletion_protection = "no"\n', "capabilities.deletion_protection",
     "must be true or false"),
    ("strict", "multi_az = 1", 'extends = "mvp"\n[capabilities]\nmulti_az = 1\n',
     "capabilities.multi_az", "must be true or false"),
    # -- the file itself
    ("file", "misspelled key", 'extends = "mvp"\n[database]\nmax_conections = 300\n',
     "database.max_conections", "unknown setting 'max_conections' in [database]"),
    ("file", "catalog override in an environment", 'extends = "mvp"\n'
     "[catalog.services.auth]\nport = 9000\n", "catalog.services.auth",
     "an environment cannot change the service catalog"),
    ("file", "invalid TOML", 'extends = "mvp"\n[database\n', "(syntax)", "not valid TOML"),
    ("file", "unknown parent", 'extends = "nope"\n', "extends", "envs/nope.toml is missing"),
    ("file", "extends that is not a name", "extends = 5\n", "extends",
     "extends names the environment this one builds on"),
    ("file", "circular extends", 'extends = "staging"\n', "extends", "circular extends"),
]


# A rule that relates a value of the new file to an inherited one is reported against the file
# that set the field it names (for the environments it affects).
INHERITED_FIELD = {
    "subnets outside the VPC": "envs/base/defaults.toml",   # the subnets' CIDRs
    "Multi-AZ with one AZ": "envs/prod.toml",                # capabilities.multi_az
    "Multi-AZ cache that cannot fail over": "envs/mvp.toml",  # cache.replicas
}


@pytest.mark.parametrize("cls,rule,content,field,fragment", ENV_FILES,
                         ids=[f"{c[0]}: {c[1]}" for c in ENV_FILES])
def test_rejects_bad_environment(envs_copy, cls, rule, content, field, fragment):
    (envs_copy / "staging.toml").write_text(content)
    with pytest.raises(ConfigError) as err:
        load_environment("staging", envs_copy)
    problems = _problems(err, field)
    assert problems, str(err.value)
    assert fragment in problems[0].message, str(err.value)
    assert problems[0].fix, str(err.value)
    assert problems[0].file == INHERITED_FIELD.get(rule, "envs/staging.toml"), str(err.value)
    assert problems[0].envs == ("staging",)
    assert "^" not in problems[0].message + problems[0].fix, "a regular expression is not a rule"
    assert "satisfies the constraint" not in problems[0].fix


# --- the right file ---------------------------------------------------------------------------

def test_a_value_in_defaults_is_reported_once_against_defaults(envs_copy):
    defaults = envs_copy / "base" / "defaults.toml"
    _edit(defaults, 'vpc_cidr = "10.0.0.0/16"', 'vpc_cidr = "10.0.0.0/8"')
    with pytest.raises(ConfigError) as err:
        load_environments(envs_dir=envs_copy)
    [problem] = err.value.problems
    assert (problem.file, problem.line, problem.field, problem.value) == (
        "envs/base/defaults.toml", _line_of(defaults, "vpc_cidr ="), "network.vpc_cidr",
        "10.0.0.0/8")
    assert problem.envs == ("local", "mvp", "prod")
    text = str(err.value)
    assert text.splitlines()[:2] == ["1 configuration problem(s) in 1 file(s):",
                                     "envs/base/defaults.toml:"]
    assert f"line {problem.line}: network.vpc_cidr = '10.0.0.0/8'" in text
    assert "[affects local, mvp, prod]" in text
    assert "envs/local.toml" not in text and "envs/prod.toml" not in text


def test_a_value_in_the_catalog_is_reported_against_the_catalog(envs_copy):
    catalog = envs_copy / "base" / "services.toml"
    _edit(catalog, "port = 8082", "port = 8081")
    with pytest.raises(ConfigError) as err:
        load_environments(envs_dir=envs_copy)
    [problem] = err.value.problems
    ports = [i for i, line in enumerate(catalog.read_text().splitlines(), 1)
             if line == "port = 8081"]
    assert (problem.file, problem.line, problem.field) == (
        "envs/base/services.toml", ports[1], "services.tenant.port")
    assert problem.envs == ("local", "mvp", "prod")


def test_a_typo_in_mvp_is_reported_under_mvp_for_mvp_and_local(envs_copy):
    mvp = envs_copy / "mvp.toml"
    _edit(mvp, "[cache]\n", "[cache]\nnode_tipe = 1\n")
    with pytest.raises(ConfigError) as err:
        load_environments(envs_dir=envs_copy)
    [problem] = err.value.problems
    assert (problem.file, problem.line, problem.field) == (
        "envs/mvp.toml", _line_of(mvp, "node_tipe"), "cache.node_tipe")
    assert problem.envs == ("local", "mvp")
    assert "did you mean node_type?" in problem.fix


def test_a_value_inherited_from_a_parent_is_reported_against_the_parent(envs_copy):
    (envs_copy / "staging.toml").write_text(
        'extends = "mvp"\naccount_id = "333333333333"\n' + MVP_NAMES)
    _edit(envs_copy / "mvp.toml", 'instance_class = "db.t3.medium"',
          'instance_class = "db.t3.mega"')
    with pytest.raises(ConfigError) as err:
        load_environments(envs_dir=envs_copy)
    [problem] = err.value.problems
    assert problem.file == "envs/mvp.toml" and problem.envs == ("local", "mvp", "staging")


def test_the_emulator_override_is_validated_too(monkeypatch):
    monkeypatch.setenv("HRSAAS_EMULATOR_ENDPOINT", "https://moto.example.net:443")
    with pytest.raises(ConfigError) as err:
        load_environment("local")
    assert [p.field for p in err.value.problems] == ["emulator.endpoint"]
    assert "HRSAAS_EMULATOR_ENDPOINT" in err.value.problems[0].file


def test_overlapping_subnets_are_rejected(envs_copy):
    _edit(envs_copy / "base" / "defaults.toml", 'cidr = "10.0.2.0/24"', 'cidr = "10.0.1.128/25"')
    with pytest.raises(ConfigError) as err:
        load_environment("mvp", envs_copy)
    assert any("overlaps subnet public-a" in p.message for p in err.value.problems)


def test_a_subnet_smaller_than_a_28_is_rejected(envs_copy):
    defaults = envs_copy / "base" / "defaults.toml"
    _edit(defaults, 'cidr = "10.0.1.0/24"', 'cidr = "10.0.1.0/29"')
    with pytest.raises(ConfigError) as err:
        load_environment("mvp", envs_copy)
    [problem] = _problems(err, "network.subnets[0].cidr")
    assert "between /16 and /28 (this is /29" in problem.message
    assert (problem.file, problem.line) == ("envs/base/defaults.toml",
                                            _line_of(defaults, "10.0.1.0/29"))


def test_an_empty_catalog_is_rejected(envs_copy):
    catalog = envs_copy / "base" / "services.toml"
    catalog.write_text(catalog.read_text().split("[services.auth]")[0])
    with pytest.raises(ConfigError) as err:
        load_environment("mvp", envs_copy)
    [problem] = _problems(err, "services")
    assert "the service catalog is empty" in problem.message
    assert problem.file == "envs/base/services.toml"


# --- all at once --------------------------------------------------------------------------------

def test_every_problem_is_reported_at_once(envs_copy):
    (envs_copy / "staging.toml").write_text(
        'extends = "mvp"\naccount_id = "123456789012"\n[network]\nvpc_cidr = "10.9.0.0/16"\n'
        "[database]\nmax_connections = 100\n")
    with pytest.raises(ConfigError) as err:
        load_environment("staging", envs_copy)
    fields = {p.field for p in err.value.problems}
    assert {"account_id", "database.max_connections", "network.subnets[0].cidr"} <= fields
    text = str(err.value)
    assert text.startswith(f"{len(err.value.problems)} configuration problem(s) in ")
    assert "envs/staging.toml:\n" in text and "line 6: database.max_connections = 100:" in text
    assert "Fix:" in text


def test_a_type_error_does_not_hide_the_cross_field_rules(envs_copy):
    """A bad priority, a duplicate port and a broken connection budget: all three reported."""
    _edit(envs_copy / "base" / "services.toml", 'priority = "medium"\nport = 8082',
          'priority = "urgent"\nport = 8081')
    _edit(envs_copy / "mvp.toml", "max_connections = 250", "max_connections = 100")
    with pytest.raises(ConfigError) as err:
        load_environments(envs_dir=envs_copy)
    found = {(p.file, p.field) for p in err.value.problems}
    assert found == {("envs/base/services.toml", "services.tenant.priority"),
                     ("envs/base/services.toml", "services.tenant.port"),
                     ("envs/mvp.toml", "database.max_connections")}, str(err.value)
    assert len(str(err.value).splitlines()) == 1 + 2 + 3


def test_three_independent_problems_in_one_environment(envs_copy):
    (envs_copy / "staging.toml").write_text(
        'extends = "mvp"\naccount_id = "333333333333"\n' + MVP_NAMES
        + '[capabilities]\ndeletion_protection = "no"\n'
        '[database]\ninstance_class = "db.t3.mega"\nengine_version = "9.6"\n'
        "max_connections = 100\n")
    with pytest.raises(ConfigError) as err:
        load_environment("staging", envs_copy)
    assert {p.field for p in err.value.problems} == {
        "capabilities.deletion_protection", "database.instance_class",
        "database.engine_version", "database.max_connections"}, str(err.value)
    assert {p.file for p in err.value.problems} == {"envs/staging.toml"}


def test_a_name_given_twice_is_loaded_once():
    assert [env.name for env in load_environments(["mvp", "mvp"])] == ["mvp"]


# --- between environments ----------------------------------------------------------------------

def test_prod_in_the_mvp_account_is_refused(envs_copy):
    _edit(envs_copy / "prod.toml", 'account_id = "222222222222"', 'account_id = "111111111111"')
    with pytest.raises(ConfigError) as err:
        load_environments(envs_dir=envs_copy)
    problems = _problems(err, "account_id")
    assert {(p.file, p.envs) for p in problems} == {("envs/mvp.toml", ("mvp",)),
                                                    ("envs/prod.toml", ("prod",))}
    assert all("the real environments mvp, prod share this account" in p.message
               for p in problems)


def test_two_environments_claiming_the_same_names_are_refused(envs_copy):
    (envs_copy / "staging.toml").write_text('extends = "mvp"\naccount_id = "333333333333"\n')
    with pytest.raises(ConfigError) as err:
        load_environments(envs_dir=envs_copy)
    fields = {p.field: p for p in err.value.problems}
    assert set(fields) == {"edge.domain", "edge.frontend_aliases[0]", "edge.api_name"}
    domain = fields["edge.domain"]
    assert domain.file == "envs/mvp.toml" and domain.envs == ("mvp", "staging")
    assert "all claim the domain" in domain.message


def test_a_valid_new_environment_loads(envs_copy):
    (envs_copy / "staging.toml").write_text(
        '# staging: the MVP shape in its own account\nextends = "mvp"\n'
        'account_id = "333333333333"\n' + MVP_NAMES)
    envs = {env.name: env for env in load_environments(envs_dir=envs_copy)}
    assert set(envs) == {"local", "mvp", "prod", "staging"}
    assert envs["staging"].edge.api_name == "api.staging.hr.example.com"


# --- file names, catalog overrides, pending rules ------------------------------------------------

def test_a_badly_named_file_blocks_only_itself(envs_copy):
    (envs_copy / "My-Env.toml").write_text('extends = "mvp"\n')
    assert "My-Env" not in environment_names(envs_copy)
    assert {env.name for env in load_environments(envs_dir=envs_copy)} == {"local", "mvp", "prod"}
    with pytest.raises(ConfigError) as err:
        load_environments(["My-Env"], envs_copy)
    [problem] = err.value.problems
    assert problem.file == "envs/My-Env.toml" and problem.field == "(file name)"
    assert "is not a valid environment name: an environment name is 2-16 characters" in (
        problem.message)
    assert "rename envs/My-Env.toml to envs/myenv.toml" in problem.fix


def test_an_environment_cannot_override_the_catalog(envs_copy):
    (envs_copy / "staging.toml").write_text(
        'extends = "mvp"\naccount_id = "333333333333"\n' + MVP_NAMES
        + "[catalog.services.auth]\nport = 9000\n")
    with pytest.raises(ConfigError) as err:
        load_environment("staging", envs_copy)
    [problem] = err.value.problems
    assert (problem.file, problem.line, problem.field) == (
        "envs/staging.toml", 7, "catalog.services.auth")
    assert "[services] max_stage / task_count" in problem.fix


def test_alarm_subscribers_rule_refuses_a_protected_env_without_subscribers():
    from hrsaas.config.rules import RULES, Files, alarm_subscribers

    assert alarm_subscribers in RULES
    prod = load_environment("prod")
    files = Files("envs/prod.toml", "envs/base/services.toml")
    assert list(alarm_subscribers(prod, files)) == []  # prod names its on-call addresses
    silent = prod.model_copy(update={"observability": prod.observability.model_copy(
        update={"critical_emails": ()})})
    [problem] = alarm_subscribers(silent, files)
    assert problem.field == "observability.critical_emails"
    assert "notify nobody" in problem.message
    assert list(alarm_subscribers(load_environment("mvp"), files)) == []


# --- the machinery ------------------------------------------------------------------------------

def test_lines_are_found_per_table_and_array_of_tables():
    text = ('a = 1\n[t]\nb = "x" # c\n[[arr]]\nk = 1\n[[arr]]\nk = 2\n'
            '[s]\ninline = { x = 1, y = [1, 2] }\nlist = [\n  "a",\n]\nafter = 3\n')
    lines = key_lines(text)
    assert lines[("a",)] == 1 and lines[("t", "b")] == 3
    assert lines[("arr", 0, "k")] == 5 and lines[("arr", 1, "k")] == 7
    assert lines[("s", "inline", "y")] == 9 and lines[("s", "after")] == 13


def test_glob_coverage_decides_shadowing():
    assert glob_covers("/api/*", "/api/v1/auth/*")
    assert glob_covers("/api/v1/*", "/api/v1/a?th")
    assert not glob_covers("/api/v1/auth/*", "/api/*")
    assert not glob_covers("/api/v?/*", "/api/*/x")


def test_aws_facts_name_their_sources_and_date():
    text = FACTS_FILE.read_text()
    facts = aws_facts()
    assert facts.written and facts.written in text and "docs.aws.amazon.com" in text
    assert facts.availability_zones("ap-northeast-2") == [
        "ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c", "ap-northeast-2d"]
    assert facts.availability_zones("ap-northeast-1") == [
        "ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
    assert len(facts.availability_zones("us-east-1")) == 6
    assert {"db.t3.medium", "db.r6g.large"} <= facts.rds_classes()
    assert {"cache.t3.micro", "cache.r6g.large"} <= facts.cache_node_types()
    assert facts.limit("iam_role_name") == 64 and facts.limit("target_group_name") == 32


# --- end to end ---------------------------------------------------------------------------------

def test_adding_an_environment_is_adding_a_file(variant_synth):
    """staging.toml (tests/conftest.py ``VARIANTS``: extends mvp, its own account and names)
    is the only change to the copy of envs/ the run's second synthesis was made from."""
    envs = Path(variant_synth["HRSAAS_ENVS_DIR"])
    assert (envs / "staging.toml").read_text() == VARIANTS["staging"]
    assert "staging" in environment_names(envs)
    env = load_environment("staging", envs)
    assert env.database.instance_class == "db.t3.medium"
    out = Path(variant_synth["out"])
    stacks = sorted(p.name for p in (out / "stacks").iterdir() if p.name.startswith("staging-"))
    assert stacks == sorted(f"staging-{layer}" for layer in LAYERS)
    assert '"Environment": "staging"' in (out / "stacks/staging-network/cdk.tf.json").read_text()


def test_bad_config_fails_before_synthesis_without_a_traceback(envs_copy, tmp_path):
    """Each of these ended in a traceback (construct IDs) during synth; now: exit 2, listed."""
    (envs_copy / "broken.toml").write_text(
        'extends = "mvp"\naccount_id = "444444444444"\n'
        'azs = ["ap-northeast-2a", "ap-northeast-2c", "ap-northeast-2a"]\n'
        "[database]\nmax_connections = 1\n")
    catalog = envs_copy / "base" / "services.toml"
    _edit(catalog, '"notification-send",\n]', '"notification-send",\n  "notification-send",\n]')
    _edit(catalog, 'subscribes = ["employee-affiliation-changed"]',
          'subscribes = ["employee-affiliation-changed", "employee-affiliation-changed"]')
    _edit(catalog, "[services.tenant]\n", '[services.tenant]\nname = "auth"\n')
    result = subprocess.run(
        [str(PYTHON), str(ROOT / "main.py")], cwd=ROOT, capture_output=True, text=True,
        env=tool_env({"HRSAAS_ENVS_DIR": str(envs_copy), "HRSAAS_ENVS": "broken,mvp,broken",
                      "CDKTF_OUTDIR": str(tmp_path / "o")}), timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    err = result.stderr
    assert "envs/broken.toml:\n" in err and "database.max_connections = 1:" in err
    assert "azs[2] = 'ap-northeast-2a'" in err
    assert "topics[7] = 'notification-send'" in err
    assert "services.organization.subscribes[1]" in err and "services.tenant.name" in err
    assert not (tmp_path / "o").exists(), "nothing may be synthesized from invalid config"
