"""A second machine's fresh `kb index` against a shared state DB embeds nothing any machine embedded before:
neither a chunk's vector nor its word pieces (knowledge.late)."""
from __future__ import annotations

import faiss
import numpy as np

from indexer.build import build
from knowledge import late
from knowledge.index import current_build
from knowledge.vector_cache import CachedEmbedder, text_key
from tests.conftest import CountingEmbedder, write

DOCS = {
    "pricing.md": "---\ntitle: Pricing\n---\n# Pricing\n\n## Discounts\n\nUp to 20% needs a manager; above that, the deal desk.\n\n## Renewals\n\nUplift is capped at 7%.\n",
    "acme.md": "---\ntitle: Acme battlecard\ntype: battlecard\ncompetitor: Acme\n---\n# Acme\n\n## Why we win\n\nFaster setup and a real API.\n",
}


def vectors(root):
    index = faiss.read_index(str(current_build(root) / "vectors.faiss"))
    return index.reconstruct_n(0, index.ntotal)


def pieces(root) -> list[bytes]:
    stored = late.Pieces(current_build(root))
    return [stored.of(i).pack() for i in range(stored.chunks)]


def test_a_second_machine_reuses_every_vector(tmp_path, embedder, backend):
    state, source = backend(), tmp_path / "kb"
    for name, text in DOCS.items():
        write(source, name, text)
    first = CachedEmbedder(CountingEmbedder(embedder), state)
    cold = build(source, tmp_path / "machine-1", first)
    assert cold.embedded == cold.chunks == 3 and cold.reused == 0
    assert len(first.inner.texts) == first.embedded > 3  # chunks, and their headings and titles
    second = CachedEmbedder(CountingEmbedder(embedder), backend())  # another process, the same database
    warm = build(source, tmp_path / "machine-2", second)
    assert (warm.embedded, warm.reused, warm.chunks) == (0, 3, 3)
    assert second.inner.texts == [] and second.embedded == 0
    assert np.array_equal(vectors(tmp_path / "machine-1"), vectors(tmp_path / "machine-2"))
    assert pieces(tmp_path / "machine-1") == pieces(tmp_path / "machine-2")
    write(source, "acme.md", DOCS["acme.md"].replace("a real API", "a real, documented API"))
    edited = build(source, tmp_path / "machine-2", second)
    assert (edited.embedded, edited.reused) == (1, 2) and second.embedded == 1  # the edited section; its heading is cached


def test_word_pieces_come_back_from_the_cache_as_the_model_gave_them(embedder, backend):
    texts = ["Uplift is capped at 7%.", "Faster setup and a real API.", "Uplift is capped at 7%."]
    first = CachedEmbedder(CountingEmbedder(embedder), backend())
    cold_vectors, cold = first.embed_tokens(texts)
    assert first.inner.texts == texts[:2] and first.embedded == 2  # the same text once
    assert cold[0].pack() == cold[2].pack() and cold[0].pack() != cold[1].pack()
    second = CachedEmbedder(CountingEmbedder(embedder), backend())
    warm_vectors, warm = second.embed_tokens(texts)
    assert second.inner.texts == [] and second.embedded == 0
    assert np.array_equal(warm_vectors, cold_vectors) and [t.pack() for t in warm] == [t.pack() for t in cold]


def test_a_cached_vector_without_its_pieces_is_embedded_again(embedder, backend):
    text = "Up to 20% needs a manager; above that, the deal desk."
    state = backend()
    state.store_vectors(embedder.name, {text_key(embedder.name, text): embedder.embed([text])[0]})  # cached before pieces were
    first = CachedEmbedder(CountingEmbedder(embedder), state)
    _, [tokens] = first.embed_tokens([text])
    assert first.inner.texts == [text] and first.embedded == 1
    assert first.embed([text]).shape == (1, embedder.dim) and first.inner.texts == [text]  # embed alone still reads the vector
    second = CachedEmbedder(CountingEmbedder(embedder), backend())
    assert second.embed_tokens([text])[1][0].pack() == tokens.pack() and second.inner.texts == []


def test_a_shared_cache_from_before_pieces_fills_them_in_on_the_next_build(tmp_path, embedder, backend):
    state, source = backend(), tmp_path / "kb"
    for name, text in DOCS.items():
        write(source, name, text)
    build(source, tmp_path / "machine-1", CachedEmbedder(embedder, state))
    state.execute("DELETE FROM pieces")  # as the previous version left the shared database: vectors alone
    second = CachedEmbedder(CountingEmbedder(embedder), backend())
    upgraded = build(source, tmp_path / "machine-2", second)
    assert (upgraded.embedded, upgraded.reused) == (3, 0) and len(second.inner.texts) == 3  # the chunks; headings and titles were cached
    third = CachedEmbedder(CountingEmbedder(embedder), backend())
    assert build(source, tmp_path / "machine-3", third).embedded == 0 and third.inner.texts == []
    assert pieces(tmp_path / "machine-2") == pieces(tmp_path / "machine-3")


def test_a_questions_pieces_are_not_cached(embedder, backend):
    state, asked = backend(), "who approves a 25% discount"
    cached = CachedEmbedder(CountingEmbedder(embedder), state)
    [vector], [tokens] = cached.embed_tokens([f"{asked} (deal desk)"], own=[asked])
    assert cached.inner.texts == [f"{asked} (deal desk)"] and len(tokens.pieces) < len(embedder.embed_tokens([f"{asked} (deal desk)"])[1][0].pieces)
    key = text_key(embedder.name, f"{asked} (deal desk)")
    assert state.cached_vectors(embedder.name, [key]) == {} and state.cached_pieces(embedder.name, [key]) == {}
