"""Reading a built index: a directory with index.db (SQLite + FTS5), vectors.faiss and manifest.json.

An index root holds `builds/<id>/` directories and a `current` symlink that the indexer swaps
atomically; readers resolve `current`, so a half-written build is never seen.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache
from datetime import date
from pathlib import Path

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

from knowledge import bm25, late
from knowledge.errors import IndexModelMismatch, IndexNotFound
from knowledge.text import STOPWORDS, terms, words
from knowledge.vocabulary import SPELLED_DF, Vocabulary

# One query is a single vector: FAISS's thread pool only adds contention with torch and the web
# server (bench/scale.py under load: 48 ms with 2 threads against 0.56 ms with one, at 10k chunks).
faiss.omp_set_num_threads(1)
# numpy's BLAS on one thread too. Its products here are small (a question's word pieces against a pool's),
# and after each one its idle threads spin, taking the core the model needs for the next question: on gitlab
# a question's encode took 86 ms p50 with two BLAS threads and 27 ms with one (bench/RESULTS.md).
threadpool_limits(1, user_api="blas")

CURRENT = "current"
BUILDS = "builds"
DB_FILE = "index.db"
VECTORS_FILE = "vectors.faiss"
MANIFEST_FILE = "manifest.json"
STRUCTURE_FILE = "structure.npz"
SECTION_CACHE = 4096  # sections whose text and terms a build keeps in memory between questions
SECTION_BM25_DEPTH = 100  # sections scored by whole-section BM25; the rest of a pool gets 0
FIELD_WEIGHTS = {"chunks_fts": (4.0, 2.0, 1.0), "sections_fts": (1.0,)}  # BM25 column weights per full-text table
SECTION_CHUNKS = 12  # at most this many chunks of one section are read to rank it (~14k characters)  # heading-path and title vectors (indexer/structure.py)
HEADING_SEP = " › "



@dataclass(frozen=True)
class Chunk:
    id: int
    path: str
    title: str
    doc_type: str
    heading_path: tuple[str, ...]
    anchor: str
    text: str
    doc_url: str | None
    owner: str | None
    last_reviewed: str | None
    owner_slack: str | None = None  # the document's Slack owner: a user (U…/W…) or user group (S…) id


@dataclass(frozen=True)
class Document:
    path: str
    title: str
    doc_type: str
    owner: str | None
    last_reviewed: date | None
    url: str | None
    competitor: str | None
    aliases: tuple[str, ...]
    owner_slack: str | None = None  # a Slack user (U…/W…) or user group (S…) id, from front matter


def current_build(root: Path) -> Path:
    """The build directory `root/current` points to; IndexNotFound if there is none."""
    link = Path(root) / CURRENT
    try:
        return (Path(root) / os.readlink(link)).resolve()
    except (FileNotFoundError, OSError):
        raise IndexNotFound(f"no index at {root} (build one with `kb index`)") from None


def read_manifest(build_dir: Path) -> dict:
    return json.loads((Path(build_dir) / MANIFEST_FILE).read_text())


def query_words(text: str) -> list[str]:
    """The meaningful words of `text`, once each: the phrases of its full-text query."""
    return [w for w in dict.fromkeys(words(text)) if w not in STOPWORDS and len(w) > 1]


def fts_query(text: str) -> str | None:
    """An FTS5 OR-query of the meaningful words in `text`, each quoted so no word is read as syntax."""
    return " OR ".join(f'"{t}"' for t in query_words(text)) or None


class Index:
    """One immutable build, opened read-only. Safe to share between threads."""

    def __init__(self, build_dir: Path):
        self.dir = Path(build_dir)
        self.manifest = read_manifest(self.dir)
        uri = f"file:{self.dir / DB_FILE}?mode=ro&immutable=1"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._vectors = faiss.read_index(str(self.dir / VECTORS_FILE))
        self._documents: list[Document] | None = None
        self._section_cache: dict[range, SectionText] = {}
        self.model = self.manifest["model"]
        self.size = self._vectors.ntotal
        # A build from before owner_slack has no such column: read it as NULL rather than fail.
        has_owner_slack = any(r[1] == "owner_slack" for r in self._rows("PRAGMA table_info(documents)"))
        self._owner_slack = "d.owner_slack" if has_owner_slack else "NULL"
        # ... nor, before FORMAT 9, each chunk's terms: those are then read from its text, as they were.
        self._terms = "c.terms" if any(r[1] == "terms" for r in self._rows("PRAGMA table_info(chunks)")) else "NULL"

    @classmethod
    def open(cls, root: Path) -> "Index":
        """Open the build that `root/current` points to."""
        return cls(current_build(root))

    def check_model(self, model_name: str) -> None:
        if model_name != self.model:
            raise IndexModelMismatch(
                f"index at {self.dir} was built with model {self.model!r}, but {model_name!r} is loaded; "
                "re-run `kb index` with this model"
            )

    def _rows(self, sql: str, params=()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def dense(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Chunk ids and cosine similarities of the `k` nearest chunks."""
        k = min(k, self.size)
        if k == 0:
            return []
        scores, ids = self._vectors.search(query_vector.reshape(1, -1), k)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]

    @cached_property
    def _postings(self) -> dict[str, bm25.Postings] | None:
        """The full-text tables' postings in memory (knowledge.bm25); None in a build from before FORMAT 10."""
        return bm25.load(self.dir, FIELD_WEIGHTS)

    def _bm25(self, table: str, query: str, k: int, sql: str) -> list[tuple[int, float]]:
        """The best `k` rows of full-text `table` for `query`'s words and their BM25 (higher is better):
        from the postings in memory, or by `sql` (the phrase query, then `k`) where those cannot say."""
        found = query_words(query)
        if not found:
            return []
        stems = [bm25.tokens(w) for w in found] if self._postings is not None else []
        if stems and all(len(s) == 1 for s in stems):
            return self._postings[table].top([s[0] for s in stems], k)
        return [(int(r[0]), float(r[1])) for r in self._rows(sql, (fts_query(query), k))]

    def lexical(self, query: str, k: int) -> list[tuple[int, float]]:
        """Chunk ids and BM25 scores (higher is better) of the best `k` full-text matches."""
        weights = ", ".join(map(str, FIELD_WEIGHTS["chunks_fts"]))
        return self._bm25("chunks_fts", query, k, f"SELECT rowid, -bm25(chunks_fts, {weights}) FROM chunks_fts "
                          f"WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, {weights}) LIMIT ?")

    def section_bm25(self, query: str, sections: list[int]) -> dict[int, float]:
        """BM25 of each of `sections` read as one text (heading path and body), over the best section's in
        the whole build: the view of plain BM25 over sections, which a long section's chunks each lack.
        A section below the build's best SECTION_BM25_DEPTH scores 0: one ranked query serves the whole
        pool (matching it against the pool's ids instead ran one full-text match per id, 6 ms at p95)."""
        if not sections:
            return {}
        try:
            rows = self._bm25("sections_fts", query, SECTION_BM25_DEPTH, "SELECT rowid, -bm25(sections_fts) FROM "
                              "sections_fts WHERE sections_fts MATCH ? ORDER BY rank LIMIT ?")
        except sqlite3.OperationalError as e:
            if "no such table" not in str(e):
                raise
            return {}  # a build from before FORMAT 6: the feature is 0 until the next `kb index`
        if not rows or rows[0][1] <= 0:
            return {}
        wanted, best = set(sections), rows[0][1]
        return {r[0]: r[1] / best for r in rows if r[0] in wanted}

    def similarity(self, query_vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Cosine similarity of the query to each chunk in `ids` (vectors are unit length)."""
        if not ids:
            return {}
        vectors = np.vstack([self._vectors.reconstruct(int(i)) for i in ids])
        return dict(zip(ids, (vectors @ query_vector.reshape(-1)).tolist()))

    def chunks(self, ids: list[int]) -> dict[int, Chunk]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._rows(
            "SELECT c.id, c.path, d.title, d.type, c.headings, c.anchor, c.text, d.url, d.owner, d.last_reviewed, "
            f"{self._owner_slack} FROM chunks c JOIN documents d ON d.path = c.path WHERE c.id IN ({marks})",
            ids,
        )
        return {
            r[0]: Chunk(r[0], r[1], r[2], r[3], tuple(json.loads(r[4])), r[5], r[6], r[7], r[8], r[9], r[10])
            for r in rows
        }

    def document_chunks(self, path: str) -> list[Chunk]:
        """All chunks of one document, in reading order."""
        ids = [r[0] for r in self._rows("SELECT id FROM chunks WHERE path = ? ORDER BY id", (path,))]
        found = self.chunks(ids)
        return [found[i] for i in ids]

    def documents(self, doc_type: str | None = None) -> list[Document]:
        """The build's documents (read once: a build never changes), optionally of one type."""
        if self._documents is None:
            rows = self._rows(
                f"SELECT path, title, type, owner, last_reviewed, url, competitor, aliases, {self._owner_slack} "
                "FROM documents d ORDER BY path"
            )
            self._documents = [
                Document(r[0], r[1], r[2], r[3], date.fromisoformat(r[4]) if r[4] else None, r[5], r[6],
                         tuple(json.loads(r[7] or "[]")), r[8])
                for r in rows
            ]
        return [d for d in self._documents if d.doc_type == doc_type] if doc_type else list(self._documents)

    def changes(self, since: str = "") -> list[tuple[str, str, str]]:
        """Documents added, changed or removed by builds since `since` (ISO time): (path, change, when).

        A build from before changes were recorded has none."""
        try:
            rows = self._rows("SELECT path, change, at FROM changes WHERE at >= ? ORDER BY rowid", (since,))
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return []
        return [tuple(r) for r in rows]

    @cached_property
    def structure(self) -> "Structure":
        """Sections, their heading and title vectors, term frequencies, vocabulary (read once)."""
        return Structure.load(self)

    @cached_property
    def pieces(self) -> late.Pieces | None:
        """Every chunk's word pieces (knowledge.late); None in a build from before they were kept."""
        return late.Pieces(self.dir) if (self.dir / late.FILES[0]).exists() else None

    def late_scores(self, question: late.Tokens | None, spans: list[range]) -> np.ndarray:
        """Per span (a section's chunks): the question's late-interaction score with its best chunk."""
        if question is None or self.pieces is None:
            return np.zeros(len(spans), dtype=np.float32)
        return self.pieces.scores(question, spans)

    def span(self, section: int, chunk: int) -> range:
        """The chunks of `section` the ranker reads: all of them, or SECTION_CHUNKS around `chunk`."""
        s = self.structure
        first, last = int(s.first[section]), int(s.last[section])
        if last - first < SECTION_CHUNKS:
            return range(first, last + 1)
        start = max(first, min(chunk - SECTION_CHUNKS // 2, last + 1 - SECTION_CHUNKS))
        return range(start, start + SECTION_CHUNKS)  # a huge section costs a query no more than a long one

    def sections(self, spans: list[range]) -> dict[range, SectionText]:
        """Sections (their chunks in `spans`, joined in reading order) with their terms; recent ones cached."""
        cached = (self._section_cache.get(r) for r in spans)  # one lookup each: another thread may clear the cache
        found = {r: section for r, section in zip(spans, cached) if section is not None}
        missing = [r for r in spans if r not in found]
        if missing:
            chunk_ids = [c for span in missing for c in span]
            marks = ",".join("?" * len(chunk_ids))
            rows = {r[0]: r[1:] for r in self._rows(
                f"SELECT c.id, c.path, d.title, c.headings, c.text, {self._terms} FROM chunks c "
                f"JOIN documents d ON d.path = c.path WHERE c.id IN ({marks})",
                chunk_ids,
            )}
            for span in missing:
                path, title, headings, _, stored = rows[span[0]]
                body = None if stored is None else [t for c in span for t in rows[c][4].split()]
                found[span] = SectionText.of(path, title, tuple(json.loads(headings)), "\n\n".join(rows[c][3] for c in span), body)
            with self._lock:
                if len(self._section_cache) > SECTION_CACHE:
                    self._section_cache.clear()  # a build is immutable: dropping the cache only costs time
                self._section_cache.update((r, found[r]) for r in missing)
        return found

    def document_frequencies(self, words: list[str]) -> dict[str, int]:
        """How many sections contain each of `words` (stemmed terms)."""
        if not words:
            return {}
        marks = ",".join("?" * len(words))
        return dict(self._rows(f"SELECT term, df FROM terms WHERE term IN ({marks})", list(words)))

    def close(self) -> None:
        self._db.close()


@dataclass(frozen=True)
class SectionText:
    """One section as the ranker reads it: its text, and the terms of each of its fields."""

    path: str
    headings: tuple[str, ...]  # title first
    text: str
    body: frozenset[str]  # knowledge.text.terms of the text
    counts: dict[str, int]  # ... with how often each occurs
    length: int  # ... how many there are
    heading_terms: frozenset[str]  # ... of the headings below the title
    last_heading: frozenset[str]  # ... of its own (deepest) heading
    title_terms: frozenset[str]  # ... of the document title and the file path
    pairs: frozenset[tuple[str, str]]  # adjacent terms in the headings and the text

    @classmethod
    def of(cls, path: str, title: str, headings: tuple[str, ...], text: str, body: list[str] | None = None) -> "SectionText":
        """`body` is terms(text) when the build stored it: tokenising a pool's sections cost more than searching it."""
        below, body = terms(" ".join(headings[1:])), terms(text) if body is None else body
        sequence = below + body
        return cls(path, headings, text, frozenset(body), Counter(body), len(body), frozenset(below),
                   frozenset(terms(headings[-1])) if len(headings) > 1 else frozenset(),
                   _title_terms(title, path), frozenset(zip(sequence, sequence[1:])))


@lru_cache(maxsize=1024)
def _title_terms(title: str, path: str) -> frozenset[str]:
    """A document's title and path words: the same for each of its sections."""
    return frozenset(terms(f"{title} {' '.join(words(path))}"))


@dataclass(frozen=True)
class Structure:
    """What the ranker reads about a build; see indexer/structure.py for how it is written."""

    first: np.ndarray  # per section: its first and last chunk id
    last: np.ndarray
    of_chunk: np.ndarray  # per chunk: its section id
    heading_vectors: np.ndarray  # per section: the heading path's vector
    title_vectors: dict[str, np.ndarray]  # per document path: the title's vector
    sections: int
    mean_terms: float  # the mean number of terms in a section's text (BM25's length norm)
    vocabulary: Vocabulary

    @classmethod
    def load(cls, index: "Index") -> "Structure":
        rows = index._rows("SELECT first_chunk, last_chunk FROM sections ORDER BY id")
        first = np.array([r[0] for r in rows], dtype=np.int64)
        last = np.array([r[1] for r in rows], dtype=np.int64)
        of_chunk = np.repeat(np.arange(len(rows)), last - first + 1) if rows else np.zeros(0, dtype=np.int64)
        arrays = np.load(index.dir / STRUCTURE_FILE)
        paths = [r[0] for r in index._rows("SELECT path FROM titles ORDER BY id")]
        frequent = dict(index._rows("SELECT term, df FROM terms WHERE df >= ?", [SPELLED_DF]))
        vocabulary = Vocabulary(dict(index._rows("SELECT short, long FROM vocabulary")), frequent=frequent)
        mean_terms = index._rows("SELECT value FROM stats WHERE key = 'mean_section_terms'")[0][0]
        return cls(first, last, of_chunk, arrays["sections"], dict(zip(paths, arrays["titles"])), len(rows), mean_terms, vocabulary)


class LiveIndex:
    """Follows `root/current`: when the indexer swaps in a new build, the next call opens it."""

    def __init__(self, root: Path, model_name: str | None = None):
        self.root = Path(root)
        self.model_name = model_name
        self._lock = threading.Lock()
        self._index: Index | None = None
        self._retired: Index | None = None  # the build before: a request may still be reading it
        self.get()

    def get(self) -> Index:
        """The current build, reopened if the indexer swapped a new one in since the last call."""
        target = current_build(self.root)
        index = self._index
        if index is not None and index.dir == target:
            return index
        with self._lock:
            if self._index is None or self._index.dir != target:
                fresh = Index(target)
                if self.model_name:
                    fresh.check_model(self.model_name)
                if self._retired is not None:
                    self._retired.close()  # two swaps ago: no request lives that long
                self._retired, self._index = self._index, fresh
            return self._index
