"""Data: readers for MovieLens, RecBole and Amazon dumps, the HatLLM/BIGRec protocol, and prepared datasets."""

from .formats import FORMATS, ColumnNames, Source, embedded_source, read_source
from .prepare import PreparedDataset, load_prepared, prepare_dataset
from .protocol import ProtocolConfig

__all__ = [
    "FORMATS",
    "ColumnNames",
    "PreparedDataset",
    "ProtocolConfig",
    "Source",
    "embedded_source",
    "load_prepared",
    "prepare_dataset",
    "read_source",
]
