"""The plan summary's review signals (hrsaas/review/summary.py, hrsaas/review/suppressions.py):
a plan the destroy guard refused, the commit and run the comment is about, a run that saved no
plan, the checkov suppressions a change adds, and consumers whose inputs change.

The plans folder is written the way the runner writes it (hrsaas/runner/stacks.py ``plan``):
the plan JSON first, then — when the destroy guard refuses it — ``<stack>.error.txt`` holding
``plan guard failed: `` and the guard's own explanation (hrsaas/runner/guard.py ``explain``
over ``destructive_changes`` of that JSON). The suppression files are the repository's real
file and edited copies of it. The emulator tests of tests/test_plan_summary.py cover the plans
terraform writes; this module is the fast tier.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from hrsaas.review import summary
from hrsaas.review import suppressions as sup
from hrsaas.runner.guard import destructive_changes, explain
from hrsaas.toolenv import ROOT

ENV = "prod"
DATA, NETWORK, COMPUTE = "prod-data", "prod-network", "prod-compute"
DB = "aws_db_instance.postgres_instance_919E2690"
PARAMS = "aws_db_parameter_group.postgres_params_1A2B3C4D"
SHA = "3f9c2d1e8b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d"
SUPPRESSIONS = ROOT / "checkov" / "suppressions.toml"


@pytest.fixture(autouse=True)
def _outside_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub's run variables are set when the suite runs in Actions: tests set their own."""
    for name in ("GITHUB_SHA", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


def resource_change(address: str, actions: list[str], before: dict | None = None) -> dict:
    kind, name = address.split(".", 1)
    return {"address": address, "type": kind, "name": name, "mode": "managed",
            "change": {"actions": actions, "before": before or {}, "after": None}}


def write_plan(folder: Path, stack: str, changes: list[dict], *, guarded: bool = False,
               meta: dict | None = None, keep_json: bool = True) -> None:
    """What Runner.plan leaves for ``stack``; ``guarded``: the prod guard then reads the JSON
    and writes its refusal exactly as the runner does."""
    folder.mkdir(parents=True, exist_ok=True)
    shown = {"format_version": "1.2", "resource_changes": changes, "output_changes": {}}
    (folder / f"{stack}.json").write_text(json.dumps(shown))
    (folder / f"{stack}.txt").write_text(f"Terraform plan of {stack}\n")
    (folder / f"{stack}.meta").write_text(json.dumps(
        meta or {"stack": stack, "speculative_reads": [], "local_backend": False}))
    if guarded:
        found = destructive_changes(shown)
        assert found, "the test plan must be one the guard refuses"
        # hrsaas/runner/stacks.py: StackFailed(stack, "plan guard", explain(...)) → error.txt
        (folder / f"{stack}.error.txt").write_text(
            f"plan guard failed: {explain([str(f) for f in found])}\n")
    if not keep_json:
        (folder / f"{stack}.json").unlink()


@pytest.fixture
def refused(tmp_path: Path) -> Path:
    """prod-data's plan replaces the database (refused); prod-network's changes a tag."""
    plans = tmp_path / "plans"
    write_plan(plans / ENV, NETWORK, [resource_change("aws_vpc.vpc_1234", ["update"])])
    write_plan(plans / ENV, DATA, [
        resource_change(DB, ["delete", "create"], {"identifier": "hr-saas-prod"}),
        resource_change(PARAMS, ["update"])], guarded=True)
    return plans


def comment(plans: Path, tmp_path: Path, *args: str) -> str:
    out = tmp_path / "summary.md"
    code = summary.main([str(plans), "--out", str(out), "--outdir", str(tmp_path / "none"),
                         "--no-cost", *args])
    assert code == 0
    return out.read_text()


def test_a_guard_refusal_renders_red_with_its_addresses_first(refused: Path, tmp_path: Path):
    text = comment(refused, tmp_path)
    verdict = text.split("\n\n")[2]
    assert verdict.startswith("❌ **the destroy guard refused 1 plan")
    assert "Nothing is destroyed" not in text
    guard = text.index("### ❌ Refused by the destroy guard (1)")
    # First after the verdict: before the destroy/replace list and the tables.
    assert guard < text.index("### ⚠️ Destroy and replace (1)") < text.index(f"### {ENV}")
    assert f"| `{DB}` | {ENV} | {DATA} |" in text[guard:]
    # The table counts the real plan and says the guard refused it, not "failed".
    row = next(line for line in text.splitlines() if line.startswith(f"| {DATA} |"))
    assert "| 0 | 1 | 0 | 1 |" in row and "refused by the destroy guard" in row
    assert "failed:" not in row
    # A plan failed for another reason is still a plain failure.
    assert "Not known for the failed plan" not in text


def test_a_guard_refusal_without_its_json_still_lists_the_addresses(tmp_path: Path):
    plans = tmp_path / "plans"
    write_plan(plans / ENV, DATA, [resource_change(DB, ["delete"],
                                                   {"identifier": "hr-saas-prod"})],
               guarded=True, keep_json=False)
    text = comment(plans, tmp_path)
    assert f"| `{DB}` | {ENV} | {DATA} |" in text
    assert f"| **DESTROY** | `{DB}` | {ENV} | {DATA} | refused by the destroy guard |" in text
    assert "Nothing is destroyed" not in text


def test_an_ordinary_failure_is_not_a_guard_refusal(tmp_path: Path):
    plans = tmp_path / "plans" / ENV
    plans.mkdir(parents=True)
    (plans / f"{DATA}.error.txt").write_text("plan failed: Error: Unsupported attribute\n")
    text = comment(plans.parent, tmp_path)
    assert "Refused by the destroy guard" not in text
    assert "❌ **1 plan failed**" in text


def test_the_comment_names_the_commit_and_links_the_run(refused: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("GITHUB_SHA", SHA)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "acme/hr-saas-infra")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    run = "https://github.com/acme/hr-saas-infra/actions/runs/4242"
    text = comment(refused, tmp_path)
    assert text.startswith(summary.MARKER)
    assert text.split("\n\n")[2] == f"Plans of commit `{SHA[:12]}` · [workflow run]({run})"
    # Explicit flags win over the variables (a pull request's head commit is not GITHUB_SHA).
    text = comment(refused, tmp_path, "--sha", "abcdef0123456789", "--run-url", "https://x/1")
    assert text.split("\n\n")[2] == "Plans of commit `abcdef012345` · [workflow run](https://x/1)"


@pytest.mark.parametrize("result,words", [("failure", "failed"), ("skipped", "were skipped"),
                                          ("cancelled", "were cancelled")])
def test_a_run_without_plans_says_so_instead_of_an_old_result(tmp_path: Path, result: str,
                                                               words: str):
    empty = tmp_path / "plans"
    empty.mkdir()
    text = comment(empty, tmp_path, "--sha", SHA, "--plans-result", result,
                   "--run-url", "https://x/7")
    assert text.startswith(summary.MARKER + "\n\n## Terraform plan summary")
    assert f"❌ **The plans for `{SHA[:12]}` {words}**" in text
    assert "| stack |" not in text and "Nothing is destroyed" not in text
    # Without the job's result an empty folder is still bad input (exit 2), as before.
    assert summary.main([str(empty), "--out", str(tmp_path / "x.md")]) == 2


def test_nothing_selected_is_a_green_notice(tmp_path: Path):
    empty = tmp_path / "plans"
    empty.mkdir()
    text = comment(empty, tmp_path, "--sha", SHA, "--plans-result", "unchanged")
    assert f"✅ **Nothing to plan for `{SHA[:12]}`**" in text


def test_a_failed_plan_job_with_some_plans_says_the_rest_is_missing(refused: Path,
                                                                    tmp_path: Path):
    text = comment(refused, tmp_path, "--plans-result", "failure")
    assert "The plan job of this run ended **failure**" in text
    assert f"| {NETWORK} |" in text


# --- suppressions ---------------------------------------------------------------------------

NEW_ENTRY = '''
[[suppression]]
check = "CKV_AWS_999"
stacks = ["*-data"]
when = "capabilities.multi_az == false"
resource = "aws_db_instance.postgres_instance_*"
reason = "a test exception"
'''


def head_file(tmp_path: Path, *, widen: bool, reword: bool) -> Path:
    """The real suppression file with one new entry, and optionally its first entry widened
    to another layer or only its reason reworded."""
    text = SUPPRESSIONS.read_text()
    first = tomllib.loads(text)["suppression"][0]
    if widen:
        old = f'stacks = {json.dumps(first["stacks"])}'.replace('", "', '", "')
        assert old in text
        text = text.replace(old, f'stacks = {json.dumps([*first["stacks"], "*-edge"])}', 1)
    if reword:
        text = text.replace('reason = """Server access logging', 'reason = """Access logging',
                            1)
    path = tmp_path / "head.toml"
    path.write_text(text + NEW_ENTRY)
    return path


def test_the_summary_lists_the_suppressions_a_change_adds(refused: Path, tmp_path: Path):
    head = head_file(tmp_path, widen=True, reword=False)
    text = comment(refused, tmp_path, "--suppressions", str(head),
                   "--base-suppressions", str(SUPPRESSIONS))
    section = text[text.index("### ⚠️ checkov suppressions this change adds (2)"):]
    section = section[: section.index("\n### ")]
    rows = [line for line in section.splitlines() if line.startswith("| CKV_")]
    first = tomllib.loads(SUPPRESSIONS.read_text())["suppression"][0]
    assert [r.split(" | ")[0] for r in rows] == [f"| {first['check']}", "| CKV_AWS_999"]
    assert "*-edge" in rows[0]
    assert "capabilities.multi_az == false" in rows[1] and "a test exception" in rows[1]
    assert "1 suppression(s) removed or replaced" in section


def test_a_reworded_reason_adds_nothing(tmp_path: Path):
    head = head_file(tmp_path, widen=False, reword=True)
    entries = sup.read_file(head, missing_ok=False)
    base = sup.read_file(SUPPRESSIONS, missing_ok=False)
    assert [e.check for e in sup.added(entries, base)] == ["CKV_AWS_999"]
    assert sup.section(base, base) == "### ✅ checkov suppressions: none added"


def test_a_new_suppression_file_adds_every_entry(tmp_path: Path):
    head = sup.read_file(SUPPRESSIONS, missing_ok=False)
    base = sup.read_file(tmp_path / "absent.toml", missing_ok=True)
    assert len(sup.added(head, base)) == len(head) > 50


def test_an_unreadable_base_file_is_bad_input(refused: Path, tmp_path: Path, capsys):
    bad = tmp_path / "base.toml"
    bad.write_text("[[suppression]\n")
    code = summary.main([str(refused), "--out", str(tmp_path / "s.md"), "--no-cost",
                         "--base-suppressions", str(bad)])
    assert code == 2
    assert f"{bad} is not valid TOML" in capsys.readouterr().err


# --- consumers whose inputs change ----------------------------------------------------------


def test_consumers_whose_inputs_change_are_named(tmp_path: Path):
    plans = tmp_path / "plans"
    write_plan(plans / ENV, NETWORK, [resource_change("aws_vpc.vpc_1234", ["update"])])
    write_plan(plans / ENV, COMPUTE, [], meta={
        "stack": COMPUTE, "speculative_reads": [], "local_backend": False,
        "planned_inputs": {"network": ["private_app_subnet_ids", "vpc_id"], "data": []}})
    text = comment(plans, tmp_path)
    assert "### 🔗 Consumers whose inputs change (1)" in text
    assert (f"| {COMPUTE} | {ENV} | network: private_app_subnet_ids, vpc_id |") in text
    table = text[text.index(f"### {ENV}"):]
    row = next(line for line in table.splitlines() if line.startswith(f"| {COMPUTE} |"))
    assert "network outputs change in this plan" in row


# --- on the emulator: the runner's own guard refusal renders red -----------------------------


@pytest.mark.emulator
@pytest.mark.timeout(600)
def test_the_runners_guard_refusal_renders_red(own_moto, tmp_path: Path):
    """A bucket applied on the emulator, then renamed (a forced replacement) and planned by
    Runner.plan with ``protect_stateful`` on (prod's setting): the guard refuses the plan and
    the comment shows it red, first, with the bucket's address — not "Nothing is destroyed".
    The emulator is this test's own (conftest.py ``own_moto``): what it applies goes with it."""
    state = f"h3-guard-state-{tmp_path.name[-6:].lower().replace('_', '-')}"
    kwargs = {"endpoint_url": own_moto.endpoint, "region_name": "ap-northeast-2",
              "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    _refusal_renders_red(own_moto.endpoint, own_moto.outdir, tmp_path, state, kwargs)


def _refusal_renders_red(moto: str, synth_dir: Path, tmp_path: Path, state: str,
                         kwargs: dict) -> None:
    import boto3

    from hrsaas.runner.stacks import Runner, StackFailed, terraform

    boto3.client("s3", **kwargs).create_bucket(
        Bucket=state, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    boto3.client("dynamodb", **kwargs).create_table(
        TableName=state, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}])
    # The synthesized local messaging stack's provider and backend (the emulator's endpoints).
    template = json.loads((synth_dir / "stacks" / "local-messaging" / "cdk.tf.json").read_text())
    outdir = tmp_path / "cdktf.out"
    folder = outdir / "stacks" / "local-vault"
    folder.mkdir(parents=True)
    (outdir / "manifest.json").write_text(json.dumps(
        {"version": "0.21.0", "stacks": {"local-vault": {"dependencies": []}}}))

    def write(bucket: str) -> None:
        backend = {**template["terraform"]["backend"]["s3"], "bucket": state,
                   "dynamodb_table": state, "key": "local/vault/terraform.tfstate"}
        (folder / "cdk.tf.json").write_text(json.dumps({
            "terraform": {"backend": {"s3": backend},
                          "required_providers": template["terraform"]["required_providers"]},
            "provider": template["provider"],
            "resource": {"aws_s3_bucket": {"files": {"bucket": bucket}}}}))

    write(f"{state}-files-a")
    for args in (("init", "-input=false", "-no-color"),
                 ("apply", "-auto-approve", "-input=false", "-no-color")):
        result = terraform(folder, *args, timeout=300)
        assert result.returncode == 0, result.stdout
    write(f"{state}-files-b")  # a bucket's name cannot change: Terraform replaces it

    runner = Runner("local", outdir, quiet=True)
    runner.env = runner.env.model_copy(update={"capabilities": runner.env.capabilities
                                               .model_copy(update={"protect_stateful": True})})
    plans = tmp_path / "plans"
    with pytest.raises(StackFailed):
        runner.plan(plans_dir=plans)
    assert (plans / "local" / "local-vault.error.txt").read_text().startswith(
        "plan guard failed: ")
    text = comment(plans, tmp_path)
    assert text.split("\n\n")[2].startswith("❌ **the destroy guard refused 1 plan")
    assert "Nothing is destroyed" not in text
    guard = text.index("### ❌ Refused by the destroy guard (1)")
    assert guard < text.index("### ⚠️ Destroy and replace (1)")
    assert "| `aws_s3_bucket.files` | local | local-vault |" in text[guard:]
