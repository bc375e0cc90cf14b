"""The security gate (hrsaas/gate/checkov.py, `hrsaas scan`) on fixtures: what fails and how it
says so, the suppression file, checkov's output and failure modes, SARIF, conditions.

checkov runs twice in this module (about 8 s each): the insecure fixture and the unparseable
fixture. Suppression logic is then checked in-process against the insecure run's JSON.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from hrsaas.gate import checkov as scan
from tests.entry import invoke
from tests.gate_support import (
    EMPTY,
    FIXTURES,
    SUPPRESSIONS,
    load_run,
    output,
    run_gate,
    write_suppressions,
)


@pytest.fixture(scope="module")
def insecure(tmp_path_factory: pytest.TempPathFactory):
    reports = tmp_path_factory.mktemp("reports-insecure")
    result = run_gate(FIXTURES / "insecure", "--suppressions", EMPTY, "--reports", reports)
    return result, reports



# --- end to end ----------------------------------------------------------------------------


def test_insecure_stack_fails_and_names_the_failing_checks(insecure):
    result, reports = insecure
    text = output(result)
    assert result.returncode == 1, text
    assert text.startswith("security gate: FAILED — 10 unsuppressed failures\n"), text
    assert "terraform_json (checkov 3." in text.splitlines()[1]
    assert "10 failed unsuppressed, 0 suppressed" in text.splitlines()[1]
    assert "fixture-insecure aws_security_group.ssh-from-anywhere CKV_AWS_24" in text
    assert "fixture-insecure aws_s3_bucket.public-bucket CKV_AWS_20" in text
    assert "checked: ingress/[0]/from_port" in text  # the fix hint when checkov has no guideline
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


# --- suppression file -------------------------------------------------------------------


@pytest.mark.parametrize("fixture, messages", [
    ("no-reason.toml", ["entry #2 (CKV_AWS_20): `reason` is required",
                        "entry #3 (CKV_AWS_18): `reason` is required"]),
    ("malformed.toml", ["one exact checkov ID", "`stacks` must be a non-empty list",
                        "unknown keys ['reasons']"]),
    ("bad-conditions.toml", [
        "entry #1 (CKV_AWS_24): `when`: 'capabilities.customer_managed_key == false': unknown "
        "environment setting `capabilities.customer_managed_key` (known here: "
        "customer_managed_keys,",
        "capabilities.multi_az is bool, so it is never \"false\"",
        "select stacks by what the environment is, not by its name",
        "edge.waf is bool, not a number",
        "'capabilities.multi_az = false' is not `<setting> <op> <value>`",
        "`capabilities` is a table: name one of its settings",
        "entry #7 (CKV_AWS_24): `when` must be a condition string or a list of them"]),
])
def test_invalid_suppression_files_are_rejected_before_scanning(
        fixture: str, messages: list[str], tmp_path: Path, capsys: pytest.CaptureFixture):
    reports = tmp_path / "reports"
    code = invoke("scan", str(FIXTURES / "insecure"), "--suppressions", str(SUPPRESSIONS / fixture),
                      "--reports", str(reports))
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
    code = invoke("scan", str(FIXTURES / "insecure"), "--suppressions", str(EMPTY),
                      "--reports", str(tmp_path / "reports"))
    assert code == 1
    assert message in capsys.readouterr().err


def test_nothing_to_scan_fails(tmp_path: Path, capsys: pytest.CaptureFixture):
    code = invoke("scan", str(tmp_path), "--suppressions", str(EMPTY),
                      "--reports", str(tmp_path / "reports"))
    assert code == 1
    assert "nothing to scan" in capsys.readouterr().err


def test_a_failure_shows_checkovs_guideline_when_it_has_one():
    finding = scan.Finding("CKV_AWS_1", "Ensure X", "mvp-data", "aws_db_instance.db",
                           guideline="https://docs.example/ckv-aws-1", attributes=("kms_key_id",))
    verdict = scan.Verdict({"mvp-data": scan.StackCounts(failed=1)}, [finding], [], [], [])
    text = scan.render(verdict, None)
    assert text.splitlines()[0] == "security gate: FAILED — 1 unsuppressed failure"
    assert ("  mvp-data aws_db_instance.db CKV_AWS_1 Ensure X\n"
            "      guideline: https://docs.example/ckv-aws-1") in text



# --- SARIF: code scanning shows the gate's verdict ----------------------------------------


def _sarif_result(rule: str, uri: str, line: int) -> dict:
    return {"ruleId": rule, "locations": [{"physicalLocation": {
        "artifactLocation": {"uri": uri}, "region": {"startLine": line, "endLine": line + 9}}}]}


@pytest.mark.parametrize("form", [
    "relative to a common parent", "absolute", "absolute without the leading slash",
    "file URI", "relative with ..",
])
def test_suppressed_sarif_results_get_their_justification_whatever_the_uri_form(
        form: str, tmp_path: Path):
    """checkov writes SARIF URIs relative to the common parent of its working directory and
    the scanned files: `tmp/…/stacks/x/cdk.tf.json` from /work/main, `pytest-…/stacks/x/…`
    from a clone under /tmp. Every form must map back to the scanned file."""
    files = {}
    for stack in ("mvp-network", "prod-network"):
        path = tmp_path / "clone" / "cdktf.out" / "stacks" / stack / "cdk.tf.json"
        path.parent.mkdir(parents=True)
        path.write_text("{}")
        files[stack] = path.resolve()

    def uri(stack: str) -> str:
        path = files[stack]
        return {
            "relative to a common parent": str(path.relative_to(tmp_path.resolve())),
            "absolute": str(path),
            "absolute without the leading slash": str(path).lstrip("/"),
            "file URI": path.as_uri(),
            "relative with ..": "../" + str(path.relative_to(tmp_path.resolve().parent)),
        }[form]

    attached = scan.Suppression(1, "CKV2_AWS_5", ("*-network",), "*", "attached elsewhere")
    redirect = scan.Suppression(2, "CKV_AWS_260", ("*-network",), "*", "80 only redirects")
    finding = scan.Finding("CKV2_AWS_5", "attached", "mvp-network", "aws_security_group.a",
                           str(files["mvp-network"]), 10)
    rule = scan.Finding("CKV_AWS_260", "port 80", "mvp-network",
                        "aws_vpc_security_group_ingress_rule.b", str(files["mvp-network"]), 40)
    # The same rule on the same line of another stack's file is an unsuppressed failure.
    failure = dataclasses.replace(finding, stack="prod-network", file=str(files["prod-network"]))
    verdict = scan.Verdict({}, [failure], [(finding, attached), (rule, redirect)], [], [])
    sarif = tmp_path / "results_sarif.sarif"
    sarif.write_text(json.dumps({"runs": [{"results": [
        _sarif_result("CKV2_AWS_5", uri("mvp-network"), 10),
        _sarif_result("CKV_AWS_260", uri("mvp-network"), 40),
        _sarif_result("CKV2_AWS_5", uri("prod-network"), 10),
    ]}]}))
    assert scan.annotate_sarif(sarif, verdict) == 2
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert [r.get("suppressions", [{}])[0].get("justification") for r in results] == [
        "attached elsewhere", "80 only redirects", None]
    assert results[0]["suppressions"][0]["kind"] == "external"


def test_a_path_maps_only_to_the_one_scanned_file_it_names(tmp_path: Path):
    mvp = tmp_path / "stacks" / "mvp-data" / "cdk.tf.json"
    prod = tmp_path / "stacks" / "prod-data" / "cdk.tf.json"
    index = scan.PathIndex([mvp, prod])
    assert index.find(str(mvp)) == mvp
    assert index.find("stacks/mvp-data/cdk.tf.json") == mvp
    assert index.find("/../elsewhere/prod-data/cdk.tf.json") == prod
    assert index.find("cdk.tf.json") is None  # both end so: ambiguous
    assert index.find("stacks/staging-data/cdk.tf.json") is None
    assert index.find("") is None


# --- suppressions select stacks by what their environment is -------------------------------


def _entry(*when: str, stacks: tuple[str, ...] = ("*-network",)) -> scan.Suppression:
    conditions = []
    for text in when:
        condition, error = scan.parse_condition(text)
        assert condition and not error, error
        conditions.append(condition)
    return scan.Suppression(1, "CKV_AWS_1", stacks, "*", "test", when=tuple(conditions))


def test_conditions_select_stacks_by_the_settings_of_their_environment():
    stacks = [f"{env}-{layer}" for env in ("local", "mvp", "prod")
              for layer in ("network", "backup")] + ["fixture-network"]
    environments = scan.stack_environments(stacks)
    assert environments["fixture-network"] is None and environments["prod-network"].name == "prod"

    def selected(entry: scan.Suppression) -> list[str]:
        return sorted(s for s in stacks if entry.selects(s, environments))

    assert selected(_entry()) == ["fixture-network", "local-network", "mvp-network",
                                  "prod-network"]
    assert selected(_entry("capabilities.customer_managed_keys == false")) == [
        "local-network", "mvp-network"]
    assert selected(_entry("capabilities.customer_managed_keys != false")) == ["prod-network"]
    assert selected(_entry("is_emulated == true")) == ["local-network"]
    assert selected(_entry("network.flow_logs_retention_days < 365")) == [
        "local-network", "mvp-network"]
    assert selected(_entry("network.flow_logs_retention_days <= 7")) == ["local-network"]
    assert selected(_entry("backup.copy_region != null", stacks=("*-backup",))) == [
        "prod-backup"]
    assert selected(_entry("capabilities.multi_az == false",
                           "capabilities.deletion_protection == false")) == ["local-network"]
    assert selected(_entry("region == \"ap-northeast-2\"")) == [
        "local-network", "mvp-network", "prod-network"]


def test_the_projects_suppression_file_names_no_environment():
    """Entries select layers by glob and environments by their settings (SPEC §1: code
    branches on capabilities, never on an env name) — so a new env file needs no edits."""
    text = scan.DEFAULT_SUPPRESSIONS.read_text()
    for entry in scan.load_suppressions(scan.DEFAULT_SUPPRESSIONS):
        assert all(glob.startswith("*-") for glob in entry.stacks), entry.describe()
    for env in ("local", "mvp", "prod"):
        assert f'"{env}-' not in text


def test_conditions_decide_suppression_staleness_and_unknown_environments(
        insecure, tmp_path: Path):
    _, reports = insecure
    run = load_run(reports)
    files = scan.discover([FIXTURES / "insecure"], "terraform_json")
    envs = scan.stack_environments(["mvp-x", "prod-x"])
    failing = sorted({r["check_id"] for r in run.failed})
    base = {"stacks": ["fixture-*"], "resource": "*", "reason": "fixture: accepted for this test"}
    aws_managed = [{"check": c, **base, "when": "capabilities.customer_managed_keys == false"}
                   for c in failing]
    stale = {**base, "check": "CKV_AWS_24", "resource": "aws_security_group.does-not-exist",
             "when": ["capabilities.customer_managed_keys == false", "is_emulated == false"]}

    def verdict(entries: list[dict], env: object) -> scan.Verdict:
        suppressions = scan.load_suppressions(write_suppressions(tmp_path / "s.toml", entries))
        return scan.evaluate(run, files, suppressions, "terraform_json",
                             environments={"fixture-insecure": env})

    as_mvp = verdict([*aws_managed, stale], envs["mvp-x"])
    assert not as_mvp.failures and len(as_mvp.suppressed) == len(run.failed)
    assert [s.resource for s in as_mvp.stale] == ["aws_security_group.does-not-exist"]
    as_prod = verdict([*aws_managed, stale], envs["prod-x"])
    assert {f.check_id for f in as_prod.failures} == set(failing)
    assert not as_prod.stale and not as_prod.problems  # entries that select nothing: not stale
    # A stack whose environment the gate cannot find fails the gate, with the reason.
    unknown = verdict(aws_managed, None)
    assert not unknown.ok and unknown.failures
    assert len(unknown.problems) == 1
    assert "no environment 'fixture'" in unknown.problems[0]
    assert "HRSAAS_ENVS_DIR" in unknown.problems[0]

