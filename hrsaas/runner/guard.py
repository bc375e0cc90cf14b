"""Guard rails over a saved plan: refuse to destroy or replace stateful resources.

    hrsaas guard plans/prod/prod-data.json [--allow ADDRESS ...]

In environments with ``capabilities.protect_stateful`` (prod), ``make plan``, the pull-request
plans and every deploy run this over every stack's plan before anything is applied;
Terraform's ``prevent_destroy`` on the same resources is the second line.

To proceed deliberately, the reviewed path is the allow-list file
``envs/base/allow-destroy.toml`` (CODEOWNERS review it like ``envs/prod.toml``): one
``[[destroy]]`` entry per resource with ``env``, ``stack``, ``address`` and ``reason`` (and
``backup``: the snapshot taken first). The pull-request plan and the deploy read the same file
from the same commit, so what a reviewer approved on the PR is what the deploy allows. For a
person's own run, ``--allow ADDRESS`` or ``HRSAAS_ALLOW_DESTROY=<address>,…`` add to it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..toolenv import ROOT

ALLOW_FILE = ROOT / "envs" / "base" / "allow-destroy.toml"
ALLOW_FIELDS = {"env": True, "stack": True, "address": True, "reason": True, "backup": False}

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
        "Nothing was applied. If this is deliberate, take a snapshot/backup first, then add a",
        "[[destroy]] entry per resource (env, stack, address, reason, backup) to",
        "envs/base/allow-destroy.toml and remove its prevent_destroy, in one reviewed pull",
        "request (a person's own run may use HRSAAS_ALLOW_DESTROY=<address>[,…] or --allow).",
        "Otherwise change the config so the plan keeps the resource (a replacement usually",
        "comes from an immutable argument).",
    ])


class AllowListError(ValueError):
    """The allow-list file is malformed: the message names the entry, the field and the fix."""


def load_allow_list(path: Path = ALLOW_FILE) -> list[dict[str, str]]:
    """The ``[[destroy]]`` entries of the allow-list file (none when it does not exist)."""
    if not path.is_file():
        return []
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise AllowListError(f"{where}: not valid TOML ({exc}). Fix the syntax") from None
    unknown = sorted(set(data) - {"destroy"})
    if unknown:
        raise AllowListError(f"{where}: unknown table(s) {', '.join(unknown)}: the file holds "
                             "only [[destroy]] entries")
    entries = data.get("destroy", [])
    if not isinstance(entries, list):
        raise AllowListError(f"{where}: `destroy` must be an array of tables: write each "
                             "entry as [[destroy]]")
    for i, entry in enumerate(entries, 1):
        label = f"{where}: destroy entry {i}"
        extra = sorted(set(entry) - set(ALLOW_FIELDS))
        if extra:
            raise AllowListError(f"{label}: unknown field(s) {', '.join(extra)}: the fields are "
                                 f"{', '.join(ALLOW_FIELDS)}")
        for field, required in ALLOW_FIELDS.items():
            value = entry.get(field)
            if value is None and not required:
                continue
            if not isinstance(value, str) or not value.strip():
                raise AllowListError(
                    f"{label}: `{field}` is {'missing' if value is None else repr(value)}: "
                    f"{_FIELD_HELP[field]}")
        if not entry["stack"].startswith(f"{entry['env']}-"):
            raise AllowListError(f"{label}: stack {entry['stack']!r} is not a stack of env "
                                 f"{entry['env']!r}: stack IDs are <env>-<layer>")
    return entries


_FIELD_HELP = {
    "env": "the environment's name (prod)",
    "stack": "the stack ID whose plan destroys it (prod-data)",
    "address": "the resource address as the plan names it "
               "(aws_db_instance.postgres_instance_919E2690)",
    "reason": "say why it goes and what replaces it, for the reviewer",
    "backup": "the snapshot or backup taken first, or leave the field out",
}


def allowed_from_env() -> set[str]:
    return {a for a in os.environ.get("HRSAAS_ALLOW_DESTROY", "").split(",") if a}


def allowed(env: str, stack: str, path: Path = ALLOW_FILE) -> set[str]:
    """The addresses a plan of ``stack`` may destroy: the allow-list file's entries for that
    env and stack, and ``HRSAAS_ALLOW_DESTROY``."""
    return {e["address"] for e in load_allow_list(path)
            if e["env"] == env and e["stack"] == stack} | allowed_from_env()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas guard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("plans", nargs="+", type=Path, help="`terraform show -json` outputs")
    parser.add_argument("--allow", action="append", default=[])
    args = parser.parse_args(argv)
    try:
        listed = {e["address"] for e in load_allow_list()}
    except AllowListError as exc:
        print(exc, file=sys.stderr)
        return 2
    problems = check(args.plans, set(args.allow) | allowed_from_env() | listed)
    if problems:
        print(explain(problems), file=sys.stderr)
        return 1
    print(f"guard: {len(args.plans)} plan(s), no stateful resource destroyed or replaced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
