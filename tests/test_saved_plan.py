"""Apply exactly what was reviewed (hrsaas/runner/saved_plan.py), and stop Terraform gracefully
(hrsaas/runner/signals.py).

The fingerprint tests run on plan JSON shaped as ``terraform show -json`` writes it; the signal
test runs a real terraform (a local backend and the built-in ``terraform_data``: no provider, no
emulator); the emulator test saves, renders and applies a real plan of ``local-security`` and
then sees Terraform refuse a stale one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hrsaas.runner import saved_plan
from hrsaas.toolenv import PYTHON, ROOT, tool_env


def _rc(address: str, actions: list[str], before=None, after=None, unknown=None,
        sensitive=None) -> dict:
    return {"address": address, "type": address.split(".")[0],
            "change": {"actions": actions, "before": before, "after": after,
                       "after_unknown": unknown or {}, "before_sensitive": False,
                       "after_sensitive": sensitive or {}}}


def _plan(*changes: dict, outputs: dict | None = None, prior: dict | None = None) -> dict:
    return {"format_version": "1.2", "resource_changes": list(changes),
            "output_changes": outputs or {}, "prior_state": prior or {},
            "timestamp": "2026-12-03T00:00:00Z"}


QUEUE = _rc("aws_sqs_queue.q", ["update"],
            before={"name": "q", "visibility_timeout_seconds": 30, "arn": "arn:q", "tags": {}},
            after={"name": "q", "visibility_timeout_seconds": 60, "arn": "arn:q", "tags": {}})


def test_the_fingerprint_is_what_the_plan_does_not_how_it_was_read():
    base = saved_plan.fingerprint(_plan(QUEUE))
    # Planned later: a different timestamp, prior state and no-op resources — same change.
    later = _plan(QUEUE, _rc("aws_sns_topic.t", ["no-op"], before={"name": "t"},
                             after={"name": "t"}),
                  prior={"values": {"root_module": {"resources": [{"address": "x"}]}}})
    later["timestamp"] = "2026-12-04T09:00:00Z"
    assert saved_plan.fingerprint(later) == base
    # Another value of the changing attribute, or one more change, is another plan.
    other = json.loads(json.dumps(QUEUE))
    other["change"]["after"]["visibility_timeout_seconds"] = 90
    assert saved_plan.fingerprint(_plan(other)) != base
    assert saved_plan.fingerprint(_plan(QUEUE, _rc("aws_sqs_queue.dlq", ["delete"],
                                                   before={"name": "dlq"}))) != base
    assert saved_plan.fingerprint(_plan(QUEUE, outputs={"queue_url": {
        "actions": ["update"], "before": "a", "after": "b", "after_unknown": False}})) != base
    assert not saved_plan.has_changes(_plan(_rc("aws_sns_topic.t", ["no-op"])))


def test_sensitive_values_count_as_the_reviewer_saw_them():
    """The PR comment's block is public to readers: it hashes the masked plan."""
    def secret(value: str) -> dict:
        return _rc("aws_secretsmanager_secret_version.v", ["update"],
                   before={"secret_string": "old"}, after={"secret_string": value},
                   sensitive={"secret_string": True})
    assert saved_plan.fingerprint(_plan(secret("one"))) == \
        saved_plan.fingerprint(_plan(secret("two")))
    assert "one" not in json.dumps(saved_plan.normalized(_plan(secret("one"))))


def test_compare_names_each_stack_that_is_not_the_reviewed_plan():
    reviewed = {"prod-messaging": saved_plan.fingerprint(_plan(QUEUE))}
    other = json.loads(json.dumps(QUEUE))
    other["change"]["after"]["visibility_timeout_seconds"] = 90
    assert saved_plan.compare({"prod-messaging": _plan(QUEUE)}, reviewed) == []
    problems = saved_plan.compare({"prod-messaging": _plan(other),
                                   "prod-network": _plan(QUEUE),
                                   "prod-data": _plan()}, reviewed)
    assert len(problems) == 2, problems  # prod-data changes nothing: nothing to review
    assert problems[0].startswith("prod-messaging: the plan differs from the one reviewed")
    assert problems[1].startswith("prod-network: its plan changes resources, but the plans "
                                  "reviewed on the pull request did not plan this stack")


def test_the_comment_block_round_trips_and_a_missing_block_says_what_to_do():
    prints = {"prod-messaging": saved_plan.fingerprint(_plan(QUEUE))}
    block = saved_plan.comment_block(prints, "abc")
    comment = f"<!-- hr-saas-plan-summary -->\n## Plans\n…\n{block}\n"
    assert saved_plan.from_comment(comment) == {"commit": "abc", "plans": prints}
    with pytest.raises(ValueError, match="push again to re-plan"):
        saved_plan.from_comment("<!-- hr-saas-plan-summary -->\nno block")


def _save(folder: Path, stack: str, plan: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stack}.tfplan").write_bytes(b"")  # check() reads the JSON only
    (folder / f"{stack}.json").write_text(json.dumps(plan))
    (folder / f"{stack}.meta").write_text(json.dumps({"speculative_reads": [],
                                                      "local_backend": False}))


def test_the_checks_refuse_before_anything_is_applied_and_hold_consumers_of_new_outputs(
        synth_dir, tmp_path):
    """On the synthesized prod stacks: prod-data reads prod-network's rds_security_group_id."""
    from hrsaas.runner.stacks import Runner

    runner = Runner("prod", synth_dir, quiet=True)
    only = ["prod-network", "prod-data"]
    reviewed = {"prod-network": saved_plan.fingerprint(_plan(QUEUE))}
    subnet = _rc("aws_db_subnet_group.s", ["update"], before={"description": "a"},
                 after={"description": "b"})
    folder = tmp_path / "prod"
    _save(folder, "prod-network", _plan(QUEUE))
    _save(folder, "prod-data", _plan(subnet))
    with pytest.raises(saved_plan.Refused) as refused:
        saved_plan.check(runner, tmp_path, reviewed, only)
    assert refused.value.problems == [
        "prod-data: its plan changes resources, but the plans reviewed on the pull request "
        "did not plan this stack"]
    # The network plan changes an output prod-data reads: the PR showed it as unknown, so
    # prod-data cannot match its review; it is held after the network's apply instead.
    changing = _plan(QUEUE, outputs={"rds_security_group_id": {
        "actions": ["update"], "before": "sg-1", "after": None, "after_unknown": True}})
    _save(folder, "prod-network", changing)
    reviewed = {"prod-network": saved_plan.fingerprint(changing)}
    assert saved_plan.held_consumers(runner, {"prod-network": changing,
                                              "prod-data": _plan(subnet)}) == {
        "prod-data": "prod-network changes outputs this stack reads (rds_security_group_id)"}
    assert [p.stack for p in saved_plan.check(runner, tmp_path, reviewed, only)] == only
    # A speculative plan, or a destroy the guard refuses, is never applied.
    (folder / "prod-data.meta").write_text(json.dumps({"speculative_reads": ["network"]}))
    _save(folder, "prod-network", _plan(_rc("aws_kms_key.k", ["delete"], before={})))
    with pytest.raises(saved_plan.Refused) as refused:
        saved_plan.check(runner, tmp_path, None, only)
    assert [p.split(":")[0] for p in refused.value.problems] == ["prod-network", "prod-data"]
    assert "refused by the destroy guard: aws_kms_key.k" in refused.value.problems[0]
    assert "its plan is speculative" in refused.value.problems[1]


# --- signals: a stopped run stops terraform gracefully --------------------------------------

SLOW = """
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "touch started; exec sleep 60"
  }
}
"""

# The runner's own path: the graph scheduler runs the stack's work in a worker thread, the
# work calls hrsaas.runner.stacks.terraform; the process handles signals as `hrsaas` does.
DRIVER = """
import sys
from pathlib import Path
from hrsaas.runner import graph, signals
from hrsaas.runner.stacks import terraform

work_dir = Path(sys.argv[1])
signals.install()

def work(stack):
    result = terraform(work_dir, "apply", "-auto-approve", "-input=false", "-no-color",
                       timeout=None)
    (work_dir / "apply.log").write_text(result.stdout)
    return graph.Outcome("applied" if result.returncode == 0 else "stopped")

run = graph.run(graph.Graph.from_dependencies({"slow": []}), work)
print("interrupted" if run.interrupted else "finished", flush=True)
"""


def _wait_for(path: Path, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"{what}: the driver exited ({proc.returncode}):\n"
                        f"{proc.stdout.read()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within 120 s")
        time.sleep(0.05)


def test_sigterm_is_forwarded_to_terraform_and_waited_for_so_no_lock_is_left(tmp_path):
    work = tmp_path / "stack"
    work.mkdir()
    (work / "main.tf").write_text(SLOW)
    env = tool_env()
    init = subprocess.run(["terraform", f"-chdir={work}", "init", "-input=false", "-no-color"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stdout + init.stderr
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    # As GitHub cancels a step: the signal goes to the step's process only.
    proc = subprocess.Popen([str(PYTHON), str(driver), str(work)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        _wait_for(work / "started", proc, "the apply's provisioner never started")
        lock = work / ".terraform.tfstate.lock.info"
        assert lock.exists(), "terraform holds the state lock while it applies"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0 and "interrupted" in out, out
    # The runner exited only after terraform did: the lock is gone at that moment already.
    assert not lock.exists(), "terraform still held the lock when the runner exited"
    log = (work / "apply.log").read_text()
    assert "Interrupt received" in log, log
    assert "Two interrupts received" not in log, "terraform was interrupted twice"
    plan = subprocess.run(["terraform", f"-chdir={work}", "plan", "-lock-timeout=0s",
                           "-input=false", "-no-color"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert plan.returncode == 0, plan.stdout + plan.stderr


def test_a_stopping_run_starts_no_new_terraform(tmp_path):
    from hrsaas.runner import signals
    from hrsaas.runner.stacks import terraform

    signals.reset()
    try:
        signals.interrupt_children()  # the first signal arrived
        with pytest.raises(signals.Stopping, match="interrupted"):
            terraform(tmp_path, "version", timeout=60)
    finally:
        signals.reset()
    assert terraform(tmp_path, "version", timeout=60).returncode == 0


# --- on the emulator: save, render, apply; a stale plan is refused --------------------------

SECURITY = "local-security"


def _hrsaas(*args: str) -> subprocess.CompletedProcess[str]:
    from hrsaas.toolenv import HRSAAS

    return subprocess.run([str(HRSAAS), *args], cwd=ROOT, env=tool_env(), capture_output=True,
                          text=True, timeout=600)


@pytest.mark.emulator
@pytest.mark.timeout(1200)
def test_a_saved_plan_is_rendered_then_applied_and_a_stale_one_is_refused(synth_dir, tmp_path):
    import boto3

    from hrsaas.runner.stacks import Runner, terraform
    from tests.own_emulator import own_emulator

    outdir = tmp_path / "cdktf.out"
    with own_emulator(tmp_path, outdir, synth_dir) as moto:
        runner = Runner("local", outdir, quiet=True)
        runner.deploy(only=["local-bootstrap"])
        apply = ("apply-plan", "--env", "local", "--outdir", str(outdir), "--only", SECURITY)

        # The plan job: a saved plan without a lock, rendered for the approver, fingerprinted.
        reviewed_dir = tmp_path / "reviewed"
        runner.plan(plans_dir=reviewed_dir, only=[SECURITY], lock=False)
        rendered = _hrsaas("summary", str(reviewed_dir), "--outdir", str(outdir), "--no-cost",
                           "--out", str(tmp_path / "summary.md"))
        assert rendered.returncode == 0, rendered.stderr
        assert SECURITY in (tmp_path / "summary.md").read_text()
        prints = _hrsaas("plan-fingerprints", str(reviewed_dir), "--out",
                         str(tmp_path / "reviewed.json"))
        assert prints.returncode == 0, prints.stderr

        # Another reviewed plan than this one: refused before anything is applied.
        (tmp_path / "other.json").write_text(json.dumps({"plans": {SECURITY: "sha256:0"}}))
        refused = _hrsaas(*apply, "--plans-dir", str(reviewed_dir),
                          "--reviewed", str(tmp_path / "other.json"))
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"{SECURITY}: the plan differs from the one reviewed" in refused.stderr
        assert "nothing was applied" in refused.stderr
        secrets = boto3.client("secretsmanager", endpoint_url=moto.endpoint,
                               region_name="ap-northeast-2", aws_access_key_id="test",
                               aws_secret_access_key="test")
        assert secrets.list_secrets()["SecretList"] == []

        # The apply job: exactly the reviewed file.
        applied = _hrsaas(*apply, "--plans-dir", str(reviewed_dir),
                          "--reviewed", str(tmp_path / "reviewed.json"))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert re.search(rf"{SECURITY}\s+applied", applied.stdout), applied.stdout
        assert {s["Name"] for s in secrets.list_secrets()["SecretList"]} >= {"hr-saas/jwt"}

        # A saved plan (a tag added by hand is removed again), then the state changes before
        # it is applied (a refresh writes the hand-made tag into the state): Terraform refuses
        # the plan as stale, and the apply step says so.
        secrets.tag_resource(SecretId="hr-saas/jwt", Tags=[{"Key": "by", "Value": "hand"}])
        later = tmp_path / "later"
        runner.plan(plans_dir=later, only=[SECURITY], lock=False)
        assert saved_plan.has_changes(json.loads((later / "local" / f"{SECURITY}.json")
                                              .read_text()))
        refreshed = terraform(runner.stack_dir(SECURITY), "apply", "-refresh-only",
                              "-auto-approve", "-input=false", "-no-color", timeout=600)
        assert refreshed.returncode == 0, refreshed.stdout
        stale = _hrsaas(*apply, "--plans-dir", str(later))
        assert stale.returncode == 1, stale.stdout + stale.stderr
        assert f"apply of stack {SECURITY}: the saved plan is stale: the state of this stack " \
               "changed after it was planned" in stale.stderr, stale.stderr
        tags = secrets.describe_secret(SecretId="hr-saas/jwt").get("Tags", [])
        assert {"Key": "by", "Value": "hand"} in tags  # nothing was applied


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
