"""Follow-ups: whether a question leans on the conversation's earlier one, and what is searched then.

A rep who asks "and for enterprise?" after "how much is the pro plan per seat" means "how much is the
enterprise plan per seat". The follow-up alone names only what changed; the earlier question carries the
topic. A question that names its own topic must not be bent by the old one, so context is used only when
the question shows it leans on something said before. Pure functions: no index, no model.

    >>> in_context("and for enterprise?", "how much is the pro plan per seat")
    'and for enterprise? how much is the pro plan per seat'
    >>> in_context("who approves a 30% discount on a multi-year deal", "how much is the pro plan") is None
    True
"""
from __future__ import annotations

import re

from knowledge.text import terms, words

# Openings that only make sense as a continuation ("and for enterprise?", "what about globex").
LEADS = (
    "and", "also", "or", "but", "plus", "then", "so", "ok and", "ok so", "okay and",
    "what about", "how about", "same for", "same with", "same thing for", "same q for", "what if",
    "and what about", "and how about", "what abt", "how abt", "wbt",
)
# Words that point back at something named earlier. "that"/"this" also start stand-alone relative
# clauses ("the policy that covers..."), so pronouns only count in a short question.
POINTERS = frozenset("it its it's that this they them their those these there one ones same he she him her".split())
SHORT = 4  # content words: "and for enterprise" has 1, "who owns that" 1; a real question has more
POINTER_SHORT = 6

_LEAD = re.compile(r"^(?:" + "|".join(sorted((re.escape(l) for l in LEADS), key=len, reverse=True)) + r")\b")


def leans_on_earlier(question: str) -> bool:
    """True when `question` cannot stand alone: a continuation opening, a pointer in a short question, or very short."""
    text = " ".join(words(question))
    content = terms(question)
    if _LEAD.match(text):
        return True
    if len(content) < SHORT:
        return True
    return len(content) <= POINTER_SHORT and any(w in POINTERS for w in words(question))


def in_context(question: str, earlier: str | None) -> str | None:
    """What to search for `question` after `earlier`, or None when the question stands alone."""
    if not earlier or not earlier.strip() or not leans_on_earlier(question):
        return None
    return f"{question} {' '.join(earlier.split())}"
