"""The plain lexical baseline: BM25 over heading sections, one field, nothing else.

Every section our parser finds (heading path and body as one text) is a row of an in-memory SQLite
FTS5 table (porter stemming); a question is an OR of its words, ranked by bm25(). It has no verdict,
so it calls every question answered. A retriever that cannot beat this has no business being fancy.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.sections import documents
from knowledge.index import HEADING_SEP, fts_query

Result = tuple[bool, list[tuple[str, str]], float]


def bm25_sections_retriever(source: Path, top: int):
    """question -> (answered, [(path, deepest heading), ...] best first, best BM25 score)."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE sections USING fts5(path UNINDEXED, heading UNINDEXED, text, tokenize='porter')")
    for doc in documents(Path(source)):
        for s in doc.sections:
            body = "\n\n".join(b.text for b in s.blocks)
            db.execute("INSERT INTO sections VALUES (?, ?, ?)", (doc.path, s.heading_path[-1], HEADING_SEP.join(s.heading_path) + "\n" + body))

    def retrieve(question: str) -> Result:
        match = fts_query(question)
        if match is None:
            return True, [], 0.0
        rows = db.execute(
            "SELECT path, heading, -bm25(sections) FROM sections WHERE sections MATCH ? ORDER BY bm25(sections) LIMIT ?",
            (match, top),
        ).fetchall()
        return True, [(r[0], r[1]) for r in rows], float(rows[0][2]) if rows else 0.0

    return retrieve
