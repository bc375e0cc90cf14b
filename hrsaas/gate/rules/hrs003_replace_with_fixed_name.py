"""HRS003: ``create_before_destroy`` never meets a fixed unique name.

With create_before_destroy Terraform creates the replacement while the old resource still
holds its name, so a fixed name fails every replacement with a duplicate. Types the provider can
name (``name_prefix``) must use it; a type without one (ElastiCache parameter groups) must carry
a digest of what forces its replacement at the end of its name (``-[0-9a-f]{8}``), so a
replacement always gets a new name.
"""

from __future__ import annotations

import re

from .base import Result, Stacks
from .naming import NAMED

ID = "HRS003"
TITLE = "create_before_destroy resources have generated or replacement-unique names"
SEVERITY = "MEDIUM"
AWS = """Names of these types are unique per account/region (or VPC): while the old resource
exists, CreateX with the same name fails (InvalidGroup.Duplicate, DBParameterGroupAlreadyExists,
CacheParameterGroupAlreadyExists), so a create-before-destroy replacement never completes."""
DOC = ("https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle"
       "#create_before_destroy")
DIGEST = re.compile(r"-[0-9a-f]{8}$")


def check(stacks: Stacks) -> Result:
    result = Result()
    for r in stacks.resources():
        if not r.lifecycle.get("create_before_destroy"):
            continue
        result.checked += 1
        named = NAMED.get(r.type)
        if named is None or named.attribute not in r.body:
            continue  # no unique name, or a generated one
        name = r.body[named.attribute]
        if named.prefix:
            result.findings.append(r.finding(
                ID, f"has create_before_destroy and the fixed {named.attribute} {name!r}: every "
                    "replacement fails with a duplicate name",
                f"set {named.prefix} instead of {named.attribute}"))
        elif not (isinstance(name, str) and DIGEST.search(name)):
            result.findings.append(r.finding(
                ID, f"has create_before_destroy and the fixed {named.attribute} {name!r}, and "
                    f"{r.type} has no generated names: every replacement fails with a "
                    "duplicate name",
                "end the name with a digest of the arguments that force a replacement (see "
                "modules/redis parameter_group_name), or drop create_before_destroy"))
    return result
