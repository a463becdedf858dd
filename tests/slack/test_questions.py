"""Mentions, DMs and /ask, end to end: signed requests in, what the fake Slack received out."""
from __future__ import annotations

import json
import time

from bot.listeners.feedback import NOT_YOURS
from tests.slack.slack_requests import SIGNING_SECRET


def texts(blocks: list[dict]) -> str:
    """Every piece of text in a list of blocks, joined (what a person would read)."""
    return json.dumps(blocks, ensure_ascii=False)


def action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_url_verification_challenge(bot):
    r = bot.send.post(json.dumps({"token": "t", "challenge": "c0ffee", "type": "url_verification"}).encode(), "application/json")
    assert r.status == 200 and r.json() == {"challenge": "c0ffee"}


def test_a_mention_is_answered_in_a_thread_under_the_question(bot):
    r = bot.send.mention("how do we handle the price objection vs acme", ts="1700000100.000777")
    assert r.status == 200
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert post.body["channel"] == "C0SALES" and post.body["thread_ts"] == "1700000100.000777"
    blocks = post.body["blocks"]
    assert "<https://enablement.brightwave.example/battlecards/acme#acme-is-cheaper|Acme Corp battlecard>" in texts(blocks)
    assert "Owner: Priya Raman (Competitive Intel) · Last reviewed: 2026-09-14" in texts(blocks)
    assert action_ids(blocks) == ["feedback_helpful", "feedback_not_helpful", "answer_more"]
    (stored,) = bot.state.questions()
    assert (stored.surface, stored.user_id, stored.status, stored.question) == (
        "mention", "U0REP1", "answered", "how do we handle the price objection vs acme")
    assert stored.hits[0]["path"] == "battlecards/acme.md"


def test_a_dm_is_answered_in_the_dm(bot):
    bot.send.dm("can I send our soc2 report before an nda")
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert post.body["channel"] == "D0REP1" and "thread_ts" not in post.body
    assert "security-review#gated-documents" in texts(post.body["blocks"])


def test_a_retried_event_is_answered_once(bot):
    first = bot.send.mention("renewal uplift cap", event_id="Ev0RETRY")
    retry = bot.send.mention("renewal uplift cap", event_id="Ev0RETRY", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert (first.status, retry.status) == (200, 200)
    bot.slack.wait_for("chat.postMessage")
    bot.send.mention("a different question, to know the first two were handled", event_id="Ev0AFTER")
    posts = bot.slack.wait_for("chat.postMessage", count=2)
    assert len(posts) == 2 and len(bot.state.questions()) == 2


def test_bot_messages_and_edits_in_a_dm_are_not_questions(bot):
    bot.send.dm("an answer the bot itself posted", bot_id="B0001")
    bot.send.dm("edited text", subtype="message_changed")
    bot.send.dm("a real question about discount approval")
    bot.slack.wait_for("chat.postMessage")
    assert len(bot.slack.of("chat.postMessage")) == 1 and len(bot.state.questions()) == 1


def test_ask_acks_at_once_and_answers_privately_with_share(bot):
    r = bot.send.command("/ask", "who approves a 30% discount")
    assert r.status == 200 and r.body == b""  # the ack; the answer follows on response_url
    (reply,) = bot.slack.wait_for("response_url")
    assert reply.body["response_type"] == "ephemeral"
    assert action_ids(reply.body["blocks"]) == ["feedback_helpful", "feedback_not_helpful", "answer_more", "share_answer"]
    assert "pricing-and-discounting#discount-approval-levels" in texts(reply.body["blocks"])


def test_empty_questions_get_help_not_an_error(bot):
    r = bot.send.command("/ask", "   ")
    assert r.status == 200 and "/ask how do we handle" in r.body.decode()  # a plain-text ack: shown privately
    bot.send.mention("")
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert "Ask me anything" in post.body["text"]
    assert bot.state.questions() == []


def test_user_text_is_escaped_so_it_cannot_ping_or_link(bot):
    bot.send.command("/ask", "pricing <!channel> <@U0BOSS> <http://evil.example|docs> & more")
    (reply,) = bot.slack.wait_for("response_url")
    shown = texts(reply.body["blocks"])
    assert "&lt;!channel&gt; &lt;@U0BOSS&gt; &lt;http://evil.example|docs&gt; &amp; more" in shown
    assert "<!channel>" not in shown and "<@U0BOSS>" not in shown and "<http://evil" not in shown


def test_a_very_long_question_stays_within_block_kit_limits(bot):
    bot.send.command("/ask", "what discount can I give without approval and " * 120)
    (reply,) = bot.slack.wait_for("response_url")
    blocks = reply.body["blocks"]
    assert len(blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert all(len(e["text"]) <= 3000 for b in blocks if b["type"] == "context" for e in b["elements"])
    assert "…" in blocks[0]["elements"][0]["text"]  # the echoed question was trimmed at a word


def test_no_confident_answer_says_so_and_records_a_gap(bot):
    bot.send.command("/ask", "what is the parental leave policy for new parents")
    (reply,) = bot.slack.wait_for("response_url")
    assert "couldn't find a confident answer" in texts(reply.body["blocks"])
    assert "enablement team" in texts(reply.body["blocks"])
    (stored,) = bot.state.questions()
    assert stored.status == "gap" and stored.answered is False


def test_feedback_is_acknowledged_and_stored(bot):
    bot.send.command("/ask", "how long is the renewal notice period")
    bot.slack.wait_for("response_url")
    (stored,) = bot.state.questions()
    r = bot.send.click("feedback_not_helpful", str(stored.id))
    assert r.status == 200
    replies = bot.slack.wait_for("response_url", count=2)
    thanks = replies[1].body  # to the clicker alone; the answer keeps its buttons (tests/slack/test_feedback.py)
    assert thanks["replace_original"] is False and thanks["response_type"] == "ephemeral"
    assert "Thanks" in thanks["text"] and "blocks" not in thanks
    assert bot.state.question(stored.id).feedback == "not_helpful"


def test_share_in_channel_posts_for_everyone_and_removes_the_private_copy(bot):
    bot.send.command("/ask", "acme pricing comparison", user="U0REP9")
    bot.slack.wait_for("response_url")
    (stored,) = bot.state.questions()
    bot.send.click("share_answer", str(stored.id), user="U0REP9")
    replies = bot.slack.wait_for("response_url", count=3)
    shared, deleted = replies[1].body, replies[2].body
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert "<@U0REP9> shared an answer to" in texts(shared["blocks"])
    assert "share_answer" not in action_ids(shared["blocks"])
    assert deleted["delete_original"] is True


def test_only_the_asker_can_share_a_private_answer(bot):
    bot.send.command("/ask", "my deal with initech is slipping, what do i do", user="U0REP1")
    bot.slack.wait_for("response_url")
    (stored,) = bot.state.questions()
    bot.send.click("share_answer", str(stored.id), user="U0REP2", channel="C0GENERAL")  # a click no Slack client sends
    (refused,) = [r.body for r in bot.slack.wait_for("response_url", count=2)[1:]]
    assert refused["text"] == NOT_YOURS and refused["response_type"] == "ephemeral"
    assert not [c for c in bot.slack.of("response_url") if c.body.get("response_type") == "in_channel"]


def test_bad_signatures_are_refused_and_do_nothing(bot):
    forged = bot.send.command("/ask", "pricing", secret="0" * 32)
    unsigned = bot.send.command("/ask", "pricing", signed=False)
    stale = bot.send.command("/ask", "pricing", timestamp=int(time.time()) - 6 * 60)
    assert (forged.status, unsigned.status, stale.status) == (401, 401, 401)
    ok = bot.send.command("/ask", "pricing", secret=SIGNING_SECRET)
    assert ok.status == 200
    bot.slack.wait_for("response_url")
    assert len(bot.slack.of("response_url")) == 1 and len(bot.state.questions()) == 1


def test_health_check_and_unknown_paths(bot):
    import urllib.request, urllib.error
    assert urllib.request.urlopen(f"{bot.url}/healthz").read() == b"ok"
    try:
        urllib.request.urlopen(f"{bot.url}/nope")
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_feedback_on_a_question_past_retention_still_counts(bot):
    bot.send.command("/ask", "renewal uplift")
    bot.slack.wait_for("response_url")
    (stored,) = bot.state.questions()
    bot.state.db.execute("UPDATE questions SET question = NULL")  # as retention leaves it
    bot.send.click("feedback_helpful", str(stored.id))
    thanks = bot.slack.wait_for("response_url", count=2)[1].body
    assert thanks["text"] == "Thanks for the feedback!" and thanks["replace_original"] is False
    assert bot.state.question(stored.id).feedback == "helpful"
