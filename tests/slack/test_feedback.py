"""👍/👎 from anyone who sees an answer: each person's click is theirs, the buttons stay, the clicker is thanked."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.blocks import answer_blocks, with_feedback_counts
from knowledge.digest import compute
from tests.slack.fake_slack import BOT_USER
from tests.slack.test_questions import action_ids, texts


def posted_message(post) -> dict:
    """The message as Slack hands it back in a click's payload: what the app posted, with its ts."""
    return {"type": "message", "user": BOT_USER, "ts": "1700000000.000001", "text": post.body["text"], "blocks": post.body["blocks"]}


def click_and_wait(bot, action_id: str, question_id: int, user: str, message: dict | None, replies: int) -> list[dict]:
    """Click a button; return the bodies of the `replies` response_url calls that click caused."""
    before = len(bot.slack.of("response_url"))
    assert bot.send.click(action_id, str(question_id), user=user, message=message).status == 200
    return [c.body for c in bot.slack.wait_for("response_url", count=before + replies)[before:]]


def button_labels(blocks: list[dict]) -> list[str]:
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_two_people_rate_one_thread_answer_and_each_keeps_their_own(bot, sample_kb):
    bot.send.mention("how long is the renewal notice period", user="U0ASKER")
    (post,) = bot.slack.wait_for("chat.postMessage")
    (asked,) = bot.state.questions()
    message = posted_message(post)

    mine = click_and_wait(bot, "feedback_helpful", asked.id, "U0ASKER", message, replies=2)
    theirs = click_and_wait(bot, "feedback_not_helpful", asked.id, "U0PEER", message, replies=2)

    for replies, thanks in ((mine, "Thanks for the feedback!"), (theirs, "enablement team will look at this one")):
        (acked,) = [r for r in replies if r.get("response_type") == "ephemeral"]  # to the clicker only
        assert thanks in acked["text"] and acked["replace_original"] is False
        (updated,) = [r for r in replies if r.get("replace_original") is True]  # the message everyone sees
        assert action_ids(updated["blocks"]) == ["feedback_helpful", "feedback_not_helpful", "answer_more"]
        assert updated["text"] == post.body["text"]
        assert texts(updated["blocks"][:-1]) == texts(post.body["blocks"][:-1])  # the answer itself is untouched
    assert button_labels(updated["blocks"]) == ["👍 Helpful · 1", "👎 Not helpful · 1", "More"]

    assert bot.state.ratings(asked.id) == {"U0ASKER": "helpful", "U0PEER": "not_helpful"}
    assert bot.state.question(asked.id).feedback == "helpful"  # the asker's own rating stands
    assert bot.state.question(asked.id).gap_id is not None  # a 👎 still files the question under a gap
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    week = compute(bot.state, sample_kb.index.get(), until - timedelta(days=7), until).current
    assert (week.questions, week.helpful, week.not_helpful) == (1, 1, 1)  # the digest and App Home count both


def test_a_persons_second_click_replaces_their_first(bot):
    bot.send.command("/ask", "how long is the renewal notice period", user="U0ASKER")
    bot.slack.wait_for("response_url")
    (asked,) = bot.state.questions()
    first = click_and_wait(bot, "feedback_not_helpful", asked.id, "U0ASKER", None, replies=1)
    second = click_and_wait(bot, "feedback_helpful", asked.id, "U0ASKER", None, replies=1)
    # A private /ask answer: only its asker sees it, so only the thanks goes back and the buttons stay put.
    assert [(r["response_type"], r["replace_original"]) for r in first + second] == [("ephemeral", False)] * 2
    assert bot.state.ratings(asked.id) == {"U0ASKER": "helpful"}
    assert bot.state.feedback_counts(asked.id) == (1, 0)


def test_counts_on_the_buttons_leave_the_rest_of_the_answer_as_it_was(sample_kb):
    answer = sample_kb.ask("acme pricing comparison")
    blocks = answer_blocks(sample_kb, answer, 7, shareable=True)
    counted = with_feedback_counts(blocks, 7, (3, 1))
    assert counted[:-1] == blocks[:-1]
    assert button_labels(counted) == ["👍 Helpful · 3", "👎 Not helpful · 1", "More", "Share in channel"]
    assert action_ids(counted) == action_ids(blocks) == ["feedback_helpful", "feedback_not_helpful", "answer_more", "share_answer"]
    assert button_labels(with_feedback_counts(blocks, 7, (0, 0))) == ["👍 Helpful", "👎 Not helpful", "More", "Share in channel"]
