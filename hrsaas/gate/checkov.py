"""Security gate: checkov over every synthesized stack, with our own suppression file.

    hrsaas scan                                        # the synthesized stacks, then saved plans
    hrsaas scan cdktf.out/stacks                       # every synthesized stack (the default)
    hrsaas scan cdktf.out/stacks/prod-network          # one stack
    hrsaas scan plans/prod --framework terraform_plan  # `terraform show -json` output
    hrsaas scan cdktf.out/stacks --verbose             # also per-stack counts and every
                                                       # suppressed finding with its reason

The verdict comes first (PASSED/FAILED and the counts), then what needs action: the
unsuppressed findings (stack, resource, check, name, and checkov's guideline or the attributes
it checked), stale suppressions and gate problems. Suppressed findings are listed with
``--verbose``; every report keeps them all.

One checkov process scans every stack file (``-f`` per file, so exactly the files listed here
are scanned) and writes JSON, SARIF and JUnit XML into the reports folder; the gate reads the
JSON and applies checkov/suppressions.toml, whose entries select stacks by layer glob and by
what the stack's environment is (``when = "capabilities.customer_managed_keys == false"``,
evaluated on ``hrsaas.config.load_environments()``; the syntax is documented at the top of the
file). It fails (exit 1) on:

* any failed check that no suppression entry matches;
* a malformed suppression file, an entry without a reason, a condition naming an unknown
  environment setting, or a stale entry (one that matched nothing although the scan covered
  stacks it selects — judged on synthesized stacks only: a plan holds what changes and the
  values in state, so an entry for a resource a plan leaves out is not stale; entries with
  ``frameworks = ["terraform_plan"]`` apply to plans only);
* a scanned stack ``<env>-<layer>`` that entries with conditions select but whose environment
  is not in envs/ (``HRSAAS_ENVS_DIR`` names another folder);
* checkov parsing errors, zero checks run in total, or a stack that declares resources but got
  no checks at all (checkov 3.3.x skips files it cannot parse and still exits 0);
* ``terraform.required_version`` in a synthesized file (the cause of that silent pass);
  ``moved``/``removed``/``import`` blocks, which checkov cannot parse either, are left out of
  the copy it scans instead (``checkov_input``);
* checkov missing, timing out, exiting with another code than 0/1, or writing no JSON.

Reports (default ``reports/``): checkov's results_json.json, results_sarif.sarif (suppressed
results marked as such, with their reason) and results_junitxml.xml, plus the gate's verdict in
scan_summary.json.

checkov is an isolated tool (``.tools/checkov``, see PLATFORM.md): it is only ever run as a
subprocess, never imported. ``--skip-download`` keeps it offline.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, PydanticSchemaGenerationError, TypeAdapter, ValidationError

from ..config import ConfigError, Environment, environment_names, load_environments
from ..config import loader as config_loader
from ..toolenv import CHECKOV, ROOT
from ..topology import split_stack_id

FRAMEWORKS = ("terraform_json", "terraform_plan")
DEFAULT_SUPPRESSIONS = ROOT / "checkov" / "suppressions.toml"
DEFAULT_REPORTS = ROOT / "reports"
DEFAULT_TARGETS = {"terraform_json": ROOT / "cdktf.out" / "stacks",
                   "terraform_plan": ROOT / "plans"}
REPORT_FILES = ("results_json.json", "results_sarif.sarif", "results_junitxml.xml")
CHECKOV_TIMEOUT = 900  # seconds
CHECK_ID = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*_\d+$")  # CKV_AWS_18, CKV2_AWS_5
# The project's own rule pack (hrsaas/gate/rules, hrsaas/gate/rulepack.py) shares this file:
# its entries name a rule ID and apply to the rule pack only, never to a checkov framework.
RULE_ID = re.compile(r"^HRS\d{3}$")  # HRS001
RULEPACK = "rulepack"
SUPPRESSION_KEYS = {"check", "stacks", "resource", "reason", "frameworks", "when"}


class GateError(Exception):
    """A problem that stops the gate before any result can be trusted."""


# --- conditions on the environment ---------------------------------------------------------

CONDITION = re.compile(r"^\s*(?P<path>[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)\s*"
                       r"(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>\S.*?)\s*$")
OPERATORS: dict[str, typing.Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}
# Environment lookup per scanned stack: None when the stack's <env> has no envs/<env>.toml.
Environments = Mapping[str, Environment | None]


@dataclasses.dataclass(frozen=True)
class Condition:
    """``<setting> <op> <value>``: a setting of the environment (a dotted path into
    hrsaas.config.models.Environment, as in the env files, or one of its properties such as
    ``is_emulated``) compared with a TOML value (``true``, ``365``, ``"x"``) or ``null``."""

    text: str
    path: tuple[str, ...]
    op: str
    value: Any

    def holds(self, env: Environment) -> bool:
        actual: Any = env
        for part in self.path:
            actual = None if actual is None else getattr(actual, part, None)
        if self.op in ("==", "!="):
            return OPERATORS[self.op](actual, self.value)
        if not _is_number(actual):  # e.g. an optional number that is not set
            return False
        return OPERATORS[self.op](actual, self.value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``Emulator | None`` → Emulator), if any."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _leaf_types(annotation: Any) -> set[type]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaf_types(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return {type(a) for a in typing.get_args(annotation)}
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaf_types(a) for a in typing.get_args(annotation)))
    return {annotation} if isinstance(annotation, type) else {object}


def _setting(path: tuple[str, ...]) -> tuple[Any, str]:
    """The annotation of an environment setting (None when unknown, e.g. a property without
    one) and an error message ("" when the path names a setting)."""
    model: type[BaseModel] | None = Environment
    annotation: Any = None
    for i, part in enumerate(path):
        here = ".".join(path[: i + 1])
        if model is None:
            return None, f"`{'.'.join(path[:i])}` has no settings below it"
        prop = getattr(model, part, None)
        if part in model.model_fields:
            annotation = model.model_fields[part].annotation
            model = _model_in(annotation)
        elif isinstance(prop, property):
            try:
                annotation = typing.get_type_hints(prop.fget).get("return")
            except (NameError, TypeError):
                annotation = None
            model = None
        else:
            names = sorted(model.model_fields) + sorted(
                k for k, v in vars(model).items() if isinstance(v, property))
            return None, f"unknown environment setting `{here}` (known here: {', '.join(names)})"
    if model is not None:
        names = sorted(model.model_fields)
        return None, f"`{'.'.join(path)}` is a table: name one of its settings ({', '.join(names)})"
    return annotation, ""


def parse_condition(text: Any) -> tuple[Condition | None, str]:
    """A condition and "" — or None and what is wrong with it."""
    if not isinstance(text, str):
        return None, f"a condition must be a string like \"capabilities.multi_az == false\", got " \
                     f"{text!r}"
    match = CONDITION.match(text)
    if not match:
        return None, (f"{text!r} is not `<setting> <op> <value>` with op one of "
                      f"{' '.join(OPERATORS)} (e.g. "
                      "\"capabilities.customer_managed_keys == false\")")
    path = tuple(match["path"].split("."))
    if path == ("name",):
        return None, (f"{text!r}: select stacks by what the environment is, not by its name "
                      "(name stacks with `stacks` globs if you must)")
    raw = match["value"]
    if raw == "null":
        value = None
    else:
        try:
            value = tomllib.loads(f"value = {raw}")["value"]
        except tomllib.TOMLDecodeError:
            return None, f"{text!r}: {raw} is not a TOML value (true, 365, \"text\") or null"
        if isinstance(value, list | dict):
            return None, f"{text!r}: compare with one value, not {raw}"
    annotation, error = _setting(path)
    if error:
        return None, f"{text!r}: {error}"
    op = match["op"]
    if op in ("==", "!="):
        if annotation is not None:
            try:
                TypeAdapter(annotation).validate_python(value, strict=True)
            except ValidationError:
                return None, (f"{text!r}: {match['path']} is {_describe(annotation)}, so it is "
                              f"never {raw}")
            except (PydanticSchemaGenerationError, TypeError):
                pass  # a type pydantic cannot adapt on its own: compared as it is at run time
    else:
        if not _is_number(value):
            return None, f"{text!r}: {op} compares numbers, {raw} is not one"
        if annotation is not None and not _leaf_types(annotation) - {type(None)} <= {int, float}:
            return None, f"{text!r}: {match['path']} is {_describe(annotation)}, not a number"
    return Condition(text.strip(), path, op, value), ""


def _describe(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def stack_environments(stacks: Iterable[str], envs_dir: Path | None = None
                       ) -> dict[str, Environment | None]:
    """Each stack ``<env>-<layer>`` → its validated Environment, None when envs/ has no such
    environment. Raises GateError when the configuration of a needed environment is invalid."""
    envs_dir = envs_dir or config_loader.ENVS_DIR  # read now: HRSAAS_ENVS_DIR, tests
    stacks = list(stacks)
    known = set(environment_names(envs_dir))
    wanted = sorted({split_stack_id(s)[0] for s in stacks} & known)
    try:
        loaded = {e.name: e for e in load_environments(wanted, envs_dir)} if wanted else {}
    except ConfigError as exc:
        raise GateError(f"suppression conditions need the environments' settings, and the "
                        f"configuration is invalid:\n{exc}") from None
    return {s: loaded.get(split_stack_id(s)[0]) for s in stacks}


# --- suppressions -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Suppression:
    index: int  # 1-based position in the file, for messages
    check: str
    stacks: tuple[str, ...]
    resource: str
    reason: str
    frameworks: tuple[str, ...] = FRAMEWORKS
    when: tuple[Condition, ...] = ()

    def names(self, stack: str) -> bool:
        """The stack matches one of the ``stacks`` globs (conditions aside)."""
        return any(fnmatchcase(stack, glob) for glob in self.stacks)

    def selects(self, stack: str, environments: Environments | None = None) -> bool:
        """The entry covers this stack: a glob matches and every condition holds for the
        stack's environment (an unknown environment satisfies no condition)."""
        if not self.names(stack):
            return False
        if not self.when:
            return True
        env = (environments or {}).get(stack)
        return env is not None and all(c.holds(env) for c in self.when)

    def matches(self, finding: Finding, framework: str = "terraform_json",
                environments: Environments | None = None) -> bool:
        return (framework in self.frameworks and finding.check_id == self.check
                and fnmatchcase(finding.resource, self.resource)
                and self.selects(finding.stack, environments))

    def applies_to_any(self, stacks: Iterable[str],
                       environments: Environments | None = None) -> bool:
        return any(self.selects(s, environments) for s in stacks)

    def describe(self) -> str:
        when = f" when={[c.text for c in self.when]}" if self.when else ""
        return (f"#{self.index} check={self.check} stacks={list(self.stacks)}{when} "
                f"resource={self.resource}")


def load_suppressions(path: Path) -> list[Suppression]:
    """Parse and validate the suppression file; every problem is listed in one GateError."""
    if not path.is_file():
        raise GateError(f"suppression file {path} does not exist (pass --suppressions)")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GateError(f"suppression file {path} is not valid TOML: {exc}") from None
    problems: list[str] = []
    unknown = sorted(set(data) - {"suppression"})
    if unknown:
        problems.append(f"unknown top-level keys {unknown}: only [[suppression]] tables belong "
                        "here")
    entries = data.get("suppression", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        problems.append("`suppression` must be an array of tables: write each entry as "
                        "[[suppression]]")
        entries = []
    result: list[Suppression] = []
    for index, entry in enumerate(entries, start=1):
        where = f"entry #{index}" + (f" ({entry['check']})" if isinstance(
            entry.get("check"), str) else "")
        errors: list[str] = []
        extra = sorted(set(entry) - SUPPRESSION_KEYS)
        if extra:
            errors.append(f"unknown keys {extra} (allowed: {sorted(SUPPRESSION_KEYS)})")
        check = entry.get("check")
        rule = isinstance(check, str) and bool(RULE_ID.match(check))
        if not isinstance(check, str) or not (CHECK_ID.match(check) or rule):
            errors.append(f"`check` must be one exact checkov ID like CKV_AWS_18 or a rule-pack "
                          f"ID like HRS001, got {check!r}")
        stacks = entry.get("stacks")
        if (not isinstance(stacks, list) or not stacks
                or not all(isinstance(s, str) and s.strip() for s in stacks)):
            errors.append("`stacks` must be a non-empty list of stack-name globs, e.g. "
                          f"[\"*-network\"], got {stacks!r}")
        resource = entry.get("resource")
        if not isinstance(resource, str) or not resource.strip():
            errors.append("`resource` must be a resource-address glob, e.g. "
                          f"\"aws_s3_bucket.state-bucket_*\", got {resource!r}")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            errors.append("`reason` is required: say why this finding is an accepted exception")
        frameworks = entry.get("frameworks", [RULEPACK] if rule else list(FRAMEWORKS))
        if rule and "frameworks" in entry:
            errors.append("`frameworks` is for checkov entries: a rule-pack entry (HRS…) "
                          "applies to the synthesized stacks only; remove the key")
        elif not rule and (not isinstance(frameworks, list) or not frameworks
                           or not set(frameworks) <= set(FRAMEWORKS)):
            errors.append(f"`frameworks` must be a non-empty list of {list(FRAMEWORKS)}, "
                          f"got {frameworks!r}")
        raw_when = entry.get("when", [])
        raw_when = [raw_when] if isinstance(raw_when, str) else raw_when
        conditions: list[Condition] = []
        if not isinstance(raw_when, list):
            errors.append("`when` must be a condition string or a list of them, e.g. "
                          f"\"capabilities.customer_managed_keys == false\", got {raw_when!r}")
            raw_when = []
        for text in raw_when:
            condition, error = parse_condition(text)
            if error:
                errors.append(f"`when`: {error}")
            else:
                conditions.append(condition)
        if errors:
            problems += [f"{where}: {e}" for e in errors]
            continue
        result.append(Suppression(index, check, tuple(stacks), resource,
                                  " ".join(reason.split()), tuple(frameworks),
                                  tuple(conditions)))
    seen: dict[tuple, int] = {}
    for s in result:
        key = (s.check, tuple(sorted(s.stacks)), s.resource,
               tuple(sorted(c.text for c in s.when)), tuple(sorted(s.frameworks)))
        if key in seen:
            problems.append(f"entry #{s.index} duplicates entry #{seen[key]}")
        seen.setdefault(key, s.index)
    if problems:
        raise GateError(f"invalid suppression file {path}:\n"
                        + "\n".join(f"  - {p}" for p in problems))
    return result


def needs_environments(suppressions: Sequence[Suppression]) -> bool:
    return any(s.when for s in suppressions)


# --- stack discovery ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StackFile:
    stack: str
    path: Path  # resolved
    document: dict[str, Any] | None  # parsed JSON, None when it is not a valid JSON object
    error: str = ""  # why document is None


def discover(targets: Sequence[Path], framework: str) -> list[StackFile]:
    """Each target is a folder of stacks, one stack folder, or one file."""
    paths: list[Path] = []
    for target in targets:
        if target.is_file():
            found = [target]
        elif not target.is_dir():
            raise GateError(f"{target} does not exist")
        elif framework == "terraform_json":
            if (target / "cdk.tf.json").is_file():
                found = [target / "cdk.tf.json"]
            else:
                found = sorted(target.glob("*/cdk.tf.json"))
        else:  # skip hidden folders such as .terraform
            found = sorted(p for p in target.rglob("*.json") if not any(
                part.startswith(".") for part in p.relative_to(target).parts))
        paths += found
        if not found:
            pattern = "cdk.tf.json or */cdk.tf.json" if framework == "terraform_json" else \
                "*.json plan files"
            raise GateError(f"nothing to scan in {target}: no {pattern} (run `make synth`?)")
    files: dict[Path, StackFile] = {}
    for path in paths:
        resolved = path.resolve()
        if framework == "terraform_json":
            stack = resolved.parent.name
        else:  # plans/<env>/<stack>.json, or <stack>/plan.json
            stack = resolved.parent.name if resolved.stem in ("plan", "tfplan") else resolved.stem
        document, error = None, ""
        try:
            document = json.loads(resolved.read_text())
            if not isinstance(document, dict):
                document, error = None, "the top level is not a JSON object"
        except (ValueError, UnicodeDecodeError) as exc:
            error = str(exc)
        files[resolved] = StackFile(stack, resolved, document, error)
    stacks = [f.stack for f in files.values()]
    twice = sorted({s for s in stacks if stacks.count(s) > 1})
    if twice:
        raise GateError(f"stack names {twice} occur in more than one scanned file")
    return sorted(files.values(), key=lambda f: f.stack)


def precheck(files: Sequence[StackFile], framework: str) -> list[str]:
    """What the gate finds wrong in the files itself, before trusting checkov's verdict."""
    problems = []
    for f in files:
        if f.document is None:
            problems.append(f"{f.stack}: {f.path} is not valid JSON ({f.error})")
        elif framework == "terraform_json" and "required_version" in (
                f.document.get("terraform") or {}):
            problems.append(
                f"{f.stack}: {f.path} sets terraform.required_version — checkov 3.3.x cannot "
                "parse such a file and silently runs zero checks on it; remove it from the "
                "synthesized JSON")
    return problems


def declared_blocks(document: dict[str, Any] | None, framework: str) -> int:
    """How many resources/data sources a file declares (0 = nothing checkov could check)."""
    if document is None:
        return 0
    if framework == "terraform_plan":
        return len(document.get("resource_changes") or [])
    return sum(len(v) for block in ("resource", "data")
               for v in (document.get(block) or {}).values() if isinstance(v, dict))


class PathIndex:
    """Which scanned file a path in checkov's output names. checkov writes one file in many
    forms: absolute (``file_abs_path``), relative to the common parent of its working directory
    and the scanned files (SARIF URIs, ``repo_file_path``), relative to the working directory
    with ``..`` (``file_path``), or absolute without the leading slash (SARIF URIs when that
    parent is ``/``). So a path is matched on the longest tail of components it shares with
    exactly one scanned file — never on the working directory or the clone's location. Stack
    names are unique among the scanned files, so ``<stack>/cdk.tf.json`` always decides."""

    def __init__(self, paths: Iterable[Path]):
        self.paths = {Path(p): Path(p).parts for p in paths}

    def find(self, value: str | os.PathLike | None) -> Path | None:
        if not value:
            return None
        text = str(value)
        if text.startswith("file:"):
            text = unquote(urlparse(text).path)
        candidate = Path(text)
        if candidate.is_absolute() and candidate in self.paths:
            return candidate
        parts = [p for p in PurePosixPath(text).parts if p not in ("/", ".", "..")]
        best: Path | None = None
        best_length, tied = 0, False
        for path, own in self.paths.items():
            length = 0
            while (length < min(len(parts), len(own))
                   and parts[-1 - length] == own[-1 - length]):
                length += 1
            if length > best_length:
                best, best_length, tied = path, length, False
            elif length == best_length and length:
                tied = True
        return None if tied or not best_length else best


# --- checkov ------------------------------------------------------------------------------


@dataclasses.dataclass
class CheckovRun:
    summary: dict[str, int]
    passed: list[dict]
    failed: list[dict]
    skipped: list[dict]
    parsing_errors: list[str]
    version: str
    seconds: float
    command: list[str]


# Top-level blocks of Terraform's JSON syntax that checkov 3.3.x cannot parse (any of them
# makes it skip the whole file: a parsing error). They declare no resource, only how state
# addresses change (a construct renamed, a resource handed to another stack), so checkov reads
# the stack without them.
ADDRESS_BLOCKS = ("moved", "removed", "import")


def checkov_input(f: StackFile, framework: str, reports: Path) -> Path:
    """The file checkov scans for ``f``: the stack itself, or a copy without its
    ``ADDRESS_BLOCKS`` under ``<reports>/checkov-input/<stack>/`` (results naming the copy are
    mapped back to the stack by ``PathIndex``: the copy ends in ``<stack>/<file name>``)."""
    document = f.document or {}
    if framework != "terraform_json" or not any(key in document for key in ADDRESS_BLOCKS):
        return f.path
    copy = reports / "checkov-input" / f.stack / f.path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(json.dumps({k: v for k, v in document.items() if k not in ADDRESS_BLOCKS},
                               indent=2, ensure_ascii=False) + "\n")
    return copy


def checkov_command(files: Sequence[StackFile], framework: str, reports: Path) -> list[str]:
    command = [str(CHECKOV)]
    for f in files:
        command += ["-f", str(checkov_input(f, framework, reports))]
    return command + [
        "--framework", framework,
        "--skip-download",  # offline: no guideline/severity download from Prisma Cloud
        "--compact",
        "-o", "json", "-o", "sarif", "-o", "junitxml",
        "--output-file-path", str(reports),
    ]


def run_checkov(files: Sequence[StackFile], framework: str, reports: Path) -> CheckovRun:
    if not CHECKOV.exists():
        raise GateError(f"checkov is not installed at {CHECKOV}: run `make setup`")
    reports.mkdir(parents=True, exist_ok=True)
    for name in REPORT_FILES:  # never read a previous run's result
        (reports / name).unlink(missing_ok=True)
    shutil.rmtree(reports / "checkov-input", ignore_errors=True)  # nor a previous run's copies
    command = checkov_command(files, framework, reports)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_API_KEY", "PRISMA_"))}
    started = time.monotonic()
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=CHECKOV_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise GateError(f"checkov did not finish within {CHECKOV_TIMEOUT} s") from None
    seconds = time.monotonic() - started
    tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
    # 0: no failed check, 1: failed checks. Anything else is a crash or a usage error.
    if result.returncode not in (0, 1):
        raise GateError(f"checkov exited with code {result.returncode}:\n{tail}")
    output = reports / "results_json.json"
    try:
        data = json.loads(output.read_text())
    except (OSError, ValueError) as exc:
        raise GateError(f"checkov wrote no readable JSON result ({exc}):\n{tail}") from None
    run = parse_checkov_json(data)
    run.seconds, run.command = seconds, command
    return run


def parse_checkov_json(data: Any) -> CheckovRun:
    """checkov's ``-o json``: one report (dict) per check type, a list when several ran, and a
    bare summary dict when nothing was scanned at all."""
    reports = data if isinstance(data, list) else [data]
    run = CheckovRun({"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}, [], [], [],
                     [], "?", 0.0, [])
    for report in reports:
        if not isinstance(report, dict):
            raise GateError(f"unexpected checkov JSON: {str(report)[:200]}")
        summary = report.get("summary", report)
        if not all(isinstance(summary.get(k), int) for k in ("passed", "failed")):
            raise GateError(f"unexpected checkov JSON summary: {str(summary)[:200]}")
        for key in run.summary:
            run.summary[key] += int(summary.get(key) or 0)
        run.version = str(summary.get("checkov_version", run.version))
        results = report.get("results") or {}
        run.passed += results.get("passed_checks") or []
        run.failed += results.get("failed_checks") or []
        run.skipped += results.get("skipped_checks") or []
        run.parsing_errors += results.get("parsing_errors") or []
    return run


# --- evaluation ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    stack: str
    resource: str
    file: str = ""  # resolved path of the stack file
    line: int = 0  # first line of the block in the file checkov read (``checkov_input``)
    guideline: str = ""  # checkov's fix guideline (a URL), when it has one
    attributes: tuple[str, ...] = ()  # the attributes checkov evaluated


class AddressBook:
    """Maps checkov's records to stack files and resource IDs to Terraform addresses. For
    terraform_json its Python checks report ``resource.<name>`` / ``data.<name>`` without the
    type; the stack's JSON has it."""

    def __init__(self, files: Sequence[StackFile]):
        self.by_path = {f.path: f for f in files}
        self.index = PathIndex(self.by_path)
        self._types: dict[tuple[Path, str, str], list[str]] = {}
        for f in files:
            for block in ("resource", "data"):
                for kind, items in ((f.document or {}).get(block) or {}).items():
                    for name in items if isinstance(items, dict) else ():
                        self._types.setdefault((f.path, block, name), []).append(kind)

    def stack_file(self, record: dict) -> StackFile | None:
        for key in ("file_abs_path", "repo_file_path", "file_path"):
            path = self.index.find(record.get(key))
            if path is not None:
                return self.by_path[path]
        return None

    def address(self, stack_file: StackFile | None, resource: str) -> str:
        block, _, name = resource.partition(".")
        if stack_file is None or block not in ("resource", "data") or "." in name:
            return resource
        kinds = self._types.get((stack_file.path, block, name), [])
        if len(kinds) != 1:
            return resource
        return f"{kinds[0]}.{name}" if block == "resource" else f"data.{kinds[0]}.{name}"


@dataclasses.dataclass
class StackCounts:
    passed: int = 0
    failed: int = 0
    suppressed: int = 0
    skipped: int = 0


@dataclasses.dataclass
class Verdict:
    counts: dict[str, StackCounts]
    failures: list[Finding]
    suppressed: list[tuple[Finding, Suppression]]
    stale: list[Suppression]
    problems: list[str]
    framework: str = "terraform_json"

    @property
    def ok(self) -> bool:
        return not (self.failures or self.stale or self.problems)

    def totals(self) -> StackCounts:
        total = StackCounts()
        for c in self.counts.values():
            total.passed += c.passed
            total.failed += c.failed
            total.suppressed += c.suppressed
            total.skipped += c.skipped
        return total


def evaluate(run: CheckovRun, files: Sequence[StackFile], suppressions: Sequence[Suppression],
             framework: str, problems: Sequence[str] = (),
             environments: Environments | None = None) -> Verdict:
    """Apply the suppressions to checkov's results. ``environments`` maps each scanned stack
    to its Environment (``stack_environments``); loaded here when entries have conditions and
    it is not given."""
    book = AddressBook(files)
    verdict = Verdict({f.stack: StackCounts() for f in files}, [], [], [], list(problems),
                      framework)
    stacks = [f.stack for f in files]
    relevant = [s for s in suppressions if framework in s.frameworks]
    if environments is None:
        environments = stack_environments(stacks) if needs_environments(relevant) else {}
    verdict.problems += undecided_conditions(stacks, relevant, environments)

    def locate(record: dict) -> tuple[StackFile | None, str, str]:
        stack_file = book.stack_file(record)
        stack = stack_file.stack if stack_file else f"?{record.get('file_path')}"
        verdict.counts.setdefault(stack, StackCounts())
        return stack_file, stack, book.address(stack_file, str(record.get("resource", "?")))

    for record in run.passed:
        verdict.counts[locate(record)[1]].passed += 1
    for record in run.skipped:
        verdict.counts[locate(record)[1]].skipped += 1
    used: set[int] = set()
    for record in run.failed:
        stack_file, stack, address = locate(record)
        lines = record.get("file_line_range") or [0]
        evaluated = (record.get("check_result") or {}).get("evaluated_keys") or []
        finding = Finding(str(record.get("check_id")), str(record.get("check_name", "")),
                          stack, address, str(stack_file.path) if stack_file else "",
                          int(lines[0] or 0), str(record.get("guideline") or ""),
                          tuple(str(k) for k in evaluated if k != "resource_type"))
        matched = [s for s in relevant if s.matches(finding, framework, environments)]
        used.update(s.index for s in matched)
        if matched:
            verdict.counts[stack].suppressed += 1
            verdict.suppressed.append((finding, matched[0]))
        else:
            verdict.counts[stack].failed += 1
            verdict.failures.append(finding)

    # Staleness is judged on the synthesized stacks, which hold every resource. A plan holds
    # what changes and the values in state, so an entry can rightly match nothing there.
    if framework == "terraform_json":
        verdict.stale = [s for s in relevant
                         if s.index not in used and s.applies_to_any(stacks, environments)]
    if run.summary["parsing_errors"] or run.parsing_errors:
        names = []
        for raw in run.parsing_errors:
            found = book.stack_file({"file_abs_path": raw})
            names.append(found.stack if found else raw)
        verdict.problems.append(
            f"checkov could not parse {run.summary['parsing_errors'] or len(names)} file(s): "
            f"{', '.join(sorted(names)) or 'see reports'} — their checks did not run")
    total = run.summary["passed"] + run.summary["failed"]
    if total == 0:
        verdict.problems.append("checkov ran zero checks (passed + failed = 0): nothing was "
                                "actually scanned, which is never a pass")
    for f in files:
        c = verdict.counts[f.stack]
        declared = declared_blocks(f.document, framework)
        if declared and c.passed + c.failed + c.suppressed + c.skipped == 0 and total:
            verdict.problems.append(f"{f.stack}: declares {declared} resources/data sources "
                                    "but checkov ran no check on it (not parsed?)")
    verdict.failures.sort(key=lambda x: (x.stack, x.resource, x.check_id))
    verdict.suppressed.sort(key=lambda x: (x[0].stack, x[0].resource, x[0].check_id))
    return verdict


# --- output -------------------------------------------------------------------------------


def undecided_conditions(stacks: Sequence[str], relevant: Sequence[Suppression],
                         environments: Environments) -> list[str]:
    """A problem per environment whose stacks some ``when`` entries select but whose env file
    is missing, so those conditions cannot be decided (both gates: checkov and the rule pack)."""
    undecided: dict[str, tuple[list[str], set[int]]] = {}  # env → its stacks, entries
    for stack in stacks:
        blind = {s.index for s in relevant if s.when and s.names(stack)}
        if blind and environments.get(stack) is None:
            names, entries = undecided.setdefault(split_stack_id(stack)[0], ([], set()))
            names.append(stack)
            entries.update(blind)
    return [
        f"no environment {env!r} in {config_loader.ENVS_DIR} for stack(s) "
        f"{', '.join(names)}: the conditions of suppression(s) "
        f"{', '.join(f'#{i}' for i in sorted(entries))} cannot be decided for them (stacks "
        "are <env>-<layer>; set HRSAAS_ENVS_DIR to the envs/ folder they were synthesized "
        "from)" for env, (names, entries) in sorted(undecided.items())]


def headline(reason: str, limit: int = 110) -> str:
    """The reason's first sentence, for one console line (the file has the whole reason)."""
    match = re.match(r"(.+?[.;])(\s|$)", reason)
    text = match.group(1) if match else reason
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def verdict_line(verdict: Verdict, gate: str = "security gate",
                 failure: str = "unsuppressed failure") -> str:
    """The first line of a gate's report (checkov's, and the rule pack's with its own words)."""
    if verdict.ok:
        return f"{gate}: PASSED"
    parts = [_plural(len(verdict.failures), failure) if verdict.failures else "",
             _plural(len(verdict.stale), "stale suppression") if verdict.stale else "",
             _plural(len(verdict.problems), "problem") if verdict.problems else ""]
    return f"{gate}: FAILED — " + ", ".join(p for p in parts if p)


def counts_line(verdict: Verdict, run: CheckovRun | None, framework: str | None = None) -> str:
    t = verdict.totals()
    checks = t.passed + t.failed + t.suppressed
    where = f"checkov {run.version}, {run.seconds:.1f} s" if run is not None else "checkov"
    skipped = f", {t.skipped} skipped by checkov" if t.skipped else ""
    return (f"  {framework or verdict.framework} ({where}): "
            f"{_plural(len(verdict.counts), 'stack')}, "
            f"{checks} checks run: {t.passed} passed, {t.failed} failed unsuppressed, "
            f"{t.suppressed} suppressed{skipped}")


def render(verdict: Verdict, run: CheckovRun | None, framework: str | None = None,
           verbose: bool = False, reports: Path | None = None) -> str:
    """The verdict and its counts first; then what needs action (unsuppressed findings, stale
    entries, problems); with ``verbose`` the per-stack counts and every suppressed finding."""
    lines = [verdict_line(verdict), counts_line(verdict, run, framework)]
    if verdict.problems:  # first: they can explain the findings below
        lines.append("\nGATE PROBLEMS:")
        lines += [f"  - {p}" for p in verdict.problems]
    if verdict.failures:
        lines.append(f"\nFAILED checks ({len(verdict.failures)}): fix the construct, or add a "
                     "suppression with a reason if it is a justified exception")
        for finding in verdict.failures:
            lines.append(f"  {finding.stack} {finding.resource} {finding.check_id} "
                         f"{finding.check_name}")
            if finding.guideline:
                lines.append(f"      guideline: {finding.guideline}")
            elif finding.attributes:
                lines.append(f"      checked: {', '.join(finding.attributes)}")
    if verdict.stale:
        lines.append(f"\nSTALE suppressions ({len(verdict.stale)}): they matched no finding in "
                     "the stacks they select — delete or narrow them")
        lines += [f"  {s.describe()}" for s in verdict.stale]
    if verbose:
        width = max([len("stack"), *map(len, verdict.counts)])
        lines.append(f"\nPer stack:\n  {'stack':<{width}}  passed  failed  suppressed")
        for stack in sorted(verdict.counts):
            c = verdict.counts[stack]
            lines.append(f"  {stack:<{width}}  {c.passed:>6}  {c.failed:>6}  {c.suppressed:>10}")
        if verdict.suppressed:
            lines.append(f"\nSuppressed ({len(verdict.suppressed)}), checkov/suppressions.toml:")
            for finding, entry in verdict.suppressed:
                lines.append(f"  {finding.stack} {finding.resource} {finding.check_id} "
                             f"[#{entry.index}] {headline(entry.reason)}")
    elif verdict.suppressed:
        entries = len({entry.index for _, entry in verdict.suppressed})
        lines.append(f"\n{_plural(len(verdict.suppressed), 'finding')} suppressed by "
                     f"{_plural(entries, 'entry', 'entries')} of checkov/suppressions.toml "
                     "(--verbose lists them with their reasons)")
    if reports is not None:
        lines.append(f"Reports (every finding, suppressed ones marked): {_shown(reports)}/")
    if len(lines) > 8:  # a long list: repeat the verdict where the output ends
        lines.append(verdict_line(verdict))
    return "\n".join(lines)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def write_summary(path: Path, verdict: Verdict, run: CheckovRun) -> None:
    """reports/scan_summary.json: the gate's verdict (checkov's own reports keep every failure,
    suppressed or not)."""
    path.write_text(json.dumps({
        "ok": verdict.ok,
        "framework": verdict.framework,
        "checkov_version": run.version,
        "totals": dataclasses.asdict(verdict.totals()),
        "stacks": {k: dataclasses.asdict(v) for k, v in sorted(verdict.counts.items())},
        "failures": [dataclasses.asdict(f) for f in verdict.failures],
        "suppressed": [{**dataclasses.asdict(f), "reason": s.reason, "entry": s.index}
                       for f, s in verdict.suppressed],
        "stale": [s.describe() for s in verdict.stale],
        "problems": verdict.problems,
    }, indent=2) + "\n")


def annotate_sarif(path: Path, verdict: Verdict) -> int:
    """Mark suppressed results in checkov's SARIF as externally suppressed, with the reason, so
    code scanning shows the same verdict as the gate. Returns how many were marked.

    A result is identified by its rule, file and first line. The file is found from the URI by
    ``PathIndex`` among the files of the verdict's findings: checkov writes URIs relative to
    the common parent of its working directory and the scanned files, which depends on where
    the repository and the stacks are (see PathIndex)."""
    if not path.is_file():
        return 0
    sarif = json.loads(path.read_text())
    findings = [f for f, _ in verdict.suppressed] + verdict.failures
    index = PathIndex({Path(f.file) for f in findings if f.file})
    reasons = {(f.check_id, f.file, f.line): s.reason for f, s in verdict.suppressed}
    marked = 0
    for run in sarif.get("runs", []):
        for result in run.get("results", []):
            for location in result.get("locations", [])[:1]:
                physical = location.get("physicalLocation", {})
                file = index.find(physical.get("artifactLocation", {}).get("uri", ""))
                line = physical.get("region", {}).get("startLine", 0)
                reason = reasons.get((result.get("ruleId"), str(file), line)) if file else None
                if reason:
                    result["suppressions"] = [{"kind": "external", "status": "accepted",
                                               "justification": reason}]
                    marked += 1
    path.write_text(json.dumps(sarif, indent=2) + "\n")
    return marked


# --- main ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    usage = __doc__.split("\n\n")[1]
    parser = argparse.ArgumentParser(
        prog="hrsaas scan", description=__doc__.split("\n\n")[0],
        epilog=f"examples:\n{usage}\n\nexit codes: 0 passed, 1 failed (findings, stale "
               "suppressions, parse errors, zero checks, checkov errors), 2 bad arguments",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", type=Path,
                        help="folders of stacks, stack folders or files (default: cdktf.out/"
                             "stacks, or plans/ with --framework terraform_plan)")
    parser.add_argument("--framework", choices=FRAMEWORKS, default="terraform_json")
    parser.add_argument("--suppressions", type=Path, default=DEFAULT_SUPPRESSIONS,
                        help="the reviewed exceptions (default: checkov/suppressions.toml)")
    parser.add_argument("--reports", type=Path, default=None,
                        help=f"folder for checkov's JSON/SARIF/JUnit reports (default: "
                             f"{DEFAULT_REPORTS.relative_to(ROOT)}/)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list per-stack counts and every suppressed finding")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    reports = args.reports or DEFAULT_REPORTS
    try:
        suppressions = load_suppressions(args.suppressions)
        files = discover(args.targets or [DEFAULT_TARGETS[args.framework]], args.framework)
        relevant = [s for s in suppressions if args.framework in s.frameworks]
        environments = (stack_environments(f.stack for f in files)
                        if needs_environments(relevant) else {})
        problems = precheck(files, args.framework)
        run = run_checkov(files, args.framework, reports)
    except GateError as exc:
        print(f"security gate: FAILED — {exc}", file=sys.stderr)
        return 1
    verdict = evaluate(run, files, suppressions, args.framework, problems, environments)
    write_summary(reports / "scan_summary.json", verdict, run)
    marked = annotate_sarif(reports / "results_sarif.sarif", verdict)
    print(render(verdict, run, args.framework, verbose=args.verbose, reports=reports))
    if marked < len(verdict.suppressed):
        print(f"warning: only {marked} of {len(verdict.suppressed)} suppressed findings could be "
              "marked in results_sarif.sarif: code scanning shows the others as open alerts",
              file=sys.stderr)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
