"""The App Home tab: a dashboard for coordinators; for reps, how to ask and which battlecards exist.

The dashboard lists the drafts waiting to be published, each with *Discard* (coordinators only). A click on
the tab has no response_url, so what the bot has to say about it (done, refused, gone) is a `notice` at
the top of the view it publishes again.
"""
from __future__ import annotations

from bot.blocks import button, context, section
from bot.mrkdwn import escape, link
from knowledge.answer import KnowledgeBase
from knowledge.digest import Digest, percent
from knowledge.drafts import StoredDraft
from knowledge.index import Document
from knowledge.text import trim

HOW_TO_ASK = (
    "*Ask me anything about our playbooks, products and competitors.*\n"
    "• Mention me in a channel: `@answers how do we handle the price objection vs acme` (I answer in a thread)\n"
    "• DM me your question\n"
    "• `/ask …` for a private answer you can share\n"
    "• `/battlecard acme` for a competitor's battlecard\n"
    "Rate answers with 👍 / 👎: what I could not answer goes to the enablement team."
)
FOLLOW_UP = "• To follow up, mention me again in my thread, or DM me again within a few minutes: I keep the context"
ASK_EXPERT = "• Not answered? *Ask an expert* under my answer sends your question to the experts; their reply comes back to you"
DRAFTING = (
    "*Turning answers into content*\n"
    "• *Draft it* on a gap in `/kb-gaps` writes a Markdown draft, with the expert's reply as its answer\n"
    "• *Save to knowledge base* in any message's ⋮ menu writes a draft from that message and its thread\n"
    "Drafts land in `drafts/` with `draft: true`, and I DM you each one as a file; they answer nobody until a writer "
    "publishes them and re-indexes."
)
DRAFT_LINES = 10
DISCARD_CONFIRM = {
    "title": {"type": "plain_text", "text": "Discard this draft?"},
    "text": {"type": "mrkdwn", "text": "It leaves the list of drafts waiting to be published. Its file and its copy in my database are kept."},
    "confirm": {"type": "plain_text", "text": "Discard"},
    "deny": {"type": "plain_text", "text": "Cancel"},
}
NOT_FOR_YOU = (
    "Sorry, managing drafts is for the enablement coordinators. "
    "If you think you should be one, ask the enablement team."
)
BROKEN_DISCARD = "Sorry, that button no longer works: this is the current list."
GONE_DRAFT = "That draft is not in my database any more: this is the current list."
FAILED_DISCARD = "Sorry, I could not discard that draft: something went wrong on my side. Please try again in a minute."


def discarded(draft: StoredDraft) -> str:
    """The notice after a coordinator's *Discard*."""
    return (f"*{escape(trim(draft.title, 150))}* is off the waiting list. Its file (`{escape(draft.path)}`) and its copy "
            "in my database are kept.")


def header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def how_to_ask(experts: bool = False) -> str:
    """The help text: how to ask and follow up, and *Ask an expert* when an experts' channel is set."""
    return "\n".join([HOW_TO_ASK, FOLLOW_UP, *([ASK_EXPERT] if experts else [])])


def _noticed(notice: str | None) -> list[dict]:
    return [section(f":information_source: {notice}")] if notice else []


def rep_home(competitors: list[Document], experts: bool = False, notice: str | None = None) -> dict:
    """How to ask, and the battlecards; `notice` (escaped mrkdwn) on top, e.g. why a click was refused."""
    names = ", ".join(escape(c.competitor or c.title) for c in competitors) or "none yet"
    blocks = [header("Enablement answers"), *_noticed(notice), section(how_to_ask(experts)), {"type": "divider"},
              section(f"*Battlecards:* {names}")]
    return {"type": "home", "blocks": blocks}


def drafts_blocks(drafts: list[StoredDraft]) -> list[dict]:
    """The drafts waiting to be published, each with *Discard*; the first DRAFT_LINES of them."""
    if not drafts:
        return [section("*Drafts waiting to be published*\nNone.")]
    blocks = [section("*Drafts waiting to be published*")]
    for d in drafts[:DRAFT_LINES]:
        discard = {**button("Discard", "draft_discard", str(d.id)), "confirm": DISCARD_CONFIRM}
        blocks.append({**section(f"• {escape(trim(d.title, 150))} (`{escape(d.path)}`)"), "accessory": discard})
    if len(drafts) > DRAFT_LINES:
        blocks.append(context(f"…and {len(drafts) - DRAFT_LINES} more (`kb gaps drafts` lists them all)"))
    return blocks


def coordinator_home(digest: Digest, kb: KnowledgeBase, competitors: list[Document], experts: bool = False,
                     notice: str | None = None) -> dict:
    """This week's questions, answer and helpful rates, expert answers, top open gaps, stale documents, drafts waiting."""
    now, before = digest.current, digest.previous
    helpful_total = now.helpful + now.not_helpful
    helpful = percent(now.helpful / helpful_total) if helpful_total else "no ratings yet"
    change = now.questions - before.questions
    blocks = [
        header("Enablement dashboard"),
        *_noticed(notice),
        context(f"The last {digest.length.days} days · only coordinators see this"),
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Questions*\n{now.questions} ({'+' if change >= 0 else ''}{change} vs the {digest.length.days} days before)"},
            {"type": "mrkdwn", "text": f"*Answer rate*\n{percent(now.answer_rate)}"},
            {"type": "mrkdwn", "text": f"*Helpful*\n{helpful} ({now.helpful} 👍 · {now.not_helpful} 👎)"},
            {"type": "mrkdwn", "text": f"*Open gaps*\n{len(digest.top_gaps)} shown below · `/kb-gaps` to review"},
            {"type": "mrkdwn", "text": f"*Answered by experts*\n{now.expert_answered} ({before.expert_answered} the {digest.length.days} days before)"},
            {"type": "mrkdwn", "text": f"*Drafts waiting*\n{len(digest.drafts)} to publish"},
        ]},
        {"type": "divider"},
        section("*Top open gaps*\n" + ("\n".join(
            f"• *{g.count}×* {escape(trim(g.examples[0] if g.examples else (g.question or '(deleted)'), 150))}" for g in digest.top_gaps
        ) or "None: every question found a confident answer.")),
        section(f"*Stale documents* (not reviewed for {digest.stale_days}+ days)\n" + ("\n".join(
            f"• {link(d.url or kb.document_link(d.path), d.title)}: {escape(d.owner or 'no owner')}, last reviewed {d.last_reviewed or 'never'}"
            for d in digest.stale[:10]
        ) or "None.")),
        *drafts_blocks(digest.drafts),
        section(DRAFTING),
        {"type": "divider"},
        section(how_to_ask(experts)),
    ]
    return {"type": "home", "blocks": blocks[:100]}
