"""Content gaps on a real state DB (SQLite and PostgreSQL) with the real model: grouping, counts, re-checks, notifications."""
from __future__ import annotations

import threading

import pytest

import knowledge.gaps
from bot.gap_views import gaps_blocks

from knowledge.answer import Answer
from knowledge.gaps import Gaps

SOC2 = ["do we have a SOC 2 report", "can i get our soc2 type ii report for a prospect", "is there a soc 2 audit report we can share", "where's the SOC2 report", "customer asking for our SOC 2"]
HIPAA = ["do we support HIPAA and sign a BAA", "will we sign a business associate agreement", "is brightwave hipaa compliant"]
LEAVE = ["what is our parental leave policy", "how many weeks of parental leave do we get"]
DYNAMICS = ["does flow integrate with microsoft dynamics", "dynamics 365 connector?", "can we connect to MS Dynamics CRM"]
PIED = ["battlecard: pied piper", "battlecard: piedpiper", "pied piper battlecard"]


@pytest.fixture
def gaps(state, embedder):
    return Gaps(state, embedder)


def file_gap(state, gaps, text, user="U1"):
    qid = state.record_question(text, "ask", user, "C1")
    state.record_answer(qid, Answer(text, False, []))
    return gaps.add(qid)


def test_paraphrases_group_and_different_questions_do_not(state, gaps):
    groups = [SOC2, HIPAA, LEAVE, DYNAMICS, PIED]
    ids = {}
    for round_ in range(max(map(len, groups))):  # interleaved, as they would arrive
        for n, group in enumerate(groups):
            if round_ < len(group):
                ids.setdefault(n, set()).add(file_gap(state, gaps, group[round_], user=f"U{round_}"))
    assert all(len(found) == 1 for found in ids.values()), ids
    assert len({next(iter(found)) for found in ids.values()}) == len(groups)


def test_a_gap_counts_questions_askers_and_keeps_examples(state, gaps):
    for text, user in [(SOC2[0], "U1"), (SOC2[1], "U2"), (SOC2[0], "U1"), (SOC2[3], "U3"), (HIPAA[0], "U1")]:
        file_gap(state, gaps, text, user)
    top, second = gaps.list()
    assert (top.count, top.askers, top.question) == (4, 3, SOC2[0])
    assert top.examples[0] == SOC2[0] and len(top.examples) == 3
    assert (second.count, second.askers) == (1, 1)
    assert top.first_seen <= top.last_seen


def test_recheck_marks_answerable_gaps_and_owes_each_asker_one_dm(state, gaps, sample_kb):
    discount = [file_gap(state, gaps, "who approves a 30% discount", u) for u in ("U1", "U2", "U1")]
    leave = file_gap(state, gaps, LEAVE[0], "U3")
    assert len(set(discount)) == 1
    assert gaps.recheck(sample_kb) == [discount[0]]
    assert gaps.get(discount[0]).status == "answerable" and gaps.get(leave).status == "open"
    owed = gaps.pending()
    assert sorted(n.user_id for n in owed) == ["U1", "U2"]
    assert all(n.resolved_doc == "playbooks/pricing-and-discounting.md" for n in owed)
    assert gaps.recheck(sample_kb) == [] and len(gaps.pending()) == 2  # nothing owed twice


def test_recheck_asks_the_most_asked_gaps_first_up_to_its_limit(state, gaps, sample_kb, monkeypatch):
    once = file_gap(state, gaps, "how long is the renewal notice period", "U1")
    twice = [file_gap(state, gaps, "who approves a 30% discount", u) for u in ("U1", "U2")][0]
    monkeypatch.setattr(knowledge.gaps, "RECHECK_LIMIT", 1)
    assert gaps.recheck(sample_kb) == [twice]
    assert gaps.recheck(sample_kb) == [once]  # the next build reaches it


def test_the_coordinators_list_reads_the_shown_gaps_and_counts_the_rest(state, gaps):
    soc, hip = file_gap(state, gaps, SOC2[0], "U1"), file_gap(state, gaps, HIPAA[0], "U2")
    file_gap(state, gaps, SOC2[1], "U3")
    assert (gaps.count("open"), gaps.count("answerable")) == (2, 0)
    header = gaps_blocks(gaps.list("open", limit=1), total=gaps.count("open"))[0]["text"]["text"]
    assert header == "*Open content gaps* (1 of 2 shown, most asked first)"
    gaps.resolve(soc, "playbooks/security-review.md", by="UCOORD")
    assert gaps.count("open") == 1 and [g.id for g in gaps.list("open")] == [hip]


def test_resolve_and_ignore(state, gaps):
    soc = file_gap(state, gaps, SOC2[0], "U1")
    file_gap(state, gaps, SOC2[1], "U2")
    hip = file_gap(state, gaps, HIPAA[0], "U3")
    assert gaps.resolve(soc, "playbooks/security-review.md", by="UCOORD") == 2
    gaps.ignore(hip, by="UCOORD")
    assert gaps.list() == []
    assert [(g.status, g.resolved_doc) for g in gaps.list(status=None)] == [("resolved", "playbooks/security-review.md"), ("ignored", None)]
    first = gaps.pending()[0]
    gaps.mark_sent(first.id)
    assert [n.user_id for n in gaps.pending()] == ["U2"]
    assert "resolved,do we have a SOC 2 report,2,2" in gaps.export_csv()


def test_concurrent_writers_lose_nothing(state, gaps):
    def ask(worker):
        for n in range(25):
            qid = state.record_question(f"question {worker}-{n}", "dm", f"U{worker}", "D1")
            state.record_answer(qid, Answer("q", True, []))
            if n % 5 == 0:
                state.record_feedback(qid, helpful=True)
    threads = [threading.Thread(target=ask, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = state.questions()
    assert len(stored) == 200 and len({q.question for q in stored}) == 200
    assert sum(q.feedback == "helpful" for q in stored) == 40


def test_retention_deletes_texts_but_keeps_counts(state, gaps):
    old = file_gap(state, gaps, SOC2[0], "U1")
    state.execute("UPDATE questions SET asked_at = '2020-01-01T00:00:00+00:00'")
    state.first_time("Ev-old")
    state.execute("UPDATE events SET seen_at = '2020-01-01T00:00:00+00:00'")
    file_gap(state, gaps, HIPAA[0], "U2")
    assert state.forget_old_questions(days=30) == 1
    questions = state.questions()
    assert len(questions) == 2 and [q.question for q in questions] == [None, HIPAA[0]]
    assert gaps.get(old).question is None and gaps.get(old).count == 1
    assert state.first_time("Ev-old")  # the old event id was forgotten too
