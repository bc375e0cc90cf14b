"""Where every configuration value came from: the file, the line and the extends chain.

``tomllib`` gives no line numbers, so ``key_lines`` scans the file's text for ``key =`` within
its ``[table]`` (and ``[[array.of.tables]]``, counted). ``merge`` carries the origins through the
same merge the loader does (tables key by key, everything else replaced whole), so a value that
an environment inherits is still reported against the file that set it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Origin:
    file: str                      # relative to the repository: envs/base/defaults.toml
    line: int | None = None
    chain: tuple[str, ...] = ()    # the extends chain that reached it: ("local", "mvp")


# --- finding lines --------------------------------------------------------------------------

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY = rf"(?:{_BARE}|{_QUOTED})(?:\s*\.\s*(?:{_BARE}|{_QUOTED}))*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_KEY})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_KEY})\s*=\s*(.*)$")
_INLINE_KEY = re.compile(rf"(?:^|[{{,])\s*({_KEY})\s*=")


def _key_parts(key: str) -> tuple[str, ...]:
    parts = re.findall(rf"{_BARE}|{_QUOTED}", key)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


def _strip_strings(text: str) -> str:
    """The line with string contents blanked (so brackets and '#' inside them do not count)."""
    return re.sub(_QUOTED, '""', text)


def key_lines(text: str) -> dict[Path, int]:
    """Every key path the file sets (tables, array-of-table elements and keys) → its line."""
    lines: dict[Path, int] = {}
    table: Path = ()
    counts: dict[Path, int] = {}
    depth = 0           # open [ or { of a value that spans lines
    in_multiline = None  # the quote of an open multi-line string
    for number, raw in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if in_multiline in raw:
                in_multiline = None
            continue
        if depth:
            depth += _depth_change(raw)
            continue
        header = _HEADER.match(raw)
        if header:
            path = _key_parts(header.group(2))
            if header.group(1) == "[[":
                index = counts.get(path, 0)
                counts[path] = index + 1
                lines.setdefault(path, number)
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(raw)
        if not assign:
            continue
        path = (*table, *_key_parts(assign.group(1)))
        lines.setdefault(path, number)
        value = assign.group(2)
        for quote in ('"""', "'''"):
            if value.lstrip().startswith(quote) and value.count(quote) == 1:
                in_multiline = quote
        if value.lstrip().startswith("{"):
            for inner in _INLINE_KEY.finditer(_strip_strings(value)):
                lines.setdefault((*path, *_key_parts(inner.group(1))), number)
        depth = max(0, _depth_change(value))
    return lines


def _depth_change(text: str) -> int:
    text = _strip_strings(text).split("#", 1)[0]
    return text.count("[") + text.count("{") - text.count("]") - text.count("}")


# --- origins of a loaded file ---------------------------------------------------------------

def file_origins(data: Any, lines: dict[Path, int], file: str, chain: tuple[str, ...],
                 prefix: Path = ()) -> dict[Path, Origin]:
    """An origin for every path in ``data`` (tables, lists, their elements and leaves)."""
    origins: dict[Path, Origin] = {}

    def line_of(path: Path) -> int | None:
        while path:
            if path in lines:
                return lines[path]
            path = path[:-1]
        return None

    def walk(value: Any, path: Path) -> None:
        origins[prefix + path] = Origin(file, line_of(path), chain)
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, (*path, i))

    if isinstance(data, dict):
        for key, item in data.items():
            walk(item, (key,))
    return origins


def merge(base: dict[str, Any], base_origins: dict[Path, Origin], override: dict[str, Any],
          override_origins: dict[Path, Origin], prefix: Path = ()
          ) -> tuple[dict[str, Any], dict[Path, Origin]]:
    """Tables merged key by key, everything else (lists too) replaced whole — with origins."""
    merged = dict(base)
    origins = dict(base_origins) if not prefix else base_origins
    for key, value in override.items():
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key], origins = merge(merged[key], origins, value, override_origins, path)
            if path in override_origins and path not in origins:
                origins[path] = override_origins[path]
            continue
        merged[key] = value
        for known in [p for p in origins if p[: len(path)] == path]:
            del origins[known]
        origins.update({p: o for p, o in override_origins.items() if p[: len(path)] == path})
    return merged, origins


def parse_field(field: str) -> Path:
    """``network.subnets[0].cidr`` → ("network", "subnets", 0, "cidr")."""
    path: list[str | int] = []
    for part in re.finditer(r"([^.\[\]]+)|\[(\d+)\]", field):
        path.append(int(part.group(2)) if part.group(2) is not None else part.group(1))
    return tuple(path)


def locate(path: Path, origins: dict[Path, Origin]) -> Origin | None:
    """The origin of the value at ``path``: the path itself, or the nearest enclosing value a
    file set whole (a scalar, a list), or the nearest enclosing table that one file holds
    entirely (a catalog service). None when no file set it: the value is a model default."""
    for n in range(len(path), 0, -1):
        prefix = path[:n]
        origin = origins.get(prefix)
        if origin is None:
            continue
        below = [o for p, o in origins.items() if len(p) > n and p[:n] == prefix]
        if not below or n == len(path) or {o.file for o in below} == {origin.file}:
            return origin
    return None
