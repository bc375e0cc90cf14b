"""Synthesize every environment's layer stacks into cdktf.out/stacks/<env>-<layer>/.

One process, one jsii start-up, all environments. ``HRSAAS_ENVS=local,mvp`` narrows the set.
Invalid configuration stops here, before anything is synthesized, with every problem listed.
"""

from __future__ import annotations

import os
import sys

from hrsaas.config import ConfigError, load_environments


def main() -> int:
    names = [n for n in os.environ.get("HRSAAS_ENVS", "").split(",") if n] or None
    try:
        envs = load_environments(names)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    # Imported after validation: bad config is reported without paying the jsii start-up.
    from hrsaas.layers import build_environment
    from hrsaas.tf import App

    app = App(outdir=os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
    for env in envs:
        build_environment(app, env)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
