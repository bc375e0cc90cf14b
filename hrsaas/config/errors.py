"""Configuration problems: each names the file, the field, the bad value and the fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    value: Any
    message: str
    fix: str

    def __str__(self) -> str:
        if self.field.startswith("("):  # about the whole file: there is no field or value
            return f"{self.file}: {self.message}. Fix: {self.fix}"
        return f"{self.file}: {self.field} = {self.value!r}: {self.message}. Fix: {self.fix}"


class ConfigError(Exception):
    """Every problem found in the configuration, reported together."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = [f"{len(problems)} configuration problem(s):"]
        lines += [f"  - {p}" for p in problems]
        super().__init__("\n".join(lines))
