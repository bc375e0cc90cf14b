"""The security gate (hrsaas/gate/checkov.py, `hrsaas scan`, `make scan`) over the synthesized
stacks of every environment: one checkov run, shared by this module's tests.

The gate's own behaviour on fixtures is tests/test_gate_fixtures.py; a new environment's
verdict, tests/test_gate_new_env.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrsaas.gate import checkov as scan
from tests.gate_support import (
    load_run,
    output,
    run_gate,
)


@pytest.fixture(scope="module")
def synthesized(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The gate over every environment's synthesized stacks, with checkov/suppressions.toml."""
    reports = tmp_path_factory.mktemp("reports-synth")
    result = run_gate(synth_dir / "stacks", "--reports", reports)
    return result, reports, synth_dir / "stacks"



def test_our_synthesized_stacks_pass_the_gate(synthesized):
    result, reports, stacks = synthesized
    text = output(result)
    assert result.returncode == 0, text
    verdict, counts = text.splitlines()[:2]
    assert verdict == "security gate: PASSED"  # the verdict first, then the counts
    assert "checks run:" in counts and "0 failed unsuppressed" in counts
    assert "(--verbose lists them with their reasons)" in text
    assert "[#1]" not in text, "suppressed findings are listed with --verbose only"
    assert "warning" not in text
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



def test_scanning_one_environment_does_not_flag_other_environments_entries(synthesized):
    """Entries are scoped to the stacks where their finding occurs, so `scan` of one env's
    stacks passes with the project's suppression file."""
    _, reports, stacks = synthesized
    run = load_run(reports)
    suppressions = scan.load_suppressions(scan.DEFAULT_SUPPRESSIONS)
    for env in ("local", "mvp", "prod"):
        files = scan.discover(sorted(stacks.glob(f"{env}-*")), "terraform_json")
        # The gate's own mapping: a stack with address blocks is scanned as a copy
        # (scan.checkov_input), whose records name the copy.
        book = scan.AddressBook(files)

        def mine(records: list[dict], book=book) -> list[dict]:
            return [r for r in records if book.stack_file(r) is not None]

        subset = scan.CheckovRun(dict(run.summary), mine(run.passed), mine(run.failed), [], [],
                                 run.version, 0.0, [])
        subset.summary.update(passed=len(subset.passed), failed=len(subset.failed))
        verdict = scan.evaluate(subset, files, suppressions, "terraform_json")
        assert verdict.ok, scan.render(verdict, subset, "terraform_json")


def test_verbose_adds_per_stack_counts_and_every_suppressed_finding(synthesized):
    _, reports, stacks = synthesized
    run = load_run(reports)
    files = scan.discover([stacks], "terraform_json")
    verdict = scan.evaluate(run, files, scan.load_suppressions(scan.DEFAULT_SUPPRESSIONS),
                            "terraform_json")
    short, full = scan.render(verdict, run), scan.render(verdict, run, verbose=True)
    assert short.splitlines()[0] == full.splitlines()[0] == "security gate: PASSED"
    assert "Suppressed (" not in short and "Per stack:" not in short
    assert f"Suppressed ({len(verdict.suppressed)})" in full
    assert "prod-network" in full.split("Per stack:")[1]

