"""HRS005: every stateful resource has ``lifecycle.prevent_destroy``.

Stateful is the destroy guard's one definition (hrsaas/runner/guard.py ``is_stateful``): the
database, the cache, buckets, the lock table, KMS keys, secrets, the Route 53 zone, backup
vaults, image repositories and audit log groups. The guard refuses plans that destroy them;
``prevent_destroy`` is Terraform's second line, also for a ``terraform apply`` run by hand.
Environments that are torn down on purpose (``capabilities.protect_stateful = false``) carry a
suppression entry with that condition in checkov/suppressions.toml.
"""

from __future__ import annotations

from ...runner.guard import STATEFUL_TYPES, is_stateful
from .base import Result, Stacks

ID = "HRS005"
TITLE = "Stateful resources are under prevent_destroy"
SEVERITY = "HIGH"
AWS = """Deleting these loses what a re-apply cannot bring back: data (RDS, ElastiCache, S3,
DynamoDB, secrets, backup recovery points, images, audit logs), the ability to decrypt it (a KMS
key is deleted after its waiting period) or the domain (a new hosted zone has new name servers)."""
DOC = ("https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle"
       "#prevent_destroy")


def check(stacks: Stacks) -> Result:
    result = Result()
    for r in stacks.resources(*STATEFUL_TYPES):
        if not is_stateful(r.type, r.body.get("name")):
            continue
        result.checked += 1
        if not r.lifecycle.get("prevent_destroy"):
            result.findings.append(r.finding(
                ID, f"holds state — {STATEFUL_TYPES[r.type]} — and has no prevent_destroy",
                "set lifecycle.prevent_destroy (the constructs do with "
                "capabilities.protect_stateful = true)"))
    return result
