"""Block Kit for *Ask an expert*: the post in the experts' channel, and what goes back to the rep."""
from __future__ import annotations

from bot.blocks import actions, button, context, section
from bot.mrkdwn import escape, link, relayed
from knowledge.answer import Answer, KnowledgeBase
from knowledge.index import HEADING_SEP
from knowledge.text import trim

CLOSEST = 3


def mention(slack_id: str) -> str:
    """A person (U…/W…) or a user group (S…), as Slack mentions them."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def owner_of(answer: Answer) -> str | None:
    """The `owner_slack` of the closest document that names one (a validated id)."""
    return next((h.chunk.owner_slack for h in answer.hits if h.chunk.owner_slack), None)


def _asked(question: str, follows: str | None) -> str:
    asked = f"> {escape(trim(question, 500))}"
    return asked + (f"\n_(following up on: {escape(trim(follows, 200))})_" if follows else "")


def expert_post(kb: KnowledgeBase, request_id: int, asker: str, answer: Answer, gap_id: int | None) -> list[dict]:
    """The question in the experts' channel: who asked, the closest sections, the owner, and Mark answered."""
    blocks = [section(f":raising_hand: <@{asker}> asked a question the knowledge base could not answer:\n"
                      + _asked(answer.query, answer.follows))]
    closest = [
        f"• {link(kb.link(h.chunk), h.chunk.title)}" + (f" › {escape(HEADING_SEP.join(h.chunk.heading_path[1:]))}" if len(h.chunk.heading_path) > 1 else "")
        for h in answer.hits[:CLOSEST]
    ]
    if closest:
        blocks.append(section("*Closest sections*\n" + "\n".join(closest)))
    owner = owner_of(answer)
    if owner:
        blocks.append(section(f"Owner of the closest document: {mention(owner)}"))
    gap = f" and is kept on content gap #{gap_id}" if gap_id is not None else ""
    blocks.append(context(f"Reply in this thread: the first reply goes back to <@{asker}>{gap}."))
    blocks.append(actions(button("Mark answered", "expert_mark_answered", str(request_id)), block_id="expert_actions"))
    return blocks


def expert_post_done(answer_query: str, asker: str, by: str, replied: bool, relay: str = "delivered") -> list[dict]:
    """The experts' post once it is answered: the question, who answered, what became of the relay, no button.

    `relay` is "delivered", "owed" (Slack turned it away for now: the watcher delivers it) or "refused"
    (for good, e.g. an archived channel): the experts see whether the rep has the answer.
    """
    what = "the reply" if replied else "a note"
    fate = {
        "delivered": f"{what} went to <@{asker}>.",
        "owed": f"{what} will reach <@{asker}> as soon as Slack lets me (it turned the first try away).",
        "refused": f"Slack refused to deliver {what} to <@{asker}>; please tell them directly.",
    }[relay]
    how = "answered in this thread" if replied else "marked this answered"
    return [
        section(f":white_check_mark: <@{asker}> asked:\n{_asked(answer_query, None)}"),
        context(f"<@{by}> {how}; {fate}"),
    ]


def relay_blocks(question: str, expert: str, reply: str) -> list[dict]:
    """An expert's reply, back to the rep who asked (their thread or DM)."""
    return [
        section(f":speech_balloon: <@{expert}> answered your question:\n" + relayed(reply, 2500)),
        context(f"You asked: _{escape(trim(question, 300))}_ · the enablement team keeps this answer for the knowledge base"),
    ]


def relay_closed_blocks(question: str, expert: str) -> list[dict]:
    """*Mark answered* without a reply: the rep hears that someone took care of it."""
    return [section(f":white_check_mark: <@{expert}> marked your question answered "
                    f"(they may have answered you directly).\nYou asked: _{escape(trim(question, 300))}_")]
