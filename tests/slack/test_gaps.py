"""Coordinators review gaps in Slack; resolving one, or a re-index that answers it, DMs the reps who asked."""
from __future__ import annotations

import json
import shutil
import time

import pytest

from bot.watcher import GapWatcher
from indexer.build import build
from knowledge.answer import KnowledgeBase
from knowledge.index import LiveIndex
from tests.conftest import SAMPLE_KB, write
from tests.slack.conftest import start_bot
from tests.slack.slack_requests import view_submission
from tests.slack.test_questions import action_ids, texts

COORDINATOR = "U0COORD"
LEAVE = ["what is our parental leave policy", "how many weeks of parental leave do we get"]  # not in the sample KB


@pytest.fixture
def bot(tmp_path, fake_slack, sample_kb):
    server, running = start_bot(tmp_path, fake_slack, sample_kb, coordinators=(COORDINATOR,))
    yield running
    server.close()


def ask_all(bot, questions_and_users):
    for n, (question, user) in enumerate(questions_and_users, 1):
        bot.send.command("/ask", question, user=user)
        bot.slack.wait_for("response_url", count=n)


def test_a_non_coordinator_is_politely_refused_and_shown_nothing(bot):
    ask_all(bot, [(LEAVE[0], "U0REP1")])
    bot.send.command("/kb-gaps", "", user="U0REP1")
    reply = bot.slack.wait_for("response_url", count=2)[1].body
    assert "for the enablement coordinators" in reply["text"] and "blocks" not in reply
    bot.send.click("gap_ignore", "1", user="U0REP1")
    refusal = bot.slack.wait_for("response_url", count=3)[2].body
    assert "for the enablement coordinators" in refusal["text"]
    assert [g.status for g in bot_gaps(bot)] == ["open"]


def eventually(get, done, timeout: float = 20.0):
    """`get()` once `done` holds for it (work after an ack lands a moment later), or the last value."""
    deadline = time.monotonic() + timeout
    while not done(value := get()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def bot_gaps(bot):
    from knowledge.gaps import Gaps
    return Gaps(bot.state, None).list(status=None)


def test_coordinators_see_open_gaps_most_asked_first(bot):
    ask_all(bot, [(LEAVE[0], "U0REP1"), ("can i expense dinner with a customer", "U0REP2"), (LEAVE[1], "U0REP2"), (LEAVE[0], "U0REP3")])
    bot.send.command("/kb-gaps", "", user=COORDINATOR)
    blocks = bot.slack.wait_for("response_url", count=5)[4].body["blocks"]
    shown = texts(blocks)
    assert shown.index("*3× asked* by 3 reps") < shown.index("*1× asked* by 1 rep ")
    assert "\n> what is our parental leave policy" in json.loads(shown)[1]["text"]["text"]
    assert action_ids(blocks) == ["gap_resolve", "gap_draft", "gap_ignore"] * 2


def test_resolving_a_gap_dms_everyone_who_asked(bot):
    ask_all(bot, [(LEAVE[0], "U0REP1"), (LEAVE[1], "U0REP2"), (LEAVE[0], "U0REP1")])
    (gap,) = bot_gaps(bot)
    bot.send.click("gap_resolve", str(gap.id), user=COORDINATOR)
    (opened,) = bot.slack.wait_for("views.open")
    modal = opened.body["view"] if isinstance(opened.body["view"], dict) else json.loads(opened.body["view"])
    assert modal["callback_id"] == "gap_resolve"
    r = view_submission(bot.send, "gap_resolve", {"doc_pick": {"value": {"type": "static_select", "selected_option": {"value": "products/security-and-compliance.md"}}}, "doc_paste": {"value": {"type": "plain_text_input", "value": None}}}, modal["private_metadata"], COORDINATOR)
    assert r.status == 200
    opens = bot.slack.wait_for("conversations.open", count=2)
    assert sorted(c.body["users"] for c in opens) == ["U0REP1", "U0REP2"]
    dms = bot.slack.wait_for("chat.postMessage", count=2)
    for dm in dms:
        shown = texts(dm.body["blocks"])
        assert "can now answer a question you asked" in shown
        assert "https://enablement.brightwave.example/products/security-and-compliance" in shown
    assert {texts(d.body["blocks"]).count("You asked: _") for d in dms} == {1}
    assert bot_gaps(bot)[0].status == "resolved"


def resolve(bot, gap_id: int, document: str = "products/security-and-compliance.md"):
    bot.send.click("gap_resolve", str(gap_id), user=COORDINATOR)
    opened = bot.slack.wait_for("views.open")[-1]
    modal = opened.body["view"] if isinstance(opened.body["view"], dict) else json.loads(opened.body["view"])
    pick = {"doc_pick": {"value": {"type": "static_select", "selected_option": {"value": document}}},
            "doc_paste": {"value": {"type": "plain_text_input", "value": None}}}
    assert view_submission(bot.send, "gap_resolve", pick, modal["private_metadata"], COORDINATOR).status == 200


@pytest.mark.parametrize("refusal", ["ratelimited", 503])
def test_a_dm_slack_turns_away_for_now_is_sent_on_the_next_pass(bot, sample_kb, embedder, refusal):
    ask_all(bot, [(LEAVE[0], "U0REP1")])
    (gap,) = bot_gaps(bot)
    bot.slack.refuse("chat.postMessage", refusal)
    resolve(bot, gap.id)
    bot.slack.wait_for("chat.postMessage")  # turned away
    settled = "SELECT COUNT(*) FROM notifications WHERE claimed_at IS NULL OR sent_at IS NOT NULL"
    eventually(lambda: bot.state.execute(settled).fetchone()[0], lambda n: n == 1)  # the listener let go of it
    bot.slack.allow()
    watcher = GapWatcher(sample_kb, bot_gaps_of(bot, embedder), bot.state, server_client(bot), interval=0.2)
    watcher.tick()
    watcher.tick()
    delivered = [c for c in bot.slack.of("chat.postMessage") if c.reply.get("ok")]
    assert len(delivered) == 1 and "can now answer a question you asked" in texts(delivered[0].body["blocks"])


def test_a_resolve_without_a_document_is_refused_in_the_modal(bot):
    ask_all(bot, [(LEAVE[0], "U0REP1")])
    r = view_submission(bot.send, "gap_resolve", {"doc_paste": {"value": {"type": "plain_text_input", "value": "  "}}}, json.dumps({"gap_id": 1}), COORDINATOR)
    assert r.json() == {"response_action": "errors", "errors": {"doc_paste": "Pick a document or paste its path or URL."}}
    assert bot_gaps(bot)[0].status == "open"


def test_ignoring_a_gap_removes_it_from_the_list(bot):
    ask_all(bot, [(LEAVE[0], "U0REP1")])
    bot.send.click("gap_ignore", str(bot_gaps(bot)[0].id), user=COORDINATOR)
    update = bot.slack.wait_for("response_url", count=2)[1].body
    assert update["replace_original"] is True and "No open content gaps" in texts(update["blocks"])
    assert bot_gaps(bot)[0].status == "ignored"


def test_thumbs_down_and_missing_battlecards_become_gaps(bot):
    ask_all(bot, [("how long is the renewal notice period", "U0REP1")])
    asked = bot.state.questions()[0]
    bot.send.click("feedback_not_helpful", str(asked.id))
    bot.slack.wait_for("response_url", count=2)
    bot.send.command("/battlecard", "pied piper", user="U0REP2")
    gaps = eventually(lambda: bot_gaps(bot), lambda gaps: len(gaps) == 2)  # filed after the ack
    assert sorted(g.examples[0] for g in gaps) == ["battlecard: pied piper", "how long is the renewal notice period"]


def test_a_reindex_that_answers_a_gap_dms_the_askers(tmp_path, fake_slack, embedder):
    source, root = tmp_path / "kb", tmp_path / "index"
    shutil.copytree(SAMPLE_KB, source)
    build(source, root, embedder)
    kb = KnowledgeBase(LiveIndex(root, embedder.name), embedder)
    server, bot = start_bot(tmp_path, fake_slack, kb)
    try:
        watcher = GapWatcher(kb, bot_gaps_of(bot, embedder), bot.state, server_client(bot), interval=0.2)
        watcher.tick()  # the current build: nothing to recheck yet
        ask_all(bot, [(LEAVE[0], "U0REP1"), (LEAVE[1], "U0REP2")])
        assert [g.status for g in bot_gaps(bot)] == ["open"]
        write(source, "people/benefits.md", "---\ntitle: Benefits\ntype: policy\nurl: https://enablement.brightwave.example/people/benefits\n---\n"
              "# Benefits\n\n## Parental leave policy\n\nEvery Brightwave parent gets 16 weeks of fully paid parental leave, "
              "to take within the first year after a birth or adoption. Tell your manager and People Ops a month ahead.\n")
        build(source, root, embedder)
        watcher.start()
        dms = fake_slack.wait_for("chat.postMessage", count=2)
        watcher.stop()
        assert all("people/benefits#parental-leave-policy" in texts(d.body["blocks"]) for d in dms)
        assert sorted(c.body["users"] for c in fake_slack.of("conversations.open")) == ["U0REP1", "U0REP2"]
        assert [g.status for g in bot_gaps(bot)] == ["answerable"]
    finally:
        server.close()


def bot_gaps_of(bot, embedder):
    from knowledge.gaps import Gaps
    return Gaps(bot.state, embedder)


def server_client(bot):
    from slack_sdk import WebClient
    return WebClient(token="xoxb-0001-test-token", base_url=bot.slack.api_url)
