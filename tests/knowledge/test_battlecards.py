"""Finding a battlecard from what reps type."""
from __future__ import annotations

import pytest

from knowledge import battlecards
from knowledge.index import Document


def card(competitor, *aliases):
    return Document(f"battlecards/{competitor.split()[0].lower()}.md", f"{competitor} battlecard", "battlecard", None, None, None, competitor, aliases)


CARDS = [
    card("Acme Corp", "Acme", "ACME Cloud", "AcmeFlow"),
    card("Globex Systems", "Globex"),
    card("Umbrella Analytics", "UA"),
    card("Initech", "TPS"),
]


@pytest.mark.parametrize(
    "typed, competitor",
    [
        ("acme", "Acme Corp"),
        ("Acme Corp", "Acme Corp"),
        ("ACME", "Acme Corp"),
        ("acmee", "Acme Corp"),
        ("acme corp.", "Acme Corp"),
        ("Acme, Inc.", "Acme Corp"),
        ("acme cloud", "Acme Corp"),
        ("acmeflow", "Acme Corp"),
        ("  globex  ", "Globex Systems"),
        ("globx", "Globex Systems"),
        ("umbrella", "Umbrella Analytics"),
        ("ua", "Umbrella Analytics"),
        ("initek", "Initech"),
    ],
)
def test_name_variants_find_the_card(typed, competitor):
    assert battlecards.match(typed, CARDS).competitor == competitor


@pytest.mark.parametrize("typed", ["", "hooli", "zz", "<!channel>", "'; drop table --", "a" * 5000])
def test_no_match_is_none(typed):
    assert battlecards.match(typed, CARDS) is None


def test_questions_that_name_a_competitor():
    assert [c.competitor for c in battlecards.mentioned("price objection vs acmee?", CARDS)] == ["Acme Corp"]
    assert battlecards.mentioned("how do discounts work", CARDS) == []


def test_sample_battlecards_by_alias(sample_kb):
    found = sample_kb.battlecard("Acme Corp")
    assert found.document.path == "battlecards/acme.md"
    top_level = {s.heading_path[1] for s in found.sections if len(s.heading_path) > 1}
    assert {"Why we win", "Landmines to set", "Objection handling"} <= top_level
    assert sample_kb.battlecard("acmee").document.path == "battlecards/acme.md"
    assert len(sample_kb.competitors()) >= 5
    assert sample_kb.battlecard("nobody we know") is None
