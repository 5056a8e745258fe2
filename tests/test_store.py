"""The index over a fake model: incremental builds, identity checks, and the lexical half kept in step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import FAKE_IDENTITY, FakeEmbeddings, fake_store
from vectorstore import StoreError, load
from vectorstore.config import Settings
from vectorstore.records import Identity, chunk_from_record, chunk_metadata, passage_text
from vectorstore.store import Store


def _build(settings: Settings, **kw: object) -> tuple[Store, object]:
    store = fake_store(settings, **kw)  # type: ignore[arg-type]
    return store, store.build(load(settings.seeds))


def _seed(settings: Settings, prefix: str) -> Path:
    return next(settings.seeds.glob(f"{prefix}_*.txt"))


def _records(store: Store) -> dict[str, dict[str, object]]:
    collection = store.collection()
    assert collection is not None
    got = collection.get(include=["metadatas"])
    return {rid: dict(meta) for rid, meta in zip(got["ids"], got["metadatas"], strict=True)}


def test_first_build_embeds_every_distinct_passage_once(index_settings: Settings) -> None:
    chunks = load(index_settings.seeds).chunks()
    store, report = _build(index_settings)
    assert report.added == len(chunks) == 276
    assert (report.skipped, report.updated, report.deleted) == (0, 0, 0)
    assert report.embedded == len({passage_text(c) for c in chunks})
    records = _records(store)
    assert len(records) == len(chunks)
    assert {m["chunk_id"] for m in records.values()} == {c.id for c in chunks}
    assert sorted(store.lexical.ids) == sorted(records)


def test_second_build_with_nothing_changed_embeds_nothing(index_settings: Settings) -> None:
    _build(index_settings)
    store, report = _build(index_settings)
    assert (report.added, report.updated, report.deleted, report.embedded) == (0, 0, 0, 0)
    assert report.skipped == report.chunks == 276
    store.check()


def test_an_edited_report_reembeds_only_its_changed_chunks(index_settings: Settings) -> None:
    path = _seed(index_settings, "003")
    before = {c.id: c for c in load(index_settings.seeds).chunks()}
    store, _ = _build(index_settings)
    text = path.read_text(encoding="utf-8")
    target = next(c for c in before.values() if c.source == path.name and "。" in c.text and c.term is None)
    sentence = target.text.split("。")[0]
    assert sentence in text
    path.write_text(text.replace(sentence, sentence + "，并新增一项测试内容", 1), encoding="utf-8")
    after = {c.id: c for c in load(index_settings.seeds).chunks()}
    changed = set(after) - set(before)
    assert 1 <= len(changed) <= 2

    store, report = _build(index_settings)
    assert report.embedded == len(changed)
    # An edited chunk is reported as updated, not as one added and one deleted.
    gone = set(before) - set(after)
    edited = min(len(changed), len(gone))
    assert edited >= 1 and report.updated >= edited
    assert (report.added, report.deleted) == (len(changed) - edited, len(gone) - edited)
    records = _records(store)
    assert {m["chunk_id"] for m in records.values()} == set(after)
    hits = store.lexical.search("新增一项测试内容", k=3)
    assert hits and records[hits[0].id]["chunk_id"] in changed


def test_moved_lines_update_citations_without_embedding(index_settings: Settings) -> None:
    """A line inserted at the top moves every span below it: records are replaced, vectors reused."""
    path = _seed(index_settings, "004")
    _build(index_settings)
    path.write_bytes(b"\n" + path.read_bytes())
    store, report = _build(index_settings)
    moved = [c for c in load(index_settings.seeds).chunks() if c.source == path.name]
    assert report.updated == len(moved) > 0
    assert report.embedded == 0
    spans = {m["chunk_id"]: (m["line_start"], m["line_end"]) for m in _records(store).values()}
    assert all(spans[c.id] == (c.line_start, c.line_end) for c in moved)


def test_a_deleted_report_disappears_from_both_indexes(index_settings: Settings) -> None:
    _build(index_settings)
    path = _seed(index_settings, "002")
    gone = [c for c in load(index_settings.seeds).chunks() if c.source == path.name]
    path.unlink()
    store, report = _build(index_settings)
    assert report.deleted == len(gone) > 0
    records = _records(store)
    assert not any(m["source"] == path.name for m in records.values())
    assert sorted(store.lexical.ids) == sorted(records)


def test_opening_with_another_model_or_chunker_asks_for_a_rebuild(index_settings: Settings) -> None:
    _build(index_settings)
    for other, says in (
        (Identity(model="another-model", dim=FakeEmbeddings.DIM), r"built with model fake \[tests\] \(now another-model\)"),
        (replace(FAKE_IDENTITY, chunker="999"), r"built with chunker version 1 \(now 999\)"),
    ):
        with pytest.raises(StoreError, match=says + r": run `zgqa build --rebuild`"):
            fake_store(index_settings, identity=other).check()


def test_building_with_another_chunker_rebuilds_from_scratch(index_settings: Settings) -> None:
    _build(index_settings)
    store, report = _build(index_settings, identity=replace(FAKE_IDENTITY, chunker="999"))
    assert report.rebuilt_because == ["it was built with chunker version 1 (now 999)"]
    assert report.added == report.chunks
    # The vectors themselves did not change, so the embedding cache spares the model.
    assert report.embedded == 0
    assert store.check().chunker == "999"


def test_no_index_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"run `zgqa build`"):
        fake_store(Settings(index=tmp_path / "nothing")).check()


def test_lexical_half_out_of_step_is_refused(index_settings: Settings) -> None:
    store, _ = _build(index_settings)
    collection = store.collection()
    assert collection is not None
    collection.modify(metadata={**collection.metadata, "zgqa_lexical": "0000"})
    with pytest.raises(StoreError, match="out of step"):
        fake_store(index_settings).check()
    # A build puts it right.
    _build(index_settings)
    fake_store(index_settings).check()


def test_a_lexical_index_of_another_tokenizer_is_rebuilt_by_the_build_its_message_names(
    index_settings: Settings,
) -> None:
    store, _ = _build(index_settings)
    meta = store.folder / "lexical" / "lexical.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"tokenizer": "1"', '"tokenizer": "0"'), encoding="utf-8")
    with pytest.raises(StoreError, match=r"another tokenizer: run `zgqa build`"):
        fake_store(index_settings).check()
    store, report = _build(index_settings)
    assert report.embedded == 0  # the passages' vectors are kept; only the lexical half is cut again
    fake_store(index_settings).check()
    assert store.lexical.search("地区生产总值", k=1)


def test_a_lost_collection_with_a_surviving_record_manager_is_rebuilt(index_settings: Settings) -> None:
    store, _ = _build(index_settings)
    store.client.delete_collection(index_settings.collection)
    store, report = _build(index_settings)
    assert report.added == report.chunks
    assert len(_records(store)) == report.chunks


def test_dense_and_lexical_find_the_passage_with_the_words(index_settings: Settings) -> None:
    store, _ = _build(index_settings)
    question = "规模以上工业增加值"
    dense = store.nearest(question, k=5)
    assert len(dense) == 5 and all(-1.0 <= score <= 1.0 for _, score in dense)
    hits = store.lexical.search(question, k=5)
    top = store.get([hits[0].id])[0]
    assert question in top.page_content
    assert top.metadata["line_start"] <= top.metadata["line_end"]


def test_year_filter_keeps_only_that_year(index_settings: Settings) -> None:
    store, _ = _build(index_settings)
    hits = store.nearest("地区生产总值", k=10, where={"year": 2024})
    docs = store.get([rid for rid, _ in hits])
    assert docs and len(docs) == len(hits) and all(doc.metadata["year"] == 2024 for doc in docs)


def test_identical_texts_in_one_call_are_embedded_once() -> None:
    fake = FakeEmbeddings()
    vectors = fake.embed_documents(["同一段话", "同一段话", "另一段话"])
    assert fake.embedded == 2
    assert vectors[0] == vectors[1] != vectors[2]


@pytest.mark.filterwarnings("ignore:legacy embedding function config")  # Chroma's word for "none given"
def test_the_collection_never_embeds_with_chromas_default_model(index_settings: Settings) -> None:
    """Chroma's default embedding function downloads a model; texts without vectors must be refused instead."""
    store, _ = _build(index_settings)
    collection = store.collection()
    assert collection is not None
    with pytest.raises(ValueError, match="embedding"):
        collection.add(ids=["x"], documents=["没有向量的文本"])
    assert collection.count() == 276


def test_a_record_gives_back_the_chunk_it_was_made_from(index_settings: Settings) -> None:
    """Citations are read back from records: every field, glossary and de-spun ones included, survives."""
    chunks = load(index_settings.seeds).chunks()
    assert any(c.term for c in chunks) and any(c.original_text for c in chunks) and any(c.footnotes for c in chunks)
    for chunk in chunks:
        assert chunk_from_record(chunk.text, chunk_metadata(chunk)) == chunk
    store, _ = _build(index_settings)
    collection = store.collection()
    assert collection is not None
    got = collection.get(include=["documents", "metadatas"])
    stored = [chunk_from_record(t, dict(m)) for t, m in zip(got["documents"], got["metadatas"], strict=True)]
    assert {c.id: c for c in stored} == {c.id: c for c in chunks}


def test_a_build_that_fails_halfway_publishes_nothing_and_its_work_is_reused(index_settings: Settings) -> None:
    class Failing(FakeEmbeddings):
        def _encode(self, texts: Sequence[str], prompt_name: str) -> list[list[float]]:
            if self.embedded >= 100:
                raise RuntimeError("disk full")
            return super()._encode(texts, prompt_name)

    broken = Store(index_settings, embeddings=Failing(), identity=FAKE_IDENTITY)
    with pytest.raises(StoreError, match=r"failed: disk full\. .*run `zgqa build` again"):
        broken.build(load(index_settings.seeds))
    with pytest.raises(StoreError, match="No index .*run `zgqa build`"):  # nothing half-built is opened
        fake_store(index_settings).check()
    assert list((index_settings.index / "generations").iterdir()) == []  # its copy is gone
    store, report = _build(index_settings)
    assert report.added == report.chunks and report.embedded < report.chunks  # its vectors were cached
    store.check()
    assert len(_records(store)) == report.chunks


def test_every_sentence_of_the_records_and_every_clause_has_its_vector(index_settings: Settings) -> None:
    from vectorstore.sentences import clauses, split

    store, _ = _build(index_settings)
    sentences = store.sentences
    assert sentences is not None
    collection = store.collection()
    assert collection is not None
    texts = collection.get(include=["documents"])["documents"]
    wanted = {s for text in texts for s in split(text)}
    assert set(sentences.texts) == wanted
    assert sentences.vectors.shape == (len(sentences.texts), FakeEmbeddings.DIM)
    norms = (sentences.vectors**2).sum(axis=1)
    assert abs(norms - 1.0).max() < 1e-4
    # The clauses of every sentence of more than one, so the clause a question is about can be told
    # from the others of a long sentence.
    assert sentences.clauses is not None and sentences.clause_vectors is not None
    assert set(sentences.clauses) == {c for s in wanted for c in clauses(s)}
    assert sentences.clause_vectors.shape == (len(sentences.clauses), FakeEmbeddings.DIM)
    assert "城镇居民人均可支配收入增长5.4%，" in sentences.clauses


def test_an_index_without_sentence_vectors_asks_for_a_build_and_the_build_restores_them(
    index_settings: Settings,
) -> None:
    import shutil

    store, _ = _build(index_settings)
    folder = store.folder / "sentences"
    store.close()
    shutil.rmtree(folder)
    reopened = fake_store(index_settings)
    with pytest.raises(StoreError, match="sentence vectors.*zgqa build"):
        reopened.check()
    report = reopened.build(load(index_settings.seeds))
    assert report.embedded == 0  # the chunks are unchanged; only the sentences came back, from the cache
    reopened.check()
    assert reopened.sentences is not None and len(reopened.sentences.texts) > 1000


def test_sentence_vectors_saved_before_clauses_were_embedded_are_built_again(index_settings: Settings) -> None:
    import numpy as np

    from vectorstore.sentences import FILE

    store, _ = _build(index_settings)
    path = store.folder / "sentences" / FILE
    with np.load(path, allow_pickle=False) as data:
        older = {k: data[k] for k in ("texts", "vectors", "fingerprint")}  # the file as it was written before
    store.close()
    np.savez(path, **older)
    reopened = fake_store(index_settings)
    with pytest.raises(StoreError, match="sentence vectors.*zgqa build"):
        reopened.check()
    report = reopened.build(load(index_settings.seeds))
    assert report.embedded == 0 and report.sentences_embedded == 0  # every text came from the cache
    reopened.check()
    assert reopened.sentences is not None and reopened.sentences.clauses


def test_the_same_index_by_another_path_or_copied_keeps_its_records(index_settings: Settings, tmp_path: Path) -> None:
    _build(index_settings)
    link = tmp_path / "elsewhere"
    link.symlink_to(index_settings.index.resolve())
    _, report = _build(replace(index_settings, index=link))
    assert (report.added, report.deleted, report.skipped) == (0, 0, report.chunks)  # type: ignore[attr-defined]


def test_a_build_says_how_many_texts_the_model_will_embed_before_it_starts(
    index_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from vectorstore.sentences import clauses, split

    chunks = load(index_settings.seeds).chunks()
    said = {s for c in chunks for s in split(c.text)}
    texts = {passage_text(c) for c in chunks} | said | {p for s in said for p in clauses(s)}
    with Store(index_settings, progress=True, embeddings=FakeEmbeddings(), identity=FAKE_IDENTITY) as store:
        store.build(load(index_settings.seeds))
    # One count for all the model's work, passages, sentences and clauses, shown before the first is embedded.
    assert f"{len(texts)} new texts to embed" in capsys.readouterr().err
    with Store(index_settings, progress=True, embeddings=FakeEmbeddings(), identity=FAKE_IDENTITY) as store:
        store.build(load(index_settings.seeds))
    assert "new texts to embed" not in capsys.readouterr().err


def test_a_full_disk_while_copying_the_index_stops_the_build_and_leaves_the_index_answering(
    index_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import shutil

    from vectorstore import generations

    _build(index_settings)
    building = index_settings.index / generations.GENERATIONS

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(shutil, "copyfile", full)
        with pytest.raises(StoreError, match="No space left on device.*the copy was removed"):
            _build(index_settings)
    with monkeypatch.context() as patched:
        patched.setattr(shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))  # type: ignore[attr-defined]
        with pytest.raises(StoreError, match="Not enough free space to build"):
            _build(index_settings)
    assert not [p for p in building.iterdir() if p.name.endswith(".building")]
    store = fake_store(index_settings)
    assert store.collection().count() > 0  # type: ignore[union-attr]
    _, report = _build(index_settings)  # and the next build, with room, goes through unchanged
    assert report.added == report.deleted == 0  # type: ignore[attr-defined]
