"""Raw reports -> cleaned reports with metadata -> section-aware chunks with exact line provenance.

Leaves out: question answering (the `qa` package builds on this one, never the reverse).
"""

from vectorstore.chunking import CHUNKER_VERSION, Chunk
from vectorstore.errors import ManifestError, SeedsError, ZgqaError
from vectorstore.ingest import Corpus, Report, load

__all__ = ["CHUNKER_VERSION", "Chunk", "Corpus", "ManifestError", "Report", "SeedsError", "ZgqaError", "load"]
