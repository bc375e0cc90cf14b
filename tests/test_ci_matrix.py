"""The workflows' plan matrix, the drift verdict and the redaction of uploaded plans."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hrsaas.config import load_environment, load_environments
from hrsaas.naming import Names
from hrsaas.review import ci_matrix
from hrsaas.runner.stacks import stack_order
from tests.entry import invoke

REAL = [e.name for e in load_environments() if not e.is_emulated]


def test_real_environments_are_mvp_and_prod_never_local() -> None:
    assert {"mvp", "prod"} <= set(REAL) and "local" not in REAL
    assert [e.name for e in ci_matrix.real_environments()] == REAL


def test_the_matrix_is_every_stack_with_remote_state_in_dependency_order(synth_dir: Path
                                                                         ) -> None:
    entries = ci_matrix.plan_matrix(ci_matrix.real_environments(), synth_dir)["include"]
    assert {e["env"] for e in entries} == set(REAL)
    manifest = json.loads((synth_dir / "manifest.json").read_text())["stacks"]
    for env in REAL:
        planned = [e["stack"] for e in entries if e["env"] == env]
        order = stack_order(env, synth_dir)
        # Only the person-applied bootstrap (local state, invisible to CI) is left out.
        assert [s for s in order if s not in planned] == [f"{env}-bootstrap"]
        assert planned == [s for s in order if s in planned]
        for i, stack in enumerate(planned):
            later = set(planned[i + 1:])
            assert not later & set(manifest[stack].get("dependencies", [])), stack


def test_include_local_state_gives_every_stack(synth_dir: Path) -> None:
    entries = ci_matrix.plan_matrix(ci_matrix.real_environments(), synth_dir,
                                    include_local_state=True)["include"]
    assert [e["stack"] for e in entries] == [s for env in REAL
                                              for s in stack_order(env, synth_dir)]
    assert not any(e["stack"].startswith("local-") for e in entries)


@pytest.mark.parametrize("env_name", REAL)
def test_roles_are_the_envs_ci_roles_in_its_own_account(env_name: str) -> None:
    env = load_environment(env_name)
    [entry] = ci_matrix.plan_matrix([env], per="env")["include"]
    names = Names.of(env)
    assert entry == {
        "env": env_name, "region": env.region, "account_id": env.account_id,
        "plan_role_arn": f"arn:aws:iam::{env.account_id}:role/{names.ci_role('plan')}",
        "apply_role_arn": f"arn:aws:iam::{env.account_id}:role/{names.ci_role('apply')}",
    }
    assert entry["plan_role_arn"].endswith(f":role/hr-saas-{env_name}-ci-plan")


def test_emulated_environments_are_refused(capsys) -> None:
    assert invoke("ci", "--envs", "local,mvp", "--per", "env") == 2
    assert "emulated" in capsys.readouterr().err
    assert invoke("ci", "env", "local") == 2


def test_github_format_is_one_output_line(capsys) -> None:
    assert invoke("ci", "--per", "env", "--format", "github") == 0
    [line] = capsys.readouterr().out.splitlines()
    key, value = line.split("=", 1)
    assert key == "matrix"
    assert [e["env"] for e in json.loads(value)["include"]] == REAL


def test_env_outputs_are_key_value_lines(capsys) -> None:
    assert invoke("ci", "env", "prod", "--format", "github") == 0
    outputs = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert outputs["region"] == load_environment("prod").region
    assert outputs["apply_role_arn"].endswith(":role/hr-saas-prod-ci-apply")


# --- drift ---------------------------------------------------------------------------------


def plan_with(*actions: list[str]) -> dict:
    return {"resource_changes": [
        {"address": f"aws_thing.t{i}", "change": {"actions": a}} for i, a in enumerate(actions)]}


def write_plans(folder: Path, plans: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stack, plan in plans.items():
        (folder / f"{stack}.json").write_text(json.dumps(plan))
    return folder


def test_no_op_and_read_are_not_drift(tmp_path: Path, capsys) -> None:
    plans = write_plans(tmp_path / "prod", {"prod-network": plan_with(["no-op"], ["read"]),
                                            "prod-data": plan_with()})
    summary = tmp_path / "summary.md"
    assert invoke("ci", "drift", str(plans), "--summary", str(summary)) == 0
    assert "No drift: 2 planned stack(s)" in capsys.readouterr().out
    assert summary.read_text().startswith("## Drift in prod")


def test_any_other_action_is_drift_and_names_the_address(tmp_path: Path, capsys) -> None:
    plans = write_plans(tmp_path / "prod", {
        "prod-network": plan_with(["no-op"], ["update"]),
        "prod-data": plan_with(["delete", "create"]),
        "prod-cache": plan_with(["read"]),
    })
    summary = tmp_path / "summary.md"
    summary.write_text("earlier steps\n")
    assert invoke("ci", "drift", str(plans), "--summary", str(summary)) == 1
    out = capsys.readouterr().out
    assert "| prod-network | `aws_thing.t1` | update |" in out
    assert "| prod-data | `aws_thing.t0` | delete, create |" in out
    assert "prod-cache" not in out and "aws_thing.t0` | no-op" not in out
    assert summary.read_text() == "earlier steps\n" + out


def test_no_plan_or_a_failed_plan_is_not_a_clean_result(tmp_path: Path, capsys) -> None:
    assert invoke("ci", "drift", str(tmp_path / "mvp")) == 2
    plans = write_plans(tmp_path / "prod", {"prod-network": plan_with(["no-op"])})
    (plans / "prod-data.error.txt").write_text("plan guard failed: would destroy the db\n")
    assert invoke("ci", "drift", str(plans)) == 2
    assert "- prod-data: plan guard failed: would destroy the db" in capsys.readouterr().out
    (plans / "prod-cache.json").write_text(json.dumps(plan_with(["create"])))
    assert invoke("ci", "drift", str(plans)) == 1


# --- redaction -----------------------------------------------------------------------------

SECRET = "s3cr3t-auth-token"


def sensitive_plan() -> dict:
    values = {"id": "redis", "auth_token": SECRET, "port": 6379, "transit_encryption": True,
              "log": [{"destination": "logs", "password": SECRET}]}
    mask = {"auth_token": True, "log": [{"password": True}]}
    return {
        "variables": {"token": {"value": SECRET}, "region": {"value": "ap-northeast-2"}},
        "configuration": {"root_module": {"variables": {"token": {"sensitive": True},
                                                        "region": {}}}},
        "resource_changes": [{"address": "aws_elasticache_replication_group.redis", "change": {
            "actions": ["update"], "before": values, "after": {**values, "port": 6380},
            "before_sensitive": mask, "after_sensitive": mask}}],
        "resource_drift": [{"address": "aws_elasticache_replication_group.redis", "change": {
            "actions": ["update"], "before": values, "after": values,
            "before_sensitive": mask, "after_sensitive": mask}}],
        "output_changes": {"token": {"actions": ["no-op"], "before": SECRET, "after": SECRET,
                                     "before_sensitive": True, "after_sensitive": True},
                           "host": {"actions": ["no-op"], "before": "h", "after": "h",
                                    "before_sensitive": False, "after_sensitive": False}},
        "planned_values": {
            "outputs": {"token": {"sensitive": True, "value": SECRET}},
            "root_module": {"resources": [{"values": values, "sensitive_values": mask}],
                            "child_modules": [{"resources": [
                                {"values": {"secret": SECRET}, "sensitive_values": {
                                    "secret": True}}]}]}},
        "prior_state": {"values": {
            "outputs": {"token": {"sensitive": True, "value": SECRET}},
            "root_module": {"resources": [{"values": values, "sensitive_values": mask}]}}},
    }


def test_redaction_removes_every_sensitive_value_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "prod-cache.json"
    path.write_text(json.dumps(sensitive_plan()))
    assert invoke("ci", "redact", str(path)) == 0
    text = path.read_text()
    assert SECRET not in text
    plan = json.loads(text)
    after = plan["resource_changes"][0]["change"]["after"]
    assert after == {"id": "redis", "auth_token": "(sensitive)", "port": 6380,
                     "transit_encryption": True,
                     "log": [{"destination": "logs", "password": "(sensitive)"}]}
    assert plan["variables"]["region"]["value"] == "ap-northeast-2"
    assert plan["output_changes"]["host"]["after"] == "h"
    assert ci_matrix.changed_resources(plan) == [
        ("aws_elasticache_replication_group.redis", ["update"])]


def test_redaction_blanks_whole_sensitive_blocks_but_keeps_their_shape() -> None:
    value = {"a": "x", "b": [1, {"c": None, "d": False}]}
    assert ci_matrix._mask(value, True) == {
        "a": "(sensitive)", "b": ["(sensitive)", {"c": None, "d": False}]}


# --- changed-stack selection (--changed-from) ----------------------------------------------
#
# The pull request's cdktf.out is a copy of the real synthesis, edited the way a change edits
# it; the base is the untouched synthesis (as a folder, or as the hashes file
# `hrsaas ci hashes` writes on the base commit).

PRODUCER, LEAF = "prod-data", "prod-scaling"


def pr_copy(synth_dir: Path, tmp_path: Path) -> Path:
    pr = tmp_path / "pr.out"
    shutil.copytree(synth_dir, pr)
    return pr


def edit(outdir: Path, stack: str, change) -> None:
    path = outdir / "stacks" / stack / "cdk.tf.json"
    spec = json.loads(path.read_text())
    change(spec)
    path.write_text(json.dumps(spec, indent=2))


def add_output(spec: dict) -> None:
    """A real change: one more output (what a producer does when a consumer needs a value)."""
    spec.setdefault("output", {})["added_by_the_change"] = {"value": "x"}


def upstream(outdir: Path, stack: str) -> set[str]:
    """Every stack ``stack`` depends on, transitively, walked from the manifest here."""
    manifest = json.loads((outdir / "manifest.json").read_text())["stacks"]
    seen: set[str] = set()
    todo = list(manifest[stack]["dependencies"])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += manifest[name]["dependencies"]
    return seen


def selected_by_cli(outdir: Path, base: Path, capsys) -> tuple[list[str], int]:
    assert invoke("ci", "--per", "env", "--outdir", str(outdir), "--changed-from",
                           str(base), "--format", "github") == 0
    lines = capsys.readouterr().out.splitlines()
    outputs = dict(line.split("=", 1) for line in lines)
    stacks = [s for e in json.loads(outputs["matrix"])["include"] for s in e["stacks"].split()]
    return stacks, int(outputs["count"])


def test_a_changed_producer_selects_it_and_every_consumer(synth_dir: Path, tmp_path: Path,
                                                          capsys) -> None:
    pr = pr_copy(synth_dir, tmp_path)
    edit(pr, PRODUCER, add_output)
    selected = ci_matrix.select_stacks(pr, ci_matrix.stack_hashes(synth_dir))
    # The consumers the layer graph of the README names, directly and through compute.
    assert {PRODUCER, "prod-compute", "prod-backup", "prod-scaling",
            "prod-observability"} <= selected
    # Exactly the stacks downstream of the producer: nothing upstream or beside it.
    assert selected == {PRODUCER} | {s for s in json.loads(
        (pr / "manifest.json").read_text())["stacks"] if PRODUCER in upstream(pr, s)}
    assert not selected & {"prod-network", "prod-security", "prod-cache", "prod-registry",
                           "prod-messaging", "prod-edge", "prod-dns", "prod-bootstrap"}
    assert not any(s.startswith("mvp-") for s in selected)
    # The command line gives the same stacks, per environment, in dependency order.
    stacks, count = selected_by_cli(pr, synth_dir, capsys)
    order = stack_order("prod", pr)
    assert stacks == [s for s in order if s in selected] and count == len(selected)


def test_a_changed_leaf_selects_only_itself(synth_dir: Path, tmp_path: Path) -> None:
    manifest = json.loads((synth_dir / "manifest.json").read_text())["stacks"]
    assert not [s for s, spec in manifest.items() if LEAF in spec["dependencies"]]
    pr = pr_copy(synth_dir, tmp_path)
    edit(pr, LEAF, add_output)
    assert ci_matrix.select_stacks(pr, ci_matrix.stack_hashes(synth_dir)) == {LEAF}


def test_no_change_selects_nothing(synth_dir: Path, tmp_path: Path, capsys) -> None:
    hashes = tmp_path / "base-hashes.json"
    assert invoke("ci", "hashes", "--outdir", str(synth_dir)) == 0
    hashes.write_text(capsys.readouterr().out)
    assert ci_matrix.select_stacks(synth_dir, ci_matrix.base_hashes(hashes)) == set()
    assert selected_by_cli(synth_dir, hashes, capsys) == ([], 0)


def test_what_terraform_ignores_or_a_checkout_moves_is_not_a_change(synth_dir: Path,
                                                                    tmp_path: Path) -> None:
    """`//` metadata (construct paths, cdktf's version) and the folder of bootstrap's local
    state file (the checkout's .state/, or HRSAAS_STATE_DIR) differ without any plan change."""
    pr = pr_copy(synth_dir, tmp_path)

    def volatile(spec: dict) -> None:
        spec["//"]["metadata"]["version"] = "0.0.0-other"
        local = spec["terraform"]["backend"]["local"]
        local["path"] = "/elsewhere/checkout/.state/" + "/".join(Path(local["path"]).parts[-2:])

    edit(pr, "prod-bootstrap", volatile)
    assert ci_matrix.select_stacks(pr, ci_matrix.stack_hashes(synth_dir)) == set()
    # A real change in the same stack is still seen (and selects every stack above it).
    edit(pr, "prod-bootstrap", add_output)
    assert "prod-bootstrap" in ci_matrix.select_stacks(pr, ci_matrix.stack_hashes(synth_dir))


def test_two_syntheses_of_the_same_code_select_nothing(synth_dir: Path, variant_synth: dict
                                                       ) -> None:
    """The run's second real synthesis (another process, state folder, envs/ folder, another
    time) of the same tree: mvp's stacks hash the same and none of them is selected."""
    other = Path(variant_synth["out"])
    base = {k: v for k, v in ci_matrix.stack_hashes(synth_dir).items() if k.startswith("mvp-")}
    again = ci_matrix.stack_hashes(other)
    assert base and {k: again.get(k) for k in base} == base
    # The second synthesis also holds other environments' stacks, new to this base: selected.
    assert ci_matrix.select_stacks(other, base) == set(again) - set(base)


def test_a_new_stack_is_selected(synth_dir: Path, tmp_path: Path) -> None:
    base = ci_matrix.stack_hashes(synth_dir)
    del base[LEAF]  # the base commit had no such stack
    assert ci_matrix.select_stacks(synth_dir, base) == {LEAF}


def test_a_bad_base_is_refused_with_the_fix(tmp_path: Path, capsys) -> None:
    for base, says in ((tmp_path / "missing", "no such folder or file"),
                       (tmp_path / "bad.json", "not a hashes file")):
        if base.suffix:
            base.write_text('{"stacks": []}')
        assert invoke("ci", "--changed-from", str(base)) == 2
        err = capsys.readouterr().err
        assert says in err and "hrsaas ci hashes" in err
