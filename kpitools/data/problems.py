"""Problems found in user input, and the error that carries them.

Every user mistake becomes a `Problem` that names where (file, table, column,
rows) and what to do; the CLI prints them all and exits with code 2.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Problem:
    message: str
    file: str | None = None
    table: str | None = None
    column: str | None = None
    rows: tuple[int, ...] = ()  # 1-based line numbers in the source file
    values: tuple[str, ...] = ()
    hint: str = ""
    severity: Literal["error", "warning"] = "error"
    count: int = 0  # how many rows are affected in all (rows lists the first few)

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.table:
            parts.append(f"table {self.table}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows)
            more = f" (+{self.count - len(self.rows)} more)" if self.count > len(self.rows) else ""
            parts.append(f"{'row' if len(self.rows) == 1 else 'rows'} {shown}{more}")
        return ": ".join([", ".join(parts)]) if parts else ""

    def __str__(self) -> str:
        text = f"{self.severity}: "
        where = self.where()
        if where:
            text += f"{where}: "
        text += self.message
        if self.values:
            text += " (values: " + ", ".join(repr(v) for v in self.values) + ")"
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


@dataclass
class DataError(Exception):
    """Raised when input cannot be used; holds every problem found, not just the first."""

    problems: Sequence[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


NoteKind = Literal["joined", "unmatched", "filled", "excluded", "dropped"]


@dataclass(frozen=True)
class DataNote:
    """One thing done to a table's rows on the way in, counted: what the numbers rest on.

    joined: rows that found their match in `source` on `column`; unmatched: rows whose key is not there;
    filled: blanks of `column` taken from source column `source`; excluded: rows left out because
    `column` is one of `values`; dropped: rows without the required `column` (`incomplete: drop`)."""

    table: str
    kind: NoteKind
    count: int
    column: str = ""
    source: str = ""
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        n = f"{self.count:,} row{'' if self.count == 1 else 's'}"
        text = {
            "joined": f"{n} matched in {self.source} on {self.column}",
            "unmatched": f"{n} with no match in {self.source} on {self.column}",
            "filled": f"{n} had no {self.column}: taken from {self.source}",
            "excluded": f"{n} left out where {self.column} is {', '.join(map(repr, self.values))}",
            "dropped": f"{n} dropped: no {self.column} (incomplete: drop)",
        }[self.kind]
        return f"{self.table}: {text}"


# What a settings value must be, for pydantic's error types (dataset configs and batch specs).
_EXPECTED = {
    "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "text (in quotes if it looks like a number)",
    "dict_type": "a mapping (key: value)", "list_type": "a list, e.g. [a, b]",
    "model_type": "a mapping of settings", "model_attributes_type": "a mapping of settings",
}
_BOUNDS = {"greater_than": ("gt", "greater than"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}


def setting_hint(err: Mapping[str, Any], key: str, description: str | None = None) -> str:
    """How to fix one pydantic validation error of setting `key` (e.g. "make timeout greater than 0")."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "missing":
        text = f"add `{key}:`"
    elif kind in _EXPECTED:
        text = f"make {key} {_EXPECTED[kind]}"
    elif kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        bound = ctx.get(name)
        text = f"make {key} {words} {bound:g}" if isinstance(bound, (int, float)) else f"make {key} {words} {bound}"
    elif kind == "literal_error":
        text = f"use one of {ctx.get('expected')}"
    elif kind == "string_pattern_mismatch":
        text = f"write {key} in the right form" + ("" if description else f" ({ctx.get('pattern')})")
    elif kind == "value_error":
        text = str(err.get("msg", "")).removeprefix("Value error, ")
    else:
        text = f"check the value of {key}"
    if description and kind != "value_error":
        text += f" ({description})"
    return text
