"""make bench: medians of the fixed costs, measured in fresh processes (never in tests).

    hrsaas bench [--runs 3] [--roundtrip-runs 1] [--skip-roundtrip] [--eager]

- start-up: a fresh Python process that imports cdktf and loads the AWS provider's jsii
  assembly (what every synthesis pays once);
- synth: ``main.py`` for every environment (one process, one start-up);
- scan: the checkov gate over those stacks;
- round trip: the local environment deployed on a fresh moto server, re-planned, destroyed;
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


def roundtrip_once(tmp: Path) -> float:
    from . import emulator
    from .stacks import Runner, synth

    endpoint = f"http://127.0.0.1:{emulator.free_port()}"
    extra = {"HRSAAS_EMULATOR_ENDPOINT": endpoint, "HRSAAS_STATE_DIR": str(tmp / "state")}
    os.environ.update(extra)
    outdir = tmp / "out"
    synth(["local"], outdir, extra)
    server = emulator.start(endpoint, tmp / "moto.log")
    try:
        started = time.perf_counter()
        runner = Runner("local", outdir, quiet=True)
        runner.deploy()
        codes = runner.plan(save=False, detailed=True)
        if any(codes.values()):
            raise SystemExit(f"drift after apply: {codes}")
        runner.destroy()
        return time.perf_counter() - started
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--roundtrip-runs", type=int, default=1)
    parser.add_argument("--skip-roundtrip", action="store_true")
    parser.add_argument("--eager", action="store_true")
    args = parser.parse_args(argv)
    rows: list[tuple[str, float, list[float]]] = []
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
        if not args.skip_roundtrip:
            samples = [roundtrip_once(tmp / f"rt{i}") for i in range(args.roundtrip_runs)]
            rows.append(("local round trip (deploy, re-plan, destroy)",
                         statistics.median(samples), samples))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  median   runs")
    for name, median, samples in rows:
        print(f"{name:<{width}}  {median:6.1f}s  {', '.join(f'{s:.1f}' for s in samples)}")
    startup = rows[0][1]
    synth = next(r[1] for r in rows if r[0].startswith("synth"))
    print(f"synth / start-up = {synth / startup:.2f} (target < 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
