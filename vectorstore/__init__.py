"""Raw reports -> cleaned reports with metadata -> section-aware chunks with exact line provenance
-> an index (Chroma plus BM25) that a build keeps up to date with the reports.

Importing this package loads no model and opens no database; `build` and `open_store` do, once.

Leaves out: question answering (the `qa` package builds on this one, never the reverse).
"""

from vectorstore.building import BuildReport
from vectorstore.chunking import CHUNKER_VERSION, Chunk
from vectorstore.errors import ManifestError, ModelError, SeedsError, StoreError, ZgqaError
from vectorstore.ingest import Corpus, Report, load
from vectorstore.store import Store, build, open_store

__all__ = [
    "CHUNKER_VERSION",
    "BuildReport",
    "Chunk",
    "Corpus",
    "ManifestError",
    "ModelError",
    "Report",
    "SeedsError",
    "Store",
    "StoreError",
    "ZgqaError",
    "build",
    "load",
    "open_store",
]
