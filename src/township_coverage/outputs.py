"""Writing the output folder: all files of a run, or none.

Before the work starts, :func:`prepare_output_folder` creates the folder,
checks that it can be written and that no file to be replaced is open in
another program, and clears what killed runs left behind.
:func:`staged_outputs` then yields a staging folder; when every file has
been written there, the files they replace are moved aside, the new ones
moved in, and if any move fails (or Ctrl-C is pressed) the old ones are put
back. Files that are not part of the new set are left alone.

A staging folder is ``.staging-<pid>-<random>`` inside the output folder::

    new/          the new files, written by the run
    old/          the files they replace, while the swap is under way
    targets.txt   names being swapped; present from the start of the swap
                  until it is complete or undone
    complete      written once every new file is in place

A run killed during the swap leaves ``targets.txt`` without ``complete``;
the next run puts the old files back (:func:`remove_stale_staging`) before
it removes the folder. Every step of undoing is safe to repeat.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from township_coverage.errors import OutputError
from township_coverage.interrupts import interrupts_held, note_outputs_replaced

STAGING_PREFIX = ".staging-"
#: Prefix of the owner file Excel and Word keep beside an open document.
OWNER_FILE_PREFIX = "~$"
_NEW, _OLD, _TARGETS, _COMPLETE = "new", "old", "targets.txt", "complete"
_STAGING_NAME = re.compile(r"\.staging-(\d+)-")
# Staging folders of versions that did not name them with the pid.
_LEGACY_STAGING_NAME = re.compile(r"\.staging-[a-z0-9_]{8}")
_FOLDER_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
# On Windows a file open in Excel cannot be opened for writing; elsewhere a
# file that cannot be opened for writing can still be replaced.
_OPEN_FAILS_WHEN_LOCKED = os.name == "nt"


def prepare_output_folder(output_dir: Path, names: Sequence[str]) -> None:
    """Make sure ``output_dir`` can take new files ``names``, before any work.

    Creates the folder, removes the staging folders of runs that were
    killed (restoring their old files first where needed), and checks that
    the folder can be written and that none of ``names`` is open in another
    program.

    Raises
    ------
    OutputError
        Naming the folder (cannot be created or written, disk full) or every
        file that is open in another program.
    """
    _create_folder(output_dir)
    remove_stale_staging(output_dir)
    _check_writable(output_dir)
    locked = locked_files(output_dir, names)
    if locked:
        raise OutputError(_locked_message(locked))


def locked_files(output_dir: Path, names: Sequence[str]) -> list[str]:
    """Those of ``names`` in ``output_dir`` that another program holds open.

    A file is held open when its owner file ``~$<name>`` exists beside it
    (Excel, Word), or, on Windows, when it cannot be opened for writing.
    """
    return [name for name in names if _is_locked(output_dir / name)]


def _is_locked(path: Path) -> bool:
    if not path.exists():
        return False  # an owner file without its document is left over from a crash
    if (path.parent / f"{OWNER_FILE_PREFIX}{path.name}").exists():
        return True
    return _OPEN_FAILS_WHEN_LOCKED and not _opens_for_writing(path)


def _opens_for_writing(path: Path) -> bool:
    try:
        with open(path, "r+b"):
            return True
    except PermissionError:
        return False


def _locked_message(names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"{names[0]} is open in another program; close it and run again"
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    return f"{listed} are open in other programs; close them and run again"


@contextmanager
def staged_outputs(output_dir: Path, names: Sequence[str]) -> Iterator[Path]:
    """Yield a folder to write ``names`` into; they replace their namesakes in ``output_dir`` together.

    Other files written into the yielded folder are dropped. If the block
    raises, or moving the files in fails, ``output_dir`` is left as it was.

    Raises
    ------
    OutputError
        If the folder cannot be written (read-only, disk full) or a file
        cannot be replaced (open in another program).
    """
    _create_folder(output_dir)
    with _folder_errors(output_dir):
        staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=output_dir))
    try:
        with _folder_errors(output_dir):
            (staging / _NEW).mkdir()
            yield staging / _NEW
        _swap_in(staging, output_dir, names)
    finally:
        if not _swap_unfinished(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, output_dir: Path, names: Sequence[str]) -> None:
    """Move the new files in and the replaced ones aside, or undo it all."""
    missing = [name for name in names if not (staging / _NEW / name).exists()]
    if missing:
        raise RuntimeError(f"the run did not write {', '.join(missing)}")
    with interrupts_held() as interrupted:
        if interrupted():
            raise KeyboardInterrupt
        (staging / _OLD).mkdir()
        _write_targets(staging, names)
        try:
            _move_files(names, output_dir, staging)
            if interrupted():
                raise KeyboardInterrupt
        except BaseException as error:
            _undo_swap_or_explain(staging, output_dir)
            if isinstance(error, OSError):
                raise OutputError(_replace_message(error, output_dir)) from None
            raise
    note_outputs_replaced()


def _move_files(names: Sequence[str], output_dir: Path, staging: Path) -> None:
    for name in names:
        if (output_dir / name).exists():
            os.replace(output_dir / name, staging / _OLD / name)
    for name in names:
        os.replace(staging / _NEW / name, output_dir / name)
    (staging / _COMPLETE).touch()


def _write_targets(staging: Path, names: Sequence[str]) -> None:
    partial = staging / f"{_TARGETS}.partial"
    partial.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    os.replace(partial, staging / _TARGETS)


def _swap_unfinished(staging: Path) -> bool:
    """Whether a swap began in ``staging`` and was neither completed nor undone."""
    return (staging / _TARGETS).exists() and not (staging / _COMPLETE).exists()


def _undo_swap(staging: Path, output_dir: Path) -> None:
    """Put the old files back; each step may be repeated after a crash.

    A name no longer in ``new/`` has been moved in, so it goes back there;
    a name in ``old/`` has been moved aside, so it goes back into place.
    ``targets.txt`` goes last: without it the staging folder holds nothing
    that matters.
    """
    (staging / _COMPLETE).unlink(missing_ok=True)
    names = (staging / _TARGETS).read_text(encoding="utf-8").splitlines()
    for name in names:
        new, current, old = staging / _NEW / name, output_dir / name, staging / _OLD / name
        if not new.exists() and current.exists():
            os.replace(current, new)
        if old.exists():
            os.replace(old, current)
    (staging / _TARGETS).unlink()


def _undo_swap_or_explain(staging: Path, output_dir: Path) -> None:
    try:
        _undo_swap(staging, output_dir)
    except OSError as error:
        raise OutputError(
            f"could not put the previous outputs back into {output_dir} ({error.strerror or error}); "
            f"they are kept in {staging.name} and the next run restores them"
        ) from None


def _replace_message(error: OSError, output_dir: Path) -> str:
    name = Path(error.filename).name if error.filename else "a file"
    if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return _folder_message(error, output_dir)
    return (
        f"could not replace {name} in {output_dir} ({error.strerror or error}); "
        "is it open in another program? The previous outputs are unchanged"
    )


def remove_stale_staging(output_dir: Path) -> None:
    """Remove the staging folders of runs that are no longer running.

    A run killed while swapping files gets its old files put back first.
    Folders of runs still going on are left alone.
    """
    for entry in sorted(output_dir.glob(f"{STAGING_PREFIX}*")):
        if not _is_stale(entry.name):
            continue
        if entry.is_dir():
            if _swap_unfinished(entry):
                _undo_swap_or_explain(entry, output_dir)
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _is_stale(name: str) -> bool:
    match = _STAGING_NAME.match(name)
    if match is None:
        return _LEGACY_STAGING_NAME.fullmatch(name) is not None
    pid = int(match.group(1))
    return pid != os.getpid() and not _process_alive(pid)


def _process_alive(pid: int) -> bool:
    if os.name == "nt":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def _windows_process_alive(pid: int) -> bool:
    # os.kill(pid, 0) would terminate the process on Windows.
    import ctypes

    query_limited_information, still_active = 0x1000, 259
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(query_limited_information, False, pid)
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == still_active
    finally:
        kernel32.CloseHandle(handle)


def _create_folder(output_dir: Path) -> None:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        if error.errno in _FOLDER_ERRNOS:
            raise OutputError(_folder_message(error, output_dir)) from None
        raise OutputError(f"cannot create the output folder {output_dir}: {error.strerror or error}") from None


def _check_writable(output_dir: Path) -> None:
    """Write and drop one byte in ``output_dir`` (a file without a name where possible)."""
    with _folder_errors(output_dir):
        with tempfile.TemporaryFile(dir=output_dir, prefix=f"{STAGING_PREFIX}{os.getpid()}-probe-") as probe:
            probe.write(b"\0")
            probe.flush()
            os.fsync(probe.fileno())


@contextmanager
def _folder_errors(output_dir: Path) -> Iterator[None]:
    """Turn "read-only", "permission denied" and "disk full" into one clear :class:`OutputError`."""
    try:
        yield
    except OSError as error:
        if isinstance(error, OutputError) or error.errno not in _FOLDER_ERRNOS:
            raise
        raise OutputError(_folder_message(error, output_dir)) from None


def _folder_message(error: OSError, output_dir: Path) -> str:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        problem = "the disk is full; free some space"
    elif error.errno == errno.EROFS:
        problem = "the disk is read-only; choose another output folder"
    else:
        problem = "permission denied; choose another output folder"
    return f"cannot write to the output folder {output_dir}: {problem} and run again"


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as UTF-8 CSV with a BOM, so that Excel reads it."""
    frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
