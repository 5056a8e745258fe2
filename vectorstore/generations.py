"""Generations of an embedded index: `current` is a symlink to the complete generation readers open;
a build works on a copy and switches the link in one atomic rename.

A process reading a generation registers itself in the generation's `.readers` folder (a file named
by its pid), so that a build never deletes a generation a live process still reads; a reader that
died is recognized by its pid and no longer keeps anything.

Leaves out: what a generation holds and how it is built (`vectorstore.store`), and opening one and
telling what is wrong with it (`vectorstore.opening`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from vectorstore.config import Settings
from vectorstore.errors import StoreError

READERS = ".readers"
_open_here: Counter[Path] = Counter()  # generations this process reads, with how many stores each
_lock = threading.Lock()


def read(root: Path, *, done: bool = False) -> None:
    """Register this process as a reader of the generation at `root` (or, `done`, one store fewer).
    A folder that is no generation, or cannot be written, is left alone: nothing to protect there."""
    if root.parent.name != GENERATIONS:
        return
    mark = root / READERS / str(os.getpid())
    with _lock:
        _open_here[root] += -1 if done else 1
        try:
            if _open_here[root] > 0:
                mark.parent.mkdir(exist_ok=True)
                mark.touch()
            else:
                del _open_here[root]
                mark.unlink(missing_ok=True)
        except OSError:
            pass


@contextlib.contextmanager
def build_lock(settings: Settings, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the index's build lock (`$ZGQA_INDEX/.build.lock`), waiting for a build already running."""
    settings.index.mkdir(parents=True, exist_ok=True)
    lock = FileLock(settings.index / ".build.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        say("Another build of this index is running; waiting for it to finish ...")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _read_by_others(generation: Path) -> bool:
    folder = generation / READERS
    if not folder.is_dir():
        return False
    for mark in folder.iterdir():
        pid = mark.name
        if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
            return True
        if pid.isdigit() and int(pid) == os.getpid() and generation in _open_here:
            return True
    return False


# An embedded index is a folder of generations: `current` is a symlink to the complete one readers open.
CURRENT = "current"
GENERATIONS = "generations"
_BUILDING = ".building"
_LAYOUT = ("chroma", "embedded")  # what a generation holds; the embedding cache is shared by all


def damaged(index: Path | str, what: str) -> str:
    """The one line that says an index is damaged, what is, and what recovers it."""
    return f"The index in {index} is damaged ({what}): run `zgqa build --rebuild`."


def link_damage(settings: Settings) -> str | None:
    """What is wrong with the `current` link, or None: it must name a generation of this index
    folder that is there. A link elsewhere (`/etc`) is never followed, for reading or for writing."""
    link = settings.index / CURRENT
    if settings.chroma_host or not link.is_symlink():
        return None
    target = link.resolve()
    if target.parent != (settings.index / GENERATIONS).resolve():
        return f"its `{CURRENT}` link points outside the index folder, to {target}"
    if not target.is_dir():
        return f"its `{CURRENT}` link points to a generation that is gone, {target.name}"
    return None


def current_root(settings: Settings) -> Path:
    """The folder of the index readers open now: the current generation, or the index folder itself
    when it predates generations (or is a server's local half). A `current` link out of the
    index's generations is refused (`link_damage`)."""
    link = settings.index / CURRENT
    if settings.chroma_host or not link.is_symlink():
        return settings.index
    what = link_damage(settings)
    if what is not None:
        raise StoreError(damaged(settings.index, what))
    return link.resolve()


# Room a build needs beyond the copy of the index: the records and vectors it writes.
_SPARE = 50_000_000


def stage(settings: Settings, root: Path | None) -> Path:
    """A private copy of the current generation (`root`; None: an empty one, to build from scratch)
    to build in, after sweeping the copies of builds that were killed."""
    generations = settings.index / GENERATIONS
    generations.mkdir(parents=True, exist_ok=True)
    for leftover in generations.glob(f"*{_BUILDING}"):
        pid = leftover.name.split("-")[-1].removesuffix(_BUILDING)
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)
    staging = generations / f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}{_BUILDING}"
    parts = [root / part for part in _LAYOUT if root is not None and (root / part).is_dir()]
    needed = sum(f.stat().st_size for part in parts for f in part.rglob("*") if f.is_file())
    free = shutil.disk_usage(generations).free
    again = "Free some space and run `zgqa build` again; the index answers as before meanwhile."
    if free < needed + _SPARE:
        raise StoreError(
            f"Not enough free space to build: a build works on a copy of the index ({needed / 1e6:.0f} MB, and "
            f"{_SPARE / 1e6:.0f} MB to spare) and {generations} has {free / 1e6:.0f} MB free. {again}"
        )
    staging.mkdir()
    try:
        for part in parts:
            shutil.copytree(part, staging / part.name)
    except OSError as exc:  # a disk filled by something else meanwhile: the copy goes, the index stays
        shutil.rmtree(staging, ignore_errors=True)
        # shutil.Error carries one (source, copy, reason) per file that failed; the first says why.
        first = exc.args[0][0][2] if isinstance(exc, shutil.Error) and exc.args and exc.args[0] else exc
        raise StoreError(f"Copying the index to build in failed ({first}); the copy was removed. {again}") from exc
    return staging


def publish(settings: Settings, staging: Path) -> Path:
    """Make the built copy the current generation in one atomic rename; keep the one before it and
    any a live process reads, remove older ones and a pre-generation layout."""
    final = staging.with_name(staging.name.removesuffix(_BUILDING))
    staging.rename(final)
    link = settings.index / CURRENT
    previous = link.resolve() if link.is_symlink() else None
    pending = settings.index / f".{CURRENT}.{os.getpid()}"
    pending.unlink(missing_ok=True)
    pending.symlink_to(final.relative_to(settings.index))
    os.replace(pending, link)  # readers see the old generation or the new one, never a mix
    keep = {final.resolve(), previous}
    for old in (settings.index / GENERATIONS).iterdir():
        if old.resolve() in keep or old.name.endswith(_BUILDING) or _read_by_others(old.resolve()):
            continue
        shutil.rmtree(old, ignore_errors=True)
    for part in _LAYOUT:  # the layout before generations, now copied into one
        shutil.rmtree(settings.index / part, ignore_errors=True)
    return final


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


