"""A small declarative schema for settings read from TOML, and its checker.

A schema is a tree of :class:`Table` (named keys, or free names such as
column names) and :class:`Value` leaves (what a value must be, and its
default). :func:`check` walks parsed data against it and returns every
:class:`Finding` at once; the caller adds file and line.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Union

KeyPath = tuple[str, ...]


def _no_reason(value: Any) -> str | None:
    """No explanation beyond what is expected."""
    return None


@dataclass(frozen=True)
class Value:
    """One setting.

    Attributes
    ----------
    expected
        What is allowed, as the message says it ("a number in (0, 100]").
    accepts
        Whether a parsed value is allowed.
    default
        The value when the key is absent.
    reason
        For a refused value, an extra explanation or hint (or ``None``).
    """

    expected: str
    accepts: Callable[[Any], bool]
    default: Any = None
    reason: Callable[[Any], str | None] = _no_reason


#: A rule over a whole table: (key, problem) pairs for the keys it refuses.
TableRule = Callable[[Mapping[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class Table:
    """A TOML table: its keys, which are required, and rules across keys.

    Attributes
    ----------
    keys
        Allowed key -> its schema.
    required
        Keys that must be present.
    any_key
        Schema of every entry when the names are free (column names, labels);
        ``keys`` is then empty.
    rules
        Checks that involve several keys, run when each key is fine alone.
    contents
        What the table holds, for messages ("the township boundaries").
    """

    keys: Mapping[str, Entry] = field(default_factory=lambda: MappingProxyType({}))
    required: tuple[str, ...] = ()
    any_key: Entry | None = None
    rules: tuple[TableRule, ...] = ()
    contents: str = ""


Entry = Union[Value, Table]


@dataclass(frozen=True)
class Finding:
    """One problem in the settings.

    Attributes
    ----------
    path
        Key path of the setting concerned (for a missing key, its table).
    message
        What is wrong, naming the key and value as written and what is allowed.
    """

    path: KeyPath
    message: str


def check(schema: Table, data: Mapping[str, Any]) -> list[Finding]:
    """Every problem of ``data`` against ``schema``, in the order of the data."""
    return _check_table(schema, data, ())


def setting(schema: Table, data: Mapping[str, Any], *path: str) -> Any:
    """The value at ``path`` in checked ``data``, or its default from ``schema``."""
    value: Any = data
    entry: Entry | None = schema
    for key in path:
        entry = entry.keys.get(key, entry.any_key) if isinstance(entry, Table) else None
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None and isinstance(entry, Value):
        return entry.default
    return value


# --- value kinds ---------------------------------------------------------------


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite int or float (``true``/``false`` are not)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(low: float, high: float, *, low_open: bool = False, default: float) -> Value:
    """A number in ``[low, high]`` (or ``(low, high]`` with ``low_open``)."""
    above_low = (lambda v: v > low) if low_open else (lambda v: v >= low)
    bracket = "(" if low_open else "["
    return Value(
        expected=f"a number in {bracket}{low:g}, {high:g}]",
        accepts=lambda v: is_number(v) and above_low(v) and v <= high,
        default=default,
    )


def any_number() -> Value:
    """Any finite number."""
    return Value(expected="a number", accepts=is_number)


def whole_number(low: int, high: int | None = None, *, default: int) -> Value:
    """A whole number ``>= low`` (and ``<= high`` when given)."""
    expected = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"
    return Value(
        expected=expected,
        accepts=lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low and (high is None or v <= high),
        default=default,
    )


def text(*, default: str | None = None, about: str = "") -> Value:
    """Non-empty text (a string in quotes)."""
    return Value(
        expected="non-empty text in quotes" + (f" ({about})" if about else ""),
        accepts=lambda v: isinstance(v, str) and v.strip() != "",
        default=default,
    )


def any_text(*, default: str = "") -> Value:
    """Any text, empty included."""
    return Value(expected="text in quotes", accepts=lambda v: isinstance(v, str), default=default)


def text_or_number() -> Value:
    """Text, or a number (kept as written)."""
    return Value(expected="text or a number", accepts=lambda v: isinstance(v, str) or is_number(v))


def flag(*, default: bool) -> Value:
    """``true`` or ``false``."""
    return Value(expected="true or false", accepts=lambda v: isinstance(v, bool), default=default)


def choice(options: tuple[str, ...], *, default: str) -> Value:
    """One of ``options``."""
    return Value(
        expected="one of " + ", ".join(options),
        accepts=lambda v: isinstance(v, str) and v in options,
        default=default,
        reason=lambda v: _did_you_mean(v, options) if isinstance(v, str) else None,
    )


def texts_or_all(*, about: str) -> Value:
    """``"all"``, or a list of non-empty texts."""

    def accepts(value: Any) -> bool:
        if isinstance(value, str):
            return value == "all"
        return isinstance(value, list) and len(value) > 0 and all(isinstance(v, str) and v.strip() for v in value)

    return Value(expected=f'"all" or a list of texts in quotes ({about})', accepts=accepts)


def increasing_numbers(most: int) -> Value:
    """A list of up to ``most`` increasing numbers."""

    def accepts(value: Any) -> bool:
        return (
            isinstance(value, list)
            and len(value) <= most
            and all(is_number(v) for v in value)
            and all(a < b for a, b in zip(value, value[1:]))
        )

    return Value(expected=f"a list of up to {most} increasing numbers", accepts=accepts, default=[])


# --- checking -------------------------------------------------------------------


def _check_entry(entry: Entry, value: Any, path: KeyPath) -> list[Finding]:
    """Problems of one value (a table is checked key by key)."""
    if isinstance(entry, Table):
        if isinstance(value, Mapping):
            return _check_table(entry, value, path)
        return [Finding(path, f"{written(path, value)}: expected a table{_holding(entry)}")]
    if entry.accepts(value):
        return []
    reason = entry.reason(value)
    return [Finding(path, f"{written(path, value)}: expected {entry.expected}" + (f"; {reason}" if reason else ""))]


def _check_table(table: Table, data: Mapping[str, Any], path: KeyPath) -> list[Finding]:
    """Unknown, wrong and missing keys of a table; then its rules, if each key is fine."""
    findings: list[Finding] = []
    for key, value in data.items():
        entry = table.keys.get(key, table.any_key)
        if entry is None:
            findings.append(_unknown_key(table, value, path + (key,)))
        else:
            findings += _check_entry(entry, value, path + (key,))
    findings += [_missing_key(table, path, key) for key in table.required if key not in data]
    if not findings:
        findings += [_rule_finding(data, path + (key,), problem) for rule in table.rules for key, problem in rule(data)]
    return findings


def _rule_finding(data: Mapping[str, Any], path: KeyPath, problem: str) -> Finding:
    """A rule's problem, shown with the value as written (or as missing)."""
    if path[-1] in data:
        return Finding(path, f"{written(path, data[path[-1]])}: {problem}")
    return Finding(path[:-1], f"{named(path)} is missing: {problem}")


def _unknown_key(table: Table, value: Any, path: KeyPath) -> Finding:
    """An unknown key or section, with the closest allowed one (or all of them)."""
    what = f"section [{_dotted(path)}]" if isinstance(value, Mapping) else f"key {named(path)}"
    allowed = tuple(table.keys)
    hint = _did_you_mean(path[-1], allowed) or "allowed: " + ", ".join(allowed)
    return Finding(path, f"unknown {what}; {hint}")


def _missing_key(table: Table, path: KeyPath, key: str) -> Finding:
    """A required key or section that is absent; reported at its table."""
    entry = table.keys[key]
    if isinstance(entry, Table):
        about = f" ({entry.contents})" if entry.contents else ""
        needs = f"; it must give {', '.join(entry.required)}" if entry.required else ""
        return Finding(path, f"section [{_dotted(path + (key,))}] is missing{about}{needs}")
    return Finding(path, f"{named(path + (key,))} is missing: expected {entry.expected}")


def _holding(table: Table) -> str:
    """`` (what the table is for) with keys a, b``, for messages."""
    about = f" ({table.contents})" if table.contents else ""
    return about + (" with keys " + ", ".join(table.keys) if table.keys else "")


def _did_you_mean(word: str, options: tuple[str, ...]) -> str | None:
    """``did you mean x?`` for the closest option (difflib), or ``None``."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else None


# --- how keys and values are shown ----------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key_text(key: str) -> str:
    """A key as it is written in TOML: bare when it can be, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _dotted(path: KeyPath) -> str:
    """``a.b."c d"``."""
    return ".".join(key_text(k) for k in path)


def named(path: KeyPath) -> str:
    """``[section] key`` for a key in a section, ``key`` for a top-level one."""
    if len(path) == 1:
        return key_text(path[0])
    return f"[{_dotted(path[:-1])}] {key_text(path[-1])}"


def written(path: KeyPath, value: Any) -> str:
    """``[section] key = value``, the value as TOML writes it."""
    return f"{named(path)} = {toml_value(value)}"


def toml_value(value: Any) -> str:
    """A parsed value written back as TOML (approximately, for messages)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{key_text(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)
