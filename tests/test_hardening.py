"""Issue 19: what an independent hostile trial found, each at its root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import qa
from tests.conftest import fake_store
from vectorstore import load
from vectorstore.config import Settings
from vectorstore.generations import READERS, current_root
from vectorstore.store import build


def _edit(seeds: Path, prefix: str, old: str, new: str) -> None:
    path = next(seeds.glob(f"{prefix}_*.txt"))
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def own_index(real_index: Settings, tmp_path: Path) -> Settings:
    """A writable copy of the real index and of the reports (the copy keeps its embedding cache, so a
    build after an edit embeds only what changed)."""
    shutil.copytree(real_index.index, tmp_path / "index", symlinks=True)
    shutil.copytree(real_index.seeds, tmp_path / "seeds")
    return Settings(seeds=tmp_path / "seeds", index=tmp_path / "index", cache=real_index.cache)


@pytest.mark.model
def test_a_running_process_answers_from_the_rebuilt_index_at_its_next_question(own_index: Settings) -> None:
    question = "2024年自贡地区生产总值增长多少？"
    before = qa.ask(question, settings=own_index)
    assert "7.1%" in before.text and before.generation == current_root(own_index).name
    _edit(own_index.seeds, "000", "地区生产总值增长7.1%", "地区生产总值增长7.3%")
    build(own_index, progress=False)
    after = qa.ask(question, settings=own_index)  # the same process, no restart, no qa.close()
    assert "7.3%" in after.text and "7.1%" not in after.text
    assert after.generation == current_root(own_index).name != before.generation
    raw = next(own_index.seeds.glob("000_*.txt")).read_text(encoding="utf-8").splitlines()
    cited = after.citations[0]
    assert any("7.3%" in line for line in raw[cited.line_start - 1 : cited.line_end])
    qa.close()


def test_a_build_keeps_every_generation_a_live_process_reads(index_settings: Settings) -> None:
    first = fake_store(index_settings)
    first.build(load(index_settings.seeds))
    opened = first.root  # this store now reads the first generation
    assert (opened / READERS / str(os.getpid())).exists()
    for n in range(3):  # three more generations published by builds in other stores
        _edit(index_settings.seeds, "003", f"中试平台{n + 2}个", f"中试平台{n + 3}个")
        with fake_store(index_settings) as other:
            other.build(load(index_settings.seeds))
    assert opened.is_dir() and first.collection() is not None  # still there, still readable
    first.close()
    assert not (opened / READERS / str(os.getpid())).exists()
    _edit(index_settings.seeds, "003", "中试平台5个", "中试平台6个")
    with fake_store(index_settings) as other:
        other.build(load(index_settings.seeds))
    assert not opened.exists()  # nobody reads it any more: swept


def test_a_generation_read_by_a_process_that_died_is_swept(index_settings: Settings) -> None:
    with fake_store(index_settings) as store:
        store.build(load(index_settings.seeds))
    generation = current_root(index_settings)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (generation / READERS).mkdir(exist_ok=True)
    (generation / READERS / dead.stdout.strip()).touch()
    for n in range(2):
        _edit(index_settings.seeds, "003", f"中试平台{n + 2}个", f"中试平台{n + 3}个")
        with fake_store(index_settings) as store:
            store.build(load(index_settings.seeds))
    assert not generation.exists()


@pytest.mark.model
def test_bad_filter_values_are_refused_before_anything_is_cached_under_them(real_index: Settings) -> None:
    from qa.api import QuestionError, _engine

    question = "2024年自贡地区生产总值增长多少？"
    qa.ask(question, settings=real_index)
    chains = dict(_engine(real_index).chains)
    for n in range(200):
        with pytest.raises(qa.ZgqaError, match="No report"):
            qa.ask(question, source=f"{n}-" + "x" * 10_000, settings=real_index)
        with pytest.raises(qa.ZgqaError, match="No report passage about"):
            qa.ask(question, year=1800 + n, settings=real_index)
    assert _engine(real_index).chains == chains  # nothing cached for a value no report has
    for bad, kw in (("year is a whole number", {"year": "2025"}), ("year is a whole number", {"year": [2025]}),
                    ("source is a report's file name", {"source": 123})):
        with pytest.raises(QuestionError, match=bad):
            qa.ask(question, settings=real_index, **kw)  # type: ignore[arg-type]
    with pytest.raises(QuestionError, match="history is the list"):
        qa.ask("那2020年呢？", history=5, settings=real_index)  # type: ignore[arg-type]
    with pytest.raises(QuestionError, match="history is the list"):
        qa.ask("那2020年呢？", history=(q for q in [question]), settings=real_index)  # type: ignore[arg-type]
    with pytest.raises(QuestionError, match="not valid text"):
        qa.ask("a\ud800", settings=real_index)


def test_a_question_of_invalid_utf8_on_the_command_line_is_one_line_of_error(real_index: Settings) -> None:
    env = {**os.environ, "ZGQA_INDEX": str(real_index.index), "ZGQA_SEEDS": str(real_index.seeds),
           "ZGQA_CACHE": str(real_index.cache)}
    done = subprocess.run([sys.executable, "-m", "qa.cli", "ask", b"a\xff".decode("utf-8", "surrogateescape")],
                          capture_output=True, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stderr.decode().startswith("zgqa: The question holds characters that are not valid text")
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"year": "2017年"}, "year must be a whole number such as 2017, not \"2017年\""),
        ({"title": None}, "title must be a non-empty text, not null"),
        ({"kind": "speech"}, "kind must be one of work_report, plan_report, news, unknown"),
        ({"date": "2017/01/10"}, "date must be a date such as 2017-01-10"),
        ({"primary": "yes"}, "primary must be true or false"),
    ],
)
def test_a_bad_manifest_value_is_refused_at_once_with_what_it_must_be(
    seeds_copy: Path, fields: dict[str, object], said: str
) -> None:
    import json

    from vectorstore.errors import ManifestError

    (seeds_copy / "manifest.json").write_text(json.dumps({"002_1cab8fd74a5b0016.txt": fields}), encoding="utf-8")
    with pytest.raises(ManifestError, match=re.escape(said)):
        load(seeds_copy)


def test_a_report_named_in_another_encoding_or_linked_from_elsewhere_is_skipped_with_why(
    seeds_copy: Path, tmp_path: Path
) -> None:
    gbk = os.fsdecode("报告".encode("gbk") + b".txt")
    (seeds_copy / gbk).write_text("2025年政府工作报告\n各位代表：\n地区生产总值增长7.1%。\n", encoding="utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:秘密\n", encoding="utf-8")
    (seeds_copy / "shadow.txt").symlink_to(secret)
    corpus = load(seeds_copy)
    why = {s.source: s.reason for s in corpus.skipped}
    assert why["shadow.txt"].startswith("a symbolic link")
    assert any("not valid UTF-8" in reason for reason in why.values())
    assert all(c.source.isprintable() for c in corpus.chunks())
    assert not any("秘密" in c.text for c in corpus.chunks())


def test_a_file_without_report_metadata_is_indexed_with_a_warning(seeds_copy: Path) -> None:
    (seeds_copy / "notes.txt").write_text("一些没有标题的文字。\n第二段，也没有年份。\n", encoding="utf-8")
    corpus = load(seeds_copy)
    assert any(w.startswith("notes.txt shows no title, year or kind") for w in corpus.warnings)


def test_a_build_from_the_wrong_folder_stops_instead_of_emptying_the_index(
    index_settings: Settings, tmp_path: Path
) -> None:
    from vectorstore import StoreError

    with fake_store(index_settings) as store:
        store.build(load(index_settings.seeds))
        before = store.collection().count()  # type: ignore[union-attr]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(next(index_settings.seeds.glob("003_*.txt")), elsewhere)
    with fake_store(index_settings) as store:
        with pytest.raises(StoreError, match=r"would remove 4 of the 5 indexed reports.*zgqa build --prune"):
            store.build(load(elsewhere))
        assert store.collection().count() == before  # type: ignore[union-attr]
        report = store.build(load(elsewhere), prune=True)
        assert report.deleted > 0 and {m["source"] for m in store.collection().get()["metadatas"]} == {  # type: ignore[union-attr]
            next(elsewhere.iterdir()).name
        }


def test_two_builds_of_one_index_take_turns(index_settings: Settings) -> None:
    import threading

    from filelock import FileLock

    lock = FileLock(index_settings.index / ".build.lock")
    index_settings.index.mkdir(parents=True, exist_ok=True)
    said: list[str] = []
    lock.acquire()  # another build holds the index
    store = fake_store(index_settings)
    store._say = said.append  # type: ignore[method-assign]
    worker = threading.Thread(target=store.build, args=(load(index_settings.seeds),))
    worker.start()
    worker.join(timeout=3)
    assert worker.is_alive() and said == ["Another build of this index is running; waiting for it to finish ..."]
    lock.release()
    worker.join(timeout=120)
    assert not worker.is_alive() and store.collection() is not None
    store.close()


@pytest.mark.parametrize("name", ["a?b", "x%20y", "with #hash"])
def test_an_index_folder_with_url_characters_keeps_its_records_inside_it(tmp_path: Path, name: str) -> None:
    settings = Settings(seeds=Path(__file__).resolve().parent.parent / "seeds", index=tmp_path / name,
                        cache=tmp_path / "cache")
    with fake_store(settings) as store:
        store.build(load(settings.seeds))
        assert (store.folder / "records.sqlite").is_file()
    assert not any(p.name.startswith(("a", "x", "with")) and p.name != name for p in tmp_path.iterdir())


def test_a_word_file_that_unpacks_to_gigabytes_is_skipped_before_it_is_unpacked(seeds_copy: Path) -> None:
    import io
    import time
    import zipfile

    from vectorstore.formats import MAX_UNPACKED

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("word/document.xml", b"\0" * (MAX_UNPACKED + 1_000_000))
    (seeds_copy / "bomb.docx").write_bytes(packed.getvalue())
    assert len(packed.getvalue()) < 1_000_000
    started = time.perf_counter()
    corpus = load(seeds_copy)
    why = {s.source: s.reason for s in corpus.skipped}
    assert "zip bomb" in why["bomb.docx"] and time.perf_counter() - started < 60


@pytest.mark.model
def test_the_app_refuses_huge_headers_with_431_and_drops_clients_silent_mid_request(
    real_index: Settings, tmp_path: Path
) -> None:
    from benchmarks.servers import header_status, idle_drop, serve_app

    log = tmp_path / "app.log"
    with serve_app(real_index, log, {"ZGQA_IDLE_SECONDS": "2"}) as url:
        assert [header_status(url, 70_000, pieces=p) for p in (False, True)] == [431, 431]
        assert header_status(url, 40_000, pieces=False) == 200  # a large header within the limit is served
        for in_body in (False, True):
            dropped = idle_drop(url, in_body=in_body, wait=30)
            assert dropped is not None and 1.5 <= dropped <= 10, (in_body, dropped)
    said = log.read_text(errors="replace")
    assert said.count("refused request headers over 65536 bytes") == 2  # one line each, no traceback
    assert said.count("dropped a client idle for 2 s") == 2 and "Traceback" not in said


# --- item 11: a reader writes nothing --------------------------------------------------------------

GDP_QUESTION = "2024年自贡地区生产总值增长多少？"


def test_asking_a_missing_index_is_one_line_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.cli import main
    from vectorstore import StoreError

    typo = tmp_path / "typo" / ".chroma"
    monkeypatch.setenv("ZGQA_INDEX", str(typo))
    monkeypatch.setenv("ZGQA_CACHE", str(tmp_path / "cache"))
    assert main(["ask", GDP_QUESTION]) == 1
    assert capsys.readouterr().err == f"zgqa: No index in {typo}: run `zgqa build`.\n"
    with pytest.raises(StoreError, match="No index in"):
        qa.retrieve(GDP_QUESTION, settings=Settings(index=typo, cache=tmp_path / "cache"))
    assert list(tmp_path.iterdir()) == []


def test_a_current_link_out_of_the_index_folder_is_refused_and_never_written_through(
    index_settings: Settings, tmp_path: Path
) -> None:
    from dataclasses import replace

    from vectorstore import StoreError

    outside = tmp_path / "etc"  # stands for /etc
    outside.mkdir()
    index_settings.index.mkdir()
    (index_settings.index / "current").symlink_to(outside)
    said = rf"The index in {re.escape(str(index_settings.index))} is damaged \(its `current` link points outside"
    with pytest.raises(StoreError, match=said + r".*run `zgqa build --rebuild`"):
        qa.ask(GDP_QUESTION, settings=replace(index_settings, cache=tmp_path / "cache"))
    with pytest.raises(StoreError, match=said):
        fake_store(index_settings).build(load(index_settings.seeds))
    heard: list[str] = []
    with fake_store(index_settings) as store:
        store._say = heard.append  # type: ignore[method-assign]
        report = store.build(load(index_settings.seeds), rebuild=True)
        store.check()
    assert report.discarded == [f"the `current` link (points outside the index folder, to {outside})"]
    assert heard[0] == f"Discarding the `current` link (points outside the index folder, to {outside})."
    assert list(outside.iterdir()) == []
    assert current_root(index_settings).parent == index_settings.index / "generations"


@pytest.mark.model
def test_a_read_only_index_answers_and_is_left_exactly_as_it_was(real_index: Settings, tmp_path: Path) -> None:
    import tempfile

    from benchmarks.hardening import files, unprivileged

    prefix = unprivileged()
    if prefix is None:
        pytest.skip("root without setpriv: file permissions cannot be made to bind")
    index = tmp_path / "index"
    shutil.copytree(real_index.index, index, symlinks=True, ignore=shutil.ignore_patterns("embedding-cache", READERS))
    subprocess.run(["chmod", "-R", "a-w", str(index)], check=True)
    before, copies = files(index), set(Path(tempfile.gettempdir()).glob("zgqa-read-only-*"))
    env = {**os.environ, "ZGQA_INDEX": str(index), "ZGQA_SEEDS": str(real_index.seeds),
           "ZGQA_CACHE": str(real_index.cache)}
    try:
        done = subprocess.run([*prefix, sys.executable, "-m", "qa.cli", "ask", GDP_QUESTION],
                              capture_output=True, text=True, env=env, timeout=300)
    finally:
        after = files(index)
        subprocess.run(["chmod", "-R", "u+w", str(index)], check=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("据2025年政府工作报告，全市地区生产总值增长7.1%。[1]")
    assert after == before
    assert set(Path(tempfile.gettempdir()).glob("zgqa-read-only-*")) <= copies  # Chroma's private copy is gone


# --- item 8: recovery commands recover -------------------------------------------------------------


@pytest.mark.parametrize("damaged", ["chroma/chroma.sqlite3", "embedded/zigong_reports/records.sqlite"])
def test_a_damaged_page_is_one_line_for_ask_and_build_and_build_rebuild_recovers(
    index_settings: Settings, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], damaged: str
) -> None:
    from benchmarks.hardening import damage_page
    from qa.cli import main

    corpus = load(index_settings.seeds)
    with fake_store(index_settings) as store:
        store.build(corpus)
    generation = current_root(index_settings)
    damage_page(generation / damaged)
    for name, value in (("ZGQA_INDEX", index_settings.index), ("ZGQA_SEEDS", index_settings.seeds),
                        ("ZGQA_CACHE", index_settings.cache)):
        monkeypatch.setenv(name, str(value))
    said = f"zgqa: The index in {index_settings.index} is damaged (generations/{generation.name}/{damaged}: "
    for command in (["ask", GDP_QUESTION], ["build"]):
        capfd.readouterr()
        assert main(command) == 1
        err = capfd.readouterr().err
        assert err.startswith(said) and err.endswith("): run `zgqa build --rebuild`.\n")
        assert err.count("\n") == 1 and "panicked" not in err
    heard: list[str] = []
    with fake_store(index_settings) as store:
        store._say = heard.append  # type: ignore[method-assign]
        report = store.build(corpus, rebuild=True)
        store.check()
    assert report.discarded == [f"the index generation {generation.name}: {damaged} is damaged"]
    assert heard[0] == f"Discarding the index generation {generation.name}: {damaged} is damaged."
    assert report.added == report.chunks and report.embedded == 0  # every vector from the embedding cache
    assert current_root(index_settings) != generation


def test_a_corrupt_embedding_cache_entry_is_dropped_and_its_text_embedded_again(index_settings: Settings) -> None:
    import json

    from benchmarks.hardening import cache_entry
    from tests.conftest import FAKE_IDENTITY, FakeEmbeddings
    from vectorstore.records import passage_text

    corpus = load(index_settings.seeds)
    with fake_store(index_settings) as store:
        store.build(corpus)
    text = passage_text(corpus.chunks()[0])
    entry = cache_entry(index_settings.index, FAKE_IDENTITY.model, text)
    assert entry.is_file()
    entry.write_bytes(b"[0.1, 0.2, \x00\xff")  # cut short and garbled by a failing disk
    heard: list[str] = []
    with fake_store(index_settings) as store:
        store._say = heard.append  # type: ignore[method-assign]
        report = store.build(corpus, rebuild=True)
        store.check()
    assert report.embedded == 1  # that text alone
    assert report.discarded == [f"the corrupt embedding-cache entry {entry.name}"]
    assert f"Dropped the corrupt embedding-cache entry {entry.name}: its text was embedded again." in heard
    assert json.loads(entry.read_bytes()) == FakeEmbeddings().embed_documents([text])[0]
