"""Small text helpers shared by the indexer, the answers and the Slack rendering."""
from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
# An HTML entity as CommonMark reads one: with its `;`. html.unescape alone also reads `&region=` as `®ion=`.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def unescape_entities(text: str) -> str:
    """`&amp;`, `&#91;`, `&gt;` read as the characters they stand for; a URL's `&region=` stays as it is."""
    return _ENTITY.sub(lambda m: html.unescape(m.group()), text)


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


WORD = re.compile(r"[^\W_]+")  # a word: letters and digits (what words() and terms() split on)


def words(text: str) -> list[str]:
    """Lowercase word tokens (letters and digits), the unit both search and matching work on."""
    return WORD.findall(text.lower())


# Words too common to tell sections apart; dropping them keeps lexical matching precise.
STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in is it its me my of on or our "
    "should so that the their them they this to us vs was we what when where which who why will with "
    "you your any there get got about".split()
)


def stem(word: str) -> str:
    """A light plural fold ('policies' -> 'policy', 'deals' -> 'deal'): enough to match a question's form."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=1 << 16)
def _term(word: str) -> str | None:
    return None if word in STOPWORDS or len(word) < 2 else stem(word)


def terms(text: str) -> list[str]:
    """The meaningful, stemmed words of `text`, in order (repeats kept): what lexical features count."""
    return [t for t in map(_term, WORD.findall(text.lower())) if t]
