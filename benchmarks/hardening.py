"""The `hardening` area of `zgqa bench reliability`: what an independent hostile trial found
(issue 19), each tried for real on copies in a temporary folder.

Leaves out: the areas tried before it (benchmarks/reliability.py), and timing.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vectorstore.config import Settings

GDP = "2024年自贡地区生产总值增长多少？"


def hardening(settings: Settings, work: Path, row: Callable[..., Any]) -> Iterator[Any]:
    """Rows of (area, tried, what happened, as expected), built with `row`."""
    yield from _requests(settings, row)
    yield from _question_files(settings, work, row)
    yield from _folders(settings, work, row)
    yield from _builds(settings, work, row)
    yield from _rebuild_followed(settings, work, row)
    yield from _readers(settings, work, row)
    yield from _recovery(settings, work, row)


def _said(call: Callable[[], object]) -> tuple[str, str]:
    import qa

    try:
        call()
    except qa.QuestionError as exc:
        return "error", f"message: {exc}"
    except qa.ZgqaError as exc:
        return "error", f"message: {exc}"
    except Exception as exc:  # noqa: BLE001 - exactly what this run looks for
        return "crash", f"{type(exc).__name__}: {exc}"
    return "answered", "answered"


def _requests(settings: Settings, row: Callable[..., Any]) -> Iterator[Any]:
    import qa
    from qa.api import _engine

    qa.ask(GDP, settings=settings)
    cases: list[tuple[str, Callable[[], object], str]] = [
        ("a lone surrogate in a question: 'a\\ud800'", lambda: qa.ask("a\ud800", settings=settings), "not valid text"),
        ("year='2025' (text, not a number)", lambda: qa.ask(GDP, year="2025", settings=settings), "whole number"),  # type: ignore[arg-type]
        ("year=[2025]", lambda: qa.ask(GDP, year=[2025], settings=settings), "whole number"),  # type: ignore[arg-type]
        ("source=123", lambda: qa.ask(GDP, source=123, settings=settings), "file name"),  # type: ignore[arg-type]
        ("history=5", lambda: qa.ask("那2020年呢？", history=5, settings=settings), "history is the list"),  # type: ignore[arg-type]
        ("history as a generator (read once, then lost)",
         lambda: qa.ask("那2020年呢？", history=(q for q in [GDP]), settings=settings), "history is the list"),  # type: ignore[arg-type]
        ("a 10,000-character source", lambda: qa.ask(GDP, source="x" * 10_000, settings=settings), "No report"),
    ]
    for tried, call, words in cases:
        kind, said = _said(call)
        yield row("hardening", tried, said, kind == "error" and words in said and len(said) < 600)
    cached = len(_engine(settings).chains)
    for n in range(500):
        _said(lambda n=n: qa.ask(GDP, source=f"{n}.txt", year=1000 + n, settings=settings))  # type: ignore[misc]
    grown = len(_engine(settings).chains) - cached
    yield row("hardening", "500 questions with distinct unknown year and source values",
              f"{grown} answer chains cached for them", grown == 0)


def _question_files(settings: Settings, work: Path, row: Callable[..., Any]) -> Iterator[Any]:
    """`zgqa eval` on question files a person may hand it: each a one-line error naming the line."""
    from qa.evaluation import load_questions

    name = next(settings.seeds.glob("000_*.txt")).name
    gbk = work / "gbk-seeds"
    gbk.mkdir()
    (gbk / name).write_bytes((settings.seeds / name).read_text(encoding="utf-8").encode("gb18030"))
    quoted = {"id": "a", "question": "q", "evidence": [{"file": name, "quote": "全市地区生产总值增长7.1%"}]}
    files = [
        ("a question file saved as GBK", '{"id": "a", "question": "地区生产总值"}\n'.encode("gbk"), settings.seeds,
         "not UTF-8"),
        ("an evidence path out of the reports folder (/etc/hostname)",
         b'{"id": "a", "question": "q", "evidence": [{"file": "/etc/hostname", "quote": "a"}]}\n', settings.seeds,
         "is not in"),
        ("an empty question on line 2", b'{"id": "a", "question": "q"}\n{"id": "b", "question": " "}\n',
         settings.seeds, ":2: the question is empty"),
        ("its evidence quoted from a report saved as GBK", (json.dumps(quoted, ensure_ascii=False) + "\n").encode(),
         gbk, ""),
    ]
    for n, (tried, data, seeds, words) in enumerate(files):
        path = work / f"questions-{n}.jsonl"
        path.write_bytes(data)
        kind, said = _said(lambda path=path, seeds=seeds: load_questions(path, seeds))  # type: ignore[misc]
        ok = kind == "error" and words in said if words else kind == "answered"
        yield row("hardening", f"`zgqa eval` with {tried}", said if words else "read: its quote located", ok)


def _folders(settings: Settings, work: Path, row: Callable[..., Any]) -> Iterator[Any]:
    from vectorstore import load
    from vectorstore.errors import ManifestError

    for fields, words in (({"year": "2017年"}, "year must be a whole number"), ({"title": None}, "title must be"),
                          ({"kind": "speech"}, "kind must be one of")):
        folder = work / f"manifest-{len(words)}"
        shutil.copytree(settings.seeds, folder)
        (folder / "manifest.json").write_text(json.dumps({"002_1cab8fd74a5b0016.txt": fields}), encoding="utf-8")
        try:
            load(folder)
            said, ok = "loaded without a word", False
        except ManifestError as exc:
            said, ok = f"message: {exc}", words in str(exc)
        yield row("hardening", f"manifest.json with {json.dumps(fields, ensure_ascii=False)}", said, ok)
    folder = work / "odd-files"
    shutil.copytree(settings.seeds, folder)
    gbk_name = os.fsdecode("报告".encode("gbk") + b".txt")
    (folder / gbk_name).write_text("2025年政府工作报告\n各位代表：\n", encoding="utf-8")
    secret = work / "shadow"
    secret.write_text("root:x:0:0:秘密\n", encoding="utf-8")
    (folder / "shadow.txt").symlink_to(secret)
    (folder / "notes.txt").write_text("一些没有标题的文字。\n", encoding="utf-8")
    corpus = load(folder)
    why = {s.source: s.reason for s in corpus.skipped}
    gbk = next((f"skipped {n}: {r}" for n, r in why.items() if "UTF-8" in r), "nothing said")
    yield row("hardening", "a report whose file name is GBK bytes (a Windows zip)", gbk, "not valid UTF-8" in gbk)
    link = f"skipped: {why['shadow.txt']}" if "shadow.txt" in why else "read"
    quoted = any("秘密" in c.text for c in corpus.chunks())
    ok = "symbolic link" in link and not quoted
    yield row("hardening", "seeds/shadow.txt -> a file outside the folder", link, ok)
    warned = next((w for w in corpus.warnings if w.startswith("notes.txt")), "nothing said")
    yield row("hardening", "a file with no title, year or kind of report", warned, "no title, year or kind" in warned)
    mixed = work / "mixed"
    mixed.mkdir()
    report = next(settings.seeds.glob("000_*.txt"))
    lines = report.read_text(encoding="utf-8").split("\n")
    half = len(lines) // 2
    (mixed / report.name).write_bytes(
        "\n".join(lines[:half]).encode("utf-8") + b"\n" + "\n".join(lines[half:]).encode("gbk")
    )
    pasted = load(mixed)
    whole = [c.text for c in load(settings.seeds).chunks() if c.source == report.name]
    same = [c.text for c in pasted.chunks()] == whole
    said = (f"skipped: {pasted.skipped[0].reason}" if pasted.skipped
            else f"read as {pasted.reports[0].encoding}, {'the same' if same else 'other'} chunks as the UTF-8 file")
    yield row("hardening", "a report pasted together from UTF-8 and GBK halves", said,
              not pasted.skipped and same)


def _builds(settings: Settings, work: Path, row: Callable[..., Any]) -> Iterator[Any]:
    from filelock import FileLock

    from vectorstore import load
    from vectorstore.errors import StoreError
    from vectorstore.store import Store, build

    own = replace(settings, index=work / "own-index")
    shutil.copytree(settings.index, own.index, symlinks=True)
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(next(settings.seeds.glob("003_*.txt")), elsewhere)
    try:
        build(replace(own, seeds=elsewhere), progress=False)
        said, ok = "built, reports removed", False
    except StoreError as exc:
        said, ok = f"message: {exc}", "--prune" in str(exc)
    yield row("hardening", "zgqa build --seeds <a folder with 1 of the 5 reports>", said, ok)

    lock = FileLock(own.index / ".build.lock")
    lock.acquire()
    heard: list[str] = []
    store = Store(own, progress=False)
    store._say = heard.append  # type: ignore[method-assign,assignment]
    worker = threading.Thread(target=store.build, args=(load(own.seeds),))
    worker.start()
    worker.join(timeout=3)
    waited = worker.is_alive()
    lock.release()
    worker.join()
    store.close()
    yield row("hardening", "a second build while a build holds the index",
              f"{'waited' if waited else 'did not wait'}: {' '.join(heard) or 'nothing said'}", waited and bool(heard))

    real_copy = shutil.copyfile

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    shutil.copyfile = full  # type: ignore[assignment]  # the disk fills while the build copies the index
    try:
        build(own, progress=False)
        said, ok = "built", False
    except StoreError as exc:
        said, ok = f"message: {exc}", "copy was removed" in str(exc)
    finally:
        shutil.copyfile = real_copy
    left = [p.name for p in (own.index / "generations").iterdir() if p.name.endswith(".building")]
    import qa

    answer = qa.ask(GDP, settings=own).text
    qa.close()
    yield row("hardening", "the disk fills while a build copies the index (ENOSPC from every file copy)",
              f"{said}; copies left: {len(left)}; then asked: {answer}", ok and not left and "7.1%" in answer)

    odd = replace(settings, index=work / "index?x=1 %20")
    shutil.copytree(settings.index / "embedding-cache", odd.index / "embedding-cache")
    build(odd, progress=False)
    strays = sorted(p.name for p in work.iterdir() if p.name.startswith("index") and p != odd.index)
    yield row("hardening", "an index folder named 'index?x=1 %20'",
              f"records inside it; stray files beside it: {strays or 'none'}", not strays)


def _rebuild_followed(settings: Settings, work: Path, row: Callable[..., Any]) -> Iterator[Any]:
    import qa
    from vectorstore.store import build

    own = replace(settings, index=work / "followed", seeds=work / "followed-seeds")
    shutil.copytree(settings.index, own.index, symlinks=True)
    shutil.copytree(settings.seeds, own.seeds)
    before = qa.ask(GDP, settings=own).text
    path = next(own.seeds.glob("000_*.txt"))
    path.write_text(path.read_text(encoding="utf-8").replace("增长7.1%", "增长7.3%", 1), encoding="utf-8")
    report = build(own, progress=False)
    after = qa.ask(GDP, settings=own).text
    qa.close()
    yield row("hardening", "a running process, after `zgqa build` corrects 增长7.1% to 增长7.3%",
              f"before: {before} after (next question, no restart): {after}", "7.1%" in before and "7.3%" in after)
    counts = (report.added, report.updated, report.deleted)
    yield row("hardening", "the build that corrected that figure (in a copy of the index), as it reports it",
              f"{report.added} added, {report.updated} updated, {report.deleted} deleted", counts == (0, 1, 0))
    link = work / "followed-link"
    link.symlink_to(own.index)
    again = build(replace(own, index=link), progress=False)
    yield row("hardening", "zgqa build of the same index reached by another path (a link to it)",
              f"{again.added} added, {again.skipped} unchanged, {again.deleted} deleted",
              (again.added, again.deleted, again.skipped) == (0, 0, again.chunks))


def upload_status(url: str) -> int:
    """The HTTP status of a file posted to Gradio's upload route (the app takes no files: 404)."""
    body = b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhello\r\n--x--\r\n'
    request = urllib.request.Request(url.rstrip("/") + "/gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=x"})
    try:
        with urllib.request.urlopen(request, timeout=30) as got:
            return int(got.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def files(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every entry under `folder` with its mode and a digest of its content: what a reader must leave as it was."""
    return {
        str(p.relative_to(folder)): (p.lstat().st_mode, b"" if p.is_dir() or p.is_symlink()
                                     else hashlib.sha256(p.read_bytes()).digest())
        for p in sorted(folder.rglob("*"))
    }


def cache_entry(index: Path, model: str, text: str) -> Path:
    """The embedding-cache file of `text` embedded by `model` (LangChain's naming: a namespace of the
    model, then the text's SHA-256)."""
    namespace = hashlib.sha256(model.encode()).hexdigest()[:16]
    return index / "embedding-cache" / (namespace + hashlib.sha256(text.encode()).hexdigest())


def unprivileged() -> list[str] | None:
    """A command prefix under which file permissions bind: nothing for a user, root's override of them
    dropped for root (`setpriv`); None when there is no way (root without setpriv)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--bounding-set", "-dac_override"] if setpriv else None


def damage_page(database: Path) -> None:
    """4096 bytes of garbage over the middle of a SQLite file (its third page), as a failing disk leaves it."""
    with database.open("r+b") as f:
        f.seek(8192)
        f.write(bytes(range(256)) * 16)


def _zgqa(settings: Settings, *args: str, prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    from benchmarks.servers import zgqa_env

    zgqa = Path(sys.executable).with_name("zgqa")
    return subprocess.run([*prefix, str(zgqa), *args], env=zgqa_env(settings), capture_output=True, text=True,
                          timeout=600)


def _one_line(done: subprocess.CompletedProcess[str], work: Path) -> str:
    """The exit status and stderr, the temporary folder shown as …: the cell keeps what is said."""
    return f"exit {done.returncode}, stderr: {done.stderr.strip()}".replace(str(work), "…")


def _is_one_line(done: subprocess.CompletedProcess[str], start: str) -> bool:
    return done.returncode == 1 and done.stderr.startswith(start) and done.stderr.count("\n") == 1


def _readers(settings: Settings, work: Path, row: Callable[..., Any]) -> Iterator[Any]:
    """Item 11: a reader writes nothing in the index folder, and never follows a link out of it."""
    typo = replace(settings, index=work / "typo" / ".chroma")
    done = _zgqa(typo, "ask", GDP)
    made = [str(p.relative_to(work)) for p in (work / "typo", *(work / "typo").rglob("*")) if p.exists()]
    yield row("hardening", "`zgqa ask` with ZGQA_INDEX naming a folder that is not there (a typo)",
              f"{_one_line(done, work)}; created: {', '.join(made) or 'nothing'}",
              _is_one_line(done, f"zgqa: No index in {typo.index}: run `zgqa build`.") and not made)

    frozen = replace(settings, index=work / "read-only")
    shutil.copytree(settings.index, frozen.index, symlinks=True,
                    ignore=shutil.ignore_patterns("embedding-cache", ".readers"))
    subprocess.run(["chmod", "-R", "a-w", str(frozen.index)], check=True)
    before, prefix = files(frozen.index), unprivileged()
    try:
        done = _zgqa(frozen, "ask", GDP, prefix=prefix or [])
        after = files(frozen.index)
        changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(frozen.index)], check=True)
    answer = done.stdout.splitlines()[0] if done.returncode == 0 and done.stdout else _one_line(done, work)
    who = "" if prefix is None else " (as root without its override of permissions)" if prefix else ""
    yield row("hardening", f"an index whose files are read-only (`chmod -R a-w` on a copy), then `zgqa ask`{who}",
              f"{answer}; files of the index changed: {', '.join(changed) or 'none'}",
              prefix is not None and done.returncode == 0 and "7.1%" in answer and not changed)

    linked = replace(settings, index=work / "linked")
    linked.index.mkdir()
    outside = work / "etc"  # stands for /etc
    outside.mkdir()
    (linked.index / "current").symlink_to(outside)
    done = _zgqa(linked, "ask", GDP)
    written = sorted(p.name for p in outside.rglob("*"))
    yield row("hardening", f"a `current` link to a folder out of the index ({outside.name}, standing for /etc), "
              "then `zgqa ask`", f"{_one_line(done, work)}; written there: {', '.join(written) or 'nothing'}",
              _is_one_line(done, f"zgqa: The index in {linked.index} is damaged (its `current` link points outside")
              and not written)


def _recovery(settings: Settings, work: Path, row: Callable[..., Any]) -> Iterator[Any]:
    """Item 8: a damaged index is one line for every command, and `zgqa build --rebuild` recovers."""
    from vectorstore.generations import current_root

    own = replace(settings, index=work / "damaged")
    shutil.copytree(settings.index, own.index, symlinks=True, ignore=shutil.ignore_patterns(".readers"))
    generation = current_root(own)
    damage_page(generation / "chroma" / "chroma.sqlite3")
    tried = "4096 bytes of garbage at offset 8192 of chroma.sqlite3 (a copy), then"
    said = f"zgqa: The index in {own.index} is damaged (generations/{generation.name}/chroma/chroma.sqlite3: "
    for command in ("ask", "build"):
        done = _zgqa(own, command, *([GDP] if command == "ask" else []))
        yield row("hardening", f"{tried} `zgqa {command}`", _one_line(done, work),
                  _is_one_line(done, said) and done.stderr.endswith("): run `zgqa build --rebuild`.\n"))

    from vectorstore import load
    from vectorstore.records import passage_text
    from vectorstore.store import Store

    with Store(own) as store:
        model = store.identity().model
    entry = cache_entry(own.index, model, passage_text(load(own.seeds).chunks()[0]))
    entry.write_bytes(entry.read_bytes()[:40] + b"\x00\xff")  # cut short and garbled
    rebuilt = _zgqa(own, "build", "--rebuild")
    lines = [line for line in rebuilt.stderr.splitlines() if line.startswith(("Discarding", "Dropped"))]
    shown = " | ".join(line.replace(entry.name, entry.name[:12] + "…") for line in lines)
    yield row("hardening", f"{tried} an embedding-cache entry garbled too: `zgqa build --rebuild`",
              f"exit {rebuilt.returncode}: {shown or 'nothing said'}",
              rebuilt.returncode == 0 and len(lines) == 2 and entry.name in lines[1]
              and lines[0].startswith(f"Discarding the index generation {generation.name}: chroma/chroma.sqlite3"))
    asked = _zgqa(own, "ask", GDP)
    answer = asked.stdout.splitlines()[0] if asked.returncode == 0 and asked.stdout else _one_line(asked, work)
    built = rebuilt.stdout.strip().split(" in ", 1)[0]
    yield row("hardening", "after that rebuild: what it built, then `zgqa ask`",
              f"{built}, {rebuilt.stdout.split('; ', 1)[-1].split(' (')[0]}; then: {answer}",
              "1 passage and" in rebuilt.stdout and "7.1%" in answer)
