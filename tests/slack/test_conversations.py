"""Conversations in Slack: a follow-up in the bot's thread or a DM is searched with the earlier question; More."""
from __future__ import annotations

from tests.slack.test_feedback import click_and_wait, posted_message
from tests.slack.test_questions import action_ids, texts

EARLIER = "acme says theyre cheaper, how do i handle it"
FOLLOW_UP = "what about umbrella?"
UMBRELLA = "battlecards/umbrella#umbrella-is-cheaper-for-us"  # higher for the follow-up with context


def top_link(blocks: list[dict]) -> str:
    """The first snippet's section link, as the rep clicks it."""
    first = next(b for b in blocks if b["type"] == "section")
    return first["text"]["text"].split("|")[0]


def place(blocks: list[dict], link: str) -> int:
    """Where the section `link` is among the snippets shown (0 first), or 99 when it is not shown."""
    shown = [b["text"]["text"].split("|")[0] for b in blocks if b["type"] == "section"]
    return next((n for n, text in enumerate(shown) if link in text), 99)


def test_a_follow_up_in_the_bots_thread_is_searched_with_the_earlier_question(bot):
    bot.send.mention(EARLIER, ts="1700000500.000001")
    bot.slack.wait_for("chat.postMessage")
    bot.send.mention(FOLLOW_UP, thread_ts="1700000500.000001")
    posts = bot.slack.wait_for("chat.postMessage", count=2)
    followed = posts[1].body
    assert followed["thread_ts"] == "1700000500.000001"
    assert f"(following up on _{EARLIER}_)" in texts(followed["blocks"])
    first, second = bot.state.questions()
    assert second.follows == first.id and first.follows is None

    # The same words at the top of a channel start a conversation of their own: nothing to follow.
    bot.send.mention(FOLLOW_UP)
    alone = bot.slack.wait_for("chat.postMessage", count=3)[2].body
    assert place(followed["blocks"], UMBRELLA) < place(alone["blocks"], UMBRELLA)
    assert "following up" not in texts(alone["blocks"])
    assert bot.state.questions()[2].follows is None


def test_a_dm_follows_up_within_the_window_and_not_after_it(bot):
    bot.send.dm(EARLIER)
    bot.slack.wait_for("chat.postMessage")
    bot.send.dm(FOLLOW_UP)
    within = bot.slack.wait_for("chat.postMessage", count=2)[1].body

    # An hour later the DM is a new conversation.
    bot.state.execute("UPDATE questions SET asked_at = '2020-01-01T00:00:00+00:00'")
    bot.send.dm(FOLLOW_UP)
    later = bot.slack.wait_for("chat.postMessage", count=3)[2].body
    assert place(within["blocks"], UMBRELLA) < place(later["blocks"], UMBRELLA)
    assert bot.state.questions()[2].follows is None


def test_a_question_that_stands_alone_is_not_bent_by_the_thread(bot):
    question = "what payment terms can i offer without legal review"
    bot.send.mention(question)
    alone = bot.slack.wait_for("chat.postMessage")[0].body
    bot.send.mention(EARLIER, ts="1700000600.000001")
    bot.slack.wait_for("chat.postMessage", count=2)
    bot.send.mention(question, thread_ts="1700000600.000001")
    in_thread = bot.slack.wait_for("chat.postMessage", count=3)[2].body
    assert top_link(in_thread["blocks"]) == top_link(alone["blocks"])
    assert "following up" not in texts(in_thread["blocks"])


def dividers(blocks: list[dict]) -> int:
    return sum(b["type"] == "divider" for b in blocks)


def test_more_shows_the_next_three_sections_in_place(bot):
    bot.send.mention("how do we handle the price objection vs acme")
    (post,) = bot.slack.wait_for("chat.postMessage")
    assert dividers(post.body["blocks"]) == 3 and "answer_more" in action_ids(post.body["blocks"])
    (asked,) = bot.state.questions()
    (more,) = click_and_wait(bot, "answer_more", asked.id, "U0REP1", posted_message(post), replies=1)
    assert more["replace_original"] is True
    assert dividers(more["blocks"]) == 6
    assert more["blocks"][:10] == post.body["blocks"][:10]  # the first three stay where they were
    assert action_ids(more["blocks"]) == ["feedback_helpful", "feedback_not_helpful"]  # nothing more to show


def test_more_on_a_private_answer_keeps_it_private_and_shareable(bot):
    bot.send.command("/ask", "what discount can i give without approval")
    (reply,) = bot.slack.wait_for("response_url")
    (asked,) = bot.state.questions()
    (more,) = click_and_wait(bot, "answer_more", asked.id, "U0REP1", None, replies=1)
    assert more["replace_original"] is True and dividers(more["blocks"]) == 6
    assert action_ids(more["blocks"]) == ["feedback_helpful", "feedback_not_helpful", "share_answer"]


def test_more_for_a_question_that_is_gone_says_so(bot):
    (reply,) = click_and_wait(bot, "answer_more", 999, "U0REP1", None, replies=1)
    assert "ask it again" in reply["text"] and reply["replace_original"] is False
