"""Feedback per person: everyone's latest 👍/👎 on an answer, the asker's own kept apart, old ratings migrated."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

from knowledge.answer import Answer
from knowledge.digest import Figures, figures
from knowledge.gaps import Gaps
from knowledge.state import MIGRATIONS, StateDB


def answered(state: StateDB, text: str, asker: str = "U0ASKER") -> int:
    qid = state.record_question(text, "mention", asker, "C1", "1700000100.000001")
    state.record_answer(qid, Answer(text, True, []))
    return qid


def this_week(state: StateDB) -> Figures:
    until = datetime.now(timezone.utc) + timedelta(seconds=1)
    return figures(state, until - timedelta(days=7), until)


def test_each_person_keeps_one_rating_an_answer_and_their_latest_click_wins(state):  # on both backends
    qid = answered(state, "renewal uplift cap")
    other = answered(state, "discount approval")
    assert state.record_feedback(qid, True, user_id="U0ASKER")
    state.record_feedback(qid, False, user_id="U0PEER1")
    state.record_feedback(qid, True, user_id="U0PEER1")  # changed their mind
    state.record_feedback(qid, False, user_id="U0PEER2")
    state.record_feedback(other, False, user_id="U0PEER2")
    assert state.ratings(qid) == {"U0ASKER": "helpful", "U0PEER1": "helpful", "U0PEER2": "not_helpful"}
    assert state.feedback_counts(qid) == (2, 1) and state.feedback_counts(other) == (0, 1)
    assert state.question(qid).feedback == "helpful" and state.question(other).feedback is None


def test_a_peers_thumbs_down_leaves_the_askers_own_rating_alone(state):  # on both backends
    qid = answered(state, "renewal uplift cap")
    state.record_feedback(qid, True, user_id="U0ASKER")
    state.record_feedback(qid, False, user_id="U0PEER1")
    assert state.question(qid).feedback == "helpful"
    assert [q.feedback for q in state.questions()] == ["helpful"]


def test_no_rating_is_stored_for_a_question_that_does_not_exist(state):  # on both backends
    assert state.record_feedback(4242, True, user_id="U0PEER1") is False
    assert state.ratings(4242) == {} and state.feedback_counts(4242) == (0, 0)


def test_the_digest_counts_every_persons_rating(state):  # on both backends
    qid = answered(state, "renewal uplift cap")
    answered(state, "discount approval")
    state.record_feedback(qid, True, user_id="U0ASKER")
    state.record_feedback(qid, False, user_id="U0PEER1")
    state.record_feedback(qid, False, user_id="U0PEER2")
    state.record_feedback(qid, True, user_id="U0PEER2")  # only the latest click counts
    assert this_week(state) == Figures(questions=2, answered=2, gaps=0, helpful=2, not_helpful=1)


def test_migration_carries_old_ratings_over_as_the_askers(tmp_path):
    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    for version, script in enumerate(MIGRATIONS[:2], start=1):  # a state DB as the bot left it before per-person feedback
        old.executescript(script)
        old.execute(f"PRAGMA user_version = {version}")
    asked = datetime.now(timezone.utc).isoformat(timespec="seconds")
    old.executemany(
        "INSERT INTO questions (id, asked_at, user_id, surface, question, status, answered, feedback, feedback_at) "
        "VALUES (?, ?, ?, 'mention', ?, 'answered', 1, ?, ?)",
        [(1, asked, "U0ASKER", "renewal uplift cap", "not_helpful", asked),
         (2, asked, None, "asked on the command line", "helpful", None),
         (3, asked, "U0OTHER", "not rated", None, None)],
    )
    old.commit()
    old.close()
    state = StateDB(path)
    assert state.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert [q.feedback for q in state.questions()] == ["not_helpful", "helpful", None]
    assert state.ratings(1) == {"U0ASKER": "not_helpful"} and state.ratings(2) == {"": "helpful"}
    assert this_week(state) == Figures(questions=3, answered=3, gaps=0, helpful=1, not_helpful=1)
    state.record_feedback(1, True, user_id="U0ASKER")  # the migrated rating is the asker's: a new click replaces it
    assert state.ratings(1) == {"U0ASKER": "helpful"}


def test_a_section_a_peer_rated_down_does_not_close_the_gap_on_recheck(state, embedder, sample_kb):
    gaps = Gaps(state, embedder)
    text = "who approves a 30% discount"
    qid = state.record_question(text, "mention", "U0ASKER", "C1")
    state.record_answer(qid, sample_kb.ask(text))
    state.record_feedback(qid, False, user_id="U0PEER1")
    gap = gaps.add(qid)
    assert gaps.recheck(sample_kb) == []  # the same section again is no answer: someone said it did not help
    assert gaps.get(gap).status == "open" and state.question(qid).feedback is None
