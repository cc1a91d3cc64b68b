"""Shared fixtures: a tiny project built in code, and one run of the Linyi default."""

from __future__ import annotations

from pathlib import Path

import pytest

from _support import write_tiny_project
from township_coverage import load_project, run


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    return write_tiny_project(tmp_path)


@pytest.fixture(scope="session")
def linyi_run(tmp_path_factory: pytest.TempPathFactory):
    """The default Linyi run, once per session, into a temporary folder."""
    output = tmp_path_factory.mktemp("linyi_maps")
    return run(load_project(None, output_dir=output))
