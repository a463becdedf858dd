"""Follow-ups: whether a question leans on the conversation's earlier one, and what is searched then.

A rep who asks "and for enterprise?" after "how much is the pro plan per seat" means "how much is the
enterprise plan per seat": the follow-up names only what changed, the earlier question carries the topic.
A question that names its own topic must not be bent by the old one (searching both texts together costs
stand-alone questions about 0.15 of R@3 on the fit halves), so context is used only when the question
shows that it leans on something said before. Pure functions: no index, no model.

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
    "and", "also", "or", "but", "plus", "then", "ok and", "ok so", "okay and", "so what about",
    "what about", "how about", "same for", "same with", "same thing for", "same q for", "what if",
    "what abt", "how abt",
)
# Words that point back at something said before. They also point inside a longer question ("customer
# legal wants to redline our DPA, who handles it"), so they count only in a question too short to hold
# its own referent. In reps' Slack "they/them/their" is nearly always the customer, hence the tighter cap.
# The caps were chosen on the fit half of bench/questions/followups.jsonl (104 pairs) with the fit halves
# of the stand-alone sets: 4/2 -> 5/3 caught 7 more follow-ups (R@3 0.683 -> 0.702) and cost no stand-alone
# fit question a rank; 6/3 caught none more and took in 8 more stand-alone questions.
POINTERS = frozenset("it its that this those these one ones same too".split())
PEOPLE = frozenset("they them their".split())
POINTER_TERMS = 5  # "who owns that" has 1 meaningful term, "how long does it take" 2
PEOPLE_TERMS = 3   # "how do they get promoted" 1, "whats out of scope for them" 3 ("whats" counts)
# A message of several sentences: a pointer in a later one points at the first ("do i get an email when the
# cust accepts my offer? whats in it"), unless the first is only a pleasantry ("thanks! does it apply to
# renewals?"). A sentence under 3 terms names no topic ("thanks!", "ok cool.", "hmm ok."; "cust wants 3 yrs
# locked in." has 4). Chosen on 100 fresh blind questions written as several sentences, kept apart from
# the bench sets: under 3 terms caught 32 of 40 follow-ups and took in 1 of 60 stand-alone questions
# (pointers anywhere: 23 and 7; pointers in the first sentence only: 0 and 0; under 2 terms: 21 and 0).
PLEASANTRY_TERMS = 3
_SENTENCE_END = re.compile(r"(?<=[?.!])\s+")

_LEAD = re.compile(r"^(?:" + "|".join(sorted((re.escape(l) for l in LEADS), key=len, reverse=True)) + r")\b")


def leans_on_earlier(question: str) -> bool:
    """True when `question` cannot stand alone: a continuation opening, or a pointer in a short question
    (in its first sentence that is more than a pleasantry).

    Shortness alone is no sign: "do we have a free trial" stands alone (measured: flagging every question
    under 4 terms caught no more follow-ups and polluted 21 of 313 stand-alone fit questions).
    """
    sentences = _SENTENCE_END.split(question.strip())
    while len(sentences) > 1 and len(terms(sentences[0])) < PLEASANTRY_TERMS:
        sentences = sentences[1:]  # "ok cool. and for enterprise?" opens like "and for enterprise?"
    rest = " ".join(sentences)
    if _LEAD.match(" ".join(words(rest))):
        return True
    size, present = len(terms(rest)), set(words(sentences[0]))
    return (size <= POINTER_TERMS and bool(present & POINTERS)) or (size <= PEOPLE_TERMS and bool(present & PEOPLE))


def without(text: str, dropped: set[str]) -> str:
    """`text` without the words in `dropped` (lowercase word forms): the earlier question minus what changed."""
    return " ".join(w for w in text.split() if not set(words(w)) & dropped)


def in_context(question: str, earlier: str | None, replaced: set[str] = frozenset()) -> str | None:
    """What to search for `question` after `earlier`, or None when the question stands alone.

    `replaced` holds words of `earlier` the follow-up swaps out: after "landmines vs globex", "and hooli?"
    is about hooli, and leaving "globex" in would pull the globex card back up.
    """
    if not earlier or not earlier.strip() or not leans_on_earlier(question):
        return None
    return f"{question} {without(' '.join(earlier.split()), set(replaced))}".strip()
