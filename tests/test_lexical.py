"""jieba's dictionary as `vectorstore.lexical` loads it: the same words and counts as jieba's own load."""

from __future__ import annotations

import marshal
from pathlib import Path

import jieba

from vectorstore import lexical


def _jiebas_own() -> tuple[dict[str, int], int]:
    """The dictionary exactly as `jieba.initialize` builds it, from jieba's own file (no cache)."""
    with jieba.dt.get_dict_file() as f:
        frequencies, total = jieba.dt.gen_pfdict(f)
    return frequencies, total


def test_the_dictionary_loaded_is_jiebas_own() -> None:
    module = lexical._jieba()
    frequencies, total = _jiebas_own()
    assert module.dt.total == total
    assert frequencies == module.dt.FREQ
    assert lexical.tokenize("2024年自贡地区生产总值增长多少？") == [
        "2024", "年", "自贡", "地区", "生产", "总值", "生产总值", "增长",
    ]


def test_the_saved_dictionary_reads_back_whole_and_in_order(tmp_path: Path) -> None:
    frequencies, total = _jiebas_own()
    path = tmp_path / "frequencies.npz"
    lexical._save_frequencies(path, frequencies, total)
    loaded = lexical._load_frequencies(path)
    assert loaded is not None
    assert loaded[1] == total
    assert list(loaded[0].items()) == list(frequencies.items())
    # Smaller than jieba's marshal cache of the same dict, and nothing in it can run.
    assert path.stat().st_size < len(marshal.dumps((frequencies, total)))


def test_a_damaged_or_missing_file_is_no_dictionary(tmp_path: Path) -> None:
    path = tmp_path / "frequencies.npz"
    assert lexical._load_frequencies(path) is None
    lexical._save_frequencies(path, {"自贡": 3, "自": 5}, 8)
    path.write_bytes(path.read_bytes()[:100])
    assert lexical._load_frequencies(path) is None


def test_the_file_is_named_by_jiebas_version_and_dictionary() -> None:
    path = lexical._frequencies_path(jieba)
    assert path.name.startswith("zgqa-jieba-") and path.suffix == ".npz"
    assert path == lexical._frequencies_path(jieba)
