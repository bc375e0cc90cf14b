"""The cdktf app: synthesize every environment's layer stacks into cdktf.out/stacks/<env>-<layer>/.

One process, one jsii start-up, all environments (``hrsaas synth``, ``make synth`` and
``cdktf synth`` all run this file). ``HRSAAS_ENVS=local,mvp`` narrows the set; stacks of other
environments are then removed from the output folder, so nothing stale is scanned or deployed.
Invalid configuration stops here, before anything is written, with every problem listed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from hrsaas.config import ConfigError, load_environments


def main() -> int:
    started = time.monotonic()
    names = [n for n in os.environ.get("HRSAAS_ENVS", "").split(",") if n] or None
    try:
        envs = load_environments(names)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    # Imported after validation: bad config is reported without paying the jsii start-up.
    from hrsaas.layers import build_environment
    from hrsaas.tf import App

    outdir = Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    log(f"synth: {len(envs)} environment(s) into {outdir}/stacks "
        f"(configuration valid in {time.monotonic() - started:.1f}s)")
    app = App(outdir=str(outdir))
    for env in envs:
        env_started = time.monotonic()
        stacks = build_environment(app, env)
        log(f"  {env.name:<10} {len(stacks)} stacks built in {time.monotonic() - env_started:.1f}s")
    app.synth()
    removed = remove_stale_stacks(outdir)
    log(f"synth: done in {time.monotonic() - started:.1f}s"
        + (f" (removed {len(removed)} stale stack folder(s))" if removed else ""))
    return 0


def remove_stale_stacks(outdir: Path) -> list[str]:
    """Stack folders the manifest does not list (a narrowed or earlier synth) are removed."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    stacks_dir = outdir / "stacks"
    stale = sorted(p.name for p in stacks_dir.iterdir()
                   if p.is_dir() and p.name not in manifest["stacks"])
    for name in stale:
        shutil.rmtree(stacks_dir / name)
    return stale


def log(message: str) -> None:
    # stderr: `cdktf synth` and scripts that read stdout are not disturbed.
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
