"""Vectors shared between machines: an embedder that asks the state database before it asks the model.

Each machine still builds its own local index; with a shared state (PostgreSQL) a text that any machine
embedded with the same model is read back, not embedded again. Keyed by a hash of (model, text), so
chunks, headings and titles are all covered, whatever the indexer does with them.
"""
from __future__ import annotations

import hashlib
from typing import Protocol, Sequence

import numpy as np

from knowledge.embedder import Embedder
from knowledge.late import Tokens


class VectorStore(Protocol):
    def cached_vectors(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]: ...

    def store_vectors(self, model: str, vectors: dict[str, np.ndarray]) -> None: ...

    def cached_pieces(self, model: str, hashes: Sequence[str]) -> dict[str, Tokens]: ...

    def store_pieces(self, model: str, tokens: dict[str, Tokens]) -> None: ...


def text_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


class CachedEmbedder:
    """`inner` behind a shared cache; `embedded` counts the texts the model really embedded.

    >>> embedder = CachedEmbedder(SentenceTransformerEmbedder(), open_state(settings))
    """

    def __init__(self, inner: Embedder, store: VectorStore):
        self.inner, self.store = inner, store
        self.name, self.dim, self.whole_words = inner.name, inner.dim, inner.whole_words
        self.embedded = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [text_key(self.name, t) for t in texts]
        found = self.store.cached_vectors(self.name, keys)
        todo = {k: t for k, t in zip(keys, texts) if k not in found}
        if todo:
            fresh = dict(zip(todo, self.inner.embed(list(todo.values()))))
            self.store.store_vectors(self.name, fresh)
            found.update(fresh)
            self.embedded += len(todo)
        return np.vstack([found[k] for k in keys]).astype(np.float32, copy=False)

    def embed_tokens(self, texts: Sequence[str], own: Sequence[str] | None = None) -> tuple[np.ndarray, list[Tokens]]:
        """Vectors and word pieces; a text is read back only when both are stored (a cache written before
        pieces existed has vectors alone, and such a text is embedded again). Questions (`own`) are not cached."""
        if own is not None:
            return self.inner.embed_tokens(texts, own)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        keys = [text_key(self.name, t) for t in texts]
        pieces = self.store.cached_pieces(self.name, keys)
        found = self.store.cached_vectors(self.name, list(pieces))
        todo = {k: t for k, t in zip(keys, texts) if k not in found}
        if todo:
            vectors, tokens = self.inner.embed_tokens(list(todo.values()))
            fresh = dict(zip(todo, vectors))
            self.store.store_vectors(self.name, fresh)
            self.store.store_pieces(self.name, dict(zip(todo, tokens)))
            found.update(fresh)
            pieces.update(zip(todo, tokens))
            self.embedded += len(todo)
        return np.vstack([found[k] for k in keys]).astype(np.float32, copy=False), [pieces[k] for k in keys]
