"""The Redis AUTH token: set by the deploy runner through the ElastiCache API, never by
Terraform (docs/secrets.md, "The Redis AUTH token").

Why: provider hashicorp/aws 5.100 has no write-only ``auth_token`` on
``aws_elasticache_replication_group`` (``auth_token_wo`` came later, in the 6.x line:
hashicorp/terraform-provider-aws#49268), and every value Terraform
sends is stored in the state the plan roles read. So ``modules/redis`` creates the group with a
one-time bootstrap token (``uuid()``: AUTH is required from the first second, in-transit
encryption ``required``), and this step, run after the ``cache`` stack applies, puts the token
of the ``hr-saas/redis`` secret (JSON key ``password``, the services' ``REDIS_PASSWORD``) on the
group with ``ModifyReplicationGroup``:

* a new (or replaced) group: ``ROTATE`` to the secret's token (the bootstrap token and the
  secret's are both valid: AUTH stays required, nobody ever connects without a token), then
  ``SET`` (only the secret's token is valid; the bootstrap token in the state is dead);
* a rotated secret (a new AWSCURRENT version: bump the generation in hrsaas/layers/security.py
  and deploy): ``ROTATE`` only. Tasks still running with the old token keep working; after
  the services have been redeployed (they read the secret when a task starts), a person
  finishes the rotation with ``--finish`` (``SET``: the old token stops working).

ElastiCache's rules (AWS ElastiCache user guide, "Modifying the AUTH token on an existing
cluster"; API reference ModifyReplicationGroup): ROTATE adds a token and keeps the previous one
(of two, the oldest is dropped); SET is allowed only after a ROTATE and leaves the one token;
both need in-transit encryption and ``ApplyImmediately``. A ROTATE on a group *without* AUTH
would make the token optional — the reason the group is never created without one.

What was applied is recorded without the value, in the SSM String parameter
``/<project>/<env>/cache/auth-token-applied``: the group's creation time (a replaced group has a
new one), the secret version applied and the phase. The step reads only metadata
(DescribeReplicationGroups, DescribeSecret, the record) unless something must change; the token
is read (GetSecretValue, the apply role) only right before it is sent.

    hrsaas redis-auth --env prod            # what the deploy runs
    hrsaas redis-auth --env prod --finish   # SET after a rotation
    hrsaas redis-auth --env prod --adopt    # an existing group: record only
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

SECRET_NAME = "hr-saas/redis"  # the guide's name (§11), created by hrsaas/layers/security.py
SECRET_KEY = "password"
LAYER = "cache"
# A token AWS accepts (ElastiCache AUTH: 16-128 printable characters; of the non-alphanumeric
# ones only these): checked before sending, so a bad secret fails here with its reason rather
# than as an InvalidParameterValue after the group went into "modifying".
ALLOWED_SPECIALS = set("!&#$^<>-")

# Phases of the record.
BOOTSTRAP_ROTATED = "bootstrap-rotated"  # new group: the secret's token added, SET to follow
ROTATED = "rotated"  # secret rotated: old and new token valid until --finish
REQUIRED = "required"  # only the secret's current token is valid


class RedisAuthError(RuntimeError):
    """The token could not be put in place; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Target:
    replication_group_id: str
    secret_id: str
    record_name: str

    @classmethod
    def of(cls, env: Any) -> Target:
        from hrsaas.naming import Names

        names = Names.of(env)
        return cls(replication_group_id=names.resource(LAYER), secret_id=SECRET_NAME,
                   record_name=f"/{names.project}/{names.env}/{LAYER}/auth-token-applied")


@dataclasses.dataclass(frozen=True)
class Clients:
    elasticache: Any
    secretsmanager: Any
    ssm: Any

    @classmethod
    def of(cls, env: Any) -> Clients:
        import boto3

        kwargs: dict[str, str] = {"region_name": env.region}
        if env.is_emulated:
            kwargs.update(endpoint_url=env.emulator.endpoint, aws_access_key_id="test",
                          aws_secret_access_key="test")
        # A session of its own: the deploy runs stacks in threads, and boto3's default
        # session is not safe to create clients from concurrently.
        session = boto3.session.Session()
        return cls(*(session.client(service, **kwargs)
                     for service in ("elasticache", "secretsmanager", "ssm")))


def check_token(token: Any) -> str:
    if not isinstance(token, str):
        raise RedisAuthError(f"{SECRET_NAME} has no string {SECRET_KEY!r}: re-deploy the "
                             "security layer (it writes the secret's values)")
    # isascii: str.isalnum accepts any Unicode letter; the API takes printable ASCII only.
    bad = sorted({c for c in token
                  if not (c.isascii() and c.isalnum()) and c not in ALLOWED_SPECIALS})
    if not 16 <= len(token) <= 128 or bad or not token.isprintable():
        raise RedisAuthError(
            f"{SECRET_NAME}'s {SECRET_KEY} is not a valid ElastiCache AUTH token (16 to 128 "
            f"printable characters, of the special ones only {''.join(sorted(ALLOWED_SPECIALS))}"
            f"; it has {len(token)} characters" + (f" and {len(bad)} not allowed)" if bad
                                                   else ")"))
    return token


def created_at(group: dict) -> str:
    """The group's creation time in UTC: botocore gives it in the machine's time zone, and the
    record must compare equal whether a CI runner or a person's laptop wrote it."""
    when = group.get("ReplicationGroupCreateTime")
    if not isinstance(when, datetime.datetime):
        raise RedisAuthError(f"{group.get('ReplicationGroupId')}: DescribeReplicationGroups "
                             "returned no ReplicationGroupCreateTime")
    return when.astimezone(datetime.UTC).isoformat()


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


class RedisAuth:
    """One environment's token step. ``wait`` blocks until the group is ``available`` again
    (default: boto3's ``replication_group_available`` waiter, up to 45 minutes)."""

    def __init__(self, clients: Clients, target: Target,
                 wait: Callable[[str], None] | None = None):
        self.clients = clients
        self.target = target
        self.wait = wait or self._wait

    def _wait(self, group_id: str) -> None:
        self.clients.elasticache.get_waiter("replication_group_available").wait(
            ReplicationGroupId=group_id, WaiterConfig={"Delay": 30, "MaxAttempts": 90})

    # -- what is there ----------------------------------------------------------------------
    def group(self) -> dict:
        try:
            groups = self.clients.elasticache.describe_replication_groups(
                ReplicationGroupId=self.target.replication_group_id)["ReplicationGroups"]
        except Exception as exc:
            if _error_code(exc) == "ReplicationGroupNotFoundFault":
                raise RedisAuthError(
                    f"replication group {self.target.replication_group_id} does not exist: "
                    "apply the cache layer first") from None
            raise
        return groups[0]

    def secret_version(self) -> str:
        stages = self.clients.secretsmanager.describe_secret(
            SecretId=self.target.secret_id).get("VersionIdsToStages", {})
        current = [v for v, labels in stages.items() if "AWSCURRENT" in labels]
        if not current:
            raise RedisAuthError(f"{self.target.secret_id} has no current version: deploy the "
                                 "security layer first")
        return current[0]

    def record(self) -> dict | None:
        try:
            value = self.clients.ssm.get_parameter(
                Name=self.target.record_name)["Parameter"]["Value"]
        except Exception as exc:
            if _error_code(exc) == "ParameterNotFound":
                return None
            raise
        return json.loads(value)

    def _write(self, created: str, version: str, phase: str) -> dict:
        record = {"replication_group_id": self.target.replication_group_id,
                  "group_created": created, "secret_version": version, "phase": phase}
        self.clients.ssm.put_parameter(
            Name=self.target.record_name, Type="String", Overwrite=True,
            Value=json.dumps(record, sort_keys=True),
            Description="What hrsaas/runner/redis_auth.py applied to the Redis AUTH token "
                        "(no value)")
        return record

    # -- changes ----------------------------------------------------------------------------
    def _token(self, version: str) -> str:
        secret = self.clients.secretsmanager.get_secret_value(
            SecretId=self.target.secret_id, VersionId=version)
        try:
            value = json.loads(secret["SecretString"])
        except (KeyError, TypeError, ValueError):
            raise RedisAuthError(f"{self.target.secret_id} is not JSON with a "
                                 f"{SECRET_KEY!r} key") from None
        return check_token(value.get(SECRET_KEY) if isinstance(value, dict) else None)

    def _modify(self, token: str, strategy: str, *, adoptable: bool = False) -> None:
        group_id = self.target.replication_group_id
        self.wait(group_id)  # a group still modifying refuses another modification
        # ApplyImmediately (which AUTH changes need) also applies every *pending* modification
        # of the group: a node-type, engine or parameter-group change queued for the
        # maintenance window (the cache layer applies with apply_immediately = false) would
        # start now, mid-day. Refuse instead, and say what is queued.
        pending = {k: v for k, v in (self.group().get("PendingModifiedValues") or {}).items()
                   if k != "AuthTokenStatus"}
        if pending:
            raise RedisAuthError(
                f"{group_id} has modifications pending for its maintenance window "
                f"({', '.join(sorted(pending))}); changing the AUTH token applies them now. "
                "Let the window pass (or apply them deliberately), then deploy again")
        try:
            self.clients.elasticache.modify_replication_group(
                ReplicationGroupId=group_id, AuthToken=token,
                AuthTokenUpdateStrategy=strategy, ApplyImmediately=True)
        except Exception as exc:
            code = _error_code(exc) or type(exc).__name__
            hint = (" If this group was created by Terraform before this step existed, it "
                    "already has the secret's token: record that with --adopt "
                    "(docs/secrets.md)." if adoptable else
                    " Deploy again to resume (the record says where it stands); do not "
                    "--adopt a group this step has started on.")
            raise RedisAuthError(f"{strategy} of the AUTH token on {group_id} failed "
                                 f"({code}): {exc}.{hint}") from None
        self.wait(group_id)

    def ensure(self, *, finish: bool = False) -> str:
        """Bring the group's token in line with the secret; returns what was done."""
        group = self.group()
        if not group.get("TransitEncryptionEnabled"):
            raise RedisAuthError(f"{self.target.replication_group_id} has no in-transit "
                                 "encryption: ElastiCache allows AUTH only with it")
        if group.get("AuthTokenEnabled") is False:
            # A ROTATE here would make AUTH optional (open to anyone in the security group).
            raise RedisAuthError(f"{self.target.replication_group_id} has AUTH turned off: "
                                 "re-create it with the cache layer (it always sets a token)")
        created = created_at(group)
        version = self.secret_version()
        record = self.record()
        same_group = (record is not None
                      and record.get("replication_group_id") == self.target.replication_group_id
                      and record.get("group_created") == created)
        if not same_group or (record["phase"] == BOOTSTRAP_ROTATED
                              and record["secret_version"] != version):
            # A new or replaced group: only the bootstrap token (which nobody uses) is valid,
            # so the secret's token replaces it at once.
            token = self._token(version)
            self._modify(token, "ROTATE", adoptable=record is None)
            self._write(created, version, BOOTSTRAP_ROTATED)
            self._modify(token, "SET")
            self._write(created, version, REQUIRED)
            return "the secret's token set (bootstrap token retired)"
        if record["phase"] == BOOTSTRAP_ROTATED:  # interrupted between ROTATE and SET
            self._modify(self._token(version), "SET")
            self._write(created, version, REQUIRED)
            return "the secret's token set (bootstrap token retired)"
        if record["secret_version"] != version:
            if record["phase"] == ROTATED:
                # ElastiCache keeps two tokens: a second ROTATE would drop the one the tasks
                # not yet redeployed still use.
                raise RedisAuthError(
                    "the secret was rotated again before the previous rotation was finished: "
                    "redeploy the services, run `hrsaas redis-auth --env <env> --finish`, then "
                    "deploy again")
            self._modify(self._token(version), "ROTATE")
            self._write(created, version, ROTATED)
            return ("secret rotated: old and new token both valid; redeploy the services, then "
                    "finish with `hrsaas redis-auth --env <env> --finish`")
        if record["phase"] == ROTATED:
            if not finish:
                return ("rotation pending: old and new token both valid until "
                        "`hrsaas redis-auth --env <env> --finish`")
            self._modify(self._token(version), "SET")
            self._write(created, version, REQUIRED)
            return "rotation finished: only the current token is valid"
        return "in place"

    def adopt(self) -> str:
        """Record a group that already has the secret's current token (created by Terraform
        before this step existed) without changing it."""
        group = self.group()
        self._write(created_at(group), self.secret_version(),
                    REQUIRED)
        return "recorded the group's current token as the secret's"


def after_apply(env: Any, stack: str) -> str | None:
    """The deploy hook: after ``stack`` applied (or had nothing to apply), put the AUTH token
    in place when it is the env's cache stack. Returns what was done, None for other stacks;
    raises ``RedisAuthError``."""
    if stack != f"{env.name}-{LAYER}":
        return None
    return RedisAuth(Clients.of(env), Target.of(env)).ensure()


def after_destroy(env: Any, stack: str) -> bool:
    """The destroy hook: once the env's cache stack is destroyed, its group is gone and so is
    what the record describes — remove the record (the runner wrote it, Terraform never saw
    it). Returns whether a record was removed."""
    if stack != f"{env.name}-{LAYER}":
        return False
    ssm = Clients.of(env).ssm
    try:
        ssm.delete_parameter(Name=Target.of(env).record_name)
    except Exception as exc:
        if _error_code(exc) == "ParameterNotFound":
            return False
        raise
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas redis-auth",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--finish", action="store_true",
                      help="after a rotation: SET the current token (the old one stops working)")
    what.add_argument("--adopt", action="store_true",
                      help="record a group that already has the secret's token; change nothing")
    args = parser.parse_args(argv)
    from hrsaas.config import ConfigError, load_environment

    try:
        env = load_environment(args.env)
    except ConfigError as exc:  # configuration problems: exit 2, as the CLI does
        print(f"error: {exc}", file=sys.stderr)
        return 2
    step = RedisAuth(Clients.of(env), Target.of(env))
    try:
        done = step.adopt() if args.adopt else step.ensure(finish=args.finish)
    except RedisAuthError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{Target.of(env).replication_group_id}: {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
