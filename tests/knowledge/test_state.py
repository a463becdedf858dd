"""The state DB's guarantees on both backends, raced: many writers, each with its own connections, as many
bot processes and the digest scheduler would be; and PostgreSQL's own failure behaviour."""
from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from knowledge.answer import Answer
from knowledge.gaps import Gaps
from knowledge.late import DIM
from knowledge.state import EVENTS_KEPT, MIGRATIONS, ImportConflict, StateDB, StateUnavailable
from knowledge.state_pg import PostgresState

WRITERS = 8
SOC2 = ["do we have a SOC 2 report", "can i get our soc2 type ii report for a prospect", "is there a soc 2 audit report we can share",
        "where's the SOC2 report", "customer asking for our SOC 2", "SOC 2 report for a customer?"]


def race(backend, work, n: int = WRITERS) -> list:
    """Run `work(state)` in n threads at once, each with its own state DB object (its own connections)."""
    states = [backend() for _ in range(n)]
    start = threading.Barrier(n)

    def one(state):
        start.wait()
        return work(state)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, states))


def gap_question(state, text: str, user: str) -> int:
    qid = state.record_question(text, "ask", user, "C1")
    state.record_answer(qid, Answer(text, False, []))
    return qid


def test_a_retried_event_is_new_exactly_once(backend):
    backend()  # migrated before the race, so the race is about events alone
    results = race(backend, lambda s: [s.first_time(f"Ev{n}") for n in range(20)])
    assert [sum(r[n] for r in results) for n in range(20)] == [1] * 20


def test_event_ids_are_forgotten_after_a_day_and_only_then(backend):
    state = backend()
    state.first_time("Ev-old"), state.first_time("Ev-new")
    state.execute("UPDATE events SET seen_at = ? WHERE event_id = 'Ev-old'",
                  ((datetime.now(timezone.utc) - EVENTS_KEPT - timedelta(minutes=1)).isoformat(timespec="seconds"),))
    assert state.forget_old_events() == 1
    assert state.first_time("Ev-old") and not state.first_time("Ev-new")


def test_the_weekly_digest_is_claimed_once(backend):
    backend()
    results = race(backend, lambda s: (s.claim_digest("2026-W48", "C1"), s.claim_digest("2026-W48", "C2")))
    assert sum(a for a, _ in results) == 1 and sum(b for _, b in results) == 1
    state = backend()
    state.release_digest("2026-W48", "C1")
    assert state.claim_digest("2026-W48", "C1") and not state.claim_digest("2026-W48", "C1")


class Remembered:
    """The real model's vectors, computed up front: embedding in the race would serialise the writers."""

    def __init__(self, embedder, texts):
        self.vectors = dict(zip(texts, embedder.embed(list(texts))))

    def embed(self, texts):
        return np.vstack([self.vectors[t] for t in texts])


def test_paraphrases_filed_at_once_open_one_gap(backend, embedder):
    first = backend()
    qids = iter([gap_question(first, text, f"U{n}") for n, text in enumerate(SOC2)])
    lock, remembered = threading.Lock(), Remembered(embedder, SOC2)

    def file(state):
        with lock:
            qid = next(qids)
        return Gaps(state, remembered).add(qid)

    assert len(set(race(backend, file, n=len(SOC2)))) == 1
    (gap,) = Gaps(first, embedder).list()
    assert (gap.count, gap.askers) == (len(SOC2), len(SOC2))


def test_one_question_filed_twice_at_once_counts_once(backend, embedder):
    first = backend()
    qid, remembered = gap_question(first, SOC2[0], "U1"), Remembered(embedder, SOC2[:1])
    assert len(set(race(backend, lambda s: Gaps(s, remembered).add(qid), n=4))) == 1
    assert Gaps(first, embedder).list()[0].count == 1


def test_each_owed_dm_is_claimed_by_one_sender(backend, embedder):
    state = backend()
    gaps = Gaps(state, Remembered(embedder, SOC2))
    gap = [gaps.add(gap_question(state, SOC2[n % len(SOC2)], f"U{n}")) for n in range(12)][0]
    assert gaps.resolve(gap, "playbooks/security-review.md") == 12
    claimed = race(backend, lambda s: [n.id for n in Gaps(s, embedder).claim(limit=5)], n=6)
    ids = [i for batch in claimed for i in batch]
    assert sorted(ids) == sorted(n.id for n in gaps.pending()) and len(ids) == len(set(ids)) == 12
    assert gaps.claim() == []  # all held by their senders
    gaps.release(ids[0])
    assert [n.id for n in gaps.claim()] == [ids[0]]  # a send that failed goes back to the outbox
    gaps.mark_sent(ids[0])
    gaps.release(ids[0])
    assert gaps.claim() == [] and len(gaps.pending()) == 11  # a sent DM is never claimed again


def test_a_claim_whose_sender_died_is_taken_over_after_the_lease(backend, embedder):
    state = backend()
    gaps = Gaps(state, embedder)
    gaps.resolve(gaps.add(gap_question(state, SOC2[0], "U1")), "doc.md")
    (note,) = gaps.claim()
    state.execute("UPDATE notifications SET claimed_at = '2020-01-01T00:00:00+00:00'")
    assert [n.id for n in gaps.claim()] == [note.id]


def test_processes_starting_at_once_migrate_once(backend):
    race(backend, lambda s: s.first_time("Ev1"))
    state = backend()
    version = (state.execute("PRAGMA user_version") if backend.kind == "sqlite" else state.execute("SELECT version FROM schema_version")).fetchone()[0]
    assert version == len(MIGRATIONS)


def test_vectors_are_cached_by_model_and_content_hash(backend):
    state = backend()
    vectors = {f"h{n}": np.full(4, n, dtype=np.float32) for n in range(3)}
    state.store_vectors("model-a", vectors)
    state.store_vectors("model-a", {"h0": np.zeros(4, dtype=np.float32) + 9})  # a stored hash keeps its vector
    found = state.cached_vectors("model-a", ["h0", "h2", "h9"])
    assert sorted(found) == ["h0", "h2"] and found["h0"].tolist() == [0, 0, 0, 0] and found["h2"].dtype == np.float32
    assert state.cached_vectors("model-b", ["h0"]) == {}
    many = {f"m{n}": np.ones(2, dtype=np.float32) for n in range(1200)}  # more than one batch of parameters
    state.store_vectors("model-a", many)
    assert len(state.cached_vectors("model-a", list(many))) == 1200


def test_word_pieces_are_cached_by_model_and_content_hash(backend, embedder):
    state = backend()
    _, (short, long) = embedder.embed_tokens(["Up to 20% needs a manager.", "Share the SOC 2 Type II report only after the NDA."])
    state.store_pieces("model-a", {"h0": short, "h1": long})
    state.store_pieces("model-a", {"h0": long})  # a stored hash keeps its pieces
    found = state.cached_pieces("model-a", ["h0", "h1", "h9"])
    assert sorted(found) == ["h0", "h1"] and found["h0"].pack() == short.pack() and found["h1"].pack() == long.pack()
    assert (found["h1"].pieces.dtype, found["h1"].codes.dtype, found["h1"].codes.shape) == (np.int32, np.int8, (len(long.pieces), DIM))
    assert state.cached_pieces("model-b", ["h0"]) == {}
    state.store_pieces("model-a", {f"m{n}": short for n in range(1200)})  # more than one batch of parameters
    assert len(state.cached_pieces("model-a", [f"m{n}" for n in range(1200)])) == 1200


def test_import_copies_a_sqlite_state_db_once(tmp_path, pg_url, embedder):
    old = StateDB(tmp_path / "old.db")
    gaps = Gaps(old, embedder)
    q1 = gap_question(old, SOC2[0], "U1")
    gaps.add(q1)
    q2 = old.record_question("acme pricing", "mention", "U2", "C1")
    old.record_feedback(q2, True, user_id="U3")
    old.first_time("Ev1")
    old.claim_digest("2026-W48", "C1")
    old.set_meta("gaps_rechecked_build", "b1")
    gaps.resolve(gaps.list()[0].id, "doc.md")
    draft = "INSERT INTO drafts (path, title, markdown, source, created_at) VALUES (?, 'T', '# T', 'thread', '2026-11-29')"
    old.execute(draft, ("drafts/old.md",))
    old.execute("INSERT INTO expert_requests (question_id, asked_by, relay_channel, channel, created_at) "
                "VALUES (?, 'U2', 'C1', 'C0EXPERTS', '2026-11-29')", (q2,))
    [vector], [tokens] = embedder.embed_tokens(["Uplift is capped at 7%."])
    old.store_vectors(embedder.name, {"h1": vector})
    old.store_pieces(embedder.name, {"h1": tokens})
    target = PostgresState(pg_url)
    try:
        added = target.import_from(old)
        assert added == {"gaps": 1, "questions": 2, "feedback": 1, "notifications": 1, "events": 1, "digests": 1, "meta": 1, "vectors": 1,
                         "pieces": 1, "expert_requests": 1, "drafts": 1, "nudges": 0}
        assert target.cached_pieces(embedder.name, ["h1"])["h1"].pack() == tokens.pack()  # a machine on the new DB embeds nothing again
        assert target.import_from(old) == dict.fromkeys(added, 0)  # idempotent
        assert target.questions() == old.questions() and target.ratings(q2) == {"U3": "helpful"}
        assert not target.first_time("Ev1") and not target.claim_digest("2026-W48", "C1")
        assert [n.user_id for n in Gaps(target, embedder).pending()] == ["U1"]
        assert target.record_question("new", "dm") == q2 + 1  # ids continue after the imported ones
        target.execute(draft, ("drafts/new.md",))  # in every table with an id: this collided with the imported draft
        assert [r[0] for r in target.execute("SELECT id FROM drafts ORDER BY id").fetchall()] == [1, 2]
        target.execute("INSERT INTO expert_requests (question_id, asked_by, relay_channel, channel, created_at) "
                       "VALUES (?, 'U2', 'C1', 'C0EXPERTS', '2026-11-29')", (q2 + 1,))
        other = StateDB(tmp_path / "other.db")
        other.record_question("something else entirely", "dm")
        with pytest.raises(ImportConflict, match="import into an empty database"):
            target.import_from(other)
    finally:
        target.close()


@pytest.mark.parametrize("url, message", [
    ("postgresql://kb@127.0.0.1:{port}/kb", "DATABASE_URL: cannot use PostgreSQL at kb@127.0.0.1:{port}/kb: "),
    ("mysql://kb@127.0.0.1/kb", "DATABASE_URL must start with postgres:// or postgresql://, not 'mysql'"),
    # libpq quotes what it cannot parse, and a key=value string has no scheme: the password is shown nowhere.
    ("host=db user=kb password=S3cretPW dbname=kb", "DATABASE_URL must start with postgres:// or postgresql://, not a value"),
    ("postgresql://kb:S3cr%zzetPW@127.0.0.1:{port}/kb", "DATABASE_URL: cannot use PostgreSQL at "),
    ("postgresql://kb:S3cretPW@[::1:{port}/kb", "DATABASE_URL: cannot use PostgreSQL at "),
])
def test_an_unreachable_or_wrong_url_fails_fast_naming_database_url(url, message):
    with socket_nobody_listens_on() as port:
        started = time.monotonic()
        with pytest.raises(StateUnavailable) as raised:
            PostgresState(url.format(port=port))
    assert str(raised.value).startswith(message.format(port=port)) and "\n" not in str(raised.value)
    assert "S3cr" not in str(raised.value)
    assert time.monotonic() - started < 5


def test_a_database_restart_costs_no_later_request(postgres, pg_url):
    state = PostgresState(pg_url, timeout=2)
    try:
        state.record_question("before", "dm")
        postgres.stop()
        with pytest.raises(StateUnavailable, match="DATABASE_URL"):
            state.record_question("while down", "dm")
        postgres.start()
        state.record_question("after", "dm")  # the pool dropped its dead connections and made new ones
        assert [q.question for q in state.questions()] == ["before", "after"]
    finally:
        state.close()


def test_a_sqlite_file_is_never_touched_with_database_url(tmp_path, pg_url):
    from knowledge.config import Settings
    from knowledge.state import open_state

    state = open_state(Settings(state_db=tmp_path / "state.db", database_url=pg_url))
    try:
        state.record_question("where does this go", "dm")
        assert state.name == "PostgreSQL" and list(tmp_path.iterdir()) == []
    finally:
        state.close()


class socket_nobody_listens_on:
    """A loopback port that refuses connections."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))  # bound, never listening: a connect is refused at once
        return self.sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self.sock.close()


def test_sqlite_keeps_its_file_format(tmp_path):
    StateDB(tmp_path / "state.db").first_time("Ev1")
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
