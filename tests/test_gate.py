"""The security gate (hrsaas/gate/checkov.py, `make scan`): checkov plus our suppression file.

checkov runs three times in this module (about 8 s each): the insecure fixture, the unparseable
fixture and the synthesized stacks. Suppression logic is then checked in-process against those
runs' JSON, so it costs no further checkov run.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from hrsaas.gate import checkov as scan
from hrsaas.toolenv import PYTHON, ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "gate"
SUPPRESSIONS = FIXTURES / "suppressions"
EMPTY = SUPPRESSIONS / "empty.toml"


def run_gate(*args: object) -> subprocess.CompletedProcess[str]:
    """The gate exactly as `make scan` runs it: a subprocess from the repository root."""
    return subprocess.run([str(PYTHON), "-m", "hrsaas.gate.checkov", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def load_run(reports: Path) -> scan.CheckovRun:
    return scan.parse_checkov_json(json.loads((reports / "results_json.json").read_text()))


def write_suppressions(path: Path, entries: list[dict]) -> Path:
    blocks = []
    for entry in entries:
        blocks.append("[[suppression]]\n" + "".join(
            f"{key} = {json.dumps(value)}\n" for key, value in entry.items()))
    path.write_text("\n".join(blocks))
    return path


@pytest.fixture(scope="module")
def insecure(tmp_path_factory: pytest.TempPathFactory):
    reports = tmp_path_factory.mktemp("reports-insecure")
    result = run_gate(FIXTURES / "insecure", "--suppressions", EMPTY, "--reports", reports)
    return result, reports


@pytest.fixture(scope="module")
def synthesized(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The gate over every environment's synthesized stacks, with checkov/suppressions.toml."""
    reports = tmp_path_factory.mktemp("reports-synth")
    result = run_gate(synth_dir / "stacks", "--reports", reports)
    return result, reports, synth_dir / "stacks"


# --- end to end ----------------------------------------------------------------------------


def test_insecure_stack_fails_and_names_the_failing_checks(insecure):
    result, reports = insecure
    text = output(result)
    assert result.returncode == 1, text
    assert "fixture-insecure aws_security_group.ssh-from-anywhere CKV_AWS_24" in text
    assert "fixture-insecure aws_s3_bucket.public-bucket CKV_AWS_20" in text
    assert "security gate: FAILED" in text
    for name in scan.REPORT_FILES:  # JSON, SARIF and JUnit for CI
        assert (reports / name).stat().st_size > 0, name
    summary = json.loads((reports / "scan_summary.json").read_text())
    assert not summary["ok"]
    sarif = json.loads((reports / "results_sarif.sarif").read_text())
    assert not any(r.get("suppressions") for run in sarif["runs"] for r in run["results"])
    assert {"CKV_AWS_24", "CKV_AWS_20"} <= {f["check_id"] for f in summary["failures"]}


def test_unparseable_files_fail_instead_of_passing_silently(tmp_path: Path):
    result = run_gate(FIXTURES / "unparseable", "--suppressions", EMPTY, "--reports", tmp_path)
    text = output(result)
    assert result.returncode == 1, text
    assert "checkov could not parse 2 file(s): broken-json, required-version" in text
    assert "broken-json:" in text and "is not valid JSON" in text
    assert "required-version:" in text and "terraform.required_version" in text
    assert "checkov ran zero checks" in text


def test_our_synthesized_stacks_pass_the_gate(synthesized):
    result, reports, stacks = synthesized
    text = output(result)
    assert result.returncode == 0, text
    assert "security gate: PASSED" in text
    summary = json.loads((reports / "scan_summary.json").read_text())
    assert summary["ok"] and not summary["failures"] and not summary["stale"]
    scanned = set(summary["stacks"])
    assert scanned == {p.parent.name for p in stacks.glob("*/cdk.tf.json")}
    assert {f"{env}-{layer}" for env in ("local", "mvp", "prod")
            for layer in ("bootstrap", "security", "network")} <= scanned
    assert sum(c["passed"] for c in summary["stacks"].values()) > 100
    assert all(s["reason"] for s in summary["suppressed"])
    # Code scanning gets the same verdict: every SARIF result is marked as suppressed.
    sarif = json.loads((reports / "results_sarif.sarif").read_text())
    results = [r for run in sarif["runs"] for r in run["results"]]
    assert len(results) == len(summary["suppressed"])
    assert all(r.get("suppressions", [{}])[0].get("justification") for r in results)


def test_synthesized_json_never_sets_required_version(synthesized):
    _, _, stacks = synthesized
    for path in stacks.glob("*/cdk.tf.json"):
        assert "required_version" not in json.loads(path.read_text()).get("terraform", {}), path


# --- suppression file -------------------------------------------------------------------


@pytest.mark.parametrize("fixture, messages", [
    ("no-reason.toml", ["entry #2 (CKV_AWS_20): `reason` is required",
                        "entry #3 (CKV_AWS_18): `reason` is required"]),
    ("malformed.toml", ["one exact checkov ID", "`stacks` must be a non-empty list",
                        "unknown keys ['reasons']"]),
])
def test_invalid_suppression_files_are_rejected_before_scanning(
        fixture: str, messages: list[str], tmp_path: Path, capsys: pytest.CaptureFixture):
    reports = tmp_path / "reports"
    code = scan.main([str(FIXTURES / "insecure"), "--suppressions", str(SUPPRESSIONS / fixture),
                      "--reports", str(reports)])
    text = capsys.readouterr().err
    assert code == 1
    assert "invalid suppression file" in text
    for message in messages:
        assert message in text
    assert not reports.exists(), "checkov must not run with an invalid suppression file"


def test_the_projects_suppression_file_is_valid():
    entries = scan.load_suppressions(scan.DEFAULT_SUPPRESSIONS)
    assert entries and all(len(e.reason) > 40 for e in entries)


def test_suppressions_apply_per_check_stack_and_resource_and_stale_ones_fail(
        insecure, tmp_path: Path):
    _, reports = insecure
    run = load_run(reports)
    files = scan.discover([FIXTURES / "insecure"], "terraform_json")
    assert run.failed
    # One entry per failing check, each naming its exact resource.
    exact = [{"check": r["check_id"], "stacks": ["fixture-insecure"],
              "resource": addr, "reason": "fixture: accepted for this test"}
             for r in run.failed
             for addr in [scan.AddressBook(files).address(files[0], r["resource"])]]
    out_of_scope = {"check": "CKV_AWS_18", "stacks": ["prod-*"], "resource": "*",
                    "reason": "names stacks this scan does not include: never stale here"}
    stale = {"check": "CKV_AWS_24", "stacks": ["fixture-*"],
             "resource": "aws_security_group.does-not-exist", "reason": "fixture: matches nothing"}

    clean = scan.load_suppressions(write_suppressions(tmp_path / "a.toml",
                                                      [*exact, out_of_scope]))
    verdict = scan.evaluate(run, files, clean, "terraform_json")
    assert verdict.ok, scan.render(verdict, run, "terraform_json")
    assert len(verdict.suppressed) == len(run.failed) and not verdict.failures

    with_stale = scan.load_suppressions(write_suppressions(tmp_path / "b.toml",
                                                           [*exact, out_of_scope, stale]))
    verdict = scan.evaluate(run, files, with_stale, "terraform_json")
    assert not verdict.ok and not verdict.failures
    assert [s.resource for s in verdict.stale] == ["aws_security_group.does-not-exist"]
    assert "STALE suppressions (1)" in scan.render(verdict, run, "terraform_json")

    # Wrong stack glob or wrong resource glob: the finding stays a failure.
    narrow = [dict(e, stacks=["other-*"]) if e["check"] == "CKV_AWS_24" else e for e in exact]
    narrow = [dict(e, resource="aws_s3_bucket.other") if e["check"] == "CKV_AWS_20" else e
              for e in narrow]
    verdict = scan.evaluate(run, files, scan.load_suppressions(
        write_suppressions(tmp_path / "c.toml", narrow)), "terraform_json")
    assert {f.check_id for f in verdict.failures} == {"CKV_AWS_24", "CKV_AWS_20"}
    assert [s.check for s in verdict.stale] == ["CKV_AWS_20"]  # CKV_AWS_24's is out of scope


def test_scanning_one_environment_does_not_flag_other_environments_entries(synthesized):
    """Entries are scoped to the stacks where their finding occurs, so `scan` of one env's
    stacks passes with the project's suppression file."""
    _, reports, stacks = synthesized
    run = load_run(reports)
    suppressions = scan.load_suppressions(scan.DEFAULT_SUPPRESSIONS)
    for env in ("local", "mvp", "prod"):
        files = scan.discover(sorted(stacks.glob(f"{env}-*")), "terraform_json")
        paths = {str(f.path) for f in files}

        def mine(records: list[dict], paths=paths) -> list[dict]:
            return [r for r in records if str((ROOT / r["file_abs_path"]).resolve()) in paths]

        subset = scan.CheckovRun(dict(run.summary), mine(run.passed), mine(run.failed), [], [],
                                 run.version, 0.0, [])
        subset.summary.update(passed=len(subset.passed), failed=len(subset.failed))
        verdict = scan.evaluate(subset, files, suppressions, "terraform_json")
        assert verdict.ok, scan.render(verdict, subset, "terraform_json")


# --- checkov output and failure modes ----------------------------------------------------


def test_checkov_json_may_be_a_list_a_report_or_a_bare_summary():
    report = {"check_type": "terraform_json",
              "results": {"passed_checks": [{"check_id": "A_1"}], "failed_checks": [],
                          "parsing_errors": ["/x.json"]},
              "summary": {"passed": 1, "failed": 0, "skipped": 0, "parsing_errors": 1,
                          "checkov_version": "3.3.30"}}
    assert scan.parse_checkov_json(report).summary["passed"] == 1
    both = scan.parse_checkov_json([report, report])
    assert both.summary["passed"] == 2 and both.summary["parsing_errors"] == 2
    assert len(both.passed) == 2 and both.parsing_errors == ["/x.json", "/x.json"]
    bare = scan.parse_checkov_json({"passed": 0, "failed": 0, "skipped": 0,
                                    "parsing_errors": 0, "checkov_version": "3.3.30"})
    assert bare.summary["passed"] + bare.summary["failed"] == 0
    with pytest.raises(scan.GateError):
        scan.parse_checkov_json({"unexpected": True})


@pytest.mark.parametrize("script, message", [
    ("echo 'Traceback: boom' >&2; exit 2", "checkov exited with code 2"),
    ("exit 0", "checkov wrote no readable JSON result"),
])
def test_checkov_crash_or_missing_output_fails_the_gate(
        script: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture):
    fake = tmp_path / "checkov"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    monkeypatch.setattr(scan, "CHECKOV", fake)
    code = scan.main([str(FIXTURES / "insecure"), "--suppressions", str(EMPTY),
                      "--reports", str(tmp_path / "reports")])
    assert code == 1
    assert message in capsys.readouterr().err


def test_nothing_to_scan_fails(tmp_path: Path, capsys: pytest.CaptureFixture):
    code = scan.main([str(tmp_path), "--suppressions", str(EMPTY),
                      "--reports", str(tmp_path / "reports")])
    assert code == 1
    assert "nothing to scan" in capsys.readouterr().err
