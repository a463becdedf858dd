"""Verification nudges: once a week, each owner of stale documents is asked to review them.

Decisions only, no Slack: `due()` groups the stale documents (knowledge.digest.stale_documents) by the
Slack user their front matter names in `owner_slack`; `owed()` leaves out the owners this week's nudge
already went to; `claim()` and `release()` make "once a week" a database guarantee (the `nudges` table's
primary key) that every process sharing the state DB honours. bot/nudges.py sends them.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Iterable

from knowledge.digest import iso, period_key, stale_documents
from knowledge.index import Document
from knowledge.state import StateDB


@dataclass(frozen=True)
class Nudge:
    user_id: str
    period: str  # the ISO week it belongs to, e.g. '2026-W48'
    documents: tuple[Document, ...]  # the owner's stale documents, least recently reviewed first


def period_of(moment: datetime) -> str:
    """The ISO week of `moment` in UTC ('2026-W48'), the way the digest names its periods."""
    return period_key(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc), timezone.utc)


def can_dm(owner: str) -> bool:
    """True for a Slack user id (U…, or W… on Enterprise Grid).

    A user group (S…) cannot be sent a DM (conversations.open takes users), so group-owned documents
    are named as owned in answers and in the experts' channel but nobody is nudged about them.
    """
    return owner.startswith(("U", "W"))


def due(documents: Iterable[Document], today: date, stale_days: int, period: str) -> list[Nudge]:
    """One nudge per Slack user who owns at least one document not reviewed for `stale_days`."""
    owned: dict[str, list[Document]] = {}
    for doc in stale_documents(documents, today, stale_days):
        if doc.owner_slack and can_dm(doc.owner_slack):
            owned.setdefault(doc.owner_slack, []).append(doc)
    return [Nudge(user, period, tuple(docs)) for user, docs in sorted(owned.items())]


def owed(state: StateDB, documents: Iterable[Document], now: datetime, stale_days: int) -> list[Nudge]:
    """This week's nudges that no process has sent (or claimed) yet."""
    period = period_of(now)
    nudges = due(documents, now.astimezone(timezone.utc).date(), stale_days, period)
    if not nudges:
        return []
    done = {r[0] for r in state.execute("SELECT user_id FROM nudges WHERE period = ?", (period,)).fetchall()}
    return [n for n in nudges if n.user_id not in done]


def claim(state: StateDB, nudge: Nudge, now: datetime | None = None) -> bool:
    """True for the one caller (of any process) that may send `nudge`; False if its week's went already."""
    sent_at = iso(now or datetime.now(timezone.utc))
    cur = state.execute(
        "INSERT INTO nudges (period, user_id, sent_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (nudge.period, nudge.user_id, sent_at),
    )
    return cur.rowcount == 1


def release(state: StateDB, nudge: Nudge) -> None:
    """Undo a claim whose DM could not be sent, so the next pass (here or in another process) tries again."""
    state.execute("DELETE FROM nudges WHERE period = ? AND user_id = ?", (nudge.period, nudge.user_id))
