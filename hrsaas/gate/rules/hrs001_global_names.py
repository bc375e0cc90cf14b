"""HRS001: no two resources claim the same AWS name in one namespace — across environments too.

Stacks of every environment are checked together: S3 bucket names and CloudFront alternate
domain names are unique across all of AWS (the second environment's apply fails with
``BucketAlreadyExists`` / ``CNAMEAlreadyExists``); IAM names per account; the rest per account
and region (two environments in one account, or two layers naming the same thing). An emulated
environment (provider endpoints set) is a namespace of its own.
"""

from __future__ import annotations

from .base import Resource, Result, Stacks, literal, names
from .naming import NAMED, claimed

ID = "HRS001"
TITLE = "Names AWS keeps unique are claimed once, across every environment"
SEVERITY = "HIGH"
AWS = """S3 bucket names and CloudFront alternate domain names (CNAMEs) are unique across all AWS
accounts; IAM and CloudFront names are unique per account, other resource names per account and
region. Creating a second resource with a taken name fails (BucketAlreadyExists,
CNAMEAlreadyExists, EntityAlreadyExists, ResourceAlreadyExists...)."""
DOC = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"


def _namespace(r: Resource) -> tuple[str, ...]:
    named = NAMED[r.type]
    kind = named.namespace or r.type
    if named.scope == "global":
        return (r.universe, kind)
    if named.scope == "account":
        return (r.universe, r.account, kind)
    return (r.universe, r.account, r.region, kind)


def check(stacks: Stacks) -> Result:
    result = Result()
    claims: dict[tuple[str, ...], list[Resource]] = {}
    for r in stacks.resources(*NAMED):
        for name in claimed(r.body, NAMED[r.type]):
            if not literal(name):
                continue  # computed at apply time: not comparable here
            result.checked += 1
            claims.setdefault((*_namespace(r), name.lower()), []).append(r)
    for key, owners in sorted(claims.items()):
        if len(owners) < 2:
            continue
        name, scope = key[-1], NAMED[owners[0].type].scope
        where = {"global": "across all of AWS", "account": "in one account",
                 "region": "in one account and region"}[scope]
        for r in owners:
            others = [f"{o.stack.id} {o.address}" for o in owners if o is not r]
            result.findings.append(r.finding(
                ID, f"claims the name {name!r}, unique {where}, which {names(others)} also "
                    "claims: the second apply fails",
                "give each environment its own name (the account or the environment in it), or "
                "a generated name (" + (NAMED[r.type].prefix or "a name_prefix") + ")"))
    return result
