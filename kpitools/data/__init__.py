"""The dataset layer: canonical schema, loading, validation, sample data."""
from .dataset import Dataset
from .loader import load
from .problems import DataError, Problem
from .sample import sample  # the function; the module stays importable as kpitools.data.sample
from .schema import TABLES

__all__ = ["Dataset", "DataError", "Problem", "TABLES", "load", "sample"]
