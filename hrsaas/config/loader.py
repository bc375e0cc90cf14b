"""Load environments from envs/: defaults ← (extends …) ← <env>.toml, plus the service catalog.

An environment is a file: ``envs/<name>.toml``. ``envs/base/`` holds the defaults and the
service catalog, which are not environments. Every value keeps its origin (file, line, extends
chain) through the merge, so a problem is reported once, against the file and line that set the
value, with the environments it affects. Validation runs every rule that can run: a type error
in one field does not hide the cross-field rules of the rest (see ``lenient.py``).
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import lenient
from .cross import CROSS_RULES
from .errors import ConfigError, Problem
from .messages import PATTERN_WORDS, translate
from .models import ENV_NAME, Environment
from .provenance import Origin, file_origins, key_lines, locate, parse_field
from .provenance import merge as merge_tracked
from .rules import RULES, Files

# HRSAAS_ENVS_DIR points at another envs/ folder (tests prove that an environment is a file).
ENVS_DIR = Path(os.environ.get("HRSAAS_ENVS_DIR") or Path(__file__).resolve().parents[2] / "envs")
DEFAULTS = "base/defaults.toml"
CATALOG = "base/services.toml"
EMULATOR_ENDPOINT_VAR = "HRSAAS_EMULATOR_ENDPOINT"
ENV_VAR_ORIGIN = Origin(f"${EMULATOR_ENDPOINT_VAR} (environment variable)")


def is_environment_name(name: str) -> bool:
    return re.match(ENV_NAME, name) is not None


def environment_names(envs_dir: Path = ENVS_DIR) -> list[str]:
    """The environments envs/ defines: files whose name is a valid environment name. A file
    with another name is reported only when it is requested by name."""
    return sorted(p.stem for p in envs_dir.glob("*.toml") if is_environment_name(p.stem))


def _rel(path: Path, envs_dir: Path) -> str:
    try:
        return str(path.relative_to(envs_dir.parent))
    except ValueError:
        return str(path)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merged key by key, everything else (lists too) replaced whole."""
    return merge_tracked(base, {}, override, {})[0]


class _Stop(Exception):
    """A file could not be read: its problem is the only thing to report for this env."""

    def __init__(self, problem: Problem):
        self.problem = problem


@dataclass
class _Layers:
    data: dict[str, Any]
    origins: dict[tuple[Any, ...], Origin]
    files: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # bottom first

    def without(self, file: str) -> dict[str, Any]:
        """The merged data as if ``file`` had not set anything (its value's inheritance)."""
        merged: dict[str, Any] = {}
        for name, data in self.files:
            if name != file:
                merged = merge(merged, data)
        return merged


def _read(path: Path, envs_dir: Path, chain: tuple[str, ...]) -> _Layers:
    file = _rel(path, envs_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(environment_names(envs_dir))
        raise _Stop(Problem(file, "(file)", None,
                            f"there is no environment {path.stem!r} (no such file)",
                            f"use one of: {known}; or create {file}")) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _Stop(Problem(file, "(file)", None, f"cannot be read ({exc})",
                            "make it a readable UTF-8 text file")) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise _Stop(Problem(file, "(syntax)", None, f"not valid TOML: {exc}",
                            "fix the TOML syntax at that line", line=line)) from None
    origins = file_origins(data, key_lines(text), file, chain)
    return _Layers(data, origins, [(file, copy.deepcopy(data))])


def _env_layers(name: str, envs_dir: Path, chain: tuple[str, ...] = ()) -> _Layers:
    path = envs_dir / f"{name}.toml"
    file = _rel(path, envs_dir)
    if name in chain:
        raise _Stop(Problem(_rel(envs_dir / f"{chain[-1]}.toml", envs_dir), "extends", name,
                            f"circular extends: {' -> '.join(chain + (name,))}",
                            "extend an environment that does not extend this one"))
    here = _read(path, envs_dir, chain + (name,))
    parent = here.data.pop("extends", None)
    extends_origin = here.origins.pop(("extends",), Origin(file))
    if parent is None:
        base = _read(envs_dir / DEFAULTS, envs_dir, chain + (name, "base/defaults"))
    else:
        known = ", ".join(n for n in environment_names(envs_dir) if n != name)
        if not isinstance(parent, str) or not parent:
            raise _Stop(Problem(file, "extends", parent,
                                "extends names the environment this one builds on, as a string",
                                f"write extends = \"mvp\" (one of: {known}), or remove it",
                                line=extends_origin.line))
        if not (envs_dir / f"{parent}.toml").is_file():
            raise _Stop(Problem(file, "extends", parent,
                                f"extends an environment that does not exist "
                                f"({_rel(envs_dir / f'{parent}.toml', envs_dir)} is missing)",
                                f"extend one of: {known}", line=extends_origin.line))
        base = _env_layers(parent, envs_dir, chain + (name,))
    data, origins = merge_tracked(base.data, base.origins, here.data, here.origins)
    here_data = copy.deepcopy(here.data)
    return _Layers(data, origins, [*base.files, (file, here_data)])


@dataclass
class _Loaded:
    """One environment as validation saw it: the model (None when nothing could be built), the
    origins of its values, and whether the model is strictly valid."""

    name: str
    env: Any
    origins: dict[tuple[Any, ...], Origin]
    files: Files
    valid: bool
    problems: list[Problem] = field(default_factory=list)

    def resolve(self, problem: Problem) -> Problem:
        """The problem against the file and line that set its value, for this environment."""
        envs = (self.name,)
        if problem.envs:  # resolved where it was found
            return problem
        if problem.about_file:
            return replace(problem, envs=problem.envs or envs)
        path = parse_field(problem.field)
        if problem.file == self.files.catalog:
            path = ("catalog", *path)
        origin = locate(path, self.origins)
        if origin is None:
            return replace(problem, envs=envs)
        return replace(problem, file=origin.file, line=origin.line, envs=envs)


def _catalog_overrides(name: str, data: dict[str, Any], origins: dict[tuple[Any, ...], Origin]
                       ) -> list[Problem]:
    """An environment file cannot change the catalog: refuse ``[catalog…]`` tables in it."""
    problems = []
    overrides = data.pop("catalog", None)
    if isinstance(overrides, dict):
        entries = [(k, v) for k, v in overrides.items()]
    else:
        entries = [(None, overrides)] if overrides is not None else []
    for key, value in entries:
        if key == "services" and isinstance(value, dict):
            items = [(f"catalog.services.{svc}", v, ("catalog", "services", svc))
                     for svc, v in value.items()]
        else:
            path = ("catalog",) if key is None else ("catalog", key)
            items = [(".".join(path), value, path)]
        for field_name, item, path in items:
            origin = locate(path, origins) or Origin("(unknown)")
            problems.append(Problem(
                origin.file, field_name, item,
                "an environment cannot change the service catalog: it is one source of truth "
                "for every environment (SPEC §4), and this table would be ignored",
                "change envs/base/services.toml (every environment), or select and scale "
                "services for this environment with [services] max_stage / task_count",
                line=origin.line, envs=(name,)))
    for known in [p for p in origins if p[:1] == ("catalog",)]:
        del origins[known]
    return problems


def _name_problem(name: str, envs_dir: Path) -> Problem | None:
    if is_environment_name(name):
        return None
    words, example = PATTERN_WORDS[ENV_NAME]
    suggestion = re.sub(r"[^a-z0-9]", "", name.lower()).lstrip("0123456789")[:16] or example
    file = _rel(envs_dir / f"{name}.toml", envs_dir)
    return Problem(file, "(file name)", name,
                   f"the file name {name!r} is not a valid environment name: {words}",
                   f"rename {file} to {_rel(envs_dir / f'{suggestion}.toml', envs_dir)}")


def _load(name: str, envs_dir: Path) -> _Loaded:
    files = Files(_rel(envs_dir / f"{name}.toml", envs_dir), _rel(envs_dir / CATALOG, envs_dir))
    problems: list[Problem] = []
    bad_name = _name_problem(name, envs_dir)
    if bad_name is not None and (envs_dir / f"{name}.toml").is_file():
        problems.append(bad_name)
    try:
        layers = _env_layers(name, envs_dir)
        catalog = _read(envs_dir / CATALOG, envs_dir, (name, "base/services"))
    except _Stop as stop:
        loaded = _Loaded(name, None, {}, files, False)
        loaded.problems = [loaded.resolve(p) for p in (*problems, stop.problem)]
        return loaded
    data, origins = layers.data, layers.origins
    problems += _catalog_overrides(name, data, origins)
    data["name"] = name
    data["catalog"] = catalog.data
    origins.update({("catalog", *p): o for p, o in catalog.origins.items()})
    if isinstance(catalog.data.get("services"), dict):
        for svc_name, svc in catalog.data["services"].items():
            if isinstance(svc, dict):
                svc.setdefault("name", svc_name)
    override = os.environ.get(EMULATOR_ENDPOINT_VAR)
    if override and isinstance(data.get("emulator"), dict):
        data["emulator"] = {**data["emulator"], "endpoint": override}
        origins[("emulator", "endpoint")] = ENV_VAR_ORIGIN
        layers.files.append((ENV_VAR_ORIGIN.file, {"emulator": {"endpoint": override}}))

    loaded = _Loaded(name, None, origins, files, False)
    failed: list[tuple[Any, ...]] = []
    try:
        loaded.env, loaded.valid = Environment.model_validate(data), True
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if loc == ("name",) and bad_name is not None:
                continue
            failed.append(loc)
            message, fix = translate(err, loc, Environment)
            in_catalog = loc[:1] == ("catalog",)
            field_name = _field_path(loc[1:] if in_catalog else loc)
            value = "(missing)" if err["type"] == "missing" else err.get("input")
            problems.append(Problem(files.catalog if in_catalog else files.env, field_name,
                                    value, message, fix))
        built = lenient.build(Environment, _inherit(data, failed, origins, layers))
        loaded.env = None if built is lenient._FAIL else built
    if loaded.env is not None:
        for rule in RULES:
            try:
                found = list(rule(loaded.env, files))
            except Exception:
                if loaded.valid:
                    raise
                continue  # the rule needs a value that failed validation: already reported
            for problem in found:
                path = parse_field(problem.field)
                if problem.file == files.catalog:
                    path = ("catalog", *path)
                if not any(path[: len(f)] == f for f in failed):
                    problems.append(problem)
    loaded.problems = [loaded.resolve(p) for p in problems]
    return loaded


_ABSENT = object()


def _inherit(data: dict[str, Any], failed: list[tuple[Any, ...]],
             origins: dict[tuple[Any, ...], Origin], layers: _Layers) -> dict[str, Any]:
    """The data with each value that failed validation replaced by what the environment
    would inherit without the file that set it (or removed, when nothing is inherited), so
    that the rules see the environment as close as possible to its valid shape."""
    repaired = copy.deepcopy(data)
    for loc in failed:
        if loc[:1] == ("catalog",):
            continue  # the catalog has one file: nothing to inherit; lenient.build handles it
        cut = next((i for i, part in enumerate(loc) if isinstance(part, int)), len(loc))
        path = loc[:cut]  # lists are replaced whole
        origin = locate(path, origins)
        if not path or origin is None:
            continue
        inherited = _get(layers.without(origin.file), path)
        parent = _get(repaired, path[:-1])
        if not isinstance(parent, dict):
            continue
        if inherited is _ABSENT:
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = copy.deepcopy(inherited)
    return repaired


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return _ABSENT
        data = data[part]
    return data


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_environment(name: str, envs_dir: Path = ENVS_DIR) -> Environment:
    """Load, merge and validate one environment; raise ConfigError listing every problem."""
    return load_environments([name], envs_dir)[0]


def load_environments(names: list[str] | None = None, envs_dir: Path = ENVS_DIR
                      ) -> list[Environment]:
    """Load every (or the named) environment; problems of all files are reported together,
    each once, with the environments it affects. A name given twice is loaded once. Rules
    between environments (one account each, no shared global names) compare the environments
    loaded together."""
    wanted = list(dict.fromkeys(names or environment_names(envs_dir)))
    loaded = [_load(name, envs_dir) for name in wanted]
    problems = [p for one in loaded for p in one.problems]
    together = [one for one in loaded if one.env is not None]
    for rule in CROSS_RULES:
        try:
            found = list(rule([(one.env, one.files) for one in together]))
        except Exception:
            if all(one.valid for one in together):
                raise
            continue
        by_name = {one.name: one for one in together}
        for env_name, problem in found:
            problems.append(by_name[env_name].resolve(problem))
    if problems:
        raise ConfigError(problems)
    return [one.env for one in loaded]
