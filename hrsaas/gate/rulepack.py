"""The rule pack gate: AWS constraints that neither the emulator nor ``terraform validate``
enforces (hrsaas/gate/rules, listed in docs/rules.md), over every synthesized stack at once.

    hrsaas scan                                   # checkov, then this, then terraform validate
    python -m hrsaas.gate.rulepack                # cdktf.out/stacks, every environment
    python -m hrsaas.gate.rulepack cdktf.out/stacks --verbose   # per-rule counts, suppressed

The verdict comes first (PASSED/FAILED and the counts), then each unsuppressed finding with its
fix and the AWS documentation of the rule. Exceptions live in checkov/suppressions.toml with
checkov's: an entry whose ``check`` is a rule ID (``HRS005``) applies to the rule pack only, with
the same ``stacks`` layer globs, ``when`` conditions on what the environment is, ``resource``
glob and required reason (hrsaas.gate.checkov loads the file for both). It fails (exit 1) on:

* any finding no suppression entry matches;
* a stale entry (a rule-pack entry that matched nothing although the scan covered stacks it
  selects), an entry naming a rule the pack does not have, a malformed suppression file;
* zero stacks found, unreadable stack JSON, a rule that crashed, or zero subjects checked by
  the whole pack (nothing it knows was in the stacks: never a pass);
* a stack whose environment is not in envs/ when entries with conditions select its layer.

The verdict is also written to ``<reports>/rulepack_summary.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..toolenv import ROOT
from . import checkov
from .checkov import (
    DEFAULT_REPORTS,
    DEFAULT_SUPPRESSIONS,
    RULEPACK,
    Environments,
    GateError,
    Suppression,
    _plural,
    discover,
    headline,
    load_suppressions,
    needs_environments,
    stack_environments,
)
from .rules import Finding, RegistryError, Rule, Stacks, registry

DEFAULT_TARGET = ROOT / "cdktf.out" / "stacks"


@dataclasses.dataclass
class RuleCounts:
    checked: int = 0
    failed: int = 0
    suppressed: int = 0


@dataclasses.dataclass
class Verdict:
    stacks: int
    counts: dict[str, RuleCounts]
    failures: list[Finding]
    suppressed: list[tuple[Finding, Suppression]]
    stale: list[Suppression]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not (self.failures or self.stale or self.problems)

    @property
    def checked(self) -> int:
        return sum(c.checked for c in self.counts.values())


def evaluate(stacks: Stacks, suppressions: Sequence[Suppression],
             environments: Environments | None = None,
             rules: Sequence[Rule] | None = None, problems: Sequence[str] = ()) -> Verdict:
    """Run every rule over the stacks and apply the rule-pack entries of the suppression file.
    ``environments`` maps each stack to its Environment for ``when`` conditions (loaded here
    when needed and not given)."""
    rules = registry() if rules is None else rules
    verdict = Verdict(len(stacks), {r.id: RuleCounts() for r in rules}, [], [], [],
                      list(problems))
    if not stacks:
        verdict.problems.append("no stacks to check: the rule pack found nothing, which is "
                                "never a pass (run `make synth`?)")
        return verdict
    relevant = [s for s in suppressions if RULEPACK in s.frameworks]
    known = {r.id for r in rules}
    for s in relevant:
        if s.check not in known:
            verdict.problems.append(f"suppression #{s.index} names {s.check}, which is not a rule "
                                    f"of the pack (rules: {', '.join(sorted(known))})")
    if environments is None:
        environments = stack_environments(stacks) if needs_environments(relevant) else {}
    verdict.problems += checkov.undecided_conditions(stacks, relevant, environments)
    used: set[int] = set()
    for rule in rules:
        try:
            result = rule.check(stacks)
        except Exception as exc:  # a crashed rule checked nothing: say so, never pass
            verdict.problems.append(f"{rule.id} ({rule.module}) crashed: "
                                    f"{type(exc).__name__}: {exc}")
            continue
        counts = verdict.counts[rule.id]
        counts.checked = result.checked
        for finding in result.findings:
            matched = [s for s in relevant if s.matches(finding, RULEPACK, environments)]
            used.update(s.index for s in matched)
            if matched:
                counts.suppressed += 1
                verdict.suppressed.append((finding, matched[0]))
            else:
                counts.failed += 1
                verdict.failures.append(finding)
    verdict.stale = [s for s in relevant if s.check in known and s.index not in used
                     and s.applies_to_any(stacks, environments)]
    if not verdict.checked and not any("crashed" in p for p in verdict.problems):
        verdict.problems.append(f"the rule pack checked nothing in {len(stacks)} stack(s): no "
                                "resource it knows was found, which is never a pass")
    verdict.failures.sort(key=lambda f: (f.stack, f.resource, f.check_id))
    verdict.suppressed.sort(key=lambda x: (x[0].stack, x[0].resource, x[0].check_id))
    return verdict


# --- output -------------------------------------------------------------------------------


def verdict_line(verdict: Verdict) -> str:
    return checkov.verdict_line(verdict, "rule pack", "unsuppressed finding")


def render(verdict: Verdict, verbose: bool = False) -> str:
    rules = {r.id: r for r in registry()}
    failed = sum(c.failed for c in verdict.counts.values())
    suppressed = sum(c.suppressed for c in verdict.counts.values())
    lines = [verdict_line(verdict),
             f"  {_plural(len(verdict.counts), 'rule')} over {_plural(verdict.stacks, 'stack')}: "
             f"{verdict.checked} checks, {failed} failed unsuppressed, {suppressed} suppressed"]
    if verdict.problems:
        lines.append("\nGATE PROBLEMS:")
        lines += [f"  - {p}" for p in verdict.problems]
    if verdict.failures:
        lines.append(f"\nFINDINGS ({len(verdict.failures)}): fix the construct, or add a "
                     "suppression with a reason if it is a justified exception")
        for f in verdict.failures:
            rule = rules.get(f.check_id)
            lines.append(f"  {f.stack} {f.resource} {f.check_id} "
                         f"{rule.title if rule else ''}".rstrip())
            lines.append(f"      {f.message}")
            lines.append(f"      fix: {f.fix}")
            if rule:
                lines.append(f"      aws: {rule.doc}")
    if verdict.stale:
        lines.append(f"\nSTALE suppressions ({len(verdict.stale)}): they matched no finding in "
                     "the stacks they select — delete or narrow them")
        lines += [f"  {s.describe()}" for s in verdict.stale]
    if verbose:
        lines.append("\nPer rule:\n  rule    checked  failed  suppressed  title")
        for rule_id, c in verdict.counts.items():
            title = rules[rule_id].title if rule_id in rules else ""
            lines.append(f"  {rule_id:<6}  {c.checked:>7}  {c.failed:>6}  {c.suppressed:>10}  "
                         f"{title}")
        if verdict.suppressed:
            lines.append(f"\nSuppressed ({len(verdict.suppressed)}), checkov/suppressions.toml:")
            for f, entry in verdict.suppressed:
                lines.append(f"  {f.stack} {f.resource} {f.check_id} [#{entry.index}] "
                             f"{headline(entry.reason)}")
    elif verdict.suppressed:
        entries = len({entry.index for _, entry in verdict.suppressed})
        lines.append(f"\n{_plural(len(verdict.suppressed), 'finding')} suppressed by "
                     f"{_plural(entries, 'entry', 'entries')} of checkov/suppressions.toml "
                     "(--verbose lists them with their reasons)")
    if len(lines) > 8:  # a long list: repeat the verdict where the output ends
        lines.append(verdict_line(verdict))
    return "\n".join(lines)


def write_summary(path: Path, verdict: Verdict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "ok": verdict.ok,
        "stacks": verdict.stacks,
        "rules": {k: dataclasses.asdict(v) for k, v in verdict.counts.items()},
        "failures": [dataclasses.asdict(f) for f in verdict.failures],
        "suppressed": [{**dataclasses.asdict(f), "reason": s.reason, "entry": s.index}
                       for f, s in verdict.suppressed],
        "stale": [s.describe() for s in verdict.stale],
        "problems": verdict.problems,
    }, indent=2) + "\n")


# --- main ---------------------------------------------------------------------------------


def load_stacks(targets: Sequence[Path]) -> tuple[Stacks, list[str]]:
    """The stacks under the targets (folders of stacks, stack folders or files) and what is
    wrong with their files. Raises GateError when a target holds no stack."""
    files = discover(targets, "terraform_json")
    problems = [f"{f.stack}: {f.path} is not valid JSON ({f.error}): no rule ran on it"
                for f in files if f.document is None]
    return Stacks({f.stack: f.document for f in files if f.document is not None}), problems


def build_parser() -> argparse.ArgumentParser:
    usage = __doc__.split("\n\n")[1]
    parser = argparse.ArgumentParser(
        prog="python -m hrsaas.gate.rulepack", description=__doc__.split("\n\n")[0],
        epilog=f"examples:\n{usage}\n\nexit codes: 0 passed, 1 failed (findings, stale or "
               "unknown suppressions, nothing checked), 2 bad arguments",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", type=Path,
                        help="folders of stacks, stack folders or cdk.tf.json files (default: "
                             "cdktf.out/stacks)")
    parser.add_argument("--suppressions", type=Path, default=DEFAULT_SUPPRESSIONS,
                        help="the reviewed exceptions (default: checkov/suppressions.toml)")
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS,
                        help="folder for rulepack_summary.json (default: reports/)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also list per-rule counts and every suppressed finding")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        suppressions = load_suppressions(args.suppressions)
        stacks, problems = load_stacks(args.targets or [DEFAULT_TARGET])
        relevant = [s for s in suppressions if RULEPACK in s.frameworks]
        environments = stack_environments(stacks) if needs_environments(relevant) else {}
        verdict = evaluate(stacks, suppressions, environments, problems=problems)
    except (GateError, RegistryError) as exc:
        print(f"rule pack: FAILED — {exc}", file=sys.stderr)
        return 1
    write_summary(args.reports / "rulepack_summary.json", verdict)
    print(render(verdict, verbose=args.verbose))
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
