"""Security gate: checkov over every synthesized stack, with our own suppression file.

    python -m hrsaas.gate.checkov cdktf.out/stacks                       # what `make scan` runs
    python -m hrsaas.gate.checkov cdktf.out/stacks/prod-network          # one stack
    python -m hrsaas.gate.checkov plans/prod --framework terraform_plan  # `terraform show -json` output

One checkov process scans every stack file (``-f`` per file, so exactly the files listed here
are scanned) and writes JSON, SARIF and JUnit XML into the reports folder; the gate reads the
JSON and applies checkov/suppressions.toml. It fails (exit 1) on:

* any failed check that no suppression entry matches;
* a malformed suppression file, an entry without a reason, or a stale entry (one that matched
  nothing although the scan covered stacks its ``stacks`` globs name — judged on synthesized
  stacks only: a plan holds what changes and the values in state, so an entry for a resource a
  plan leaves out is not stale; entries with ``frameworks = ["terraform_plan"]`` apply to plans
  only);
* checkov parsing errors, zero checks run in total, or a stack that declares resources but got
  no checks at all (checkov 3.3.x skips files it cannot parse and still exits 0);
* ``terraform.required_version`` in a synthesized file (the cause of that silent pass);
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
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from ..toolenv import CHECKOV, ROOT

FRAMEWORKS = ("terraform_json", "terraform_plan")
DEFAULT_SUPPRESSIONS = ROOT / "checkov" / "suppressions.toml"
DEFAULT_REPORTS = ROOT / "reports"
REPORT_FILES = ("results_json.json", "results_sarif.sarif", "results_junitxml.xml")
CHECKOV_TIMEOUT = 900  # seconds
CHECK_ID = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*_\d+$")  # CKV_AWS_18, CKV2_AWS_5
SUPPRESSION_KEYS = {"check", "stacks", "resource", "reason", "frameworks"}


class GateError(Exception):
    """A problem that stops the gate before any result can be trusted."""


# --- suppressions -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Suppression:
    index: int  # 1-based position in the file, for messages
    check: str
    stacks: tuple[str, ...]
    resource: str
    reason: str
    frameworks: tuple[str, ...] = FRAMEWORKS

    def matches(self, finding: Finding, framework: str = "terraform_json") -> bool:
        return (framework in self.frameworks and finding.check_id == self.check
                and any(fnmatchcase(finding.stack, glob) for glob in self.stacks)
                and fnmatchcase(finding.resource, self.resource))

    def applies_to_any(self, stacks: Iterable[str]) -> bool:
        return any(fnmatchcase(s, glob) for s in stacks for glob in self.stacks)

    def describe(self) -> str:
        return (f"#{self.index} check={self.check} stacks={list(self.stacks)} "
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
        if not isinstance(check, str) or not CHECK_ID.match(check):
            errors.append(f"`check` must be one exact checkov ID like CKV_AWS_18, got {check!r}")
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
        frameworks = entry.get("frameworks", list(FRAMEWORKS))
        if (not isinstance(frameworks, list) or not frameworks
                or not set(frameworks) <= set(FRAMEWORKS)):
            errors.append(f"`frameworks` must be a non-empty list of {list(FRAMEWORKS)}, "
                          f"got {frameworks!r}")
        if errors:
            problems += [f"{where}: {e}" for e in errors]
            continue
        result.append(Suppression(index, check, tuple(stacks), resource,
                                  " ".join(reason.split()), tuple(frameworks)))
    seen: dict[tuple, int] = {}
    for s in result:
        key = (s.check, tuple(sorted(s.stacks)), s.resource)
        if key in seen:
            problems.append(f"entry #{s.index} duplicates entry #{seen[key]}")
        seen.setdefault(key, s.index)
    if problems:
        raise GateError(f"invalid suppression file {path}:\n"
                        + "\n".join(f"  - {p}" for p in problems))
    return result


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


def checkov_command(files: Sequence[StackFile], framework: str, reports: Path) -> list[str]:
    command = [str(CHECKOV)]
    for f in files:
        command += ["-f", str(f.path)]
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
    line: int = 0  # first line of the block in that file


class AddressBook:
    """Maps checkov's resource IDs to Terraform addresses. For terraform_json its Python checks
    report ``resource.<name>`` / ``data.<name>`` without the type; the stack's JSON has it."""

    def __init__(self, files: Sequence[StackFile]):
        self.by_path = {f.path: f for f in files}
        self._types: dict[tuple[Path, str, str], list[str]] = {}
        for f in files:
            for block in ("resource", "data"):
                for kind, items in ((f.document or {}).get(block) or {}).items():
                    for name in items if isinstance(items, dict) else ():
                        self._types.setdefault((f.path, block, name), []).append(kind)

    def stack_file(self, record: dict) -> StackFile | None:
        for key in ("file_abs_path", "file_path", "repo_file_path"):
            value = record.get(key)
            if not value:
                continue
            path = Path(value)
            path = (path if path.is_absolute() else ROOT / path).resolve()
            if path in self.by_path:
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

    @property
    def ok(self) -> bool:
        return not (self.failures or self.stale or self.problems)


def evaluate(run: CheckovRun, files: Sequence[StackFile], suppressions: Sequence[Suppression],
             framework: str, problems: Sequence[str] = ()) -> Verdict:
    book = AddressBook(files)
    verdict = Verdict({f.stack: StackCounts() for f in files}, [], [], [], list(problems))

    def locate(record: dict) -> tuple[str, str]:
        stack_file = book.stack_file(record)
        stack = stack_file.stack if stack_file else f"?{record.get('file_path')}"
        verdict.counts.setdefault(stack, StackCounts())
        return stack, book.address(stack_file, str(record.get("resource", "?")))

    for record in run.passed:
        verdict.counts[locate(record)[0]].passed += 1
    for record in run.skipped:
        verdict.counts[locate(record)[0]].skipped += 1
    used: set[int] = set()
    for record in run.failed:
        stack, address = locate(record)
        stack_file = book.stack_file(record)
        lines = record.get("file_line_range") or [0]
        finding = Finding(str(record.get("check_id")), str(record.get("check_name", "")),
                          stack, address, str(stack_file.path) if stack_file else "",
                          int(lines[0] or 0))
        matched = [s for s in suppressions if s.matches(finding, framework)]
        used.update(s.index for s in matched)
        if matched:
            verdict.counts[stack].suppressed += 1
            verdict.suppressed.append((finding, matched[0]))
        else:
            verdict.counts[stack].failed += 1
            verdict.failures.append(finding)

    stacks = [f.stack for f in files]
    # Staleness is judged on the synthesized stacks, which hold every resource. A plan holds
    # what changes and the values in state, so an entry can rightly match nothing there.
    if framework == "terraform_json":
        verdict.stale = [s for s in suppressions
                         if s.index not in used and "terraform_json" in s.frameworks
                         and s.applies_to_any(stacks)]
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


def headline(reason: str, limit: int = 110) -> str:
    """The reason's first sentence, for one console line (the file has the whole reason)."""
    match = re.match(r"(.+?[.;])(\s|$)", reason)
    text = match.group(1) if match else reason
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render(verdict: Verdict, run: CheckovRun | None, framework: str) -> str:
    lines = []
    if run is not None:
        lines.append(f"checkov {run.version} ({framework}): {len(verdict.counts)} stack(s) "
                     f"in {run.seconds:.1f} s")
        width = max([len("stack"), *map(len, verdict.counts)])
        lines.append(f"  {'stack':<{width}}  passed  failed  suppressed")
        total = StackCounts()
        for stack in sorted(verdict.counts):
            c = verdict.counts[stack]
            lines.append(f"  {stack:<{width}}  {c.passed:>6}  {c.failed:>6}  {c.suppressed:>10}")
            total.passed += c.passed
            total.failed += c.failed
            total.suppressed += c.suppressed
        lines.append(f"  {'total':<{width}}  {total.passed:>6}  {total.failed:>6}  "
                     f"{total.suppressed:>10}")
    if verdict.suppressed:
        lines.append(f"\nSuppressed ({len(verdict.suppressed)}), checkov/suppressions.toml:")
        for finding, entry in verdict.suppressed:
            lines.append(f"  {finding.stack} {finding.resource} {finding.check_id} "
                         f"[#{entry.index}] {headline(entry.reason)}")
    if verdict.failures:
        lines.append(f"\nFAILED checks ({len(verdict.failures)}): fix the construct, or add a "
                     "suppression with a reason if it is a justified exception")
        for finding in verdict.failures:
            lines.append(f"  {finding.stack} {finding.resource} {finding.check_id} "
                         f"{finding.check_name}")
    if verdict.stale:
        lines.append(f"\nSTALE suppressions ({len(verdict.stale)}): they matched no finding in "
                     "the scanned stacks — delete or narrow them")
        lines += [f"  {s.describe()}" for s in verdict.stale]
    if verdict.problems:
        lines.append("\nGATE PROBLEMS:")
        lines += [f"  - {p}" for p in verdict.problems]
    if verdict.ok:
        lines.append("\nsecurity gate: PASSED")
    else:
        parts = [f"{len(verdict.failures)} unsuppressed failure(s)" if verdict.failures else "",
                 f"{len(verdict.stale)} stale suppression(s)" if verdict.stale else "",
                 f"{len(verdict.problems)} problem(s)" if verdict.problems else ""]
        lines.append("\nsecurity gate: FAILED — " + ", ".join(p for p in parts if p))
    return "\n".join(lines)


def write_summary(path: Path, verdict: Verdict, run: CheckovRun) -> None:
    """reports/scan_summary.json: the gate's verdict (checkov's own reports keep every failure,
    suppressed or not)."""
    path.write_text(json.dumps({
        "ok": verdict.ok,
        "checkov_version": run.version,
        "stacks": {k: dataclasses.asdict(v) for k, v in sorted(verdict.counts.items())},
        "failures": [dataclasses.asdict(f) for f in verdict.failures],
        "suppressed": [{**dataclasses.asdict(f), "reason": s.reason}
                       for f, s in verdict.suppressed],
        "stale": [s.describe() for s in verdict.stale],
        "problems": verdict.problems,
    }, indent=2) + "\n")


def annotate_sarif(path: Path, verdict: Verdict) -> int:
    """Mark suppressed results in checkov's SARIF as externally suppressed, with the reason, so
    code scanning shows the same verdict as the gate. Returns how many were marked."""
    if not path.is_file():
        return 0
    sarif = json.loads(path.read_text())
    reasons = {(f.check_id, f.file, f.line): s.reason for f, s in verdict.suppressed}
    marked = 0
    for run in sarif.get("runs", []):
        for result in run.get("results", []):
            for location in result.get("locations", [])[:1]:
                physical = location.get("physicalLocation", {})
                uri = physical.get("artifactLocation", {}).get("uri", "")
                line = physical.get("region", {}).get("startLine", 0)
                for candidate in (ROOT / uri, Path("/") / uri):  # checkov drops the leading /
                    reason = reasons.get((result.get("ruleId"), str(candidate.resolve()), line))
                    if reason:
                        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                                   "justification": reason}]
                        marked += 1
                        break
    path.write_text(json.dumps(sarif, indent=2) + "\n")
    return marked


# --- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hrsaas.gate.checkov", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="+", type=Path,
                        help="folder of stacks (cdktf.out/stacks), one stack folder or a file")
    parser.add_argument("--framework", choices=FRAMEWORKS, default="terraform_json")
    parser.add_argument("--suppressions", type=Path, default=DEFAULT_SUPPRESSIONS)
    parser.add_argument("--reports", type=Path, default=None,
                        help=f"folder for checkov's JSON/SARIF/JUnit reports (default: "
                             f"{DEFAULT_REPORTS.relative_to(ROOT)}/)")
    args = parser.parse_args(argv)
    try:
        suppressions = load_suppressions(args.suppressions)
        files = discover(args.targets, args.framework)
        problems = precheck(files, args.framework)
        reports = args.reports or DEFAULT_REPORTS
        run = run_checkov(files, args.framework, reports)
    except GateError as exc:
        print(f"security gate: FAILED — {exc}", file=sys.stderr)
        return 1
    verdict = evaluate(run, files, suppressions, args.framework, problems)
    write_summary(reports / "scan_summary.json", verdict, run)
    annotate_sarif(reports / "results_sarif.sarif", verdict)
    print(render(verdict, run, args.framework))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
