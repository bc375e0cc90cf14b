"""The deploy runner follows the stack graph (hrsaas/runner/graph.py), several stacks at a time.

Unit tier: the scheduler with fake work that records when each stack starts and ends (never
wall-clock timings), and the runner (hrsaas/runner/stacks.py) over a small synthesized-looking
outdir with a fake ``terraform``. The same runner with the real terraform, in parallel along
the graph and in reverse for the destroy, is tests/test_roundtrip.py's deploy and destroy.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections import Counter
from pathlib import Path

import pytest

from hrsaas.runner import graph as schedule
from hrsaas.runner import stacks as stacks_mod
from hrsaas.runner.graph import FAILED, NOT_ATTEMPTED, SKIPPED, CycleError, Graph, Outcome
from hrsaas.runner.stacks import Runner, StackFailed, default_parallelism
from hrsaas.toolenv import tool_env

# The layer graph of an environment, as the manifest declares it (bootstrap under everything).
LAYER_DEPS = {
    "bootstrap": [],
    "security": ["bootstrap"],
    "network": ["bootstrap", "security"],
    "data": ["bootstrap", "security", "network"],
    "cache": ["bootstrap", "security", "network"],
    "messaging": ["bootstrap", "security"],
    "registry": ["bootstrap", "security"],
    "edge": ["bootstrap", "security"],
    "compute": ["bootstrap", "security", "network", "data", "cache", "messaging", "registry",
                "edge"],
    "scaling": ["bootstrap", "security", "compute"],
    "observability": ["bootstrap", "security", "compute", "data", "edge"],
    "backup": ["bootstrap", "security", "data", "edge"],
}
TIMEOUT = 10  # seconds a fake stack waits for another one before the test fails


class Recorder:
    """Fake work: records ("start", stack) and ("end", stack) as the work really runs, and the
    most stacks ever in flight at once."""

    def __init__(self, fail: set[str] = frozenset(), gate: dict[str, threading.Barrier] | None
                 = None):
        self.events: list[tuple[str, str]] = []
        self.fail, self.gate = set(fail), gate or {}
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def __call__(self, stack: str) -> Outcome:
        with self._lock:
            self.events.append(("start", stack))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if stack in self.gate:  # proceeds only once every stack of the barrier runs
                self.gate[stack].wait()
            if stack in self.fail:
                raise StackFailed(stack, "apply", f"Error: {stack} is broken", [])
            return Outcome("applied", f"{stack} done")
        finally:
            with self._lock:
                self.in_flight -= 1
                self.events.append(("end", stack))

    def index(self, kind: str, stack: str) -> int:
        return self.events.index((kind, stack))

    def started(self) -> list[str]:
        return [stack for kind, stack in self.events if kind == "start"]


def layer_graph() -> Graph:
    return Graph.from_dependencies(LAYER_DEPS)


# --- the graph ----------------------------------------------------------------------------


def test_order_puts_every_stack_after_its_dependencies():
    graph = layer_graph()
    assert graph.order[0] == "bootstrap"
    for stack, deps in LAYER_DEPS.items():
        assert all(graph.order.index(d) < graph.order.index(stack) for d in deps), stack
    assert graph.downstream("data") == ["compute", "scaling", "observability", "backup"]
    # bootstrap → security → network → data → compute → scaling: five stacks behind it
    assert graph.heights()["bootstrap"] == 5
    assert graph.heights()["observability"] == 0


def test_a_cycle_is_refused_naming_the_loop():
    with pytest.raises(CycleError) as caught:
        Graph.from_dependencies({"a": [], "b": ["a", "d"], "c": ["b"], "d": ["c"]})
    assert caught.value.cycle == ["b", "d", "c", "b"]
    assert "dependency cycle: b -> d -> c -> b" in str(caught.value)
    with pytest.raises(CycleError):
        Graph.from_dependencies({"a": ["a"]})
    with pytest.raises(ValueError, match="depends on nowhere"):
        Graph.from_dependencies({"a": ["nowhere"]})


def test_stack_order_of_a_cyclic_manifest_says_where(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"stacks": {
        "local-a": {"dependencies": ["local-b"]}, "local-b": {"dependencies": ["local-a"]}}}))
    with pytest.raises(SystemExit, match="dependency cycle: local-a -> local-b -> local-a"):
        stacks_mod.stack_order("local", tmp_path)


def test_a_selection_keeps_only_the_edges_inside_it():
    selected = layer_graph().select(["compute", "network", "data"])
    assert selected.order == ("network", "data", "compute")
    assert selected.deps == {"network": (), "data": ("network",),
                             "compute": ("network", "data")}


# --- the scheduler ------------------------------------------------------------------------


@pytest.mark.parametrize("parallelism", [1, 2, 3, 8])
def test_no_stack_starts_before_its_dependencies_end(parallelism):
    work = Recorder()
    result = schedule.run(layer_graph(), work, parallelism=parallelism, action="deploy")
    assert result.ok and set(result.results) == set(LAYER_DEPS)
    for stack, deps in LAYER_DEPS.items():
        for dep in deps:
            assert work.index("end", dep) < work.index("start", stack), (dep, stack)
    assert work.most_in_flight <= parallelism
    assert [r.status for r in result.results.values()] == ["applied"] * len(LAYER_DEPS)


def test_independent_stacks_run_at_the_same_time():
    """messaging and registry each wait inside their work until the other has started too:
    the run can only finish if both are in flight at once."""
    both = threading.Barrier(2, timeout=TIMEOUT)
    work = Recorder(gate={"messaging": both, "registry": both})
    graph = layer_graph().select(["bootstrap", "security", "messaging", "registry"])
    result = schedule.run(graph, work, parallelism=2)
    assert result.ok, result.table()
    assert work.most_in_flight == 2
    assert max(work.index("start", "messaging"), work.index("start", "registry")) < min(
        work.index("end", "messaging"), work.index("end", "registry"))
    # The scheduler's own events say the same: two starts before either end.
    kinds = [(e.kind, e.stack) for e in result.events if e.kind in ("start", "end")]
    assert kinds[4:6] == [("start", "messaging"), ("start", "registry")]


def test_parallelism_one_is_strictly_sequential():
    work = Recorder()
    result = schedule.run(layer_graph(), work, parallelism=1)
    assert result.ok and work.most_in_flight == 1
    # start a, end a, start b, end b, …: nothing starts before the previous stack ended.
    starts, ends = work.events[::2], work.events[1::2]
    assert [kind for kind, _ in starts] == ["start"] * len(LAYER_DEPS)
    assert [kind for kind, _ in ends] == ["end"] * len(LAYER_DEPS)
    assert [stack for _, stack in starts] == [stack for _, stack in ends]


def test_the_longest_chain_goes_first_among_ready_stacks():
    work = Recorder()
    schedule.run(layer_graph(), work, parallelism=1)
    # After security: network leads to data and compute; messaging/registry/edge wait less.
    assert work.started()[:3] == ["bootstrap", "security", "network"]


def test_a_failed_stack_skips_exactly_its_dependents_and_the_rest_finish():
    work = Recorder(fail={"data"})
    result = schedule.run(layer_graph(), work, parallelism=2, action="deploy")
    assert not result.ok
    statuses = {stack: r.status for stack, r in result.results.items()}
    downstream = {"compute", "scaling", "observability", "backup"}
    assert statuses["data"] == FAILED
    assert {s for s, status in statuses.items() if status == SKIPPED} == downstream
    assert {s for s, status in statuses.items() if status == "applied"} == (
        set(LAYER_DEPS) - downstream - {"data"})
    assert not set(work.started()) & downstream, "a dependent of the failure ran"
    assert result.results["data"].detail == "Error: data is broken"
    assert result.results["data"].seconds is not None
    assert {result.results[s].blocked_by for s in downstream} == {"data"}
    assert all(result.results[s].seconds is None for s in downstream)

    table = result.table()
    rows = {line.split()[0]: line for line in table.splitlines()[2:-1]}
    assert list(rows) == list(layer_graph().order)
    assert re.search(r"^data +failed +\d+\.\ds +Error: data is broken$", rows["data"])
    assert re.search(r"^compute +skipped +- +data failed$", rows["compute"])
    assert re.search(r"^cache +applied +\d+\.\ds +cache done$", rows["cache"])
    assert table.splitlines()[-1].startswith("deploy: 7 applied, 1 failed, 4 skipped in ")


def test_two_failures_each_skip_their_own_dependents():
    work = Recorder(fail={"cache", "edge"})
    result = schedule.run(layer_graph(), work, parallelism=3)
    skipped = {r.stack: r.blocked_by for r in result.with_status(SKIPPED)}
    assert set(skipped) == {"compute", "scaling", "observability", "backup"}
    assert skipped["backup"] == "edge"  # backup needs data and edge: only edge failed
    assert [r.stack for r in result.failed] == ["cache", "edge"]
    assert {"network", "data", "messaging", "registry"} <= {
        r.stack for r in result.with_status("applied")}


def test_destroy_runs_in_reverse_dependency_order():
    work = Recorder()
    result = schedule.run(layer_graph().reversed(), work, parallelism=3, action="destroy")
    assert result.ok
    for stack, deps in LAYER_DEPS.items():
        for dep in deps:  # dep goes only after stack (which needs it) is gone
            assert work.index("end", stack) < work.index("start", dep), (stack, dep)
    assert work.started()[-1] == "bootstrap"


def test_a_failed_destroy_keeps_what_it_depends_on():
    work = Recorder(fail={"compute"})
    result = schedule.run(layer_graph().reversed(), work, parallelism=2, action="destroy")
    kept = {r.stack for r in result.with_status(SKIPPED)}
    # Everything compute needs stays; what only depended on compute is already gone.
    assert kept == {"network", "data", "cache", "messaging", "registry", "edge", "security",
                    "bootstrap"}
    assert {r.stack for r in result.with_status("applied")} == {
        "scaling", "observability", "backup"}


def test_an_interrupted_run_lets_the_running_stack_end_and_starts_nothing_more(monkeypatch):
    calls: list[str] = []

    def work(stack: str) -> Outcome:
        calls.append(stack)
        return Outcome("applied")

    real_wait = schedule.wait
    waits = {"n": 0}

    def interrupting_wait(*args, **kwargs):
        waits["n"] += 1
        if waits["n"] == 2:  # Ctrl-C while security runs
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(schedule, "wait", interrupting_wait)
    result = schedule.run(layer_graph(), work, parallelism=1)
    assert result.interrupted and not result.ok
    assert calls == ["bootstrap", "security"]
    assert result.results["security"].status == "applied"
    assert result.results["network"].status == NOT_ATTEMPTED
    assert "(interrupted)" in result.table().splitlines()[-1]


def test_parallelism_must_be_positive():
    with pytest.raises(ValueError):
        schedule.run(layer_graph(), Recorder(), parallelism=0)


def test_default_parallelism_overlaps_the_emulators_waits_but_stays_bounded():
    assert default_parallelism(True, cpus=1) == 2
    assert default_parallelism(True, cpus=2) == 4
    assert default_parallelism(True, cpus=64) == 4
    assert default_parallelism(False, cpus=2) == 4


# --- the runner over a fake terraform -----------------------------------------------------


class FakeTerraform:
    """Stands in for ``hrsaas.runner.stacks.terraform``: records every call and answers as
    terraform would, failing ``apply`` (or ``plan``) of the stacks in ``fail``."""

    def __init__(self, fail: dict[str, str] | None = None, guard_plan: dict | None = None):
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.fail = fail or {}
        self.guard_plan = guard_plan or {"resource_changes": []}
        self.outputs: dict[str, dict] = {}  # stack → output values (default: its name)
        self._lock = threading.Lock()

    def __call__(self, stack_dir: Path, *args: str, timeout=None, log=None,
                 interactive=False):
        import subprocess

        stack = stack_dir.name
        with self._lock:
            self.calls.append((stack, args))
        command = args[0]
        out, code = "", 0
        if command == "init":
            (stack_dir / ".terraform").mkdir(exist_ok=True)
            out = "Terraform has been successfully initialized!"
        elif self.fail.get(stack) == command:
            out, code = f"│ Error: {stack} cannot {command}\n╵\n", 1
        elif command == "plan":
            out, code = "Plan: 2 to add, 0 to change, 0 to destroy.", (
                2 if "-detailed-exitcode" in args else 0)
            for arg in args:
                if arg.startswith("-out="):
                    Path(arg[5:]).write_text("saved plan")
        elif command == "show":
            out = json.dumps(self.guard_plan if args[-1].endswith(".tfplan") else {})
        elif command == "apply":
            out = "Apply complete! Resources: 3 added, 0 changed, 0 destroyed."
        elif command == "destroy":
            out = "Destroy complete! Resources: 3 destroyed."
        elif command == "output":
            values = self.outputs.get(stack, {"name": stack})
            out = json.dumps({**{k: {"value": v, "sensitive": False} for k, v in values.items()},
                              "secret": {"value": "x", "sensitive": True}})
        return subprocess.CompletedProcess(["terraform", *args], code, out)

    def count(self, command: str) -> Counter[str]:
        return Counter(stack for stack, args in self.calls if args[0] == command)

    def commands(self, stack: str) -> list[str]:
        return [args[0] for s, args in self.calls if s == stack]


def fake_outdir(root: Path, env: str, layers: list[str],
                layer_deps: dict[str, list[str]] = LAYER_DEPS) -> Path:
    """A cdktf.out with the manifest and a minimal cdk.tf.json per stack."""
    outdir = root / "cdktf.out"
    stacks = {}
    for layer in layers:
        stack = f"{env}-{layer}"
        deps = [f"{env}-{d}" for d in layer_deps[layer] if d in layers]
        stacks[stack] = {"dependencies": deps}
        backend = ({"local": {"path": str(root / "state" / f"{layer}.tfstate")}}
                   if layer == "bootstrap" else
                   {"s3": {"bucket": f"{env}-state", "key": f"{env}/{layer}/terraform.tfstate"}})
        directory = outdir / "stacks" / stack
        directory.mkdir(parents=True)
        (directory / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": backend}}))
    (outdir / "manifest.json").write_text(json.dumps({"stacks": stacks}))
    return outdir


class AllStates:
    """StateStore stand-in: the state bucket and every upstream state exist."""

    def __init__(self, env) -> None:
        pass

    def bucket_exists(self, bucket: str) -> bool:
        return True

    def exists(self, bucket: str, key: str) -> bool:
        return True


LOCAL_LAYERS = ["bootstrap", "security", "network", "cache", "messaging", "registry",
                "compute"]


@pytest.fixture
def fake(monkeypatch, tmp_path):
    terraform = FakeTerraform()
    monkeypatch.setattr(stacks_mod, "terraform", terraform)
    monkeypatch.setattr(stacks_mod, "StateStore", AllStates)
    # The Redis AUTH step (hrsaas/runner/redis_auth.py) calls ElastiCache: recorded here as a
    # call after the stack's terraform (tests/test_redis_auth.py tests the step itself).
    monkeypatch.setattr(stacks_mod.redis_auth, "after_apply",
                        lambda env, stack: terraform.calls.append((stack, ("redis-auth",)))
                        if stack.endswith("-cache") else None)
    monkeypatch.setattr(stacks_mod.redis_auth, "after_destroy",
                        lambda env, stack: terraform.calls.append((stack, ("redis-record",)))
                        if stack.endswith("-cache") else False)
    return terraform


def test_the_redis_auth_step_runs_after_cache_applies_and_before_compute(fake, tmp_path):
    outdir = fake_outdir(tmp_path, "local", LOCAL_LAYERS)
    Runner("local", outdir, quiet=True, parallelism=2).deploy()
    assert fake.commands("local-cache") == ["init", "apply", "output", "redis-auth"]
    order = [stack for stack, args in fake.calls]
    step = fake.calls.index(("local-cache", ("redis-auth",)))
    assert step < order.index("local-compute")


def test_deploy_inits_each_stack_once_and_follows_the_graph(fake, tmp_path):
    outdir = fake_outdir(tmp_path, "local", LOCAL_LAYERS)
    runner = Runner("local", outdir, quiet=True, parallelism=2)
    outputs = runner.deploy()
    plan_only = {f"local-{layer}" for layer in LOCAL_LAYERS
                 if layer in stacks_mod.emulator_gaps.PLAN_ONLY_LAYERS}
    assert fake.count("init") == Counter({f"local-{layer}": 1 for layer in LOCAL_LAYERS})
    assert list(outputs) == [s for s in stacks_mod.stack_order("local", outdir)
                             if s not in plan_only]
    assert outputs["local-network"] == {"name": "local-network"}  # sensitive ones left out
    for stack in plan_only:
        assert fake.commands(stack) == ["init", "plan"]
    assert fake.commands("local-network") == ["init", "apply", "output"]
    result = runner.last_result
    assert result.ok and result.parallelism == 2
    assert result.results["local-network"].detail == "3 added"
    starts = [e.stack for e in result.events if e.kind == "start"]
    for e in result.events:
        if e.kind == "start":
            for dep in LAYER_DEPS[e.stack.split("-", 1)[1]]:
                if dep in LOCAL_LAYERS:
                    assert f"local-{dep}" in [x.stack for x in result.events[
                        :result.events.index(e)] if x.kind == "end"]
    assert set(starts) == {f"local-{layer}" for layer in LOCAL_LAYERS}

    # The same runner again (the round trip's re-plan, destroy): no second init.
    runner.plan(save=False, detailed=True)
    runner.destroy()
    assert fake.count("init") == Counter({f"local-{layer}": 1 for layer in LOCAL_LAYERS})


def test_init_runs_again_when_what_it_reads_changed(fake, tmp_path):
    outdir = fake_outdir(tmp_path, "local", ["bootstrap", "security"])
    runner = Runner("local", outdir, quiet=True)
    runner.deploy()
    stack_json = outdir / "stacks" / "local-security" / "cdk.tf.json"
    spec = json.loads(stack_json.read_text())
    spec["terraform"]["backend"]["s3"]["key"] = "moved/terraform.tfstate"
    stack_json.write_text(json.dumps(spec))
    shutil.rmtree(outdir / "stacks" / "local-bootstrap" / ".terraform")
    runner.deploy()
    assert fake.count("init") == Counter({"local-bootstrap": 2, "local-security": 2})


def test_a_failed_stack_stops_only_its_dependents(fake, tmp_path):
    fake.fail["local-messaging"] = "apply"
    outdir = fake_outdir(tmp_path, "local", LOCAL_LAYERS)
    runner = Runner("local", outdir, quiet=True, parallelism=2)
    with pytest.raises(StackFailed) as caught:
        runner.deploy()
    exc = caught.value
    assert (exc.stack, exc.action) == ("local-messaging", "apply")
    assert exc.first_error == "Error: local-messaging cannot apply"
    assert exc.remaining == ["local-compute"]
    assert exc.result is runner.last_result
    statuses = {s: r.status for s, r in exc.result.results.items()}
    assert statuses["local-compute"] == SKIPPED
    assert statuses["local-registry"] == statuses["local-network"] == "applied"
    assert "local-compute" not in {stack for stack, _ in fake.calls}


def test_plan_failure_leaves_its_error_file_and_skips_dependents(fake, tmp_path):
    fake.fail["local-network"] = "plan"
    outdir = fake_outdir(tmp_path, "local", ["bootstrap", "security", "network", "cache",
                                             "registry"])
    runner = Runner("local", outdir, quiet=True, parallelism=2)
    with pytest.raises(StackFailed, match="local-network cannot plan"):
        runner.plan(plans_dir=tmp_path / "plans", detailed=True)
    folder = tmp_path / "plans" / "local"
    assert (folder / "local-network.error.txt").read_text() == (
        "plan failed: Error: local-network cannot plan\n")
    assert (folder / "local-registry.tfplan").exists()
    assert not list(folder.glob("local-cache.*"))  # skipped: it needs network
    assert runner.last_result.results["local-cache"].blocked_by == "local-network"
    assert fake.count("init") == Counter(
        {s: 1 for s in ("local-bootstrap", "local-security", "local-network",
                        "local-registry")})


def test_prod_applies_exactly_the_plan_its_guard_checked(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(Runner, "applied_elsewhere", lambda self, stack, states=None: False)
    outdir = fake_outdir(tmp_path, "prod", ["bootstrap", "security", "network", "data"])
    runner = Runner("prod", outdir, quiet=True, auto_approve=True)
    assert runner.parallelism == 4
    runner.deploy()
    for stack in ("prod-bootstrap", "prod-security", "prod-network", "prod-data"):
        assert fake.commands(stack) == ["init", "plan", "show", "apply", "output"]
        apply = next(args for s, args in fake.calls if s == stack and args[0] == "apply")
        assert apply[-1] == f"{outdir / 'guard' / stack}.tfplan"


def test_the_guard_refuses_and_the_rest_still_deploys(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(Runner, "applied_elsewhere", lambda self, stack, states=None: False)
    fake.guard_plan = {"resource_changes": [{
        "address": "aws_db_instance.db", "type": "aws_db_instance",
        "change": {"actions": ["delete", "create"]}}]}
    outdir = fake_outdir(tmp_path, "prod", ["bootstrap"])
    runner = Runner("prod", outdir, quiet=True, auto_approve=True)
    with pytest.raises(StackFailed) as caught:
        runner.deploy()
    assert caught.value.action == "plan guard"
    assert "apply" not in fake.commands("prod-bootstrap")


def test_a_confirming_deploy_runs_one_stack_at_a_time(fake, tmp_path, monkeypatch):
    monkeypatch.setattr(Runner, "applied_elsewhere", lambda self, stack, states=None: False)
    outdir = fake_outdir(tmp_path, "mvp", ["bootstrap", "security", "messaging", "registry"])
    runner = Runner("mvp", outdir, quiet=True)  # no --auto-approve: terraform asks per stack
    runner.deploy()
    assert runner.last_result.parallelism == 1


DNS_DEPS = {"bootstrap": [], "security": ["bootstrap"], "dns": ["bootstrap", "security"],
            "edge": ["bootstrap", "security", "dns"], "messaging": ["bootstrap", "security"]}
NAME_SERVERS = ["ns-1.awsdns-01.org", "ns-2.awsdns-02.com"]


@pytest.mark.parametrize("delegated", [False, True])
def test_a_real_deploy_stops_after_the_zone_until_the_domain_is_delegated(
        fake, tmp_path, monkeypatch, delegated):
    """hrsaas/runner/delegation.py: the dns stack of a real env fails its delegation check, so
    what waits on DNS (edge) is skipped and the rest (messaging) still deploys."""
    from hrsaas.runner import delegation

    monkeypatch.delenv(delegation.SKIP_VARIABLE, raising=False)
    monkeypatch.setattr(Runner, "applied_elsewhere", lambda self, stack, states=None: False)
    fake.outputs["mvp-dns"] = {"zone_id": "Z1", "domain": "mvp.hr.example.com",
                               "name_servers": NAME_SERVERS}
    outdir = fake_outdir(tmp_path, "mvp", list(DNS_DEPS), DNS_DEPS)
    runner = Runner("mvp", outdir, quiet=True, auto_approve=True)
    asked: list[str] = []
    runner.resolver = lambda domain: asked.append(domain) or (
        set(NAME_SERVERS) if delegated else {"ns.parking.example"})
    if delegated:
        runner.deploy()
        assert runner.last_result.results["mvp-edge"].status == "applied"
    else:
        with pytest.raises(StackFailed) as caught:
            runner.deploy()
        assert (caught.value.stack, caught.value.action) == ("mvp-dns", "delegation check")
        assert "ns-1.awsdns-01.org" in caught.value.first_error
        assert "make deploy ENV=mvp CONFIRM=mvp" in caught.value.first_error
        results = runner.last_result.results
        assert results["mvp-dns"].detail == ("mvp-dns: the zone mvp.hr.example.com exists, but "
                                             "the domain is not delegated to it yet.")
        assert results["mvp-edge"].status == SKIPPED
        assert results["mvp-messaging"].status == "applied"
        assert "mvp-edge" not in {stack for stack, _ in fake.calls}
    assert asked == ["mvp.hr.example.com"]


def test_no_delegation_check_on_the_emulator_or_when_skipped(fake, tmp_path, monkeypatch):
    from hrsaas.runner import delegation

    def no_lookups(domain: str) -> set[str]:
        raise AssertionError("no DNS lookup expected")

    fake.outputs["local-dns"] = {"zone_id": "Z1", "domain": "hr.example.com",
                                 "name_servers": NAME_SERVERS}
    runner = Runner("local", fake_outdir(tmp_path / "local", "local", list(DNS_DEPS), DNS_DEPS),
                    quiet=True)
    runner.resolver = no_lookups
    runner.deploy()
    monkeypatch.setattr(Runner, "applied_elsewhere", lambda self, stack, states=None: False)
    monkeypatch.setenv(delegation.SKIP_VARIABLE, "1")
    fake.outputs["mvp-dns"] = fake.outputs["local-dns"]
    runner = Runner("mvp", fake_outdir(tmp_path / "mvp", "mvp", list(DNS_DEPS), DNS_DEPS),
                    quiet=True, auto_approve=True)
    runner.resolver = no_lookups
    runner.deploy()


def test_the_cli_prints_lines_per_stack_and_the_closing_table(fake, tmp_path, monkeypatch,
                                                                capsys):
    monkeypatch.setattr(stacks_mod, "ensure_emulator", lambda env: None)
    fake.fail["local-messaging"] = "apply"
    outdir = fake_outdir(tmp_path, "local", LOCAL_LAYERS)
    code = stacks_mod.main(["deploy", "--env", "local", "--no-synth", "--outdir", str(outdir),
                            "--parallelism", "2"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "[local-network] deploying\n" in out
    assert re.search(r"^\[local-network\] applied in \d+\.\ds \(3 added\)$", out, re.M)
    assert re.search(r"^\[local-messaging\] FAILED after \d+\.\ds: Error: local-messaging "
                     r"cannot apply$", out, re.M)
    assert "[local-compute] skipped: local-messaging failed" in out
    assert "\x1b[" not in out, "no terminal escapes when stdout is not a terminal"
    table = out[out.index("\nstack "):]
    assert re.search(r"^local-compute +skipped +- +local-messaging failed$", table, re.M)
    assert re.search(r"^local-registry +applied +\d+\.\ds +3 added$", table, re.M)
    assert "FAILED: apply of stack local-messaging: Error: local-messaging cannot apply" in err
    assert "skipped (they depend on it): local-compute" in err
    assert "Traceback" not in err


def test_the_cli_is_hrsaas(capsys):
    with pytest.raises(SystemExit):
        stacks_mod.main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: hrsaas ")
    assert "--parallelism N" in out and "hrsaas deploy  --env local" in out
    with pytest.raises(SystemExit) as caught:
        stacks_mod.main(["deploy", "--parallelism", "0"])
    assert caught.value.code == 2


def test_live_progress_only_on_a_terminal():
    from hrsaas.runner.progress import Reporter

    class Terminal:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

        def isatty(self):
            return True

    screen = Terminal()
    with Reporter("deploying", 3, stream=screen, clock=lambda: 10.0) as reporter:
        reporter.event(schedule.Event("start", "local-network"))
        assert "0/3 done - deploying: local-network 0.0s" in reporter.status()
    assert "[local-network] deploying\n" in screen.text
    assert "\r\x1b[2K" in screen.text  # the status line is redrawn
    plain = Terminal()
    plain.isatty = lambda: False
    with Reporter("deploying", 3, stream=plain) as reporter:
        reporter.event(schedule.Event("start", "local-network"))
    assert plain.text == "[local-network] deploying\n"


@pytest.mark.parametrize("text,short", [
    ("Apply complete! Resources: 5 added, 0 changed, 0 destroyed.\n", "5 added"),
    ("Apply complete! Resources: 1 imported, 0 added, 2 changed, 0 destroyed.\n",
     "1 imported, 2 changed"),
    ("Apply complete! Resources: 0 added, 0 changed, 0 destroyed.\n", "no changes"),
    ("Destroy complete! Resources: 12 destroyed.\n", "12 destroyed"),
    ("Plan: 3 to add, 1 to change, 0 to destroy.\n", "3 to add, 1 to change"),
    ("\nNo changes. Your infrastructure matches the configuration.\n", "no changes"),
])
def test_each_stack_line_says_what_terraform_did(text, short):
    assert stacks_mod._counts(text) == short


# --- on the emulator ----------------------------------------------------------------------
# The real-terraform proof of a parallel deploy along the graph, the reverse destroy and one
# `terraform init` per stack and runner is tests/test_roundtrip.py's deploy and destroy of all
# fourteen local layers (its own graph of four stacks on a moto server of its own was the same
# proof at the price of another deploy).


def test_plans_without_secret_refresh_skip_refresh_only_where_secret_versions_live(fake,
                                                                                   tmp_path):
    """CI's plan role may not call GetSecretValue: ``--no-secret-refresh`` plans a stack that
    manages ``aws_secretsmanager_secret_version`` with ``-refresh=false``, and no other."""
    outdir = fake_outdir(tmp_path, "local", ["bootstrap", "security", "network"])
    security = outdir / "stacks" / "local-security" / "cdk.tf.json"
    spec = json.loads(security.read_text())
    spec["resource"] = {"aws_secretsmanager_secret_version": {"db": {"secret_id": "x"}}}
    security.write_text(json.dumps(spec))

    def plan_args(stack: str) -> tuple[str, ...]:
        [args] = [a for s, a in fake.calls if s == stack and a[0] == "plan"]
        return args

    runner = Runner("local", outdir, quiet=True)
    runner.plan(save=False, detailed=True)
    assert all("-refresh=false" not in plan_args(s) for s in ("local-security", "local-network"))
    fake.calls.clear()
    runner.plan(save=False, detailed=True, refresh_secrets=False)
    assert "-refresh=false" in plan_args("local-security")
    assert "-refresh=false" not in plan_args("local-network")
    assert "not refreshed (secret versions)" in runner.last_result.results["local-security"].detail
    assert "not refreshed" not in runner.last_result.results["local-network"].detail


def self_lock_output(lock_id: str, who: str, created) -> str:
    """Terraform's report of a held lock (-no-color), as it printed the emulator's retry case."""
    return ("Acquiring state lock. This may take a few moments...\n"
            "│ Error: Error acquiring the state lock\n│ \n"
            "│ Error message: operation error DynamoDB: PutItem, https response error\n"
            "│ StatusCode: 400, ConditionalCheckFailedException: The conditional request failed\n"
            f"│ Lock Info:\n│   ID:        {lock_id}\n"
            "│   Path:      hr-saas-local-tfstate-123456789012/local/compute/terraform.tfstate\n"
            f"│   Operation: OperationTypePlan\n│   Who:       {who}\n│   Version:   1.11.4\n"
            f"│   Created:   {created:%Y-%m-%d %H:%M:%S}.332096299 +0000 UTC\n│   Info:\n╵\n")


@pytest.mark.parametrize("env", ["local", "mvp"])
def test_only_a_commands_own_lock_on_the_emulator_is_cleared_and_retried(fake, tmp_path,
                                                                         monkeypatch, env):
    """The emulator's retried lock write leaves the command's own lock: on `local` the runner
    force-unlocks exactly that ID and runs the command once more; a real env never does."""
    import datetime
    import getpass
    import socket
    import subprocess

    me = f"{getpass.getuser()}@{socket.gethostname()}"
    now = datetime.datetime.now(datetime.UTC)
    outdir = fake_outdir(tmp_path, env, ["bootstrap", "security"])
    replies = [self_lock_output("self-1", me, now + datetime.timedelta(seconds=2))]

    def terraform(stack_dir, *args, timeout=None, log=None, interactive=False):
        fake.calls.append((stack_dir.name, args))
        if args[0] == "plan" and replies:
            return subprocess.CompletedProcess(args, 1, replies.pop())
        return subprocess.CompletedProcess(args, 0, "No changes.")

    monkeypatch.setattr(stacks_mod, "terraform", terraform)
    runner = Runner(env, outdir, quiet=True)
    stack = f"{env}-security"
    if env == "local":
        runner.run(stack, "plan", "plan", "-no-color")
        assert [a for s, a in fake.calls] == [("plan", "-no-color"),
                                              ("force-unlock", "-force", "self-1"),
                                              ("plan", "-no-color")]
    else:
        with pytest.raises(StackFailed, match="ID: self-1"):
            runner.run(stack, "plan", "plan", "-no-color")
        assert [a[0] for s, a in fake.calls] == ["plan"]
    # Someone else's lock, or one older than the command, is never touched.
    for who, created in ((f"other@{socket.gethostname()}", now), (me, now - datetime.timedelta(
            minutes=5))):
        fake.calls.clear()
        replies.append(self_lock_output("theirs", who, created))
        with pytest.raises(StackFailed, match="ID: theirs"):
            runner.run(stack, "plan", "plan", "-no-color")
        assert [a[0] for s, a in fake.calls] == ["plan"]


def test_terraform_and_its_providers_get_a_lazier_collector_unless_the_user_chose_one(
        monkeypatch: pytest.MonkeyPatch):
    """GOGC reaches every terraform the runner starts and the providers it starts in turn
    (hrsaas/toolenv.py: a third less CPU per provider start-up); a user's own value wins."""
    monkeypatch.delenv("GOGC", raising=False)
    assert tool_env()["GOGC"] == "400"
    monkeypatch.setenv("GOGC", "150")
    assert tool_env()["GOGC"] == "150"
