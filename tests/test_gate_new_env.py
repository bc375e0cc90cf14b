"""A new environment passes the security gate without suppression edits: its stacks get mvp's
verdict layer by layer, because suppression entries select stacks by the environment's settings,
not its name (checkov/suppressions.toml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrsaas.gate import checkov as scan
from hrsaas.topology import LAYERS
from tests.gate_support import load_run, output, run_gate


@pytest.mark.timeout(900)  # one checkov run over 30 stacks, after the run's second synthesis
def test_a_new_environment_passes_the_gate_without_suppression_edits(variant_synth, tmp_path):
    """staging (tests/conftest.py ``VARIANTS``: the MVP shape in its own account) is scanned
    beside mvp in one checkov run, with its envs/ folder: both pass, and every staging stack's
    counts equal its mvp counterpart's."""
    stacks = Path(variant_synth["out"]) / "stacks"
    targets = sorted(p for p in stacks.iterdir() if p.name.startswith(("mvp-", "staging-")))
    reports = tmp_path / "reports"
    extra = {"HRSAAS_ENVS_DIR": variant_synth["HRSAAS_ENVS_DIR"]}
    result = run_gate(*targets, "--reports", reports, env=extra)
    assert result.returncode == 0, output(result)
    assert output(result).startswith("security gate: PASSED\n")
    summary = json.loads((reports / "scan_summary.json").read_text())
    assert summary["ok"] and summary["totals"]["suppressed"] > 100
    staging = {s: c for s, c in summary["stacks"].items() if s.startswith("staging-")}
    assert len(staging) == len(LAYERS) and len(summary["stacks"]) == 2 * len(LAYERS)
    for stack, counts in staging.items():
        assert counts["passed"] > 0, stack
        assert counts == summary["stacks"][stack.replace("staging-", "mvp-", 1)], stack
    sarif = json.loads((reports / "results_sarif.sarif").read_text())
    assert all(r["suppressions"][0]["justification"]
               for run in sarif["runs"] for r in run["results"])
    # Without its envs/ folder the gate cannot tell what staging is: it fails and says why.
    files = scan.discover([p for p in targets if p.name.startswith("staging-")],
                          "terraform_json")
    verdict = scan.evaluate(load_run(reports), files,
                            scan.load_suppressions(scan.DEFAULT_SUPPRESSIONS), "terraform_json",
                            environments=scan.stack_environments([f.stack for f in files]))
    assert not verdict.ok
    assert any("no environment 'staging'" in p for p in verdict.problems), verdict.problems
