"""HRS004: orderings AWS checks at creation time, which no reference expresses, reach
``depends_on``.

Terraform orders resources by references and ``depends_on`` only. CDKTF's ``add_dependency``
on a construct that is not a resource never reaches ``depends_on``, and the emulator creates
anything in any order, so these races show up only on a real first deploy (or a destroy):

* an ECS service using a capacity provider strategy → the cluster's capacity providers
  (CreateService fails when the cluster does not have the provider yet; on destroy the
  providers must outlive the services);
* an ECS service behind a target group → the listener (rule) forwarding to it ("The target
  group ... does not have an associated load balancer");
* an ECS service → the policies of its task's execution role (IAM is eventually consistent:
  the first task cannot pull its image or read its secrets) and the log groups its containers
  write to (the first task fails to start);
* a CloudFront distribution logging to a bucket → the bucket's ownership controls (CloudFront
  checks the bucket accepts ACL writes);
* an ECS cluster → the ECS service-linked role declared in the same stack (CreateService
  fails intermittently on a fresh account while ECS creates the role itself).

Only resources declared in the same stack are required: layers are deployed in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from .base import Resource, Result, Stack, Stacks, references

ID = "HRS004"
TITLE = "Creation-time orderings AWS checks reach depends_on"
SEVERITY = "HIGH"
AWS = """ECS CreateService needs the cluster's capacity providers, a target group attached to a
load balancer, and an execution role whose policies have propagated; ECS tasks need their log
group; CloudFront needs a log bucket that accepts ACL writes; on a fresh account ECS needs its
service-linked role. Nothing else orders these: without depends_on the first apply (or the
destroy) races."""
DOC = ("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
       "cluster-capacity-providers.html")


def _refs(r: Resource, *keys: str) -> set[str]:
    return references({k: r.body.get(k) for k in keys})


def _referencing(stack: Stack, kind: str, key: str, targets: set[str]) -> list[Resource]:
    """Resources of ``kind`` whose ``key`` references one of ``targets``."""
    return [o for o in stack.of(kind) if _refs(o, key) & targets]


def _requirements(stack: Stack, r: Resource) -> Iterator[tuple[list[Resource], str, str]]:
    """(candidates — one must be waited for, what they are, why) for one resource."""
    if r.type == "aws_ecs_service":
        clusters = {a for a in _refs(r, "cluster") if a.startswith("aws_ecs_cluster.")}
        if r.body.get("capacity_provider_strategy") and clusters:
            for cp in _referencing(stack, "aws_ecs_cluster_capacity_providers", "cluster_name",
                                   clusters):
                yield [cp], "the cluster's capacity providers", \
                    "CreateService fails while the cluster lacks the strategy's providers"
        groups = {a for a in _refs(r, "load_balancer") if a.startswith("aws_lb_target_group.")}
        for group in sorted(groups):
            forwarding = [o for kind in ("aws_lb_listener_rule", "aws_lb_listener")
                          for o in stack.of(kind) if group in references(o.body)]
            if forwarding:
                yield forwarding, f"a listener (rule) forwarding to {group}", \
                    "CreateService refuses a target group no load balancer uses yet"
        for task in (stack.get(a) for a in sorted(_refs(r, "task_definition"))):
            if task is None or task.type != "aws_ecs_task_definition":
                continue
            roles = {a for a in _refs(task, "execution_role_arn")
                     if a.startswith("aws_iam_role.")}
            for kind in ("aws_iam_role_policy", "aws_iam_role_policy_attachment"):
                for policy in _referencing(stack, kind, "role", roles):
                    yield [policy], "its execution role's policy", \
                        "the first task cannot pull its image or read secrets until IAM " \
                        "has the policy"
            for name in sorted(_log_groups(task)):
                groups_named = [g for g in stack.of("aws_cloudwatch_log_group")
                                if g.body.get("name") == name]
                if groups_named:
                    yield groups_named, f"the log group {name}", \
                        "a task whose awslogs group does not exist fails to start"
    elif r.type == "aws_cloudfront_distribution":
        buckets = {a for a in _refs(r, "logging_config") if a.startswith("aws_s3_bucket.")}
        controls = _referencing(stack, "aws_s3_bucket_ownership_controls", "bucket", buckets)
        if controls:
            yield controls, "the log bucket's ownership controls", \
                "CloudFront refuses a log bucket that does not accept ACL writes yet"
    elif r.type == "aws_ecs_cluster":
        roles = [o for o in stack.of("aws_iam_service_linked_role")
                 if o.body.get("aws_service_name") == "ecs.amazonaws.com"]
        if roles:
            yield roles, "ECS's service-linked role", \
                "on a fresh account ECS creates the role itself and CreateService races it"


def _log_groups(task: Resource) -> set[str]:
    raw = task.body.get("container_definitions")
    try:
        containers = json.loads(raw) if isinstance(raw, str) else raw or []
    except ValueError:
        return set()
    return {c.get("logConfiguration", {}).get("options", {}).get("awslogs-group")
            for c in containers if isinstance(c, dict)} - {None}


def check(stacks: Stacks) -> Result:
    result = Result()
    for stack in stacks.values():
        for r in stack.of("aws_ecs_service", "aws_cloudfront_distribution", "aws_ecs_cluster"):
            waits = stack.waits_for(r.address)
            for candidates, what, why in _requirements(stack, r):
                result.checked += 1
                if not any(c.address in waits for c in candidates):
                    first = candidates[0].address
                    result.findings.append(r.finding(
                        ID, f"is not ordered after {what} ({first}): {why}",
                        f"add {first} to its depends_on (in CDKTF: depends_on=[that resource]; "
                        "add_dependency on a construct that is not a resource is lost)"))
    return result
