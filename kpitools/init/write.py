"""The drafted dataset.yml: block YAML, every value's evidence in a comment beside it, every open question
a `# TODO:` comment. Scalars are written by PyYAML's own emitter, so the file reads back as it was meant
(`on`, `yes`, `1` or `Closed: Won` come back as the text they are)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from .propose import Setting, TableDraft

if TYPE_CHECKING:
    from . import Draft

ALIGN = 44  # comments start at this column where the line allows


def scalar(value: Any) -> str:
    """A value as a YAML scalar (quoted only where it must be)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = yaml.safe_dump(value, allow_unicode=True, width=1 << 20, default_style=None)
    return text.removesuffix("\n...\n").rstrip("\n")


def comment(text: str) -> str:
    return " ".join(str(text).split())


class Lines:
    """YAML lines with comments beside them, aligned within each run of lines at one indent."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add(self, indent: int, code: str, why: str = "") -> None:
        self.rows.append(("  " * indent + code, comment(why)))

    def note(self, indent: int, text: str) -> None:
        self.rows.append(("  " * indent + f"# {comment(text)}", ""))

    def item(self, indent: int, key: Any, setting: Setting) -> None:
        self.add(indent, f"{scalar(key)}: {scalar(setting.value)}", setting.why)

    def text(self) -> str:
        out = []
        for code, why in self.rows:
            if not why:
                out.append(code)
                continue
            width = max(len(code) + 2, ALIGN) if len(code) < ALIGN else len(code) + 2
            out.append(f"{code.ljust(width)}# {why}")
        return "\n".join(out) + "\n"


def render(draft: Draft) -> str:
    lines = Lines()
    lines.note(0, f"Drafted by `kpitools init` from {draft.source}. Each guess says why; each open question is")
    lines.note(0, f"marked TODO. Check them, then run `kpitools validate {draft.target.name}`. The format: README,")
    lines.note(0, "\"Your own data: the dataset config\".")
    for note in draft.notes:
        lines.note(0, f"TODO: {note}")
    lines.add(0, f"name: {scalar(draft.name)}")
    lines.add(0, f"currency: {scalar(draft.currency.value)}", draft.currency.why)
    if draft.jalali:
        lines.note(0, "calendar: jalali   # the headers are Persian: Solar Hijri periods (1403-01), if you report "
                      "in them")
    lines.add(0, "tables:")
    for table in draft.tables:
        _table(lines, table)
    return lines.text()


def _nested(lines: Lines, level: int, mapping: dict[str, dict[str, Setting]]) -> None:
    """key: / sub: setting, one level deeper: per-column dates (dayfirst: {Col: true}), value maps."""
    for key, settings in mapping.items():
        lines.add(level, f"{key}:")
        for sub, setting in settings.items():
            lines.item(level + 1, sub, setting)


def _table(lines: Lines, t: TableDraft) -> None:
    lines.add(1, f"{t.table}:")
    lines.add(2, f"path: {scalar(t.path)}", t.why)
    if t.preset:
        lines.add(2, f"preset: {scalar(t.preset.value)}", t.preset.why)
    if t.read or t.dates:
        lines.add(2, "read:")
        for key, setting in t.read.items():
            lines.item(3, key, setting)
        _nested(lines, 3, t.dates)
    if t.join:
        lines.add(2, "join:")
        for j in t.join:
            lines.add(3, f"- path: {scalar(j.path)}", j.why)
            if isinstance(j.on, str):
                lines.add(4, f"on: {scalar(j.on)}")
            else:
                lines.add(4, "on:")
                lines.item(5, j.mine, Setting(j.theirs))
            if j.keys:
                lines.add(4, "keys:", f"spelled differently in {j.file.name}")
                for mine, theirs in j.keys.items():
                    lines.item(5, mine, Setting(theirs))
            for todo in j.todos:
                lines.note(4, todo)
    if t.columns:
        lines.add(2, "columns:")
        for canonical, setting in t.columns.items():
            lines.item(3, canonical, setting)
    if t.values:
        lines.add(2, "values:")
        _nested(lines, 3, t.values)
    if t.exclude:
        lines.add(2, "exclude:")
        for column, values in t.exclude.items():
            lines.add(3, f"{scalar(column)}:")
            for setting in values:
                lines.add(4, f"- {scalar(setting.value)}", setting.why)
    if t.fill:
        lines.add(2, "fill:")
        for canonical, setting in t.fill.items():
            lines.item(3, canonical, setting)
    if t.incomplete:
        lines.add(2, f"incomplete: {t.incomplete.value}", t.incomplete.why)
    for note in t.notes:
        lines.note(2, note)

