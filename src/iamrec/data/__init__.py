"""Data: readers for MovieLens, RecBole and Amazon dumps, the HatLLM/BIGRec protocol, and prepared datasets."""

from .embedded import EMBEDDED, embedded_source
from .formats import FORMATS, ColumnNames, Source, read_source
from .prepare import PreparedDataset, load_prepared, prepare_dataset
from .protocol import ProtocolConfig

__all__ = [
    "EMBEDDED",
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
