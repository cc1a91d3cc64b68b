"""township-coverage: coverage of social-work stations and rooms per township."""

from township_coverage.inputs.config import LayerConfig, ProjectConfig, load_project
from township_coverage.errors import ConfigError, CoverageError, InputDataError, Problem
from township_coverage.join import JoinResult, assign_points_to_townships
from township_coverage.metrics import city_summary, coverage_table, roll_up
from township_coverage.pipeline import RunResult, Validation, run, validate_project

__all__ = [
    "ConfigError",
    "CoverageError",
    "InputDataError",
    "JoinResult",
    "LayerConfig",
    "Problem",
    "ProjectConfig",
    "RunResult",
    "assign_points_to_townships",
    "city_summary",
    "coverage_table",
    "load_project",
    "roll_up",
    "run",
    "validate_project",
    "Validation",
]
