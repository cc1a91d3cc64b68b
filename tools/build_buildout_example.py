"""Build the build-out example project (geo_data/examples/linyi-buildout) from the Linyi default.

The example shows opening dates, ``--as-of``, ``--timeline`` and
``compare``. Its opening dates and its last-year list are INVENTED for the
example (the Linyi sources give no per-site dates); only the end state
follows the published programme: every township has a station by the end of
2022 and the 390 community rooms exist by March 2023. Deterministic: the
same input gives byte-identical files.

Run from the repository root: ``python tools/build_buildout_example.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LINYI = ROOT / "geo_data" / "linyi"
EXAMPLE = ROOT / "geo_data" / "examples" / "linyi-buildout"
INVENTED = "invented for the example"


def _days_between(rng: np.random.Generator, start: str, end: str, count: int) -> pd.Series:
    """``count`` random days in [start, end]."""
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    offsets = rng.integers(0, (last - first).days + 1, size=count)
    return pd.Series(first + pd.to_timedelta(offsets, unit="D"))


def opening_dates(sites: pd.DataFrame, rng: np.random.Generator) -> pd.Series:
    """Invented opening days: stations county by county over 2021-2022, rooms from 2022 to March 2023."""
    opened = pd.Series(pd.NaT, index=sites.index, dtype="datetime64[ns]")
    county = sites["township_code"].str[:6]
    for number, code in enumerate(sorted(county.unique())):
        rows = sites.index[(county == code) & (sites["site_type"] == "township_station")]
        start = pd.Timestamp("2021-03-01") + pd.DateOffset(months=(number * 7) % 16)
        opened[rows] = _days_between(rng, f"{start:%Y-%m-%d}", "2022-12-20", len(rows)).to_numpy()
    rooms = sites.index[sites["site_type"] == "community_room"]
    opened[rooms] = _days_between(rng, "2022-01-01", "2023-03-25", len(rooms)).to_numpy()
    special = sites.index[~sites["site_type"].isin(["township_station", "community_room"])]
    opened[special] = _days_between(rng, "2022-06-01", "2023-03-25", len(special)).to_numpy()
    return opened


def last_year_list(sites: pd.DataFrame, villages: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The list as it stood at the end of 2022: the sites open then, 5 rooms since moved, 3 rooms since closed.

    The closed rooms are in villages that have no room in this year's list.
    """
    old = sites[sites["opened"] <= pd.Timestamp("2022-12-31")].copy()
    rooms = old.index[old["site_type"] == "community_room"]
    moved = rng.choice(rooms, size=5, replace=False)
    angle = rng.uniform(0, 2 * np.pi, size=len(moved))
    for column, step, turn in (("lon", 0.006, np.cos(angle)), ("lat", 0.005, np.sin(angle))):
        shifted = old.loc[moved, column].astype(float) + step * turn
        old.loc[moved, column] = [f"{value:.7f}" for value in shifted]
    without_room = villages[~villages["village_code"].isin(sites["village_code"])]
    hosts = without_room.iloc[rng.choice(len(without_room), size=3, replace=False)]
    closed = pd.DataFrame({
        "site_id": [f"CR{code}" for code in hosts["village_code"]],
        "site_type": "community_room",
        "name": (hosts["village_name"] + "社会工作服务室").to_numpy(),
        "township_code": hosts["township_code"].to_numpy(),
        "village_code": hosts["village_code"].to_numpy(),
        "lon": hosts["lon"].to_numpy(),
        "lat": hosts["lat"].to_numpy(),
        "location_source": "schematic",
        "opened": pd.Timestamp("2022-05-01"),
    })
    return pd.concat([old, closed]).fillna("").sort_values("site_id", kind="stable")


def main() -> None:
    rng = np.random.default_rng(20210301)
    sites = pd.read_csv(LINYI / "sites.csv", dtype=str, keep_default_na=False)
    villages = pd.read_csv(LINYI / "villages.csv", dtype=str, keep_default_na=False)
    sites["opened"] = opening_dates(sites, rng)
    old = last_year_list(sites, villages, rng)
    for frame, name in ((sites, "sites.csv"), (old, "sites_2022.csv")):
        table = frame.drop(columns=["opened"]).assign(
            建成日期=frame["opened"].dt.strftime("%Y-%m-%d"), date_source=INVENTED,
        )
        table.to_csv(EXAMPLE / name, index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
