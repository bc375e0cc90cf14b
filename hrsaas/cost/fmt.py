"""How numbers, amounts and paths are written: in the pricers' formulas and in every report."""

from __future__ import annotations

from pathlib import Path

from ..toolenv import ROOT


def num(x: float) -> str:
    """A number as a person writes it: 730, 0.5, 0.03725, 50,000."""
    return f"{x:,.6g}" if abs(x) >= 1000 else f"{x:.6g}"


def usd(x: float) -> str:
    """An amount: $1,661.99."""
    return f"${x:,.2f}"


def whole(x: float) -> str:
    """A whole-dollar amount (a budget): $1,996."""
    return f"${x:,.0f}"


def rate(x: float) -> str:
    """A unit price, with the digits it has: $0.0059."""
    return f"${x:.6g}"


def signed(x: float) -> str:
    """A difference: +$1.00, −$1.00 (a real minus sign), ±$0.00."""
    if abs(x) < 0.005:
        return "±$0.00"
    return f"+{usd(x)}" if x > 0 else f"−{usd(-x)}"


def md(text: str) -> str:
    """Text that is safe in a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def rel(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)
