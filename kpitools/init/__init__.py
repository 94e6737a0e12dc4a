"""`kpitools init`: a dataset.yml drafted from a folder of exports.

    draft = make_draft(Path("exports"), Path("exports/dataset.yml"))   # ask=prompt in a terminal
    Path("exports/dataset.yml").write_text(draft.text())

Three jobs, one module each: `recognise` reads the files and tells what each file and column is (by
name, in English, Russian, Persian and Arabic, and by content); `propose` turns that into each table's
settings (joins through shared keys, fill, exclude, incomplete, values, dates), asking the open questions
or answering them with the safest choice and a TODO; `write` renders the commented YAML. The synonyms
are data, in `words`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from kpitools.data.loader import FACT_TABLES
from kpitools.data.problems import DataError, Problem

from .propose import Ask, Question, Setting, TableDraft, currency, propose
from .recognise import also_like, choose_tables, read_folder
from .words import PERSIAN_LETTERS

__all__ = ["Draft", "Question", "is_terminal", "make_draft", "prompt"]


@dataclass
class Draft:
    source: str  # the folder, as the user named it
    target: Path
    name: str
    currency: Setting
    tables: list[TableDraft]
    jalali: bool = False  # Persian headers: suggest the Solar Hijri calendar
    notes: list[str] = field(default_factory=list)  # TODOs about the folder (files not used)

    @property
    def todos(self) -> list[str]:
        """Every open question, as printed after the draft is written."""
        top = [self.currency.why.removeprefix("TODO: ")] if self.currency.why.startswith("TODO") else []
        return top + self.notes + [f"{t.table}: {todo}" for t in self.tables for todo in t.todos]

    def text(self) -> str:
        from .write import render

        return render(self)


def make_draft(folder: Path, target: Path, ask: Ask | None = None) -> Draft:
    """The draft config for the exports in `folder`, with paths relative to `target`'s folder. `ask`
    answers the open questions (None: the safest answers, marked TODO). A DataError when the folder has no
    files, a file will not read, or no file looks like deals, leads or subscriptions."""
    files = read_folder(folder)
    chosen = choose_tables(files)
    if not any(t in chosen for t in FACT_TABLES):
        shown = "; ".join(f"{f.name}: {', '.join(list(f.columns)[:6])}" for f in files[:5])
        raise DataError([Problem(f"none of the files looks like deals, leads or subscriptions ({shown})",
                                 file=str(folder),
                                 hint="kpitools init knows a table by its columns (deals: an id, a created "
                                      "date, a status and an amount); rename the headers, or write the "
                                      "dataset.yml by hand (README: \"Your own data: the dataset config\")")])
    base = target.parent
    tables = [propose(r, files, chosen, base, ask) for r in chosen.values()]
    used = {t.file.name for t in tables} | {j.file.name for t in tables for j in t.join}
    also = also_like(files, chosen)
    notes = []
    for f in files:
        if f.name in used:
            continue
        if f.name in also:
            notes.append(f"{f.name} also looks like {also[f.name]}, which is read from "
                         f"{chosen[also[f.name]].file.name}: kpitools reads one file per table "
                         "(put the rows in one file)")
        else:
            notes.append(f"{f.name} was not used: no table it fits, and no key that a table's rows look up")
    value, why = currency(tables)
    jalali = any(PERSIAN_LETTERS.search(" ".join(t.file.columns)) for t in tables)
    name = folder.resolve().name
    return Draft(str(folder), target, name, Setting(value, why), tables, jalali, notes)


def is_terminal() -> bool:
    """Whether someone is there to answer (stdin and stdout are a terminal)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def prompt(question: Question) -> str:
    """Ask one question in the terminal (arrow keys, Enter); Ctrl-C stops."""
    import questionary

    choice = questionary.select(question.text, choices=list(question.choices),
                                default=question.default).ask()
    if choice is None:  # Ctrl-C or Esc: questionary returns None
        raise KeyboardInterrupt
    return choice
