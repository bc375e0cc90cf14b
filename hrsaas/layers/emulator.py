"""What the local emulator (moto) cannot do, declared once and applied only to emulated envs.

Real environments never get these: the drift below is moto's, not AWS's (PLATFORM.md).
"""

from __future__ import annotations

from ..tf import TerraformStack

# resource type → attributes that moto reports differently from what was applied.
EMULATOR_ONLY_DRIFT: dict[str, tuple[str, ...]] = {
    # moto drops the description of rules that reference another security group.
    "aws_vpc_security_group_ingress_rule": ("description",),
    "aws_vpc_security_group_egress_rule": ("description",),
}


def ignore_emulator_drift(stack: TerraformStack) -> None:
    for construct in stack.node.find_all():
        kind = getattr(construct, "terraform_resource_type", None)
        attrs = EMULATOR_ONLY_DRIFT.get(kind or "")
        if attrs and hasattr(construct, "add_override"):
            construct.add_override("lifecycle.ignore_changes", list(attrs))


def enforces_tls_in_policies(env) -> bool:
    """moto evaluates policy conditions only partly: a condition on a key it does not know (like
    ``aws:SecureTransport``) counts as met, so a TLS-only Deny denies every request there. The
    emulator gets bucket policies without that statement; real environments always have it."""
    return not env.is_emulated
