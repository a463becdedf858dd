"""A deterministic stand-in for the embedding model, where the model's answers do not matter.

It hashes every text it is given (so it touches all of it) and can first run the real model's tokenizer
the way sentence-transformers does: that tokenizer, not the network, is what a huge input blows up.
"""
from __future__ import annotations

import hashlib

import numpy as np

from knowledge.embedder import BUNDLED_MODEL, model_path


class HashEmbedder:
    """Unit vectors from a hash of each text; records how long each text it was given was."""

    name, dim = "stand-in-hash", 16

    def __init__(self, lengths: list[int] | None = None, tokenize: bool = False):
        self.lengths = lengths if lengths is not None else []
        self.tokenizer = None
        if tokenize:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(model_path(BUNDLED_MODEL))

    def embed(self, texts) -> np.ndarray:
        texts = list(texts)
        self.lengths.extend(len(t) for t in texts)
        if self.tokenizer is not None:  # as SentenceTransformer.encode does before the model runs
            self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            digest = hashlib.sha256(text.encode()).digest()[: self.dim]
            out[i] = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) + 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)
