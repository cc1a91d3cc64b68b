"""The content-keyed cache: reused when nothing changed, never stale, safe to break or delete."""

from __future__ import annotations

import dataclasses
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from _support import write_multipart_project, write_tiny_project
from township_coverage import cache, load_project, pipeline, run, validation
from township_coverage.cache import CACHE_FOLDER, Cache
from township_coverage.cli import main
from township_coverage.pipeline import validated_project

NEW_ROOM = "R3,社工室,丁村社工室,100000001,118.002,35.008,\n"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """How often the pipeline reads the townships and each point table."""
    counter: Counter = Counter()
    read_townships, read_points = pipeline.read_checked_townships, validation.read_table

    def counted_read_townships(layer):
        counter["townships"] += 1
        return read_townships(layer)

    def counted_read_points(layer, *, layer_name):
        counter[layer_name] += 1
        return read_points(layer, layer_name=layer_name)

    monkeypatch.setattr(pipeline, "read_checked_townships", counted_read_townships)
    monkeypatch.setattr(validation, "read_table", counted_read_points)
    return counter


@pytest.fixture
def config(tmp_path: Path):
    return load_project(write_tiny_project(tmp_path), output_dir=tmp_path / "out")


def _rooms(validation) -> int:
    sites = validation.site_join.usable()
    return int((sites["site_type"] == "community_room").sum())


def test_an_identical_second_run_reads_nothing(config, calls):
    first = validated_project(config)
    second = validated_project(config)
    assert calls == {"townships": 1, "sites": 1}
    assert second.row_accounting().equals(first.row_accounting())
    assert list(second.townships["township_code"]) == ["100000001", "100000002"]
    assert _rooms(second) == 2


def test_a_changed_site_list_reuses_the_townships_and_counts_the_new_room(config, calls):
    first = run(config, report_formats=("html",))
    assert first.city["community_rooms"] == 2
    with open(config.sites.path, "a", encoding="utf-8") as sites:
        sites.write(NEW_ROOM)
    second = run(config, report_formats=("html",))
    assert calls == {"townships": 1, "sites": 2}
    assert second.city["community_rooms"] == 3


def test_a_changed_site_list_reuses_the_villages(tmp_path: Path, calls):
    config = load_project(write_multipart_project(tmp_path), output_dir=tmp_path / "out")
    first = validated_project(config)
    with open(config.sites.path, "a", encoding="utf-8") as sites:
        sites.write("\n")  # another byte: another file, the same rows
    second = validated_project(config)
    assert calls == {"townships": 1, "sites": 2, "villages": 1}
    assert second.village_join.points.equals(first.village_join.points)
    assert second.row_accounting().equals(first.row_accounting())
    # Changed villages are read again, and their rows' count shows it.
    text = config.villages.path.read_text(encoding="utf-8").splitlines()
    config.villages.path.write_text("\n".join(text[:-1]) + "\n", encoding="utf-8")
    fewer = validated_project(config)
    assert calls == {"townships": 1, "sites": 2, "villages": 2}
    assert len(fewer.village_join.points) == len(first.village_join.points) - 1


def test_one_changed_byte_is_a_miss(config, calls):
    validated_project(config)
    text = config.sites.path.read_text(encoding="utf-8")
    config.sites.path.write_text(text.replace("118.018", "118.019"), encoding="utf-8")  # same size
    moved = validated_project(config)
    assert calls["sites"] == 2
    assert moved.site_join.points.set_index("site_id").loc["R2", "lon"] == pytest.approx(118.019)


def test_a_changed_setting_is_a_miss(config, calls):
    validated_project(config)
    validated_project(dataclasses.replace(config, snap_tolerance_m=config.snap_tolerance_m + 1))
    assert calls == {"townships": 1, "sites": 2}
    layer = dataclasses.replace(config.townships, repair_invalid=not config.townships.repair_invalid)
    validated_project(dataclasses.replace(config, townships=layer))
    assert calls == {"townships": 2, "sites": 3}  # joined to other townships


def test_a_changed_tool_is_a_miss(config, calls, monkeypatch):
    validated_project(config)
    monkeypatch.setattr(cache, "tool_fingerprint", lambda: "another version")
    validated_project(config)
    assert calls == {"townships": 2, "sites": 2}


@pytest.mark.parametrize("broken", [b"", b"not a pickle", b"\x80\x05\x95"])
def test_a_corrupt_entry_is_a_miss_and_is_replaced(config, calls, broken):
    validated_project(config)
    entries = sorted((config.output_dir / CACHE_FOLDER).glob("*.pickle"))
    assert len(entries) == 2
    for entry in entries:
        entry.write_bytes(broken)
    validation = validated_project(config)
    assert calls == {"townships": 2, "sites": 2}
    assert _rooms(validation) == 2
    validated_project(config)
    assert calls == {"townships": 2, "sites": 2}  # the entries were written again


def test_a_deleted_cache_folder_is_computed_again(config, calls):
    validated_project(config)
    shutil.rmtree(config.output_dir / CACHE_FOLDER)
    validation = validated_project(config)
    assert calls == {"townships": 2, "sites": 2}
    assert _rooms(validation) == 2


def test_no_cache_computes_every_time_and_writes_nothing(tmp_path: Path, config, calls):
    validated_project(config, use_cache=False)
    validated_project(config, use_cache=False)
    assert calls == {"townships": 2, "sites": 2}
    output = tmp_path / "cli-out"
    result = CliRunner().invoke(
        main, ["validate", "--no-cache", "--project", str(config.source), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert not (output / CACHE_FOLDER).exists()
    assert (output / "validation.csv").exists()


def test_the_command_line_keeps_the_cache_in_the_output_folder(tmp_path: Path, config):
    output = tmp_path / "cli-out"
    result = CliRunner().invoke(main, ["validate", "--project", str(config.source), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name.split("-")[0] for p in (output / CACHE_FOLDER).glob("*.pickle")) == ["points", "townships"]


def test_only_the_newest_entries_of_a_kind_are_kept(tmp_path: Path):
    store = Cache(tmp_path / "cache", keep=2)
    for number in range(4):
        assert store.get_or_compute("numbers", [number], lambda: number * 10) == number * 10
    store.get_or_compute("other", ["x"], lambda: "x")
    assert len(store.entries("numbers")) == 2
    assert len(store.entries("other")) == 1
    assert store.get_or_compute("numbers", [3], lambda: "computed again") == 30
    assert store.get_or_compute("numbers", [0], lambda: "computed again") == "computed again"


def test_a_file_in_the_key_counts_by_its_content(tmp_path: Path):
    store = Cache(tmp_path / "cache")
    data = tmp_path / "data.csv"
    data.write_text("a", encoding="utf-8")
    assert store.get_or_compute("files", [data], lambda: "first") == "first"
    assert store.get_or_compute("files", [data], lambda: "second") == "first"
    data.write_text("b", encoding="utf-8")
    assert store.get_or_compute("files", [data], lambda: "third") == "third"


def test_a_failed_write_is_no_error(tmp_path: Path):
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("", encoding="utf-8")
    store = Cache(blocked / "cache")
    assert store.get_or_compute("numbers", [1], lambda: 1) == 1
    assert store.entries("numbers") == []


def test_kinds_are_plain_names(tmp_path: Path):
    with pytest.raises(ValueError, match="cache kind '../x'"):
        Cache(tmp_path).get_or_compute("../x", [], lambda: None)


def test_the_map_borders_are_reused_until_a_border_changes(config, monkeypatch):
    from township_coverage.webmap import page_data

    built: Counter = Counter()
    build_topology = page_data.border_topology

    def counted(*args, **options):
        built["borders"] += 1
        return build_topology(*args, **options)

    monkeypatch.setattr(page_data, "border_topology", counted)
    run(config, report_formats=("html",))
    with open(config.sites.path, "a", encoding="utf-8") as sites:  # a new room: same borders
        sites.write(NEW_ROOM)
    run(config, report_formats=("html",))
    assert built["borders"] == 1
    # Moving a corner of one township is a new border: built again, and the map shows the move.
    text = config.townships.path.read_text(encoding="utf-8")
    assert text.count("118.02") > 0
    config.townships.path.write_text(text.replace("118.02", "118.025"), encoding="utf-8")
    moved = run(config, report_formats=("html",))
    assert built["borders"] == 2
    from _support import map_townships

    page = (config.output_dir / "coverage.html").read_text(encoding="utf-8")
    east = max(shape.bounds[2] for shape in map_townships(page).values())
    assert east == pytest.approx(118.025, abs=2e-5)
    assert moved.townships.shape[0] == 2


def _table_outputs(folder: Path) -> dict[str, bytes]:
    """The tables, workbook and static maps of an output folder (the other outputs hold ids made per run)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".csv", ".xlsx", ".png")}


def test_outputs_of_unchanged_inputs_are_copied_and_equal_those_of_a_run_without_cache(tmp_path: Path, monkeypatch):
    from township_coverage.report import staticmap, xlsx

    config = load_project(write_multipart_project(tmp_path), output_dir=tmp_path / "out")
    fresh = dataclasses.replace(config, output_dir=tmp_path / "fresh")
    formats = ("html", "png")
    written: Counter = Counter()
    write_csv, write_sheets, draw_map = pipeline.write_csv, xlsx.write_sheets, staticmap.draw_indicator_map

    def counted_csv(frame, path):
        written[path.name] += 1
        return write_csv(frame, path)

    def counted_sheets(sheets, path):
        written["village sheets"] += 1
        return write_sheets(sheets, path)

    def counted_map(table, column, **options):
        written[f"map of {column}"] += 1
        return draw_map(table, column, **options)

    monkeypatch.setattr(pipeline, "write_csv", counted_csv)
    monkeypatch.setattr(xlsx, "write_sheets", counted_sheets)
    monkeypatch.setattr(staticmap, "draw_indicator_map", counted_map)

    def same_as_without_cache() -> None:
        run(fresh, report_formats=formats, use_cache=False)
        assert _table_outputs(config.output_dir) == _table_outputs(fresh.output_dir)

    first = run(config, report_formats=formats)
    with open(config.sites.path, "a", encoding="utf-8") as sites:
        sites.write("R9,社工室,新建社工室,118.052,35.052,\n")
    second = run(config, report_formats=formats)
    assert second.city["community_rooms"] == first.city["community_rooms"] + 1
    assert written["villages_joined.csv"] == 1 and written["village sheets"] == 1
    assert written["sites_joined.csv"] == 2
    assert written["map of station_staff"] == 1  # the new room changes no station
    assert written["map of community_rooms"] == written["map of gap_score"] == 2
    same_as_without_cache()

    text = config.villages.path.read_text(encoding="utf-8")
    config.villages.path.write_text(text.replace("城中村", "城中新村"), encoding="utf-8")
    run(config, report_formats=formats)
    assert written["villages_joined.csv"] == 3 and written["village sheets"] == 3  # this run, and the run without cache
    rows = (config.output_dir / "villages_joined.csv").read_text(encoding="utf-8-sig")
    assert "城中新村" in rows and "城中村" not in rows
    workbook = pd.read_excel(config.output_dir / "coverage.xlsx", sheet_name="村（社区）逐行", dtype=str)
    assert "城中新村" in set(workbook["名称"])
    same_as_without_cache()

    # Another title is another map: drawn again, never copied.
    maps_before = written["map of station_staff"]
    run(dataclasses.replace(config, name="另一个项目"), report_formats=formats)
    assert written["map of station_staff"] == maps_before + 1

    shutil.rmtree(config.output_dir / CACHE_FOLDER)
    run(config, report_formats=formats)
    assert written["villages_joined.csv"] == 5  # the title changes no row
    same_as_without_cache()


def test_a_stored_file_is_a_copy_of_its_own(tmp_path: Path):
    store = Cache(tmp_path / "cache", keep=2)
    made: list[str] = []

    def write(text: str):
        def to(path: Path) -> None:
            made.append(text)
            path.write_text(text, encoding="utf-8")
        return to

    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert not store.get_or_write("rows", ["a"], first, write("a"))
    first.write_text("edited by the user", encoding="utf-8")  # an output changed in place ...
    assert store.get_or_write("rows", ["a"], second, write("a again"))
    assert second.read_text(encoding="utf-8") == "a" and made == ["a"]  # ... is not what the cache holds
    for key in "bcd":
        store.get_or_write("rows", [key], tmp_path / f"{key}.csv", write(key))
    assert len(store.entries("rows")) == 2
    assert not Cache(None).get_or_write("rows", ["a"], tmp_path / "off.csv", write("off"))
    assert (tmp_path / "off.csv").read_text(encoding="utf-8") == "off"
    with pytest.raises(ValueError, match="cache kind"):
        store.get_or_write("Rows!", [], tmp_path / "x", write("x"))
