"""A full work backlog: the real app with one worker and no queue, against a Slack that takes a second.
Nothing waits and nothing is lost: the rep hears "I'm swamped" and the question stays stored."""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from bot.app import create_app
from bot.listeners.questions import NOT_SEARCHED
from bot.server import http_server
from bot.work import PER_ASKER, SWAMPED, Work
from knowledge.config import Settings
from knowledge.state import StateDB
from tests.slack.conftest import serve
from tests.slack.fake_slack import FakeSlack
from tests.slack.slack_requests import SIGNING_SECRET, SlackSender


@contextmanager
def served_with(work: Work, tmp_path, kb):
    """The real app over HTTP with `work` as its pool, against a Slack that takes a second."""
    with FakeSlack(latency=1.0) as slack:
        settings = Settings(slack_bot_token="xoxb-0001-test-token", slack_signing_secret=SIGNING_SECRET,
                            slack_api_url=slack.api_url, state_db=tmp_path / "state.db")
        state = StateDB(settings.state_db)
        server = serve(http_server(create_app(settings, kb, state, work=work), SIGNING_SECRET, "127.0.0.1", 0))
        try:
            yield SlackSender(f"http://127.0.0.1:{server.effective_port}/slack/events", slack.response_url()), slack, state
        finally:
            server.close()
            work.shutdown()


@pytest.fixture
def one_worker(tmp_path, sample_kb):
    with served_with(Work(workers=1, backlog=0), tmp_path, sample_kb) as served:
        yield served


@pytest.fixture
def roomy(tmp_path, sample_kb):
    """One worker and room for twenty waiting."""
    with served_with(Work(workers=1, backlog=20), tmp_path, sample_kb) as served:
        yield served


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


def test_one_asker_cannot_fill_the_backlog_for_everyone(roomy):
    send, slack, state = roomy
    flood = [send.command("/ask", f"who approves a {n}% discount", user="U0FLOOD") for n in range(10, 10 + PER_ASKER + 2)]
    other = send.command("/ask", "how long is the renewal notice period", user="U0REP2")
    assert [r.body for r in flood] == [b""] * PER_ASKER + [SWAMPED.encode()] * 2
    assert (other.status, other.body) == (200, b"")  # the backlog still had room for someone else
    slack.wait_for("response_url", count=PER_ASKER + 1, timeout=30)
    assert len(state.questions()) == PER_ASKER + 3  # every question kept, answered or not
    assert [q for q, _ in errors(state)] == ["who approves a 13% discount", "who approves a 14% discount"]
    assert send.command("/ask", "who approves a 15% discount", user="U0FLOOD").body == b""  # answered: room again
