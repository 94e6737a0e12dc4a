"""The message catalogues: everything the report code, the KPI registry and the report notebooks mark for
translation (extracted with babel.cfg, as a translator would) is translated in every language, keeps its
{placeholders}, and has the language's plural forms."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kpitools import i18n

ROOT = Path(__file__).resolve().parents[2]
LANGS = [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory):
    pot = tmp_path_factory.mktemp("pot") / "kpitools.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-k", "NP_:1c,2", "-k", "NN_:1,2", "--no-location",
                    "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        return read_po(f)


def _catalog(lang: str):
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "kpitools.po").open("rb") as f:
        return read_po(f, locale=lang)


def test_extraction_finds_every_kind_of_text(template) -> None:
    ids = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in template if m.id}
    assert ("KPI", "Win rate") in ids and ("benchmark", "≥ 15%") in ids  # the registry
    assert len([1 for c, _ in ids if c == "KPI"]) >= 69
    assert (None, "{names} drove most of the rise") in ids  # narrative templates
    assert (None, "Open pipeline by stage") in ids  # chart titles
    assert ("Jalali month", "Farvardin") in ids and ("currency unit", "IRT") in ids
    assert any(i.startswith("## At a glance") for _, i in ids)  # the notebooks' markdown cells
    assert (None, "Lead funnel") in ids  # the notebooks' code
    assert (None, "{n} day") in ids  # plural forms


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(template, lang: str) -> None:
    catalog = _catalog(lang)
    missing = []
    for m in template:
        if not m.id:
            continue
        t = catalog.get(m.id, context=m.context)
        strings = [] if t is None else ([t.string] if isinstance(t.string, str) else list(t.string))
        if t is None or t.fuzzy or not strings or not all(strings):
            missing.append((m.context, m.id))
    assert missing == [], f"{lang}: {len(missing)} untranslated, e.g. {missing[:3]}"


@pytest.mark.parametrize("lang", LANGS)
def test_translations_keep_placeholders_and_plural_forms(lang: str) -> None:
    catalog = _catalog(lang)
    for m in catalog:
        if not m.id:
            continue
        if isinstance(m.id, str):
            assert set(PLACEHOLDER.findall(m.string)) == set(PLACEHOLDER.findall(m.id)), (lang, m.id)
        else:
            assert len(m.string) == catalog.num_plurals, (lang, m.id)
            wanted = set(PLACEHOLDER.findall(m.id[1]))
            for form in m.string:  # a form may leave {n} out ("يوم واحد": "one day"), nothing else
                assert set(PLACEHOLDER.findall(form)) <= wanted and wanted - {"n"} <= set(PLACEHOLDER.findall(form)), \
                    (lang, m.id, form)


@pytest.mark.parametrize("lang", LANGS)
def test_msgfmt_check_passes(lang: str) -> None:
    """GNU gettext's own check of the catalogue (header, plural forms, format strings) passes."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt is not installed (GNU gettext; CI installs it)")
    po = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "kpitools.po"
    done = subprocess.run([msgfmt, "-c", "-o", os.devnull, str(po)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("lang", LANGS)
def test_no_python_format_flags(lang: str) -> None:
    """Templates are filled with str.format ({name}), never with %: Babel guesses `python-format` for a text
    with a literal "%" ("80% range"), and `pybabel update` adds it again (see README "Adding or improving a
    language" for the one-line fix); msgfmt -c then rejects a translation that writes "٪" or "80 %"."""
    text = (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "kpitools.po").read_text(encoding="utf-8")
    flagged = re.findall(r"^#,.*\bpython-format\b.*\n(?:msgctxt .*\n)?msgid (.*)", text, re.M)
    assert flagged == []


def test_catalogues_load_quickly_and_fall_back_to_english() -> None:
    """Compiled in memory from the .po (no .mo to fall out of step); an unknown message is its English."""
    assert i18n.translations("fa").gettext("Summary") == "خلاصه"
    assert i18n.gettext("A sentence nobody translated", "ru") == "A sentence nobody translated"
    assert i18n.gettext("Revenue", "de") == "Revenue"  # German formats, English words: no catalogue
