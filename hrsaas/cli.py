"""``hrsaas``: the one command line of the product (installed into .venv by ``make setup``).

    hrsaas --help                     every subcommand with its purpose
    hrsaas synth                      every environment into cdktf.out/stacks/<env>-<layer>/
    hrsaas deploy --env local         the main job (starts the local emulator)
    hrsaas deploy --help              a subcommand's own options and examples

Each subcommand hands its arguments to the subsystem that owns it (its parser, its ``--help``
with examples, its exit codes): the runner (``hrsaas.runner``), the gate (``hrsaas.gate``),
cost (``hrsaas.cost``), review (``hrsaas.review``) and the emulator (``hrsaas.emulator``). This
module imports none of them until a subcommand runs, and nothing here loads cdktf: only
``synth`` pays the jsii start-up, in its own process.

Exit codes are the subsystems' own: 0 success, 1 a failed step (a stack, the gate, a drift),
2 bad input (configuration or arguments).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from .toolenv import PYTHON, ROOT, tool_env

# Subcommands that pass their arguments straight to a subsystem's ``main(argv)``.
PASS_THROUGH = {
    "context_settings": {"ignore_unknown_options": True, "allow_extra_args": True,
                         "help_option_names": []},
    "add_help_option": False,
}


def _run_main(target: str, argv: Sequence[str]) -> int:
    """Call ``module:function`` with argv; SystemExit codes pass through unchanged."""
    module_name, _, function = target.partition(":")
    main = getattr(importlib.import_module(module_name), function or "main")
    # A parser without its own prog names itself after argv[0]: make that the command a user
    # typed (`hrsaas outputs`), never the module file.
    saved, sys.argv[0] = sys.argv[0], f"hrsaas {argv[0]}" if argv and not argv[0].startswith(
        "-") else "hrsaas"
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse and the subsystems exit this way
        code = exc.code
    finally:
        sys.argv[0] = saved
    if isinstance(code, str):  # SystemExit("message"): print it as the subsystem meant
        click.echo(code, err=True)
        return 1
    return int(code or 0)


def _pass_through(name: str, target: str, summary: str, prefix: Sequence[str] = ()
                  ) -> click.Command:
    @click.command(name=name, help=summary, short_help=summary, **PASS_THROUGH)
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        sys.exit(_run_main(target, [*prefix, *args]))

    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog="Run `hrsaas <command> --help` for a command's options and examples. "
                    "The Makefile targets are one-line aliases of these commands.")
def cli() -> None:
    """hr-saas-infra: synthesize, check, plan, deploy and cost the HR SaaS platform on AWS."""


@cli.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env", "envs", multiple=True, metavar="ENV",
              help="Only these environments (repeatable; default: every envs/*.toml).")
@click.option("--outdir", type=click.Path(path_type=Path), default=ROOT / "cdktf.out",
              show_default="cdktf.out", help="Where the stacks are written.")
def synth(envs: tuple[str, ...], outdir: Path) -> None:
    """Synthesize environments into cdktf.out/stacks/<env>-<layer>/.

    \b
    Examples:
      hrsaas synth                  every environment (one jsii start-up for all)
      hrsaas synth --env prod       only prod (the other environments' stacks are removed)

    Invalid configuration stops before anything is written (exit 2), every problem listed.
    """
    env = tool_env({"CDKTF_OUTDIR": str(outdir)})
    if envs:
        env["HRSAAS_ENVS"] = ",".join(envs)
    sys.exit(subprocess.run([str(PYTHON), str(ROOT / "main.py")], cwd=ROOT, env=env).returncode)


@cli.command(**PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def scan(args: tuple[str, ...]) -> None:
    """The security gate: checkov, the rule pack and `terraform validate` over the synthesized
    stacks (and checkov over saved plans).

    Without arguments: checkov over the synthesized stacks, the rule pack (AWS constraints,
    docs/rules.md) over every environment's stacks at once, `terraform validate` of the real
    environments' stacks, then checkov over the saved plans when plans/ holds some (what
    `make scan` runs). With arguments they go to checkov's gate (`hrsaas scan --help`).
    """
    if args and args not in (("--verbose",), ("-v",)):
        sys.exit(_run_main("hrsaas.gate.checkov:main", args))
    stacks = ROOT / "cdktf.out" / "stacks"
    code = _run_main("hrsaas.gate.checkov:main", [str(stacks), *args])
    if code == 0:
        code = _run_main("hrsaas.gate.rulepack:main", [str(stacks), *args])
    if code == 0:
        from .config import load_environment
        from .gate import terraform_validate

        envs = sorted({p.name.rsplit("-", 1)[0] for p in stacks.iterdir() if p.is_dir()})
        real = [e for e in envs if not load_environment(e).is_emulated]
        code = terraform_validate.main(stacks, real)
    if code == 0 and any((ROOT / "plans").glob("*/*.json")):
        code = _run_main("hrsaas.gate.checkov:main",
                         [str(ROOT / "plans"), "--framework", "terraform_plan", "--reports",
                          str(ROOT / "reports" / "plans"), *args])
    sys.exit(code)


for _name, _summary in (
        ("deploy", "Apply an environment's stacks in dependency order (ENV defaults to local)."),
        ("destroy", "Destroy an environment's stacks in reverse dependency order."),
        ("plan", "Plan every stack of an environment into plans/<env>/ (saved plan, JSON, text)."),
        ("outputs", "Print an applied environment's non-sensitive outputs.")):
    cli.add_command(_pass_through(_name, "hrsaas.runner.stacks:main", _summary, prefix=[_name]))

cli.add_command(_pass_through(
    "cost", "hrsaas.cost.cli:main",
    "Monthly cost estimate of an environment, or the cost diff of saved plans (cost diff)."))
cli.add_command(_pass_through(
    "summary", "hrsaas.review.summary:main",
    "Render saved plans (with the gate's verdict and the cost diff) as one PR comment."))
cli.add_command(_pass_through(
    "ci", "hrsaas.review.ci_matrix:main",
    "CI helpers: the plan matrix, an environment's roles, drift verdicts, plan redaction."))
cli.add_command(_pass_through(
    "guard", "hrsaas.runner.guard:main",
    "Check a saved plan JSON for destroyed or replaced stateful resources."))
cli.add_command(_pass_through(
    "apply-plan", "hrsaas.runner.saved_plan:main",
    "Apply the saved plans a person reviewed; refuse stale or changed ones, saying why."))
cli.add_command(_pass_through(
    "plan-fingerprints", "hrsaas.runner.saved_plan:fingerprints_main",
    "Fingerprints of saved plans: the PR comment's hidden block, or a check against it."))
cli.add_command(_pass_through(
    "redis-auth", "hrsaas.runner.redis_auth:main",
    "Put the hr-saas/redis token on the cache (the deploy does it); --finish a rotation."))
cli.add_command(_pass_through(
    "bench", "hrsaas.devtools.bench:main",
    "Benchmarks: start-up, synth, scan and the local round trip (medians)."))
cli.add_command(_pass_through(
    "docs", "hrsaas.devtools.docs:main",
    "Regenerate (or --check) the Inputs tables of modules/*/README.md."))
cli.add_command(_pass_through(
    "github-settings", "hrsaas.devtools.github_settings:main",
    "Show (or --apply) the repository's GitHub settings: OIDC sub, environments, main's rules."))


# --- the local emulator -------------------------------------------------------------------------

def _local_endpoint(env_name: str) -> str:
    from .config import ConfigError, load_environment

    try:
        env = load_environment(env_name)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if env.emulator is None:
        raise click.UsageError(f"environment {env_name!r} is a real AWS account, not the "
                               "emulator: pick an environment with an [emulator] table")
    return env.emulator.endpoint


def _server_pids(endpoint: str) -> list[int]:
    from urllib.parse import urlparse

    url = urlparse(endpoint)
    pattern = f"hrsaas.emulator.launch -H {url.hostname} -p {url.port}"
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split() if int(pid) != os.getpid()]


@cli.group()
def emulator() -> None:
    """The local AWS emulator (moto with the project's extensions) on loopback."""


_ENV_OPTION = click.option("--env", "env_name", default="local", show_default=True,
                           help="The emulated environment whose endpoint to use.")


@emulator.command("start")
@_ENV_OPTION
def emulator_start(env_name: str) -> None:
    """Start the emulator (no-op when it already answers); it keeps running in the background."""
    from .emulator import server

    endpoint = _local_endpoint(env_name)
    emu = server.start(endpoint, ROOT / ".state" / env_name / "moto.log", detach=True)
    state = f"started (pid {emu.process.pid})" if emu.process else "already running"
    click.echo(f"emulator {state} on {endpoint}; log: .state/{env_name}/moto.log")


@emulator.command("stop")
@_ENV_OPTION
def emulator_stop(env_name: str) -> None:
    """Stop the emulator the project started on the environment's endpoint."""
    import signal

    endpoint = _local_endpoint(env_name)
    pids = _server_pids(endpoint)
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    click.echo(f"emulator on {endpoint} stopped" if pids else f"no emulator on {endpoint}")


@emulator.command("status")
@_ENV_OPTION
def emulator_status(env_name: str) -> None:
    """Say whether the emulator answers (exit 0) or not (exit 1)."""
    from .emulator import server

    endpoint = _local_endpoint(env_name)
    if server.is_up(endpoint):
        pids = _server_pids(endpoint)
        owner = f" (pid {', '.join(map(str, pids))})" if pids else " (not started by hrsaas)"
        click.echo(f"emulator answers on {endpoint}{owner}")
        return
    click.echo(f"no emulator on {endpoint}: `hrsaas emulator start`")
    sys.exit(1)


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry (``.venv/bin/hrsaas``): the project's tool environment (terraform's
    config file, Node for jsii) applies without sourcing anything."""
    os.environ.update(tool_env())
    try:
        cli.main(args=list(sys.argv[1:] if argv is None else argv), prog_name="hrsaas")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        click.echo(str(exc.code), err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
