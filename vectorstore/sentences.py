"""Every sentence of the indexed chunks, and every clause of those sentences, embedded once at build
time, so that the answer step can rank sentences and clauses by meaning as the index ranks passages.

Why sentences: a chunk of 300 characters holds ten facts, and its one vector is a blur of them;
measured on the development questions, the model alone puts the sentence holding the answer in its
top 5 far more often than the chunk holding it. The vectors are computed through the same
`CacheBackedEmbeddings` as the chunks (a sentence is embedded once per model, ever) and saved beside
the lexical index as one NumPy file, stamped with the fingerprint of the records they came from.

Why clauses too: a sentence of a review lists a dozen indicators ("…地方一般公共预算收入增长4.8%，城镇
居民人均可支配收入增长5.4%…"); its one vector says nothing of which clause a question is about.

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
# A clause of a sentence ends at a comma.
CLAUSE = re.compile(r"[^，,]+[，,]?")
FILE = "sentences.npz"


def split(text: str) -> list[str]:
    """The sentences of `text`, stripped, in order; empty ones dropped."""
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def clauses(sentence: str) -> list[str]:
    """The clauses of a sentence of more than one, stripped, in order (a one-clause sentence is its
    own sentence vector)."""
    found = [c.strip() for c in CLAUSE.findall(sentence) if c.strip()]
    return found if len(found) > 1 else []


@dataclass(frozen=True)
class SentenceVectors:
    """Unique sentences and their unit vectors (one row each), the same for the clauses of those
    sentences, plus what they were built from."""

    texts: tuple[str, ...]
    vectors: np.ndarray  # float32, (len(texts), dim), L2-normalized
    fingerprint: str
    row: dict[str, int]  # sentence -> its row
    # The clauses of the sentences; None for vectors saved before clauses were embedded.
    clauses: tuple[str, ...] | None = None
    clause_vectors: np.ndarray | None = None

    @classmethod
    def build(
        cls, records: Sequence[str], embed: Callable[[list[str]], list[list[float]]], fingerprint: str
    ) -> SentenceVectors:
        texts = tuple(dict.fromkeys(s for text in records for s in split(text)))
        parts = tuple(dict.fromkeys(c for s in texts for c in clauses(s)))
        vectors, clause_vectors = (_embedded(embed, list(some)) for some in (texts, parts))
        return cls(texts, vectors, fingerprint, {t: i for i, t in enumerate(texts)}, parts, clause_vectors)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{FILE}.partial"
        with partial.open("wb") as out:
            np.savez(out, texts=np.array(self.texts, dtype=object).astype(str), vectors=self.vectors,
                     fingerprint=np.array(self.fingerprint),
                     clauses=np.array(self.clauses or (), dtype=object).astype(str),
                     clause_vectors=self.clause_vectors if self.clause_vectors is not None else np.zeros((0, 1)))
        partial.replace(folder / FILE)

    @classmethod
    def load(cls, folder: Path) -> SentenceVectors | None:
        """The saved vectors, or None when there are none (an index built before they existed)."""
        path = folder / FILE
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            texts = tuple(str(t) for t in data["texts"])
            parts = tuple(str(t) for t in data["clauses"]) if "clauses" in data else None
            clause_vectors = data["clause_vectors"].astype(np.float32) if parts is not None else None
            return cls(texts, data["vectors"].astype(np.float32), str(data["fingerprint"]),
                       {t: i for i, t in enumerate(texts)}, parts, clause_vectors)

    def similarities(self, query: Sequence[float]) -> np.ndarray:
        """Cosine similarity of every sentence to a unit query vector."""
        if not self.texts:
            return np.zeros(0, np.float32)
        return self.vectors @ np.asarray(query, dtype=np.float32)

    def clause_similarities(self, query: Sequence[float]) -> dict[str, float]:
        """Each clause -> its cosine similarity to a unit query vector."""
        if not self.clauses or self.clause_vectors is None:
            return {}
        sims = self.clause_vectors @ np.asarray(query, dtype=np.float32)
        return dict(zip(self.clauses, sims.tolist(), strict=True))


def _embedded(embed: Callable[[list[str]], list[list[float]]], texts: list[str]) -> np.ndarray:
    return np.asarray(embed(texts), dtype=np.float32) if texts else np.zeros((0, 1), np.float32)
