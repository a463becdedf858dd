"""Vocabulary mined from the knowledge base itself: acronyms with their expansions, competitor aliases.

Reps write "CI", "POV", "CSM"; the handbook spells them out once, as "Continuous Integration (CI)" or
"CSM (Customer Success Manager)". Mining those pairs from the text, instead of a hand-kept list per
corpus, lets a question match a section that uses the other form, on both retrieval legs.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from typing import Callable, Container, Iterable

from knowledge.text import STOPWORDS, WORD, stem, words

# "Long Form (LF)" / "Long Form (LFs)": the short form is 2-8 capitals (digits and '&' allowed inside);
# the long form is read backwards from the parenthesis, so the pattern never backtracks over the text.
_SHORT_IN_PARENS = re.compile(r"\(([A-Z][A-Za-z0-9&]{1,7}?)s?\)")
_LOOK_BACK = 120  # characters before "(LF)" that may hold its long form (at most ten words)
# "LF (long form)"
_SHORT_THEN_LONG = re.compile(r"\b([A-Z][A-Z0-9&]{1,7})s?[ \t]*\(([A-Za-z][\w&' -]{3,80}?)\)")
_MINOR = frozenset("of and the for to in on a an &".split())
SPELLED_DF = 2  # a word is spelled out to a term of at least this many sections
READ_CHARS = 2000  # what search reads of a question (search.MAX_QUERY_CHARS): only those words are respelled


def _after(prefix: str) -> str:
    """The first string after every one that begins with `prefix` ('cust' -> 'cusu')."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _in_order(short: str, long: str) -> bool:
    """Every letter of `short` appears in `long`, in order ('respnd' in 'respond')."""
    rest = iter(long)
    return all(letter in rest for letter in short)


def _initials_match(short: str, long_words: list[str]) -> bool:
    letters = [c for c in short.lower() if c.isalnum()]
    for skip_minor in (False, True):
        kept = [w for w in long_words if not (skip_minor and w in _MINOR)]
        if len(kept) == len(letters) and all(w[0] == c for w, c in zip(kept, letters)):
            return True
    return False


def _expansion(short: str, before: str) -> str | None:
    """The shortest run of words just before '(SHORT)' whose initials spell SHORT."""
    tokens = [w for w in re.split(r"[\s\-/]+", before.lower()) if w]
    for start in range(len(tokens) - 1, -1, -1):
        tail = tokens[start:]
        if _initials_match(short, tail):
            return " ".join(tail)
    return None


def mine_acronyms(texts: Iterable[str]) -> dict[str, str]:
    """{acronym: expansion}, lower case, from 'Long Form (LF)' and 'LF (long form)' in `texts`."""
    seen: dict[str, Counter] = {}
    for text in texts:
        for m in _SHORT_IN_PARENS.finditer(text):
            short = m.group(1)
            if sum(c.isupper() for c in short) < 2:
                continue
            before = text[max(0, m.start() - _LOOK_BACK) : m.start()].split("\n")[-1]
            long = _expansion(short, " ".join(re.findall(r"[\w&'-]+", before)[-10:]))
            if long:
                seen.setdefault(short.lower(), Counter())[long] += 1
        for m in _SHORT_THEN_LONG.finditer(text):
            short, long = m.group(1), " ".join(re.split(r"[\s\-/]+", m.group(2).lower().strip()))
            if _initials_match(short, long.split()):
                seen.setdefault(short.lower(), Counter())[long] += 1
    return {short: counts.most_common(1)[0][0] for short, counts in sorted(seen.items())}


class Vocabulary:
    """Expands a question with the other form of each acronym and competitor aliases to their name, and
    spells out the words it shortens or misspells."""

    def __init__(self, acronyms: dict[str, str], aliases: dict[str, str] | None = None,
                 frequent: dict[str, int] | None = None):
        """`frequent`: the knowledge base's terms found in SPELLED_DF sections or more, with those counts."""
        self.pairs = {**{k: v for k, v in acronyms.items() if k not in _MINOR}, **(aliases or {})}
        self._long = {v: k for k, v in acronyms.items()}
        ranked = sorted((t for t in (frequent or {}) if t.isalpha()), key=lambda t: (-frequent[t], t))
        self._rank = {t: n for n, t in enumerate(ranked)}  # 0 = the most frequent
        self._alphabetical = sorted(ranked)
        self._by_shape: dict[tuple[str, int], list[str]] = {}  # (first letter, length): most frequent first
        for term in ranked:
            self._by_shape.setdefault((term[0], len(term)), []).append(term)

    def spelled_out(self, word: str) -> str | None:
        """The most frequent term that `word` (one the knowledge base never uses) shortens or misspells:
        'cust' -> 'customer' (a prefix of four letters or more), 'respnd' -> 'respond' (one letter dropped)."""
        if len(word) < 4 or not word.isalpha():
            return None
        begun = self._alphabetical[bisect_left(self._alphabetical, word):bisect_left(self._alphabetical, _after(word))]
        found = [t for t in begun if len(t) > len(word) + 1]
        if len(word) >= 5:
            found += [t for t in self._by_shape.get((word[0], len(word) + 1), ()) if _in_order(word, t)][:1]
        return min(found, key=self._rank.__getitem__, default=None)

    @staticmethod
    def _unknown_to_model(word: str, whole_words: Container[str]) -> bool:
        return len(word) >= 4 and word.isalpha() and word not in STOPWORDS and word not in whole_words

    def _spelled(self, word: str, whole_words: Container[str]) -> str | None:
        """The word spelled out, or its singular ('custs' -> 'cust' -> 'customer') if that is no real word either."""
        single = stem(word)
        return self.spelled_out(word) or (self.spelled_out(single) if single != word and self._unknown_to_model(single, whole_words) else None)

    def respell(self, question: str, known: Callable[[list[str]], Container[str]], whole_words: Container[str]) -> str:
        """`question` with its shortened or misspelt words spelled out: 'cust wants 3 yrs' -> 'customer wants 3 yrs'.

        Reps write 'cust' where the handbook writes 'customer'; spelled out, every leg of the search reads it.
        Only words the knowledge base never uses (`known(terms)` gives the ones it does) are candidates,
        and not real words (`whole_words`, the model's own): 'lead' is not short for 'leading'."""
        asked = {w for w in words(question[:READ_CHARS]) if self._unknown_to_model(w, whole_words)}
        found = set(known(sorted(asked | {stem(w) for w in asked}))) if asked else set()
        spelled = {w: term for w in asked if w not in found and stem(w) not in found and (term := self._spelled(w, whole_words))}
        return WORD.sub(lambda m: spelled.get(m.group().lower(), m.group()), question) if spelled else question

    def expansions(self, question: str) -> list[str]:
        """The forms a question does not spell out itself: 'ci' -> 'continuous integration', and back."""
        tokens = words(question)
        present = set(tokens)
        joined = f" {' '.join(tokens)} "
        # An acronym that is also a common word ("GET", the GitLab Environment Toolkit) is one only in capitals:
        # "how do we get a trial" must not search for the toolkit (97 of gitlab's 727 questions said "get").
        capitals = {w.lower() for w in WORD.findall(question) if w.isupper()}
        found = [self.pairs[t] for t in dict.fromkeys(tokens) if t in self.pairs and (t not in STOPWORDS or t in capitals)]
        found += [short for long, short in self._long.items() if f" {long} " in joined and short not in present]
        return [f for f in dict.fromkeys(found) if f" {f} " not in joined]

    def expand(self, question: str) -> str:
        """The question with its expansions appended, for both the lexical and the dense leg."""
        extra = self.expansions(question)
        return f"{question} ({'; '.join(extra)})" if extra else question
