"""Ask an expert: the question reaches the experts' channel, the first reply reaches the rep and the gap."""
from __future__ import annotations

import json

import pytest

from bot.watcher import GapWatcher
from knowledge.gaps import Gaps
from tests.slack.conftest import start_bot
from tests.slack.test_feedback import click_and_wait, posted_message
from tests.slack.test_gaps import COORDINATOR, LEAVE, eventually, server_client
from tests.slack.test_questions import action_ids, texts

EXPERTS = "C0EXPERTS"


@pytest.fixture
def bot(tmp_path, fake_slack, sample_kb):
    server, running = start_bot(tmp_path, fake_slack, sample_kb, coordinators=(COORDINATOR,), experts_channel=EXPERTS)
    yield running
    server.close()


def posts_to(bot, channel: str, count: int = 1):
    """The chat.postMessage calls to `channel`, once `count` of them arrived."""
    def found():
        return [c for c in bot.slack.of("chat.postMessage") if c.body.get("channel") == channel]
    posts = eventually(found, lambda p: len(p) >= count)
    assert len(posts) >= count, [c.body.get("channel") for c in bot.slack.of("chat.postMessage")]
    return posts


def ask_in_thread(bot, question: str, ts: str = "1700000700.000001"):
    """A rep mentions the bot; returns (the answer post, the stored question)."""
    bot.send.mention(question, ts=ts)
    (post,) = posts_to(bot, "C0SALES")
    return post, bot.state.questions()[-1]


def ts_of(bot, post) -> str:
    """The ts the fake Slack gave a post (a reply in its thread names it)."""
    return post.reply["ts"]


def send_to_experts(bot, question_id: int, user: str = "U0REP1", message: dict | None = None) -> dict:
    """Click Ask an expert; returns the experts' post (its body and the ts the fake Slack gave it)."""
    (confirm,) = click_and_wait(bot, "ask_expert", question_id, user, message, replies=1)
    assert f"asked the experts in <#{EXPERTS}>" in confirm["text"] and confirm["response_type"] == "ephemeral"
    (post,) = posts_to(bot, EXPERTS)
    return post


def test_an_unconfident_answer_offers_an_expert_and_a_confident_one_does_not(bot):
    post, _ = ask_in_thread(bot, LEAVE[0])
    assert "ask_expert" in action_ids(post.body["blocks"])
    bot.send.mention("what's the uptime sla", ts="1700000700.000002")
    confident = posts_to(bot, "C0SALES", count=2)[1]
    assert "ask_expert" not in action_ids(confident.body["blocks"])


def test_without_an_experts_channel_no_answer_offers_one(tmp_path, fake_slack, sample_kb):
    server, bot = start_bot(tmp_path, fake_slack, sample_kb)
    try:
        post, _ = ask_in_thread(bot, LEAVE[0])
        assert "ask_expert" not in action_ids(post.body["blocks"])
    finally:
        server.close()


def test_the_expert_reply_goes_back_to_the_thread_and_onto_the_gap(bot):
    answer, asked = ask_in_thread(bot, LEAVE[0])
    post = send_to_experts(bot, asked.id, message=posted_message(answer))
    shown = texts(post.body["blocks"])
    assert "<@U0REP1> asked" in shown and LEAVE[0] in shown
    assert "Closest sections" in shown and "https://enablement.brightwave.example/" in shown
    assert action_ids(post.body["blocks"]) == ["expert_mark_answered"]
    ts = ts_of(bot, post)

    reply = "16 weeks paid, see <https://hr.example.com/leave|the HR page> <!channel> & ask <@U0HR>"
    assert bot.send.channel_message(reply, user="U0EXPERT", thread_ts=ts).status == 200
    (relayed,) = posts_to(bot, "C0SALES", count=2)[1:]
    assert relayed.body["thread_ts"] == "1700000700.000001"  # under the rep's question, where they asked
    body = texts(relayed.body["blocks"])
    assert "<@U0EXPERT> answered your question" in body and "<https://hr.example.com/leave|the HR page>" in body
    assert "<!channel>" not in body and "@channel" in body and "<@U0HR>" in body and "&amp; ask" in body
    (update,) = bot.slack.wait_for("chat.update")
    assert update.body["ts"] == ts and "ask_expert" not in texts(update.body["blocks"])
    assert action_ids(update.body["blocks"]) == []

    (gap,) = Gaps(bot.state, None).list("open")
    assert gap.expert_answer == reply and gap.expert_by == "U0EXPERT"

    # A second reply in the thread is a conversation among experts: the rep got the first one already.
    bot.send.channel_message("also check the handbook", user="U0OTHER", thread_ts=ts)
    bot.send.command("/kb-gaps", "", user=COORDINATOR)
    (listed,) = [c.body for c in bot.slack.wait_for("response_url", count=2) if "blocks" in c.body and "Open content gaps" in c.body.get("text", "")]
    assert "<@U0EXPERT> answered" in texts(listed["blocks"]) and "16 weeks paid" in texts(listed["blocks"])
    assert len(posts_to(bot, "C0SALES")) == 2
    assert Gaps(bot.state, None).list("open")[0].expert_answer == reply


def test_a_retried_reply_event_is_relayed_once(bot):
    _, asked = ask_in_thread(bot, LEAVE[0])
    ts = ts_of(bot, send_to_experts(bot, asked.id))
    event = {"type": "message", "user": "U0EXPERT", "text": "16 weeks", "ts": "1700000800.000001", "channel": EXPERTS,
             "thread_ts": ts, "channel_type": "channel", "event_ts": "1700000800.000001"}
    for _ in range(2):
        assert bot.send.event(event, event_id="EvRETRY1").status == 200
    posts_to(bot, "C0SALES", count=2)
    bot.slack.wait_for("chat.update")
    assert len(posts_to(bot, "C0SALES")) == 2


def test_a_reply_without_words_is_not_the_answer(bot):
    _, asked = ask_in_thread(bot, LEAVE[0])
    ts = ts_of(bot, send_to_experts(bot, asked.id))
    bot.send.channel_message("", user="U0SOMEONE", thread_ts=ts, subtype="file_share")
    bot.send.channel_message("16 weeks paid", user="U0EXPERT", thread_ts=ts)
    (relayed,) = posts_to(bot, "C0SALES", count=2)[1:]
    assert "<@U0EXPERT> answered your question" in texts(relayed.body["blocks"])
    assert Gaps(bot.state, None).list("open")[0].expert_by == "U0EXPERT"


def test_a_question_the_network_kept_from_the_experts_can_be_sent_again(bot):
    _, asked = ask_in_thread(bot, LEAVE[0])
    bot.slack.refuse("chat.postMessage", None, channel=EXPERTS)  # hangs up: no answer at all
    (sorry,) = click_and_wait(bot, "ask_expert", asked.id, "U0REP1", None, replies=1)
    assert "couldn't reach the experts' channel" in sorry["text"]
    bot.slack.allow()
    (confirm,) = click_and_wait(bot, "ask_expert", asked.id, "U0REP1", None, replies=1)
    assert f"asked the experts in <#{EXPERTS}>" in confirm["text"]  # not "already sent to the experts"


def test_a_private_answer_brings_the_expert_reply_by_dm_and_asks_once(bot):
    bot.send.command("/ask", LEAVE[1], user="U0REP2")
    (reply,) = bot.slack.wait_for("response_url")
    assert "ask_expert" in action_ids(reply.body["blocks"])
    (asked,) = bot.state.questions()
    ts = ts_of(bot, send_to_experts(bot, asked.id, user="U0REP2"))
    (again,) = click_and_wait(bot, "ask_expert", asked.id, "U0REP2", None, replies=1)
    assert "already sent to the experts" in again["text"]
    assert len(posts_to(bot, EXPERTS)) == 1

    bot.send.channel_message("16 weeks", user="U0EXPERT", thread_ts=ts)
    (opened,) = bot.slack.wait_for("conversations.open")
    assert opened.body["users"] == "U0REP2"
    (dm,) = posts_to(bot, "DU0REP2")
    assert "16 weeks" in texts(dm.body["blocks"])


def test_mark_answered_closes_the_loop_without_a_reply(bot):
    _, asked = ask_in_thread(bot, LEAVE[0])
    post = send_to_experts(bot, asked.id)
    (request_id,) = [e["value"] for b in post.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    (closed,) = click_and_wait(bot, "expert_mark_answered", int(request_id), "U0EXPERT", posted_message(post), replies=1)
    assert closed["replace_original"] is True and "<@U0EXPERT> marked this answered" in texts(closed["blocks"])
    (note,) = posts_to(bot, "C0SALES", count=2)[1:]
    assert "marked your question answered" in texts(note.body["blocks"])

    (twice,) = click_and_wait(bot, "expert_mark_answered", int(request_id), "U0OTHER", posted_message(post), replies=1)
    assert "already answered" in twice["text"]
    bot.send.channel_message("late reply", user="U0EXPERT", thread_ts=ts_of(bot, post))
    assert Gaps(bot.state, None).list("open")[0].expert_answer is None
    assert len(posts_to(bot, "C0SALES")) == 2


def test_a_thumbs_down_offers_an_expert(bot):
    answer, asked = ask_in_thread(bot, "what's the uptime sla")
    replies = click_and_wait(bot, "feedback_not_helpful", asked.id, "U0REP1", posted_message(answer), replies=2)
    (offer,) = [r for r in replies if r.get("response_type") == "ephemeral"]
    assert action_ids(offer["blocks"]) == ["ask_expert"] and offer["blocks"][-1]["elements"][0]["value"] == str(asked.id)
    post = send_to_experts(bot, asked.id)
    # The closest document's front matter names its owners (owner_slack): the experts' post pings them.
    assert "Owner of the closest document: <!subteam^S0SECTRUST>" in texts(post.body["blocks"])


def test_what_a_rep_typed_reaches_the_experts_escaped(bot):
    _, asked = ask_in_thread(bot, "<!here> is <@U0BOSS> on parental leave? <https://evil.example|click>")
    post = send_to_experts(bot, asked.id)
    shown = json.dumps(post.body["blocks"])
    assert "<!here>" not in shown and "<@U0BOSS>" not in shown and "<https://evil.example|click>" not in shown
    assert "&lt;!here&gt;" in shown


def test_other_channel_messages_are_acknowledged_and_ignored(bot):
    assert bot.send.channel_message("lunch?", channel="C0RANDOM", thread_ts="1700000000.000001").status == 200
    assert bot.send.channel_message("hello experts", channel=EXPERTS).status == 200
    assert bot.slack.of("chat.postMessage") == []


# A failed relay: the answer is kept and owed to the rep until a watcher pass delivers it (or Slack refuses it for good).

def delivered(bot, channel: str = "C0SALES"):
    """The posts to `channel` that Slack took (a refused one is recorded too, with its refusal as the reply)."""
    return [c for c in bot.slack.of("chat.postMessage") if c.body.get("channel") == channel and c.reply.get("ok")]


def refused(bot, channel: str = "C0SALES"):
    return [c for c in bot.slack.of("chat.postMessage") if c.body.get("channel") == channel and not c.reply.get("ok")]


def watcher_pass(bot, kb, embedder, host: str = "web-1") -> None:
    """One tick of the periodic watcher, as a `kb serve` process on `host` runs it every 30 seconds."""
    GapWatcher(kb, Gaps(bot.state, embedder), bot.state, server_client(bot), host=host).tick()


def reply_while_slack_refuses(bot, error, reply: str = "16 weeks paid") -> str:
    """A rep's question goes to the experts, and an expert replies while Slack refuses posts to the rep's
    channel; returns what the experts' post then says."""
    answer, asked = ask_in_thread(bot, LEAVE[0])
    ts = ts_of(bot, send_to_experts(bot, asked.id, message=posted_message(answer)))
    bot.slack.refuse("chat.postMessage", error, channel="C0SALES")
    assert bot.send.channel_message(reply, user="U0EXPERT", thread_ts=ts).status == 200
    (update,) = bot.slack.wait_for("chat.update")  # the experts' post shows the answer whatever became of the relay
    assert update.body["ts"] == ts
    return texts(update.body["blocks"])


@pytest.mark.parametrize("error", ["ratelimited", 503, None], ids=["ratelimited", "slack-5xx", "network"])
def test_a_relay_that_failed_for_now_reaches_the_rep_on_the_next_watcher_pass_once(bot, sample_kb, embedder, error):
    post = reply_while_slack_refuses(bot, error)
    assert len(delivered(bot)) == 1 and refused(bot)  # only the bot's own answer went out
    assert "will reach <@U0REP1> as soon as Slack lets me" in post and "went to" not in post
    assert Gaps(bot.state, None).list("open")[0].expert_answer == "16 weeks paid"  # kept all the same

    watcher_pass(bot, sample_kb, embedder)  # Slack still refuses: still owed
    assert len(delivered(bot)) == 1
    bot.slack.allow()
    for host in ("web-1", "web-1", "web-2"):  # the next pass delivers it; later ones, anywhere, do not again
        watcher_pass(bot, sample_kb, embedder, host)
    (relayed,) = delivered(bot)[1:]
    assert relayed.body["thread_ts"] == "1700000700.000001"
    post = texts(bot.slack.of("chat.update")[-1].body["blocks"])  # the experts' post no longer says "will reach"
    assert "<@U0EXPERT> answered in this thread; the reply went to <@U0REP1>." in post
    assert "<@U0EXPERT> answered your question" in texts(relayed.body["blocks"]) and "16 weeks paid" in texts(relayed.body["blocks"])


@pytest.mark.parametrize("error", ["channel_not_found", "is_archived"])
def test_a_relay_slack_refuses_for_good_is_recorded_and_not_retried(bot, sample_kb, embedder, error):
    post = reply_while_slack_refuses(bot, error)
    assert "Slack refused to deliver the reply to <@U0REP1>; please tell them directly" in post
    for host in ("web-1", "web-1", "web-2"):
        watcher_pass(bot, sample_kb, embedder, host)
    assert len(refused(bot)) == 1 and len(delivered(bot)) == 1  # asked once, not every 30 seconds forever
    (row,) = bot.state.execute("SELECT relay_error, relayed_at IS NOT NULL FROM expert_requests").fetchall()
    assert tuple(row) == (error, 1)
    assert Gaps(bot.state, None).list("open")[0].expert_answer == "16 weeks paid"


def test_an_escaped_reply_stays_escaped_when_the_watcher_relays_it(bot, sample_kb, embedder):
    reply_while_slack_refuses(bot, "ratelimited", reply="ask <@U0HR> & see <!channel>")
    bot.slack.allow()
    watcher_pass(bot, sample_kb, embedder)
    body = texts(delivered(bot)[1].body["blocks"])
    assert "<!channel>" not in body and "@channel" in body and "<@U0HR>" in body and "&amp; see" in body


def test_a_mark_answered_note_the_network_lost_reaches_the_reps_dm_on_the_next_pass(bot, sample_kb, embedder):
    bot.send.command("/ask", LEAVE[1], user="U0REP2")
    bot.slack.wait_for("response_url")
    (asked,) = bot.state.questions()
    post = send_to_experts(bot, asked.id, user="U0REP2")
    (request_id,) = [e["value"] for b in post.body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    bot.slack.refuse("chat.postMessage", None, channel="DU0REP2")  # the connection drops: Slack may never have seen it
    (closed,) = click_and_wait(bot, "expert_mark_answered", int(request_id), "U0EXPERT", posted_message(post), replies=1)
    assert "<@U0EXPERT> marked this answered" in texts(closed["blocks"])
    # The post and slack_sdk's one retry after a dropped connection: both lost.
    assert len(eventually(lambda: refused(bot, "DU0REP2"), lambda calls: len(calls) == 2)) == 2
    assert delivered(bot, "DU0REP2") == []

    bot.slack.allow()
    watcher_pass(bot, sample_kb, embedder)
    watcher_pass(bot, sample_kb, embedder, "web-2")
    (note,) = delivered(bot, "DU0REP2")
    assert "<@U0EXPERT> marked your question answered" in texts(note.body["blocks"]) and LEAVE[1] in texts(note.body["blocks"])


def test_a_relay_that_went_out_at_once_is_not_sent_again_by_the_watcher(bot, sample_kb, embedder):
    answer, asked = ask_in_thread(bot, LEAVE[0])
    ts = ts_of(bot, send_to_experts(bot, asked.id, message=posted_message(answer)))
    bot.send.channel_message("16 weeks", user="U0EXPERT", thread_ts=ts)
    bot.slack.wait_for("chat.update")
    watcher_pass(bot, sample_kb, embedder)
    assert len(delivered(bot)) == 2
    (row,) = bot.state.execute("SELECT relay_error, relayed_at IS NOT NULL FROM expert_requests").fetchall()
    assert tuple(row) == (None, 1)
