"""The rule pack: AWS constraints that neither the emulator nor ``terraform validate`` enforces,
checked on the synthesized stacks of every environment at once (hrsaas/gate/rulepack.py runs
it; docs/rules.md lists it). Modelled on cdk-nag's AwsSolutions pack and checkov's layout: one
module per rule, ``hrsNNN_<topic>.py``, each defining

    ID        "HRS001" (the module's number; suppression entries name it)
    TITLE     one line: what must hold
    SEVERITY  HIGH (the apply fails or the service goes down) | MEDIUM (a later change or a
              replacement fails, or data is less protected than configured) | LOW
    AWS       the AWS limit or behaviour the rule encodes, in words
    DOC       the page that states it (AWS's, or Terraform's where the behaviour is Terraform's)
    check(stacks: Stacks) -> Result     findings name env/stack, address and the fix

Adding a rule is adding a module: the registry below finds it, the pack's tests require a
passing and a failing case for it, and docs/rules.md must list it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from .base import Finding, Result, Stacks

MODULE = re.compile(r"^hrs(\d{3})_[a-z0-9_]+$")
SEVERITIES = ("HIGH", "MEDIUM", "LOW")


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    aws: str
    doc: str
    module: str
    check: Callable[[Stacks], Result]


class RegistryError(Exception):
    pass


@cache
def registry() -> tuple[Rule, ...]:
    """Every rule module of this package, by ID. A module that breaks the contract stops the
    pack (a rule that silently did not load would be a silent pass)."""
    rules, problems = [], []
    for info in pkgutil.iter_modules(__path__):
        match = MODULE.match(info.name)
        if not match:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        missing = [a for a in ("ID", "TITLE", "SEVERITY", "AWS", "DOC", "check")
                   if not getattr(module, a, None)]
        if missing:
            problems.append(f"{info.name}: missing {', '.join(missing)}")
            continue
        if module.ID != f"HRS{match.group(1)}":
            problems.append(f"{info.name}: ID {module.ID!r} does not match the file name "
                            f"(HRS{match.group(1)})")
        if module.SEVERITY not in SEVERITIES:
            problems.append(f"{info.name}: SEVERITY {module.SEVERITY!r} is not one of "
                            f"{', '.join(SEVERITIES)}")
        if not str(module.DOC).startswith("https://"):
            problems.append(f"{info.name}: DOC must be an https:// link to the documentation")
        rules.append(Rule(module.ID, module.TITLE, module.SEVERITY, " ".join(module.AWS.split()),
                          module.DOC, info.name, module.check))
    ids = [r.id for r in rules]
    problems += [f"{i} is defined twice" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise RegistryError("the rule pack is broken:\n" + "\n".join(f"  - {p}" for p in problems))
    return tuple(sorted(rules, key=lambda r: r.id))


__all__ = ["Finding", "RegistryError", "Result", "Rule", "Stacks", "registry"]
