"""The output folder: all files of a run or none, clear messages, Ctrl-C exits 130."""

from __future__ import annotations

import errno
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from _support import REPO, without_progress, write_tiny_project
from township_coverage import OutputError, load_project, output_names, run
from township_coverage import console, interrupts, outputs
from township_coverage.cache import CACHE_FOLDER
from township_coverage.cli import main
from township_coverage.outputs import prepare_output_folder, remove_stale_staging, staged_outputs

HTML_RUN = {
    "township_coverage.csv", "county_coverage.csv", "city_summary.csv", "validation.csv",
    "coverage.html", "embed.html", "report.html", "coverage.xlsx", "sites_joined.csv",
}
INTERRUPTED = "interrupted; the previous outputs are unchanged\n"
LOCKED = "Error: coverage.xlsx is open in another program; close it and run again\n"
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
LINUX_PROC = Path("/proc/self/maps").exists()


# ---------------------------------------------------------------- helpers


def _contents(folder: Path) -> dict[str, bytes | None]:
    """Every entry of a folder, hidden ones too, but the cache (no output): file name -> bytes (None for a folder)."""
    return {p.name: (None if p.is_dir() else p.read_bytes()) for p in folder.iterdir() if p.name != CACHE_FOLDER}


def _staging(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".staging"))


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "township_coverage", *args]


def _environment(**extra: str) -> dict[str, str]:
    paths = [str(REPO / "src"), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p), **extra}


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        _command(*args), env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_until(condition: Callable[[], bool], process: subprocess.Popen, what: str, timeout: float = 120) -> None:
    """Poll ``condition`` while the process runs; fail if it ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {what}: {process.stderr.read()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def _has_loaded(process: subprocess.Popen, library: str) -> Callable[[], bool]:
    def loaded() -> bool:
        try:
            return library in Path(f"/proc/{process.pid}/maps").read_text()
        except OSError:
            return False

    return loaded


def _dead_pid() -> int:
    """The pid of a process that has ended (and been waited for)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete set of outputs of the tiny project (HTML report only, to be quick)."""
    folder = tmp_path_factory.mktemp("previous")
    project = write_tiny_project(folder)
    run(load_project(project, output_dir=folder / "maps"), report_formats=("html",))
    return folder


@pytest.fixture
def project_and_outputs(previous_run: Path, tmp_path: Path) -> tuple[Path, Path, dict[str, bytes | None]]:
    """A copy of the tiny project with its previous outputs, and their contents."""
    shutil.copytree(previous_run, tmp_path, dirs_exist_ok=True)
    maps = tmp_path / "maps"
    return tmp_path / "project.toml", maps, _contents(maps)


def _as_nobody(command: list[str]) -> list[str]:
    """The command run as the unprivileged user 'nobody', or a skip saying why that is impossible."""
    if not ROOT:
        pytest.skip("switching to the unprivileged user 'nobody' needs root")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to run as the user 'nobody'")
    switched = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    probe = subprocess.run([*switched[:4], sys.executable, "-c", "pass"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"the user 'nobody' cannot run {sys.executable}: {probe.stderr.strip()}")
    return switched


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: too small for the outputs of a run."""
    if not ROOT:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


@pytest.fixture
def cli_interrupt_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Give back the test process's Ctrl-C handling after a test installs the command line's."""
    previous = signal.getsignal(signal.SIGINT)
    for name in ("installed", "received", "outputs_replaced"):
        monkeypatch.setattr(interrupts._State, name, getattr(interrupts._State, name))
    yield
    signal.signal(signal.SIGINT, previous)


# ------------------------------------------------------- what gets written


def test_each_command_lists_its_files_up_front():
    assert output_names("validate") == ("validation.csv",)
    assert output_names("plan") == (
        "plan_rooms.csv", "plan_rooms.geojson", "plan_townships.csv", "plan_counties.csv", "plan_summary.json", "plan.html",
    )
    assert set(output_names("run", report_formats=("html",))) == HTML_RUN
    with_villages = output_names("run", report_formats=("html",), point_layers=("sites", "villages"))
    assert set(with_villages) == HTML_RUN | {"villages_joined.csv"}
    every = set(output_names("report", report_formats=("html", "docx", "png", "svg", "pdf")))
    maps = {
        f"map_{column}.{fmt}"
        for column in ("station_staff", "community_rooms", "population_share_within_radius", "gap_score")
        for fmt in ("png", "svg", "pdf")
    }
    assert every == HTML_RUN | maps | {"atlas.pdf", "report.docx"}
    with pytest.raises(ValueError, match="unknown command 'draw'"):
        output_names("draw")


def test_a_run_writes_exactly_its_listed_files(previous_run: Path):
    assert set(_contents(previous_run / "maps")) == HTML_RUN


def test_staged_outputs_appear_only_on_success(tmp_path: Path):
    output = tmp_path / "maps"
    with pytest.raises(RuntimeError):
        with staged_outputs(output, ["a.csv"]) as staging:
            (staging / "a.csv").write_text("half")
            raise RuntimeError("failed half way")
    assert list(output.iterdir()) == []
    with staged_outputs(output, ["a.csv"]) as staging:
        (staging / "a.csv").write_text("whole")
        (staging / "scratch.png").write_text("not listed")
    assert _contents(output) == {"a.csv": b"whole"}


# ------------------------------------------------------------ locked files


def test_a_workbook_open_in_excel_stops_the_run_before_any_work(project_and_outputs):
    project, maps, before = project_and_outputs
    (maps / "~$coverage.xlsx").write_bytes(b"owner")
    done = subprocess.run(
        _command("run", "--project", str(project), "--output", str(maps)),
        env=_environment(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr == LOCKED
    assert _contents(maps) == {**before, "~$coverage.xlsx": b"owner"}


def test_every_locked_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in ("coverage.xlsx", "report.docx", "coverage.html"):
        (tmp_path / name).write_bytes(b"old")
    (tmp_path / "~$coverage.xlsx").write_bytes(b"owner")

    def windows_open(path, mode="r", *args, **kwargs):
        if Path(path).name == "report.docx" and mode != "r":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return open(path, mode, *args, **kwargs)

    # Windows: a file open in Word cannot be opened for writing.
    monkeypatch.setattr(outputs, "_OPEN_FAILS_WHEN_LOCKED", True)
    monkeypatch.setattr(outputs, "open", windows_open, raising=False)
    message = "coverage.xlsx and report.docx are open in other programs; close them and run again"
    with pytest.raises(OutputError, match=f"^{message}$"):
        prepare_output_folder(tmp_path, ["coverage.html", "coverage.xlsx", "report.docx"])


def test_an_owner_file_left_without_its_document_is_no_lock(tmp_path: Path):
    (tmp_path / "~$coverage.xlsx").write_bytes(b"left over from a crash")
    prepare_output_folder(tmp_path, ["coverage.xlsx"])
    assert _contents(tmp_path) == {"~$coverage.xlsx": b"left over from a crash"}


# ------------------------------------------------ folders that cannot be written


@pytest.mark.parametrize("command", [["validate"], ["report", "--format", "html"]])
def test_a_folder_the_user_cannot_write_is_one_clear_line(previous_run: Path, command: list[str]):
    # pytest's own temporary folders are private to root; this one is readable by everyone.
    shared = Path(tempfile.mkdtemp(prefix="township-coverage-readonly-"))
    try:
        shutil.copytree(previous_run, shared, dirs_exist_ok=True)
        home = shared / "home"
        home.mkdir()
        shutil.chown(home, 65534, 65534)
        for folder in (shared, *[p for p in shared.rglob("*") if p.is_dir()]):
            folder.chmod(0o755)  # readable, writable only by root
        maps, before = shared / "maps", _contents(shared / "maps")
        for output in (maps, maps / "new"):  # an existing folder, and one that cannot be created
            done = subprocess.run(
                _as_nobody(_command(*command, "--project", str(shared / "project.toml"), "--output", str(output))),
                env=_environment(HOME=str(home), MPLCONFIGDIR=str(home)), capture_output=True, text=True, timeout=120,
            )
            assert done.returncode == 1, done.stderr
            assert done.stderr == (
                f"Error: cannot write to the output folder {output}: "
                "permission denied; choose another output folder and run again\n"
            )
            assert _contents(maps) == before
    finally:
        shutil.rmtree(shared)


def test_a_read_only_disk_is_one_clear_line(small_disk: Path, tiny_project: Path):
    (small_disk / "validation.csv").write_bytes(b"old")
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = CliRunner().invoke(main, ["validate", "--project", str(tiny_project), "--output", str(small_disk)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot write to the output folder {small_disk}: "
        "the disk is read-only; choose another output folder and run again\n"
    )
    assert _contents(small_disk) == {"validation.csv": b"old"}


def test_a_full_disk_leaves_the_previous_outputs(small_disk: Path, tiny_project: Path):
    old = {"coverage.xlsx": b"old workbook", "validation.csv": b"old validation"}
    for name, content in old.items():
        (small_disk / name).write_bytes(content)
    message = f"cannot write to the output folder {small_disk}: the disk is full; free some space and run again"
    with pytest.raises(OutputError, match=f"^{message}$"):
        run(load_project(tiny_project, output_dir=small_disk), report_formats=("html",))
    assert _contents(small_disk) == old


def test_disk_full_while_writing_leaves_nothing_half_written(project_and_outputs, monkeypatch: pytest.MonkeyPatch):
    project, maps, before = project_and_outputs
    write_text = pathlib.Path.write_text

    def full_disk(path: Path, *args, **kwargs):
        if ".staging-" in str(path):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write_text(path, *args, **kwargs)

    # The maps are written with Path.write_text, after the tables are already in staging.
    monkeypatch.setattr(pathlib.Path, "write_text", full_disk)
    result = CliRunner().invoke(main, ["report", "--format", "html", "--project", str(project), "--output", str(maps)])
    assert result.exit_code == 1
    # Progress lines of the steps done before the disk filled up, then the one error line.
    assert without_progress(result.stderr) == (
        f"Error: cannot write to the output folder {maps}: the disk is full; free some space and run again\n"
    )
    assert _contents(maps) == before


# ------------------------------------------------------------------ the swap


def _old_and_new(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    old = {"a.csv": b"old a", "b.csv": b"old b", "keep.txt": b"not part of the new set"}
    for name, content in old.items():
        (folder / name).write_bytes(content)
    return old, ["a.csv", "b.csv", "c.csv"]


def _write_new(staging: Path, names: list[str]) -> None:
    for name in names:
        (staging / name).write_bytes(f"new {name}".encode())


def _permission_denied(source: str) -> OSError:
    return PermissionError(errno.EACCES, "Permission denied", source)


def _replace_failing_at(call: int, error: Callable[[str], BaseException], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the ``call``-th move of an output file (1-based) raise ``error(source)``."""
    replace, moves = os.replace, []

    def failing(source, target, *args, **kwargs):
        # Neither the swap's own list of names nor the cache's entries.
        if not str(source).endswith(".partial") and CACHE_FOLDER not in Path(source).parts:
            moves.append(source)
            if len(moves) == call:
                raise error(str(source))
        return replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing)


@pytest.mark.parametrize("failing_move", [1, 2, 3, 4, 5])  # 2 old files aside, 3 new ones in
def test_a_failed_move_puts_the_previous_set_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_move: int):
    old, names = _old_and_new(tmp_path)
    _replace_failing_at(failing_move, _permission_denied, monkeypatch)
    failing_file = ["a.csv", "b.csv", "a.csv", "b.csv", "c.csv"][failing_move - 1]
    message = (
        f"could not replace {failing_file} in {tmp_path} (Permission denied); "
        "is it open in another program? The previous outputs are unchanged"
    )
    with pytest.raises(OutputError, match=f"^{re.escape(message)}$"):
        with staged_outputs(tmp_path, names) as staging:
            _write_new(staging, names)
    assert _contents(tmp_path) == old


def test_the_third_file_failing_in_a_real_run_keeps_the_previous_set(project_and_outputs, monkeypatch):
    project, maps, before = project_and_outputs
    _replace_failing_at(3, _permission_denied, monkeypatch)
    # The files are moved in the order run() lists them; the third is city_summary.csv.
    with pytest.raises(OutputError, match=r"^could not replace city_summary\.csv in .* The previous outputs are unchanged$"):
        run(load_project(project, output_dir=maps), report_formats=("html",))
    assert _contents(maps) == before


def test_ctrl_c_during_the_swap_puts_the_previous_set_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    old, names = _old_and_new(tmp_path)
    replace = os.replace

    def interrupted(source, target, *args, **kwargs):
        if Path(source).name == "b.csv":
            os.kill(os.getpid(), signal.SIGINT)  # held back until the swap is undone
        return replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with staged_outputs(tmp_path, names) as staging:
            _write_new(staging, names)
    assert _contents(tmp_path) == old


class _Killed(BaseException):
    """The process dies here: nothing after it runs."""


@pytest.mark.parametrize("moves_done", [0, 1, 2, 3, 4])
def test_a_run_killed_during_the_swap_is_undone_by_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moves_done: int
):
    old, names = _old_and_new(tmp_path)
    _replace_failing_at(moves_done + 1, lambda source: _Killed(), monkeypatch)
    monkeypatch.setattr(outputs, "_undo_swap_or_explain", lambda staging, output_dir: None)
    with pytest.raises(_Killed):
        with staged_outputs(tmp_path, names) as staging:
            _write_new(staging, names)
    monkeypatch.undo()
    [left] = _staging(tmp_path)
    (tmp_path / left).rename(tmp_path / f".staging-{_dead_pid()}-killed")
    prepare_output_folder(tmp_path, names)
    assert _contents(tmp_path) == old


def test_a_run_killed_after_the_swap_keeps_the_new_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    old, names = _old_and_new(tmp_path)

    def killed() -> None:
        raise _Killed

    monkeypatch.setattr(outputs, "note_outputs_replaced", killed)
    monkeypatch.setattr(outputs.shutil, "rmtree", lambda *args, **kwargs: None)
    with pytest.raises(_Killed):
        with staged_outputs(tmp_path, names) as staging:
            _write_new(staging, names)
    monkeypatch.undo()
    [left] = _staging(tmp_path)
    (tmp_path / left).rename(tmp_path / f".staging-{_dead_pid()}-killed")
    prepare_output_folder(tmp_path, names)
    assert _contents(tmp_path) == {"a.csv": b"new a.csv", "b.csv": b"new b.csv", "c.csv": b"new c.csv", "keep.txt": old["keep.txt"]}


def test_only_staging_folders_of_ended_runs_are_removed(tmp_path: Path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = _dead_pid()  # after the sleeper started, so that the two pids differ
    try:
        for name in (f".staging-{dead}-abc", f".staging-{os.getpid()}-mine", f".staging-{sleeper.pid}-busy", ".staging-k2j4_x9a"):
            (tmp_path / name / "new").mkdir(parents=True)
        (tmp_path / f".staging-{dead}-probe-xyz").write_bytes(b"\0")
        (tmp_path / "coverage.html").write_bytes(b"mine")
        remove_stale_staging(tmp_path)
        kept = [f".staging-{os.getpid()}-mine", f".staging-{sleeper.pid}-busy", "coverage.html"]
        assert sorted(_contents(tmp_path)) == sorted(kept)  # as text, "1150" sorts before "383"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_run_killed_mid_way_leaves_the_previous_outputs_and_the_next_run_cleans_up(project_and_outputs):
    project, maps, before = project_and_outputs
    process = _start("run", "--project", str(project), "--output", str(maps))
    _wait_until(lambda: bool(_staging(maps)), process, "the staging folder appeared")
    process.kill()
    process.communicate()
    [stale] = _staging(maps)
    assert {name: content for name, content in _contents(maps).items() if name != stale} == before

    done = subprocess.run(
        _command("run", "--project", str(project), "--output", str(maps)),
        env=_environment(), capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert _staging(maps) == []
    assert set(_contents(maps)) == set(output_names("run"))


# --------------------------------------------------------------------- Ctrl-C


@pytest.mark.skipif(not LINUX_PROC, reason="watches the run through /proc/<pid>/maps")
@pytest.mark.parametrize(
    "moment",
    ["importing numpy", "reading the inputs", "writing the outputs"],
)
def test_ctrl_c_exits_130_with_one_line(project_and_outputs, moment: str):
    project, maps, before = project_and_outputs
    process = _start("run", "--project", str(project), "--output", str(maps))
    condition = {
        "importing numpy": _has_loaded(process, "_multiarray_umath"),
        "reading the inputs": _has_loaded(process, "pyogrio"),
        "writing the outputs": lambda: bool(_staging(maps)),
    }[moment]
    _wait_until(condition, process, moment)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert without_progress(stderr) == INTERRUPTED
    assert _contents(maps) == before


@pytest.mark.parametrize("seconds", [0.2, 0.4, 0.8])
def test_ctrl_c_soon_after_start_exits_130(project_and_outputs, seconds: float):
    project, maps, before = project_and_outputs
    process = _start("run", "--project", str(project), "--output", str(maps))
    time.sleep(seconds)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert without_progress(stderr) == INTERRUPTED
    assert _contents(maps) == before


def _swallow_ctrl_c() -> None:
    """What a library with a broad ``except`` does to Ctrl-C."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    except BaseException:
        pass


def test_a_swallowed_ctrl_c_still_exits_130(cli_interrupt_state, monkeypatch, capsys):
    def command_line(args) -> int:
        _swallow_ctrl_c()
        print("the run went on")
        return 0

    def exit_now(status: int) -> None:
        raise SystemExit(status)  # os._exit would end pytest too

    monkeypatch.setattr(console, "_run_command_line", command_line)
    monkeypatch.setattr(os, "_exit", exit_now)
    with pytest.raises(SystemExit) as exit:
        console.main([])
    assert exit.value.code == 130
    assert capsys.readouterr() == ("the run went on\n", INTERRUPTED)


def test_a_swallowed_ctrl_c_stops_the_swap(cli_interrupt_state, tmp_path: Path):
    old, names = _old_and_new(tmp_path)
    interrupts.install_interrupt_handler()
    with pytest.raises(KeyboardInterrupt):
        with staged_outputs(tmp_path, names) as staging:
            _write_new(staging, names)
            _swallow_ctrl_c()
    assert _contents(tmp_path) == old


def test_importing_the_package_loads_no_heavy_library():
    code = (
        "import sys, township_coverage as tc\n"
        "heavy = [m for m in ('geopandas', 'pandas', 'numpy', 'click') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from township_coverage import run, load_project, OutputError, CoverageError\n"
        "assert issubclass(OutputError, (CoverageError, OSError))\n"
        "assert all(getattr(tc, name) is not None for name in tc.__all__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_environment(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_fault_inside_the_tool_is_one_line_and_a_file(tmp_path, monkeypatch, capsys):
    from township_coverage import console, pipeline

    def broken(config, **options):
        raise KeyError("a fault")

    monkeypatch.setattr(pipeline, "validate_project", broken)
    project = write_tiny_project(tmp_path)
    status = console._run_command_line(["validate", "--project", str(project), "--output", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("internal error (a fault in township-coverage, not in your data): KeyError: 'a fault'")
    assert "Traceback" not in error and len(error.strip().splitlines()) == 1
    details = Path(error.split("the details are in ")[1].split(";")[0])
    assert "Traceback" in details.read_text(encoding="utf-8")
    details.unlink()
