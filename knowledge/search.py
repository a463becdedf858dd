"""Two-stage retrieval: a pool of dense (FAISS) and lexical (FTS5 BM25) chunks, ranked as sections.

Stage one gathers the dense top POOL and the lexical top POOL chunks; the right section is in that
union for ~99% of real questions. Stage two (rank.py) scores each *section* of the pool once, so the
split parts of one long section never fill the results. The single-leg modes and "rrf" (plain
reciprocal rank fusion) rank the same sections without the model: they are the peers it must beat.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from knowledge.index import Chunk, Index
from knowledge.late import Tokens
from knowledge.passage import best_passage
from knowledge.rank import FEATURES, Candidate, Query, Ranker, features
from knowledge.vocabulary import READ_CHARS

Mode = Literal["hybrid", "rrf", "dense", "lexical"]

RRF_K = 60  # the constant from Cormack et al.; damps the weight of the very first ranks
POOL = 50  # candidates taken from each retriever
MAX_QUERY_CHARS = READ_CHARS  # the model reads ~256 tokens; more text only slows the lexical query
SNIPPET_CHARS = 600


@dataclass(frozen=True)
class Hit:
    chunk: Chunk  # the section's best-matching chunk (its anchor links the section)
    score: float  # cosine similarity of the question to that chunk: comparable across queries
    fused: float  # the ranking score, only comparable within one query
    dense_rank: int | None = None  # 1-based rank in each retriever's list, None if it did not list it
    lexical_rank: int | None = None
    passage: str = ""  # the part of the section that best matches the question
    features: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    confidence: float | None  # P(the first hit answers the question); None without the ranker


def _candidates(index: Index, query_vector: np.ndarray, dense: list[tuple[int, float]],
                lexical: list[tuple[int, float]]) -> list[Candidate]:
    """The pool's sections, each with its best chunk, best ranks and best BM25."""
    of_chunk = index.structure.of_chunk
    cosine = dict(dense)
    cosine.update(index.similarity(query_vector, [i for i, _ in lexical if i not in cosine]))
    pool: dict[int, Candidate] = {}
    for chunk_id, cos in cosine.items():
        section = int(of_chunk[chunk_id])
        if section not in pool or cos > pool[section].dense:
            pool[section] = Candidate(section, chunk_id, cos)  # ranks and BM25 come next
    for rank, (chunk_id, _) in enumerate(dense, 1):
        c = pool[int(of_chunk[chunk_id])]
        c.dense_rank = min(c.dense_rank or rank, rank)
    for rank, (chunk_id, bm25) in enumerate(lexical, 1):
        c = pool[int(of_chunk[chunk_id])]
        c.lexical_rank = min(c.lexical_rank or rank, rank)
        c.bm25 = max(c.bm25, bm25)
    return list(pool.values())


def _fill(index: Index, candidates: list[Candidate]) -> None:
    """Attach each candidate's whole section (the chunks the ranker reads)."""
    for c in candidates:
        c.span = index.span(c.section, c.chunk)
    sections = index.sections([c.span for c in candidates])
    for c in candidates:
        c.content = sections[c.span]


def _order(mode: Mode, candidates: list[Candidate]) -> list[float]:
    """A ranking score per candidate for the modes without the ranker."""
    if mode == "dense":
        return [c.dense if c.dense_rank else -1.0 for c in candidates]
    if mode == "lexical":
        return [c.bm25 if c.lexical_rank else -1.0 for c in candidates]
    return [sum(1.0 / (RRF_K + r) for r in (c.dense_rank, c.lexical_rank) if r) for c in candidates]


@dataclass(frozen=True)
class Pool:
    candidates: list[Candidate]
    rows: np.ndarray  # FEATURES per candidate
    query: Query


def pool(index: Index, query_vector: np.ndarray, query: str, mode: Mode = "hybrid",
         named: frozenset[str] = frozenset(), asked: str | None = None) -> Pool:
    """Stage one: the sections of the dense and lexical top POOL chunks, with their features (all but
    late, which the ranker asks for its shortlist: see Ranker.rank and Index.late_scores).

    `query` carries the vocabulary's expansions; `asked` is the question without them (default: `query`).
    Whole-section BM25 reads `asked`: the long forms outweigh the rest of a question in one field, and
    with them the feature gained nothing (cross-validated MRR@10 on the fit halves 0.699, without 0.708)."""
    query, asked = query[:MAX_QUERY_CHARS], (asked or query)[:MAX_QUERY_CHARS]
    dense = index.dense(query_vector, POOL) if mode != "lexical" else []
    lexical = index.lexical(query, POOL) if mode != "dense" else []
    candidates = _candidates(index, query_vector, dense, lexical)
    plain = index.section_bm25(asked, [c.section for c in candidates])
    for c in candidates:
        c.plain_bm25 = plain.get(c.section, 0.0)
    _fill(index, candidates)
    prepared = Query.prepare(index, query, query_vector)
    return Pool(candidates, features(index, prepared, candidates, named), prepared)


def search(index: Index, query_vector: np.ndarray, query: str, k: int = 5, mode: Mode = "hybrid",
           named: frozenset[str] = frozenset(), ranker: Ranker | None = None, asked: str | None = None,
           tokens: Tokens | None = None) -> Results:
    """The `k` best sections for `query`; `named` holds paths of battlecards the question names, `asked`
    is the question without the vocabulary's expansions, `tokens` its word pieces (see pool)."""
    found = pool(index, query_vector, query, mode, named, asked)
    candidates, rows, prepared = found.candidates, found.rows, found.query
    if not candidates:
        return Results([], None)
    use_ranker = mode == "hybrid" and ranker is not None
    if use_ranker:
        scores, order = ranker.rank(rows, lambda ids: index.late_scores(tokens, [candidates[i].span for i in ids]))
    else:
        scores = np.array(_order(mode, candidates))
        order = np.argsort(-scores, kind="stable")
    confidence = ranker.probability(ranker.verdict_row(rows, scores, order, prepared)) if use_ranker else None
    chunks = index.chunks([candidates[i].chunk for i in order[:k]])  # only the hits' (a pool has ~70)
    hits = []
    for i in order[:k]:
        c = candidates[i]
        hits.append(Hit(
            chunks[c.chunk], c.dense, float(scores[i]), c.dense_rank, c.lexical_rank,
            best_passage(c.content.text, prepared.idf, SNIPPET_CHARS), dict(zip(FEATURES, rows[i].round(4).tolist())),
        ))
    return Results(hits, confidence)
