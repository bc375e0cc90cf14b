"""Shared fixtures: one synthesis per test run, a moto server per test that applies.

Synthesis pays the jsii start-up once per *run*: the suite runs on pytest-xdist workers
(pyproject.toml), and the first worker that needs the synthesis writes it into the run's shared
temporary folder under a file lock; the others wait for it and read the same folder.

The session synthesis points `local` at a run-wide loopback endpoint where nothing listens.
Every test that applies gets its own moto server (tests/own_emulator.py) and a copy of the
`local` stacks pointed at that server — never a server another test applies to, so the round
trip's "destroy leaves nothing" sees only what the round trip made, whatever runs beside it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hrsaas.emulator import server as emulator
from hrsaas.toolenv import PYTHON, ROOT, tool_env

ENV_VARS = ("HRSAAS_EMULATOR_ENDPOINT", "HRSAAS_STATE_DIR")
# What the session synthesis was made for, next to it (tests/own_emulator.py rewrites from it).
SYNTHESIZED_FOR = "synthesized-for.json"

# Longest emulator modules first: pytest-xdist (--dist loadfile) hands out files in collection
# order, so the longest chains start at once and the short files fill the other workers around
# them (longest-processing-time-first scheduling). Names are module file names.
HEAVY_FIRST = ("test_roundtrip.py", "test_reliability.py", "test_plan_summary.py",
               "test_fresh_plans.py", "test_saved_plan.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Move the heavy modules to the front, keeping every module's own order (the round trip
    relies on file order) and the order of everything else."""
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return HEAVY_FIRST.index(name) if name in HEAVY_FIRST else len(HEAVY_FIRST)

    items.sort(key=rank)  # stable


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between the xdist workers of one run (flock: released if a worker
    dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every worker of this run shares: the parent of the per-worker temporary
    folders under xdist, the temporary folder itself without it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def run_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The run-wide emulator endpoint and state folder `local` is synthesized for: chosen by the
    first worker, read by the others (the same values in every worker, so any worker's fresh
    synthesis equals the shared one)."""
    shared = run_folder(tmp_path_factory)
    record = shared / "run-settings.json"
    with file_lock(shared / "run-settings.lock"):
        if not record.exists():
            settings = {"HRSAAS_EMULATOR_ENDPOINT": f"http://127.0.0.1:{emulator.free_port()}",
                        "HRSAAS_STATE_DIR": str(shared / "state")}
            (shared / "state").mkdir(exist_ok=True)
            record.write_text(json.dumps(settings))
        return json.loads(record.read_text())


@pytest.fixture(scope="session")
def state_dir(run_settings: dict[str, str]) -> Path:
    return Path(run_settings["HRSAAS_STATE_DIR"])


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(run_settings: dict[str, str]) -> Iterator[None]:
    """Every test sees the run's endpoint and state folder, never the developer's
    ``make deploy`` state."""
    saved = {k: os.environ.get(k) for k in ENV_VARS}
    os.environ.update(run_settings)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def start_synthesis(outdir: Path, extra_env: dict[str, str] | None = None
                    ) -> subprocess.Popen[str]:
    """main.py into ``outdir`` with ``extra_env``, in a process of its own."""
    env = tool_env({"CDKTF_OUTDIR": str(outdir), **(extra_env or {})})
    return subprocess.Popen([str(PYTHON), str(ROOT / "main.py")], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_synthesis(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        out, err = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def synthesize(outdir: Path, extra_env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    return finish_synthesis(start_synthesis(outdir, extra_env))


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory, run_settings: dict[str, str],
              _isolated_environment: None) -> Path:
    """cdktf.out of every environment, synthesized once for the whole run (all workers).

    The run's second synthesis (``variant_synth``) is made beside it, in a process of its own:
    a synthesis keeps one core busy, and the other workers wait for this one anyway."""
    folder = run_folder(tmp_path_factory)
    shared = folder / "session-synth"
    outdir = shared / "cdktf.out"
    failed = shared / "failed.txt"  # one failure, reported by every worker that needs it
    shared.mkdir(parents=True, exist_ok=True)
    with file_lock(folder / "session-synth.lock"):
        if not (shared / SYNTHESIZED_FOR).exists() and not failed.exists():
            with file_lock(folder / "variant-synth.lock"):
                variant = _VariantSynth(folder)
                variant.start()
                result = synthesize(outdir, run_settings)
                variant.finish()
            if result.returncode != 0:
                failed.write_text(result.stdout + result.stderr)
            else:
                (shared / SYNTHESIZED_FOR).write_text(json.dumps(run_settings))
    assert not failed.exists(), f"synthesis failed:\n{failed.read_text()}"
    return outdir


# Environments the tests add to a copy of envs/ (one file each), synthesized with the
# checked-in ones in one process for the whole run (``variant_synth``): each such test used to
# pay a jsii start-up and a synthesis of its own.
VARIANT_NAMES = ('[edge]\ndomain = "{name}.hr.example.com"\n'
                 'frontend_aliases = ["{name}.hr.example.com"]\n'
                 'api_name = "api.{name}.hr.example.com"\n')
VARIANTS = {
    # The MVP shape in an account of its own: a new environment is a new file (test_config),
    # and the gate judges it by its settings, not its name (test_gate).
    "staging": '# staging: the MVP shape in its own account\nextends = "mvp"\n'
               'account_id = "333333333333"\n' + VARIANT_NAMES.format(name="staging"),
    # Read replicas are a knob with their alarms (test_operations).
    "replicas": 'extends = "mvp"\naccount_id = "444444444444"\n'
                + VARIANT_NAMES.format(name="replicas") +
                '[database]\nread_replicas = 2\nread_replica_class = "db.t3.large"\n'
                '# 7 services at up to 3 tasks, doubled in rolling deploys: the budget needs 650\n'
                'max_connections = 700\n'
                '[services.task_count]\nmin_tasks = 1\nmax_tasks = 3\n',
}


class _VariantSynth:
    """The run's second synthesis (``variant_synth``), made by whichever worker gets there first
    while holding ``variant-synth.lock``; ``start`` does nothing when it is already made."""

    def __init__(self, folder: Path):
        from hrsaas.config import ENVS_DIR

        self.envs_dir = ENVS_DIR
        self.shared = folder / "variant-synth"
        self.record, self.failed = self.shared / "made-with.json", self.shared / "failed.txt"
        self.settings = {
            "HRSAAS_EMULATOR_ENDPOINT": f"http://127.0.0.1:{emulator.free_port()}",
            "HRSAAS_STATE_DIR": str(self.shared / "elsewhere" / "state"),
            "HRSAAS_ENVS_DIR": str(self.shared / "envs"),
            "HRSAAS_ENVS": ",".join(["local", "mvp", *VARIANTS]),
            "out": str(self.shared / "cdktf.out")}
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        if self.record.exists() or self.failed.exists():
            return
        shutil.rmtree(self.shared, ignore_errors=True)
        self.shared.mkdir(parents=True)
        shutil.copytree(self.envs_dir, self.settings["HRSAAS_ENVS_DIR"])
        for name, text in VARIANTS.items():
            (self.shared / "envs" / f"{name}.toml").write_text(text)
        self.process = start_synthesis(Path(self.settings["out"]), {
            k: v for k, v in self.settings.items() if k != "out"})

    def finish(self) -> None:
        if self.process is None:
            return
        result = finish_synthesis(self.process)
        if result.returncode != 0:
            self.failed.write_text(result.stdout + result.stderr)
        else:
            self.record.write_text(json.dumps(self.settings))


@pytest.fixture(scope="session")
def variant_synth(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A second real synthesis, made once per run in one process (beside the session's, see
    ``synth_dir``): `local` and `mvp` again, for another emulator endpoint and state folder
    (what a second run of the same code writes), and the ``VARIANTS`` environments, from a copy
    of envs/ plus one file each (``HRSAAS_ENVS_DIR``).

    Returns the settings it was made with; ``out`` is its cdktf.out."""
    folder = run_folder(tmp_path_factory)
    variant = _VariantSynth(folder)
    with file_lock(folder / "variant-synth.lock"):
        variant.start()
        variant.finish()
    assert not variant.failed.exists(), (
        f"variant synthesis failed:\n{variant.failed.read_text()}")
    return json.loads(variant.record.read_text())


class Stack:
    """A synthesized stack's JSON with helpers to find resources by type."""

    def __init__(self, path: Path):
        self.path = path
        self.json = json.loads(path.read_text())

    def resources(self, kind: str) -> dict[str, dict]:
        return self.json.get("resource", {}).get(kind, {})

    def data(self, kind: str) -> dict[str, dict]:
        return self.json.get("data", {}).get(kind, {})

    def one(self, kind: str) -> dict:
        found = self.resources(kind)
        assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
        return next(iter(found.values()))

    def by_tag(self, kind: str, name: str) -> tuple[str, dict]:
        """(address, body) of the ``kind`` resource whose Name tag is ``name``."""
        found = [(f"{kind}.{rid}", body) for rid, body in self.resources(kind).items()
                 if body.get("tags", {}).get("Name") == name]
        assert len(found) == 1, f"{kind} named {name}: {[a for a, _ in found]}"
        return found[0]

    def deref(self, reference: str) -> tuple[str, dict]:
        """``${aws_x.id.attr}`` → (``aws_x.id``, the resource body)."""
        kind, rid = reference.removeprefix("${").split(".")[:2]
        return f"{kind}.{rid}", self.resources(kind)[rid]

    def policy_document(self, reference: str) -> dict:
        """The aws_iam_policy_document data source a ``${data….json}`` reference names."""
        name = reference.split(".")[2]
        return self.data("aws_iam_policy_document")[name]


@pytest.fixture(scope="session")
def stack(synth_dir: Path):
    cache: dict[str, Stack] = {}

    def load(stack_id: str) -> Stack:
        if stack_id not in cache:
            cache[stack_id] = Stack(synth_dir / "stacks" / stack_id / "cdk.tf.json")
        return cache[stack_id]

    return load


@pytest.fixture
def own_moto(synth_dir: Path, tmp_path: Path):
    """A moto server of this test and `local` pointed at it (tests/own_emulator.py): the
    endpoint, with the two variables that select it set while the test runs."""
    from tests.own_emulator import own_emulator

    with own_emulator(tmp_path / "emulator", tmp_path / "emulator" / "cdktf.out",
                      synth_dir) as moto:
        yield moto
