"""Line numbers of the keys of a TOML file, for messages.

:mod:`tomllib` returns values without positions, so the text of a file that
parsed is scanned again: table headers (``[a.b]``), dotted and quoted keys
(``a."b c" = 1``) and the keys of one-line inline tables
(``columns = { name = "名称" }``). Each key path gets the line where it, or
the first key below it, is written.
"""

from __future__ import annotations

import re
import tomllib

KeyPath = tuple[str, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MULTILINE_DELIMITERS = ('"""', "'''")


def key_lines(text: str) -> dict[KeyPath, int]:
    """Key path -> 1-based line number, for every key written in ``text``.

    Parameters
    ----------
    text
        The text of a valid TOML document.

    Returns
    -------
    dict
        ``("layers", "sites", "columns", "name")`` -> line. A table that is
        only implied (``layers`` by ``[layers.sites]``) gets the line of its
        first mention.
    """
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    open_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if open_string is not None:
            if open_string in line:
                open_string = None
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            header = _table_header(stripped)
            if header is not None:
                table = header
                _record(lines, table, number)
            continue
        open_string = _scan_key_value(stripped, table, number, lines)
    return lines


def _record(lines: dict[KeyPath, int], path: KeyPath, number: int) -> None:
    """Give ``path`` and each of its parents ``number`` unless already seen."""
    for length in range(1, len(path) + 1):
        lines.setdefault(path[:length], number)


def _table_header(line: str) -> KeyPath | None:
    """The path of a ``[table]`` or ``[[array.of.tables]]`` header line."""
    position = 2 if line.startswith("[[") else 1
    parsed = _read_key(line, position)
    if parsed is None:
        return None
    parts, position = parsed
    return parts if line[position:].lstrip().startswith("]") else None


def _scan_key_value(line: str, table: KeyPath, number: int, lines: dict[KeyPath, int]) -> str | None:
    """Record the key of a ``key = value`` line (and inline-table keys).

    Returns
    -------
    str or None
        The delimiter of a multi-line string the line opens, else ``None``.
    """
    parsed = _read_key(line, 0)
    if parsed is None:
        return None  # a continuation line of a multi-line array
    parts, position = parsed
    position = _skip_space(line, position)
    if line[position : position + 1] != "=":
        return None
    path = table + parts
    _record(lines, path, number)
    position = _skip_space(line, position + 1)
    if line[position : position + 1] == "{":
        _scan_inline_table(line, position, path, number, lines)
        return None
    for delimiter in _MULTILINE_DELIMITERS:
        if line.startswith(delimiter, position) and delimiter not in line[position + 3 :]:
            return delimiter
    return None


def _scan_inline_table(line: str, position: int, path: KeyPath, number: int, lines: dict[KeyPath, int]) -> int:
    """Record the keys of the inline table opening at ``line[position]``.

    Returns
    -------
    int
        The position just after its closing brace.
    """
    position += 1
    while True:
        position = _skip_space(line, position)
        if position >= len(line) or line[position] == "}":
            return position + 1
        parsed = _read_key(line, position)
        if parsed is None:
            return len(line)
        parts, position = parsed
        position = _skip_space(line, position)
        if line[position : position + 1] != "=":
            return len(line)
        _record(lines, path + parts, number)
        position = _skip_space(line, position + 1)
        if line[position : position + 1] == "{":
            position = _scan_inline_table(line, position, path + parts, number, lines)
        else:
            position = _skip_value(line, position)
        position = _skip_space(line, position)
        if line[position : position + 1] == ",":
            position += 1


def _skip_value(line: str, position: int) -> int:
    """Position of the ``,`` or ``}`` that ends the value at ``position``."""
    depth = 0
    while position < len(line):
        char = line[position]
        if char in "\"'":
            position = _string_end(line, position)
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            if depth == 0:
                return position
            depth -= 1
        elif char == "," and depth == 0:
            return position
        position += 1
    return position


def _read_key(line: str, position: int) -> tuple[KeyPath, int] | None:
    """The (dotted, possibly quoted) key at ``position`` and the position after it."""
    parts: list[str] = []
    while True:
        position = _skip_space(line, position)
        part = _read_key_part(line, position)
        if part is None:
            return None
        text, position = part
        parts.append(text)
        after = _skip_space(line, position)
        if line[after : after + 1] != ".":
            return tuple(parts), position
        position = after + 1


def _read_key_part(line: str, position: int) -> tuple[str, int] | None:
    """One bare or quoted key and the position after it."""
    if line[position : position + 1] in ("'", '"'):
        end = _string_end(line, position)
        quoted = line[position:end]
        try:
            return tomllib.loads(f"k = {quoted}")["k"], end
        except tomllib.TOMLDecodeError:
            return None
    match = _BARE_KEY.match(line, position)
    if match is None:
        return None
    return match.group(), match.end()


def _string_end(line: str, position: int) -> int:
    """Position just after the one-line string opening at ``line[position]``."""
    quote = line[position]
    index = position + 1
    while index < len(line):
        if quote == '"' and line[index] == "\\":
            index += 2
            continue
        if line[index] == quote:
            return index + 1
        index += 1
    return len(line)


def _skip_space(line: str, position: int) -> int:
    """Position of the next character that is not a space or tab."""
    while position < len(line) and line[position] in " \t":
        position += 1
    return position
