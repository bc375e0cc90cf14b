"""Guard rails over a saved plan: refuse to destroy or replace stateful resources.

    hrsaas guard plans/prod/prod-data.json [--allow ADDRESS ...]

In environments with ``capabilities.protect_stateful`` (prod), ``make plan`` and ``make deploy``
run this over every stack's plan before anything is applied; Terraform's ``prevent_destroy``
on the same resources is the second line. To proceed deliberately, name each resource:
``--allow aws_db_instance.postgres_instance_919E2690`` (``HRSAAS_ALLOW_DESTROY`` holds the
same list, comma-separated) — after taking a snapshot or a state backup.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# What holds data that a re-apply cannot bring back.
STATEFUL_TYPES = {
    "aws_db_instance": "the PostgreSQL database",
    "aws_elasticache_replication_group": "the Redis cache",
    "aws_s3_bucket": "an S3 bucket (state, frontend or files)",
    "aws_dynamodb_table": "the state lock table",
    "aws_kms_key": "a KMS key (data encrypted with it becomes unreadable)",
    "aws_secretsmanager_secret": "a secret",
    "aws_route53_zone": "the DNS zone (a new zone has new name servers: the domain is offline "
                        "until the registrar is updated)",
    "aws_backup_vault": "a backup vault (its recovery points go with it)",
    "aws_ecr_repository": "an image repository (the released images go with it)",
    "aws_cloudwatch_log_group": "an audit log group (flow logs, WAF or CloudTrail logs)",
}

# Log groups are stateful only when they are an audit trail; a service's own log group goes
# with the service when the catalog drops it.
AUDIT_LOG_GROUP_PREFIXES = ("/vpc/", "aws-waf-logs-", "/aws/cloudtrail/")


def is_stateful(kind: str, name: object = None) -> bool:
    """Whether a resource of this type (and name, for log groups) holds what a re-apply
    cannot bring back. One rule for the plan guard and for ``prevent_destroy``."""
    if kind == "aws_cloudwatch_log_group":
        return isinstance(name, str) and name.startswith(AUDIT_LOG_GROUP_PREFIXES)
    return kind in STATEFUL_TYPES


# resource_changes[].change.actions → what a reviewer calls it. Both replace orders (destroy
# first, or create_before_destroy) are one replace, never also an add and a destroy. The plan
# summary, the cost diff and drift detection all read plans through this one table.
CHANGE_KINDS: dict[tuple[str, ...], str] = {
    ("create",): "add",
    ("update",): "change",
    ("delete",): "destroy",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
}
NO_CHANGE = frozenset({"no-op", "read"})


def change_kind(actions: list[str] | tuple[str, ...]) -> str | None:
    """``add``, ``change``, ``destroy`` or ``replace``; None for no-op and read."""
    return CHANGE_KINDS.get(tuple(actions))


@dataclass(frozen=True)
class Destruction:
    address: str
    kind: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        verb = "replaced" if "create" in self.actions else "destroyed"
        return f"{self.address} ({STATEFUL_TYPES[self.kind]}) would be {verb}"


def destructive_changes(plan: dict, allow: set[str] = frozenset()) -> list[Destruction]:
    found = []
    for change in plan.get("resource_changes", []):
        actions = tuple(change["change"]["actions"])
        before = change["change"].get("before") or {}
        if "delete" in actions and is_stateful(change["type"], before.get("name")) \
                and change["address"] not in allow:
            found.append(Destruction(change["address"], change["type"], actions))
    return found


def check(plan_files: list[Path], allow: set[str]) -> list[str]:
    problems = []
    for path in plan_files:
        for item in destructive_changes(json.loads(path.read_text()), allow):
            problems.append(f"{path.stem}: {item}")
    return problems


def explain(problems: list[str]) -> str:
    return "\n".join([
        "refusing the plan: it would destroy or replace stateful resources",
        *(f"  - {p}" for p in problems),
        "Nothing was applied. If this is deliberate, take a snapshot/backup first, then name",
        "each resource: HRSAAS_ALLOW_DESTROY=<address>[,<address>…] (or --allow), and remove",
        "its prevent_destroy in a reviewed change. Otherwise change the config so the plan keeps",
        "the resource (a replacement usually comes from an immutable argument).",
    ])


def allowed_from_env() -> set[str]:
    return {a for a in os.environ.get("HRSAAS_ALLOW_DESTROY", "").split(",") if a}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas guard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plans", nargs="+", type=Path, help="`terraform show -json` outputs")
    parser.add_argument("--allow", action="append", default=[])
    args = parser.parse_args(argv)
    problems = check(args.plans, set(args.allow) | allowed_from_env())
    if problems:
        print(explain(problems), file=sys.stderr)
        return 1
    print(f"guard: {len(args.plans)} plan(s), no stateful resource destroyed or replaced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
