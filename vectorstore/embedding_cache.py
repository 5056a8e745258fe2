"""The embedding cache: LangChain's CacheBackedEmbeddings over one file per text, keyed by the text and
namespaced by the model, so a text is embedded once per model, ever (a duplicate passage, a chunk
whose only change is its line numbers, a rebuild from scratch all reuse stored vectors).

Every entry read is checked: one that is not a vector of the model's dimension (cut short, garbled,
unreadable) reads as missing, so its text is embedded again and written anew.

Leaves out: the model itself (`embeddings.py`) and where the cache folder is (`store.py`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.stores import BaseStore

from vectorstore.embeddings import ModelEmbeddings
from vectorstore.records import Identity


def cached_embeddings(
    embeddings: ModelEmbeddings,
    folder: Path,
    identity: Identity,
    dropped: list[str] | None = None,
    *,
    batch_size: int,
) -> Any:
    """The model behind LangChain's embedding cache (one file per text in `folder`, `batch_size`
    texts embedded at a time); an entry that is not a vector of the model's dimension (a damaged
    file) is deleted, its name added to `dropped`, and its text embedded again."""
    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_classic.storage import LocalFileStore

    # The namespace ties cached vectors to the model that made them; another model never reuses them.
    namespace = hashlib.sha256(identity.model.encode()).hexdigest()[:16]
    cached = CacheBackedEmbeddings.from_bytes_store(
        embeddings, LocalFileStore(folder), namespace=namespace, key_encoder="sha256", batch_size=batch_size
    )
    cached.document_embedding_store = _CheckedVectors(
        cached.document_embedding_store, identity.dim, [] if dropped is None else dropped
    )
    return cached


def _vector(data: bytes, dim: int) -> list[float] | None:
    """The cached vector in `data`, or None unless it is `dim` finite numbers (LangChain writes JSON)."""
    try:
        vector = json.loads(data)
    except ValueError:  # not JSON, or not UTF-8
        return None
    if not isinstance(vector, list) or len(vector) != dim:
        return None
    if not all(isinstance(x, float) and math.isfinite(x) for x in vector):
        return None
    return vector


class _CheckedVectors(BaseStore[str, list[float]]):
    """LangChain's cache store of vectors (`EncoderBackedStore` over files), every entry read checked:
    a damaged one (cut short, garbled, unreadable) reads as missing, so CacheBackedEmbeddings embeds
    its text again and writes it anew; its file name goes into `dropped`, for the build to say."""

    def __init__(self, encoded: Any, dim: int, dropped: list[str]) -> None:
        self.encoded = encoded
        self.dim = dim
        self.dropped = dropped

    def mget(self, keys: Sequence[str]) -> list[list[float] | None]:
        vectors: list[list[float] | None] = []
        for name in map(self.encoded.key_encoder, keys):
            try:
                data = self.encoded.store.mget([name])[0]
            except OSError:  # an entry that cannot be read is as damaged as one that reads as garbage
                data = b""
            vector = None if data is None else _vector(data, self.dim)
            if data is not None and vector is None:
                self.dropped.append(name)
                with contextlib.suppress(OSError):
                    self.encoded.store.mdelete([name])
            vectors.append(vector)
        return vectors

    def mset(self, key_value_pairs: Sequence[tuple[str, list[float]]]) -> None:
        self.encoded.mset(key_value_pairs)

    def mdelete(self, keys: Sequence[str]) -> None:
        self.encoded.mdelete(keys)

    def yield_keys(self, *, prefix: str | None = None) -> Iterator[str]:
        yield from self.encoded.yield_keys(prefix=prefix)
