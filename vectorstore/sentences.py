"""Every sentence of the indexed chunks, embedded once at build time, so that the answer step can
rank sentences by meaning as the index ranks passages.

Why sentences: a chunk of 300 characters holds ten facts, and its one vector is a blur of them;
measured on the development questions, the model alone puts the sentence holding the answer in its
top 5 far more often than the chunk holding it. The vectors are computed through the same
`CacheBackedEmbeddings` as the chunks (a sentence is embedded once per model, ever) and saved beside
the lexical index as one NumPy file, stamped with the fingerprint of the records they came from.

Leaves out: how the similarities are used (`qa.retrieval`, `qa.answer`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# A sentence ends at 。！？； or a line break, closing quotes and brackets kept with it.
SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]*[”’」』）)]*")
FILE = "sentences.npz"


def split(text: str) -> list[str]:
    """The sentences of `text`, stripped, in order; empty ones dropped."""
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


@dataclass(frozen=True)
class SentenceVectors:
    """Unique sentences and their unit vectors (one row each), plus what they were built from."""

    texts: tuple[str, ...]
    vectors: np.ndarray  # float32, (len(texts), dim), L2-normalized
    fingerprint: str
    row: dict[str, int]  # sentence -> its row

    @classmethod
    def build(
        cls, records: Sequence[str], embed: Callable[[list[str]], list[list[float]]], fingerprint: str
    ) -> SentenceVectors:
        texts = tuple(dict.fromkeys(s for text in records for s in split(text)))
        vectors = np.asarray(embed(list(texts)), dtype=np.float32) if texts else np.zeros((0, 1), np.float32)
        return cls(texts, vectors, fingerprint, {t: i for i, t in enumerate(texts)})

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{FILE}.partial"
        with partial.open("wb") as out:
            np.savez(out, texts=np.array(self.texts, dtype=object).astype(str), vectors=self.vectors,
                     fingerprint=np.array(self.fingerprint))
        partial.replace(folder / FILE)

    @classmethod
    def load(cls, folder: Path) -> SentenceVectors | None:
        """The saved vectors, or None when there are none (an index built before they existed)."""
        path = folder / FILE
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            texts = tuple(str(t) for t in data["texts"])
            return cls(texts, data["vectors"].astype(np.float32), str(data["fingerprint"]),
                       {t: i for i, t in enumerate(texts)})

    def similarities(self, query: Sequence[float]) -> np.ndarray:
        """Cosine similarity of every sentence to a unit query vector."""
        if not self.texts:
            return np.zeros(0, np.float32)
        return self.vectors @ np.asarray(query, dtype=np.float32)
