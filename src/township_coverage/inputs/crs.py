"""Coordinate systems of Chinese web maps, and the metric CRS for distances.

Amap (高德), Tencent and Google China publish coordinates in GCJ-02, an
obfuscated offset of WGS84; Baidu in BD-09, a further offset of GCJ-02.
The forward formulas are public; the inverses here are solved by fixed-point
iteration to well under a centimetre. All functions take and return numpy
arrays (longitude, latitude in degrees) and are vectorised.

CGCS2000 (EPSG:4490) coincides with WGS84 to a few centimetres, far below
what site positions need; pyproj treats the transformation as a no-op.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike
from pyproj import CRS
from pyproj.exceptions import CRSError

# Krasovsky 1940 ellipsoid, which the GCJ-02 formulas use.
_A: Final = 6378245.0
_EE: Final = 0.00669342162296594323
_BD_FACTOR: Final = np.pi * 3000.0 / 180.0

#: Names accepted for the offset systems (case-insensitive, without - or _).
GCJ02_NAMES: Final = frozenset({"gcj02", "gcj", "amap", "gaode", "高德", "火星坐标"})
BD09_NAMES: Final = frozenset({"bd09", "bd09ll", "baidu", "百度"})


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def in_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Whether points fall in the rough box where GCJ-02 applies.

    Outside it (as in every published implementation) GCJ-02 equals WGS84.
    """
    lon, lat = _as_arrays(lon, lat)
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    root = np.sqrt(np.abs(x))
    d_lat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    d_lon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, d_lon, 0.0), np.where(inside, d_lat, 0.0)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> GCJ-02 (the public formula)."""
    lon, lat = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj02_offset(lon, lat)
    return lon + d_lon, lat + d_lat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, iterations: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> WGS84 by fixed-point iteration of the forward formula.

    The offset changes by under a millimetre per metre of position, so each
    round gains about three decimal digits; ten rounds reach float precision.
    """
    gcj_lon, gcj_lat = _as_arrays(lon, lat)
    return _invert(wgs84_to_gcj02, gcj_lon, gcj_lat, (gcj_lon, gcj_lat), iterations)


def _invert(forward, lon: np.ndarray, lat: np.ndarray, start, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(x) = (lon, lat)`` by fixed-point iteration from ``start``.

    Converges because each offset changes slowly with position.
    """
    x, y = (np.array(v, dtype=float) for v in start)
    for _ in range(iterations):
        fwd_x, fwd_y = forward(x, y)
        x = x - (fwd_x - lon)
        y = y - (fwd_y - lat)
    return x, y


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 -> BD-09 (the public formula)."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _BD_FACTOR)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_FACTOR)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, iterations: int = 5
) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> GCJ-02: the public approximate inverse, refined by iteration."""
    bd_lon, bd_lat = _as_arrays(lon, lat)
    x, y = bd_lon - 0.0065, bd_lat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _BD_FACTOR)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_FACTOR)
    return _invert(gcj02_to_bd09, bd_lon, bd_lat, (z * np.cos(theta), z * np.sin(theta)), iterations)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 -> WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def offset_system(name: str | None) -> str | None:
    """``"gcj02"`` or ``"bd09"`` if ``name`` names one of them, else ``None``."""
    if name is None:
        return None
    key = name.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key in GCJ02_NAMES:
        return "gcj02"
    if key in BD09_NAMES:
        return "bd09"
    return None


def check_crs_name(name: str) -> str | None:
    """``None`` if ``name`` is a CRS this tool understands, else why not."""
    if offset_system(name) is not None:
        return None
    try:
        CRS.from_user_input(name)
    except CRSError as error:
        return f"unknown CRS {name!r} ({error}); use GCJ-02, BD-09, WGS84, CGCS2000 or an EPSG code"
    return None


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates in ``crs`` (GCJ-02, BD-09 or any pyproj CRS) to WGS84."""
    system = offset_system(crs)
    if system == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if system == "bd09":
        return bd09_to_wgs84(lon, lat)
    from pyproj import Transformer

    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x, y = transformer.transform(*_as_arrays(lon, lat))
    return np.asarray(x), np.asarray(y)
