"""The state database down while the bot serves: reps still get answers, the log keeps their questions,
and the bot stores again as soon as the database is back."""
from __future__ import annotations

import logging
import time

import pytest

from bot.app import create_app
from bot.server import http_server
from knowledge.config import Settings
from knowledge.state_pg import PostgresState
from tests.slack.conftest import serve
from tests.slack.slack_requests import SIGNING_SECRET, SlackSender


@pytest.fixture
def pg_bot(fake_slack, sample_kb, pg_url):
    settings = Settings(slack_bot_token="xoxb-0001-test-token", slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=fake_slack.api_url, database_url=pg_url)
    state = PostgresState(pg_url)
    server = serve(http_server(create_app(settings, sample_kb, state), SIGNING_SECRET, "127.0.0.1", 0))
    yield SlackSender(f"http://127.0.0.1:{server.effective_port}/slack/events", fake_slack.response_url()), state
    server.close()
    state.close()


def test_a_question_that_cannot_be_stored_is_still_answered_and_logged(pg_bot, fake_slack, postgres, caplog):
    send, state = pg_bot
    caplog.set_level(logging.WARNING)
    postgres.stop()
    try:
        started = time.monotonic()
        assert send.command("/ask", "who approves a 30% discount", user="U0REP1").status == 200
        assert time.monotonic() - started < 3  # acked within Slack's deadline
        reply = fake_slack.wait_for("response_url", timeout=60)[0].body
        assert "pricing-and-discounting" in str(reply["blocks"]) and "feedback_helpful" not in str(reply["blocks"])
        assert send.mention("what's the uptime sla", user="U0REP2").status == 200
        (post,) = fake_slack.wait_for("chat.postMessage", timeout=60)
        assert "security-and-compliance#availability-and-sla" in str(post.body["blocks"])
        logged = [r.getMessage() for r in caplog.records if "not stored" in r.getMessage()]
        assert any("who approves a 30% discount" in m and "U0REP1" in m for m in logged), caplog.text
        assert any("what's the uptime sla" in m for m in logged), caplog.text
    finally:
        postgres.start()
    send.command("/ask", "who approves a 30% discount", user="U0REP3")  # back: stored again, with its buttons
    assert "feedback_helpful" in str(fake_slack.wait_for("response_url", count=2, timeout=60)[1].body["blocks"])
    assert [(q.user_id, q.status) for q in state.questions()] == [("U0REP3", "answered")]
