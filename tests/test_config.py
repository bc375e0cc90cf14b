"""Configuration as data: every rule rejects bad input with the field, the value and the fix."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hrsaas.config import (
    ConfigError,
    connection_budget,
    environment_names,
    load_environment,
    load_environments,
)
from hrsaas.config.loader import ENVS_DIR
from hrsaas.layers import LAYERS
from hrsaas.toolenv import PYTHON, ROOT, tool_env


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


# --- rejections: one case per rule ----------------------------------------------------------

@pytest.fixture
def envs_copy(tmp_path: Path) -> Path:
    target = tmp_path / "envs"
    shutil.copytree(ENVS_DIR, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


CATALOG_EDITS = [
    # (rule, old, new, field, message fragment)
    ("fargate size", 'vcpu = 0.25\nmemory_gib = 0.5\nmin_tasks = 1\nmax_tasks = 2\n'
     'priority = "low"\nport = 8092',
     'vcpu = 0.25\nmemory_gib = 3\nmin_tasks = 1\nmax_tasks = 2\npriority = "low"\nport = 8092',
     "services.certificate.memory_gib", "not a valid Fargate task size"),
    ("min > max", "min_tasks = 2\nmax_tasks = 4\npriority = \"high\"\nport = 8081",
     "min_tasks = 5\nmax_tasks = 4\npriority = \"high\"\nport = 8081",
     "services.auth.min_tasks", "greater than max_tasks"),
    ("duplicate port", "port = 8082", "port = 8081", ".port", "claimed by auth, tenant"),
    ("duplicate path", 'paths = ["/api/v1/tenants/*"]', 'paths = ["/api/v1/auth/*"]',
     ".paths", "'/api/v1/auth/*' is claimed by auth, tenant"),
    ("port outside sg-ecs range", "port = 8093", "port = 9000",
     "services.recruitment.port", "outside sg-ecs' ingress range 8081-8093"),
    ("unknown topic", 'subscribes = ["employee-affiliation-changed"]',
     'subscribes = ["no-such-topic"]', "services.organization.subscribes", "unknown topic"),
    ("more paths than an ALB rule matches", 'paths = ["/api/v1/auth/*"]',
     'paths = ["/a/*", "/b/*", "/c/*", "/d/*", "/e/*", "/f/*"]', "services.auth.paths",
     "an ALB listener rule matches at most 5"),
    ("bad target group name", 'target_group = "tg-org"', 'target_group = "tg_org!"',
     "services.organization.target_group", "not a valid target group name"),
    ("unknown field", "file_bucket = true", "file_bucket = true\nbucket_for_files = 1",
     "services.file.bucket_for_files", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize("rule,old,new,field,fragment", CATALOG_EDITS,
                         ids=[c[0] for c in CATALOG_EDITS])
def test_rejects_bad_catalog(envs_copy, rule, old, new, field, fragment):
    _edit(envs_copy / "base" / "services.toml", old, new)
    with pytest.raises(ConfigError) as err:
        load_environment("prod", envs_copy)
    problems = [p for p in err.value.problems if field in p.field]
    assert problems, str(err.value)
    assert fragment in problems[0].message, str(err.value)
    assert problems[0].file == "envs/base/services.toml"
    assert problems[0].fix


ENV_FILES = [
    # (rule, file content, field, message fragment)
    ("subnets outside the VPC", 'extends = "mvp"\n[network]\nvpc_cidr = "10.1.0.0/16"\n',
     "network.subnets[0].cidr", "outside the VPC CIDR 10.1.0.0/16"),
    ("connection budget", 'extends = "mvp"\n[database]\nmax_connections = 150\n',
     "database.max_connections", "connection budget does not hold: worst case 200"),
    ("reserved >= max", 'extends = "mvp"\n[database]\nreserved_connections = 300\n',
     "database.reserved_connections", "not below max_connections"),
    ("task_count min > max", 'extends = "mvp"\n[services]\n'
     'task_count = { min_tasks = 3, max_tasks = 2 }\n',
     "services.task_count.min_tasks", "greater than max_tasks"),
    ("AZ of another region", 'extends = "mvp"\nazs = ["ap-northeast-2a", "us-east-1c"]\n',
     "azs", "not an AZ of region ap-northeast-2"),
    ("emulator off loopback", 'extends = "local"\n[emulator]\nendpoint = "http://10.1.2.3:4566"\n',
     "emulator.endpoint", "loopback"),
    ("emulated env with a real account", 'extends = "local"\naccount_id = "111111111111"\n',
     "account_id", "emulator's fake account"),
    ("real env with the emulator's account", 'extends = "mvp"\naccount_id = "123456789012"\n',
     "account_id", "not a real one"),
    ("bad account id", 'extends = "mvp"\naccount_id = "12345"\n',
     "account_id", "String should match pattern"),
    ("bad CIDR", 'extends = "mvp"\n[network]\nvpc_cidr = "10.0.0.0/33"\n',
     "network.vpc_cidr", "not an IPv4 network"),
    ("too many NAT gateways", 'extends = "mvp"\n[network]\nnat_gateways = 3\n',
     "network.nat_gateways", "less than or equal to 2"),
    ("retention not allowed by CloudWatch", 'extends = "mvp"\n[network]\n'
     "flow_logs_retention_days = 100\n", "network.flow_logs_retention_days", "Input should be"),
    ("storage ceiling below storage", 'extends = "mvp"\n[database]\n'
     "max_allocated_storage_gib = 20\n", "database.max_allocated_storage_gib",
     "below allocated_storage_gib (50)"),
    ("Multi-AZ cache that cannot fail over", 'extends = "mvp"\n[capabilities]\n'
     "multi_az = true\n", "cache.replicas", "needs a replica to fail over"),
    ("shards without cluster mode", 'extends = "mvp"\n[cache]\nshards = 3\n',
     "cache.shards", "shards need cluster mode"),
    ("backup retention out of range", 'extends = "mvp"\n[database]\n'
     "backup_retention_days = 36\n", "database.backup_retention_days",
     "less than or equal to 35"),
    ("no recovery window in a real env", 'extends = "mvp"\n[secrets]\n'
     "recovery_window_days = 0\n", "secrets.recovery_window_days", "without recovery"),
    ("Multi-AZ with one AZ", 'extends = "prod"\nazs = ["ap-northeast-2a"]\n',
     "capabilities.multi_az", "needs at least two AZs"),
    ("alias outside the certificate", 'extends = "mvp"\n[edge]\n'
     'frontend_aliases = ["www.other.org"]\n', "edge.frontend_aliases[0]",
     "not covered by the certificate's names (hr.example.com, *.hr.example.com)"),
    ("api name two levels down", 'extends = "mvp"\n[edge]\napi_name = "a.b.hr.example.com"\n',
     "edge.api_name", "not covered by the certificate's names"),
    ("domain that is not a domain", 'extends = "mvp"\n[edge]\ndomain = "hr_example"\n',
     "edge.domain", "String should match pattern"),
    ("messaging DLQ shorter than queue", 'extends = "mvp"\n[messaging]\n'
     "dlq_retention_seconds = 60\n", "messaging.dlq_retention_seconds",
     "not longer than the queues' retention"),
    ("autoscaling target above 95 %", 'extends = "mvp"\n[compute]\ncpu_target_percent = 150\n',
     "compute.cpu_target_percent", "less than or equal to 95"),
    ("TLS policy that is not an ELB policy", 'extends = "mvp"\n[compute]\n'
     'tls_policy = "TLSv1.0"\n', "compute.tls_policy", "String should match pattern"),
    ("backup copy in the same region", 'extends = "prod"\n[backup]\n'
     'copy_region = "ap-northeast-2"\n', "backup.copy_region", "same region as the source"),
    ("backup copy expiring first", 'extends = "prod"\n[backup]\ncopy_retention_days = 7\n',
     "backup.copy_retention_days", "expires before the source"),
    ("CPU alarm at the scaling target", 'extends = "mvp"\n[observability]\n'
     "ecs_cpu_percent = 70\n", "observability.ecs_cpu_percent", "not above the scaling target"),
    ("alarm subscriber that is not an e-mail", 'extends = "mvp"\n[observability]\n'
     'critical_emails = ["ops-team"]\n', "observability.critical_emails",
     "is not an e-mail address"),
    ("negative threshold", 'extends = "mvp"\n[observability]\nalb_5xx_percent = -1\n',
     "observability.alb_5xx_percent", "greater than 0"),
    ("replica class that is not an RDS class", 'extends = "mvp"\n[database]\n'
     'read_replicas = 1\nread_replica_class = "t3.large"\n', "database.read_replica_class",
     "String should match pattern"),
    ("too many read replicas", 'extends = "mvp"\n[database]\nread_replicas = 6\n',
     "database.read_replicas", "less than or equal to 5"),
    ("misspelled key", 'extends = "mvp"\n[database]\nmax_conections = 300\n',
     "database.max_conections", "Extra inputs are not permitted"),
    ("invalid TOML", 'extends = "mvp"\n[database\n', "(syntax)", "not valid TOML"),
    ("unknown parent", 'extends = "nope"\n', "extends", "envs/nope.toml is missing"),
    ("circular extends", 'extends = "staging"\n', "extends", "circular extends"),
]


@pytest.mark.parametrize("rule,content,field,fragment", ENV_FILES,
                         ids=[c[0] for c in ENV_FILES])
def test_rejects_bad_environment(envs_copy, monkeypatch, rule, content, field, fragment):
    monkeypatch.delenv("HRSAAS_EMULATOR_ENDPOINT", raising=False)
    (envs_copy / "staging.toml").write_text(content)
    with pytest.raises(ConfigError) as err:
        load_environment("staging", envs_copy)
    problems = [p for p in err.value.problems if p.field == field]
    assert problems, str(err.value)
    assert fragment in problems[0].message, str(err.value)
    assert problems[0].fix


def test_the_emulator_override_is_validated_too(monkeypatch):
    monkeypatch.setenv("HRSAAS_EMULATOR_ENDPOINT", "https://moto.example.net:443")
    with pytest.raises(ConfigError) as err:
        load_environment("local")
    assert [p.field for p in err.value.problems] == ["emulator.endpoint"]


def test_overlapping_subnets_are_rejected(envs_copy):
    _edit(envs_copy / "base" / "defaults.toml", 'cidr = "10.0.2.0/24"', 'cidr = "10.0.1.128/25"')
    with pytest.raises(ConfigError) as err:
        load_environment("mvp", envs_copy)
    assert any("overlaps subnet public-a" in p.message for p in err.value.problems)


def test_every_problem_is_reported_at_once(envs_copy):
    (envs_copy / "staging.toml").write_text(
        'extends = "mvp"\naccount_id = "123456789012"\n[network]\nvpc_cidr = "10.9.0.0/16"\n'
        "[database]\nmax_connections = 100\n")
    with pytest.raises(ConfigError) as err:
        load_environment("staging", envs_copy)
    fields = {p.field for p in err.value.problems}
    assert {"account_id", "database.max_connections", "network.subnets[0].cidr"} <= fields
    text = str(err.value)
    assert text.startswith(f"{len(err.value.problems)} configuration problem(s):")
    assert "envs/staging.toml: database.max_connections = 100:" in text and "Fix:" in text


def test_adding_an_environment_is_adding_a_file(envs_copy, tmp_path):
    (envs_copy / "staging.toml").write_text(
        '# staging: the MVP shape in its own account\nextends = "mvp"\n'
        'account_id = "333333333333"\n')
    assert "staging" in environment_names(envs_copy)
    env = load_environment("staging", envs_copy)
    assert env.database.instance_class == "db.t3.medium"
    out = tmp_path / "out"
    result = subprocess.run(
        [str(PYTHON), str(ROOT / "main.py")], cwd=ROOT, capture_output=True, text=True,
        env=tool_env({"HRSAAS_ENVS_DIR": str(envs_copy), "HRSAAS_ENVS": "staging",
                      "CDKTF_OUTDIR": str(out)}), timeout=600)
    assert result.returncode == 0, result.stderr
    stacks = sorted(p.name for p in (out / "stacks").iterdir())
    assert stacks == sorted(f"staging-{layer}" for layer in LAYERS)
    assert '"Environment": "staging"' in (out / "stacks/staging-network/cdk.tf.json").read_text()


def test_bad_config_fails_before_synthesis_without_a_traceback(envs_copy, tmp_path):
    (envs_copy / "broken.toml").write_text('extends = "mvp"\n[database]\nmax_connections = 1\n')
    result = subprocess.run(
        [str(PYTHON), str(ROOT / "main.py")], cwd=ROOT, capture_output=True, text=True,
        env=tool_env({"HRSAAS_ENVS_DIR": str(envs_copy), "CDKTF_OUTDIR": str(tmp_path / "o")}),
        timeout=120)
    assert result.returncode == 2
    assert "envs/broken.toml: database.max_connections = 1:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "o").exists(), "nothing may be synthesized from invalid config"
