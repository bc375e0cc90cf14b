"""The project's emulator launcher: moto's own server with the project's extensions loaded.

    python -m hrsaas.emulator.launch -H 127.0.0.1 -p 4566

Every module in ``hrsaas/emulator/extensions/`` defines ``install()``, which adds behaviour moto
lacks (an API, a response field, an idempotency rule) by registering it on moto's backends and
response classes before the server starts. Each extension is written against the AWS API
reference and botocore's service model, has its own boto3 tests, and could be offered upstream.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence

from . import extensions


def installed_extensions() -> list[str]:
    """Import and install every extension; the names, in load order."""
    names = []
    for info in sorted(pkgutil.iter_modules(extensions.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{extensions.__name__}.{info.name}")
        module.install()
        names.append(info.name)
    return names


def main(argv: Sequence[str] | None = None) -> None:
    names = installed_extensions()
    print(f"hrsaas emulator extensions: {', '.join(names) or 'none'}", flush=True)
    from moto.server import main as moto_main

    moto_main(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
