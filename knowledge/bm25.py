"""FTS5's BM25, computed in memory from a copy of the build's full-text postings.

A question's OR-query matches ~40% of the GitLab handbook's chunks, and FTS5 decodes each match's position
lists to score it: the two full-text queries were ~14 ms of a gitlab question. The build copies each FTS5
table's postings (per term: the rows that hold it and how often, per column) into BM25_FILE, and a query
adds up the same terms with the same formula (fts5_aux.c's fts5Bm25Function, operation for operation), so
scores and ranks are FTS5's own. The words are FTS5's too: a question's words go through the table's
tokenizer (`porter`) in an in-memory table. A word FTS5 reads as several tokens (a phrase, which needs
positions) or none sends the query back to SQL, as does a build from before FORMAT 10.
"""
from __future__ import annotations

import math
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

BM25_FILE = "bm25.npz"
K1, B = 1.2, 0.75  # FTS5's constants
TOKENIZER = "porter"  # every full-text table of a build uses it (indexer/build.py, indexer/structure.py)


@dataclass(frozen=True)
class Postings:
    """One FTS5 table's postings: for term slot t, rows[starts[t]:starts[t+1]] hold it `hits` times."""

    slots: dict[str, int]
    starts: np.ndarray  # int64 (terms + 1,)
    rows: np.ndarray  # int64 rowids
    hits: np.ndarray  # float64: the row's hits of the term, each weighted by its column's weight
    norms: np.ndarray  # float64 per rowid: K1 * (1 - B + B * tokens / mean tokens), FTS5's length term
    total: int  # rows in the table: what IDF counts against

    def scores(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Rowids matching any of `tokens` (one per query phrase, repeats kept as FTS5 keeps them) and
        their BM25 (higher is better)."""
        score = np.zeros(len(self.norms))
        matched = np.zeros(len(self.norms), dtype=bool)
        for token in tokens:
            t = self.slots.get(token)
            if t is None:
                continue  # no row holds it: it adds 0.0 to every row, as in FTS5
            rows, hits = self.rows[self.starts[t]:self.starts[t + 1]], self.hits[self.starts[t]:self.starts[t + 1]]
            idf = math.log((self.total - len(rows) + 0.5) / (len(rows) + 0.5))  # libm's log, as FTS5's
            idf = idf if idf > 0.0 else 1e-6
            score[rows] += idf * ((hits * (K1 + 1.0)) / (hits + self.norms[rows]))
            matched[rows] = True
        ids = np.flatnonzero(matched)
        return ids, score[ids]

    def top(self, tokens: list[str], k: int) -> list[tuple[int, float]]:
        """The `k` best rows and their scores, best first (ties by rowid)."""
        ids, score = self.scores(tokens)
        if len(ids) > k:
            keep = np.argpartition(-score, k - 1)[:k]
            cut = score[keep].min()
            keep = np.flatnonzero(score >= cut)  # every row tied with the k-th, so ties break by rowid
            ids, score = ids[keep], score[keep]
        order = np.lexsort((ids, -score))[:k]
        return [(int(i), float(s)) for i, s in zip(ids[order], score[order])]

    @classmethod
    def read(cls, arrays, name: str, weights: tuple[float, ...]) -> "Postings":
        blob = arrays[f"{name}_terms"].tobytes()
        terms = blob.decode().split("\n") if blob else []  # tokens are letters and digits: never a newline
        counts = arrays[f"{name}_counts"].astype(np.float64)
        lengths = arrays[f"{name}_lengths"].astype(np.float64)
        total = int(arrays[f"{name}_total"])
        mean = lengths.sum() / total if total else 1.0
        return cls(
            slots={t: i for i, t in enumerate(terms)},
            starts=arrays[f"{name}_starts"],
            rows=arrays[f"{name}_rows"].astype(np.int64),
            hits=counts @ np.asarray(weights[: counts.shape[1]], dtype=np.float64),
            norms=K1 * (1 - B + B * lengths / mean),
            total=total,
        )


def load(build_dir: Path, weights: dict[str, tuple[float, ...]]) -> dict[str, Postings] | None:
    """Each table's postings, with its columns weighted as its queries weight them; None if not built."""
    path = Path(build_dir) / BM25_FILE
    if not path.exists():
        return None
    with np.load(path) as arrays:
        return {name: Postings.read(arrays, name, w) for name, w in weights.items()}


def write(build_dir: Path, db: sqlite3.Connection, tables: list[str]) -> None:
    """Copy the postings of each FTS5 table in `tables` (in database `db`) to BM25_FILE."""
    arrays: dict[str, np.ndarray] = {}
    for table in tables:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        db.execute(f"CREATE VIRTUAL TABLE temp.{table}_terms USING fts5vocab(main, {table}, 'row')")
        db.execute(f"CREATE VIRTUAL TABLE temp.{table}_instances USING fts5vocab(main, {table}, 'instance')")
        # Both vocabulary tables list terms in the index's order; one string per column keeps the ~600k
        # instances of a large build out of Python objects (a row each cost seconds).
        vocabulary = db.execute(f"SELECT term, cnt FROM temp.{table}_terms").fetchall()
        terms, per_term = [r[0] for r in vocabulary], [r[1] for r in vocabulary]
        which = " ".join(f"WHEN ? THEN {i}" for i in range(len(columns)))
        docs, cols = db.execute(
            f"SELECT group_concat(doc, ' '), group_concat(CASE col {which} END, ' ') FROM temp.{table}_instances",
            columns,
        ).fetchone()
        db.execute(f"DROP TABLE temp.{table}_terms")
        db.execute(f"DROP TABLE temp.{table}_instances")
        docs = np.array((docs or "").split(), dtype=np.int64)
        cols = np.array((cols or "").split(), dtype=np.int64)
        term_of = np.repeat(np.arange(len(terms)), per_term)
        size = int(docs.max()) + 1 if len(docs) else 0
        pairs, at = np.unique(term_of * size + docs, return_inverse=True)  # one posting per (term, row)
        counts = np.bincount(at * len(columns) + cols, minlength=len(pairs) * len(columns))
        arrays.update({
            f"{table}_terms": np.frombuffer("\n".join(terms).encode(), dtype=np.uint8),
            f"{table}_starts": np.searchsorted(pairs // max(size, 1), np.arange(len(terms) + 1)),
            f"{table}_rows": (pairs % max(size, 1)).astype(np.int32),
            f"{table}_counts": counts.reshape(len(pairs), len(columns)).astype(np.int32),
            f"{table}_lengths": np.bincount(docs, minlength=size),
            f"{table}_total": np.array(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]),
        })
    np.savez(Path(build_dir) / BM25_FILE, **arrays)


_tokenizing = threading.Lock()
_tokenizer_db: sqlite3.Connection | None = None


CACHED_WORD = 40  # longer words are tokenised each time: a question may hold up to 2,000 characters of one


def tokens(word: str) -> tuple[str, ...]:
    """`word` as FTS5's `porter` tokenizer reads it in a query: usually one stem, sometimes none or several."""
    return _cached_tokens(word) if len(word) <= CACHED_WORD else _tokenize(word)


@lru_cache(maxsize=65536)  # at most ~10 MB of real words
def _cached_tokens(word: str) -> tuple[str, ...]:
    return _tokenize(word)


def _tokenize(word: str) -> tuple[str, ...]:
    global _tokenizer_db
    with _tokenizing:
        if _tokenizer_db is None:
            _tokenizer_db = sqlite3.connect(":memory:", check_same_thread=False)
            _tokenizer_db.execute(f"CREATE VIRTUAL TABLE words USING fts5(word, tokenize='{TOKENIZER}')")
            _tokenizer_db.execute("CREATE VIRTUAL TABLE words_read USING fts5vocab(words, 'instance')")
        db = _tokenizer_db
        db.execute("INSERT INTO words (rowid, word) VALUES (1, ?)", (word,))
        found = tuple(r[0] for r in db.execute("SELECT term FROM words_read ORDER BY offset"))
        db.execute("DELETE FROM words")
        return found
