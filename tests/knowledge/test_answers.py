"""Questions reps ask, answered from the real sample knowledge base with the real model."""
from __future__ import annotations

import pytest

from knowledge.answer import KnowledgeBase
from knowledge.vocabulary import READ_CHARS

# A dozen questions in reps' own words, and the section that answers each (path, deepest heading).
QUESTIONS = [
    ("how do we handle the price objection vs acme", "battlecards/acme.md", '"Acme is cheaper"'),
    ("who has to approve a 30% discount", "playbooks/pricing-and-discounting.md", "Discount approval levels"),
    ("can i send the soc 2 report to a prospect", "playbooks/security-review.md", "Gated documents"),
    ("what signals tell me a customer might churn", "playbooks/renewals.md", "Churn risk signals"),
    ("how much is the renewal uplift", "playbooks/renewals.md", "Price uplift at renewal"),
    ("do we have a snowflake connector", "products/integration-hub.md", "Does the Snowflake connector need a separate Snowflake account?"),
    ("customer wants their data hosted in the EU", "products/security-and-compliance.md", "Data residency"),
    ("what's the uptime SLA", "products/security-and-compliance.md", "Availability and SLA"),
    ("prospect says they'll just build it themselves", "playbooks/objection-handling.md", '"We\'ll build it in-house"'),
    ("questions to find the economic buyer", "playbooks/discovery.md", "Economic buyer questions"),
    ("globex pricing vs ours", "battlecards/globex.md", "Pricing comparison"),
    ("what payment terms can we accept", "playbooks/procurement.md", "Payment terms"),
    ("does the AI assistant train on customer data", "products/ai-assistant.md", "Data handling and privacy"),
]


@pytest.mark.parametrize("question, path, heading", QUESTIONS)
def test_the_right_section_is_in_the_top_three(sample_kb: KnowledgeBase, question, path, heading):
    hits = sample_kb.ask(question, k=3).hits
    found = [(h.chunk.path, h.chunk.heading_path[-1]) for h in hits]
    assert (path, heading) in found


def test_a_confident_answer_and_a_content_gap(sample_kb):
    assert sample_kb.ask("who approves a 30% discount").answered
    assert not sample_kb.ask("what is the parental leave policy for new parents").answered


def test_hits_carry_links_to_the_section(sample_kb):
    hit = sample_kb.ask("acme pricing comparison", k=1).hits[0]
    d = sample_kb.hit_dict(hit)
    assert d["path"] == "battlecards/acme.md"
    assert d["url"] == f"https://enablement.brightwave.example/battlecards/acme#{d['anchor']}"
    assert d["heading_path"].startswith("Acme Corp battlecard › ")
    assert 0 < d["score"] <= 1 and d["snippet"]


def test_links_fall_back_to_the_base_url_then_the_path(sample_kb):
    chunk = sample_kb.ask("acme pricing comparison", k=1).hits[0].chunk
    bare = chunk.__class__(**{**chunk.__dict__, "doc_url": None})
    with_base = KnowledgeBase(sample_kb.index, sample_kb.embedder, base_url="https://git.example/kb/blob/main/")
    assert with_base.link(bare) == f"https://git.example/kb/blob/main/battlecards/acme.md#{chunk.anchor}"
    assert sample_kb.link(bare) == f"battlecards/acme.md#{chunk.anchor}"


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_questions_find_nothing(sample_kb, question):
    answer = sample_kb.ask(question)
    assert answer.hits == [] and not answer.answered


def test_very_long_questions_still_answer_reading_only_their_start(sample_kb):
    question = "who has to approve a 30% discount " + "vs acme, globex, initech " * 2000  # a 50,000-character DM
    answer = sample_kb.ask(question)
    assert len(answer.query) <= READ_CHARS and answer.query.startswith("who has to approve a 30% discount vs acme")
    assert answer.hits
