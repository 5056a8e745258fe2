"""A real Chroma server on loopback: built through HttpClient, it must answer like the embedded store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import app
import qa
from benchmarks.servers import free_port, start_chroma, stop, token_proxy
from qa.cli import main
from tests.conftest import eval_questions
from vectorstore import StoreError, build, open_store
from vectorstore.config import Settings
from vectorstore.records import chunk_of_record

pytestmark = [pytest.mark.model, pytest.mark.server]

QUESTION = "2024年自贡地区生产总值增长多少？"


def test_a_chroma_server_returns_the_same_chunks_as_the_embedded_store(
    real_index: Settings, chroma_server: tuple[str, int]
) -> None:
    host, port = chroma_server
    remote = replace(real_index, chroma_host=host, chroma_port=port)
    first = build(remote, progress=False)
    assert first.location == f"chroma://{host}:{port}"
    assert first.added == first.chunks == 276
    # The embedded build already embedded every text; the shared cache hands the vectors over.
    assert first.embedded == 0
    again = build(remote, progress=False)
    assert (again.added, again.deleted, again.skipped) == (0, 0, again.chunks)

    with open_store(real_index) as local, open_store(remote) as server:
        for row in eval_questions():
            question = row["question"]
            near = [chunk_of_record(rid) for rid, _ in local.nearest(question, k=5)]
            far = [chunk_of_record(rid) for rid, _ in server.nearest(question, k=5)]
            assert near == far, question
            assert [h.id for h in local.lexical.search(question, 5)] == [
                h.id for h in server.lexical.search(question, 5)
            ]


def test_a_server_that_is_not_running_is_named_with_what_to_do() -> None:
    port = free_port()
    with pytest.raises(StoreError, match=rf"Cannot reach the Chroma server at 127\.0\.0\.1:{port}.*chroma run"):
        open_store(Settings(chroma_host="127.0.0.1", chroma_port=port))


def test_a_chroma_server_that_goes_away_is_reported_clearly_and_answers_again_when_back(
    real_index: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port, data, log = free_port(), tmp_path / "server-data", tmp_path / "chroma.log"
    server = start_chroma(port, data, log)
    remote = replace(real_index, chroma_host="127.0.0.1", chroma_port=port)
    try:
        build(remote, progress=False)
        assert qa.ask(QUESTION, settings=remote).found
        stop(server)

        with pytest.raises(StoreError, match=rf"Cannot reach the Chroma server at 127\.0\.0\.1:{port} .*chroma run"):
            qa.ask(QUESTION, settings=remote)
        for name, value in [("ZGQA_CHROMA_HOST", "127.0.0.1"), ("ZGQA_CHROMA_PORT", str(port)),
                            ("ZGQA_INDEX", str(remote.index)), ("ZGQA_CACHE", str(remote.cache)),
                            ("ZGQA_SEEDS", str(remote.seeds))]:
            monkeypatch.setenv(name, value)
        assert main(["ask", QUESTION]) == 1  # the command line: one line, no traceback
        said = capsys.readouterr().err
        assert said.startswith(f"zgqa: Cannot reach the Chroma server at 127.0.0.1:{port}") and "Traceback" not in said
        chat = list(app.respond(QUESTION, [], [], "", ""))[-1][0]  # the chat: a message saying the same
        assert chat[-1]["content"].startswith(f"⚠️ Cannot reach the Chroma server at 127.0.0.1:{port}")

        server = start_chroma(port, data, log)  # back, with its data: answers resume, nothing restarted
        assert qa.ask(QUESTION, settings=remote).text == qa.ask(QUESTION, settings=real_index).text
    finally:
        stop(server)
        qa.close()


def test_a_chroma_server_behind_token_auth_is_used_with_the_token_and_refused_without(
    real_index: Settings, chroma_server: tuple[str, int], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    _, upstream = chroma_server
    with token_proxy(upstream, "s3cret-token") as port:
        remote = replace(real_index, chroma_host="127.0.0.1", chroma_port=port, chroma_token="s3cret-token")
        assert "s3cret" not in repr(remote)
        try:
            assert build(remote, progress=False).added == 276
            assert qa.ask(QUESTION, settings=remote).text == qa.ask(QUESTION, settings=real_index).text
        finally:
            qa.close()
        for token, says in [(None, "wants a token"), ("wrong", "refused the token in ZGQA_CHROMA_TOKEN")]:
            with pytest.raises(StoreError, match=rf"Chroma server at 127\.0\.0\.1:{port} {says}: set ZGQA_CHROMA_TOKEN"):
                open_store(replace(remote, chroma_token=token))
        for name, value in [("ZGQA_CHROMA_HOST", "127.0.0.1"), ("ZGQA_CHROMA_PORT", str(port)),
                            ("ZGQA_CHROMA_TOKEN", "s3cret-token"), ("ZGQA_INDEX", str(remote.index)),
                            ("ZGQA_CACHE", str(remote.cache))]:
            monkeypatch.setenv(name, value)
        assert main(["ask", QUESTION]) == 0  # the command line reads the token from the environment
        assert "7.1%" in capsys.readouterr().out
        qa.close()
