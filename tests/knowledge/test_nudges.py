"""Which owners are nudged about stale documents, and "once a week" held by the state DB (both backends)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from knowledge.index import Document
from knowledge.nudges import Nudge, claim, due, owed, period_of, release

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)  # a Wednesday of 2026-W48


def doc(path: str, reviewed: date | None, owner_slack: str | None) -> Document:
    return Document(path, path.split("/")[-1].removesuffix(".md").title(), "playbook", "Someone", reviewed, None, None, (), owner_slack)


DOCS = [
    doc("a/fresh.md", date(2026, 11, 1), "U0PRIYA"),  # reviewed recently: no nudge for it
    doc("a/old.md", date(2026, 1, 15), "U0PRIYA"),
    doc("a/older.md", date(2025, 9, 22), "U0PRIYA"),
    doc("b/never.md", None, "W0GRID01"),  # never reviewed counts as stale
    doc("c/group.md", date(2025, 1, 1), "S0COMPINTEL"),  # a user group: cannot be DMed
    doc("d/nobody.md", date(2025, 1, 1), None),  # no Slack owner: nobody to nudge
]


def test_each_user_owning_stale_documents_gets_one_nudge_listing_them_oldest_first():
    assert due(DOCS, NOW.date(), 180, "2026-W48") == [
        Nudge("U0PRIYA", "2026-W48", (DOCS[2], DOCS[1])),
        Nudge("W0GRID01", "2026-W48", (DOCS[3],)),
    ]
    assert due(DOCS, NOW.date(), 400, "2026-W48") == [Nudge("U0PRIYA", "2026-W48", (DOCS[2],)), Nudge("W0GRID01", "2026-W48", (DOCS[3],))]
    assert due(DOCS[:1] + DOCS[4:], NOW.date(), 180, "2026-W48") == []


@pytest.mark.parametrize("moment, period", [
    (NOW, "2026-W48"),
    (datetime(2026, 11, 29, 23, 59, tzinfo=timezone.utc), "2026-W48"),  # Sunday night
    (datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc), "2026-W49"),  # Monday: a new week
    (datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc), "2026-W53"),  # the ISO year, not the calendar's
    (datetime(2026, 11, 30, 1, 0, tzinfo=timezone(timedelta(hours=5))), "2026-W48"),  # UTC decides
])
def test_the_period_is_the_iso_week_in_utc(moment, period):
    assert period_of(moment) == period


def test_a_nudge_is_owed_until_claimed_and_claimed_once(state):
    owed_now = owed(state, DOCS, NOW, 180)
    assert [n.user_id for n in owed_now] == ["U0PRIYA", "W0GRID01"]
    priya = owed_now[0]
    assert claim(state, priya) is True
    assert claim(state, priya) is False
    assert [n.user_id for n in owed(state, DOCS, NOW + timedelta(days=3), 180)] == ["W0GRID01"]
    assert [n.user_id for n in owed(state, DOCS, NOW + timedelta(days=5), 180)] == ["U0PRIYA", "W0GRID01"]  # next week


def test_a_released_nudge_is_owed_again(state):
    (priya, _) = owed(state, DOCS, NOW, 180)
    assert claim(state, priya)
    release(state, priya)
    assert [n.user_id for n in owed(state, DOCS, NOW, 180)] == ["U0PRIYA", "W0GRID01"]
    assert claim(state, priya)


def test_processes_sharing_the_state_claim_each_nudge_once(backend):
    first, second = backend(), backend()  # two connections to one database, as two bot processes hold
    nudges = owed(first, DOCS, NOW, 180)
    won = [claim(db, n) for n in nudges for db in (first, second)]
    assert won == [True, False, True, False]
    assert owed(second, DOCS, NOW, 180) == [] and owed(first, DOCS, NOW, 180) == []
