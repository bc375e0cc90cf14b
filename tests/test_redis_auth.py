"""The Redis AUTH token stays out of Terraform: the cache stack creates the group with a
bootstrap token and reads no secret; hrsaas/runner/redis_auth.py puts the secret's token on the
group (docs/secrets.md). The step runs against moto in-process (Secrets Manager, SSM, ElastiCache
with the project's extension) with ElastiCache's token rules — which moto does not keep — modelled
from the AWS user guide ("Modifying the AUTH token on an existing cluster"): ROTATE adds a token
(of two, the oldest goes; on a group without AUTH the token is optional), SET is allowed only
with two tokens or one optional one and leaves exactly that token, required."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from hrsaas.config import load_environment
from hrsaas.runner import redis_auth
from hrsaas.runner.redis_auth import (
    REQUIRED,
    ROTATED,
    Clients,
    RedisAuth,
    RedisAuthError,
    Target,
)

REGION = "ap-northeast-2"
BOOTSTRAP = "3f0e7d2c-6a47-4f0e-9d51-0b1c2d3e4f50"  # what uuid() gives the group at creation


def token() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(64))


class TokenRules:
    """A replication group's AUTH tokens as ElastiCache keeps them."""

    def __init__(self, first: str | None):
        self.tokens = [first] if first else []
        self.required = first is not None
        self.ever_optional = not self.required

    def modify(self, token: str, strategy: str) -> None:
        if strategy == "ROTATE":
            if not self.tokens:
                self.required = False
            self.tokens = [*self.tokens, token][-2:]
        elif strategy == "SET":
            if not (len(self.tokens) == 2 or (len(self.tokens) == 1 and not self.required)):
                raise ClientError({"Error": {"Code": "InvalidParameterCombination",
                                             "Message": "SET is allowed only after ROTATE"}},
                                  "ModifyReplicationGroup")
            if token != self.tokens[-1]:
                raise ClientError({"Error": {"Code": "InvalidParameterValue",
                                             "Message": "SET takes the last rotated token"}},
                                  "ModifyReplicationGroup")
            self.tokens, self.required = [token], True
        else:
            raise AssertionError(f"unexpected strategy {strategy}")
        self.ever_optional |= not self.required


class Recording:
    """A boto3 client that records the calls the step makes (and applies the token rules)."""

    def __init__(self, client: Any, rules: TokenRules | None = None, fail: set[str] = ()):
        self._client, self.rules, self.fail, self.calls = client, rules, set(fail), []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if name == "modify_replication_group":
                strategy = kwargs["AuthTokenUpdateStrategy"]
                if strategy in self.fail:
                    self.fail.discard(strategy)
                    raise ClientError({"Error": {"Code": "InvalidReplicationGroupState",
                                                 "Message": "interrupted"}},
                                      "ModifyReplicationGroup")
                assert kwargs["ApplyImmediately"] is True
                self.rules.modify(kwargs["AuthToken"], strategy)
            return method(**kwargs)

        return call

    def names(self, prefix: str = "") -> list[str]:
        return [n for n, _ in self.calls if n.startswith(prefix)]

    def strategies(self) -> list[str]:
        return [k["AuthTokenUpdateStrategy"] for n, k in self.calls
                if n == "modify_replication_group"]


@pytest.fixture
def aws():
    from hrsaas.emulator.extensions import elasticache

    elasticache.install()  # parameter groups and member clusters: moto alone has neither
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        cache = boto3.client("elasticache", region_name=REGION)
        cache.create_cache_subnet_group(CacheSubnetGroupName="data", SubnetIds=[subnet],
                                        CacheSubnetGroupDescription="data")
        cache.create_cache_parameter_group(CacheParameterGroupName="p7",
                                           CacheParameterGroupFamily="redis7",
                                           Description="redis7")
        yield cache


def create_group(cache: Any, group_id: str, auth_token: str | None = BOOTSTRAP) -> None:
    cache.create_replication_group(
        ReplicationGroupId=group_id, ReplicationGroupDescription="hr-saas cache",
        Engine="redis", EngineVersion="7.1", CacheNodeType="cache.t3.micro",
        NumCacheClusters=1, CacheSubnetGroupName="data", CacheParameterGroupName="p7",
        TransitEncryptionEnabled=True, **({"AuthToken": auth_token} if auth_token else {}))


@pytest.fixture
def setup(aws):
    """The local env's target, its secret with a first token, a group with the bootstrap one."""
    target = Target.of(load_environment("local"))
    sm = boto3.client("secretsmanager", region_name=REGION)
    first = token()
    sm.create_secret(Name=target.secret_id, SecretString=json.dumps({"password": first}))
    create_group(aws, target.replication_group_id)
    rules = TokenRules(BOOTSTRAP)
    clients = Clients(elasticache=Recording(aws, rules),
                      secretsmanager=Recording(sm),
                      ssm=boto3.client("ssm", region_name=REGION))
    waits: list[str] = []
    step = RedisAuth(clients, target, wait=waits.append)
    return step, rules, first, sm, waits


def record(step: RedisAuth) -> dict:
    return step.record()


def test_a_new_group_gets_the_secrets_token_and_the_bootstrap_token_dies(setup):
    step, rules, first, _, waits = setup
    done = step.ensure()
    assert "bootstrap token retired" in done
    assert step.clients.elasticache.strategies() == ["ROTATE", "SET"]
    assert rules.tokens == [first] and rules.required
    assert BOOTSTRAP not in rules.tokens
    assert not rules.ever_optional  # AUTH was required at every step: no open window
    assert waits  # every modification waits for the group to be available again
    assert record(step)["phase"] == REQUIRED
    assert first not in json.dumps(record(step))  # the record holds no value


def test_an_applied_token_is_left_alone_and_no_secret_value_is_read(setup):
    step, rules, first, _, _ = setup
    step.ensure()
    step.clients.elasticache.calls.clear()
    step.clients.secretsmanager.calls.clear()
    assert step.ensure() == "in place"
    assert step.clients.elasticache.strategies() == []
    assert "get_secret_value" not in step.clients.secretsmanager.names()
    assert rules.tokens == [first]


def test_a_rotation_keeps_the_old_token_valid_until_finished(setup):
    step, rules, first, sm, _ = setup
    step.ensure()
    second = token()
    sm.put_secret_value(SecretId=step.target.secret_id,
                        SecretString=json.dumps({"password": second}))
    assert "both valid" in step.ensure()
    assert rules.tokens == [first, second] and rules.required  # running tasks keep working
    assert record(step)["phase"] == ROTATED
    assert "pending" in step.ensure()  # a deploy alone never cuts the old token off
    assert rules.tokens == [first, second]
    assert "finished" in step.ensure(finish=True)
    assert rules.tokens == [second] and not rules.ever_optional
    assert record(step)["phase"] == REQUIRED
    assert step.clients.elasticache.strategies() == ["ROTATE", "SET", "ROTATE", "SET"]


def test_a_second_rotation_waits_for_the_first_to_finish(setup):
    step, rules, first, sm, _ = setup
    step.ensure()
    second, third = token(), token()
    sm.put_secret_value(SecretId=step.target.secret_id,
                        SecretString=json.dumps({"password": second}))
    step.ensure()
    sm.put_secret_value(SecretId=step.target.secret_id,
                        SecretString=json.dumps({"password": third}))
    with pytest.raises(RedisAuthError, match="before the previous rotation was finished"):
        step.ensure()
    assert rules.tokens == [first, second]  # the tasks on the first token keep working


def test_a_replaced_group_starts_over(setup, aws):
    step, rules, first, _, _ = setup
    step.ensure()
    # A replacement: same ID, another creation time, a fresh bootstrap token.
    stale = {**record(step), "group_created": "2020-01-01T00:00:00+00:00"}
    step.clients.ssm.put_parameter(Name=step.target.record_name, Type="String",
                                   Overwrite=True, Value=json.dumps(stale))
    rules.tokens, rules.required = ["another-bootstrap-token-1234"], True
    assert "bootstrap token retired" in step.ensure()
    assert rules.tokens == [first]


def test_an_interrupted_first_set_is_finished_by_the_next_run(setup):
    step, rules, first, _, _ = setup
    step.clients.elasticache.fail.add("SET")
    with pytest.raises(RedisAuthError, match="SET of the AUTH token"):
        step.ensure()
    assert rules.tokens == [BOOTSTRAP, first]  # still required, both tokens valid
    assert "bootstrap token retired" in step.ensure()
    # The failed SET, then only the SET again: no second ROTATE of the same token.
    assert step.clients.elasticache.strategies() == ["ROTATE", "SET", "SET"]
    assert rules.tokens == [first]


def test_only_a_group_this_step_never_touched_is_offered_adopt(setup):
    step, rules, first, _, _ = setup
    step.clients.elasticache.fail.add("ROTATE")
    with pytest.raises(RedisAuthError, match=r"\(InvalidReplicationGroupState\).*--adopt"):
        step.ensure()  # no record yet: perhaps a group that already has the secret's token
    step.clients.elasticache.fail.add("SET")
    with pytest.raises(RedisAuthError, match="do not --adopt") as caught:
        step.ensure()  # ROTATE done and recorded: adopting now would keep the bootstrap token
    assert "record it" not in str(caught.value)
    assert rules.tokens == [BOOTSTRAP, first]


def with_group(step: RedisAuth, **changes: Any) -> None:
    """Make DescribeReplicationGroups answer with ``changes`` on the group (what moto omits)."""
    describe = step.clients.elasticache._client.describe_replication_groups

    def described(**kwargs: Any) -> dict:
        answer = describe(**kwargs)
        answer["ReplicationGroups"][0].update(changes)
        return answer

    step.clients.elasticache.describe_replication_groups = described


def test_pending_maintenance_changes_are_never_applied_by_a_token_change(setup):
    """ApplyImmediately applies every pending modification too: the step refuses instead."""
    step, rules, _, _, _ = setup
    with_group(step, PendingModifiedValues={"AuthTokenStatus": "ROTATING"})
    step.ensure()  # the token's own pending status is not a queued change
    step.clients.elasticache.calls.clear()
    step.clients.ssm.delete_parameter(Name=step.target.record_name)
    with_group(step, PendingModifiedValues={"Resharding": {}, "AuthTokenStatus": "SETTING"})
    with pytest.raises(RedisAuthError, match=r"pending for its maintenance window \(Resharding\)"):
        step.ensure()
    assert step.clients.elasticache.strategies() == []


def test_a_group_without_auth_is_never_rotated_into_optional_auth(setup):
    step, rules, _, _, _ = setup
    with_group(step, AuthTokenEnabled=False)
    with pytest.raises(RedisAuthError, match="AUTH turned off"):
        step.ensure()
    assert step.clients.elasticache.strategies() == []


def test_a_non_ascii_token_is_refused():
    with pytest.raises(RedisAuthError, match="not a valid ElastiCache AUTH token"):
        redis_auth.check_token("é" * 20)
    assert redis_auth.check_token("a1-" * 6) == "a1-" * 6


def test_a_token_elasticache_would_refuse_fails_before_anything_changes(setup):
    step, rules, _, sm, _ = setup
    sm.put_secret_value(SecretId=step.target.secret_id,
                        SecretString=json.dumps({"password": "short/@"}))
    with pytest.raises(RedisAuthError, match="not a valid ElastiCache AUTH token"):
        step.ensure()
    assert step.clients.elasticache.strategies() == []
    assert rules.tokens == [BOOTSTRAP]


def test_adopt_records_an_existing_group_without_changing_it(setup):
    step, rules, _, _, _ = setup
    step.adopt()
    assert record(step)["phase"] == REQUIRED
    assert step.ensure() == "in place"
    assert step.clients.elasticache.strategies() == []
    assert rules.tokens == [BOOTSTRAP]


def test_a_missing_group_says_to_apply_the_cache_layer(aws):
    step = RedisAuth(Clients(aws, boto3.client("secretsmanager", region_name=REGION),
                             boto3.client("ssm", region_name=REGION)),
                     Target("hr-saas-local-nothing", "hr-saas/redis", "/x"), wait=lambda _: None)
    with pytest.raises(RedisAuthError, match="apply the cache layer first"):
        step.ensure()


def test_the_hook_acts_on_the_cache_stack_only():
    env = load_environment("local")
    assert redis_auth.after_apply(env, "local-network") is None
    assert redis_auth.after_apply(env, "local-compute") is None
    assert redis_auth.after_destroy(env, "local-network") is False


def test_destroying_the_cache_stack_removes_the_record(setup, monkeypatch):
    step, _, _, _, _ = setup
    step.ensure()
    env = load_environment("local")
    monkeypatch.setattr(Clients, "of", classmethod(lambda cls, env: step.clients))
    assert redis_auth.after_destroy(env, "local-cache") is True
    assert step.record() is None
    assert redis_auth.after_destroy(env, "local-cache") is False  # nothing left: no error


# --- the synthesized stacks -------------------------------------------------------------------

@pytest.mark.parametrize("env", ["local", "mvp", "prod"])
def test_the_cache_stack_reads_and_stores_no_secret(stack, env):
    s = stack(f"{env}-cache")
    assert not any(kind.startswith("aws_secretsmanager") for kind in s.json.get("data", {}))
    assert "ephemeral" not in s.json
    [group] = s.resources("aws_elasticache_replication_group").values()
    # A bootstrap token (AUTH required from creation), never updated by Terraform.
    assert group["auth_token"] == "${uuid()}"
    assert group["lifecycle"]["ignore_changes"] == ["auth_token", "auth_token_update_strategy"]
    assert group["transit_encryption_enabled"] is True
    assert group["transit_encryption_mode"] == "required"
    assert "hr-saas/redis" not in json.dumps(s.json)
    # The step finds the group and the secret the other stacks create.
    target = Target.of(load_environment(env))
    assert group["replication_group_id"] == target.replication_group_id
    names = [sec["name"] for sec in stack(f"{env}-security").resources(
        "aws_secretsmanager_secret").values()]
    assert target.secret_id in names
