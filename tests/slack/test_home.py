"""The App Home tab is published per role: a dashboard for coordinators, help and battlecards for reps."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from tests.knowledge.test_digest import ask_expert
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


def test_the_dashboard_counts_expert_answers_and_lists_drafts_waiting(tmp_path, fake_slack, sample_kb):
    server, bot = start_bot(tmp_path, fake_slack, sample_kb, coordinators=(COORDINATOR,), source=tmp_path / "kb",
                            experts_channel="C0EXPERTS")
    try:
        ask_all(bot, [("what is our parental leave policy", "U0REP1"), ("can i expense dinner with a customer", "U0REP2")])
        ask_expert(bot.state, "what is our parental leave policy", "answered", datetime.now(timezone.utc) - timedelta(hours=1))
        ask_expert(bot.state, "can i expense dinner with a customer", "open", None)
        saved = {"type": "message", "ts": "1700000700.000100", "user": "U0AE", "text": "&lt;!channel&gt; *Dinner* with customers: up to $80 a head"}
        bot.send.message_shortcut("save_to_kb", saved, user=COORDINATOR)
        bot.slack.wait_for("response_url", count=3)
        bot.send.event({**HOME_EVENT, "user": COORDINATOR})
        _, view = published(bot)
        assert "*Answered by experts*\\n1 (0 the 7 days before)" in view and "*Drafts waiting*\\n1 to publish" in view
        assert ("*Drafts waiting to be published*\\n• &lt;!channel&gt; Dinner with customers: up to $80 a head "
                "(`drafts/thread-c0sales-1700000700-000100-channel-dinner-with-customers-up-to-80-a-head.md`)") in view
        assert "*Save to knowledge base* in any message" in view and "<!channel>" not in view
        assert "*Ask an expert*" in view
        bot.send.event({**HOME_EVENT, "user": "U0REP1"})
        _, rep_view = published(bot, count=2)
        assert "*Ask an expert* under my answer" in rep_view and "Drafts waiting" not in rep_view
    finally:
        server.close()


def test_without_an_experts_channel_nobody_is_told_to_ask_an_expert(bot):
    bot.send.event({**HOME_EVENT, "user": "U0REP1"})
    rep_view = published(bot)[1]
    bot.send.event({**HOME_EVENT, "user": COORDINATOR})
    coordinator_view = published(bot, count=2)[1]
    for view in (rep_view, coordinator_view):
        assert "Ask an expert" not in view and "follow up, mention me again in my thread" in view
    assert "*Drafts waiting*\\n0 to publish" in coordinator_view and "*Drafts waiting to be published*\\nNone." in coordinator_view
