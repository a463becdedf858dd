"""Socket Mode end to end (the README's path for a laptop): the real app and slack_sdk's Socket Mode client
against a local websocket standing in for Slack's, and the fake Web API for everything the app calls."""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import pytest

from bot.app import create_app
from bot.server import socket_mode_handler
from knowledge.config import Settings
from knowledge.state import StateDB
from tests.slack.fake_socket import FakeSocketSlack
from tests.slack.slack_requests import TEAM
from tests.slack.test_questions import action_ids, texts

APP_TOKEN = "xapp-1-A0001-0001-test"
_ids = itertools.count(1)


@dataclass
class SocketBot:
    slack: FakeSocketSlack
    state: StateDB


@pytest.fixture
def socket_bot(tmp_path, sample_kb):
    """The app as `kb serve` runs it with SLACK_APP_TOKEN set: bot and app tokens, no signing secret."""
    with FakeSocketSlack() as slack:
        settings = Settings(slack_bot_token="xoxb-0001-test-token", slack_app_token=APP_TOKEN,
                            slack_api_url=slack.api_url, state_db=tmp_path / "state.db")
        state = StateDB(settings.state_db)
        # The handler bot.server.run_socket_mode starts (and blocks on): connect() returns, close() ends it.
        handler = socket_mode_handler(create_app(settings, sample_kb, state), APP_TOKEN)
        handler.connect()
        try:
            yield SocketBot(slack, state)
        finally:
            handler.close()


def mention(text: str, user: str = "U0REP1", channel: str = "C0SALES") -> tuple[dict, str]:
    """An events_api payload for an app_mention (the same body Slack POSTs in HTTP mode), and its ts."""
    ts = f"1700000400.{next(_ids):06d}"
    event = {"type": "app_mention", "user": user, "text": f"<@UBOT0001> {text}", "ts": ts, "channel": channel, "event_ts": ts}
    body = {"token": "legacy-verification-token", "team_id": TEAM, "api_app_id": "A0001", "event": event,
            "type": "event_callback", "event_id": f"EvS{next(_ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT0001", "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": "4-context"}
    return body, ts


def slash_command(command: str, text: str, response_url: str, user: str = "U0REP1") -> dict:
    return {"token": "legacy-verification-token", "team_id": TEAM, "team_domain": "example", "channel_id": "C0SALES",
            "channel_name": "sales", "user_id": user, "user_name": "rep", "command": command, "text": text,
            "api_app_id": "A0001", "is_enterprise_install": "false", "response_url": response_url,
            "trigger_id": f"trigger.{next(_ids)}"}


def button_click(action_id: str, value: str, response_url: str, user: str = "U0REP1") -> dict:
    return {"type": "block_actions", "team": {"id": TEAM, "domain": "example"},
            "user": {"id": user, "username": "rep", "team_id": TEAM}, "api_app_id": "A0001",
            "token": "legacy-verification-token", "trigger_id": f"trigger.{next(_ids)}",
            "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C0SALES", "is_ephemeral": True},
            "channel": {"id": "C0SALES", "name": "sales"}, "response_url": response_url,
            "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                         "text": {"type": "plain_text", "text": "x"}, "action_ts": str(time.time())}]}


def ask_by_mention(bot: SocketBot, question: str, answers_before: int) -> dict:
    """Push a mention over the newest websocket; check its ack, return the answer the app posted."""
    body, ts = mention(question)
    envelope_id = bot.slack.push("events_api", body)
    assert bot.slack.ack_of(envelope_id)["envelope_id"] == envelope_id
    post = bot.slack.wait_for("chat.postMessage", count=answers_before + 1)[answers_before].body
    assert post["channel"] == "C0SALES" and post["thread_ts"] == ts
    return post


def test_a_mention_is_acked_over_the_socket_answered_in_its_thread_and_survives_a_refresh(socket_bot):
    slack = socket_bot.slack
    first_socket = slack.wait_for_sockets(1)[0]
    assert len(slack.of("apps.connections.open")) == 1
    assert slack.of("apps.connections.open")[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"
    answer = ask_by_mention(socket_bot, "how do we handle the price objection vs acme", answers_before=0)
    assert "battlecards/acme#acme-is-cheaper" in texts(answer["blocks"])
    assert action_ids(answer["blocks"]) == ["feedback_helpful", "feedback_not_helpful", "answer_more"]

    slack.refresh()  # Slack asks every few hours: the client opens a new connection and drops the old
    slack.wait_for("apps.connections.open", count=2)
    assert slack.wait_for_sockets(2)[1] is not first_socket
    slack.wait_closed(first_socket)
    after = ask_by_mention(socket_bot, "who approves a 30% discount", answers_before=1)
    assert "pricing-and-discounting#discount-approval-levels" in texts(after["blocks"])
    assert [q.surface for q in socket_bot.state.questions()] == ["mention", "mention"]


def test_a_slash_command_is_acked_over_the_socket_and_answered_at_its_response_url(socket_bot):
    slack = socket_bot.slack
    envelope_id = slack.push("slash_commands", slash_command("/ask", "who approves a 30% discount", slack.response_url()),
                             accepts_response_payload=True)
    assert slack.ack_of(envelope_id)["envelope_id"] == envelope_id
    (reply,) = slack.wait_for("response_url")
    assert reply.body["response_type"] == "ephemeral"
    assert "pricing-and-discounting#discount-approval-levels" in texts(reply.body["blocks"])
    assert action_ids(reply.body["blocks"]) == ["feedback_helpful", "feedback_not_helpful", "answer_more", "share_answer"]
    (stored,) = socket_bot.state.questions()
    assert (stored.surface, stored.user_id, stored.status) == ("ask", "U0REP1", "answered")

    # /battlecard answers on its ack: over the socket, that is the ack frame's payload.
    envelope_id = slack.push("slash_commands", slash_command("/battlecard", "acme", slack.response_url("card")),
                             accepts_response_payload=True)
    card = slack.ack_of(envelope_id)["payload"]
    assert card["response_type"] == "ephemeral" and card["text"] == "Acme Corp battlecard"
    assert card["blocks"][0]["text"]["text"] == "Acme Corp battlecard" and "share_battlecard" in action_ids(card["blocks"])


def test_button_clicks_are_acked_over_the_socket_and_answered_at_their_response_url(socket_bot):
    slack = socket_bot.slack
    envelope_id = slack.push("interactive", button_click("battlecard_pick_3", "battlecards/hooli.md", slack.response_url("pick")))
    assert slack.ack_of(envelope_id)["envelope_id"] == envelope_id
    (picked,) = slack.wait_for("response_url")
    assert picked.body["replace_original"] is True
    assert picked.body["blocks"][0]["text"]["text"] == "Hooli Workspace battlecard"

    slack.push("slash_commands", slash_command("/ask", "how long is the renewal notice period", slack.response_url()),
               accepts_response_payload=True)
    slack.wait_for("response_url", count=2)
    (asked,) = socket_bot.state.questions()
    envelope_id = slack.push("interactive", button_click("feedback_helpful", str(asked.id), slack.response_url("rate")))
    assert slack.ack_of(envelope_id)["envelope_id"] == envelope_id
    slack.wait_for("response_url", count=3)
    assert socket_bot.state.ratings(asked.id) == {"U0REP1": "helpful"}
