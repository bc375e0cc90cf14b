"""Configuration problems: each names the file (and line) that set the value, the field, the bad
value and the fix, and the environments it affects."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    value: Any
    message: str
    fix: str
    line: int | None = None
    envs: tuple[str, ...] = ()  # the environments this problem affects, sorted

    @property
    def about_file(self) -> bool:
        """About the whole file (syntax, name, missing parent): there is no field or value."""
        return self.field.startswith("(")

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def describe(self) -> str:
        """The problem without its file: ``field = value: message. Fix: fix``."""
        text = (f"{self.message}. Fix: {self.fix}" if self.about_file
                else f"{self.field} = {self.value!r}: {self.message}. Fix: {self.fix}")
        if self.envs:
            text += f" [affects {', '.join(self.envs)}]"
        return text

    def __str__(self) -> str:
        return f"{self.where()}: {self.describe()}"

    def key(self) -> tuple[Any, ...]:
        """Two problems with the same key are one problem (reported for several envs)."""
        return (self.file, self.line, self.field, repr(self.value), self.message, self.fix)


def merge_problems(problems: list[Problem]) -> list[Problem]:
    """One problem per (file, line, field, value, message, fix), with the union of the
    environments it affects; the order of first appearance is kept."""
    merged: dict[tuple[Any, ...], Problem] = {}
    for p in problems:
        known = merged.get(p.key())
        if known is None:
            merged[p.key()] = p
        else:
            merged[p.key()] = replace(known, envs=tuple(sorted({*known.envs, *p.envs})))
    return list(merged.values())


class FixableError(ValueError):
    """A field validator's error that knows its fix (pydantic keeps it in ctx["error"])."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.fix = fix


class ConfigError(Exception):
    """Every problem found in the configuration, reported together and grouped by file."""

    def __init__(self, problems: list[Problem]):
        self.problems = merge_problems(problems)
        super().__init__(self.render())

    def files(self) -> list[str]:
        return list(dict.fromkeys(p.file for p in self.problems))

    def render(self) -> str:
        files = self.files()
        lines = [f"{len(self.problems)} configuration problem(s) in {len(files)} file(s):"]
        for file in files:
            lines.append(f"{file}:")
            for p in sorted((p for p in self.problems if p.file == file),
                            key=lambda p: (p.line or 0)):
                where = f"line {p.line}: " if p.line else ""
                lines.append(f"  - {where}{p.describe()}")
        return "\n".join(lines)
