"""Reading the opening and closing dates of sites as offices write them.

Accepted, after Unicode NFKC normalisation (full-width digits become
ASCII) and trimming:

- a day: ``2022-12-31``, ``2022/12/31``, ``2022.12.31``, ``2022年12月31日``,
  ``20221231``, with or without a time after it (``2022-12-31 00:00:00`` is
  how a date cell of an Excel sheet reads);
- a month: ``2022-12``, ``2022/12``, ``2022.12``, ``2022年12月``;
- a year: ``2022``, ``2022年``;
- an Excel serial day number as a CSV export writes a date cell
  (``44926`` is 2022-12-31).

A date that names only a month or a year stands for its first day: a room
"opened 2022年12月" counts as open from 1 December 2022.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Years accepted in a date.
FIRST_YEAR, LAST_YEAR = 1900, 2100
#: Excel serial day numbers of 1 January of the first and last accepted year.
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_SERIALS = ((pd.Timestamp(f"{FIRST_YEAR}-01-01") - _EXCEL_EPOCH).days,
            (pd.Timestamp(f"{LAST_YEAR}-12-31") - _EXCEL_EPOCH).days)

#: How a bad cell is explained.
DATE_FORMS = "a date such as 2022-12-31, 2022/12/31, 2022年12月31日, 2022年12月 or 2022"

_SEPARATOR = r"\s*[-/.]\s*"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_PATTERN = re.compile(
    "^(?:"
    rf"(?P<y1>\d{{4}})(?:{_SEPARATOR}|\s*年\s*)(?P<m1>\d{{1,2}})(?:{_SEPARATOR}|\s*月\s*)(?P<d1>\d{{1,2}})\s*[日号]?{_TIME}"
    rf"|(?P<y2>\d{{4}})(?:{_SEPARATOR}|\s*年\s*)(?P<m2>\d{{1,2}})\s*月?"
    r"|(?P<y3>\d{4})\s*年?"
    r"|(?P<y4>\d{4})(?P<m4>\d{2})(?P<d4>\d{2})"
    r"|(?P<serial>\d{5})(?:\.0+)?"
    ")$"
)


@dataclass(frozen=True)
class ParsedDates:
    """Dates read from a column of cells.

    Attributes
    ----------
    dates
        The day each cell stands for (``NaT`` where the cell is empty or bad).
    bad
        Cells that hold something but no date (a mask aligned with the cells).
    """

    dates: pd.Series
    bad: pd.Series


def parse_dates(cells: pd.Series) -> ParsedDates:
    """Read every cell of ``cells`` as a date (see the module docstring for the forms).

    Each distinct cell is read once: a long list holds few distinct dates.

    Parameters
    ----------
    cells
        Cells as text, as :func:`township_coverage.inputs.io.read_table` gives them.
    """
    written = cells.astype("string").fillna("")
    distinct = pd.Index(written.unique())
    dates, bad = _parse_distinct(pd.Series(distinct, dtype="string"))
    at = distinct.get_indexer(written)
    return ParsedDates(
        pd.Series(dates[at], index=cells.index, name=cells.name, dtype="datetime64[ns]"),
        pd.Series(bad[at], index=cells.index),
    )


def _parse_distinct(cells: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The day of each cell (NaT if none), and which cells hold something but no date."""
    text = cells.map(lambda cell: unicodedata.normalize("NFKC", cell).strip())
    parts = text.str.extract(_PATTERN)
    year = _first_of(parts, ("y1", "y2", "y3", "y4"))
    month = _first_of(parts, ("m1", "m2", "m4")).fillna(1)
    day = _first_of(parts, ("d1", "d4")).fillna(1)
    dates = pd.to_datetime(
        pd.DataFrame({"year": year, "month": month, "day": day}).dropna(), errors="coerce"
    ).reindex(text.index)
    serial = pd.to_numeric(parts["serial"], errors="coerce").astype(float)
    from_serial = serial.between(*_SERIALS).to_numpy(dtype=bool, na_value=False)
    dates = dates.where(~from_serial, _EXCEL_EPOCH + pd.to_timedelta(serial.where(from_serial), unit="D"))
    dates = dates.where(dates.dt.year.between(FIRST_YEAR, LAST_YEAR)).astype("datetime64[ns]")
    bad = (text != "").to_numpy(dtype=bool) & dates.isna().to_numpy()
    return dates.to_numpy(), bad


def _first_of(parts: pd.DataFrame, columns: tuple[str, ...]) -> pd.Series:
    """The first of ``columns`` that matched, as numbers (NaN where none did)."""
    values = np.full(len(parts), np.nan)
    for column in columns:
        numbers = pd.to_numeric(parts[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        values = np.where(np.isnan(values), numbers, values)
    return pd.Series(values, index=parts.index)


def parse_date(text: str) -> pd.Timestamp | None:
    """One date written in any accepted form, or ``None`` if it is not one (e.g. for ``--as-of``)."""
    parsed = parse_dates(pd.Series([text]))
    return None if parsed.bad.iloc[0] or pd.isna(parsed.dates.iloc[0]) else parsed.dates.iloc[0]


# --- writing days ------------------------------------------------------------------


def day_text(day: pd.Timestamp, lang: str) -> str:
    """A day as tables, maps and reports write it: ``2022年12月31日`` / ``2022-12-31``."""
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else f"{day:%Y-%m-%d}"


def step_label(day: pd.Timestamp, every: str, lang: str) -> str:
    """A step of a timeline as people say it.

    ``2022年末`` / ``end of 2022`` for a year end of a yearly timeline,
    ``2022年第4季度末`` / ``end of 2022 Q4`` for a quarter end of a
    quarterly one, else the day (:func:`day_text`).
    """
    if every == "yearly" and day.month == 12 and day.day == 31:
        return f"{day.year}年末" if lang == "zh" else f"end of {day.year}"
    if every == "quarterly" and day == day + pd.offsets.QuarterEnd(0):
        quarter = (day.month - 1) // 3 + 1
        return f"{day.year}年第{quarter}季度末" if lang == "zh" else f"end of {day.year} Q{quarter}"
    return day_text(day, lang)

