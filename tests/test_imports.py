"""The public surface of each package is pinned: a change to it is a decision, not an accident."""

import qa
import vectorstore


def test_vectorstore_exports() -> None:
    assert sorted(vectorstore.__all__) == [
        "CHUNKER_VERSION",
        "Chunk",
        "Corpus",
        "ManifestError",
        "Report",
        "SeedsError",
        "ZgqaError",
        "load",
    ]


def test_qa_exports_nothing_yet() -> None:
    assert qa.__all__ == []
