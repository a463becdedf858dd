"""Ask an expert: a question the knowledge base could not answer goes to a person, and the answer comes back.

A request is one question posted to the experts' channel. The first reply in that post's thread answers
it: the reply goes to the rep and stays on the question's gap (for coordinators, and for `kb gaps draft`).
*Mark answered* closes a request without a reply. Each of those happens once, whichever process sees it
first: the status changes only from `open`, in one statement.

The relay to the rep is owed from then until it is settled (delivered, or refused for good), and one
process at a time holds it: the one that took the answer, or (once that one gave it back, or died) the
watcher pass that claims it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from knowledge.gaps import LEASE, Gaps
from knowledge.state import StateDB, now

COLUMNS = ("r.id, r.question_id, r.gap_id, r.asked_by, r.relay_channel, r.relay_thread_ts, r.channel, r.ts, r.status, "
           "r.answer, r.answered_by, r.answered_at, q.question, r.relayed_at, r.relay_error")
# Answered (or closed) and not relayed yet: the terms of the expert_requests_owed index.
OWED = "relayed_at IS NULL AND status IN ('answered', 'closed')"


@dataclass(frozen=True)
class ExpertRequest:
    id: int
    question_id: int
    gap_id: int | None
    asked_by: str
    relay_channel: str  # the rep's channel (their thread is relay_thread_ts) or DM; a user id means "DM them"
    relay_thread_ts: str | None
    channel: str  # the experts' channel
    ts: str | None  # the post in the experts' channel, once posted
    status: str  # open | answered | closed
    answer: str | None
    answered_by: str | None
    answered_at: str | None
    question: str | None
    relayed_at: str | None = None  # when the relay to the rep was settled: delivered, or refused for good
    relay_error: str | None = None  # Slack's refusal, when it was refused for good


class Experts:
    """Expert requests over the state DB; `gaps` files each asked question under its gap."""

    def __init__(self, state: StateDB, gaps: Gaps):
        self.state = state
        self.gaps = gaps

    def open(self, question_id: int, asked_by: str, relay_channel: str, relay_thread_ts: str | None, channel: str) -> ExpertRequest | None:
        """A new request for a question, filed under its gap; None when the question was already sent (one each)."""
        gap_id = self.gaps.add(question_id)
        row = self.state.execute(
            "INSERT INTO expert_requests (question_id, gap_id, asked_by, relay_channel, relay_thread_ts, channel, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (question_id) DO NOTHING RETURNING id",
            (question_id, gap_id, asked_by, relay_channel, relay_thread_ts, channel, now()),
        ).fetchone()
        return self.get(int(row[0])) if row else None

    def for_question(self, question_id: int) -> ExpertRequest | None:
        return self._one("r.question_id = ?", (question_id,))

    def get(self, request_id: int) -> ExpertRequest | None:
        return self._one("r.id = ?", (request_id,))

    def at(self, channel: str, ts: str) -> ExpertRequest | None:
        """The request whose post in the experts' channel is the thread `ts`."""
        return self._one("r.channel = ? AND r.ts = ?", (channel, ts))

    def _one(self, where: str, params) -> ExpertRequest | None:
        row = self.state.execute(
            f"SELECT {COLUMNS} FROM expert_requests r JOIN questions q ON q.id = r.question_id WHERE {where}", params,
        ).fetchone()
        return ExpertRequest(*row) if row else None

    def posted(self, request_id: int, ts: str) -> None:
        """Remember the post's ts: replies in its thread answer the request."""
        self.state.execute("UPDATE expert_requests SET ts = ? WHERE id = ?", (ts, request_id))

    def withdraw(self, request_id: int) -> None:
        """Forget a request whose post failed, so the rep can ask again."""
        self.state.execute("DELETE FROM expert_requests WHERE id = ? AND ts IS NULL", (request_id,))

    def answer(self, request_id: int, text: str, by: str) -> bool:
        """The first reply answers the request (True); later ones, and replies to a closed request, do not.

        The caller then holds the relay to the rep: it settles it (`relayed`) or gives it back (`release_relay`).
        """
        at = now()
        cur = self.state.execute(
            "UPDATE expert_requests SET status = 'answered', answer = ?, answered_by = ?, answered_at = ?, relay_claimed_at = ? "
            "WHERE id = ? AND status = 'open'",
            (text, by, at, at, request_id),
        )
        if cur.rowcount != 1:
            return False
        request = self.get(request_id)
        if request and request.gap_id is not None:
            self.gaps.record_expert_answer(request.gap_id, text, by)
        return True

    def close(self, request_id: int, by: str) -> bool:
        """*Mark answered*: closes an open request without a reply (True the first time); the caller holds its relay, as with `answer`."""
        at = now()
        cur = self.state.execute(
            "UPDATE expert_requests SET status = 'closed', answered_by = ?, answered_at = ?, relay_claimed_at = ? "
            "WHERE id = ? AND status = 'open'",
            (by, at, at, request_id),
        )
        return cur.rowcount == 1

    def claim_relays(self, limit: int = 50) -> list[ExpertRequest]:
        """Up to `limit` requests whose relay is owed, for this process to relay: no other process gets them
        until they are settled, given back, or the lease runs out (the process holding them died)."""
        stale = (datetime.now(timezone.utc) - LEASE).isoformat(timespec="seconds")
        with self.state.transaction():  # PostgreSQL: rows another process holds are skipped
            ids = [r[0] for r in self.state.execute(
                f"SELECT id FROM expert_requests WHERE {OWED} AND (relay_claimed_at IS NULL OR relay_claimed_at < ?) "
                f"ORDER BY id LIMIT ?{self.state.SKIP_LOCKED}", (stale, limit),
            ).fetchall()]
            for request_id in ids:
                self.state.execute("UPDATE expert_requests SET relay_claimed_at = ? WHERE id = ?", (now(), request_id))
        return [request for request in map(self.get, ids) if request is not None]

    def release_relay(self, request_id: int) -> None:
        """Give back a relay that could not be delivered (e.g. rate limited, the network failed): the next pass retries it."""
        self.state.execute("UPDATE expert_requests SET relay_claimed_at = NULL WHERE id = ? AND relayed_at IS NULL", (request_id,))

    def relayed(self, request_id: int, error: str | None = None) -> None:
        """The relay is settled: delivered, or (with Slack's `error`) refused for good, so never tried again."""
        self.state.execute("UPDATE expert_requests SET relayed_at = ?, relay_error = ? WHERE id = ?", (now(), error, request_id))
