"""A content-keyed on-disk cache of expensive intermediate results.

An entry is found by a key made of everything its result depends on: the
bytes of the input files, the settings (anything with a stable ``repr``),
the tool's version and source, and :data:`CACHE_FORMAT`. A changed file,
setting or tool therefore never finds an old entry. Entries are pickles,
or copies of output files (:meth:`Cache.get_or_write`), written
atomically (a temporary file in the cache folder, then ``os.replace``);
an entry that cannot be read is removed and computed again, never an
error. Only the newest :data:`KEEP_PER_KIND` entries of
each kind are kept.

The folder (:data:`CACHE_FOLDER` inside the output folder) is the user's
own and safe to delete at any time. Pickles run code when loaded, so the
folder must not be shared with people one would not run programs from.
"""

from __future__ import annotations

import copyreg
import hashlib
import io
import os
import pickle
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

#: Name of the cache folder inside the output folder.
CACHE_FOLDER = ".township-coverage-cache"
#: Raised whenever the layout or meaning of entries changes.
CACHE_FORMAT = 1
#: Entries kept per kind; the least recently used beyond these are removed.
KEEP_PER_KIND = 3
_ENTRY_SUFFIX = ".pickle"
# Entries that are output files, copied as they are.
_FILE_SUFFIX = ".file"
_TEMPORARY_SUFFIX = ".tmp"
# Temporary files older than this are left over from killed runs.
_ABANDONED_AFTER_S = 3600.0
_KIND = re.compile(r"[a-z][a-z0-9_]*")
_PACKAGE = Path(__file__).resolve().parent
# Files that belong to a Shapefile and change what it reads as.
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")

T = TypeVar("T")


class Cache:
    """Results on disk, found by the content they were computed from.

    Parameters
    ----------
    folder
        Where entries live; ``None`` for a cache that computes every
        result and writes nothing (``--no-cache``).
    keep
        Entries kept per kind.
    """

    def __init__(self, folder: Path | None, *, keep: int = KEEP_PER_KIND) -> None:
        self.folder = folder
        self.keep = keep

    @property
    def enabled(self) -> bool:
        """Whether results are read from and written to disk."""
        return self.folder is not None

    def get_or_compute(self, kind: str, key_parts: Sequence[object], compute: Callable[[], T]) -> T:
        """The stored result for ``key_parts``, or ``compute()``'s, stored for next time.

        Parameters
        ----------
        kind
            What the result is (lower-case letters, digits, ``_``), e.g.
            ``"townships"``; names the entry files and bounds their number.
        key_parts
            Everything the result depends on: a :class:`~pathlib.Path`
            counts by the bytes of the file (a Shapefile with its sidecar
            files), anything else by its ``repr``.
        compute
            Makes the result when there is no usable entry.
        """
        path = self._entry(kind, key_parts, _ENTRY_SUFFIX)
        if path is None:
            return compute()
        found, value = _load(path)
        if found:
            _mark_used(path)
            return value
        value = compute()
        if _store(path, value):
            self._prune(self.folder, kind)
        return value

    def get_or_write(self, kind: str, key_parts: Sequence[object], path: Path, write: Callable[[Path], None]) -> bool:
        """Make the file ``path``: a copy of the one stored for ``key_parts``, else ``write(path)``'s, then stored.

        For outputs that take long to write and depend on few inputs (e.g.
        the rows of an unchanged village table). The stored file is a copy,
        so an output edited in place never changes what the cache holds.

        Parameters
        ----------
        kind, key_parts
            As for :meth:`get_or_compute`.
        path
            The file to make.
        write
            Writes the file to the path it is given.

        Returns
        -------
        bool
            Whether the stored file was used.
        """
        stored = self._entry(kind, key_parts, _FILE_SUFFIX)
        if stored is None:
            write(path)
            return False
        try:
            shutil.copyfile(stored, path)
        except OSError:
            write(path)
            if _store_copy(stored, path):
                self._prune(self.folder, kind)
            return False
        _mark_used(stored)
        return True

    def _entry(self, kind: str, key_parts: Sequence[object], suffix: str) -> Path | None:
        """The entry file for ``key_parts`` (``None`` when the cache is off); refuses kinds that are not plain names."""
        if not _KIND.fullmatch(kind):
            raise ValueError(f"cache kind {kind!r}: use lower-case letters, digits and '_'")
        if self.folder is None:
            return None
        return self.folder / f"{kind}-{entry_key(key_parts)}{suffix}"

    def entries(self, kind: str) -> list[Path]:
        """Entry files of ``kind``, most recently used first."""
        if self.folder is None or not self.folder.is_dir():
            return []
        found = [p for p in self.folder.glob(f"{kind}-*") if p.suffix in (_ENTRY_SUFFIX, _FILE_SUFFIX)]
        return sorted(found, key=_modified, reverse=True)

    def _prune(self, folder: Path, kind: str) -> None:
        """Drop entries of ``kind`` beyond :attr:`keep` and temporary files of killed runs."""
        for path in self.entries(kind)[self.keep:]:
            _remove(path)
        now = time.time()
        for path in folder.glob(f".*{_TEMPORARY_SUFFIX}"):
            if now - _modified(path) > _ABANDONED_AFTER_S:
                _remove(path)


#: ``remember(kind, key_parts, compute)``: ``compute()``'s result, kept per key
#: (:meth:`Cache.get_or_compute`, or :func:`compute_now`, which keeps nothing).
Remember = Callable[[str, Sequence[object], Callable[[], Any]], Any]


def compute_now(kind: str, key_parts: Sequence[object], compute: Callable[[], T]) -> T:
    """A :data:`Remember` that keeps nothing: ``compute()``."""
    return compute()


def output_cache(output_dir: Path, *, enabled: bool = True) -> Cache:
    """The cache of an output folder (:data:`CACHE_FOLDER` inside it), or a disabled one."""
    return Cache(output_dir / CACHE_FOLDER if enabled else None)


def entry_key(key_parts: Iterable[object]) -> str:
    """Hex digest of ``key_parts`` (files by content), the tool's version and :data:`CACHE_FORMAT`."""
    digest = hashlib.sha256()
    for part in (CACHE_FORMAT, tool_fingerprint(), *key_parts):
        for piece in _key_pieces(part):
            digest.update(len(piece).to_bytes(8, "little"))
            digest.update(piece)
    return digest.hexdigest()[:32]


def _key_pieces(part: object) -> list[bytes]:
    """Bytes that stand for one key part: a file's name and content, else its ``repr``."""
    if not isinstance(part, Path):
        return [repr(part).encode("utf-8")]
    pieces = [b"path", str(part).encode("utf-8")]
    for file in _files_read_as(part):
        pieces += [file.name.encode("utf-8"), file_digest(file)]
    return pieces


def _files_read_as(path: Path) -> list[Path]:
    """``path``, with the sidecar files of a Shapefile."""
    if path.suffix.lower() != ".shp":
        return [path]
    return [p for p in sorted(path.parent.glob(f"{path.stem}.*")) if p.suffix.lower() in _SHAPEFILE_PARTS]


def file_digest(path: Path) -> bytes:
    """SHA-256 of a file's bytes; ``b"missing"`` for a file that cannot be read."""
    try:
        with open(path, "rb") as file:
            return hashlib.file_digest(file, "sha256").digest()
    except OSError:
        return b"missing"


@lru_cache(maxsize=1)
def tool_fingerprint() -> str:
    """The package version and a digest of its source, so that a changed tool never reuses results."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("township-coverage")
    except PackageNotFoundError:
        installed = "not installed"
    digest = hashlib.sha256()
    for source in sorted(_PACKAGE.rglob("*.py")):
        digest.update(source.relative_to(_PACKAGE).as_posix().encode("utf-8"))
        digest.update(file_digest(source))
    return f"{installed}:{digest.hexdigest()}"


def _load(path: Path) -> tuple[bool, Any]:
    """``(True, value)`` for a readable entry; ``(False, None)`` otherwise, removing a broken one."""
    try:
        with open(path, "rb") as file:
            return True, pickle.load(file)
    except FileNotFoundError:
        return False, None
    except Exception:  # a truncated or foreign file may raise almost anything while unpickling
        _remove(path)
        return False, None


def _store(path: Path, value: object) -> bool:
    """Write ``value`` to ``path`` atomically; whether it was written (a full disk is no error)."""
    data = _pickled(value)
    return _store_atomically(path, lambda file: file.write(data))


def _store_copy(path: Path, source: Path) -> bool:
    """Copy the file ``source`` to ``path`` atomically; whether it was copied."""

    def copy(file) -> None:
        with open(source, "rb") as original:
            shutil.copyfileobj(original, file, 2**20)

    return _store_atomically(path, copy)


def _store_atomically(path: Path, write: Callable[[Any], object]) -> bool:
    """``write(file)`` into a temporary file, then rename it to ``path``; whether that worked."""
    temporary: Path | None = None
    try:
        _create_folder(path.parent)
        handle, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=_TEMPORARY_SUFFIX, dir=path.parent)
        temporary = Path(name)
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.replace(temporary, path)
        return True
    except OSError:
        if temporary is not None:
            _remove(temporary)
        return False


def _create_folder(folder: Path) -> None:
    """Create the cache folder with a ``CACHEDIR.TAG``, which backup tools skip."""
    if folder.is_dir():
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "CACHEDIR.TAG").write_text(
        "Signature: 8a477f597d28d172789f06886806bc55\n"
        "# township-coverage cache of intermediate results; safe to delete.\n",
        encoding="utf-8",
    )


def _mapping_proxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


class _Pickler(pickle.Pickler):
    """A pickler that also takes the read-only mappings of frozen settings."""

    dispatch_table = copyreg.dispatch_table.copy()
    dispatch_table[MappingProxyType] = lambda proxy: (_mapping_proxy, (dict(proxy),))


def _pickled(value: object) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _mark_used(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
