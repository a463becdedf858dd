"""The snippet: the passage of a section that best matches the question, not its first N characters."""
from __future__ import annotations

import re

from knowledge.text import terms, trim

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(*\[])")


def _units(text: str, limit: int) -> list[str]:
    """Lines (table rows and list items stay whole); a line longer than `limit` split into sentences."""
    units: list[str] = []
    for line in text.split("\n"):
        units.extend(_SENTENCE.split(line) if len(line) > limit else [line])
    return units


def _table(units: list[str], at: int) -> tuple[str, int] | None:
    """(header and rule lines, index of the first body row) of the table `units[at]` is a body row of."""
    if not units[at].lstrip().startswith("|"):
        return None
    top = at
    while top > 0 and units[top - 1].lstrip().startswith("|"):
        top -= 1
    return ("\n".join(units[top : top + 2]), top + 2) if at >= top + 2 else None


def best_passage(text: str, idf: dict[str, float], limit: int) -> str:
    """Up to `limit` characters of `text` around its lines richest in the question's (IDF-weighted) terms."""
    text = text.strip()
    if len(text) <= limit or not idf:
        return trim(text, limit)
    units = _units(text, limit)
    weight = [sum(idf.get(t, 0.0) for t in set(terms(u))) for u in units]
    best = max(range(len(units)), key=lambda i: (weight[i], -i))
    if weight[best] == 0:
        return trim(text, limit)
    header, low, high = "", 0, len(units) - 1
    if table := _table(units, best):  # table rows need their column names: keep the window in the table
        header, low = table
        high = next((i - 1 for i in range(best, len(units)) if not units[i].lstrip().startswith("|")), high)
    room = limit - len(header) - 4  # the ellipses and line breaks around a window
    start = end = best
    size = len(units[best])
    while True:
        grow = [i for i in (start - 1, end + 1) if low <= i <= high and size + len(units[i]) + 1 <= room]
        if not grow:
            break
        pick = max(grow, key=lambda i: (weight[i], i > best))  # richer neighbour first, else read on
        size += len(units[pick]) + 1
        start, end = min(start, pick), max(end, pick)
    body = trim("\n".join(units[start : end + 1]).strip(), room)
    before = "…\n" + header + "\n" if header else ("…" if start > 0 else "")
    after = "…" if end < len(units) - 1 and not body.endswith("…") else ""
    return before + body + after
