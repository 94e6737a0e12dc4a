"""Which kernel commands the fork server can stand in for."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from kpitools.runner.fork_server import fast_start, ipykernel_args, not_forkable, server_environment


def test_this_interpreters_ipykernel_is_forkable_with_or_without_interpreter_flags() -> None:
    conn = ["-f", "/tmp/kernel-1.json"]
    assert ipykernel_args([sys.executable, "-m", "ipykernel_launcher", *conn]) == conn
    # what `ipykernel install` writes into kernel.json nowadays
    assert ipykernel_args([sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", *conn]) == conn


def test_other_kernels_are_started_as_usual() -> None:
    assert ipykernel_args(["/usr/bin/python3.9", "-m", "ipykernel_launcher", "-f", "c.json"]) is None
    assert ipykernel_args([sys.executable, "-m", "other_kernel", "-f", "c.json"]) is None
    assert ipykernel_args([sys.executable, "-u", "-m", "ipykernel_launcher"]) is None
    assert ipykernel_args(["R", "--slave", "-e", "IRkernel::main()"]) is None
    assert ipykernel_args([]) is None


def _kernelspec(folder: Path, name: str, argv0: str) -> None:
    """A kernelspec as `ipykernel install` writes it on a fresh machine."""
    spec = folder / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [argv0, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python"}), encoding="utf-8")


def test_the_same_interpreter_by_another_name_is_forked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = ["-f", "c.json"]
    # bare names: jupyter_client launches sys.executable for these
    for name in ("python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])):
        assert ipykernel_args([name, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", *conn]) == conn
    # the venv's other names for its interpreter (python -> python3 -> the base interpreter)
    for sibling in Path(sys.executable).parent.glob("python*"):
        if os.path.realpath(sibling) == os.path.realpath(sys.executable):
            assert ipykernel_args([str(sibling), "-m", "ipykernel_launcher", *conn]) == conn
    # the environment reached through a symlinked folder
    env = Path(sys.prefix)
    (tmp_path / "link").symlink_to(env, target_is_directory=True)
    via_link = tmp_path / "link" / Path(sys.executable).relative_to(env)
    assert ipykernel_args([str(via_link), "-m", "ipykernel_launcher", *conn]) == conn


def test_another_environment_on_the_same_base_interpreter_is_not(tmp_path: Path) -> None:
    other = tmp_path / "other-venv"
    (other / "bin").mkdir(parents=True)
    (other / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (other / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
    why = not_forkable([str(other / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "c.json"])
    assert why and "not this interpreter" in why


def test_fast_start_with_a_fresh_machines_kernelspec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _kernelspec(tmp_path, "fresh", "python")
    _kernelspec(tmp_path, "elsewhere", "/opt/python3.9/bin/python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    assert fast_start("fresh") == (True, None)
    ok, why = fast_start("elsewhere")
    assert not ok and "/opt/python3.9/bin/python3" in why
    monkeypatch.setenv("KPITOOLS_FORK_KERNELS", "0")
    assert fast_start("fresh") == (False, "KPITOOLS_FORK_KERNELS=0")


def test_the_fork_servers_blas_gets_one_thread_unless_the_batch_says_otherwise() -> None:
    env = server_environment({"PATH": "/bin"})
    assert env == {"PATH": "/bin", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert server_environment({"PATH": "/bin", var: "4"}) == {"PATH": "/bin", var: "4"}
