"""The public surface of each package is pinned: a change to it is a decision, not an accident."""

import qa
import vectorstore


def test_vectorstore_exports() -> None:
    assert sorted(vectorstore.__all__) == [
        "BuildReport",
        "CHUNKER_VERSION",
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


def test_importing_loads_no_model_or_database() -> None:
    import subprocess
    import sys

    code = "import sys, vectorstore, qa; print(sorted(m for m in ('torch', 'chromadb', 'sentence_transformers', 'jieba', 'opencc') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_qa_exports() -> None:
    assert sorted(qa.__all__) == [
        "Answer",
        "Citation",
        "Passage",
        "QuestionError",
        "Source",
        "ZgqaError",
        "ask",
        "close",
        "figures",
        "retrieve",
        "sources",
        "years",
    ]
