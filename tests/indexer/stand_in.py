"""A deterministic stand-in for the embedding model, where the model's answers do not matter.

It hashes every text it is given (so it touches all of it) and can first run the real model's tokenizer
the way sentence-transformers does: that tokenizer, not the network, is what a huge input blows up.
"""
from __future__ import annotations

import hashlib

import numpy as np

from knowledge.embedder import BUNDLED_MODEL, model_path
from knowledge.late import DIM, Tokens

PIECE_TABLE = np.random.default_rng(7).integers(-127, 128, (4096, DIM), dtype=np.int16).astype(np.int8)  # codes by piece id


class HashEmbedder:
    """Unit vectors from a hash of each text; records how long each text it was given was.

    Its word pieces are the tokenizer's (truncated as the model truncates) when it tokenizes, else one a
    whitespace word with an id from a hash of the word; a piece's codes are a fixed row chosen by its id."""

    name, dim = "stand-in-hash", 16
    whole_words: frozenset[str] = frozenset()

    def __init__(self, lengths: list[int] | None = None, tokenize: bool = False):
        self.lengths = lengths if lengths is not None else []
        self.tokenizer = None
        if tokenize:
            from transformers import AutoTokenizer

            self.tokenizer = AutoTokenizer.from_pretrained(model_path(BUNDLED_MODEL))

    def embed(self, texts) -> np.ndarray:
        return self._embed(list(texts))[0]

    def embed_tokens(self, texts, own=None) -> tuple[np.ndarray, list[Tokens]]:
        """As the model's: with `own` (a prefix of each text), only that prefix's pieces (and [CLS] when tokenizing)."""
        texts = list(texts)
        vectors, encoded = self._embed(texts)
        if encoded is not None:
            ids = [row[mask.astype(bool)] for row, mask in zip(encoded["input_ids"], encoded["attention_mask"])]
            keep = [1 + len(i) for i in self.tokenizer(list(own), add_special_tokens=False)["input_ids"]] if own is not None else None
        else:
            ids = [[int.from_bytes(hashlib.sha256(w.encode()).digest()[:4], "little") >> 1 for w in t.split()] or [0] for t in texts]
            keep = [max(len(o.split()), 1) for o in own] if own is not None else None
        tokens = [self.tokens(np.asarray(i, dtype=np.int32)) for i in ids]
        return vectors, tokens if keep is None else [t.head(n) for t, n in zip(tokens, keep)]

    @staticmethod
    def tokens(pieces: np.ndarray) -> Tokens:
        codes = PIECE_TABLE[pieces % len(PIECE_TABLE)]
        scales = 1.0 / np.linalg.norm(codes.astype(np.float32), axis=1).clip(min=1e-12)  # unit vectors, as the model's
        return Tokens(pieces, codes, scales.astype(np.float32))

    def _embed(self, texts: list[str]):
        self.lengths.extend(len(t) for t in texts)
        encoded = None
        if self.tokenizer is not None:  # as SentenceTransformer.encode does before the model runs
            encoded = self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            digest = hashlib.sha256(text.encode()).digest()[: self.dim]
            out[i] = np.frombuffer(digest, dtype=np.uint8).astype(np.float32) + 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True), encoded
