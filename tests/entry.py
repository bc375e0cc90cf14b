"""The `hrsaas` command as a user runs it, for every test that exercises a subcommand.

- ``hrsaas(...)`` runs the console script ``.venv/bin/hrsaas`` (what ``make setup`` installs
  and a user types) as a process: argument parsing, environment, output and exit code exactly
  as in a shell;
- ``invoke(...)`` calls the function that console script calls (``hrsaas.cli:main``) in this
  process, with the same arguments and exit codes: for tests that replace a collaborator
  (``monkeypatch``) or read the output with ``capsys``. It never calls a subsystem's ``main``
  directly, so the dispatch, ``--help`` names and exit-code mapping of the CLI are always in
  the path.
"""

from __future__ import annotations

import subprocess

from hrsaas import cli
from hrsaas.toolenv import HRSAAS, ROOT, tool_env


def hrsaas(*args: str, env: dict[str, str] | None = None, timeout: float = 300
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HRSAAS), *args], cwd=ROOT, env=tool_env(env),
                          capture_output=True, text=True, timeout=timeout)


def invoke(*args: str) -> int:
    return cli.main(list(args))
