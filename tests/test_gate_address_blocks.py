"""The gate on a stack with `moved`, `removed` and `import` blocks (bootstrap's `removed` block,
hrsaas/layers/bootstrap.py): checkov 3.3.x cannot parse any of them and would skip the whole
file, so the gate scans a copy without them and names the findings by the stack itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.gate_support import EMPTY, FIXTURES, output, run_gate

ADDRESS_BLOCKS = {
    "moved": [{"from": "aws_s3_bucket.old-name", "to": "aws_s3_bucket.public-bucket"}],
    "removed": [{"from": "aws_s3_bucket.handed-over", "lifecycle": {"destroy": False}}],
    "import": [{"to": "aws_security_group.ssh-from-anywhere", "id": "sg-0123456789abcdef0"}],
}


def test_a_stack_with_address_blocks_is_scanned_whole(tmp_path: Path):
    stacks = tmp_path / "stacks"
    shutil.copytree(FIXTURES / "insecure", stacks)
    stack = stacks / "fixture-insecure" / "cdk.tf.json"
    document = json.loads(stack.read_text())
    # Before the resources, as cdktf sorts them: every finding's line moves in the copy.
    document = {"//": document["//"], **ADDRESS_BLOCKS,
                **{k: v for k, v in document.items() if k != "//"}}
    stack.write_text(json.dumps(document, indent=2))
    written = stack.read_text()
    reports = tmp_path / "reports"

    result = run_gate(stacks, "--suppressions", EMPTY, "--reports", reports)

    text = output(result)
    assert result.returncode == 1, text
    # The same ten findings as the fixture without the blocks (tests/test_gate_fixtures.py),
    # no parsing error, no stack without checks.
    assert text.startswith("security gate: FAILED — 10 unsuppressed failures\n"), text
    assert "GATE PROBLEMS" not in text, text
    assert "fixture-insecure aws_s3_bucket.public-bucket CKV_AWS_20" in text
    summary = json.loads((reports / "scan_summary.json").read_text())
    assert {f["file"] for f in summary["failures"]} == {str(stack.resolve())}
    assert stack.read_text() == written  # Terraform still gets the blocks
    copy = json.loads((reports / "checkov-input" / "fixture-insecure" / "cdk.tf.json")
                      .read_text())
    assert not set(ADDRESS_BLOCKS) & set(copy)
    assert copy["resource"] == document["resource"]
