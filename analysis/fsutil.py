"""Atomic file writes, all-or-nothing groups of them, and the lock that serialises writers.

A reader (or a crash) never sees a half-written file; a `Transaction` either changes every
file it staged or none; `locked` keeps two writers of one tree from interleaving.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import AnalysisError

TMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
    os.close(fd)
    return Path(tmp)


def _seal(tmp: Path) -> None:
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())


def _fill(tmp: Path, data: bytes) -> None:
    tmp.write_bytes(data)
    _seal(tmp)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed over `path`
    (with the permissions a plain `open` would give), on error it is removed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(target)
    try:
        yield tmp
        _seal(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write all of `data` to `path`, or nothing."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def _why(e: OSError) -> str:
    return e.strerror or type(e).__name__


def check_writable_dir(path: str | os.PathLike) -> str | None:
    """None if `path` is (or can be created as) a writable directory, else why not.

    A real temporary file is created and removed: `os.access` says yes to root everywhere,
    also on read-only mounts and in /proc."""
    path = Path(path)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory"
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as e:
        return f"cannot create a file in {probe} ({_why(e)})"
    return None


def check_replaceable(path: str | os.PathLike) -> str | None:
    """None if `path` can be written (created or replaced) now, else why not: its directory must
    take a new file, and an existing file must be a regular file open for writing (an immutable
    or read-only file is refused before anything else is written)."""
    path = Path(path)
    problem = check_writable_dir(path.parent)
    if problem:
        return problem
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return f"{path} is not a regular file"
    if path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        except OSError as e:
            return f"{path} is not writable ({_why(e)})"
    return None


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the temporaries an interrupted atomic write left in `directory` (call it while
    holding the directory's lock, so no live writer's temporary is taken)."""
    if not directory.is_dir():
        return []
    stale = sorted(p for p in directory.glob(f".*{TMP_SUFFIX}") if p.is_file())
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


@contextlib.contextmanager
def locked(lock_file: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if needed); a second holder is refused
    at once with a message naming `what` and the holder's pid, rather than interleaving."""
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise AnalysisError(f"cannot lock {what} ({lock_file}: {_why(e)}); nothing changed") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise AnalysisError(
                f"{what} is locked by another run (pid {holder}, lock {lock_file}); nothing changed: "
                "wait for it to finish and run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays (deleting it would race a waiter)


@dataclass
class Transaction:
    """Files to write (bytes) or delete (None), applied all together or not at all.

    `commit` checks every target first, writes every temporary next, and only then renames
    them into place; if any step fails, files already renamed get their old bytes back, the
    temporaries are removed, and AnalysisError says that nothing changed.
    """

    staged: dict[Path, bytes | None] = field(default_factory=dict)  # path -> new bytes; None: delete

    def write(self, path: Path, data: bytes) -> None:
        self.staged[Path(path)] = data

    def delete(self, path: Path) -> None:
        self.staged[Path(path)] = None

    def commit(self) -> None:
        for path in self.staged:
            problem = check_replaceable(path)
            if problem:
                raise AnalysisError(f"cannot write {path}: {problem}; nothing changed")
        before = {p: (p.read_bytes() if p.exists() else None) for p in self.staged}
        temps: dict[Path, Path] = {}
        done: list[Path] = []
        current: Path | None = None  # the file being written when a step fails
        try:
            for current, data in self.staged.items():
                if data is not None:
                    current.parent.mkdir(parents=True, exist_ok=True)
                    temps[current] = _temp_beside(current)
                    _fill(temps[current], data)
            for current, data in self.staged.items():
                if data is None:
                    current.unlink(missing_ok=True)
                else:
                    os.replace(temps[current], current)
                    del temps[current]
                done.append(current)
        except (OSError, KeyboardInterrupt) as e:
            stuck = self._undo(done, before)
            for tmp in temps.values():
                tmp.unlink(missing_ok=True)
            if isinstance(e, KeyboardInterrupt):
                raise
            outcome = f"could not put back {', '.join(stuck)}: check them" if stuck else "nothing changed"
            raise AnalysisError(f"writing {current} failed ({_why(e)}); {outcome}") from None

    @staticmethod
    def _undo(done: list[Path], before: dict[Path, bytes | None]) -> list[str]:
        failed = []
        for path in reversed(done):
            try:
                if before[path] is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write(path, before[path])  # type: ignore[arg-type]
            except OSError:
                failed.append(str(path))
        return failed


def _link_into(src: Path, dst: Path) -> None:
    """Hard-link `src` (a file or a tree) at `dst`: instant, and `src` stays intact until the swap."""

    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:  # a file system without hard links
            shutil.copy2(a, b)

    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, copy_function=link)
    elif src.is_symlink():
        os.symlink(os.readlink(src), dst)
    else:
        link(str(src), str(dst))


def _recover(target: Path) -> None:
    """Undo what a swap killed half-way left (call it holding the lock): the old directory goes
    back if the new one never arrived; unfinished new ones are removed."""
    for stale in sorted(target.parent.glob(f".{target.name}.old.*")):
        if not target.exists():
            os.replace(stale, target)
        else:
            shutil.rmtree(stale, ignore_errors=True)
    for stale in target.parent.glob(f".{target.name}.new.*"):
        shutil.rmtree(stale, ignore_errors=True)


def replace_dir(target: Path, files: Mapping[str, bytes | str], owned: Collection[str]) -> list[Path]:
    """Make `target` hold `files` (relative name -> content) in place of everything it had under
    the top-level names in `owned`; its other entries (another command's state) are kept.

    The new content is built in a sibling directory (kept entries hard-linked into it) and
    swapped in, so no file of an earlier run survives under an owned name and a crash leaves
    either the old directory or the new one, whole."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise AnalysisError(f"cannot write {target}: {_why(e)}") from None
    with locked(target.parent / f".{target.name}.lock", f"directory {target}"):
        _recover(target)
        new = Path(tempfile.mkdtemp(prefix=f".{target.name}.new.", dir=target.parent))
        old = new.with_name(new.name.replace(".new.", ".old.", 1))
        try:
            if target.is_dir():
                for entry in sorted(target.iterdir()):
                    if entry.name not in owned:
                        _link_into(entry, new / entry.name)
            for name, content in sorted(files.items()):
                f = new / name
                f.parent.mkdir(parents=True, exist_ok=True)
                _fill(f, content.encode() if isinstance(content, str) else content)
            os.chmod(new, 0o777 & ~_umask())  # mkdtemp makes 0700 directories
            if target.exists():
                os.replace(target, old)
            os.replace(new, target)
        except BaseException as e:
            if old.exists() and not target.exists():
                os.replace(old, target)
            shutil.rmtree(new, ignore_errors=True)
            if isinstance(e, OSError):
                raise AnalysisError(f"cannot write {target}: {_why(e)}; it is left as it was") from None
            raise
        shutil.rmtree(old, ignore_errors=True)
    return [target / name for name in sorted(files)]
