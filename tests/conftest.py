"""Shared fixtures: the real model (loaded once), and real indexes built in tmp folders."""
from __future__ import annotations

from pathlib import Path

import pytest

from indexer.build import build
from knowledge.answer import KnowledgeBase
from knowledge.embedder import SentenceTransformerEmbedder
from knowledge.index import LiveIndex

REPO = Path(__file__).resolve().parent.parent
SAMPLE_KB = REPO / "knowledge_base"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, embedder) -> Path:
    """The bundled sample knowledge base, indexed once for the whole session."""
    root = tmp_path_factory.mktemp("sample-index")
    build(SAMPLE_KB, root, embedder)
    return root


@pytest.fixture(scope="session")
def sample_kb(sample_index, embedder) -> KnowledgeBase:
    return KnowledgeBase(LiveIndex(sample_index, embedder.name), embedder)


class CountingEmbedder:
    """The real model, counting what it is asked to embed (re-index tests count re-embedded chunks)."""

    def __init__(self, inner, fail_after: int | None = None):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts: list[str] = []
        self.fail_after = fail_after

    def embed(self, texts):
        if self.fail_after is not None and len(self.texts) + len(texts) > self.fail_after:
            raise RuntimeError("embedding failed half-way (injected)")
        self.texts.extend(texts)
        return self.inner.embed(texts)


@pytest.fixture
def counting(embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def write(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
