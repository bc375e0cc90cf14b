"""The delegation gate between the dns layer and everything that waits on DNS.

A zone the project creates answers nothing until the parent domain delegates to it; ACM's DNS
validation would then wait its full 75 minutes and fail. After the dns layer is applied, the
runner asks public DNS for the domain's NS records (one DNS-over-HTTPS lookup with a timeout:
nothing here can hang) and stops the run with the name servers to set at the registrar until
they match. Running the same command again continues from there.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Two independent public resolvers' JSON APIs (RFC 8484's JSON flavour): the first that answers.
RESOLVERS = ("https://cloudflare-dns.com/dns-query", "https://dns.google/resolve")
SKIP_VARIABLE = "HRSAAS_SKIP_DELEGATION_CHECK"

Resolver = Callable[[str], set[str]]


class LookupFailed(Exception):
    pass


def _normal(names: Iterable[str]) -> set[str]:
    return {n.strip().rstrip(".").lower() for n in names if n.strip()}


def public_name_servers(domain: str, timeout: float = 5.0) -> set[str]:
    """The NS records public DNS returns for ``domain`` (empty: none)."""
    errors = []
    for base in RESOLVERS:
        url = f"{base}?{urllib.parse.urlencode({'name': domain, 'type': 'NS'})}"
        request = urllib.request.Request(url, headers={"accept": "application/dns-json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                answer = json.load(response)
        except (OSError, ValueError) as exc:
            errors.append(f"{base}: {exc}")
            continue
        return _normal(a["data"] for a in answer.get("Answer", []) if a.get("type") == 2)
    raise LookupFailed("; ".join(errors))


@dataclass(frozen=True)
class Delegation:
    domain: str
    expected: frozenset[str]
    found: frozenset[str] | None  # None: the lookup itself failed
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.found is not None and bool(self.expected) and self.expected <= self.found

    def explain(self, stack: str, command: str) -> str:
        servers = "\n".join(f"    {ns}" for ns in sorted(self.expected))
        if self.found is None:
            seen = f"the lookup failed ({self.error})"
        else:
            seen = ", ".join(sorted(self.found)) or "no NS records"
        return "\n".join([
            f"{stack}: the zone {self.domain} exists, but the domain is not delegated to it yet.",
            f"Set these name servers as the NS records of {self.domain} at its registrar (or in "
            "the parent zone):",
            servers,
            f"Public DNS answers today: {seen}.",
            "The deploy stops here so that nothing waits on DNS validation that cannot succeed. "
            f"When `dig NS {self.domain} +short` lists them, run the same command again: "
            f"{command}",
            f"(An existing, already delegated zone: set edge.hosted_zone_id instead. To skip this "
            f"check deliberately: {SKIP_VARIABLE}=1.)",
        ])


def check(domain: str, expected: Iterable[str], resolver: Resolver = public_name_servers
          ) -> Delegation:
    wanted = frozenset(_normal(expected))
    try:
        found = frozenset(_normal(resolver(domain)))
    except LookupFailed as exc:
        return Delegation(domain, wanted, None, str(exc))
    return Delegation(domain, wanted, found)


def skipped() -> bool:
    return os.environ.get(SKIP_VARIABLE, "") not in ("", "0")
