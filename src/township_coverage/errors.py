"""Errors raised by township-coverage.

Every error the user can cause derives from :class:`CoverageError`; those about
input data also derive from :class:`ValueError`, and those about the output
folder from :class:`OSError`, so that callers may catch either. Messages name the file, row, column and value, and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CoverageError(Exception):
    """Base class of every error township-coverage raises on purpose."""


class CellTopologyError(CoverageError):
    """Outlines (townships, counties) could not be rebuilt as a clean coverage.

    The message names the townships or counties concerned.
    """


class ConfigError(CoverageError, ValueError):
    """The project file is missing, unreadable or has a wrong setting."""


class OutputError(CoverageError, OSError):
    """The output folder cannot take the new outputs.

    A target file is open in another program, or the folder cannot be
    created or written (read-only, no permission, disk full). The previous
    outputs are left as they were.
    """


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input value.

    Attributes
    ----------
    file
        The input file.
    row
        The row as a spreadsheet shows it (the first line of the file is
        row 1; for boundary layers, the feature number), or ``None`` for the
        whole file.
    column
        The column concerned, by the header the user wrote, or ``None``.
    value
        The offending value as written, or ``None``.
    message
        What is wrong and what is allowed.
    severity
        ``"error"`` (a run refuses the input) or ``"warning"`` (reported, the
        run goes on).
    sheet
        The sheet of an XLSX file, or ``None``.
    """

    file: Path
    row: int | None
    column: str | None
    value: str | None
    message: str
    severity: str = "error"
    sheet: str | None = None

    def __str__(self) -> str:
        where = [self.file.name]
        if self.sheet is not None:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{', '.join(where)}: {self.message}"


class InputDataError(CoverageError, ValueError):
    """One or more input files have problems; all are listed together."""

    def __init__(self, problems: list[Problem], *, hint: str = "") -> None:
        self.problems = list(problems)
        lines = [f"{len(self.problems)} problem(s) in the input data:"]
        lines += [f"  - {problem}" for problem in self.problems]
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))
