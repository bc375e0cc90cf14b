"""HRS006: Terraform state is written with the key that protects the state bucket.

The S3 backend with ``encrypt = true`` and no ``kms_key_id`` asks S3 for SSE-S3 (AES256) on
every write, which overrides the bucket's default encryption: with a customer-managed key on the
bucket, state — which holds the Redis AUTH token — would never be encrypted with it. So every
S3 backend must set ``encrypt``, and where the state bucket (declared in one of the scanned
stacks, usually the environment's bootstrap layer) encrypts with a CMK, name that key. Reads
(``terraform_remote_state``) do not write and are not checked.
"""

from __future__ import annotations

from .base import Finding, Resource, Result, Stacks, literal, references

ID = "HRS006"
TITLE = "State is encrypted with the state bucket's key"
SEVERITY = "MEDIUM"
AWS = """PutObject with x-amz-server-side-encryption: AES256 (what the S3 backend sends for
encrypt = true without kms_key_id) overrides the bucket's default SSE-KMS key; only a request
naming the key (kms_key_id) is encrypted with the customer-managed key."""
DOC = "https://developer.hashicorp.com/terraform/language/backend/s3#encrypt"


def _state_key(stacks: Stacks, bucket_name: str) -> tuple[Resource | None, str | None]:
    """(the bucket resource, the CMK its default encryption uses: the alias ARN, ``"*"`` for a
    CMK the stacks name no alias of, None for an AWS-managed key or SSE-S3)."""
    for bucket in stacks.resources("aws_s3_bucket"):
        if bucket.body.get("bucket") != bucket_name:
            continue
        stack = bucket.stack
        for sse in stack.of("aws_s3_bucket_server_side_encryption_configuration"):
            if bucket.address not in references(sse.body.get("bucket")):
                continue
            for rule in sse.body.get("rule") or []:
                default = rule.get("apply_server_side_encryption_by_default") or {}
                keys = {a for a in references(default.get("kms_master_key_id"))
                        if a.startswith("aws_kms_key.")}
                for alias in stack.of("aws_kms_alias"):
                    if keys & references(alias.body.get("target_key_id")) and \
                            literal(alias.body.get("name")):
                        return bucket, (f"arn:aws:kms:{alias.region}:{alias.account}:"
                                        f"{alias.body['name']}")
                if keys or (literal(default.get("kms_master_key_id"))
                            and default.get("kms_master_key_id")):
                    return bucket, "*"
        return bucket, None
    return None, None


def check(stacks: Stacks) -> Result:
    result = Result()
    for stack in stacks.values():
        kind, config = stack.backend
        if kind != "s3":
            continue
        result.checked += 1
        address = "terraform.backend.s3"
        if config.get("encrypt") is not True:
            result.findings.append(stack_finding(
                stack.id, address, "the S3 backend does not set encrypt = true: state is "
                "written without server-side encryption requested",
                "set encrypt = true (and kms_key_id where the state bucket uses a CMK)"))
            continue
        bucket, key = _state_key(stacks, str(config.get("bucket")))
        if bucket is None:
            result.findings.append(stack_finding(
                stack.id, address, f"the state bucket {config.get('bucket')!r} is declared in "
                "no scanned stack, so which key protects it cannot be checked",
                "scan the environment's stacks together (its bootstrap layer declares the "
                "bucket)"))
        elif key == "*" and not config.get("kms_key_id"):
            result.findings.append(stack_finding(
                stack.id, address, f"the state bucket {bucket.body['bucket']} encrypts with a "
                "customer-managed key, but the backend sets no kms_key_id: every write is "
                "encrypted with AES256 instead",
                "set the backend's kms_key_id to the bucket's key (its alias ARN)"))
        elif key not in (None, "*") and config.get("kms_key_id") != key:
            result.findings.append(stack_finding(
                stack.id, address, f"the state bucket {bucket.body['bucket']} encrypts with "
                f"{key}, but the backend's kms_key_id is {config.get('kms_key_id')!r}: every "
                "write is encrypted with another key (AES256 when unset)",
                f"set the backend's kms_key_id to {key}"))
    return result


def stack_finding(stack: str, address: str, message: str, fix: str) -> Finding:
    return Finding(ID, stack, address, message, fix)
