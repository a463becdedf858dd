"""Late interaction: every word piece of the question against every word piece of a section (MaxSim).

The model reads each text into contextual word-piece vectors and averages them into the one vector the
dense leg compares. Averaging loses which words matched: "cust" in a question finds "customer" in a
section only as a small shift of two averages. Matching piece by piece (as ColBERT does, here with the
same model's vectors, untrained for it) keeps it: for each question piece, its best cosine to any piece of
the section, weighted by how rare the piece is in the knowledge base. As a ranker feature it is the one
signal that moved every set beyond noise (bench/RESULTS.md, sixth pass).

The build keeps each chunk's pieces at DIM dimensions (the principal directions of the model's own
word-piece table, so any machine derives the same basis from the same model) in int8: about DIM + 4
bytes a piece. They come out of the same model call as the chunk's vector, so they cost no encode.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DIM = 128  # 128 scored like all 384 dimensions; 64 lost a quarter of the gain (bench/RESULTS.md, sixth pass)


@dataclass(frozen=True)
class Tokens:
    """One text's word pieces: their ids and their unit vectors projected to DIM, stored as int8 codes."""

    pieces: np.ndarray  # int32 (n,)
    codes: np.ndarray  # int8 (n, DIM)
    scales: np.ndarray  # float32 (n,): codes * scales are the projected unit vectors

    def rows(self, start: int, stop: int) -> "Tokens":
        return Tokens(self.pieces[start:stop], self.codes[start:stop], self.scales[start:stop])

    def head(self, n: int) -> "Tokens":
        return self.rows(0, n)

    def vectors(self) -> np.ndarray:
        return self.codes.astype(np.float32) * self.scales[:, None]

    def pack(self) -> bytes:
        """Bytes for a cache row: the count, then pieces, scales and codes."""
        n = len(self.pieces)
        return struct.pack("<I", n) + self.pieces.astype("<i4").tobytes() + self.scales.astype("<f4").tobytes() + self.codes.tobytes()

    @classmethod
    def unpack(cls, blob: bytes) -> "Tokens":
        (n,) = struct.unpack_from("<I", blob)
        pieces = np.frombuffer(blob, dtype="<i4", count=n, offset=4)
        scales = np.frombuffer(blob, dtype="<f4", count=n, offset=4 + 4 * n)
        codes = np.frombuffer(blob, dtype=np.int8, offset=4 + 8 * n).reshape(n, -1) if n else np.zeros((0, DIM), np.int8)
        return cls(pieces.astype(np.int32), codes, scales.astype(np.float32))


def basis(word_pieces: np.ndarray, dim: int = DIM) -> np.ndarray:
    """The `dim` principal directions of a model's word-piece embedding table, as a (width, dim) matrix.

    Derived from the model alone, so every build and every machine projects the same way and cached
    pieces stay comparable. On the bench it scored within noise of a basis fitted on each corpus."""
    table = np.asarray(word_pieces, dtype=np.float64)
    centred = table - table.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)  # width x width: far cheaper than an SVD of the table
    top = vectors[:, np.argsort(values)[::-1][: min(dim, table.shape[1])]]
    top *= np.where(top[np.abs(top).argmax(axis=0), range(top.shape[1])] < 0, -1.0, 1.0)  # a fixed sign per direction
    return top.astype(np.float32)


def compress(pieces: np.ndarray, vectors: np.ndarray, projection: np.ndarray) -> Tokens:
    """Unit piece vectors of the model -> Tokens (projected, re-normalised, int8 with a scale a piece)."""
    projected = np.asarray(vectors, dtype=np.float32) @ projection
    projected /= np.linalg.norm(projected, axis=1, keepdims=True).clip(min=1e-12)
    scales = np.abs(projected).max(axis=1).clip(min=1e-12) / 127.0
    codes = np.round(projected / scales[:, None]).astype(np.int8)
    return Tokens(np.asarray(pieces, dtype=np.int32), codes, scales.astype(np.float32))


def piece_weights(pieces: np.ndarray, df: dict[int, int], chunks: int) -> np.ndarray:
    """IDF of each question piece over the build's chunks, summing to 1. A piece no chunk has counts as
    rare; one in every chunk (the model's [CLS] and [SEP] markers) counts for nothing."""
    idf = np.array([0.0 if df.get(int(p)) == chunks else math.log(1 + chunks / df.get(int(p), 0.5)) for p in pieces],
                   dtype=np.float32)
    return idf / idf.sum() if idf.sum() else idf


def maxsim(question: np.ndarray, weights: np.ndarray, codes: np.ndarray, scales: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per text: the weighted mean, over question pieces, of each one's best cosine to the text's pieces.

    The texts' piece vectors are codes * scales (Tokens), one text after another, text i from starts[i];
    every text has at least one piece."""
    if not len(starts):
        return np.zeros(0, dtype=np.float32)
    similarity = question @ codes.astype(np.float32).T  # (question pieces, all pieces)
    similarity *= scales  # scaled here, not the ~8k x DIM codes: a third less time
    best = np.maximum.reduceat(similarity, starts, axis=1)  # (question pieces, texts)
    return weights @ best


# -- on disk, in a build: every chunk's pieces one after another, memory-mapped when read ------------

FILES = ("pieces.codes.npy", "pieces.scales.npy", "pieces.ids.npy", "pieces.offsets.npy", "pieces.df.npy")


def write(build_dir: Path, tokens: list[Tokens]) -> None:
    """Chunk i's pieces at rows offsets[i]:offsets[i+1]; and how many chunks hold each piece id."""
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(t.pieces) for t in tokens])
    empty = Tokens(np.zeros(0, np.int32), np.zeros((0, DIM), np.int8), np.zeros(0, np.float32))
    ids = np.concatenate([t.pieces for t in tokens] or [empty.pieces])
    owner = np.repeat(np.arange(len(tokens), dtype=np.int64), np.diff(offsets))
    distinct = np.unique(owner << 32 | ids.astype(np.int64))  # (chunk, piece) once each
    pieces, df = np.unique(distinct & 0xFFFFFFFF, return_counts=True)
    arrays = (np.concatenate([t.codes for t in tokens] or [empty.codes]), np.concatenate([t.scales for t in tokens] or [empty.scales]),
              ids, offsets, np.stack([pieces, df]).astype(np.int64))
    for name, array in zip(FILES, arrays):
        np.save(Path(build_dir) / name, array)


class Pieces:
    """A build's chunk pieces, memory-mapped: a question reads only its pool's rows."""

    def __init__(self, build_dir: Path):
        self.codes, self.scales, self.ids, self.offsets = (np.load(Path(build_dir) / f, mmap_mode="r") for f in FILES[:4])
        pieces, df = np.load(Path(build_dir) / FILES[4])
        self.df = dict(zip(pieces.tolist(), df.tolist()))
        self.chunks = len(self.offsets) - 1

    def of(self, chunk: int) -> Tokens:
        rows = slice(int(self.offsets[chunk]), int(self.offsets[chunk + 1]))
        return Tokens(np.array(self.ids[rows]), np.array(self.codes[rows]), np.array(self.scales[rows]))

    def scores(self, question: Tokens, spans: list[range]) -> np.ndarray:
        """Per span of chunks (a section): the best MaxSim of the question to one of its chunks."""
        weights = piece_weights(question.pieces, self.df, self.chunks)
        chunks = np.array(sorted({c for span in spans for c in span}), dtype=np.int64)
        if not len(chunks) or not weights.any():
            return np.zeros(len(spans), dtype=np.float32)
        first, lengths = self.offsets[chunks], self.offsets[chunks + 1] - self.offsets[chunks]
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        take = np.repeat(first - starts, lengths) + np.arange(lengths.sum())  # every row of those chunks
        per_chunk = dict(zip(chunks.tolist(), maxsim(question.vectors(), weights, self.codes[take], self.scales[take], starts)))
        return np.array([max(per_chunk[c] for c in span) for span in spans], dtype=np.float32)
