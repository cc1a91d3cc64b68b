"""Vendored JavaScript and CSS, inlined so that maps work offline.

Folium elements declare the scripts and stylesheets they need as
``default_js`` / ``default_css`` lists of ``(name, url)``. Before rendering,
:func:`inline_assets` empties those lists and puts the vendored file's text
into the page instead. Names that the page does not need (Bootstrap, jQuery,
Font Awesome: this map uses none of them) are dropped; an unknown name is an
error, so that no CDN link can slip into an offline map unnoticed.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib.resources import files

from branca.element import Element, Figure

_VENDOR = files("township_coverage.webmap") / "vendor"

#: Folium asset name -> vendored file (relative to ``vendor/``).
VENDORED_JS = {"leaflet": "leaflet/leaflet.js"}
VENDORED_CSS = {"leaflet_css": "leaflet/leaflet.css"}
#: Folium defaults this map does not use (no Bootstrap widgets, no icon fonts).
UNUSED = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)


class UnknownAssetError(RuntimeError):
    """A map element needs a script or stylesheet that is not vendored."""


@cache
def vendored_text(relative: str) -> str:
    """Text of a vendored file; CSS loses its comments and gets images as data URLs."""
    text = (_VENDOR / relative).read_text(encoding="utf-8")
    if relative.endswith(".css"):
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
        folder = relative.rsplit("/", 1)[0]
        text = re.sub(
            r"url\((images/[\w.-]+\.png)\)",
            lambda match: _data_url(f"{folder}/{match.group(1)}"),
            text,
        )
    return text


def _data_url(relative: str) -> str:
    png = (_VENDOR / relative).read_bytes()
    return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def inline_assets(figure: Figure) -> None:
    """Replace every element's CDN links by the vendored files' text.

    Raises
    ------
    UnknownAssetError
        If an element needs a script or stylesheet that is not vendored.
    """
    for element in _walk(figure):
        for name, url in getattr(element, "default_js", []):
            if name in VENDORED_JS:
                relative = VENDORED_JS[name]
                script = vendored_text(relative).replace("</script", "<\\/script")
                figure.header.add_child(Element(f"<script>{script}</script>"), name=f"inline_{relative}")
            elif name not in UNUSED:
                raise UnknownAssetError(f"script {name!r} ({url}) is not vendored")
        for name, url in getattr(element, "default_css", []):
            if name in VENDORED_CSS:
                relative = VENDORED_CSS[name]
                css = vendored_text(relative)
                figure.header.add_child(Element(f"<style>{css}</style>"), name=f"inline_{relative}")
            elif name not in UNUSED:
                raise UnknownAssetError(f"stylesheet {name!r} ({url}) is not vendored")
        if hasattr(element, "default_js"):
            element.default_js = []
        if hasattr(element, "default_css"):
            element.default_css = []


def _walk(element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)
