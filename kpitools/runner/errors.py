"""The runner's error for bad input: raised before anything runs, by every module of the runner."""
from __future__ import annotations

from ..data.problems import DataError


class BatchError(DataError):
    """Bad batch input (spec, notebook, parameters, data, --only, options): exit code 2, nothing run."""
