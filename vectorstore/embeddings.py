"""The embedding model behind LangChain's `Embeddings` interface, loaded on first use.

Passages are embedded with the model's `passage` prompt and questions with its `query` prompt (the
e5 family is trained that way; a model without those prompts gets the bare text). Vectors are
L2-normalized, so cosine distance in Chroma is the model's own similarity. Identical texts in one
call are embedded once, and `embedded` counts what was actually computed, so a build can prove
that nothing was embedded twice.

Leaves out: caching across calls (LangChain's CacheBackedEmbeddings does that, see `embedding_cache.py`) and
obtaining the model (see `encoders.py`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

# Measured on 2 cores over the seeds' passages: batches of 8 embed in 20 s, of 32 in 25 s (less padding).
DEFAULT_BATCH = 8


class ModelEmbeddings(Embeddings):
    """A sentence-transformers model named by the `ZGQA_MODEL` setting, as LangChain embeddings."""

    def __init__(self, model: str, cache: Path, *, batch_size: int = DEFAULT_BATCH, progress: bool = False) -> None:
        """`progress` shows the model's materialization and loading, the slow first steps."""
        self.model_name = model
        self.cache = cache
        self.batch_size = batch_size
        self.progress = progress
        self.embedded = 0  # texts actually run through the model by this object
        self._model: Any = None
        self._bar: Any = None

    def open_bar(self, total: int) -> None:
        """Count the texts the model embeds from now on, of `total`, on one progress bar."""
        from tqdm import tqdm

        self.close_bar()
        self._bar = tqdm(total=total, desc="embedding", unit="text", file=sys.stderr)

    def close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def model(self) -> Any:
        if self._model is None:
            from vectorstore import encoders

            self._model = encoders.load(self.model_name, self.cache, progress=self.progress)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        unique = list(dict.fromkeys(texts))
        vectors = dict(zip(unique, self._encode(unique, "passage"), strict=True))
        return [vectors[text] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], "query")[0]

    def _encode(self, texts: Sequence[str], prompt_name: str) -> list[list[float]]:
        if not texts:
            return []
        model = self.model
        prompt = prompt_name if prompt_name in (model.prompts or {}) else None
        vectors = model.encode(
            list(texts),
            prompt_name=prompt,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,  # the build shows one bar over all chunks instead
        )
        self.embedded += len(texts)
        if self._bar is not None:
            self._bar.update(len(texts))
        rows: list[list[float]] = vectors.tolist()
        return rows
