"""The checkov suppressions a change adds: ``checkov/suppressions.toml`` against the base
branch's version of the file, for the plan summary (``hrsaas summary --base-suppressions``).

    git show "origin/$GITHUB_BASE_REF:checkov/suppressions.toml" > base-suppressions.toml
    hrsaas summary --base-suppressions base-suppressions.toml

An entry is identified by what it suppresses — check, stack globs, ``when`` conditions, resource
glob, frameworks — the same key the gate uses to refuse duplicates
(hrsaas/gate/checkov.py ``load_suppressions``). An entry of the head file whose key the base file
does not have is *added*; so is a widened one (a new stack glob, a looser resource glob): its
key changed. A reworded reason is not an addition. Entries the change removes are counted.
A base file that does not exist (the file is new) has no entries.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FRAMEWORKS = ("terraform_json", "terraform_plan")  # hrsaas/gate/checkov.py FRAMEWORKS


class SuppressionsError(Exception):
    """A suppression file that cannot be read (exit 2 with this message)."""


@dataclass(frozen=True)
class Entry:
    check: str
    stacks: tuple[str, ...]
    when: tuple[str, ...]
    resource: str
    frameworks: tuple[str, ...]
    reason: str

    @property
    def key(self) -> tuple:
        return (self.check, tuple(sorted(self.stacks)), tuple(sorted(self.when)),
                self.resource, tuple(sorted(self.frameworks)))


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def read_entries(text: str, where: str) -> list[Entry]:
    """Every ``[[suppression]]`` of a file's text. Only the shape matters here: the gate
    validates the head file (an invalid entry still shows, as written, so none hides)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuppressionsError(f"{where} is not valid TOML: {exc}") from None
    entries = data.get("suppression", [])
    if not isinstance(entries, list):
        raise SuppressionsError(f"{where}: `suppression` must be an array of tables "
                                "([[suppression]])")
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        found.append(Entry(str(entry.get("check", "?")), _strings(entry.get("stacks")),
                           _strings(entry.get("when")), str(entry.get("resource", "?")),
                           _strings(entry.get("frameworks")) or FRAMEWORKS,
                           " ".join(str(entry.get("reason", "")).split())))
    return found


def read_file(path: Path, *, missing_ok: bool) -> list[Entry]:
    if not path.is_file():
        if missing_ok:
            return []
        raise SuppressionsError(f"suppression file {path} does not exist (pass "
                                "--suppressions with the PR's checkov/suppressions.toml)")
    return read_entries(path.read_text(), str(path))


def added(head: list[Entry], base: list[Entry]) -> list[Entry]:
    """Entries of ``head`` that ``base`` does not have, in the head file's order."""
    known = {e.key for e in base}
    return [e for e in head if e.key not in known]


def removed(head: list[Entry], base: list[Entry]) -> list[Entry]:
    return added(base, head)


def _cell(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("|", "\\|")


def section(head: list[Entry], base: list[Entry]) -> str:
    """The summary's section: every added (or widened) suppression, with its reason."""
    new, gone = added(head, base), removed(head, base)
    if not new:
        note = f" ({len(gone)} removed)" if gone else ""
        return f"### ✅ checkov suppressions: none added{note}"
    lines = [f"### ⚠️ checkov suppressions this change adds ({len(new)})", "",
             "Each one stops the gate from failing on a finding: review the reason "
             "(`checkov/suppressions.toml`, against the base branch's version).", "",
             "| check | stacks | when | resource | reason |", "|---|---|---|---|---|"]
    for e in new:
        when = "; ".join(e.when) if e.when else "always"
        lines.append(f"| {_cell(e.check)} | {_cell(', '.join(e.stacks))} | {_cell(when)} | "
                     f"`{_cell(e.resource)}` | {_cell(e.reason)} |")
    if gone:
        lines += ["", f"{len(gone)} suppression(s) removed or replaced by the ones above."]
    return "\n".join(lines)
