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
        self.inner, self.name, self.dim, self.whole_words = inner, inner.name, inner.dim, inner.whole_words
        self.texts: list[str] = []
        self.fail_after = fail_after

    def embed(self, texts):
        self._count(texts)
        return self.inner.embed(texts)

    def embed_tokens(self, texts, own=None):
        self._count(texts)
        return self.inner.embed_tokens(texts, own)

    def _count(self, texts):
        if self.fail_after is not None and len(self.texts) + len(texts) > self.fail_after:
            raise RuntimeError("embedding failed half-way (injected)")
        self.texts.extend(texts)


@pytest.fixture
def counting(embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


def write(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server for the session (tests/postgres.py); fails loudly if it cannot start."""
    from tests.postgres import PostgresServer

    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture
def pg_url(postgres) -> str:
    """DATABASE_URL for one test: its own empty schema."""
    return postgres.fresh_url()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path):
    """A function opening state DBs on one backend: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    from knowledge.state import StateDB

    opened = []
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None

    def open_state(name: str = "state.db"):
        if url:
            from knowledge.state_pg import PostgresState

            opened.append(PostgresState(url))
        else:
            opened.append(StateDB(tmp_path / name))
        return opened[-1]

    open_state.kind = request.param
    open_state.url = url
    yield open_state
    for state in opened:
        state.close()


@pytest.fixture
def state(backend):
    """A fresh state DB on each backend (tests using it run twice)."""
    return backend()
