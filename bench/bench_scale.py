"""Benchmark: the coverage map at scale (issue 12), against ``GeoDataFrame.explore()``.

For each size (generated projects of N townships, ``bench/scale_data.py``),
in one run and side by side:

- ``township-coverage run --project P --output DIR``, the whole job, as a
  subprocess: wall time, peak RSS, size of ``coverage.html``; then twice
  more on the same output folder, its cache kept: with the same inputs,
  and with one community room added to the site list (wall time as a
  fraction of the first run's, outputs copied from the cache);
- our map alone: a subprocess that reads, checks and joins the project and
  computes the indicators (timed as preparation), then builds and saves
  the map with :func:`township_coverage.webmap.build_coverage_map` and
  :func:`township_coverage.webmap.save_map` (timed as the map build); peak
  RSS of that subprocess;
- the peer: ``GeoDataFrame.explore()`` of the same township layer (choropleth
  of ``population``, tooltip of name and population, no tiles since our map
  has no basemap either) saved to HTML in its own subprocess (reading the
  layer timed as preparation). Its CDN ``<script>``/``<link>`` tags are then
  replaced by inlined copies from the npm registry (``npm pack``, cached),
  so that it loads offline like ours;
- both pages in headless Chromium, a fresh page per round: time from
  navigation start until the layers are drawn (ours: ``data-tc-ready="1"``
  on the map container; explore: the ``load`` event has fired and its
  GeoJSON layer is on the map; then two animation frames), JS heap after a
  garbage collection (CDP ``Runtime.getHeapUsage``), and the time of a pan
  (``panBy``, no animation, two frames), a zoom in by one level
  (``setZoom``, no animation, ``zoomend`` and two frames) and, for ours, a
  switch of the indicator (second radio button, two frames), each three
  times per load. Medians over all rounds. Any request a page makes to
  the network is reported as an error (both pages must work offline).

Peak RSS is the largest resident set of any process of the measured
command (``/usr/bin/time -v``), as ``getrusage`` reports it.

Usage::

    PYTHONPATH=src python bench/bench_scale.py [--sizes 156,1800] [--work DIR]
        [--rounds 3] [--timeout 900] [--json OUT]

Needs Debian's chromium, the ``playwright`` package and ``npm`` (for the
peer's assets). Generated data, outputs and the npm cache stay in
``--work`` (default: a temporary folder, removed at the end).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 860}
GNU_TIME = Path("/usr/bin/time")
RESULT_PREFIX = "BENCH_RESULT "
MIB = 2**20
#: URL schemes a page may load without a network (anything else is reported as an error).
LOCAL_URLS = ("file:", "data:", "blob:", "about:")

#: CDN URLs of explore()'s page that are not ``cdn.jsdelivr.net/npm/PACKAGE@VERSION/PATH``:
#: the npm package with the same file, and the file's path in it.
PEER_ASSETS = {
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery@3.7.1", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
        "drmonty-leaflet-awesome-markers@2.0.2", "js/leaflet.awesome-markers.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
        "drmonty-leaflet-awesome-markers@2.0.2", "css/leaflet.awesome-markers.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js": ("d3@3.5.5", "d3.min.js"),
}
#: CDN assets of explore()'s page that no npm package carries, and why the page works without them.
PEER_ASSETS_DROPPED = {
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css":
        "Bootstrap 3.0.0 is not on npm; only styles glyph icons, which the page does not use",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css":
        "served from folium's GitHub, not npm; only rotates awesome-marker icons, which the page does not use",
}
_JSDELIVR_NPM = re.compile(r"https://cdn\.jsdelivr\.net/npm/(@?[^@/]+(?:/[^@/]+)?)@([^/]+)/(.+)")
_SCRIPT_TAG = re.compile(r'<script src="(https?://[^"]+)"></script>')
_LINK_TAG = re.compile(r'<link rel="stylesheet" href="(https?://[^"]+)"\s*/?>')
_CSS_URL = re.compile(r"url\((['\"]?)([^'\")]+)\1\)")

# In-page helpers, installed before any script of the page runs.
_INIT_SCRIPT = """
window.__benchMap = () => {
  const key = Object.keys(window).find(k => k.startsWith('map_') && window.L && window[k] instanceof L.Map);
  return key === undefined ? null : window[key];
};
window.__benchFrames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
"""
OURS_READY = "() => document.querySelector('[data-tc-ready=\"1\"]') !== null"
PEER_READY = """() => {
  if (document.readyState !== 'complete') return false;
  const map = window.__benchMap();
  return map !== null && Object.values(map._layers).some(layer => layer instanceof L.GeoJSON);
}"""
DRAWN_AT = "async () => { await window.__benchFrames(); return performance.now(); }"
PAN = """async (offset) => {
  const map = window.__benchMap(), start = performance.now();
  map.panBy(offset, {animate: false});
  await window.__benchFrames();
  return performance.now() - start;
}"""
ZOOM = """async (levels) => {
  const map = window.__benchMap(), done = new Promise(r => map.once('zoomend', r)), start = performance.now();
  map.setZoom(map.getZoom() + levels, {animate: false});
  await done;
  await window.__benchFrames();
  return performance.now() - start;
}"""
SWITCH = """async (index) => {
  const input = document.querySelectorAll('.tc-indicators input[type=radio]')[index], start = performance.now();
  input.click();
  await window.__benchFrames();
  return performance.now() - start;
}"""


# ---------------------------------------------------------------- subprocesses


@dataclass
class Measured:
    """A command run as a subprocess.

    Attributes
    ----------
    seconds
        Wall time.
    peak_rss_mib
        Largest resident set of any process of the command (``None`` without GNU time).
    returncode
        Exit status (``None`` if it timed out and was killed).
    timed_out
        Whether it ran longer than the timeout.
    stdout, stderr
        Its output (stderr without GNU time's report).
    """

    seconds: float
    peak_rss_mib: float | None
    returncode: int | None
    timed_out: bool
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)

    @property
    def ok(self) -> bool:
        """Whether the command finished with status 0."""
        return self.returncode == 0


def run_measured(command: Sequence[str], *, timeout: float, scratch: Path) -> Measured:
    """Run ``command`` in its own process group; kill the group after ``timeout`` seconds."""
    report = scratch / "time-report.txt"
    report.unlink(missing_ok=True)
    wrapped = [str(GNU_TIME), "-v", "-o", str(report), *command] if GNU_TIME.exists() else list(command)
    start = time.perf_counter()
    process = subprocess.Popen(
        wrapped, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        timed_out = True
    seconds = time.perf_counter() - start
    peak = _peak_rss_mib(report)
    return Measured(seconds, peak, None if timed_out else process.returncode, timed_out, stdout, stderr)


def _peak_rss_mib(report: Path) -> float | None:
    """The maximum resident set size from GNU time's report, in MiB."""
    if not report.exists():
        return None
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report.read_text())
    return int(found.group(1)) / 1024 if found else None


def child_result(measured: Measured) -> dict:
    """The JSON a child process printed on its last ``BENCH_RESULT`` line (empty if none)."""
    lines = [line for line in measured.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    return json.loads(lines[-1][len(RESULT_PREFIX):]) if lines else {}


def _tail(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


# ---------------------------------------------------------------- children (run in their own process)


def child_ours(project: Path, html: Path) -> dict:
    """Our map alone: prepare (read, check, join, compute, classify), then build and save the map."""
    start = time.perf_counter()
    import geopandas as gpd

    from township_coverage import coverage_table, load_project
    from township_coverage.classes import classify_table
    from township_coverage.pipeline import checked_inputs
    from township_coverage.webmap import MapOptions, build_coverage_map, save_map

    with tempfile.TemporaryDirectory() as output:
        config = load_project(project, output_dir=Path(output))
        validation = checked_inputs(config, skip_invalid=None, use_cache=False)
    sites = validation.site_join.usable()
    villages = validation.village_join.usable() if validation.village_join is not None else None
    table = coverage_table(validation.townships, sites, villages, radius_km=config.radius_km)
    classified = classify_table(table, config.classes, lang="zh")
    shapes = gpd.GeoDataFrame(
        validation.townships.set_index("township_code")[["geometry"]].join(table), crs=validation.townships.crs
    )
    options = MapOptions(radius_km=config.radius_km, classes=config.classes, levels=config.levels)
    prepared = time.perf_counter()
    with RssSampler() as memory:  # a first run: nothing cached
        fmap = build_coverage_map(
            shapes, sites[sites.geometry.notna()], title=config.name, villages=villages,
            schematic=validation.schematic, sources=config.attribution, options=options, classified=classified,
        )
        built = time.perf_counter()
        save_map(fmap, html)
        saved = time.perf_counter()
    return {"prepare_s": prepared - start, "build_s": built - prepared, "save_s": saved - built,
            "map_s": saved - prepared, **memory.result()}


def child_peer(townships: Path, html: Path) -> dict:
    """The peer: read the township layer, then ``explore()`` it and save the page."""
    start = time.perf_counter()
    import geopandas as gpd

    frame = gpd.read_file(townships, engine="pyogrio")
    prepared = time.perf_counter()
    with RssSampler() as memory:
        fmap = frame.explore(column="population", tooltip=["township_name", "population"], tiles=None)
        built = time.perf_counter()
        fmap.save(str(html))
        saved = time.perf_counter()
    return {"prepare_s": prepared - start, "build_s": built - prepared, "save_s": saved - built,
            "map_s": saved - prepared, **memory.result()}


class RssSampler:
    """This process's resident memory while a block runs: before it, and its peak (sampled every 10 ms).

    The map build's own memory is the peak less what the process held
    before (the data read and prepared), the same for both children.
    """

    def __init__(self) -> None:
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._peak = max(self._peak, self._rss())

    def __enter__(self) -> "RssSampler":
        self._before = self._peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._rss())

    def result(self) -> dict:
        """``rss_before_build_mib``, ``build_peak_rss_mib`` and ``build_extra_mib``."""
        return {"rss_before_build_mib": self._before / MIB, "build_peak_rss_mib": self._peak / MIB,
                "build_extra_mib": (self._peak - self._before) / MIB}


CHILDREN: dict[str, Callable[[Path, Path], dict]] = {"ours": child_ours, "peer": child_peer}


def _child_main(argv: Sequence[str]) -> None:
    name, source, html = argv
    result = CHILDREN[name](Path(source), Path(html))
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def child_command(name: str, source: Path, html: Path) -> list[str]:
    """The command that runs child ``name`` of this script."""
    return [sys.executable, str(Path(__file__).resolve()), "--child", name, str(source), str(html)]


def cli_command() -> list[str]:
    """The ``township-coverage`` console script of this Python (or ``python -m township_coverage``)."""
    script = Path(sys.executable).with_name("township-coverage")
    return [str(script)] if script.exists() else [sys.executable, "-m", "township_coverage"]


# ---------------------------------------------------------------- data


def generated_project(n_townships: int, folder: Path, seed: int) -> tuple[Path, dict]:
    """The generated project of ``n_townships`` in ``folder``, generating it unless it is there already.

    Data in ``folder`` is reused when its size and seed match and it was
    made by the current ``scale_data.py`` (same file content).

    Returns
    -------
    tuple
        The ``project.toml`` and the generator's summary (sizes, seconds).
    """
    summary_file, stamp_file = folder / "generated.json", folder / "generator.sha256"
    generator = hashlib.sha256((BENCH / "scale_data.py").read_bytes()).hexdigest()
    if summary_file.exists() and stamp_file.exists() and stamp_file.read_text() == generator:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
        if summary.get("townships") == n_townships and summary.get("seed") == seed:
            return folder / "project.toml", summary
    sys.path.insert(0, str(BENCH))
    from scale_data import write_project

    project = write_project(n_townships, folder, seed=seed)
    stamp_file.write_text(generator)
    return project, json.loads(summary_file.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the peer's assets


def npm_file(spec: str, path: str, cache: Path) -> bytes:
    """A file of an npm package, from ``npm pack`` (the tarball is kept in ``cache``)."""
    cache.mkdir(parents=True, exist_ok=True)
    name, version = spec.rsplit("@", 1)
    tarball = cache / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    if not tarball.exists():
        subprocess.run(["npm", "pack", spec, "--pack-destination", str(cache)], check=True, capture_output=True)
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(f"package/{path}")
        if member is None:
            raise FileNotFoundError(f"{path} is not a file in {spec}")
        return member.read()


def asset_source(url: str) -> tuple[str, str]:
    """The npm package and path that hold the file of a CDN URL."""
    if url in PEER_ASSETS:
        return PEER_ASSETS[url]
    found = _JSDELIVR_NPM.fullmatch(url)
    if found is None:
        raise KeyError(f"no npm source known for {url}; add it to PEER_ASSETS or PEER_ASSETS_DROPPED")
    package, version, path = found.groups()
    return f"{package}@{version}", path


def _inline_css(css: str, spec: str, path: str, cache: Path) -> str:
    """CSS with its relative images as data URLs; fonts stay as they are (requested only if a glyph is used)."""
    folder = path.rsplit("/", 1)[0] if "/" in path else ""

    def replace(match: re.Match) -> str:
        target = match.group(2)
        if target.startswith(("data:", "http:", "https:", "#")) or not target.lower().endswith((".png", ".gif", ".svg")):
            return match.group(0)
        relative = os.path.normpath(f"{folder}/{target}" if folder else target)
        kind = "svg+xml" if target.lower().endswith(".svg") else target.rsplit(".", 1)[1].lower()
        data = base64.b64encode(npm_file(spec, relative, cache)).decode("ascii")
        return f"url(data:image/{kind};base64,{data})"

    return _CSS_URL.sub(replace, css)


def inline_peer_assets(html: str, cache: Path) -> tuple[str, list[str]]:
    """explore()'s page with every CDN script and stylesheet inlined.

    Returns
    -------
    tuple
        The page, and a note per asset that was dropped instead.

    Raises
    ------
    KeyError
        For a CDN URL with neither a known npm source nor a reason to drop it.
    """
    dropped: list[str] = []

    def script(match: re.Match) -> str:
        url = match.group(1)
        if url in PEER_ASSETS_DROPPED:
            dropped.append(f"{url}: {PEER_ASSETS_DROPPED[url]}")
            return ""
        text = npm_file(*asset_source(url), cache).decode("utf-8")
        return "<script>" + text.replace("</script", "<\\/script") + "</script>"

    def stylesheet(match: re.Match) -> str:
        url = match.group(1)
        if url in PEER_ASSETS_DROPPED:
            dropped.append(f"{url}: {PEER_ASSETS_DROPPED[url]}")
            return ""
        spec, path = asset_source(url)
        css = _inline_css(npm_file(spec, path, cache).decode("utf-8"), spec, path, cache)
        return "<style>" + css.replace("</style", "<\\/style") + "</style>"

    html = _SCRIPT_TAG.sub(script, html)
    html = _LINK_TAG.sub(stylesheet, html)
    remaining = re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="(https?://[^"]+)"', html)
    if remaining:
        raise KeyError(f"CDN references left in the page: {remaining}")
    return html, dropped


# ---------------------------------------------------------------- browser


#: Interactions measured per load: pans (alternating directions), zooms in, indicator switches.
REPEATS = 3


@dataclass
class PageTimes:
    """One load of a page and its interactions (milliseconds, heap in MiB).

    The interactions are measured :data:`REPEATS` times per load; between
    two measured ones, the unmeasured opposite (zoom out, switch back)
    restores the view.
    """

    drawn_ms: float
    heap_mib: float
    pan_ms: list[float]
    zoom_ms: list[float]
    switch_ms: list[float]
    errors: list[str]


def measure_page(browser, path: Path, *, ready: str, switch: bool, timeout_s: float) -> PageTimes:
    """Load ``path`` in a fresh page, wait until drawn, then measure heap, switch, pan and zoom."""
    page = browser.new_page(viewport=VIEWPORT)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: None if request.url.startswith(LOCAL_URLS) else errors.append(
        f"network request: {request.url[:120]}"))
    page.add_init_script(_INIT_SCRIPT)
    page.set_default_timeout(timeout_s * 1000)
    try:
        page.goto(path.resolve().as_uri(), wait_until="commit")
        page.wait_for_function(ready, polling="raf")
        drawn = page.evaluate(DRAWN_AT)  # ms since navigation start
        cdp = page.context.new_cdp_session(page)
        cdp.send("HeapProfiler.collectGarbage")
        heap = cdp.send("Runtime.getHeapUsage")["usedSize"] / MIB
        switched, panned, zoomed = [], [], []
        for _ in range(REPEATS if switch else 0):  # at the initial view: every township drawn
            switched.append(page.evaluate(SWITCH, 1))
            page.evaluate(SWITCH, 0)
        for repeat in range(REPEATS):
            sign = 1 if repeat % 2 == 0 else -1
            panned.append(page.evaluate(PAN, [sign * 200, sign * 120]))
        for _ in range(REPEATS):
            zoomed.append(page.evaluate(ZOOM, 1))
            page.evaluate(ZOOM, -1)
    finally:
        page.close()
    return PageTimes(drawn, heap, panned, zoomed, switched, errors)


def measure_pages(pages: dict[str, tuple[Path, str, bool]], *, rounds: int, timeout_s: float) -> dict[str, dict]:
    """Medians over ``rounds`` fresh loads of each page (the pages alternate within a round)."""
    from playwright.sync_api import sync_playwright

    loads: dict[str, list[PageTimes]] = {name: [] for name in pages}
    failures: dict[str, str] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(rounds):
                for name, (path, ready, switch) in pages.items():
                    if name in failures:
                        continue
                    try:
                        loads[name].append(measure_page(browser, path, ready=ready, switch=switch, timeout_s=timeout_s))
                    except Exception as error:  # a timeout or a crashed page: report it, go on with the other
                        failures[name] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        finally:
            browser.close()
    return {name: _median_times(loads[name], failures.get(name)) for name in pages}


def _median_times(loads: list[PageTimes], failure: str | None) -> dict:
    result: dict = {"rounds": len(loads), "failure": failure,
                    "errors": sorted({e for load in loads for e in load.errors})}
    for key in ("drawn_ms", "heap_mib", "pan_ms", "zoom_ms", "switch_ms"):
        values = [v for load in loads for v in (getattr(load, key) if isinstance(getattr(load, key), list)
                                                 else [getattr(load, key)])]
        result[key] = statistics.median(values) if values else None
        result[key.replace("_ms", "_all_ms").replace("_mib", "_all_mib")] = values
    return result


# ---------------------------------------------------------------- one size


def bench_size(
    n: int, work: Path, *, seed: int, rounds: int, timeout_s: float, npm_cache: Path, run_cli: bool = True
) -> dict:
    """Generate (or reuse) the project of ``n`` townships and measure everything for it."""
    folder = work / f"n{n}"
    scratch = folder / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    project, data = generated_project(n, folder / "data", seed)
    print(f"[{n}] data ready ({time.perf_counter() - started:.1f} s): {data['township_vertices']:,} vertices, "
          f"{data['villages']:,} villages, {data['sites']:,} sites", flush=True)
    result: dict = {"townships": n, "data": data}

    output = folder / "run"
    shutil.rmtree(output, ignore_errors=True)
    command = [*cli_command(), "run", "--project", str(project), "--output", str(output)]
    cli = run_measured(command, timeout=timeout_s, scratch=scratch) if run_cli else Measured(
        0.0, None, None, False, "", "not run (--skip-run)")
    coverage_html = output / "coverage.html"
    result["cli_run"] = _summary(cli) | {
        "html_bytes": coverage_html.stat().st_size if cli.ok and coverage_html.exists() else None,
    }
    print(f"[{n}] township-coverage run: {_describe(cli)}", flush=True)
    if cli.ok:
        result["second_runs"] = second_runs(command, project.parent / "sites.csv", timeout_s=timeout_s, scratch=scratch)
        print(f"[{n}] second runs: {_describe_second_runs(result['second_runs'], cli.seconds)}", flush=True)

    ours_html = folder / "ours_map.html"
    ours = run_measured(child_command("ours", project, ours_html), timeout=timeout_s, scratch=scratch)
    result["ours_map"] = _summary(ours) | child_result(ours) | {
        "html_bytes": ours_html.stat().st_size if ours.ok else None}
    print(f"[{n}] our map alone: {_describe(ours)}", flush=True)

    peer_html, peer_offline = folder / "explore.html", folder / "explore_offline.html"
    peer = run_measured(child_command("peer", project.parent / "townships.gpkg", peer_html),
                        timeout=timeout_s, scratch=scratch)
    result["peer_map"] = _summary(peer) | child_result(peer) | {
        "html_bytes": peer_html.stat().st_size if peer.ok else None}
    print(f"[{n}] explore(): {_describe(peer)}", flush=True)
    if peer.ok:
        page, dropped = inline_peer_assets(peer_html.read_text(encoding="utf-8"), npm_cache)
        peer_offline.write_text(page, encoding="utf-8")
        result["peer_map"]["offline_html_bytes"] = peer_offline.stat().st_size
        result["peer_map"]["dropped_assets"] = dropped

    pages = {}
    if cli.ok and coverage_html.exists():
        pages["ours"] = (coverage_html, OURS_READY, True)
    elif ours.ok:  # the run failed or was skipped: the same page, from the map alone
        pages["ours"] = (ours_html, OURS_READY, True)
    if peer.ok:
        pages["peer"] = (peer_offline, PEER_READY, False)
    result["browser"] = measure_pages(pages, rounds=rounds, timeout_s=timeout_s) if pages else {}
    print(f"[{n}] browser: done", flush=True)
    return result


def second_runs(command: Sequence[str], sites: Path, *, timeout_s: float, scratch: Path) -> dict:
    """``command`` again on the same output folder (its cache kept): with the same inputs, then with one room added.

    The room is a copy of the last community room of ``sites``, with a new
    id and name, 1 km to the east; ``sites`` is restored afterwards. For
    each run: wall time, peak RSS and the progress lines that say an output
    came from the cache.
    """
    results = {"same inputs": run_measured(command, timeout=timeout_s, scratch=scratch)}
    original = sites.read_bytes()
    rows = original.decode("utf-8").splitlines()
    header, room = rows[0].split(","), next(row for row in reversed(rows) if ",community_room," in row).split(",")
    room[header.index("site_id")] += "-NEW"
    room[header.index("name")] += "（新建）"
    room[header.index("lon")] = f"{float(room[header.index('lon')]) + 0.011:.6f}"
    try:
        sites.write_bytes(original + (",".join(room) + "\n").encode("utf-8"))
        results["one room added"] = run_measured(command, timeout=timeout_s, scratch=scratch)
    finally:
        sites.write_bytes(original)
    return {name: _summary(measured) | {"from_cache": measured.stderr.count("沿用缓存")}
            for name, measured in results.items()}


def _describe_second_runs(runs: dict, first_s: float) -> str:
    return "; ".join(
        f"{name} {run['seconds']:.1f} s ({run['seconds'] / first_s:.2f} of the first run, "
        f"{run['from_cache']} outputs from the cache)" if run["returncode"] == 0 else f"{name} failed"
        for name, run in runs.items()
    )


def _summary(measured: Measured) -> dict:
    summary = {key: value for key, value in asdict(measured).items() if key not in {"stdout", "stderr"}}
    summary["stderr_tail"] = _tail(measured.stderr) if measured.stderr.strip() else ""
    return summary


def _describe(measured: Measured) -> str:
    if measured.returncode is None and not measured.timed_out:
        return measured.stderr  # not run
    if measured.timed_out:
        return f"timed out after {measured.seconds:.0f} s"
    if not measured.ok:
        return f"failed (exit {measured.returncode}): {_tail(measured.stderr, 500)}"
    rss = f", peak RSS {measured.peak_rss_mib:.0f} MiB" if measured.peak_rss_mib is not None else ""
    return f"{measured.seconds:.1f} s{rss}"


# ---------------------------------------------------------------- report


def comparison_rows(result: dict) -> list[tuple[str, float | None, float | None, str]]:
    """Rows (metric, ours, peer, unit) of one size's table."""
    cli, ours, peer = result["cli_run"], result["ours_map"], result["peer_map"]
    browser = result.get("browser", {})
    ours_page, peer_page = browser.get("ours", {}), browser.get("peer", {})

    def mb(value):
        return None if value is None else value / 1e6

    ours_bytes = cli.get("html_bytes") or ours.get("html_bytes")  # the map alone when `run` was skipped

    return [
        ("whole `run` (wall)", cli.get("seconds") if cli.get("returncode") == 0 else None, None, "s"),
        ("whole `run` peak RSS", cli.get("peak_rss_mib"), None, "MiB"),
        ("prepare: read/check/join/compute | read layer", ours.get("prepare_s"), peer.get("prepare_s"), "s"),
        ("map build + save", ours.get("map_s"), peer.get("map_s"), "s"),
        ("map subprocess peak RSS", ours.get("peak_rss_mib"), peer.get("peak_rss_mib"), "MiB"),
        ("map build + save: memory above the data read", ours.get("build_extra_mib"), peer.get("build_extra_mib"), "MiB"),
        ("HTML size (peer: offline, assets inlined)", mb(ours_bytes), mb(peer.get("offline_html_bytes")), "MB"),
        ("HTML size (peer: CDN links)", mb(ours_bytes), mb(peer.get("html_bytes")), "MB"),
        ("load until drawn", ours_page.get("drawn_ms"), peer_page.get("drawn_ms"), "ms"),
        ("JS heap after GC", ours_page.get("heap_mib"), peer_page.get("heap_mib"), "MiB"),
        ("switch indicator", ours_page.get("switch_ms"), None, "ms"),
        ("pan", ours_page.get("pan_ms"), peer_page.get("pan_ms"), "ms"),
        ("zoom in one level", ours_page.get("zoom_ms"), peer_page.get("zoom_ms"), "ms"),
    ]


def format_table(result: dict) -> str:
    """The table of one size: ours, peer, ours/peer and peer/ours (bigger = ours is smaller or faster)."""
    lines = [
        f"{result['townships']:,} townships",
        f"  {'metric':<52} {'ours':>10} {'explore':>10} {'ours/peer':>10} {'peer/ours':>10}",
    ]
    for metric, ours, peer, unit in comparison_rows(result):
        ratio = ours / peer if ours and peer else None
        inverse = peer / ours if ours and peer else None
        lines.append(
            f"  {metric + ' [' + unit + ']':<52} {_cell(ours)} {_cell(peer)} {_cell(ratio, 'x')} {_cell(inverse, 'x')}"
        )
    if result.get("second_runs") and result["cli_run"].get("returncode") == 0:
        lines.append(f"  second runs (cache kept): {_describe_second_runs(result['second_runs'], result['cli_run']['seconds'])}")
    notes = [f"  {name}: {page['failure']}" for name, page in result.get("browser", {}).items() if page.get("failure")]
    notes += [f"  {name} page errors: {page['errors']}" for name, page in result.get("browser", {}).items()
              if page.get("errors")]
    return "\n".join(lines + notes)


def _cell(value: float | None, suffix: str = "") -> str:
    if value is None:
        return f"{'-':>10}"
    digits = 2 if abs(value) < 10 else 1 if abs(value) < 1000 else 0
    return f"{value:>{10 - len(suffix)},.{digits}f}{suffix}"


# ---------------------------------------------------------------- main


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of the benchmark."""
    parser = argparse.ArgumentParser(description="The coverage map at scale, against GeoDataFrame.explore().")
    parser.add_argument("--sizes", default="156,1800", help="comma-separated township counts (default 156,1800)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for generated data (reused), outputs and the npm cache (default: a temporary one)")
    parser.add_argument("--rounds", type=int, default=3, help="browser loads per page and size (default 3)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per measured command (default 900)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the generated data (default: the generator's)")
    parser.add_argument("--json", type=Path, default=None, help="write the results to this JSON file")
    parser.add_argument("--skip-run", action="store_true", help="measure the map alone, not the whole `run`")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark for every size; print a table per size and optionally write JSON."""
    args = parse_arguments(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    sys.path.insert(0, str(BENCH))
    from scale_data import DEFAULT_SEED

    seed = DEFAULT_SEED if args.seed is None else args.seed
    temporary = tempfile.TemporaryDirectory(prefix="bench-scale-") if args.work is None else None
    work = Path(temporary.name) if temporary is not None else args.work
    work.mkdir(parents=True, exist_ok=True)
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "rounds": args.rounds,
        "seed": seed,
        "sizes": [],
    }
    try:
        for n in sizes:
            results["sizes"].append(
                bench_size(n, work, seed=seed, rounds=args.rounds, timeout_s=args.timeout, npm_cache=work / "npm",
                           run_cli=not args.skip_run)
            )
            print(format_table(results["sizes"][-1]), flush=True)
            if args.json is not None:
                args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    finally:
        if temporary is not None:
            temporary.cleanup()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child_main(sys.argv[2:])
    else:
        main()
