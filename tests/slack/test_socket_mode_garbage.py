"""Socket Mode has no signature to check: envelopes the app cannot read are acked and logged in one line,
and garbage button values get the same polite reply as over HTTP."""
from __future__ import annotations

import logging

import pytest

from bot.app import create_app
from bot.payloads import BROKEN_BUTTON
from bot.server import socket_mode_handler
from knowledge.config import Settings
from knowledge.state import StateDB
from tests.slack.fake_socket import FakeSocketSlack
from tests.slack.test_socket_mode import APP_TOKEN, button_click, mention


@pytest.fixture
def socket_slack(tmp_path, sample_kb):
    with FakeSocketSlack() as slack:
        settings = Settings(slack_bot_token="xoxb-0001-test-token", slack_app_token=APP_TOKEN,
                            slack_api_url=slack.api_url, state_db=tmp_path / "state.db")
        handler = socket_mode_handler(create_app(settings, sample_kb, StateDB(settings.state_db)), APP_TOKEN)
        handler.connect()
        yield slack
        handler.close()


GARBAGE = {
    "empty payload": ("events_api", {}),
    "event without a channel": ("events_api", {**mention("x")[0], "event": {"type": "app_mention", "text": "hi"}}),
    "event not an object": ("events_api", {**mention("x")[0], "event": "garbage"}),
    "team not an object": ("interactive", {**button_click("feedback_helpful", "1", "http://127.0.0.1:1/x"), "team": "T0001", "user": 7}),
}


@pytest.mark.parametrize("kind, payload", GARBAGE.values(), ids=GARBAGE.keys())
def test_an_unreadable_envelope_is_acked_and_logged_in_one_line(socket_slack, caplog, kind, payload):
    with caplog.at_level(logging.INFO):
        envelope_id = socket_slack.push(kind, payload)
        assert socket_slack.ack_of(envelope_id)["envelope_id"] == envelope_id  # Slack will not resend it
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


def test_a_garbage_button_value_over_the_socket_gets_a_polite_line(socket_slack):
    envelope_id = socket_slack.push("interactive", button_click("share_answer", "garbage", socket_slack.response_url("share")))
    assert socket_slack.ack_of(envelope_id)["envelope_id"] == envelope_id
    (reply,) = socket_slack.wait_for("response_url")
    assert reply.body == {"replace_original": False, "response_type": "ephemeral", "text": BROKEN_BUTTON}
