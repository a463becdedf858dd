"""Finding one competitor's battlecard from what a rep typed: case, aliases, suffixes and small typos."""
from __future__ import annotations

import difflib

from knowledge.index import Document
from knowledge.text import words

# Company-form words reps add or leave out at will ("Acme Corp", "acme inc").
SUFFIXES = frozenset("corp corporation inc incorporated ltd llc co company gmbh plc the".split())
FUZZY_CUTOFF = 0.75  # "acmee"/"acme" 0.89, "initek"/"initech" 0.77; distinct short names stay below


def normalise(name: str) -> str:
    return " ".join(w for w in words(name) if w not in SUFFIXES)


def names(card: Document) -> list[str]:
    """Every name a battlecard answers to: competitor, aliases, title."""
    raw = [card.competitor or "", *card.aliases]
    return [n for n in dict.fromkeys(normalise(r) for r in raw) if n]


def match(query: str, cards: list[Document]) -> Document | None:
    """The battlecard `query` names, or None when no card is a confident match."""
    wanted = normalise(query)
    if not wanted:
        return None
    by_name = {n: card for card in cards for n in names(card)}
    compact = {n.replace(" ", ""): card for n, card in by_name.items()}
    if wanted in by_name:
        return by_name[wanted]
    if wanted.replace(" ", "") in compact:
        return compact[wanted.replace(" ", "")]
    close = difflib.get_close_matches(wanted.replace(" ", ""), list(compact), n=1, cutoff=FUZZY_CUTOFF)
    if close:
        return compact[close[0]]
    # One word of a longer name ("umbrella" for "Umbrella Analytics"), if it points at one card only.
    partial = {id(card): card for n, card in by_name.items() if wanted in n.split()}
    return next(iter(partial.values())) if len(partial) == 1 else None


def mentioned(question: str, cards: list[Document]) -> list[Document]:
    """Battlecards whose competitor a free-text question names, e.g. 'price objection vs acme'."""
    tokens = words(question)
    text = " " + " ".join(tokens) + " "
    found = []
    for card in cards:
        for name in names(card):
            exact = f" {name} " in text
            typo = " " not in name and len(name) >= 4 and any(
                difflib.SequenceMatcher(None, name, t).ratio() >= 0.85 for t in tokens
            )
            if exact or typo:
                found.append(card)
                break
    return found
