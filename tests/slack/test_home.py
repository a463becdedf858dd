"""The App Home tab is published per role: a dashboard for coordinators, help and battlecards for reps."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.home_views import BROKEN_DISCARD, GONE_DRAFT, NOT_FOR_YOU
from knowledge.digest import compute
from knowledge.drafts import stored_drafts
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
        assert ('"*Drafts waiting to be published*"' in view and '"• &lt;!channel&gt; Dinner with customers: up to $80 a head '
                '(`drafts/thread-c0sales-1700000700-000100-channel-dinner-with-customers-up-to-80-a-head.md`)"' in view)
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


SAVED = {"type": "message", "ts": "1700000700.000100", "user": "U0AE", "text": "&lt;!channel&gt; *Dinner* with customers: up to $80 a head"}
SAVED_PATH = "drafts/thread-c0sales-1700000700-000100-channel-dinner-with-customers-up-to-80-a-head.md"


@pytest.fixture
def with_draft(tmp_path, fake_slack, sample_kb):
    """A bot with one draft waiting, saved by the coordinator with *Save to knowledge base*."""
    server, bot = start_bot(tmp_path, fake_slack, sample_kb, coordinators=(COORDINATOR,), source=tmp_path / "kb")
    bot.send.message_shortcut("save_to_kb", SAVED, user=COORDINATOR)
    bot.slack.wait_for("response_url")
    (draft,) = stored_drafts(bot.state)
    yield bot, draft
    server.close()


def discard_buttons(view: str) -> list[dict]:
    blocks = json.loads(view)["blocks"]
    return [b["accessory"] for b in blocks if b.get("accessory", {}).get("action_id") == "draft_discard"]


def waiting_in_digest(bot, sample_kb) -> list[str]:
    until = datetime.now(timezone.utc) + timedelta(seconds=1)
    return [d.path for d in compute(bot.state, sample_kb.index.get(), until - timedelta(days=7), until).drafts]


def test_a_coordinator_discards_a_draft_from_app_home(with_draft, sample_kb, tmp_path):
    bot, draft = with_draft
    bot.send.event({**HOME_EVENT, "user": COORDINATOR})
    _, view = published(bot)
    (button,) = discard_buttons(view)
    assert button["value"] == str(draft.id) and button["confirm"]["confirm"]["text"] == "Discard"
    assert bot.send.home_click("draft_discard", button["value"], user=COORDINATOR).status == 200
    user, view = published(bot, count=2)
    assert user == COORDINATOR and discard_buttons(view) == []
    assert "*Drafts waiting*\\n0 to publish" in view and "*Drafts waiting to be published*\\nNone." in view
    assert ("*&lt;!channel&gt; Dinner with customers: up to $80 a head* is off the waiting list. "
            f"Its file (`{SAVED_PATH}`) and its copy in my database are kept.") in view and "<!channel>" not in view
    assert waiting_in_digest(bot, sample_kb) == []
    (kept,) = stored_drafts(bot.state)  # nothing is lost: the row, and the file
    assert (kept.id, kept.discarded_by) == (draft.id, COORDINATOR) and (tmp_path / "kb" / SAVED_PATH).is_file()


def test_a_reps_discard_is_refused_and_changes_nothing(with_draft, sample_kb):
    bot, draft = with_draft
    assert bot.send.home_click("draft_discard", str(draft.id), user="U0REP1").status == 200
    user, view = published(bot)
    assert user == "U0REP1" and NOT_FOR_YOU in view and "Enablement dashboard" not in view
    assert stored_drafts(bot.state) == [draft] and waiting_in_digest(bot, sample_kb) == [SAVED_PATH]


@pytest.mark.parametrize("value, notice", [("999", GONE_DRAFT), ("abc", BROKEN_DISCARD), ("-1", BROKEN_DISCARD),
                                           ("1 OR 1=1", BROKEN_DISCARD), ("", BROKEN_DISCARD), ("9" * 40, BROKEN_DISCARD)])
def test_an_unknown_or_garbage_id_is_answered_politely(with_draft, sample_kb, value, notice):
    bot, draft = with_draft
    assert bot.send.home_click("draft_discard", value, user=COORDINATOR).status == 200
    user, view = published(bot)
    assert user == COORDINATOR and notice in view and "Enablement dashboard" in view
    assert [b["value"] for b in discard_buttons(view)] == [str(draft.id)]
    assert stored_drafts(bot.state) == [draft]
