"""The App Home tab is published per role: a dashboard for coordinators, help and battlecards for reps."""
from __future__ import annotations

import json

import pytest

from tests.slack.conftest import start_bot
from tests.slack.test_gaps import COORDINATOR, ask_all

HOME_EVENT = {"type": "app_home_opened", "channel": "D0HOME", "tab": "home", "event_ts": "1700000300.000001"}


@pytest.fixture
def bot(tmp_path, fake_slack, sample_kb):
    server, running = start_bot(tmp_path, fake_slack, sample_kb, coordinators=(COORDINATOR,))
    yield running
    server.close()


def published(bot, count=1):
    call = bot.slack.wait_for("views.publish", count=count)[count - 1]
    view = call.body["view"] if isinstance(call.body["view"], dict) else json.loads(call.body["view"])
    return call.body["user_id"], json.dumps(view, ensure_ascii=False)


def test_a_rep_sees_how_to_ask_and_the_battlecards(bot):
    bot.send.event({**HOME_EVENT, "user": "U0REP1"})
    user, view = published(bot)
    assert user == "U0REP1"
    assert "Ask me anything" in view and "*Battlecards:* Acme Corp, Globex Systems" in view
    assert "Enablement dashboard" not in view and "Top open gaps" not in view


def test_a_coordinator_sees_the_dashboard(bot):
    ask_all(bot, [("who approves a 30% discount", "U0REP1"), ("what is our parental leave policy", "U0REP2"), ("how many weeks of parental leave do we get", "U0REP3")])
    first = bot.state.questions()[0]
    bot.send.click("feedback_helpful", str(first.id))
    bot.slack.wait_for("response_url", count=4)
    bot.send.event({**HOME_EVENT, "user": COORDINATOR})
    user, view = published(bot)
    assert user == COORDINATOR and "Enablement dashboard" in view
    assert "*Questions*\\n3 (+3 vs the 7 days before)" in view
    assert "*Answer rate*\\n33%" in view
    assert "*Helpful*\\n100% (1 👍 · 0 👎)" in view
    assert "• *2×* what is our parental leave policy" in view
    assert "Initech" in view and "last reviewed 2025-09-22" in view  # a stale battlecard, with its owner
