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
    start = end = best
    size = len(units[best])
    while True:
        grow = [i for i in (start - 1, end + 1) if 0 <= i < len(units) and size + len(units[i]) + 1 <= limit]
        if not grow:
            break
        pick = max(grow, key=lambda i: (weight[i], i > best))  # richer neighbour first, else read on
        size += len(units[pick]) + 1
        start, end = min(start, pick), max(end, pick)
    passage = "\n".join(units[start : end + 1]).strip()
    passage = trim(passage, limit - 2 * (start > 0))
    return ("…" if start > 0 else "") + passage + ("…" if end < len(units) - 1 and not passage.endswith("…") else "")
