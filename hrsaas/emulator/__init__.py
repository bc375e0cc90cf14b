"""The local AWS emulator: what moto cannot do (``gaps``, read by the layers) and the moto
server itself (``server``, started by the runner and the tests)."""

from .gaps import (
    EMULATOR_ONLY_DRIFT,
    PLAN_ONLY_LAYERS,
    enforces_tls_in_policies,
    ignore_emulator_drift,
    supports_redrive_allow_policy,
)

__all__ = [
    "EMULATOR_ONLY_DRIFT",
    "PLAN_ONLY_LAYERS",
    "enforces_tls_in_policies",
    "ignore_emulator_drift",
    "supports_redrive_allow_policy",
]
