"""Pure Block Kit builders: answers, battlecards, competitor lists. Tested as dicts, no Slack needed."""
from __future__ import annotations

from knowledge.answer import Answer, Battlecard, KnowledgeBase
from knowledge.index import HEADING_SEP, Chunk, Document
from bot.mrkdwn import SECTION_LIMIT, escape, from_markdown, link
from knowledge.text import trim

MAX_BLOCKS = 50
SNIPPET_CHARS = 700
QUESTION_ECHO_CHARS = 300
ANSWER_ACTIONS = "answer_actions"  # the block_id of an answer's 👍/👎/Share row, found again on a click
KEY_SECTIONS = ("why we win", "landmines", "objection", "talk track")  # what a rep needs mid-deal
GAP_TEXT = (
    "I couldn't find a confident answer to that in the knowledge base. Here are the closest matches; "
    "I've passed your question to the enablement team so they can fill the gap."
)
APOLOGY = (
    "Sorry, something went wrong while I looked that up. Your question is saved and the enablement "
    "team can see it; please try again in a minute."
)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT]}}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:SECTION_LIMIT]}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict:
    b = {"type": "button", "text": {"type": "plain_text", "text": text, "emoji": True}, "action_id": action_id, "value": value[:2000]}
    return {**b, "style": style} if style else b


def actions(*elements: dict, block_id: str | None = None) -> dict:
    block = {"type": "actions", "elements": list(elements)}
    return {**block, "block_id": block_id} if block_id else block


def _reviewed(chunk: Chunk) -> str:
    # The owner's name as written, never their owner_slack mention: a mention would ping them on every answer.
    who = escape(chunk.owner) if chunk.owner else "no owner"
    return f"Owner: {who} · Last reviewed: {escape(chunk.last_reviewed or 'never')}"


def hit_blocks(kb: KnowledgeBase, chunk: Chunk, snippet_chars: int = SNIPPET_CHARS, passage: str | None = None) -> list[dict]:
    """One snippet: linked title and heading path, the passage (else the chunk's start), and who owns it."""
    where = HEADING_SEP.join(chunk.heading_path[1:])
    title = link(kb.link(chunk), chunk.title)
    heading = f"*{title}*" + (f"\n_{escape(where)}_" if where else "")
    body = from_markdown(passage or chunk.text, snippet_chars)
    return [section(f"{heading}\n{body}"), context(_reviewed(chunk))]


def _counted(label: str, people: int) -> str:
    return f"{label} · {people}" if people else label


RATINGS = {"feedback_helpful": "👍 Helpful", "feedback_not_helpful": "👎 Not helpful"}
MORE = 3  # *More* shows this many sections after the first three


def feedback_row(question_id: int, shareable: bool, counts: tuple[int, int] = (0, 0), *, more: bool = False, expert: bool = False) -> dict:
    """👍 / 👎 (with how many people clicked each, once anyone has), More, Ask an expert, and Share for a private answer."""
    value = str(question_id)
    row = [button(_counted(label, n), action, value) for (action, label), n in zip(RATINGS.items(), counts)]
    if more:
        row.append(button("More", "answer_more", value))
    if expert:
        row.append(button("Ask an expert", "ask_expert", value))
    if shareable:
        row.append(button("Share in channel", "share_answer", value, style="primary"))
    return actions(*row, block_id=ANSWER_ACTIONS)


def with_feedback_counts(blocks: list[dict], question_id: int, counts: tuple[int, int]) -> list[dict]:
    """A posted answer's blocks as they were, its buttons kept for everyone, now showing the counts."""
    shown = dict(zip(RATINGS, counts))

    def updated(block: dict) -> dict:
        if block.get("block_id") != ANSWER_ACTIONS:
            return block
        elements = [
            button(_counted(RATINGS[e["action_id"]], shown[e["action_id"]]), e["action_id"], str(question_id))
            if e.get("action_id") in RATINGS else e
            for e in block.get("elements", [])
        ]
        return {**block, "elements": elements}
    return [updated(b) for b in blocks]


def answer_blocks(
    kb: KnowledgeBase, answer: Answer, question_id: int | None, *, shareable: bool = False, shared_by: str | None = None,
    expert: bool = False, shown: int = 3,
) -> list[dict]:
    """The reply to a question: the best snippets (3, or `shown` after *More*), or 'no confident answer' with the closest.

    `question_id` None: the question could not be stored, so there is nothing to rate, expand, share or send on.
    `expert`: the experts' channel is set up, so an answer that is not confident offers *Ask an expert*.
    """
    asked = escape(trim(answer.query, QUESTION_ECHO_CHARS))
    intro = f"<@{shared_by}> shared an answer to: _{asked}_" if shared_by else f"You asked: _{asked}_"
    follows = getattr(answer, "follows", None)
    if follows:
        intro += f" (following up on _{escape(trim(follows, 150))}_)"
    blocks = [context(intro)]
    if not answer.hits:
        blocks.append(section("I couldn't find anything on that in the knowledge base. I've passed your question to the enablement team."))
    elif not answer.answered:
        blocks.append(section(GAP_TEXT))
    for hit in answer.hits[:shown]:
        blocks.append({"type": "divider"})
        blocks.extend(hit_blocks(kb, hit.chunk, passage=hit.passage))
    if question_id is not None:
        more = shown <= 3 and len(answer.hits) >= 3
        blocks.append(feedback_row(question_id, shareable and shared_by is None, more=more, expert=expert and not answer.answered))
    return blocks[:MAX_BLOCKS]


def answer_text(answer: Answer) -> str:
    """The notification/fallback text of an answer message."""
    return f"Answer to: {escape(trim(answer.query, 150))}"


def battlecard_blocks(kb: KnowledgeBase, card: Battlecard, *, shareable: bool = True, shared_by: str | None = None) -> list[dict]:
    """A battlecard's key sections (why we win, landmines, objections, talk track), linked."""
    doc = card.document
    key = [s for s in card.sections if len(s.heading_path) > 1 and s.heading_path[1].lower().startswith(KEY_SECTIONS)]
    shown = key or card.sections
    first = card.sections[0]
    header = {"type": "header", "text": {"type": "plain_text", "text": trim(doc.title, 150), "emoji": True}}
    blocks = [header, context(_reviewed(first) + (f" · shared by <@{shared_by}>" if shared_by else ""))]
    room = MAX_BLOCKS - len(blocks) - 2
    for chunk in shown[: room // 2]:
        blocks.extend(hit_blocks(kb, chunk, snippet_chars=500)[:1])
    full = link(kb.link(first).split("#")[0], "Open the full battlecard")
    tail = [context(full)]
    if shareable:
        tail.append(actions(button("Share in channel", "share_battlecard", doc.path, style="primary")))
    return (blocks + tail)[:MAX_BLOCKS]


def battlecard_text(card: Battlecard) -> str:
    """The notification/fallback text of a battlecard message: Slack reads it as mrkdwn, so escaped."""
    return escape(trim(card.document.title, 150))


def competitor_blocks(cards: list[Document], asked: str = "") -> list[dict]:
    """No argument or no match: the competitors there are, each one click away."""
    if asked.strip():
        intro = f"I couldn't find a battlecard for _{escape(trim(asked, 100))}_. These are the ones we have:"
    else:
        intro = "Which competitor? Pick one, or type `/battlecard acme`:"
    if not cards:
        return [section("There are no battlecards in the knowledge base yet.")]
    blocks = [section(intro)]
    names = [(c.competitor or c.title, c.path) for c in cards]
    for start in range(0, min(len(names), 25 * (MAX_BLOCKS - 1)), 25):  # 25 buttons an actions block
        row = [button(trim(n, 75), f"battlecard_pick_{start + i}", path) for i, (n, path) in enumerate(names[start : start + 25])]
        blocks.append(actions(*row))
    return blocks[:MAX_BLOCKS]
