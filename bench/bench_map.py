"""Benchmark: how fast the Linyi map loads in headless Chromium, against plain Folium.

The peer is the map most Folium users would write for the same data: one
``folium.Choropleth`` layer per indicator (switchable base layers, each with
its own copy of the township shapes and a ``GeoJsonTooltip``), a
layer of community rooms and circle markers for the other
sites. Its CDN links are replaced by the same vendored files, so that both
pages load offline and the comparison is of the pages, not the network.

Measured in one run, each page loaded five times in a fresh page:
file size, time until the page's ``load`` event, and time until the map
is interactive (our page sets ``data-tc-ready``; for the peer, until its
last script has run). Prints medians and ratios.

Usage: ``python bench/bench_map.py`` (needs Debian's chromium and playwright).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import folium
import geopandas as gpd
from playwright.sync_api import sync_playwright

from township_coverage import load_project, run
from township_coverage.webmap.assets import inline_assets
from township_coverage.classes import INDICATORS

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ROUNDS = 5


def plain_folium_map(result, folder: Path) -> Path:
    """The same indicators and sites as a conventional Folium map."""
    validation = result.validation
    townships = validation.townships.set_index("township_code")
    table = gpd.GeoDataFrame(townships[["geometry"]].join(result.townships), crs=townships.crs).reset_index()
    fmap = folium.Map(tiles=None, prefer_canvas=True, control_scale=True)
    for number, indicator in enumerate(INDICATORS):
        layer = folium.FeatureGroup(name=indicator.label["zh"], overlay=False, show=number == 0)
        data = table[["township_code", "township_name", indicator.column, "geometry"]].copy()
        data[indicator.column] = data[indicator.column].astype(float)
        choropleth = folium.Choropleth(
            data, data=data, columns=["township_code", indicator.column], key_on="feature.properties.township_code",
            fill_color="YlGnBu", nan_fill_color="#d9d9d9", legend_name=indicator.label["zh"],
        )
        folium.GeoJsonTooltip(["township_name", indicator.column]).add_to(choropleth.geojson)
        choropleth.geojson.add_to(layer)
        layer.add_to(fmap)
    sites = validation.site_join.usable()
    rooms = folium.FeatureGroup(name="社工室").add_to(fmap)
    for point, name, site_type in zip(sites.geometry, sites["name"], sites["site_type"]):
        marker = folium.CircleMarker([point.y, point.x], radius=4, tooltip=str(name), fill=True)
        marker.add_to(rooms if site_type == "community_room" else fmap)
    folium.LayerControl().add_to(fmap)
    fmap.fit_bounds([[table.total_bounds[1], table.total_bounds[0]], [table.total_bounds[3], table.total_bounds[2]]])
    inline_assets(fmap.get_root())
    path = folder / "plain_folium.html"
    fmap.save(str(path))
    return path


def measure(browser, path: Path, ready: str) -> tuple[float, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    start = time.perf_counter()
    page.goto(path.resolve().as_uri(), wait_until="load")
    loaded = time.perf_counter() - start
    page.wait_for_function(ready)
    interactive = time.perf_counter() - start
    page.close()
    return loaded, interactive


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        result = run(load_project(None, output_dir=folder), report_formats=())
        ours = folder / "coverage.html"
        peer = plain_folium_map(result, folder)
        pages = {
            "township-coverage": (ours, "document.querySelector('[data-tc-ready]') !== null"),
            "plain folium": (peer, "document.readyState === 'complete'"),
        }
        timings = {name: ([], []) for name in pages}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(ROUNDS):
                for name, (path, ready) in pages.items():
                    loaded, interactive = measure(browser, path, ready)
                    timings[name][0].append(loaded)
                    timings[name][1].append(interactive)
            browser.close()
        print(f"Linyi map in headless Chromium, median of {ROUNDS} loads")
        summary = {}
        for name, (path, _) in pages.items():
            loaded, interactive = (statistics.median(values) for values in timings[name])
            size_kb = path.stat().st_size / 1024
            summary[name] = (size_kb, loaded, interactive)
            print(f"  {name:<18} {size_kb:8.0f} kB   load {loaded:5.2f} s   interactive {interactive:5.2f} s")
        ours_size, ours_load, ours_ready = summary["township-coverage"]
        peer_size, peer_load, peer_ready = summary["plain folium"]
        print(f"  plain folium / township-coverage: size {peer_size / ours_size:.2f}x, "
              f"load {peer_load / ours_load:.2f}x, interactive {peer_ready / ours_ready:.2f}x")


if __name__ == "__main__":
    main()
