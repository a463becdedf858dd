"""A full work backlog: the real app with one worker and no queue, against a Slack that takes a second.
Nothing waits and nothing is lost: the rep hears "I'm swamped" and the question stays stored."""
from __future__ import annotations

import pytest

from bot.app import create_app
from bot.listeners.questions import NOT_SEARCHED
from bot.server import http_server
from bot.work import SWAMPED, Work
from knowledge.config import Settings
from knowledge.state import StateDB
from tests.slack.conftest import serve
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_requests import SIGNING_SECRET, SlackSender


@pytest.fixture
def one_worker(tmp_path, sample_kb):
    with FakeSlack(latency=1.0) as slack:
        settings = Settings(slack_bot_token="xoxb-0001-test-token", slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=slack.api_url, state_db=tmp_path / "state.db")
        state, work = StateDB(settings.state_db), Work(workers=1, backlog=0)
        server = serve(http_server(create_app(settings, sample_kb, state, work=work), SIGNING_SECRET, "127.0.0.1", 0))
        yield SlackSender(f"http://127.0.0.1:{server.effective_port}/slack/events", slack.response_url()), slack, state
        server.close()
        work.shutdown()


def errors(state: StateDB) -> list[tuple[str, str | None]]:
    return [tuple(row) for row in state.db.execute("SELECT question, error FROM questions WHERE status = 'error' ORDER BY id")]


def test_an_ask_past_a_full_backlog_is_told_at_once_and_kept(one_worker):
    send, slack, state = one_worker
    first = send.command("/ask", "who approves a 30% discount")  # takes the only worker for over a second
    second = send.command("/ask", "how long is the renewal notice period")
    assert (first.status, first.body) == (200, b"")
    assert second.status == 200 and SWAMPED in second.body.decode()  # on the ack itself
    slack.wait_for("response_url")
    assert [q.question for q in state.questions()] == ["who approves a 30% discount", "how long is the renewal notice period"]
    assert errors(state) == [("how long is the renewal notice period", NOT_SEARCHED)]


def test_a_mention_past_a_full_backlog_gets_a_polite_post_and_is_kept(one_worker):
    send, slack, state = one_worker
    send.command("/ask", "who approves a 30% discount")
    assert send.mention("what is the uptime sla", ts="1700000100.000999").status == 200
    (post,) = slack.wait_for("chat.postMessage")
    assert post.body["text"] == SWAMPED and post.body["thread_ts"] == "1700000100.000999"
    assert errors(state) == [("what is the uptime sla", NOT_SEARCHED)]


def test_when_the_question_cannot_be_stored_the_rep_still_gets_the_answer_and_the_log_keeps_it(bot, caplog):
    bot.state.db.execute("DROP TABLE questions")  # a state DB that fails every write of a question
    r = bot.send.command("/ask", "who approves a 30% discount", user="U0REP1")
    assert (r.status, r.body) == (200, b"")
    reply = bot.slack.wait_for("response_url")[0].body
    assert "pricing-and-discounting" in str(reply["blocks"]) and "feedback_helpful" not in str(reply["blocks"])  # nothing stored to rate
    assert bot.send.mention("what is the uptime sla").status == 200
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert "availability-and-sla" in str(post.body["blocks"])
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "not stored (answering it anyway): 'who approves a 30% discount'" in logged and "'what is the uptime sla'" in logged
