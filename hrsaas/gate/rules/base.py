"""What every rule of the pack reads: the synthesized stacks of all environments at once, their
resources with the account, region and emulator each is created in, references and
dependencies inside a stack, and the findings a rule returns.

Only the synthesized JSON is read (``cdktf.out/stacks/<env>-<layer>/cdk.tf.json``), never the
environment files: a rule checks what Terraform will be asked to do. Layers are whatever the
stack IDs say (``hrsaas.topology.split_stack_id``); no rule lists them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ...topology import layer_rank, split_stack_id

INTERPOLATION = re.compile(r"\$\{")
# A reference inside an interpolation: aws_x.name or data.aws_x.name (names hold - and _).
REFERENCE = re.compile(r"(?<![\w.-])(data\.)?(aws_[a-z0-9_]+|terraform_remote_state)\."
                       r"([A-Za-z0-9_-]+)")


def literal(value: Any) -> bool:
    """A plain string Terraform will not compute (no ``${…}``)."""
    return isinstance(value, str) and not INTERPOLATION.search(value)


def constant_part(value: str) -> str:
    """The characters of a string that are fixed: interpolations removed."""
    out, depth, i = [], 0, 0
    while i < len(value):
        if value.startswith("${", i):
            depth += 1
            i += 2
            continue
        if depth and value[i] == "}":
            depth -= 1
        elif not depth:
            out.append(value[i])
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class Finding:
    """One violation: where (stack and Terraform address), what is wrong and the fix. The
    field names are those the suppression entries match (``check_id``, ``stack``,
    ``resource``), as for checkov's findings."""

    check_id: str
    stack: str
    resource: str
    message: str
    fix: str

    @property
    def env(self) -> str:
        return split_stack_id(self.stack)[0]

    def __str__(self) -> str:
        return f"{self.stack} {self.resource} {self.check_id}: {self.message}. Fix: {self.fix}"


@dataclass
class Result:
    """What a rule did: how many subjects it examined (0 on every stack = it saw nothing it
    knows, which the pack's own test refuses on the real stacks) and what failed."""

    checked: int = 0
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Resource:
    stack: Stack
    type: str
    name: str
    body: dict[str, Any]

    @property
    def address(self) -> str:
        return f"{self.type}.{self.name}"

    @property
    def lifecycle(self) -> dict[str, Any]:
        return self.body.get("lifecycle") or {}

    @property
    def provider(self) -> dict[str, Any]:
        return self.stack.provider(self.body.get("provider"))

    @property
    def account(self) -> str:
        ids = self.provider.get("allowed_account_ids") or []
        return str(ids[0]) if len(ids) == 1 else f"?{self.stack.env}"

    @property
    def region(self) -> str:
        return str(self.provider.get("region") or "?")

    @property
    def universe(self) -> str:
        """``aws`` for real AWS; an emulated provider (endpoints set) is a world of its own,
        where names never meet real ones."""
        endpoints = self.provider.get("endpoints")
        if not endpoints:
            return "aws"
        first = endpoints[0] if isinstance(endpoints, list) else endpoints
        return "emulator " + ",".join(sorted(set(map(str, first.values()))))

    def finding(self, rule: str, message: str, fix: str) -> Finding:
        return Finding(rule, self.stack.id, self.address, message, fix)


class Stack:
    """One synthesized stack ``<env>-<layer>`` and its JSON."""

    def __init__(self, stack_id: str, document: dict[str, Any]):
        self.id = stack_id
        self.env, self.layer = split_stack_id(stack_id)
        self.json = document

    def __repr__(self) -> str:
        return f"Stack({self.id!r})"

    def provider(self, ref: str | None) -> dict[str, Any]:
        """The aws provider block a resource's ``provider`` (``aws.us_east_1``) selects."""
        alias = ref.split(".", 1)[1] if ref and "." in ref else None
        blocks = (self.json.get("provider") or {}).get("aws") or []
        blocks = blocks if isinstance(blocks, list) else [blocks]
        for block in blocks:
            if block.get("alias") == alias:
                return block
        return {}

    @cached_property
    def resources(self) -> list[Resource]:
        return [Resource(self, kind, name, body)
                for kind, items in sorted((self.json.get("resource") or {}).items())
                if isinstance(items, dict)
                for name, body in sorted(items.items()) if isinstance(body, dict)]

    def of(self, *kinds: str) -> list[Resource]:
        return [r for r in self.resources if r.type in kinds]

    def get(self, address: str) -> Resource | None:
        return self._by_address.get(address)

    @cached_property
    def _by_address(self) -> dict[str, Resource]:
        return {r.address: r for r in self.resources}

    @property
    def backend(self) -> tuple[str, dict[str, Any]]:
        """(kind, config) of the terraform backend; ("", {}) when there is none."""
        backends = (self.json.get("terraform") or {}).get("backend") or {}
        for kind, config in backends.items():
            return kind, config or {}
        return "", {}

    @cached_property
    def _edges(self) -> dict[str, set[str]]:
        """address → addresses it waits for: what it references and its depends_on."""
        edges: dict[str, set[str]] = {}
        for r in self.resources:
            body = {k: v for k, v in r.body.items() if k not in ("//", "depends_on")}
            edges[r.address] = references(body) | set(r.body.get("depends_on") or ())
        return edges

    def waits_for(self, address: str) -> set[str]:
        """Everything ``address`` is created after, directly or through others."""
        seen: set[str] = set()
        todo = [address]
        while todo:
            for nxt in self._edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen


def references(value: Any) -> set[str]:
    """Resource addresses (``aws_x.name``, ``data.aws_x.name``) a value's interpolations name."""
    text = json.dumps(value)
    found = set()
    for chunk in re.findall(r"\$\{(.*?)\}", text):
        for data, kind, name in REFERENCE.findall(chunk):
            found.add(f"{data}{kind}.{name}")
    return found


class Stacks(Mapping[str, Stack]):
    """Every scanned stack by ID, sorted by environment then deploy order."""

    def __init__(self, documents: Mapping[str, dict[str, Any]]):
        ordered = sorted(documents, key=lambda s: (split_stack_id(s)[0],
                                                   layer_rank(split_stack_id(s)[1])))
        self._stacks = {s: Stack(s, documents[s]) for s in ordered}

    @classmethod
    def from_dir(cls, folder: Path) -> Stacks:
        return cls({p.parent.name: json.loads(p.read_text())
                    for p in sorted(folder.glob("*/cdk.tf.json"))})

    def __getitem__(self, key: str) -> Stack:
        return self._stacks[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._stacks)

    def __len__(self) -> int:
        return len(self._stacks)

    def resources(self, *kinds: str) -> Iterator[Resource]:
        for stack in self._stacks.values():
            yield from (stack.of(*kinds) if kinds else stack.resources)

    def environments(self) -> dict[str, list[Stack]]:
        envs: dict[str, list[Stack]] = {}
        for stack in self._stacks.values():
            envs.setdefault(stack.env, []).append(stack)
        return envs


def names(values: Iterable[str]) -> str:
    values = list(values)
    return ", ".join(values[:-1]) + f" and {values[-1]}" if len(values) > 1 else "".join(values)
