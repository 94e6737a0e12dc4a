"""Which kernel commands the fork server can stand in for."""
from __future__ import annotations

import sys

from kpitools.runner.fork_server import ipykernel_args


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
