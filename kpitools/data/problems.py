"""Problems found in user input, and the error that carries them.

Every user mistake becomes a `Problem` that names where (file, table, column,
rows) and what to do; the CLI prints them all and exits with code 2.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence


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
