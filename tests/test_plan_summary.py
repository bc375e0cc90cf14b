"""The pull-request plan summary (hrsaas/review/summary.py) over real plans.

Everything it reads is written by terraform against a moto server of this module, through
``Runner.plan`` (what ``make plan`` runs), so in its layout: ``plans/<env>/<stack>.{tfplan,json,
txt,meta}``, and ``<stack>.error.txt`` when the plan failed. local-bootstrap and local-messaging
are applied; then the plans, in the order the manifest runs them:

* local-bootstrap: applied and unchanged, "No changes.";
* local-security: never applied, only adds;
* local-data: never applied and its upstream layers neither: a speculative plan;
* local-messaging: a copy of the applied stack, changed so that its plan replaces a queue (a new
  ``name`` forces it), destroys a subscription (removed from the configuration), changes a
  queue in place and adds one (whose tag holds a Markdown fence);
* local-registry: a copy with an invalid queue name, so its plan fails for real.

Expectations are computed from each real plan JSON independently of the script, and checked
against Terraform's own "Plan: …" line. Only the checkov verdict is written by the test.

The stacks this module applied also prove that the cdktf CLI path sees what ``make deploy``
applied (the last test; it ran in tests/test_roundtrip.py, the suite's longest file).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from hrsaas.cost.estimate import render_cost_section
from hrsaas.review.summary import MARKER, StackPlan, load_plans, render
from hrsaas.runner.stacks import Runner, StackFailed
from hrsaas.toolenv import PYTHON, ROOT, tool_env
from tests.own_emulator import own_emulator

# Each test (with the module's set-up on the first one: about 5 minutes) is bounded.
pytestmark = [pytest.mark.emulator, pytest.mark.timeout(900)]

ENV = "local"
APPLIED = ("local-bootstrap", "local-messaging")
MESSAGING = "local-messaging"
SPECULATIVE = "local-data"  # reads network and security, neither applied
FAILED = "local-registry"
PLANNED = ("local-bootstrap", "local-security", SPECULATIVE, MESSAGING, FAILED)  # run order
FENCE_TAG = "```not a fence```"
BAD_QUEUE = "not a valid queue name!"


@dataclass
class Plans:
    """The plans folder this module's terraform wrote, and what the mutation targets."""

    root: Path  # plans/ (one folder per environment)
    outdir: Path  # the full synthesized cdktf.out: its manifest orders the stacks
    replaced: str  # address whose new name forces a replacement
    destroyed: str  # address removed from the configuration
    changed: str  # address changed in place
    added: str  # address that is new
    scan: dict

    @property
    def folder(self) -> Path:
        return self.root / ENV

    def shown(self, stack: str) -> dict:
        return json.loads((self.folder / f"{stack}.json").read_text())

    def text(self, stack: str) -> str:
        return (self.folder / f"{stack}.txt").read_text()

    def error(self, stack: str) -> str:
        return (self.folder / f"{stack}.error.txt").read_text().strip()


def mutate_messaging(stack_json: Path) -> dict[str, str]:
    """Change the copied messaging stack; return the addresses of each kind of change."""
    doc = json.loads(stack_json.read_text())
    queues = doc["resource"]["aws_sqs_queue"]
    by_name = {body["name"]: rid for rid, body in queues.items()}
    dlq, queue = by_name["attendance-service-dlq"], by_name["employee-service-queue"]
    queues[dlq]["name"] = "attendance-service-dlq-v2"  # ForceNew: replace
    queues[queue]["visibility_timeout_seconds"] += 30  # in place
    queues["plan_summary_probe"] = {"name": "plan-summary-probe",
                                    "sqs_managed_sse_enabled": True,
                                    "tags": {"Note": FENCE_TAG}}
    subscriptions = doc["resource"]["aws_sns_topic_subscription"]
    gone = sorted(subscriptions)[0]
    del subscriptions[gone]
    assert f"aws_sns_topic_subscription.{gone}" not in json.dumps(doc), "still referenced"
    stack_json.write_text(json.dumps(doc, indent=2))
    return {"replaced": f"aws_sqs_queue.{dlq}", "changed": f"aws_sqs_queue.{queue}",
            "added": "aws_sqs_queue.plan_summary_probe",
            "destroyed": f"aws_sns_topic_subscription.{gone}"}


def break_stack(stack_json: Path) -> None:
    """A queue name the provider refuses at plan time (as test_reliability breaks a layer)."""
    doc = json.loads(stack_json.read_text())
    doc.setdefault("resource", {})["aws_sqs_queue"] = {"broken": {"name": BAD_QUEUE}}
    stack_json.write_text(json.dumps(doc, indent=2))


def scan_verdict(addresses: dict[str, str]) -> dict:
    """A checkov verdict in scan_summary.json's shape: bootstrap clean, two failures on
    messaging, the other stacks absent ("not scanned")."""
    return {"ok": False, "checkov_version": "3.3.30",
            "stacks": {"local-bootstrap": {"passed": 17, "failed": 0, "suppressed": 4,
                                           "skipped": 0},
                       MESSAGING: {"passed": 40, "failed": 2, "suppressed": 1, "skipped": 0}},
            "failures": [{"stack": MESSAGING, "check_id": "CKV_AWS_27",
                          "resource": addresses["added"]},
                         {"stack": MESSAGING, "check_id": "CKV2_AWS_73",
                          "resource": addresses["replaced"]}],
            "suppressed": [], "stale": [], "problems": []}


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory, synth_dir: Path) -> Iterator[Plans]:
    tmp = tmp_path_factory.mktemp("plan-summary")
    log = tmp / "state" / ENV / "terraform.log"
    synthesized = tmp / "synth"
    # Everything applied lives only in this module's server: nothing to destroy afterwards.
    with own_emulator(tmp, synthesized, synth_dir):
        # Apply only bootstrap and messaging: a copy of the outdir whose manifest lists just
        # them (messaging reads no other layer's state on the emulator; its state lives in
        # bootstrap's bucket).
        applied = tmp / "applied"
        for stack in APPLIED:
            shutil.copytree(synthesized / "stacks" / stack, applied / "stacks" / stack)
        manifest = json.loads((synthesized / "manifest.json").read_text())
        manifest["stacks"] = {
            name: {**spec, "dependencies": [d for d in spec["dependencies"] if d in APPLIED]}
            for name, spec in manifest["stacks"].items() if name in APPLIED}
        (applied / "manifest.json").write_text(json.dumps(manifest))
        try:
            Runner(ENV, applied, quiet=True).deploy()
        except StackFailed as exc:
            pytest.fail(f"{exc} (see {log})")

        # Plan from a copy of the whole synthesis (its manifest orders the plans) in which
        # messaging is changed and registry broken; the changed copy plans against the
        # applied state (same backend, same key).
        planning = tmp / "planning"
        shutil.copytree(synthesized, planning, ignore=shutil.ignore_patterns(".terraform"))
        addresses = mutate_messaging(planning / "stacks" / MESSAGING / "cdk.tf.json")
        break_stack(planning / "stacks" / FAILED / "cdk.tf.json")
        runner = Runner(ENV, planning, quiet=True)
        try:
            runner.plan(plans_dir=tmp / "plans", only=[s for s in PLANNED if s != FAILED])
        except StackFailed as exc:
            pytest.fail(f"{exc} (see {log})")
        with pytest.raises(StackFailed, match="invalid queue name"):
            runner.plan(plans_dir=tmp / "plans", only=[FAILED])

        yield Plans(tmp / "plans", synthesized, scan=scan_verdict(addresses), **addresses)


# --- helpers computing expectations independently of the script ---------------------------


def expected_counts(shown: dict) -> dict[str, int]:
    """add / change / destroy / replace straight from resource_changes."""
    counted: Counter[str] = Counter()
    for rc in shown["resource_changes"]:
        actions = rc["change"]["actions"]
        if sorted(actions) == ["create", "delete"]:
            counted["replace"] += 1
        elif actions in (["create"], ["update"], ["delete"]):
            counted[{"create": "add", "update": "change", "delete": "destroy"}[actions[0]]] += 1
    return {kind: counted[kind] for kind in ("add", "change", "destroy", "replace")}


def addresses_with(shown: dict, *actions: str) -> set[str]:
    return {rc["address"] for rc in shown["resource_changes"]
            if rc["change"]["actions"] == list(actions)}


def table_rows(comment: str, env: str) -> list[list[str]]:
    """The cells of the stack rows under ``### <env>``."""
    section = comment.split(f"\n### {env}\n", 1)[1].split("\n\n### ", 1)[0]
    return [[cell.strip() for cell in line.strip("|").split(" | ")]
            for line in section.splitlines() if line.startswith(f"| {env}-")]


def by_stack(loaded: list[StackPlan]) -> dict[str, StackPlan]:
    return {p.stack: p for p in loaded}


# --- the plans themselves -------------------------------------------------------------------


def test_the_mutated_plan_really_replaces_destroys_changes_and_adds(plans: Plans):
    shown = plans.shown(MESSAGING)
    assert plans.replaced in (addresses_with(shown, "delete", "create")
                              | addresses_with(shown, "create", "delete"))
    assert plans.destroyed in addresses_with(shown, "delete")
    assert plans.changed in addresses_with(shown, "update")
    assert plans.added in addresses_with(shown, "create")
    assert "No changes." in plans.text("local-bootstrap")
    meta = json.loads((plans.folder / f"{SPECULATIVE}.meta").read_text())
    assert meta["speculative_reads"] == ["network", "security"]
    assert BAD_QUEUE in plans.error(FAILED)
    assert not (plans.folder / f"{FAILED}.json").exists()


@pytest.mark.parametrize("stack", [s for s in PLANNED if s != FAILED])
def test_counts_match_the_plan_json(plans: Plans, stack: str):
    loaded = by_stack(load_plans(plans.root, plans.outdir))[stack]
    expected = expected_counts(plans.shown(stack))
    assert loaded.counts == expected
    assert not loaded.failed
    # Terraform's own line counts a replace as one add and one destroy.
    match = re.search(r"Plan: (\d+) to add, (\d+) to change, (\d+) to destroy\.",
                      plans.text(stack))
    if not any(expected.values()):
        assert match is None and loaded.status == "no changes"
        return
    assert match is not None
    add, change, destroy = map(int, match.groups())
    assert (add, change, destroy) == (expected["add"] + expected["replace"], expected["change"],
                                      expected["destroy"] + expected["replace"])
    assert loaded.status.startswith("changes")


def test_the_mutated_stack_counts_each_kind_once(plans: Plans):
    counts = by_stack(load_plans(plans.root, plans.outdir))[MESSAGING].counts
    assert counts["replace"] >= 1 and counts["destroy"] >= 1
    assert counts["add"] >= 1 and counts["change"] >= 1
    # The replaced queue is a replace only: not also an add and a destroy.
    assert counts["add"] == len(addresses_with(plans.shown(MESSAGING), "create"))
    assert counts["destroy"] == len(addresses_with(plans.shown(MESSAGING), "delete"))


def test_a_failed_plan_carries_its_first_error(plans: Plans):
    failed = by_stack(load_plans(plans.root, plans.outdir))[FAILED]
    assert plans.error(FAILED) == f"plan failed: {failed.error}"  # as hrsaas.runner.stacks writes
    assert failed.failed and failed.error == f"Error: invalid queue name: {BAD_QUEUE}"
    assert failed.status == f"failed: {failed.error}"
    assert failed.counts == dict.fromkeys(("add", "change", "destroy", "replace"), 0)


def test_a_speculative_plan_says_what_it_could_not_read(plans: Plans):
    loaded = by_stack(load_plans(plans.root, plans.outdir))
    meta = json.loads((plans.folder / f"{SPECULATIVE}.meta").read_text())
    caveat = f"speculative: {', '.join(meta['speculative_reads'])} not applied yet"
    assert loaded[SPECULATIVE].status == f"changes · {caveat}"
    assert loaded["local-security"].status == "changes"  # its only upstream is applied


def test_stacks_come_in_manifest_order_else_alphabetically(plans: Plans):
    assert [p.stack for p in load_plans(plans.root, plans.outdir)] == list(PLANNED)
    assert [p.stack for p in load_plans(plans.root, None)] == sorted(PLANNED)
    # One environment's folder works as well.
    assert [p.stack for p in load_plans(plans.folder, plans.outdir)] == list(PLANNED)


# --- the comment ------------------------------------------------------------------------------


def test_marker_verdict_then_destroys_and_replaces_before_anything_else(plans: Plans):
    comment = render(load_plans(plans.root, plans.outdir), plans.scan)
    lines = comment.splitlines()
    assert lines[0] == MARKER
    assert lines[2].startswith("## ")
    verdict = lines[4]
    assert verdict.startswith("❌ **1 plan failed**")  # a failed plan outranks the destroys
    assert f"{len(PLANNED)} stacks in 1 environment" in verdict
    totals = Counter()
    for stack in (s for s in PLANNED if s != FAILED):
        totals.update(expected_counts(plans.shown(stack)))
    assert (f"{totals['add']} to add, {totals['change']} to change, {totals['destroy']} to "
            f"destroy, {totals['replace']} to replace") in verdict
    assert "checkov: ❌ failed (2 failures)" in verdict

    # The next section is the destroy/replace list, and it holds the mutated addresses.
    assert lines[6].startswith("### ⚠️ Destroy and replace")
    risky, rest = comment.split(f"\n### {ENV}\n", 1)
    risky = risky.split(lines[6], 1)[1]
    assert f"| **REPLACE** | `{plans.replaced}` | {ENV} | {MESSAGING} | forces replacement: " \
           "name |" in risky
    assert f"| **DESTROY** | `{plans.destroyed}` | {ENV} | {MESSAGING} | removed from the " \
           "configuration |" in risky
    # Nothing else is listed there: exactly the JSON's destroys and replaces.
    shown = plans.shown(MESSAGING)
    listed = set(re.findall(r"\| \*\*(?:DESTROY|REPLACE)\*\* \| `([^`]+)`", risky))
    assert listed == (addresses_with(shown, "delete") | addresses_with(shown, "delete", "create")
                      | addresses_with(shown, "create", "delete"))
    assert plans.added not in risky and plans.changed not in risky
    assert f"failed plan(s) of {FAILED}" in risky  # what it would destroy is unknown
    assert "<details>" not in risky and "<details>" in rest


def test_one_table_per_environment_with_counts_checkov_and_status(plans: Plans):
    comment = render(load_plans(plans.root, plans.outdir), plans.scan)
    rows = table_rows(comment, ENV)
    assert [row[0] for row in rows] == list(PLANNED)
    cells = {row[0]: row[1:] for row in rows}
    for stack in (s for s in PLANNED if s != FAILED):
        expected = expected_counts(plans.shown(stack))
        assert cells[stack][:4] == [str(expected[k])
                                    for k in ("add", "change", "destroy", "replace")], stack
    assert cells["local-bootstrap"][4:] == ["✅ 17 passed (4 suppressed)", "no changes"]
    assert cells["local-security"][4:] == ["not scanned", "changes"]
    assert cells[MESSAGING][4:] == ["❌ 2 failed", "changes"]
    assert cells[SPECULATIVE][4:] == [
        "not scanned", "changes · speculative: network, security not applied yet"]
    assert cells[FAILED] == ["–"] * 4 + ["not scanned",
                                         f"failed: Error: invalid queue name: {BAD_QUEUE}"]
    # The checkov failures are listed after the tables.
    assert comment.index("### ❌ checkov failures (2)") > comment.index(f"### {ENV}")
    assert f"| {MESSAGING} | CKV_AWS_27 | `{plans.added}` |" in comment

    without_scan = render(load_plans(plans.root, plans.outdir))
    assert all(row[5] == "not scanned" for row in table_rows(without_scan, ENV))
    assert "checkov: not scanned" in without_scan


def test_a_table_per_environment(plans: Plans, tmp_path: Path):
    """A second environment's folder: its stack failed before any plan (no JSON exists for
    a failed plan, so only its first error is written here)."""
    root = tmp_path / "plans"
    shutil.copytree(plans.folder, root / ENV)
    (root / "mvp").mkdir()
    (root / "mvp" / "mvp-network.error.txt").write_text(
        "init failed: Error: No valid credential sources found\n")
    comment = render(load_plans(root, plans.outdir), plans.scan)
    assert comment.index(f"\n### {ENV}\n") < comment.index("\n### mvp\n")
    assert [row[0] for row in table_rows(comment, ENV)] == list(PLANNED)
    assert table_rows(comment, "mvp") == [[
        "mvp-network", "–", "–", "–", "–", "not scanned",
        "failed: init failed: Error: No valid credential sources found"]]
    assert f"{len(PLANNED) + 1} stacks in 2 environments" in comment
    assert f"failed plan(s) of {FAILED}, mvp-network" in comment


def test_each_plan_text_is_folded_in_a_text_fence(plans: Plans):
    comment = render(load_plans(plans.root, plans.outdir), plans.scan)
    blocks = re.findall(r"<details><summary>(.*?)</summary>\n\n```text\n(.*?)\n```\n\n</details>",
                        comment, re.S)
    assert [summary.split(":")[0] for summary, _ in blocks] == list(PLANNED)
    bodies = {summary.split(":")[0]: body for summary, body in blocks}
    assert bodies["local-bootstrap"] == plans.text("local-bootstrap").strip("\n")
    assert bodies["local-security"] == plans.text("local-security").strip("\n")
    assert bodies[FAILED] == plans.error(FAILED)  # no plan text: the error
    # The fence in the added queue's tag is in the real plan text and cannot close the block.
    assert FENCE_TAG in plans.text(MESSAGING)
    assert "```" not in bodies[MESSAGING]
    assert "`\u200b`\u200b`not a fence`\u200b`\u200b`" in bodies[MESSAGING]
    assert bodies[MESSAGING].replace("\u200b", "") == plans.text(MESSAGING).strip("\n")
    # Every fence line of the comment opens or closes one block.
    fences = [line for line in comment.splitlines() if line.startswith("```")]
    assert fences == ["```text", "```"] * len(PLANNED)
    def changes(stack: str) -> str:
        counts = expected_counts(plans.shown(stack))
        return ", ".join(f"{n} to {kind}" for kind, n in counts.items() if n)

    assert [summary for summary, _ in blocks] == [
        "local-bootstrap: no changes", f"local-security: {changes('local-security')}",
        f"{SPECULATIVE}: {changes(SPECULATIVE)} (speculative: network, security not applied "
        "yet)", f"{MESSAGING}: {changes(MESSAGING)}", f"{FAILED}: plan failed"]


def folded(comment: str) -> dict[str, str]:
    """stack → the text in its ``<details>`` block."""
    return dict(re.findall(r"<summary>([^:]+):.*?</summary>\n\n```text\n(.*?)\n```", comment,
                           re.S))


def original(plans: Plans, stack: str) -> str:
    """What the block of ``stack`` shows uncut (a failed plan: its error)."""
    path = plans.folder / f"{stack}.txt"
    if not path.exists():
        path = plans.folder / f"{stack}.error.txt"
    return path.read_text().strip("\n")


def test_a_small_limit_condenses_the_largest_plan_text_first(plans: Plans):
    loaded = load_plans(plans.root, plans.outdir)
    full = render(loaded, plans.scan)
    assert len(full) <= 65536 and "workflow artifacts" not in full
    sizes = {p.stack: len(p.text) for p in loaded}
    assert max(sizes, key=sizes.get) == MESSAGING, sizes

    cut = render(loaded, plans.scan, limit=len(full) - 1500)
    assert len(cut) <= len(full) - 1500
    assert "the full plans are in the workflow artifacts" in cut
    blocks = folded(cut)
    # The largest text loses its state refresh progress first: the changes themselves stay.
    body = blocks[MESSAGING]
    assert re.match(r"… \d+ lines of state refresh not shown", body), body[:300]
    assert "Refreshing state..." not in body and "Read complete" not in body
    assert f"# {plans.replaced} must be replaced" in body
    assert f"# {plans.destroyed} will be destroyed" in body
    assert re.search(r"^Plan: \d+ to add", body, re.M)
    for stack in set(PLANNED) - {MESSAGING}:  # the smaller texts stay whole
        assert blocks[stack] == original(plans, stack), stack
    _assert_kept(cut, full)


@pytest.mark.parametrize("room", [12000, 6000, 3000, 200])
def test_under_any_limit_the_destroys_replaces_and_tables_stay(plans: Plans, room: int):
    """``room``: characters left beyond the list and the tables (200: no plan text fits)."""
    loaded = load_plans(plans.root, plans.outdir)
    full = render(loaded, plans.scan)
    limit = full.index("### Plans") + room  # everything before the plan texts, and room
    cut = render(loaded, plans.scan, limit=limit)
    assert len(cut) <= limit
    assert "the full plans are in the workflow artifacts" in cut
    _assert_kept(cut, full)
    blocks = folded(cut)
    if room < 1000:
        assert blocks == {} and "<details>" not in cut
        return
    assert list(blocks) == list(PLANNED)
    whole = {s for s, body in blocks.items() if body.replace("\u200b", "") == original(plans, s)}
    shortened = set(blocks) - whole
    sizes = {s: len(original(plans, s)) for s in blocks}
    assert MESSAGING in shortened
    # The largest first: every shortened text was longer than every text left whole.
    assert min(sizes[s] for s in shortened) >= max(sizes[s] for s in whole), (shortened, sizes)
    if room <= 6000:  # the changes themselves no longer fit: the end is cut, and said so
        assert re.search(r"… \d+ more lines not shown: the full plan is in the workflow "
                         r"artifacts$", blocks[MESSAGING])


def test_a_list_too_long_for_one_comment_is_cut_and_counted_never_dropped(plans: Plans):
    """A whole environment going: the real messaging plan under 150 stack names gives
    hundreds of destroys and replaces, more than fit beside the tables in 30,000 characters.
    The rows that fit are listed, the rest counted; the verdict and every table row stay."""
    messaging = by_stack(load_plans(plans.root, plans.outdir))[MESSAGING]
    copies = []
    for i in range(150):
        name = f"{ENV}-copy{i:03}"
        copies.append(replace(messaging, stack=name,
                              destructive=[replace(r, stack=name) for r in messaging.destructive]))
    risky = [r for p in copies for r in p.destructive]
    cut = render(copies, limit=30000)
    assert len(cut) <= 30000
    # per copy, what the real plan destroys and replaces (the replaced DLQ takes its
    # redrive-allow policy with it)
    destroys = 150 * sum(r.action == "destroy" for r in messaging.destructive)
    replaces = 150 * sum(r.action == "replace" for r in messaging.destructive)
    assert destroys >= 150 and replaces >= 150
    assert f"{destroys} to destroy and {replaces} to replace" in cut.splitlines()[4]
    assert [row[0] for row in table_rows(cut, ENV)] == [p.stack for p in copies]
    listed = re.findall(r"^\| \*\*(?:DESTROY|REPLACE)\*\* \| `([^`]+)` \| \S+ \| (\S+) \|", cut,
                        re.M)
    assert 0 < len(listed) < len(risky)
    assert listed == [(r.address, r.stack) for r in risky[: len(listed)]]
    rest = risky[len(listed):]
    assert (f"…and {len(rest)} more ({sum(r.action == 'destroy' for r in rest)} destroy, "
            f"{sum(r.action == 'replace' for r in rest)} replace)") in cut
    assert cut.index("…and") < cut.index(f"### {ENV}")


def _assert_kept(cut: str, full: str) -> None:
    before_plans = full[: full.index("### Plans")]
    assert cut.startswith(before_plans), "the verdict, the list or the tables changed"


def test_a_run_url_links_the_artifacts(plans: Plans):
    loaded = load_plans(plans.root, plans.outdir)
    url = "https://github.com/acme/hr-saas-infra/actions/runs/42"
    cut = render(loaded, plans.scan, limit=8000, run_url=url)
    assert f"[the workflow artifacts]({url})" in cut


# --- the command line ---------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # Without GitHub's run variables (set when `make test` runs in Actions): the comment then
    # has no commit line, like the render() calls it is compared with.
    env = {k: v for k, v in tool_env().items() if k not in (
        "GITHUB_SHA", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")}
    return subprocess.run([str(PYTHON), "-m", "hrsaas.review.summary", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_cli_refuses_a_folder_without_plans(tmp_path: Path):
    (tmp_path / "plans" / ENV).mkdir(parents=True)
    out = tmp_path / "summary.md"
    for folder in (tmp_path / "plans", tmp_path / "missing"):
        result = run_cli(str(folder), "--out", str(out))
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"no plans in {folder}" in result.stderr
        assert "Traceback" not in result.stderr
    assert not out.exists()


def test_cli_writes_the_summary_even_with_destroys(plans: Plans, tmp_path: Path):
    scan_file = tmp_path / "scan_summary.json"
    scan_file.write_text(json.dumps(plans.scan))
    out = tmp_path / "reports" / "plan-summary.md"
    result = run_cli(str(plans.root), "--scan", str(scan_file), "--out", str(out),
                     "--outdir", str(plans.outdir), "--limit", "9000")
    assert result.returncode == 0, result.stdout + result.stderr
    assert str(out) in result.stdout
    written = out.read_text()
    cost = render_cost_section(plans.root)
    assert cost and written == render(load_plans(plans.root, plans.outdir), plans.scan,
                                      limit=9000, cost=cost)
    assert len(written) <= 9000 and plans.destroyed in written
    # The cost of the change sits right after the tables (hrsaas/cost/ prices the plans).
    assert written.index(cost) > written.index("| stack |")

    # A missing verdict file does not hide the plans: every stack is "not scanned".
    result = run_cli(str(plans.root), "--scan", str(tmp_path / "none.json"), "--out", str(out),
                     "--outdir", str(plans.outdir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning: no checkov verdict" in result.stderr
    assert all(row[5] == "not scanned" for row in table_rows(out.read_text(), ENV))


def test_the_cdktf_cli_sees_the_same_stacks(plans: Plans, tmp_path: Path):
    """`cdktf deploy` (the documented CLI path) finds nothing to change in the stacks `make
    deploy` applied here: both paths synthesize and apply the same thing. Messaging's other
    dependency (security) is not applied on this server, so the CLI is told not to require it
    in the list. One stack at a time: parallel applies overload the emulator, whose slow
    answers make the SDK retry its own DynamoDB lock write."""
    result = subprocess.run(
        ["cdktf", "deploy", *APPLIED, "--auto-approve", "--skip-provider-lock",
         "--ignore-missing-stack-dependencies", "--parallelism", "1",
         "--output", str(tmp_path / "cli-out")],
        # Only `local` synthesized (tests/test_own_emulator.py: the same local stacks as a
        # synthesis of every environment): the CLI's synthesis is part of this test's time.
        cwd=ROOT, env=tool_env({"HRSAAS_ENVS": ENV}), capture_output=True, text=True,
        timeout=900)
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", result.stdout + result.stderr)
    assert result.returncode == 0, text[-3000:]
    applied = re.findall(r"Apply complete! Resources: (\d+) added, (\d+) changed, "
                         r"(\d+) destroyed", text)
    assert len(applied) == len(APPLIED) and set(applied) == {("0", "0", "0")}, text[-3000:]
