"""Fault injection on batch runs, with real faults: kernels killed with SIGKILL (by themselves and from
outside), a cell that raises, a cell that hangs past the time-out, output folders that cannot be
written, a full file system, a worker process killed, Ctrl-C and SIGTERM in the middle of a batch.

For each: the other runs finish and their HTML exists; manifest.json records the failure with a
readable reason; the portal (index.html) shows it; no partial file is left under the output root;
no kernel or worker process is left behind; a re-run without --force redoes only what failed and
completes the batch.

The stand-in notebook tests/fixtures/batch/faults.ipynb injects the fault named in the file
<faults>/<region>; removing that file "repairs" the run for the re-run. docs/reliability.md lists
what each test does and what happened.
"""
from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from kpitools.runner.batch import INTERRUPTED, run_batch
from kpitools.runner.errors import BatchError

NOTEBOOK = Path(__file__).parents[1] / "fixtures" / "batch" / "faults.ipynb"
_SCRIPT = Path(sys.executable).with_name("kpitools")  # the installed command, next to this Python
KPITOOLS = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from kpitools.cli import main; main()"]
PERIOD = "2026-01"


# --- helpers ---------------------------------------------------------------------------------

def write_spec(folder: Path, regions: list[str], faults: dict[str, str], extra: str = "") -> Path:
    """A batch of the stand-in notebook, one run per region, writing out/<region>/2026-01.html."""
    (folder / "faults").mkdir(parents=True, exist_ok=True)
    for region, fault in faults.items():
        (folder / "faults" / region).write_text(fault)
    spec = folder / "spec.yml"
    spec.write_text(f"notebook: {NOTEBOOK}\noutput: out/{{region}}/{{period}}.html\n"
                    f"parameters: {{period: '{PERIOD}', faults: '{folder / 'faults'}'}}\n"
                    f"grid:\n  region: {json.dumps(regions)}\n{extra}", encoding="utf-8")
    return spec


def repair(folder: Path) -> None:
    """Remove every injected fault: the next batch should succeed."""
    shutil.rmtree(folder / "faults", ignore_errors=True)
    (folder / "faults").mkdir()


def runs_by_region(root: Path) -> dict[str, dict]:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return {r["parameters"]["region"]: r for r in manifest["runs"]}


def partial_files(root: Path) -> list[str]:
    """Temporary files of atomic writes, half-written HTML or notebooks, anywhere under root."""
    bad = [str(p) for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".tmp-")]
    for page in root.rglob("*.html"):
        if not page.read_text(encoding="utf-8").rstrip().endswith("</html>"):
            bad.append(f"{page} (not a whole page)")
    for nb in root.rglob("*.ipynb"):
        try:
            json.loads(nb.read_text(encoding="utf-8"))
        except ValueError:
            bad.append(f"{nb} (not whole JSON)")
    return bad


def processes_of(folder: Path, timeout: float = 15) -> list[str]:
    """Processes (kernels, fork servers, workers, kpitools) working in or naming `folder`, other than
    this one and its multiprocessing resource tracker, after giving the ones that are exiting up to `timeout` s
    to go."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for p in psutil.process_iter(["pid", "cwd", "cmdline", "status"]):
            if p.pid == os.getpid() or p.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            cwd, cmd = p.info["cwd"] or "", " ".join(p.info["cmdline"] or [])
            if "multiprocessing.resource_tracker" in cmd and p.ppid() == os.getpid():
                continue  # this process's own helper (one per process, for its lifetime)
            if cwd.startswith(str(folder)) or str(folder) in cmd:
                found.append(f"pid {p.pid}: {cmd[:100]} (in {cwd})")
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def in_folder(folder: Path, fn, *args, **kw):
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return fn(*args, **kw)
    finally:
        os.chdir(cwd)


def batch(folder: Path, **options) -> int:
    """run_batch in `folder` (relative output paths), local executor with 2 workers unless told."""
    options = {"executor": "local", "workers": 2, "progress": False, **options}
    return in_folder(folder, run_batch, folder / "spec.yml", **options)


def kpitools_run(folder: Path, *args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([*KPITOOLS, "run", "spec.yml", "--workers", "2", *args], cwd=folder, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def wait_for_first_report(proc: subprocess.Popen, root: Path, timeout: float = 120) -> None:
    """Until run A of a `kpitools run` subprocess has finished (its result is written)."""
    deadline = time.monotonic() + timeout
    while not list((root / ".runs").glob("A-*/result.json")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "A was not made in time"
        time.sleep(0.05)


def wait_for(path: Path, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            text = path.read_text()
            if text:
                return text
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear within {timeout} s")


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[bool]:
    """`chattr +i` on path (a folder even root cannot write into); yields whether that worked."""
    ok = bool(shutil.which("chattr")) and subprocess.run(["chattr", "+i", str(path)],
                                                          capture_output=True).returncode == 0
    try:
        yield ok
    finally:
        if ok:
            subprocess.run(["chattr", "-i", str(path)], check=True)


def portal_card(root: Path, region: str) -> str:
    """The portal's card of one run (its text between <article> tags)."""
    page = (root / "index.html").read_text(encoding="utf-8")
    for card in page.split("<article")[1:]:
        if re.search(rf"[>\s]{re.escape(html.escape(region))}(<span|</a>)", card):
            return card.split("</article>")[0]
    raise AssertionError(f"no card for {region} in the portal")


# --- many faults in one batch ----------------------------------------------------------------

FAULTS = {"RAISE": "raise", "KILL": "kill", "OUTSIDE": "wait", "HANG": "hang"}
TIMEOUT = 8


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One batch on the process-pool executor (2 workers) where most runs meet a fault, then a
    re-run after the faults are repaired. Returns what both left behind."""
    folder = tmp_path_factory.mktemp("faults")
    root = folder / "out"
    root.mkdir()
    (root / "BLOCKED").write_text("a file where the run's folder should be\n")
    (root / "LOCKED").mkdir()
    with immutable(root / "LOCKED") as locked:
        regions = ["OK1", *FAULTS, "BLOCKED", *(["LOCKED"] if locked else []), "OK2"]
        write_spec(folder, regions, FAULTS, f"timeout: {TIMEOUT}\n")
        killed: dict = {}

        def kill_from_outside() -> None:  # as the kernel OOM killer or an operator would
            pid = int(wait_for(folder / "faults" / "OUTSIDE.pid"))
            killed["name"] = psutil.Process(pid).name()
            os.kill(pid, signal.SIGKILL)
            killed["pid"] = pid

        killer = threading.Thread(target=kill_from_outside, daemon=True)
        killer.start()
        started = time.perf_counter()
        first = {"code": batch(folder), "seconds": time.perf_counter() - started}
        killer.join(5)
        first.update(runs=runs_by_region(root), counts=json.loads((root / "manifest.json").read_text())["counts"],
                     portal=(root / "index.html").read_text(encoding="utf-8"),
                     partial=partial_files(root), processes=processes_of(folder), killed=killed,
                     pages={p.relative_to(root).as_posix() for p in root.rglob("*.html")},
                     cards={r: portal_card(root, r) for r in regions})
        first["logs"] = {r: (root / run["log"]).read_text() for r, run in first["runs"].items()}
    repair(folder)
    (root / "BLOCKED").unlink()
    second = {"code": batch(folder, executor="serial"), "runs": runs_by_region(root),
              "partial": partial_files(root)}
    return {"first": first, "second": second, "root": root, "locked": locked, "regions": regions}


def _failed(faulty: dict, region: str) -> dict:
    run = faulty["first"]["runs"][region]
    assert run["status"] == "failed", run
    card = faulty["first"]["cards"][region]
    assert "badge failed" in card and html.escape(run["error"]) in card  # the portal shows why
    assert f"{region}/{PERIOD}.html" not in faulty["first"]["pages"]
    return run


def test_the_other_runs_finish(faulty: dict) -> None:
    first = faulty["first"]
    assert first["code"] == 1
    assert {r: first["runs"][r]["status"] for r in ("OK1", "OK2")} == {"OK1": "ok", "OK2": "ok"}
    assert {f"OK1/{PERIOD}.html", f"OK2/{PERIOD}.html", "index.html"} <= first["pages"]
    ok = (faulty["root"] / "OK2" / f"{PERIOD}.html").read_text(encoding="utf-8")
    assert "report for region=&#x27;OK2&#x27;" in ok or "report for region='OK2'" in ok
    assert first["runs"]["OK2"]["headline"]["revenue"]["value"] == 103.0
    assert first["counts"] == {"ok": 2, "failed": len(faulty["regions"]) - 2, "skipped": 0}


def test_a_cell_that_raises(faulty: dict) -> None:
    assert _failed(faulty, "RAISE")["error"] == "RuntimeError: injected failure in RAISE (cell 4)"


def test_a_kernel_that_kills_itself(faulty: dict) -> None:
    run = _failed(faulty, "KILL")
    assert run["error"] == "the kernel died (killed, out of memory, or the notebook exited) (cell 4)"


def test_a_kernel_killed_from_outside(faulty: dict) -> None:
    killed = faulty["first"]["killed"]
    assert killed.get("pid") and killed["name"].startswith("python")  # a real kernel process got SIGKILL
    assert not psutil.pid_exists(killed["pid"]) or psutil.Process(killed["pid"]).status() == psutil.STATUS_ZOMBIE
    run = _failed(faulty, "OUTSIDE")
    assert run["error"].startswith("the kernel died")
    assert run["seconds"] < 60  # noticed at once, not at the time-out


def test_a_run_that_hangs_past_its_timeout(faulty: dict) -> None:
    run = _failed(faulty, "HANG")
    assert run["error"] == f"timed out after {TIMEOUT} s (cell 4)"
    assert TIMEOUT <= run["seconds"]
    log = faulty["first"]["logs"]["HANG"]
    assert f"attempt 1 failed: timed out after {TIMEOUT} s" in log


def test_an_output_folder_that_is_a_file(faulty: dict) -> None:
    """out/BLOCKED is a regular file where the run's folder should be: a real OS error, as root too."""
    run = _failed(faulty, "BLOCKED")
    assert run["error"] == f"cannot write BLOCKED/{PERIOD}.html: File exists: BLOCKED"


def test_an_output_folder_that_is_immutable(faulty: dict) -> None:
    """out/LOCKED has the immutable attribute (chattr +i): not even root may create a file in it."""
    if not faulty["locked"]:
        pytest.skip("chattr +i is not available here (needs root and a file system that supports it)")
    run = _failed(faulty, "LOCKED")
    assert run["error"] == f"cannot write LOCKED/{PERIOD}.html: Operation not permitted"


def test_failures_leave_no_partial_file_and_no_process(faulty: dict) -> None:
    assert faulty["first"]["partial"] == []
    assert faulty["first"]["processes"] == []
    for region in FAULTS:  # each failed run keeps its partial notebook, log and error for a look
        run_dir = faulty["root"] / faulty["first"]["runs"][region]["executed"]
        assert run_dir.is_file()


def test_a_rerun_completes_the_batch(faulty: dict) -> None:
    second = faulty["second"]
    assert second["code"] == 0
    expected = {r: "ok" for r in faulty["regions"]} | {"OK1": "skipped", "OK2": "skipped"}
    assert {r: run["status"] for r, run in second["runs"].items()} == expected
    for region in faulty["regions"]:
        assert (faulty["root"] / region / f"{PERIOD}.html").is_file()
    assert second["partial"] == []


# --- a worker process killed ------------------------------------------------------------------

def test_a_worker_process_killed_twice(tmp_path: Path) -> None:
    """SIGKILL to the worker process (not the kernel) running WORKER: the pool is rebuilt and the runs
    it held are run again, each on its own; killed again, WORKER fails and every other run is made."""
    regions = ["A", "WORKER", "B", "C", "D"]
    write_spec(tmp_path, regions, {"WORKER": "wait"}, "timeout: 120\n")  # a killer that fails cannot hang the test
    kills: list[int] = []

    def kill_worker() -> None:
        for _ in range(2):
            pid_file = tmp_path / "faults" / "WORKER.pid"
            kernel = psutil.Process(int(wait_for(pid_file)))
            pid_file.unlink()
            fork_server = kernel.parent()
            worker = fork_server.parent()
            assert worker.ppid() == os.getpid()  # a process-pool worker of this batch
            worker.kill()
            kills.append(worker.pid)

    killer = threading.Thread(target=kill_worker, daemon=True)
    killer.start()
    assert batch(tmp_path) == 1
    killer.join(5)
    assert len(kills) == 2
    root = tmp_path / "out"
    runs = runs_by_region(root)
    assert {r: run["status"] for r, run in runs.items()} == {"A": "ok", "WORKER": "failed", "B": "ok", "C": "ok",
                                                           "D": "ok"}
    assert runs["WORKER"]["error"] == "the worker process running it died (killed, or out of memory)"
    assert html.escape(runs["WORKER"]["error"]) in portal_card(root, "WORKER")
    assert partial_files(root) == [] and processes_of(tmp_path) == []
    repair(tmp_path)
    assert batch(tmp_path, executor="serial") == 0
    assert {r: run["status"] for r, run in runs_by_region(root).items()} == {
        "A": "skipped", "WORKER": "ok", "B": "skipped", "C": "skipped", "D": "skipped"}


# --- output folder not writable at all ----------------------------------------------------------

def test_an_output_root_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    write_spec(tmp_path, ["A"], {})
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(BatchError, match=r"cannot write to the output folder out: (Not a directory|File exists)"):
        batch(tmp_path, executor="serial")
    assert (tmp_path / "out").read_text() == "not a folder"


def test_an_immutable_output_root_is_bad_input(tmp_path: Path) -> None:
    write_spec(tmp_path, ["A"], {})
    (tmp_path / "out").mkdir()
    with immutable(tmp_path / "out") as locked:
        if not locked:
            pytest.skip("chattr +i is not available here (needs root and a file system that supports it)")
        with pytest.raises(BatchError, match="cannot write to the output folder out: Operation not permitted"):
            batch(tmp_path, executor="serial")
    assert list((tmp_path / "out").iterdir()) == []


# --- a full file system -------------------------------------------------------------------------

def _namespace_prefix(probe: Path) -> list[str] | None:
    """A command prefix that runs a command in a private mount namespace where it may mount a tmpfs
    (root: `unshare --mount`; others: also a user namespace), or None when neither works here."""
    if not shutil.which("unshare"):
        return None
    probe.mkdir(exist_ok=True)
    for prefix in (["unshare", "--mount", "--propagation", "private"],
                   ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]):
        done = subprocess.run([*prefix, "mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(probe)],
                              capture_output=True)
        if done.returncode == 0:
            return prefix
    return None


# Inside the namespace: mount a 64 KiB tmpfs on $1 and fill it, run the rest of the arguments, then
# list what is left on the full file system into $2 (the namespace and its tmpfs go when it ends).
FULL_DISK = ('full=$1 listing=$2; shift 2; mount -t tmpfs -o size=64k tmpfs "$full" || exit 97; '
             'head -c 1000000 /dev/zero > "$full/filler" 2>/dev/null; "$@"; code=$?; '
             'ls -A "$full" > "$listing"; exit $code')


@pytest.fixture
def namespace(tmp_path: Path) -> list[str]:
    prefix = _namespace_prefix(tmp_path / "probe")
    if prefix is None:
        pytest.skip("cannot mount a tmpfs in a private mount namespace here (unshare --mount needs root or "
                    "user namespaces)")
    return prefix


def test_a_full_disk_fails_only_the_run_writing_there(tmp_path: Path, namespace: list[str]) -> None:
    """out/FULL is a full tmpfs (real ENOSPC from the kernel): the run writing there fails, the other
    is made, and nothing half-written is left on the full file system."""
    write_spec(tmp_path, ["OK", "FULL"], {})
    (tmp_path / "out" / "FULL").mkdir(parents=True)
    done = subprocess.run([*namespace, "sh", "-c", FULL_DISK, "sh", str(tmp_path / "out" / "FULL"),
                           str(tmp_path / "listing.txt"), *KPITOOLS, "run", "spec.yml", "--workers", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "listing.txt").read_text().split() == ["filler"]  # no temporary or partial file
    root = tmp_path / "out"
    runs = runs_by_region(root)
    assert runs["OK"]["status"] == "ok" and (root / "OK" / f"{PERIOD}.html").is_file()
    assert runs["FULL"]["error"] == f"cannot write FULL/{PERIOD}.html: No space left on device"
    assert html.escape(runs["FULL"]["error"]) in portal_card(root, "FULL")
    assert "No space left on device" in done.stderr  # the progress line says it too
    assert partial_files(root) == [] and processes_of(tmp_path) == []
    assert batch(tmp_path, executor="serial") == 0  # the disk has room again (the namespace is gone)
    assert {r: run["status"] for r, run in runs_by_region(root).items()} == {"OK": "skipped", "FULL": "ok"}


def test_a_full_disk_under_the_whole_output_folder(tmp_path: Path, namespace: list[str]) -> None:
    """The output root itself is on a full file system: no run can be recorded, the command says so
    (exit 1, no traceback) and leaves no temporary file; a re-run with room makes every report."""
    write_spec(tmp_path, ["A", "B"], {})
    (tmp_path / "out").mkdir()
    done = subprocess.run([*namespace, "sh", "-c", FULL_DISK, "sh", str(tmp_path / "out"),
                           str(tmp_path / "listing.txt"), *KPITOOLS, "run", "spec.yml", "--workers", "1"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr
    assert "No space left on device" in done.stderr
    left = (tmp_path / "listing.txt").read_text().split()
    assert "filler" in left and not [name for name in left if name.endswith(".tmp")]
    assert processes_of(tmp_path) == []
    assert batch(tmp_path, executor="serial") == 0
    assert {r: run["status"] for r, run in runs_by_region(tmp_path / "out").items()} == {"A": "ok", "B": "ok"}


# --- Ctrl-C and SIGTERM -----------------------------------------------------------------------

@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_stopping_a_batch(tmp_path: Path, how: str) -> None:
    """Ctrl-C (SIGINT to the whole foreground process group, workers included) or SIGTERM (a scheduler
    stopping the command) once the first report is made: exit 130 within seconds, the manifest keeps
    the finished run and marks the others interrupted, nothing is left running or half-written; the
    same command then makes only the missing reports."""
    regions = ["A", "B", "C", "D", "E"]
    write_spec(tmp_path, regions, {"B": "sleep 60", "C": "sleep 60"})
    proc = kpitools_run(tmp_path, start_new_session=True)
    root = tmp_path / "out"
    try:
        wait_for_first_report(proc, root)
        time.sleep(0.5)  # B and C are sleeping in their kernels
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert took < 15
    assert "Traceback" not in err
    assert "interrupted: 1 of 5 reports finished" in err and "run the same command again" in err
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["complete"] is False
    runs = {r["parameters"]["region"]: r for r in manifest["runs"]}
    assert runs["A"]["status"] == "ok" and (root / "A" / f"{PERIOD}.html").is_file()
    for region in regions[1:]:
        assert (runs[region]["status"], runs[region]["error"]) == ("failed", INTERRUPTED)
        assert html.escape(INTERRUPTED) in portal_card(root, region)
    assert "interrupted" in (root / "index.html").read_text()
    assert partial_files(root) == []
    assert processes_of(tmp_path) == []
    if how == "sigterm":
        return  # the re-run is the same as after Ctrl-C
    repair(tmp_path)
    assert batch(tmp_path, executor="serial") == 0
    assert {r: run["status"] for r, run in runs_by_region(root).items()} == {
        "A": "skipped", "B": "ok", "C": "ok", "D": "ok", "E": "ok"}
    assert json.loads((root / "manifest.json").read_text())["complete"] is True


def test_the_batch_process_killed_with_sigkill(tmp_path: Path) -> None:
    """SIGKILL to the `kpitools run` process alone (it cannot clean up): its workers notice and exit,
    their fork servers kill the kernels, nothing keeps running; the next run removes any temporary
    file a killed write left and makes only the missing reports."""
    write_spec(tmp_path, ["A", "B", "C", "D"], {"B": "sleep 60", "C": "sleep 60"})
    proc = kpitools_run(tmp_path, start_new_session=True)
    root = tmp_path / "out"
    try:
        wait_for_first_report(proc, root)
        time.sleep(0.5)
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert processes_of(tmp_path) == []  # workers, fork servers and kernels went with it
    repair(tmp_path)
    assert batch(tmp_path, executor="serial") == 0
    assert {r: run["status"] for r, run in runs_by_region(root).items()} == {
        "A": "skipped", "B": "ok", "C": "ok", "D": "ok"}
    assert partial_files(root) == []
