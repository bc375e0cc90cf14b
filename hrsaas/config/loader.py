"""Load environments from envs/: defaults ← (extends …) ← <env>.toml, plus the service catalog.

An environment is a file: ``envs/<name>.toml``. ``envs/base/`` holds the defaults and the
service catalog, which are not environments.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ConfigError, Problem
from .models import Environment
from .rules import Files, check

# HRSAAS_ENVS_DIR points at another envs/ folder (tests prove that an environment is a file).
ENVS_DIR = Path(os.environ.get("HRSAAS_ENVS_DIR") or Path(__file__).resolve().parents[2] / "envs")
DEFAULTS = "base/defaults.toml"
CATALOG = "base/services.toml"
EMULATOR_ENDPOINT_VAR = "HRSAAS_EMULATOR_ENDPOINT"


def environment_names(envs_dir: Path = ENVS_DIR) -> list[str]:
    return sorted(p.stem for p in envs_dir.glob("*.toml"))


def _read(path: Path, envs_dir: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        known = ", ".join(environment_names(envs_dir))
        raise ConfigError([Problem(_rel(path, envs_dir), "(file)", None,
                                   f"there is no environment {path.stem!r} (no such file)",
                                   f"use one of: {known}; or create {_rel(path, envs_dir)}")]
                          ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(_rel(path, envs_dir), "(syntax)", None, f"not valid TOML: "
                                   f"{exc}", "fix the TOML syntax at that line")]) from None


def _rel(path: Path, envs_dir: Path) -> str:
    try:
        return str(path.relative_to(envs_dir.parent))
    except ValueError:
        return str(path)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merged key by key, everything else (lists too) replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _env_data(name: str, envs_dir: Path, chain: tuple[str, ...] = ()) -> dict[str, Any]:
    path = envs_dir / f"{name}.toml"
    if name in chain:
        raise ConfigError([Problem(_rel(path, envs_dir), "extends", name,
                                   f"circular extends: {' -> '.join(chain + (name,))}",
                                   "extend an environment that does not extend this one")])
    data = _read(path, envs_dir)
    parent = data.pop("extends", None)
    if parent is None:
        return merge(_read(envs_dir / DEFAULTS, envs_dir), data)
    if isinstance(parent, str) and not (envs_dir / f"{parent}.toml").is_file():
        known = ", ".join(n for n in environment_names(envs_dir) if n != name)
        raise ConfigError([Problem(_rel(path, envs_dir), "extends", parent,
                                   f"extends an environment that does not exist "
                                   f"({_rel(envs_dir / f'{parent}.toml', envs_dir)} is missing)",
                                   f"extend one of: {known}")])
    return merge(_env_data(parent, envs_dir, chain + (name,)), data)


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_environment(name: str, envs_dir: Path = ENVS_DIR) -> Environment:
    """Load, merge and validate one environment; raise ConfigError listing every problem."""
    files = Files(_rel(envs_dir / f"{name}.toml", envs_dir), _rel(envs_dir / CATALOG, envs_dir))
    data = _env_data(name, envs_dir)
    data["name"] = name
    data["catalog"] = _read(envs_dir / CATALOG, envs_dir)
    if isinstance(data["catalog"].get("services"), dict):
        for svc_name, svc in data["catalog"]["services"].items():
            if isinstance(svc, dict):
                svc.setdefault("name", svc_name)
    override = os.environ.get(EMULATOR_ENDPOINT_VAR)
    if override and isinstance(data.get("emulator"), dict):
        data["emulator"] = {**data["emulator"], "endpoint": override}
    try:
        env = Environment.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            in_catalog = loc[:1] == ("catalog",)
            field = _field_path(loc[1:] if in_catalog else loc)
            fix = {
                "missing": "add this field",
                "extra_forbidden": "remove it (or fix its spelling)",
            }.get(err["type"], "give a value that satisfies the constraint")
            value = "(missing)" if err["type"] == "missing" else err.get("input")
            problems.append(Problem(files.catalog if in_catalog else files.env, field,
                                    value, err["msg"], fix))
        raise ConfigError(problems) from None
    problems = check(env, files)
    if problems:
        raise ConfigError(problems)
    return env


def load_environments(names: list[str] | None = None, envs_dir: Path = ENVS_DIR
                      ) -> list[Environment]:
    """Load every (or the named) environment; problems of all files are reported together."""
    envs, problems = [], []
    for name in names or environment_names(envs_dir):
        try:
            envs.append(load_environment(name, envs_dir))
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError(problems)
    return envs
