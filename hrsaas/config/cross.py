"""Rules between environments, over the environments loaded together (``make synth`` and CI
load them all): one AWS account per real environment (SPEC §2), and no two real environments
claiming the same globally unique name (domain, CloudFront aliases, the API name, buckets).

Emulated environments are left out: they never reach a real account or the real DNS.
Each rule yields (environment name, problem); the loader reports the problem against the file
that set the value for that environment, so one shared value is reported once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .aws_rules import bucket_name
from .errors import Problem

if TYPE_CHECKING:
    from .models import Environment
    from .rules import Files

Loaded = list[tuple["Environment", "Files"]]


def _real(loaded: Loaded) -> Loaded:
    return [(env, files) for env, files in loaded if env.emulator is None]


def one_account_each(loaded: Loaded) -> Iterator[tuple[str, Problem]]:
    owners: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    for env, files in _real(loaded):
        owners[env.account_id].append((env, files))
    for account, users in owners.items():
        if len(users) < 2:
            continue
        names = ", ".join(sorted(env.name for env, _ in users))
        for env, files in users:
            yield env.name, Problem(
                files.env, "account_id", account,
                f"the real environments {names} share this account: one AWS account per "
                "environment (SPEC §2), or a plan of one could change the other",
                "give each environment its own account_id (in its own envs/<env>.toml)")


def global_names(loaded: Loaded) -> Iterator[tuple[str, Problem]]:
    """Names that exist once in all of AWS (or the DNS): two environments cannot both have
    them."""
    from ..naming import Names  # naming imports the config package: import when used

    claims: dict[tuple[str, str], list[tuple[Any, Any, str]]] = defaultdict(list)
    for env, files in _real(loaded):
        edge, names = env.edge, Names.of(env)
        claimed = [("domain (its hosted zone and certificates)", edge.domain, "edge.domain"),
                   ("API name", edge.api_name, "edge.api_name")]
        claimed += [("CloudFront alias", alias, f"edge.frontend_aliases[{i}]")
                    for i, alias in enumerate(edge.frontend_aliases)]
        claimed += [("S3 bucket", bucket, "project")
                    for bucket in (names.env_suffixed("frontend"), bucket_name(names, "logs"),
                                   bucket_name(names, "files"), names.state_bucket())]
        for kind, name, field in claimed:
            claims[(kind, name)].append((env, files, field))
    for (kind, name), users in claims.items():
        if len({env.name for env, _, _ in users}) < 2:
            continue
        envs = ", ".join(sorted({env.name for env, _, _ in users}))
        for env, files, field in users:
            value = env.project if field == "project" else name
            yield env.name, Problem(
                files.env, field, value,
                f"the real environments {envs} all claim the {kind} {name!r}, which is "
                "unique across AWS",
                "give every environment names of its own under the domain (e.g. "
                "mvp.hr.example.com and api.mvp.hr.example.com; prod keeps the guide's)")


CROSS_RULES: tuple[Callable[[Loaded], Iterator[tuple[str, Problem]]], ...] = (
    one_account_each, global_names)
