"""Content gaps: questions the knowledge base could not answer, grouped by meaning, and closed again.

A gap opens when a question had no confident answer, got a 👎, or asked for a battlecard we do not
have. Paraphrases join the same gap (cosine to its centroid). After a re-index, open gaps are asked
again; one the knowledge base can now answer becomes "answerable" and every asker is owed a DM.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from knowledge.answer import KnowledgeBase
from knowledge.embedder import Embedder
from knowledge.state import StateDB, now

# Cosine to a gap's centroid above which a question joins that gap. On the phrasings in
# tests/knowledge/test_gaps.py, different questions never scored above 0.30 with all-MiniLM-L6-v2,
# while paraphrases reached 0.4 or more to their group's centroid; greedy grouping stayed pure
# from 0.35 to 0.55 and split fewest groups at 0.35-0.4.
GROUP_THRESHOLD = 0.4
EXAMPLES = 3
# Open gaps searched again after a new build: each is a search in the watcher, beside the bot's own, and a
# log nobody resolves can grow to thousands. The most asked come first; the rest wait for a quieter log.
RECHECK_LIMIT = 1000
LEASE = timedelta(minutes=10)  # a claimed DM not sent by then (its process died) is claimed again


@dataclass(frozen=True)
class Gap:
    id: int
    status: str
    question: str | None
    count: int
    askers: int
    examples: list[str]
    first_seen: str
    last_seen: str
    resolved_doc: str | None
    expert_answer: str | None = None  # the first reply in the experts' channel (Slack mrkdwn, as typed)
    expert_by: str | None = None  # the Slack user id who gave it
    expert_at: str | None = None


@dataclass(frozen=True)
class Notification:
    id: int
    gap_id: int
    question_id: int
    user_id: str
    question: str | None
    resolved_doc: str | None


class Gaps:
    """The gap log over the state DB. `embedder` groups phrasings; it is the same model as search."""

    def __init__(self, state: StateDB, embedder: Embedder):
        self.state = state
        self.embedder = embedder

    def _sql(self, sql: str, params=()):
        return self.state.execute(sql, params)

    def add(self, question_id: int, text: str | None = None) -> int | None:
        """File a question under the open gap it paraphrases, or a new gap; returns the gap id."""
        stored = self.state.question(question_id)
        if stored is None:
            return None
        if stored.gap_id is not None:
            return stored.gap_id
        text = text or stored.question
        if not text:
            return None
        vector = self.embedder.embed([text])[0]
        # Two threads or processes filing paraphrases must not open two gaps, nor file one question twice.
        with self.state.transaction(lock="gaps"):
            filed = self._sql("SELECT gap_id FROM questions WHERE id = ?", (question_id,)).fetchone()[0]
            if filed is not None:
                return filed
            gap_id = self._nearest_open(vector)
            if gap_id is None:
                gap_id = int(self._sql(
                    "INSERT INTO gaps (question, vector, size, created_at, updated_at) VALUES (?, ?, 0, ?, ?) RETURNING id",
                    (text, vector.astype(np.float32).tobytes(), now(), now()),
                ).fetchone()[0])
            self._absorb(gap_id, vector)
            self._sql("UPDATE questions SET gap_id = ? WHERE id = ?", (gap_id, question_id))
        return gap_id

    def _nearest_open(self, vector: np.ndarray) -> int | None:
        rows = self._sql("SELECT id, vector FROM gaps WHERE status = 'open' ORDER BY id").fetchall()
        if not rows:
            return None
        centroids = np.vstack([np.frombuffer(bytes(r[1]), dtype=np.float32) for r in rows])
        scores = centroids @ vector
        best = int(np.argmax(scores))
        return int(rows[best][0]) if scores[best] >= GROUP_THRESHOLD else None

    def _absorb(self, gap_id: int, vector: np.ndarray) -> None:
        blob, size = self._sql("SELECT vector, size FROM gaps WHERE id = ?", (gap_id,)).fetchone()
        total = np.frombuffer(bytes(blob), dtype=np.float32) * size + vector
        centroid = (total / np.linalg.norm(total)).astype(np.float32)
        self._sql("UPDATE gaps SET vector = ?, size = ?, updated_at = ? WHERE id = ?", (centroid.tobytes(), size + 1, now(), gap_id))

    def list(self, status: str | None = "open", limit: int | None = None, gap_id: int | None = None) -> list[Gap]:
        """Gaps with their counts, most asked first (or just `gap_id`)."""
        filters = [(sql, value) for sql, value in (("g.status = ?", status), ("g.id = ?", gap_id)) if value is not None]
        where = ("WHERE " + " AND ".join(sql for sql, _ in filters)) if filters else ""
        rows = self._sql(
            "SELECT g.id, g.status, g.question, COUNT(q.id), COUNT(DISTINCT q.user_id), MIN(q.asked_at), MAX(q.asked_at), g.resolved_doc, "
            "g.expert_answer, g.expert_by, g.expert_at "
            f"FROM gaps g JOIN questions q ON q.gap_id = g.id {where} GROUP BY g.id ORDER BY COUNT(q.id) DESC, MAX(q.asked_at) DESC"
            + (" LIMIT ?" if limit else ""),
            tuple(value for _, value in filters) + ((limit,) if limit else ()),
        ).fetchall()
        return [Gap(r[0], r[1], r[2], r[3], r[4], self._examples(r[0]), r[5], r[6], r[7], r[8], r[9], r[10]) for r in rows]

    def count(self, status: str) -> int:
        """How many gaps have `status` (that any question was filed under)."""
        return int(self._sql("SELECT COUNT(DISTINCT gap_id) FROM questions q JOIN gaps g ON g.id = q.gap_id WHERE g.status = ?",
                             (status,)).fetchone()[0])

    def get(self, gap_id: int) -> Gap | None:
        """One gap by id, without reading every other gap."""
        found = self.list(status=None, gap_id=gap_id)
        return found[0] if found else None

    def _examples(self, gap_id: int) -> list[str]:
        rows = self._sql(
            "SELECT MIN(question), COUNT(*) FROM questions WHERE gap_id = ? AND question IS NOT NULL "
            "GROUP BY lower(question) ORDER BY COUNT(*) DESC, MIN(id) LIMIT ?",
            (gap_id, EXAMPLES),
        )
        return [r[0] for r in rows]

    def resolve(self, gap_id: int, doc: str, by: str | None = None) -> int:
        """Mark a gap resolved by `doc` and owe each asker a DM; returns how many DMs were queued."""
        self._sql(
            "UPDATE gaps SET status = 'resolved', resolved_doc = ?, resolved_by = ?, resolved_at = ?, updated_at = ? WHERE id = ?",
            (doc, by, now(), now(), gap_id),
        )
        return self._owe_askers(gap_id)

    def record_expert_answer(self, gap_id: int, answer: str, by: str) -> None:
        """Keep an expert's reply on the gap: coordinators see it, and `kb gaps draft` writes it up."""
        self._sql("UPDATE gaps SET expert_answer = ?, expert_by = ?, expert_at = ?, updated_at = ? WHERE id = ?",
                  (answer, by, now(), now(), gap_id))

    def ignore(self, gap_id: int, by: str | None = None) -> None:
        self._sql("UPDATE gaps SET status = 'ignored', resolved_by = ?, updated_at = ? WHERE id = ?", (by, now(), gap_id))

    def recheck(self, kb: KnowledgeBase) -> list[int]:
        """Ask the open gaps again, most asked first (RECHECK_LIMIT of them); those now answered become
        'answerable' and their askers are owed a DM."""
        answerable = []
        for gap in self.list("open", limit=RECHECK_LIMIT):
            if not gap.question:
                continue
            answer = kb.ask(gap.question, k=1)
            if answer.answered and self._section(answer) not in self._rejected(gap.id):
                doc = answer.hits[0].chunk.path
                self._sql(
                    "UPDATE gaps SET status = 'answerable', resolved_doc = ?, updated_at = ? WHERE id = ? AND status = 'open'",
                    (doc, now(), gap.id),
                )
                self._owe_askers(gap.id)
                answerable.append(gap.id)
        return answerable

    @staticmethod
    def _section(answer) -> str:
        return f"{answer.hits[0].chunk.path}#{answer.hits[0].chunk.anchor}"

    def _rejected(self, gap_id: int) -> set[str]:
        """Sections someone rated 👎 (their latest click) for this gap: finding them again is no answer."""
        rows = self._sql(
            "SELECT hits FROM questions WHERE gap_id = ? AND id IN (SELECT question_id FROM feedback WHERE rating = 'not_helpful')",
            (gap_id,),
        )
        tops = [json.loads(r[0] or "[]")[:1] for r in rows]
        return {f"{h[0]['path']}#{h[0]['anchor']}" for h in tops if h}

    def _owe_askers(self, gap_id: int) -> int:
        """One DM per asker (their latest phrasing); the UNIQUE constraint makes this idempotent."""
        cur = self._sql(
            "INSERT INTO notifications (gap_id, question_id, user_id, created_at) "
            "SELECT ?, MAX(id), user_id, ? FROM questions WHERE gap_id = ? AND user_id IS NOT NULL GROUP BY user_id "
            "ON CONFLICT DO NOTHING",
            (gap_id, now(), gap_id),
        )
        return cur.rowcount

    def pending(self) -> list[Notification]:
        """Every DM owed and not sent yet (claimed or not)."""
        return self._notifications("n.sent_at IS NULL")

    def _notifications(self, where: str, params=()) -> list[Notification]:
        rows = self._sql(
            "SELECT n.id, n.gap_id, n.question_id, n.user_id, q.question, g.resolved_doc FROM notifications n "
            f"JOIN questions q ON q.id = n.question_id JOIN gaps g ON g.id = n.gap_id WHERE {where} ORDER BY n.id", params,
        ).fetchall()
        return [Notification(*r) for r in rows]

    def claim(self, limit: int = 50) -> list[Notification]:
        """Owed DMs for this process to send: no other process gets them until released or the lease runs out."""
        stale = (datetime.now(timezone.utc) - LEASE).isoformat(timespec="seconds")
        with self.state.transaction():  # PostgreSQL: rows another process holds are skipped
            ids = [r[0] for r in self._sql(
                "SELECT id FROM notifications WHERE sent_at IS NULL AND (claimed_at IS NULL OR claimed_at < ?) "
                f"ORDER BY id LIMIT ?{self.state.SKIP_LOCKED}", (stale, limit),
            ).fetchall()]
            for note_id in ids:
                self._sql("UPDATE notifications SET claimed_at = ? WHERE id = ?", (now(), note_id))
        return [n for n in self._notifications("n.sent_at IS NULL") if n.id in set(ids)]

    def release(self, notification_id: int) -> None:
        """Give back a claimed DM that could not be sent (e.g. the network failed): the next pass retries it."""
        self._sql("UPDATE notifications SET claimed_at = NULL WHERE id = ? AND sent_at IS NULL", (notification_id,))

    def mark_sent(self, notification_id: int, error: str | None = None) -> None:
        self._sql("UPDATE notifications SET sent_at = ?, error = ? WHERE id = ?", (now(), error, notification_id))

    def export_csv(self, status: str | None = None) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "status", "question", "count", "askers", "first_seen", "last_seen", "examples", "resolved_doc"])
        for g in self.list(status):
            writer.writerow([g.id, g.status, g.question or "", g.count, g.askers, g.first_seen, g.last_seen, " | ".join(g.examples), g.resolved_doc or ""])
        return out.getvalue()
