"""Block Kit for the coordinators' gap review, and the DM that tells a rep their question is answered."""
from __future__ import annotations

from bot.blocks import actions, button, context, hit_blocks, section
from bot.mrkdwn import escape, link, relayed
from knowledge.answer import Answer, KnowledgeBase
from knowledge.gaps import Gap, Notification
from knowledge.index import Document
from knowledge.text import trim

SHOWN_GAPS = 15  # each gap takes 3 blocks; Block Kit allows 50 a message


def gaps_blocks(open_gaps: list[Gap], answerable: int = 0, total: int | None = None) -> list[dict]:
    """The most asked open gaps (SHOWN_GAPS of the `total` open), each with Resolve / Ignore."""
    if not open_gaps:
        return [section("No open content gaps. Every recent question found a confident answer. :tada:")]
    shown, total = min(len(open_gaps), SHOWN_GAPS), max(total or 0, len(open_gaps))
    blocks = [section(f"*Open content gaps* ({shown} of {total} shown, most asked first)")]
    if answerable:
        blocks.append(context(f"{answerable} more became answerable after the last re-index; their askers were told."))
    for gap in open_gaps[:SHOWN_GAPS]:
        phrasings = "\n".join(f"> {escape(trim(e, 200))}" for e in gap.examples) or "> _(question text deleted after the retention period)_"
        asked = f"*{gap.count}× asked* by {gap.askers} rep{'s' if gap.askers != 1 else ''} · first {gap.first_seen[:10]} · last {gap.last_seen[:10]}"
        expert = f"\n:speech_balloon: <@{gap.expert_by}> answered:\n{relayed(gap.expert_answer, 1200)}" if gap.expert_answer else ""
        blocks.append(section(f"{asked}\n{phrasings}{expert}"))
        blocks.append(actions(
            button("Resolve", "gap_resolve", str(gap.id), style="primary"),
            button("Draft it", "gap_draft", str(gap.id)),
            button("Ignore", "gap_ignore", str(gap.id)),
            block_id=f"gap_{gap.id}",
        ))
        blocks.append({"type": "divider"})
    return blocks[:50]


def resolve_modal(gap: Gap, documents: list[Document], metadata: str) -> dict:
    """Pick the document that now answers the gap, or paste a path or URL."""
    options = [
        {"text": {"type": "plain_text", "text": trim(d.title, 75)}, "value": d.path[:150]}
        for d in documents[:100]
    ]
    example = escape(trim(gap.examples[0] if gap.examples else (gap.question or ""), 500))
    blocks = [section(f"Reps asked *{gap.count}×*:\n> {example}")]
    if options:
        blocks.append({
            "type": "input", "block_id": "doc_pick", "optional": True,
            "label": {"type": "plain_text", "text": "Document that now answers it"},
            "element": {"type": "static_select", "action_id": "value", "options": options,
                        "placeholder": {"type": "plain_text", "text": "Pick a document"}},
        })
    blocks.append({
        "type": "input", "block_id": "doc_paste", "optional": True,
        "label": {"type": "plain_text", "text": "…or paste its path or URL"},
        "element": {"type": "plain_text_input", "action_id": "value", "max_length": 500},
    })
    return {
        "type": "modal", "callback_id": "gap_resolve", "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Resolve a content gap"},
        "submit": {"type": "plain_text", "text": "Resolve and tell reps"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def answered_dm_blocks(kb: KnowledgeBase, note: Notification, answer: Answer | None) -> list[dict]:
    """Tell a rep the question they asked now has an answer: their question, the answer, the link."""
    asked = f"You asked: _{escape(trim(note.question or 'a question', 300))}_"
    blocks = [section(f":sparkles: *Good news: the knowledge base can now answer a question you asked.*\n{asked}")]
    if answer and answer.hits:
        for hit in answer.hits[:2]:
            blocks.append({"type": "divider"})
            blocks.extend(hit_blocks(kb, hit.chunk, passage=hit.passage))
    if note.resolved_doc:
        target = note.resolved_doc if note.resolved_doc.startswith("http") else kb.document_link(note.resolved_doc)
        blocks.append(context(f"Added by the enablement team: {link(target, note.resolved_doc)}"))
    return blocks[:50]
