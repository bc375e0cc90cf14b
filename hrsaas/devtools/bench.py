"""make bench: medians of the fixed costs, measured in fresh processes (never in tests).

    hrsaas bench [--runs 3] [--roundtrip-runs 1] [--skip-roundtrip] [--eager]
                 [--tiers] [--suite]

- start-up: a fresh Python process that imports cdktf and loads the AWS provider's jsii
  assembly (what every synthesis pays once);
- synth: ``main.py`` for every environment (one process, one start-up);
- scan: the checkov gate over those stacks;
- round trip: the local environment deployed on a fresh moto server (an empty emulator, the
  ``make deploy`` budget), re-planned, destroyed — each phase timed on its own;
- ``--tiers``: the unit tier (``pytest -m "not emulator"``, the ``make test-fast`` budget);
- ``--suite``: the whole suite (``pytest``, the ``make test`` budget; it starts its own moto);
- ``--eager``: also the start-up with the bindings' own eager ``__init__`` (all 2,135 modules).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..toolenv import PYTHON, ROOT, tool_env

STARTUP = "from hrsaas.tf import aws; aws.provider.AwsProvider"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def median_of(runs: int, cmd: list[str], env: dict[str, str]) -> tuple[float, list[float]]:
    samples = [timed(cmd, env) for _ in range(runs)]
    return statistics.median(samples), samples


def roundtrip_once(tmp: Path) -> dict[str, float]:
    """Deploy ``local`` on an empty emulator, re-plan it, destroy it: seconds per phase."""
    from ..emulator import server as emulator
    from ..runner.stacks import Runner, synth

    tmp.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://127.0.0.1:{emulator.free_port()}"
    extra = {"HRSAAS_EMULATOR_ENDPOINT": endpoint, "HRSAAS_STATE_DIR": str(tmp / "state")}
    os.environ.update(extra)
    outdir = tmp / "out"
    synth(["local"], outdir, extra)
    server = emulator.start(endpoint, tmp / "moto.log")
    phases: dict[str, float] = {}
    try:
        runner = Runner("local", outdir, quiet=True)
        started = time.perf_counter()
        runner.deploy()
        phases["deploy"] = time.perf_counter() - started
        started = time.perf_counter()
        codes = runner.plan(save=False, detailed=True)
        phases["re-plan"] = time.perf_counter() - started
        if any(codes.values()):
            raise SystemExit(f"drift after apply: {codes}")
        started = time.perf_counter()
        runner.destroy()
        phases["destroy"] = time.perf_counter() - started
        return phases
    finally:
        server.stop()


class Figures(list):
    """The measured rows, each printed as it is measured: a long bench shows its progress, and a
    failure later on keeps what was measured before it."""

    def append(self, row: tuple[str, float, list[float]]) -> None:
        super().append(row)
        name, median, samples = row
        print(f"{name:<46}  {median:7.1f}s  {', '.join(f'{x:.1f}' for x in samples)}",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--roundtrip-runs", type=int, default=1)
    parser.add_argument("--skip-roundtrip", action="store_true")
    parser.add_argument("--eager", action="store_true")
    parser.add_argument("--tiers", action="store_true",
                        help="also time the unit tier (pytest -m 'not emulator')")
    parser.add_argument("--suite", action="store_true",
                        help="also time the whole suite (pytest; tens of minutes)")
    args = parser.parse_args(argv)
    rows = Figures()
    print(f"{'measure':<46}  {'median':>8}  runs", flush=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        env = tool_env({"CDKTF_OUTDIR": str(tmp / "synth")})
        rows.append(("jsii start-up (import + AWS assembly)",
                     *median_of(args.runs, [str(PYTHON), "-c", STARTUP], env)))
        if args.eager:
            eager = tool_env({"HRSAAS_EAGER_BINDINGS": "1"})
            rows.append(("start-up with the eager bindings import",
                         *median_of(1, [str(PYTHON), "-c", STARTUP], eager)))
        rows.append(("synth, every environment",
                     *median_of(args.runs, [str(PYTHON), "main.py"], env)))
        rows.append(("checkov gate over every stack",
                     *median_of(args.runs, [str(PYTHON), "-m", "hrsaas.gate.checkov",
                                            str(tmp / "synth" / "stacks")], env)))
        pytest = [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        if args.tiers:
            rows.append(("unit tier (make test-fast)",
                         *median_of(1, [*pytest, "-m", "not emulator"], tool_env())))
        if args.suite:
            rows.append(("whole suite (make test)", *median_of(1, pytest, tool_env())))
        if not args.skip_roundtrip:
            runs = [roundtrip_once(tmp / f"rt{i}") for i in range(args.roundtrip_runs)]
            for phase, label in (("deploy", "local deploy, empty emulator, every layer"),
                                 ("re-plan", "local re-plan after it (no changes)"),
                                 ("destroy", "local destroy, every layer")):
                samples = [r[phase] for r in runs]
                rows.append((label, statistics.median(samples), samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
