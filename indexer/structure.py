"""What the second-stage ranker knows about a build beyond its chunks, computed once at build time.

- sections: a section's chunks are one candidate (runs of consecutive chunks under one heading);
- a vector per section heading path and per document title, so "the heading says exactly what was
  asked" is a feature, not a hope;
- section frequencies of terms (IDF for coverage features), and a full-text table of whole sections
  (heading path and body as one text) for their BM25;
- the vocabulary mined from the text (acronyms) and front matter (competitor aliases).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from indexer.chunking import Chunk, model_input
from indexer.markdown import Document
from knowledge.embedder import Embedder
from knowledge.index import HEADING_SEP, STRUCTURE_FILE
from knowledge.text import terms
from knowledge.vocabulary import mine_acronyms
from knowledge import battlecards


@dataclass(frozen=True)
class SectionRow:
    path: str
    anchor: str
    first_chunk: int
    last_chunk: int
    heading: str  # the whole heading path, title first: what its vector embeds


def sections_of(chunks: list[Chunk]) -> list[SectionRow]:
    """Runs of consecutive chunks with the same file and anchor: one section each."""
    rows: list[SectionRow] = []
    for i, c in enumerate(chunks):
        if rows and rows[-1].path == c.path and rows[-1].anchor == c.anchor and rows[-1].last_chunk == i - 1:
            rows[-1] = SectionRow(c.path, c.anchor, rows[-1].first_chunk, i, rows[-1].heading)
        else:
            rows.append(SectionRow(c.path, c.anchor, i, i, HEADING_SEP.join(c.heading_path)))
    return rows


def text_hash(model: str, kind: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{kind}\0{text}".encode()).hexdigest()


def previous_vectors(build_dir: Path, db) -> dict[str, np.ndarray]:
    """Heading and title vectors of an earlier build, by text hash, so a re-index embeds only new ones."""
    file = Path(build_dir) / STRUCTURE_FILE
    has = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not file.exists() or not {"sections", "titles"} <= has:
        return {}
    with np.load(file) as arrays:  # each arrays[name] reads the whole array again: read each one once
        sections, titles = arrays["sections"], arrays["titles"]
    known = {h: sections[i] for i, h in db.execute("SELECT id, hash FROM sections")}
    known.update({h: titles[i] for i, h in db.execute("SELECT id, hash FROM titles")})
    return known


def _embed(texts: list[str], hashes: list[str], embedder: Embedder, known: dict[str, np.ndarray]) -> np.ndarray:
    todo = list(dict.fromkeys(h for h in hashes if h not in known))
    text_of = dict(zip(hashes, texts))
    # The hash covers the whole text, more than the model is given, so a reused vector always came from this input.
    fresh = dict(zip(todo, embedder.embed([model_input(text_of[h]) for h in todo]))) if todo else {}
    if not hashes:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.vstack([fresh.get(h, known.get(h)) for h in hashes]).astype(np.float32, copy=False)


def write_structure(db: sqlite_utils.Database, build_dir: Path, docs: list[Document], chunks: list[Chunk],
                    embedder: Embedder, known: dict[str, np.ndarray]) -> None:
    """Write the sections, titles, term and vocabulary tables, and the heading/title vectors."""
    rows = sections_of(chunks)
    section_hashes = [text_hash(embedder.name, "heading", r.heading) for r in rows]
    db["sections"].insert_all(
        ({"id": i, "path": r.path, "anchor": r.anchor, "first_chunk": r.first_chunk, "last_chunk": r.last_chunk, "hash": h}
         for i, (r, h) in enumerate(zip(rows, section_hashes))),
        pk="id", columns={"id": int, "path": str, "anchor": str, "first_chunk": int, "last_chunk": int, "hash": str},
    )
    ordered = sorted(docs, key=lambda d: d.path)
    title_hashes = [text_hash(embedder.name, "title", d.title) for d in ordered]
    db["titles"].insert_all(
        ({"id": i, "path": d.path, "hash": h} for i, (d, h) in enumerate(zip(ordered, title_hashes))),
        pk="id", columns={"id": int, "path": str, "hash": str},
    )
    np.savez(
        Path(build_dir) / STRUCTURE_FILE,
        sections=_embed([r.heading for r in rows], section_hashes, embedder, known),
        titles=_embed([d.title for d in ordered], title_hashes, embedder, known),
    )
    df: Counter = Counter()
    length = 0
    for r in rows:  # chunk by chunk: one huge section must not become one list of millions of words
        seen = set(terms(r.heading))
        for i in range(r.first_chunk, r.last_chunk + 1):
            words = terms(chunks[i].text)
            length += len(words)
            seen.update(words)
        df.update(seen)
    db["terms"].insert_all(({"term": t, "df": n} for t, n in df.items()), pk="term", columns={"term": str, "df": int})
    db.execute("CREATE VIRTUAL TABLE sections_fts USING fts5(text, tokenize='porter')")
    db.conn.executemany("INSERT INTO sections_fts (rowid, text) VALUES (?, ?)", (
        (i, "\n\n".join([r.heading, *(chunks[c].text for c in range(r.first_chunk, r.last_chunk + 1))]))
        for i, r in enumerate(rows)))
    db["stats"].insert({"key": "mean_section_terms", "value": length / max(len(rows), 1)}, pk="key")
    db["vocabulary"].create({"short": str, "long": str}, pk="short", if_not_exists=True)  # may stay empty
    db["vocabulary"].insert_all({"short": s, "long": l} for s, l in _vocabulary(docs, chunks).items())


def _vocabulary(docs: list[Document], chunks: list[Chunk]) -> dict[str, str]:
    """Acronyms from the text, and each battlecard alias to its competitor's name."""
    # Both patterns need a '(': skipping chunks without one changes nothing, and mining costs ~5 s a MB.
    pairs = mine_acronyms(c.text for c in chunks if "(" in c.text)
    for d in docs:
        competitor = str(d.meta.get("competitor") or "").strip()
        for alias in d.meta.get("aliases", []):
            name = battlecards.normalise(alias)
            if competitor and name and name != battlecards.normalise(competitor):
                pairs[name] = competitor.lower()
    return pairs
