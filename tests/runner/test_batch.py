"""The batch runner end to end, with real kernels on a tiny notebook (few runs, 2 workers).

tests/fixtures/batch/report.ipynb prints its parameters, raises for region FAIL,
sleeps for SLOW, fails once for FLAKY (a marker file in its run folder) and
publishes a headline. Most tests use the in-process `serial` executor: the
worker start-up (imports, fork server) is then paid once for the whole file.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpitools.runner.batch import run_batch
from kpitools.runner.errors import BatchError

NOTEBOOK = Path(__file__).parents[1] / "fixtures" / "batch" / "report.ipynb"
TODAY = dt.date(2026, 2, 10)
MONTH = "2026-01"  # last complete month on TODAY


def write_spec(folder: Path, regions: list[str], extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "spec.yml"
    spec.write_text(f"notebook: {NOTEBOOK}\noutput: out/{{period}}/{{region}}.html\n"
                    f"grid:\n  region: {json.dumps(regions)}\n  period: [last_complete_month]\n{extra}",
                    encoding="utf-8")
    return spec


def manifest(folder: Path) -> dict:
    return json.loads((folder / "out" / "manifest.json").read_text(encoding="utf-8"))


def by_region(folder: Path) -> dict[str, dict]:
    return {r["parameters"]["region"]: r for r in manifest(folder)["runs"]}


def statuses(folder: Path) -> dict[str, tuple[str, int]]:
    return {k: (r["status"], r["attempts"]) for k, r in by_region(folder).items()}


def leftovers(folder: Path) -> list[Path]:
    return [p for p in (folder / "out").rglob("*") if p.name.endswith(".tmp")]


def run(folder: Path, monkeypatch: pytest.MonkeyPatch, **options) -> int:
    monkeypatch.chdir(folder)
    options.setdefault("executor", "serial")
    return run_batch(folder / "spec.yml", today=TODAY, progress=False, **options)


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """EMEA, FAIL and company-wide on the process-pool executor with 2 workers."""
    folder = tmp_path_factory.mktemp("local")
    write_spec(folder, ["EMEA", "FAIL", ""])
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        code = run_batch(folder / "spec.yml", workers=2, executor="local", today=TODAY, progress=False)
    finally:
        os.chdir(cwd)
    return code, folder


def test_a_failing_run_is_isolated(local_batch: tuple[int, Path]) -> None:
    code, folder = local_batch
    assert code == 1
    assert statuses(folder) == {"EMEA": ("ok", 1), "FAIL": ("failed", 1), "": ("ok", 1)}
    runs = by_region(folder)
    assert runs["FAIL"]["error"] == "ValueError: this region always fails (cell 4)"
    failed_dir = folder / "out" / ".runs" / runs["FAIL"]["id"]
    partial = json.loads((failed_dir / "notebook.ipynb").read_text())
    assert any(o.get("output_type") == "error" for c in partial["cells"] for o in c.get("outputs", []))
    assert "this region always fails" in (failed_dir / "log.txt").read_text()
    assert (failed_dir / "error.txt").is_file()
    assert runs["EMEA"]["headline"]["revenue"]["value"] == 104.0
    assert runs[""]["html"] == f"{MONTH}/all.html" and runs[""]["scope"] == "Company-wide"
    assert not (folder / "out" / MONTH / "FAIL.html").exists()
    portal = (folder / "out" / "index.html").read_text()
    assert "ValueError: this region always fails" in portal and "$104" in portal
    assert manifest(folder)["counts"] == {"ok": 2, "failed": 1, "skipped": 0}
    assert not leftovers(folder)


def test_reports_are_rendered(local_batch: tuple[int, Path]) -> None:
    pytest.importorskip("kpitools.report.render")
    _, folder = local_batch
    html = (folder / "out" / MONTH / "EMEA.html").read_text()
    assert "report for region=&#x27;EMEA&#x27;" in html or "report for region='EMEA'" in html
    assert "<script" not in html.lower()


def test_dask_gives_the_same_statuses(local_batch: tuple[int, Path], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    _, local = local_batch
    write_spec(tmp_path, ["EMEA", "FAIL", ""])
    assert run(tmp_path, monkeypatch, executor="dask", workers=2) == 1
    assert statuses(tmp_path) == statuses(local)


def test_a_run_past_its_timeout_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(tmp_path, ["SLOW", "EMEA"], "timeout: 3\n")
    started = time.perf_counter()
    assert run(tmp_path, monkeypatch) == 1
    assert time.perf_counter() - started < 40
    runs = by_region(tmp_path)
    assert runs["SLOW"]["status"] == "failed" and runs["SLOW"]["error"].startswith("timed out after 3 s")
    assert runs["EMEA"]["status"] == "ok"
    assert (tmp_path / "out" / ".runs" / runs["SLOW"]["id"] / "notebook.ipynb").is_file()


def test_retry_then_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(tmp_path, ["FLAKY"], "retries: 1\n")
    assert run(tmp_path, monkeypatch) == 0
    flaky = by_region(tmp_path)["FLAKY"]
    assert (flaky["status"], flaky["attempts"]) == ("ok", 2)
    log = (tmp_path / "out" / ".runs" / flaky["id"] / "log.txt").read_text()
    assert "attempt 1 failed: RuntimeError: transient failure" in log
    assert "pandas display.max_columns=20" in log  # the state of a kernel started the ordinary way
    # without retries the same run fails (its marker file is gone: each batch starts the run clean)
    assert run(tmp_path, monkeypatch, retries=0, force=True) == 1


def test_skip_unchanged_force_and_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(tmp_path, ["A", "B"])
    assert run(tmp_path, monkeypatch) == 0
    first = by_region(tmp_path)
    assert run(tmp_path, monkeypatch) == 0
    assert statuses(tmp_path) == {"A": ("skipped", 0), "B": ("skipped", 0)}
    assert by_region(tmp_path)["A"]["headline"] == first["A"]["headline"]
    assert run(tmp_path, monkeypatch, force=True, only=["region=A"]) == 0
    assert statuses(tmp_path) == {"A": ("ok", 1), "B": ("skipped", 0)}
    # a changed notebook is a change
    nb = tmp_path / "report.ipynb"
    nb.write_text(NOTEBOOK.read_text().replace("report for", "Report for"))
    (tmp_path / "spec.yml").write_text((tmp_path / "spec.yml").read_text().replace(str(NOTEBOOK), str(nb)))
    assert run(tmp_path, monkeypatch) == 0
    assert statuses(tmp_path) == {"A": ("ok", 1), "B": ("ok", 1)}


def test_data_is_prepared_once_and_its_changes_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kpitools.data.sample import write_sample

    write_sample(tmp_path / "data", months=3, end="2026-01")
    write_spec(tmp_path, ["EMEA"], "parameters: {data: data}\n")  # a region the data has
    assert run(tmp_path, monkeypatch) == 0
    a = by_region(tmp_path)["EMEA"]
    assert a["parameters"]["data"] == "data"  # the manifest shows what the spec said
    executed = (tmp_path / "out" / ".runs" / a["id"] / "notebook.ipynb").read_text()
    assert "/out/.cache/data-" in executed  # the run read the prepared Parquet copy
    assert run(tmp_path, monkeypatch) == 0 and statuses(tmp_path)["EMEA"][0] == "skipped"
    deals = tmp_path / "data" / "deals.csv"
    os.utime(deals, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert run(tmp_path, monkeypatch) == 0 and statuses(tmp_path)["EMEA"][0] == "ok"
    assert len(list((tmp_path / "out" / ".cache").glob("data-*"))) == 1


def test_bad_input_raises_before_anything_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(tmp_path, ["A"], "parameters: {colour: red}\n")
    with pytest.raises(BatchError, match="parameters.colour: the notebook does not declare"):
        run(tmp_path, monkeypatch)
    write_spec(tmp_path, ["A"])
    with pytest.raises(BatchError, match="--timeout"):
        run(tmp_path, monkeypatch, timeout=0)
    with pytest.raises(BatchError, match="unknown executor"):
        run(tmp_path, monkeypatch, executor="cloud")
    write_spec(tmp_path, ["A"], "kernel: no-such-kernel\n")
    with pytest.raises(BatchError, match="no Jupyter kernel named 'no-such-kernel'"):
        run(tmp_path, monkeypatch)
    assert not (tmp_path / "out").exists()


def test_one_batch_at_a_time_per_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fcntl = pytest.importorskip("fcntl")
    write_spec(tmp_path, ["A"])
    (tmp_path / "out" / ".runs").mkdir(parents=True)
    with open(tmp_path / "out" / ".runs" / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a batch still running would
        with pytest.raises(BatchError, match="another kpitools run is writing out"):
            run(tmp_path, monkeypatch)


def test_resume_after_the_batch_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_spec(tmp_path, ["A", "B", "SLOW", "C"])
    code = ("import datetime, sys\nfrom kpitools.runner.batch import run_batch\n"
            "sys.exit(run_batch('spec.yml', executor='serial', today=datetime.date(2026, 2, 10), progress=False))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    runs = tmp_path / "out" / ".runs"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # A and B done, SLOW running
            if len(list(runs.glob("*/result.json"))) >= 2 and list(runs.glob("*SLOW*/log.txt")):
                break
            assert proc.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.1)
        else:
            pytest.fail("the batch did not reach SLOW in time")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not leftovers(tmp_path)
    for html in (tmp_path / "out").rglob("*.html"):  # whole files only
        assert html.read_text().rstrip().endswith("</html>")
    assert run(tmp_path, monkeypatch, timeout=2) == 1
    assert {k: s for k, (s, _) in statuses(tmp_path).items()} == {"A": "skipped", "B": "skipped",
                                                                  "SLOW": "failed", "C": "ok"}
    assert (tmp_path / "out" / MONTH / "C.html").is_file()


def test_run_batch_checks_the_data_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Called from Python too (not only by the CLI): a region the data does not have is bad input, and the
    output folder is not created."""
    from kpitools.data.sample import write_sample

    write_sample(tmp_path / "data", months=3, end="2026-01")
    write_spec(tmp_path, ["Antarctica"], "parameters: {data: data}\n")
    with pytest.raises(BatchError, match="Antarctica"):
        run(tmp_path, monkeypatch)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_a_batch_across_three_datasets_renders_every_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            executor: str) -> None:
    """Runs that differ in `data`: each dataset gets its own prepared copy, and every run reads its own."""
    from kpitools.data.sample import write_sample

    if executor == "dask":
        pytest.importorskip("distributed")
    rows = {}
    for i, name in enumerate(("north", "south", "west")):
        write_sample(tmp_path / name, seed=i, months=2 + i, end="2026-01")
        rows[name] = len(__import__("kpitools").load(tmp_path / name).deals)
    assert len(set(rows.values())) == 3
    (tmp_path / "spec.yml").write_text(
        f"notebook: {NOTEBOOK}\noutput: out/{{data}}/{{region}}.html\n"
        "grid:\n  data: [north, south, west]\n  region: [EMEA, APAC]\n  period: [last_complete_month]\n",
        encoding="utf-8")
    assert run(tmp_path, monkeypatch, executor=executor, workers=2) == 0
    runs = manifest(tmp_path)["runs"]
    assert len(runs) == 6 and all(r["status"] == "ok" for r in runs)
    assert {r["parameters"]["data"]: r["headline"]["deals"]["value"] for r in runs} == rows
    assert all((tmp_path / "out" / r["parameters"]["data"] / f"{r['parameters']['region']}.html").is_file()
               for r in runs)
    assert len(list((tmp_path / "out" / ".cache").glob("data-*"))) == 3


def test_the_prepared_copy_keeps_what_the_numbers_rest_on(tmp_path: Path) -> None:
    import kpitools
    from kpitools.runner.prepared import data_fingerprint, prepare_data

    crm = str(Path(__file__).parents[1] / "fixtures" / "exports" / "crm")
    folder, _ = prepare_data(crm, tmp_path, data_fingerprint(crm))
    assert [str(n) for n in kpitools.load(folder).notes] == [str(n) for n in kpitools.load(crm).notes]


def test_a_batch_says_when_kernels_cannot_be_forked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    write_spec(tmp_path, ["EMEA"])
    monkeypatch.setenv("KPITOOLS_FORK_KERNELS", "0")
    assert run(tmp_path, monkeypatch) == 0
    assert manifest(tmp_path)["fast_start"] == {"enabled": False, "reason": "KPITOOLS_FORK_KERNELS=0"}
    warning = [line for line in capsys.readouterr().err.splitlines() if "fork server" in line]
    assert warning == ["warning: kernels start the slow way (no fork server): KPITOOLS_FORK_KERNELS=0"]
    monkeypatch.delenv("KPITOOLS_FORK_KERNELS")
    assert run(tmp_path, monkeypatch, force=True) == 0
    assert manifest(tmp_path)["fast_start"] == {"enabled": True}
