"""The answer message shows the passage of each section that matched, not the section's first lines."""
from __future__ import annotations

from bot.blocks import answer_blocks


def test_each_snippet_is_the_matching_passage(sample_kb):
    answer = sample_kb.ask("how many workflow runs does acmeflow include before overage", k=3)
    texts = [b["text"]["text"] for b in answer_blocks(sample_kb, answer, 1) if b["type"] == "section"]
    shown = [h for h in answer.hits if h.passage != h.chunk.text[: len(h.passage)]]
    assert shown, "expected at least one hit whose best passage is not the start of its section"
    for hit in shown:
        first_words = " ".join(hit.passage.lstrip("…").split()[:4])
        assert any(first_words.replace("**", "*") in t or first_words in t for t in texts)
