"""Small text helpers shared by the indexer, the answers and the Slack rendering."""
from __future__ import annotations

import re
import unicodedata

_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


def github_anchor(heading: str, seen: dict[str, int]) -> str:
    """GitHub's heading slug: lowercase, punctuation dropped, spaces to hyphens, repeats numbered."""
    slug = "".join(
        ch for ch in heading.strip().lower() if ch in " -_" or unicodedata.category(ch)[0] in "LN"
    ).replace(" ", "-")
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def trim(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut `text` to at most `limit` characters, at a sentence end if one is near, else at a word."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    window = text[:room]
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] >= room * 0.5:
        return window[: ends[-1]].rstrip()
    space = window.rfind(" ")
    cut = window[:space] if space >= room * 0.5 else window
    return cut.rstrip(" ,;:-") + ellipsis


def words(text: str) -> list[str]:
    """Lowercase word tokens (letters and digits), the unit both search and matching work on."""
    return re.findall(r"[^\W_]+", text.lower())
