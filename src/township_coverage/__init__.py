"""township-coverage: coverage of social-work stations and rooms per township.

The public names below are imported on first use (PEP 562), so that
importing the package, as the console script does before it can handle
Ctrl-C, does not load geopandas and the other heavy libraries.
"""

from __future__ import annotations

from importlib import import_module

# Not typing.TYPE_CHECKING: importing typing alone takes longer than the rest
# of the package. Type checkers treat this name the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from township_coverage.errors import ConfigError, CoverageError, InputDataError, OutputError, Problem
    from township_coverage.inputs.config import LayerConfig, ProjectConfig, load_project
    from township_coverage.join import JoinResult, assign_points_to_townships
    from township_coverage.inputs.dates import parse_dates
    from township_coverage.metrics import city_summary, coverage_table, roll_up, sites_open_on
    from township_coverage.compare import compare_sites, compare_townships
    from township_coverage.pipeline import (
        CompareResult, RunResult, Timeline, build_timeline, compare_configs, compare_site_lists, output_names, run,
    )
    from township_coverage.validation import Validation, validate_project

#: Public name -> module that defines it.
_MODULES = {
    "ConfigError": "township_coverage.errors",
    "CoverageError": "township_coverage.errors",
    "InputDataError": "township_coverage.errors",
    "OutputError": "township_coverage.errors",
    "Problem": "township_coverage.errors",
    "LayerConfig": "township_coverage.inputs.config",
    "ProjectConfig": "township_coverage.inputs.config",
    "load_project": "township_coverage.inputs.config",
    "JoinResult": "township_coverage.join",
    "assign_points_to_townships": "township_coverage.join",
    "city_summary": "township_coverage.metrics",
    "coverage_table": "township_coverage.metrics",
    "roll_up": "township_coverage.metrics",
    "sites_open_on": "township_coverage.metrics",
    "parse_dates": "township_coverage.inputs.dates",
    "Timeline": "township_coverage.pipeline",
    "build_timeline": "township_coverage.pipeline",
    "RunResult": "township_coverage.pipeline",
    "CompareResult": "township_coverage.pipeline",
    "compare_configs": "township_coverage.pipeline",
    "compare_site_lists": "township_coverage.pipeline",
    "compare_sites": "township_coverage.compare",
    "compare_townships": "township_coverage.compare",
    "Validation": "township_coverage.validation",
    "output_names": "township_coverage.pipeline",
    "run": "township_coverage.pipeline",
    "validate_project": "township_coverage.validation",
}

__all__ = [
    "CompareResult",
    "ConfigError",
    "CoverageError",
    "InputDataError",
    "JoinResult",
    "LayerConfig",
    "OutputError",
    "Problem",
    "ProjectConfig",
    "RunResult",
    "Timeline",
    "assign_points_to_townships",
    "build_timeline",
    "city_summary",
    "compare_configs",
    "compare_site_lists",
    "compare_sites",
    "compare_townships",
    "coverage_table",
    "load_project",
    "output_names",
    "parse_dates",
    "roll_up",
    "run",
    "sites_open_on",
    "validate_project",
    "Validation",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
