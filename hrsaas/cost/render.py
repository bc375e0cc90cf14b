"""The estimate as a report. What each format holds (docs/cost.md, "What each format shows"):

- text (``render_text``): the totals (per layer, the total, each alternative's total), then
  every resource per layer with its components, formulas, notes and alternatives. Amounts
  come first, right-aligned in one column whose width is computed from the amounts, so long
  resource names never move it.
- markdown (``render_markdown``): the same, plus the totals per category and the line-by-line
  comparison with the guide's §13; the per-resource tables fold per layer.
- json (``to_json``): everything, the guide's rows included.
- the comparison alone: ``render_guide_text``, ``render_guide_markdown``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from .estimate import Estimate, compare_guide, guide_total
from .fmt import md, num, rel, signed, usd
from .model import ALTERNATIVES, CATEGORIES, Priced

HANGUL = re.compile("[\uac00-\ud7a3]")
NOT_PRICED = "NOT PRICED"


def _header(est: Estimate) -> list[str]:
    meta = est.prices.meta
    return [
        f"prices: {rel(est.prices.path)} — {meta.get('source', '')}, "
        f"{meta.get('prices_as_of', '')}; {meta.get('status', '')}",
        f"assumptions: {rel(est.assume.path)} [default] + [env.{est.env}]; "
        f"{num(est.assume.hours)} h/month",
    ]


def _free_summary(items: Sequence[Priced]) -> str:
    counts = Counter(i.resource.type for i in items)
    return ", ".join(f"{t} ×{n}" for t, n in sorted(counts.items()))


def _by_layer(est: Estimate) -> dict[str, list[Priced]]:
    by_layer: dict[str, list[Priced]] = defaultdict(list)
    for item in est.items:
        by_layer[item.resource.layer].append(item)
    return by_layer


def _name(item: Priced) -> str:
    r = item.resource
    return r.address + (f" ({r.label})" if r.label else "")


# --- text -----------------------------------------------------------------------------------------

# A row of the text report: (amount, text), or None for a blank line. An empty amount is a
# continuation row (a note, an alternative) under the row above.
Row = tuple[str, str] | None


def _amount_rows(rows: Sequence[Row]) -> list[str]:
    """Every amount right-aligned in one column, as wide as the widest amount."""
    width = max((len(row[0]) for row in rows if row), default=0)
    return ["" if row is None else f"{row[0]:>{width}}  {row[1]}".rstrip() for row in rows]


def _columns(rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """Cells padded to their column's widest cell (``right``: right-aligned columns); the last
    column is free text."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=False))]
        out.append(("  " + "  ".join(cells) + "  " + row[-1]).rstrip())
    return out


def render_text(est: Estimate) -> str:
    """The totals, then every resource per layer (see the module's docstring)."""
    lines = [f"Monthly cost estimate of {est.env} (USD, on-demand): {usd(est.total)}",
             *_header(est)]
    if est.not_priced:
        lines.append(f"{NOT_PRICED}: {len(est.not_priced)} resource(s), left out of the total")
    rows: list[Row] = [None, ("monthly", "layer")]
    layers = est.layers()
    rows += [(usd(total), layer) for layer, total in layers.items()]
    rows.append((usd(est.total), "total"))
    rows += [(usd(total), f"total {label}") for label, total in est.alternatives()]
    rows += [None, ("monthly", "per layer and resource: components = formula (assumption "
                    "keys in parentheses)")]
    by_layer = _by_layer(est)
    for layer, total in layers.items():
        items = by_layer[layer]
        rows += [None, (usd(total), f"== {layer}")]
        for item in sorted((i for i in items if i.status != "free"), key=lambda i: -i.usd):
            if item.status == "not priced":
                rows.append((NOT_PRICED, f"  {_name(item)}: {item.reason}"))
                continue
            rows.append((usd(item.usd), f"  {_name(item)}"))
            rows += [(usd(c.usd), f"      {c.what} = {c.formula}") for c in item.components]
            rows += [("", f"      note: {note}") for note in item.notes]
            rows += [("", f"      alternative: {a.label} → {usd(a.usd)}")
                     for a in item.alternatives]
        free = [i for i in items if i.status == "free"]
        if free:
            rows.append((usd(0), f"  free: {len(free)} resource(s) — {_free_summary(free)}"))
    lines += _amount_rows(rows)
    lines += ["", f"The comparison with the guide's §13: hrsaas cost --env {est.env} "
              "--compare-guide (or --format markdown)."]
    return "\n".join(lines) + "\n"


def render_guide_text(est: Estimate) -> str:
    """The line-by-line comparison with the guide's §13 table of the env, as text."""
    title, rows = compare_guide(est)
    total = guide_total(est)
    if not rows or total is None:
        return f"The guide (§13) has no cost table for {est.env}.\n"
    table = [["line", "guide", "ours", "difference", "why"]]
    for row in rows:
        name = row.resource + ("" if row.guide_usd is not None else " (not in the guide)")
        guide = f"~{usd(row.guide_usd)}" if row.guide_usd is not None else "—"
        delta = row.ours_usd - (row.guide_usd or 0.0)
        table.append([name, guide, usd(row.ours_usd), signed(delta), row.why])
    table.append(["total", f"~{usd(total)}", usd(est.total), signed(est.total - total), ""])
    return "\n".join([f"Compared with the guide §13 ({title}):",
                      *_columns(table, right={1, 2, 3})]) + "\n"


# --- markdown -------------------------------------------------------------------------------------


def render_guide_markdown(est: Estimate) -> str:
    """The line-by-line comparison with the guide's §13 table of the env, as Markdown."""
    title, rows = compare_guide(est)
    total = guide_total(est)
    if not rows or total is None:
        return f"_The guide (§13) has no cost table for `{est.env}`._\n"
    out = [f"### Compared with the guide §13: {title}", "",
           "| guide line | guide spec (원문: Korean original) | guide | ours | difference "
           "| why |",
           "|---|---|---:|---:|---:|---|"]
    for row in rows:
        if row.guide_usd is None:
            out.append(f"| {row.resource} _(not in the guide)_ | – | – | {usd(row.ours_usd)} "
                       f"| +{usd(row.ours_usd)} | {md(row.why)} |")
            continue
        spec = f"{row.spec} ({row.spec_ko})" if HANGUL.search(row.spec_ko) else row.spec
        delta = row.ours_usd - row.guide_usd
        out.append(f"| {row.resource} | {md(spec)} | ~{usd(row.guide_usd)} | "
                   f"{usd(row.ours_usd)} | {signed(delta)} | {md(row.why)} |")
    out.append(f"| **total** (합계) | | **~{usd(total)}** | **{usd(est.total)}** | "
               f"**{signed(est.total - total)}** | |")
    return "\n".join(out) + "\n"


def render_markdown(est: Estimate) -> str:
    """The totals per layer and category, the guide comparison, every resource per layer."""
    out = [f"## Cost estimate: `{est.env}`", "",
           f"**{usd(est.total)} / month** (USD, on-demand) — {len(est.priced)} priced, "
           f"{len(est.free)} free, {len(est.not_priced)} not priced.", ""]
    out += [f"> {line}  " for line in _header(est)] + [""]
    alternatives = est.alternatives()
    if alternatives:
        out += [f"- {label}: **{usd(total)}**" for label, total in alternatives] + [""]
    if est.not_priced:
        out += ["**Not priced** (left out of the total):", ""]
        out += [f"- `{i.resource.stack}` `{i.resource.address}`: {md(i.reason)}"
                for i in est.not_priced] + [""]
    out += ["| layer | monthly |", "|---|---:|"]
    out += [f"| {layer} | {usd(total)} |" for layer, total in est.layers().items()]
    out += [f"| **total** | **{usd(est.total)}** |", ""]
    cats = sorted(est.categories().items(), key=lambda kv: -kv[1])
    out += ["| category | monthly |", "|---|---:|"]
    out += [f"| {CATEGORIES[c]} | {usd(v)} |" for c, v in cats] + [""]
    out.append(render_guide_markdown(est))
    out += ["### Per resource", ""]
    by_layer = _by_layer(est)
    for layer, total in est.layers().items():
        items = by_layer[layer]
        out += [f"<details><summary>{layer} — {usd(total)}</summary>", "",
                "| resource | monthly | how |", "|---|---:|---|"]
        for item in sorted((i for i in items if i.status == "priced"), key=lambda i: -i.usd):
            how = "<br>".join([f"{c.what}: {usd(c.usd)} = {c.formula}" for c in item.components]
                              + [f"note: {n}" for n in item.notes]
                              + [f"alternative: {a.label} → {usd(a.usd)}"
                                 for a in item.alternatives])
            label = f" ({item.resource.label})" if item.resource.label else ""
            out.append(f"| `{item.resource.address}`{md(label)} | {usd(item.usd)} | "
                       f"{md(how)} |")
        for item in (i for i in items if i.status == "not priced"):
            out.append(f"| `{item.resource.address}` | **not priced** | {md(item.reason)} |")
        free = [i for i in items if i.status == "free"]
        if free:
            out.append(f"| free: {len(free)} | $0.00 | {_free_summary(free)} |")
        out += ["", "</details>", ""]
    return "\n".join(out)


# --- json -----------------------------------------------------------------------------------------


def to_json(est: Estimate) -> dict[str, Any]:
    """Everything of the estimate, for scripts: totals, every resource, the guide's rows."""
    title, rows = compare_guide(est)
    total = guide_total(est)
    return {
        "env": est.env,
        "currency": "USD",
        "hours_per_month": est.assume.hours,
        "total_usd": round(est.total, 2),
        "alternatives": {kind: round(est.with_alternative(kind), 2) for kind in ALTERNATIVES},
        "prices": dict(est.prices.meta),
        "layers": {k: round(v, 2) for k, v in est.layers().items()},
        "categories": {k: round(v, 2) for k, v in est.categories().items()},
        "resources": [{
            "stack": i.resource.stack, "address": i.resource.address, "type": i.resource.type,
            "region": i.resource.region, "status": i.status, "reason": i.reason,
            "usd": round(i.usd, 4),
            "components": [{"what": c.what, "usd": round(c.usd, 4), "formula": c.formula,
                            "category": c.category} for c in i.components],
            "alternatives": [{"kind": a.kind, "usd": round(a.usd, 4), "label": a.label}
                             for a in i.alternatives],
            "notes": i.notes,
        } for i in est.items],
        "guide": {"column": title, "total_usd": total, "rows": [{
            "resource": r.resource, "spec": r.spec, "spec_ko": r.spec_ko,
            "guide_usd": r.guide_usd, "ours_usd": round(r.ours_usd, 2), "why": r.why,
        } for r in rows]},
    }
