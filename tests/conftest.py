"""Shared fixtures: a tiny project built in code, and one run of the Linyi default."""

from __future__ import annotations

from pathlib import Path

import pytest

from _support import write_tiny_project
from township_coverage import load_project, run
from township_coverage.metrics import COVERING_SITE_TYPES
from township_coverage.pipeline import checked_inputs


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    return write_tiny_project(tmp_path)


@pytest.fixture(scope="session")
def linyi_run(tmp_path_factory: pytest.TempPathFactory):
    """The default Linyi run, once per session, into a temporary folder."""
    output = tmp_path_factory.mktemp("linyi_maps")
    return run(load_project(None, output_dir=output))


@pytest.fixture(scope="session")
def linyi_plan_inputs():
    """The Linyi default's checked inputs as planning uses them: (validation, villages, sites, covering sites)."""
    config = load_project(None)
    validation = checked_inputs(config, skip_invalid=None, use_cache=False)
    villages = validation.village_join.usable()
    villages = villages[villages.geometry.notna()]
    sites = validation.site_join.usable()
    existing = sites[sites["site_type"].isin(COVERING_SITE_TYPES) & sites.geometry.notna()]
    return validation, villages, sites, existing
