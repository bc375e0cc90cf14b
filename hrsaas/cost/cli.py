"""The monthly cost estimate of an environment, and the cost diff of saved plans.

    hrsaas cost --env mvp                         per layer and resource, formulas beside (text)
    hrsaas cost --env prod --format markdown      + totals per category and the guide §13 comparison
    hrsaas cost --env prod --format json          everything, for scripts
    hrsaas cost --env prod --compare-guide        only the line-by-line comparison with guide §13
    hrsaas cost --env prod --levers               each design lever priced, with its trade-off,
                                                  and whether the guide's capability fits its
                                                  own §13 total (the cheapest combination)
    hrsaas cost --env prod --strict               exit 1 when anything is "not priced"
    hrsaas cost --env prod --outdir /tmp/cdktf.out
    hrsaas cost diff --plans plans/               Markdown: before/after of the saved plans
    hrsaas cost write-docs                        regenerate docs/cost.md's levers blocks

The estimate prices what is synthesized (cdktf.out/stacks/<env>-*/cdk.tf.json, from
`hrsaas synth` or `make synth`) with the list prices of cost/prices.toml and the usage
assumptions of cost/assumptions.toml, printed beside every line. A resource that cannot be
priced is reported "not priced", never counted as zero. docs/cost.md has the details.

Exit status: 0; 1 with --strict when something is not priced; 2 when there is nothing to price
(an unknown environment, stacks not synthesized, no plans) or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .diff import PLANS, cost_diff, diff_to_json, render_diff
from .estimate import NothingToPrice, estimate
from .levers import levers_to_json, render_levers_markdown, render_levers_text, write_docs
from .load import OUTDIR
from .render import (
    render_guide_markdown,
    render_guide_text,
    render_markdown,
    render_text,
    to_json,
)


def _estimate_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="hrsaas cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", required=True, action="append",
                        help="environment (repeat for several)")
    parser.add_argument("--outdir", type=Path, default=OUTDIR,
                        help="the synthesized cdktf.out (default: ./cdktf.out)")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="text: totals and every resource; markdown: also per category "
                             "and the guide §13 comparison; json: everything")
    parser.add_argument("--compare-guide", action="store_true",
                        help="only the line-by-line comparison with the guide's §13 table "
                             "(text or markdown)")
    parser.add_argument("--levers", action="store_true",
                        help="the priced design levers (Spot, reservations, Savings Plan, "
                             "Valkey, endpoints in one AZ, log class, Container Insights) and "
                             "the cheapest combination that keeps the guide's capability, "
                             "against the guide's §13 total (text, markdown or json)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a resource is not priced")
    args = parser.parse_args(argv)
    reports, missing = [], 0
    for env in args.env:
        try:
            est = estimate(env, args.outdir)
        except NothingToPrice as exc:
            print(f"hrsaas cost: {exc}", file=sys.stderr)
            return 2
        missing += len(est.not_priced)
        if args.levers:
            reports.append(levers_to_json(est) if args.format == "json" else
                           render_levers_markdown(est) if args.format == "markdown" else
                           render_levers_text(est))
        elif args.format == "json":
            reports.append(to_json(est))
        elif args.compare_guide:
            reports.append(render_guide_markdown(est) if args.format == "markdown"
                           else render_guide_text(est))
        else:
            reports.append(render_markdown(est) if args.format == "markdown" else
                           render_text(est))
    if args.format == "json":
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2,
                         ensure_ascii=False))
    else:
        print("\n".join(reports), end="")
    if missing:
        print(f"{missing} resource(s) not priced: see the report", file=sys.stderr)
    return 1 if missing and args.strict else 0


def _diff_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hrsaas cost diff",
        description="The cost diff of saved plans (plans/<env>/<env>-<layer>.json, as "
                    "`hrsaas plan` writes them): the monthly total before and after per "
                    "environment and the resources that move it. Exit 2 when there are no "
                    "plans.")
    parser.add_argument("--plans", type=Path, default=PLANS,
                        help="plans/ (one folder per environment) or one environment's folder")
    parser.add_argument("--out", type=Path, default=None, help="write the report here")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.add_argument("--max-rows", type=int, default=15,
                        help="resources listed (largest change first); the rest are summed")
    args = parser.parse_args(argv)
    diffs = cost_diff(args.plans)
    if not diffs:
        print(f"hrsaas cost diff: no plans in {args.plans}: expected "
              "<env>/<env>-<layer>.json as `hrsaas plan` writes them", file=sys.stderr)
        return 2
    if args.format == "json":
        text = json.dumps(diff_to_json(diffs), indent=2) + "\n"
    else:
        text = render_diff(diffs, args.max_rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"cost diff written to {args.out}")
    else:
        print(text, end="")
    return 0


def _write_docs_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="hrsaas cost write-docs",
        description="Rewrite the generated levers blocks of docs/cost.md (prod, mvp) from a "
                    "synthesized cdktf.out; tests/test_cost_levers.py fails while they differ "
                    "from `hrsaas cost --env <env> --levers --format markdown`.")
    parser.add_argument("--outdir", type=Path, default=OUTDIR,
                        help="the synthesized cdktf.out (default: ./cdktf.out)")
    args = parser.parse_args(argv)
    try:
        done = write_docs(args.outdir)
    except NothingToPrice as exc:
        print(f"hrsaas cost write-docs: {exc}", file=sys.stderr)
        return 2
    print(f"docs/cost.md: the levers of {', '.join(done)} rewritten")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``hrsaas cost [estimate] …`` or ``hrsaas cost diff …``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diff"]:
        return _diff_main(argv[1:])
    if argv[:1] == ["write-docs"]:
        return _write_docs_main(argv[1:])
    if argv[:1] == ["estimate"]:
        argv = argv[1:]
    return _estimate_main(argv)


if __name__ == "__main__":
    sys.exit(main())
