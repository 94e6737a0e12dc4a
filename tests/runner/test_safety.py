"""Report safety: hostile strings from the data, parameters that try to write outside the output
folder, and secrets passed as parameters.

- Names in the data carrying markup (<script>, "><img onerror=...>, ' onmouseover='...) go through the
  real sales_report notebook with `kpitools run` (conftest.hostile_batch): every page (reports, portal)
  shows them as text and contains no script, no event handler, no image that is not an embedded PNG.
  test_browser.py opens the same pages in Chromium (no dialog, no request, no console error).
- Parameter values and output templates that would leave the output folder are refused before
  anything runs (exit 2), and nothing is written anywhere.
- Secrets (a database URL with a password, parameters named password/api_token), printed, displayed,
  logged, warned, raised and published by a careless notebook, appear in no file the runner writes
  and not in the command's output.
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kpitools.runner.batch import run_batch
from kpitools.runner.errors import BatchError

KPITOOLS = str(Path(sys.executable).with_name("kpitools"))
FIXTURES = Path(__file__).parents[1] / "fixtures" / "batch"


class Page(HTMLParser):
    """Elements, attributes and decoded text of an HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [(tag, name, value or "") for name, value in attrs]

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def strings(self) -> str:
        """Everything a reader can see or hear: text, alt and title attributes."""
        return "\n".join(self.text + [v for _, name, v in self.attrs if name in ("alt", "title")])


def assert_inert(path: Path, hostile: dict[str, str]) -> Page:
    """No markup from the data: no script element, no event handler, no frame or object, images only
    embedded PNGs, nothing that loads from elsewhere; the hostile strings never appear raw."""
    raw = path.read_text(encoding="utf-8")
    page = Page(raw)
    assert "script" not in page.tags
    assert not {"iframe", "object", "embed", "base", "form"} & set(page.tags)
    assert [a for a in page.attrs if a[1].startswith("on")] == []
    assert all(v.startswith("data:image/png;base64,") for tag, name, v in page.attrs if tag == "img" and name == "src")
    # the one data: link allowed is a chart's numbers as a CSV download (percent-encoded text, never run)
    assert [v for tag, name, v in page.attrs if name in ("src", "href") and tag != "img"
            and v.split(":")[0] in ("http", "https", "javascript", "data")
            and not (tag == "a" and name == "href" and v.startswith("data:text/csv;charset=utf-8,")
                     and "<" not in v and '"' not in v)] == []
    for value in hostile.values():  # a quote in text is harmless: in an attribute, on* above catches it
        assert "<" not in value or value not in raw
    assert "<img src=x" not in raw and "<script>alert" not in raw
    return page


@pytest.fixture(scope="module")
def hostile(hostile_batch: dict) -> dict:
    assert hostile_batch["code"] == 0, hostile_batch["stderr"]
    return hostile_batch


def test_hostile_names_are_text_in_the_company_report(hostile: dict) -> None:
    strings = hostile["strings"]
    page = assert_inert(hostile["company"], strings)
    # rep and product names are shown (leaderboard, narrative, chart descriptions), as text
    for name in (f"Ann {strings['script']}", f"Cy{strings['quote']}", f"Suite {strings['script']}",
                 f"Pro{strings['img']}"):
        assert name in page.strings
    # charts are embedded PNG images whose descriptions carry the names as plain text
    assert page.tags.count("img") >= 3


def test_hostile_names_are_text_in_a_regional_report(hostile: dict) -> None:
    page = assert_inert(hostile["regional"], hostile["strings"])
    title = f"Sales {hostile['region']}"  # the spec's title, from a hostile parameter
    assert title in page.strings and f"Region: {hostile['region']}" in page.strings
    head = re.search(r"<title>(.*?)</title>", hostile["regional"].read_text(encoding="utf-8"), re.S)
    assert head and html.unescape(head[1]) == title


def test_hostile_names_are_text_in_the_portal(hostile: dict) -> None:
    page = assert_inert(hostile["portal"], hostile["strings"])
    assert hostile["region"] in page.strings and f"Sales {hostile['region']}" in page.strings
    # the link to the report with a hostile file name is a relative, percent-encoded path
    hrefs = [v for tag, name, v in page.attrs if tag == "a" and name == "href" and v.startswith("2026-01/")]
    assert "2026-01/APAC%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.html" in hrefs


def test_hostile_names_stay_data_in_the_manifest(hostile: dict) -> None:
    manifest = json.loads((hostile["root"] / "manifest.json").read_text(encoding="utf-8"))
    regional = [r for r in manifest["runs"] if r["parameters"]["region"] == hostile["region"]]
    assert regional and regional[0]["status"] == "ok" and regional[0]["html"] == f"2026-01/{hostile['region']}.html"


# --- writing outside the output folder ---------------------------------------------------------

def _spec(folder: Path, output: str, regions: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.yml").write_text(f"notebook: {FIXTURES / 'faults.ipynb'}\noutput: {json.dumps(output)}\n"
                                     f"grid:\n  region: {json.dumps(regions)}\n", encoding="utf-8")
    return folder / "spec.yml"


@pytest.mark.parametrize(("output", "region", "message"), [
    ("out/{region}.html", "../../etc", "contains a path separator"),
    ("out/{region}.html", "/etc/cron.d/evil", "contains a path separator"),
    ("out/{region}.html", "..\\..\\evil", "contains a path separator"),
    ("out/{region}.html", "..", "contains '..'"),
    ("out/{region}.html", "a\x00b", "contains a NUL character"),
    ("out/{region}.html", "line\nbreak", "contains control characters"),
    ("../escape/{region}.html", "A", "'..' or '.' would leave"),
    ("out/{region}/../../x.html", "A", "'..' or '.' would leave"),
    ("/tmp/kpitools-escape/{region}.html", "A", "an absolute path"),
    ("~/escape/{region}.html", "A", "an absolute path"),
    ("out/.runs/{region}.html", "A", "starting with '.'"),
])
def test_paths_outside_the_output_folder_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str,
                                                     region: str, message: str) -> None:
    work = tmp_path / "a" / "b"
    spec = _spec(work, output, [region])
    monkeypatch.chdir(work)
    with pytest.raises(BatchError, match=message.replace("(", r"\(").replace(".", r"\.")):
        run_batch(spec, executor="serial", progress=False)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/b", "a/b/spec.yml"]
    assert not Path("/tmp/kpitools-escape").exists()


def test_the_command_refuses_a_traversal_with_exit_2(tmp_path: Path) -> None:
    work = tmp_path / "a" / "b"
    _spec(work, "out/{region}.html", ["../../etc", "EMEA"])
    done = subprocess.run([KPITOOLS, "run", "spec.yml"], cwd=work, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "value '../../etc' contains a path separator, and it names the output file" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["a", "a/b", "a/b/spec.yml"]


# --- secrets ----------------------------------------------------------------------------------

SECRETS = {"db_url": "postgresql://sales:s3cret-db-pw@db.example.com:5432/crm", "password": "s3cret-password",
           "api_token": "tok-s3cret-123"}


def test_secrets_reach_no_file_and_no_output(tmp_path: Path) -> None:
    """The secrets notebook prints, displays, logs, warns, publishes and raises its secrets; the runner
    masks them in everything it writes (and kernels keep no IPython history): nowhere under the
    folder (output root, IPython directory) nor in the command's stdout/stderr is 's3cret' found."""
    params = "\n".join(f"  {k}: {json.dumps(v)}" for k, v in SECRETS.items())
    (tmp_path / "spec.yml").write_text(f"notebook: {FIXTURES / 'secrets.ipynb'}\noutput: out/{{region}}.html\n"
                                       f"title: 'Report {{region}} for {{password}}'\nparameters:\n{params}\n"
                                       "grid:\n  region: [OK, FAIL]\n", encoding="utf-8")
    env = {**os.environ, "IPYTHONDIR": str(tmp_path / "ipython"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    done = subprocess.run([KPITOOLS, "run", "spec.yml", "--workers", "2"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 1, done.stderr  # FAIL raises (with the secrets in its message)
    assert "s3cret" not in done.stdout + done.stderr
    assert "could not connect to postgresql://sales:***@db.example.com:5432/crm with *** / ***" in done.stderr
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "spec.yml" and b"s3cret" in p.read_bytes()]
    assert leaks == []
    root = tmp_path / "out"
    runs = {r["parameters"]["region"]: r for r in json.loads((root / "manifest.json").read_text())["runs"]}
    assert runs["OK"]["status"] == "ok" and runs["FAIL"]["status"] == "failed"
    assert runs["OK"]["parameters"] == {"region": "OK", "db_url": "postgresql://sales:***@db.example.com:5432/crm",
                                        "password": "***", "api_token": "***"}
    # the notebook's own output is kept, masked (so the test is not vacuous)
    log = (root / runs["OK"]["log"]).read_text()
    assert "connecting to postgresql://sales:***@db.example.com:5432/crm as password=*** token=***" in log
    html = (root / "OK.html").read_text()
    assert "Report OK for ***" in html and "Database: <code>postgresql://sales:***@" in html
    assert runs["OK"]["headline"]["revenue"] == {"name": "Revenue (***)", "value": 1.0, "display": "***",
                                                 "change": "postgresql://sales:***@db.example.com:5432/crm",
                                                 "status": None}


def test_a_secret_cannot_name_the_output_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "spec.yml").write_text(f"notebook: {FIXTURES / 'secrets.ipynb'}\noutput: out/{{api_token}}.html\n"
                                       "grid:\n  api_token: [tok-s3cret-1, tok-s3cret-2]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BatchError) as caught:
        run_batch(tmp_path / "spec.yml", executor="serial", progress=False)
    messages = " ".join(p.message for p in caught.value.problems)
    assert "{api_token} holds a secret: it cannot name the output file" in messages
    assert "s3cret" not in messages and not (tmp_path / "out").exists()


def test_the_scrubber_finds_secrets_in_their_usual_disguises() -> None:
    from kpitools.masking import scrubber

    key = "k'e\\y<1>"  # a quote, a backslash, markup
    scrub = scrubber({"db": "postgresql://u:p%40ss&word@h/db", "api_key": key, "pin": "abc", "password": "no",
                      "region": "EMEA"})
    text = (f"url postgresql://u:p%40ss&word@h/db; decoded p@ss&word; html p@ss&amp;word; key {key}; "
            f"escaped k&#x27;e\\y&lt;1&gt; k'e\\y&lt;1&gt;; repr {key!r}; quoted k%27e%5Cy%3C1%3E; EMEA; no")
    assert scrub(text) == ("url postgresql://u:***@h/db; decoded ***; html ***; key ***; escaped *** ***; "
                           'repr "***"; quoted ***; EMEA; no')  # "no" is too short to hunt for in text
    assert scrub({"a": [key, 3]}) == {"a": ["***", 3]}
    assert scrubber({"region": "EMEA"})(key) == key
