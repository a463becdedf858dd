"""Follow-ups: the earlier question is context only when the new one cannot stand alone."""
from __future__ import annotations

import pytest

from knowledge.answer import KnowledgeBase
from knowledge.followup import in_context, leans_on_earlier, without


def sections(answer) -> list[tuple[str, str]]:
    return [(h.chunk.path, h.chunk.heading_path[-1]) for h in answer.hits]


@pytest.mark.parametrize("question", [
    "and for enterprise?",
    "what about globex",
    "who owns that",
    "how long does it take",
    "same for umbrella?",
    "and accelerate?",
    "how do they get promoted",
    "whats out of scope for them",
    "can they bring their own keys",
    "thanks! does it apply to renewals too?",  # a pleasantry first: the pointer still points back
    "ok cool. and for enterprise?",
])
def test_questions_that_lean_on_the_earlier_one(question):
    assert leans_on_earlier(question)


@pytest.mark.parametrize("question", [
    "who approves a 30% discount on a multi-year deal",
    "how do we handle the price objection vs acme",
    "what payment terms can i offer without legal review",
    "prospect already pays for acme cloud and wants to just bolt on acmeflow, what do i say",
    "do we have a free trial",  # short, but names its own topic
    "is there an on prem version",  # "there" is no pointer
    "customer legal wants to redline our DPA, who handles it",  # "it" points inside the question
    "they want net 60 payment terms, who approves",  # "they" is the customer
    "do i get an email when the cust accepts my offer? whats in it",  # "it" is the email, named first
    "prospect uses jira. do we integrate with that?",
])
def test_questions_that_stand_alone(question):
    assert not leans_on_earlier(question)


def test_no_earlier_question_means_no_context():
    assert in_context("and for enterprise?", None) is None
    assert in_context("and for enterprise?", "   ") is None


def test_the_context_keeps_both_questions():
    searched = in_context("what about umbrella?", "acme says theyre cheaper, how do i handle it")
    assert searched is not None and "umbrella" in searched and "cheaper" in searched


def test_the_earlier_question_loses_the_words_the_follow_up_replaces():
    assert in_context("and hooli?", "what landmines can i set vs globex", {"globex"}) == "and hooli? what landmines can i set vs"
    assert without("Globex, really?", {"globex"}) == "really?"


def test_a_follow_up_ranks_its_section_higher_with_the_earlier_question(sample_kb: KnowledgeBase):
    wanted = ("battlecards/umbrella.md", '"Umbrella is cheaper for us"')
    earlier = "acme says theyre cheaper, how do i handle it"
    alone = sample_kb.ask("what about umbrella?", k=10)
    followed = sample_kb.ask("what about umbrella?", k=10, earlier=earlier)
    rank = lambda answer: sections(answer).index(wanted) if wanted in sections(answer) else 10
    assert rank(followed) < 3 and rank(followed) < rank(alone) and alone.follows is None
    assert followed.follows == earlier and followed.query == "what about umbrella?"


def test_a_question_that_stands_alone_is_not_bent_by_the_earlier_one(sample_kb: KnowledgeBase):
    question = "how do we handle the price objection vs acme"
    alone = sample_kb.ask(question)
    after = sample_kb.ask(question, earlier="who approves a 30% discount on a multi-year deal")
    assert after.follows is None
    assert sections(after) == sections(alone) and after.confidence == alone.confidence


def test_a_follow_up_naming_another_competitor_leaves_the_first_one_behind(sample_kb: KnowledgeBase):
    wanted = ("battlecards/initech.md", "Where they win")
    alone = sample_kb.ask("and initech?")
    followed = sample_kb.ask("and initech?", earlier="where does hooli actually beat us")
    assert wanted not in sections(alone) and wanted in sections(followed)
    assert all(path == "battlecards/initech.md" for path, _ in sections(followed))
