"""The dataset layer: canonical schema, loading, validation, sample data."""
from .dataset import Dataset
from .problems import DataError, Problem
from .schema import TABLES

__all__ = ["Dataset", "DataError", "Problem", "TABLES", "load", "sample"]


def load(config_or_dir, *, validate: bool = True) -> Dataset:  # noqa: ANN001
    from .loader import load as _load

    return _load(config_or_dir, validate=validate)


def sample(seed: int = 0, months: int = 36, scale: str = "small", end=None) -> Dataset:  # noqa: ANN001
    from .sample import sample as _sample

    return _sample(seed=seed, months=months, scale=scale, end=end)
