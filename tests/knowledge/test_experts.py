"""Expert requests on both backends: an answer's relay to the rep is owed until settled, and held by one process at a time."""
from __future__ import annotations

import pytest

import knowledge.state
import knowledge.state_pg
from knowledge.experts import Experts
from knowledge.gaps import Gaps
from tests.knowledge.test_state import race


def request(experts: Experts, n: int):
    """An expert request for a new question, posted to the experts' channel."""
    qid = experts.state.record_question(f"question number {n}", "mention", f"U0REP{n}", "C0SALES", f"1700000700.{n:06d}")
    made = experts.open(qid, f"U0REP{n}", "C0SALES", f"1700000700.{n:06d}", "C0EXPERTS")
    experts.posted(made.id, f"1700000800.{n:06d}")
    return made


@pytest.fixture
def experts(state, embedder) -> Experts:
    return Experts(state, Gaps(state, embedder))


def owe(experts: Experts, count: int) -> list[int]:
    """`count` answered requests whose relay failed and was given back: owed to the next pass."""
    ids = []
    for n in range(count):
        made = request(experts, n)
        assert experts.answer(made.id, f"answer {n}", "U0EXPERT")
        experts.release_relay(made.id)
        ids.append(made.id)
    return ids


def test_whoever_answers_holds_the_relay_until_it_is_settled_or_given_back(experts):
    made = request(experts, 1)
    assert experts.answer(made.id, "16 weeks", "U0EXPERT")
    assert experts.claim_relays() == []  # the listener that took the reply relays it: no watcher races it
    experts.release_relay(made.id)  # its relay failed for now
    (owed,) = experts.claim_relays()
    assert (owed.id, owed.status, owed.answer, owed.answered_by, owed.relayed_at) == (made.id, "answered", "16 weeks", "U0EXPERT", None)
    experts.relayed(made.id)
    experts.release_relay(made.id)  # a late give-back cannot reopen a settled relay
    assert experts.claim_relays() == [] and experts.get(made.id).relayed_at is not None


def test_a_relay_refused_for_good_is_settled_with_the_reason(experts):
    made = request(experts, 1)
    assert experts.close(made.id, "U0EXPERT")
    experts.relayed(made.id, error="channel_not_found")
    assert experts.claim_relays() == []
    assert experts.get(made.id).relay_error == "channel_not_found"


def test_each_owed_relay_is_claimed_by_one_process_a_batch_at_a_time(backend, experts):
    ids = owe(experts, 12)
    claimed = race(backend, lambda s: [r.id for r in Experts(s, Gaps(s, None)).claim_relays(limit=3)], n=6)
    got = [i for batch in claimed for i in batch]
    assert all(len(batch) <= 3 for batch in claimed)
    assert sorted(got) == ids and len(got) == len(set(got))
    assert experts.claim_relays() == []  # all held by their relayers


def test_a_relay_whose_process_died_is_taken_over_after_the_lease(experts):
    (owed,) = owe(experts, 1)
    assert [r.id for r in experts.claim_relays()] == [owed]
    assert experts.claim_relays() == []
    experts.state.execute("UPDATE expert_requests SET relay_claimed_at = '2020-01-01T00:00:00+00:00'")
    assert [r.id for r in experts.claim_relays()] == [owed]


def test_requests_answered_before_the_upgrade_are_not_relayed_again(backend, embedder, monkeypatch):
    before_relays = next(n for n, m in enumerate(knowledge.state.MIGRATIONS) if "relayed_at" in m)
    with monkeypatch.context() as old:  # a state DB as the bot left it before relays were recorded
        old.setattr(knowledge.state, "MIGRATIONS", knowledge.state.MIGRATIONS[:before_relays])
        old.setattr(knowledge.state_pg, "MIGRATIONS", knowledge.state_pg.MIGRATIONS[:before_relays])
        before = backend()
        for n, status, answered_at in ((1, "answered", "2026-01-05T10:00:00+00:00"), (2, "closed", "2026-01-06T10:00:00+00:00"), (3, "open", None)):
            qid = before.record_question(f"question number {n}", "mention", "U0REP1", "C0SALES", f"1700000700.{n:06d}")
            before.execute(  # as the bot before the upgrade wrote them
                "INSERT INTO expert_requests (id, question_id, asked_by, relay_channel, channel, ts, status, answered_by, answered_at, created_at) "
                "VALUES (?, ?, 'U0REP1', 'C0SALES', 'C0EXPERTS', ?, ?, ?, ?, '2026-01-01T00:00:00+00:00')",
                (n, qid, f"1700000800.{n:06d}", status, answered_at and "U0E", answered_at),
            )
        before.close()
    after = backend()  # opening it migrates
    experts = Experts(after, Gaps(after, embedder))
    assert experts.claim_relays() == []
    assert [experts.get(n).relayed_at for n in (1, 2, 3)] == ["2026-01-05T10:00:00+00:00", "2026-01-06T10:00:00+00:00", None]
    assert experts.close(3, "U0E")  # answered after the upgrade: owed, and held by whoever answered it
    experts.release_relay(3)
    assert [r.id for r in experts.claim_relays()] == [3]
