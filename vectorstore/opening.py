"""Opening an index's storage, for reading or for a build, and telling what is wrong with it.

Embedded, Chroma opens the `chroma` folder of one generation; its SQLite files, and the record
manager's, are checked first with SQLite's own `PRAGMA quick_check`, since Chroma panics on a damaged
page. A generation this process cannot write is opened from a private copy (Chroma writes at every
open, even to read). A Chroma server is reached through HttpClient, with its token if one is set.
Every failure is one line that says what to do next.

Leaves out: the generations themselves, their `current` link and the build lock (`generations.py`),
and what is read once the client is open (`store.py`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from vectorstore.config import Settings
from vectorstore.errors import StoreError
from vectorstore.generations import _alive, damaged


def open_client(settings: Settings, root: Path, *, reading: bool = False) -> tuple[Any, Path | None]:
    """The Chroma client of a server, or of the generation at `root`, and the private folder it was
    opened in, if any (see `_readable_copy`). A generation's SQLite files are checked first: Chroma
    panics on a damaged page."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    # Telemetry would try to reach the internet, which these machines cannot.
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        if settings.chroma_token:  # Chroma's own client-side token auth
            chroma_settings.chroma_client_auth_provider = "chromadb.auth.token_authn.TokenAuthClientProvider"
            chroma_settings.chroma_client_auth_credentials = settings.chroma_token
            chroma_settings.chroma_auth_token_transport_header = settings.chroma_token_header
        try:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
            client.heartbeat()
            client.list_collections(limit=1)  # the heartbeat may be open to all; this is not, behind auth
        except Exception as exc:
            raise StoreError(unreachable(settings, exc)) from exc
        return client, None
    folder = root / "chroma"
    if not reading:  # a reader's store checked it when it was made
        check_generation(settings, root, reading=False)
    private = None
    try:
        if reading and not _writable(folder):
            private = _readable_copy(folder)
            folder = private / "chroma"
        elif not reading:
            folder.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(folder), settings=chroma_settings), private
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # pyo3's PanicException, which Chroma's Rust half raises, is a BaseException
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
        said = " ".join(str(exc).split())[:300]
        raise StoreError(
            f"Cannot open the index folder {folder} ({type(exc).__name__}: {said}): if it is damaged, "
            "`zgqa build --rebuild` builds it again from the reports."
        ) from exc


def check_generation(settings: Settings, root: Path, *, reading: bool) -> None:
    """Refuse the generation at `root` when a reader finds no index there, or either of its SQLite
    files is damaged (Chroma panics on a damaged page)."""
    if reading and not (root / "chroma" / "chroma.sqlite3").is_file():
        raise StoreError(f"No index in {location(settings)}: run `zgqa build`.")
    found = generation_damage(settings, root)
    if found is not None:
        raise StoreError(damaged(location(settings), f"{shown(root / found[0], settings)}: {found[1]}"))


def generation_damage(settings: Settings, root: Path) -> tuple[str, str] | None:
    """The first SQLite file of the generation at `root` that is damaged (its path inside the
    generation) and what is wrong with it; None when both are whole or not there."""
    records = Path(local_name(settings)) / settings.collection / "records.sqlite"
    for part in (Path("chroma") / "chroma.sqlite3", records):
        what = sqlite_damage(root / part)
        if what is not None:
            return str(part), what
    return None


def sqlite_damage(path: Path) -> str | None:
    """What SQLite's own check (`PRAGMA quick_check`: every page read, the file opened read-only)
    finds wrong with the database at `path` ("Page 3: btreeInitPage() returns error code 11", "file
    is not a database"); None when it is whole or not there."""
    import sqlite3

    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = [str(row[0]) for row in db.execute("PRAGMA quick_check(3)")]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:  # not a database at all, or a page SQLite cannot read
        return str(exc)
    if found == ["ok"]:
        return None
    return " ".join(" ".join(found).replace("*** in database main ***", "").split())


def shown(path: Path, settings: Settings) -> str:
    """`path` as the user finds it: inside the index folder, relative to it."""
    try:
        return str(path.relative_to(settings.index))
    except ValueError:
        return str(path)


def _writable(folder: Path) -> bool:
    """Whether this process may write every file of the Chroma folder (a read-only copy, mount or owner: no)."""
    return all(os.access(p, os.W_OK) for p in (folder, *folder.rglob("*")))


_PRIVATE = "zgqa-read-only-"


def _readable_copy(folder: Path) -> Path:
    """A private, writable copy of a read-only generation's Chroma folder, for Chroma to open.

    subtle: Chroma 1.5 writes at every open, even to read: its Rust half inserts a row into the
    `acquire_write` table of chroma.sqlite3 (a lock workaround, sqlx#481), and the local HNSW segment
    replays the collection's log and writes its files again. On a read-only folder the first fails
    ("attempt to write a readonly database"), so the reader opens a copy (a few MB) in the temporary
    folder instead, removed by `Store.close` (or at exit, or by the next reader once this process is
    gone); the index itself is never written.
    """
    for left in Path(tempfile.gettempdir()).glob(f"{_PRIVATE}*"):  # by a reader that was killed
        pid = left.name.removeprefix(_PRIVATE).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(left, ignore_errors=True)
    private = Path(tempfile.mkdtemp(prefix=f"{_PRIVATE}{os.getpid()}-"))
    try:
        for path in sorted(folder.rglob("*")):
            target = private / "chroma" / path.relative_to(folder)
            if path.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:  # the content only: the copy's permissions are this process's own
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        (private / "chroma").mkdir(exist_ok=True)
    except BaseException:
        shutil.rmtree(private, ignore_errors=True)
        raise
    return private


def unreachable(settings: Settings, exc: Exception) -> str:
    where = f"{settings.chroma_host}:{settings.chroma_port}"
    if re.search(r"\b(401|403)\b|unauthori[sz]ed|forbidden|authenticat", str(exc), re.IGNORECASE):
        given = "refused the token in ZGQA_CHROMA_TOKEN" if settings.chroma_token else "wants a token"
        return f"The Chroma server at {where} {given}: set ZGQA_CHROMA_TOKEN to the token it expects."
    return (
        f"Cannot reach the Chroma server at {where} "
        f"({type(exc).__name__}: {str(exc)[:160]}): start it (`chroma run --host 127.0.0.1 --port PORT "
        "--path DIR`) or unset ZGQA_CHROMA_HOST."
    )


def location(settings: Settings) -> str:
    if settings.chroma_host:
        return f"chroma://{settings.chroma_host}:{settings.chroma_port}"
    return str(settings.index)  # its generations hold the Chroma folder


def local_name(settings: Settings) -> str:
    """The local folder of one collection's record manager, embedding cache and lexical index."""
    if settings.chroma_host:
        return "server-" + re.sub(r"[^A-Za-z0-9.-]+", "_", f"{settings.chroma_host}-{settings.chroma_port}")
    return "embedded"
