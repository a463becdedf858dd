"""The second stage: rank the pool's *sections* with features the structure gives for free.

The first stage (search.py) gathers dense top-N and lexical top-N chunks. Here each section in that
pool becomes one candidate, described by named features: the question against the title, the heading
path and the body separately (by meaning and by words), coverage, proximity, how much of the document
is relevant, length. A linear model scores them; a logistic model of the best candidate's features
says whether it answers the question. Both models' weights are data (ranker.json), fitted by
bench/fit_ranker.py on the fit half of the question sets, never at run time.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from knowledge.index import Index, SectionText
from knowledge.text import terms

WEIGHTS_FILE = Path(__file__).with_name("ranker.json")

FEATURES = (
    "dense",             # best cosine of the question to one of the section's chunks
    "heading_dense",     # cosine to the section's heading path (title › ... › heading)
    "title_dense",       # cosine to the document's title
    "bm25",              # best BM25 of the section's chunks, over the query's best
    "section_bm25",      # BM25 of the whole section's text, over the pool's best
    "plain_bm25",        # FTS5 BM25 of heading path and text as one field, over the build's best section
    "dense_rr",          # 1 / log2(1 + rank) in the dense list (0 when absent)
    "lexical_rr",        # the same in the lexical list
    "heading_cov",       # IDF-weighted share of the question's terms in the section's headings
    "last_heading_cov",  # ... in its own (deepest) heading
    "title_cov",         # ... in the document title and file path
    "body_cov",          # ... in the body text
    "coverage",          # ... anywhere in the section
    "rare_missing",      # IDF of the question's rarest term the section lacks, over the rarest term's
    "proximity",         # share of the question's adjacent term pairs found adjacent in the section
    "doc_dense",         # mean of the document's best three chunk cosines in the pool
    "doc_hits",          # log(1 + sections of the same document in the pool)
    "length",            # log(1 + characters in the section)
    "named",             # the section is in the battlecard of a competitor the question names
    "late",              # late interaction: each question word piece's best match in the section (knowledge/late.py)
)
# Question-level signals the verdict adds to the best candidate's features.
VERDICT_EXTRA = ("score", "margin", "unknown_terms")
LATE = FEATURES.index("late")
# Late interaction reads every word piece of a section: it is computed for the SHORTLIST sections the other
# features rank best, not the whole pool (~70 sections). The right section is among those 20 for 98% of
# the fit questions whose pool holds it, and ranking only them scored as well as ranking all
# (cross-validated MRR@10 0.753 against 0.751, bench/RESULTS.md).
SHORTLIST = 20


@dataclass(frozen=True)
class Query:
    """A question prepared once: its vector, its stemmed terms, their IDF weights, adjacent pairs."""

    text: str
    vector: np.ndarray
    terms: tuple[str, ...]
    idf: dict[str, float]
    pairs: frozenset[tuple[str, str]]
    unknown: float  # IDF-weighted share of terms no section contains (typos, or a topic the KB lacks)

    @classmethod
    def prepare(cls, index: Index, text: str, vector: np.ndarray) -> "Query":
        sequence = terms(text)
        unique = tuple(dict.fromkeys(sequence))
        df = index.document_frequencies(list(unique))
        n = max(index.structure.sections, 1)
        idf = {t: math.log(1 + n / df.get(t, 1)) for t in unique}
        total = sum(idf.values()) or 1.0
        unknown = sum(w for t, w in idf.items() if t not in df) / total
        return cls(text, vector, unique, idf, frozenset(zip(sequence, sequence[1:])), unknown)

    def present(self, field: frozenset[str]) -> list[bool]:
        """Which of the question's terms (in `idf` order) `field` holds: asked once per field and section,
        then shared by the features below (a section's body holds thousands of terms, a question a handful)."""
        return [t in field for t in self.idf]

    def bm25(self, section: SectionText, in_body: list[bool], mean_terms: float, k1: float = 1.2, b: float = 0.75) -> float:
        """Okapi BM25 of the section's text (its headings are features of their own)."""
        norm = k1 * (1 - b + b * section.length / (mean_terms or 1.0))
        counts = section.counts
        return sum(w * (tf := counts[t]) * (k1 + 1) / (tf + norm) for (t, w), p in zip(self.idf.items(), in_body) if p)

    def rarest_missing(self, present: list[bool]) -> float:
        """A section that lacks the question's most specific word ('FedRAMP', 'escrow') rarely answers it."""
        top = max(self.idf.values(), default=0.0)
        return max((w for w, p in zip(self.idf.values(), present) if not p), default=0.0) / top if top else 0.0

    def cover(self, present: list[bool]) -> float:
        total = sum(self.idf.values())
        return sum(w for w, p in zip(self.idf.values(), present) if p) / total if total else 0.0


@dataclass
class Candidate:
    section: int
    chunk: int  # the section's chunk that matched best
    dense: float
    dense_rank: int | None = None
    lexical_rank: int | None = None
    bm25: float = 0.0
    plain_bm25: float = 0.0
    span: range = range(0)  # the chunks the ranker reads (Index.span)
    content: SectionText | None = None  # filled in once the pool is known

    @property
    def path(self) -> str:
        return self.content.path

    @property
    def headings(self) -> tuple[str, ...]:
        return self.content.headings


def _rr(rank: int | None) -> float:
    return 1.0 / math.log2(1 + rank) if rank else 0.0


def features(index: Index, query: Query, candidates: list[Candidate], named: frozenset[str]) -> np.ndarray:
    """One row of FEATURES per candidate."""
    structure = index.structure
    best_bm25 = max((c.bm25 for c in candidates), default=0.0) or 1.0
    in_body = [query.present(c.content.body) for c in candidates]
    section_bm25 = [query.bm25(c.content, body, structure.mean_terms) for c, body in zip(candidates, in_body)]
    best_section_bm25 = max(section_bm25, default=0.0) or 1.0
    by_doc: dict[str, list[float]] = {}
    for c in candidates:
        by_doc.setdefault(c.path, []).append(c.dense)
    rows = []
    for c, whole_bm25, body in zip(candidates, section_bm25, in_body):
        t = c.content
        title_vector = structure.title_vectors.get(t.path)
        doc_scores = sorted(by_doc[t.path], reverse=True)[:3]
        heading, title = query.present(t.heading_terms), query.present(t.title_terms)
        anywhere = [any(fields) for fields in zip(body, heading, title)]
        rows.append((
            c.dense,
            float(structure.heading_vectors[c.section] @ query.vector),
            float(title_vector @ query.vector) if title_vector is not None else 0.0,
            c.bm25 / best_bm25,
            whole_bm25 / best_section_bm25,
            c.plain_bm25,
            _rr(c.dense_rank),
            _rr(c.lexical_rank),
            query.cover(heading),
            query.cover(query.present(t.last_heading)),
            query.cover(title),
            query.cover(body),
            query.cover(anywhere),
            query.rarest_missing(anywhere),
            len(query.pairs & t.pairs) / len(query.pairs) if query.pairs else 0.0,
            sum(doc_scores) / len(doc_scores),
            math.log1p(len(by_doc[t.path])),
            math.log1p(len(t.text)),
            float(t.path in named),
            0.0,  # late: filled in for the shortlist (Ranker.rank)
        ))
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


@dataclass(frozen=True)
class Ranker:
    """Linear section scores and a logistic verdict, with weights read from ranker.json.

    Two linear models rank: `shortlist` (every feature but late) picks the SHORTLIST best of the pool,
    `weights` (all of them) orders those; the rest follow in shortlist order."""

    weights: np.ndarray
    verdict_weights: np.ndarray
    verdict_bias: float
    threshold: float
    shortlist: np.ndarray

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE) -> "Ranker":
        data = json.loads(Path(path).read_text())
        if (tuple(data["features"]) != FEATURES or tuple(data["verdict"]["features"]) != FEATURES + VERDICT_EXTRA
                or data.get("shortlist", {}).get("size") != SHORTLIST):
            raise ValueError(f"{path} was fitted for other features; refit it with bench/fit_ranker.py")
        return cls(
            np.array(data["rank"]["weights"], dtype=np.float64),
            np.array(data["verdict"]["weights"], dtype=np.float64),
            float(data["verdict"]["bias"]),
            float(data["verdict"]["threshold"]),
            np.array(data["shortlist"]["weights"], dtype=np.float64),
        )

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return rows @ self.weights if len(rows) else np.zeros(0)

    def rank(self, rows: np.ndarray, late: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(scores, order): `late(ids)` fills the late column of the shortlisted rows, which come first."""
        first = np.argsort(-(rows @ self.shortlist), kind="stable")
        top, rest = first[:SHORTLIST], first[SHORTLIST:]
        rows[top, LATE] = late(top)
        scores = self.scores(rows)
        return scores, np.concatenate([top[np.argsort(-scores[top], kind="stable")], rest])

    @staticmethod
    def verdict_row(rows: np.ndarray, scores: np.ndarray, order: np.ndarray, query: Query) -> np.ndarray:
        """The best candidate's features, its score, its lead over the second, and the unknown terms."""
        top = order[0]
        margin = scores[top] - scores[order[1]] if len(order) > 1 else 1.0
        return np.concatenate([rows[top], [scores[top], margin, query.unknown]])

    def probability(self, verdict_row: np.ndarray) -> float:
        """How likely the best candidate answers the question (logistic, calibrated on the fit half)."""
        z = float(verdict_row @ self.verdict_weights + self.verdict_bias)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

