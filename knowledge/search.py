"""Hybrid retrieval: dense (FAISS) and lexical (FTS5 BM25) candidates fused by reciprocal rank."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from knowledge.index import Chunk, Index

Mode = Literal["hybrid", "dense", "lexical"]

RRF_K = 60  # the constant from Cormack et al.; damps the weight of the very first ranks
POOL = 50  # candidates taken from each retriever before fusion
MAX_QUERY_CHARS = 2000  # the model reads ~256 tokens; more text only slows the lexical query


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # cosine similarity of the question to the chunk: comparable across queries
    fused: float  # the ranking score (RRF), only comparable within one query
    dense_rank: int | None = None  # 1-based rank in each retriever's list, None if it did not list it
    lexical_rank: int | None = None


def fuse(rankings: list[list[int]], weights: list[float], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: each ranking adds weight / (k + rank) to the ids it lists."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, chunk_id in enumerate(ranking, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    return fused


def search(
    index: Index,
    query_vector: np.ndarray,
    query: str,
    k: int = 5,
    mode: Mode = "hybrid",
    boost: frozenset[str] = frozenset(),
) -> list[Hit]:
    """The `k` best chunks for `query`; `boost` names document paths the question points at."""
    query = query[:MAX_QUERY_CHARS]
    dense = index.dense(query_vector, POOL) if mode != "lexical" else []
    lexical = index.lexical(query, POOL) if mode != "dense" else []
    rankings = [[i for i, _ in dense], [i for i, _ in lexical]]
    fused = fuse(rankings, [1.0, 1.0])
    if boost:
        chunks = index.chunks(list(fused))
        for chunk_id, chunk in chunks.items():
            if chunk.path in boost:
                fused[chunk_id] += 1.0 / RRF_K
    best = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
    chunks = index.chunks(best)
    cosine = dict(dense)
    cosine.update(index.similarity(query_vector, [i for i in best if i not in cosine]))
    dense_rank = {i: n for n, i in enumerate(rankings[0], 1)}
    lexical_rank = {i: n for n, i in enumerate(rankings[1], 1)}
    return [
        Hit(chunks[i], cosine[i], fused[i], dense_rank.get(i), lexical_rank.get(i)) for i in best if i in chunks
    ]
