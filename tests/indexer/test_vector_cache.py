"""A second machine's fresh `kb index` against a shared state DB embeds nothing any machine embedded before."""
from __future__ import annotations

import faiss
import numpy as np

from indexer.build import build
from knowledge.index import current_build
from knowledge.vector_cache import CachedEmbedder
from tests.conftest import CountingEmbedder, write

DOCS = {
    "pricing.md": "---\ntitle: Pricing\n---\n# Pricing\n\n## Discounts\n\nUp to 20% needs a manager; above that, the deal desk.\n\n## Renewals\n\nUplift is capped at 7%.\n",
    "acme.md": "---\ntitle: Acme battlecard\ntype: battlecard\ncompetitor: Acme\n---\n# Acme\n\n## Why we win\n\nFaster setup and a real API.\n",
}


def vectors(root):
    index = faiss.read_index(str(current_build(root) / "vectors.faiss"))
    return index.reconstruct_n(0, index.ntotal)


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
    write(source, "acme.md", DOCS["acme.md"].replace("a real API", "a real, documented API"))
    edited = build(source, tmp_path / "machine-2", second)
    assert (edited.embedded, edited.reused) == (1, 2) and second.embedded == 1  # the edited section; its heading is cached
